/* Integration: the executors against the bundled target, which counts what it was sent and how
 * many connections are open.
 *
 * A ramping-arrival-rate run offers the integral of its stages (within 1%); ramping-vus holds
 * each stage's VU count (the server's open connections, sampled mid-stage); per-vu-iterations
 * runs exactly vus x iterations and shared-iterations exactly its iterations; graceful_stop and
 * graceful_ramp_down cut long iterations and count them interrupted; start_time delays a
 * scenario; --stage-scale shortens a ramp; overrides that have no meaning for a ramp are refused. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static server srv;

static void stop_all(void)
{
    server_stop(&srv);
}

TestSuite(exec, .fini = stop_all);

static double iters(const blast_run *r, const char *sc, const char *k)
{
    return jnum(r, sc, "iterations", k);
}

static double served(void)
{
    json_t *st = target_stats(srv.port);
    double n = target_stat(st, "requests"); /* /admin/ requests are not counted */
    json_decref(st);
    return n;
}

Test(exec, ramping_arrival_rate_offers_its_integral, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    /* 0 -> 2000/s in 1 s (1000), 1 s at 2000/s (2000), a step down to 500/s for 1 s (500),
     * then 500 -> 0 in 1 s (250): 3750 arrivals */
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[scenario r]\nexecutor = ramping-arrival-rate\nstart_rate = 0\n"
             "stage = 1s -> 2000/s\nstage = 1s -> 2000/s\nstage = 0s -> 500/s\n"
             "stage = 1s -> 500/s\nstage = 1s -> 0\nmax_vus = 50\npath = /\n",
             srv.port);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    assert_accounted(&r, "r");
    double sched = jnum(&r, "r", "requests", "scheduled"), ok = jnum(&r, "r", "requests", "ok");
    cr_expect(fabs(sched - 3750) <= 37.5, "%.0f scheduled, the integral is 3750", sched);
    cr_expect_eq(ok, sched, "%.0f of %.0f ok", ok, sched);
    cr_expect_eq(served(), ok, "the server saw %.0f, blast says %.0f ok", served(), ok);
    cr_expect(fabs(jnum(&r, "r", "rate", "target") - 937.5) < 0.01, "mean target rate");
    cr_expect(r.wall_s >= 4.0, "the stages last 4 s (%.2f s)", r.wall_s);
    /* per stage: arrivals due in it against its own integral, and their send lateness */
    static const double want[] = {1000, 2000, 0, 500, 250};
    json_t *st = json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "r"),
                                 "stages");
    cr_assert_eq(json_array_size(st), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *e = json_array_get(st, i);
        double exp = json_number_value(json_object_get(e, "expected"));
        double got = json_number_value(json_object_get(e, "scheduled"));
        double lat = json_number_value(
            json_object_get(json_object_get(e, "send_lateness_ms"), "count"));
        cr_expect(fabs(exp - want[i]) < 1e-6, "stage %zu expects %.3f", i, exp);
        cr_expect(fabs(got - want[i]) <= 1, "stage %zu: %.0f scheduled of %.0f", i, got, want[i]);
        cr_expect_eq(lat, got, "stage %zu: every request due in it has its lateness", i);
    }
    blast_run_free(&r);
}

/* Samples the server's open connections (less the stats connection) mid-stage. */
struct samples {
    const double *at; /* seconds after the start, ascending */
    size_t n, next;
    double open[8], requests[8];
};

static void sample(double el, void *ctx)
{
    struct samples *s = ctx;
    if (s->next < s->n && el >= s->at[s->next]) {
        json_t *st = target_stats(srv.port);
        s->open[s->next] = target_stat(st, "open") - 1;
        s->requests[s->next++] = target_stat(st, "requests");
        json_decref(st);
    }
}

Test(exec, ramping_vus_holds_each_stage, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    /* steps to 4, 8 and 2 VUs, 1.5 s each; each iteration is a 100 ms request */
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[scenario u]\nexecutor = ramping-vus\nstart_vus = 4\n"
             "stage = 1.5s -> 4\nstage = 0s -> 8\nstage = 1.5s -> 8\nstage = 0s -> 2\n"
             "stage = 1.5s -> 2\npath = /delay/100\n",
             srv.port);
    static const double at[] = {0.8, 2.3, 3.8};
    struct samples s = {.at = at, .n = 3};
    harness_tick = sample;
    harness_tick_ctx = &s;
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    cr_assert_eq(s.next, 3, "sampled %zu times", s.next);
    cr_expect_eq(s.open[0], 4, "stage 1: %.0f connections open", s.open[0]);
    cr_expect_eq(s.open[1], 8, "stage 2: %.0f connections open", s.open[1]);
    cr_expect_eq(s.open[2], 2, "stage 3: %.0f connections open", s.open[2]);
    cr_expect_eq(jnum(&r, "u", "requests", "failed"), 0);
    /* about (4 + 8 + 2) VUs x 1.5 s / 0.1 s = 210 iterations */
    double done = iters(&r, "u", "completed");
    cr_expect(done > 150 && done <= 215, "%.0f iterations", done);
    cr_expect_eq(iters(&r, "u", "interrupted"), 0, "ramp-down let every iteration finish");
    cr_expect_eq(jnum(&r, "u", "vus_max", NULL), 8);
    blast_run_free(&r);
}

