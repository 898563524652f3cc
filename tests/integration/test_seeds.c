/* Integration: the seed files config/ramping-users.ini (seed 003) and config/service-profiles.ini
 * (seed 004) against the bundled target, which counts what it was sent.
 *
 * Seed 003 runs its whole 42-minute ramp at --stage-scale 0.002 (about 5 s, the peak of 5,000
 * VUs included, think times as written): no failure of any kind, every iteration complete, each
 * step as often as the others, the server saw as many guest logins as blast sent and accepted
 * every engagement request's bearer token (each one extracted from a login), and 5,000
 * connections were open at the plateau. Seed 004 runs its default profile (smoke, from
 * [global] profile = ${TEST:-smoke}) for 2 s with its 5/2/1/1/1 VUs and the 80/20 read-heavy
 * mix; qps_10k (-e TEST=qps_10k) for 1 s sends 5,000/2,000/1,000/1,500/500 requests to the five
 * services, which the server's per-service counters confirm; load, stress and spike run at a
 * reduced time scale with the guide's VU totals split 50/20/10/15/5; the alternative workloads
 * (search-intensive, the dashboard in turn) run whole iterations. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static server srv;

static void stop_all(void)
{
    server_stop(&srv);
}

TestSuite(seeds, .fini = stop_all);

/* The config file from the repository, read whole. */
static char *seed(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/config/%s", getenv("SOURCE_DIR") ? getenv("SOURCE_DIR") : ".",
             name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* steps.NAME.requests.K of a scenario. */
static double step_req(const blast_run *r, const char *sc, const char *step, const char *k)
{
    json_t *v = json_object_get(json_object_get(r->json, "scenarios"), sc);
    v = json_object_get(json_object_get(json_object_get(v, "steps"), step), "requests");
    v = json_object_get(v, k);
    cr_assert(json_is_number(v), "no steps.%s.requests.%s in scenario %s", step, k, sc);
    return json_number_value(v);
}

/* checks.NAME.K ("passes", "fails") of a scenario. */
static double check_count(const blast_run *r, const char *sc, const char *name, const char *k)
{
    json_t *v = json_object_get(json_object_get(r->json, "scenarios"), sc);
    v = json_object_get(json_object_get(json_object_get(v, "checks"), name), k);
    cr_assert(json_is_number(v), "no checks.%s.%s in scenario %s", name, k, sc);
    return json_number_value(v);
}

static double iters(const blast_run *r, const char *sc, const char *k)
{
    return jnum(r, sc, "iterations", k);
}

/* Every request ok and every iteration completed: nothing failed, dropped or cut. */
static void assert_clean(const blast_run *r, const char *sc)
{
    assert_accounted(r, sc);
    double sched = iters(r, sc, "scheduled");
    cr_expect_eq(jnum(r, sc, "requests", "failed"), 0, "%s: %.0f requests failed (%s)", sc,
                 jnum(r, sc, "requests", "failed"), r->stderr_text);
    cr_expect_eq(jnum(r, sc, "requests", "dropped"), 0, "%s: requests dropped", sc);
    cr_expect_eq(iters(r, sc, "completed"), sched, "%s: %.0f of %.0f iterations completed", sc,
                 iters(r, sc, "completed"), sched);
    cr_expect_gt(sched, 0, "%s: no iteration", sc);
}

static const char *profile_of(const blast_run *r)
{
    json_t *p = json_object_get(r->json, "profile");
    return json_is_string(p) ? json_string_value(p) : "(none)";
}

/* ---- seed 003: ramping users ---- */

struct plateau {
    double at;
    double open;
    bool done;
};

static void sample_open(double el, void *ctx)
{
    struct plateau *p = ctx;
    if (!p->done && el >= p->at) {
        json_t *st = target_stats(srv.port);
        p->open = target_stat(st, "open") - 1; /* less the stats connection */
        p->done = true;
        json_decref(st);
    }
}

Test(seeds, seed_003_ramping_users, .timeout = 120)
{
    target_start(&srv);
    char base[64];
    snprintf(base, sizeof base, "BASE_URL=http://127.0.0.1:%d", srv.port);
    /* 42 min x 0.002 = 5.04 s; the 5,000-VU plateau is 3.84..5.04 s */
    const char *extra[] = {"-e", base, "--stage-scale", "0.002", NULL};
    struct plateau pl = {.at = 4.5};
    harness_tick = sample_open;
    harness_tick_ctx = &pl;
    blast_run r;
    blast_exec(&r, seed("ramping-users.ini"), extra, 0, 90);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_clean(&r, "users");
    double it = iters(&r, "users", "completed");
    double auth = step_req(&r, "users", "auth", "ok"),
           home = step_req(&r, "users", "home_feed", "ok"),
           search = step_req(&r, "users", "search", "ok"),
           eng = step_req(&r, "users", "engagement", "ok");
    printf("seed 003: %.2f s, %.0f iterations, up to %.0f VUs (%.0f open at %.1f s); steps: auth "
           "%.0f, home_feed %.0f, search %.0f, engagement %.0f; server: %.0f guest inits, %.0f "
           "home feeds, %.0f searches, engagement %.0f ok / %.0f rejected, %.0f requests\n",
           r.wall_s, it, jnum(&r, "users", "vus_max", NULL), pl.open, pl.at, auth, home, search,
           eng, target_stat(st, "guest_inits"), target_stat(st, "home_feed"),
           target_stat(st, "search"), target_stat(st, "engagement_ok"),
           target_stat(st, "engagement_rejected"), target_stat(st, "requests"));
    cr_expect_eq(jnum(&r, "users", "vus_max", NULL), 5000);
    cr_expect_eq(json_array_size(json_object_get(
                     json_object_get(json_object_get(r.json, "scenarios"), "users"), "stages")),
                 7);
    cr_expect(pl.done && pl.open == 5000, "%.0f connections open at the plateau", pl.open);
    /* about 9,500 VU-seconds of ~1.8 s iterations */
    cr_expect_gt(it, 3000, "only %.0f iterations", it);
    cr_expect_eq(iters(&r, "users", "interrupted"), 0);
    /* every iteration ran all four steps */
    cr_expect_eq(auth, it);
    cr_expect_eq(home, it);
    cr_expect_eq(search, it);
    cr_expect_eq(eng, it);
    cr_expect_eq(step_req(&r, "users", "engagement", "scheduled"), eng);
    /* what the server saw: every login issued a token, every engagement carried an issued one */
    cr_expect_eq(target_stat(st, "guest_inits"), auth, "guest inits %.0f, logins sent %.0f",
                 target_stat(st, "guest_inits"), auth);
    cr_expect_eq(target_stat(st, "engagement_ok"), eng, "engagement ok %.0f, sent %.0f",
                 target_stat(st, "engagement_ok"), eng);
    cr_expect_eq(target_stat(st, "engagement_rejected"), 0, "a bearer token was not an issued one");
    cr_expect_eq(target_stat(st, "home_feed"), home);
    cr_expect_eq(target_stat(st, "search"), search);
    cr_expect_eq(target_stat(st, "requests"), auth + home + search + eng);
    static const char *const checks[] = {"guest auth ok", "home feed ok", "search ok", "saved ok"};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(check_count(&r, "users", checks[i], "passes"), it, "%s", checks[i]);
        cr_expect_eq(check_count(&r, "users", checks[i], "fails"), 0, "%s", checks[i]);
    }
    json_decref(st);
    blast_run_free(&r);
}

