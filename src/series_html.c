/* series_html: `--out html=FILE`, one self-contained page written at the end of the run: the
 * verdict (thresholds, offered load), a table of the scenarios, and per scenario its latency
 * percentile distribution (corrected and service time, from the final histograms) and three
 * charts over time (requests/s, p99 and failed requests/s of each second). Only inline CSS and
 * SVG: no script, no font, no request of any kind, so it reads the same in a mail attachment, a
 * CI artifact viewer that blocks scripts, or a browser without network.
 *
 * Every plotted point carries its numbers (data-* attributes and a <title> tooltip), so a
 * reader (or a test) gets the values back without measuring pixels.
 *
 * Memory: each scenario keeps at most HTML_MAX_POINTS points. When they are full, neighbours are
 * merged pairwise and every later point covers twice as many seconds (accumulated in `pending`
 * first), so the resolution stays even over the whole run: a day at 1 point/s ends with 2,700
 * points of 32 s. A merged point adds its requests and failures and keeps the worst p99 of the
 * seconds it covers (the p99 of their union is at most that). When growing the point list runs
 * out of memory, the list is merged instead (a point is lost only when not even two fit).
 *
 * Invariant: no text of the file can become markup. Names, expressions and reasons pass through
 * redact_str, then html_esc (& < > " ' as references, control bytes as blanks, bytes that are not
 * UTF-8 as U+FFFD). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceiling.h"
#include "files.h"
#include "hist.h"
#include "redact.h"
#include "series.h"
#include "series_html.h"

struct html_series {
    html_point *pt;
    size_t n, cap;
    unsigned per; /* intervals a point covers now: 1, 2, 4, ... */
    html_point pending;
};

typedef html_point hpoint;

void html_esc(FILE *f, const char *s)
{
    s = redact_str(s ? s : "");
    while (*s) {
        uint32_t cp;
        s += report_utf8_next(s, &cp);
        const char *ref = cp == '&'    ? "&amp;"
                          : cp == '<'  ? "&lt;"
                          : cp == '>'  ? "&gt;"
                          : cp == '"'  ? "&quot;"
                          : cp == '\'' ? "&#39;"
                                       : NULL;
        if (ref)
            fputs(ref, f);
        else if (cp < 0x20 || cp == 0x7f)
            fputc(' ', f);
        else
            report_utf8_put(f, cp);
    }
}

static void merge_into(hpoint *a, const hpoint *b)
{
    if (a->ticks == 0) {
        *a = *b;
        return;
    }
    a->t = b->t;
    a->dt += b->dt;
    a->req += b->req;
    a->failed += b->failed;
    if (b->p99_ms > a->p99_ms)
        a->p99_ms = b->p99_ms;
    a->ticks += b->ticks;
}

/* Halves the list: points 2k and 2k+1 become one (an odd last one stays as it is). */
static void halve(html_series *s)
{
    size_t j = 0;
    for (size_t i = 0; i < s->n; i += 2) {
        hpoint p = s->pt[i];
        if (i + 1 < s->n)
            merge_into(&p, &s->pt[i + 1]);
        s->pt[j++] = p;
    }
    s->n = j;
    s->per *= 2;
}

/* Appends p, growing the list up to HTML_MAX_POINTS; when it cannot grow (out of memory) it
 * is halved instead, so p is kept (unless not even 2 points could be had). */
static void append(html_series *s, const hpoint *p)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        if (cap > HTML_MAX_POINTS)
            cap = HTML_MAX_POINTS;
        hpoint *pt = cap > s->cap ? realloc(s->pt, cap * sizeof *pt) : NULL;
        if (pt) {
            s->pt = pt;
            s->cap = cap;
        } else if (s->n < 2) {
            return;
        } else {
            halve(s);
        }
    }
    s->pt[s->n++] = *p;
}

html_series *html_series_new(void)
{
    html_series *s = calloc(1, sizeof *s);
    if (s)
        s->per = 1;
    return s;
}

void html_series_free(html_series *s)
{
    if (s)
        free(s->pt);
    free(s);
}

void html_series_add(html_series *s, double t, double dt, uint64_t req, uint64_t failed,
                     double p99_ms)
{
    hpoint p = {t, dt, req, failed, p99_ms, 1};
    merge_into(&s->pending, &p);
    if (s->pending.ticks < s->per)
        return;
    if (s->n == HTML_MAX_POINTS) {
        halve(s); /* from now on a point covers twice as many: the pending one waits */
        if (s->pending.ticks < s->per)
            return;
    }
    append(s, &s->pending);
    s->pending = (hpoint){0};
}

