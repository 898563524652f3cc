/* compare: owns `blast compare` (see include/compare.h): the --max-regress grammar, reading blast
 * JSON files into rows (a scenario's and each of its steps'), matching rows by name over the
 * runs, the verdicts, and the command line. The table is printed by compare_print.c.
 *
 * Invariant: any input file is either read whole into rows or refused with one line saying what
 * is wrong; nothing about its content can crash the comparison. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "files.h"
#include "value.h"

#define COMPARE_MAX_FILE (64u * 1024 * 1024) /* a blast JSON file; real ones are far smaller */

const char *const compare_metric_names[CMP_NMETRICS] = {"p50", "p95",  "p99",    "max",
                                                        "failed", "rate", "ceiling"};
const char *const compare_verdict_names[] = {"ok", "regressed", "improved", "new", "missing"};

static const char allowed_keys[] = "p50, p95, p99, max, failed, rate, ceiling";

void compare_limits_default(compare_limits *l)
{
    memset(l, 0, sizeof *l);
    for (int m = CMP_P50; m <= CMP_MAX; m++)
        l->m[m] = (compare_limit){.on = m == CMP_P95 || m == CMP_P99, .rel = 10, .abs = 1};
    l->m[CMP_FAILED] = (compare_limit){.on = true, .abs = 0.1};
    l->m[CMP_RATE] = (compare_limit){.on = true, .rel = -5};
    l->m[CMP_CEILING] = (compare_limit){.on = true, .rel = -10};
}

/* A plain decimal at s: -?[0-9]+(\.[0-9]+)? or -?\.[0-9]+ (no exponent, no inf or nan, which
 * strtod would take). Returns the byte after it, or NULL when there is none. */
static const char *decimal(const char *s, double *v)
{
    const char *p = s;
    size_t digits = 0;
    if (*p == '-')
        p++;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.') {
        p++;
        size_t frac = 0;
        for (; *p >= '0' && *p <= '9'; p++)
            frac++;
        if (!frac)
            return NULL;
        digits += frac;
    }
    if (!digits || p - s > 32)
        return NULL;
    char buf[40];
    memcpy(buf, s, (size_t)(p - s));
    buf[p - s] = '\0';
    *v = strtod(buf, NULL);
    return p;
}

static int floor_ms(const char *text, double *ms)
{
    uint64_t ns;
    if (value_duration(text, &ns) < 0 || ns > 3600ull * 1000000000)
        return -EINVAL;
    *ms = (double)ns / 1e6;
    return 0;
}

