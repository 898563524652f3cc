/* conn: one client connection and the io_uring operations that drive it.
 *
 * A connection is a small state machine (closed → connecting → idle ⇄ busy → closed) that turns
 * completions into events; it never decides policy (what to send next, what to count): that is
 * the worker's. All socket I/O goes through the worker's ring: CONNECT, SEND and a multishot RECV
 * that takes buffers from a provided-buffer ring shared by the worker's connections.
 *
 * Every SQE carries a conn_ud: {op, connection index, generation}. Closing a connection bumps its
 * generation, so completions of its old operations are recognised and ignored (their receive
 * buffers are still given back). */
#ifndef BLAST_CONN_H
#define BLAST_CONN_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http1.h"
#include "metrics.h"
#include "tls.h"

struct conn;

/* The worker's ring and its receive buffers. */
typedef struct conn_io {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    char *bufs;
    uint32_t nbufs, bufsize; /* nbufs is a power of two */
    uint32_t recycled;       /* buffers given back since the last conn_io_flush */
    bool ring_ok, br_ok;
    /* Connections with a SEND of a large request in flight (it may need task work to finish,
     * and more may follow it): while any is, the worker waits promptly, not lazily (see
     * conn_io_clock). */
    uint32_t followups;
    /* Some received bytes came without an arrival timestamp: their time is the time they were
     * read, so the worker must not read lazily (it then wakes for every completion). */
    bool unstamped;
    /* The multishot RECVMSG's header template: no address, room for one timestamp cmsg. */
    struct msghdr rmsg;
    /* The clocks when this batch of completions is handled (conn_io_clock). */
    uint64_t now_mono, now_real;
    /* Called when the head of a response to a request sent with keep_head is complete: the
     * bytes are the head as received (status line to the empty line), valid during the call
     * only. Set by the worker. */
    void (*on_head)(void *ctx, struct conn *c, const char *head, size_t len);
    void *head_ctx;
    /* Called with the bytes a connection in CONN_WS receives (a WebSocket session's stream,
     * decrypted), valid during the call only; now is their arrival time. Its ctx is head_ctx.
     * It may queue frames (conn_ws_flush) but must not close the connection. */
    void (*on_ws)(void *ctx, struct conn *c, const char *data, size_t len, uint64_t now);
    char scratch[16384]; /* decrypted bytes of one TLS record, parsed before the next is read */
} conn_io;

#define CONN_BGID 0

/* Creates the ring (call it from the thread that will use it: SINGLE_ISSUER), a fixed-file table
 * of nfiles entries (one per connection: entry i is connection i's socket; at most RLIMIT_NOFILE)
 * and nbufs receive buffers of bufsize bytes (nbufs a power of two, at most 32768).
 * Returns 0 or -errno (io's fields are then safe to pass to conn_io_free). */
int conn_io_init(conn_io *io, unsigned entries, unsigned nbufs, unsigned bufsize, unsigned nfiles);

/* Frees the ring and the buffers; a zeroed io is accepted. */
void conn_io_free(conn_io *io);

/* Returns a free SQE, submitting what is queued when the submission queue is full. */
struct io_uring_sqe *conn_io_sqe(conn_io *io);

/* Makes the buffers given back with conn_io_recycle visible to the kernel. Call once per batch
 * of completions, before the next submit. */
void conn_io_flush(conn_io *io);

/* Gives back the receive buffer a completion carried, if it carried one. */
void conn_io_recycle(conn_io *io, const struct io_uring_cqe *cqe);

/* Records both clocks before a batch of completions is handled. Every receive carries the
 * kernel's arrival timestamp of its bytes (SO_TIMESTAMPNS, CLOCK_REALTIME); it is turned into
 * monotonic time against this pair, so a response's end time is when its last bytes reached
 * the socket, not when the worker got round to reading them. That lets the worker sleep through
 * response arrivals and wake only when the next request is due. */
void conn_io_clock(conn_io *io, uint64_t now_mono);

enum conn_op {
    CONN_OP_CONNECT = 1,
    CONN_OP_SEND,
    CONN_OP_RECV,
    CONN_OP_CANCEL,
};

static inline uint64_t conn_ud_pack(unsigned op, uint32_t idx, uint32_t gen)
{
    return ((uint64_t)op << 56) | ((uint64_t)(idx & 0xffffff) << 32) | gen;
}
static inline unsigned conn_ud_op(uint64_t ud)
{
    return (unsigned)(ud >> 56);
}
static inline uint32_t conn_ud_idx(uint64_t ud)
{
    return (uint32_t)(ud >> 32) & 0xffffff;
}
static inline uint32_t conn_ud_gen(uint64_t ud)
{
    return (uint32_t)ud;
}

