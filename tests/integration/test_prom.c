/* Integration: the Prometheus outputs of a real run against the bundled target, read by
 * Prometheus's own tools: the /metrics text fetched mid-run passes `promtool check metrics`
 * and its counters fit the run's JSON; remote write lands in a real Prometheus (started here
 * with its remote-write receiver), whose query API then gives back the run's JSON total; the
 * same for a run with a WebSocket step and k6's ws families. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static server srv;
static pid_t prom_pid;
static char prom_dir[64];

static void stop_all(void)
{
    server_stop(&srv);
    if (prom_pid > 0) {
        kill(prom_pid, SIGTERM);
        waitpid(prom_pid, NULL, 0);
        prom_pid = 0;
    }
    if (prom_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", prom_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", prom_dir);
        prom_dir[0] = '\0';
    }
}

TestSuite(prom, .fini = stop_all);

/* GET path from 127.0.0.1:port: the whole response (head and body) into buf; the status, or
 * -1. */
static int fetch(int port, const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    char req[1024];
    int rl = snprintf(req, sizeof req,
                      "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)rl) != rl) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while (got < n - 1 && (r = read(fd, buf + got, n - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd);
    int status = -1;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    return status;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* The sum of the values of every sample of metric (exactly that name) in a text exposition. */
static double sum_of(const char *text, const char *metric)
{
    double sum = 0;
    size_t ml = strlen(metric);
    for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        if (strncmp(l, metric, ml) != 0 || (l[ml] != '{' && l[ml] != ' '))
            continue;
        const char *end = strchr(l, '\n');
        const char *sp = l + (end ? (size_t)(end - l) : strlen(l));
        while (sp > l && sp[-1] != ' ')
            sp--;
        sum += strtod(sp, NULL);
    }
    return sum;
}

static const char *run_ini(int port)
{
    static char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 4s\n"
             "[scenario api]\nexecutor = constant-arrival-rate\nrate = 200/s\nflow = f\n"
             "[step fast]\npath = /\ncheck = status 200\n[step slow]\npath = /delay/2\n"
             "[flow f]\nstep = fast\nstep = slow\n",
             port);
    return ini;
}

static long json_total(const blast_run *r)
{
    return (long)(jnum(r, "api", "requests", "ok") + jnum(r, "api", "requests", "failed"));
}

typedef struct scrape_ctx {
    int port;
    bool done;
    int status;
    char resp[256 * 1024];
} scrape_ctx;

static void scrape_at_3s(double elapsed_s, void *ctx)
{
    scrape_ctx *c = ctx;
    if (c->done || elapsed_s < 3.0)
        return;
    c->done = true;
    c->status = fetch(c->port, "/metrics", c->resp, sizeof c->resp);
}

Test(prom, scrape_endpoint_passes_promtool_and_fits_the_json)
{
    target_start(&srv);
    static scrape_ctx c;
    memset(&c, 0, sizeof c);
    c.port = free_port();
    char out[64];
    snprintf(out, sizeof out, "prometheus=127.0.0.1:%d", c.port);
    const char *extra[] = {"--out", out, NULL};
    harness_tick = scrape_at_3s;
    harness_tick_ctx = &c;
    blast_run r;
    blast_exec(&r, run_ini(srv.port), extra, 0, 40);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert(c.done, "the run ended before the scrape");
    cr_assert_eq(c.status, 200, "GET /metrics: %d", c.status);
    cr_expect(strstr(c.resp, "Content-Type: text/plain; version=0.0.4") != NULL, "%.300s", c.resp);
    const char *text = body_of(c.resp);

    char dir[64] = "/tmp/blast-prom.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], cmd[512];
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s/promtool.out 2>&1", path, dir);
    int st = system(cmd);
    char pout[4096];
    snprintf(path, sizeof path, "%s/promtool.out", dir);
    read_text(path, pout, sizeof pout);
    cr_expect_eq(st, 0, "promtool check metrics: status %d: %s", st, pout);

    long total = json_total(&r);
    double reqs = sum_of(text, "k6_http_reqs_total");
    cr_expect(reqs > 0 && reqs <= (double)total, "k6_http_reqs_total %.0f, JSON total %ld", reqs,
              total);
    /* the histogram: +Inf buckets are the counts, which are the requests that had a latency */
    double count = sum_of(text, "k6_http_req_duration_seconds_count");
    cr_expect(count > 0 && count <= reqs, "histogram count %.0f, requests %.0f", count, reqs);
    const char *inf = strstr(text, "le=\"+Inf\"");
    cr_expect_not_null(inf);
    cr_expect(strstr(text, "k6_checks_rate{check=\"status 200\"") != NULL, "no checks rate");
    cr_expect(strstr(text, "k6_vus{testid=\"") != NULL, "no vus gauge");
    cr_expect(strstr(text, "status=\"2xx\"") != NULL, "no status class");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
    /* the endpoint lives only as long as the run */
    cr_expect_eq(fetch(c.port, "/metrics", c.resp, sizeof c.resp), -1);
    blast_run_free(&r);
}