/* One KEY=VALUE of a --max-regress list, item[0..n) (not NUL-terminated). */
static int parse_item(compare_limits *l, const char *item, size_t n, char *err, size_t errlen)
{
    char buf[128];
    if (n >= sizeof buf) {
        snprintf(err, errlen, "--max-regress: '%.40s...' is too long", item);
        return -EINVAL;
    }
    memcpy(buf, item, n);
    buf[n] = '\0';
    char *eq = strchr(buf, '=');
    if (!eq || eq == buf) {
        snprintf(err, errlen, "--max-regress: '%s': expected KEY=VALUE, e.g. p99=10%% (keys: %s)",
                 buf, allowed_keys);
        return -EINVAL;
    }
    *eq = '\0';
    const char *key = buf, *val = eq + 1;
    int m = -1;
    for (int i = 0; i < CMP_NMETRICS; i++)
        if (strcmp(key, compare_metric_names[i]) == 0)
            m = i;
    if (m < 0) {
        snprintf(err, errlen, "--max-regress: unknown key '%s' (allowed: %s)", key, allowed_keys);
        return -EINVAL;
    }
    compare_limit *lim = &l->m[m];
    if (strcmp(val, "off") == 0) {
        lim->on = false;
        return 0;
    }
    double v;
    const char *end = decimal(val, &v);
    if (m == CMP_FAILED) {
        if (!end || strcmp(end, "pp") != 0 || v < 0) {
            snprintf(err, errlen,
                     "--max-regress: failed=%s: expected percentage points of failed requests, "
                     "e.g. failed=0.1pp (or off)",
                     val);
            return -EINVAL;
        }
        *lim = (compare_limit){.on = true, .abs = v};
        return 0;
    }
    if (m == CMP_RATE || m == CMP_CEILING) {
        if (!end || strcmp(end, "%") != 0 || v > 0) {
            snprintf(err, errlen,
                     "--max-regress: %s=%s: expected the drop allowed as a negative percentage, "
                     "e.g. %s=-%d%% (0%%: none; or off)",
                     compare_metric_names[m], val, compare_metric_names[m],
                     m == CMP_RATE ? 5 : 10);
            return -EINVAL;
        }
        *lim = (compare_limit){.on = true, .rel = v};
        return 0;
    }
    double ms = lim->abs;
    bool given = lim->abs_given;
    if (end && end[0] == '%' && end[1] == '+') {
        if (floor_ms(end + 2, &ms) < 0)
            end = NULL;
        given = true;
    } else if (end && strcmp(end, "%") != 0) {
        end = NULL;
    }
    if (!end || v < 0) {
        snprintf(err, errlen,
                 "--max-regress: %s=%s: expected a percentage, optionally with a floor, e.g. "
                 "%s=10%% or %s=10%%+2ms (or off)",
                 key, val, key, key);
        return -EINVAL;
    }
    *lim = (compare_limit){.on = true, .rel = v, .abs = ms, .abs_given = given};
    return 0;
}

int compare_limits_parse(compare_limits *l, const char *spec, char *err, size_t errlen)
{
    const char *p = spec;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && p[n - 1] == ' ')
            n--;
        if (!n) {
            snprintf(err, errlen, "--max-regress: '%s': an empty entry (keys: %s)", spec,
                     allowed_keys);
            return -EINVAL;
        }
        int rc = parse_item(l, p, n, err, errlen);
        if (rc < 0)
            return rc;
        if (!e)
            return 0;
        p = e + 1;
    }
}

int compare_limits_floor(compare_limits *l, const char *dur, char *err, size_t errlen)
{
    double ms;
    if (floor_ms(dur, &ms) < 0) {
        snprintf(err, errlen, "--min-abs %s: expected a duration such as 1ms, 500us or 0", dur);
        return -EINVAL;
    }
    for (int m = CMP_P50; m <= CMP_MAX; m++)
        if (!l->m[m].abs_given)
            l->m[m].abs = ms;
    return 0;
}

/* ---- reading a run ---- */

typedef struct where {
    const char *scenario, *step; /* step NULL: the scenario itself */
    char *err;
    size_t errlen;
} where;

static int bad(const where *w, const char *msg)
{
    if (w->step)
        snprintf(w->err, w->errlen, "scenario \"%s\" step \"%s\": %s", w->scenario, w->step, msg);
    else
        snprintf(w->err, w->errlen, "scenario \"%s\": %s", w->scenario, msg);
    return -EINVAL;
}

/* obj.a.b (b may be NULL) as a finite number >= 0. */
static int need(const where *w, const jdoc *obj, const char *a, const char *b, double *v)
{
    const jdoc *d = jdoc_get(obj, a);
    if (b)
        d = jdoc_get(d, b);
    char msg[160];
    const char *name_b = b ? b : "", *dot = b ? "." : "";
    if (!jdoc_number(d, v)) {
        snprintf(msg, sizeof msg,
                 d ? "field %s%s%s is not a number" : "missing field %s%s%s (a number)", a, dot,
                 name_b);
        return bad(w, msg);
    }
    if (!isfinite(*v) || *v < 0) {
        snprintf(msg, sizeof msg, "field %s%s%s is out of range (a number >= 0)", a, dot, name_b);
        return bad(w, msg);
    }
    return 0;
}

