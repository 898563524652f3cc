/* conn: connection state machine over io_uring (see conn.h).
 *
 * Invariant: a connection's fd is open exactly while its state is not CONN_CLOSED, and every SQE
 * queued for it carries its current generation. Receive buffers are handed back to the buffer
 * ring as soon as their bytes have gone through the streaming parser: nothing is copied. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "tls.h"

int conn_io_init(conn_io *io, unsigned entries, unsigned nbufs, unsigned bufsize, unsigned nfiles)
{
    memset(io, 0, sizeof(*io));
    if (nbufs == 0 || (nbufs & (nbufs - 1)) || nbufs > 32768 || bufsize == 0)
        return -EINVAL;

    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    /* One thread owns the ring: SINGLE_ISSUER|DEFER_TASKRUN runs completions' task work only when
     * we enter the kernel, in batches, instead of interrupting the loop. CQSIZE: multishot
     * receives can post many completions per submission. */
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    int rc = io_uring_queue_init_params(entries, &io->ring, &p);
    if (rc < 0) {
        /* Older kernels: fall back to a plain ring rather than refuse to run. */
        memset(&p, 0, sizeof(p));
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 4;
        rc = io_uring_queue_init_params(entries, &io->ring, &p);
        if (rc < 0)
            return rc;
    }
    io->ring_ok = true;

    /* Sockets live in the ring's fixed-file table, not in the process fd table: fixed files
     * skip a reference count per operation, and the process limit on open files (20,000 here)
     * then caps each ring, not the whole process. */
    rc = io_uring_register_files_sparse(&io->ring, nfiles ? nfiles : 1);
    if (rc < 0)
        return rc;

    size_t ring_bytes = (size_t)nbufs * sizeof(struct io_uring_buf);
    void *br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (br == MAP_FAILED)
        return -ENOMEM;
    io->br = br;
    /* Anonymous mmap: pages become resident only when the kernel first writes into a buffer. */
    io->bufs = mmap(NULL, (size_t)nbufs * bufsize, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (io->bufs == MAP_FAILED) {
        io->bufs = NULL;
        return -ENOMEM;
    }
    io->nbufs = nbufs;
    io->bufsize = bufsize;

    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)io->br;
    reg.ring_entries = nbufs;
    reg.bgid = CONN_BGID;
    rc = io_uring_register_buf_ring(&io->ring, &reg, 0);
    if (rc < 0)
        return rc;
    io->br_ok = true;
    io_uring_buf_ring_init(io->br);
    for (unsigned i = 0; i < nbufs; i++)
        io_uring_buf_ring_add(io->br, io->bufs + (size_t)i * bufsize, bufsize, (unsigned short)i,
                              io_uring_buf_ring_mask(nbufs), (int)i);
    io_uring_buf_ring_advance(io->br, (int)nbufs);
    io->rmsg.msg_controllen = CMSG_SPACE(sizeof(struct timespec));
    return 0;
}

void conn_io_free(conn_io *io)
{
    if (!io)
        return;
    if (io->ring_ok) {
        if (io->br_ok)
            io_uring_unregister_buf_ring(&io->ring, CONN_BGID);
        io_uring_queue_exit(&io->ring);
    }
    if (io->br)
        munmap(io->br, (size_t)io->nbufs * sizeof(struct io_uring_buf));
    if (io->bufs)
        munmap(io->bufs, (size_t)io->nbufs * io->bufsize);
    memset(io, 0, sizeof(*io));
}

struct io_uring_sqe *conn_io_sqe(conn_io *io)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
    while (!sqe) {
        /* Queue full: hand what is queued to the kernel and take a fresh slot. */
        io_uring_submit(&io->ring);
        sqe = io_uring_get_sqe(&io->ring);
    }
    return sqe;
}

void conn_io_recycle(conn_io *io, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_BUFFER))
        return;
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    io_uring_buf_ring_add(io->br, io->bufs + (size_t)bid * io->bufsize, io->bufsize,
                          (unsigned short)bid, io_uring_buf_ring_mask(io->nbufs),
                          (int)io->recycled);
    io->recycled++;
}

void conn_io_flush(conn_io *io)
{
    if (io->recycled) {
        io_uring_buf_ring_advance(io->br, (int)io->recycled);
        io->recycled = 0;
    }
}

void conn_io_clock(conn_io *io, uint64_t now_mono)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    io->now_real = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
    io->now_mono = now_mono;
}

