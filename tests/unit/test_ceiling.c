/* Unit tests for ceiling: the search as tables (verdict sequences and the rates they lead to),
 * simulated targets with a known ceiling (the answer within precision, never more steps than
 * ceiling_max_steps), the control block, and the scenario-file errors of executor = ceiling. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ceiling.h"
#include "config.h"

#define P CEIL_PASS
#define F CEIL_FAIL
#define W CEIL_WIDE
#define G CEIL_GENERATOR

/* A search fed verdicts in order: the rates it tries, then how it ends. */
typedef struct row {
    double start, max, precision;
    ceiling_verdict v[16];
    unsigned nv;
    double rates[17]; /* rates tried, the first is start */
    double answer;
    ceiling_limit by;
    bool early;
} row;

static const row rows[] = {
    /* climbs 500, 1000, 2000, 4000 (fail), then bisects [2000, 4000] down to 5% */
    {500, 50000, 0.05, {P, P, P, F, F, F, P, F, F}, 9,
     {500, 1000, 2000, 4000, 3000, 2500, 2250, 2375, 2313}, 2250, CEIL_BY_SERVER, false},
    /* the climb is capped at max_rate; passing there ends it */
    {1000, 5000, 0.05, {P, P, P, P}, 4, {1000, 2000, 4000, 5000}, 5000, CEIL_BY_MAX_RATE, false},
    /* start_rate fails: no ceiling */
    {500, 50000, 0.05, {F}, 1, {500}, 0, CEIL_BY_SERVER, false},
    /* a wide-margin failure ends it at once, bracket left wide */
    {500, 50000, 0.05, {P, P, W}, 3, {500, 1000, 2000}, 1000, CEIL_BY_SERVER, true},
    /* the generator cannot offer the rate: at least the last pass */
    {500, 50000, 0.05, {P, P, G}, 3, {500, 1000, 2000}, 1000, CEIL_BY_GENERATOR, false},
    /* a coarse precision: one bisection */
    {100, 1000, 0.5, {P, F, P}, 3, {100, 200, 150}, 150, CEIL_BY_SERVER, false},
    /* start == max */
    {800, 800, 0.05, {P}, 1, {800}, 800, CEIL_BY_MAX_RATE, false},
    /* fail just after max cap: bracket [4000, 5000] is 25% wide, bisected */
    {1000, 5000, 0.1, {P, P, P, F, P, P}, 6, {1000, 2000, 4000, 5000, 4500, 4750}, 4750,
     CEIL_BY_SERVER, false},
};

Test(ceiling, search_tables)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        ceiling_search s;
        ceiling_init(&s, r->start, r->max, r->precision);
        cr_expect_eq(s.rate, r->rates[0], "row %zu", i);
        for (unsigned k = 0; k < r->nv; k++) {
            cr_expect_eq(s.rate, r->rates[k], "row %zu step %u: tried %g, want %g", i, k, s.rate,
                         r->rates[k]);
            double next = ceiling_next(&s, r->v[k]);
            if (k + 1 < r->nv)
                cr_expect_gt(next, 0, "row %zu ended early at step %u", i, k);
            else
                cr_expect_eq(next, 0, "row %zu did not end (next %g)", i, next);
        }
        cr_expect(s.done, "row %zu", i);
        cr_expect_eq(s.pass, r->answer, "row %zu: answer %g, want %g", i, s.pass, r->answer);
        cr_expect_eq(s.by, r->by, "row %zu: by %s", i, ceiling_limit_name(s.by));
        cr_expect_eq(s.early, r->early, "row %zu", i);
        cr_expect_eq(s.steps, r->nv, "row %zu", i);
        cr_expect_leq(s.steps, ceiling_max_steps(r->start, r->max, r->precision), "row %zu", i);
        /* a finished search takes no more verdicts */
        cr_expect_eq(ceiling_next(&s, P), 0);
        cr_expect_eq(s.steps, r->nv);
    }
}