Test(exec, ramp_down_cuts_after_graceful_ramp_down, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    /* 3 VUs in 3 s requests; at 1 s the count drops to 0: they have 200 ms, then are cut */
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[scenario u]\nexecutor = ramping-vus\nstart_vus = 3\nstage = 1s -> 3\n"
             "stage = 0s -> 0\nstage = 1s -> 0\ngraceful_ramp_down = 200ms\n"
             "path = /delay/3000\n",
             srv.port);
    static const double at[] = {0.6, 1.6};
    struct samples s = {.at = at, .n = 2};
    harness_tick = sample;
    harness_tick_ctx = &s;
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 4, "no request succeeded: %s", r.stderr_text);
    cr_expect_eq(iters(&r, "u", "scheduled"), 3);
    cr_expect_eq(iters(&r, "u", "interrupted"), 3);
    cr_expect_eq(iters(&r, "u", "completed"), 0);
    cr_expect_eq(s.open[0], 3, "before the ramp-down: %.0f open", s.open[0]);
    cr_expect_eq(s.open[1], 0, "cut at 1.2 s: %.0f still open at 1.6 s", s.open[1]);
    cr_expect(r.wall_s < 3.0, "%.2f s: the 3 s requests were not waited for", r.wall_s);
    blast_run_free(&r);
}

Test(exec, iteration_executors_run_exactly_their_iterations, .timeout = 60)
{
    target_start(&srv);
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[step a]\npath = /\n[step b]\npath = /delay/1\n"
             "[flow two]\nstep = a\nstep = b\n"
             "[scenario per]\nexecutor = per-vu-iterations\nvus = 3\niterations = 7\nflow = two\n"
             "[scenario shared]\nexecutor = shared-iterations\nvus = 4\niterations = 25\n"
             "path = /delay/5\n",
             srv.port);
    const char *const two_workers[] = {"--workers", "2", NULL};
    blast_run r;
    blast_exec(&r, ini, two_workers, 0, 30);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    cr_expect_eq(iters(&r, "per", "completed"), 21);
    cr_expect_eq(iters(&r, "per", "scheduled"), 21);
    cr_expect_eq(jnum(&r, "per", "requests", "ok"), 42);
    cr_expect_eq(iters(&r, "shared", "completed"), 25);
    cr_expect_eq(jnum(&r, "shared", "requests", "ok"), 25);
    cr_expect_eq(served(), 42 + 25);
    cr_expect(r.wall_s < 5, "the run ends when the iterations are done (%.2f s)", r.wall_s);
    blast_run_free(&r);
}

Test(exec, graceful_stop_cuts_and_counts_interrupted, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    /* 2 VUs whose first iteration takes 5 s: the 1 s window ends, 500 ms later they are cut */
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\ngraceful_stop = 20s\n"
             "[scenario v]\nexecutor = constant-vus\nvus = 2\nduration = 1s\n"
             "graceful_stop = 500ms\npath = /delay/5000\n",
             srv.port);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 4, "%s", r.stderr_text);
    cr_expect_eq(iters(&r, "v", "interrupted"), 2);
    cr_expect_eq(iters(&r, "v", "completed"), 0);
    cr_expect_eq(jnum(&r, "v", "failures", "timeout"), 2, "the cut requests count as timeouts");
    cr_expect(r.wall_s > 1.4 && r.wall_s < 3.0, "cut at 1.5 s (%.2f s)", r.wall_s);
    blast_run_free(&r);
}

Test(exec, start_time_delays_a_scenario, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[scenario late]\nexecutor = constant-arrival-rate\nrate = 100/s\nduration = 500ms\n"
             "start_time = 1s\npath = /\n",
             srv.port);
    static const double at[] = {0.7};
    struct samples s = {.at = at, .n = 1};
    harness_tick = sample;
    harness_tick_ctx = &s;
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    cr_assert_eq(s.next, 1);
    cr_expect_eq(s.requests[0], 0, "%.0f requests before the start time", s.requests[0]);
    cr_expect_eq(jnum(&r, "late", "requests", "ok"), 50);
    cr_expect(fabs(jnum(&r, "late", "duration_s", NULL) - 0.5) < 0.01, "its window is 0.5 s");
    cr_expect_eq(jnum(&r, "late", "start_time_s", NULL), 1);
    cr_expect(r.wall_s >= 1.5, "%.2f s", r.wall_s);
    blast_run_free(&r);
}

Test(exec, stage_scale_and_refused_overrides, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    /* 20 s ramp 0 -> 200/s (2000 arrivals) at --stage-scale 0.1: 2 s, 200 arrivals */
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[scenario r]\nexecutor = ramping-arrival-rate\nstage = 20s -> 200/s\npath = /\n",
             srv.port);
    const char *const scale[] = {"--stage-scale", "0.1", NULL};
    blast_run r;
    blast_exec(&r, ini, scale, 0, 30);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    cr_expect_eq(jnum(&r, "r", "requests", "ok"), 200);
    cr_expect(r.wall_s < 4, "%.2f s", r.wall_s);
    blast_run_free(&r);

    const char *const dur[] = {"--duration", "5s", NULL};
    blast_exec(&r, ini, dur, 0, 30);
    cr_expect_eq(r.exit_code, 2);
    cr_expect(strstr(r.stderr_text, "--duration cannot apply to this scenario (ramping-arrival-rate"),
              "%s", r.stderr_text);
    cr_expect_eq(served(), 200, "the refused run sent nothing");
    blast_run_free(&r);
}