/* The figures common to a scenario and a step: latency and the failed rate. */
static int figures(const where *w, const jdoc *o, compare_fig *f, double *ok, double *failed)
{
    static const char *const pct[] = {"p50", "p95", "p99", "max"};
    double count, sched;
    if (need(w, o, "latency_ms", "count", &count) < 0)
        return -EINVAL;
    for (int m = CMP_P50; m <= CMP_MAX; m++) {
        if (need(w, o, "latency_ms", pct[m], &f->v[m]) < 0)
            return -EINVAL;
        f->has[m] = count > 0; /* an empty histogram reads as zeros: nothing to compare */
    }
    if (need(w, o, "requests", "scheduled", &sched) < 0 || need(w, o, "requests", "ok", ok) < 0 ||
        need(w, o, "requests", "failed", failed) < 0)
        return -EINVAL;
    f->has[CMP_FAILED] = sched > 0;
    f->v[CMP_FAILED] = sched > 0 ? *failed / sched * 100 : 0;
    return 0;
}

static int load_scenario(compare_run *r, const jdoc *sc, char *err, size_t errlen)
{
    where w = {.scenario = sc->key, .err = err, .errlen = errlen};
    if (sc->kind != JDOC_OBJECT)
        return bad(&w, "not an object");
    for (size_t i = 0; i < r->nitems; i++)
        if (strcmp(r->items[i].scenario, sc->key) == 0)
            return bad(&w, "appears twice");
    const jdoc *steps = jdoc_get(sc, "steps");
    if (steps && steps->kind != JDOC_OBJECT)
        return bad(&w, "field steps is not an object");
    size_t nsteps = steps ? steps->n : 0;
    compare_item *it = realloc(r->items, (r->nitems + 1 + nsteps) * sizeof *it);
    if (!it) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->items = it;
    it += r->nitems;
    memset(it, 0, (1 + nsteps) * sizeof *it);
    double dur, ok, failed;
    it->scenario = sc->key;
    if (figures(&w, sc, &it->fig, &ok, &failed) < 0 ||
        need(&w, sc, "rate", "achieved", &it->fig.v[CMP_RATE]) < 0 ||
        need(&w, sc, "duration_s", NULL, &dur) < 0)
        return -EINVAL;
    it->fig.has[CMP_RATE] = true;
    /* executor = ceiling: the rate it found (optional: other runs have none) */
    const jdoc *ce = jdoc_get(sc, "ceiling");
    if (ce) {
        if (need(&w, ce, "rate", NULL, &it->fig.v[CMP_CEILING]) < 0)
            return -EINVAL;
        it->fig.has[CMP_CEILING] = true;
    }
    for (size_t i = 0; i < nsteps; i++) {
        const jdoc *st = &steps->kids[i];
        compare_item *s = &it[1 + i];
        w.step = st->key;
        if (st->kind != JDOC_OBJECT)
            return bad(&w, "not an object");
        s->scenario = sc->key;
        s->step = st->key;
        for (size_t j = 0; j < i; j++)
            s->occ += strcmp(steps->kids[j].key, st->key) == 0;
        if (figures(&w, st, &s->fig, &ok, &failed) < 0)
            return -EINVAL;
        /* as the scenario's rate.achieved: completed requests per second of its duration */
        s->fig.has[CMP_RATE] = dur > 0;
        s->fig.v[CMP_RATE] = dur > 0 ? (ok + failed) / dur : 0;
    }
    r->nitems += 1 + nsteps;
    return 0;
}

