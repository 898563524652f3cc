/* report_junit: the verdict as JUnit XML, the test report GitLab (artifacts:reports:junit),
 * Jenkins (junit step) and the GitHub reporters read. Suite "thresholds" has one test case per
 * threshold, named by its expression as written (classname blast.SCENARIO, or blast for a
 * [global] one); suite "offered_load" one per scenario the offered-load check applies to. A
 * failed threshold or an offered-load FAIL is a <failure>; an offered-load WARN passes and says
 * why in <system-out>, so only the exit code gates and the report never disagrees with it.
 *
 * Invariant: the document is well-formed XML 1.0 in UTF-8 whatever the file's text holds: every
 * string passes through redact_str, then xesc, which escapes the five markup characters, turns
 * control bytes and bytes that are not UTF-8 into U+FFFD and writes tab, newline and carriage
 * return as character references inside attributes (where a parser would fold them to blanks).
 * GitLab keeps only the first of two cases with one name, so names are made unique. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "redact.h"
#include "report.h"
#include "version.h"

static void xesc(FILE *f, const char *s, bool attr)
{
    s = redact_str(s);
    while (*s) {
        uint32_t cp;
        s += report_utf8_next(s, &cp);
        switch (cp) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '\t':
        case '\n':
            if (attr)
                fprintf(f, "&#%u;", (unsigned)cp);
            else
                fputc((int)cp, f);
            break;
        case '\r': /* a parser turns a raw CR into LF, also in text */
            fputs("&#13;", f);
            break;
        default:
            /* XML 1.0 has no other C0 control characters, nor U+FFFE and U+FFFF */
            if (cp < 0x20 || cp == 0xfffe || cp == 0xffff)
                cp = REPORT_BAD_CHAR;
            report_utf8_put(f, cp);
        }
    }
}

/* An attribute name="value" with the value escaped. */
static void xattr(FILE *f, const char *name, const char *value)
{
    fprintf(f, " %s=\"", name);
    xesc(f, value, true);
    fputc('"', f);
}

static void classname(FILE *f, const char *scenario)
{
    fputs(" classname=\"blast", f);
    if (scenario) {
        fputc('.', f);
        xesc(f, scenario, true);
    }
    fputc('"', f);
}

/* Threshold i's test case name: its expression, and where two thresholds read the same, the
 * later ones with their line (GitLab would drop them otherwise). */
static void threshold_name(FILE *f, const verdict *v, size_t i)
{
    const threshold_result *t = &v->thr[i];
    const char *e = t->expr ? t->expr : "";
    fputs(" name=\"", f);
    xesc(f, e, true);
    bool same = false;
    for (size_t j = 0; j < i && !same; j++)
        same = strcmp(v->thr[j].expr ? v->thr[j].expr : "", e) == 0;
    if (same) {
        char b[48];
        if (t->line)
            snprintf(b, sizeof b, " (line %u)", t->line);
        else
            snprintf(b, sizeof b, " (#%zu)", i + 1);
        xesc(f, b, true);
    }
    fputc('"', f);
}

/* "p(95) 412.300ms (limit 500ms)", as FORMATS' reporters show a failure's message. */
static void threshold_message(char *buf, size_t n, const threshold_result *t)
{
    if (t->empty)
        redact_snprintf(buf, n, "%s (limit %s)",
                        t->observed_text[0] ? t->observed_text : "no samples", t->limit_text);
    else
        redact_snprintf(buf, n, "%s %s (limit %s)", t->stat ? t->stat : "", t->observed_text,
                        t->limit_text);
}

static void threshold_details(FILE *f, const threshold_result *t)
{
    char b[640];
    if (t->empty)
        redact_snprintf(
            b, sizeof b,
            "no samples: %s saw no values over the run, and a threshold without samples "
            "fails unless allow_empty is set",
            t->metric ? t->metric : "its metric");
    else
        redact_snprintf(b, sizeof b,
                        "%s %s = %s over %" PRIu64 " samples; the threshold asks %s %s %s",
                        t->metric ? t->metric : "", t->stat ? t->stat : "", t->observed_text,
                        t->samples, t->stat ? t->stat : "", t->op ? t->op : "", t->limit_text);
    xesc(f, b, false);
    if (t->file) {
        redact_snprintf(b, sizeof b, "\ndeclared in %s%s at %s:%u",
                        t->scenario ? "scenario " : "[global]", t->scenario ? t->scenario : "",
                        t->file, t->line);
        xesc(f, b, false);
    }
    if (t->aborted)
        xesc(f, "\nits breach stopped the run (abort_on_fail)", false);
}

