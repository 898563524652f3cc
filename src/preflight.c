/* preflight: one blocking request before the load (see preflight.h).
 *
 * Every wait is a poll on the one socket, in slices of at most 100 ms so that a Ctrl-C is seen
 * soon, against a single deadline for the whole exchange: a server that accepts and then
 * trickles cannot stretch the check past its timeout. What went wrong is said in words ("connection
 * refused", "timed out after 5s waiting for the response", "status 503"), since the line is
 * the only thing the user sees before blast gives up. */
#include "preflight.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "http1.h"
#include "tls.h"

#define SLICE_MS 100
#define PER_ADDRESS_MS 1000 /* of several addresses, each but the last may take this long */

/* Received ciphertext: wolfSSL reads it from here until it asks for more (tls_feed), and it is
 * only refilled then, so one buffer serves the handshake and the response. */
static char cipher[16384];

void preflight_free(plan_preflight *pf)
{
    if (!pf)
        return;
    free(pf->method);
    free(pf->url);
    free(pf->host);
    free(pf->host_header);
    free(pf->target);
    for (size_t i = 0; i < pf->nheaders; i++)
        free(pf->headers[i]);
    free(pf->headers);
    free(pf->expect_text);
    free(pf->tls_opts.ca_file);
    free(pf->tls_opts.client_cert);
    free(pf->tls_opts.client_key);
    free(pf->tls_opts.server_name);
    free(pf->tls_opts.ciphers);
    free(pf->tls_opts.curves);
    free(pf);
}

struct pf {
    const plan_preflight *pf;
    int (*stopped)(void);
    int fd;
    uint64_t deadline;
    const char *phase; /* what it was doing, for a timeout: "connecting", ... */
    tls_ctx *ctx;
    tls_conn *t;
    char why[256]; /* what went wrong, when it was not a plain errno */
};

/* Waits until fd is ready for events, the deadline (or limit, if earlier) passes, or stopped.
 * Returns 0, -ETIMEDOUT, -EINTR or -errno. */
