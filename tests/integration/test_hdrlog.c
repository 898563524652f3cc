/* Integration: the hdrlog time series of a real 3 s run against the bundled target, read by
 * HdrHistogram's own HistogramLogProcessor (Java, Debian's libhdrhistogram-java), not by blast:
 * per tag, the count over all intervals equals the JSON's, the max matches the JSON's within
 * the histogram's precision, and the p99 of the accumulated intervals is the JSON's within 1%
 * (plus a slot); a WebSocket step's SCENARIO.STEP.ws_msg_latency tag agrees with its
 * steps.STEP.ws.msg_latency_ms in the same way. Skipped only when java or the jar is missing
 * (make deps installs both). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define JAR "/usr/share/java/hdrhistogram.jar"

static server srv;

static void stop_all(void)
{
    server_stop(&srv);
}

TestSuite(hdrlog, .fini = stop_all);

/* What HistogramLogProcessor says about one tag. */
typedef struct processed {
    double max_ms;
    long count;
    double p99_ms;          /* the last line's "T:" (all intervals so far) 99% column */
    double below_ms, at_ms; /* the .hgrm lines on either side of percentile 0.99 */
} processed;

static void process(const char *dir, const char *tag, processed *p)
{
    char cmd[512], path[160], text[1 << 16];
    snprintf(cmd, sizeof cmd,
             "java -cp " JAR " org.HdrHistogram.HistogramLogProcessor -i %s/r.hlog -tag %s "
             "-o %s/%s >%s/%s.err 2>&1",
             dir, tag, dir, tag, dir, tag);
    int st = system(cmd);
    snprintf(path, sizeof path, "%s/%s.err", dir, tag);
    read_text(path, text, sizeof text);
    cr_assert_eq(st, 0, "HistogramLogProcessor failed for %s: %s", tag, text);

    memset(p, 0, sizeof *p);
    p->count = -1;
    snprintf(path, sizeof path, "%s/%s.hgrm", dir, tag);
    read_text(path, text, sizeof text);
    const char *m = strstr(text, "#[Max");
    cr_assert_not_null(m, "%s: no footer in the .hgrm file:\n%s", tag, text);
    cr_assert_eq(sscanf(m, "#[Max = %lf, Total count = %ld]", &p->max_ms, &p->count), 2,
                 "%s: footer %.80s", tag, m);
    bool below = false, at = false;
    for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        double v, pct;
        long n;
        if (sscanf(l, " %lf %lf %ld", &v, &pct, &n) != 3)
            continue;
        if (pct < 0.99) {
            p->below_ms = v;
            below = true;
        } else if (!at) {
            p->at_ms = v;
            at = true;
        }
    }
    cr_assert(below && at, "%s: no percentile lines around 0.99:\n%s", tag, text);

    snprintf(path, sizeof path, "%s/%s", dir, tag);
    read_text(path, text, sizeof text);
    const char *t = NULL;
    for (const char *s = text; (s = strstr(s, " T:")); s++)
        t = s;
    cr_assert_not_null(t, "%s: no interval lines:\n%s", tag, text);
    long tn;
    double p50, p90;
    cr_assert_eq(sscanf(t, " T:%ld ( %lf %lf %lf", &tn, &p50, &p90, &p->p99_ms), 4, "%s: %.80s",
                 tag, t);
    cr_expect_eq(tn, p->count, "%s: the interval file counts %ld, the .hgrm %ld", tag, tn,
                 p->count);
}

/* One tag against the JSON's histogram summary (ms, 3 decimals: whole µs). */
static void check(const char *dir, const char *tag, json_t *summary)
{
    cr_assert_not_null(summary, "%s: not in the JSON", tag);
    long count = (long)json_integer_value(json_object_get(summary, "count"));
    double max = json_number_value(json_object_get(summary, "max"));
    double p99 = json_number_value(json_object_get(summary, "p99"));
    processed p;
    process(dir, tag, &p);
    cr_assert(count > 100, "%s: only %ld values", tag, count);
    cr_expect_eq(p.count, count, "%s: the intervals hold %ld values, the JSON %ld", tag, p.count,
                 count);
    /* the HDR max is the top of the max's slot (under 0.1% above it), printed to 1 µs */
    cr_expect(p.max_ms >= max - 0.0011 && p.max_ms <= max * 1.001 + 0.0011,
              "%s: max %.3f ms, the JSON says %.3f", tag, p.max_ms, max);
    /* blast reads the middle of its slot, HDR the top of its own: 1% and a slot apart at most */
    double slot = p99 / 1024 + 0.0011;
    cr_expect(fabs(p.p99_ms - p99) <= p99 * 0.01 + slot, "%s: p99 %.3f ms, the JSON says %.3f", tag,
              p.p99_ms, p99);
    cr_expect(p99 >= p.below_ms * 0.99 - slot && p99 <= p.at_ms * 1.01 + slot,
              "%s: the JSON's p99 %.3f ms is not between the .hgrm's %.3f and %.3f", tag, p99,
              p.below_ms, p.at_ms);
}

