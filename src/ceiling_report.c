/* ceiling_report: how the outputs show a ceiling search (see include/ceiling.h): the text
 * report's step table and answer line, and the JSON object scenarios.NAME.ceiling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceiling.h"
#include "series_html.h"
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
        /* "p(99) < 50ms" for the latency, "failed < 1%" for the failed rate, else as written */
        const char *sp = strchr(t->expr, ' ');
        int k;
        if (t->metric == TM_HTTP_REQ_FAILED && t->stat == TS_RATE && !t->nfilters)
            k = snprintf(buf + o, n - o, "%sfailed %s", o ? ", " : "",
                         sp && strchr(sp + 1, ' ') ? strchr(sp + 1, ' ') + 1 : t->expr);
        else if (t->metric == TM_HTTP_REQ_DURATION && !t->nfilters && sp)
            k = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", sp + 1);
        else
            k = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", t->expr);
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
                "\"send_lateness_p99_ms\": %.3f, \"cpu_share\": %.3f, \"cpu_wait_share\": %.3f, "
                "\"verdict\": \"%s\", \"why\": ",
                i ? "," : "", in, i + 1, st->rate, st->achieved, st->start_s, st->p50_ms,
                st->p95_ms, st->p99_ms, (unsigned long long)st->requests, st->failed_rate,
                (unsigned long long)st->dropped, st->lateness_p99_ms, st->cpu_share,
                st->wait_share, ceiling_verdict_name(st->verdict));
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

/* ---- html: the knee in one picture ---- */

#define HW 720.0
#define HH 300.0
#define HL 64.0
#define HR 24.0
#define HT 14.0
#define HB 44.0

typedef struct hframe {
    double x1;         /* offered rate axis: 0..x1 */
    double ylo, yhi;   /* latency: log10 range; failed: 0..yhi (percent) */
    bool log;
} hframe;

static double hx(const hframe *c, double x)
{
    return HL + x / c->x1 * (HW - HL - HR);
}

static double hy(const hframe *c, double y)
{
    double v = c->log ? (log10(y > 0 ? y : pow(10, c->ylo)) - c->ylo) / (c->yhi - c->ylo)
                      : y / c->yhi;
    if (v < 0)
        v = 0;
    if (v > 1)
        v = 1;
    return HH - HB - v * (HH - HT - HB);
}

static void frame(FILE *f, const hframe *c, const char *kind, const char *title,
                  const char *ylabel)
{
    fprintf(f, "<figure class=\"chart\" data-chart=\"%s\">\n<figcaption>%s</figcaption>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
               "aria-label=\"%s\">\n",
            kind, title, HW, HH, title);
    const char *grid = "stroke=\"#ddd\" stroke-width=\"1\"";
    const char *tick = "font-size=\"11\" fill=\"#555\"";
    if (c->log) {
        for (int e = (int)c->ylo; e <= (int)c->yhi; e++) {
            double v = pow(10, e);
            fprintf(f, "<line %s x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                       "<text %s x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                    grid, HL, hy(c, v), HW - HR, hy(c, v), tick, HL - 5, hy(c, v) + 4, v);
        }
    } else {
        for (int i = 0; i <= 4; i++) {
            double v = c->yhi * i / 4;
            fprintf(f, "<line %s x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                       "<text %s x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3g%%</text>\n",
                    grid, HL, hy(c, v), HW - HR, hy(c, v), tick, HL - 5, hy(c, v) + 4, v);
        }
    }
    double raw = c->x1 / 8, mag = pow(10, floor(log10(raw))), q = raw / mag;
    double xs = (q <= 1 ? 1 : q <= 2 ? 2 : q <= 5 ? 5 : 10) * mag; /* 1, 2 or 5 x 10^k */
    for (int i = 0; i <= 20 && xs * i <= c->x1; i++) {
        double v = xs * i;
        fprintf(f, "<line %s x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                   "<text %s x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n",
                grid, hx(c, v), HT, hx(c, v), HH - HB, tick, hx(c, v), HH - HB + 16, v);
    }
    fprintf(f, "<text font-size=\"12\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">offered "
               "rate (requests/s)</text>\n<text font-size=\"12\" x=\"14\" y=\"%.1f\" "
               "text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">%s</text>\n",
            (HL + HW - HR) / 2, HH - 6, (HT + HH - HB) / 2, (HT + HH - HB) / 2, ylabel);
}

