/* Integration: blast against the bundled target server and nginx on 127.0.0.1, as real
 * processes. Rates and counts are the acceptance figures; each test prints what it
 * measured so a CI log shows the numbers, not just a verdict. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void print_latency(const char *what, const blast_run *r)
{
    printf("%s: scheduled %.0f ok %.0f failed %.0f dropped %.0f, achieved %.2f/s; "
           "corrected p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms; service p50 %.3f p99 %.3f ms\n",
           what, jnum(r, "s", "requests", "scheduled"), jnum(r, "s", "requests", "ok"),
           jnum(r, "s", "requests", "failed"), jnum(r, "s", "requests", "dropped"),
           jnum(r, "s", "rate", "achieved"), jnum(r, "s", "latency_ms", "p50"),
           jnum(r, "s", "latency_ms", "p99"), jnum(r, "s", "latency_ms", "p99.9"),
           jnum(r, "s", "latency_ms", "max"), jnum(r, "s", "service_time_ms", "p50"),
           jnum(r, "s", "service_time_ms", "p99"));
    fflush(stdout);
}

Test(engine, rate_10k_for_5s, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/", "10000/s", "5s", 200, NULL), NULL, 0, 40);
    server_stop(&t);
    print_latency("10k/s x 5s", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "scheduled"), 50000);
    cr_assert_eq(jnum(&r, "s", "requests", "failed"), 0);
    cr_assert_eq(jnum(&r, "s", "requests", "dropped"), 0);
    double achieved = jnum(&r, "s", "rate", "achieved");
    cr_assert(achieved > 9900 && achieved < 10100, "achieved %.1f req/s, want 10000 +-1%%",
              achieved);
    blast_run_free(&r);
}

Test(engine, rate_167_for_6s, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r,
               arrival_ini(t.port, "/api/v1/agents/ag-00001/heartbeat", "167/s", "6s", 50,
                           "method = POST\nheader = Content-Type: application/json\n"
                           "body = {\"version\":\"2.1.0\",\"os\":\"linux\"}\n"),
               NULL, 0, 40);
    server_stop(&t);
    print_latency("167/s x 6s", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    double n = jnum(&r, "s", "requests", "ok");
    cr_assert(n >= 992 && n <= 1012, "%.0f requests, want 1002 +-1%%", n);
    cr_assert_eq(jnum(&r, "s", "requests", "failed"), 0);
    blast_run_free(&r);
}

typedef struct stall_arg {
    int port;
    double after_s;
    int ms;
    int status;
} stall_arg;

static void *stall_later(void *p)
{
    stall_arg *a = p;
    usleep((useconds_t)(a->after_s * 1e6));
    char path[64];
    snprintf(path, sizeof(path), "/admin/stall/%d", a->ms);
    a->status = http_get(a->port, path);
    return NULL;
}

/* Coordinated omission: a 1 s server stall in the middle of a 6 s run at 2,000 req/s over 50
 * connections. Requests due during the stall wait (queued or in flight) and their latency from
 * the intended start must show it; the 50 requests actually in flight during the stall are too
 * few to move the service-time p99. */
Test(engine, coordinated_omission_stall, .timeout = 60)
{
    server t;
    target_start(&t);
    stall_arg a = {.port = t.port, .after_s = 2.5, .ms = 1000};
    pthread_t th;
    pthread_create(&th, NULL, stall_later, &a);
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/", "2000/s", "6s", 50, "pre_connections = 50\n"), NULL, 0,
               40);
    pthread_join(th, NULL);
    server_stop(&t);
    print_latency("2000/s x 6s, 1 s stall", &r);
    cr_assert_eq(a.status, 200, "stall control answered %d", a.status);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "scheduled"), 12000);
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 12000, "nothing may be lost");
    double p99 = jnum(&r, "s", "latency_ms", "p99");
    double max = jnum(&r, "s", "latency_ms", "max");
    double sp99 = jnum(&r, "s", "service_time_ms", "p99");
    cr_assert(p99 >= 500, "corrected p99 %.1f ms, want >= 500 ms", p99);
    cr_assert(max >= 900 && max < 1500, "corrected max %.1f ms, want about 1000 ms", max);
    cr_assert(sp99 < 50, "uncorrected p99 %.1f ms, want < 50 ms", sp99);
    blast_run_free(&r);
}

