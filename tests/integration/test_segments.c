/* Integration: a run split over segments and merged back. One paced scenario (400 req/s for
 * 2 s on the bundled target) is run as --segment 1/4 .. 4/4 (2/4 as auto/4 with
 * JOB_COMPLETION_INDEX=1, as a Kubernetes Indexed Job sets it) and once whole; `blast merge`
 * of the four must hold exactly the whole schedule (the sum of the segments' requests and the
 * single run's scheduled count), histograms that are exactly the union of the segments' slots
 * (checked, p99 included, by Python from the files), and pass a threshold only the sum meets
 * (each segment alone fails it: exit 99). Foreign, duplicate and missing segments are exit 2. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static server srv;
static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/blast-it-seg.XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    target_start(&srv);
}

static void cleanup(void)
{
    if (srv.pid > 0)
        server_stop(&srv);
    char cmd[128];
    if (strncmp(dir, "/tmp/blast-it-seg.", 18) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_segments: could not remove %s\n", dir);
    }
}

static void write_ini(char *ini, size_t n)
{
    snprintf(ini, n, "%s/scenarios.ini", dir);
    FILE *f = fopen(ini, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "[global]\nbase_url = http://127.0.0.1:%d\nduration = 2s\n"
            "threshold = http_reqs count > 700\n\n"
            "[scenario s]\nexecutor = constant-arrival-rate\nrate = 400/s\nmax_vus = 20\n"
            "pre_connections = 4\nflow = work\n\n"
            "[step work]\npath = /seg/{{ seq }}\ncheck = \"ok\" status 200\n\n"
            /* each segment j always takes data row j (seq % 4): segment 4 only 500s, 100%
             * failed, the whole 25% */
            "[scenario f]\nexecutor = constant-arrival-rate\nrate = 40/s\nmax_vus = 8\n"
            "data = status.csv\npath = /status/{{ data.code }}\n"
            "threshold = http_req_failed rate < 30%%\n",
            srv.port);
    fclose(f);
    char csv[128];
    snprintf(csv, sizeof csv, "%s/status.csv", dir);
    f = fopen(csv, "w");
    cr_assert_not_null(f);
    fputs("code\n200\n200\n200\n500\n", f);
    fclose(f);
}

static json_t *load(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s", path, e.text);
    return j;
}

static double num(json_t *j, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(
        json_object_get(json_object_get(json_object_get(j, "scenarios"), "s"), a), b);
    if (c)
        v = json_object_get(v, c);
    cr_assert(json_is_number(v), "scenarios.s.%s.%s%s%s", a, b, c ? "." : "", c ? c : "");
    return json_number_value(v);
}

