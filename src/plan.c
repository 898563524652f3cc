/* plan: the plan's lifetime (free, prepare) and the executors' arithmetic.
 *
 * Invariant: a worker's schedule is a pure function of (scenario, worker, n, k). Due times are
 * computed from k, never accumulated, so the n workers of a scenario together offer exactly the
 * uniform schedule j / rate (j = k * n + w) with no drift, however long the run. The arithmetic is
 * done in long double (64-bit mantissa) and split into whole seconds and a remainder, so the only
 * rounding that matters is the final one to the nanosecond, for any k a run can reach. */
#include "threshold.h"
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
#include "json.h"
#include "metrics.h"
#include "preflight.h"
#include "request.h"
#include "template.h"

const char *const plan_executor_names[PLAN_NEXECUTORS] = {
    [PLAN_CONSTANT_ARRIVAL_RATE] = "constant-arrival-rate",
    [PLAN_CONSTANT_VUS] = "constant-vus",
    [PLAN_RAMPING_ARRIVAL_RATE] = "ramping-arrival-rate",
    [PLAN_RAMPING_VUS] = "ramping-vus",
    [PLAN_PER_VU_ITERATIONS] = "per-vu-iterations",
    [PLAN_SHARED_ITERATIONS] = "shared-iterations",
    [PLAN_CEILING] = "ceiling",
};

/* Poisson gaps are capped here (~146 years) so a caller adding gaps cannot wrap around. */
#define POISSON_MAX_GAP_NS (UINT64_C(1) << 62)

static void step_free(plan_step *st)
{
    if (st->ws) {
        tpl_free(st->ws->t_send);
        free(st->ws->expect_text);
        if (st->ws->path)
            json_path_free(st->ws->path);
        free(st->ws->path);
        free(st->ws);
    }
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
        free(s->ws_step);
        free(s->stages);
        free(s->ctl);
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
    free(p->profile);
    preflight_free(p->preflight);
    for (size_t i = 0; i < p->nthresholds; i++)
        threshold_free(&p->thresholds[i]);
    free(p->thresholds);
    for (size_t i = 0; i < p->nouts; i++)
        free(p->outs[i]);
    free(p->outs);
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
    (void)p;
    uint64_t run = s->duration_ns + s->graceful_stop_ns;
    out->service_us = s->request_timeout_ns / NS_PER_US + 1;
    out->lateness_us = run / NS_PER_US + 1;
    out->latency_us = (run + s->request_timeout_ns) / NS_PER_US + 1;
    out->handshake_us = s->tls ? s->connect_timeout_ns / NS_PER_US + 1 : 0;
    out->connect_us = s->connect_timeout_ns / NS_PER_US + 1;
    out->ws_us = 0;
    for (size_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].ws)
            out->ws_us = (run + s->steps[i].ws->reply_timeout_ns) / NS_PER_US + 1;
    out->ws_step = out->ws_us ? s->ws_step : NULL;
}

/* x split over n: x / n each, and the first x % n get one more, so the parts sum to x. */
static uint32_t split(uint32_t x, uint32_t w, uint32_t n)
{
    return x / n + (w < x % n ? 1 : 0);
}

uint64_t plan_split(uint64_t x, uint64_t i, uint64_t n)
{
    if (n == 0)
        n = 1;
    return x / n + (i < x % n ? 1 : 0);
}

/* The scenario's segment as (index, count): (0, 1) when it is run whole. */
static void segment_of(const plan_scenario *s, uint32_t *seg, uint32_t *ns)
{
    *ns = s->nseg > 1 ? s->nseg : 1;
    *seg = *ns > 1 && s->seg < *ns ? s->seg : 0;
}