/* ---- seed 004: service profiles ---- */

static const char *const services[] = {"knowledge", "analytics", "content", "support", "auth"};

/* The server's per-service counters against blast's per-scenario ok counts. */
static void assert_services_match(const blast_run *r, json_t *st)
{
    for (size_t i = 0; i < 5; i++) {
        char k[40];
        snprintf(k, sizeof k, "%s_requests", services[i]);
        cr_expect_eq(target_stat(st, k), jnum(r, services[i], "requests", "ok"),
                     "%s: the server saw %.0f, blast sent %.0f ok", services[i], target_stat(st, k),
                     jnum(r, services[i], "requests", "ok"));
    }
}

static void service_base(char *base, size_t n)
{
    snprintf(base, n, "BASE_URL=http://127.0.0.1:%d", srv.port);
}

Test(seeds, seed_004_smoke_is_the_default_profile, .timeout = 60)
{
    target_start(&srv);
    char base[64];
    service_base(base, sizeof base);
    /* TEST empty: ${TEST:-smoke} picks smoke, whatever the environment holds */
    const char *extra[] = {"-e", base, "-e", "TEST=", "--duration", "2s", NULL};
    blast_run r;
    blast_exec(&r, seed("service-profiles.ini"), extra, 0, 40);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_expect_str_eq(profile_of(&r), "smoke");
    static const double vus[] = {5, 2, 1, 1, 1};
    for (size_t i = 0; i < 5; i++) {
        assert_clean(&r, services[i]);
        cr_expect_str_eq(
            json_string_value(json_object_get(
                json_object_get(json_object_get(r.json, "scenarios"), services[i]), "executor")),
            "constant-vus");
        cr_expect_eq(jnum(&r, services[i], "vus", NULL), vus[i], "%s: %.0f VUs", services[i],
                     jnum(&r, services[i], "vus", NULL));
    }
    assert_services_match(&r, st);
    double list = step_req(&r, "knowledge", "knowledge_list", "ok"),
           create = step_req(&r, "knowledge", "knowledge_create", "ok");
    double ov = step_req(&r, "analytics", "analytics_overview", "ok"),
           co = step_req(&r, "analytics", "analytics_content", "ok"),
           se = step_req(&r, "analytics", "analytics_search", "ok");
    printf("seed 004 smoke: knowledge %.0f (list %.1f%%, create %.1f%%), analytics %.0f (%.1f / "
           "%.1f / %.1f%%), content %.0f, support %.0f, auth %.0f (server logins %.0f)\n",
           list + create, 100 * list / (list + create), 100 * create / (list + create),
           ov + co + se, 100 * ov / (ov + co + se), 100 * co / (ov + co + se),
           100 * se / (ov + co + se), jnum(&r, "content", "requests", "ok"),
           jnum(&r, "support", "requests", "ok"), jnum(&r, "auth", "requests", "ok"),
           target_stat(st, "logins"));
    cr_expect_gt(list + create, 2000, "too few knowledge requests to judge the mix");
    cr_expect(fabs(100 * list / (list + create) - 80) <= 2, "the read-heavy mix is off");
    for (size_t i = 0; i < 3; i++) {
        double x = i == 0 ? ov : i == 1 ? co : se;
        cr_expect(fabs(100 * x / (ov + co + se) - 100.0 / 3) <= 2, "the panel mix is off");
    }
    cr_expect_eq(target_stat(st, "logins"), jnum(&r, "auth", "requests", "ok"));
    json_decref(st);
    blast_run_free(&r);
}