static void threshold_case(FILE *f, const verdict *v, size_t i)
{
    const threshold_result *t = &v->thr[i];
    fputs("    <testcase", f);
    classname(f, t->scenario);
    threshold_name(f, v, i);
    fputs(" time=\"0\">\n", f);
    char msg[160];
    threshold_message(msg, sizeof msg, t);
    if (!t->ok) {
        fputs("      <failure type=\"threshold\"", f);
        xattr(f, "message", msg);
        fputc('>', f);
        threshold_details(f, t);
        fputs("</failure>\n", f);
    } else {
        fputs("      <system-out>", f);
        xesc(f, msg, false);
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

static void offered_numbers(FILE *f, const offered_result *o)
{
    char b[320];
    snprintf(b, sizeof b,
             "dropped %" PRIu64 ", queue max %" PRIu64
             ", send lateness p99 %.3fms (bound %.3fms)%s",
             o->dropped, o->queue_max, o->lateness_p99_ms, o->lateness_bound_ms,
             o->generator_limited ? ", the load generator was the limit" : "");
    xesc(f, b, false);
}

static void offered_case(FILE *f, const offered_result *o)
{
    char name[320];
    redact_snprintf(name, sizeof name, "offered load: %s", o->scenario ? o->scenario : "");
    fputs("    <testcase", f);
    classname(f, o->scenario);
    xattr(f, "name", name);
    fputs(" time=\"0\">\n", f);
    if (o->state == OFFERED_FAIL) {
        fputs("      <failure type=\"offered_load\"", f);
        xattr(f, "message", o->reason[0] ? o->reason : "the load asked for was not offered");
        fputc('>', f);
    } else {
        fputs("      <system-out>", f);
        if (o->state == OFFERED_WARN) {
            xesc(f, "warn: ", false);
            xesc(f, o->reason, false);
            fputc('\n', f);
        }
    }
    if (o->state == OFFERED_FAIL) {
        xesc(f, o->reason, false);
        fputc('\n', f);
    }
    if (o->advice[0]) {
        xesc(f, o->advice, false);
        fputc('\n', f);
    }
    offered_numbers(f, o);
    fputs(o->state == OFFERED_FAIL ? "</failure>\n" : "</system-out>\n", f);
    fputs("    </testcase>\n", f);
}

static void suite_open(FILE *f, const char *name, size_t tests, size_t failures, double time_s,
                       const char *stamp)
{
    fprintf(f,
            "  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" "
            "time=\"%.3f\" timestamp=\"%s\">\n",
            name, tests, failures, time_s, stamp);
}

static void property(FILE *f, const char *name, const char *value)
{
    fputs("      <property", f);
    xattr(f, "name", name);
    xattr(f, "value", value);
    fputs("/>\n", f);
}

static void properties(FILE *f, const report_run *run)
{
    char b[64];
    fputs("    <properties>\n", f);
    property(f, "blast_version", BLAST_VERSION);
    if (run->plan && run->plan->profile)
        property(f, "profile", run->plan->profile);
    snprintf(b, sizeof b, "%u", run->workers);
    property(f, "workers", b);
    property(f, "interrupted", run->interrupted ? "true" : "false");
    property(f, "started", run->started ? "true" : "false");
    if (run->verdict) {
        snprintf(b, sizeof b, "%.3f", run->verdict->cpu_user_s);
        property(f, "cpu_user_s", b);
        snprintf(b, sizeof b, "%.3f", run->verdict->cpu_sys_s);
        property(f, "cpu_sys_s", b);
        snprintf(b, sizeof b, "%" PRIu64, run->verdict->rss_max_kib);
        property(f, "rss_max_kib", b);
    }
    fputs("    </properties>\n", f);
}

int report_junit(FILE *f, const report_run *run)
{
    const verdict *v = run->verdict;
    size_t nthr = v ? v->nthr : 0, thr_fail = 0, noff = 0, off_fail = 0;
    for (size_t i = 0; i < nthr; i++)
        thr_fail += !v->thr[i].ok;
    for (size_t i = 0; v && i < v->noff; i++) {
        noff += v->off[i].state != OFFERED_NA;
        off_fail += v->off[i].state == OFFERED_FAIL;
    }
    /* The run started duration_s ago (the report is written as it ends). */
    time_t start = time(NULL) - (time_t)(run->duration_s + 0.5);
    struct tm tm;
    char stamp[32] = "1970-01-01T00:00:00Z";
    if (gmtime_r(&start, &tm))
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<testsuites name=\"blast\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
            "time=\"%.3f\">\n",
            nthr + noff, thr_fail + off_fail, run->duration_s);
    suite_open(f, "thresholds", nthr, thr_fail, run->duration_s, stamp);
    properties(f, run);
    for (size_t i = 0; i < nthr; i++)
        threshold_case(f, v, i);
    fputs("  </testsuite>\n", f);
    suite_open(f, "offered_load", noff, off_fail, run->duration_s, stamp);
    for (size_t i = 0; v && i < v->noff; i++)
        if (v->off[i].state != OFFERED_NA)
            offered_case(f, &v->off[i]);
    fputs("  </testsuite>\n</testsuites>\n", f);
    return ferror(f) ? -EIO : 0;
}