/* Without a stall, corrected minus uncorrected p50 is blast's own pacing error. */
Test(engine, measurement_error_without_stall, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/", "2000/s", "5s", 50, NULL), NULL, 0, 40);
    server_stop(&t);
    print_latency("2000/s x 5s, no stall", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    double diff = jnum(&r, "s", "latency_ms", "p50") - jnum(&r, "s", "service_time_ms", "p50");
    printf("corrected p50 - uncorrected p50 = %.3f ms; send lateness p50 %.3f p99 %.3f ms\n", diff,
           jnum(&r, "s", "send_lateness_ms", "p50"), jnum(&r, "s", "send_lateness_ms", "p99"));
    cr_assert(diff >= 0 && diff < 0.5, "measurement error %.3f ms, want < 0.5 ms", diff);
    blast_run_free(&r);
}

/* The server closes after every response: each request gets a fresh connection, none fails. */
Test(engine, server_closes_every_response, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/close", "1000/s", "3s", 50, NULL), NULL, 0, 40);
    server_stop(&t);
    print_latency("/close 1000/s x 3s", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    double ok = jnum(&r, "s", "requests", "ok");
    cr_assert_eq(ok, 3000);
    cr_assert_eq(jnum(&r, "s", "requests", "failed"), 0);
    double closed = jnum(&r, "s", "connections", "closed_by_server");
    cr_assert(closed >= ok - 1, "closed by server %.0f, want one per response (%.0f)", closed, ok);
    cr_assert(jnum(&r, "s", "connections", "opened") >= ok);
    blast_run_free(&r);
}

/* Nothing listening: every request is a connect failure, and the exit code says so. */
Test(engine, nothing_listening, .timeout = 60)
{
    int port = free_port();
    blast_run r;
    blast_exec(&r, arrival_ini(port, "/", "500/s", "2s", 20, NULL), NULL, 0, 40);
    cr_assert_eq(r.exit_code, 4, "exit %d, want 4 (no request succeeded): %s", r.exit_code,
                 r.stderr_text);
    assert_accounted(&r, "s");
    double sched = jnum(&r, "s", "requests", "scheduled");
    cr_assert_eq(sched, 1000);
    cr_assert_eq(jnum(&r, "s", "failures", "connect"), sched);
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 0);
    blast_run_free(&r);
}

Test(engine, nginx_5000_per_s, .timeout = 60)
{
    server n;
    if (!nginx_start(&n))
        cr_skip_test("nginx not installed");
    blast_run r;
    blast_exec(&r, arrival_ini(n.port, "/", "5000/s", "3s", 100, NULL), NULL, 0, 40);
    server_stop(&n);
    print_latency("nginx 5000/s x 3s", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 15000);
    double achieved = jnum(&r, "s", "rate", "achieved");
    cr_assert(achieved > 4950 && achieved < 5050, "achieved %.1f", achieved);
    blast_run_free(&r);
}

Test(engine, constant_vus_nginx, .timeout = 60)
{
    server n;
    if (!nginx_start(&n))
        cr_skip_test("nginx not installed");
    char ini[256];
    snprintf(ini, sizeof(ini),
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 2s\n\n"
             "[scenario s]\nexecutor = constant-vus\nvus = 8\npath = /\n",
             n.port);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 40);
    server_stop(&n);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    double ok = jnum(&r, "s", "requests", "ok");
    printf("constant-vus 8 x 2s against nginx: %.0f ok (%.0f req/s)\n", ok, ok / 2);
    cr_assert(ok > 1000, "only %.0f requests in 2 s", ok);
    cr_assert_eq(jnum(&r, "s", "requests", "failed"), 0);
    cr_assert_eq(jnum(&r, "s", "connections", "opened"), 8);
    blast_run_free(&r);
}

/* One connection, a slow endpoint, a small queue: the excess is dropped and counted. */
Test(engine, queue_bound_drops, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/delay/100", "200/s", "2s", 1, "max_queue = 10\n"), NULL, 0,
               40);
    server_stop(&t);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    double dropped = jnum(&r, "s", "requests", "dropped");
    double ok = jnum(&r, "s", "requests", "ok");
    printf("queue bound: %.0f ok, %.0f dropped of 400\n", ok, dropped);
    cr_assert_eq(jnum(&r, "s", "requests", "scheduled"), 400);
    cr_assert(dropped > 300, "dropped %.0f", dropped);
    cr_assert(ok >= 15 && ok <= 45, "ok %.0f (one connection, 100 ms each, ~2-3 s)", ok);
    blast_run_free(&r);
}

Test(engine, request_timeout, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r,
               arrival_ini(t.port, "/delay/2000", "20/s", "1s", 50, "request_timeout = 300ms\n"),
               NULL, 0, 40);
    server_stop(&t);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "failures", "timeout"), 20);
    cr_assert_eq(r.exit_code, 4, "exit %d", r.exit_code);
    cr_assert(r.wall_s < 5, "took %.1f s", r.wall_s);
    blast_run_free(&r);
}