Test(seeds, seed_004_qps_10k_splits_by_service, .timeout = 60)
{
    target_start(&srv);
    char base[64];
    service_base(base, sizeof base);
    const char *extra[] = {"-e", base, "-e", "TEST=qps_10k", "--duration", "1s", NULL};
    blast_run r;
    blast_exec(&r, seed("service-profiles.ini"), extra, 0, 40);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_expect_str_eq(profile_of(&r), "qps_10k");
    static const double want[] = {5000, 2000, 1000, 1500, 500};
    double total = 0;
    for (size_t i = 0; i < 5; i++) {
        assert_clean(&r, services[i]);
        double ok = jnum(&r, services[i], "requests", "ok");
        total += ok;
        char key[40];
        snprintf(key, sizeof key, "%s_requests", services[i]);
        printf("seed 004 qps_10k: %-9s %5.0f ok (target %.0f/s), server %.0f\n", services[i], ok,
               jnum(&r, services[i], "rate", "target"), target_stat(st, key));
        cr_expect(fabs(ok - want[i]) <= want[i] / 100, "%s: %.0f requests, want %.0f", services[i],
                  ok, want[i]);
        cr_expect_eq(jnum(&r, services[i], "rate", "target"), want[i]);
    }
    cr_expect(fabs(total - 10000) <= 100, "%.0f requests in all", total);
    assert_services_match(&r, st);
    json_decref(st);
    blast_run_free(&r);
}

/* Each ramp profile at a time scale that runs it in a few seconds: the VU split per service,
 * the guide's total at the peak, the stages' length, and no failure. */