/* Line and column (from 1) of byte at in text. */
static void line_col(const char *text, size_t at, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int compare_load(const char *path, compare_run **out, char *err, size_t errlen)
{
    *out = NULL;
    char *buf, why[256];
    size_t len, at;
    int rc = files_read(path, COMPARE_MAX_FILE, &buf, &len, why, sizeof why);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read it: %s", why);
        return rc;
    }
    compare_run *r = calloc(1, sizeof *r);
    if (!r) {
        free(buf);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (len == 0) {
        snprintf(err, errlen, "not JSON: the file is empty");
        rc = -EINVAL;
    } else if ((rc = jdoc_parse(buf, len, &r->doc, &at, why, sizeof why)) < 0) {
        size_t line, col;
        line_col(buf, at, &line, &col);
        snprintf(err, errlen, "not JSON at byte %zu (line %zu, column %zu): %s", at + 1, line, col,
                 why);
    }
    free(buf);
    const jdoc *sc = r->doc ? jdoc_get(r->doc, "scenarios") : NULL;
    if (rc == 0 && (!sc || sc->kind != JDOC_OBJECT)) {
        snprintf(err, errlen, "not a blast JSON: no \"scenarios\" object%s",
                 r->doc->kind == JDOC_OBJECT ? "" : " (the document is not an object)");
        rc = -EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < sc->n; i++)
        rc = load_scenario(r, &sc->kids[i], err, errlen);
    if (rc < 0) {
        compare_run_free(r);
        return rc;
    }
    const jdoc *flag = jdoc_get(r->doc, "interrupted");
    r->interrupted = flag && flag->kind == JDOC_BOOL && flag->b;
    flag = jdoc_get(r->doc, "started");
    r->started = !flag || flag->kind != JDOC_BOOL || flag->b;
    *out = r;
    return 0;
}

void compare_run_free(compare_run *r)
{
    if (!r)
        return;
    jdoc_free(r->doc);
    free(r->items);
    free(r);
}

/* ---- verdicts ---- */

static bool same_item(const compare_row *row, const compare_item *it)
{
    return row->occ == it->occ && strcmp(row->scenario, it->scenario) == 0 &&
           (row->step == NULL) == (it->step == NULL) &&
           (!row->step || strcmp(row->step, it->step) == 0);
}

typedef struct ranked {
    compare_row row;
    size_t scen_rank, seen;
} ranked;

static int by_rank(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->scen_rank != y->scen_rank)
        return x->scen_rank < y->scen_rank ? -1 : 1;
    if ((x->row.step != NULL) != (y->row.step != NULL))
        return x->row.step ? 1 : -1;
    return x->seen < y->seen ? -1 : x->seen > y->seen;
}

/* Rows for every item of every run, in order of first appearance (new run first), then sorted so
 * that each scenario's steps follow it. */
static int collect(const compare_run *const *runs, size_t nruns, ranked **out, size_t *nout)
{
    size_t cap = 0, n = 0;
    ranked *rk = NULL;
    for (size_t f = 0; f < nruns; f++)
        for (size_t i = 0; i < runs[f]->nitems; i++) {
            const compare_item *it = &runs[f]->items[i];
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = same_item(&rk[j].row, it);
            if (seen)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                ranked *g = realloc(rk, cap * sizeof *g);
                if (!g) {
                    free(rk);
                    return -ENOMEM;
                }
                rk = g;
            }
            memset(&rk[n], 0, sizeof rk[n]);
            rk[n].row.scenario = it->scenario;
            rk[n].row.step = it->step;
            rk[n].row.occ = it->occ;
            rk[n].seen = n;
            rk[n].scen_rank = n;
            for (size_t j = 0; j < n; j++)
                if (strcmp(rk[j].row.scenario, it->scenario) == 0) {
                    rk[n].scen_rank = rk[j].scen_rank;
                    break;
                }
            n++;
        }
    if (n)
        qsort(rk, n, sizeof *rk, by_rank);
    *out = rk;
    *nout = n;
    return 0;
}

static const compare_item *find(const compare_run *r, const compare_row *row)
{
    for (size_t i = 0; i < r->nitems; i++)
        if (same_item(row, &r->items[i]))
            return &r->items[i];
    return NULL;
}

/* Sets the regressed and improved bits of metric m. Latency needs both the relative and the
 * absolute step; a tiny epsilon keeps a value exactly at the limit (10% of 5.000) inside it. */