Test(prom, a_port_in_use_fails_before_the_load)
{
    target_start(&srv);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 1), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    char out[64];
    snprintf(out, sizeof out, "prometheus=%d", ntohs(a.sin_port));
    const char *extra[] = {"--out", out, NULL};
    blast_run r;
    blast_exec(&r, run_ini(srv.port), extra, 0, 20);
    close(fd);
    cr_expect_eq(r.exit_code, 3, "exit %d", r.exit_code);
    cr_expect(strstr(r.stderr_text, "Address already in use") != NULL, "%s", r.stderr_text);
    cr_expect(r.wall_s < 2.0, "took %.1f s: the load ran", r.wall_s);
    blast_run_free(&r);

    const char *bare[] = {"--out", "prometheus=:9464", NULL};
    blast_exec(&r, run_ini(srv.port), bare, 0, 20);
    cr_expect_eq(r.exit_code, 3, "exit %d", r.exit_code);
    cr_expect(strstr(r.stderr_text, "0.0.0.0:9464") != NULL, "%s", r.stderr_text);
    blast_run_free(&r);
}

/* Starts /usr/bin/prometheus with its remote-write receiver on a free port; returns the port
 * once it is ready (skips the test when Prometheus is not installed). */
static int prometheus_start(void)
{
    if (access("/usr/bin/prometheus", X_OK) != 0)
        cr_skip_test("/usr/bin/prometheus is not installed (make deps)");
    strcpy(prom_dir, "/tmp/blast-promdb.XXXXXX");
    cr_assert_not_null(mkdtemp(prom_dir));
    char conf[128], data[128], listen[64], log[128];
    snprintf(conf, sizeof conf, "%s/prometheus.yml", prom_dir);
    snprintf(data, sizeof data, "--storage.tsdb.path=%s/data", prom_dir);
    snprintf(log, sizeof log, "%s/prometheus.log", prom_dir);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fputs("global:\n  scrape_interval: 15s\n", f);
    fclose(f);
    int port = free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    char cfg[160];
    snprintf(cfg, sizeof cfg, "--config.file=%s", conf);
    prom_pid = fork();
    cr_assert(prom_pid >= 0);
    if (prom_pid == 0) {
        freopen(log, "w", stdout);
        freopen(log, "a", stderr);
        for (int fd = 3; fd < 1024; fd++) /* nothing of the test runner's lives on in it */
            close(fd);
        execl("/usr/bin/prometheus", "prometheus", "--web.enable-remote-write-receiver", listen,
              data, cfg, (char *)NULL);
        _exit(127);
    }
    static char resp[4096];
    double t0 = now_s();
    while (fetch(port, "/-/ready", resp, sizeof resp) != 200) {
        cr_assert(now_s() - t0 < 30, "prometheus not ready after 30 s (see %s)", log);
        sleep_s(0.2);
    }
    return port;
}

/* The value of a one-sample instant query, or -1. */
static double query(int port, const char *q)
{
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/query?query=%s", q);
    static char resp[64 * 1024];
    if (fetch(port, path, resp, sizeof resp) != 200)
        return -1;
    json_error_t e;
    json_t *doc = json_loads(body_of(resp), 0, &e);
    if (!doc)
        return -1;
    json_t *res = json_object_get(json_object_get(doc, "data"), "result");
    double v = -1;
    if (json_array_size(res) == 1) {
        json_t *val = json_array_get(json_object_get(json_array_get(res, 0), "value"), 1);
        v = json_is_string(val) ? strtod(json_string_value(val), NULL) : -1;
    }
    json_decref(doc);
    return v;
}

