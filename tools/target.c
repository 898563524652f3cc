/*
 * blast-target: the HTTP/1.1 server that blast's demo, integration tests and benchmarks aim at.
 *
 * One thread, one edge-triggered epoll set, non-blocking sockets. Each connection owns an input
 * buffer (grows to at most HEAD_MAX, the request-head limit), an output buffer (at most OUT_MAX)
 * and a fixed ring of RING pending responses ("jobs"). A request is parsed into a job as soon as
 * its head is complete; jobs are rendered into the output buffer strictly in ring order, and a
 * job whose time has not come (/delay, an /admin/stall) holds the ones behind it, so responses on
 * a connection always leave in request order. Large bodies are generated piecewise as the output
 * buffer drains, never allocated whole.
 *
 * Request bodies (Content-Length or chunked, decoded incrementally as bytes arrive) are
 * discarded, counted, or captured into one HB_BODY_MAX buffer per connection. A job that needs
 * its whole body (a chunked request, an upload chunk, a heartbeat, a guest login) is the ring's
 * last job and waits (JF_BODY) until the body ends; so its counters are settled before its answer
 * leaves, and malformed framing turns it into a closing 400. The /api/v1/ workload routes
 * (uploads, HLS, login with bearer and cookie checks, browse, agent heartbeats, a guest login
 * whose token the engagement route checks, a home feed) issue ids from counters, so "issued" is
 * 1 <= N <= count, and report what they saw in /admin/stats, as do per-service request counters
 * for the paths under /api/v1/knowledge, analytics, content, support and auth.
 *
 * Invariants: nothing is allocated per request (buffers grow per connection, geometrically, up to
 * fixed caps); per-connection memory is bounded, because reading stops while the ring is full and
 * rendering stops while OUT_SOFT bytes are unsent, so a client that does not read holds at most
 * ~OUT_MAX + HEAD_MAX (+ HB_BODY_MAX) bytes and blocks nobody else. A connection is referenced
 * from at most the epoll set, the timer heap, the stall list, the run queue and the
 * all-connections list, and conn_close() unlinks it from every one before freeing it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "target/capacity.h"
#include "target/ws.h"

#define HEAD_MAX (64u * 1024)              /* request head limit; beyond it: 431 */
#define IN_INIT 8192u                      /* initial input buffer; grows only for long heads */
#define OUT_INIT 8192u                     /* initial output buffer */
#define OUT_SOFT (256u * 1024)             /* stop rendering responses while this much is unsent */
#define OUT_MAX (OUT_SOFT + 16u * 1024)    /* OUT_SOFT plus the largest single render step */
#define HEAD_ROOM 2560u                    /* largest response head plus a short body */
#define STATS_MAX 1600u                    /* /admin/stats body, at most */
#define RING 64u                           /* pending responses per connection (power of two) */
#define CHUNK_MAX 4096u                    /* /chunked/N chunk size */
#define BODY_MAX (64ull * 1024 * 1024)     /* /bytes/N and /chunked/N limit */
#define DELAY_MAX_MS 600000ull             /* /delay/MS and /admin/stall/MS limit */
#define LINGER_NS (2ull * 1000000000)      /* how long a closing connection drains its input */
#define ACCEPT_RETRY_NS (100ull * 1000000) /* retry after EMFILE when no connection closes */
#define MAX_EVENTS 512
#define ROUNDS_MAX 32 /* read/write rounds per turn, so one busy client cannot starve the rest */
#define HB_BODY_MAX 4096u    /* heartbeat request body limit; beyond it: 413 */
#define CHUNK_LINE_MAX 1024u /* chunk-size line with its extensions; beyond it: 400 */
#define TRAILER_MAX 8192u    /* trailer section of a chunked request body; beyond it: 400 */
#define SEGMENT_BYTES 16384u /* HLS segment body */
#define AGENTS_MAX 99999u    /* heartbeat agent numbers are 00001..99999 */

enum job_kind { JOB_TEXT, JOB_BYTES, JOB_CHUNKED, JOB_STATS, JOB_CONTINUE, JOB_API };

enum job_flag {
    JF_CLOSE = 1,       /* close the connection after this response */
    JF_HEAD = 2,        /* HEAD request: headers only */
    JF_KEEPALIVE10 = 4, /* HTTP/1.0 keep-alive: say so in the response */
    JF_ADMIN = 8,       /* /admin/ paths: not held by a stall, not counted */
    JF_BODY = 16,       /* not rendered until the request body has been read */
};

/* The /api/v1/ workload routes; a job's api says which one answers it (API_NONE: the others). */
enum api {
    API_NONE,
    API_INITIATE,
    API_CHUNK,
    API_MASTER,
    API_PLAYLIST,
    API_SEGMENT, /* a JOB_BYTES job: the generic body generator with its own content type */
    API_LOGIN,
    API_ME,
    API_SESSION,
    API_SEARCH,
    API_TRACKS,
    API_TRACK,
    API_PRODUCTS,
    API_ORDERS,
    API_HEARTBEAT,
    API_GUEST_INIT,
    API_SAVED,
    API_HOME,
    API_NO_GET,  /* 405 on a GET route */
    API_NO_POST, /* 405 on a POST route */
};

/* /admin/stats counters after requests, connections and open, in the order they are printed. */
enum counter {
    ST_UPLOADS_INITIATED,
    ST_CHUNKS_OK,
    ST_CHUNKS_REJECTED,
    ST_CHUNK_BODY_BYTES,
    ST_LOGINS,
    ST_AUTH_OK,
    ST_AUTH_REJECTED,
    ST_SESSION_OK,
    ST_SESSION_REJECTED,
    ST_HLS_MASTER,
    ST_HLS_PLAYLIST,
    ST_HLS_SEGMENT,
    ST_SEARCH,
    ST_TRACKS_LIST,
    ST_TRACK_DETAIL,
    ST_PRODUCTS,
    ST_ORDERS,
    ST_HEARTBEATS,
    ST_HEARTBEAT_AGENTS,
    ST_HEARTBEAT_BAD_BODY,
    ST_CHUNKED_BODIES,
    ST_GUEST_INITS,
    ST_ENGAGEMENT_OK,
    ST_ENGAGEMENT_REJECTED,
    ST_HOME_FEED,
    ST_KNOWLEDGE_REQUESTS, /* the five service counters, in services[] order */
    ST_ANALYTICS_REQUESTS,
    ST_CONTENT_REQUESTS,
    ST_SUPPORT_REQUESTS,
    ST_AUTH_REQUESTS,
    ST_COUNT
};

static const char *const stat_names[ST_COUNT] = {
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
};

/* Each stats entry is ,"name": and up to 20 digits (names are at most 20 characters). */
_Static_assert(3 + (ST_COUNT + 3) * (4 + 20 + 20) < STATS_MAX &&
                   STATS_MAX + TWS_STATS_MAX + 200 < HEAD_ROOM,
               "the /admin/stats body and its head fit HEAD_ROOM");

/* What follows the current request head on the wire. */
enum in_body { IN_NONE, IN_LENGTH, IN_CHUNKED };

/* Where request body bytes go. */
enum sink { SINK_DISCARD, SINK_COUNT, SINK_CAPTURE };

/* Chunked request body decoder states (RFC 9112 7.1); framing is CRLF, strictly. */
enum chunk_state {
    CH_SIZE0,   /* first hex digit of a chunk-size line */
    CH_SIZE,    /* more hex digits */
    CH_BWS,     /* blanks after the size: only more of them or ';' may follow */
    CH_EXT,     /* chunk extensions, up to CR */
    CH_SIZE_LF, /* LF ending the chunk-size line */
    CH_DATA,    /* chunk data; conn->discard bytes left */
    CH_DATA_CR, /* CRLF after the chunk data */
    CH_DATA_LF,
    CH_TR_LINE, /* start of a trailer field line, or the CR of the final empty line */
    CH_TR_NAME,
    CH_TR_VALUE,
    CH_TR_LF,
    CH_END_LF, /* LF of the final empty line */
};

struct job {
    uint64_t ready_at; /* CLOCK_MONOTONIC ns before which it must not be rendered */
    uint64_t n;        /* body length for JOB_BYTES and JOB_CHUNKED; the id for JOB_API */
    uint16_t status;
    uint8_t kind;
    uint8_t flags;
    uint8_t api; /* enum api */
};

struct link {
    struct conn *prev, *next;
};

struct list {
    struct conn *head, *tail;
    unsigned len;
};

enum conn_state { CONN_OPEN, CONN_LINGER };

struct conn {
    int fd;
    uint8_t state;
    bool can_read; /* edge-triggered readiness not yet consumed */
    bool can_write;
    bool peer_hup;     /* EPOLLRDHUP seen: a FIN is queued behind the data */
    bool rd_eof;       /* peer's FIN read: answer what was read, then close */
    bool done_reading; /* a closing response is queued: ignore further input */
    bool close_after;  /* a closing response has been rendered */
    bool streaming;    /* the head job's headers are out, its body is being generated */
    bool on_stall, on_runq;
    int32_t heap_idx; /* position in the timer heap, -1 when not there */
    uint64_t deadline;
    uint64_t work;       /* bumped on every step that changes state; drives conn_process */
    uint8_t bmode;       /* enum in_body: the body being read, if any */
    uint8_t bsink;       /* enum sink: where its bytes go */
    uint8_t cstate;      /* enum chunk_state */
    bool body_job;       /* the ring's last job waits for this body (JF_BODY) */
    bool body_close;     /* ... and closes the connection once answered */
    uint32_t cline;      /* bytes of the current chunk-size line, or of the trailer section */
    uint64_t discard;    /* IN_LENGTH: body bytes left; IN_CHUNKED: size, then bytes left */
    uint64_t body_len;   /* body bytes decoded so far */
    char *cap;           /* captured body (HB_BODY_MAX), allocated on first need, kept */
    uint64_t stream_off; /* body bytes of the head job already rendered */
    char *in;
    uint32_t in_cap, in_len, in_off;
    uint32_t scan; /* head-end search resumes here (relative to in_off) */
    char *out;
    uint32_t out_cap, out_len, out_off;
    uint32_t jhead, jcount;
    uint32_t ws_head; /* a WebSocket upgrade head of this length was read: hand over */
    struct link all_link, stall_link, run_link;
    struct job jobs[RING];
};

