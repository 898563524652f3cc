/* compare_print: owns how `blast compare` reads in a CI log (see include/compare.h): the limits,
 * one table of every row (base, new and change lines; no colour, columns padded to fit), one
 * line per metric beyond its limit naming scenario, step and metric, and a last line with the
 * outcome. Everything it prints comes from the report: it judges nothing itself. */
#include <stdlib.h>
#include <string.h>

#include "compare.h"

#define NCOLS 10 /* name, verdict, run, p50, p95, p99, max, failed, rate, ceiling (when any) */
#define CELL 64

typedef struct line {
    char c[NCOLS][CELL];
} line;

typedef struct table {
    line *l;
    size_t n, cap;
} table;

static line *add_line(table *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        line *g = realloc(t->l, cap * sizeof *g);
        if (!g)
            return NULL;
        t->l = g;
        t->cap = cap;
    }
    line *l = &t->l[t->n++];
    memset(l, 0, sizeof *l);
    return l;
}

static void value(char *out, size_t cap, int m, double v)
{
    if (m == CMP_FAILED)
        snprintf(out, cap, "%.2f%%", v);
    else if (m == CMP_RATE || m == CMP_CEILING)
        snprintf(out, cap, "%.1f", v);
    else
        snprintf(out, cap, "%.3f", v);
}

/* A baseline cell: the value, or lowest-highest over several baselines that differ. */
static void base_cell(char *out, const compare_row *r, int m)
{
    if (!r->lo.has[m]) {
        snprintf(out, CELL, "-");
        return;
    }
    char lo[CELL / 2 - 1], hi[CELL / 2 - 1];
    value(lo, sizeof lo, m, r->lo.v[m]);
    value(hi, sizeof hi, m, r->hi.v[m]);
    if (strcmp(lo, hi) == 0)
        snprintf(out, CELL, "%s", lo);
    else
        snprintf(out, CELL, "%s-%s", lo, hi);
}

/* The worst baseline value, the one the limits apply to. */
static double worst(const compare_row *r, int m)
{
    return m == CMP_RATE || m == CMP_CEILING ? r->lo.v[m] : r->hi.v[m];
}

/* The change from the worst baseline: percent (latency, rate) or points (failed); "!" marks a
 * metric beyond its limit. */
static void change_cell(char *out, const compare_row *r, int m)
{
    if (!r->lo.has[m] || !r->nw.has[m]) {
        snprintf(out, CELL, "-");
        return;
    }
    double w = worst(r, m), n = r->nw.v[m];
    const char *mark = r->regressed & 1u << m ? "!" : "";
    if (m == CMP_FAILED)
        snprintf(out, CELL, "%+.2fpp%s", n - w, mark);
    else if (w > 0)
        snprintf(out, CELL, "%+.1f%%%s", (n - w) / w * 100, mark);
    else if (m == CMP_RATE || m == CMP_CEILING)
        snprintf(out, CELL, "%+.1f/s%s", n - w, mark);
    else
        snprintf(out, CELL, "%+.3fms%s", n - w, mark);
}

/* A name as printed: control bytes (a JSON name may hold "\n") become '?', so that every row
 * stays one line. */
static void clean(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s", name);
    for (; *out; out++)
        if ((unsigned char)*out < 0x20 || *out == 0x7f)
            *out = '?';
}

static void row_name(char *out, const compare_row *r)
{
    char name[CELL - 10];
    clean(name, sizeof name, r->step ? r->step : r->scenario);
    if (!r->step)
        snprintf(out, CELL, "%s", name);
    else if (r->occ)
        snprintf(out, CELL, "  %.40s (#%u)", name, r->occ + 1);
    else
        snprintf(out, CELL, "  %s", name);
}

