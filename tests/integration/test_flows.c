/* Integration: flows against the bundled target, which counts what it was sent.
 *
 * The two seed files (config/mixed-scenarios.ini, config/heartbeat-storm.ini) run for a few
 * seconds at reduced size with zero unexpected failures, and their per-step counts match the
 * flows: 10 chunks per initiate and every chunk carrying an id the server issued, 4 segments per
 * master playlist, the 60/30/10 browse mix within 3 points, heartbeats spread over the fleet
 * with matching hostnames. Then: a VU's setup runs once, extracted tokens and cookies reach the
 * server, think time is not in latency, a missing value skips the rest of the iteration, data
 * rows are taken in order, arrival-rate flows account for every iteration, and a flow with
 * templates, extraction, cookies and checks allocates nothing per request. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static server srv;

static void stop_all(void)
{
    server_stop(&srv);
}

TestSuite(flows, .fini = stop_all);

/* steps.NAME.requests.K of a scenario. */
static double step_req(const blast_run *r, const char *sc, const char *step, const char *k)
{
    json_t *v = json_object_get(json_object_get(r->json, "scenarios"), sc);
    v = json_object_get(json_object_get(json_object_get(v, "steps"), step), "requests");
    v = json_object_get(v, k);
    cr_assert(json_is_number(v), "no steps.%s.requests.%s in scenario %s", step, k, sc);
    return json_number_value(v);
}

static double iters(const blast_run *r, const char *sc, const char *k)
{
    return jnum(r, sc, "iterations", k);
}

static void assert_iterations_accounted(const blast_run *r, const char *sc)
{
    double s = iters(r, sc, "scheduled");
    double sum = iters(r, sc, "completed") + iters(r, sc, "failed") + iters(r, sc, "interrupted") +
                 iters(r, sc, "dropped");
    cr_assert_eq(s, sum, "%s: %.0f iterations scheduled, %.0f accounted for", sc, s, sum);
}

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

Test(flows, seed_000_mixed_scenarios, .timeout = 120)
{
    target_start(&srv);
    char base[64];
    snprintf(base, sizeof base, "BASE_URL=http://127.0.0.1:%d", srv.port);
    const char *extra[] = {"-e", base,
                           "-e", "UPLOAD_VUS=4",
                           "-e", "STREAM_VUS=10",
                           "-e", "BROWSE_VUS=1000",
                           "-e", "CHECKOUT_VUS=4",
                           "-e", "DURATION=3s",
                           NULL};
    blast_run r;
    blast_exec(&r, seed("mixed-scenarios.ini"), extra, 0, 90);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    static const char *const scs[] = {"upload", "streaming", "browse", "checkout"};
    for (size_t i = 0; i < 4; i++) {
        assert_accounted(&r, scs[i]);
        assert_iterations_accounted(&r, scs[i]);
        cr_expect_eq(jnum(&r, scs[i], "requests", "failed"), 0, "%s: unexpected failures", scs[i]);
        cr_expect_gt(iters(&r, scs[i], "completed"), 0, "%s: no iteration completed", scs[i]);
        cr_expect_eq(iters(&r, scs[i], "interrupted"), 0, "%s", scs[i]);
    }
    /* upload: 10 chunks per initiate, each with an id the server issued */
    double init = step_req(&r, "upload", "upload_initiate", "ok");
    double chunks = step_req(&r, "upload", "upload_chunk", "ok");
    printf("seed 000: %.0f initiates, %.0f chunks; server: %.0f initiated, %.0f chunks ok, "
           "%.0f rejected, %.0f chunk bytes\n",
           init, chunks, target_stat(st, "uploads_initiated"), target_stat(st, "chunks_ok"),
           target_stat(st, "chunks_rejected"), target_stat(st, "chunk_body_bytes"));
    cr_expect_eq(chunks, 10 * init);
    cr_expect_eq(target_stat(st, "uploads_initiated"), init);
    cr_expect_eq(target_stat(st, "chunks_ok"), chunks, "the server did not accept every extracted id");
    cr_expect_eq(target_stat(st, "chunks_rejected"), 0);
    cr_expect_eq(target_stat(st, "chunk_body_bytes"), chunks * 1048576);
    /* streaming: master, playlist, 4 segments */
    double master = step_req(&r, "streaming", "hls_master", "ok");
    cr_expect_eq(step_req(&r, "streaming", "hls_playlist", "ok"), master);
    cr_expect_eq(step_req(&r, "streaming", "hls_segment", "ok"), 4 * master);
    cr_expect_eq(target_stat(st, "hls_segment"), 4 * master);
    /* browse: 60/30/10 within 3 points */
    double s = step_req(&r, "browse", "browse_search", "ok"),
           l = step_req(&r, "browse", "browse_list", "ok"),
           d = step_req(&r, "browse", "browse_detail", "ok");
    double tot = s + l + d;
    printf("seed 000 browse: %.0f iterations: search %.1f%%, list %.1f%%, detail %.1f%%\n", tot,
           100 * s / tot, 100 * l / tot, 100 * d / tot);
    cr_expect_gt(tot, 1500, "too few browse iterations (%.0f) to judge the mix", tot);
    cr_expect(fabs(100 * s / tot - 60) <= 3 && fabs(100 * l / tot - 30) <= 3 &&
                  fabs(100 * d / tot - 10) <= 3,
              "the browse mix is off");
    cr_expect_eq(target_stat(st, "search"), s);
    /* checkout: one order per product list, the 400 accepted */
    cr_expect_eq(step_req(&r, "checkout", "checkout_create", "ok"),
                 step_req(&r, "checkout", "checkout_list", "ok"));
    json_decref(st);
    blast_run_free(&r);
}