/* The whole server state: one instance, so the helpers need no context argument. */
static struct server {
    int ep;
    int lfd;
    uint64_t now;         /* CLOCK_MONOTONIC ns, refreshed after every epoll wait */
    uint64_t stall_until; /* responses outside /admin/ are held until then */
    uint64_t requests, connections, open;
    uint64_t stat[ST_COUNT];
    uint8_t agents_seen[AGENTS_MAX / 8 + 1]; /* bit n: agent n has sent a heartbeat */
    bool accept_pending; /* the listener edge fired and accept has not yet seen EAGAIN */
    bool accept_paused;  /* out of descriptors: wait for a close or accept_retry_at */
    uint64_t accept_retry_at;
    struct conn **heap; /* timer min-heap on conn->deadline */
    uint32_t heap_len, heap_cap;
    struct list all, stalled, runq;
} srv = {.ep = -1, .lfd = -1};

static volatile sig_atomic_t stop_requested;

/* A repeating a..z pattern; /bytes/N byte i is 'a' + i % 26, so clients can check integrity. */
#define PATTERN_LEN (OUT_SOFT + 32)
static char pattern[PATTERN_LEN];

/* ---- intrusive lists (all connections, stalled, runnable) ---- */

static void list_add(struct list *l, struct conn *c, struct link *lk)
{
    lk->next = NULL;
    lk->prev = l->tail;
    if (l->tail) {
        struct link *tl = (struct link *)((char *)l->tail + ((char *)lk - (char *)c));
        tl->next = c;
    } else {
        l->head = c;
    }
    l->tail = c;
    l->len++;
}

static void list_del(struct list *l, struct conn *c, struct link *lk)
{
    size_t off = (size_t)((char *)lk - (char *)c);
    if (lk->prev)
        ((struct link *)((char *)lk->prev + off))->next = lk->next;
    else
        l->head = lk->next;
    if (lk->next)
        ((struct link *)((char *)lk->next + off))->prev = lk->prev;
    else
        l->tail = lk->prev;
    lk->prev = lk->next = NULL;
    l->len--;
}

static void stall_add(struct conn *c)
{
    if (!c->on_stall) {
        list_add(&srv.stalled, c, &c->stall_link);
        c->on_stall = true;
    }
}

static void stall_del(struct conn *c)
{
    if (c->on_stall) {
        list_del(&srv.stalled, c, &c->stall_link);
        c->on_stall = false;
    }
}

static void runq_add(struct conn *c)
{
    if (!c->on_runq) {
        list_add(&srv.runq, c, &c->run_link);
        c->on_runq = true;
    }
}

static void runq_del(struct conn *c)
{
    if (c->on_runq) {
        list_del(&srv.runq, c, &c->run_link);
        c->on_runq = false;
    }
}

/* ---- timer min-heap: at most one entry per connection, keyed by its deadline ---- */

static void heap_place(uint32_t i, struct conn *c)
{
    srv.heap[i] = c;
    c->heap_idx = (int32_t)i;
}

static void heap_up(uint32_t i)
{
    struct conn *c = srv.heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (srv.heap[parent]->deadline <= c->deadline)
            break;
        heap_place(i, srv.heap[parent]);
        i = parent;
    }
    heap_place(i, c);
}

static void heap_down(uint32_t i)
{
    struct conn *c = srv.heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= srv.heap_len)
            break;
        if (child + 1 < srv.heap_len && srv.heap[child + 1]->deadline < srv.heap[child]->deadline)
            child++;
        if (c->deadline <= srv.heap[child]->deadline)
            break;
        heap_place(i, srv.heap[child]);
        i = child;
    }
    heap_place(i, c);
}

static void timer_clear(struct conn *c)
{
    if (c->heap_idx < 0)
        return;
    uint32_t i = (uint32_t)c->heap_idx;
    struct conn *last = srv.heap[--srv.heap_len];
    c->heap_idx = -1;
    if (last == c)
        return;
    heap_place(i, last);
    heap_up(i);
    heap_down((uint32_t)last->heap_idx);
}

/* Returns 0, or -ENOMEM when the heap cannot grow (the caller closes the connection). */
static int timer_set(struct conn *c, uint64_t deadline)
{
    if (c->heap_idx >= 0) {
        c->deadline = deadline;
        heap_up((uint32_t)c->heap_idx);
        heap_down((uint32_t)c->heap_idx);
        return 0;
    }
    if (srv.heap_len == srv.heap_cap) {
        uint32_t cap = srv.heap_cap ? srv.heap_cap * 2 : 256;
        struct conn **h = realloc(srv.heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        srv.heap = h;
        srv.heap_cap = cap;
    }
    c->deadline = deadline;
    heap_place(srv.heap_len++, c);
    heap_up((uint32_t)c->heap_idx);
    return 0;
}

/* ---- response rendering ---- */

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUTS(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_hex(char *p, uint64_t v)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static const struct {
    unsigned short status;
    const char *text;
} reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {418, "I'm a teapot"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

/* The reason phrase for status; a per-class one for codes without a registered name. */
static const char *reason(unsigned status)
{
    static const char *const by_class[] = {"Success", "Redirection", "Client Error",
                                           "Server Error"};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (reasons[i].status == status)
            return reasons[i].text;
    }
    return status >= 200 && status < 600 ? by_class[status / 100 - 2] : "Unknown";
}

enum body_framing { BODY_LENGTH, BODY_CHUNKED, BODY_NONE };

static const char *const ctypes[] = {"text/plain", "application/json",
                                     "application/vnd.apple.mpegurl", "video/mp2t"};

enum ctype { CT_TEXT, CT_JSON, CT_M3U8, CT_MP2T };

/*
 * Renders a response head with extra header lines x[0..xn) (each ending in CRLF); at most
 * ~200 + xn bytes, well inside HEAD_ROOM.
 */
static char *put_head(char *p, unsigned status, unsigned flags, enum body_framing framing,
                      uint64_t len, enum ctype ct, const char *x, size_t xn)
{
    const char *r = reason(status);
    p = PUTS(p, "HTTP/1.1 ");
    p = put_u64(p, status);
    *p++ = ' ';
    p = put(p, r, strlen(r));
    p = PUTS(p, "\r\nContent-Type: ");
    p = put(p, ctypes[ct], strlen(ctypes[ct]));
    p = PUTS(p, "\r\n");
    if (framing == BODY_LENGTH) {
        p = PUTS(p, "Content-Length: ");
        p = put_u64(p, len);
        p = PUTS(p, "\r\n");
    } else if (framing == BODY_CHUNKED) {
        p = PUTS(p, "Transfer-Encoding: chunked\r\n");
    }
    p = put(p, x, xn);
    if (flags & JF_CLOSE)
        p = PUTS(p, "Connection: close\r\n");
    else if (flags & JF_KEEPALIVE10)
        p = PUTS(p, "Connection: keep-alive\r\n");
    return PUTS(p, "\r\n");
}

/* Fills n pattern bytes continuing a body at offset off. n <= OUT_SOFT. */
static char *put_pattern(char *p, uint64_t off, size_t n)
{
    return put(p, pattern + off % 26, n);
}

/*
 * Makes room for need more bytes at out + out_len. Returns 0, or -ENOMEM. Callers never ask for
 * more than OUT_MAX - OUT_SOFT while OUT_SOFT or more is unsent, so growth stops at OUT_MAX.
 */
static int out_reserve(struct conn *c, uint32_t need)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_cap - c->out_len >= need)
        return 0;
    if (c->out_off) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_cap - c->out_len >= need)
            return 0;
    }
    uint32_t cap = c->out_cap;
    while (cap - c->out_len < need)
        cap *= 2;
    if (cap > OUT_MAX)
        cap = OUT_MAX;
    if (cap - c->out_len < need)
        return -ENOBUFS;
    char *o = realloc(c->out, cap);
    if (!o)
        return -ENOMEM;
    c->out = o;
    c->out_cap = cap;
    return 0;
}

static uint32_t out_pending(const struct conn *c)
{
    return c->out_len - c->out_off;
}

static const char OK_RESPONSE[] = "HTTP/1.1 200 OK\r\n"
                                  "Content-Type: text/plain\r\n"
                                  "Content-Length: 3\r\n"
                                  "\r\n"
                                  "ok\n";

static const char HLS_MASTER[] = "#EXTM3U\n"
                                 "#EXT-X-VERSION:3\n"
                                 "#EXT-X-STREAM-INF:BANDWIDTH=256000,CODECS=\"mp4a.40.2\"\n"
                                 "256k/playlist.m3u8\n";

static const char HLS_PLAYLIST[] = "#EXTM3U\n"
                                   "#EXT-X-VERSION:3\n"
                                   "#EXT-X-TARGETDURATION:10\n"
                                   "#EXT-X-MEDIA-SEQUENCE:0\n"
                                   "#EXT-X-PLAYLIST-TYPE:VOD\n"
                                   "#EXTINF:10.0,\nsegment-0.ts\n"
                                   "#EXTINF:10.0,\nsegment-1.ts\n"
                                   "#EXTINF:10.0,\nsegment-2.ts\n"
                                   "#EXTINF:10.0,\nsegment-3.ts\n"
                                   "#EXT-X-ENDLIST\n";

static const char SEARCH_BODY[] = "{\"results\":["
                                  "{\"id\":1,\"title\":\"Track 1\",\"artist\":\"Artist 1\"},"
                                  "{\"id\":2,\"title\":\"Track 2\",\"artist\":\"Artist 2\"},"
                                  "{\"id\":3,\"title\":\"Track 3\",\"artist\":\"Artist 3\"}]}";

static const char TRACKS_BODY[] = "[{\"id\":1,\"title\":\"Track 1\",\"duration_s\":180},"
                                  "{\"id\":2,\"title\":\"Track 2\",\"duration_s\":200},"
                                  "{\"id\":3,\"title\":\"Track 3\",\"duration_s\":220}]";

static const char PRODUCTS_BODY[] = "[{\"id\":1,\"name\":\"Product 1\",\"price_cents\":999},"
                                    "{\"id\":2,\"name\":\"Product 2\",\"price_cents\":1999},"
                                    "{\"id\":3,\"name\":\"Product 3\",\"price_cents\":2999}]";

static const char HOME_BODY[] =
    "{\"sections\":["
    "{\"title\":\"Trending\",\"items\":[{\"id\":1,\"title\":\"Series 1\"},"
    "{\"id\":2,\"title\":\"Series 2\"}]},"
    "{\"title\":\"New\",\"items\":[{\"id\":3,\"title\":\"Series 3\"}]}]}";