/* A vertical marker at rate x. */
static void vmark(FILE *f, const hframe *c, double x, const char *what, const char *color,
                  const char *label)
{
    fprintf(f, "<line class=\"mark\" data-mark=\"%s\" data-rate=\"%.3f\" x1=\"%.1f\" "
               "y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" "
               "stroke-dasharray=\"%s\"/><text font-size=\"11\" fill=\"%s\" x=\"%.1f\" "
               "y=\"%.1f\">%s</text>\n",
            what, x, hx(c, x), HT, hx(c, x), HH - HB, color,
            strcmp(what, "ceiling") ? "4 3" : "none", color, hx(c, x) + 4,
            HT + (strcmp(what, "ceiling") ? 24 : 10), label);
}

static int by_rate(const void *a, const void *b)
{
    const ceiling_step *x = *(const ceiling_step *const *)a, *y = *(const ceiling_step *const *)b;
    return x->rate < y->rate ? -1 : x->rate > y->rate;
}

static void series(FILE *f, const hframe *c, const ceiling_step *const *st, unsigned n, int which,
                   const char *name, const char *color)
{
    fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"", color);
    for (unsigned i = 0; i < n; i++) {
        double v = which == 0   ? st[i]->p50_ms
                   : which == 1 ? st[i]->p95_ms
                   : which == 2 ? st[i]->p99_ms
                                : 100 * st[i]->failed_rate;
        fprintf(f, "%c%.1f %.1f", i ? 'L' : 'M', hx(c, st[i]->rate), hy(c, v));
    }
    fputs("\"/>\n", f);
    for (unsigned i = 0; i < n; i++) {
        double v = which == 0   ? st[i]->p50_ms
                   : which == 1 ? st[i]->p95_ms
                   : which == 2 ? st[i]->p99_ms
                                : 100 * st[i]->failed_rate;
        fprintf(f, "<circle class=\"pt\" data-series=\"%s\" data-rate=\"%.3f\" data-v=\"%.3f\" "
                   "data-verdict=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%.0f/s "
                   "offered: %s %.3f%s (%s)</title></circle>\n",
                name, st[i]->rate, v, ceiling_verdict_name(st[i]->verdict), hx(c, st[i]->rate),
                hy(c, v), color, st[i]->rate, name, v, which == 3 ? "%" : " ms",
                ceiling_verdict_name(st[i]->verdict));
    }
}