void plan_share_of(const plan_scenario *s, uint32_t w, uint32_t n, plan_share *out)
{
    if (n == 0)
        n = 1;
    uint32_t seg, ns;
    segment_of(s, &seg, &ns);
    memset(out, 0, sizeof *out);
    out->worker = w;
    out->nworkers = n;
    out->seg = seg;
    out->nseg = ns;
    /* the segment's part first (items j % ns == seg), then the worker's part of that */
    out->vus = split(split(s->vus, seg, ns), w, n);
    if (PLAN_IS_ARRIVAL(s->executor)) {
        /* max_connections is a total: with fewer connections than workers, only the first
         * max_connections workers take part (each needs a connection); the others get nothing
         * and the rate is split over those that do. */
        uint32_t maxc = split(s->max_connections, seg, ns);
        uint32_t m = n;
        if (maxc < m)
            m = maxc ? maxc : 1;
        if (w >= m)
            return;
        out->nworkers = m;
        out->total = s->rate;
        out->rate = s->rate / ((double)m * ns);
        out->max_connections = split(maxc, w, m);
        out->pre_connections = split(split(s->pre_connections, seg, ns), w, m);
        if (out->pre_connections > out->max_connections)
            out->pre_connections = out->max_connections;
        out->max_queue = split(split(s->max_queue, seg, ns), w, m);
        if (out->max_queue < 1)
            out->max_queue = 1;
    }
}

uint64_t plan_data_row(uint64_t j, uint64_t nrows, uint32_t nseg)
{
    if (nrows == 0)
        return 0;
    if (nseg <= 1 || nrows < nseg || j < nrows)
        return j % nrows;
    /* segment j % nseg owns rows seg, seg + nseg, ...: cnt of them; its local item j / nseg
     * takes them in turn (for j < nrows that is row j itself) */
    uint64_t seg = j % nseg, cnt = plan_split(nrows, seg, nseg);
    return (j / nseg % cnt) * nseg + seg;
}

uint32_t plan_segment_vus(const plan_scenario *s)
{
    uint32_t seg, ns;
    segment_of(s, &seg, &ns);
    return split(s->vus, seg, ns);
}

uint64_t plan_segment_iterations(const plan_scenario *s)
{
    uint32_t seg, ns;
    segment_of(s, &seg, &ns);
    uint64_t vus = plan_segment_vus(s);
    if (s->executor == PLAN_PER_VU_ITERATIONS)
        return s->iterations * vus;
    if (s->executor != PLAN_SHARED_ITERATIONS || s->vus == 0)
        return 0;
    /* VU g (0-based) takes iterations / vus, and one more when g < iterations % vus; of the
     * segment's VUs (g % ns == seg) split(iterations % vus, seg, ns) are below that */
    return s->iterations / s->vus * vus + plan_split(s->iterations % s->vus, seg, ns);
}

uint64_t plan_due_ns(const plan_share *sh, uint64_t k)
{
    uint32_t n = sh->nworkers ? sh->nworkers : 1;
    /* Every share of the scenario divides by the same whole rate (sh->total, or for a share
     * made by hand the exact product rate x n), so together they cover one schedule exactly,
     * whatever the worker counts of the boxes running its segments. */
    long double total = sh->total > 0 ? (long double)sh->total : (long double)sh->rate * n;
    if (!(total > 0) || isinf(total))
        return UINT64_MAX;
    uint32_t ns = sh->nseg ? sh->nseg : 1; /* plan_share_index, without overflowing 2^64 */
    long double j = ((long double)k * n + sh->worker) * ns + sh->seg; /* exact below 2^64 */
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

/* ---- stages ----
 *
 * Within a stage of D seconds from rate r0 to r1, the integral from its start is
 * L(tau) = r0 tau + (r1 - r0) tau^2 / (2 D); the tau where it reaches x is the positive root,
 * written as 2x / (r0 + sqrt(r0^2 + 2 (r1 - r0) x / D)), which neither cancels (r0 + sqrt is a
 * sum of non-negatives) nor divides by r1 - r0 (0 for a flat stage). */

static long double stage_area(const plan_stage *st)
{
    return ((long double)st->from + st->to) / 2 * ((long double)st->dur_ns / NS_PER_S);
}

void plan_stages_finish(plan_scenario *s)
{
    uint64_t t = 0;
    long double before = 0;
    double from = s->start_value, peak = from;
    for (size_t i = 0; i < s->nstages; i++) {
        plan_stage *st = &s->stages[i];
        st->start_ns = t;
        st->from = from;
        st->before = before;
        before += stage_area(st);
        t = st->dur_ns > UINT64_MAX - t ? UINT64_MAX : t + st->dur_ns;
        from = st->to;
        if (st->to > peak)
            peak = st->to;
    }
    s->duration_ns = t;
    if (s->executor == PLAN_RAMPING_ARRIVAL_RATE)
        s->rate = peak;
    else
        s->vus = (uint32_t)peak;
}

uint64_t plan_ramp_due_ns(const plan_scenario *s, long double x, size_t *cursor)
{
    size_t i = *cursor;
    for (; i < s->nstages; i++) {
        const plan_stage *st = &s->stages[i];
        long double end = i + 1 < s->nstages ? s->stages[i + 1].before : st->before + stage_area(st);
        if (x < end)
            break;
    }
    *cursor = i;
    if (i == s->nstages)
        return UINT64_MAX;
    const plan_stage *st = &s->stages[i];
    long double xr = x - st->before, r0 = st->from, r1 = st->to;
    long double d = (long double)st->dur_ns / NS_PER_S, tau;
    if (!(xr > 0))
        tau = 0;
    else {
        long double disc = r0 * r0 + 2 * (r1 - r0) * xr / d;
        tau = 2 * xr / (r0 + sqrtl(disc > 0 ? disc : 0));
    }
    long double ns = roundl(tau * NS_PER_S);
    if (ns > (long double)st->dur_ns) /* rounding at the very end of the stage */
        ns = (long double)st->dur_ns;
    return st->start_ns + (uint64_t)ns;
}

size_t plan_stage_at(const plan_scenario *s, uint64_t t_ns)
{
    size_t lo = 0, hi = s->nstages; /* the first stage that ends after t, by bisection */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->stages[mid].start_ns + s->stages[mid].dur_ns > t_ns)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < s->nstages ? lo : s->nstages ? s->nstages - 1 : 0;
}