Test(flows, seed_002_heartbeat_storm, .timeout = 60)
{
    target_start(&srv);
    char base[64];
    snprintf(base, sizeof base, "CERTCTL_BASE=http://127.0.0.1:%d", srv.port);
    const char *extra[] = {
        "-e", base,          "-e", "K6_AGENT_RATE=500", "-e", "K6_AGENT_FLEET=100",
        "-e", "DURATION=2s", NULL};
    blast_run r;
    blast_exec(&r, seed("heartbeat-storm.ini"), extra, 0, 40);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "agent_storm");
    assert_iterations_accounted(&r, "agent_storm");
    printf("seed 002: %.0f heartbeats sent; server: %.0f heartbeats from %.0f agents, %.0f bad "
           "bodies\n",
           jnum(&r, "agent_storm", "requests", "ok"), target_stat(st, "heartbeats"),
           target_stat(st, "heartbeat_agents"), target_stat(st, "heartbeat_bad_body"));
    cr_expect_eq(jnum(&r, "agent_storm", "requests", "ok"), 1000);
    cr_expect_eq(target_stat(st, "heartbeats"), 1000);
    cr_expect_eq(target_stat(st, "heartbeat_agents"), 100, "the fleet was not covered round robin");
    cr_expect_eq(target_stat(st, "heartbeat_bad_body"), 0, "a body named another agent's hostname");
    json_t *ck = json_object_get(
        json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "agent_storm"),
                        "checks"),
        "heartbeat 2xx");
    cr_expect_eq(json_integer_value(json_object_get(ck, "passes")), 1000);
    cr_expect_eq(json_integer_value(json_object_get(ck, "fails")), 0);
    json_decref(st);
    blast_run_free(&r);
}

static const char *login_ini(int port, const char *cookies)
{
    static char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 2s\nworkers = 2\n"
             "[scenario s]\nexecutor = constant-vus\nvus = 4\nsetup = login\nflow = f\n"
             "cookies = %s\n"
             "[flow f]\nstep = me\nstep = session\nsleep = 20ms\n"
             "[step login]\nmethod = POST\npath = /api/v1/auth/login\n"
             "extract = token = json tokens.accessToken\ncheck = status 200\n"
             "[step me]\npath = /api/v1/me\nheader = Authorization: Bearer {{ token }}\n"
             "check = json user exists\n"
             "[step session]\npath = /api/v1/session\ncheck = status 200\n",
             port, cookies);
    return ini;
}