/* The stopping rule: the bracket at the end is within precision of the pass. */
Test(ceiling, stops_when_the_bracket_is_narrow)
{
    static const struct {
        double start, max, precision, truth;
    } t[] = {
        {500, 50000, 0.05, 2000},   {500, 50000, 0.05, 8000},  {500, 50000, 0.05, 8450},
        {500, 50000, 0.01, 12345},  {100, 100000, 0.2, 777},   {1000, 64000, 0.05, 63999},
        {10, 100, 0.5, 55},         {0.5, 10, 0.05, 3.3},      {1, 1000000, 0.02, 500001},
        {2000, 2000000, 0.05, 2001},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ceiling_search s;
        ceiling_init(&s, t[i].start, t[i].max, t[i].precision);
        unsigned bound = ceiling_max_steps(t[i].start, t[i].max, t[i].precision);
        double r = s.rate;
        while (r > 0)
            r = ceiling_next(&s, s.rate <= t[i].truth ? P : F);
        cr_expect_eq(s.by, CEIL_BY_SERVER, "case %zu", i);
        cr_expect_leq(s.pass, t[i].truth, "case %zu: pass %g above the truth %g", i, s.pass,
                      t[i].truth);
        cr_expect_gt(s.fail, t[i].truth, "case %zu", i);
        /* narrow: by the rule, or because the midpoint rounded onto an end */
        double width = (s.fail - s.pass) / s.pass;
        cr_expect(width <= t[i].precision || s.fail - s.pass <= (s.pass >= 100 ? 1 : 0.01),
                  "case %zu: bracket [%g, %g] is %.3f wide", i, s.pass, s.fail, width);
        cr_expect_geq(s.pass, t[i].truth * (1 - t[i].precision) - 1, "case %zu", i);
        cr_expect_leq(s.steps, bound, "case %zu: %u steps, bound %u", i, s.steps, bound);
    }
}

Test(ceiling, max_steps_bound)
{
    /* 500..50000: climb 500,1k,2k,4k,8k,16k,32k,50k = 8; bisect 1/2..1/32 -> 5 + 1 */
    cr_expect_eq(ceiling_max_steps(500, 50000, 0.05), 8 + 1 + 5);
    cr_expect_eq(ceiling_max_steps(1000, 1000, 0.5), 1 + 2);
    cr_expect_eq(ceiling_max_steps(1000, 2000, 0.5), 2 + 2);
}

Test(ceiling, names)
{
    cr_expect_str_eq(ceiling_verdict_name(CEIL_GENERATOR), "generator");
    cr_expect_str_eq(ceiling_limit_name(CEIL_BY_MAX_RATE), "max_rate");
    cr_expect_str_eq(ceiling_limit_name(CEIL_BY_SERVER), "server");
}

Test(ceiling, control_block_round_trip)
{
    ceiling_ctl c = {0};
    ceiling_step_ctl in = {.step = 3, .rate = 4500, .from_ns = 7100000000ull,
                           .until_ns = 9000000000ull},
                     out;
    ceiling_ctl_set(&c, &in);
    ceiling_ctl_get(&c, &out);
    cr_expect_eq(out.step, 3);
    cr_expect_eq(out.rate, 4500);
    cr_expect_eq(out.from_ns, in.from_ns);
    cr_expect_eq(out.until_ns, in.until_ns);
    cr_expect_not(out.done);
    cr_expect_eq(atomic_load(&c.seq), 2); /* even: not being written */
}

/* ---- the scenario file ---- */

static char dir[64], path[128];

