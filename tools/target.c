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
 * Invariants: nothing is allocated per request (buffers grow per connection, geometrically, up to
 * fixed caps); per-connection memory is bounded, because reading stops while the ring is full and
 * rendering stops while OUT_SOFT bytes are unsent, so a client that does not read holds at most
 * ~OUT_MAX + HEAD_MAX bytes and blocks nobody else. A connection is referenced from at most the
 * epoll set, the timer heap, the stall list, the run queue and the all-connections list, and
 * conn_close() unlinks it from every one before freeing it.
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

#define HEAD_MAX (64u * 1024)              /* request head limit; beyond it: 431 */
#define IN_INIT 8192u                      /* initial input buffer; grows only for long heads */
#define OUT_INIT 8192u                     /* initial output buffer */
#define OUT_SOFT (256u * 1024)             /* stop rendering responses while this much is unsent */
#define OUT_MAX (OUT_SOFT + 16u * 1024)    /* OUT_SOFT plus the largest single render step */
#define HEAD_ROOM 512u                     /* largest response head plus a short body */
#define RING 64u                           /* pending responses per connection (power of two) */
#define CHUNK_MAX 4096u                    /* /chunked/N chunk size */
#define BODY_MAX (64ull * 1024 * 1024)     /* /bytes/N and /chunked/N limit */
#define DELAY_MAX_MS 600000ull             /* /delay/MS and /admin/stall/MS limit */
#define LINGER_NS (2ull * 1000000000)      /* how long a closing connection drains its input */
#define ACCEPT_RETRY_NS (100ull * 1000000) /* retry after EMFILE when no connection closes */
#define MAX_EVENTS 512
#define ROUNDS_MAX 32 /* read/write rounds per turn, so one busy client cannot starve the rest */

enum job_kind { JOB_TEXT, JOB_BYTES, JOB_CHUNKED, JOB_STATS, JOB_CONTINUE };

enum job_flag {
    JF_CLOSE = 1,       /* close the connection after this response */
    JF_HEAD = 2,        /* HEAD request: headers only */
    JF_KEEPALIVE10 = 4, /* HTTP/1.0 keep-alive: say so in the response */
    JF_ADMIN = 8,       /* /admin/ paths: not held by a stall, not counted */
};

struct job {
    uint64_t ready_at; /* CLOCK_MONOTONIC ns before which it must not be rendered */
    uint64_t n;        /* body length for JOB_BYTES and JOB_CHUNKED */
    uint16_t status;
    uint8_t kind;
    uint8_t flags;
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
    uint64_t discard;    /* request body bytes still to skip */
    uint64_t stream_off; /* body bytes of the head job already rendered */
    char *in;
    uint32_t in_cap, in_len, in_off;
    uint32_t scan; /* head-end search resumes here (relative to in_off) */
    char *out;
    uint32_t out_cap, out_len, out_off;
    uint32_t jhead, jcount;
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

/* Renders a response head; at most ~200 bytes, well inside HEAD_ROOM. */
static char *put_head(char *p, unsigned status, unsigned flags, enum body_framing framing,
                      uint64_t len, bool json)
{
    const char *r = reason(status);
    p = PUTS(p, "HTTP/1.1 ");
    p = put_u64(p, status);
    *p++ = ' ';
    p = put(p, r, strlen(r));
    if (json)
        p = PUTS(p, "\r\nContent-Type: application/json\r\n");
    else
        p = PUTS(p, "\r\nContent-Type: text/plain\r\n");
    if (framing == BODY_LENGTH) {
        p = PUTS(p, "Content-Length: ");
        p = put_u64(p, len);
        p = PUTS(p, "\r\n");
    } else if (framing == BODY_CHUNKED) {
        p = PUTS(p, "Transfer-Encoding: chunked\r\n");
    }
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

/* Renders the head (and a short body) of job j at p; returns the new end. */
static char *render_start(const struct job *j, char *p)
{
    bool head = j->flags & JF_HEAD;
    switch (j->kind) {
    case JOB_CONTINUE:
        return PUTS(p, "HTTP/1.1 100 Continue\r\n\r\n");
    case JOB_BYTES:
        return put_head(p, j->status, j->flags, BODY_LENGTH, j->n, false);
    case JOB_CHUNKED:
        return put_head(p, j->status, j->flags, BODY_CHUNKED, 0, false);
    case JOB_STATS: {
        char body[160];
        int n =
            snprintf(body, sizeof(body), "{\"requests\":%llu,\"connections\":%llu,\"open\":%llu}\n",
                     (unsigned long long)srv.requests, (unsigned long long)srv.connections,
                     (unsigned long long)srv.open);
        p = put_head(p, 200, j->flags, BODY_LENGTH, (uint64_t)n, true);
        return head ? p : put(p, body, (size_t)n);
    }
    default:
        break;
    }
    /* JOB_TEXT */
    if (j->status == 200 && (j->flags & ~JF_ADMIN) == 0)
        return PUTS(p, OK_RESPONSE);
    if (j->status == 204 || j->status == 304)
        return put_head(p, j->status, j->flags, BODY_NONE, 0, false);
    if (j->status == 205)
        return put_head(p, j->status, j->flags, BODY_LENGTH, 0, false);
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
    p = put_head(p, j->status, j->flags, BODY_LENGTH, (uint64_t)(b - body), false);
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
    if (flags & JF_CLOSE)
        c->done_reading = true;
    c->work++;
    return j;
}

/*
 * A request we cannot frame: answer status and close, since the next request cannot be found.
 * Returns 0, the body length left to discard, for parse_request's convenience.
 */
static uint64_t reject(struct conn *c, unsigned status)
{
    job_push(c, JOB_TEXT, status, JF_CLOSE);
    return 0;
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

/*
 * Parses one complete request head h[0..n) and queues its response. Returns the Content-Length
 * to discard (0 when none or when the request was rejected).
 */
static uint64_t parse_request(struct conn *c, const char *h, uint32_t n)
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

    bool conn_close = false, conn_keepalive = false, chunked = false, expect = false;
    bool have_len = false;
    uint64_t clen = 0;
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
            if (!parse_num(v, vlen, 1ull << 62, &x) || (have_len && x != clen))
                return reject(c, 400);
            have_len = true;
            clen = x;
        } else if (token_eq(name, nlen, "transfer-encoding")) {
            chunked = true; /* any transfer coding: we cannot frame it, chunked or not */
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
        }
    }
    if (chunked)
        return reject(c, 501);

