/* Integration: the guard rails, end to end, on 127.0.0.1.
 *
 * preflight: a [preflight] against a closed port, a wrong status or a slow answer ends blast with
 * exit 6 before any load, which blast-target's /admin/stats confirms (at most the preflight
 * itself arrived); a passing one lets the load run as usual; an https:// one uses [global]'s TLS
 * keys (nginx with a test CA). allow_hosts: a host it does not allow is exit 2 and the target
 * sees nothing. redaction: secrets (an Authorization header, a Cookie, a `secret` variable in a
 * header, a path and a name) reach the server, and appear nowhere blast writes: stdout, stderr,
 * the JSON file, and the messages of a config error and of a failed preflight. A small capture
 * server in the test records every byte it is sent, so "reached the server" is checked byte for
 * byte. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static server srv;
static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/blast-it.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void cleanup(void)
{
    server_stop(&srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(guard, .init = setup, .fini = cleanup);

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* Runs blast -c DIR/t.ini --out json=DIR/out.json plus extra (NULL-terminated), with a SIGINT
 * sigint_s after the start when > 0. */
static void run_blast_int(proc_result *r, const char *ini, const char *const *extra,
                          double sigint_s)
{
    char path[128], out[160];
    snprintf(path, sizeof path, "%s/t.ini", dir);
    snprintf(out, sizeof out, "json=%s/out.json", dir);
    write_text(path, ini);
    const char *argv[24] = {blast_bin(), "-c", path, "--out", out};
    int n = 5;
    for (; extra && *extra && n < 22; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    proc_run(r, dir, argv, PLAIN, sigint_s, 60);
}

static void run_blast(proc_result *r, const char *ini, const char *const *extra)
{
    run_blast_int(r, ini, extra, 0);
}

static bool out_json_exists(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/out.json", dir);
    return access(path, F_OK) == 0;
}

static json_t *out_json(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/out.json", dir);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s is not JSON: %s", path, e.text);
    return j;
}

static double sc_num(json_t *j, const char *sc, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(json_object_get(j, "scenarios"), sc), a);
    v = json_object_get(v, b);
    cr_assert(json_is_number(v), "no scenarios.%s.%s.%s", sc, a, b);
    return json_number_value(v);
}

/* Requests blast-target has counted (its /admin/ requests are not counted). */
static long target_requests(int port)
{
    json_t *j = target_stats(port);
    json_t *rq = json_object_get(j, "requests");
    cr_assert(json_is_integer(rq), "stats lack requests");
    long n = (long)json_integer_value(rq);
    json_decref(j);
    return n;
}

#define SCENARIO "[scenario s]\nexecutor = constant-arrival-rate\nrate = 50/s\nmax_vus = 4\n"

/* [global] for the target plus a [preflight] with the given lines. */
static const char *with_preflight(int port, const char *preflight)
{
    static char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 400ms\nworkers = 1\n\n"
             "[preflight]\n%s\n" SCENARIO,
             port, preflight);
    return ini;
}

/* ---- preflight ---- */

Test(guard, preflight_to_a_closed_port_sends_no_load, .timeout = 60)
{
    target_start(&srv);
    int closed = free_port();
    char pre[128], want[256];
    snprintf(pre, sizeof pre, "url = http://127.0.0.1:%d/health", closed);
    long before = target_requests(srv.port);
    proc_result r;
    run_blast(&r, with_preflight(srv.port, pre), NULL);
    cr_expect_eq(r.exit_code, 6, "exit %d: %s", r.exit_code, r.err);
    snprintf(want, sizeof want,
             "blast: preflight GET http://127.0.0.1:%d/health failed: connection refused "
             "(expected status 200)\n",
             closed);
    cr_expect_str_eq(r.err, want);
    cr_expect_str_eq(r.out, "", "no summary: there was no run");
    cr_expect(!out_json_exists(), "the --out file of a run that never started is not written");
    cr_expect_eq(target_requests(srv.port) - before, 0, "the target was sent load");
}

Test(guard, preflight_with_a_wrong_status_sends_no_load, .timeout = 60)
{
    target_start(&srv);
    long before = target_requests(srv.port);
    proc_result r;
    run_blast(&r, with_preflight(srv.port, "path = /status/503\nexpect_status = 200, 204"), NULL);
    cr_expect_eq(r.exit_code, 6, "exit %d: %s", r.exit_code, r.err);
    char want[256];
    snprintf(want, sizeof want,
             "blast: preflight GET http://127.0.0.1:%d/status/503 failed: status 503 (expected "
             "status 200, 204)\n",
             srv.port);
    cr_expect_str_eq(r.err, want);
    cr_expect(!out_json_exists());
    cr_expect_eq(target_requests(srv.port) - before, 1, "only the preflight may reach the target");
}

