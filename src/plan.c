/* plan: the plan's lifetime (free, prepare) and the executors' arithmetic.
 *
 * Invariant: a worker's schedule is a pure function of (scenario, worker, n, k). Due times are
 * computed from k, never accumulated, so the n workers of a scenario together offer exactly the
 * uniform schedule j / rate (j = k * n + w) with no drift, however long the run. The arithmetic is
 * done in long double (64-bit mantissa) and split into whole seconds and a remainder, so the only
 * rounding that matters is the final one to the nanosecond, for any k a run can reach. */
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "data.h"
#include "extract.h"
#include "metrics.h"
#include "preflight.h"
#include "request.h"
#include "template.h"

/* Poisson gaps are capped here (~146 years) so a caller adding gaps cannot wrap around. */
#define POISSON_MAX_GAP_NS (UINT64_C(1) << 62)

static void step_free(plan_step *st)
{
    free(st->name);
    free(st->method);
    free(st->target);
    for (size_t i = 0; i < st->nheaders; i++) {
        free(st->headers[i]);
        if (st->t_headers)
            tpl_free(st->t_headers[i]);
    }
    free(st->headers);
    free(st->t_headers);
    free(st->body);
    tpl_free(st->t_target);
    tpl_free(st->t_body);
    http1_req_free(&st->req);
    req_prog_free(st->prog);
    for (size_t i = 0; i < st->nchecks; i++)
        check_free(st->checks[i]);
    free(st->checks);
    for (size_t i = 0; i < st->nextracts; i++)
        extract_free(st->extracts[i].rule);
    free(st->extracts);
    for (size_t i = 0; i < st->ntags; i++) {
        free(st->tags[i].key);
        free(st->tags[i].value);
    }
    free(st->tags);
}

void plan_free(plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nscenarios; i++) {
        plan_scenario *s = &p->scenarios[i];
        if (s->steps)
            for (size_t j = 0; j < s->nsteps; j++)
                step_free(&s->steps[j]);
        free(s->steps);
        free(s->ops);
        free(s->setup);
        for (size_t j = 0; j < s->nvars; j++)
            free(s->vars[j]);
        free(s->vars);
        free(s->var_max);
        data_free(s->data);
        for (size_t j = 0; j < s->ntags; j++) {
            free(s->tags[j].key);
            free(s->tags[j].value);
        }
        free(s->tags);
        free(s->name);
        free(s->host);
        free(s->host_header);
        free(s->src);
        free(s->tls_opts.ca_file);
        free(s->tls_opts.client_cert);
        free(s->tls_opts.client_key);
        free(s->tls_opts.server_name);
        free(s->tls_opts.ciphers);
        free(s->tls_opts.curves);
    }
    free(p->scenarios);
    preflight_free(p->preflight);
    free(p->file);
    free(p);
}

static int gai_errno(int gai)
{
    switch (gai) {
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return errno ? -errno : -EIO;
    case EAI_AGAIN:
        return -EAGAIN;
    default:
        return -ENXIO; /* no such host (or no address of a usable family) */
    }
}

/* Whether a TCP connection to a can be made within timeout_ms (a plain connect, closed at once). */
static bool answers(const struct addrinfo *a, int timeout_ms)
{
    int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    if (!ok && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t len = sizeof soerr;
        ok = poll(&pfd, 1, timeout_ms) == 1 &&
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
    }
    close(fd);
    return ok;
}

const struct addrinfo *plan_pick_address(const struct addrinfo *res, uint64_t timeout_ns)
{
    if (!res->ai_next)
        return res;
    int ms = timeout_ns / NS_PER_MS > 1000 ? 1000 : (int)(timeout_ns / NS_PER_MS);
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_addrlen <= sizeof(struct sockaddr_storage) && answers(a, ms))
            return a;
    return res;
}

http1_req_spec plan_step_spec(const plan_scenario *s, const plan_step *st)
{
    return (http1_req_spec){
        .method = st->method,
        .target = st->target,
        .host = s->host_header,
        .headers = (const char *const *)st->headers,
        .nheaders = st->nheaders,
        .body = st->body,
        .body_len = st->body_len,
    };
}

int plan_prepare(plan *p, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    for (size_t i = 0; i < p->nscenarios; i++) {
        plan_scenario *s = &p->scenarios[i];
        char port[8];
        snprintf(port, sizeof port, "%u", (unsigned)s->port);
        struct addrinfo hints = {
            .ai_family = AF_UNSPEC,
            .ai_socktype = SOCK_STREAM,
            .ai_flags = AI_NUMERICSERV,
        };
        struct addrinfo *res = NULL;
        errno = 0;
        int gai = getaddrinfo(s->host, port, &hints, &res);
        if (gai != 0 || !res || res->ai_addrlen > sizeof s->addr) {
            int rc = gai != 0 ? gai_errno(gai) : -ENXIO;
            if (err && errlen)
                snprintf(err, errlen, "%s:%d: [%s%s] %s: cannot resolve host '%s': %s", p->file,
                         s->url_line, s->url_global ? "global" : "scenario ",
                         s->url_global ? "" : s->name, s->url_key ? s->url_key : "base_url",
                         s->host, gai != 0 ? gai_strerror(gai) : "no usable address");
            if (res)
                freeaddrinfo(res);
            return rc;
        }
        const struct addrinfo *use = plan_pick_address(res, s->connect_timeout_ns);
        memset(&s->addr, 0, sizeof s->addr);
        memcpy(&s->addr, use->ai_addr, use->ai_addrlen);
        s->addrlen = use->ai_addrlen;
        freeaddrinfo(res);
        if (s->nsrc && s->src[0].ss_family != s->addr.ss_family) {
            if (err && errlen)
                snprintf(err, errlen,
                         "scenario %s: source_addresses are %s but host '%s' resolved to an %s "
                         "address",
                         s->name, s->src[0].ss_family == AF_INET ? "IPv4" : "IPv6", s->host,
                         s->addr.ss_family == AF_INET ? "IPv4" : "IPv6");
            return -EAFNOSUPPORT;
        }

        for (size_t j = 0; j < s->nsteps; j++) {
            plan_step *st = &s->steps[j];
            if (!st->literal)
                continue; /* built per request from its program */
            http1_req_spec spec = plan_step_spec(s, st);
            http1_req_free(&st->req); /* preparing twice is harmless */
            memset(&st->req, 0, sizeof st->req);
            int rc = http1_req_compile(&st->req, &spec);
            if (rc) {
                if (err && errlen)
                    snprintf(err, errlen, "scenario %s: step %s: cannot build the request: %s",
                             s->name, st->name, strerror(-rc));
                return rc;
            }
        }
    }
    return 0;
}