static int fill(table *t, const compare_report *rep)
{
    static const char *const head[NCOLS] = {"scenario / step", "verdict", "run",
                                            "p50 ms",          "p95 ms",  "p99 ms",
                                            "max ms",          "failed",  "rate/s",
                                            "ceiling/s"};
    line *l = add_line(t);
    if (!l)
        return -1;
    for (int c = 0; c < NCOLS; c++)
        snprintf(l->c[c], CELL, "%s", head[c]);
    for (size_t i = 0; i < rep->nrows; i++) {
        const compare_row *r = &rep->rows[i];
        bool first = true;
        for (int kind = 0; kind < 3; kind++) { /* base, new, change */
            if ((kind == 0 && !r->nbase) || (kind == 1 && !r->in_new) ||
                (kind == 2 && (!r->nbase || !r->in_new)))
                continue;
            if (!(l = add_line(t)))
                return -1;
            if (first) {
                row_name(l->c[0], r);
                snprintf(l->c[1], CELL, "%s", compare_verdict_names[r->verdict]);
                first = false;
            }
            snprintf(l->c[2], CELL, "%s", kind == 0 ? "base" : kind == 1 ? "new" : "change");
            for (int m = 0; m < CMP_NMETRICS; m++) {
                char *cell = l->c[3 + m];
                if (kind == 0)
                    base_cell(cell, r, m);
                else if (kind == 2)
                    change_cell(cell, r, m);
                else if (r->nw.has[m])
                    value(cell, CELL, m, r->nw.v[m]);
                else
                    snprintf(cell, CELL, "-");
            }
        }
    }
    return 0;
}

static void print_table(FILE *f, const table *t, int ncols)
{
    size_t w[NCOLS] = {0};
    for (size_t i = 0; i < t->n; i++)
        for (int c = 0; c < ncols; c++) {
            size_t n = strlen(t->l[i].c[c]);
            if (n > w[c])
                w[c] = n;
        }
    for (size_t i = 0; i < t->n; i++) {
        const line *l = &t->l[i];
        char buf[NCOLS * (CELL + 2) + 1];
        size_t n = 0;
        for (int c = 0; c < ncols; c++) /* text columns to the left, figures to the right */
            n += (size_t)snprintf(buf + n, sizeof buf - n, c < 3 ? "%-*s  " : "%*s  ", (int)w[c],
                                  l->c[c]);
        while (n && buf[n - 1] == ' ')
            n--;
        fprintf(f, "%.*s\n", (int)n, buf);
    }
}

/* Whether any run of the report searched a ceiling: only then is it a column and a limit. */
static bool any_ceiling(const compare_report *rep)
{
    for (size_t i = 0; i < rep->nrows; i++)
        if (rep->rows[i].nw.has[CMP_CEILING] || rep->rows[i].lo.has[CMP_CEILING])
            return true;
    return false;
}

static void print_limits(FILE *f, const compare_limits *l, bool ceiling)
{
    fprintf(f, "limits:");
    const char *sep = " ";
    for (int m = 0; m < CMP_NMETRICS; m++) {
        const compare_limit *x = &l->m[m];
        if (!x->on || (m == CMP_CEILING && !ceiling))
            continue;
        if (m == CMP_FAILED)
            fprintf(f, "%sfailed +%gpp", sep, x->abs);
        else if (m == CMP_RATE || m == CMP_CEILING)
            fprintf(f, "%s%s %g%%", sep, compare_metric_names[m], x->rel);
        else
            fprintf(f, "%s%s +%g%% and +%gms", sep, compare_metric_names[m], x->rel, x->abs);
        sep = ", ";
    }
    const char *off = "; not judged: ";
    for (int m = 0; m < CMP_NMETRICS; m++)
        if (!l->m[m].on && (m != CMP_CEILING || ceiling)) {
            fprintf(f, "%s%s", off, compare_metric_names[m]);
            off = ", ";
        }
    fprintf(f, "\n");
}

static void print_where(FILE *f, const compare_row *r)
{
    char name[256];
    clean(name, sizeof name, r->scenario);
    fprintf(f, "scenario %s", name);
    if (r->step) {
        clean(name, sizeof name, r->step);
        fprintf(f, ", step \"%s\"%s", name, r->occ ? " (a later one of that name)" : "");
    }
}