Test(flows, setup_once_token_and_cookies_reach_the_server, .timeout = 60)
{
    target_start(&srv);
    blast_run r;
    blast_exec(&r, login_ini(srv.port, "on"), NULL, 0, 30);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    assert_iterations_accounted(&r, "s");
    double me = step_req(&r, "s", "me", "ok"), session = step_req(&r, "s", "session", "ok");
    printf("setup: %.0f logins for 4 VUs; %.0f /me with the extracted token (server: %.0f ok, "
           "%.0f rejected); %.0f /session with the cookie (server: %.0f ok, %.0f rejected)\n",
           target_stat(st, "logins"), me, target_stat(st, "auth_ok"), target_stat(st, "auth_rejected"), session,
           target_stat(st, "session_ok"), target_stat(st, "session_rejected"));
    cr_expect_eq(target_stat(st, "logins"), 4, "setup ran %.0f times for 4 VUs", target_stat(st, "logins"));
    cr_expect_eq(step_req(&r, "s", "login", "scheduled"), 4);
    cr_expect_gt(me, 20);
    cr_expect_eq(target_stat(st, "auth_ok"), me);
    cr_expect_eq(target_stat(st, "auth_rejected"), 0);
    cr_expect_eq(target_stat(st, "session_ok"), session);
    cr_expect_eq(target_stat(st, "session_rejected"), 0);
    cr_expect_eq(jnum(&r, "s", "requests", "failed"), 0);
    json_decref(st);
    blast_run_free(&r);

    /* without the cookie jar the session path is refused: the jar is what made it pass */
    server_stop(&srv);
    target_start(&srv);
    blast_exec(&r, login_ini(srv.port, "off"), NULL, 0, 30);
    st = target_stats(srv.port);
    cr_expect_eq(target_stat(st, "session_ok"), 0);
    cr_expect_eq(target_stat(st, "session_rejected"), step_req(&r, "s", "session", "scheduled"));
    cr_expect_eq(jnum(&r, "s", "failures", "check"), step_req(&r, "s", "session", "scheduled"));
    json_decref(st);
    blast_run_free(&r);
}

Test(flows, think_time_is_not_latency, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 2s\nworkers = 1\n"
             "[scenario s]\nexecutor = constant-vus\nvus = 2\nflow = f\n"
             "[flow f]\nstep = a\nsleep = 200ms\nstep = b\n"
             "[step a]\npath = /a\n[step b]\npath = /b\n",
             srv.port);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    json_t *b = json_object_get(
        json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "s"), "steps"), "b");
    double p99 = json_number_value(json_object_get(json_object_get(b, "latency_ms"), "p99"));
    double it50 = jnum(&r, "s", "iteration_duration_ms", "p50");
    printf("think 200 ms: step b latency p99 %.3f ms; iteration p50 %.3f ms\n", p99, it50);
    cr_expect_lt(p99, 50, "step b's latency holds the think time (%.3f ms)", p99);
    cr_expect_geq(it50, 200, "the iteration does not hold the think time");
    blast_run_free(&r);
}

Test(flows, missing_value_skips_the_rest, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 1s\nworkers = 1\n"
             "[scenario s]\nexecutor = constant-vus\nvus = 1\nflow = f\n"
             "[flow f]\nstep = a\nstep = b\nsleep = 50ms\n"
             "[step a]\nmethod = POST\npath = /api/v1/tracks/upload/initiate\n"
             "extract = id = json data.nope\n"
             "[step b]\npath = /b/{{ id }}\n",
             srv.port);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    assert_accounted(&r, "s");
    assert_iterations_accounted(&r, "s");
    double a = step_req(&r, "s", "a", "scheduled");
    printf("missing value: %.0f iterations, step a %.0f (failed %.0f), step b %.0f\n",
           iters(&r, "s", "scheduled"), a, step_req(&r, "s", "a", "failed"),
           step_req(&r, "s", "b", "scheduled"));
    cr_expect_gt(a, 5);
    cr_expect_eq(step_req(&r, "s", "a", "failed"), a);
    cr_expect_eq(jnum(&r, "s", "failures", "check"), a);
    cr_expect_eq(step_req(&r, "s", "b", "scheduled"), 0, "the rest of the iteration was sent");
    cr_expect_eq(iters(&r, "s", "failed"), iters(&r, "s", "scheduled"));
    blast_run_free(&r);
}

