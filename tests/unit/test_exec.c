/* Unit tests for the executors' arithmetic: ramping-arrival-rate due times against the closed
 * form of the rate's integral (to the nanosecond, with exact integer square roots where the
 * closed form has one), steps and gaps of 0/s, the end of the stages, workers interleaving into
 * one schedule; ramping-vus targets over time and their change times (against a brute-force
 * scan); the split of shared iterations over workers and VUs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "plan.h"
#include "../../src/worker_int.h"

__extension__ typedef unsigned __int128 u128;

/* A ramping scenario from a start value and (seconds, target) pairs. */
static plan_scenario ramp(plan_executor e, double start, const double *st, size_t n)
{
    plan_scenario s = {.executor = e, .start_value = start, .nstages = n};
    s.stages = calloc(n, sizeof *s.stages);
    cr_assert(s.stages);
    for (size_t i = 0; i < n; i++) {
        s.stages[i].dur_ns = (uint64_t)llround(st[2 * i] * 1e9);
        s.stages[i].to = st[2 * i + 1];
    }
    plan_stages_finish(&s);
    return s;
}

static uint64_t isqrt(u128 v)
{
    uint64_t r = (uint64_t)sqrtl((long double)v);
    while ((u128)r * r > v)
        r--;
    while ((u128)(r + 1) * (r + 1) <= v)
        r++;
    return r;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

Test(exec, ramp_up_from_zero_matches_closed_form)
{
    /* 0 -> 1000/s over 10 s: L(t) = 50 t^2, so arrival x is due at sqrt(x / 50) s, that is
     * sqrt(x * 2e16) ns: an integer square root, exact. */
    static const double st[] = {10, 1000};
    plan_scenario s = ramp(PLAN_RAMPING_ARRIVAL_RATE, 0, st, 1);
    cr_expect_eq(s.duration_ns, 10 * NS_PER_S);
    cr_expect_eq(s.rate, 1000);
    size_t cur = 0;
    uint64_t prev = 0;
    for (uint64_t x = 0; x < 5000; x++) {
        uint64_t got = plan_ramp_due_ns(&s, (long double)x, &cur);
        u128 sq = (u128)x * 20000000000000000ull; /* (t ns)^2 = x * 2e16 */
        uint64_t lo = isqrt(sq);                   /* floor; round is lo or lo + 1 */
        uint64_t want = (u128)lo * lo + lo >= sq ? lo : lo + 1;
        cr_assert_leq(absdiff(got, want), 1, "x %llu: %llu ns, closed form %llu ns",
                      (unsigned long long)x, (unsigned long long)got, (unsigned long long)want);
        cr_assert_geq(got, prev, "due times never go back");
        prev = got;
    }
    /* the 5000 arrivals of the integral fill the stage; the next one is past it */
    cr_expect_eq(plan_ramp_due_ns(&s, 5000, &cur), UINT64_MAX);
    cr_expect(fabsl(plan_ramp_integral(&s, 10 * NS_PER_S) - 5000) < 1e-9L);
    cr_expect(fabsl(plan_ramp_integral(&s, 5 * NS_PER_S) - 1250) < 1e-9L);
    free(s.stages);
}

Test(exec, flat_then_ramp_down_matches_closed_form)
{
    /* 2 s at 100/s, then 100 -> 0 over 4 s: in the ramp L = 200 + 100 tau - 12.5 tau^2, so
     * tau = (100 - sqrt(10000 - 50 (x - 200))) / 25. */
    static const double st[] = {2, 100, 4, 0};
    plan_scenario s = ramp(PLAN_RAMPING_ARRIVAL_RATE, 100, st, 2);
    size_t cur = 0;
    for (uint64_t x = 0; x < 400; x++) {
        uint64_t got = plan_ramp_due_ns(&s, (long double)x, &cur);
        long double want;
        if (x < 200)
            want = (long double)x / 100 * 1e9L;
        else
            want = (2 + (100 - sqrtl(10000.0L - 50.0L * (x - 200))) / 25) * 1e9L;
        cr_assert_leq(fabsl((long double)got - want), 1.0L, "x %llu: %llu vs %.1Lf",
                      (unsigned long long)x, (unsigned long long)got, want);
    }
    cr_expect_eq(plan_ramp_due_ns(&s, 400, &cur), UINT64_MAX);
    free(s.stages);
}

Test(exec, steps_and_gaps_of_zero)
{
    /* 10/s for 1 s; a step (0 s stage) to 1000/s for 1 s; a step to 0 for 2 s; 50/s for 1 s */
    static const double st[] = {1, 10, 0, 1000, 1, 1000, 0, 0, 2, 0, 0, 50, 1, 50};
    plan_scenario s = ramp(PLAN_RAMPING_ARRIVAL_RATE, 10, st, 7);
    cr_expect_eq(s.duration_ns, 5 * NS_PER_S);
    size_t cur = 0;
    for (uint64_t x = 0; x < 1060; x++) {
        uint64_t got = plan_ramp_due_ns(&s, (long double)x, &cur), want;
        if (x < 10)
            want = x * 100000000ull;
        else if (x < 1010)
            want = NS_PER_S + (x - 10) * 1000000ull;
        else
            want = 4 * NS_PER_S + (x - 1010) * 20000000ull;
        cr_assert_eq(got, want, "x %llu: %llu, want %llu", (unsigned long long)x,
                     (unsigned long long)got, (unsigned long long)want);
    }
    cr_expect_eq(plan_ramp_due_ns(&s, 1060, &cur), UINT64_MAX);
    free(s.stages);
}

Test(exec, workers_interleave_into_one_schedule)
{
    /* worker w of n takes arrivals k * n + w: together they are the single schedule */
    static const double st[] = {3, 7000, 2, 500};
    plan_scenario s = ramp(PLAN_RAMPING_ARRIVAL_RATE, 200, st, 2);
    long double total = plan_ramp_integral(&s, s.duration_ns);
    size_t c1 = 0;
    for (uint32_t n = 2; n <= 5; n++) {
        size_t cur[5] = {0};
        for (uint64_t j = 0; j < (uint64_t)total; j++) {
            uint64_t one = plan_ramp_due_ns(&s, (long double)j, &c1);
            uint32_t w = (uint32_t)(j % n);
            uint64_t k = j / n;
            uint64_t mine = plan_ramp_due_ns(&s, (long double)k * n + w, &cur[w]);
            cr_assert_eq(mine, one, "n %u j %llu", n, (unsigned long long)j);
        }
        c1 = 0;
    }
    free(s.stages);
}

/* The VU count at t by its definition: from + (to - from) * tau / d, the integer it left. */
static uint32_t vus_ref(const plan_scenario *s, uint64_t t)
{
    for (size_t i = 0; i < s->nstages; i++) {
        const plan_stage *st = &s->stages[i];
        if (t >= st->start_ns + st->dur_ns)
            continue;
        long double v = st->from + (st->to - st->from) * (long double)(t - st->start_ns) /
                                       (long double)st->dur_ns;
        return (uint32_t)(st->to >= st->from ? floorl(v + 1e-12L) : ceill(v - 1e-12L));
    }
    return (uint32_t)s->stages[s->nstages - 1].to;
}

Test(exec, ramping_vus_targets_over_time)
{
    static const double st[] = {10, 10, 5, 10, 10, 0};
    plan_scenario s = ramp(PLAN_RAMPING_VUS, 0, st, 3);
    cr_expect_eq(s.vus, 10);
    cr_expect_eq(plan_vus_at(&s, 0), 0);
    cr_expect_eq(plan_vus_at(&s, NS_PER_S - 1), 0);
    cr_expect_eq(plan_vus_at(&s, NS_PER_S), 1);
    cr_expect_eq(plan_vus_at(&s, 9 * NS_PER_S + 999999999), 9);
    cr_expect_eq(plan_vus_at(&s, 10 * NS_PER_S), 10);
    cr_expect_eq(plan_vus_at(&s, 15 * NS_PER_S), 10);
    cr_expect_eq(plan_vus_at(&s, 15 * NS_PER_S + 999999999), 10);
    cr_expect_eq(plan_vus_at(&s, 16 * NS_PER_S), 9);
    cr_expect_eq(plan_vus_at(&s, 24 * NS_PER_S + 999999999), 1);
    cr_expect_eq(plan_vus_at(&s, 25 * NS_PER_S), 0);
    cr_expect_eq(plan_vus_at(&s, 99 * NS_PER_S), 0);
    free(s.stages);
}

Test(exec, ramping_vus_changes_where_the_count_moves)
{
    /* odd spans and durations, a step up and a step down: every change the brute-force scan
     * sees (on a 1 ms grid) is where plan_vus_next_change says, and nowhere else */
    static const double st[] = {7, 13, 0, 40, 3.3, 40, 2.9, 3, 0, 1, 4.1, 17};
    plan_scenario s = ramp(PLAN_RAMPING_VUS, 2, st, 6);
    for (size_t i = 0; i < s.nstages; i++)
        cr_assert(s.stages[i].dur_ns % NS_PER_MS == 0);
    uint64_t t = 0, end = s.duration_ns + NS_PER_S;
    uint32_t prev = plan_vus_at(&s, 0);
    cr_expect_eq(prev, 2);
    uint64_t next = plan_vus_next_change(&s, 0);
    int changes = 0;
    for (t = NS_PER_MS; t < end; t += NS_PER_MS) {
        uint32_t v = plan_vus_at(&s, t);
        cr_assert_eq(v, vus_ref(&s, t), "t %llu ns", (unsigned long long)t);
        if (v != prev) {
            /* the change happened in (t - 1 ms, t]: next says exactly where */
            cr_assert(next > t - NS_PER_MS && next <= t, "t %llu: next %llu",
                      (unsigned long long)t, (unsigned long long)next);
            cr_assert_eq(plan_vus_at(&s, next), v);
            cr_assert_eq(plan_vus_at(&s, next - 1), prev);
            next = plan_vus_next_change(&s, t);
            changes++;
        } else {
            cr_assert(next > t, "t %llu: a change at %llu was not seen", (unsigned long long)t,
                      (unsigned long long)next);
        }
        prev = v;
    }
    cr_expect_eq(next, UINT64_MAX);
    /* 2->13: 11 moves, the last at 7 s where the step to 40 is too (one change: 12 -> 40);
     * 40->3: 37, the last where the step to 1 is (4 -> 1); 1->17: 16 */
    cr_expect_eq(changes, 11 + 37 + 16);
    free(s.stages);
}

Test(exec, shared_iterations_split_over_workers_and_vus)
{
    static const struct {
        uint32_t vus;
        uint64_t iters;
    } rows[] = {{1, 1}, {4, 25}, {7, 7}, {10, 1000003}, {3, 4}, {1000, 1001}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (uint32_t n = 1; n <= 6; n++) {
            plan_scenario p = {.executor = PLAN_SHARED_ITERATIONS,
                               .vus = rows[r].vus,
                               .iterations = rows[r].iters};
            uint64_t sum = 0, lo = UINT64_MAX, hi = 0;
            for (uint32_t w = 0; w < n; w++) {
                wscen s = {.s = &p};
                plan_share_of(&p, w, n, &s.sh);
                s.count = s.sh.vus;
                uint64_t mine = sched_shared_share(&s);
                sum += mine;
                cr_expect_geq(mine, s.count, "every VU has at least one (row %zu)", r);
                if (s.count) {
                    lo = mine / s.count < lo ? mine / s.count : lo;
                    hi = (mine + s.count - 1) / s.count > hi ? (mine + s.count - 1) / s.count
                                                             : hi;
                }
            }
            cr_expect_eq(sum, rows[r].iters, "row %zu n %u: %llu", r, n,
                         (unsigned long long)sum);
            cr_expect_leq(hi - lo, 1, "row %zu n %u: per-VU parts differ by at most one", r, n);
        }
}

/* ---- the scenario file's executor keys ---- */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* Loads ini from a temporary file; returns config_load's code, the message after "FILE:". */
static int load_ini(const char *ini, const config_overrides *ov, plan **p, char *msg, size_t cap)
{
    char path[] = "/tmp/blast-exec-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
    close(fd);
    char err[1024];
    *p = NULL;
    int rc = config_load(path, ov, p, err, sizeof err);
    unlink(path);
    size_t n = strlen(path);
    snprintf(msg, cap, "%s", strncmp(err, path, n) == 0 && err[n] == ':' ? err + n + 1 : err);
    return rc;
}

#define HEAD "[global]\nbase_url = http://127.0.0.1:8080\n" /* lines 1-2 */

static plan *load_ok(const char *ini, const config_overrides *ov)
{
    plan *p;
    char msg[1024];
    int rc = load_ini(ini, ov, &p, msg, sizeof msg);
    cr_assert_eq(rc, 0, "%s", msg);
    return p;
}

Test(exec_config, ramping_arrival_rate_stages)
{
    const char *ini = HEAD "[scenario r]\nexecutor = ramping-arrival-rate\nstart_rate = 0\n"
                           "stage = 2m -> 500/s\nstage = 0s -> 6000/m\nstage = 30s -> 0\n"
                           "pre_allocated_vus = 5\nmax_vus = 50\n";
    plan *p = load_ok(ini, NULL);
    const plan_scenario *s = &p->scenarios[0];
    cr_expect_eq(s->executor, PLAN_RAMPING_ARRIVAL_RATE);
    cr_expect_eq(s->nstages, 3);
    cr_expect_eq(s->stages[0].dur_ns, 120 * NS_PER_S);
    cr_expect_eq(s->stages[0].to, 500);
    cr_expect_eq(s->stages[1].dur_ns, 0);
    cr_expect_eq(s->stages[1].from, 500);
    cr_expect_eq(s->stages[1].to, 100);
    cr_expect_eq(s->stages[2].to, 0);
    cr_expect_eq(s->rate, 500, "the peak");
    cr_expect_eq(s->duration_ns, 150 * NS_PER_S);
    cr_expect_eq(s->pre_connections, 5);
    cr_expect_eq(s->max_connections, 50);
    cr_expect(fabsl(plan_ramp_integral(s, s->duration_ns) - (30000 + 1500)) < 1e-6L);
    plan_free(p);

    config_overrides ov = {.stage_scale = 0.1};
    p = load_ok(ini, &ov);
    s = &p->scenarios[0];
    cr_expect_eq(s->stages[0].dur_ns, 12 * NS_PER_S);
    cr_expect_eq(s->stages[2].dur_ns, 3 * NS_PER_S);
    cr_expect_eq(s->duration_ns, 15 * NS_PER_S);
    plan_free(p);
}

Test(exec_config, ramping_vus_and_iteration_defaults)
{
    plan *p = load_ok(HEAD "graceful_stop = 3s\n[scenario u]\nexecutor = ramping-vus\n"
                           "stage = 10s -> 20\nstage = 5s -> 0\nstart_time = 1m\n"
                           "[scenario i]\nexecutor = per-vu-iterations\ngraceful_stop = 0s\n"
                           "[scenario s]\nexecutor = shared-iterations\nvus = 3\n"
                           "iterations = 10\nmax_duration = 20s\n",
                      NULL);
    const plan_scenario *u = &p->scenarios[0], *i = &p->scenarios[1], *s = &p->scenarios[2];
    cr_expect_eq(u->start_value, 1, "k6's default start_vus");
    cr_expect_eq(u->vus, 20);
    cr_expect_eq(u->graceful_ramp_down_ns, 30 * NS_PER_S);
    cr_expect_eq(u->graceful_stop_ns, 3 * NS_PER_S, "from [global]");
    cr_expect_eq(u->start_time_ns, 60 * NS_PER_S);
    cr_expect_eq(u->duration_ns, 15 * NS_PER_S);
    cr_expect_eq(i->vus, 1);
    cr_expect_eq(i->iterations, 1);
    cr_expect_eq(i->duration_ns, 600 * NS_PER_S, "k6's max_duration of 10m");
    cr_expect_eq(i->graceful_stop_ns, 0);
    cr_expect_eq(s->vus, 3);
    cr_expect_eq(s->iterations, 10);
    cr_expect_eq(s->duration_ns, 20 * NS_PER_S);
    plan_free(p);

    /* --vus and --duration apply to the iteration executors (vus, max_duration) */
    config_overrides ov = {.vus = 7, .duration_ns = 5 * NS_PER_S, .stage_scale = 2};
    p = load_ok(HEAD "[scenario i]\nexecutor = per-vu-iterations\niterations = 4\n"
                     "start_time = 2s\n",
                &ov);
    cr_expect_eq(p->scenarios[0].vus, 7);
    cr_expect_eq(p->scenarios[0].duration_ns, 10 * NS_PER_S, "--duration, then scaled");
    cr_expect_eq(p->scenarios[0].start_time_ns, 4 * NS_PER_S);
    plan_free(p);
}

Test(exec_config, errors)
{
    static const struct {
        const char *ini;
        config_overrides ov;
        const char *err;
    } rows[] = {
        {HEAD "[scenario r]\nexecutor = ramping-arrival-rate\nstage = 2m 500/s\n",
         {0},
         "5: [scenario r] stage: '2m 500/s' is not DURATION -> TARGET (e.g. stage = 2m -> 500/s; "
         "a stage of 0s is a step)"},
        {HEAD "[scenario r]\nexecutor = ramping-arrival-rate\nstage = soon -> 5/s\n",
         {0},
         "5: [scenario r] stage: 'soon' is not a duration (e.g. stage = 2m -> 500/s; units us, ms, "
         "s, m, h; 0s is a step)"},
        {HEAD "[scenario r]\nexecutor = ramping-arrival-rate\nstage = 1m -> 5\n",
         {0},
         "5: [scenario r] stage: '5' is not a rate (e.g. stage = 2m -> 500/s; 0 for none, at most "
         "10000000/s)"},
        {HEAD "[scenario u]\nexecutor = ramping-vus\nstage = 1m -> ten\n",
         {0},
         "5: [scenario u] stage: 'ten' is not a VU count (e.g. stage = 2m -> 100; allowed: "
         "0..1000000)"},
        {HEAD "[scenario u]\nexecutor = ramping-vus\nstart_vus = 0\nstage = 1m -> 0\n",
         {0},
         "6: [scenario u] stage: no stage asks for any VUs (every target and the start are 0)"},
        {HEAD "[scenario u]\nexecutor = ramping-vus\nstage = 0s -> 5\n",
         {0},
         "5: [scenario u] stage: the stages last 0s in all (at least one stage needs a duration)"},
        {HEAD "[scenario r]\nexecutor = ramping-arrival-rate\nstage = 1m -> 5/s\nrate = 5/s\n",
         {0},
         "6: [scenario r] rate: only for constant-arrival-rate (this scenario is "
         "ramping-arrival-rate)"},
        {HEAD "[scenario u]\nexecutor = ramping-vus\nstage = 1m -> 5\nduration = 1m\n",
         {0},
         "6: [scenario u] duration: only for constant-arrival-rate, constant-vus (this scenario "
         "is ramping-vus)"},
        {HEAD "[scenario c]\nexecutor = constant-vus\nvus = 1\nduration = 1s\nstage = 1m -> 5\n",
         {0},
         "7: [scenario c] stage: only for ramping-arrival-rate, ramping-vus (this scenario is "
         "constant-vus)"},
        {HEAD "[scenario c]\nexecutor = constant-vus\nvus = 1\nduration = 1s\n"
              "graceful_ramp_down = 1s\n",
         {0},
         "7: [scenario c] graceful_ramp_down: only for ramping-vus (this scenario is "
         "constant-vus)"},
        {HEAD "[scenario u]\nexecutor = ramping-vus\nstage = 1m -> 5\n",
         {.duration_ns = NS_PER_S},
         "3: [scenario u]: --duration cannot apply to this scenario (ramping-vus: it lasts as "
         "long as its stages; --stage-scale F shortens them)"},
        {HEAD "[scenario u]\nexecutor = ramping-vus\nstage = 1m -> 5\n",
         {.vus = 3},
         "3: [scenario u]: --vus cannot apply to this scenario (ramping-vus: its VU count follows "
         "its stages)"},
        {HEAD "[scenario r]\nexecutor = ramping-arrival-rate\nstage = 1m -> 5/s\n",
         {.rate = 3},
         "3: [scenario r]: --rate cannot apply to this scenario (ramping-arrival-rate: its rate "
         "follows its stages)"},
        {HEAD "[scenario s]\nexecutor = shared-iterations\nvus = 5\niterations = 4\n",
         {0},
         "6: [scenario s] iterations: 4 iterations shared by 5 VUs: some VUs would have none "
         "(allowed: at least vus)"},
        {HEAD "[scenario s]\nexecutor = shared-iterations\nstart_time = soon\n",
         {0},
         "5: [scenario s] start_time: 'soon' is not a duration (e.g. 30s, 1m30s, 500ms, 1.5h; "
         "units us, ms, s, m, h)"},
        {HEAD "[scenario r]\nexecutor = ramping-arrival-rate\nstage = 1m -> 5/s\n"
              "pre_allocated_vus = 2\npre_connections = 2\n",
         {0},
         "6: [scenario r] pre_allocated_vus: cannot be combined with pre_connections (the same "
         "setting; keep one)"},
        {HEAD "[scenario r]\nexecutor = ramping-arrival-rate\nstage = 1m -> 0/s\nstage = 1m -> 0\n",
         {0},
         "5: [scenario r] stage: no stage asks for any arrivals (every target and the start are "
         "0)"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        plan *p;
        char msg[1024];
        int rc = load_ini(rows[r].ini, &rows[r].ov, &p, msg, sizeof msg);
        cr_expect_eq(rc, -EINVAL, "row %zu: rc %d (%s)", r, rc, msg);
        cr_expect_str_eq(msg, rows[r].err, "row %zu", r);
        plan_free(p);
    }
}

/* ---- profiles ---- */

#define PROFILES                                                                                   \
    HEAD "profile = ${TEST:-smoke}\n"                                  /* line 3 */               \
         "[scenario a]\nexecutor = constant-vus\nvus = 2\nduration = 1m\npath = /\n" /* 4-8 */   \
         "[scenario b]\nexecutor = constant-vus\nvus = 1\nduration = 1m\npath = /\n" /* 9-13 */  \
         "[profile smoke]\nvus = 10\nduration = 30s\n"                    /* 14-16 */             \
         "[profile load]\nscenarios = b\nexecutor = ramping-vus\nstart_vus = 0\n"                \
         "stage = 2m -> 100\nstage = 1m -> 0\n"                           /* 17-22 */             \
         "[profile qps]\nexecutor = constant-arrival-rate\nduration = 5m\na.rate = 5000/s\n"     \
         "b.rate = 500/s\nmax_vus = 300\na.max_vus = 900\n" /* 23-29 */

Test(exec_config, profile_overlays)
{
    /* [global] profile = ${TEST:-smoke}: keys for every scenario */
    plan *p = load_ok(PROFILES, NULL);
    cr_expect_str_eq(p->profile, "smoke");
    cr_assert_eq(p->nscenarios, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_expect_eq(p->scenarios[i].executor, PLAN_CONSTANT_VUS);
        cr_expect_eq(p->scenarios[i].vus, 10);
        cr_expect_eq(p->scenarios[i].duration_ns, 30 * NS_PER_S);
    }
    plan_free(p);

    /* --profile wins; scenarios = b runs b only; a new executor replaces b's executor keys
     * (its vus and duration would not apply to ramping-vus); the stages in order */
    config_overrides ov = {.profile = "load"};
    p = load_ok(PROFILES, &ov);
    cr_expect_str_eq(p->profile, "load");
    cr_assert_eq(p->nscenarios, 1);
    const plan_scenario *b = &p->scenarios[0];
    cr_expect_str_eq(b->name, "b");
    cr_expect_eq(b->executor, PLAN_RAMPING_VUS);
    cr_expect_eq(b->start_value, 0);
    cr_assert_eq(b->nstages, 2);
    cr_expect_eq(b->stages[0].to, 100);
    cr_expect_eq(b->stages[1].dur_ns, 60 * NS_PER_S);
    cr_expect_eq(b->duration_ns, 180 * NS_PER_S);
    plan_free(p);

    /* a scenario's own stage lines replace the profile's general ones for it */
    p = load_ok(PROFILES "[profile mix]\nexecutor = ramping-vus\nstage = 1m -> 10\n"
                         "stage = 1m -> 0\nb.stage = 30s -> 7\n",
                &(config_overrides){.profile = "mix"});
    cr_assert_eq(p->nscenarios, 2);
    cr_expect_eq(p->scenarios[0].nstages, 2);
    cr_expect_eq(p->scenarios[0].duration_ns, 120 * NS_PER_S);
    cr_assert_eq(p->scenarios[1].nstages, 1);
    cr_expect_eq(p->scenarios[1].stages[0].to, 7);
    cr_expect_eq(p->scenarios[1].duration_ns, 30 * NS_PER_S);
    plan_free(p);

    /* per-scenario keys win over the profile's general ones when written after them */
    const char *env[] = {"TEST=qps"};
    config_overrides oe = {.env = env, .nenv = 1};
    p = load_ok(PROFILES, &oe);
    cr_expect_str_eq(p->profile, "qps");
    cr_expect_eq(p->scenarios[0].rate, 5000);
    cr_expect_eq(p->scenarios[0].max_connections, 900);
    cr_expect_eq(p->scenarios[1].rate, 500);
    cr_expect_eq(p->scenarios[1].max_connections, 300);
    cr_expect_eq(p->scenarios[1].duration_ns, 300 * NS_PER_S);
    plan_free(p);

    /* no profile asked for: the scenarios as written */
    p = load_ok(HEAD "[scenario a]\nexecutor = constant-vus\nvus = 2\nduration = 1m\npath = /\n"
                     "[profile x]\nvus = 9\n",
                NULL);
    cr_expect_null(p->profile);
    cr_expect_eq(p->scenarios[0].vus, 2);
    plan_free(p);
}

Test(exec_config, profile_errors)
{
    static const struct {
        const char *ini;
        const char *profile;
        const char *err;
    } rows[] = {
        {PROFILES, "heavy", " --profile heavy: unknown profile (known: smoke, load, qps)"},
        {HEAD "[scenario a]\nexecutor = constant-vus\nvus = 1\nduration = 1s\npath = /\n", "x",
         " --profile x: the file has no [profile NAME] sections"},
        {PROFILES "[profile bad]\nc.vus = 3\n", "bad",
         "31: [profile bad]: c.vus: no scenario 'c' runs in this profile (scenarios: a, b)"},
        {PROFILES "[profile bad]\nscenarios = a, z\n", "bad",
         "31: [profile bad] scenarios: no scenario 'z' (scenarios: a, b)"},
        {PROFILES "[profile bad]\nbody = x\n", "bad",
         "31: [profile bad] body: unknown key; a profile sets executor keys, as `key = value` for "
         "every scenario it runs or `SCENARIO.key = value` (allowed keys: duration, "
         "graceful_stop, executor, rate, vus, max_connections, max_vus, pre_connections, "
         "max_queue, arrival, pacing_resolution, pre_allocated_vus, start_rate, start_vus, "
         "stage, iterations, max_duration, start_time, graceful_ramp_down, max_rate, step_duration, warm_up, cool_down, "
         "precision, min_rate, scenarios)"},
        {PROFILES "[profile bad]\na.rate = 10/s\n", "bad",
         "31: [scenario a] rate: only for constant-arrival-rate (this scenario is constant-vus)"},
        {PROFILES "[profile smoke]\n", NULL, "30: [profile smoke]: duplicate profile (first defined on line 14)"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        config_overrides ov = {.profile = rows[r].profile};
        plan *p;
        char msg[1024];
        int rc = load_ini(rows[r].ini, &ov, &p, msg, sizeof msg);
        cr_expect_eq(rc, -EINVAL, "row %zu: rc %d (%s)", r, rc, msg);
        cr_expect_str_eq(msg, rows[r].err, "row %zu: %s", r, msg);
        plan_free(p);
    }
    /* [global] profile names the line */
    const char *env[] = {"TEST=soak"};
    config_overrides oe = {.env = env, .nenv = 1};
    plan *p;
    char msg[1024];
    cr_expect_eq(load_ini(PROFILES, &oe, &p, msg, sizeof msg), -EINVAL);
    cr_expect_str_eq(msg, "3: [global] profile: unknown profile 'soak' (known: smoke, load, qps)");
}