Test(guard, preflight_timeout_is_kept_and_sends_no_load, .timeout = 60)
{
    target_start(&srv);
    long before = target_requests(srv.port);
    proc_result r;
    run_blast(&r, with_preflight(srv.port, "path = /delay/5000\ntimeout = 300ms"), NULL);
    cr_expect_eq(r.exit_code, 6, "exit %d: %s", r.exit_code, r.err);
    cr_expect_not_null(strstr(r.err, "/delay/5000 failed: timed out after 300ms waiting for the "
                                     "response (expected status 200)"),
                       "%s", r.err);
    cr_expect_lt(r.wall_s, 3.0, "the preflight took %.2f s for a 300ms timeout", r.wall_s);
    cr_expect_leq(target_requests(srv.port) - before, 1);
}

Test(guard, passing_preflight_then_the_load_runs, .timeout = 60)
{
    target_start(&srv);
    long before = target_requests(srv.port);
    proc_result r;
    run_blast(&r,
              with_preflight(srv.port, "method = head\npath = /status/204\nexpect_status = 2xx"),
              NULL);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
    char want[128];
    snprintf(want, sizeof want,
             "blast: preflight HEAD http://127.0.0.1:%d/status/204: status 204 in ", srv.port);
    cr_expect_eq(strncmp(r.err, want, strlen(want)), 0, "%s", r.err);
    json_t *j = out_json();
    double scheduled = sc_num(j, "s", "requests", "scheduled"),
           ok = sc_num(j, "s", "requests", "ok");
    cr_expect_geq(scheduled, 15, "50/s for 400 ms");
    cr_expect_eq(ok, scheduled);
    cr_expect_eq(target_requests(srv.port) - before, (long)ok + 1, "the load and the preflight");
    json_decref(j);
}