Test(flows, data_rows_in_order, .timeout = 60)
{
    target_start(&srv);
    char csv[] = "/tmp/blast-it-data.XXXXXX";
    int fd = mkstemp(csv);
    cr_assert(fd >= 0);
    const char rows[] = "code,label\n200,ok\n503,down\n";
    cr_assert_eq(write(fd, rows, sizeof rows - 1), (ssize_t)(sizeof rows - 1));
    close(fd);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 1s\nworkers = 1\n"
             "[scenario s]\nexecutor = constant-vus\nvus = 1\ndata = %s\n"
             "path = /status/{{ data.code }}\nheader = X-Label: {{ data.label }}\n",
             srv.port, csv);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    unlink(csv);
    assert_accounted(&r, "s");
    double ok = jnum(&r, "s", "requests", "ok"), st = jnum(&r, "s", "failures", "status");
    printf("data rows in order: %.0f ok (200), %.0f failed (503)\n", ok, st);
    cr_expect_gt(ok, 10);
    cr_expect(fabs(ok - st) <= 1, "rows were not taken in turn: %.0f vs %.0f", ok, st);
    blast_run_free(&r);
}

Test(flows, arrival_rate_flow_accounts_for_every_iteration, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 2s\nworkers = 2\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 100/s\nmax_vus = 20\n"
             "flow = f\n[flow f]\nstep = a\nsleep = 30ms\nstep = b\n"
             "[step a]\npath = /delay/5\n[step b]\npath = /b\n",
             srv.port);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    assert_iterations_accounted(&r, "s");
    printf("arrival-rate flow: %.0f iterations, %.0f completed, a %.0f, b %.0f\n",
           iters(&r, "s", "scheduled"), iters(&r, "s", "completed"), step_req(&r, "s", "a", "ok"),
           step_req(&r, "s", "b", "ok"));
    cr_expect_eq(iters(&r, "s", "scheduled"), 200);
    cr_expect_eq(iters(&r, "s", "completed"), 200);
    cr_expect_eq(step_req(&r, "s", "a", "ok"), 200);
    cr_expect_eq(step_req(&r, "s", "b", "ok"), 200);
    blast_run_free(&r);
}

/* A flow using templates, extraction (JSON and regex), checks and cookies: a run with 3x the
 * requests makes the same number of allocations. */
static long allocations(int port, const char *dur, const char *so)
{
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = %s\nworkers = 2\n"
             "[scenario s]\nexecutor = constant-vus\nvus = 8\nsetup = login\nflow = f\n"
             "[flow f]\nstep = up\nrepeat = 2 x me\nstep = session\n"
             "[step login]\nmethod = POST\npath = /api/v1/auth/login\n"
             "extract = token = json tokens.accessToken\n"
             "extract = refresh = regex \"refreshToken\":\"(ref-[0-9]+)\"\n"
             "[step up]\nmethod = POST\npath = /api/v1/tracks/upload/initiate\n"
             "header = Content-Type: application/json\n"
             "body = {\"name\":\"{{ uuid() }}\",\"n\":{{ seq %% 7 + 1 }}}\n"
             "extract = upload_id = json data.upload_id\ncheck = body contains upload_id\n"
             "[step me]\npath = /api/v1/me?r={{ repeat }}&v={{ vu | %%04d }}\n"
             "header = Authorization: Bearer {{ token }}\nheader = X-Up: {{ upload_id }}\n"
             "check = json user exists\ncheck = status 200\n"
             "[step session]\npath = /api/v1/session\ncheck = header Content-Type\n",
             port, dur);
    blast_run r;
    long n = blast_exec_counting(&r, ini, so, 40);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert_eq(jnum(&r, "s", "requests", "failed"), 0, "the flow had failures: %s",
                 r.stderr_text);
    printf("flow malloc count run of %s: %.0f requests\n", dur, jnum(&r, "s", "requests", "ok"));
    blast_run_free(&r);
    return n;
}

