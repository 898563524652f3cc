/* Integration: blast against a misbehaving server (build/blast-faults, issue 5). Each case points
 * blast at one fault for about a second at a few hundred to 2,000 req/s and asserts what a
 * load generator owes its user whatever the server does: it exits normally (0, or 4 when not one
 * request succeeded; never a signal), writes its JSON, every scheduled request is accounted for
 * (scheduled == ok + failed + dropped, failed == the sum of the classes), and the requests fail
 * with the class the README defines for that fault. Every case prints its counts.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const classes[] = {"connect", "timeout", "reset", "tls",
                                      "parse",   "status",  "check"};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

/* One fault: blast runs `rate` for 1 s at path; every request must end as `expect` (a failure
 * class, or "ok"). request_timeout is 500 ms everywhere, so the stalling faults end fast. */
typedef struct fault_case {
    const char *name;
    const char *path;
    const char *rate;
    int max_connections;
    const char *expect;
    const char *more;      /* extra [scenario] lines */
    double min_service_ms; /* service time p50 at least this (slow but in time) */
} fault_case;

static const fault_case cases[] = {
    {"stall", "/stall/2000", "200/s", 200, "timeout", NULL, 0},
    {"stall_in_time", "/stall/100", "200/s", 100, "ok", NULL, 100},
    {"reset_head", "/reset-head", "2000/s", 100, "reset", NULL, 0},
    {"reset_body", "/reset-body", "2000/s", 100, "reset", NULL, 0},
    {"close_before", "/close-before", "2000/s", 100, "reset", NULL, 0},
    {"garbage", "/garbage", "2000/s", 100, "parse", NULL, 0},
    {"bad_headers", "/bad-headers", "2000/s", 100, "parse", NULL, 0},
    /* HTTP1_MAX_HEAD is 64 KiB: a 1 MiB header line and 10,000 headers (225 KiB) exceed it. */
    {"huge_header", "/huge-header", "300/s", 100, "parse", NULL, 0},
    {"many_headers", "/many-headers", "500/s", 100, "parse", NULL, 0},
    {"short_body", "/short-body", "2000/s", 100, "reset", NULL, 0},
    {"cl_te", "/cl-te", "2000/s", 100, "parse", NULL, 0},
    {"bad_chunk_hex", "/bad-chunk-hex", "2000/s", 100, "parse", NULL, 0},
    {"chunk_overflow", "/chunk-overflow", "2000/s", 100, "parse", NULL, 0},
    /* 50 bytes at one per 100 ms: 5 s per response, against a 500 ms request timeout. */
    {"trickle", "/trickle", "200/s", 200, "timeout", NULL, 0},
    /* 3 bytes: the last one 200 ms after the first, inside the timeout. */
    {"trickle_in_time", "/trickle/3", "200/s", 100, "ok", NULL, 200},
    {"http10", "/http10", "2000/s", 100, "ok", NULL, 0},
    {"http10_eof", "/http10-eof", "2000/s", 100, "ok", NULL, 0},
    {"continue", "/continue", "2000/s", 100, "ok", NULL, 0},
};

static const fault_case *find_case(const char *name)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    cr_assert_fail("no fault case %s", name);
    return NULL;
}

static char ini[4096];

static const char *fault_ini_scheme(const char *scheme, int port, const fault_case *fc)
{
    snprintf(ini, sizeof(ini),
             "[global]\nbase_url = %s://127.0.0.1:%d\nduration = 1s\n"
             "request_timeout = 500ms\nconnect_timeout = 2s\ngraceful_stop = 3s\n\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = %s\n"
             "max_connections = %d\npath = %s\n%s",
             scheme, port, fc->rate, fc->max_connections, fc->path, fc->more ? fc->more : "");
    return ini;
}

static const char *fault_ini(int port, const fault_case *fc)
{
    return fault_ini_scheme("http", port, fc);
}

/* One line per case for the CI log. Call only with JSON present. */
static void print_counts(const char *what, const blast_run *r)
{
    printf("fault %-15s exit %d, %.2f s: scheduled %.0f ok %.0f failed %.0f dropped %.0f [", what,
           r->exit_code, r->wall_s, jnum(r, "s", "requests", "scheduled"),
           jnum(r, "s", "requests", "ok"), jnum(r, "s", "requests", "failed"),
           jnum(r, "s", "requests", "dropped"));
    for (size_t i = 0; i < NCLASSES; i++) {
        double n = jnum(r, "s", "failures", classes[i]);
        if (n > 0)
            printf(" %s %.0f", classes[i], n);
    }
    printf(" ] conns opened %.0f closed_by_server %.0f failed %.0f\n",
           jnum(r, "s", "connections", "opened"), jnum(r, "s", "connections", "closed_by_server"),
           jnum(r, "s", "connections", "failed"));
    fflush(stdout);
}