static const char SAVED_BODY[] = "{\"series\":[{\"id\":1,\"title\":\"Series 1\"},"
                                 "{\"id\":3,\"title\":\"Series 3\"}]}";

static const char UNAUTHORIZED[] = "{\"error\":\"unauthorized\"}";

_Static_assert(sizeof(HLS_PLAYLIST) < 400 && sizeof(SEARCH_BODY) < 400 &&
                   sizeof(PRODUCTS_BODY) < 400 && sizeof(TRACKS_BODY) < 400 &&
                   sizeof(HOME_BODY) < 400 && sizeof(SAVED_BODY) < 400,
               "render_api's body buffer holds every fixed body");

/* Renders a JOB_API response: JSON or a playlist, at most ~450 bytes of body. */
static char *render_api(const struct job *j, char *p)
{
    char body[512], extra[96];
    char *b = body, *x = extra;
    enum ctype ct = CT_JSON;
    bool ok = j->status == 200;
    switch (j->api) {
    case API_INITIATE:
        b = PUTS(b, "{\"data\":{\"upload_id\":\"up-");
        b = put_u64(b, j->n);
        b = PUTS(b, "\"}}");
        break;
    case API_CHUNK:
        b = ok ? PUTS(b, "{\"ok\":true}") : PUTS(b, "{\"error\":\"unknown upload id\"}");
        break;
    case API_MASTER:
        ct = CT_M3U8;
        b = PUTS(b, HLS_MASTER);
        break;
    case API_PLAYLIST:
        ct = CT_M3U8;
        b = PUTS(b, HLS_PLAYLIST);
        break;
    case API_LOGIN:
        b = PUTS(b, "{\"tokens\":{\"accessToken\":\"tok-");
        b = put_u64(b, j->n);
        b = PUTS(b, "\",\"refreshToken\":\"ref-");
        b = put_u64(b, j->n);
        b = PUTS(b, "\"}}");
        x = PUTS(x, "Set-Cookie: session=s-");
        x = put_u64(x, j->n);
        x = PUTS(x, "; Path=/; HttpOnly\r\n");
        break;
    case API_ME:
    case API_SESSION:
    case API_SAVED:
        if (!ok) {
            /* RFC 9110 11.6.1: a 401 names the scheme it wants. */
            x = PUTS(x, "WWW-Authenticate: Bearer\r\n");
            b = PUTS(b, UNAUTHORIZED);
            break;
        }
        if (j->api == API_SAVED) {
            b = PUTS(b, SAVED_BODY);
            break;
        }
        b = PUTS(b, "{\"user\":\"u-");
        b = put_u64(b, j->n);
        if (j->api == API_SESSION) {
            b = PUTS(b, "\",\"session\":\"s-");
            b = put_u64(b, j->n);
        }
        b = PUTS(b, "\"}");
        break;
    case API_SEARCH:
        b = PUTS(b, SEARCH_BODY);
        break;
    case API_TRACKS:
        b = PUTS(b, TRACKS_BODY);
        break;
    case API_TRACK:
        b = PUTS(b, "{\"id\":");
        b = put_u64(b, j->n);
        b = PUTS(b, ",\"title\":\"Track ");
        b = put_u64(b, j->n);
        b = PUTS(b, "\",\"duration_s\":180,\"hls\":\"hls/master.m3u8\"}");
        break;
    case API_PRODUCTS:
        b = PUTS(b, PRODUCTS_BODY);
        break;
    case API_ORDERS:
        b = PUTS(b, "{\"error\":\"unknown product\"}");
        break;
    case API_GUEST_INIT:
        if (ok) {
            b = PUTS(b, "{\"tokens\":{\"accessToken\":\"gt-");
            b = put_u64(b, j->n);
            b = PUTS(b, "\",\"refreshToken\":\"gr-");
            b = put_u64(b, j->n);
            b = PUTS(b, "\"}}");
        } else if (j->status == 413) {
            b = PUTS(b, "{\"error\":\"body too large\"}");
        } else {
            b = PUTS(b, "{\"error\":\"deviceId required\"}");
        }
        break;
    case API_HOME:
        b = PUTS(b, HOME_BODY);
        break;
    case API_HEARTBEAT:
        if (ok)
            b = PUTS(b, "{\"status\":\"ok\"}");
        else if (j->status == 413)
            b = PUTS(b, "{\"error\":\"body too large\"}");
        else
            b = PUTS(b, "{\"error\":\"unknown agent\"}");
        break;
    default: /* API_NO_GET, API_NO_POST */
        x = j->api == API_NO_GET ? PUTS(x, "Allow: GET, HEAD\r\n") : PUTS(x, "Allow: POST\r\n");
        b = PUTS(b, "{\"error\":\"method not allowed\"}");
        break;
    }
    p = put_head(p, j->status, j->flags, BODY_LENGTH, (uint64_t)(b - body), ct, extra,
                 (size_t)(x - extra));
    return j->flags & JF_HEAD ? p : put(p, body, (size_t)(b - body));
}

/* Renders the head (and a short body) of job j at p; returns the new end. */
static char *render_start(const struct job *j, char *p)
{
    bool head = j->flags & JF_HEAD;
    switch (j->kind) {
    case JOB_CONTINUE:
        return PUTS(p, "HTTP/1.1 100 Continue\r\n\r\n");
    case JOB_BYTES:
        return put_head(p, j->status, j->flags, BODY_LENGTH, j->n,
                        j->api == API_SEGMENT ? CT_MP2T : CT_TEXT, "", 0);
    case JOB_CHUNKED:
        return put_head(p, j->status, j->flags, BODY_CHUNKED, 0, CT_TEXT, "", 0);
    case JOB_STATS: {
        /* Worst case: 33 entries of name, punctuation and 20 digits, about 1,450 bytes. */
        char body[STATS_MAX + TWS_STATS_MAX];
        char *b = PUTS(body, "{\"requests\":");
        b = put_u64(b, srv.requests);
        b = PUTS(b, ",\"connections\":");
        b = put_u64(b, srv.connections);
        b = PUTS(b, ",\"open\":");
        b = put_u64(b, srv.open);
        for (unsigned i = 0; i < ST_COUNT; i++) {
            b = PUTS(b, ",\"");
            b = put(b, stat_names[i], strlen(stat_names[i]));
            b = PUTS(b, "\":");
            b = put_u64(b, srv.stat[i]);
        }
        b = tws_stats_put(b);
        b = PUTS(b, "}\n");
        p = put_head(p, 200, j->flags, BODY_LENGTH, (uint64_t)(b - body), CT_JSON, "", 0);
        return head ? p : put(p, body, (size_t)(b - body));
    }
    case JOB_API:
        return render_api(j, p);
    default:
        break;
    }
    /* JOB_TEXT */
    if (j->status == 200 && (j->flags & ~JF_ADMIN) == 0)
        return PUTS(p, OK_RESPONSE);
    if (j->status == 204 || j->status == 304)
        return put_head(p, j->status, j->flags, BODY_NONE, 0, CT_TEXT, "", 0);
    if (j->status == 205)
        return put_head(p, j->status, j->flags, BODY_LENGTH, 0, CT_TEXT, "", 0);
    char body[64];
    char *b = body;
    if (j->status == 200) {
        b = PUTS(b, "ok\n");
    } else {
        const char *r = reason(j->status);
        b = put_u64(b, j->status);
        *b++ = ' ';
        b = put(b, r, strlen(r));
        *b++ = '\n';
    }
    p = put_head(p, j->status, j->flags, BODY_LENGTH, (uint64_t)(b - body), CT_TEXT, "", 0);
    return head ? p : put(p, body, (size_t)(b - body));
}

/* Generates more of the head job's body. Returns 0, or -errno. */
static int render_body(struct conn *c, const struct job *j)
{
    if (j->kind == JOB_BYTES) {
        uint64_t left = j->n - c->stream_off;
        uint32_t room = OUT_SOFT - out_pending(c);
        uint32_t k = left < room ? (uint32_t)left : room;
        int rc = out_reserve(c, k);
        if (rc < 0)
            return rc;
        put_pattern(c->out + c->out_len, c->stream_off, k);
        c->out_len += k;
        c->stream_off += k;
        return 0;
    }
    while (c->stream_off < j->n && out_pending(c) < OUT_SOFT) {
        uint64_t left = j->n - c->stream_off;
        uint32_t k = left < CHUNK_MAX ? (uint32_t)left : CHUNK_MAX;
        int rc = out_reserve(c, k + 16);
        if (rc < 0)
            return rc;
        char *p = c->out + c->out_len;
        p = put_hex(p, k);
        p = PUTS(p, "\r\n");
        p = put_pattern(p, c->stream_off, k);
        p = PUTS(p, "\r\n");
        c->out_len = (uint32_t)(p - c->out);
        c->stream_off += k;
    }
    return 0;
}

static void job_done(struct conn *c, const struct job *j)
{
    if (j->kind != JOB_CONTINUE && !(j->flags & JF_ADMIN))
        srv.requests++;
    if (j->flags & JF_CLOSE)
        c->close_after = true;
    c->jhead = (c->jhead + 1) & (RING - 1);
    c->jcount--;
    c->streaming = false;
    c->work++;
}

/*
 * Renders ready jobs, in order, until the ring is empty, the head job must wait, or OUT_SOFT bytes
 * are unsent. A waiting head job parks the connection on the timer heap or the stall list.
 * Returns 0, or -errno (the caller closes the connection).
 */
static int conn_pump(struct conn *c)
{
    timer_clear(c);
    stall_del(c);
    while (c->jcount && !c->close_after && out_pending(c) < OUT_SOFT) {
        const struct job *j = &c->jobs[c->jhead];
        int rc;
        if (!c->streaming) {
            if (j->flags & JF_BODY)
                return 0; /* body_done or body_fail releases it as more input arrives */
            if (j->ready_at > srv.now)
                return timer_set(c, j->ready_at);
            if (!(j->flags & JF_ADMIN) && srv.stall_until > srv.now) {
                stall_add(c);
                return 0;
            }
            rc = out_reserve(c, HEAD_ROOM);
            if (rc < 0)
                return rc;
            c->out_len = (uint32_t)(render_start(j, c->out + c->out_len) - c->out);
            c->work++;
            if ((j->kind == JOB_BYTES || j->kind == JOB_CHUNKED) && !(j->flags & JF_HEAD)) {
                c->streaming = true;
                c->stream_off = 0;
                continue;
            }
            job_done(c, j);
            continue;
        }
        rc = render_body(c, j);
        if (rc < 0)
            return rc;
        c->work++;
        if (c->stream_off < j->n)
            continue;
        if (j->kind == JOB_CHUNKED) {
            rc = out_reserve(c, 8);
            if (rc < 0)
                return rc;
            c->out_len = (uint32_t)(PUTS(c->out + c->out_len, "0\r\n\r\n") - c->out);
        }
        job_done(c, j);
    }
    return 0;
}

