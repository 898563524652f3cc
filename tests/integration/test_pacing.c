/* Integration: how blast waits. Responses are timed by the kernel's arrival stamp, so an
 * arrival-rate worker sleeps through response arrivals until its next request is due; these
 * tests show that the stamps keep service times exact while it does, that long sends still
 * progress without waiting for the next due request, and that pacing_resolution batches sends
 * on its grid (late by at most the resolution, and said so in the lateness figures). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Every test here pre-connects all its connections and allows 5 s per request. */
static const char *pacing_ini(int port, const char *path, const char *rate, const char *dur,
                              int conns, const char *more)
{
    static char extra[512];
    snprintf(extra, sizeof(extra), "pre_connections = %d\nrequest_timeout = 5s\n%s", conns,
             more ? more : "");
    return arrival_ini(port, path, rate, dur, conns, extra);
}

static void print_times(const char *what, const blast_run *r)
{
    printf("%s: scheduled %.0f ok %.0f; lateness p50 %.3f p99 %.3f max %.3f ms; service min "
           "%.3f p50 %.3f p99 %.3f max %.3f ms\n",
           what, jnum(r, "s", "requests", "scheduled"), jnum(r, "s", "requests", "ok"),
           jnum(r, "s", "send_lateness_ms", "p50"), jnum(r, "s", "send_lateness_ms", "p99"),
           jnum(r, "s", "send_lateness_ms", "max"), jnum(r, "s", "service_time_ms", "min"),
           jnum(r, "s", "service_time_ms", "p50"), jnum(r, "s", "service_time_ms", "p99"),
           jnum(r, "s", "service_time_ms", "max"));
    fflush(stdout);
}

/* Every response comes 100 ms after its request, while requests are due every 50 ms: the worker
 * reads each response up to 50 ms after it arrived (at the next due request). Timed by when it
 * was read, service p50 would be ~125 ms; timed by the arrival stamp it is 100 ms and a bit. */
Test(pacing, service_time_from_arrival_stamp, .timeout = 60)
{
    server f;
    tool_start(&f, "faults", NULL);
    blast_run r;
    blast_exec(&r, pacing_ini(f.port, "/stall/100", "20/s", "2s", 10, NULL), NULL, 0, 30);
    server_stop(&f);
    print_times("20/s on /stall/100", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 40);
    cr_assert_geq(jnum(&r, "s", "service_time_ms", "min"), 99.0);
    cr_assert_lt(jnum(&r, "s", "service_time_ms", "p50"), 103.0,
                 "service time includes the wait until the response was read");
    cr_assert_lt(jnum(&r, "s", "service_time_ms", "max"), 140.0); /* the median is the measure */
    blast_run_free(&r);
}

/* A 16 MiB body twice a second to a server that answers when it has read it all: the send takes
 * several SENDs, each continuing the last. They must follow each other at once, not one per due
 * request (which would stretch each upload over seconds). */
Test(pacing, long_send_does_not_wait_for_the_next_due_request, .timeout = 60)
{
    char body[32];
    body_file(body, 16);
    char more[128];
    snprintf(more, sizeof(more), "method = POST\nbody = @%s\n", body);
    server f;
    tool_start(&f, "faults", NULL);
    blast_run r;
    blast_exec(&r, pacing_ini(f.port, "/upload", "2/s", "3s", 2, more), NULL, 0, 30);
    server_stop(&f);
    unlink(body);
    print_times("16 MiB POST at 2/s", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 6);
    cr_assert_geq(jnum(&r, "s", "bytes", "sent"), 6.0 * 16 * 1048576);
    cr_assert_lt(jnum(&r, "s", "service_time_ms", "max"), 80.0,
                 "the upload waited for due requests between its sends");
    blast_run_free(&r);
}

/* pacing_resolution = 5ms at 2,000/s: the worker wakes on a 5 ms grid and sends the ~10
 * requests due since. Lateness is then spread over 0..5 ms (median ~2.5 ms; exact pacing has
 * it near 0.05 ms), the count and the achieved rate stay exact, and latency, measured from the
 * intended start, includes the wait. */
Test(pacing, resolution_batches_on_its_grid, .timeout = 60)
{
    server t;
    target_start(&t);
    blast_run r;
    blast_exec(&r, pacing_ini(t.port, "/", "2000/s", "2s", 50, "pacing_resolution = 5ms\n"), NULL,
               0, 30);
    server_stop(&t);
    print_times("2000/s, pacing_resolution 5ms", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "scheduled"), 4000);
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 4000);
    double p50 = jnum(&r, "s", "send_lateness_ms", "p50");
    cr_assert(p50 > 1.5 && p50 < 4.0, "lateness p50 %.3f ms: not spread over the 5 ms grid", p50);
    cr_assert_lt(jnum(&r, "s", "send_lateness_ms", "p99"), 10.0);
    cr_assert_geq(jnum(&r, "s", "latency_ms", "p50"), p50, "latency must include the lateness");
    blast_run_free(&r);
}