long double plan_ramp_integral(const plan_scenario *s, uint64_t t_ns)
{
    for (size_t i = 0; i < s->nstages; i++) {
        const plan_stage *st = &s->stages[i];
        if (t_ns >= st->start_ns + st->dur_ns)
            continue;
        long double tau = t_ns > st->start_ns ? (long double)(t_ns - st->start_ns) / NS_PER_S : 0;
        long double d = (long double)st->dur_ns / NS_PER_S;
        return st->before + st->from * tau + ((long double)st->to - st->from) * tau * tau / (2 * d);
    }
    if (!s->nstages)
        return 0;
    const plan_stage *last = &s->stages[s->nstages - 1];
    return last->before + stage_area(last);
}

/* Whole VUs a ramp of `span` VUs has moved tau ns into a stage of d ns: floor(span tau / d),
 * exactly (128-bit: a million VUs over years do not overflow). */
static uint64_t ramp_steps(uint64_t span, uint64_t tau, uint64_t d)
{
    return (uint64_t)((unsigned __int128)span * tau / d);
}

uint32_t plan_vus_at(const plan_scenario *s, uint64_t t_ns)
{
    for (size_t i = 0; i < s->nstages; i++) {
        const plan_stage *st = &s->stages[i];
        if (t_ns >= st->start_ns + st->dur_ns)
            continue; /* over (a 0 s stage is over at its start: a step) */
        uint64_t from = (uint64_t)st->from, to = (uint64_t)st->to;
        uint64_t tau = t_ns - st->start_ns;
        return (uint32_t)(to >= from ? from + ramp_steps(to - from, tau, st->dur_ns)
                                     : from - ramp_steps(from - to, tau, st->dur_ns));
    }
    return s->nstages ? (uint32_t)s->stages[s->nstages - 1].to : (uint32_t)s->start_value;
}

uint64_t plan_vus_next_change(const plan_scenario *s, uint64_t t_ns)
{
    for (size_t i = 0; i < s->nstages; i++) {
        const plan_stage *st = &s->stages[i];
        uint64_t end = st->start_ns + st->dur_ns;
        uint64_t from = (uint64_t)st->from, to = (uint64_t)st->to;
        if (from == to || t_ns >= end)
            continue; /* flat, or over: no change in it after t */
        if (st->dur_ns == 0) {
            if (st->start_ns > t_ns)
                return st->start_ns;
            continue;
        }
        uint64_t span = to > from ? to - from : from - to;
        /* the count moves by one each time span * tau / d passes a whole number */
        uint64_t m = t_ns >= st->start_ns ? ramp_steps(span, t_ns - st->start_ns, st->dur_ns) : 0;
        if (m >= span)
            continue;
        unsigned __int128 num = (unsigned __int128)(m + 1) * st->dur_ns;
        uint64_t tau = (uint64_t)((num + span - 1) / span);
        if (st->start_ns + tau > t_ns)
            return st->start_ns + tau;
    }
    return UINT64_MAX;
}