/* ---- request parsing ---- */

static bool is_tchar(unsigned char ch)
{
    /* RFC 9110 token characters */
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return true;
    return ch && memchr(extra, ch, sizeof(extra) - 1) != NULL;
}

static bool token_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static bool has_prefix(const char *s, size_t n, const char *lit, size_t *rest)
{
    size_t l = strlen(lit);
    if (n < l || memcmp(s, lit, l) != 0)
        return false;
    *rest = l;
    return true;
}

/* Parses all-digit s[0..n) into *v; false when empty, not digits, or above max. */
static bool parse_num(const char *s, size_t n, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    if (n == 0 || n > 19)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > max)
        return false;
    *v = x;
    return true;
}

static struct job *job_push(struct conn *c, enum job_kind kind, unsigned status, unsigned flags)
{
    struct job *j = &c->jobs[(c->jhead + c->jcount) & (RING - 1)];
    c->jcount++;
    j->ready_at = 0;
    j->n = 0;
    j->status = (uint16_t)status;
    j->kind = (uint8_t)kind;
    j->flags = (uint8_t)flags;
    j->api = API_NONE;
    if (flags & JF_CLOSE)
        c->done_reading = true;
    c->work++;
    return j;
}

/*
 * A request we cannot frame: answer status and close, since the next request cannot be found.
 * Returns -EPROTO, for parse_request's convenience.
 */
static int reject(struct conn *c, unsigned status)
{
    job_push(c, JOB_TEXT, status, JF_CLOSE);
    return -EPROTO;
}

/*
 * The N of an id "<tag>N" in s[0..n) when N is canonical decimal (no sign, no leading zero) and
 * 1 <= N <= issued; else 0. Ids are issued by counting, so this is the whole "was it issued" test.
 */
static uint64_t issued_id(const char *s, size_t n, const char *tag, uint64_t issued)
{
    size_t r;
    uint64_t v;
    if (!has_prefix(s, n, tag, &r) || r == n || s[r] == '0' ||
        !parse_num(s + r, n - r, 1ull << 62, &v))
        return 0;
    return v <= issued ? v : 0;
}

/* The N of an "Authorization: Bearer <tag>N" value, 0 unless N was issued (N <= issued). */
static uint64_t bearer_id(const char *v, size_t n, const char *tag, uint64_t issued)
{
    size_t i = 0;
    while (i < n && v[i] != ' ')
        i++;
    if (!token_eq(v, i, "bearer")) /* RFC 9110 11.1: the scheme is case-insensitive */
        return 0;
    while (i < n && v[i] == ' ')
        i++;
    return issued_id(v + i, n - i, tag, issued);
}

/* The login number of the first issued "session=s-N" among "; "-separated cookies, or 0. */
static uint64_t session_id(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == ';'))
            i++;
        size_t start = i;
        while (i < n && v[i] != ';')
            i++;
        size_t r;
        if (has_prefix(v + start, i - start, "session=", &r)) {
            uint64_t id = issued_id(v + start + r, i - start - r, "s-", srv.stat[ST_LOGINS]);
            if (id)
                return id;
        }
    }
    return 0;
}

/* What the Transfer-Encoding field lines of one request said, summed over all of them. */
struct te {
    bool seen;
    bool bad;         /* an element that is not a coding token (with optional parameters) */
    unsigned chunked; /* plain "chunked" elements */
    unsigned other;   /* any other coding, or chunked with parameters */
};

/* Adds the comma-separated codings of one field value v[0..n) to *t. */
static void te_scan(struct te *t, const char *v, size_t n)
{
    size_t i = 0;
    t->seen = true;
    while (i < n) {
        while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && is_tchar((unsigned char)v[i]))
            i++;
        size_t tlen = i - start;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        bool params = i < n && v[i] == ';';
        if (tlen == 0 || (i < n && v[i] != ',' && !params)) {
            t->bad = true;
            return;
        }
        if (!params && token_eq(v + start, tlen, "chunked"))
            t->chunked++;
        else
            t->other++;
        while (i < n && v[i] != ',')
            i++;
    }
}

/* Fills in job j from the request path (query already stripped). */
static void route(struct job *j, const char *path, size_t n)
{
    size_t r;
    uint64_t v;
    if (has_prefix(path, n, "/status/", &r)) {
        if (parse_num(path + r, n - r, 599, &v) && v >= 200)
            j->status = (uint16_t)v;
        else
            j->status = 400;
    } else if (has_prefix(path, n, "/delay/", &r)) {
        if (parse_num(path + r, n - r, DELAY_MAX_MS, &v))
            j->ready_at = srv.now + v * NS_PER_MS;
        else
            j->status = 400;
    } else if (has_prefix(path, n, "/bytes/", &r)) {
        if (parse_num(path + r, n - r, BODY_MAX, &v)) {
            j->kind = JOB_BYTES;
            j->n = v;
        } else {
            j->status = 400;
        }
    } else if (has_prefix(path, n, "/chunked/", &r)) {
        if (parse_num(path + r, n - r, BODY_MAX, &v)) {
            j->kind = JOB_CHUNKED;
            j->n = v;
        } else {
            j->status = 400;
        }
    } else if (n == 6 && memcmp(path, "/close", 6) == 0) {
        j->flags |= JF_CLOSE;
    } else if (has_prefix(path, n, "/admin/", &r)) {
        j->flags |= JF_ADMIN;
        if (has_prefix(path, n, "/admin/stall/", &r)) {
            /* Takes effect when the request is read, so requests already queued are held too. */
            if (parse_num(path + r, n - r, DELAY_MAX_MS, &v))
                srv.stall_until = srv.now + v * NS_PER_MS;
            else
                j->status = 400;
        } else if (n == 12 && memcmp(path, "/admin/stats", 12) == 0) {
            j->kind = JOB_STATS;
        } else {
            j->status = 404;
        }
    }
}

/* ---- /api/v1/ workload routes ---- */

/* The request as the routes see it: method, path without its query, and what headers named. */
struct req {
    const char *method, *path;
    size_t mlen, plen;
    uint64_t clen;
    bool chunked;
    uint64_t upload_n, bearer_n, guest_n, session_n; /* issued ids the headers name; 0: none */
};

#define SEG_MAX 6

struct seg {
    const char *s;
    size_t n;
};

/* Splits p[0..n) at '/' into segs; returns the count, or 0 for an empty segment or too many. */
static unsigned split_path(const char *p, size_t n, struct seg *segs)
{
    unsigned k = 0;
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < n && p[i] != '/')
            i++;
        if (i == start || k == SEG_MAX)
            return 0;
        segs[k].s = p + start;
        segs[k++].n = i - start;
        if (i == n)
            return k;
        i++;
    }
}

/*
 * Whether segs match pattern pat: '/'-separated literal segments, "*" for any segment, and one
 * '#' inside a segment for a decimal number (its value goes to *num).
 */
static bool seg_match(const char *pat, const struct seg *segs, unsigned nseg, uint64_t *num)
{
    unsigned k = 0;
    while (*pat) {
        const char *e = strchr(pat, '/');
        size_t pl = e ? (size_t)(e - pat) : strlen(pat);
        if (k == nseg)
            return false;
        const struct seg *g = &segs[k++];
        const char *hash = memchr(pat, '#', pl);
        if (pl == 1 && *pat == '*') {
            /* any segment */
        } else if (hash) {
            size_t pre = (size_t)(hash - pat), suf = pl - pre - 1;
            if (g->n <= pre + suf || memcmp(g->s, pat, pre) != 0 ||
                memcmp(g->s + g->n - suf, hash + 1, suf) != 0 ||
                !parse_num(g->s + pre, g->n - pre - suf, 1ull << 62, num))
                return false;
        } else if (g->n != pl || memcmp(g->s, pat, pl) != 0) {
            return false;
        }
        pat += pl;
        if (*pat == '/')
            pat++;
    }
    return k == nseg;
}

static const struct api_route {
    const char *pat; /* below /api/v1/ */
    bool post;       /* POST only; otherwise GET and HEAD */
    uint8_t api;
} api_routes[] = {
    {"tracks/upload/initiate", true, API_INITIATE},
    {"tracks/upload/chunk", true, API_CHUNK},
    {"tracks/*/hls/master.m3u8", false, API_MASTER},
    {"tracks/*/hls/*/playlist.m3u8", false, API_PLAYLIST},
    {"tracks/*/hls/*/segment-#.ts", false, API_SEGMENT},
    {"tracks", false, API_TRACKS},
    {"tracks/*", false, API_TRACK},
    {"auth/login", true, API_LOGIN},
    {"me", false, API_ME},
    {"session", false, API_SESSION},
    {"search", false, API_SEARCH},
    {"marketplace/products", false, API_PRODUCTS},
    {"marketplace/orders", true, API_ORDERS},
    {"agents/*/heartbeat", true, API_HEARTBEAT},
    {"auth/guest/init", true, API_GUEST_INIT},
    {"engagement/series/saved", false, API_SAVED},
    {"content/mobile/home", false, API_HOME},
};

/* The services whose paths (/api/v1/NAME and below, whatever the route) are counted, in the
 * order of their ST_*_REQUESTS counters. */
static const char *const services[] = {"knowledge", "analytics", "content", "support", "auth"};

/* Counted when answered, for the routes that have just one counter. */
static const int8_t api_stat[] = {
    [API_MASTER] = ST_HLS_MASTER, [API_PLAYLIST] = ST_HLS_PLAYLIST, [API_SEGMENT] = ST_HLS_SEGMENT,
    [API_SEARCH] = ST_SEARCH,     [API_TRACKS] = ST_TRACKS_LIST,    [API_TRACK] = ST_TRACK_DETAIL,
    [API_PRODUCTS] = ST_PRODUCTS, [API_ORDERS] = ST_ORDERS,         [API_HOME] = ST_HOME_FEED,
};

