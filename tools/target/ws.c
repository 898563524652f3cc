/*
 * The target server's WebSocket endpoints: /api/v1/ws (echo) and /api/v1/ws/room (every message
 * goes to every member of one room, the sender included), with fault modes for blast's tests.
 *
 * Sessions run in one thread with its own edge-triggered epoll set; tools/target.c hands each
 * upgraded socket over through a mutex-guarded queue and an eventfd. The framing here is the
 * server side of RFC 6455, written independently of blast's client (src/ws.c), so the two do not
 * share a mistake: a frame is handled once it is wholly buffered (client messages are bounded by
 * MSG_MAX), unmasked in place; fragments are joined in a per-session message buffer.
 *
 * Query parameters of the upgrade request (all optional):
 *   status=N       answer the handshake with status N instead of 101
 *   fault=NAME     bad_accept (a wrong Sec-WebSocket-Accept), ping_flood (n pings, default 100,
 *                  right after the handshake), and, at the first message: close_mid_frame (half a
 *                  frame, then EOF), masked (a masked reply), rsv (RSV1 set), opcode (opcode 3),
 *                  close_1011 (close with 1011), big (an n-byte binary message, default 16 MiB,
 *                  before the echo), silent (never reply)
 *   drop=N         do not answer every N-th message
 *   close_after=N  close with 1000 after answering N messages
 *
 * Invariants: a session is on the all-sessions list from adoption to destruction and on the room
 * list while a member; nothing else points at it but its epoll registration, removed (by close)
 * in sess_destroy. Buffers grow geometrically per session, bounded by MSG_MAX and OUT_LIMIT.
 */
#include "target/ws.h"
#include "target/ws_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX (16u << 20)          /* largest client message; beyond it: close 1009 */
#define IN_INIT 2048u                /* initial input buffer */
#define OUT_LIMIT (48u << 20)        /* unsent output beyond this: the client is not reading */
#define BIG_DEFAULT (16u << 20)      /* fault=big message size */
#define PINGS_DEFAULT 100u           /* fault=ping_flood ping count */
#define LINGER_NS (2000000000ull)    /* how long a closing session waits for the client */
#define TICK_MS 250                  /* deadline scan period */

enum fault {
    F_NONE,
    F_BAD_ACCEPT,
    F_PING_FLOOD,
    F_CLOSE_MID_FRAME,
    F_MASKED,
    F_RSV,
    F_OPCODE,
    F_CLOSE_1011,
    F_BIG,
    F_SILENT,
};

static const char *const fault_names[] = {
    [F_BAD_ACCEPT] = "bad_accept", [F_PING_FLOOD] = "ping_flood",
    [F_CLOSE_MID_FRAME] = "close_mid_frame", [F_MASKED] = "masked", [F_RSV] = "rsv",
    [F_OPCODE] = "opcode", [F_CLOSE_1011] = "close_1011", [F_BIG] = "big", [F_SILENT] = "silent",
};

struct sess {
    int fd;
    bool room;
    bool can_write;
    bool close_sent; /* our close frame is queued: wait for the client's, then end */
    bool end_flushed; /* end the session once the queued output is out */
    bool draining;   /* write side shut: read and discard until EOF or the deadline */
    bool dead;       /* destroy at the end of this turn */
    uint8_t fault;
    uint8_t msg_op; /* opcode of the fragmented message being joined (0: none) */
    uint32_t n;     /* the fault's number (pings, big size) */
    uint32_t drop_every, close_after;
    uint64_t seen, answered;
    uint64_t deadline; /* CLOCK_MONOTONIC ns; 0: none */
    uint8_t *in;
    size_t in_off, in_len, in_cap;
    uint8_t *msg;
    size_t msg_len, msg_cap;
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    struct sess *prev, *next;   /* all sessions */
    struct sess *rprev, *rnext; /* room members */
};