/* When the bytes of a receive reached the socket, as monotonic time: the kernel's realtime
 * stamp moved back from now by its age, kept between `floor` (the request's send) and now. A
 * receive without a stamp (or a realtime clock step) gives now or the floor: never a time the
 * response could not have had. */
static uint64_t rx_time(conn_io *io, struct io_uring_recvmsg_out *o, uint64_t floor)
{
    struct msghdr *m = &io->rmsg;
    struct cmsghdr *cm = io_uring_recvmsg_cmsg_firsthdr(o, m);
    while (cm && (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SO_TIMESTAMPNS ||
                  cm->cmsg_len < CMSG_LEN(sizeof(struct timespec))))
        cm = io_uring_recvmsg_cmsg_nexthdr(o, m, cm);
    uint64_t t = io->now_mono;
    if (!cm) {
        io->unstamped = true;
    } else {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
        uint64_t rx = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
        if (rx < io->now_real) {
            uint64_t age = io->now_real - rx;
            t = age < io->now_mono ? io->now_mono - age : 0;
        }
    }
    return t < floor ? floor : t;
}

void conn_init(conn *c, uint32_t idx)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->idx = idx;
    c->state = CONN_CLOSED;
}

static void arm_recv(conn *c, conn_io *io)
{
    struct io_uring_sqe *sqe = conn_io_sqe(io);
    if (c->stamped)
        io_uring_prep_recvmsg_multishot(sqe, c->fd, &io->rmsg, 0);
    else
        io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
    sqe->buf_group = CONN_BGID;
    io_uring_sqe_set_data64(sqe, conn_ud_pack(CONN_OP_RECV, c->idx, c->gen));
    c->recv_armed = true;
}

/* Counts a connection in io->followups while a SEND of its (large) request is in flight: the
 * worker then does not wait lazily. */
static void mark_followup(conn *c, conn_io *io)
{
    if (!c->followup) {
        c->followup = true;
        io->followups++;
    }
}

static void end_followup(conn *c, conn_io *io)
{
    if (c->followup) {
        c->followup = false;
        io->followups--;
    }
}

/* A request larger than this may take more than one SEND, and a SEND that finds the socket
 * buffer full progresses only in task work the worker runs when it wakes: while any send of such
 * a request is in flight, the worker's waits stay prompt (handshake flights need no mark: a
 * handshake keeps them prompt anyway). Smaller requests fit the buffer of a server that reads. */
#define SMALL_SEND 4096

static void queue_send(conn *c, conn_io *io, const char *buf, size_t len)
{
    struct io_uring_sqe *sqe = conn_io_sqe(io);
    io_uring_prep_send(sqe, c->fd, buf, len, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, conn_ud_pack(CONN_OP_SEND, c->idx, c->gen));
    c->send_inflight = true;
    if (c->state == CONN_BUSY && c->req->len + c->req->body_len > SMALL_SEND)
        mark_followup(c, io);
}

/* The next piece of the request to hand over: from the head, then from the body. */
static const char *unsent(const conn *c, size_t *n)
{
    const http1_req *r = c->req;
    if (c->sent < r->len) {
        *n = r->len - c->sent;
        return r->bytes + c->sent;
    }
    *n = r->len + r->body_len - c->sent;
    return r->body + (c->sent - r->len);
}

/* Queues a SEND of what is waiting, if nothing is in flight: the rest of the request (plain), or
 * the TLS out buffer, refilled from the request a record at a time. Returns 0, or TLS_ERROR when
 * encryption failed. */
static int flush(conn *c, conn_io *io)
{
    if (c->send_inflight || c->state == CONN_CLOSED)
        return 0;
    bool more = (c->state == CONN_BUSY || c->state == CONN_WS) &&
                c->sent < c->req->len + c->req->body_len;
    size_t left;
    if (!c->tls) {
        if (more) {
            const char *p = unsent(c, &left);
            queue_send(c, io, p, left);
        }
        return 0;
    }
    size_t n;
    const char *out = tls_out(c->tls, &n);
    if (n == 0 && more) {
        const char *p = unsent(c, &left);
        ssize_t w = tls_write(c->tls, p, left);
        if (w < 0)
            return TLS_ERROR;
        c->sent += (uint32_t)w;
        out = tls_out(c->tls, &n);
    }
    if (n)
        queue_send(c, io, out, n);
    return 0;
}