size_t html_series_points(html_series *s, const html_point **pt)
{
    if (s->pending.ticks) {
        if (s->n == HTML_MAX_POINTS)
            halve(s);
        append(s, &s->pending);
        s->pending = (hpoint){0};
    }
    *pt = s->pt;
    return s->n;
}

/* ---- charts ---- */

#define CW 600.0 /* the drawing's width and height (viewBox units) */
#define CH 250.0
#define ML 62.0 /* margins: room for the tick labels and the axis titles */
#define MR 30.0
#define MT 12.0
#define MB 44.0

typedef struct chart {
    const char *kind;  /* data-chart: "percentiles", "rate", "p99", "errors" */
    const char *title; /* the figure's caption */
    const char *xlabel, *ylabel;
    double x0, x1, y1; /* y starts at 0 */
    bool xpct;         /* x is log10(1 / (1 - p)), labelled as percentiles */
} chart;

static double px(const chart *c, double x)
{
    double span = c->x1 > c->x0 ? c->x1 - c->x0 : 1;
    return ML + (x - c->x0) / span * (CW - ML - MR);
}

static double py(const chart *c, double y)
{
    double v = c->y1 > 0 ? y / c->y1 : 0;
    return CH - MB - v * (CH - MT - MB);
}

/* A tick step of 1, 2 or 5 times a power of ten giving about n ticks over span. */
static double nice_step(double span, int n)
{
    if (!(span > 0))
        return 1;
    double raw = span / n, mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

/* The top of a y axis holding max: the next tick above it. */
static double nice_top(double max)
{
    if (!(max > 0))
        return 1;
    double step = nice_step(max, 5);
    return ceil(max * 1.0001 / step) * step;
}

/* A tick label with as many decimals as the step needs; thousands and millions as k and M,
 * so that a label stays narrow enough for the margin. */
static void num_label(char *buf, size_t n, double v, double step)
{
    if (step >= 1000 && v >= 1000) {
        bool mega = step >= 1e6 && v >= 1e6;
        double unit = mega ? 1e6 : 1e3;
        num_label(buf, n, v / unit, step / unit);
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s", mega ? "M" : "k");
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, n, "%.*f", dec > 6 ? 6 : dec, v);
}

/* The percentile an x of the percentile axis stands for: 0 -> "0%", 1 -> "90%", 3 -> "99.9%". */
static void pct_label(char *buf, size_t n, int x)
{
    if (x == 0) {
        snprintf(buf, n, "0%%");
        return;
    }
    snprintf(buf, n, "%.*f%%", x - 2 > 0 ? x - 2 : 0, 100.0 - 100.0 / pow(10, x));
}

static void chart_open(FILE *f, const chart *c)
{
    fprintf(f, "<figure class=\"chart\" data-chart=\"%s\">\n<figcaption>", c->kind);
    html_esc(f, c->title);
    fprintf(f,
            "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
            "role=\"img\" aria-label=\"",
            CW, CH);
    html_esc(f, c->title);
    fputs("\">\n", f);
    double x0 = px(c, c->x0), x1 = px(c, c->x1), yb = py(c, 0), yt = py(c, c->y1);
    /* y grid and labels */
    double ys = nice_step(c->y1, 5);
    for (int i = 0; i <= 12; i++) {
        double v = ys * i;
        if (v > c->y1 * 1.0001)
            break;
        char lab[32];
        num_label(lab, sizeof lab, v, ys);
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                x0, py(c, v), x1, py(c, v), x0 - 5, py(c, v) + 4, lab);
    }
    /* x grid and labels */
    if (c->xpct) {
        for (int i = (int)c->x0; i <= (int)c->x1; i++) {
            char lab[32];
            pct_label(lab, sizeof lab, i);
            fprintf(f,
                    "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                    "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                    px(c, i), yb, px(c, i), yt, px(c, i), yb + 16, lab);
        }
    } else {
        double xs = nice_step(c->x1 - c->x0, 8);
        for (int i = 0; i <= 20; i++) {
            double v = ceil(c->x0 / xs) * xs + xs * i;
            if (v > c->x1 * 1.0001)
                break;
            char lab[32];
            num_label(lab, sizeof lab, v, xs);
            fprintf(f,
                    "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                    "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                    px(c, v), yb, px(c, v), yt, px(c, v), yb + 16, lab);
        }
    }
    fprintf(f,
            "<path class=\"axis\" d=\"M%.1f %.1fV%.1fH%.1f\"/>\n"
            "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
            x0, yt, yb, x1, (x0 + x1) / 2, CH - 6);
    html_esc(f, c->xlabel);
    fprintf(f,
            "</text>\n<text class=\"label\" x=\"14\" y=\"%.1f\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 14 %.1f)\">",
            (yb + yt) / 2, (yb + yt) / 2);
    html_esc(f, c->ylabel);
    fputs("</text>\n", f);
}

