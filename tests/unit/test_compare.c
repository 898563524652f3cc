/* Unit tests for compare: the --max-regress grammar (valid and invalid rows), --min-abs, the
 * verdicts on hand-written blast JSON documents (one baseline and several, new and missing
 * scenarios and steps, steps of the same name), and the command's exit codes and one-line
 * messages for bad input files. The documents are written by the tests into a temp dir. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"

/* ---- --max-regress ---- */

Test(compare, defaults)
{
    compare_limits l;
    compare_limits_default(&l);
    cr_assert(!l.m[CMP_P50].on && l.m[CMP_P95].on && l.m[CMP_P99].on && !l.m[CMP_MAX].on);
    cr_assert_eq(l.m[CMP_P99].rel, 10);
    cr_assert_eq(l.m[CMP_P99].abs, 1);
    cr_assert(l.m[CMP_FAILED].on && l.m[CMP_FAILED].abs == 0.1);
    cr_assert(l.m[CMP_RATE].on && l.m[CMP_RATE].rel == -5);
}

Test(compare, max_regress_valid)
{
    static const struct {
        const char *spec;
        int m;
        bool on;
        double rel, abs;
    } rows[] = {
        {"p99=10%", CMP_P99, true, 10, 1},
        {"p99=20%+2ms", CMP_P99, true, 20, 2},
        {"p95=0%+500us", CMP_P95, true, 0, 0.5},
        {"p50=5%", CMP_P50, true, 5, 1},
        {"max=1.5%+0", CMP_MAX, true, 1.5, 0},
        {"max=100%+1s", CMP_MAX, true, 100, 1000},
        {"p99=.5%", CMP_P99, true, 0.5, 1},
        {"p95=off", CMP_P95, false, 10, 1},
        {"failed=0.5pp", CMP_FAILED, true, 0, 0.5},
        {"failed=0pp", CMP_FAILED, true, 0, 0},
        {"failed=off", CMP_FAILED, false, 0, 0.1},
        {"rate=-10%", CMP_RATE, true, -10, 0},
        {"rate=0%", CMP_RATE, true, 0, 0},
        {"rate=off", CMP_RATE, false, -5, 0},
        {" p99=30% , failed=0pp", CMP_P99, true, 30, 1},
        {"p99=1%,p99=2%", CMP_P99, true, 2, 1}, /* the later wins */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        compare_limits l;
        compare_limits_default(&l);
        char err[256] = "";
        cr_expect_eq(compare_limits_parse(&l, rows[i].spec, err, sizeof err), 0, "row %zu %s: %s",
                     i, rows[i].spec, err);
        const compare_limit *x = &l.m[rows[i].m];
        cr_expect_eq(x->on, rows[i].on, "row %zu %s: on", i, rows[i].spec);
        cr_expect_eq(x->rel, rows[i].rel, "row %zu %s: rel %g", i, rows[i].spec, x->rel);
        cr_expect_eq(x->abs, rows[i].abs, "row %zu %s: abs %g", i, rows[i].spec, x->abs);
    }
}