int conn_connect(conn *c, conn_io *io, const struct sockaddr *addr, socklen_t addrlen,
                 const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Reset rather than FIN when we close: a client that closes first would otherwise keep a
     * TIME_WAIT entry for 60 s per connection and run out of ports in reconnect-heavy runs. Set
     * now because a fixed file takes no setsockopt later. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    /* Arrival timestamps on received bytes: see conn_io_clock. */
    if (c->stamped)
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    if (src) {
        /* Leave the port to connect(): it is then unique per (source, destination) pair
         * instead of per source address, which is what lets more addresses add ports. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, src, srclen) < 0) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    /* The table entry now holds the socket; the descriptor itself is no longer needed. */
    int rc = io_uring_register_files_update(&io->ring, c->idx, &fd, 1);
    close(fd);
    if (rc < 0)
        return rc;
    c->fd = (int)c->idx;
    c->state = CONN_CONNECTING;
    c->t_sent = now;
    c->send_inflight = c->recv_armed = c->resp_done = false;
    struct io_uring_sqe *sqe = conn_io_sqe(io);
    /* addr lives in the immutable plan for the whole run, as the kernel may read it late. */
    io_uring_prep_connect(sqe, c->fd, addr, addrlen);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, conn_ud_pack(CONN_OP_CONNECT, c->idx, c->gen));
    return 0;
}

bool conn_keep_get(conn *c)
{
    conn_pool *p = c->keep.pool;
    if (c->keep.body)
        return true;
    if (!p || p->nfree == 0)
        return false;
    c->keep.buf = p->free[--p->nfree];
    c->keep.body = p->base + (size_t)c->keep.buf * p->slot;
    return true;
}

void conn_keep_release(conn *c)
{
    if (!c->keep.body)
        return;
    c->keep.pool->free[c->keep.pool->nfree++] = c->keep.buf;
    c->keep.body = NULL;
}

/* The parser's body sink: keeps what fits of the body. */
static void keep_body(void *ctx, const char *p, size_t n)
{
    conn *c = ctx;
    if (!conn_keep_get(c)) {
        c->body_truncated = true;
        return;
    }
    uint32_t room = c->keep_body - c->body_len;
    if (n > room) {
        c->body_truncated = true;
        n = room;
    }
    memcpy(c->keep.body + c->body_len, p, n);
    c->body_len += (uint32_t)n;
}

/* A fresh parser for the next response on c (also after an interim 1xx response). */
static void resp_reset(conn *c)
{
    bool head = c->resp.head_request;
    memset(&c->resp, 0, sizeof(c->resp));
    c->resp.head_request = head;
    if (c->keep_body) {
        c->resp.sink = keep_body;
        c->resp.sink_ctx = c;
    }
    c->spill_len = c->body_len = 0;
    c->head_done = c->body_truncated = false;
}

void conn_send(conn *c, conn_io *io, const http1_req *req, bool head, unsigned keep_head,
               uint32_t keep_body_bytes, uint64_t intended, uint64_t now)
{
    c->req = req;
    c->sent = 0;
    c->t_intended = intended;
    c->t_sent = now;
    c->resp_done = false;
    c->keep_head = io->on_head ? (uint8_t)keep_head : CONN_HEAD_NONE;
    uint32_t cap = conn_body_cap(c);
    c->keep_body = keep_body_bytes < cap ? keep_body_bytes : cap;
    conn_keep_release(c); /* what an earlier response kept (normally returned when judged) */
    c->resp.head_request = head;
    resp_reset(c);
    c->state = CONN_BUSY;
    flush(c, io); /* with TLS the out buffer is empty here, so encryption cannot fail */
}

int conn_ws_flush(conn *c, conn_io *io)
{
    return flush(c, io);
}

