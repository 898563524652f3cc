/* Integration: the WebSocket metrics in every file output of one run against the bundled
 * target (two ws steps, one of whose replies the server drops every second one of, and a plain
 * HTTP step between them): the k6 summary, csv and ndjson read by Python's own json and csv
 * readers (tests/data/outputs/check_ws.py) agree with the JSON report, and the html page's ws
 * line says what the JSON says. (The hdrlog tag is checked in test_hdrlog.c, the Prometheus
 * families in test_prom.c.) */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static server srv;
static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/blast-it-wsout.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    target_start(&srv);
}

static void cleanup(void)
{
    server_stop(&srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* The flow: chat (4 echoed messages), plain (GET /), lossy (4 messages, every 2nd reply
 * dropped by the server: they time out). */
static const char *ws_ini(int port)
{
    static char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nduration = 20s\nbase_url = http://127.0.0.1:%d\n"
             /* judged per WebSocket step: the lossy step's failures are not chat's */
             "threshold = ws_message_failures{name:chat} rate < 1%%\n"
             "threshold = ws_message_failures{name:lossy} rate > 10%%\n\n"
             "[scenario s]\nexecutor = per-vu-iterations\nvus = 5\niterations = 2\n"
             "flow = both\n\n[flow both]\nstep = chat\nstep = plain\nstep = lossy\n\n"
             "[step chat]\npath = /api/v1/ws\nws_send = {\"id\":\"a{{ vu }}-{{ seq }}\"}\n"
             "ws_interval = 100ms\nws_messages = 4\nreply_timeout = 400ms\n"
             "ws_expect = correlate $.id\n\n"
             "[step plain]\npath = /\n\n"
             "[step lossy]\npath = /api/v1/ws?drop=2\nws_send = {\"id\":\"b{{ vu }}-{{ seq }}\"}\n"
             "ws_interval = 100ms\nws_messages = 4\nreply_timeout = 400ms\n"
             "ws_expect = correlate $.id\n",
             port);
    return ini;
}

/* An attribute's number in the first element that has it (-1 when missing). */
static double attr(const char *html, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *p = strstr(html, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

Test(ws_out, every_output_agrees_with_the_json, .init = setup, .fini = cleanup, .timeout = 90)
{
    char k6[160], csv[160], nd[160], html[160], json[160];
    snprintf(k6, sizeof k6, "k6-summary=%s/k6.json", dir);
    snprintf(csv, sizeof csv, "csv=%s/rows.csv", dir);
    snprintf(nd, sizeof nd, "ndjson=%s/rows.ndjson", dir);
    snprintf(html, sizeof html, "html=%s/run.html", dir);
    snprintf(json, sizeof json, "json=%s/run.json", dir);
    const char *extra[] = {"--out", k6, "--out", csv, "--out", nd, "--out", html, "--out", json,
                           NULL};
    blast_run r;
    blast_exec(&r, ws_ini(srv.port), extra, 0, 60);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert_not_null(r.json);
    json_t *sc = json_object_get(json_object_get(r.json, "scenarios"), "s");
    json_t *ws = json_object_get(sc, "ws");
    cr_assert_not_null(ws, "no ws object");
    double sent = json_number_value(json_object_get(ws, "ws_msgs_sent"));
    double timed_out = json_number_value(json_object_get(ws, "timed_out"));
    cr_assert_eq(sent, 80, "10 sessions of 4 messages in each of 2 steps");
    cr_assert(timed_out >= 10 && timed_out <= 20, "the dropped replies timed out: %.0f",
              timed_out);
    for (size_t k = 0; k < 2; k++) {
        json_t *t = json_array_get(json_object_get(r.json, "thresholds"), k);
        double obs = json_number_value(json_object_get(t, "observed"));
        cr_expect(json_is_true(json_object_get(t, "ok")), "%s: observed %.4f",
                  json_string_value(json_object_get(t, "expression")), obs);
        cr_expect_eq(json_number_value(json_object_get(t, "samples")), 40,
                     "one step's 40 messages");
        cr_expect(k == 0 ? obs == 0 : obs >= 0.25, "step %s failed rate %.4f", k ? "lossy" : "chat",
                  obs);
    }

    /* the k6 summary, csv and ndjson, read by Python */
    const char *py = getenv("BLAST_PYTHON") ? getenv("BLAST_PYTHON") : "/usr/bin/python3";
    const char *checks = getenv("OUTPUT_CHECKS") ? getenv("OUTPUT_CHECKS") : "tests/data/outputs";
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s %s/check_ws.py %s/run.json %s/k6.json %s/rows.csv %s/rows.ndjson s "
             ">%s/check.out 2>&1",
             py, checks, dir, dir, dir, dir, dir);
    int st = system(cmd);
    char out[1 << 14], path[160];
    snprintf(path, sizeof path, "%s/check.out", dir);
    read_text(path, out, sizeof out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "check_ws.py: %d\n%s", st, out);
    cr_expect(strstr(out, "ok k6 ws_message_failures.passes") != NULL, "%s", out);

    /* the html page's ws line */
    static char page[1 << 20];
    snprintf(path, sizeof path, "%s/run.html", dir);
    read_text(path, page, sizeof page);
    const char *line = strstr(page, "<p class=\"ws\"");
    cr_assert_not_null(line, "no ws line in the page");
    cr_expect_eq(attr(line, "data-sessions"),
                 json_number_value(json_object_get(ws, "ws_sessions")));
    cr_expect_eq(attr(line, "data-sent"), sent);
    cr_expect_eq(attr(line, "data-received"),
                 json_number_value(json_object_get(ws, "ws_msgs_received")));
    double dr = json_number_value(json_object_get(ws, "delivery_rate"));
    cr_expect(dr < 1 && attr(line, "data-delivery") > dr - 1e-6 &&
                  attr(line, "data-delivery") < dr + 1e-6,
              "delivery %.6f, the JSON %.6f", attr(line, "data-delivery"), dr);
    cr_expect(strstr(line, "message latency p50 ") != NULL, "%.300s", line);
    blast_run_free(&r);
}

/* A run without a WebSocket step: no ws metric in the k6 summary, no ws column, no ws line. */
Test(ws_out, none_without_a_ws_step, .init = setup, .fini = cleanup, .timeout = 60)
{
    char k6[160], csv[160], html[160];
    snprintf(k6, sizeof k6, "k6-summary=%s/k6.json", dir);
    snprintf(csv, sizeof csv, "csv=%s/rows.csv", dir);
    snprintf(html, sizeof html, "html=%s/run.html", dir);
    const char *extra[] = {"--out", k6, "--out", csv, "--out", html, NULL};
    blast_run r;
    blast_exec(&r, arrival_ini(srv.port, "/", "100/s", "1s", 4, NULL), extra, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    static char text[1 << 20];
    char path[160];
    const char *files[] = {"k6.json", "rows.csv", "run.html"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        read_text(path, text, sizeof text);
        cr_assert(strlen(text) > 100, "%s is empty", files[i]);
        cr_expect(strstr(text, "ws_") == NULL && strstr(text, "class=\"ws\"") == NULL,
                  "%s mentions ws: %.200s", files[i], strstr(text, "ws_"));
    }
    cr_expect(json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "s"), "ws") ==
                  NULL,
              "a ws object without a ws step");
    blast_run_free(&r);
}

/* A WebSocket step in an arrival-rate scenario: every arrival is a session, every message is
 * accounted for, and a windowed (`over`) ws threshold is judged on the live snapshots. */
Test(ws_out, arrival_rate_sessions_and_a_windowed_threshold, .init = setup, .fini = cleanup,
     .timeout = 60)
{
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "threshold = ws_msg_latency p(99) < 500ms over 2s\n"
             "[scenario chat]\nexecutor = constant-arrival-rate\nrate = 20/s\nduration = 3s\n"
             "max_vus = 50\nflow = f\n[flow f]\nstep = talk\n"
             "[step talk]\npath = /api/v1/ws\n"
             "ws_send = {\"id\":\"{{ vu }}-{{ rand(1, 1000000000) }}\"}\n"
             "ws_interval = 100ms\nws_messages = 3\nws_expect = correlate $.id\n",
             srv.port);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    json_t *sc = json_object_get(json_object_get(r.json, "scenarios"), "chat");
    json_t *it = json_object_get(sc, "iterations"), *ws = json_object_get(sc, "ws");
    double sched = json_number_value(json_object_get(it, "scheduled"));
    cr_expect_eq(sched, 60, "20/s for 3 s");
    cr_expect_eq(json_number_value(json_object_get(it, "completed")), sched);
    cr_expect_eq(json_number_value(json_object_get(ws, "ws_sessions")), sched);
    double sent = json_number_value(json_object_get(ws, "ws_msgs_sent"));
    cr_expect_eq(sent, 3 * sched);
    cr_expect_eq(json_number_value(json_object_get(ws, "replied")) +
                     json_number_value(json_object_get(ws, "timed_out")) +
                     json_number_value(json_object_get(ws, "cut")),
                 sent, "every sent message replied, timed out or cut");
    json_t *t = json_array_get(json_object_get(r.json, "thresholds"), 0);
    cr_expect(json_is_true(json_object_get(t, "ok")));
    cr_expect_gt(json_number_value(json_object_get(t, "samples")), 0, "the window saw messages");
    blast_run_free(&r);
}
