/* ceiling_report: how the outputs show a ceiling search (see include/ceiling.h): the text
 * report's step table and answer line, and the JSON object scenarios.NAME.ceiling. */
#include <stdio.h>
#include <string.h>

#include "ceiling.h"
#include "plan.h"
#include "report.h"
#include "threshold.h"

/* 8450 -> "8,450"; below 100 with two decimals. */
static const char *rate_text(char *buf, size_t n, double r)
{
    if (r < 100 && r != (double)(long long)r) {
        snprintf(buf, n, "%.2f", r);
        return buf;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", r);
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* The conditions the steps are held to: "p(99) < 50ms, rate < 1%". */
static void conditions(char *buf, size_t n, const ceiling_result *r)
{
    const plan *p = r->plan;
    size_t o = 0;
    buf[0] = '\0';
    const ceiling_step *st = r->nsteps ? &r->steps[0] : NULL;
    for (size_t i = 0; st && i < p->nthresholds && o + 1 < n; i++) {
        if (!st->thr_state[i])
            continue;
        const threshold *t = &p->thresholds[i];
        const char *sp = strchr(t->expr, ' ');
        int k = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", sp ? sp + 1 : t->expr);
        if (k < 0 || (size_t)k >= n - o)
            break;
        o += (size_t)k;
    }
    if (!o)
        snprintf(buf, n, "no thresholds");
}

void ceiling_answer(char *buf, size_t n, const ceiling_result *r)
{
    char a[32], b[32], cond[200];
    conditions(cond, sizeof cond, r);
    const ceiling_step *f = r->fail_step ? &r->steps[r->fail_step - 1] : NULL;
    const ceiling_step *last = r->nsteps ? &r->steps[r->nsteps - 1] : NULL;
    int k = 0;
    if (!last) {
        k = snprintf(buf, n, "no ceiling: the search took no step");
    } else if (!r->complete) {
        k = snprintf(buf, n, "search stopped after %u step(s): ceiling at least %s req/s (%s)",
                     r->nsteps, rate_text(a, sizeof a, r->rate), cond);
    } else if (r->by == CEIL_BY_MAX_RATE) {
        k = snprintf(buf, n, "ceiling at least %s req/s (%s): max_rate held, raise it to search "
                             "higher",
                     rate_text(a, sizeof a, r->rate), cond);
    } else if (r->by == CEIL_BY_GENERATOR) {
        k = r->rate > 0
                ? snprintf(buf, n, "ceiling at least %s req/s (%s); limited by the generator: "
                                   "blast could not offer %s req/s",
                           rate_text(a, sizeof a, r->rate), cond,
                           rate_text(b, sizeof b, last->rate))
                : snprintf(buf, n, "no verdict: blast could not offer start_rate %s req/s (%s)",
                           rate_text(b, sizeof b, last->rate), last->why);
    } else if (r->rate <= 0) {
        k = snprintf(buf, n, "no ceiling: start_rate %s req/s already fails on %s",
                     rate_text(b, sizeof b, last->rate), last->why);
    } else {
        k = snprintf(buf, n, "ceiling %s req/s (%s); %s req/s fails on %s%s",
                     rate_text(a, sizeof a, r->rate), cond,
                     rate_text(b, sizeof b, f ? f->rate : r->fail_rate), f ? f->why : "?",
                     r->search.early ? " (a wide-margin failure: the search stopped there)" : "");
    }
    double min = r->plan->scenarios[r->scenario].ceil.min_rate;
    if (k > 0 && (size_t)k < n && min > 0)
        snprintf(buf + k, n - (size_t)k, "; %s min_rate %s req/s",
                 r->rate >= min ? "meets" : "below", rate_text(a, sizeof a, min));
}

void ceiling_text(FILE *f, const ceiling_result *r)
{
    const plan_scenario *s = &r->plan->scenarios[r->scenario];
    fprintf(f, "  ceiling    search %g..%g/s, steps of %llus (warm-up %llus, cool-down %llus), "
               "precision %g%%\n",
            s->ceil.start_rate, s->ceil.max_rate,
            (unsigned long long)(s->ceil.step_ns / 1000000000ull),
            (unsigned long long)(s->ceil.warm_ns / 1000000000ull),
            (unsigned long long)(s->ceil.cool_ns / 1000000000ull), 100 * s->ceil.precision);
    fprintf(f, "    %4s %10s %10s %10s %10s %10s %8s  %-9s %s\n", "step", "offered/s",
            "achieved/s", "p50", "p95", "p99", "failed", "verdict", "what failed it");
    for (unsigned i = 0; i < r->nsteps; i++) {
        const ceiling_step *st = &r->steps[i];
        fprintf(f, "    %4u %10.0f %10.1f %8.3fms %8.3fms %8.3fms %7.2f%%  %-9s %s\n", i + 1,
                st->rate, st->achieved, st->p50_ms, st->p95_ms, st->p99_ms,
                100 * st->failed_rate, ceiling_verdict_name(st->verdict), st->why);
    }
    char ans[600];
    ceiling_answer(ans, sizeof ans, r);
    fprintf(f, "  answer     %s\n", ans);
    if (r->by == CEIL_BY_GENERATOR && r->advice[0])
        fprintf(f, "  advice     %s\n", r->advice);
}

static void jstr(FILE *f, const char *s)
{
    report_json_str(f, s);
}

void ceiling_json(FILE *f, const ceiling_result *r, const char *in)
{
    const plan *p = r->plan;
    const plan_scenario *s = &p->scenarios[r->scenario];
    char ans[600];
    ceiling_answer(ans, sizeof ans, r);
    fprintf(f, "{\n%s  \"rate\": %.3f,\n%s  \"bracket\": [%.3f, ", in, r->rate, in, r->rate);
    if (r->fail_rate > 0)
        fprintf(f, "%.3f],\n", r->fail_rate);
    else
        fprintf(f, "null],\n");
    fprintf(f, "%s  \"limited_by\": \"%s\",\n", in,
            r->complete ? ceiling_limit_name(r->by) : "none");
    fprintf(f, "%s  \"complete\": %s,\n%s  \"stopped_early\": %s,\n", in,
            r->complete ? "true" : "false", in, r->search.early ? "true" : "false");
    fprintf(f, "%s  \"min_rate\": ", in);
    if (s->ceil.min_rate > 0)
        fprintf(f, "%.3f,\n", s->ceil.min_rate);
    else
        fprintf(f, "null,\n");
    fprintf(f, "%s  \"below_min_rate\": %s,\n", in, r->below_min ? "true" : "false");
    fprintf(f, "%s  \"precision\": %.6g,\n", in, s->ceil.precision);
    fprintf(f, "%s  \"answer\": ", in);
    jstr(f, ans);
    fprintf(f, ",\n%s  \"advice\": ", in);
    jstr(f, r->by == CEIL_BY_GENERATOR ? r->advice : "");
    fprintf(f, ",\n%s  \"steps\": [", in);
    for (unsigned i = 0; i < r->nsteps; i++) {
        const ceiling_step *st = &r->steps[i];
        fprintf(f,
                "%s\n%s    {\"step\": %u, \"rate\": %.3f, \"achieved\": %.3f, \"start_s\": %.3f, "
                "\"latency_ms\": {\"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f}, "
                "\"requests\": %llu, \"failed_rate\": %.6f, \"dropped\": %llu, "
                "\"send_lateness_p99_ms\": %.3f, \"cpu_share\": %.3f, \"verdict\": \"%s\", "
                "\"why\": ",
                i ? "," : "", in, i + 1, st->rate, st->achieved, st->start_s, st->p50_ms,
                st->p95_ms, st->p99_ms, (unsigned long long)st->requests, st->failed_rate,
                (unsigned long long)st->dropped, st->lateness_p99_ms, st->cpu_share,
                ceiling_verdict_name(st->verdict));
        jstr(f, st->why);
        fprintf(f, ", \"failed_thresholds\": [");
        bool first = true;
        for (size_t k = 0; k < p->nthresholds; k++) {
            if (st->thr_state[k] != 2)
                continue;
            fprintf(f, "%s", first ? "" : ", ");
            jstr(f, p->thresholds[k].expr);
            first = false;
        }
        fprintf(f, "]}");
    }
    fprintf(f, "%s]\n%s}", r->nsteps ? "\n" : "", in);
    (void)s;
}