/* A Ctrl-C while the preflight waits abandons it at once: nothing else is sent. */
Test(guard, ctrl_c_during_the_preflight_ends_blast, .timeout = 60)
{
    target_start(&srv);
    long before = target_requests(srv.port);
    proc_result r;
    run_blast_int(&r, with_preflight(srv.port, "path = /delay/5000\ntimeout = 10s"), NULL, 0.5);
    cr_expect_eq(r.exit_code, 130, "exit %d: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.err, "blast: interrupted during the preflight; nothing was sent\n");
    cr_expect_lt(r.wall_s, 2.0, "%.2f s after a Ctrl-C at 0.5 s", r.wall_s);
    cr_expect(!out_json_exists());
    cr_expect_leq(target_requests(srv.port) - before, 1, "only the preflight");
}

/* Each way a server can fail the check is named in the line, and is exit 6. */
Test(guard, preflight_failures_are_said_in_words, .timeout = 90)
{
    tool_start(&srv, "faults", NULL);
    static const struct {
        const char *path, *why;
        int exit_code;
    } rows[] = {
        {"/close-before", "connection closed before a response", 6},
        {"/garbage", "bad response: invalid status line", 6},
        {"/reset-head", "connection reset by peer", 6},
        {"/short-body", "connection closed before the response ended", 6},
        {"/huge-header", "bad response: response head too large", 6},
        {"/trickle/50", "timed out after 1s waiting for the response", 6},
        {"/nothing-here", "status 404", 6},
        {"/continue", NULL, 0}, /* 100 Continue, then 200: the final status counts */
        {"/http10-eof", NULL, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char pre[128], want[256];
        snprintf(pre, sizeof pre, "path = %s\ntimeout = 1s", rows[i].path);
        proc_result r;
        run_blast(&r, with_preflight(srv.port, pre), (const char *const[]){"--quiet", NULL});
        cr_expect_eq(r.exit_code, rows[i].exit_code, "%s: exit %d: %s", rows[i].path, r.exit_code,
                     r.err);
        if (rows[i].why) {
            snprintf(want, sizeof want,
                     "blast: preflight GET http://127.0.0.1:%d%s failed: %s (expected status "
                     "200)\n",
                     srv.port, rows[i].path, rows[i].why);
            cr_expect_str_eq(r.err, want);
        }
    }
}

/* https: [global]'s TLS keys (ca_file, server_name) are the preflight's; without the CA the
 * handshake fails, which is a failed preflight. */
Test(guard, https_preflight_uses_the_global_tls_keys, .timeout = 90)
{
    char cmd[1600];
    snprintf(cmd, sizeof cmd,
             "(cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.pem -days 2 -subj /CN=blast-guard-ca && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key "
             "-out srv.csr -subj /CN=localhost && "
             "printf 'subjectAltName=DNS:localhost\\n' > ext && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem "
             "-days 2 -extfile ext) >/dev/null 2>&1",
             dir);
    cr_assert_eq(system(cmd), 0, "openssl failed");
    char extra[512];
    snprintf(extra, sizeof extra, "ssl_certificate %s/srv.pem; ssl_certificate_key %s/srv.key;",
             dir, dir);
    if (!nginx_start_with(&srv, extra, "1000", true))
        cr_skip_test("nginx is not installed");
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = https://127.0.0.1:%d\nduration = 300ms\nworkers = 1\n"
             "server_name = localhost\nca_file = %s/ca.pem\n"
             "[preflight]\npath = /health\n" SCENARIO,
             srv.port, dir);
    proc_result r;
    run_blast(&r, ini, NULL);
    cr_expect_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
    cr_expect_not_null(strstr(r.err, "/health: status 200 in "), "%s", r.err);
    json_t *j = out_json();
    cr_expect_gt(sc_num(j, "s", "requests", "ok"), 0);
    json_decref(j);
    char out[128];
    snprintf(out, sizeof out, "%s/out.json", dir);
    cr_assert_eq(unlink(out), 0);

    snprintf(ini, sizeof ini,
             "[global]\nbase_url = https://127.0.0.1:%d\nduration = 300ms\nworkers = 1\n"
             "server_name = localhost\n[preflight]\npath = /health\n" SCENARIO,
             srv.port);
    run_blast(&r, ini, NULL);
    cr_expect_eq(r.exit_code, 6, "exit %d: %s", r.exit_code, r.err);
    char want[256];
    snprintf(want, sizeof want,
             "blast: preflight GET https://127.0.0.1:%d/health failed: TLS handshake failed: "
             "certificate verify failed",
             srv.port);
    cr_expect_eq(strncmp(r.err, want, strlen(want)), 0, "%s", r.err);
    cr_expect(!out_json_exists());
}

/* ---- allow_hosts ---- */

Test(guard, a_host_allow_hosts_does_not_allow_is_refused, .timeout = 60)
{
    target_start(&srv);
    long before = target_requests(srv.port);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nduration = 400ms\nallow_hosts = *.staging.example.com\n"
             "[preflight]\nurl = http://127.0.0.1:%d/\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 50/s\n"
             "base_url = http://127.0.0.1:%d\n",
             srv.port, srv.port);
    proc_result r;
    run_blast(&r, ini, NULL);
    cr_expect_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
    char want[512];
    snprintf(want, sizeof want,
             "blast: %s/t.ini:9: [scenario s] base_url: host '127.0.0.1' is not allowed by "
             "allow_hosts (line 3: *.staging.example.com)\n",
             dir);
    cr_expect_str_eq(r.err, want);
    cr_expect(!out_json_exists());
    cr_expect_eq(target_requests(srv.port) - before, 0, "not even the preflight may be sent");

    /* the same file with the host allowed runs */
    snprintf(ini, sizeof ini,
             "[global]\nduration = 400ms\nallow_hosts = *.staging.example.com, 127.0.0.0/8\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 50/s\n"
             "base_url = http://127.0.0.1:%d\n",
             srv.port);
    run_blast(&r, ini, NULL);
    cr_expect_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
    cr_expect_gt(target_requests(srv.port) - before, 0);
}

/* ---- redaction ---- */

/* A loopback HTTP/1.1 server in a thread: answers every request head with 200 "ok" (keep-alive)
 * and keeps every byte it was sent (up to CAPTURE_MAX). Requests here carry no body. */
#define CAPTURE_MAX (1 << 20)
#define CAPTURE_CONNS 32

static struct capture {
    int lfd, port;
    pthread_t th;
    atomic_int stop;
    pthread_mutex_t mu;
    char *bytes;
    size_t len;
    long heads;
} cap;