static json_t *get(json_t *o, const char *a, const char *b, const char *c, const char *d)
{
    const char *keys[] = {a, b, c, d};
    for (size_t i = 0; i < 4 && keys[i] && o; i++)
        o = json_object_get(o, keys[i]);
    return o;
}

Test(hdrlog, the_java_reader_agrees_with_the_json)
{
    if (access("/usr/bin/java", X_OK) != 0 || access(JAR, R_OK) != 0)
        cr_skip_test("java or " JAR " is missing (make deps installs default-jre-headless and "
                     "libhdrhistogram-java)");
    target_start(&srv);
    char dir[64] = "/tmp/blast-hdrlog.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 3s\nout = hdrlog=%s/r.hlog\n"
             "[scenario api]\nexecutor = constant-arrival-rate\nrate = 200/s\nflow = f\n"
             "[step heartbeat]\npath = /\n[step slow]\npath = /delay/2\n"
             "[flow f]\nstep = heartbeat\nstep = slow\n",
             srv.port, dir);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 40);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "api");

    char path[160], text[1 << 12];
    snprintf(path, sizeof path, "%s/r.hlog", dir);
    read_text(path, text, sizeof text);
    cr_expect(strstr(text, "#[Histogram log format version 1.3]\n#[StartTime: ") != NULL,
              "header:\n%.300s", text);
    cr_expect(strstr(text, "\nTag=api.heartbeat.service,0.000,") != NULL, "no first interval");

    json_t *api = get(r.json, "scenarios", "api", NULL, NULL);
    check(dir, "api.latency", json_object_get(api, "latency_ms"));
    check(dir, "api.service", json_object_get(api, "service_time_ms"));
    check(dir, "api.slow.latency", get(api, "steps", "slow", "latency_ms", NULL));
    check(dir, "api.heartbeat.service", get(api, "steps", "heartbeat", "service_time_ms", NULL));

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
    blast_run_free(&r);
}

/* A WebSocket step's message latency: its own tag, SCENARIO.STEP.ws_msg_latency, read back by
 * HistogramLogProcessor as the JSON's steps.STEP.ws.msg_latency_ms; an HTTP step has none. */
Test(hdrlog, ws_msg_latency_tag_agrees_with_the_json)
{
    if (access("/usr/bin/java", X_OK) != 0 || access(JAR, R_OK) != 0)
        cr_skip_test("java or " JAR " is missing (make deps installs default-jre-headless and "
                     "libhdrhistogram-java)");
    target_start(&srv);
    char dir[64] = "/tmp/blast-hdrlog.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 20s\nout = hdrlog=%s/r.hlog\n"
             "[scenario chat]\nexecutor = per-vu-iterations\nvus = 10\niterations = 1\n"
             "flow = f\n[step hello]\npath = /\n[step talk]\npath = /api/v1/ws\n"
             "ws_send = {\"id\":\"{{ vu }}-{{ seq }}\"}\nws_interval = 50ms\nws_messages = 15\n"
             "reply_timeout = 1s\nws_expect = correlate $.id\n"
             "[flow f]\nstep = hello\nstep = talk\n",
             srv.port, dir);
    blast_run r;
    blast_exec(&r, ini, NULL, 0, 60);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    json_t *talk = get(r.json, "scenarios", "chat", "steps", "talk");
    cr_assert_eq(json_integer_value(get(talk, "ws", "msg_latency_ms", "count", NULL)), 150);
    check(dir, "chat.talk.ws_msg_latency", get(talk, "ws", "msg_latency_ms", NULL, NULL));
    char path[160], text[1 << 16];
    snprintf(path, sizeof path, "%s/r.hlog", dir);
    read_text(path, text, sizeof text);
    cr_expect(strstr(text, "Tag=chat.hello.ws_msg_latency") == NULL, "an HTTP step's ws tag");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
    blast_run_free(&r);
}