static void chart_close(FILE *f)
{
    fputs("</svg>\n</figure>\n", f);
}

/* A polyline through the points whose y is not NaN; a NaN breaks it. */
static void chart_path(FILE *f, const chart *c, const char *cls, const double *x, const double *y,
                       size_t n)
{
    fprintf(f, "<path class=\"line %s\" d=\"", cls);
    bool pen = false;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i])) {
            pen = false;
            continue;
        }
        fprintf(f, "%c%.1f %.1f", pen ? 'L' : 'M', px(c, x[i]), py(c, y[i]));
        pen = true;
    }
    fputs("\"/>\n", f);
}

/* ---- the percentile distribution ---- */

/* The percentiles plotted, HdrHistogram's way: x = log10(1 / (1 - p)). */
static const double pcts[] = {0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999};
#define NPCTS (sizeof pcts / sizeof pcts[0])
#define PCT_XMAX 5 /* 99.999% */

static double pct_x(double p)
{
    return log10(100.0 / (100.0 - p));
}

static double ms_at(const hist *h, double p)
{
    return (double)hist_value_at(h, p) / 1e3;
}

static void pct_points(FILE *f, const chart *c, const char *which, const char *name, const hist *h)
{
    double x[NPCTS], y[NPCTS];
    for (size_t i = 0; i < NPCTS; i++) {
        x[i] = pct_x(pcts[i]);
        y[i] = ms_at(h, pcts[i]);
    }
    chart_path(f, c, which, x, y, NPCTS);
    for (size_t i = 0; i < NPCTS; i++)
        fprintf(f,
                "<circle class=\"pt %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" data-series=\"%s\" "
                "data-p=\"%g\" data-v=\"%.3f\"><title>%s p%g: %.3f ms</title></circle>\n",
                which, px(c, x[i]), py(c, y[i]), which, pcts[i], y[i], name, pcts[i], y[i]);
}

static void percentiles(FILE *f, const report_scenario *rs)
{
    const hist *lat = rs->m->latency, *svc = rs->m->service;
    if (!lat || hist_count(lat) == 0) {
        fputs("<p class=\"none\">No request completed: no latency distribution.</p>\n", f);
        return;
    }
    double top = ms_at(lat, 100);
    if (svc && hist_count(svc) && ms_at(svc, 100) > top)
        top = ms_at(svc, 100);
    chart c = {"percentiles",
               "Latency by percentile (corrected and service time)",
               "percentile (log scale of 1/(1 - p))",
               "latency (ms)",
               0,
               PCT_XMAX,
               nice_top(top),
               true};
    chart_open(f, &c);
    pct_points(f, &c, "latency", "corrected", lat);
    if (svc && hist_count(svc))
        pct_points(f, &c, "service", "service time", svc);
    fputs("</svg>\n", f);
    fprintf(f,
            "<p class=\"legend\"><span class=\"key latency\"></span>corrected (from each "
            "request's intended start) <span class=\"key service\"></span>service time (from "
            "the send); max %.3f ms, %" PRIu64 " requests</p>\n</figure>\n",
            ms_at(lat, 100), hist_count(lat));
}

/* ---- over time ---- */

enum { OVER_RATE, OVER_P99, OVER_ERRORS };

