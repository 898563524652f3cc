/* Integration: the bundled target server's workload routes, spoken to with raw bytes over
 * loopback sockets (a tiny client below, no blast involved): every /api/v1/ route and its wrong
 * methods, HEAD, upload ids, bearer tokens and session cookies, heartbeat ids and bodies, guest
 * logins (their deviceId) and the guest token the engagement route checks, chunked request bodies
 * split at odd places (with extensions and trailers, and malformed ones), and the /admin/stats
 * counters (the per-service ones too), which must move by exactly what each request should add. */
#include <criterion/criterion.h>
#include <jansson.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

/* ---- a tiny HTTP/1.1 client: raw bytes out, Content-Length framed responses in ---- */

typedef struct client {
    int fd;
    size_t len; /* bytes received and not yet consumed */
    char buf[1 << 16];
} client;

typedef struct resp {
    int status;
    char head[2048]; /* status line and fields, NUL-terminated */
    char body[20000];
    size_t body_len;
} resp;

static void cl_open(client *c, int port)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(c->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect to the target");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {.tv_sec = 3};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void cl_close(client *c)
{
    close(c->fd);
}

static void cl_send(client *c, const char *s, size_t n)
{
    cr_assert_eq(write(c->fd, s, n), (ssize_t)n, "short write");
}

static void cl_sends(client *c, const char *s)
{
    cl_send(c, s, strlen(s));
}

/* Writes each piece on its own, 15 ms apart, so that the server reads them separately. */
static void cl_send_parts(client *c, const char *const *parts)
{
    for (; *parts; parts++) {
        cl_sends(c, *parts);
        sleep_s(0.015);
    }
}

/* One read into the buffer; false on EOF, reset or timeout. */
static bool cl_fill(client *c)
{
    if (c->len == sizeof(c->buf))
        return false;
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    return true;
}

static void cl_consume(client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* The value of header field name in r (case-insensitive name), or NULL; written into val. */
static const char *hdr(const resp *r, const char *name, char *val, size_t vn)
{
    char key[64];
    snprintf(key, sizeof(key), "\r\n%s:", name);
    const char *p = strcasestr(r->head, key);
    if (!p)
        return NULL;
    p += strlen(key);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r");
    snprintf(val, vn, "%.*s", (int)(n < vn ? n : vn - 1), p);
    return val;
}

/* Reads one response; its body is Content-Length bytes unless head_only. False when cut short. */
static bool cl_read(client *c, resp *r, bool head_only)
{
    memset(r, 0, sizeof(*r));
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
        if (!cl_fill(c))
            return false;
    }
    size_t hl = (size_t)(end - c->buf) + 4;
    cr_assert(hl < sizeof(r->head), "response head of %zu bytes", hl);
    memcpy(r->head, c->buf, hl);
    cl_consume(c, hl);
    if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
        return false;
    char v[32];
    size_t blen = hdr(r, "Content-Length", v, sizeof(v)) ? strtoul(v, NULL, 10) : 0;
    if (head_only || r->status < 200)
        blen = 0;
    cr_assert(blen < sizeof(r->body), "body of %zu bytes", blen);
    while (c->len < blen) {
        if (!cl_fill(c))
            return false;
    }
    memcpy(r->body, c->buf, blen);
    r->body_len = blen;
    cl_consume(c, blen);
    return true;
}

/* Whether the server closes the connection with nothing more to say. */
static bool cl_closed(client *c)
{
    return c->len == 0 && !cl_fill(c);
}

/* Sends req on c and reads its response (no body when head_only), asserting it arrives. */
static void exchange(client *c, const char *req, resp *r, bool head_only, const char *what)
{
    cl_sends(c, req);
    cr_assert(cl_read(c, r, head_only), "%s: no complete response", what);
}

/* ---- /admin/stats ---- */

static const char *const counters[] = {
    "requests",
    "connections",
    "open",
    "uploads_initiated",
    "chunks_ok",
    "chunks_rejected",
    "chunk_body_bytes",
    "logins",
    "auth_ok",
    "auth_rejected",
    "session_ok",
    "session_rejected",
    "hls_master",
    "hls_playlist",
    "hls_segment",
    "search",
    "tracks_list",
    "track_detail",
    "products",
    "orders",
    "heartbeats",
    "heartbeat_agents",
    "heartbeat_bad_body",
    "chunked_bodies",
    "guest_inits",
    "engagement_ok",
    "engagement_rejected",
    "home_feed",
    "knowledge_requests",
    "analytics_requests",
    "content_requests",
    "support_requests",
    "auth_requests",
    /* tools/target/ws.c */
    "ws_sessions",
    "ws_open",
    "ws_rejected",
    "ws_msgs_received",
    "ws_msgs_sent",
    "ws_room_delivered",
    "ws_pings_sent",
    "ws_pongs_received",
    "ws_closes_received",
    "ws_protocol_errors",
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

/* The counters, in counters[] order, read on a connection of its own; raw gets the body. */
static void stats(int port, long long *v, char *raw, size_t rawn)
{
    client *c = malloc(sizeof(*c));
    resp *r = malloc(sizeof(*r));
    cl_open(c, port);
    exchange(c, "GET /admin/stats HTTP/1.1\r\nHost: t\r\n\r\n", r, false, "stats");
    cl_close(c);
    cr_assert_eq(r->status, 200);
    json_error_t err;
    json_t *o = json_loadb(r->body, r->body_len, 0, &err);
    cr_assert_not_null(o, "stats body is not JSON: %s", err.text);
    cr_assert_eq(json_object_size(o), NCOUNTERS, "stats has %zu keys", json_object_size(o));
    for (size_t i = 0; i < NCOUNTERS; i++) {
        json_t *x = json_object_get(o, counters[i]);
        cr_assert(json_is_integer(x), "stats.%s missing or not an integer", counters[i]);
        v[i] = json_integer_value(x);
    }
    json_decref(o);
    if (raw)
        snprintf(raw, rawn, "%.*s", (int)r->body_len, r->body);
    free(r);
    free(c);
}

static long long counter(const long long *v, const char *name)
{
    for (size_t i = 0; i < NCOUNTERS; i++) {
        if (strcmp(counters[i], name) == 0)
            return v[i];
    }
    cr_assert_fail("no counter %s", name);
    return 0;
}

/* Asserts that the counters named in want ("name=delta" rows) moved by exactly that from before
 * to after, and that every other route counter stayed put. */
static void assert_moved(const long long *before, const long long *after, const char *const *want,
                         const char *what)
{
    for (size_t i = 3; i < NCOUNTERS; i++) {
        long long d = 0;
        for (const char *const *w = want; *w; w++) {
            size_t n = strcspn(*w, "=");
            if (n == strlen(counters[i]) && strncmp(*w, counters[i], n) == 0)
                d = atoll(*w + n + 1);
        }
        cr_assert_eq(after[i] - before[i], d, "%s: %s moved by %lld, want %lld", what, counters[i],
                     after[i] - before[i], d);
    }
}

/* ---- routes ---- */

typedef struct route_row {
    const char *name;
    const char *req;
    int status;
    const char *ctype;
    const char *body;   /* exact body, or NULL */
    const char *has[3]; /* substrings of the body */
    const char *header; /* "Name: value" that must be present exactly, or NULL */
    long body_len;      /* exact length when > 0 */
} route_row;

#define POST0(path) "POST " path " HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"
#define JSON "application/json"
#define M3U8 "application/vnd.apple.mpegurl"

/* In order, on one keep-alive connection: ids count up from 1 on a fresh server. */
static const route_row route_rows[] = {
    {.name = "initiate 1",
     .req = POST0("/api/v1/tracks/upload/initiate"),
     .status = 200,
     .ctype = JSON,
     .body = "{\"data\":{\"upload_id\":\"up-1\"}}"},
    {.name = "initiate 2",
     .req = POST0("/api/v1/tracks/upload/initiate"),
     .status = 200,
     .ctype = JSON,
     .body = "{\"data\":{\"upload_id\":\"up-2\"}}"},
    {.name = "chunk up-2",
     .req = "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nX-Upload-Id: up-2\r\n"
            "Content-Length: 5\r\n\r\nhello",
     .status = 200,
     .ctype = JSON,
     .body = "{\"ok\":true}"},
    {.name = "chunk up-1, lower-case name, no blank",
     .req = "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nx-upload-id:up-1 \r\n"
            "Content-Length: 0\r\n\r\n",
     .status = 200,
     .ctype = JSON,
     .body = "{\"ok\":true}"},
    {.name = "chunk up-3 (not issued)",
     .req = "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nX-Upload-Id: up-3\r\n"
            "Content-Length: 3\r\n\r\nabc",
     .status = 404,
     .ctype = JSON,
     .body = "{\"error\":\"unknown upload id\"}"},
    {.name = "chunk up-0",
     .req = "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nX-Upload-Id: up-0\r\n\r\n",
     .status = 404,
     .ctype = JSON,
     .body = "{\"error\":\"unknown upload id\"}"},
    {.name = "chunk up-01",
     .req = "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nX-Upload-Id: up-01\r\n\r\n",
     .status = 404,
     .ctype = JSON,
     .body = "{\"error\":\"unknown upload id\"}"},
    {.name = "chunk without id",
     .req = POST0("/api/v1/tracks/upload/chunk"),
     .status = 404,
     .ctype = JSON,
     .body = "{\"error\":\"unknown upload id\"}"},
    {.name = "hls master",
     .req = GET("/api/v1/tracks/42/hls/master.m3u8"),
     .status = 200,
     .ctype = M3U8,
     .has = {"#EXTM3U\n", "#EXT-X-STREAM-INF:", "\n256k/playlist.m3u8\n"}},
    {.name = "hls playlist",
     .req = GET("/api/v1/tracks/42/hls/256k/playlist.m3u8"),
     .status = 200,
     .ctype = M3U8,
     .has = {"\nsegment-0.ts\n", "\nsegment-3.ts\n#EXT-X-ENDLIST\n", "#EXT-X-TARGETDURATION:"}},
    {.name = "hls segment",
     .req = GET("/api/v1/tracks/42/hls/256k/segment-3.ts"),
     .status = 200,
     .ctype = "video/mp2t",
     .has = {"abcdefghijklmnopqrstuvwxyz"},
     .body_len = 16384},
    {.name = "login 1",
     .req = POST0("/api/v1/auth/login"),
     .status = 200,
     .ctype = JSON,
     .body = "{\"tokens\":{\"accessToken\":\"tok-1\",\"refreshToken\":\"ref-1\"}}",
     .header = "Set-Cookie: session=s-1; Path=/; HttpOnly"},
    {.name = "login 2",
     .req = "POST /api/v1/auth/login HTTP/1.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 27\r\n\r\n{\"user\":\"a\",\"password\":\"b\"}",
     .status = 200,
     .ctype = JSON,
     .body = "{\"tokens\":{\"accessToken\":\"tok-2\",\"refreshToken\":\"ref-2\"}}",
     .header = "Set-Cookie: session=s-2; Path=/; HttpOnly"},
    {.name = "me tok-2",
     .req = "GET /api/v1/me HTTP/1.1\r\nAuthorization: Bearer tok-2\r\n\r\n",
     .status = 200,
     .ctype = JSON,
     .body = "{\"user\":\"u-2\"}"},
    {.name = "me without token",
     .req = GET("/api/v1/me"),
     .status = 401,
     .ctype = JSON,
     .body = "{\"error\":\"unauthorized\"}",
     .header = "WWW-Authenticate: Bearer"},
    {.name = "session s-1",
     .req = "GET /api/v1/session HTTP/1.1\r\nCookie: session=s-1\r\n\r\n",
     .status = 200,
     .ctype = JSON,
     .body = "{\"user\":\"u-1\",\"session\":\"s-1\"}"},
    {.name = "session without cookie",
     .req = GET("/api/v1/session"),
     .status = 401,
     .ctype = JSON,
     .body = "{\"error\":\"unauthorized\"}",
     .header = "WWW-Authenticate: Bearer"},
    {.name = "guest init 1",
     .req =
         "POST /api/v1/auth/guest/init HTTP/1.1\r\nContent-Type: application/json\r\n"
         "Content-Length: 76\r\n\r\n"
         "{\"deviceId\":\"prod-test-1-1700000000000\",\"deviceInfo\":{\"platform\":\"android\"}}",
     .status = 200,
     .ctype = JSON,
     .body = "{\"tokens\":{\"accessToken\":\"gt-1\",\"refreshToken\":\"gr-1\"}}"},
    {.name = "guest init without deviceId",
     .req = "POST /api/v1/auth/guest/init HTTP/1.1\r\nContent-Length: 16\r\n\r\n"
            "{\"device\":\"abc\"}",
     .status = 400,
     .ctype = JSON,
     .body = "{\"error\":\"deviceId required\"}"},
    {.name = "engagement gt-1",
     .req = "GET /api/v1/engagement/series/saved HTTP/1.1\r\nAuthorization: Bearer gt-1\r\n\r\n",
     .status = 200,
     .ctype = JSON,
     .has = {"{\"series\":[{"}},
    {.name = "engagement without token",
     .req = GET("/api/v1/engagement/series/saved"),
     .status = 401,
     .ctype = JSON,
     .body = "{\"error\":\"unauthorized\"}",
     .header = "WWW-Authenticate: Bearer"},
    {.name = "home feed",
     .req = GET("/api/v1/content/mobile/home"),
     .status = 200,
     .ctype = JSON,
     .has = {"{\"sections\":[{"}},
    {.name = "a service path without a route",
     .req = GET("/api/v1/knowledge/search?q=battery"),
     .status = 200,
     .ctype = "text/plain",
     .body = "ok\n"},
    {.name = "search",
     .req = GET("/api/v1/search?q=lofi%20beats"),
     .status = 200,
     .ctype = JSON,
     .has = {"{\"results\":[{", "]}"}},
    {.name = "tracks list",
     .req = GET("/api/v1/tracks?page=1&limit=20"),
     .status = 200,
     .ctype = JSON,
     .has = {"[{\"id\":1,"}},
    {.name = "track detail",
     .req = GET("/api/v1/tracks/2"),
     .status = 200,
     .ctype = JSON,
     .has = {"{\"id\":2,"}},
    {.name = "products",
     .req = GET("/api/v1/marketplace/products?limit=10"),
     .status = 200,
     .ctype = JSON,
     .has = {"[{\"id\":1,"}},
    {.name = "order (the connection stays open)",
     .req = "POST /api/v1/marketplace/orders HTTP/1.1\r\nContent-Length: 13\r\n\r\n"
            "{\"product\":1}",
     .status = 400,
     .ctype = JSON,
     .body = "{\"error\":\"unknown product\"}"},
    {.name = "heartbeat",
     .req = "POST /api/v1/agents/ag-loadtest-00007/heartbeat HTTP/1.1\r\n"
            "Content-Length: 30\r\n\r\n{\"hostname\":\"loadtest-00007.\"}",
     .status = 200,
     .ctype = JSON,
     .body = "{\"status\":\"ok\"}"},
    {.name = "legacy heartbeat id",
     .req = POST0("/api/v1/agents/ag-00001/heartbeat"),
     .status = 200,
     .ctype = "text/plain",
     .body = "ok\n"},
    {.name = "unknown api path",
     .req = GET("/api/v1/nothing/here"),
     .status = 200,
     .ctype = "text/plain",
     .body = "ok\n"},
    {.name = "segment not a number",
     .req = GET("/api/v1/tracks/1/hls/256k/segment-x.ts"),
     .status = 200,
     .ctype = "text/plain",
     .body = "ok\n"},
    {.name = "root", .req = GET("/"), .status = 200, .ctype = "text/plain", .body = "ok\n"},
};

Test(target, routes, .timeout = 30)
{
    server t;
    target_start(&t);
    static client c;
    static resp r;
    cl_open(&c, t.port);
    for (size_t i = 0; i < sizeof(route_rows) / sizeof(route_rows[0]); i++) {
        const route_row *w = &route_rows[i];
        char v[256], want[256];
        exchange(&c, w->req, &r, false, w->name);
        cr_assert_eq(r.status, w->status, "%s: status %d, want %d", w->name, r.status, w->status);
        cr_assert_not_null(hdr(&r, "Content-Type", v, sizeof(v)), "%s: no Content-Type", w->name);
        cr_assert_str_eq(v, w->ctype, "%s: Content-Type %s", w->name, v);
        cr_assert_null(hdr(&r, "Connection", v, sizeof(v)), "%s: Connection: %s", w->name, v);
        if (w->body)
            cr_assert(r.body_len == strlen(w->body) && memcmp(r.body, w->body, r.body_len) == 0,
                      "%s: body '%.*s', want '%s'", w->name, (int)r.body_len, r.body, w->body);
        for (int k = 0; k < 3 && w->has[k]; k++)
            cr_assert_not_null(memmem(r.body, r.body_len, w->has[k], strlen(w->has[k])),
                               "%s: body lacks '%s'", w->name, w->has[k]);
        if (w->header) {
            size_t n = strcspn(w->header, ":");
            snprintf(want, sizeof(want), "%.*s", (int)n, w->header);
            cr_assert_not_null(hdr(&r, want, v, sizeof(v)), "%s: no %s", w->name, want);
            cr_assert_str_eq(v, w->header + n + 2, "%s: %s: %s", w->name, want, v);
        }
        if (w->body_len > 0)
            cr_assert_eq((long)r.body_len, w->body_len, "%s: %zu body bytes", w->name, r.body_len);
        if (strcmp(w->ctype, JSON) == 0) {
            json_error_t err;
            json_t *o = json_loadb(r.body, r.body_len, 0, &err);
            cr_assert_not_null(o, "%s: body is not JSON: %s", w->name, err.text);
            json_decref(o);
        }
    }
    cl_close(&c);
    server_stop(&t);
}

/* ---- methods and HEAD ---- */

typedef struct method_row {
    const char *method, *path, *allow;
} method_row;

static const method_row method_rows[] = {
    {"GET", "/api/v1/tracks/upload/initiate", "POST"},
    {"PUT", "/api/v1/tracks/upload/chunk", "POST"},
    {"POST", "/api/v1/tracks/9/hls/master.m3u8", "GET, HEAD"},
    {"DELETE", "/api/v1/tracks/9/hls/128k/playlist.m3u8", "GET, HEAD"},
    {"POST", "/api/v1/tracks/9/hls/128k/segment-0.ts", "GET, HEAD"},
    {"GET", "/api/v1/auth/login", "POST"},
    {"POST", "/api/v1/me", "GET, HEAD"},
    {"PUT", "/api/v1/session", "GET, HEAD"},
    {"POST", "/api/v1/search", "GET, HEAD"},
    {"POST", "/api/v1/tracks", "GET, HEAD"},
    {"PATCH", "/api/v1/tracks/9", "GET, HEAD"},
    {"POST", "/api/v1/marketplace/products", "GET, HEAD"},
    {"GET", "/api/v1/marketplace/orders", "POST"},
    {"GET", "/api/v1/agents/ag-loadtest-00001/heartbeat", "POST"},
    {"post", "/api/v1/auth/login", "POST"}, /* methods are case-sensitive */
    {"HEAD", "/api/v1/auth/login", "POST"},
    {"GET", "/api/v1/auth/guest/init", "POST"},
    {"POST", "/api/v1/engagement/series/saved", "GET, HEAD"},
    {"PUT", "/api/v1/content/mobile/home", "GET, HEAD"},
};

Test(target, wrong_methods, .timeout = 30)
{
    server t;
    target_start(&t);
    long long before[NCOUNTERS], after[NCOUNTERS];
    stats(t.port, before, NULL, 0);
    static client c;
    static resp r;
    cl_open(&c, t.port);
    for (size_t i = 0; i < sizeof(method_rows) / sizeof(method_rows[0]); i++) {
        const method_row *w = &method_rows[i];
        char req[256], v[64];
        bool head = strcmp(w->method, "HEAD") == 0;
        snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", w->method,
                 w->path);
        exchange(&c, req, &r, head, w->path);
        cr_assert_eq(r.status, 405, "%s %s: status %d", w->method, w->path, r.status);
        cr_assert_not_null(hdr(&r, "Allow", v, sizeof(v)), "%s %s: no Allow", w->method, w->path);
        cr_assert_str_eq(v, w->allow, "%s %s: Allow: %s", w->method, w->path, v);
        if (!head)
            cr_assert_str_eq(r.body, "{\"error\":\"method not allowed\"}", "%s %s: body %s",
                             w->method, w->path, r.body);
    }
    /* A HEAD answer had no body: the next response starts right after its head. */
    exchange(&c, GET("/"), &r, false, "after HEAD");
    cr_assert_str_eq(r.body, "ok\n", "the response after HEAD: %s", r.body);
    cl_close(&c);
    stats(t.port, after, NULL, 0);
    /* A service counter counts every request under its prefix, refused ones too. */
    static const char *const want[] = {"auth_requests=4", "content_requests=1", NULL};
    assert_moved(before, after, want, "405s");
    server_stop(&t);
}

static const char *const head_paths[] = {
    "/api/v1/tracks/1/hls/master.m3u8",
    "/api/v1/tracks/1/hls/256k/playlist.m3u8",
    "/api/v1/tracks/1/hls/256k/segment-0.ts",
    "/api/v1/search?q=x",
    "/api/v1/tracks",
    "/api/v1/tracks/1",
    "/api/v1/marketplace/products",
    "/api/v1/me",
    "/api/v1/engagement/series/saved",
    "/api/v1/content/mobile/home",
};

/* HEAD answers with GET's fields and Content-Length and no body, pipelined behind a GET. */
Test(target, head_has_no_body, .timeout = 30)
{
    server t;
    target_start(&t);
    static client c;
    static resp g, h, after;
    cl_open(&c, t.port);
    for (size_t i = 0; i < sizeof(head_paths) / sizeof(head_paths[0]); i++) {
        char req[512], gl[32], hl[32];
        const char *p = head_paths[i];
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\n\r\nHEAD %s HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", p, p);
        cl_sends(&c, req);
        cr_assert(cl_read(&c, &g, false) && cl_read(&c, &h, true) && cl_read(&c, &after, false),
                  "%s: responses cut short", p);
        cr_assert_eq(h.status, g.status, "%s: HEAD %d, GET %d", p, h.status, g.status);
        cr_assert_str_eq(hdr(&h, "Content-Length", hl, sizeof(hl)),
                         hdr(&g, "Content-Length", gl, sizeof(gl)), "%s: lengths differ", p);
        cr_assert_str_eq(after.body, "ok\n", "%s: a body followed the HEAD answer", p);
    }
    cl_close(&c);
    server_stop(&t);
}

/* ---- chunked request bodies ---- */

typedef struct chunk_row {
    const char *name;
    const char *te;       /* header lines replacing "Transfer-Encoding: chunked\r\n" */
    const char *parts[8]; /* the body, written piece by piece */
    int status;
    bool fin;        /* half-close after the parts */
    long long bytes; /* chunk_body_bytes it adds (partial bodies count what arrived) */
    int chunked;     /* chunked_bodies it adds */
} chunk_row;

static char long_ext[1100]; /* past the 1024-byte chunk-size line limit */
static char long_trailer[9000];

#define TE_CHUNKED "Transfer-Encoding: chunked\r\n"

static const chunk_row chunk_rows[] = {
    {"one chunk", NULL, {"5\r\nhello\r\n0\r\n\r\n"}, 200, false, 5, 1},
    {"split everywhere",
     NULL,
     {"5", "\r", "\nhel", "lo\r", "\n0\r\n", "\r", "\n"},
     200,
     false,
     5,
     1},
    {"two chunks, upper-case hex",
     NULL,
     {"A\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n"},
     200,
     false,
     11,
     1},
    {"extensions",
     NULL,
     {"5;name=value;flag\r\nhello\r\n0;last=\"a b\"\r\n\r\n"},
     200,
     false,
     5,
     1},
    {"blanks before an extension", NULL, {"5 \t;a=b\r\nhello\r\n0\r\n\r\n"}, 200, false, 5, 1},
    {"trailer",
     NULL,
     {"5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:1\r\n\r\n"},
     200,
     false,
     5,
     1},
    {"trailer split", NULL, {"3\r\nabc\r\n0\r\nX-T", "rail: v\r", "\n\r", "\n"}, 200, false, 3, 1},
    {"leading zeros", NULL, {"0005\r\nhello\r\n000\r\n\r\n"}, 200, false, 5, 1},
    {"empty body", NULL, {"0\r\n\r\n"}, 200, false, 0, 1},
    {"coding name is case-insensitive",
     "Transfer-Encoding: Chunked\r\n",
     {"1\r\nz\r\n0\r\n\r\n"},
     200,
     false,
     1,
     1},
    {"bad hex digit", NULL, {"5g\r\nhello\r\n0\r\n\r\n"}, 400, false, 0, 1},
    {"no size", NULL, {"\r\nhello\r\n"}, 400, false, 0, 1},
    {"size 2^64 overflows", NULL, {"10000000000000000\r\n"}, 400, false, 0, 1},
    {"size 2^62 is too large", NULL, {"4000000000000000\r\n"}, 400, false, 0, 1},
    {"data longer than its size", NULL, {"5\r\nhelloX\r\n0\r\n\r\n"}, 400, false, 5, 1},
    {"bare LF after the size", NULL, {"5\nhello\r\n0\r\n\r\n"}, 400, false, 0, 1},
    {"bare LF after the data", NULL, {"5\r\nhello\n0\r\n\r\n"}, 400, false, 5, 1},
    {"blank without an extension", NULL, {"5 \r\nhello\r\n0\r\n\r\n"}, 400, false, 0, 1},
    {"control byte in an extension", NULL, {"5;a\001\r\nhello\r\n0\r\n\r\n"}, 400, false, 0, 1},
    {"chunk-size line too long",
     NULL,
     {"5;", long_ext, "\r\nhello\r\n0\r\n\r\n"},
     400,
     false,
     0,
     1},
    {"trailer line folded", NULL, {"0\r\nA: b\r\n c\r\n\r\n"}, 400, false, 0, 1},
    {"trailer without colon", NULL, {"0\r\nAbc\r\n\r\n"}, 400, false, 0, 1},
    {"trailer section too long", NULL, {"0\r\nX: ", long_trailer, "\r\n\r\n"}, 400, false, 0, 1},
    {"cut short by FIN", NULL, {"5\r\nhel"}, 400, true, 3, 1},
    {"gzip is not implemented", "Transfer-Encoding: gzip\r\n", {""}, 501, false, 0, 0},
    {"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", {"0\r\n\r\n"}, 501, false, 0, 0},
    {"chunked twice", "Transfer-Encoding: chunked, chunked\r\n", {"0\r\n\r\n"}, 400, false, 0, 0},
    {"chunked in two fields", TE_CHUNKED TE_CHUNKED, {"0\r\n\r\n"}, 400, false, 0, 0},
    {"empty coding list", "Transfer-Encoding: ,\r\n", {"0\r\n\r\n"}, 400, false, 0, 0},
    {"with Content-Length", TE_CHUNKED "Content-Length: 5\r\n", {"0\r\n\r\n"}, 400, false, 0, 0},
};

/* Each row: an upload chunk with a chunked body on a fresh connection, then GET / pipelined
 * behind it, which only a body decoded to its exact end lets through. */
Test(target, chunked_request_bodies, .timeout = 60)
{
    memset(long_ext, 'a', sizeof(long_ext) - 1);
    memset(long_trailer, 'b', sizeof(long_trailer) - 1);
    server t;
    target_start(&t);
    static client c;
    static resp r;
    cl_open(&c, t.port);
    exchange(&c, POST0("/api/v1/tracks/upload/initiate"), &r, false, "initiate");
    cl_close(&c);
    for (size_t i = 0; i < sizeof(chunk_rows) / sizeof(chunk_rows[0]); i++) {
        const chunk_row *w = &chunk_rows[i];
        long long before[NCOUNTERS], after[NCOUNTERS];
        stats(t.port, before, NULL, 0);
        char head[256], v[64];
        snprintf(head, sizeof(head),
                 "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nHost: t\r\nX-Upload-Id: up-1\r\n"
                 "%s\r\n",
                 w->te ? w->te : TE_CHUNKED);
        cl_open(&c, t.port);
        cl_sends(&c, head);
        cl_send_parts(&c, w->parts);
        if (w->fin)
            shutdown(c.fd, SHUT_WR);
        else if (w->status == 200)
            cl_sends(&c, GET("/"));
        cr_assert(cl_read(&c, &r, false), "%s: no response", w->name);
        cr_assert_eq(r.status, w->status, "%s: status %d, want %d", w->name, r.status, w->status);
        if (w->status == 200) {
            cr_assert_str_eq(r.body, "{\"ok\":true}", "%s: body %s", w->name, r.body);
            cr_assert(cl_read(&c, &r, false), "%s: nothing after the body", w->name);
            cr_assert_str_eq(r.body, "ok\n", "%s: the next request was not found", w->name);
        } else {
            cr_assert_not_null(hdr(&r, "Connection", v, sizeof(v)), "%s: stays open", w->name);
            cr_assert_str_eq(v, "close", "%s: Connection: %s", w->name, v);
            cr_assert(cl_closed(&c), "%s: the connection was not closed", w->name);
        }
        cl_close(&c);
        stats(t.port, after, NULL, 0);
        char b[64], k[64], ok[32];
        snprintf(b, sizeof(b), "chunk_body_bytes=%lld", w->bytes);
        snprintf(k, sizeof(k), "chunked_bodies=%d", w->chunked);
        snprintf(ok, sizeof(ok), "chunks_ok=%d", w->status == 200);
        const char *const want[] = {b, k, ok, NULL};
        assert_moved(before, after, want, w->name);
    }
    server_stop(&t);
}

/* 1 MiB uploads as the workload sends them: by Content-Length and chunked in uneven chunks. */
Test(target, mebibyte_uploads, .timeout = 60)
{
    enum { MIB = 1 << 20 };
    static const unsigned sizes[] = {1, 7, 4096, 65536, 100000, 3};
    static char body[MIB], framed[MIB + 4096];
    memset(body, 'q', sizeof(body));
    size_t fl = 0, off = 0;
    for (size_t i = 0; off < MIB; i = (i + 1) % (sizeof(sizes) / sizeof(sizes[0]))) {
        size_t k = MIB - off < sizes[i] ? MIB - off : sizes[i];
        fl += (size_t)sprintf(framed + fl, "%zx\r\n", k);
        memcpy(framed + fl, body + off, k);
        fl += k;
        off += k;
        fl += (size_t)sprintf(framed + fl, "\r\n");
    }
    fl += (size_t)sprintf(framed + fl, "0\r\n\r\n");

    server t;
    target_start(&t);
    static client c;
    static resp r;
    long long before[NCOUNTERS], after[NCOUNTERS];
    cl_open(&c, t.port);
    exchange(&c, POST0("/api/v1/tracks/upload/initiate"), &r, false, "initiate");
    stats(t.port, before, NULL, 0);
    cl_sends(&c, "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nX-Upload-Id: up-1\r\n"
                 "Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n");
    cl_send(&c, body, MIB);
    cr_assert(cl_read(&c, &r, false) && r.status == 200, "Content-Length upload: %d", r.status);
    cl_sends(&c, "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nX-Upload-Id: up-1\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    /* Odd write sizes, so framing lands across reads. */
    for (size_t o = 0; o < fl; o += 77777)
        cl_send(&c, framed + o, fl - o < 77777 ? fl - o : 77777);
    cr_assert(cl_read(&c, &r, false) && r.status == 200, "chunked upload: %d", r.status);
    cl_sends(&c, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    cr_assert(cl_read(&c, &r, false) && r.status == 200, "chunked body on /: %d", r.status);
    cr_assert_str_eq(r.body, "ok\n");
    cl_close(&c);
    stats(t.port, after, NULL, 0);
    static const char *const want[] = {"chunk_body_bytes=2097152", "chunks_ok=2",
                                       "chunked_bodies=2", NULL};
    assert_moved(before, after, want, "1 MiB uploads");
    server_stop(&t);
}

/* ---- bearer tokens and session cookies ---- */

typedef struct auth_row {
    const char *name, *path, *field; /* field: a header line, or "" */
    int status;
} auth_row;

static const auth_row auth_rows[] = {
    {"bearer tok-1", "/api/v1/me", "Authorization: Bearer tok-1\r\n", 200},
    {"bearer tok-2", "/api/v1/me", "Authorization: Bearer tok-2\r\n", 200},
    {"scheme case", "/api/v1/me", "authorization: bEARER tok-1\r\n", 200},
    {"two blanks", "/api/v1/me", "Authorization: Bearer  tok-2\r\n", 200},
    {"not issued", "/api/v1/me", "Authorization: Bearer tok-3\r\n", 401},
    {"tok-0", "/api/v1/me", "Authorization: Bearer tok-0\r\n", 401},
    {"leading zero", "/api/v1/me", "Authorization: Bearer tok-01\r\n", 401},
    {"trailing junk", "/api/v1/me", "Authorization: Bearer tok-1x\r\n", 401},
    {"refresh token", "/api/v1/me", "Authorization: Bearer ref-1\r\n", 401},
    {"basic", "/api/v1/me", "Authorization: Basic dG9rLTE6eA==\r\n", 401},
    {"scheme only", "/api/v1/me", "Authorization: Bearer\r\n", 401},
    {"no header", "/api/v1/me", "", 401},
    {"cookie s-1", "/api/v1/session", "Cookie: session=s-1\r\n", 200},
    {"among others", "/api/v1/session", "Cookie: a=1; session=s-2; b=2\r\n", 200},
    {"last of several", "/api/v1/session", "Cookie: theme=dark; session=s-1\r\n", 200},
    {"no blank", "/api/v1/session", "Cookie: a=1;session=s-1\r\n", 200},
    {"not issued", "/api/v1/session", "Cookie: session=s-3\r\n", 401},
    {"other name", "/api/v1/session", "Cookie: xsession=s-1\r\n", 401},
    {"leading zero", "/api/v1/session", "Cookie: session=s-01\r\n", 401},
    {"empty value", "/api/v1/session", "Cookie: session=\r\n", 401},
    {"token as cookie", "/api/v1/session", "Cookie: session=tok-1\r\n", 401},
    {"bearer is no cookie", "/api/v1/session", "Authorization: Bearer tok-1\r\n", 401},
    {"no cookie", "/api/v1/session", "", 401},
    {"guest gt-1", "/api/v1/engagement/series/saved", "Authorization: Bearer gt-1\r\n", 200},
    {"guest scheme case", "/api/v1/engagement/series/saved", "Authorization: bearer gt-1\r\n", 200},
    {"guest not issued", "/api/v1/engagement/series/saved", "Authorization: Bearer gt-2\r\n", 401},
    {"guest leading zero", "/api/v1/engagement/series/saved", "Authorization: Bearer gt-01\r\n",
     401},
    {"guest refresh token", "/api/v1/engagement/series/saved", "Authorization: Bearer gr-1\r\n",
     401},
    {"login token", "/api/v1/engagement/series/saved", "Authorization: Bearer tok-1\r\n", 401},
    {"guest token on /me", "/api/v1/me", "Authorization: Bearer gt-1\r\n", 401},
    {"no guest token", "/api/v1/engagement/series/saved", "", 401},
};

Test(target, bearer_and_cookie, .timeout = 30)
{
    server t;
    target_start(&t);
    static client c;
    static resp r;
    cl_open(&c, t.port);
    for (int i = 1; i <= 2; i++) {
        char v[128], want[64];
        exchange(&c, POST0("/api/v1/auth/login"), &r, false, "login");
        snprintf(want, sizeof(want), "session=s-%d; Path=/; HttpOnly", i);
        cr_assert_str_eq(hdr(&r, "Set-Cookie", v, sizeof(v)), want, "login %d: cookie", i);
    }
    exchange(&c,
             "POST /api/v1/auth/guest/init HTTP/1.1\r\nContent-Length: 16\r\n\r\n"
             "{\"deviceId\":\"d\"}",
             &r, false, "guest init");
    cr_assert_str_eq(r.body, "{\"tokens\":{\"accessToken\":\"gt-1\",\"refreshToken\":\"gr-1\"}}");
    long long before[NCOUNTERS], after[NCOUNTERS];
    stats(t.port, before, NULL, 0);
    int ok[3] = {0}, bad[3] = {0}; /* /me, /session, engagement */
    for (size_t i = 0; i < sizeof(auth_rows) / sizeof(auth_rows[0]); i++) {
        const auth_row *w = &auth_rows[i];
        char req[256], v[64];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n", w->path, w->field);
        exchange(&c, req, &r, false, w->name);
        cr_assert_eq(r.status, w->status, "%s %s: status %d, want %d", w->path, w->name, r.status,
                     w->status);
        int k = strcmp(w->path, "/api/v1/me") == 0        ? 0
                : strcmp(w->path, "/api/v1/session") == 0 ? 1
                                                          : 2;
        (w->status == 200 ? ok : bad)[k]++;
        if (w->status == 401) {
            cr_assert_not_null(hdr(&r, "WWW-Authenticate", v, sizeof(v)), "%s: no challenge",
                               w->name);
            cr_assert_str_eq(r.body, "{\"error\":\"unauthorized\"}", "%s: %s", w->name, r.body);
        } else {
            cr_assert_null(hdr(&r, "WWW-Authenticate", v, sizeof(v)), "%s: challenge", w->name);
        }
    }
    cl_close(&c);
    stats(t.port, after, NULL, 0);
    char a[6][32];
    snprintf(a[0], sizeof(a[0]), "auth_ok=%d", ok[0]);
    snprintf(a[1], sizeof(a[1]), "auth_rejected=%d", bad[0]);
    snprintf(a[2], sizeof(a[2]), "session_ok=%d", ok[1]);
    snprintf(a[3], sizeof(a[3]), "session_rejected=%d", bad[1]);
    snprintf(a[4], sizeof(a[4]), "engagement_ok=%d", ok[2]);
    snprintf(a[5], sizeof(a[5]), "engagement_rejected=%d", bad[2]);
    const char *const want[] = {a[0], a[1], a[2], a[3], a[4], a[5], NULL};
    assert_moved(before, after, want, "auth rows");
    server_stop(&t);
}

/* ---- heartbeats ---- */

typedef struct beat_row {
    const char *name, *id;
    const char *body;      /* sent with Content-Length, unless chunks is set */
    const char *chunks[6]; /* NULL-terminated */
    int status;
    int bad; /* heartbeat_bad_body it adds */
} beat_row;

static char body_4096[4097], body_4097[4098], chunk_2049[2049 + 16];

static const beat_row beat_rows[] = {
    {"good",
     "ag-loadtest-00001",
     "{\"hostname\":\"loadtest-00001.example\",\"os\":\"linux\"}",
     {NULL},
     200,
     0},
    {"same agent again",
     "ag-loadtest-00001",
     "{\"hostname\":\"loadtest-00001.x\"}",
     {NULL},
     200,
     0},
    {"another agent",
     "ag-loadtest-00002",
     "{\"v\":1,\"hostname\":\"loadtest-00002.lan\"}",
     {NULL},
     200,
     0},
    {"names another agent",
     "ag-loadtest-00003",
     "{\"hostname\":\"loadtest-00004.lan\"}",
     {NULL},
     200,
     1},
    {"no hostname",
     "ag-loadtest-00005",
     "{\"version\":\"2.1.0\",\"os\":\"linux\"}",
     {NULL},
     200,
     1},
    {"no body", "ag-loadtest-00006", "", {NULL}, 200, 1},
    {"hostname without the dot",
     "ag-loadtest-00007",
     "{\"hostname\":\"loadtest-00007\"}",
     {NULL},
     200,
     1},
    {"highest agent", "ag-loadtest-99999", "{\"hostname\":\"loadtest-99999.z\"}", {NULL}, 200, 0},
    {"4096 bytes", "ag-loadtest-00008", body_4096, {NULL}, 200, 0},
    {"chunked, hostname across chunks",
     "ag-loadtest-00009",
     NULL,
     {"5\r\n{\"hos\r\n", "17\r\ntname\":\"loadtest-00009.\r\n", "2\r\n\"}\r\n", "0\r\n\r\n"},
     200,
     0},
    {"chunked, bad", "ag-loadtest-00010", NULL, {"2\r\n{}\r\n0\r\n\r\n"}, 200, 1},
    {"agent 00000", "ag-loadtest-00000", "{}", {NULL}, 404, 0},
    {"four digits", "ag-loadtest-1234", "{}", {NULL}, 404, 0},
    {"six digits", "ag-loadtest-123456", "{}", {NULL}, 404, 0},
    {"not digits", "ag-loadtest-0000a", "{}", {NULL}, 404, 0},
    {"no digits", "ag-loadtest-", "{}", {NULL}, 404, 0},
    {"4097 bytes", "ag-loadtest-00011", body_4097, {NULL}, 413, 0},
    {"chunked, 4098 bytes",
     "ag-loadtest-00012",
     NULL,
     {chunk_2049, chunk_2049, "0\r\n\r\n"},
     413,
     0},
};

static void fill_heartbeat_bodies(void)
{
    static const char hn[] = "{\"hostname\":\"loadtest-00008.big\",\"pad\":\"";
    memset(body_4096, 'p', 4096);
    memcpy(body_4096, hn, sizeof(hn) - 1);
    memcpy(body_4096 + 4094, "\"}", 2);
    memset(body_4097, 'p', 4097);
    memcpy(body_4097, "{\"hostname\":\"loadtest-00011.\"", 29);
    int n = sprintf(chunk_2049, "801\r\n");
    memset(chunk_2049 + n, 'c', 2049);
    memcpy(chunk_2049 + n + 2049, "\r\n", 3);
}

Test(target, heartbeats, .timeout = 30)
{
    fill_heartbeat_bodies();
    server t;
    target_start(&t);
    static client c;
    static resp r;
    long long before[NCOUNTERS], after[NCOUNTERS];
    stats(t.port, before, NULL, 0);
    int beats = 0, bad = 0;
    for (size_t i = 0; i < sizeof(beat_rows) / sizeof(beat_rows[0]); i++) {
        const beat_row *w = &beat_rows[i];
        static char req[8192];
        char v[64];
        if (w->body)
            snprintf(req, sizeof(req),
                     "POST /api/v1/agents/%s/heartbeat HTTP/1.1\r\nContent-Type: application/json"
                     "\r\nContent-Length: %zu\r\n\r\n%s",
                     w->id, strlen(w->body), w->body);
        else
            snprintf(req, sizeof(req),
                     "POST /api/v1/agents/%s/heartbeat HTTP/1.1\r\nContent-Type: application/json"
                     "\r\nTransfer-Encoding: chunked\r\n\r\n",
                     w->id);
        cl_open(&c, t.port);
        cl_sends(&c, req);
        if (!w->body)
            cl_send_parts(&c, w->chunks);
        cr_assert(cl_read(&c, &r, false), "%s: no response", w->name);
        cr_assert_eq(r.status, w->status, "%s: status %d, want %d", w->name, r.status, w->status);
        if (w->status == 200) {
            cr_assert_str_eq(r.body, "{\"status\":\"ok\"}", "%s: %s", w->name, r.body);
            beats++;
        } else if (w->status == 413) {
            cr_assert_str_eq(hdr(&r, "Connection", v, sizeof(v)), "close", "%s: open", w->name);
            cr_assert(cl_closed(&c), "%s: the connection was not closed", w->name);
        }
        bad += w->bad;
        cl_close(&c);
    }
    /* The ag-00001 form of the demo and older tests stays a plain 200, counted nowhere. */
    cl_open(&c, t.port);
    exchange(&c, POST0("/api/v1/agents/ag-00001/heartbeat"), &r, false, "legacy id");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ok\n");
    cl_close(&c);
    stats(t.port, after, NULL, 0);
    char a[3][40];
    snprintf(a[0], sizeof(a[0]), "heartbeats=%d", beats);
    snprintf(a[1], sizeof(a[1]), "heartbeat_bad_body=%d", bad);
    /* Agents 1, 2, 3, 5, 6, 7, 8, 9, 10 and 99999 were answered 200. */
    snprintf(a[2], sizeof(a[2]), "heartbeat_agents=%d", 10);
    const char *const want[] = {a[0], a[1], a[2], "chunked_bodies=3", NULL};
    assert_moved(before, after, want, "heartbeats");
    server_stop(&t);
}

/* ---- guest logins ---- */

typedef struct guest_row {
    const char *name;
    const char *body;      /* sent with Content-Length, unless chunks is set */
    const char *chunks[5]; /* NULL-terminated */
    int status;
} guest_row;

static const guest_row guest_rows[] = {
    {"compact", "{\"deviceId\":\"prod-test-1-1700000000000\"}", {NULL}, 200},
    {"blanks around the colon", "{ \"deviceId\" : \"d\" }", {NULL}, 200},
    {"after other fields",
     "{\"deviceInfo\":{\"platform\":\"android\"},\"deviceId\":\"d2\"}",
     {NULL},
     200},
    {"chunked, split inside the key",
     NULL,
     {"5\r\n{\"dev\r\n", "9\r\niceId\":\"x\r\n", "2\r\n\"}\r\n", "0\r\n\r\n"},
     200},
    {"empty deviceId", "{\"deviceId\":\"\"}", {NULL}, 400},
    {"a number", "{\"deviceId\":42}", {NULL}, 400},
    {"another key", "{\"device\":\"x\"}", {NULL}, 400},
    {"unterminated", "{\"deviceId\":\"abc", {NULL}, 400},
    {"no body", "", {NULL}, 400},
    {"4097 bytes", body_4097, {NULL}, 413},
};

/* Each accepted init issues the next gt-N; the others issue nothing and are 400 (413 closing). */
Test(target, guest_init_bodies, .timeout = 30)
{
    fill_heartbeat_bodies();
    server t;
    target_start(&t);
    static client c;
    static resp r;
    long long before[NCOUNTERS], after[NCOUNTERS];
    stats(t.port, before, NULL, 0);
    int issued = 0, chunked = 0;
    const size_t nrows = sizeof(guest_rows) / sizeof(guest_rows[0]);
    for (size_t i = 0; i < nrows; i++) {
        const guest_row *w = &guest_rows[i];
        static char req[8192];
        char v[64], want[128];
        if (w->body)
            snprintf(req, sizeof(req),
                     "POST /api/v1/auth/guest/init HTTP/1.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(w->body), w->body);
        else
            snprintf(req, sizeof(req),
                     "POST /api/v1/auth/guest/init HTTP/1.1\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
        cl_open(&c, t.port);
        cl_sends(&c, req);
        if (!w->body) {
            cl_send_parts(&c, w->chunks);
            chunked++;
        }
        cr_assert(cl_read(&c, &r, false), "%s: no response", w->name);
        cr_assert_eq(r.status, w->status, "%s: status %d, want %d", w->name, r.status, w->status);
        if (w->status == 200) {
            issued++;
            snprintf(want, sizeof(want),
                     "{\"tokens\":{\"accessToken\":\"gt-%d\",\"refreshToken\":\"gr-%d\"}}", issued,
                     issued);
            cr_assert_str_eq(r.body, want, "%s: %s", w->name, r.body);
        } else if (w->status == 400) {
            cr_assert_str_eq(r.body, "{\"error\":\"deviceId required\"}", "%s: %s", w->name,
                             r.body);
            cr_assert_null(hdr(&r, "Connection", v, sizeof(v)), "%s: Connection: %s", w->name, v);
        } else {
            cr_assert_str_eq(hdr(&r, "Connection", v, sizeof(v)), "close", "%s: open", w->name);
            cr_assert(cl_closed(&c), "%s: the connection was not closed", w->name);
        }
        cl_close(&c);
    }
    stats(t.port, after, NULL, 0);
    char a[3][40];
    snprintf(a[0], sizeof(a[0]), "guest_inits=%d", issued);
    snprintf(a[1], sizeof(a[1]), "auth_requests=%zu", nrows);
    snprintf(a[2], sizeof(a[2]), "chunked_bodies=%d", chunked);
    const char *const want[] = {a[0], a[1], a[2], NULL};
    assert_moved(before, after, want, "guest inits");
    server_stop(&t);
}

/* Expect: 100-continue on a chunked heartbeat: 100 first, the answer once the body is in. */
Test(target, expect_continue_chunked, .timeout = 30)
{
    server t;
    target_start(&t);
    static client c;
    static resp r;
    cl_open(&c, t.port);
    cl_sends(&c, "POST /api/v1/agents/ag-loadtest-00042/heartbeat HTTP/1.1\r\n"
                 "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    cr_assert(cl_read(&c, &r, false) && r.status == 100, "want 100 Continue, got %d", r.status);
    cl_sends(&c, "1f\r\n{\"hostname\":\"loadtest-00042.a\"}\r\n0\r\n\r\n");
    cr_assert(cl_read(&c, &r, false) && r.status == 200, "want 200, got %d", r.status);
    cl_close(&c);
    long long v[NCOUNTERS];
    stats(t.port, v, NULL, 0);
    cr_assert_eq(counter(v, "heartbeats"), 1);
    cr_assert_eq(counter(v, "heartbeat_bad_body"), 0);
    server_stop(&t);
}

/* ---- counters ---- */

/* One pipelined write exercising every counter, answered in order; then the whole stats object
 * against exact values. */
Test(target, stats_move_exactly, .timeout = 30)
{
    server t;
    target_start(&t);
    static const struct {
        const char *req;
        int status;
    } batch[] = {
        {POST0("/api/v1/tracks/upload/initiate"), 200},
        {POST0("/api/v1/tracks/upload/initiate"), 200},
        {"POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nX-Upload-Id: up-2\r\n"
         "Content-Length: 10\r\n\r\n0123456789",
         200},
        {"POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nX-Upload-Id: up-9\r\n"
         "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
         404},
        {POST0("/api/v1/auth/login"), 200},
        {"GET /api/v1/me HTTP/1.1\r\nAuthorization: Bearer tok-1\r\n\r\n", 200},
        {"GET /api/v1/me HTTP/1.1\r\nAuthorization: Bearer tok-2\r\n\r\n", 401},
        {"GET /api/v1/session HTTP/1.1\r\nCookie: session=s-1\r\n\r\n", 200},
        {GET("/api/v1/session"), 401},
        {GET("/api/v1/session"), 401},
        {GET("/api/v1/tracks/5/hls/master.m3u8"), 200},
        {GET("/api/v1/tracks/5/hls/256k/playlist.m3u8"), 200},
        {GET("/api/v1/tracks/5/hls/256k/segment-0.ts"), 200},
        {GET("/api/v1/tracks/5/hls/256k/segment-1.ts"), 200},
        {GET("/api/v1/search?q=a"), 200},
        {GET("/api/v1/tracks?page=2&limit=5"), 200},
        {GET("/api/v1/tracks/5"), 200},
        {GET("/api/v1/marketplace/products?limit=5"), 200},
        {POST0("/api/v1/marketplace/orders"), 400},
        {"POST /api/v1/agents/ag-loadtest-00003/heartbeat HTTP/1.1\r\nContent-Length: 31\r\n\r\n"
         "{\"hostname\":\"loadtest-00003.a\"}",
         200},
        {POST0("/api/v1/agents/ag-loadtest-00003/heartbeat"), 200},
        {"POST /api/v1/auth/guest/init HTTP/1.1\r\nContent-Length: 16\r\n\r\n{\"deviceId\":\"d\"}",
         200},
        {POST0("/api/v1/auth/guest/init"), 400},
        {"GET /api/v1/engagement/series/saved HTTP/1.1\r\nAuthorization: Bearer gt-1\r\n\r\n", 200},
        {"GET /api/v1/engagement/series/saved HTTP/1.1\r\nAuthorization: Bearer gt-2\r\n\r\n", 401},
        {GET("/api/v1/engagement/series/saved"), 401},
        {GET("/api/v1/content/mobile/home"), 200},
        {GET("/api/v1/knowledge?page=1"), 200},
        {POST0("/api/v1/knowledge"), 200},
        {GET("/api/v1/analytics/overview"), 200},
        {GET("/api/v1/content"), 200},
        {GET("/api/v1/support/tickets?status=open"), 200},
        {GET("/api/v1/knowledgebase"), 200}, /* not under /api/v1/knowledge */
        {GET("/admin/stall/0"), 200},
        {GET("/"), 200},
    };
    enum { NBATCH = sizeof(batch) / sizeof(batch[0]) };
    static char all[8192];
    size_t len = 0;
    for (size_t i = 0; i < NBATCH; i++) {
        size_t n = strlen(batch[i].req);
        cr_assert(len + n < sizeof(all));
        memcpy(all + len, batch[i].req, n);
        len += n;
    }
    static client c;
    static resp r;
    cl_open(&c, t.port);
    cl_send(&c, all, len); /* one write: the whole batch arrives pipelined */
    for (size_t i = 0; i < NBATCH; i++) {
        cr_assert(cl_read(&c, &r, false), "response %zu missing", i);
        cr_assert_eq(r.status, batch[i].status, "response %zu: %d, want %d", i, r.status,
                     batch[i].status);
    }
    long long v[NCOUNTERS];
    char raw[4096];
    stats(t.port, v, raw, sizeof(raw)); /* with the batch's connection still open */
    cl_close(&c);
    cr_assert(strncmp(raw, "{\"requests\":", 12) == 0, "stats starts %.40s", raw);
    const char *cn = strstr(raw, ",\"connections\":"), *op = strstr(raw, ",\"open\":");
    cr_assert(cn && op && cn < op && !memchr(raw + 12, ',', (size_t)(cn - raw - 12)) &&
                  !memchr(cn + 1, ',', (size_t)(op - cn - 1)),
              "requests, connections, open must come first: %s", raw);
    static const struct {
        const char *name;
        long long want;
    } rows[] = {
        {"requests", 34}, /* the /admin/ requests are not counted */
        {"connections", 2},
        {"open", 2},
        {"uploads_initiated", 2},
        {"chunks_ok", 1},
        {"chunks_rejected", 1},
        {"chunk_body_bytes", 14},
        {"logins", 1},
        {"auth_ok", 1},
        {"auth_rejected", 1},
        {"session_ok", 1},
        {"session_rejected", 2},
        {"hls_master", 1},
        {"hls_playlist", 1},
        {"hls_segment", 2},
        {"search", 1},
        {"tracks_list", 1},
        {"track_detail", 1},
        {"products", 1},
        {"orders", 1},
        {"heartbeats", 2},
        {"heartbeat_agents", 1},
        {"heartbeat_bad_body", 1},
        {"chunked_bodies", 1},
        {"guest_inits", 1},
        {"engagement_ok", 1},
        {"engagement_rejected", 2},
        {"home_feed", 1},
        {"knowledge_requests", 2},
        {"analytics_requests", 1},
        {"content_requests", 2},
        {"support_requests", 1},
        {"auth_requests", 3}, /* the login and both guest inits */
        {"ws_sessions", 0},   /* no WebSocket upgrade in the batch */
        {"ws_open", 0},
        {"ws_rejected", 0},
        {"ws_msgs_received", 0},
        {"ws_msgs_sent", 0},
        {"ws_room_delivered", 0},
        {"ws_pings_sent", 0},
        {"ws_pongs_received", 0},
        {"ws_closes_received", 0},
        {"ws_protocol_errors", 0},
    };
    cr_assert_eq(sizeof(rows) / sizeof(rows[0]), NCOUNTERS);
    for (size_t i = 0; i < NCOUNTERS; i++)
        cr_assert_eq(counter(v, rows[i].name), rows[i].want, "%s = %lld, want %lld", rows[i].name,
                     counter(v, rows[i].name), rows[i].want);
    server_stop(&t);
}

/* ---- --help ---- */

Test(target, help_lists_routes)
{
    static const char *const paths[] = {
        "/api/v1/tracks/upload/initiate",
        "/api/v1/tracks/upload/chunk",
        "/hls/master.m3u8",
        "/playlist.m3u8",
        "/segment-N.ts",
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/session",
        "/api/v1/search",
        "/api/v1/tracks?page",
        "/api/v1/tracks/ID",
        "/api/v1/marketplace/products",
        "/api/v1/marketplace/orders",
        "/api/v1/agents/ag-loadtest-NNNNN/heartbeat",
        "/api/v1/auth/guest/init",
        "/api/v1/engagement/series/saved",
        "/api/v1/content/mobile/home",
        "/api/v1/knowledge",
        "knowledge_requests",
        "Transfer-Encoding: chunked",
        "/admin/stats",
    };
    const char *bin = getenv("TARGET_BIN") ? getenv("TARGET_BIN") : "build/blast-target";
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "'%s' --help", bin);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char out[16384];
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    cr_assert_eq(pclose(f), 0, "--help exit status");
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        cr_assert_not_null(strstr(out, paths[i]), "--help does not mention %s", paths[i]);
}