static void *capture_loop(void *arg)
{
    (void)arg;
    struct pollfd fds[CAPTURE_CONNS + 1] = {{.fd = cap.lfd, .events = POLLIN}};
    char pend[CAPTURE_CONNS + 1][8192];
    size_t plen[CAPTURE_CONNS + 1] = {0};
    nfds_t n = 1;
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    while (!atomic_load(&cap.stop)) {
        if (poll(fds, n, 20) <= 0)
            continue;
        if ((fds[0].revents & POLLIN) && n < CAPTURE_CONNS + 1) {
            int c = accept(cap.lfd, NULL, NULL);
            if (c >= 0) {
                fds[n] = (struct pollfd){.fd = c, .events = POLLIN};
                plen[n++] = 0;
            }
        }
        for (nfds_t i = 1; i < n; i++) {
            if (!fds[i].revents)
                continue;
            char buf[4096];
            ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got <= 0) {
                close(fds[i].fd);
                fds[i] = fds[n - 1];
                memcpy(pend[i], pend[n - 1], plen[n - 1]);
                plen[i] = plen[n - 1];
                n--;
                i--;
                continue;
            }
            pthread_mutex_lock(&cap.mu);
            if (cap.len + (size_t)got <= CAPTURE_MAX) {
                memcpy(cap.bytes + cap.len, buf, (size_t)got);
                cap.len += (size_t)got;
            }
            pthread_mutex_unlock(&cap.mu);
            size_t take = (size_t)got < sizeof pend[i] - plen[i] ? (size_t)got : 0;
            memcpy(pend[i] + plen[i], buf, take);
            plen[i] += take;
            char *end;
            while ((end = memmem(pend[i], plen[i], "\r\n\r\n", 4))) {
                size_t head = (size_t)(end + 4 - pend[i]);
                if (write(fds[i].fd, resp, sizeof resp - 1) < 0)
                    break;
                memmove(pend[i], pend[i] + head, plen[i] - head);
                plen[i] -= head;
                pthread_mutex_lock(&cap.mu);
                cap.heads++;
                pthread_mutex_unlock(&cap.mu);
            }
        }
    }
    for (nfds_t i = 0; i < n; i++)
        close(fds[i].fd);
    return NULL;
}

static void capture_start(void)
{
    cap.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert_eq(bind(cap.lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(cap.lfd, 64), 0);
    cr_assert_eq(getsockname(cap.lfd, (struct sockaddr *)&a, &len), 0);
    cap.port = ntohs(a.sin_port);
    cap.bytes = malloc(CAPTURE_MAX + 1);
    cr_assert_not_null(cap.bytes);
    pthread_mutex_init(&cap.mu, NULL);
    cr_assert_eq(pthread_create(&cap.th, NULL, capture_loop, NULL), 0);
}

static void capture_stop(void)
{
    atomic_store(&cap.stop, 1);
    pthread_join(cap.th, NULL);
    cap.bytes[cap.len] = '\0';
}

#define TOKEN "SECRETTOKEN123"
#define COOKIE "COOKIEVAL999"
#define API_KEY "APIKEYVALUE77"

static const char *const leaks[] = {TOKEN, COOKIE, API_KEY};

/* None of the secrets in text (what: where it comes from). */
static void expect_clean(const char *what, const char *text)
{
    for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++)
        cr_expect_null(strstr(text, leaks[i]), "%s shows %s:\n%s", what, leaks[i], text);
}

/* Every file in the test's folder but the scenario file itself (which holds TOKEN as written). */
static void expect_clean_files(void)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || !strcmp(e->d_name, "..")))
            continue;
        if (!strcmp(e->d_name, "t.ini"))
            continue;
        char path[sizeof dir + sizeof e->d_name + 1];
        static char text[1 << 16];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        read_text(path, text, sizeof text);
        expect_clean(path, text);
        files++;
    }
    closedir(d);
    cr_expect_geq(files, 1, "the JSON file was written");
}