Test(compare, max_regress_invalid)
{
    static const struct {
        const char *spec, *want;
    } rows[] = {
        {"", "empty entry"},
        {"p99=10%,", "empty entry"},
        {",p99=10%", "empty entry"},
        {"p90=10%", "unknown key 'p90' (allowed: p50, p95, p99, max, failed, rate, ceiling)"},
        {"P99=10%", "unknown key"},
        {"latency=10%", "unknown key"},
        {"p99", "expected KEY=VALUE"},
        {"=10%", "expected KEY=VALUE"},
        {"p99=", "p99=: expected a percentage"},
        {"p99=10", "expected a percentage"},
        {"p99=10%%", "expected a percentage"},
        {"p99=-1%", "expected a percentage"},
        {"p99=1e3%", "expected a percentage"},
        {"p99=inf%", "expected a percentage"},
        {"p99=abc%", "expected a percentage"},
        {"p99=10%+", "expected a percentage"},
        {"p99=10%+1", "expected a percentage"},
        {"p99=10%+1xs", "expected a percentage"},
        {"p99=10%+-1ms", "expected a percentage"},
        {"p99=10ms", "expected a percentage"},
        {"failed=0.1%", "failed=0.1%: expected percentage points"},
        {"failed=0.1", "expected percentage points"},
        {"failed=-1pp", "expected percentage points"},
        {"rate=5%", "rate=5%: expected the drop allowed as a negative percentage"},
        {"rate=-5", "negative percentage"},
        {"rate=-5pp", "negative percentage"},
        {"p99=OFF", "expected a percentage"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        compare_limits l;
        compare_limits_default(&l);
        char err[256] = "";
        cr_expect_eq(compare_limits_parse(&l, rows[i].spec, err, sizeof err), -EINVAL,
                     "row %zu '%s' was accepted", i, rows[i].spec);
        cr_expect(strstr(err, rows[i].want), "row %zu '%s': '%s' lacks '%s'", i, rows[i].spec, err,
                  rows[i].want);
        cr_expect_null(strchr(err, '\n'), "row %zu: one line", i);
    }
}

Test(compare, min_abs_applies_where_no_floor_was_given)
{
    compare_limits l;
    compare_limits_default(&l);
    char err[256];
    cr_assert_eq(compare_limits_parse(&l, "p99=10%+5ms", err, sizeof err), 0);
    cr_assert_eq(compare_limits_floor(&l, "250us", err, sizeof err), 0);
    cr_assert_eq(l.m[CMP_P99].abs, 5);
    cr_assert_eq(l.m[CMP_P95].abs, 0.25);
    cr_assert_eq(l.m[CMP_P50].abs, 0.25);
    cr_assert_eq(compare_limits_floor(&l, "fast", err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "--min-abs fast"), "%s", err);
    cr_assert_eq(compare_limits_floor(&l, "-1ms", err, sizeof err), -EINVAL);
}

/* ---- verdicts on hand-written runs ---- */

/* One scenario's figures: latency p50/p95/p99/max, requests scheduled and failed, rate. */
typedef struct fig {
    double p50, p95, p99, max;
    int scheduled, failed;
    double rate;
    int count; /* latency count; 0: scheduled - failed */
} fig;

static char dir[64];

static void setup_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/blast-ut-cmp.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void lat(FILE *f, const fig *x)
{
    int count = x->count ? x->count : x->scheduled - x->failed;
    fprintf(f,
            "\"latency_ms\": {\"count\": %d, \"min\": 0.001, \"mean\": %.3f, \"p50\": %.3f, "
            "\"p90\": %.3f, \"p95\": %.3f, \"p99\": %.3f, \"p99.9\": %.3f, \"p99.99\": %.3f, "
            "\"max\": %.3f}",
            count, x->p50, x->p50, x->p95, x->p95, x->p99, x->max, x->max, x->max);
}

/* A scenario "name" of 1 s with one step "req" holding the same figures, as blast writes it. */
static void scenario(FILE *f, const char *name, const fig *x, bool last)
{
    fprintf(f,
            "\"%s\": {\"executor\": \"constant-arrival-rate\", \"duration_s\": 1.000, "
            "\"requests\": {\"scheduled\": %d, \"ok\": %d, \"failed\": %d, \"dropped\": 0}, "
            "\"rate\": {\"target\": %.3f, \"achieved\": %.3f}, ",
            name, x->scheduled, x->scheduled - x->failed, x->failed, x->rate, x->rate);
    lat(f, x);
    fprintf(
        f,
        ", \"steps\": {\"req\": {\"requests\": {\"scheduled\": %d, \"ok\": %d, \"failed\": %d}, ",
        x->scheduled, x->scheduled - x->failed, x->failed);
    lat(f, x);
    fprintf(f, "}}}%s\n", last ? "" : ",");
}

/* Writes a run of the named scenarios (NULL-terminated names and figures) to dir/file. */
static const char *run_file(const char *file, const char *const *names, const fig *figs)
{
    static char path[8][128];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 128, "%s/%s", dir, file);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"blast_version\": \"0.1.0\", \"interrupted\": false, \"started\": true,\n"
               "\"scenarios\": {\n");
    for (size_t i = 0; names[i]; i++)
        scenario(f, names[i], &figs[i], !names[i + 1]);
    fprintf(f, "}}\n");
    fclose(f);
    return p;
}