Test(flows, no_allocation_per_request_in_a_full_flow, .timeout = 90)
{
    const char *so = getenv("MALLOC_COUNT_SO");
    if (!so || !*so)
        cr_skip_test("MALLOC_COUNT_SO not set (sanitizer builds have their own allocator)");
    target_start(&srv);
    long a = allocations(srv.port, "1s", so);
    long b = allocations(srv.port, "3s", so);
    printf("flow allocations: %ld (1 s), %ld (3 s)\n", a, b);
    cr_assert(a > 0, "the counter saw no allocation at all: is the preload working?");
    cr_assert_eq(a, b, "allocations grew with requests: %ld -> %ld", a, b);
}

Test(flows, long_values_and_requests_leave_the_slice, .timeout = 60)
{
    /* a VU's slice holds values up to 256 bytes and requests up to 1 KiB: a 3000-byte value
     * goes to its overflow area and the request that carries it to its overflow buffer */
    target_start(&srv);
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[scenario s]\nexecutor = per-vu-iterations\nvus = 3\niterations = 4\nflow = f\n"
             "[flow f]\nstep = fetch\nstep = use\nstep = small\n"
             "[step fetch]\npath = /bytes/3000\nextract = short = regex ^(.{100})\n"
             "extract = long = regex ^(.{3000})\n"
             "[step use]\npath = /\nheader = X-Long: {{ long }}\nheader = X-Short: {{ short }}\n"
             "check = status 200\n"
             "[step small]\npath = /?s={{ short }}\ncheck = status 200\n",
             srv.port);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    cr_expect_eq(iters(&r, "s", "completed"), 12);
    cr_expect_eq(jnum(&r, "s", "requests", "failed"), 0);
    json_t *steps = json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "s"),
                                    "steps");
    double use = json_number_value(json_object_get(
        json_object_get(json_object_get(steps, "use"), "bytes"), "sent"));
    double small = json_number_value(json_object_get(
        json_object_get(json_object_get(steps, "small"), "bytes"), "sent"));
    /* each "use" request carries both values whole: at least 3100 bytes of headers */
    cr_expect(use >= 12 * 3100, "%.0f bytes sent by 12 requests", use);
    cr_expect(small >= 12 * 100 && small < 12 * 1024, "%.0f bytes", small);
    blast_run_free(&r);
}

Test(flows, a_failed_extraction_step_leaves_no_stale_value, .timeout = 60)
{
    /* iteration 1 extracts token; in iteration 2 the extracting step times out: its value is
     * missing (not iteration 1's), so the step that needs it is skipped */
    target_start(&srv);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nrequest_timeout = 500ms\n"
             "[scenario s]\nexecutor = per-vu-iterations\nvus = 1\niterations = 2\nflow = f\n"
             "[flow f]\nstep = a\nstep = b\n"
             "[step a]\npath = /delay/{{ iter * 2000 }}\nextract = token = regex (ok)\n"
             "[step b]\npath = /b/{{ token }}\n",
             srv.port);
    /* two workers for one VU: the one without a VU must not hold the run to max_duration */
    const char *const two[] = {"--workers", "2", NULL};
    blast_run r;
    blast_exec(&r, ini, two, 0, 30);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    cr_expect(r.wall_s < 5, "%.2f s", r.wall_s);
    cr_expect_eq(step_req(&r, "s", "a", "ok"), 1);
    cr_expect_eq(step_req(&r, "s", "a", "failed"), 1, "the 2 s request timed out");
    cr_expect_eq(step_req(&r, "s", "b", "ok"), 1, "b was sent once, with iteration 1's token");
    cr_expect_eq(step_req(&r, "s", "b", "failed"), 1, "b of iteration 2 had no value");
    blast_run_free(&r);
}