/* One line per metric beyond its limit: "regressed: scenario s: p99 5.000 -> 10.100 ms ...". */
static void print_regressions(FILE *f, const compare_row *r, const compare_limits *l, size_t nbase)
{
    for (int m = 0; m < CMP_NMETRICS; m++) {
        if (!(r->regressed & 1u << m))
            continue;
        double w = worst(r, m), n = r->nw.v[m];
        const compare_limit *x = &l->m[m];
        const char *of =
            nbase > 1 ? (m == CMP_RATE || m == CMP_CEILING ? " (lowest baseline)"
                                                           : " (highest baseline)")
                      : "";
        fprintf(f, "regressed: ");
        print_where(f, r);
        if (m == CMP_FAILED)
            fprintf(f, ": failed %.2f%%%s -> %.2f%% (%+.2fpp; allowed +%gpp)\n", w, of, n, n - w,
                    x->abs);
        else if (m == CMP_RATE || m == CMP_CEILING)
            fprintf(f, ": %s %.1f/s%s -> %.1f/s (%+.1f%%; allowed %g%%)\n",
                    compare_metric_names[m], w, of, n, w > 0 ? (n - w) / w * 100 : 0.0, x->rel);
        else
            fprintf(f, ": %s %.3f ms%s -> %.3f ms (%+.1f%%, %+.3f ms; allowed +%g%% and +%gms)\n",
                    compare_metric_names[m], w, of, n, w > 0 ? (n - w) / w * 100 : 0.0, n - w,
                    x->rel, x->abs);
    }
}

/* A step counts as its own "new" or "missing" line only when its scenario is in both runs. */
static bool scenario_in_both(const compare_report *rep, const compare_row *r)
{
    for (size_t i = 0; i < rep->nrows; i++) {
        const compare_row *s = &rep->rows[i];
        if (!s->step && strcmp(s->scenario, r->scenario) == 0)
            return s->in_new && s->nbase;
    }
    return false;
}

void compare_print(FILE *f, const compare_report *rep, const compare_limits *l,
                   const char *const *base_paths, size_t nbase, const char *new_path)
{
    fprintf(f, "blast compare: %s against %zu baseline%s (", new_path, nbase,
            nbase == 1 ? "" : "s");
    for (size_t i = 0; i < nbase; i++)
        fprintf(f, "%s%s", i ? ", " : "", base_paths[i]);
    fprintf(f, ")%s\n", nbase > 1 ? "; judged against the worst baseline of each figure" : "");
    bool ceiling = any_ceiling(rep);
    print_limits(f, l, ceiling);
    fprintf(f, "\n");
    table t = {0};
    if (fill(&t, rep) == 0)
        print_table(f, &t, ceiling ? NCOLS : NCOLS - 1);
    else
        fprintf(f, "(the table did not fit in memory)\n");
    free(t.l);
    fprintf(f, "change: against the worst baseline (%s); ! beyond the limit\n\n",
            nbase > 1 ? "highest latency and failed rate, lowest rate" : "the baseline");

    size_t count[5] = {0};
    for (size_t i = 0; i < rep->nrows; i++) {
        const compare_row *r = &rep->rows[i];
        count[r->verdict]++;
        if (r->verdict == CMP_REGRESSED)
            print_regressions(f, r, l, nbase);
        else if ((r->verdict == CMP_NEW || r->verdict == CMP_MISSING) &&
                 (!r->step || scenario_in_both(rep, r))) {
            fprintf(f, "%s: ", compare_verdict_names[r->verdict]);
            print_where(f, r);
            fprintf(f, ": only in the %s (not judged; not a regression)\n",
                    r->verdict == CMP_NEW ? "new run"
                    : nbase > 1           ? "baselines"
                                          : "baseline");
        }
    }
    if (rep->nregressed)
        fprintf(f, "blast compare: REGRESSED: %zu of %zu rows beyond the limits (exit 99)\n",
                rep->nregressed, rep->nrows);
    else
        fprintf(f,
                "blast compare: no regression (%zu rows: %zu ok, %zu improved, %zu new, %zu "
                "missing)\n",
                rep->nrows, count[CMP_OK], count[CMP_IMPROVED], count[CMP_NEW], count[CMP_MISSING]);
}
