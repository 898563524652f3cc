/* Integration: WebSocket steps against the bundled target (tools/target/ws.c) and against an
 * independent server (tests/integration/ws_server.py on Debian's python3-websockets), both on
 * 127.0.0.1: echo round trips matched by correlation id with counts that agree with what the
 * server saw, broadcast delivery counted by the server, each fault (bad accept key, a refused
 * upgrade, a masked frame, reserved bits, a bad opcode, close 1011, a close mid-frame, a 16 MiB
 * message, a ping flood, dropped replies) classified, every sent message accounted for, and
 * config/chat-1000ws.ini for a few seconds at reduced size with no unexpected failure; two
 * ws steps in one flow each with a ws object of its own that add up to the scenario's. */
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
static pid_t py_pid;

static void stop_all(void)
{
    server_stop(&srv);
    if (py_pid > 0) {
        kill(py_pid, SIGTERM);
        waitpid(py_pid, NULL, 0);
        py_pid = 0;
    }
}

TestSuite(ws, .fini = stop_all);

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Starts ws_server.py on a free port (wss with cert and key when given); skips the test when
 * python3-websockets is missing. */
static int python_start_tls(const char *cert, const char *key)
{
    if (system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") != 0)
        cr_skip_test("python3-websockets is not installed (make deps installs it)");
    int port = free_port();
    char ps[16], script[512];
    snprintf(ps, sizeof ps, "%d", port);
    snprintf(script, sizeof script, "%s/tests/integration/ws_server.py",
             getenv("SOURCE_DIR") ? getenv("SOURCE_DIR") : ".");
    py_pid = fork();
    cr_assert(py_pid >= 0);
    if (py_pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl("/usr/bin/python3", "python3", script, ps, cert, key, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(port); i++)
        sleep_s(0.025);
    cr_assert(port_open(port), "ws_server.py did not listen on %d", port);
    return port;
}

static int python_start(void)
{
    return python_start_tls(NULL, NULL);
}

/* ws.KEY of scenario "s". */
static double wsn(const blast_run *r, const char *key)
{
    json_t *v = json_object_get(json_object_get(r->json, "scenarios"), "s");
    v = json_object_get(json_object_get(v, "ws"), key);
    cr_assert(json_is_number(v), "no ws.%s in the JSON result", key);
    return json_number_value(v);
}

static double wsfail(const blast_run *r, const char *cls)
{
    json_t *v = json_object_get(json_object_get(r->json, "scenarios"), "s");
    v = json_object_get(json_object_get(json_object_get(v, "ws"), "failures"), cls);
    cr_assert(json_is_number(v), "no ws.failures.%s", cls);
    return json_number_value(v);
}

static double close_code(const blast_run *r, const char *code)
{
    json_t *v = json_object_get(json_object_get(r->json, "scenarios"), "s");
    v = json_object_get(json_object_get(json_object_get(v, "ws"), "close_codes"), code);
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* Every message sent ended one way, every session one way, and the step counts agree. */
static void assert_ws_accounted(const blast_run *r)
{
    double sent = wsn(r, "ws_msgs_sent");
    double ended = wsn(r, "replied") + wsn(r, "timed_out") + wsn(r, "cut") + wsn(r, "unexpected");
    cr_assert_eq(sent, ended, "%.0f messages sent, %.0f ended", sent, ended);
    double hs = wsn(r, "handshakes");
    cr_assert_eq(hs, wsn(r, "sessions_ok") + wsn(r, "sessions_failed"),
                 "%.0f handshakes, %.0f ok + %.0f failed", hs, wsn(r, "sessions_ok"),
                 wsn(r, "sessions_failed"));
    double classes = wsfail(r, "handshake") + wsfail(r, "accept") + wsfail(r, "ws_protocol") +
                     wsfail(r, "closed_by_server") + wsfail(r, "connection_lost");
    cr_assert_eq(classes, wsn(r, "sessions_failed"));
    cr_assert_eq(wsfail(r, "reply_timeout"), wsn(r, "timed_out"));
    assert_accounted(r, "s");
}

/* vus VUs, one session each: `messages` messages 100 ms apart, correlated by id. */
static const char *ini_for(const char *url, int vus, int messages, const char *more)
{
    static char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nduration = 20s\n\n[scenario s]\nexecutor = per-vu-iterations\n"
             "vus = %d\niterations = 1\nurl = %s\n"
             "ws_send = {\"id\":\"{{ vu }}-{{ rand(1, 1000000000) }}\",\"text\":\"hello\"}\n"
             "ws_interval = 100ms\nws_messages = %d\nreply_timeout = 700ms\n"
             "ws_expect = correlate $.id\n%s",
             vus, url, messages, more ? more : "");
    return ini;
}

static void run(blast_run *r, const char *ini)
{
    blast_exec(r, ini, NULL, 0, 60);
    cr_assert_not_null(r->json, "no JSON result: %s", r->stderr_text);
}

Test(ws, echo_round_trips_match_the_target)
{
    target_start(&srv);
    char url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/api/v1/ws", srv.port);
    blast_run r;
    run(&r, ini_for(url, 6, 5, "header = Origin: http://chat.example\n"));
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    assert_ws_accounted(&r);
    cr_assert_eq(wsn(&r, "ws_sessions"), 6);
    cr_assert_eq(wsn(&r, "ws_msgs_sent"), 30);
    cr_assert_eq(wsn(&r, "replied"), 30);
    cr_assert_eq(wsn(&r, "delivery_rate"), 1.0);
    cr_assert_eq(close_code(&r, "1000"), 6, "the server answered each close with 1000");
    json_t *st = target_stats(srv.port);
    cr_assert_eq(target_stat(st, "ws_sessions"), 6);
    cr_assert_eq(target_stat(st, "ws_msgs_received"), 30);
    cr_assert_eq(target_stat(st, "ws_msgs_sent"), 30);
    cr_assert_eq(target_stat(st, "ws_closes_received"), 6);
    cr_assert_eq(target_stat(st, "ws_protocol_errors"), 0, "every client frame was masked");
    json_decref(st);
    blast_run_free(&r);
}

/* Every member of the room gets every message: the server counts what it delivered, blast what
 * it received, and each sender finds its own message among them. */
Test(ws, broadcast_room_delivery_counted_by_the_server)
{
    target_start(&srv);
    char url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/api/v1/ws/room", srv.port);
    blast_run r;
    run(&r, ini_for(url, 4, 3, "ws_hold = 1500ms\n"));
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    assert_ws_accounted(&r);
    cr_assert_eq(wsn(&r, "ws_msgs_sent"), 12);
    cr_assert_eq(wsn(&r, "replied"), 12);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(target_stat(st, "ws_room_delivered"), 48, "12 messages to 4 members");
    cr_assert_eq(wsn(&r, "ws_msgs_received"), target_stat(st, "ws_room_delivered"));
    json_decref(st);
    blast_run_free(&r);
}

typedef struct fault_row {
    const char *query;
    const char *cls;  /* the failure class of every session, NULL: none fails */
    int sessions;     /* opened */
    int replied, timed_out, cut;
    const char *code; /* a close code each session records, or NULL */
    int cut_max;      /* when more may be sent before the fault lands: cut in [cut, cut_max] */
} fault_row;

static const fault_row TARGET_FAULTS[] = {
    {"?fault=bad_accept", "accept", 0, 0, 0, 0, NULL, 0},
    {"?status=403", "handshake", 0, 0, 0, 0, NULL, 0},
    {"?fault=masked", "ws_protocol", 2, 0, 0, 2, NULL, 0},
    {"?fault=rsv", "ws_protocol", 2, 0, 0, 2, NULL, 0},
    {"?fault=opcode", "ws_protocol", 2, 0, 0, 2, NULL, 0},
    {"?fault=close_1011", "closed_by_server", 2, 0, 0, 2, "1011", 0},
    {"?fault=close_mid_frame", "connection_lost", 2, 0, 0, 2, "1006", 0},
    {"?fault=big", "ws_protocol", 2, 0, 0, 2, NULL, 8},
    {"?drop=2", NULL, 2, 4, 4, 0, "1000", 0},
    {"?fault=ping_flood&n=40", NULL, 2, 8, 0, 0, "1000", 0},
    {"?fault=silent", NULL, 2, 0, 8, 0, "1000", 0},
};

static void fault_case(const blast_run *r, const fault_row *f)
{
    assert_ws_accounted(r);
    cr_assert_eq(wsn(r, "handshakes"), 2, "%s", f->query);
    cr_assert_eq(wsn(r, "ws_sessions"), f->sessions, "%s: sessions", f->query);
    cr_assert_eq(wsn(r, "sessions_failed"), f->cls ? 2 : 0, "%s: failed sessions", f->query);
    if (f->cls)
        cr_assert_eq(wsfail(r, f->cls), 2, "%s: class %s", f->query, f->cls);
    cr_assert_eq(wsn(r, "replied"), f->replied, "%s: replied %.0f (timed out %.0f, cut %.0f)", f->query, wsn(r, "replied"), wsn(r, "timed_out"), wsn(r, "cut"));
    cr_assert_eq(wsn(r, "timed_out"), f->timed_out, "%s: timed out", f->query);
    double cut = wsn(r, "cut");
    cr_assert(cut >= f->cut && cut <= (f->cut_max ? f->cut_max : f->cut), "%s: cut %.0f",
              f->query, cut);
    if (f->code)
        cr_assert_eq(close_code(r, f->code), 2, "%s: close code %s", f->query, f->code);
    /* 4: no step succeeded (every session failed) */
    cr_assert_eq(r->exit_code, f->cls ? 4 : 0, "%s: %s", f->query, r->stderr_text);
}

Test(ws, target_faults_are_classified)
{
    double pongs = 0;
    target_start(&srv);
    for (size_t i = 0; i < sizeof TARGET_FAULTS / sizeof TARGET_FAULTS[0]; i++) {
        const fault_row *f = &TARGET_FAULTS[i];
        char url[160];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/api/v1/ws%s", srv.port, f->query);
        blast_run r;
        run(&r, ini_for(url, 2, 4, NULL));
        fault_case(&r, f);
        if (strstr(f->query, "ping_flood")) {
            cr_assert_eq(wsn(&r, "pings_received"), 80);
            /* RFC 6455 5.5.3: a pong may answer only the latest of pings that came at once */
            pongs = wsn(&r, "pongs_sent");
            cr_assert(pongs >= 2 && pongs <= 80, "%.0f pongs", pongs);
        }
        blast_run_free(&r);
    }
    json_t *st = target_stats(srv.port);
    cr_assert_eq(target_stat(st, "ws_pongs_received"), pongs, "the server got every pong sent");
    cr_assert_eq(target_stat(st, "ws_open"), 0, "no session left open");
    json_decref(st);
}

static const fault_row PY_FAULTS[] = {
    {"/echo", NULL, 2, 8, 0, 0, "1000", 0},
    {"/badaccept", "accept", 0, 0, 0, 0, NULL, 0},
    {"/reject", "handshake", 0, 0, 0, 0, NULL, 0},
    {"/masked", "ws_protocol", 2, 0, 0, 2, NULL, 0},
    {"/close1011", "closed_by_server", 2, 0, 0, 2, "1011", 0},
    {"/midframe", "connection_lost", 2, 0, 0, 2, "1006", 0},
    {"/big", "ws_protocol", 2, 0, 0, 2, NULL, 8},
    {"/pingflood", NULL, 2, 8, 0, 0, "1000", 0},
};

/* A server blast's code has no part in: python3-websockets. */
Test(ws, independent_server_faults_are_classified)
{
    int port = python_start();
    double replied = 0;
    for (size_t i = 0; i < sizeof PY_FAULTS / sizeof PY_FAULTS[0]; i++) {
        const fault_row *f = &PY_FAULTS[i];
        char url[160];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", port, f->query);
        blast_run r;
        run(&r, ini_for(url, 2, 4, NULL));
        fault_case(&r, f);
        replied += wsn(&r, "replied");
        if (strcmp(f->query, "/pingflood") == 0)
            cr_assert_eq(wsn(&r, "pings_received"), 200);
        blast_run_free(&r);
    }
    /* the 16 MiB message is fine with a bound above it: it is then received and skipped */
    char url[160];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/big", port);
    blast_run r;
    run(&r, ini_for(url, 1, 2, "ws_max_message = 17MiB\n"));
    assert_ws_accounted(&r);
    cr_assert_eq(wsn(&r, "sessions_failed"), 0, "%s", r.stderr_text);
    cr_assert_eq(wsn(&r, "ws_msgs_received"), 3, "the big message and two echoes");
    cr_assert_eq(wsn(&r, "replied"), 2);
    replied += 2;
    blast_run_free(&r);

    char cmd[160];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import urllib.request,sys;"
             "sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:%d/stats').read()"
             ".decode())\"",
             port);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    char buf[1024] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    pclose(f);
    buf[n] = '\0';
    json_error_t e;
    json_t *st = json_loads(buf, 0, &e);
    cr_assert_not_null(st, "stats: %s", buf);
    cr_assert_eq(json_integer_value(json_object_get(st, "pongs")), 200,
                 "the server got a pong for each of its 200 pings");
    /* What the server sent: the echoes blast matched, and for /big (twice by default, where
     * blast stops at the message over its bound; once with the bound raised) the 16 MiB
     * message and, by default, the echo after it. Those two count only when their send ended
     * before the server saw blast's close (blast fails the session at the big frame's header),
     * so only the bounds are sure. */
    double sent = (double)json_integer_value(json_object_get(st, "sent"));
    cr_assert(sent >= replied + 1 && sent <= replied + 5, "server sent %.0f, blast matched %.0f",
              sent, replied);
    json_t *closes = json_object_get(st, "closes");
    cr_assert_eq(json_integer_value(json_object_get(closes, "1000")), 5,
                 "blast closed each finished session with 1000 (echo, pingflood, big)");
    json_decref(st);
}

/* The seed file, a few seconds at reduced size: every session and message succeeds. */
Test(ws, chat_seed_reduced_runs_clean)
{
    target_start(&srv);
    char base[64];
    snprintf(base, sizeof base, "BASE_URL=http://127.0.0.1:%d", srv.port);
    const char *extra[] = {"-e", base, "-e", "WS_VUS=100", "-e", "DURATION=3s",
                           "-e", "WS_INTERVAL=500ms", NULL};
    char path[256], *ini = NULL;
    snprintf(path, sizeof path, "%s/config/chat-1000ws.ini",
             getenv("SOURCE_DIR") ? getenv("SOURCE_DIR") : ".");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t cap = 1 << 16, n;
    ini = calloc(1, cap);
    n = fread(ini, 1, cap - 1, f);
    fclose(f);
    ini[n] = '\0';
    blast_run r;
    blast_exec(&r, ini, extra, 0, 60);
    free(ini);
    cr_assert_not_null(r.json, "%s", r.stderr_text);
    cr_assert_eq(r.exit_code, 0, "thresholds pass: %s", r.stderr_text);
    json_t *sc = json_object_get(json_object_get(r.json, "scenarios"), "chat");
    json_t *w = json_object_get(sc, "ws");
    cr_assert_eq(json_number_value(json_object_get(w, "ws_sessions")), 100);
    cr_assert_eq(json_number_value(json_object_get(w, "sessions_failed")), 0);
    double sent = json_number_value(json_object_get(w, "ws_msgs_sent"));
    cr_assert_eq(sent, 500, "5 messages (0.5 s .. 2.5 s) in each 3 s session");
    cr_assert_eq(json_number_value(json_object_get(w, "replied")), sent);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(target_stat(st, "ws_msgs_received"), sent);
    json_decref(st);
    blast_run_free(&r);
}

Test(ws, bad_keys_are_config_errors)
{
    static const struct {
        const char *keys, *want;
    } rows[] = {
        {"ws_send = x\nws_expect = maybe\n", "ws_expect: 'maybe' is not an expectation"},
        {"ws_send = x\nws_rate = 2/s\nws_interval = 1s\n", "cannot be combined with ws_interval"},
        {"ws_send = x\nheader = Upgrade: h2c\n", ".ini:9: [scenario s] header: a WebSocket step sets Upgrade"},
        {"ws_send = x\nws_interval = soon\n", "is not a duration"},
        {"ws_messages = 3\n", "has no ws_send"},
        {"ws_expect = correlate $.id\n", "correlate needs ws_send"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char ini[512];
        snprintf(ini, sizeof ini,
                 "[global]\nduration = 1s\n\n[scenario s]\nexecutor = constant-vus\nvus = 1\n"
                 "url = ws://127.0.0.1:9/x\n%s",
                 rows[i].keys);
        blast_run r;
        blast_exec(&r, ini, NULL, 0, 20);
        cr_assert_eq(r.exit_code, 2, "%s: exit %d", rows[i].keys, r.exit_code);
        cr_assert(strstr(r.stderr_text, rows[i].want), "%s: %s", rows[i].keys, r.stderr_text);
        cr_assert(strstr(r.stderr_text, ".ini:"), "file:line in %s", r.stderr_text);
        blast_run_free(&r);
    }
}

/* wss:// through blast's TLS layer, verified against a CA the test makes, to the independent
 * server: the same echo round trips as over ws://. */
Test(ws, wss_echo_through_tls)
{
    char dir[64] = "/tmp/blast-it.XXXXXX", cmd[1600];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "(cd %s && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
             "-out ca.pem -days 2 -subj /CN=blast-ws-ca && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key "
             "-out srv.csr -subj /CN=localhost && "
             "printf 'subjectAltName=DNS:localhost\\n' > ext && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem "
             "-days 2 -extfile ext) >/dev/null 2>&1",
             dir);
    cr_assert_eq(system(cmd), 0, "openssl failed");
    char cert[96], key[96];
    snprintf(cert, sizeof cert, "%s/srv.pem", dir);
    snprintf(key, sizeof key, "%s/srv.key", dir);
    int port = python_start_tls(cert, key);
    char url[96], more[256];
    snprintf(url, sizeof url, "wss://127.0.0.1:%d/echo", port);
    snprintf(more, sizeof more, "server_name = localhost\nca_file = %s/ca.pem\n", dir);
    blast_run r;
    run(&r, ini_for(url, 3, 4, more));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    assert_ws_accounted(&r);
    cr_assert_eq(wsn(&r, "ws_sessions"), 3);
    cr_assert_eq(wsn(&r, "replied"), 12);
    cr_assert_eq(close_code(&r, "1000"), 3);
    blast_run_free(&r);
}

/* The target's endpoints as an independent client (python3-websockets) sees them. */
Test(ws, target_endpoints_from_an_independent_client)
{
    if (system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") != 0)
        cr_skip_test("python3-websockets is not installed (make deps installs it)");
    target_start(&srv);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "timeout 60 /usr/bin/python3 %s/tests/integration/ws_client.py %d 2>&1",
             getenv("SOURCE_DIR") ? getenv("SOURCE_DIR") : ".", srv.port);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    char out[4096] = {0};
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int rc = pclose(f);
    cr_assert_eq(rc, 0, "ws_client.py failed:\n%s", out);
    cr_assert(strstr(out, "ok 16 MiB message") && !strstr(out, "FAIL"), "%s", out);
    json_t *st = target_stats(srv.port);
    cr_assert_eq(target_stat(st, "ws_rejected"), 1, "the 403");
    cr_assert_eq(target_stat(st, "ws_room_delivered"), 2);
    json_decref(st);
}

static long ws_allocations(int port, int messages, const char *so)
{
    char url[96], ini[2048];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/api/v1/ws", port);
    snprintf(ini, sizeof ini, "%s", ini_for(url, 4, messages, "ws_ping = 50ms\n"));
    /* ini_for's 100 ms interval: shorten it so that 200 messages take 2 s */
    char *iv = strstr(ini, "ws_interval = 100ms");
    cr_assert_not_null(iv);
    memcpy(iv, "ws_interval = 010ms", 19);
    blast_run r;
    long n = blast_exec_counting(&r, ini, so, 60);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    cr_assert_eq(wsn(&r, "replied"), 4.0 * messages, "%s", r.stderr_text);
    blast_run_free(&r);
    return n;
}

/* Messages, replies, pings and pongs allocate nothing: 50 or 200 messages per session, the same
 * count of allocations. */
Test(ws, no_allocation_per_message, .timeout = 120)
{
    const char *so = getenv("MALLOC_COUNT_SO");
    if (!so || !*so)
        cr_skip_test("MALLOC_COUNT_SO not set (sanitizer builds have their own allocator)");
    target_start(&srv);
    long a = ws_allocations(srv.port, 50, so);
    long b = ws_allocations(srv.port, 200, so);
    printf("ws allocations: %ld (50 messages a session), %ld (200)\n", a, b);
    cr_assert(a > 0, "the counter saw no allocation at all: is the preload working?");
    cr_assert_eq(a, b, "allocations grew with messages: %ld -> %ld", a, b);
}

/* steps.STEP.ws.KEY of scenario "s" (-1 when the step has no ws object). */
static double step_ws(const blast_run *r, const char *step, const char *key)
{
    json_t *v = json_object_get(json_object_get(r->json, "scenarios"), "s");
    v = json_object_get(json_object_get(json_object_get(v, "steps"), step), "ws");
    if (!v)
        return -1;
    v = json_object_get(v, key);
    cr_assert(json_is_number(v), "no steps.%s.ws.%s in the JSON result", step, key);
    return json_number_value(v);
}

/* Two WebSocket steps in one flow, with a plain HTTP step between them: each ws step has its
 * own ws object, the two add up to the scenario's, and the HTTP step has none. */
Test(ws, each_ws_step_has_its_own_ws_object)
{
    target_start(&srv);
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nduration = 20s\nbase_url = http://127.0.0.1:%d\n\n"
             "[scenario s]\nexecutor = per-vu-iterations\nvus = 4\niterations = 1\n"
             "flow = both\n\n[flow both]\nstep = chat\nstep = plain\nstep = echo2\n\n"
             "[step chat]\npath = /api/v1/ws\nws_send = {\"id\":\"a{{ vu }}-{{ seq }}\"}\n"
             "ws_interval = 50ms\nws_messages = 3\nreply_timeout = 700ms\n"
             "ws_expect = correlate $.id\n\n"
             "[step plain]\npath = /\n\n"
             "[step echo2]\npath = /api/v1/ws\nws_send = {\"id\":\"b{{ vu }}-{{ seq }}\"}\n"
             "ws_interval = 50ms\nws_messages = 2\nreply_timeout = 700ms\n"
             "ws_expect = correlate $.id\n",
             srv.port);
    blast_run r;
    run(&r, ini);
    cr_assert_eq(r.exit_code, 0, "%s", r.stderr_text);
    assert_ws_accounted(&r);
    cr_assert_eq(step_ws(&r, "plain", "ws_sessions"), -1, "an HTTP step has no ws object");
    cr_assert_eq(step_ws(&r, "chat", "ws_msgs_sent"), 12);
    cr_assert_eq(step_ws(&r, "echo2", "ws_msgs_sent"), 8);
    const char *keys[] = {"ws_sessions",    "handshakes", "sessions_ok", "sessions_failed",
                          "ws_msgs_sent",   "replied",    "timed_out",   "cut",
                          "ws_msgs_received", "closed_by_client"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert_eq(step_ws(&r, "chat", keys[i]) + step_ws(&r, "echo2", keys[i]),
                     wsn(&r, keys[i]), "%s: %.0f + %.0f steps, %.0f scenario", keys[i],
                     step_ws(&r, "chat", keys[i]), step_ws(&r, "echo2", keys[i]),
                     wsn(&r, keys[i]));
    cr_assert_eq(step_ws(&r, "chat", "ws_sessions"), 4);
    cr_assert_eq(step_ws(&r, "echo2", "replied"), 8);
    cr_assert_eq(step_ws(&r, "chat", "delivery_rate"), 1.0);
    /* the histograms too: each step's message latency counts add up to the scenario's */
    json_t *sc = json_object_get(json_object_get(r.json, "scenarios"), "s");
    json_t *st = json_object_get(sc, "steps");
    double n[3];
    json_t *objs[3] = {json_object_get(json_object_get(st, "chat"), "ws"),
                       json_object_get(json_object_get(st, "echo2"), "ws"),
                       json_object_get(sc, "ws")};
    for (int i = 0; i < 3; i++) {
        json_t *h = json_object_get(json_object_get(objs[i], "msg_latency_ms"), "count");
        cr_assert(json_is_number(h), "no msg_latency_ms.count");
        n[i] = json_number_value(h);
    }
    cr_assert_eq(n[0], 12);
    cr_assert_eq(n[1], 8);
    cr_assert_eq(n[0] + n[1], n[2]);
    blast_run_free(&r);
}