    const char *path = t;
    size_t plen = tlen;
    if (t[0] != '/' && !(tlen == 1 && t[0] == '*')) {
        /* absolute-form: scheme "://" authority path */
        const char *sep = tlen > 3 ? memmem(t, tlen, "://", 3) : NULL;
        if (!sep)
            return reject(c, 400);
        const char *a = sep + 3, *te = t + tlen;
        while (a < te && *a != '/' && *a != '?' && *a != '#')
            a++;
        path = a < te && *a == '/' ? a : "/";
        plen = a < te && *a == '/' ? (size_t)(te - a) : 1;
    }
    for (size_t i = 0; i < plen; i++) {
        if (path[i] == '?' || path[i] == '#') {
            plen = i;
            break;
        }
    }

    unsigned flags = 0;
    if (token_eq(m, mlen, "HEAD"))
        flags |= JF_HEAD;
    if (conn_close || (http10 && !conn_keepalive))
        flags |= JF_CLOSE;
    else if (http10)
        flags |= JF_KEEPALIVE10;

    /* Ask for a body the client is holding back, unless it is already here. */
    uint32_t buffered = c->in_len - c->in_off - n;
    if (expect && !http10 && clen > buffered)
        job_push(c, JOB_CONTINUE, 100, JF_ADMIN);

    struct job *j = job_push(c, JOB_TEXT, 200, flags);
    route(j, path, plen);
    /* RFC 9112 6.1: never send chunked to an HTTP/1.0 client; fall back to Content-Length. */
    if (http10 && j->kind == JOB_CHUNKED)
        j->kind = JOB_BYTES;
    if (j->flags & JF_CLOSE) {
        c->done_reading = true;
        /* Connection: close told us no more requests follow; its body still needs no reading. */
        return 0;
    }
    return clen;
}

/* Turns buffered input into jobs while the ring has room for a request (and its 100 Continue). */
static void conn_parse(struct conn *c)
{
    while (!c->done_reading) {
        uint32_t avail = c->in_len - c->in_off;
        if (c->discard) {
            uint32_t k = c->discard < avail ? (uint32_t)c->discard : avail;
            if (!k)
                return;
            c->in_off += k;
            c->discard -= k;
            c->work++;
            continue;
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
        uint64_t clen = parse_request(c, c->in + c->in_off, n);
        c->in_off += n;
        c->scan = 0;
        c->discard = clen;
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
    close(c->fd);
    free(c->in);
    free(c->out);
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
        break;
    }
    conn_close(c);
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
          "                    [--quiet] [--any-address] [--reuseport]\n"
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
          "\n"
          "endpoints (any method; query strings ignored):\n"
          "  /                  200 \"ok\\n\"\n"
          "  /status/NNN        status NNN (200..599)\n"
          "  /delay/MS          200 after MS ms (0..600000)\n"
          "  /bytes/N           N-byte body (N <= 64 MiB)\n"
          "  /chunked/N         N-byte body, chunked encoding\n"
          "  /close             200, then close the connection\n"
          "  /admin/stall/MS    hold every other response until MS ms from now\n"
          "  /admin/stats       {\"requests\":N,\"connections\":N,\"open\":N}\n"
          "  anything else      200 \"ok\\n\"\n",
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
                     opt_is(a, alen, "--port-file") || opt_is(a, alen, "--backlog");
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