/* Counts a request whose path is /api/v1/SERVICE or below it, for one of services[]. */
static void service_count(const char *path, size_t n)
{
    size_t pre;
    if (!has_prefix(path, n, "/api/v1/", &pre))
        return;
    const char *s = path + pre;
    size_t len = 0;
    while (pre + len < n && s[len] != '/')
        len++;
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        if (strlen(services[i]) == len && memcmp(s, services[i], len) == 0) {
            srv.stat[ST_KNOWLEDGE_REQUESTS + i]++;
            return;
        }
    }
}

/* Whether JSON text b[0..n) holds "key": followed by a non-empty string (a shallow scan: the
 * first occurrence of the quoted key decides). */
static bool json_has_string(const char *b, size_t n, const char *key)
{
    char q[40];
    size_t kl = strlen(key);
    if (!b || kl + 2 > sizeof(q))
        return false;
    q[0] = '"';
    memcpy(q + 1, key, kl);
    q[kl + 1] = '"';
    const char *p = memmem(b, n, q, kl + 2), *e = b + n;
    if (!p)
        return false;
    p += kl + 2;
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p == e || *p++ != ':')
        return false;
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p == e || *p++ != '"' || p == e || *p == '"')
        return false;
    return memchr(p, '"', (size_t)(e - p)) != NULL;
}

/* The agent number of "ag-loadtest-NNNNN" (exactly five digits, 00001..99999), or 0. */
static uint64_t agent_id(const struct seg *g)
{
    size_t r;
    uint64_t v;
    if (!has_prefix(g->s, g->n, "ag-loadtest-", &r) || g->n - r != 5 ||
        !parse_num(g->s + r, 5, AGENTS_MAX, &v))
        return 0;
    return v;
}

/*
 * Fills in job j for an /api/v1/ workload route and says where its body goes. Returns false for
 * any other path, which then behaves as before these routes existed.
 */
static bool api_route(struct job *j, const struct req *r, enum sink *sink)
{
    size_t pre;
    struct seg segs[SEG_MAX];
    if (!has_prefix(r->path, r->plen, "/api/v1/", &pre))
        return false;
    unsigned nseg = split_path(r->path + pre, r->plen - pre, segs);
    const struct api_route *rt = NULL;
    uint64_t num = 0;
    for (size_t i = 0; nseg && i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
        if (seg_match(api_routes[i].pat, segs, nseg, &num)) {
            rt = &api_routes[i];
            break;
        }
    }
    if (!rt)
        return false;
    /* Heartbeats for other ids (ag-00001 in the demo and older tests) keep the catch-all 200. */
    if (rt->api == API_HEARTBEAT && !has_prefix(segs[1].s, segs[1].n, "ag-loadtest-", &pre))
        return false;
    j->kind = JOB_API;
    j->api = rt->api;
    bool is_post = r->mlen == 4 && memcmp(r->method, "POST", 4) == 0;
    bool is_get = (r->mlen == 3 && memcmp(r->method, "GET", 3) == 0) || (j->flags & JF_HEAD);
    if (rt->post ? !is_post : !is_get) {
        j->api = rt->post ? API_NO_POST : API_NO_GET;
        j->status = 405;
        return true;
    }
    switch (rt->api) {
    case API_CHUNK:
        j->status = r->upload_n ? 200 : 404;
        *sink = SINK_COUNT;
        break;
    case API_ME:
        j->n = r->bearer_n;
        j->status = j->n ? 200 : 401;
        break;
    case API_SESSION:
        j->n = r->session_n;
        j->status = j->n ? 200 : 401;
        break;
    case API_SEGMENT:
        j->kind = JOB_BYTES;
        j->n = SEGMENT_BYTES;
        break;
    case API_TRACK:
        if (!parse_num(segs[1].s, segs[1].n, 1ull << 62, &j->n))
            j->n = 0;
        break;
    case API_ORDERS:
        j->status = 400;
        break;
    case API_SAVED:
        j->n = r->guest_n;
        j->status = j->n ? 200 : 401;
        break;
    case API_GUEST_INIT:
    case API_HEARTBEAT:
        j->n = rt->api == API_HEARTBEAT ? agent_id(&segs[1]) : 1;
        if (!j->n) {
            j->status = 404;
        } else if (!r->chunked && r->clen > HB_BODY_MAX) {
            /* Closing: a client that waits for 100 Continue would never send this body. */
            j->status = 413;
            j->flags |= JF_CLOSE;
        } else {
            *sink = SINK_CAPTURE;
        }
        break;
    default:
        break;
    }
    return true;
}

/* Counts an accepted heartbeat: its body must name the agent of its path. */
static void heartbeat_commit(const struct conn *c, const struct job *j)
{
    char want[40];
    char *w = PUTS(want, "\"hostname\":\"loadtest-");
    for (uint64_t d = 10000; d; d /= 10)
        *w++ = (char)('0' + j->n / d % 10);
    *w++ = '.';
    srv.stat[ST_HEARTBEATS]++;
    if (!c->cap || !memmem(c->cap, c->body_len, want, (size_t)(w - want)))
        srv.stat[ST_HEARTBEAT_BAD_BODY]++;
    uint8_t bit = (uint8_t)(1u << (j->n & 7));
    if (!(srv.agents_seen[j->n >> 3] & bit)) {
        srv.agents_seen[j->n >> 3] |= bit;
        srv.stat[ST_HEARTBEAT_AGENTS]++;
    }
}

/*
 * Settles what job j's answer depends on and counts it: ids are issued here, so a login whose
 * body is still arriving has no token yet. Runs once per job, when its body (if any) is read.
 */
static void api_commit(const struct conn *c, struct job *j)
{
    bool ok = j->status == 200;
    switch (j->api) {
    case API_NONE:
    case API_NO_GET:
    case API_NO_POST:
        break;
    case API_INITIATE:
        j->n = ++srv.stat[ST_UPLOADS_INITIATED];
        break;
    case API_LOGIN:
        j->n = ++srv.stat[ST_LOGINS];
        break;
    case API_GUEST_INIT:
        /* The body must name the device (a chunked body larger than 4 KiB never gets here). */
        if (ok && json_has_string(c->cap, c->body_len, "deviceId"))
            j->n = ++srv.stat[ST_GUEST_INITS];
        else if (ok)
            j->status = 400;
        break;
    case API_SAVED:
        srv.stat[ok ? ST_ENGAGEMENT_OK : ST_ENGAGEMENT_REJECTED]++;
        break;
    case API_CHUNK:
        srv.stat[ok ? ST_CHUNKS_OK : ST_CHUNKS_REJECTED]++;
        break;
    case API_ME:
        srv.stat[ok ? ST_AUTH_OK : ST_AUTH_REJECTED]++;
        break;
    case API_SESSION:
        srv.stat[ok ? ST_SESSION_OK : ST_SESSION_REJECTED]++;
        break;
    case API_HEARTBEAT:
        if (ok)
            heartbeat_commit(c, j);
        break;
    case API_MASTER:
    case API_PLAYLIST:
    case API_SEGMENT:
    case API_SEARCH:
    case API_TRACKS:
    case API_TRACK:
    case API_PRODUCTS:
    case API_ORDERS:
    case API_HOME:
        srv.stat[api_stat[j->api]]++;
        break;
    }
}

/*
 * Whether an incomplete head can still become a request: its first bytes must be a method token
 * followed by a space. Rejecting early answers binary garbage (a TLS ClientHello, say) at once
 * instead of after HEAD_MAX bytes or never.
 */
static bool method_plausible(const char *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (b[i] == ' ')
            return i > 0;
        if (!is_tchar((unsigned char)b[i]))
            return false;
    }
    return true;
}

/*
 * Finds the end of the request head at in + in_off: returns its length including the empty line,
 * or 0 when it is not complete yet. Lines end in LF with an optional CR. Resumes at c->scan so a
 * head arriving a byte at a time is scanned once.
 */
static uint32_t head_end(struct conn *c)
{
    const char *b = c->in + c->in_off;
    uint32_t len = c->in_len - c->in_off;
    uint32_t i = c->scan;
    while (i < len) {
        const char *lf = memchr(b + i, '\n', len - i);
        if (!lf)
            break;
        i = (uint32_t)(lf - b);
        if (i + 1 >= len) {
            c->scan = i;
            return 0;
        }
        if (b[i + 1] == '\n')
            return i + 2;
        if (b[i + 1] == '\r') {
            if (i + 2 >= len) {
                c->scan = i;
                return 0;
            }
            if (b[i + 2] == '\n')
                return i + 3;
        }
        i++;
    }
    c->scan = len;
    return 0;
}

/* ---- request bodies ---- */

static void body_reset(struct conn *c)
{
    c->bmode = IN_NONE;
    c->bsink = SINK_DISCARD;
    c->cstate = CH_SIZE0;
    c->body_job = c->body_close = false;
    c->cline = 0;
    c->discard = c->body_len = 0;
}

/* The job waiting for the body being read: the ring's last, since nothing is parsed after it. */
static struct job *body_waiter(struct conn *c)
{
    return &c->jobs[(c->jhead + c->jcount - 1) & (RING - 1)];
}

/* The body cannot be read (bad framing, too large, cut short): answer status and close. */
static void body_fail(struct conn *c, unsigned status)
{
    struct job *j = body_waiter(c);
    j->kind = status == 413 ? JOB_API : JOB_TEXT;
    j->api = status == 413 ? API_HEARTBEAT : API_NONE;
    j->status = (uint16_t)status;
    j->flags = (uint8_t)(JF_CLOSE | (j->flags & (JF_ADMIN | JF_HEAD)));
    body_reset(c);
    c->done_reading = true;
    c->work++;
}

static void body_done(struct conn *c)
{
    if (c->body_job) {
        struct job *j = body_waiter(c);
        j->flags &= (uint8_t)~JF_BODY;
        if (c->body_close) {
            j->flags |= JF_CLOSE;
            c->done_reading = true;
        }
        api_commit(c, j);
    }
    body_reset(c);
    c->work++;
}