static void over_time(FILE *f, const hpoint *pt, size_t n, double t1, int what)
{
    static const char *const kinds[] = {"rate", "p99", "errors"};
    static const char *const titles[] = {"Requests per second", "Latency p99 of each second",
                                         "Failed requests per second"};
    static const char *const ylabels[] = {"requests/s", "p99 latency (ms)", "failed/s"};
    double *x = calloc(n ? n : 1, sizeof *x), *y = calloc(n ? n : 1, sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        fputs("<p class=\"none\">(out of memory for this chart)</p>\n", f);
        return;
    }
    double max = 0;
    for (size_t i = 0; i < n; i++) {
        const hpoint *p = &pt[i];
        double dt = p->dt > 0 ? p->dt : 1;
        x[i] = p->t;
        y[i] = what == OVER_RATE     ? (double)p->req / dt
               : what == OVER_ERRORS ? (double)p->failed / dt
               : p->p99_ms >= 0      ? p->p99_ms
                                     : NAN;
        if (!isnan(y[i]) && y[i] > max)
            max = y[i];
    }
    chart c = {
        kinds[what],   titles[what], "time since the start (s)", ylabels[what], 0, t1 > 0 ? t1 : 1,
        nice_top(max), false};
    chart_open(f, &c);
    chart_path(f, &c, kinds[what], x, y, n);
    double r = n > 600 ? 1 : n > 120 ? 1.8 : 2.6;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        uint64_t cnt = what == OVER_ERRORS ? pt[i].failed : pt[i].req;
        fprintf(f,
                "<circle class=\"pt %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" data-t=\"%.3f\" "
                "data-dt=\"%.3f\" data-n=\"%" PRIu64 "\" data-v=\"%.3f\"><title>%.1f s: %.3f %s "
                "(%" PRIu64 " requests in %.3f s)</title></circle>\n",
                kinds[what], px(&c, x[i]), py(&c, y[i]), r, pt[i].t, pt[i].dt, cnt, y[i], pt[i].t,
                y[i], ylabels[what], cnt, pt[i].dt);
    }
    chart_close(f);
    free(x);
    free(y);
}

/* ---- the verdict ---- */

static const offered_result *offered_of(const verdict *v, const char *name, size_t i)
{
    if (!v || !name)
        return NULL;
    if (i < v->noff && v->off[i].scenario && strcmp(v->off[i].scenario, name) == 0)
        return &v->off[i];
    for (size_t j = 0; j < v->noff; j++)
        if (v->off[j].scenario && strcmp(v->off[j].scenario, name) == 0)
            return &v->off[j];
    return NULL;
}

/* The CSS class of an offered-load word ("n/a" is not a class name). */
static const char *st_class(const char *w)
{
    return strcmp(w, "n/a") == 0 ? "na" : w;
}

static void td_ms(FILE *f, const hist *h, double p)
{
    if (!h || hist_count(h) == 0)
        fputs("<td class=\"num\">–</td>", f);
    else
        fprintf(f, "<td class=\"num\">%.3f</td>", ms_at(h, p));
}

static void scenarios_table(FILE *f, const report_run *run)
{
    fputs("<h2>Scenarios</h2>\n<table id=\"scenarios\">\n<tr><th>scenario</th><th>requests</th>"
          "<th>failed</th><th>achieved</th><th>target</th><th>p50 ms</th><th>p95 ms</th>"
          "<th>p99 ms</th><th>max ms</th><th>offered load</th></tr>\n",
          f);
    for (size_t i = 0; i < run->nsc; i++) {
        const report_scenario *rs = &run->sc[i];
        const metrics_counts *c = &rs->m->c;
        const offered_result *o = offered_of(run->verdict, rs->s->name, i);
        uint64_t done = c->ok + c->failed;
        fputs("<tr><td>", f);
        html_esc(f, rs->s->name);
        fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64, done,
                c->failed);
        if (done)
            fprintf(f, " (%.2f%%)", 100.0 * (double)c->failed / (double)done);
        fprintf(f, "</td><td class=\"num\">%.1f/s</td>", report_achieved_rate(rs));
        if (PLAN_IS_ARRIVAL(rs->s->executor))
            fprintf(f, "<td class=\"num\">%.1f/s</td>", report_target_rate(rs));
        else
            fprintf(f, "<td class=\"num\">– (%u VUs)</td>", rs->s->vus);
        td_ms(f, rs->m->latency, 50);
        td_ms(f, rs->m->latency, 95);
        td_ms(f, rs->m->latency, 99);
        td_ms(f, rs->m->latency, 100);
        const char *w = o ? verdict_offered_name(o->state) : "n/a";
        fprintf(f, "<td class=\"st %s\">%s</td></tr>\n", st_class(w), w);
    }
    fputs("</table>\n", f);
}