static compare_run *load(const char *path)
{
    compare_run *r;
    char err[256];
    cr_assert_eq(compare_load(path, &r, err, sizeof err), 0, "%s: %s", path, err);
    return r;
}

#define BASE                                                                                       \
    {                                                                                              \
        5, 6, 7, 8, 1000, 0, 1000, 0                                                               \
    }

Test(compare, verdicts_one_baseline, .init = setup_dir, .fini = teardown_dir)
{
    static const struct {
        const char *what;
        fig base, nw;
        const char *spec; /* --max-regress, or NULL */
        compare_verdict want;
        unsigned regressed; /* bits 1 << metric */
    } rows[] = {
        {"same", BASE, BASE, NULL, CMP_OK, 0},
        {"p99 doubles", BASE, {5, 6, 14, 8, 1000, 0, 1000, 0}, NULL, CMP_REGRESSED, 1u << CMP_P99},
        {"p95 and p99 up 2 ms",
         BASE,
         {5, 8, 9, 8, 1000, 0, 1000, 0},
         NULL,
         CMP_REGRESSED,
         1u << CMP_P95 | 1u << CMP_P99},
        {"p99 exactly +10%, +0.7 ms", BASE, {5, 6, 7.7, 8, 1000, 0, 1000, 0}, NULL, CMP_OK, 0},
        {"+400% but under the 1 ms floor",
         {0.1, 0.1, 0.1, 0.1, 1000, 0, 1000, 0},
         {0.1, 0.5, 0.5, 0.5, 1000, 0, 1000, 0},
         NULL,
         CMP_OK,
         0},
        {"+4 ms but only +8%",
         {50, 50, 50, 50, 1000, 0, 1000, 0},
         {50, 54, 54, 54, 1000, 0, 1000, 0},
         NULL,
         CMP_OK,
         0},
        {"+6 ms and +12%",
         {50, 50, 50, 50, 1000, 0, 1000, 0},
         {50, 50, 56, 50, 1000, 0, 1000, 0},
         NULL,
         CMP_REGRESSED,
         1u << CMP_P99},
        {"floor lowered",
         {0.1, 0.1, 0.1, 0.1, 1000, 0, 1000, 0},
         {0.1, 0.1, 0.5, 0.1, 1000, 0, 1000, 0},
         "p99=10%+0.2ms",
         CMP_REGRESSED,
         1u << CMP_P99},
        {"p50 and max are not judged by default",
         BASE,
         {50, 6, 7, 80, 1000, 0, 1000, 0},
         NULL,
         CMP_OK,
         0},
        {"p50 judged when asked",
         BASE,
         {50, 6, 7, 80, 1000, 0, 1000, 0},
         "p50=10%,max=50%",
         CMP_REGRESSED,
         1u << CMP_P50 | 1u << CMP_MAX},
        {"p99 off", BASE, {5, 6, 14, 8, 1000, 0, 1000, 0}, "p99=off", CMP_OK, 0},
        {"failed +0.2pp",
         BASE,
         {5, 6, 7, 8, 1000, 2, 1000, 0},
         NULL,
         CMP_REGRESSED,
         1u << CMP_FAILED},
        {"failed +0.1pp is at the limit", BASE, {5, 6, 7, 8, 1000, 1, 1000, 0}, NULL, CMP_OK, 0},
        {"failed with a wider limit",
         BASE,
         {5, 6, 7, 8, 1000, 20, 1000, 0},
         "failed=5pp",
         CMP_OK,
         0},
        {"rate -6%", BASE, {5, 6, 7, 8, 1000, 0, 940, 0}, NULL, CMP_REGRESSED, 1u << CMP_RATE},
        {"rate -4%", BASE, {5, 6, 7, 8, 1000, 0, 960, 0}, NULL, CMP_OK, 0},
        {"rate -6% allowed", BASE, {5, 6, 7, 8, 1000, 0, 940, 0}, "rate=-10%", CMP_OK, 0},
        {"rate off", BASE, {5, 6, 7, 8, 1000, 0, 10, 0}, "rate=off", CMP_OK, 0},
        {"p99 halves", BASE, {5, 6, 3, 8, 1000, 0, 1000, 0}, NULL, CMP_IMPROVED, 0},
        {"rate +10%", BASE, {5, 6, 7, 8, 1000, 0, 1100, 0}, NULL, CMP_IMPROVED, 0},
        {"better and worse: regressed",
         BASE,
         {5, 2, 14, 8, 1000, 0, 1000, 0},
         NULL,
         CMP_REGRESSED,
         1u << CMP_P99},
        {"no latency in the new run (all failed)",
         BASE,
         {0, 0, 0, 0, 1000, 1000, 1000, 0},
         "failed=off",
         CMP_OK,
         0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *names[] = {"s", NULL};
        compare_run *b = load(run_file("base.json", names, &rows[i].base));
        compare_run *n = load(run_file("new.json", names, &rows[i].nw));
        compare_limits l;
        compare_limits_default(&l);
        char err[256];
        if (rows[i].spec)
            cr_assert_eq(compare_limits_parse(&l, rows[i].spec, err, sizeof err), 0, "%s", err);
        compare_report rep;
        const compare_run *bases[] = {b};
        cr_assert_eq(compare_judge(bases, 1, n, &l, &rep), 0);
        cr_assert_eq(rep.nrows, 2, "row %zu: a scenario and its step", i);
        const compare_row *r = &rep.rows[0];
        cr_expect_str_eq(r->scenario, "s");
        cr_expect_null(r->step);
        cr_expect_eq(r->verdict, rows[i].want, "row %zu (%s): verdict %s, want %s", i, rows[i].what,
                     compare_verdict_names[r->verdict], compare_verdict_names[rows[i].want]);
        cr_expect_eq(r->regressed, rows[i].regressed, "row %zu (%s): regressed %#x, want %#x", i,
                     rows[i].what, r->regressed, rows[i].regressed);
        /* the step has the same figures: the same verdict, but its rate is not judged */
        const compare_row *s = &rep.rows[1];
        cr_expect_str_eq(s->step, "req");
        cr_expect_eq(s->regressed, rows[i].regressed & ~(1u << CMP_RATE), "row %zu: step", i);
        cr_expect_eq(rep.nregressed, (rows[i].want == CMP_REGRESSED) + (s->regressed != 0),
                     "row %zu", i);
        compare_report_free(&rep);
        compare_run_free(b);
        compare_run_free(n);
    }
}

/* Several baselines: the new run is judged against the worst of them (highest latency, lowest
 * rate); improved means better than the best of them. */
Test(compare, verdicts_several_baselines, .init = setup_dir, .fini = teardown_dir)
{
    const char *names[] = {"s", NULL};
    fig b1 = {5, 6, 5, 8, 1000, 0, 1000, 0}, b2 = {5, 6, 9, 8, 1000, 0, 950, 0};
    compare_run *r1 = load(run_file("b1.json", names, &b1));
    compare_run *r2 = load(run_file("b2.json", names, &b2));
    const compare_run *bases[] = {r1, r2};
    static const struct {
        fig nw;
        compare_verdict want;
        unsigned regressed;
    } rows[] = {
        {{5, 6, 9.5, 8, 1000, 0, 950, 0}, CMP_OK, 0}, /* +5.6% of the worst p99 */
        {{5, 6, 10.5, 8, 1000, 0, 950, 0}, CMP_REGRESSED, 1u << CMP_P99}, /* +16.7%, +1.5 ms */
        {{5, 6, 7, 8, 1000, 0, 905, 0}, CMP_OK, 0}, /* -4.7% of the lowest rate */
        {{5, 6, 7, 8, 1000, 0, 900, 0}, CMP_REGRESSED, 1u << CMP_RATE},
        {{5, 6, 3.9, 8, 1000, 0, 1000, 0}, CMP_IMPROVED, 0}, /* -22% of the best, -1.1 ms */
        {{5, 6, 4.5, 8, 1000, 0, 1000, 0}, CMP_OK, 0},       /* better, not by the limits */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        compare_run *n = load(run_file("new.json", names, &rows[i].nw));
        compare_limits l;
        compare_limits_default(&l);
        compare_report rep;
        cr_assert_eq(compare_judge(bases, 2, n, &l, &rep), 0);
        const compare_row *r = &rep.rows[0];
        cr_expect_eq(r->nbase, 2);
        cr_expect_eq(r->lo.v[CMP_P99], 5);
        cr_expect_eq(r->hi.v[CMP_P99], 9);
        cr_expect_eq(r->verdict, rows[i].want, "row %zu: %s", i, compare_verdict_names[r->verdict]);
        cr_expect_eq(r->regressed, rows[i].regressed, "row %zu: %#x", i, r->regressed);
        compare_report_free(&rep);
        compare_run_free(n);
    }
    compare_run_free(r1);
    compare_run_free(r2);
}

/* Scenarios matched by name: one only in the baseline is missing, one only in the new run is
 * new, neither is a regression; rows keep the new run's order, baseline-only ones after. */
Test(compare, new_and_missing, .init = setup_dir, .fini = teardown_dir)
{
    fig f = BASE;
    fig figs[] = {f, f};
    const char *base_names[] = {"a", "gone", NULL}, *new_names[] = {"fresh", "a", NULL};
    compare_run *b = load(run_file("base.json", base_names, figs));
    compare_run *n = load(run_file("new.json", new_names, figs));
    compare_limits l;
    compare_limits_default(&l);
    compare_report rep;
    const compare_run *bases[] = {b};
    cr_assert_eq(compare_judge(bases, 1, n, &l, &rep), 0);
    static const struct {
        const char *scenario, *step;
        compare_verdict v;
    } want[] = {
        {"fresh", NULL, CMP_NEW}, {"fresh", "req", CMP_NEW},   {"a", NULL, CMP_OK},
        {"a", "req", CMP_OK},     {"gone", NULL, CMP_MISSING}, {"gone", "req", CMP_MISSING},
    };
    cr_assert_eq(rep.nrows, 6);
    for (size_t i = 0; i < 6; i++) {
        cr_expect_str_eq(rep.rows[i].scenario, want[i].scenario, "row %zu", i);
        if (want[i].step)
            cr_expect_str_eq(rep.rows[i].step, want[i].step, "row %zu", i);
        else
            cr_expect_null(rep.rows[i].step, "row %zu", i);
        cr_expect_eq(rep.rows[i].verdict, want[i].v, "row %zu: %s", i,
                     compare_verdict_names[rep.rows[i].verdict]);
    }
    cr_expect_eq(rep.nregressed, 0);
    compare_report_free(&rep);
    compare_run_free(b);
    compare_run_free(n);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[4][128];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

#define LAT "\"latency_ms\": {\"count\": 10, \"p50\": 1, \"p95\": 2, \"p99\": 3, \"max\": 4}"
#define REQ "\"requests\": {\"scheduled\": 10, \"ok\": 10, \"failed\": 0}"

/* Steps are matched by name within their scenario; a step a name repeats (the JSON allows it)
 * is matched by its place among those of that name; a step only in one run is new or missing. */
Test(compare, steps_matched_by_name, .init = setup_dir, .fini = teardown_dir)
{
    const char *base =
        write_file("base.json",
                   "{\"scenarios\": {\"s\": {\"duration_s\": 1, \"rate\": {\"achieved\": 10}, " REQ
                   ", " LAT ", \"steps\": {\"x\": {" REQ ", " LAT "}, \"x\": {" REQ ", " LAT
                   "}, \"old\": {" REQ ", " LAT "}}}}}");
    const char *nw = write_file(
        "new.json",
        "{\"scenarios\": {\"s\": {\"duration_s\": 1, \"rate\": {\"achieved\": 10}, " REQ ", " LAT
        ", \"steps\": {\"x\": {" REQ ", " LAT "}, \"x\": {" REQ
        ", \"latency_ms\": {\"count\": 10, \"p50\": 1, \"p95\": 2, \"p99\": 30, \"max\": 40}}}}}}");
    compare_run *b = load(base), *n = load(nw);
    compare_limits l;
    compare_limits_default(&l);
    compare_report rep;
    const compare_run *bases[] = {b};
    cr_assert_eq(compare_judge(bases, 1, n, &l, &rep), 0);
    cr_assert_eq(rep.nrows, 4);
    cr_expect_eq(rep.rows[0].verdict, CMP_OK, "the scenario's own figures did not change");
    cr_expect_eq(rep.rows[1].verdict, CMP_OK);
    cr_expect_eq(rep.rows[1].occ, 0);
    cr_expect_eq(rep.rows[2].verdict, CMP_REGRESSED, "the second x");
    cr_expect_eq(rep.rows[2].occ, 1);
    cr_expect_str_eq(rep.rows[3].step, "old");
    cr_expect_eq(rep.rows[3].verdict, CMP_MISSING);
    compare_report_free(&rep);
    compare_run_free(b);
    compare_run_free(n);
}

/* ---- the command ---- */

typedef struct cli_out {
    int code;
    char out[16384], err[1024];
} cli_out;

static void cli(cli_out *o, const char *const *args)
{
    char *argv[16] = {"compare"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    FILE *out = tmpfile(), *err = tmpfile();
    cr_assert(out && err);
    o->code = compare_cli(argc, argv, out, err);
    rewind(out);
    rewind(err);
    o->out[fread(o->out, 1, sizeof o->out - 1, out)] = '\0';
    o->err[fread(o->err, 1, sizeof o->err - 1, err)] = '\0';
    fclose(out);
    fclose(err);
}

/* Every bad input is exit 2 and one line naming the file and what is wrong. */
Test(compare, bad_files, .init = setup_dir, .fini = teardown_dir)
{
    static const struct {
        const char *text, *want;
    } rows[] = {
        {NULL, "cannot read it: No such file or directory"},
        {"", "not JSON: the file is empty"},
        {"not json", "not JSON at byte 1 (line 1, column 1): expected a value"},
        {"{\"scenarios\": {}\n,,}",
         "not JSON at byte 19 (line 2, column 2): expected a member name"},
        {"{\"scenarios\": {}} x", "more after the end of the document"},
        {"{}", "not a blast JSON: no \"scenarios\" object"},
        {"[1, 2]", "no \"scenarios\" object (the document is not an object)"},
        {"{\"scenarios\": [1]}", "no \"scenarios\" object"},
        {"{\"scenarios\": {\"s\": 1}}", "scenario \"s\": not an object"},
        {"{\"scenarios\": {\"s\": {}}}", "scenario \"s\": missing field latency_ms.count"},
        {"{\"scenarios\": {\"s\": {" LAT "}}}", "missing field requests.scheduled"},
        {"{\"scenarios\": {\"s\": {" LAT ", " REQ "}}}", "missing field rate.achieved"},
        {"{\"scenarios\": {\"s\": {" LAT ", " REQ ", \"rate\": {\"achieved\": null}}}}",
         "field rate.achieved is not a number"},
        {"{\"scenarios\": {\"s\": {" LAT ", " REQ ", \"rate\": {\"achieved\": -1}}}}",
         "field rate.achieved is out of range"},
        {"{\"scenarios\": {\"s\": {" LAT ", " REQ ", \"rate\": {\"achieved\": 1e999}}}}",
         "field rate.achieved is out of range"},
        {"{\"scenarios\": {\"s\": {" LAT ", " REQ ", \"rate\": {\"achieved\": 1}}}}",
         "missing field duration_s"},
        {"{\"scenarios\": {\"s\": {" LAT ", " REQ
         ", \"rate\": {\"achieved\": 1}, \"duration_s\": 1, \"steps\": []}}}",
         "scenario \"s\": field steps is not an object"},
        {"{\"scenarios\": {\"s\": {" LAT ", " REQ
         ", \"rate\": {\"achieved\": 1}, \"duration_s\": 1, \"steps\": {\"x\": {" LAT "}}}}}",
         "scenario \"s\" step \"x\": missing field requests.scheduled"},
        {"{\"scenarios\": {\"s\": {" LAT ", " REQ
         ", \"rate\": {\"achieved\": 1}, \"duration_s\": 1}, \"s\": {}}}",
         "scenario \"s\": appears twice"},
        {"\"\\ud800\"", "without its low half"},
    };
    char good[128];
    snprintf(good, sizeof good, "%s",
             write_file("good.json", "{\"scenarios\": {\"s\": {" LAT ", " REQ
                                     ", \"rate\": {\"achieved\": 1}, \"duration_s\": 1}}}"));
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.json", i);
        const char *bad = rows[i].text ? write_file(name, rows[i].text) : "/nonexistent/x.json";
        for (int as_new = 0; as_new < 2; as_new++) {
            cli_out o;
            const char *args[] = {as_new ? good : bad, as_new ? bad : good, NULL};
            cli(&o, args);
            cr_expect_eq(o.code, 2, "row %zu: exit %d", i, o.code);
            char head[256];
            snprintf(head, sizeof head, "blast compare: %s: ", bad);
            cr_expect(strncmp(o.err, head, strlen(head)) == 0, "row %zu: '%s' does not start '%s'",
                      i, o.err, head);
            cr_expect(strstr(o.err, rows[i].want), "row %zu: '%s' lacks '%s'", i, o.err,
                      rows[i].want);
            char *nl = strchr(o.err, '\n');
            cr_expect(nl && !nl[1], "row %zu: one line: '%s'", i, o.err);
            cr_expect_str_eq(o.out, "", "row %zu: no table on a bad file", i);
        }
    }
}

Test(compare, usage_errors, .init = setup_dir, .fini = teardown_dir)
{
    static const struct {
        const char *args[6];
        int code;
        const char *want;
    } rows[] = {
        {{NULL}, 2, "at least two files"},
        {{"a.json", NULL}, 2, "at least two files"},
        {{"a.json", "b.json", "--max-regress", "p90=1%", NULL},
         2,
         "unknown key 'p90' (allowed: p50, p95, p99, max, failed, rate, ceiling)"},
        {{"a.json", "b.json", "--max-regress", NULL}, 2, "option '--max-regress' needs a value"},
        {{"a.json", "b.json", "--min-abs=slow", NULL}, 2, "--min-abs slow"},
        {{"a.json", "b.json", "--frobnicate", NULL}, 2, "unknown option '--frobnicate'"},
        {{"--help", NULL}, 0, ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cli_out o;
        cli(&o, rows[i].args);
        cr_expect_eq(o.code, rows[i].code, "row %zu: exit %d", i, o.code);
        cr_expect(strstr(o.err, rows[i].want), "row %zu: '%s' lacks '%s'", i, o.err, rows[i].want);
        if (rows[i].code == 0)
            cr_expect(strstr(o.out, "usage: blast compare"), "row %zu: %s", i, o.out);
    }
}

/* The table and the regression lines name the scenario, the step and the metric; exit 99. */
Test(compare, output_names_the_regression, .init = setup_dir, .fini = teardown_dir)
{
    const char *names[] = {"api", NULL};
    fig b = BASE, n = {5, 6, 14, 8, 1000, 0, 1000, 0};
    const char *bp = run_file("base.json", names, &b), *np = run_file("new.json", names, &n);
    cli_out o;
    const char *args[] = {bp, np, NULL};
    cli(&o, args);
    cr_assert_eq(o.code, 99, "exit %d: %s", o.code, o.err);
    cr_expect_str_eq(o.err, "");
    cr_expect(strstr(o.out,
                     "regressed: scenario api: p99 7.000 ms -> 14.000 ms (+100.0%, +7.000 ms; "
                     "allowed +10% and +1ms)"),
              "%s", o.out);
    cr_expect(strstr(o.out, "regressed: scenario api, step \"req\": p99"), "%s", o.out);
    const char *row = strstr(o.out, "\napi ");
    cr_expect(row && strstr(row, " regressed ") < strchr(row + 1, '\n'), "%s", o.out);
    cr_expect(strstr(o.out, "+100.0%!"), "%s", o.out);
    cr_expect(strstr(o.out, "REGRESSED: 2 of 2 rows"), "%s", o.out);

    const char *same[] = {bp, bp, bp, "--max-regress=p99=off", NULL};
    cli(&o, same);
    cr_assert_eq(o.code, 0, "exit %d: %s", o.code, o.err);
    cr_expect(strstr(o.out, "against 2 baselines"), "%s", o.out);
    cr_expect(strstr(o.out, "not judged: p50, p99, max"), "%s", o.out);
    cr_expect(strstr(o.out, "no regression (2 rows: 2 ok"), "%s", o.out);
}