static void cancel_op(conn *c, conn_io *io, unsigned op)
{
    struct io_uring_sqe *sqe = conn_io_sqe(io);
    io_uring_prep_cancel64(sqe, conn_ud_pack(op, c->idx, c->gen), 0);
    io_uring_sqe_set_data64(sqe, conn_ud_pack(CONN_OP_CANCEL, c->idx, c->gen));
    /* Only a failed cancel (the operation had already finished) posts a completion. */
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void conn_close(conn *c, conn_io *io)
{
    if (c->state == CONN_CLOSED)
        return;
    /* An operation in flight holds its own reference to the socket, so close() alone would leave
     * it open; cancelling them lets the socket go. */
    if (c->state == CONN_CONNECTING)
        cancel_op(c, io, CONN_OP_CONNECT);
    if (c->recv_armed)
        cancel_op(c, io, CONN_OP_RECV);
    if (c->send_inflight)
        cancel_op(c, io, CONN_OP_SEND);
    end_followup(c, io);
    /* Emptying the table entry drops our reference at once (a later connect may reuse the slot
     * before the cancels above are submitted: they match by generation, not by slot). */
    int none = -1;
    io_uring_register_files_update(&io->ring, c->idx, &none, 1);
    if (c->tls)
        tls_conn_end(c->tls);
    c->handshaking = false;
    c->fd = -1;
    c->gen++;
    c->state = CONN_CLOSED;
    c->send_inflight = c->recv_armed = c->resp_done = false;
}

static conn_ev ev_fail(conn *c, conn_io *io, metrics_fail f, int err, const char *why)
{
    conn_close(c, io);
    return (conn_ev){.type = CONN_EV_FAILED, .fail = f, .err = err, .why = why, .closed = true};
}

/* Whether the response that just ended (at c->t_done) uses c up: the last one c->left allowed,
 * or it ended past c->expires. Out of line: only connections with limits call it. */
static __attribute__((noinline)) bool used_up(conn *c)
{
    return (c->left && --c->left == 0) || (c->expires && c->t_done >= c->expires);
}

/* The response has ended and the send is complete: report it, closing when the connection
 * cannot carry another request: the server said so, or one of blast's connection controls is
 * reached (then the close is blast's, also when the server closed as well, as it does after
 * Connection: close). Inline: it is on every response's path, and without the hint gcc -O2
 * stopped inlining it once it had the test for limits (callgrind: 35 more instructions per
 * request). */
static inline conn_ev ev_response(conn *c, conn_io *io, bool reusable, bool by_server)
{
    conn_ev ev = {.type = CONN_EV_RESPONSE};
    c->resp_done = false;
    if (c->tls) /* TLS 1.3 tickets arrive after the handshake: by now one has */
        tls_remember_session(c->tls, c->tctx);
    bool spent = c->limited && used_up(c);
    if (reusable && !spent) {
        c->state = CONN_IDLE;
    } else {
        conn_close(c, io);
        ev.closed = true;
        ev.by_server = by_server && !spent;
        ev.recycled = spent;
    }
    return ev;
}

/* The head bytes a parse took from data (they start at data: the head comes first): hands the
 * head to io->on_head once it is whole, in place when one receive held all of it, else from
 * the spill buffer it was gathered in. Interim 1xx heads are not handed over. A head larger
 * than the spill buffer is not kept (the callback is not called). */
static void track_head(conn *c, conn_io *io, const char *data, uint32_t got, bool complete)
{
    bool whole = complete || http1_resp_head_seen(&c->resp);
    if (whole && c->resp.status >= 100 && c->resp.status < 200 && c->resp.status != 101)
        return; /* interim: resp_reset follows */
    /* With only a cookie jar to feed, a head without Set-Cookie is nobody's business. */
    bool wanted = c->keep_head >= CONN_HEAD_ALWAYS || http1_resp_set_cookie(&c->resp);
    if (whole && c->spill_len == 0 && c->resp.head_len == got) {
        c->head_done = true;
        if (wanted)
            io->on_head(io->head_ctx, c, data, got);
        return;
    }
    if (c->spill_len != UINT32_MAX) {
        if (got > conn_spill_cap(c) - c->spill_len || !conn_keep_get(c))
            c->spill_len = UINT32_MAX; /* too large: given up */
        else {
            memcpy(conn_spill(c) + c->spill_len, data, got);
            c->spill_len += got;
        }
    }
    if (whole) {
        c->head_done = true;
        if (c->spill_len != UINT32_MAX && wanted)
            io->on_head(io->head_ctx, c, conn_spill(c), c->spill_len);
    }
}

/* Feeds received bytes to the parser of the request in flight. */
static conn_ev on_data(conn *c, conn_io *io, const char *data, size_t len, uint64_t now)
{
    if (c->resp_done) /* bytes after a complete response: report it, then the stream is off */
        return ev_response(c, io, false, false);
    if (c->state != CONN_BUSY) {
        if (c->state == CONN_WS) {
            io->on_ws(io->head_ctx, c, data, len, now);
            return (conn_ev){.type = CONN_EV_NONE};
        }
        conn_close(c, io);
        return (conn_ev){
            .type = CONN_EV_CLOSED, .why = "unsolicited bytes from the server", .closed = true};
    }
    for (;;) {
        uint32_t before = c->resp.head_len;
        ssize_t n = http1_resp_parse(&c->resp, data, len);
        if (n == HTTP1_ERROR)
            return ev_fail(c, io, METRICS_FAIL_PARSE, 0, c->resp.error);
        if (c->keep_head && !c->head_done) {
            /* The common case for a cookie jar: the whole head in this receive, no Set-Cookie. */
            if (c->keep_head == CONN_HEAD_COOKIES && before == 0 && c->spill_len == 0 &&
                (n > 0 || http1_resp_head_seen(&c->resp)) && !http1_resp_set_cookie(&c->resp))
                c->head_done = true;
            else
                track_head(c, io, data, c->resp.head_len - before, n > 0);
        }
        if (n == HTTP1_PARTIAL)
            return (conn_ev){.type = CONN_EV_NONE};
        int st = c->resp.status;
        if (st >= 100 && st < 200 && st != 101) {
            /* Interim response (100 Continue, 103 Early Hints): the final one follows. */
            resp_reset(c);
            data += n;
            len -= (size_t)n;
            if (len == 0)
                return (conn_ev){.type = CONN_EV_NONE};
            continue;
        }
        if (st == 101) {
            if (c->keep_head != CONN_HEAD_UPGRADE)
                return ev_fail(c, io, METRICS_FAIL_PARSE, 0, "unexpected 101 Switching Protocols");
            if (c->send_inflight) /* the session's output would follow an unfinished send */
                return ev_fail(c, io, METRICS_FAIL_PARSE, 0, "101 before the upgrade was sent");
            /* A WebSocket upgrade: what follows the head is the session's (the worker set it up
             * when it was handed the head). */
            c->t_done = now;
            c->state = CONN_WS;
            if ((size_t)n < len)
                io->on_ws(io->head_ctx, c, data + n, len - (size_t)n, now);
            return (conn_ev){.type = CONN_EV_RESPONSE};
        }
        c->t_done = now;
        /* Bytes after the response belong to no request: the connection is out of step. */
        bool reusable = c->resp.keep_alive && (size_t)n == len;
        if (c->send_inflight) {
            c->resp_done = true;
            if (!reusable)
                c->resp.keep_alive = false;
            return (conn_ev){.type = CONN_EV_NONE};
        }
        return ev_response(c, io, reusable, !c->resp.keep_alive);
    }
}

/* The server closed its side (EOF, or a TLS close_notify). */
static conn_ev on_eof(conn *c, conn_io *io, uint64_t now)
{
    if (c->handshaking) {
        conn_close(c, io);
        return (conn_ev){.type = CONN_EV_CONNECT_FAILED,
                         .fail = METRICS_FAIL_TLS,
                         .why = "the server closed the connection during the TLS handshake",
                         .closed = true};
    }
    if (c->state == CONN_BUSY && !c->resp_done) {
        if (http1_resp_eof(&c->resp) == 0) {
            c->t_done = now;
            c->resp.keep_alive = false;
            if (c->send_inflight) {
                c->resp_done = true;
                return (conn_ev){.type = CONN_EV_NONE};
            }
            return ev_response(c, io, false, true);
        }
        const char *why = c->resp.wire_len || c->resp.head_len
                              ? "connection closed before the response ended"
                              : "connection closed before any response";
        return ev_fail(c, io, METRICS_FAIL_RESET, 0, why);
    }
    if (c->state == CONN_BUSY) /* resp_done: waiting for the send completion */
        return (conn_ev){.type = CONN_EV_NONE};
    conn_close(c, io);
    return (conn_ev){.type = CONN_EV_CLOSED,
                     .why = "server closed an idle connection",
                     .closed = true,
                     .by_server = true};
}

/* Advances the TLS handshake with what has been fed. */
static conn_ev handshake(conn *c, conn_io *io, uint64_t now)
{
    int r = tls_handshake(c->tls);
    if (r == TLS_ERROR || flush(c, io) < 0) {
        const char *why = tls_reason(c->tls);
        conn_close(c, io);
        return (conn_ev){
            .type = CONN_EV_CONNECT_FAILED, .fail = METRICS_FAIL_TLS, .why = why, .closed = true};
    }
    if (r == TLS_WANT)
        return (conn_ev){.type = CONN_EV_NONE};
    c->handshaking = false;
    c->state = CONN_IDLE;
    return (conn_ev){.type = CONN_EV_CONNECTED,
                     .handshake = true,
                     .resumed = tls_resumed(c->tls),
                     .handshake_ns = now - c->t_handshake,
                     .connect_ns = c->t_handshake - c->t_sent};
}

/* Received ciphertext: finish the handshake, then decrypt record by record into the parser.
 * Every fed byte is consumed (or buffered inside wolfSSL) before returning, because the receive
 * buffer is given back right after. */
static conn_ev on_tls_data(conn *c, conn_io *io, const char *data, size_t len, uint64_t now)
{
    conn_ev ev = {.type = CONN_EV_NONE};
    tls_feed(c->tls, data, len);
    if (c->handshaking) {
        ev = handshake(c, io, now);
        if (ev.type != CONN_EV_CONNECTED)
            return ev;
    }
    for (;;) {
        ssize_t n = tls_read(c->tls, io->scratch, sizeof(io->scratch));
        if (n == 0)
            break;
        if (n == TLS_CLOSED) {
            if (ev.type != CONN_EV_NONE) /* a response or the handshake, then close_notify */
                break;
            return on_eof(c, io, now);
        }
        if (n < 0) {
            if (ev.type == CONN_EV_CONNECTED) {
                const char *why = tls_reason(c->tls);
                conn_close(c, io);
                return (conn_ev){.type = CONN_EV_CONNECT_FAILED,
                                 .fail = METRICS_FAIL_TLS,
                                 .why = why,
                                 .closed = true};
            }
            if (ev.type == CONN_EV_RESPONSE) {
                conn_close(c, io);
                ev.closed = true;
                return ev;
            }
            if (c->state == CONN_BUSY)
                return ev_fail(c, io, METRICS_FAIL_TLS, 0, tls_reason(c->tls));
            conn_close(c, io);
            return (conn_ev){.type = CONN_EV_CLOSED, .why = tls_reason(c->tls), .closed = true};
        }
        if (ev.type != CONN_EV_NONE && c->state == CONN_WS) {
            io->on_ws(io->head_ctx, c, io->scratch, (size_t)n, now); /* after the 101 */
            continue;
        }
        if (ev.type != CONN_EV_NONE) {
            /* Application data after a response (or right after the handshake): nothing asked
             * for it, so the connection is out of step. */
            conn_close(c, io);
            if (ev.type == CONN_EV_CONNECTED)
                return (conn_ev){.type = CONN_EV_CONNECT_FAILED,
                                 .fail = METRICS_FAIL_TLS,
                                 .why = "unsolicited data after the TLS handshake",
                                 .closed = true};
            ev.closed = true;
            return ev;
        }
        ev = on_data(c, io, io->scratch, (size_t)n, now);
        if (c->state == CONN_CLOSED)
            return ev;
    }
    if (flush(c, io) < 0) {
        if (c->state == CONN_BUSY && ev.type == CONN_EV_NONE)
            return ev_fail(c, io, METRICS_FAIL_TLS, 0, tls_reason(c->tls));
        conn_close(c, io);
        ev.closed = true;
    }
    return ev;
}

static conn_ev on_recv(conn *c, conn_io *io, const struct io_uring_cqe *cqe, uint64_t now)
{
    conn_ev ev = {.type = CONN_EV_NONE};
    bool more = cqe->flags & IORING_CQE_F_MORE;
    if (!more)
        c->recv_armed = false;
    if (cqe->res > 0) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        const char *data = io->bufs + (size_t)bid * io->bufsize;
        uint32_t len = (uint32_t)cqe->res;
        uint64_t t = now;
        if (c->stamped) {
            /* A RECVMSG header, the timestamp cmsg, then the bytes; no bytes is the end. */
            struct io_uring_recvmsg_out *o =
                io_uring_recvmsg_validate((void *)data, cqe->res, &io->rmsg);
            if (!o || o->payloadlen == 0) {
                conn_io_recycle(io, cqe);
                return on_eof(c, io, now);
            }
            data = io_uring_recvmsg_payload(o, &io->rmsg);
            len = io_uring_recvmsg_payload_length(o, cqe->res, &io->rmsg);
            t = rx_time(io, o, c->state == CONN_CONNECTING ? c->t_handshake : c->t_sent);
        }
        if (c->tls)
            ev = on_tls_data(c, io, data, len, t);
        else
            ev = on_data(c, io, data, len, t);
        ev.bytes_in = len;
        conn_io_recycle(io, cqe);
    } else if (cqe->res == 0) {
        return on_eof(c, io, now);
    } else if (cqe->res == -ENOBUFS) {
        /* All receive buffers were in use: the data is still in the socket; re-arm below. */
    } else {
        conn_io_recycle(io, cqe);
        if (c->handshaking) {
            conn_close(c, io);
            return (conn_ev){.type = CONN_EV_CONNECT_FAILED,
                             .fail = METRICS_FAIL_TLS,
                             .err = cqe->res,
                             .why = "receive failed during the TLS handshake",
                             .closed = true};
        }
        if (c->state == CONN_BUSY)
            return ev_fail(c, io, METRICS_FAIL_RESET, cqe->res, "receive failed");
        conn_close(c, io);
        return (conn_ev){
            .type = CONN_EV_CLOSED, .err = cqe->res, .why = "receive failed", .closed = true};
    }
    if (!c->recv_armed && c->state != CONN_CLOSED)
        arm_recv(c, io);
    return ev;
}