/* What holds whatever the server did: a normal exit, JSON, totals that add up, and the exit code
 * the README documents (4 exactly when not one request succeeded). */
static void assert_sane(const char *what, const blast_run *r)
{
    cr_assert(r->exit_code < 128, "%s: blast died of signal %d: %s", what, r->exit_code - 128,
              r->stderr_text);
    cr_assert_not_null(r->json, "%s: no JSON (exit %d): %s", what, r->exit_code, r->stderr_text);
    print_counts(what, r);
    assert_accounted(r, "s");
    double ok = jnum(r, "s", "requests", "ok");
    cr_assert_eq(r->exit_code, ok > 0 ? 0 : 4, "%s: exit %d with %.0f ok (want %d): %s", what,
                 r->exit_code, ok, ok > 0 ? 0 : 4, r->stderr_text);
}

/* Every scheduled request ended as `expect`, nothing was dropped. */
static void assert_all(const char *what, const blast_run *r, const char *expect)
{
    double sched = jnum(r, "s", "requests", "scheduled");
    cr_assert(sched > 0, "%s: nothing scheduled", what);
    cr_assert_eq(jnum(r, "s", "requests", "dropped"), 0, "%s: requests dropped", what);
    if (strcmp(expect, "ok") == 0) {
        cr_assert_eq(jnum(r, "s", "requests", "ok"), sched, "%s: %.0f of %.0f ok, want all", what,
                     jnum(r, "s", "requests", "ok"), sched);
        return;
    }
    double n = jnum(r, "s", "failures", expect);
    cr_assert_eq(n, sched, "%s: %.0f of %.0f requests failed as %s, want all", what, n, sched,
                 expect);
}

static void run_case(const char *name)
{
    const fault_case *fc = find_case(name);
    server f;
    tool_start(&f, "faults", NULL);
    blast_run r;
    blast_exec(&r, fault_ini(f.port, fc), NULL, 0, 30);
    /* The fault server itself must have survived its own faults. */
    int alive = http_get(f.port, "/");
    server_stop(&f);
    assert_sane(fc->path, &r);
    assert_all(fc->path, &r, fc->expect);
    cr_assert_eq(alive, 200, "blast-faults stopped answering after %s", fc->path);
    /* Timeouts end within request_timeout (+ a scan period) after the last start. */
    cr_assert(r.wall_s < 6, "%s: took %.1f s for a 1 s run", fc->path, r.wall_s);
    double sp50 = jnum(&r, "s", "service_time_ms", "p50");
    cr_assert(sp50 >= fc->min_service_ms, "%s: service p50 %.1f ms, want >= %.0f ms", fc->path,
              sp50, fc->min_service_ms);
    if (strcmp(name, "http10") == 0 || strcmp(name, "http10_eof") == 0) {
        /* Every HTTP/1.0 response ends its connection: each request needs a new one. */
        double ok = jnum(&r, "s", "requests", "ok");
        double closed = jnum(&r, "s", "connections", "closed_by_server");
        cr_assert(closed >= ok - 1, "%s: closed by server %.0f, want one per response (%.0f)",
                  fc->path, closed, ok);
        cr_assert(jnum(&r, "s", "connections", "opened") >= ok);
    }
    blast_run_free(&r);
}

Test(faults, stall, .timeout = 60)
{
    run_case("stall");
}
Test(faults, stall_in_time, .timeout = 60)
{
    run_case("stall_in_time");
}
Test(faults, reset_head, .timeout = 60)
{
    run_case("reset_head");
}
Test(faults, reset_body, .timeout = 60)
{
    run_case("reset_body");
}
Test(faults, close_before, .timeout = 60)
{
    run_case("close_before");
}
Test(faults, garbage, .timeout = 60)
{
    run_case("garbage");
}
Test(faults, bad_headers, .timeout = 60)
{
    run_case("bad_headers");
}
Test(faults, huge_header, .timeout = 60)
{
    run_case("huge_header");
}
Test(faults, many_headers, .timeout = 60)
{
    run_case("many_headers");
}
Test(faults, short_body, .timeout = 60)
{
    run_case("short_body");
}
Test(faults, cl_te, .timeout = 60)
{
    run_case("cl_te");
}
Test(faults, bad_chunk_hex, .timeout = 60)
{
    run_case("bad_chunk_hex");
}
Test(faults, chunk_overflow, .timeout = 60)
{
    run_case("chunk_overflow");
}
Test(faults, trickle, .timeout = 60)
{
    run_case("trickle");
}
Test(faults, trickle_in_time, .timeout = 60)
{
    run_case("trickle_in_time");
}
Test(faults, http10, .timeout = 60)
{
    run_case("http10");
}
Test(faults, http10_eof, .timeout = 60)
{
    run_case("http10_eof");
}
Test(faults, continue_100, .timeout = 60)
{
    run_case("continue");
}

