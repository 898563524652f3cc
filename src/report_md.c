/* report_md: the verdict at a glance, in Markdown, for a CI page ($GITHUB_STEP_SUMMARY, a merge
 * request note): a heading that says pass or fail, one table row per scenario (p95, p99 of the
 * corrected latency, failed rate, achieved and target rate, the offered-load check), the
 * reasons of the offered-load checks that fired, and a table of the thresholds.
 *
 * Invariant: no text of the file can become markup. Every name, expression and reason passes
 * through redact_str, then mdesc: the characters that are markup anywhere in a line (emphasis,
 * code, links, table cells: \ ` * _ [ ] |) are backslash-escaped, which CommonMark (GitHub) and
 * Python-Markdown both undo; those one of them takes no backslash for (< > & ~ $ : @) become
 * numeric character references, which both show as the character and neither reads as HTML,
 * strikethrough, math, an emoji, an autolink or a mention. Characters that are markup only at
 * the start of a line (# + - . ! ( ) { }) are left as they are: no quoted text starts a line
 * (cells start with "| ", list items with "- "). Control bytes become blanks, bytes that are
 * not UTF-8 U+FFFD. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "redact.h"
#include "report.h"

static void mdesc(FILE *f, const char *s)
{
    s = redact_str(s);
    while (*s) {
        uint32_t cp;
        s += report_utf8_next(s, &cp);
        if (cp == '<' || cp == '>' || cp == '&' || cp == '~' || cp == '$' || cp == ':' || cp == '@')
            fprintf(f, "&#%u;", (unsigned)cp);
        else if (cp < 0x80 && strchr("\\`*_[]|", (int)cp))
            fprintf(f, "\\%c", (char)cp);
        else if (cp < 0x20 || cp == 0x7f)
            fputc(' ', f);
        else
            report_utf8_put(f, cp);
    }
}

static void fmt_us(char *buf, size_t n, const hist *h, double p)
{
    if (!h || hist_count(h) == 0) {
        snprintf(buf, n, "–");
        return;
    }
    report_fmt_us(buf, n, hist_value_at(h, p), true);
}

static const offered_result *offered_of(const verdict *v, const plan_scenario *s, size_t i)
{
    if (!v)
        return NULL;
    if (i < v->noff && v->off[i].scenario && strcmp(v->off[i].scenario, s->name) == 0)
        return &v->off[i];
    for (size_t j = 0; j < v->noff; j++) /* in case the order ever differs from the plan's */
        if (v->off[j].scenario && strcmp(v->off[j].scenario, s->name) == 0)
            return &v->off[j];
    return NULL;
}

static const char *offered_word(const offered_result *o)
{
    if (!o || o->state == OFFERED_NA)
        return "–";
    return o->state == OFFERED_OK ? "✅ ok" : o->state == OFFERED_WARN ? "⚠️ warn" : "❌ fail";
}

static void scenario_row(FILE *f, const report_scenario *r, const offered_result *o)
{
    const metrics_counts *c = &r->m->c;
    char p95[32], p99[32], failed[32], target[48];
    fmt_us(p95, sizeof p95, r->m->latency, 95);
    fmt_us(p99, sizeof p99, r->m->latency, 99);
    uint64_t done = c->ok + c->failed;
    if (done)
        snprintf(failed, sizeof failed, "%.2f%%", 100.0 * (double)c->failed / (double)done);
    else
        snprintf(failed, sizeof failed, "–");
    if (PLAN_IS_ARRIVAL(r->s->executor))
        snprintf(target, sizeof target, "%.1f/s", report_target_rate(r));
    else
        snprintf(target, sizeof target, "– (%u VUs)", r->s->vus);
    fputs("| ", f);
    mdesc(f, r->s->name);
    fprintf(f, " | %s | %s | %s | %.1f/s | %s | %s |\n", p95, p99, failed, report_achieved_rate(r),
            target, offered_word(o));
}

static void offered_notes(FILE *f, const report_run *run)
{
    bool any = false;
    for (size_t i = 0; i < run->nsc; i++) {
        const offered_result *o = offered_of(run->verdict, run->sc[i].s, i);
        if (!o || (o->state != OFFERED_WARN && o->state != OFFERED_FAIL) ||
            (!o->reason[0] && !o->advice[0]))
            continue;
        if (!any)
            fputs("\n", f);
        any = true;
        fprintf(f, "- %s **", o->state == OFFERED_FAIL ? "❌" : "⚠️");
        mdesc(f, run->sc[i].s->name);
        fputs("**: ", f);
        mdesc(f, o->reason);
        if (o->advice[0]) {
            fputc(' ', f);
            mdesc(f, o->advice);
        }
        fputc('\n', f);
    }
}

static void thresholds(FILE *f, const verdict *v)
{
    size_t failed = 0;
    for (size_t i = 0; i < v->nthr; i++)
        failed += !v->thr[i].ok;
    if (failed)
        fprintf(f, "\n### Thresholds: %zu of %zu failed\n\n", failed, v->nthr);
    else
        fprintf(f, "\n### Thresholds: all %zu passed\n\n", v->nthr);
    fputs("| | threshold | scope | observed | limit |\n|:-:|:--|:--|--:|--:|\n", f);
    for (size_t i = 0; i < v->nthr; i++) {
        const threshold_result *t = &v->thr[i];
        fprintf(f, "| %s | ", t->ok ? "✓" : "✗");
        mdesc(f, t->expr ? t->expr : "");
        fputs(" | ", f);
        mdesc(f, t->scenario ? t->scenario : "global");
        fputs(" | ", f);
        mdesc(f, t->empty && !t->observed_text[0] ? "no samples" : t->observed_text);
        if (t->aborted)
            fputs(" (stopped the run)", f);
        fputs(" | ", f);
        mdesc(f, t->limit_text);
        fputs(" |\n", f);
    }
}

int report_md(FILE *f, const report_run *run)
{
    const verdict *v = run->verdict;
    if (!v)
        fputs("## blast: run complete (no thresholds judged)\n\n", f);
    else if (verdict_failed(v))
        fputs("## ❌ blast: fail\n\n", f);
    else
        fputs("## ✅ blast: pass\n\n", f);
    fprintf(f, "%.1f s, %u worker%s", run->duration_s, run->workers, run->workers == 1 ? "" : "s");
    if (run->plan && run->plan->profile) {
        fputs(", profile ", f);
        mdesc(f, run->plan->profile);
    }
    if (!run->started)
        fputs(", stopped before the start: no request was sent", f);
    else if (run->interrupted)
        fputs(", interrupted", f);
    fputs(".\n\n| scenario | p95 | p99 | failed | achieved | target | offered load |\n"
          "|:--|--:|--:|--:|--:|--:|:--|\n",
          f);
    for (size_t i = 0; i < run->nsc; i++)
        scenario_row(f, &run->sc[i], offered_of(v, run->sc[i].s, i));
    offered_notes(f, run);
    if (v && v->nthr)
        thresholds(f, v);
    return ferror(f) ? -EIO : 0;
}