/* Hands k decoded body bytes to the sink. Returns false when the body must be refused. */
static bool body_sink(struct conn *c, const char *p, uint32_t k)
{
    if (c->bsink == SINK_CAPTURE) {
        if (k > HB_BODY_MAX - c->body_len) {
            body_fail(c, 413);
            return false;
        }
        memcpy(c->cap + c->body_len, p, k);
    } else if (c->bsink == SINK_COUNT) {
        srv.stat[ST_CHUNK_BODY_BYTES] += k;
    }
    c->body_len += k;
    return true;
}

static int hex_value(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static bool is_ctl(unsigned char ch)
{
    return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/*
 * Advances the chunked decoder over one framing byte (anything but chunk data). Returns 0 to go
 * on, 1 when the body (with its trailer section) is complete, -1 for malformed framing.
 */
static int chunk_byte(struct conn *c, unsigned char ch)
{
    if (c->cstate <= CH_EXT && ++c->cline > CHUNK_LINE_MAX)
        return -1;
    if (c->cstate >= CH_TR_LINE && ++c->cline > TRAILER_MAX)
        return -1;
    switch (c->cstate) {
    case CH_SIZE0:
    case CH_SIZE: {
        int v = hex_value(ch);
        if (v >= 0) {
            if (c->discard >> 58) /* 2^62 and more: the Content-Length bound, no overflow */
                return -1;
            c->discard = c->discard << 4 | (uint64_t)v;
            c->cstate = CH_SIZE;
        } else if (c->cstate == CH_SIZE0) {
            return -1;
        } else if (ch == ';') {
            c->cstate = CH_EXT;
        } else if (ch == ' ' || ch == '\t') {
            c->cstate = CH_BWS;
        } else if (ch == '\r') {
            c->cstate = CH_SIZE_LF;
        } else {
            return -1;
        }
        return 0;
    }
    case CH_BWS:
        if (ch == ';')
            c->cstate = CH_EXT;
        else if (ch != ' ' && ch != '\t')
            return -1;
        return 0;
    case CH_EXT:
        if (ch == '\r')
            c->cstate = CH_SIZE_LF;
        else if (is_ctl(ch))
            return -1;
        return 0;
    case CH_SIZE_LF:
        if (ch != '\n')
            return -1;
        c->cline = 0;
        c->cstate = c->discard ? CH_DATA : CH_TR_LINE;
        return 0;
    case CH_DATA_CR:
        if (ch != '\r')
            return -1;
        c->cstate = CH_DATA_LF;
        return 0;
    case CH_DATA_LF:
        if (ch != '\n')
            return -1;
        c->cstate = CH_SIZE0;
        return 0;
    case CH_TR_LINE:
        if (ch == '\r')
            c->cstate = CH_END_LF;
        else if (is_tchar(ch))
            c->cstate = CH_TR_NAME;
        else
            return -1; /* also obsolete line folding */
        return 0;
    case CH_TR_NAME:
        if (ch == ':')
            c->cstate = CH_TR_VALUE;
        else if (!is_tchar(ch))
            return -1;
        return 0;
    case CH_TR_VALUE:
        if (ch == '\r')
            c->cstate = CH_TR_LF;
        else if (is_ctl(ch))
            return -1;
        return 0;
    case CH_TR_LF:
        if (ch != '\n')
            return -1;
        c->cstate = CH_TR_LINE;
        return 0;
    case CH_END_LF:
        return ch == '\n' ? 1 : -1;
    default: /* CH_DATA: never handed to this function */
        return -1;
    }
}

/* Consumes buffered body bytes: a run of data, or framing up to the next data or the end. */
static void body_step(struct conn *c)
{
    const char *p = c->in + c->in_off;
    uint32_t avail = c->in_len - c->in_off;
    c->work++;
    if (c->bmode == IN_LENGTH || c->cstate == CH_DATA) {
        uint32_t k = c->discard < avail ? (uint32_t)c->discard : avail;
        c->in_off += k;
        c->discard -= k;
        if (!body_sink(c, p, k) || c->discard)
            return;
        if (c->bmode == IN_LENGTH)
            body_done(c);
        else
            c->cstate = CH_DATA_CR;
        return;
    }
    uint32_t i = 0;
    int rc = 0;
    while (i < avail && c->cstate != CH_DATA && rc == 0)
        rc = chunk_byte(c, (unsigned char)p[i++]);
    c->in_off += i;
    if (rc < 0)
        body_fail(c, 400);
    else if (rc > 0)
        body_done(c);
}

/*
 * Parses one complete request head h[0..n), queues its response and sets up the reading of its
 * body. Returns 0, or -EPROTO when the request was refused with a closing answer.
 */
static int parse_request(struct conn *c, const char *h, uint32_t n)
{
    const char *p = h, *e = h + n;
    const char *m = p;
    while (p < e && is_tchar((unsigned char)*p))
        p++;
    if (p == m || p >= e || *p != ' ')
        return reject(c, 400);
    size_t mlen = (size_t)(p - m);
    const char *t = ++p;
    while (p < e && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p == t || p >= e || *p != ' ')
        return reject(c, 400);
    size_t tlen = (size_t)(p - t);
    p++;
    if (e - p < 9 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9')
        return reject(c, 400);
    bool http10 = p[7] == '0';
    p += 8;
    if (*p == '\r')
        p++;
    if (p >= e || *p != '\n')
        return reject(c, 400);
    p++;

    bool conn_close = false, conn_keepalive = false, expect = false;
    bool have_len = false;
    struct te te = {0};
    struct req rq = {.method = m, .mlen = mlen};
    for (;;) {
        if (p >= e)
            return reject(c, 400);
        if (*p == '\n' || (*p == '\r' && p + 1 < e && p[1] == '\n'))
            break;
        const char *name = p;
        while (p < e && is_tchar((unsigned char)*p))
            p++;
        /* Also rejects obsolete line folding: a line starting with SP or HTAB. */
        if (p == name || p >= e || *p != ':')
            return reject(c, 400);
        size_t nlen = (size_t)(p - name);
        p++;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        const char *v = p;
        for (; p < e && *p != '\n'; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch == '\r' && p + 1 < e && p[1] == '\n')
                continue;
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return reject(c, 400);
        }
        if (p >= e)
            return reject(c, 400);
        const char *ve = p++;
        while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vlen = (size_t)(ve - v);

        if (token_eq(name, nlen, "content-length")) {
            uint64_t x;
            /* 2^62 bounds the count; a differing duplicate is request smuggling material. */
            if (!parse_num(v, vlen, 1ull << 62, &x) || (have_len && x != rq.clen))
                return reject(c, 400);
            have_len = true;
            rq.clen = x;
        } else if (token_eq(name, nlen, "transfer-encoding")) {
            te_scan(&te, v, vlen);
        } else if (token_eq(name, nlen, "connection")) {
            const char *s = v;
            while (s < ve) {
                while (s < ve && (*s == ',' || *s == ' ' || *s == '\t'))
                    s++;
                const char *tok = s;
                while (s < ve && *s != ',' && *s != ' ' && *s != '\t')
                    s++;
                if (token_eq(tok, (size_t)(s - tok), "close"))
                    conn_close = true;
                else if (token_eq(tok, (size_t)(s - tok), "keep-alive"))
                    conn_keepalive = true;
            }
        } else if (token_eq(name, nlen, "expect")) {
            expect = token_eq(v, vlen, "100-continue");
        } else if (token_eq(name, nlen, "x-upload-id")) {
            rq.upload_n = issued_id(v, vlen, "up-", srv.stat[ST_UPLOADS_INITIATED]);
        } else if (token_eq(name, nlen, "authorization")) {
            rq.bearer_n = bearer_id(v, vlen, "tok-", srv.stat[ST_LOGINS]);
            rq.guest_n = bearer_id(v, vlen, "gt-", srv.stat[ST_GUEST_INITS]);
        } else if (token_eq(name, nlen, "cookie")) {
            uint64_t id = session_id(v, vlen);
            if (id)
                rq.session_n = id;
        }
    }
    if (te.seen) {
        /* RFC 9112 6.1 and 6.3: chunked exactly once, never with a length, never in 1.0. */
        if (te.bad || te.chunked > 1 || (te.chunked == 0 && te.other == 0))
            return reject(c, 400);
        if (te.other)
            return reject(c, 501);
        if (have_len || http10)
            return reject(c, 400);
        rq.chunked = true;
    }

    const char *path = t;
    size_t plen = tlen;
    if (t[0] != '/' && !(tlen == 1 && t[0] == '*')) {
        /* absolute-form: scheme "://" authority path */
        const char *sep = tlen > 3 ? memmem(t, tlen, "://", 3) : NULL;
        if (!sep)
            return reject(c, 400);
        const char *a = sep + 3, *tend = t + tlen;
        while (a < tend && *a != '/' && *a != '?' && *a != '#')
            a++;
        path = a < tend && *a == '/' ? a : "/";
        plen = a < tend && *a == '/' ? (size_t)(tend - a) : 1;
    }
    for (size_t i = 0; i < plen; i++) {
        if (path[i] == '?' || path[i] == '#') {
            plen = i;
            break;
        }
    }
    rq.path = path;
    rq.plen = plen;
    if (tws_path(path, plen)) {
        /* A WebSocket upgrade: tools/target/ws.c takes the socket once this head is read. */
        if (c->jcount || c->out_off != c->out_len || rq.clen || rq.chunked)
            return reject(c, 400);
        c->ws_head = n;
        c->done_reading = true;
        return 0;
    }
    service_count(path, plen);

    unsigned flags = 0;
    if (token_eq(m, mlen, "HEAD"))
        flags |= JF_HEAD;
    if (conn_close || (http10 && !conn_keepalive))
        flags |= JF_CLOSE;
    else if (http10)
        flags |= JF_KEEPALIVE10;

    struct job r = {.status = 200, .kind = JOB_TEXT, .flags = (uint8_t)flags};
    enum sink sink = SINK_DISCARD;
    if (!api_route(&r, &rq, &sink))
        route(&r, path, plen);
    /* RFC 9112 6.1: never send chunked to an HTTP/1.0 client; fall back to Content-Length. */
    if (http10 && r.kind == JOB_CHUNKED)
        r.kind = JOB_BYTES;
    if (rq.chunked && !(r.flags & JF_ADMIN))
        srv.stat[ST_CHUNKED_BODIES]++;

    /* Ask for a body the client is holding back, unless it is already here or refused. */
    uint32_t buffered = c->in_len - c->in_off - n;
    bool more = rq.chunked ? buffered == 0 : rq.clen > buffered;
    if (expect && !http10 && more && r.status != 413)
        job_push(c, JOB_CONTINUE, 100, JF_ADMIN);

    /*
     * A chunked body is read before the answer, so bad framing can still turn it into a 400; so
     * is a body the route counts or inspects. Other bodies are skipped behind the answer.
     */
    bool body = rq.chunked || rq.clen;
    bool wait = body && (rq.chunked || sink != SINK_DISCARD) && !(r.status == 413);
    if (wait && sink == SINK_CAPTURE && !c->cap && !(c->cap = malloc(HB_BODY_MAX)))
        return reject(c, 503); /* the body cannot be read: close */
    unsigned jflags = r.flags;
    if (wait)
        jflags = (jflags & ~(unsigned)JF_CLOSE) | JF_BODY;
    struct job *j = job_push(c, (enum job_kind)r.kind, r.status, jflags);
    /* --capacity: a counted response leaves no earlier than its release slot */
    j->ready_at = (r.flags & JF_ADMIN) ? r.ready_at : capacity_slot(srv.now, r.ready_at);
    j->n = r.n;
    j->api = r.api;
    if (!wait) {
        api_commit(c, j);
        /* A closing answer: whatever follows, body or not, is never read. */
        if (j->flags & JF_CLOSE) {
            c->done_reading = true;
            return 0;
        }
        if (rq.clen) {
            c->bmode = IN_LENGTH;
            c->discard = rq.clen;
        }
        return 0;
    }
    c->bmode = rq.chunked ? IN_CHUNKED : IN_LENGTH;
    c->discard = rq.chunked ? 0 : rq.clen;
    c->bsink = (uint8_t)sink;
    c->body_job = true;
    c->body_close = r.flags & JF_CLOSE;
    return 0;
}

/* Turns buffered input into jobs while the ring has room for a request (and its 100 Continue). */
static void conn_parse(struct conn *c)
{
    while (!c->done_reading) {
        uint32_t avail = c->in_len - c->in_off;
        if (c->bmode != IN_NONE) {
            if (avail) {
                body_step(c);
                continue;
            }
            /* The peer's FIN cut the body short: the waiting answer can no longer be given. */
            if (c->rd_eof && c->body_job)
                body_fail(c, 400);
            return;
        }
        if (c->jcount + 2 > RING)
            return;
        /* RFC 9112: ignore empty lines before a request line. */
        if (c->scan == 0) {
            while (avail && (c->in[c->in_off] == '\r' || c->in[c->in_off] == '\n')) {
                c->in_off++;
                avail--;
            }
        }
        if (!avail)
            return;
        uint32_t n = head_end(c);
        if (!n) {
            if (avail >= HEAD_MAX)
                reject(c, 431);
            else if (!method_plausible(c->in + c->in_off, avail))
                reject(c, 400);
            return;
        }
        parse_request(c, c->in + c->in_off, n);
        c->in_off += n;
        c->scan = 0;
    }
}

/* ---- connection I/O ---- */

/* Returns 0, or -errno for a connection that must close. */
static int conn_read(struct conn *c)
{
    if (!c->can_read || c->rd_eof || c->done_reading)
        return 0;
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
    } else if (c->in_off) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_len == c->in_cap) {
        /* Full: either the ring is full (wait for it to drain: backpressure) or a long head. */
        if (c->jcount + 2 > RING || c->in_cap >= HEAD_MAX)
            return 0;
        uint32_t cap = c->in_cap * 2 > HEAD_MAX ? HEAD_MAX : c->in_cap * 2;
        char *in = realloc(c->in, cap);
        if (!in)
            return -ENOMEM;
        c->in = in;
        c->in_cap = cap;
    }
    size_t room = c->in_cap - c->in_len;
    ssize_t n = read(c->fd, c->in + c->in_len, room);
    if (n > 0) {
        c->in_len += (uint32_t)n;
        /*
         * A short read drained the socket; with edge triggering any later data raises a new
         * event, so skip the read that would only return EAGAIN. Not after EPOLLRDHUP: the FIN
         * may already be queued, and reading it raises no new event.
         */
        if ((size_t)n < room && !c->peer_hup)
            c->can_read = false;
        c->work++;
        return 0;
    }
    if (n == 0) {
        c->rd_eof = true;
        c->work++;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->can_read = false;
        return 0;
    }
    if (errno == EINTR)
        return 0;
    return -errno;
}