/* Nothing listening: every request is a connect failure. */
Test(faults, refused, .timeout = 60)
{
    fault_case fc = {"refused", "/", "500/s", 50, "connect", NULL, 0};
    blast_run r;
    blast_exec(&r, fault_ini(free_port(), &fc), NULL, 0, 30);
    assert_sane("refused", &r);
    assert_all("refused", &r, "connect");
    blast_run_free(&r);
}

/* The server never reads: an 8 MiB body fills the socket buffers and the send cannot finish.
 * The request must time out (or be reset) and blast must not hang on the blocked send. Kept at
 * 20 req/s: each stuck connection pins megabytes of kernel buffers. */
Test(faults, no_read, .timeout = 60)
{
    char body[32];
    body_file(body, 8);
    char more[128];
    snprintf(more, sizeof(more), "method = POST\nbody = @%s\n", body);
    fault_case fc = {"no_read", "/no-read", "20/s", 40, "timeout", more, 0};
    server f;
    tool_start(&f, "faults", NULL);
    blast_run r;
    blast_exec(&r, fault_ini(f.port, &fc), NULL, 0, 30);
    int alive = http_get(f.port, "/");
    server_stop(&f);
    unlink(body);
    assert_sane("/no-read", &r);
    double sched = jnum(&r, "s", "requests", "scheduled");
    double timeout = jnum(&r, "s", "failures", "timeout");
    double reset = jnum(&r, "s", "failures", "reset");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 0);
    cr_assert_eq(timeout + reset, sched, "/no-read: %.0f timeout + %.0f reset of %.0f", timeout,
                 reset, sched);
    cr_assert(timeout >= reset, "/no-read: want mostly timeouts, got %.0f timeout %.0f reset",
              timeout, reset);
    cr_assert(jnum(&r, "s", "bytes", "sent") > 1e6, "the body was not being sent");
    cr_assert(r.wall_s < 6, "/no-read: took %.1f s for a 1 s run", r.wall_s);
    cr_assert_eq(alive, 200, "blast-faults stopped answering after /no-read");
    blast_run_free(&r);
}

/* The server writes a 503 on every connection the moment it accepts it, before any request, and
 * then answers requests with 200. Bytes on an idle connection belong to no request: blast must
 * drop that connection, not hand the next request a stale answer, and never parse the stream out
 * of step. What a request sent right after connecting sees is a race the client cannot see
 * (the 503 may be on the wire before the request leaves): ok or status, nothing else. */
Test(faults, unsolicited, .timeout = 60)
{
    static const char *const args[] = {"--unsolicited", NULL};
    fault_case fc = {"unsolicited", "/", "200/s", 50, "ok", "pre_connections = 10\n", 0};
    server f;
    tool_start(&f, "faults", args);
    blast_run r;
    blast_exec(&r, fault_ini(f.port, &fc), NULL, 0, 30);
    server_stop(&f);
    assert_sane("unsolicited", &r);
    double sched = jnum(&r, "s", "requests", "scheduled");
    double ok = jnum(&r, "s", "requests", "ok");
    double status = jnum(&r, "s", "failures", "status");
    cr_assert_eq(jnum(&r, "s", "requests", "dropped"), 0);
    cr_assert_eq(ok + status, sched, "unsolicited: %.0f ok + %.0f status of %.0f", ok, status,
                 sched);
    /* The 10 pre-connections got their 503 while idle: they cannot have been used. */
    cr_assert(jnum(&r, "s", "connections", "opened") >= 10 + sched / 2,
              "unsolicited: %.0f connections for %.0f requests: stale connections reused?",
              jnum(&r, "s", "connections", "opened"), sched);
    blast_run_free(&r);
}

/* An https:// target whose server answers the ClientHello with bytes that are not TLS, then says
 * nothing more (the connection stays open): every request fails as tls, on the bytes alone,
 * before the request timeout. */
Test(faults, tls_garbage, .timeout = 60)
{
    static const char *const args[] = {"--tls-garbage", NULL};
    fault_case fc = {
        "tls_garbage", "/", "500/s", 100, "tls", "insecure_skip_tls_verify = true\n", 0};
    server f;
    tool_start(&f, "faults", args);
    blast_run r;
    blast_exec(&r, fault_ini_scheme("https", f.port, &fc), NULL, 0, 30);
    server_stop(&f);
    assert_sane("tls_garbage", &r);
    assert_all("tls_garbage", &r, "tls");
    cr_assert(r.wall_s < 3, "tls_garbage: took %.1f s: did blast wait for a timeout?", r.wall_s);
    blast_run_free(&r);
}