Test(prom, remote_write_lands_in_prometheus)
{
    int pport = prometheus_start();
    target_start(&srv);
    char testid[64], out[128];
    snprintf(testid, sizeof testid, "rw-test-%d", (int)getpid());
    setenv("BLAST_TESTID", testid, 1);
    snprintf(out, sizeof out, "prometheus-rw=http://127.0.0.1:%d/api/v1/write", pport);
    const char *extra[] = {"--out", out, NULL};
    blast_run r;
    blast_exec(&r, run_ini(srv.port), extra, 0, 40);
    unsetenv("BLAST_TESTID");
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    long total = json_total(&r);
    cr_assert(total > 100, "only %ld requests", total);

    char q[256];
    snprintf(q, sizeof q, "sum(k6_http_reqs_total%%7Btestid%%3D%%22%s%%22%%7D)", testid);
    double got = query(pport, q);
    cr_expect_eq((long)got, total, "Prometheus has %.0f requests, the JSON says %ld", got, total);
    snprintf(q, sizeof q, "sum(k6_http_req_duration_seconds_count%%7Btestid%%3D%%22%s%%22%%7D)",
             testid);
    double count = query(pport, q);
    cr_expect(count > 0 && count <= (double)total, "histogram count %.0f", count);
    snprintf(q, sizeof q, "k6_vus%%7Btestid%%3D%%22%s%%22%%7D", testid);
    cr_expect(query(pport, q) >= 0, "no k6_vus");
    blast_run_free(&r);
}

Test(prom, remote_write_to_nobody_does_not_stall_the_run)
{
    target_start(&srv);
    char out[128];
    snprintf(out, sizeof out, "prometheus-rw=http://127.0.0.1:%d/api/v1/write", free_port());
    const char *extra[] = {"--out", out, NULL};
    blast_run r;
    blast_exec(&r, run_ini(srv.port), extra, 0, 40);
    /* the final push cannot be delivered: an output error, after the whole load ran */
    cr_expect_eq(r.exit_code, 5, "exit %d", r.exit_code);
    cr_expect(strstr(r.stderr_text, "final push was not delivered") != NULL, "%s", r.stderr_text);
    cr_expect(json_total(&r) > 700, "the load was held up: %ld requests", json_total(&r));
    cr_expect(r.wall_s < 4 + 5 + 2, "took %.1f s", r.wall_s);
    blast_run_free(&r);

    const char *tls[] = {"--out", "prometheus-rw=https://127.0.0.1:1/api/v1/write", NULL};
    blast_exec(&r, run_ini(srv.port), tls, 0, 20);
    cr_expect_eq(r.exit_code, 3, "exit %d", r.exit_code);
    cr_expect(strstr(r.stderr_text, "https:// is not supported") != NULL, "%s", r.stderr_text);
    blast_run_free(&r);
}

/* A Ctrl-C in the middle of a long run: the remote write still pushes the final totals (the
 * count Prometheus holds is the JSON's), and the scrape endpoint did serve while it ran. */
Test(prom, a_ctrl_c_still_pushes_the_final_totals)
{
    int pport = prometheus_start();
    target_start(&srv);
    char testid[64], rw[128], scrape[64], ini[1024];
    snprintf(testid, sizeof testid, "rw-int-%d", (int)getpid());
    setenv("BLAST_TESTID", testid, 1);
    snprintf(rw, sizeof rw, "prometheus-rw=http://127.0.0.1:%d/api/v1/write", pport);
    scrape_ctx *sc = calloc(1, sizeof *sc);
    cr_assert_not_null(sc);
    sc->port = free_port();
    snprintf(scrape, sizeof scrape, "prometheus=127.0.0.1:%d", sc->port);
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 60s\n"
             "[scenario api]\nexecutor = constant-arrival-rate\nrate = 200/s\npath = /\n",
             srv.port);
    const char *extra[] = {"--out", rw, "--out", scrape, NULL};
    harness_tick = scrape_at_3s;
    harness_tick_ctx = sc;
    blast_run r;
    blast_exec(&r, ini, extra, 4.0, 40);
    unsetenv("BLAST_TESTID");
    cr_assert_eq(r.exit_code, 130, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_expect(r.wall_s < 15, "took %.1f s after a Ctrl-C at 4 s", r.wall_s);
    cr_expect_eq(sc->status, 200, "the scrape endpoint during the run: %d", sc->status);
    cr_expect(sum_of(body_of(sc->resp), "k6_http_reqs_total") > 0, "%.300s", sc->resp);
    long total = json_total(&r);
    cr_assert(total > 300, "only %ld requests", total);
    char q[256];
    snprintf(q, sizeof q, "sum(k6_http_reqs_total%%7Btestid%%3D%%22%s%%22%%7D)", testid);
    double got = query(pport, q);
    cr_expect_eq((long)got, total, "Prometheus has %.0f requests, the JSON says %ld", got, total);
    free(sc);
    blast_run_free(&r);
}

/* WebSocket steps: the scrape mid-run passes promtool with k6's ws families in it, and the final
 * remote write holds the JSON's ws totals. */