typedef enum {
    CONN_CLOSED,
    CONN_CONNECTING,
    CONN_IDLE, /* connected, nothing in flight */
    CONN_BUSY, /* a request is being sent or its response read */
    CONN_WS,   /* upgraded by a 101 to a WebSocket: bytes go to io->on_ws, c->req is its output */
} conn_state;

/* Whether c carries a connection the worker counts as open (connected, TLS done). */
static inline bool conn_connected(const struct conn *c);

/* Buffers for what connections keep of responses, lent to a connection from the first byte it
 * must keep until its response has been judged (conn_keep_release), so that only as many are
 * resident as responses are being kept at once, not one per VU. Each buffer is body_cap bytes
 * for the body, then spill_cap for a head that spans receives; the pool has one per connection,
 * so a connection never waits for one. Set up by the worker (base: lazily resident memory). */
typedef struct conn_pool {
    char *base;
    uint32_t slot; /* body_cap + spill_cap */
    uint32_t body_cap, spill_cap;
    uint32_t *free; /* free buffers, a stack: the most recently returned is lent first */
    uint32_t nfree;
} conn_pool;

/* What a connection keeps of the responses of one VU: the head is handed to conn_io.on_head in
 * place when a receive holds all of it and gathered in spill when it spans receives; body bytes
 * (de-chunked) are copied into body as they arrive. spill and body are NULL while no buffer is
 * lent (conn_keep_get). */
typedef struct conn_keep {
    conn_pool *pool; /* NULL: nothing is ever kept */
    char *body;      /* the lent buffer (its body part; the spill part follows), or NULL */
    uint32_t buf;    /* the lent buffer's index */
} conn_keep;

/* One connection slot of the worker's table. 256 bytes on x86-64: limited, left and expires took
 * what was padding, so indexing the table stays a shift and a slot four cache lines. */
typedef struct conn {
    int fd; /* its fixed-file slot (== idx) while open, -1 when closed */
    uint32_t gen;
    uint32_t idx;   /* its index in the worker's table, in every conn_ud */
    uint16_t owner; /* the worker's tag (scenario index); conn.c does not read it */
    uint8_t state;
    bool send_inflight; /* a SEND is outstanding */
    bool recv_armed;    /* the multishot RECV is armed */
    bool resp_done;     /* the response ended but the SEND completion has not been seen yet */
    bool handshaking;   /* TLS handshake in progress (state stays CONN_CONNECTING) */
    bool followup;      /* a SEND of a large request is in flight (counted in io->followups) */
    bool stamped;       /* receive with arrival timestamps (set by the worker; see conn_io_clock) */
    bool limited;       /* the worker sets left and expires at each connect (connection
                           controls): without them a response costs one test of this flag */
    bool in_tq;         /* the worker's: on its scenario's request-timeout list */
    tls_conn *tls;      /* https:// only: the slot's TLS state (set by the worker) */
    tls_ctx *tctx;
    const http1_req *req;
    uint32_t sent; /* bytes of req the kernel has taken (plaintext bytes encrypted, with TLS) */
    uint32_t left; /* limited: responses it may still carry (max_requests_per_conn); 0: any */
    uint64_t t_handshake; /* when the TLS handshake started */
    uint64_t t_intended;  /* when the request was due */
    uint64_t t_sent;      /* when it was handed to the kernel (connect start while connecting) */
    uint64_t t_done;      /* when its response ended */
    uint64_t deadline;    /* the worker's: when its connect or request times out (0: none) */
    uint32_t tq_prev, tq_next; /* the worker's: its place in its scenario's request timeouts */
    uint64_t expires; /* limited: when it stops taking requests (conn_lifetime); 0: never */
    http1_resp resp;
    /* per request, set by conn_send's caller through conn_keep_set */
    conn_keep keep;
    uint8_t keep_head;   /* conn_head: when to hand the head to io->on_head */
    bool head_done;      /* it has been handed (or was too large to keep) */
    bool body_truncated; /* the body was longer than the pool's body_cap */
    uint32_t keep_body;  /* body bytes to keep, at most the pool's body_cap; 0: none */
    uint32_t spill_len, body_len;
} conn;

