/*
 * blast-faults: a misbehaving HTTP/1.1 server for blast's fault-injection tests (issue 5).
 *
 * The request path picks the fault, so one server serves every case: it reads a request head,
 * then answers with a short script of at most SEG_MAX byte segments (each may wait before it is
 * written, or be trickled a byte at a time) and ends the exchange one of four ways: keep the
 * connection for the next request, close it (FIN, then drain), reset it (SO_LINGER {1, 0}) or
 * hold it without ever reading again. Two faults need no request, so they are modes of the whole
 * server: `--unsolicited` (a response written the moment a connection is accepted) and
 * `--tls-garbage` (bytes that are not TLS in answer to the client's first flight, where a
 * ServerHello belongs; then silence).
 *
 * One thread, level-triggered epoll, non-blocking sockets; timers are a deadline per connection
 * found by a linear scan (a test server holds a few hundred connections at most). Every response
 * body lives in static buffers built at start, so nothing is allocated per request; each
 * connection owns one fixed input buffer. Loopback only: this server answers badly on purpose.
 *
 * Invariant: a connection is in the all-connections list exactly while its socket is open, and
 * its epoll interest is exactly what its phase needs (`events`), so a level-triggered event never
 * fires for work the connection cannot do.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define IN_MAX 16384u                /* request head limit (and input buffer); beyond: 431 */
#define SEG_MAX 3                    /* segments in one scripted answer */
#define DRAIN_NS (2ull * 1000000000) /* after our FIN, how long we read the peer's leftovers */
#define ACCEPT_RETRY_NS (100ull * 1000000) /* out of descriptors: retry accept after this */
#define MAX_EVENTS 256
#define ACCEPT_BATCH 64 /* accepts per turn, so a connect storm cannot starve the open ones */
#define DELAY_MAX_MS 600000ul
#define TRICKLE_MS 100u      /* /trickle: one body byte per 100 ms */
#define TRICKLE_DEFAULT 50ul /* /trickle: 50 bytes, 5 s */
#define TRICKLE_MAX 100000ul
#define HUGE_HEADER (1024u * 1024) /* /huge-header: one header line of 1 MiB */
#define MANY_HEADERS 10000u        /* /many-headers */
#define RESET_PAUSE_MS 10u         /* partial response, then this pause, then the RST */
#define CONTINUE_GAP_MS 2u         /* /continue: 100 Continue, this gap, the final response */

enum after {
    A_KEEP,  /* read the next request */
    A_CLOSE, /* shutdown(SHUT_WR), drain the input until EOF or DRAIN_NS, close */
    A_RESET, /* SO_LINGER {1, 0} and close: the peer gets an RST */
    A_HOLD,  /* never read or write again; close only when the peer goes */
};

enum phase {
    P_READ,  /* reading a request head (or discarding a request body) */
    P_WRITE, /* playing the script */
    P_DRAIN, /* our side is shut: reading until EOF */
    P_HOLD,  /* doing nothing at all */
};

struct seg {
    const char *p;
    size_t len;
    uint32_t delay_ms;   /* wait this long before the first byte */
    uint32_t trickle_ms; /* when > 0: one byte, then this long, then the next byte */
};

struct conn {
    int fd;
    uint8_t phase;
    uint8_t after;
    uint8_t nseg, seg; /* script length; the segment being written */
    bool seg_begun;    /* the current segment's delay has been scheduled */
    uint32_t events;   /* current epoll interest */
    size_t off;        /* bytes of the current segment written */
    uint64_t ready_at; /* no byte is written before this (CLOCK_MONOTONIC ns); 0: none */
    uint64_t deadline; /* P_DRAIN: close at this time */
    uint64_t discard;  /* request body bytes still to skip */
    bool upload;       /* /upload: answer once the body has been read */
    struct seg segs[SEG_MAX];
    char scratch[96]; /* a formatted response head (/trickle) */
    uint32_t in_len;
    struct conn *prev, *next;
    char in[IN_MAX];
};