static conn_ev on_send(conn *c, conn_io *io, const struct io_uring_cqe *cqe, uint64_t now)
{
    c->send_inflight = false;
    end_followup(c, io);
    if (cqe->res < 0) {
        if (c->resp_done) /* the response is whole; only the connection is gone */
            return ev_response(c, io, false, true);
        if (c->handshaking) {
            conn_close(c, io);
            return (conn_ev){.type = CONN_EV_CONNECT_FAILED,
                             .fail = METRICS_FAIL_TLS,
                             .err = cqe->res,
                             .why = "send failed during the TLS handshake",
                             .closed = true};
        }
        if (c->state == CONN_BUSY)
            return ev_fail(c, io, METRICS_FAIL_RESET, cqe->res, "send failed");
        conn_close(c, io);
        return (conn_ev){
            .type = CONN_EV_CLOSED, .err = cqe->res, .why = "send failed", .closed = true};
    }
    uint32_t n = (uint32_t)cqe->res;
    if (c->tls)
        tls_out_sent(c->tls, n);
    else
        c->sent += n;
    conn_ev ev = {.type = CONN_EV_NONE};
    if (flush(c, io) < 0) {
        ev = c->state == CONN_BUSY
                 ? ev_fail(c, io, METRICS_FAIL_TLS, 0, tls_reason(c->tls))
                 : (conn_close(c, io),
                    (conn_ev){.type = CONN_EV_CLOSED, .why = tls_reason(c->tls), .closed = true});
    } else if (c->resp_done) {
        /* More to send after the response ended: the server answered before reading the whole
         * request, so the stream is out of step (report the response, then close). */
        ev = ev_response(c, io, !c->send_inflight && c->resp.keep_alive, !c->resp.keep_alive);
    }
    (void)now;
    ev.bytes_out = n;
    return ev;
}