Test(engine, status_failures_classified, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/status/503", "100/s", "1s", 10, NULL), NULL, 0, 40);
    server_stop(&t);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "failures", "status"), 100);
    cr_assert_eq(jnum(&r, "s", "latency_ms", "count"), 100, "failed responses still timed");
    blast_run_free(&r);
}

Test(engine, chunked_and_large_bodies, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/chunked/100000", "200/s", "1s", 20, NULL), NULL, 0, 40);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 200);
    cr_assert(jnum(&r, "s", "bytes", "received") > 200.0 * 100000);
    blast_run_free(&r);
    blast_exec(&r, arrival_ini(t.port, "/bytes/1000000", "50/s", "1s", 20, NULL), NULL, 0, 40);
    server_stop(&t);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 50);
    cr_assert(jnum(&r, "s", "bytes", "received") > 50.0 * 1000000);
    blast_run_free(&r);
}

/* Ctrl-C: stops starting requests, reports, totals add up, exit 130. */
Test(engine, interrupt_reports_and_adds_up, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/", "1000/s", "30s", 20, NULL), NULL, 1.0, 40);
    server_stop(&t);
    cr_assert_eq(r.exit_code, 130, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert(r.wall_s < 5, "took %.1f s after Ctrl-C at 1 s", r.wall_s);
    assert_accounted(&r, "s");
    double sched = jnum(&r, "s", "requests", "scheduled");
    cr_assert(sched > 500 && sched < 2000, "scheduled %.0f in ~1 s at 1000/s", sched);
    cr_assert(json_is_true(json_object_get(r.json, "interrupted")));
    blast_run_free(&r);
}

Test(cli, config_error_exit_code)
{
    blast_run r;
    blast_exec(&r,
               "[global]\nbase_url = http://127.0.0.1:1\nduration = 1s\n\n"
               "[scenario s]\nexecutor = constant-arrival-rate\nrate = 10/s\nthreshhold = x\n",
               NULL, 0, 10);
    cr_assert_eq(r.exit_code, 2, "exit %d", r.exit_code);
    cr_assert(strstr(r.stderr_text, ":8:") != NULL, "no file:line in: %s", r.stderr_text);
    cr_assert(strstr(r.stderr_text, "threshhold") != NULL, "key not named: %s", r.stderr_text);
    cr_assert_null(r.json, "no load, no result");
    blast_run_free(&r);
}

Test(cli, unresolvable_host_exit_code)
{
    blast_run r;
    blast_exec(&r,
               "[global]\nbase_url = http://no-such-host.invalid:8080\nduration = 1s\n\n"
               "[scenario s]\nexecutor = constant-arrival-rate\nrate = 10/s\n",
               NULL, 0, 30);
    cr_assert_eq(r.exit_code, 3, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert(strstr(r.stderr_text, "no-such-host.invalid") != NULL, "%s", r.stderr_text);
    blast_run_free(&r);
}

static long malloc_count_of_run(int port, const char *dur, const char *so)
{
    blast_run r;
    long n = blast_exec_counting(&r, arrival_ini(port, "/", "2000/s", dur, 50, NULL), so, 40);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert_eq(jnum(&r, "s", "requests", "failed"), 0);
    blast_run_free(&r);
    return n;
}

/* No allocation per request: a run with 3x the requests makes the same number of allocations. */
Test(engine, no_allocation_per_request, .timeout = 60)
{
    const char *so = getenv("MALLOC_COUNT_SO");
    if (!so || !*so)
        cr_skip_test("MALLOC_COUNT_SO not set (sanitizer builds have their own allocator)");
    server t;
    target_start(&t);
    long a = malloc_count_of_run(t.port, "1s", so);
    long b = malloc_count_of_run(t.port, "3s", so);
    server_stop(&t);
    printf("allocations: %ld for 2,000 requests, %ld for 6,000 requests\n", a, b);
    cr_assert(a > 0, "the counter saw no allocation at all: is the preload working?");
    cr_assert_eq(a, b, "allocations grew with requests: %ld -> %ld", a, b);
}

/* A worker that wakes up late near the end (stopped for 300 ms from 1.9 s of a 2 s run) still
 * starts every request that fell due before the end: late, and its latency shows it. */
Test(engine, late_wakeup_at_the_end_loses_nothing, .timeout = 60)
{
    server t;
    target_start(&t);
    harness_pause_at_s = 1.9;
    harness_pause_for_s = 0.3;
    blast_run r;
    blast_exec(&r, arrival_ini(t.port, "/", "5000/s", "2s", 50, NULL), NULL, 0, 40);
    server_stop(&t);
    print_latency("5000/s x 2s, paused 300 ms at 1.9 s", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "scheduled"), 10000);
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 10000);
    cr_assert(jnum(&r, "s", "send_lateness_ms", "max") >= 100, "the pause must show as lateness");
    blast_run_free(&r);
}