Test(guard, secrets_reach_the_server_and_nothing_blast_writes, .timeout = 60)
{
    capture_start();
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 500ms\nworkers = 1\n"
             "secret = API_KEY\n"
             "[preflight]\npath = /health?key=${API_KEY}\nheader = Authorization: Bearer " TOKEN
             "\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 40/s\nmax_vus = 2\n"
             "path = /items?key=${API_KEY}&n={{ seq }}\ntag = key:${API_KEY}\n"
             "header = Authorization: Bearer " TOKEN "\nheader = Cookie: session=" COOKIE "\n"
             "header = X-Api-Key: ${API_KEY}\ncheck = \"got ${API_KEY}\" status 200\n",
             cap.port);
    const char *extra[] = {"-e", "API_KEY=" API_KEY, NULL};
    proc_result r;
    run_blast(&r, ini, extra);
    capture_stop();
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);

    /* not vacuous: load was sent and the server got the real values */
    json_t *j = out_json();
    cr_expect_geq(sc_num(j, "s", "requests", "ok"), 10);
    json_decref(j);
    cr_expect_geq(cap.heads, 11, "the preflight and the load reached the server");
    cr_expect_not_null(strstr(cap.bytes, "GET /health?key=" API_KEY " HTTP/1.1\r\n"));
    cr_expect_not_null(strstr(cap.bytes, "GET /items?key=" API_KEY "&n=0 HTTP/1.1\r\n"));
    cr_expect_not_null(strstr(cap.bytes, "\r\nAuthorization: Bearer " TOKEN "\r\n"));
    cr_expect_not_null(strstr(cap.bytes, "\r\nCookie: session=" COOKIE "\r\n"));
    cr_expect_not_null(strstr(cap.bytes, "\r\nX-Api-Key: " API_KEY "\r\n"));

    /* and blast showed none of them, but did show where they were */
    expect_clean("stdout", r.out);
    expect_clean("stderr", r.err);
    expect_clean_files();
    cr_expect_not_null(strstr(r.err, "/health?key=[redacted]: status 200"), "%s", r.err);
    cr_expect_not_null(strstr(r.out, "check      got [redacted]"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "(constant-arrival-rate, /items?key=[redacted]&n={{ seq }})"),
                       "%s", r.out);
    j = out_json();
    json_t *sc = json_object_get(json_object_get(j, "scenarios"), "s");
    json_t *step =
        json_object_get(json_object_get(sc, "steps"), "GET /items?key=[redacted]&n={{ seq }}");
    cr_assert_not_null(step, "the step is named with the mark");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(step, "tags"), "key")),
                     "[redacted]");
    cr_expect_not_null(json_object_get(json_object_get(sc, "checks"), "got [redacted]"));
    json_decref(j);
    free(cap.bytes);
}

Test(guard, errors_do_not_show_secrets, .timeout = 60)
{
    const char *extra[] = {"-e", "API_KEY=" API_KEY, NULL};
    proc_result r;
    /* a config error quoting the value of a secret variable */
    run_blast(&r,
              "[global]\nbase_url = http://127.0.0.1:9\nduration = 1s\nsecret = API_KEY\n"
              "[scenario s]\nexecutor = constant-arrival-rate\nrate = ${API_KEY}\n",
              extra);
    cr_expect_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
    cr_expect_not_null(strstr(r.err, "rate: '[redacted]' is not a valid rate"), "%s", r.err);
    expect_clean("stderr", r.err);
    /* ... and one quoting an Authorization header's token */
    run_blast(&r,
              "[global]\nbase_url = http://127.0.0.1:9\nduration = 1s\n"
              "[scenario s]\nexecutor = constant-arrival-rate\nrate = 1/s\n"
              "header = Authorization: Bearer " TOKEN "\ntag = " TOKEN "\n",
              extra);
    cr_expect_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
    cr_expect_not_null(strstr(r.err, "tag: '[redacted]' is not key:value"), "%s", r.err);
    expect_clean("stderr", r.err);
    /* a failed preflight whose URL holds one */
    int closed = free_port();
    char ini[512];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = 1s\nsecret = API_KEY\n"
             "[preflight]\npath = /health?key=${API_KEY}\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 1/s\n",
             closed);
    run_blast(&r, ini, extra);
    cr_expect_eq(r.exit_code, 6, "exit %d: %s", r.exit_code, r.err);
    cr_expect_not_null(strstr(r.err, "/health?key=[redacted] failed: connection refused"), "%s",
                       r.err);
    expect_clean("stderr", r.err);
    /* a host that cannot be resolved, named by a secret */
    run_blast(&r,
              "[global]\nbase_url = http://${API_KEY}.invalid\nduration = 1s\nsecret = API_KEY\n"
              "[scenario s]\nexecutor = constant-arrival-rate\nrate = 1/s\n",
              extra);
    cr_expect_eq(r.exit_code, 3, "exit %d: %s", r.exit_code, r.err);
    cr_expect_not_null(strstr(r.err, "cannot resolve host '[redacted].invalid'"), "%s", r.err);
    expect_clean("stderr", r.err);
}