conn_ev conn_complete(conn *c, conn_io *io, const struct io_uring_cqe *cqe, unsigned op,
                      uint64_t now)
{
    switch (op) {
    case CONN_OP_CONNECT:
        if (cqe->res < 0) {
            int err = cqe->res;
            conn_close(c, io);
            return (conn_ev){.type = CONN_EV_CONNECT_FAILED,
                             .fail = METRICS_FAIL_CONNECT,
                             .err = err,
                             .why = "connect failed",
                             .closed = true};
        }
        arm_recv(c, io);
        if (!c->tls) {
            c->state = CONN_IDLE;
            return (conn_ev){.type = CONN_EV_CONNECTED, .connect_ns = now - c->t_sent};
        }
        if (tls_conn_start(c->tls, c->tctx) < 0) {
            conn_close(c, io);
            return (conn_ev){.type = CONN_EV_CONNECT_FAILED,
                             .fail = METRICS_FAIL_TLS,
                             .err = -ENOMEM,
                             .why = "out of memory for a TLS session",
                             .closed = true};
        }
        c->handshaking = true;
        c->t_handshake = now;
        tls_feed(c->tls, NULL, 0);
        return handshake(c, io, now);
    case CONN_OP_SEND:
        return on_send(c, io, cqe, now);
    case CONN_OP_RECV:
        return on_recv(c, io, cqe, now);
    default:
        return (conn_ev){.type = CONN_EV_NONE};
    }
}