static struct {
    int ep, lfd;
    uint64_t now;
    bool unsolicited;
    bool tls_garbage;
    bool accept_paused;
    uint64_t accept_retry_at;
    struct conn *head;
    unsigned open;
} srv = {.ep = -1, .lfd = -1};

static volatile sig_atomic_t stop_requested;

/* ---- canned responses ---- */

#define OK_RESPONSE "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"

static const char ok_response[] = OK_RESPONSE;
static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 14\r\n\r\nunknown fault\n";
static const char bad_request[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
static const char too_large[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                "Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char not_impl[] = "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
static const char unsolicited[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: 12\r\n\r\nunsolicited\n";
/* Cut inside a header line. */
static const char reset_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/pl";
/* 1000 bytes announced; the first 100 are appended at start. */
static const char reset_body_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                      "Content-Length: 1000\r\n\r\n";
static const char short_body[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 "Content-Length: 1000\r\n\r\n0123456789";
/* Starts like nothing HTTP (a TLS alert record, then text). */
static const char garbage[] = "\x15\x03\x01\x00\x02\x02\x46"
                              "garbage: this is not an HTTP response\r\n\r\n";
static const char bad_headers[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                  "this line is not a header\r\n"
                                  "\x01\x02\x03: binary\r\n\r\nok\n";
static const char cl_te[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n";
static const char bad_chunk_hex[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "zz\r\nok\n\r\n0\r\n\r\n";
/* 17 hex digits: 2^64 + 3 does not fit in 64 bits. */
static const char chunk_overflow[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     "10000000000000003\r\nok\n\r\n0\r\n\r\n";
static const char http10[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 3\r\n\r\nok\n";
static const char http10_eof[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nok\n";
static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";
/* In place of a ServerHello: no TLS record starts with 'n' (0x6e is no content type). */
static const char tls_junk[] = "not TLS at all \x00\x01\x02\x03\xff\xfe\r\n\r\n";

/* Built at start (too large to spell out): */
static char *reset_body; /* reset_body_head + 100 body bytes */
static size_t reset_body_len;
static char *huge_header; /* a 1 MiB header line, then a valid 3-byte response */
static size_t huge_header_len;
static char *many_headers; /* 10,000 header lines */
static size_t many_headers_len;
static char *pattern; /* TRICKLE_MAX body bytes */

/* Returns 0 or -ENOMEM. */
static int build_responses(void)
{
    reset_body_len = sizeof(reset_body_head) - 1 + 100;
    reset_body = malloc(reset_body_len);
    huge_header_len = 64 + HUGE_HEADER + sizeof(OK_RESPONSE);
    huge_header = malloc(huge_header_len);
    many_headers_len = 64 + (size_t)MANY_HEADERS * 32 + sizeof(OK_RESPONSE);
    many_headers = malloc(many_headers_len);
    pattern = malloc(TRICKLE_MAX);
    if (!reset_body || !huge_header || !many_headers || !pattern)
        return -ENOMEM;

    memcpy(reset_body, reset_body_head, sizeof(reset_body_head) - 1);
    memset(reset_body + sizeof(reset_body_head) - 1, 'x', 100);

    char *p = huge_header;
    p += sprintf(p, "HTTP/1.1 200 OK\r\nX-Huge: ");
    memset(p, 'a', HUGE_HEADER);
    p += HUGE_HEADER;
    /* OK_RESPONSE minus its status line: the rest of a valid response. */
    p += sprintf(p, "\r\n%s", strstr(OK_RESPONSE, "\r\n") + 2);
    huge_header_len = (size_t)(p - huge_header);

    p = many_headers;
    p += sprintf(p, "HTTP/1.1 200 OK\r\n");
    for (unsigned i = 0; i < MANY_HEADERS; i++)
        p += sprintf(p, "X-Header-%05u: value\r\n", i);
    p += sprintf(p, "%s", strstr(OK_RESPONSE, "\r\n") + 2);
    many_headers_len = (size_t)(p - many_headers);

    for (size_t i = 0; i < TRICKLE_MAX; i++)
        pattern[i] = (char)('a' + i % 26);
    return 0;
}

static void free_responses(void)
{
    free(reset_body);
    free(huge_header);
    free(many_headers);
    free(pattern);
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
    close(c->fd); /* also leaves the epoll set: the descriptor is never duplicated */
    if (c->prev)
        c->prev->next = c->next;
    else
        srv.head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv.open--;
    free(c);
    if (srv.accept_paused)
        srv.accept_retry_at = 0; /* a descriptor is free again */
}

/* Sets the epoll interest; returns false (the connection is closed) when epoll refuses. */
static bool conn_want(struct conn *c, uint32_t events)
{
    if (c->events == events)
        return true;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(srv.ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        conn_close(c);
        return false;
    }
    c->events = events;
    return true;
}

static void conn_reset(struct conn *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    conn_close(c);
}

static void script_start(struct conn *c, enum after after)
{
    c->phase = P_WRITE;
    c->after = (uint8_t)after;
    c->seg = 0;
    c->seg_begun = false;
    c->off = 0;
    c->ready_at = 0;
}

static void script_add(struct conn *c, const char *p, size_t len, uint32_t delay_ms,
                       uint32_t trickle_ms)
{
    if (c->nseg < SEG_MAX)
        c->segs[c->nseg++] = (struct seg){p, len, delay_ms, trickle_ms};
}

#define ADD(c, lit) script_add((c), (lit), sizeof(lit) - 1, 0, 0)

/* Whether path[0..n) is lit followed by nothing or by "/" and a number <= max (put in *num). */
static bool route_num(const char *path, size_t n, const char *lit, unsigned long max,
                      unsigned long *num)
{
    size_t l = strlen(lit);
    if (n < l || memcmp(path, lit, l) != 0)
        return false;
    if (n == l)
        return true;
    if (path[l] != '/' || n == l + 1 || n - l - 1 > 9)
        return false;
    unsigned long v = 0;
    for (size_t i = l + 1; i < n; i++) {
        if (path[i] < '0' || path[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(path[i] - '0');
    }
    if (v > max)
        return false;
    *num = v;
    return true;
}

static bool route_is(const char *path, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(path, lit, n) == 0;
}

/* Turns a request for path[0..n) into the connection's script. */
static void route(struct conn *c, const char *path, size_t n)
{
    unsigned long v = 0;
    c->nseg = 0;
    if (route_is(path, n, "/")) {
        ADD(c, ok_response);
        script_start(c, A_KEEP);
    } else if (route_num(path, n, "/stall", DELAY_MAX_MS, &v)) {
        if (n == strlen("/stall"))
            v = 1000;
        script_add(c, ok_response, sizeof(ok_response) - 1, (uint32_t)v, 0);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/reset-head")) {
        ADD(c, reset_head);
        script_add(c, "", 0, RESET_PAUSE_MS, 0);
        script_start(c, A_RESET);
    } else if (route_is(path, n, "/reset-body")) {
        script_add(c, reset_body, reset_body_len, 0, 0);
        script_add(c, "", 0, RESET_PAUSE_MS, 0);
        script_start(c, A_RESET);
    } else if (route_is(path, n, "/close-before")) {
        script_start(c, A_CLOSE);
    } else if (route_is(path, n, "/garbage")) {
        ADD(c, garbage);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/bad-headers")) {
        ADD(c, bad_headers);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/huge-header")) {
        script_add(c, huge_header, huge_header_len, 0, 0);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/many-headers")) {
        script_add(c, many_headers, many_headers_len, 0, 0);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/short-body")) {
        ADD(c, short_body);
        script_start(c, A_CLOSE);
    } else if (route_is(path, n, "/cl-te")) {
        ADD(c, cl_te);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/bad-chunk-hex")) {
        ADD(c, bad_chunk_hex);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/chunk-overflow")) {
        ADD(c, chunk_overflow);
        script_start(c, A_KEEP);
    } else if (route_num(path, n, "/trickle", TRICKLE_MAX, &v)) {
        if (n == strlen("/trickle"))
            v = TRICKLE_DEFAULT;
        int hl = snprintf(c->scratch, sizeof(c->scratch),
                          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                          "Content-Length: %lu\r\n\r\n",
                          v);
        script_add(c, c->scratch, (size_t)hl, 0, 0);
        script_add(c, pattern, v, 0, TRICKLE_MS);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/http10")) {
        ADD(c, http10);
        script_start(c, A_CLOSE);
    } else if (route_is(path, n, "/http10-eof")) {
        ADD(c, http10_eof);
        script_start(c, A_CLOSE);
    } else if (route_is(path, n, "/continue")) {
        ADD(c, continue_100);
        script_add(c, ok_response, sizeof(ok_response) - 1, CONTINUE_GAP_MS, 0);
        script_start(c, A_KEEP);
    } else if (route_is(path, n, "/no-read")) {
        script_start(c, A_HOLD);
    } else if (route_is(path, n, "/upload")) {
        c->upload = true; /* take_request answers when the body is in */
    } else {
        ADD(c, not_found);
        script_start(c, A_KEEP);
    }
}

/* Answers with one canned response and closes (a request this server cannot take). */
static void refuse(struct conn *c, const char *resp, size_t len)
{
    c->nseg = 0;
    script_add(c, resp, len, 0, 0);
    script_start(c, A_CLOSE);
}

/* Case-insensitive: does the header line [p, e) have the name `name`? Sets *val to its value. */
static bool header_is(const char *p, const char *e, const char *name, const char **val)
{
    size_t l = strlen(name);
    if ((size_t)(e - p) <= l || p[l] != ':' || strncasecmp(p, name, l) != 0)
        return false;
    p += l + 1;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    *val = p;
    return true;
}

/* Parses the request head in[0..n) (n includes the blank line) and sets the script. */
static void parse_request(struct conn *c, uint32_t n)
{
    const char *h = c->in, *end = c->in + n;
    const char *eol = memchr(h, '\r', (size_t)(end - h));
    const char *sp1 = memchr(h, ' ', (size_t)(eol - h));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == h || sp2 == sp1 + 1 || sp1[1] != '/' ||
        (size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        refuse(c, bad_request, sizeof(bad_request) - 1);
        return;
    }
    c->discard = 0;
    for (const char *p = eol + 2; p < end - 2;) {
        const char *e = memchr(p, '\r', (size_t)(end - p));
        const char *val;
        if (header_is(p, e, "content-length", &val)) {
            uint64_t v = 0;
            for (; val < e && *val >= '0' && *val <= '9' && v < (1ull << 60); val++)
                v = v * 10 + (uint64_t)(*val - '0');
            c->discard = v;
        } else if (header_is(p, e, "transfer-encoding", &val)) {
            refuse(c, not_impl, sizeof(not_impl) - 1); /* chunked requests: not needed here */
            return;
        }
        p = e + 2;
    }
    const char *path = sp1 + 1;
    const char *q = memchr(path, '?', (size_t)(sp2 - path));
    route(c, path, (size_t)((q ? q : sp2) - path));
}

static void conn_pump(struct conn *c);

/* P_READ with input buffered: skips request body bytes, then takes a whole head if there is
 * one. Returns true when the script began (the caller pumps it). */
static bool take_request(struct conn *c)
{
    if (srv.tls_garbage && c->in_len) {
        /* The ClientHello (or whatever came): answer junk, then never speak again, so the
         * client must fail on the bytes themselves, not on a close. */
        c->in_len = 0;
        c->nseg = 0;
        ADD(c, tls_junk);
        script_start(c, A_HOLD);
        return true;
    }
    if (c->discard) {
        uint32_t k = c->discard < c->in_len ? (uint32_t)c->discard : c->in_len;
        memmove(c->in, c->in + k, c->in_len - k);
        c->in_len -= k;
        c->discard -= k;
        if (c->discard)
            return false;
    }
    if (c->upload) {
        c->upload = false;
        c->nseg = 0;
        ADD(c, ok_response);
        script_start(c, A_KEEP);
        return true;
    }
    const char *e = c->in_len >= 4 ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
    if (!e) {
        if (c->in_len == IN_MAX) {
            c->in_len = 0;
            refuse(c, too_large, sizeof(too_large) - 1);
            return true;
        }
        return false;
    }
    uint32_t n = (uint32_t)(e - c->in) + 4;
    parse_request(c, n);
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    if (c->upload) /* the body comes first: skip what of it is here */
        return take_request(c);
    return true;
}

/* The script ended: do what it ends with. */
static void script_done(struct conn *c)
{
    switch (c->after) {
    case A_KEEP:
        c->phase = P_READ;
        if (!conn_want(c, EPOLLIN))
            return;
        if (take_request(c))
            conn_pump(c);
        return;
    case A_CLOSE:
        shutdown(c->fd, SHUT_WR);
        c->phase = P_DRAIN;
        c->deadline = srv.now + DRAIN_NS;
        conn_want(c, EPOLLIN);
        return;
    case A_RESET:
        conn_reset(c);
        return;
    default: /* A_HOLD: nothing more; EPOLLERR and EPOLLHUP still tell when the peer goes */
        c->phase = P_HOLD;
        conn_want(c, 0);
        return;
    }
}

/* Writes as much of the script as its timing and the socket allow. */
static void conn_pump(struct conn *c)
{
    while (c->seg < c->nseg) {
        struct seg *s = &c->segs[c->seg];
        if (!c->seg_begun) {
            c->seg_begun = true;
            c->ready_at = s->delay_ms ? srv.now + s->delay_ms * NS_PER_MS : 0;
        }
        if (c->ready_at > srv.now) {
            conn_want(c, 0); /* the timer scan wakes it */
            return;
        }
        c->ready_at = 0;
        if (c->off < s->len) {
            size_t want = s->trickle_ms ? 1 : s->len - c->off;
            ssize_t w = send(c->fd, s->p + c->off, want, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    conn_want(c, EPOLLOUT);
                else
                    conn_close(c);
                return;
            }
            c->off += (size_t)w;
            if (s->trickle_ms && c->off < s->len) {
                c->ready_at = srv.now + s->trickle_ms * NS_PER_MS;
                continue;
            }
            if (c->off < s->len)
                continue;
        }
        c->seg++;
        c->off = 0;
        c->seg_begun = false;
    }
    script_done(c);
}

/* Readable in P_READ or P_DRAIN. */
static void conn_read(struct conn *c)
{
    if (c->phase == P_DRAIN) {
        char sink[16384];
        ssize_t r = recv(c->fd, sink, sizeof(sink), 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_close(c);
        return;
    }
    if (c->phase != P_READ)
        return;
    ssize_t r = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
    if (r == 0) {
        conn_close(c);
        return;
    }
    if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_close(c);
        return;
    }
    c->in_len += (uint32_t)r;
    if (take_request(c))
        conn_pump(c);
}

static void conn_new(int fd)
{
    struct conn *c = malloc(sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    memset(c, 0, offsetof(struct conn, in));
    c->fd = fd;
    c->events = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(srv.ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        free(c);
        return;
    }
    int one = 1;
    /* Partial heads and trickled bytes must leave at once, not when Nagle allows. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->next = srv.head;
    if (srv.head)
        srv.head->prev = c;
    srv.head = c;
    srv.open++;
    if (srv.unsolicited) {
        ADD(c, unsolicited);
        script_start(c, A_KEEP);
        conn_pump(c);
    }
}

static void set_accepting(bool on)
{
    struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = NULL};
    epoll_ctl(srv.ep, EPOLL_CTL_MOD, srv.lfd, &ev);
    srv.accept_paused = !on;
}

static void do_accept(void)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_new(fd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Level-triggered: the listener would fire again at once. Wait for a close. */
            set_accepting(false);
            srv.accept_retry_at = srv.now + ACCEPT_RETRY_NS;
        }
        return; /* EAGAIN, or an aborted connection: nothing more now */
    }
}

/* Milliseconds until the next timer, or -1. */
static int next_timeout(void)
{
    uint64_t t = UINT64_MAX;
    for (struct conn *c = srv.head; c; c = c->next) {
        if (c->phase == P_WRITE && c->ready_at && c->ready_at < t)
            t = c->ready_at;
        else if (c->phase == P_DRAIN && c->deadline < t)
            t = c->deadline;
    }
    if (srv.accept_paused && srv.accept_retry_at < t)
        t = srv.accept_retry_at;
    return epoll_timeout_ms(t);
}

static void run_timers(void)
{
    for (struct conn *c = srv.head, *next; c; c = next) {
        next = c->next; /* c may be freed below */
        if (c->phase == P_WRITE && c->ready_at && c->ready_at <= srv.now)
            conn_pump(c);
        else if (c->phase == P_DRAIN && c->deadline <= srv.now)
            conn_close(c);
    }
    if (srv.accept_paused && srv.accept_retry_at <= srv.now)
        set_accepting(true);
}

static int serve(void)
{
    struct epoll_event evs[MAX_EVENTS];
    sigset_t waitmask;
    stop_signals_only_while_waiting(&waitmask);

    while (!stop_requested) {
        int n = epoll_pwait(srv.ep, evs, MAX_EVENTS, next_timeout(), &waitmask);
        if (n < 0 && errno != EINTR) {
            perror("blast-faults: epoll_wait");
            return 1;
        }
        srv.now = clock_ns();
        /* A handler closes (frees) only its own connection, and epoll names a descriptor at
         * most once per wait, so no later event of this batch points at a freed connection. */
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (!c) {
                do_accept();
                continue;
            }
            if (e & (EPOLLERR | EPOLLHUP)) {
                conn_close(c);
                continue;
            }
            if (e & EPOLLIN)
                conn_read(c);
            else if (e & EPOLLOUT)
                conn_pump(c);
        }
        run_timers();
    }
    return 0;
}

/* ---- setup ---- */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fputs("usage: blast-faults [--listen ADDR] [--port N] [--port-file PATH] [--quiet]\n"
          "                    [--unsolicited] [--tls-garbage]\n"
          "\n"
          "A misbehaving HTTP/1.1 server for blast's fault-injection tests (loopback only).\n"
          "\n"
          "  --listen ADDR     loopback address to bind (default 127.0.0.1)\n"
          "  --port N          port (default 0: ephemeral)\n"
          "  --port-file PATH  once listening, write the bound port and a newline to PATH\n"
          "  --quiet           do not print the listening line\n"
          "  --unsolicited     write a 503 response on every connection as soon as it is\n"
          "                    accepted, before any request; then serve the paths below\n"
          "  --tls-garbage     answer a client's first bytes (a ClientHello) with bytes that\n"
          "                    are not TLS, then hold the connection without reading\n"
          "\n"
          "faults, by request path (any method; query strings ignored):\n"
          "  /                 200 \"ok\\n\" (keep-alive)\n"
          "  /stall[/MS]       nothing for MS ms (default 1000), then 200\n"
          "  /reset-head       part of the status line and headers, then RST\n"
          "  /reset-body       head (Content-Length: 1000) and 100 body bytes, then RST\n"
          "  /close-before     close (FIN) without responding\n"
          "  /garbage          bytes that are not HTTP instead of a status line\n"
          "  /bad-headers      a status line, then lines that are not header fields\n"
          "  /huge-header      a header line of 1 MiB\n"
          "  /many-headers     10,000 header lines\n"
          "  /short-body       Content-Length: 1000, 10 bytes, then close (FIN)\n"
          "  /cl-te            both Content-Length and Transfer-Encoding: chunked\n"
          "  /bad-chunk-hex    a chunk size that is not hex\n"
          "  /chunk-overflow   a chunk size of 2^64 + 3 (17 hex digits)\n"
          "  /trickle[/N]      an N-byte body (default 50), one byte per 100 ms\n"
          "  /http10           HTTP/1.0 200 with Content-Length, no keep-alive, then close\n"
          "  /http10-eof       HTTP/1.0 200 whose body ends at the close\n"
          "  /continue         100 Continue, then (2 ms later) 200\n"
          "  /no-read          read the request head, then never read or answer again\n"
          "  /upload           read the whole request body, then 200\n"
          "  anything else     404\n",
          f);
}

static void cleanup(void)
{
    while (srv.head)
        conn_close(srv.head);
    if (srv.lfd >= 0)
        close(srv.lfd);
    if (srv.ep >= 0)
        close(srv.ep);
    free_responses();
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port_file = NULL;
    unsigned long port = 0;
    bool quiet = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const char *eq = strchr(a, '=');
        size_t alen = eq && a[0] == '-' && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
        bool takes = opt_is(a, alen, "--listen") || opt_is(a, alen, "--port") ||
                     opt_is(a, alen, "--port-file");
        if (takes) {
            if (alen < strlen(a))
                val = a + alen + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                fprintf(stderr, "blast-faults: %s needs a value\n", a);
                return 2;
            }
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--unsolicited") == 0) {
            srv.unsolicited = true;
        } else if (strcmp(a, "--tls-garbage") == 0) {
            srv.tls_garbage = true;
        } else if (opt_is(a, alen, "--listen")) {
            addr = val;
        } else if (opt_is(a, alen, "--port-file")) {
            port_file = val;
        } else if (opt_is(a, alen, "--port")) {
            if (!parse_ulong(val, 65535, &port)) {
                fprintf(stderr, "blast-faults: bad --port '%s' (0..65535)\n", val);
                return 2;
            }
        } else {
            fprintf(stderr, "blast-faults: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!parse_listen("blast-faults", addr, port, &ss, &sslen))
        return 2;
    /* No override: a server that misbehaves on purpose has no business on a real network. */
    if (!is_loopback(&ss)) {
        fprintf(stderr, "blast-faults: refusing to listen on non-loopback %s\n", addr);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: the signal must interrupt epoll_pwait */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int rc = 1;
    if (build_responses() < 0) {
        fprintf(stderr, "blast-faults: out of memory\n");
        goto out;
    }
    srv.lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (srv.lfd < 0) {
        perror("blast-faults: socket");
        goto out;
    }
    int one = 1;
    setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(srv.lfd, (struct sockaddr *)&ss, sslen) < 0) {
        fprintf(stderr, "blast-faults: bind %s port %lu: %s\n", addr, port, strerror(errno));
        goto out;
    }
    if (listen(srv.lfd, 4096) < 0) {
        perror("blast-faults: listen");
        goto out;
    }
    sslen = sizeof(ss);
    if (getsockname(srv.lfd, (struct sockaddr *)&ss, &sslen) < 0) {
        perror("blast-faults: getsockname");
        goto out;
    }
    unsigned bound = sockaddr_port(&ss);

    srv.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (srv.ep < 0 || epoll_ctl(srv.ep, EPOLL_CTL_ADD, srv.lfd, &lev) < 0) {
        perror("blast-faults: epoll");
        goto out;
    }
    srv.now = clock_ns();
    if (port_file) {
        int prc = write_port_file(port_file, bound);
        if (prc < 0) {
            fprintf(stderr, "blast-faults: %s: %s\n", port_file, strerror(-prc));
            goto out;
        }
    }
    if (!quiet) {
        say_listening("blast-faults", &ss);
        fflush(stdout);
    }
    rc = serve();
out:
    cleanup();
    return rc;
}
