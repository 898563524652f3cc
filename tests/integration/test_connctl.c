/* Integration: connection controls (keepalive = off, max_requests_per_conn, conn_lifetime)
 * against the bundled target on 127.0.0.1, which counts the connections it accepted and the
 * requests it answered (/admin/stats). For both executors and for a flow of several steps: the
 * target sees as many connections as the controls allow, every request is answered and ok, and
 * blast counts its own closes as recycled, never as closed by the server. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static server srv;

static void stop_all(void)
{
    server_stop(&srv);
}

TestSuite(connctl, .fini = stop_all);

typedef struct counts {
    double requests, connections;
} counts;

/* The target's requests (admin ones not counted) and accepted connections so far (the stats
 * request's own included). */
static counts target_counts(int port)
{
    json_t *j = target_stats(port);
    json_t *rq = json_object_get(j, "requests"), *cn = json_object_get(j, "connections");
    cr_assert(json_is_integer(rq) && json_is_integer(cn), "stats lack requests/connections");
    counts c = {(double)json_integer_value(rq), (double)json_integer_value(cn)};
    json_decref(j);
    return c;
}

/* What blast sent between two stats reads: the second read is one more connection. */
static counts sent_between(counts before, counts after)
{
    return (counts){after.requests - before.requests, after.connections - before.connections - 1};
}

/* Runs ini (a [global] with base_url and duration is put in front) against the target and
 * returns what the target saw of it; r holds blast's result. */
static counts run(blast_run *r, const char *what, const char *scenario)
{
    char ini[4096];
    snprintf(ini, sizeof ini, "[global]\nbase_url = http://127.0.0.1:%d\nworkers = 1\n%s", srv.port,
             scenario);
    counts before = target_counts(srv.port);
    blast_exec(r, ini, NULL, 0, 60);
    counts seen = sent_between(before, target_counts(srv.port));
    printf("%s: target saw %.0f requests on %.0f connections; blast: ok %.0f failed %.0f, "
           "conns opened %.0f recycled %.0f closed by server %.0f; latency mean %.3f ms, service "
           "mean %.3f ms\n",
           what, seen.requests, seen.connections, jnum(r, "s", "requests", "ok"),
           jnum(r, "s", "requests", "failed"), jnum(r, "s", "connections", "opened"),
           jnum(r, "s", "connections", "recycled"), jnum(r, "s", "connections", "closed_by_server"),
           jnum(r, "s", "latency_ms", "mean"), jnum(r, "s", "service_time_ms", "mean"));
    fflush(stdout);
    cr_assert_eq(r->exit_code, 0, "exit %d: %s", r->exit_code, r->stderr_text);
    assert_accounted(r, "s");
    cr_assert_eq(jnum(r, "s", "requests", "failed"), 0, "no request may fail");
    cr_assert_eq(jnum(r, "s", "requests", "dropped"), 0);
    cr_assert_eq(jnum(r, "s", "connections", "failed"), 0);
    cr_assert_eq(jnum(r, "s", "requests", "ok"), seen.requests,
                 "every request blast counts reached the target");
    cr_assert_eq(jnum(r, "s", "connections", "opened"), seen.connections);
    cr_assert_eq(jnum(r, "s", "connections", "closed_by_server"), 0,
                 "blast's own closes are not the server's");
    return seen;
}

/* keepalive = off, closed model: each request its own connection (the next one of the VU
 * opens a new one), and its connect is in its latency. */
Test(connctl, keepalive_off_constant_vus, .timeout = 90)
{
    target_start(&srv);
    blast_run r;
    counts seen = run(&r, "keepalive_off_constant_vus",
                      "duration = 1s\n[scenario s]\nexecutor = constant-vus\nvus = 2\n"
                      "keepalive = off\npath = /\n");
    double ok = jnum(&r, "s", "requests", "ok");
    cr_assert_geq(ok, 100, "only %.0f requests in 1 s", ok);
    cr_assert_eq(seen.connections, ok, "%.0f connections for %.0f requests", seen.connections, ok);
    cr_assert_eq(jnum(&r, "s", "connections", "recycled"), ok);
    cr_assert_eq(jnum(&r, "s", "connections", "max_open"), 2);
    cr_assert_gt(jnum(&r, "s", "latency_ms", "mean"), jnum(&r, "s", "service_time_ms", "mean"),
                 "the connect of each request is in its latency, not in its service time");
    blast_run_free(&r);
}

/* keepalive = off, open model, a flow of two steps (one templated) with think time between:
 * every request is its own connection; a VU goes back to the pool without one. */