enum {
    C_SESSIONS,
    C_OPEN,
    C_REJECTED,
    C_MSGS_RECEIVED,
    C_MSGS_SENT,
    C_ROOM_DELIVERED,
    C_PINGS_SENT,
    C_PONGS_RECEIVED,
    C_CLOSES_RECEIVED,
    C_PROTOCOL_ERRORS,
    C_COUNT
};
static const char *const counter_names[C_COUNT] = {
    "ws_sessions",      "ws_open",           "ws_rejected",       "ws_msgs_received",
    "ws_msgs_sent",     "ws_room_delivered", "ws_pings_sent",     "ws_pongs_received",
    "ws_closes_received", "ws_protocol_errors",
};
static _Atomic uint64_t counters[C_COUNT];

static struct {
    pthread_mutex_t mu;
    pthread_t th;
    bool started;
    atomic_bool stop;
    int ep, evfd;
    struct sess *queue; /* adopted, not yet registered (linked by next), under mu */
    struct sess *all;
    struct sess *members;
    uint32_t nmembers;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .ep = -1, .evfd = -1};

static void count(int c, uint64_t n)
{
    atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool tws_path(const char *path, size_t n)
{
    return (n == 10 && memcmp(path, "/api/v1/ws", 10) == 0) ||
           (n == 15 && memcmp(path, "/api/v1/ws/room", 15) == 0);
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        *p++ = tmp[--k];
    return p;
}

char *tws_stats_put(char *p)
{
    for (int i = 0; i < C_COUNT; i++) {
        *p++ = ',';
        *p++ = '"';
        size_t l = strlen(counter_names[i]);
        memcpy(p, counter_names[i], l);
        p += l;
        *p++ = '"';
        *p++ = ':';
        p = put_u64(p, atomic_load_explicit(&counters[i], memory_order_relaxed));
    }
    return p;
}

_Static_assert(C_COUNT * (4 + 20 + 20) < TWS_STATS_MAX, "the ws counters fit TWS_STATS_MAX");

/* ---- buffers ---- */

static bool grow(uint8_t **buf, size_t *cap, size_t need, size_t limit)
{
    if (need <= *cap)
        return true;
    if (need > limit)
        return false;
    size_t c = *cap ? *cap : IN_INIT;
    while (c < need)
        c *= 2;
    if (c > limit)
        c = limit;
    uint8_t *b = realloc(*buf, c);
    if (!b)
        return false;
    *buf = b;
    *cap = c;
    return true;
}

static void out_put(struct sess *s, const void *p, size_t n)
{
    if (s->dead || s->draining)
        return;
    if (s->out_off && s->out_off == s->out_len)
        s->out_off = s->out_len = 0;
    if (s->out_off > s->out_cap / 2) {
        memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
        s->out_len -= s->out_off;
        s->out_off = 0;
    }
    if (!grow(&s->out, &s->out_cap, s->out_len + n, OUT_LIMIT)) {
        s->dead = true; /* not reading, or out of memory: drop the client */
        return;
    }
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
}

/* A server frame: unmasked unless mask_key is non-zero. */
static void frame_put(struct sess *s, unsigned b0, const uint8_t *pl, size_t n, uint32_t mask_key)
{
    uint8_t h[14];
    size_t k = 0;
    uint8_t m = mask_key ? 0x80 : 0;
    h[k++] = (uint8_t)b0;
    if (n < 126) {
        h[k++] = m | (uint8_t)n;
    } else if (n < 65536) {
        h[k++] = m | 126;
        h[k++] = (uint8_t)(n >> 8);
        h[k++] = (uint8_t)n;
    } else {
        h[k++] = m | 127;
        for (int sh = 56; sh >= 0; sh -= 8)
            h[k++] = (uint8_t)((uint64_t)n >> sh);
    }
    if (mask_key) {
        for (int sh = 24; sh >= 0; sh -= 8)
            h[k++] = (uint8_t)(mask_key >> sh);
    }
    out_put(s, h, k);
    if (!mask_key) {
        out_put(s, pl, n);
        return;
    }
    size_t at = s->out_len;
    out_put(s, pl, n);
    if (s->dead)
        return;
    for (size_t i = 0; i < n; i++)
        s->out[at + i] ^= (uint8_t)(mask_key >> (24 - 8 * (i & 3)));
}

static void close_put(struct sess *s, unsigned code, const char *reason)
{
    uint8_t pl[125];
    size_t rl = strlen(reason);
    pl[0] = (uint8_t)(code >> 8);
    pl[1] = (uint8_t)code;
    memcpy(pl + 2, reason, rl);
    frame_put(s, 0x88, pl, 2 + rl, 0);
    s->close_sent = true;
    s->deadline = now_ns() + LINGER_NS;
}

/* ---- sessions ---- */

static void room_leave(struct sess *s)
{
    if (!s->room)
        return;
    if (s->rprev)
        s->rprev->rnext = s->rnext;
    else
        W.members = s->rnext;
    if (s->rnext)
        s->rnext->rprev = s->rprev;
    s->room = false;
    W.nmembers--;
}

static void sess_destroy(struct sess *s)
{
    room_leave(s);
    if (s->prev)
        s->prev->next = s->next;
    else
        W.all = s->next;
    if (s->next)
        s->next->prev = s->prev;
    close(s->fd);
    free(s->in);
    free(s->msg);
    free(s->out);
    free(s);
    atomic_fetch_sub_explicit(&counters[C_OPEN], 1, memory_order_relaxed);
}

/* The output is out: shut the write side, then drain until EOF or the deadline. */
static void sess_finish(struct sess *s)
{
    if (s->draining || s->dead)
        return;
    room_leave(s);
    s->draining = true;
    s->deadline = now_ns() + LINGER_NS;
    if (shutdown(s->fd, SHUT_WR) < 0)
        s->dead = true;
}

static void flush(struct sess *s)
{
    while (!s->dead && s->can_write && s->out_off < s->out_len) {
        ssize_t w = send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
        if (w > 0) {
            s->out_off += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            s->can_write = false;
        } else {
            s->dead = true;
        }
    }
    if (!s->dead && s->out_off == s->out_len && s->end_flushed)
        sess_finish(s);
}

/* ---- the handshake ---- */

static uint8_t query_fault(const char *q, size_t n)
{
    for (size_t i = 0; i + 6 <= n; i++) {
        if ((i == 0 || q[i - 1] == '&') && memcmp(q + i, "fault=", 6) == 0) {
            const char *v = q + i + 6;
            size_t l = 0;
            while (i + 6 + l < n && v[l] != '&')
                l++;
            for (unsigned f = 1; f < sizeof fault_names / sizeof fault_names[0]; f++) {
                if (strlen(fault_names[f]) == l && memcmp(v, fault_names[f], l) == 0)
                    return (uint8_t)f;
            }
        }
    }
    return F_NONE;
}

static void reply_status(struct sess *s, unsigned status, const char *extra)
{
    char h[256];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %u %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", status,
                     status == 426 ? "Upgrade Required" : status == 400 ? "Bad Request" : "Refused",
                     extra);
    out_put(s, h, (size_t)n);
    count(C_REJECTED, 1);
    s->end_flushed = true;
}