static void judge_metric(compare_row *row, int m, const compare_limit *lim)
{
    if (!lim->on || !row->nw.has[m] || !row->hi.has[m])
        return;
    const double eps = 1e-9;
    double n = row->nw.v[m], worst, best;
    bool reg, imp;
    if (m == CMP_RATE || m == CMP_CEILING) { /* lower is worse */
        worst = row->lo.v[m];
        best = row->hi.v[m];
        reg = n < worst * (1 + lim->rel / 100) - eps;
        imp = n > best * (1 - lim->rel / 100) + eps;
    } else if (m == CMP_FAILED) {
        worst = row->hi.v[m];
        best = row->lo.v[m];
        reg = n - worst > lim->abs + eps;
        imp = best - n > lim->abs + eps;
    } else {
        worst = row->hi.v[m];
        best = row->lo.v[m];
        reg = n > worst * (1 + lim->rel / 100) + eps && n - worst > lim->abs + eps;
        imp = n < best * (1 - lim->rel / 100) - eps && best - n > lim->abs + eps;
    }
    if (reg)
        row->regressed |= 1u << m;
    else if (imp)
        row->improved |= 1u << m;
}

int compare_judge(const compare_run *const *base, size_t nbase, const compare_run *nw,
                  const compare_limits *l, compare_report *rep)
{
    memset(rep, 0, sizeof *rep);
    const compare_run **runs = malloc((nbase + 1) * sizeof *runs);
    if (!runs)
        return -ENOMEM;
    runs[0] = nw;
    for (size_t i = 0; i < nbase; i++)
        runs[1 + i] = base[i];
    ranked *rk;
    size_t n;
    int rc = collect(runs, nbase + 1, &rk, &n);
    free(runs);
    if (rc < 0)
        return -ENOMEM;
    compare_row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) {
        free(rk);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        compare_row *row = &rows[i];
        *row = rk[i].row;
        const compare_item *it = find(nw, row);
        if (it) {
            row->in_new = true;
            row->nw = it->fig;
        }
        for (size_t b = 0; b < nbase; b++) {
            if (!(it = find(base[b], row)))
                continue;
            row->nbase++;
            for (int m = 0; m < CMP_NMETRICS; m++) {
                if (!it->fig.has[m])
                    continue;
                double v = it->fig.v[m];
                if (!row->lo.has[m] || v < row->lo.v[m])
                    row->lo.v[m] = v;
                if (!row->hi.has[m] || v > row->hi.v[m])
                    row->hi.v[m] = v;
                row->lo.has[m] = row->hi.has[m] = true;
            }
        }
        if (!row->in_new) {
            row->verdict = CMP_MISSING;
            continue;
        }
        if (!row->nbase) {
            row->verdict = CMP_NEW;
            continue;
        }
        /* rate: per scenario only; a step's share of it (a pick's) varies from run to run */
        for (int m = 0; m < CMP_NMETRICS; m++)
            if (m != CMP_RATE || !row->step)
                judge_metric(row, m, &l->m[m]);
        row->verdict = row->regressed ? CMP_REGRESSED : row->improved ? CMP_IMPROVED : CMP_OK;
        rep->nregressed += row->verdict == CMP_REGRESSED;
    }
    free(rk);
    rep->rows = rows;
    rep->nrows = n;
    return 0;
}

void compare_report_free(compare_report *rep)
{
    if (!rep)
        return;
    free(rep->rows);
    memset(rep, 0, sizeof *rep);
}