Test(connctl, keepalive_off_flow_arrival_rate, .timeout = 90)
{
    target_start(&srv);
    blast_run r;
    counts seen = run(&r, "keepalive_off_flow_arrival_rate",
                      "duration = 2s\n[scenario s]\nexecutor = constant-arrival-rate\n"
                      "rate = 100/s\nmax_vus = 20\nkeepalive = off\nflow = f\n"
                      "[flow f]\nstep = a\nstep = b\n[step a]\npath = /a\nsleep = 5ms\n"
                      "[step b]\npath = /b/{{ iter }}\nheader = X-Vu: {{ vu }}\n");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 400);
    cr_assert_eq(jnum(&r, "s", "iterations", "completed"), 200);
    cr_assert_eq(jnum(&r, "s", "connections", "recycled"), 400, "one close per response");
    /* a connection opened for a queued arrival that another VU took may stay unused at the end */
    cr_assert(seen.connections >= 400 && seen.connections <= 400 + 20,
              "%.0f connections for 400 requests", seen.connections);
    blast_run_free(&r);
}

/* max_requests_per_conn = 5, open model: R requests need R/5 connections, plus at most one
 * partly used one per VU (and pre-connections never used). */
Test(connctl, max_requests_per_conn_arrival_rate, .timeout = 90)
{
    target_start(&srv);
    blast_run r;
    counts seen = run(&r, "max_requests_per_conn_arrival_rate",
                      "duration = 2s\n[scenario s]\nexecutor = constant-arrival-rate\n"
                      "rate = 500/s\nmax_vus = 20\nmax_requests_per_conn = 5\npath = /\n");
    double R = jnum(&r, "s", "requests", "ok");
    cr_assert_eq(R, 1000);
    cr_assert(seen.connections >= R / 5 && seen.connections <= R / 5 + 20,
              "%.0f connections for %.0f requests at 5 per connection (want %.0f..%.0f)",
              seen.connections, R, R / 5, R / 5 + 20);
    cr_assert_geq(jnum(&r, "s", "connections", "recycled"), R / 5 - 20);
    blast_run_free(&r);
}

/* max_requests_per_conn = 100, closed model at saturation. */
Test(connctl, max_requests_per_conn_constant_vus, .timeout = 90)
{
    target_start(&srv);
    blast_run r;
    counts seen = run(&r, "max_requests_per_conn_constant_vus",
                      "duration = 1s\n[scenario s]\nexecutor = constant-vus\nvus = 2\n"
                      "max_requests_per_conn = 100\npath = /\n");
    double R = jnum(&r, "s", "requests", "ok");
    cr_assert_geq(R, 1000, "only %.0f requests in 1 s", R);
    cr_assert(seen.connections >= R / 100 && seen.connections <= R / 100 + 2,
              "%.0f connections for %.0f requests at 100 per connection", seen.connections, R);
    blast_run_free(&r);
}

/* conn_lifetime = 200ms over 2 s, closed model at saturation: about 10 connections per VU, each
 * closed after the response that ends past its lifetime, none cut in flight. */
Test(connctl, conn_lifetime_constant_vus, .timeout = 90)
{
    target_start(&srv);
    blast_run r;
    counts seen = run(&r, "conn_lifetime_constant_vus",
                      "duration = 2s\nconn_lifetime = 200ms\n[scenario s]\n"
                      "executor = constant-vus\nvus = 2\npath = /\n");
    cr_assert_geq(jnum(&r, "s", "requests", "ok"), 1000);
    cr_assert(seen.connections >= 2 * 8 && seen.connections <= 2 * 13,
              "%.0f connections for 2 VUs over 2 s at 200 ms each", seen.connections);
    cr_assert_geq(jnum(&r, "s", "connections", "recycled"), 2 * 8);
    blast_run_free(&r);
}

/* conn_lifetime, open model with requests further apart than the lifetime: a connection that
 * outlived it while idle takes no new request, so each request gets a new connection (the first
 * one may still find its pre-connection young enough). */
Test(connctl, conn_lifetime_idle_connection_is_not_reused, .timeout = 90)
{
    target_start(&srv);
    blast_run r;
    counts seen = run(&r, "conn_lifetime_idle_connection_is_not_reused",
                      "duration = 2s\n[scenario s]\nexecutor = constant-arrival-rate\n"
                      "rate = 4/s\nmax_vus = 1\npre_connections = 1\nconn_lifetime = 100ms\n"
                      "path = /\n");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 8);
    cr_assert(seen.connections >= 8 && seen.connections <= 9,
              "%.0f connections for 8 requests 250 ms apart", seen.connections);
    cr_assert_geq(jnum(&r, "s", "connections", "recycled"), 7);
    blast_run_free(&r);
}