static void thresholds_table(FILE *f, const verdict *v)
{
    size_t failed = 0;
    for (size_t i = 0; i < v->nthr; i++)
        failed += !v->thr[i].ok;
    if (failed)
        fprintf(f, "<h2>Thresholds: %zu of %zu failed</h2>\n", failed, v->nthr);
    else
        fprintf(f, "<h2>Thresholds: all %zu passed</h2>\n", v->nthr);
    fputs("<table id=\"thresholds\">\n<tr><th></th><th>threshold</th><th>scope</th>"
          "<th>observed</th><th>limit</th><th>samples</th></tr>\n",
          f);
    for (size_t i = 0; i < v->nthr; i++) {
        const threshold_result *t = &v->thr[i];
        fprintf(f, "<tr class=\"threshold %s\" data-ok=\"%s\" data-expr=\"", t->ok ? "ok" : "fail",
                t->ok ? "true" : "false");
        html_esc(f, t->expr);
        fputs("\" data-observed=\"", f);
        if (!t->empty)
            fprintf(f, "%.6g", t->observed);
        fprintf(f, "\" data-limit=\"%.6g\"><td class=\"mark\">%s</td><td><code>", t->limit,
                t->ok ? "✓" : "✗");
        html_esc(f, t->expr);
        fputs("</code></td><td>", f);
        html_esc(f, t->scenario ? t->scenario : "global");
        fputs("</td><td class=\"num\">", f);
        html_esc(f, t->empty && !t->observed_text[0] ? "no samples" : t->observed_text);
        if (t->aborted)
            fputs(" (stopped the run)", f);
        fputs("</td><td class=\"num\">", f);
        html_esc(f, t->limit_text);
        fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td></tr>\n", t->samples);
    }
    fputs("</table>\n", f);
}