static int wait_fd(struct pf *c, short events, uint64_t limit)
{
    uint64_t end = limit && limit < c->deadline ? limit : c->deadline;
    for (;;) {
        if (c->stopped && c->stopped())
            return -EINTR;
        uint64_t now = clock_ns();
        if (now >= end)
            return -ETIMEDOUT;
        uint64_t left = (end - now + NS_PER_MS - 1) / NS_PER_MS;
        struct pollfd p = {.fd = c->fd, .events = events};
        int n = poll(&p, 1, left < SLICE_MS ? (int)left : SLICE_MS);
        if (n > 0)
            return 0; /* also POLLERR / POLLHUP: the next call says what happened */
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/* Connects to the first address that accepts, as the scenarios' own choice does. */
static int connect_any(struct pf *c, const struct addrinfo *res)
{
    int rc = -ECONNREFUSED;
    c->phase = "connecting";
    for (const struct addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        c->fd = fd;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            return 0;
        rc = -errno;
        if (rc == -EINPROGRESS) {
            uint64_t limit = a->ai_next ? clock_ns() + PER_ADDRESS_MS * NS_PER_MS : 0;
            rc = wait_fd(c, POLLOUT, limit);
            if (rc == 0) {
                int soerr = 0;
                socklen_t len = sizeof soerr;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                    soerr = errno;
                if (soerr == 0)
                    return 0;
                rc = -soerr;
            }
        }
        close(fd);
        c->fd = -1;
        if (rc == -EINTR || (rc == -ETIMEDOUT && clock_ns() >= c->deadline))
            return rc;
    }
    return rc;
}

static int send_all(struct pf *c, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(c, POLLOUT, 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* Sends what wolfSSL has queued. */
static int flush_tls(struct pf *c)
{
    size_t n;
    const char *p = tls_out(c->t, &n);
    int rc = n ? send_all(c, p, n) : 0;
    if (n && rc == 0)
        tls_out_sent(c->t, n);
    return rc;
}

/* Up to cap bytes of ciphertext (or plaintext, without TLS). Returns > 0, 0 at EOF, or < 0. */
static ssize_t recv_some(struct pf *c, char *buf, size_t cap)
{
    for (;;) {
        ssize_t k = recv(c->fd, buf, cap, 0);
        if (k >= 0)
            return k;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(c, POLLIN, 0);
        if (rc)
            return rc;
    }
}

static int handshake(struct pf *c, const plan_scenario *as)
{
    c->phase = "in the TLS handshake";
    char why[200];
    int rc = tls_ctx_new(&c->ctx, as, why, sizeof why);
    if (rc == -ENOMEM)
        return rc;
    if (rc) {
        snprintf(c->why, sizeof c->why, "TLS setup failed: %s", why);
        return -EPROTO;
    }
    if ((rc = tls_conn_new(&c->t)) || (rc = tls_conn_start(c->t, c->ctx)))
        return rc;
    for (;;) {
        int h = tls_handshake(c->t);
        if ((rc = flush_tls(c)))
            return rc;
        if (h == TLS_OK)
            return 0;
        if (h != TLS_WANT) {
            snprintf(c->why, sizeof c->why, "TLS handshake failed: %s", tls_reason(c->t));
            return -EPROTO;
        }
        ssize_t k = recv_some(c, cipher, sizeof cipher);
        if (k == 0) {
            snprintf(c->why, sizeof c->why,
                     "the server closed the connection in the TLS handshake");
            return -EPROTO;
        }
        if (k < 0)
            return (int)k;
        tls_feed(c->t, cipher, (size_t)k);
    }
}

static int send_request(struct pf *c, const http1_req *req)
{
    c->phase = "sending the request";
    if (!c->t)
        return send_all(c, req->bytes, req->len);
    for (size_t off = 0; off < req->len;) {
        size_t n = req->len - off < TLS_WRITE_CHUNK ? req->len - off : TLS_WRITE_CHUNK;
        ssize_t k = tls_write(c->t, req->bytes + off, n);
        if (k <= 0) {
            snprintf(c->why, sizeof c->why, "TLS error: %s", tls_reason(c->t));
            return -EPROTO;
        }
        off += (size_t)k;
        int rc = flush_tls(c);
        if (rc)
            return rc;
    }
    return 0;
}

/* Plaintext of the response: > 0 bytes, 0 at the end of the stream, or < 0. */
static ssize_t read_plain(struct pf *c, char *buf, size_t cap)
{
    if (!c->t)
        return recv_some(c, buf, cap);
    for (;;) {
        ssize_t n = tls_read(c->t, buf, cap);
        if (n > 0)
            return n;
        if (n == TLS_CLOSED)
            return 0;
        if (n < 0) {
            snprintf(c->why, sizeof c->why, "TLS error: %s", tls_reason(c->t));
            return -EPROTO;
        }
        int rc = flush_tls(c);
        if (rc)
            return rc;
        ssize_t k = recv_some(c, cipher, sizeof cipher);
        if (k <= 0)
            return k;
        tls_feed(c->t, cipher, (size_t)k);
    }
}

/* Reads one final response (1xx ones are skipped) and returns its status, or < 0. */
static int read_response(struct pf *c, bool head)
{
    c->phase = "waiting for the response";
    http1_resp r = {.head_request = head};
    char buf[16384];
    for (;;) {
        ssize_t n = read_plain(c, buf, sizeof buf);
        if (n < 0)
            return (int)n;
        if (n == 0) {
            if (http1_resp_eof(&r) == 0)
                return r.status;
            snprintf(c->why, sizeof c->why, "%s", r.error); /* "connection closed before ..." */
            return -EPROTO;
        }
        for (size_t off = 0; off < (size_t)n;) {
            ssize_t k = http1_resp_parse(&r, buf + off, (size_t)n - off);
            if (k == HTTP1_PARTIAL)
                break;
            if (k == HTTP1_ERROR) {
                snprintf(c->why, sizeof c->why, "bad response: %s", r.error);
                return -EPROTO;
            }
            if (r.status >= 200 || r.status == 101)
                return r.status;
            off += (size_t)k; /* an interim 1xx: the final response follows */
            r = (http1_resp){.head_request = head};
        }
    }
}

static void duration_text(uint64_t ns, char *out, size_t n)
{
    if (ns % NS_PER_S == 0)
        snprintf(out, n, "%llus", (unsigned long long)(ns / NS_PER_S));
    else if (ns % NS_PER_MS == 0)
        snprintf(out, n, "%llums", (unsigned long long)(ns / NS_PER_MS));
    else
        snprintf(out, n, "%.3fs", (double)ns / 1e9);
}

int preflight_run(const plan_preflight *pf, int (*stopped)(void), int *status, uint64_t *elapsed_ns,
                  char *err, size_t errlen)
{
    struct pf c = {.pf = pf, .stopped = stopped, .fd = -1, .phase = "resolving the host"};
    http1_req req = {0};
    struct addrinfo *res = NULL;
    const char **hdrs = NULL;
    char port[8], what[320];
    int rc, got = 0;
    uint64_t start = clock_ns();
    what[0] = '\0';

    snprintf(port, sizeof port, "%u", (unsigned)pf->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    int gai = getaddrinfo(pf->host, port, &hints, &res);
    if (gai != 0 || !res) {
        snprintf(what, sizeof what, "cannot resolve host '%s': %s", pf->host,
                 gai ? gai_strerror(gai) : "no address");
        rc = -ENXIO;
        goto out;
    }
    start = clock_ns();
    c.deadline = start + pf->timeout_ns;

    /* "Connection: close" unless the file says otherwise: the server may end the exchange */
    hdrs = calloc(pf->nheaders + 1, sizeof *hdrs);
    size_t nh = 0;
    if (!hdrs) {
        rc = -ENOMEM;
        goto out;
    }
    bool conn_hdr = false;
    for (size_t i = 0; i < pf->nheaders; i++) {
        hdrs[nh++] = pf->headers[i];
        conn_hdr = conn_hdr || strncasecmp(pf->headers[i], "connection:", 11) == 0;
    }
    if (!conn_hdr)
        hdrs[nh++] = "Connection: close";
    http1_req_spec spec = {.method = pf->method,
                           .target = pf->target,
                           .host = pf->host_header,
                           .headers = hdrs,
                           .nheaders = nh};
    if ((rc = http1_req_compile(&req, &spec))) {
        snprintf(what, sizeof what, "cannot build the request: %s", strerror(-rc));
        goto out;
    }
    if ((rc = connect_any(&c, res)))
        goto out;
    if (pf->tls) {
        plan_scenario as = {.host = pf->host, .port = pf->port, .tls = true};
        as.tls_opts = pf->tls_opts;
        if ((rc = handshake(&c, &as)))
            goto out;
    }
    if ((rc = send_request(&c, &req)))
        goto out;
    got = read_response(&c, strcmp(pf->method, "HEAD") == 0);
    rc = got < 0 ? got : 0;
    if (rc == 0 && !status_set_has(&pf->expect, got)) {
        snprintf(what, sizeof what, "status %d", got);
        rc = -EPROTO;
    }

out:
    if (rc == -EINTR) {
        snprintf(err, errlen, "interrupted during the preflight; nothing was sent");
    } else if (rc) {
        if (!what[0] && c.why[0]) {
            snprintf(what, sizeof what, "%s", c.why);
        } else if (!what[0] && rc == -ETIMEDOUT) {
            char d[32];
            duration_text(pf->timeout_ns, d, sizeof d);
            snprintf(what, sizeof what, "timed out after %s %s", d, c.phase);
        } else if (!what[0]) {
            /* "connection refused", as a sentence fragment */
            snprintf(what, sizeof what, "%s", strerror(-rc));
            what[0] = (char)tolower((unsigned char)what[0]);
        }
        snprintf(err, errlen, "preflight %s %s failed: %s (expected status %s)", pf->method,
                 pf->url, what, pf->expect_text);
    }
    tls_conn_free(c.t);
    tls_ctx_free(c.ctx);
    free(hdrs);
    if (c.fd >= 0)
        close(c.fd);
    if (res)
        freeaddrinfo(res);
    http1_req_free(&req);
    if (rc == 0) {
        if (status)
            *status = got;
        if (elapsed_ns)
            *elapsed_ns = clock_ns() - start;
    }
    return rc;
}