typedef enum {
    CONN_EV_NONE,
    CONN_EV_CONNECTED,      /* connect (and TLS handshake) succeeded: the connection is idle */
    CONN_EV_CONNECT_FAILED, /* connect or handshake failed (fail: connect or tls); closed */
    CONN_EV_RESPONSE,       /* the request got a complete response: resp holds status etc. */
    CONN_EV_FAILED,         /* the request in flight failed (fail says why); closed */
    CONN_EV_CLOSED,         /* an idle connection ended (server close, unsolicited bytes) */
} conn_ev_type;

typedef struct conn_ev {
    conn_ev_type type;
    metrics_fail fail;     /* CONN_EV_FAILED */
    int err;               /* -errno when an errno is the reason, else 0 */
    const char *why;       /* static text for FAILED / CLOSED / CONNECT_FAILED */
    bool closed;           /* the connection is closed now (RESPONSE with close, or any failure) */
    bool by_server;        /* the server ended the connection (Connection: close, EOF) */
    bool recycled;         /* RESPONSE: blast ended it at c->left or c->expires (not by_server) */
    bool handshake;        /* CONNECTED after a TLS handshake: */
    bool resumed;          /*   it resumed a session */
    uint64_t handshake_ns; /*   and took this long */
    uint64_t connect_ns;   /* CONNECTED: how long the TCP connect took */
    uint32_t bytes_in, bytes_out; /* wire bytes this completion accounts for */
} conn_ev;

/* Zeroes c and gives it its index; state closed. */
void conn_init(conn *c, uint32_t idx);

/* Opens a socket (bound to src when src is not NULL, port left to connect), installs it in
 * fixed-file slot c->idx and queues a CONNECT to addr. Returns 0, or -errno when no socket could
 * be made or bound (e.g. -EMFILE, -EADDRNOTAVAIL); c stays closed then. */
int conn_connect(conn *c, conn_io *io, const struct sockaddr *addr, socklen_t addrlen,
                 const struct sockaddr *src, socklen_t srclen, uint64_t now);

/* When a response's head goes to io->on_head. */
enum conn_head {
    CONN_HEAD_NONE,
    CONN_HEAD_COOKIES, /* when it has a Set-Cookie field (a cookie jar wants it) */
    CONN_HEAD_ALWAYS,  /* always (checks or extractions read it) */
    CONN_HEAD_UPGRADE, /* always, and a 101 turns the connection into CONN_WS */
};

/* The spill part of c's lent buffer (valid while keep.body is), and the capacities. */
static inline char *conn_spill(const conn *c)
{
    return c->keep.body + c->keep.pool->body_cap;
}
static inline uint32_t conn_spill_cap(const conn *c)
{
    return c->keep.pool ? c->keep.pool->spill_cap : 0;
}
static inline uint32_t conn_body_cap(const conn *c)
{
    return c->keep.pool ? c->keep.pool->body_cap : 0;
}

/* c's keep buffers: lent from its pool if it holds none (false: it has no pool). */
bool conn_keep_get(conn *c);
/* Returns c's keep buffers to the pool (nothing when it holds none): its kept head and body are
 * gone. */
void conn_keep_release(conn *c);

/* Queues the request on an idle connection; intended is when it was due. req must stay valid
 * until the response has been reported. keep_head: a conn_head; keep_body: keep up to that many
 * body bytes in c->keep.body (c->body_len, c->body_truncated). */
void conn_send(conn *c, conn_io *io, const http1_req *req, bool head, unsigned keep_head,
               uint32_t keep_body, uint64_t intended, uint64_t now);

/* Handles a completion of c's current generation (the caller checked it) for operation op.
 * Gives back any receive buffer it carried. */
conn_ev conn_complete(conn *c, conn_io *io, const struct io_uring_cqe *cqe, unsigned op,
                      uint64_t now);

/* Whether idle connection c has outlived its conn_lifetime at now: it must take no new request. */
static inline bool conn_expired(const conn *c, uint64_t now)
{
    return c->expires && now >= c->expires;
}

/* CONN_WS: sends what c->req holds beyond c->sent (the session appends frames to it and moves
 * them down only while nothing is in flight and all was sent). Returns 0, or TLS_ERROR. */
int conn_ws_flush(conn *c, conn_io *io);

static inline bool conn_connected(const conn *c)
{
    return c->state == CONN_IDLE || c->state == CONN_BUSY || c->state == CONN_WS;
}

/* Closes c at once: cancels its outstanding operations, empties its fixed-file slot (the socket
 * is reset, no TIME_WAIT, once they are gone) and bumps its generation. Accepts a closed
 * connection. */
void conn_close(conn *c, conn_io *io);

#endif