/* Answers the upgrade request at the start of s->in (its head is whole). Returns the head's
 * length, or 0 when the session ends with an HTTP answer. */
static size_t handshake(struct sess *s)
{
    struct tws_upgrade u;
    size_t head = tws_upgrade_parse((const char *)s->in, s->in_len, &u);
    if (!head) {
        reply_status(s, 400, "");
        return 0;
    }
    const char *q = u.query, *key = u.key, *proto = u.proto;
    size_t qlen = u.qlen, klen = u.klen, prlen = u.prlen;
    bool room = u.room, upgrade = u.upgrade, connection = u.connection, version = u.version;
    uint32_t status = tws_query_num(q, qlen, "status", 101);
    if (!upgrade || !connection || !version) {
        reply_status(s, 426, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n");
        return 0;
    }
    if (!key || klen != 24) {
        reply_status(s, 400, "");
        return 0;
    }
    if (status != 101) {
        reply_status(s, status >= 200 && status <= 599 ? status : 400, "");
        return 0;
    }
    s->fault = query_fault(q, qlen);
    s->drop_every = tws_query_num(q, qlen, "drop", 0);
    s->close_after = tws_query_num(q, qlen, "close_after", 0);
    s->n = tws_query_num(q, qlen, "n", s->fault == F_BIG ? BIG_DEFAULT : PINGS_DEFAULT);
    if (s->fault == F_BIG && s->n > (32u << 20))
        s->n = 32u << 20;

    char acc[29];
    tws_accept_value(key, klen, acc);
    if (s->fault == F_BAD_ACCEPT)
        acc[0] = acc[0] == 'A' ? 'B' : 'A';
    char r[320];
    int n = snprintf(r, sizeof r,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                     acc);
    if (proto && prlen && prlen < 64)
        n += snprintf(r + n, sizeof r - (size_t)n, "Sec-WebSocket-Protocol: %.*s\r\n", (int)prlen,
                      proto);
    n += snprintf(r + n, sizeof r - (size_t)n, "\r\n");
    out_put(s, r, (size_t)n);
    count(C_SESSIONS, 1);
    if (room) {
        s->room = true;
        s->rnext = W.members;
        if (W.members)
            W.members->rprev = s;
        W.members = s;
        W.nmembers++;
    }
    if (s->fault == F_PING_FLOOD) {
        for (uint32_t i = 0; i < s->n && !s->dead; i++) {
            char pl[16];
            int k = snprintf(pl, sizeof pl, "p%u", i);
            frame_put(s, 0x89, (const uint8_t *)pl, (size_t)k, 0);
        }
        count(C_PINGS_SENT, s->n);
    }
    return head;
}

/* ---- messages ---- */

static void protocol_error(struct sess *s, unsigned code, const char *why)
{
    count(C_PROTOCOL_ERRORS, 1);
    if (!s->close_sent)
        close_put(s, code, why);
    s->end_flushed = true; /* do not wait for the client's close */
    flush(s);
}

/* A whole message from the client: answer as the endpoint and the fault say. */
static void on_message(struct sess *s, unsigned op, const uint8_t *p, size_t n)
{
    count(C_MSGS_RECEIVED, 1);
    s->seen++;
    bool first = s->seen == 1;
    if (s->close_sent)
        return; /* closing: no more answers */
    if (first) {
        switch (s->fault) {
        case F_CLOSE_MID_FRAME: {
            static const uint8_t half[] = {0x81, 10, 'h', 'a', 'l'};
            out_put(s, half, sizeof half);
            s->end_flushed = true;
            flush(s);
            return;
        }
        case F_MASKED:
            frame_put(s, 0x80 | op, p, n, 0x11223344u);
            count(C_MSGS_SENT, 1);
            return;
        case F_RSV:
            frame_put(s, 0xC0 | op, p, n, 0);
            count(C_MSGS_SENT, 1);
            return;
        case F_OPCODE:
            frame_put(s, 0x83, p, n, 0);
            count(C_MSGS_SENT, 1);
            return;
        case F_CLOSE_1011:
            close_put(s, 1011, "internal error");
            return;
        case F_BIG: {
            uint8_t *big = malloc(s->n ? s->n : 1);
            if (!big) {
                s->dead = true;
                return;
            }
            for (uint32_t i = 0; i < s->n; i++)
                big[i] = (uint8_t)('a' + i % 26);
            frame_put(s, 0x82, big, s->n, 0);
            free(big);
            count(C_MSGS_SENT, 1);
            break;
        }
        default:
            break;
        }
    }
    if (s->fault == F_SILENT || (s->drop_every && s->seen % s->drop_every == 0))
        return;
    if (s->room) {
        uint32_t k = 0;
        for (struct sess *m = W.members; m; m = m->rnext) {
            if (m->close_sent || m->draining || m->dead)
                continue;
            frame_put(m, 0x80 | op, p, n, 0);
            if (m != s)
                flush(m);
            k++;
        }
        count(C_MSGS_SENT, k);
        count(C_ROOM_DELIVERED, k);
    } else {
        frame_put(s, 0x80 | op, p, n, 0);
        count(C_MSGS_SENT, 1);
    }
    s->answered++;
    if (s->close_after && s->answered == s->close_after)
        close_put(s, 1000, "bye");
}

/* Handles one whole frame (payload unmasked). */
static void on_frame(struct sess *s, uint8_t b0, uint8_t *p, size_t n)
{
    unsigned op = b0 & 0x0F;
    bool fin = b0 & 0x80;
    switch (op) {
    case 0x8: {
        count(C_CLOSES_RECEIVED, 1);
        if (!s->close_sent) {
            unsigned code = n >= 2 ? (unsigned)(p[0] << 8 | p[1]) : 1000;
            close_put(s, code, "");
        }
        s->end_flushed = true; /* the close handshake is complete once ours is out */
        flush(s);
        return;
    }
    case 0x9:
        frame_put(s, 0x8A, p, n, 0);
        return;
    case 0xA:
        count(C_PONGS_RECEIVED, 1);
        return;
    case 0x0:
        if (!s->msg_op)
            return protocol_error(s, 1002, "continuation without a message");
        break;
    case 0x1:
    case 0x2:
        if (s->msg_op)
            return protocol_error(s, 1002, "message inside a fragmented one");
        if (fin)
            return on_message(s, op, p, n);
        s->msg_op = (uint8_t)op;
        s->msg_len = 0;
        break;
    default:
        return protocol_error(s, 1002, "unknown opcode");
    }
    if (!grow(&s->msg, &s->msg_cap, s->msg_len + n, MSG_MAX))
        return protocol_error(s, 1009, "message too big");
    memcpy(s->msg + s->msg_len, p, n);
    s->msg_len += n;
    if (fin) {
        unsigned mop = s->msg_op;
        s->msg_op = 0;
        on_message(s, mop, s->msg, s->msg_len);
    }
}

/* Handles every whole frame buffered in s->in. */
static void frames(struct sess *s)
{
    while (!s->dead && !s->draining) {
        uint8_t *b = s->in + s->in_off;
        size_t avail = s->in_len - s->in_off;
        if (avail < 2)
            break;
        uint8_t b0 = b[0], b1 = b[1];
        if (b0 & 0x70)
            return protocol_error(s, 1002, "reserved bits set");
        if (!(b1 & 0x80))
            return protocol_error(s, 1002, "unmasked client frame");
        uint64_t len = b1 & 0x7F;
        size_t h = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)b[2] << 8 | b[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | b[2 + i];
            h = 10;
        }
        if ((b0 & 0x08) && (len > 125 || !(b0 & 0x80)))
            return protocol_error(s, 1002, "bad control frame");
        if (len > MSG_MAX)
            return protocol_error(s, 1009, "message too big");
        size_t need = h + 4 + (size_t)len;
        if (avail < need) {
            if (s->in_off) { /* make room at the front for the rest of this frame */
                memmove(s->in, b, avail);
                s->in_len = avail;
                s->in_off = 0;
            }
            if (!grow(&s->in, &s->in_cap, need, MSG_MAX + 64))
                return protocol_error(s, 1009, "message too big");
            break;
        }
        uint8_t *mk = b + h, *p = b + h + 4;
        for (size_t i = 0; i < len; i++)
            p[i] ^= mk[i & 3];
        s->in_off += need;
        on_frame(s, b0, p, (size_t)len);
    }
    if (s->in_off == s->in_len)
        s->in_off = s->in_len = 0;
}