/* ---- the command line ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: blast compare BASE.json [BASE.json...] NEW.json [options]\n"
               "\n"
               "Compares runs written by blast --out json=FILE, per scenario and step: corrected\n"
               "latency p50/p95/p99/max, failed rate, achieved rate. The last file is the new\n"
               "run; with several baselines it is judged against the worst of them.\n"
               "\n"
               "  --max-regress LIST  what may get worse, e.g. p99=10%%,failed=0.1pp,rate=-5%%\n"
               "                      keys: p50 p95 p99 max (PCT%% or PCT%%+DUR, a floor),\n"
               "                      failed (Npp), rate (-PCT%%); any key =off (repeatable)\n"
               "                      default: p95=10%%,p99=10%%,failed=0.1pp,rate=-5%%\n"
               "  --min-abs DUR       a latency regression must also exceed DUR (default 1ms)\n"
               "  -h, --help          this help\n"
               "\n"
               "exit codes: 0 no regression; 2 bad usage or an unreadable or invalid file;\n"
               "99 a regression beyond the limits\n");
}

/* The value of option opt at argv[*i]: "--opt=V" or "--opt V". NULL when it is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);
    const char *a = argv[*i];
    if (strncmp(a, opt, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static void notes(FILE *out, const compare_run *r, const char *path)
{
    if (!r->started)
        fprintf(out, "note: %s: the run was stopped before its start (nothing was sent)\n", path);
    else if (r->interrupted)
        fprintf(out, "note: %s: the run was interrupted; its figures cover only part of it\n",
                path);
}

int compare_cli(int argc, char **argv, FILE *out, FILE *err)
{
    compare_limits lim;
    compare_limits_default(&lim);
    const char *min_abs = NULL;
    const char **files = calloc((size_t)(argc > 0 ? argc : 1), sizeof *files);
    size_t nfiles = 0;
    char msg[512];
    int status = COMPARE_EXIT_USAGE;
    bool opts_done = false;
    if (!files) {
        fprintf(err, "blast compare: out of memory\n");
        return COMPARE_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;
        if (opts_done || a[0] != '-' || !a[1]) {
            files[nfiles++] = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(out);
            free(files);
            return COMPARE_EXIT_OK;
        } else if ((v = opt_value(argc, argv, &i, "--max-regress", &missing))) {
            if (compare_limits_parse(&lim, v, msg, sizeof msg) < 0) {
                fprintf(err, "blast compare: %s\n", msg);
                goto done;
            }
        } else if ((v = opt_value(argc, argv, &i, "--min-abs", &missing))) {
            min_abs = v;
        } else {
            if (missing)
                fprintf(err,
                        "blast compare: option '%s' needs a value (see blast compare --help)\n", a);
            else
                fprintf(err, "blast compare: unknown option '%s' (see blast compare --help)\n", a);
            goto done;
        }
    }
    if (min_abs && compare_limits_floor(&lim, min_abs, msg, sizeof msg) < 0) {
        fprintf(err, "blast compare: %s\n", msg);
        goto done;
    }
    if (nfiles < 2) {
        fprintf(err, "blast compare: expected BASE.json [BASE.json...] NEW.json: at least two "
                     "files (see blast compare --help)\n");
        goto done;
    }
    compare_run **runs = calloc(nfiles, sizeof *runs);
    if (!runs) {
        fprintf(err, "blast compare: out of memory\n");
        goto done;
    }
    size_t loaded = 0;
    for (; loaded < nfiles; loaded++)
        if (compare_load(files[loaded], &runs[loaded], msg, sizeof msg) < 0) {
            fprintf(err, "blast compare: %s: %s\n", files[loaded], msg);
            break;
        }
    if (loaded == nfiles) {
        compare_report rep;
        size_t nbase = nfiles - 1;
        if (compare_judge((const compare_run *const *)runs, nbase, runs[nbase], &lim, &rep) < 0) {
            fprintf(err, "blast compare: out of memory\n");
        } else {
            for (size_t i = 0; i < nfiles; i++)
                notes(out, runs[i], files[i]);
            compare_print(out, &rep, &lim, files, nbase, files[nbase]);
            status = rep.nregressed ? COMPARE_EXIT_REGRESSED : COMPARE_EXIT_OK;
            compare_report_free(&rep);
        }
    }
    for (size_t i = 0; i < loaded; i++)
        compare_run_free(runs[i]);
    free(runs);
done:
    free(files);
    fflush(out);
    return status;
}

int compare_main(int argc, char **argv)
{
    return compare_cli(argc, argv, stdout, stderr);
}