void ceiling_html(FILE *f, const ceiling_result *r)
{
    const plan *p = r->plan;
    if (!r->nsteps)
        return;
    const ceiling_step **st = malloc(r->nsteps * sizeof *st);
    if (!st)
        return;
    for (unsigned i = 0; i < r->nsteps; i++)
        st[i] = &r->steps[i];
    qsort(st, r->nsteps, sizeof *st, by_rate);
    double xmax = st[r->nsteps - 1]->rate * 1.08, lo = 1e9, hi = 0, fmax = 1;
    for (unsigned i = 0; i < r->nsteps; i++) {
        if (st[i]->p50_ms > 0 && st[i]->p50_ms < lo)
            lo = st[i]->p50_ms;
        if (st[i]->p99_ms > hi)
            hi = st[i]->p99_ms;
        if (100 * st[i]->failed_rate > fmax)
            fmax = 100 * st[i]->failed_rate;
    }
    /* the thresholds on latency and on the failed rate are drawn too */
    for (size_t k = 0; k < p->nthresholds; k++) {
        const threshold *t = &p->thresholds[k];
        if (!st[0]->thr_state || !r->steps[0].thr_state[k])
            continue;
        if (t->metric == TM_HTTP_REQ_DURATION && t->limit > hi)
            hi = t->limit;
        if (t->metric == TM_HTTP_REQ_FAILED && 100 * t->limit > fmax)
            fmax = 100 * t->limit;
    }
    if (lo > hi || lo <= 0)
        lo = hi > 0 ? hi / 10 : 0.01;
    hframe lat = {xmax, floor(log10(lo)), ceil(log10(hi > 0 ? hi : 1)), true};
    if (lat.yhi <= lat.ylo)
        lat.yhi = lat.ylo + 1;
    char label[64], num[32];
    fprintf(f, "<section class=\"ceiling\" data-ceiling=\"%.3f\" data-limited-by=\"%s\">\n"
               "<h3>Ceiling search</h3>\n<p>",
            r->rate, r->complete ? ceiling_limit_name(r->by) : "none");
    char ans[600];
    ceiling_answer(ans, sizeof ans, r);
    html_esc(f, ans);
    fputs("</p>\n<div class=\"charts\">\n", f);
    frame(f, &lat, "ceiling", "Latency percentiles against the offered rate",
          "latency (ms, log scale)");
    for (size_t k = 0; k < p->nthresholds; k++) {
        const threshold *t = &p->thresholds[k];
        if (t->metric != TM_HTTP_REQ_DURATION || !r->steps[0].thr_state[k])
            continue;
        fprintf(f, "<line class=\"threshold\" data-limit=\"%.3f\" x1=\"%.1f\" y1=\"%.1f\" "
                   "x2=\"%.1f\" y2=\"%.1f\" stroke=\"#b00\" stroke-dasharray=\"6 4\"/>"
                   "<text font-size=\"11\" fill=\"#b00\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"end\">",
                t->limit, HL, hy(&lat, t->limit), HW - HR, hy(&lat, t->limit), HW - HR - 2,
                hy(&lat, t->limit) - 4);
        html_esc(f, t->expr);
        fputs("</text>\n", f);
    }
    series(f, &lat, st, r->nsteps, 0, "p50", "#4a90d9");
    series(f, &lat, st, r->nsteps, 1, "p95", "#e0a030");
    series(f, &lat, st, r->nsteps, 2, "p99", "#c03030");
    if (r->rate > 0) {
        snprintf(label, sizeof label, "ceiling %s/s", rate_text(num, sizeof num, r->rate));
        vmark(f, &lat, r->rate, "ceiling", "#2a7a2a", label);
    }
    if (r->fail_rate > 0) {
        snprintf(label, sizeof label, "fails %s/s", rate_text(num, sizeof num, r->fail_rate));
        vmark(f, &lat, r->fail_rate, "fail", "#b00", label);
    }
    fputs("</svg>\n<p class=\"legend\">p50 (blue), p95 (orange), p99 (red) of each step's "
          "window; dashed red: a latency threshold; green: the ceiling</p>\n</figure>\n",
          f);
    hframe fl = {xmax, 0, fmax * 1.1, false};
    frame(f, &fl, "ceiling-failed", "Failed requests against the offered rate",
          "failed (% of requests)");
    for (size_t k = 0; k < p->nthresholds; k++) {
        const threshold *t = &p->thresholds[k];
        if (t->metric != TM_HTTP_REQ_FAILED || !r->steps[0].thr_state[k])
            continue;
        fprintf(f, "<line class=\"threshold\" data-limit=\"%.6f\" x1=\"%.1f\" y1=\"%.1f\" "
                   "x2=\"%.1f\" y2=\"%.1f\" stroke=\"#b00\" stroke-dasharray=\"6 4\"/>\n",
                t->limit, HL, hy(&fl, 100 * t->limit), HW - HR, hy(&fl, 100 * t->limit));
    }
    series(f, &fl, st, r->nsteps, 3, "failed", "#7a3aa0");
    if (r->rate > 0)
        vmark(f, &fl, r->rate, "ceiling", "#2a7a2a", "ceiling");
    fputs("</svg>\n</figure>\n</div>\n</section>\n", f);
    free(st);
}