void plan_ranges(const plan *p, const plan_scenario *s, metrics_range *out)
{
    /* A response can end at most request_timeout after its send, and a request can be sent at
     * most until the hard stop (duration + graceful_stop); anything beyond is clamped. */
    uint64_t run = s->duration_ns + p->graceful_stop_ns;
    out->service_us = s->request_timeout_ns / NS_PER_US + 1;
    out->lateness_us = run / NS_PER_US + 1;
    out->latency_us = (run + s->request_timeout_ns) / NS_PER_US + 1;
    out->handshake_us = s->tls ? s->connect_timeout_ns / NS_PER_US + 1 : 0;
}

/* x split over n: x / n each, and the first x % n get one more, so the parts sum to x. */
static uint32_t split(uint32_t x, uint32_t w, uint32_t n)
{
    return x / n + (w < x % n ? 1 : 0);
}

void plan_share_of(const plan_scenario *s, uint32_t w, uint32_t n, plan_share *out)
{
    if (n == 0)
        n = 1;
    memset(out, 0, sizeof *out);
    out->worker = w;
    out->nworkers = n;
    out->vus = split(s->vus, w, n);
    if (s->executor == PLAN_CONSTANT_ARRIVAL_RATE) {
        /* max_connections is a total: with fewer connections than workers, only the first
         * max_connections workers take part (each needs a connection); the others get nothing
         * and the rate is split over those that do. */
        uint32_t m = n;
        if (s->max_connections < m)
            m = s->max_connections ? s->max_connections : 1;
        if (w >= m)
            return;
        out->nworkers = m;
        out->rate = s->rate / m;
        out->max_connections = split(s->max_connections, w, m);
        out->pre_connections = split(s->pre_connections, w, m);
        if (out->pre_connections > out->max_connections)
            out->pre_connections = out->max_connections;
        out->max_queue = split(s->max_queue, w, m);
        if (out->max_queue < 1)
            out->max_queue = 1;
    }
}

uint64_t plan_due_ns(const plan_share *sh, uint64_t k)
{
    uint32_t n = sh->nworkers ? sh->nworkers : 1;
    /* Every worker of the scenario computes the same exact product (53 + 32 bits fit the 64-bit
     * mantissa only for n < 2^11, more than any worker count), so together they cover one
     * schedule exactly; it differs from the configured rate only by the rounding of rate / n
     * (relative 1e-16: 1 ns in 4 months). */
    long double total = (long double)sh->rate * n;
    if (!(total > 0) || isinf(total))
        return UINT64_MAX;
    long double j = (long double)k * n + sh->worker; /* exact below 2^64 */
    /* j / total seconds, split into whole seconds and the rest: a single quotient j * 1e9 /
     * total would reach 2^63 (0.5 ns resolution) at low rates; fmodl is exact, and the whole
     * part is an integer that rounding recovers from one inexact division. */
    long double rem = fmodl(j, total);
    long double whole = roundl((j - rem) / total);
    long double frac = roundl(rem * (long double)NS_PER_S / total);
    if (!(whole * (long double)NS_PER_S + frac < 18446744073709551615.0L))
        return UINT64_MAX;
    return (uint64_t)whole * NS_PER_S + (uint64_t)frac;
}

/* xorshift64* (Vigna): 64 bits of state, passes BigCrush on the high bits; we use the top 53. */
static uint64_t xorshift64s(uint64_t *state)
{
    uint64_t x = *state ? *state : UINT64_C(0x9E3779B97F4A7C15); /* 0 would stay 0 forever */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

uint64_t plan_poisson_gap_ns(const plan_share *sh, uint64_t *rng)
{
    /* u in (0, 1]: never 0, so -log(u) is finite (at most 53 ln 2 ~ 36.7 mean gaps) */
    double u = (double)((xorshift64s(rng) >> 11) + 1) * 0x1p-53;
    if (!(sh->rate > 0))
        return POISSON_MAX_GAP_NS;
    long double ns = roundl(-logl((long double)u) * (long double)NS_PER_S / sh->rate);
    if (!(ns < (long double)POISSON_MAX_GAP_NS))
        return POISSON_MAX_GAP_NS;
    return (uint64_t)ns;
}