static void sess_read(struct sess *s)
{
    for (;;) {
        if (s->dead)
            return;
        if (s->in_len == s->in_cap) {
            if (s->in_off) {
                memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
                s->in_len -= s->in_off;
                s->in_off = 0;
            } else if (!grow(&s->in, &s->in_cap, s->in_cap + 1, MSG_MAX + 64)) {
                return protocol_error(s, 1009, "message too big");
            }
        }
        ssize_t r = recv(s->fd, s->in + s->in_len, s->in_cap - s->in_len, 0);
        if (r > 0) {
            if (s->draining) {
                s->in_off = s->in_len = 0;
                continue;
            }
            s->in_len += (size_t)r;
            frames(s);
            flush(s);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        s->dead = true; /* EOF or error: nothing more will come */
        return;
    }
}

static void sess_start(struct sess *s)
{
    s->next = W.all;
    if (W.all)
        W.all->prev = s;
    W.all = s;
    s->can_write = true;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
    if (epoll_ctl(W.ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
        sess_destroy(s);
        return;
    }
    size_t head = handshake(s);
    if (head) {
        s->in_off = head;
        frames(s);
    }
    flush(s);
    if (s->dead)
        sess_destroy(s);
}

static void *ws_thread(void *arg)
{
    (void)arg;
    struct epoll_event evs[256];
    while (!atomic_load(&W.stop)) {
        int n = epoll_wait(W.ep, evs, 256, TICK_MS);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            struct sess *s = evs[i].data.ptr;
            if (!s) {
                uint64_t v;
                if (read(W.evfd, &v, sizeof v) < 0 && errno != EAGAIN)
                    break;
                pthread_mutex_lock(&W.mu);
                struct sess *q = W.queue;
                W.queue = NULL;
                pthread_mutex_unlock(&W.mu);
                while (q) {
                    struct sess *nx = q->next;
                    q->next = NULL;
                    sess_start(q);
                    q = nx;
                }
                continue;
            }
            if (evs[i].events & EPOLLOUT)
                s->can_write = true;
            if (evs[i].events & (EPOLLERR | EPOLLHUP))
                s->dead = true;
            flush(s);
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
                sess_read(s);
            flush(s);
        }
        /* Room broadcasts may have failed other members; deadlines end lingering sessions. */
        uint64_t t = now_ns();
        for (struct sess *s = W.all, *nx; s; s = nx) {
            nx = s->next;
            if (!s->dead && s->deadline && t >= s->deadline)
                s->dead = true;
            if (s->dead)
                sess_destroy(s);
        }
    }
    while (W.all)
        sess_destroy(W.all);
    return NULL;
}

static int start(void)
{
    W.ep = epoll_create1(EPOLL_CLOEXEC);
    W.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (W.ep < 0 || W.evfd < 0 || epoll_ctl(W.ep, EPOLL_CTL_ADD, W.evfd, &ev) < 0)
        return -errno;
    int rc = pthread_create(&W.th, NULL, ws_thread, NULL);
    if (rc)
        return -rc;
    W.started = true;
    return 0;
}

int tws_adopt(int fd, const char *buf, size_t n)
{
    struct sess *s = calloc(1, sizeof *s);
    if (!s || !grow(&s->in, &s->in_cap, n > IN_INIT ? n : IN_INIT, MSG_MAX + 64)) {
        if (s)
            free(s->in);
        free(s);
        close(fd);
        return -ENOMEM;
    }
    memcpy(s->in, buf, n);
    s->in_len = n;
    s->fd = fd;
    atomic_fetch_add_explicit(&counters[C_OPEN], 1, memory_order_relaxed);
    pthread_mutex_lock(&W.mu);
    int rc = W.started ? 0 : start();
    if (rc == 0) {
        s->next = W.queue;
        W.queue = s;
    }
    pthread_mutex_unlock(&W.mu);
    if (rc) {
        atomic_fetch_sub_explicit(&counters[C_OPEN], 1, memory_order_relaxed);
        free(s->in);
        free(s);
        close(fd);
        return rc;
    }
    uint64_t one = 1;
    if (write(W.evfd, &one, sizeof one) < 0 && errno != EAGAIN)
        return -errno;
    return 0;
}

void tws_stop(void)
{
    if (!W.started)
        return;
    atomic_store(&W.stop, true);
    uint64_t one = 1;
    if (write(W.evfd, &one, sizeof one) < 0) {
        /* the thread wakes within TICK_MS anyway */
    }
    pthread_join(W.th, NULL);
    W.started = false;
    close(W.evfd);
    close(W.ep);
}