static void merge(proc_result *r, const char *const *args)
{
    const char *argv[24] = {blast_bin(), "merge"};
    int argc = 2;
    for (; *args && argc < 23; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    proc_run(r, dir, argv, PLAIN, 0, 20);
}

/* Python's reading of the files: the union of the segments' latency slots equals the merged
 * histogram's, and the p99 computed from it (hist_value_at's rule: the slot holding rank
 * ceil(0.99 n), its middle, clamped to [min, max]) is the merged JSON's. */
static const char check_py[] =
    "import json, math, sys\n"
    "segs = [json.load(open(p)) for p in sys.argv[2:]]\n"
    "tot = json.load(open(sys.argv[1]))\n"
    "for where in (('histograms', 'service_time'), ('histograms', 'latency')):\n"
    "    u = {}\n"
    "    mn, mx = None, None\n"
    "    for d in segs:\n"
    "        h = d['scenarios']['s']['steps']['work'][where[0]][where[1]]\n"
    "        for lo, c in h['slots']: u[lo] = u.get(lo, 0) + c\n"
    "        if h['count']:\n"
    "            mn = h['min'] if mn is None else min(mn, h['min'])\n"
    "            mx = h['max'] if mx is None else max(mx, h['max'])\n"
    "    m = tot['scenarios']['s']['steps']['work'][where[0]][where[1]]\n"
    "    assert sorted(u.items()) == [tuple(s) for s in m['slots']], where\n"
    "    assert (m['min'], m['max']) == (mn, mx), where\n"
    "n = sum(u.values())  # the latency's union (the loop's last)\n"
    "rank = max(1, math.ceil(0.99 * n)); seen = 0\n"
    "for lo in sorted(u):\n"
    "    seen += u[lo]\n"
    "    if seen >= rank: break\n"
    "b = max(0, (lo | 2047).bit_length() - 11)\n"
    "v = min(max(lo + ((1 << b) >> 1), mn), mx)\n"
    "p99 = tot['scenarios']['s']['latency_ms']['p99']\n"
    "assert '%.3f' % (v / 1e3) == '%.3f' % p99, (v, p99)\n"
    "print('p99', p99, 'from', n, 'values')\n"
    /* the merge's time series: one interval, the whole run, read by Python's csv and json */
    "import csv, os\n"
    "d = os.path.dirname(sys.argv[1])\n"
    "rows = list(csv.DictReader(open(os.path.join(d, 'total.csv'), newline='')))\n"
    "lines = [json.loads(l) for l in open(os.path.join(d, 'total.ndjson'))]\n"
    "for got in (rows, lines):\n"
    "    whole = [r for r in got if not r['step']]\n"
    "    assert sorted(r['scenario'] for r in whole) == ['f', 's'], whole\n"
    "    for r in whole:\n"
    "        sc = tot['scenarios'][r['scenario']]['requests']\n"
    "        assert int(r['requests']) == sc['ok'] + sc['failed'], (r, sc)\n"
    "        assert int(r['failed']) == sc['failed'], (r, sc)\n"
    "        assert abs(float(r['t_s']) - tot['duration_s']) < 0.01, (r, tot['duration_s'])\n"
    "print('series rows', len(rows), len(lines))\n";

Test(segments, four_segments_merge_exactly, .init = setup, .fini = cleanup, .timeout = 120)
{
    char ini[128], seg[4][128], out[4][600], whole[128], wout[160], total[128];
    write_ini(ini, sizeof ini);
    proc_result r;
    double sum_sched = 0, sum_ok = 0;
    for (int i = 0; i < 4; i++) {
        char s[16];
        snprintf(s, sizeof s, i == 1 ? "auto/4" : "%d/4", i + 1);
        snprintf(seg[i], sizeof seg[i], "%s/seg-%d.json", dir, i);
        snprintf(out[i], sizeof out[i], "json=%s", seg[i]);
        if (i == 1)
            setenv("JOB_COMPLETION_INDEX", "1", 1);
        const char *argv[] = {blast_bin(), "-c",      ini,     "--segment", s,   "-w",
                              "1",         "--quiet", "--out", out[i],      NULL};
        proc_run(&r, dir, argv, PLAIN, 0, 30);
        unsetenv("JOB_COMPLETION_INDEX");
        /* 200 requests each: the threshold (> 700) fails on every segment alone */
        cr_assert_eq(r.exit_code, 99, "segment %s: exit %d: %s", s, r.exit_code, r.err);
        json_t *j = load(seg[i]);
        json_t *sg = json_object_get(j, "segment");
        cr_expect_eq(json_integer_value(json_object_get(sg, "index")), i + 1);
        cr_expect_eq(json_integer_value(json_object_get(sg, "count")), 4);
        cr_expect_eq(num(j, "requests", "scheduled", NULL), 200, "a quarter of 800");
        /* scenario f's failed-rate threshold (the second): only segment 4 breaks it */
        json_t *thr = json_array_get(json_object_get(j, "thresholds"), 1);
        cr_expect_str_eq(json_string_value(json_object_get(thr, "expression")),
                         "http_req_failed rate < 30%");
        cr_expect_eq(json_is_true(json_object_get(thr, "ok")), i != 3,
                     "segment %d: http_req_failed rate %s", i + 1,
                     json_string_value(json_object_get(thr, "observed_text")));
        cr_expect(fabs(num(j, "rate", "target", NULL) - 100) < 1e-9, "target 400/4");
        sum_sched += num(j, "requests", "scheduled", NULL);
        sum_ok += num(j, "requests", "ok", NULL);
        json_decref(j);
    }
    snprintf(whole, sizeof whole, "%s/whole.json", dir);
    snprintf(wout, sizeof wout, "json=%s", whole);
    const char *wargv[] = {blast_bin(), "-c", ini, "-w", "2", "--quiet", "--out", wout, NULL};
    proc_run(&r, dir, wargv, PLAIN, 0, 30);
    cr_assert_eq(r.exit_code, 0, "whole run: exit %d: %s", r.exit_code, r.err);

    snprintf(total, sizeof total, "%s/total.json", dir);
    char tcsv[160], thlog[160];
    snprintf(tcsv, sizeof tcsv, "csv=%s/total.csv", dir);
    snprintf(thlog, sizeof thlog, "ndjson=%s/total.ndjson", dir);
    const char *margs[] = {seg[3], seg[0], seg[2], seg[1], "-c",  ini,   "-o",
                           total,  "--out", tcsv,  "--out", thlog, NULL};
    merge(&r, margs);
    cr_assert_eq(r.exit_code, 0, "merge: exit %d: %s%s", r.exit_code, r.out, r.err);
    cr_expect(strstr(r.out, "800 scheduled") != NULL, "the text summary: %s", r.out);
    json_t *t = load(total), *w = load(whole);
    cr_expect(json_is_null(json_object_get(t, "segment")));
    cr_expect_str_eq(json_string_value(json_object_get(t, "config_sha256")),
                     json_string_value(json_object_get(w, "config_sha256")));
    cr_expect(json_is_true(json_object_get(t, "passed")));
    cr_expect_eq(num(t, "requests", "scheduled", NULL), sum_sched, "the sum of the segments");
    cr_expect_eq(num(t, "requests", "ok", NULL), sum_ok);
    cr_expect_eq(num(t, "requests", "scheduled", NULL), num(w, "requests", "scheduled", NULL),
                 "the single run's schedule, exactly");
    cr_expect_eq(num(t, "requests", "scheduled", NULL), 800);
    cr_expect(fabs(num(t, "rate", "target", NULL) - 400) < 1e-9);
    cr_expect_eq(num(t, "histograms", "latency", "count"), sum_ok);
    /* the failed-rate threshold judged on the whole: 20 of 80 failed, 25% < 30% */
    json_t *thr = json_array_get(json_object_get(t, "thresholds"), 1);
    cr_expect(json_is_true(json_object_get(thr, "ok")), "merged: %s",
              json_string_value(json_object_get(thr, "observed_text")));
    cr_expect(fabs(json_number_value(json_object_get(thr, "observed")) - 0.25) < 1e-9,
              "merged failed rate %f", json_number_value(json_object_get(thr, "observed")));
    json_decref(t);
    json_decref(w);

    char py[256];
    snprintf(py, sizeof py, "%s/check.py", dir);
    FILE *f = fopen(py, "w");
    cr_assert_not_null(f);
    fputs(check_py, f);
    fclose(f);
    const char *pargv[] = {"/usr/bin/python3", py, total, seg[0], seg[1], seg[2], seg[3], NULL};
    proc_run(&r, dir, pargv, PLAIN, 0, 30);
    cr_expect_eq(r.exit_code, 0, "python: %s%s", r.out, r.err);

    /* what a merge refuses: exit 2 with the reason */
    static const struct {
        const char *why;
        int files; /* how many of seg[0..] */
        int dup;   /* seg[0] twice */
        const char *extra, *extra2;
    } bad[] = {
        {"but 3 files are given", 3, 0, NULL, NULL},
        {"is given twice", 4, 1, NULL, NULL},
        {"from a different run", 4, 0, "-r", "100/s"},
        {"a scrape endpoint lives as long as a run", 4, 0, "--out", "prometheus=0"},
        {"not a segment", 0, 0, "-c", NULL}, /* the whole run's file */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[16];
        int n = 0;
        for (int k = 0; k < bad[i].files; k++)
            args[n++] = seg[k];
        if (bad[i].dup)
            args[n - 1] = seg[0];
        if (bad[i].files == 0)
            args[n++] = whole;
        args[n++] = "-c";
        args[n++] = ini;
        if (bad[i].extra && bad[i].extra2) {
            args[n++] = bad[i].extra;
            args[n++] = bad[i].extra2;
        }
        args[n] = NULL;
        merge(&r, args);
        cr_expect_eq(r.exit_code, 2, "%s: exit %d: %s", bad[i].why, r.exit_code, r.err);
        cr_expect(strstr(r.err, bad[i].why) != NULL, "%s: %s", bad[i].why, r.err);
    }
}

Test(segments, bad_segment_options, .init = setup, .fini = cleanup, .timeout = 30)
{
    char ini[128];
    write_ini(ini, sizeof ini);
    static const struct {
        const char *opt, *val, *job, *why;
    } rows[] = {
        {"--segment", "5/4", NULL, "the index must be from 1 to 4"},
        {"--segment", "auto/4", NULL, "JOB_COMPLETION_INDEX is not set"},
        {"--segment", "auto/4", "4", "is not below 4"},
        {"--segment", "1/21", NULL, "max_vus 20 is fewer than the 21 segments"},
        {"--start-at", "2001-01-01T00:00:00Z", NULL, "at most an hour"},
        {"--start-at", "tomorrow", NULL, "expected Unix seconds"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].job)
            setenv("JOB_COMPLETION_INDEX", rows[i].job, 1);
        const char *argv[] = {blast_bin(), "-c", ini, rows[i].opt, rows[i].val, "--quiet", NULL};
        proc_result r;
        proc_run(&r, dir, argv, PLAIN, 0, 10);
        unsetenv("JOB_COMPLETION_INDEX");
        cr_expect_eq(r.exit_code, 2, "%s %s: exit %d", rows[i].opt, rows[i].val, r.exit_code);
        cr_expect(strstr(r.err, rows[i].why) != NULL, "%s %s: %s", rows[i].opt, rows[i].val, r.err);
    }
}