Test(seeds, seed_004_ramp_profiles, .timeout = 120)
{
    static const struct {
        const char *name, *scale;
        double minutes; /* the stages' total, unscaled */
        double peak[5]; /* vus_max per service */
        size_t nstages;
    } rows[] = {
        {"load", "0.005", 16, {100, 40, 20, 30, 10}, 5},
        {"stress", "0.002", 38, {200, 80, 40, 60, 20}, 9},
        {"spike", "0.01", 4 + 20.0 / 60, {500, 200, 100, 150, 50}, 4},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        target_start(&srv);
        char base[64];
        service_base(base, sizeof base);
        const char *extra[] = {"-e",          base, "--profile", rows[k].name, "--stage-scale",
                               rows[k].scale, NULL};
        blast_run r;
        blast_exec(&r, seed("service-profiles.ini"), extra, 0, 60);
        json_t *st = target_stats(srv.port);
        cr_assert_eq(r.exit_code, 0, "%s: exit %d: %s", rows[k].name, r.exit_code, r.stderr_text);
        cr_expect_str_eq(profile_of(&r), rows[k].name);
        double scale = atof(rows[k].scale), total = 0, sent = 0;
        for (size_t i = 0; i < 5; i++) {
            assert_clean(&r, services[i]);
            double peak = jnum(&r, services[i], "vus_max", NULL);
            total += peak;
            sent += jnum(&r, services[i], "requests", "ok");
            cr_expect_eq(peak, rows[k].peak[i], "%s %s: up to %.0f VUs", rows[k].name, services[i],
                         peak);
            json_t *stages = json_object_get(
                json_object_get(json_object_get(r.json, "scenarios"), services[i]), "stages");
            cr_expect_eq(json_array_size(stages), rows[k].nstages, "%s %s: %zu stages",
                         rows[k].name, services[i], json_array_size(stages));
            double len = 0;
            for (size_t j = 0; j < json_array_size(stages); j++)
                len += json_number_value(json_object_get(json_array_get(stages, j), "duration_s"));
            cr_expect(fabs(len / scale / 60 - rows[k].minutes) < 0.01,
                      "%s %s: the stages last %.2f min", rows[k].name, services[i],
                      len / scale / 60);
        }
        printf("seed 004 %s at x%s: %.2f s, up to %.0f VUs, %.0f requests, all ok\n", rows[k].name,
               rows[k].scale, r.wall_s, total, sent);
        assert_services_match(&r, st);
        json_decref(st);
        blast_run_free(&r);
        server_stop(&srv);
    }
}

Test(seeds, seed_004_alternative_workloads, .timeout = 60)
{
    target_start(&srv);
    char base[64];
    service_base(base, sizeof base);
    /* search, 2 s, list: each of the 5 knowledge VUs starts an iteration at 0 s and at 2 s */
    const char *extra[] = {"-e",         base,
                           "-e",         "KNOWLEDGE_FLOW=search_intensive",
                           "-e",         "ANALYTICS_FLOW=dashboard",
                           "--profile",  "smoke",
                           "--duration", "3s",
                           NULL};
    blast_run r;
    blast_exec(&r, seed("service-profiles.ini"), extra, 0, 40);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    for (size_t i = 0; i < 5; i++)
        assert_clean(&r, services[i]);
    double s = step_req(&r, "knowledge", "knowledge_search", "ok"),
           l = step_req(&r, "knowledge", "knowledge_list", "ok");
    double ov = step_req(&r, "analytics", "analytics_overview", "ok"),
           co = step_req(&r, "analytics", "analytics_content", "ok"),
           se = step_req(&r, "analytics", "analytics_search", "ok");
    printf("seed 004 workloads: search-intensive %.0f searches, %.0f lists in %.0f iterations; "
           "dashboard %.0f / %.0f / %.0f\n",
           s, l, iters(&r, "knowledge", "completed"), ov, co, se);
    cr_expect_eq(s, 10);
    cr_expect_eq(l, 10);
    cr_expect_eq(iters(&r, "knowledge", "completed"), 10);
    cr_expect_gt(ov, 100);
    cr_expect_eq(co, ov);
    cr_expect_eq(se, ov);
    cr_expect_eq(iters(&r, "analytics", "completed"), ov);
    assert_services_match(&r, st);
    json_decref(st);
    blast_run_free(&r);
}