static int load(const char *ini, plan **p, char *err, size_t n)
{
    strcpy(dir, "/tmp/blast-ceil-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.ini", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(ini, f);
    fclose(f);
    int rc = config_load(path, NULL, p, err, n);
    unlink(path);
    rmdir(dir);
    return rc;
}

#define HEAD "[global]\nbase_url = http://127.0.0.1:9\n[scenario c]\nexecutor = ceiling\n"

Test(ceiling, config_reads_the_search)
{
    plan *p = NULL;
    char err[512];
    int rc = load(HEAD "start_rate = 500/s\nmax_rate = 50000/s\nstep_duration = 5s\n"
                       "warm_up = 1s\ncool_down = 0s\nprecision = 2%\nmin_rate = 8000/s\n"
                       "path = /\n",
                  &p, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    const plan_scenario *s = &p->scenarios[0];
    cr_expect_eq(s->executor, PLAN_CEILING);
    cr_expect_eq(s->ceil.start_rate, 500);
    cr_expect_eq(s->ceil.max_rate, 50000);
    cr_expect_eq(s->ceil.min_rate, 8000);
    cr_expect_eq(s->ceil.step_ns, 5000000000ull);
    cr_expect_eq(s->ceil.warm_ns, 1000000000ull);
    cr_expect_eq(s->ceil.cool_ns, 0);
    cr_expect(fabs(s->ceil.precision - 0.02) < 1e-12);
    cr_expect_not_null(s->ctl);
    cr_expect_eq(s->ceil.max_steps, ceiling_max_steps(500, 50000, 0.02));
    /* the run is bounded by the search: steps x (2 x step + cool-down) + 1 s (a drain after
     * each step at most) */
    cr_expect_eq(s->duration_ns, (uint64_t)s->ceil.max_steps * 10000000000ull + 1000000000ull);
    plan_free(p);

    rc = load(HEAD "start_rate = 100/s\nmax_rate = 200/s\npath = /\n", &p, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    s = &p->scenarios[0];
    cr_expect_eq(s->ceil.step_ns, 10000000000ull); /* the defaults */
    cr_expect_eq(s->ceil.warm_ns, 2000000000ull);
    cr_expect_eq(s->ceil.cool_ns, 1000000000ull);
    cr_expect(fabs(s->ceil.precision - 0.05) < 1e-12);
    cr_expect_eq(s->ceil.min_rate, 0);
    plan_free(p);
}

Test(ceiling, config_errors)
{
    static const struct {
        const char *body, *want;
    } t[] = {
        {"start_rate = 5000/s\nmax_rate = 500/s\n",
         ":5: [scenario c] start_rate: 5000/s is above max_rate 500/s (allowed: start_rate <= "
         "max_rate)"},
        {"start_rate = 500/s\nmax_rate = 5000/s\nstep_duration = 2s\nwarm_up = 2s\n",
         ":8: [scenario c] warm_up: warm_up 2s is not shorter than step_duration 2s (each step "
         "needs time after its warm-up to be judged on)"},
        {"start_rate = 500/s\nmax_rate = 5000/s\nprecision = 60%\n",
         ":7: [scenario c] precision: '60%' is not a precision in (0, 50%] (e.g. 5% or 0.05: the "
         "search stops when (lowest failing - highest passing) / highest passing is at most "
         "this)"},
        {"start_rate = 500/s\nmax_rate = 5000/s\nprecision = 0\n", ":7: [scenario c] precision: '0'"},
        {"start_rate = 500/s\nmax_rate = 5000/s\nstep_duration = 1500ms\n",
         ":7: [scenario c] step_duration: '1500ms' is not a whole number of seconds"},
        {"max_rate = 5000/s\n", ":3: [scenario c]: ceiling needs start_rate and max_rate"},
        {"start_rate = 500/s\nmax_rate = 5000/s\nmin_rate = 9000/s\n",
         ":7: [scenario c] min_rate: 9000/s is above max_rate 5000/s"},
        {"start_rate = 500/s\nmax_rate = 5000/s\nduration = 10s\n",
         ":7: [scenario c] duration: only for constant-arrival-rate, constant-vus (this scenario "
         "is ceiling)"},
        {"start_rate = 500/s\nmax_rate = 5000/s\nstage = 1s -> 10/s\n",
         ":7: [scenario c] stage: only for"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char ini[1024], err[1024];
        snprintf(ini, sizeof ini, HEAD "%spath = /\n", t[i].body);
        plan *p = (plan *)0x1;
        int rc = load(ini, &p, err, sizeof err);
        cr_expect_eq(rc, -EINVAL, "case %zu: rc %d", i, rc);
        cr_expect_null(p);
        const char *colon = strstr(err, ".ini:");
        cr_expect(colon && strncmp(colon + 4, t[i].want, strlen(t[i].want)) == 0,
                  "case %zu:\n got: %s\nwant: ...%s", i, err, t[i].want);
    }
}

Test(ceiling, one_search_per_run)
{
    plan *p = (plan *)0x1;
    char err[1024];
    int rc = load(HEAD "start_rate = 100/s\nmax_rate = 200/s\npath = /\n"
                       "[scenario d]\nexecutor = ceiling\nstart_rate = 100/s\nmax_rate = 200/s\n"
                       "path = /\n",
                  &p, err, sizeof err);
    cr_expect_eq(rc, -EINVAL);
    cr_expect(strstr(err, ".ini:9: [scenario d] executor: a second ceiling search (one run holds "
                          "one: [scenario c] at line 3 is the first)"),
              "%s", err);
}