/* Returns 0, or -errno for a connection that must close. */
static int conn_write(struct conn *c)
{
    if (!c->can_write || c->out_off == c->out_len)
        return 0;
    size_t len = c->out_len - c->out_off;
    ssize_t n = send(c->fd, c->out + c->out_off, len, MSG_NOSIGNAL);
    if (n > 0) {
        c->out_off += (uint32_t)n;
        if (c->out_off == c->out_len)
            c->out_off = c->out_len = 0;
        /* A short write left the socket full; EPOLLOUT will report when it has room. */
        if ((size_t)n < len)
            c->can_write = false;
        c->work++;
        return 0;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        c->can_write = false;
        return 0;
    }
    if (n < 0 && errno == EINTR)
        return 0;
    return n < 0 ? -errno : -EPIPE;
}

static void conn_close(struct conn *c)
{
    timer_clear(c);
    stall_del(c);
    runq_del(c);
    list_del(&srv.all, c, &c->all_link);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->out);
    free(c->cap);
    free(c);
    srv.open--;
    /* A descriptor came free: resume accepting if we had run out. */
    if (srv.accept_paused) {
        srv.accept_paused = false;
        srv.accept_pending = true;
    }
}

/*
 * After the last response, drain what the client still sends until it closes (or LINGER_NS
 * passes) instead of closing at once: closing with unread input makes the kernel send RST, which
 * can destroy the response before the client reads it.
 */
static void conn_linger(struct conn *c)
{
    for (int i = 0; i < 8; i++) {
        ssize_t n = read(c->fd, c->in, c->in_cap);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(c);
        return;
    }
    /* More is coming (a refused upload, say): drain on in a later turn, as the others get theirs.
     */
    runq_add(c);
}

static void conn_start_linger(struct conn *c)
{
    stall_del(c);
    runq_del(c);
    c->state = CONN_LINGER;
    if (shutdown(c->fd, SHUT_WR) < 0 || timer_set(c, srv.now + LINGER_NS) < 0) {
        conn_close(c);
        return;
    }
    conn_linger(c);
}

/* Gives an upgraded connection to the WebSocket thread: its head and what followed it go along,
 * and this side forgets the descriptor. */
static void conn_handoff(struct conn *c)
{
    uint32_t start = c->in_off - c->ws_head;
    epoll_ctl(srv.ep, EPOLL_CTL_DEL, c->fd, NULL);
    tws_adopt(c->fd, c->in + start, c->in_len - start);
    c->fd = -1;
    conn_close(c);
}

/*
 * Runs a connection as far as it can go: read, parse, render, write, repeated while anything
 * changes. Reading everything before writing means one write answers a batch of pipelined
 * requests. After ROUNDS_MAX rounds it yields to the others via the run queue.
 */
static void conn_process(struct conn *c)
{
    runq_del(c);
    if (c->state == CONN_LINGER) {
        conn_linger(c);
        return;
    }
    for (int round = 0;; round++) {
        if (round == ROUNDS_MAX) {
            runq_add(c);
            return;
        }
        uint64_t before = c->work;
        if (conn_read(c) < 0) {
            conn_close(c);
            return;
        }
        conn_parse(c);
        if (c->ws_head) {
            conn_handoff(c);
            return;
        }
        if (conn_pump(c) < 0 || conn_write(c) < 0) {
            conn_close(c);
            return;
        }
        if (c->work == before)
            break;
    }
    if (c->out_off == c->out_len) {
        if (c->close_after)
            conn_start_linger(c);
        else if (c->rd_eof && c->jcount == 0)
            conn_close(c);
    }
}

static void conn_new(int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c) {
        c->in = malloc(IN_INIT);
        c->out = malloc(OUT_INIT);
    }
    if (!c || !c->in || !c->out) {
        if (c) {
            free(c->in);
            free(c->out);
        }
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    c->heap_idx = -1;
    c->in_cap = IN_INIT;
    c->out_cap = OUT_INIT;
    c->can_write = true;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(srv.ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        free(c->in);
        free(c->out);
        free(c);
        close(fd);
        return;
    }
    list_add(&srv.all, c, &c->all_link);
    srv.connections++;
    srv.open++;
}

/* Accepts until EAGAIN. Out of descriptors, it pauses instead of spinning on the listener. */
static void do_accept(void)
{
    for (int i = 0; i < 256; i++) {
        int fd = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_new(fd);
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
            srv.accept_pending = false;
            return;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
            continue; /* this connection failed, not the listener */
        default:
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for a close, or retry later. */
            srv.accept_paused = true;
            srv.accept_retry_at = srv.now + ACCEPT_RETRY_NS;
            return;
        }
    }
    /* More may be waiting; accept_pending stays set and the loop comes back without sleeping. */
}