static const char *ws_ini(int port)
{
    static char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 4s\n"
             "[scenario chat]\nexecutor = constant-vus\nvus = 4\nflow = f\n"
             "[step talk]\npath = /api/v1/ws\nws_send = {\"id\":\"{{ vu }}-{{ seq }}\"}\n"
             "ws_interval = 100ms\nws_messages = 8\nreply_timeout = 1s\n"
             "ws_expect = correlate $.id\n[step hello]\npath = /\n"
             "[flow f]\nstep = talk\nstep = hello\n",
             port);
    return ini;
}

static double ws_total(const blast_run *r, const char *key)
{
    return jnum(r, "chat", "ws", key);
}

Test(prom, ws_families_pass_promtool_and_land_in_prometheus, .timeout = 120)
{
    int pport = prometheus_start();
    target_start(&srv);
    static scrape_ctx c;
    memset(&c, 0, sizeof c);
    c.port = free_port();
    char testid[64], rw[128], scrape[64];
    snprintf(testid, sizeof testid, "ws-test-%d", (int)getpid());
    setenv("BLAST_TESTID", testid, 1);
    snprintf(rw, sizeof rw, "prometheus-rw=http://127.0.0.1:%d/api/v1/write", pport);
    snprintf(scrape, sizeof scrape, "prometheus=127.0.0.1:%d", c.port);
    const char *extra[] = {"--out", rw, "--out", scrape, NULL};
    harness_tick = scrape_at_3s;
    harness_tick_ctx = &c;
    blast_run r;
    blast_exec(&r, ws_ini(srv.port), extra, 0, 60);
    unsetenv("BLAST_TESTID");
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert(c.done && c.status == 200, "GET /metrics: %d", c.status);
    const char *text = body_of(c.resp);

    char dir[64] = "/tmp/blast-prom.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], cmd[512], pout[4096];
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s/promtool.out 2>&1", path, dir);
    int st = system(cmd);
    snprintf(path, sizeof path, "%s/promtool.out", dir);
    read_text(path, pout, sizeof pout);
    cr_expect_eq(st, 0, "promtool check metrics: status %d: %s", st, pout);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
    /* mid-run: some of the run's sessions and messages, never more */
    const char *fams[] = {"k6_ws_sessions_total", "k6_ws_msgs_sent_total",
                          "k6_ws_msgs_received_total", "k6_ws_msg_latency_seconds_count",
                          "k6_ws_connecting_seconds_count"};
    const char *keys[] = {"ws_sessions", "ws_msgs_sent", "ws_msgs_received", "ws_msgs_sent",
                          "ws_sessions"};
    for (size_t i = 0; i < 5; i++) {
        double v = sum_of(text, fams[i]);
        cr_expect(v > 0 && v <= ws_total(&r, keys[i]), "%s %.0f mid-run, the JSON's %s %.0f",
                  fams[i], v, keys[i], ws_total(&r, keys[i]));
    }
    cr_expect(strstr(text, "k6_ws_session_duration_seconds_bucket{le=\"+Inf\",name=\"talk\"") !=
                  NULL,
              "no session duration histogram");
    cr_expect(strstr(text, "k6_ws_failures_total{class=\"reply_timeout\",name=\"talk\"") != NULL,
              "no failures by class");
    cr_expect(strstr(text, "k6_ws_sessions_total{name=\"hello\"") == NULL,
              "an HTTP step in a ws family");

    /* the final push: Prometheus holds the JSON's totals */
    const char *qs[][2] = {{"k6_ws_sessions_total", "ws_sessions"},
                           {"k6_ws_msgs_sent_total", "ws_msgs_sent"},
                           {"k6_ws_msgs_received_total", "ws_msgs_received"}};
    char q[256];
    for (size_t i = 0; i < 3; i++) {
        snprintf(q, sizeof q, "sum(%s%%7Btestid%%3D%%22%s%%22%%7D)", qs[i][0], testid);
        double got = query(pport, q);
        cr_expect_eq(got, ws_total(&r, qs[i][1]), "Prometheus %s %.0f, the JSON's %s %.0f",
                     qs[i][0], got, qs[i][1], ws_total(&r, qs[i][1]));
    }
    snprintf(q, sizeof q, "sum(k6_ws_msg_latency_seconds_count%%7Btestid%%3D%%22%s%%22%%7D)",
             testid);
    double n = query(pport, q);
    cr_expect_eq(n, ws_total(&r, "replied"), "latency count %.0f, replied %.0f", n,
                 ws_total(&r, "replied"));
    blast_run_free(&r);
}