Test(segments, start_at_waits_for_the_time, .init = setup, .fini = cleanup, .timeout = 30)
{
    char ini[128], at[32];
    write_ini(ini, sizeof ini);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(at, sizeof at, "%lld", (long long)ts.tv_sec + 3);
    const char *argv[] = {blast_bin(), "-c", ini, "--start-at", at, "-d", "200ms", "--quiet", NULL};
    proc_result r;
    proc_run(&r, dir, argv, PLAIN, 0, 20);
    cr_expect(r.exit_code == 0 || r.exit_code == 99, "exit %d: %s", r.exit_code, r.err);
    cr_expect(r.wall_s >= 2.0, "started at the time given, not at once: %.2f s", r.wall_s);
}

/* {{ seq }} across segments, checked by a server: four segments of one heartbeat schedule
 * (400 arrivals, agent seq + 1) against one target, which counts the distinct agents it saw. */
Test(segments, seq_is_unique_across_segments, .init = setup, .fini = cleanup, .timeout = 120)
{
    char ini[128];
    snprintf(ini, sizeof ini, "%s/hb.ini", dir);
    FILE *f = fopen(ini, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "[global]\nbase_url = http://127.0.0.1:%d\nduration = 2s\n"
            "[scenario hb]\nexecutor = constant-arrival-rate\nrate = 200/s\nmax_vus = 20\n"
            "method = POST\npath = /api/v1/agents/ag-loadtest-{{ seq + 1 | %%05d }}/heartbeat\n"
            "header = Content-Type: application/json\n"
            "body = {\"hostname\":\"loadtest-{{ seq + 1 | %%05d }}.fleet.example.test\"}\n",
            srv.port);
    fclose(f);
    double sent = 0;
    for (int i = 0; i < 4; i++) {
        char s[16], out[160], json[128];
        snprintf(s, sizeof s, "%d/4", i + 1);
        snprintf(json, sizeof json, "%s/hb-%d.json", dir, i);
        snprintf(out, sizeof out, "json=%s", json);
        const char *argv[] = {blast_bin(), "-c", ini, "--segment", s, "--quiet", "--out", out, NULL};
        proc_result r;
        proc_run(&r, dir, argv, PLAIN, 0, 30);
        cr_assert_eq(r.exit_code, 0, "segment %s: exit %d: %s", s, r.exit_code, r.err);
        json_t *j = load(json);
        json_t *rq = json_object_get(
            json_object_get(json_object_get(json_object_get(j, "scenarios"), "hb"), "requests"),
            "ok");
        sent += json_number_value(rq);
        json_decref(j);
    }
    cr_assert_eq(sent, 400, "%.0f heartbeats ok", sent);
    json_t *st = target_stats(srv.port);
    cr_expect_eq(target_stat(st, "heartbeats"), 400);
    cr_expect_eq(target_stat(st, "heartbeat_agents"), 400, "every agent number exactly once");
    cr_expect_eq(target_stat(st, "heartbeat_bad_body"), 0);
    json_decref(st);
}