static void offered_table(FILE *f, const report_run *run)
{
    const verdict *v = run->verdict;
    fputs("<h2>Offered load</h2>\n<p class=\"note\">Did blast offer the load it was asked for "
          "(no drops, a short queue, sends on time)?</p>\n<table id=\"offered\">\n<tr>"
          "<th>scenario</th><th>verdict</th><th>reason</th><th>dropped</th><th>queue max</th>"
          "<th>send lateness p99</th></tr>\n",
          f);
    for (size_t i = 0; i < run->nsc; i++) {
        const char *name = run->sc[i].s->name;
        const offered_result *o = offered_of(v, name, i);
        const char *w = o ? verdict_offered_name(o->state) : "n/a";
        fprintf(f, "<tr class=\"offered\" data-state=\"%s\" data-scenario=\"", w);
        html_esc(f, name);
        fputs("\"><td>", f);
        html_esc(f, name);
        fprintf(f, "</td><td class=\"st %s\">%s</td><td>", st_class(w), w);
        if (o && o->reason[0])
            html_esc(f, o->reason);
        else
            fputs(o && o->state == OFFERED_OK ? "–" : "does not apply", f);
        if (o && o->advice[0]) {
            fputs("<br><em>", f);
            html_esc(f, o->advice);
            fputs("</em>", f);
        }
        if (o && o->state != OFFERED_NA)
            fprintf(f,
                    "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64
                    "</td><td class=\"num\">%.3f ms (bound %.3f ms)</td></tr>\n",
                    o->dropped, o->queue_max, o->lateness_p99_ms, o->lateness_bound_ms);
        else
            fputs("</td><td></td><td></td><td></td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* ---- the page ---- */

static const char *const style =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;"
    "color:#1f2328;background:#fff;max-width:1280px}"
    "h1{font-size:26px;margin:0 0 4px}h1.pass{color:#1a7f37}h1.fail{color:#cf222e}"
    "h2{font-size:19px;margin:26px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}"
    "h3{font-size:16px;margin:18px 0 6px}.meta,.note{color:#59636e;margin:4px 0}"
    "table{border-collapse:collapse;font-size:14px}"
    "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.threshold.ok td.mark{color:#1a7f37;font-weight:bold}"
    "tr.threshold.fail td.mark{color:#cf222e;font-weight:bold}"
    "tr.threshold.fail{background:#ffebe9}"
    ".st.ok{color:#1a7f37}.st.warn{color:#9a6700}.st.fail{color:#cf222e;font-weight:bold}"
    ".st.na{color:#59636e}"
    "section.scenario{margin-top:30px}.charts{display:flex;flex-wrap:wrap;gap:12px}"
    "figure.chart{margin:0;width:540px;border:1px solid #d0d7de;border-radius:6px;padding:6px}"
    "figcaption{font-size:14px;font-weight:600;margin:2px 4px 4px}"
    "svg{width:100%;height:auto;display:block}"
    "svg .grid{stroke:#eaeef2;stroke-width:1}svg .axis{stroke:#59636e;fill:none}"
    "svg .tick{font-size:11px;fill:#59636e}svg .label{font-size:12px;fill:#1f2328}"
    "svg .line{fill:none;stroke-width:2}"
    ".latency{stroke:#cf222e;fill:#cf222e}.service{stroke:#0969da;fill:#0969da}"
    ".rate{stroke:#1a7f37;fill:#1a7f37}.p99{stroke:#bc4c00;fill:#bc4c00}"
    ".errors{stroke:#8250df;fill:#8250df}svg path.line{fill:none}"
    ".legend{font-size:13px;color:#59636e}"
    ".key{display:inline-block;width:18px;height:3px;vertical-align:middle;margin:0 4px 0 8px}"
    ".key.latency{background:#cf222e}.key.service{background:#0969da}"
    ".none{color:#59636e;font-style:italic}";

static void heading(FILE *f, const report_run *run)
{
    const verdict *v = run->verdict;
    const char *cls = !v ? "none" : verdict_failed(v) ? "fail" : "pass";
    const char *text = !v                  ? "blast: run complete (no thresholds judged)"
                       : verdict_failed(v) ? "✗ blast: fail"
                                           : "✓ blast: pass";
    fprintf(f, "<h1 id=\"verdict\" class=\"%s\" data-passed=\"%s\">%s</h1>\n<p class=\"meta\">",
            cls, verdict_failed(v) ? "false" : "true", text);
    if (run->plan && run->plan->file) {
        html_esc(f, run->plan->file);
        fputs(": ", f);
    }
    fprintf(f, "%.1f s, %u worker%s", run->duration_s, run->workers, run->workers == 1 ? "" : "s");
    if (run->plan && run->plan->profile) {
        fputs(", profile ", f);
        html_esc(f, run->plan->profile);
    }
    if (!run->started)
        fputs(", stopped before the start: no request was sent", f);
    else if (run->interrupted)
        fputs(", interrupted", f);
    if (run->aborted) {
        fputs(", stopped early: ", f);
        html_esc(f, run->abort_reason);
    }
    if (v)
        fprintf(f, ". blast itself used %.2f s of CPU and %.1f MiB at most",
                v->cpu_user_s + v->cpu_sys_s, (double)v->rss_max_kib / 1024);
    fputs(".</p>\n", f);
}

/* A scenario's WebSocket sessions in one line (nothing without a WebSocket step); the figures
 * are in data- attributes too, for scripts that read the page. */
static void ws_line(FILE *f, const metrics_ws *w)
{
    if (!w)
        return;
    const metrics_ws_counts *c = &w->c;
    uint64_t judged = c->replied + c->timed_out + c->cut;
    double rate = judged ? (double)c->replied / (double)judged : 1.0;
    const hist *h = w->msg_latency;
    bool any = h && hist_count(h) > 0;
    fprintf(f,
            "<p class=\"ws\" data-sessions=\"%" PRIu64 "\" data-sent=\"%" PRIu64
            "\" data-received=\"%" PRIu64 "\" data-delivery=\"%.6f\">WebSocket: %" PRIu64
            " sessions (%" PRIu64 " failed), %" PRIu64 " messages sent, %" PRIu64
            " received, delivery rate %.2f%% (%" PRIu64 " timed out, %" PRIu64 " cut)",
            c->sessions, c->msgs_sent, c->msgs_received, rate, c->sessions, c->sessions_failed,
            c->msgs_sent, c->msgs_received, rate * 100, c->timed_out, c->cut);
    if (any)
        fprintf(f, ", message latency p50 %.3f ms, p99 %.3f ms", ms_at(h, 50), ms_at(h, 99));
    fputs(".</p>\n", f);
}

static void scenario_section(FILE *f, const report_scenario *rs, html_series *s, double t1)
{
    fputs("<section class=\"scenario\" data-scenario=\"", f);
    html_esc(f, rs->s->name);
    fputs("\">\n<h2>Scenario ", f);
    html_esc(f, rs->s->name);
    fputs("</h2>\n", f);
    ws_line(f, rs->m->ws);
    fputs("<div class=\"charts\">\n", f);
    percentiles(f, rs);
    const hpoint *pt = NULL;
    size_t n = s ? html_series_points(s, &pt) : 0;
    if (n == 0) {
        fputs("</div>\n<p class=\"none\">No interval was recorded.</p>\n</section>\n", f);
        return;
    }
    over_time(f, pt, n, t1, OVER_RATE);
    over_time(f, pt, n, t1, OVER_P99);
    over_time(f, pt, n, t1, OVER_ERRORS);
    fprintf(f,
            "</div>\n<p class=\"note\">One point per %.0f s (the last one may be shorter); "
            "p99 is of the requests completed in each interval.</p>\n</section>\n",
            n > 1 ? pt[0].dt : 1.0);
}

static void page(FILE *f, const report_run *run, html_series **sc, size_t nsc)
{
    const verdict *v = run->verdict;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; img-src data:\">\n<title>",
          f);
    fputs(!v ? "blast: run complete" : verdict_failed(v) ? "blast: fail" : "blast: pass", f);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", style);
    heading(f, run);
    scenarios_table(f, run);
    if (v && v->nthr)
        thresholds_table(f, v);
    if (v && v->noff)
        offered_table(f, run);
    double t1 = run->duration_s;
    for (size_t i = 0; i < nsc; i++) {
        const html_point *pt;
        size_t n = html_series_points(sc[i], &pt);
        if (n && pt[n - 1].t > t1)
            t1 = pt[n - 1].t;
    }
    for (size_t i = 0; i < run->nsc; i++) {
        scenario_section(f, &run->sc[i], i < nsc ? sc[i] : NULL, t1);
        if (run->ceiling && run->ceiling->scenario == i) /* the search's own charts */
            ceiling_html(f, run->ceiling);
    }
    fputs("<p class=\"note\">Written by blast. Latency is corrected for coordinated omission "
          "(from each request's intended start); service time is from the actual send. "
          "Every point carries its values (hover for them).</p>\n</body>\n</html>\n",
          f);
}

/* ---- the kind ---- */

typedef struct html_out {
    files_out o;
    size_t nsc;
    html_series **sc; /* one per scenario of the plan, in its order */
} html_out;

static void out_free(html_out *h)
{
    for (size_t i = 0; i < h->nsc; i++)
        html_series_free(h->sc[i]);
    free(h->sc);
    free(h);
}

static int open_html(void **state, const char *dest, const plan *p, char *err, size_t errlen)
{
    html_out *h = calloc(1, sizeof *h);
    size_t nsc = p ? p->nscenarios : 0;
    if (h && nsc && !(h->sc = calloc(nsc, sizeof *h->sc))) {
        free(h);
        h = NULL;
    }
    for (size_t i = 0; h && i < nsc; i++, h->nsc++)
        if (!(h->sc[i] = html_series_new())) {
            out_free(h);
            h = NULL;
        }
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = files_out_open(&h->o, dest, err, errlen);
    if (rc < 0) {
        out_free(h);
        return rc;
    }
    *state = h;
    return 0;
}

static void interval(void *state, const report_run *sec, const report_run *cum, double t_s,
                     bool final)
{
    html_out *h = state;
    (void)cum;
    (void) final;
    if (!sec)
        return;
    for (size_t i = 0; i < sec->nsc && i < h->nsc; i++) {
        const report_scenario *rs = &sec->sc[i];
        const metrics_rec *m = rs->m;
        if (rs->window_s <= 0 && m->c.ok + m->c.failed + m->c.dropped == 0)
            continue; /* not started yet, or over */
        double p99 = m->latency && hist_count(m->latency) ? ms_at(m->latency, 99) : -1;
        html_series_add(h->sc[i], t_s, sec->duration_s, m->c.ok + m->c.failed, m->c.failed, p99);
    }
}

static int finish(void *state, const report_run *run, char *err, size_t errlen)
{
    html_out *h = state;
    page(h->o.f, run, h->sc, h->nsc);
    int rc = files_out_close(&h->o, err, errlen);
    out_free(h);
    return rc;
}

static void discard(void *state)
{
    html_out *h = state;
    files_out_discard(&h->o);
    out_free(h);
}

const series_kind series_html = {"html", open_html, interval, finish, discard};
