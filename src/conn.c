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

#include "conn.h"

int conn_io_init(conn_io *io, unsigned entries, unsigned nbufs, unsigned bufsize,
                 unsigned nfiles)
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
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
    sqe->buf_group = CONN_BGID;
    io_uring_sqe_set_data64(sqe, conn_ud_pack(CONN_OP_RECV, c->idx, c->gen));
    c->recv_armed = true;
}

static void queue_send(conn *c, conn_io *io)
{
    struct io_uring_sqe *sqe = conn_io_sqe(io);
    io_uring_prep_send(sqe, c->fd, c->req->bytes + c->sent, c->req->len - c->sent, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, conn_ud_pack(CONN_OP_SEND, c->idx, c->gen));
    c->send_inflight = true;
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

void conn_send(conn *c, conn_io *io, const http1_req *req, bool head, uint64_t intended,
               uint64_t now)
{
    c->req = req;
    c->sent = 0;
    c->t_intended = intended;
    c->t_sent = now;
    c->resp_done = false;
    memset(&c->resp, 0, sizeof(c->resp));
    c->resp.head_request = head;
    c->state = CONN_BUSY;
    queue_send(c, io);
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
    /* Emptying the table entry drops our reference at once (a later connect may reuse the slot
     * before the cancels above are submitted: they match by generation, not by slot). */
    int none = -1;
    io_uring_register_files_update(&io->ring, c->idx, &none, 1);
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

/* The response has ended and the send is complete: report it, closing when the connection
 * cannot carry another request. */
static conn_ev ev_response(conn *c, conn_io *io, bool reusable, bool by_server)
{
    conn_ev ev = {.type = CONN_EV_RESPONSE};
    c->resp_done = false;
    if (reusable) {
        c->state = CONN_IDLE;
    } else {
        conn_close(c, io);
        ev.closed = true;
        ev.by_server = by_server;
    }
    return ev;
}

/* Feeds received bytes to the parser of the request in flight. */
static conn_ev on_data(conn *c, conn_io *io, const char *data, size_t len, uint64_t now)
{
    if (c->state != CONN_BUSY || c->resp_done) {
        conn_close(c, io);
        return (conn_ev){.type = CONN_EV_CLOSED, .why = "unsolicited bytes from the server",
                         .closed = true};
    }
    for (;;) {
        ssize_t n = http1_resp_parse(&c->resp, data, len);
        if (n == HTTP1_PARTIAL)
            return (conn_ev){.type = CONN_EV_NONE};
        if (n == HTTP1_ERROR)
            return ev_fail(c, io, METRICS_FAIL_PARSE, 0, c->resp.error);
        int st = c->resp.status;
        if (st >= 100 && st < 200 && st != 101) {
            /* Interim response (100 Continue, 103 Early Hints): the final one follows. */
            bool head = c->resp.head_request;
            memset(&c->resp, 0, sizeof(c->resp));
            c->resp.head_request = head;
            data += n;
            len -= (size_t)n;
            if (len == 0)
                return (conn_ev){.type = CONN_EV_NONE};
            continue;
        }
        if (st == 101)
            return ev_fail(c, io, METRICS_FAIL_PARSE, 0, "unexpected 101 Switching Protocols");
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

static conn_ev on_recv(conn *c, conn_io *io, const struct io_uring_cqe *cqe, uint64_t now)
{
    conn_ev ev = {.type = CONN_EV_NONE};
    bool more = cqe->flags & IORING_CQE_F_MORE;
    if (!more)
        c->recv_armed = false;
    if (cqe->res > 0) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        const char *data = io->bufs + (size_t)bid * io->bufsize;
        ev = on_data(c, io, data, (size_t)cqe->res, now);
        ev.bytes_in = (uint32_t)cqe->res;
        conn_io_recycle(io, cqe);
    } else if (cqe->res == 0) {
        /* The server closed its side. */
        if (c->state == CONN_BUSY && !c->resp_done) {
            if (http1_resp_eof(&c->resp) == 0) {
                c->t_done = now;
                c->resp.keep_alive = false;
                if (c->send_inflight) {
                    c->resp_done = true;
                    return ev;
                }
                return ev_response(c, io, false, true);
            }
            const char *why = c->resp.wire_len || c->resp.head_len
                                  ? "connection closed before the response ended"
                                  : "connection closed before any response";
            return ev_fail(c, io, METRICS_FAIL_RESET, 0, why);
        }
        if (c->state == CONN_BUSY) /* resp_done: waiting for the send completion */
            return ev;
        conn_close(c, io);
        return (conn_ev){.type = CONN_EV_CLOSED, .why = "server closed an idle connection",
                         .closed = true, .by_server = true};
    } else if (cqe->res == -ENOBUFS) {
        /* All receive buffers were in use: the data is still in the socket; re-arm below. */
    } else {
        conn_io_recycle(io, cqe);
        if (c->state == CONN_BUSY)
            return ev_fail(c, io, METRICS_FAIL_RESET, cqe->res, "receive failed");
        conn_close(c, io);
        return (conn_ev){.type = CONN_EV_CLOSED, .err = cqe->res, .why = "receive failed",
                         .closed = true};
    }
    if (!c->recv_armed && c->state != CONN_CLOSED)
        arm_recv(c, io);
    return ev;
}

static conn_ev on_send(conn *c, conn_io *io, const struct io_uring_cqe *cqe)
{
    c->send_inflight = false;
    if (cqe->res < 0) {
        conn_ev ev = ev_fail(c, io, METRICS_FAIL_RESET, cqe->res, "send failed");
        return ev;
    }
    c->sent += (uint32_t)cqe->res;
    conn_ev ev = {.type = CONN_EV_NONE, .bytes_out = (uint32_t)cqe->res};
    if (c->sent < c->req->len) {
        if (c->resp_done) {
            /* The server answered before reading the whole request: the stream is out of step. */
            ev = ev_response(c, io, false, false);
            ev.bytes_out = (uint32_t)cqe->res;
            return ev;
        }
        queue_send(c, io); /* short send: the socket buffer was full */
        return ev;
    }
    if (c->resp_done) {
        ev = ev_response(c, io, c->resp.keep_alive, !c->resp.keep_alive);
        ev.bytes_out = (uint32_t)cqe->res;
    }
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
            return (conn_ev){.type = CONN_EV_CONNECT_FAILED, .err = err, .why = "connect failed",
                             .closed = true};
        }
        c->state = CONN_IDLE;
        arm_recv(c, io);
        return (conn_ev){.type = CONN_EV_CONNECTED};
    case CONN_OP_SEND:
        return on_send(c, io, cqe);
    case CONN_OP_RECV:
        return on_recv(c, io, cqe, now);
    default:
        return (conn_ev){.type = CONN_EV_NONE};
    }
}