/* WebSocket sessions merge too: two segments of 8 sessions x 5 correlated echoes; the merged
 * `ws` objects (scenario and step) hold the sums, the message latency's count, min and max
 * are the segments' union, and a ws threshold is judged on the whole. */
Test(segments, websocket_sessions_merge, .init = setup, .fini = cleanup, .timeout = 60)
{
    char ini[128];
    snprintf(ini, sizeof ini, "%s/ws.ini", dir);
    FILE *f = fopen(ini, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "[global]\nbase_url = http://127.0.0.1:%d\n"
            "threshold = ws_message_failures rate < 1%%\n"
            "[scenario chat]\nexecutor = per-vu-iterations\nvus = 8\niterations = 1\nflow = f\n"
            "[flow f]\nstep = talk\n"
            "[step talk]\npath = /api/v1/ws\n"
            "ws_send = {\"id\":\"{{ vu }}-{{ rand(1, 1000000000) }}\",\"text\":\"hi\"}\n"
            "ws_interval = 100ms\nws_messages = 5\nws_expect = correlate $.id\n",
            srv.port);
    fclose(f);
    char seg[2][128], total[128];
    double sent = 0, lo = 1e18, hi = 0;
    for (int i = 0; i < 2; i++) {
        char s[16], out[300];
        snprintf(s, sizeof s, "%d/2", i + 1);
        snprintf(seg[i], sizeof seg[i], "%s/ws-%d.json", dir, i);
        snprintf(out, sizeof out, "json=%s", seg[i]);
        const char *argv[] = {blast_bin(), "-c", ini, "--segment", s, "--quiet", "--out", out, NULL};
        proc_result r;
        proc_run(&r, dir, argv, PLAIN, 0, 30);
        cr_assert_eq(r.exit_code, 0, "segment %s: exit %d: %s", s, r.exit_code, r.err);
        json_t *j = load(seg[i]);
        json_t *ws = json_object_get(json_object_get(json_object_get(j, "scenarios"), "chat"), "ws");
        sent += json_number_value(json_object_get(ws, "ws_msgs_sent"));
        json_t *ml = json_object_get(ws, "msg_latency_ms");
        double mn = json_number_value(json_object_get(ml, "min")),
               mx = json_number_value(json_object_get(ml, "max"));
        lo = mn < lo ? mn : lo;
        hi = mx > hi ? mx : hi;
        json_decref(j);
    }
    cr_assert_eq(sent, 40, "%.0f messages sent by the two segments", sent);
    snprintf(total, sizeof total, "%s/ws-total.json", dir);
    const char *margs[] = {seg[0], seg[1], "-c", ini, "-o", total, NULL};
    proc_result r;
    merge(&r, margs);
    cr_assert_eq(r.exit_code, 0, "merge: exit %d: %s%s", r.exit_code, r.out, r.err);
    json_t *t = load(total);
    json_t *sc = json_object_get(json_object_get(t, "scenarios"), "chat");
    json_t *wss[] = {json_object_get(sc, "ws"),
                     json_object_get(json_object_get(json_object_get(sc, "steps"), "talk"), "ws")};
    for (int k = 0; k < 2; k++) {
        json_t *ws = wss[k];
        cr_assert(json_is_object(ws), "no merged ws object (%s)", k ? "step" : "scenario");
        cr_expect_eq(json_number_value(json_object_get(ws, "ws_sessions")), 8);
        cr_expect_eq(json_number_value(json_object_get(ws, "ws_msgs_sent")), 40);
        cr_expect_eq(json_number_value(json_object_get(ws, "replied")), 40);
        cr_expect_eq(json_number_value(json_object_get(ws, "delivery_rate")), 1.0);
        json_t *ml = json_object_get(ws, "msg_latency_ms");
        cr_expect_eq(json_number_value(json_object_get(ml, "count")), 40);
        cr_expect_eq(json_number_value(json_object_get(ml, "min")), lo, "min: the segments'");
        cr_expect_eq(json_number_value(json_object_get(ml, "max")), hi, "max: the segments'");
    }
    json_t *thr = json_array_get(json_object_get(t, "thresholds"), 0);
    cr_expect(json_is_true(json_object_get(thr, "ok")));
    cr_expect_eq(json_number_value(json_object_get(thr, "samples")), 40,
                 "the ws threshold judged the merged messages");
    json_decref(t);
}