/* ---- setup ---- */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fputs("usage: blast-target [--listen ADDR] [--port N] [--port-file PATH] [--backlog N]\n"
          "                    [--quiet] [--any-address] [--reuseport] [--capacity N/s]\n"
          "\n"
          "HTTP/1.1 test server for blast (single-threaded, epoll, keep-alive, pipelining).\n"
          "\n"
          "  --listen ADDR     address to bind (default 127.0.0.1); loopback only unless\n"
          "                    --any-address is given\n"
          "  --port N          port (default 0: ephemeral)\n"
          "  --port-file PATH  once listening, write the bound port and a newline to PATH\n"
          "  --backlog N       listen backlog (default 4096)\n"
          "  --quiet           do not print the listening line\n"
          "  --any-address     allow a non-loopback ADDR\n"
          "  --reuseport       set SO_REUSEPORT: several blast-target processes may listen on\n"
          "                    one --port and the kernel spreads connections over them\n"
          "                    (each process is still capped by its own descriptor limit)\n"
          "  --capacity N/s    serve at most N responses a second (outside /admin/), in request\n"
          "                    order; the rest wait, so latency grows as a saturated backend's\n"
          "\n"
          "endpoints (any method unless given; query strings ignored):\n"
          "  /                  200 \"ok\\n\"\n"
          "  /status/NNN        status NNN (200..599)\n"
          "  /delay/MS          200 after MS ms (0..600000)\n"
          "  /bytes/N           N-byte body (N <= 64 MiB)\n"
          "  /chunked/N         N-byte body, chunked encoding\n"
          "  /close             200, then close the connection\n"
          "  /admin/stall/MS    hold every other response until MS ms from now\n"
          "  /admin/stats       {\"requests\":N,\"connections\":N,\"open\":N, and the\n"
          "                     counters of the routes below}\n"
          "  anything else      200 \"ok\\n\"\n"
          "\n"
          "WebSocket (GET with Upgrade: websocket; counted as ws_* in /admin/stats):\n"
          "  /api/v1/ws         echo every message\n"
          "  /api/v1/ws/room    every message to every member of one room\n"
          "  ?status=N, ?fault=bad_accept|ping_flood|close_mid_frame|masked|rsv|opcode|\n"
          "  close_1011|big|silent (&n=N), ?drop=N, ?close_after=N: see README\n"
          "\n"
          "workload routes (JSON; a wrong method is 405; N counts up from 1 per call):\n"
          "  POST /api/v1/tracks/upload/initiate       {\"data\":{\"upload_id\":\"up-N\"}}\n"
          "  POST /api/v1/tracks/upload/chunk          200 with X-Upload-Id: up-N (issued),\n"
          "                                            else 404; the body is counted\n"
          "  GET  /api/v1/tracks/ID/hls/master.m3u8    master playlist naming 256k/playlist.m3u8\n"
          "  GET  /api/v1/tracks/ID/hls/Q/playlist.m3u8  media playlist, segment-0..3.ts\n"
          "  GET  /api/v1/tracks/ID/hls/Q/segment-N.ts   16 KiB of video/mp2t\n"
          "  POST /api/v1/auth/login                   tokens tok-N, ref-N; cookie session=s-N\n"
          "  GET  /api/v1/me                           200 with Authorization: Bearer tok-N\n"
          "                                            (issued), else 401\n"
          "  GET  /api/v1/session                      200 with Cookie: session=s-N, else 401\n"
          "  GET  /api/v1/search?q=...                 {\"results\":[...]}\n"
          "  GET  /api/v1/tracks?page=..&limit=..      a list of tracks\n"
          "  GET  /api/v1/tracks/ID                    one track\n"
          "  GET  /api/v1/marketplace/products?limit=..  a list of products\n"
          "  POST /api/v1/marketplace/orders           400 {\"error\":\"unknown product\"}\n"
          "  POST /api/v1/agents/ag-loadtest-NNNNN/heartbeat\n"
          "                                            {\"status\":\"ok\"}; NNNNN 00001..99999,\n"
          "                                            else 404; body <= 4 KiB (else 413) must\n"
          "                                            hold \"hostname\":\"loadtest-NNNNN. (else\n"
          "                                            counted as heartbeat_bad_body)\n"
          "  (other agent ids under /api/v1/agents/ answer like \"anything else\")\n"
          "  POST /api/v1/auth/guest/init              {\"tokens\":{\"accessToken\":\"gt-N\",\n"
          "                                            \"refreshToken\":\"gr-N\"}}; the JSON body\n"
          "                                            (<= 4 KiB, else 413) must hold a\n"
          "                                            \"deviceId\" string, else 400\n"
          "  GET  /api/v1/engagement/series/saved      200 with Authorization: Bearer gt-N\n"
          "                                            (issued), else 401\n"
          "  GET  /api/v1/content/mobile/home          a home feed\n"
          "  /api/v1/knowledge, /api/v1/analytics, /api/v1/content, /api/v1/support,\n"
          "  /api/v1/auth and every path below them    counted per service (knowledge_requests,\n"
          "                                            ...); without a route above they answer\n"
          "                                            like \"anything else\"\n"
          "\n"
          "request bodies: Content-Length or Transfer-Encoding: chunked (bad framing: 400 and\n"
          "close; other transfer codings: 501)\n",
          f);
}

/* Milliseconds until the nearest thing the loop must do by itself, or -1 for none. */
static int next_timeout(void)
{
    uint64_t t = UINT64_MAX;
    if (srv.runq.len || (srv.accept_pending && !srv.accept_paused))
        return 0;
    if (srv.heap_len)
        t = srv.heap[0]->deadline;
    if (srv.stalled.len && srv.stall_until < t)
        t = srv.stall_until;
    if (srv.accept_paused && srv.accept_retry_at < t)
        t = srv.accept_retry_at;
    return epoll_timeout_ms(t);
}

static void run_due(void)
{
    while (srv.heap_len && srv.heap[0]->deadline <= srv.now) {
        struct conn *c = srv.heap[0];
        timer_clear(c);
        if (c->state == CONN_LINGER)
            conn_close(c);
        else
            conn_process(c);
    }
    /* A processed connection rejoins the list only if a new stall began, which ends the loop. */
    while (srv.stalled.head && srv.stall_until <= srv.now) {
        struct conn *c = srv.stalled.head;
        stall_del(c);
        conn_process(c);
    }
    /* Only those queued before this pass: a connection that yields again waits one turn. */
    for (unsigned n = srv.runq.len; n && srv.runq.head; n--)
        conn_process(srv.runq.head);
    if (srv.accept_paused && srv.accept_retry_at <= srv.now) {
        srv.accept_paused = false;
        srv.accept_pending = true;
    }
    if (srv.accept_pending && !srv.accept_paused)
        do_accept();
}

static int serve(void)
{
    struct epoll_event evs[MAX_EVENTS];
    sigset_t waitmask;
    stop_signals_only_while_waiting(&waitmask);

    while (!stop_requested) {
        int n = epoll_pwait(srv.ep, evs, MAX_EVENTS, next_timeout(), &waitmask);
        if (n < 0 && errno != EINTR) {
            perror("blast-target: epoll_wait");
            return 1;
        }
        srv.now = clock_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (!c) {
                srv.accept_pending = true;
                continue;
            }
            if (e & (EPOLLERR | EPOLLHUP)) {
                conn_close(c);
                continue;
            }
            if (e & (EPOLLIN | EPOLLRDHUP))
                c->can_read = true;
            if (e & EPOLLRDHUP)
                c->peer_hup = true;
            if (e & EPOLLOUT)
                c->can_write = true;
            conn_process(c);
        }
        run_due();
    }
    return 0;
}

static void cleanup(void)
{
    tws_stop();
    while (srv.all.head)
        conn_close(srv.all.head);
    free(srv.heap);
    if (srv.lfd >= 0)
        close(srv.lfd);
    if (srv.ep >= 0)
        close(srv.ep);
}

/* Raises the descriptor limit to the hard limit: connection count is capped only by that. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port_file = NULL;
    unsigned long port = 0, backlog = 4096;
    bool quiet = false, any = false, reuseport = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const char *eq = strchr(a, '=');
        size_t alen = eq && a[0] == '-' && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
        bool takes = opt_is(a, alen, "--listen") || opt_is(a, alen, "--port") ||
                     opt_is(a, alen, "--port-file") || opt_is(a, alen, "--backlog") ||
                     opt_is(a, alen, "--capacity");
        if (takes) {
            if (alen < strlen(a))
                val = a + alen + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                fprintf(stderr, "blast-target: %s needs a value\n", a);
                return 2;
            }
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--any-address") == 0) {
            any = true;
        } else if (strcmp(a, "--reuseport") == 0) {
            reuseport = true;
        } else if (opt_is(a, alen, "--listen")) {
            addr = val;
        } else if (opt_is(a, alen, "--port-file")) {
            port_file = val;
        } else if (opt_is(a, alen, "--port")) {
            if (!parse_ulong(val, 65535, &port)) {
                fprintf(stderr, "blast-target: bad --port '%s' (0..65535)\n", val);
                return 2;
            }
        } else if (opt_is(a, alen, "--capacity")) {
            double per_s;
            if (!capacity_parse(val, &per_s)) {
                fprintf(stderr, "blast-target: bad --capacity '%s' (N/s or N/m, N > 0)\n", val);
                return 2;
            }
            capacity_set(per_s);
        } else if (opt_is(a, alen, "--backlog")) {
            if (!parse_ulong(val, INT_MAX, &backlog) || backlog == 0) {
                fprintf(stderr, "blast-target: bad --backlog '%s'\n", val);
                return 2;
            }
        } else {
            fprintf(stderr, "blast-target: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!parse_listen("blast-target", addr, port, &ss, &sslen))
        return 2;
    if (!any && !is_loopback(&ss)) {
        fprintf(stderr,
                "blast-target: refusing to listen on non-loopback %s (pass --any-address)\n", addr);
        return 2;
    }

    for (unsigned i = 0; i < PATTERN_LEN; i++)
        pattern[i] = (char)('a' + i % 26);
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: the signal must interrupt epoll_pwait */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = 1;
    srv.lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (srv.lfd < 0) {
        perror("blast-target: socket");
        goto out;
    }
    int one = 1;
    setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Every process that shares the port must set it before bind (and run as the same user). */
    if (reuseport && setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
        perror("blast-target: SO_REUSEPORT");
        goto out;
    }
    if (bind(srv.lfd, (struct sockaddr *)&ss, sslen) < 0) {
        fprintf(stderr, "blast-target: bind %s port %lu: %s\n", addr, port, strerror(errno));
        goto out;
    }
    if (listen(srv.lfd, (int)backlog) < 0) {
        perror("blast-target: listen");
        goto out;
    }
    sslen = sizeof(ss);
    if (getsockname(srv.lfd, (struct sockaddr *)&ss, &sslen) < 0) {
        perror("blast-target: getsockname");
        goto out;
    }
    unsigned bound = sockaddr_port(&ss);

    srv.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    if (srv.ep < 0 || epoll_ctl(srv.ep, EPOLL_CTL_ADD, srv.lfd, &lev) < 0) {
        perror("blast-target: epoll");
        goto out;
    }
    srv.now = clock_ns();
    srv.accept_pending = true; /* connections may have queued before the listener was added */

    if (port_file) {
        int prc = write_port_file(port_file, bound);
        if (prc < 0) {
            fprintf(stderr, "blast-target: %s: %s\n", port_file, strerror(-prc));
            goto out;
        }
    }
    if (!quiet) {
        say_listening("blast-target", &ss);
        fflush(stdout);
    }
    rc = serve();
out:
    cleanup();
    return rc;
}
