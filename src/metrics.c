/* metrics: per-worker recorders and their merge. A recorder has one writer (its worker); the only
 * cross-thread traffic is the `live` block, written with relaxed atomic stores by that writer and
 * read by the main thread for the progress line. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const char *const fail_names[METRICS_NFAIL] = {
    [METRICS_FAIL_CONNECT] = "connect", [METRICS_FAIL_TIMEOUT] = "timeout",
    [METRICS_FAIL_RESET] = "reset",     [METRICS_FAIL_TLS] = "tls",
    [METRICS_FAIL_PARSE] = "parse",     [METRICS_FAIL_STATUS] = "status",
    [METRICS_FAIL_CHECK] = "check",
};

const char *metrics_fail_name(metrics_fail f)
{
    if ((unsigned)f >= METRICS_NFAIL)
        return "?";
    return fail_names[f];
}

/* Short runs still get a useful range: a second covers any loopback latency. */
static uint64_t at_least_1s(uint64_t us)
{
    return us < 1000000 ? 1000000 : us;
}

static int hist_new(hist **h, uint64_t highest)
{
    return hist_init(h, at_least_1s(highest), METRICS_HIST_SIGFIGS);
}

int metrics_rec_init(metrics_rec *r, const metrics_range *rg, size_t nsteps, size_t nchecks)
{
    memset(r, 0, sizeof(*r));
    r->range = *rg;
    r->steps = calloc(nsteps ? nsteps : 1, sizeof(*r->steps));
    r->checks = calloc(nchecks ? nchecks : 1, sizeof(*r->checks));
    if (!r->steps || !r->checks)
        goto nomem;
    r->nsteps = nsteps;
    r->nchecks = nchecks;
    if (hist_new(&r->lateness, rg->lateness_us) < 0 ||
        hist_new(&r->iteration, rg->latency_us) < 0 ||
        hist_new(&r->connecting, rg->connect_us) < 0 ||
        (rg->handshake_us && hist_new(&r->handshake, rg->handshake_us) < 0) ||
        (rg->ws_us && metrics_ws_new(&r->ws, rg) < 0))
        goto nomem;
    for (size_t i = 0; i < nsteps; i++)
        if (hist_new(&r->steps[i].latency, rg->latency_us) < 0 ||
            hist_new(&r->steps[i].service, rg->service_us) < 0 ||
            (rg->ws_us && (!rg->ws_step || rg->ws_step[i]) &&
             metrics_ws_new(&r->steps[i].ws, rg) < 0))
            goto nomem;
    return 0;
nomem:
    metrics_rec_free(r);
    return -ENOMEM;
}

int metrics_rec_stages(metrics_rec *r, size_t n)
{
    if (!(r->stages = calloc(n ? n : 1, sizeof *r->stages)))
        return -ENOMEM;
    r->nstages = n;
    for (size_t i = 0; i < n; i++)
        if (hist_new(&r->stages[i].lateness, r->range.lateness_us) < 0)
            return -ENOMEM;
    return 0;
}

void metrics_rec_free(metrics_rec *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->stages && i < r->nstages; i++)
        hist_free(r->stages[i].lateness);
    free(r->stages);
    r->stages = NULL;
    r->nstages = 0;
    hist_free(r->latency);
    hist_free(r->service);
    hist_free(r->lateness);
    hist_free(r->handshake);
    hist_free(r->iteration);
    hist_free(r->connecting);
    metrics_ws_free(r->ws);
    r->ws = NULL;
    for (size_t i = 0; r->steps && i < r->nsteps; i++) {
        hist_free(r->steps[i].latency);
        hist_free(r->steps[i].service);
        metrics_ws_free(r->steps[i].ws);
    }
    free(r->steps);
    free(r->checks);
    r->steps = NULL;
    r->checks = NULL;
    r->nsteps = r->nchecks = 0;
    r->latency = r->service = r->lateness = r->handshake = r->iteration = r->connecting = NULL;
}

/* Every histogram of r with its counterpart in o (NULL where either lacks it), in one order. */
#define METRICS_MAX_FIXED 6
static size_t hist_pairs(metrics_rec *r, const metrics_rec *o, hist **a, const hist **b,
                         size_t cap)
{
    size_t n = 0;
    hist *ra[METRICS_MAX_FIXED] = {r->latency,   r->service,  r->lateness,
                                   r->handshake, r->iteration, r->connecting};
    const hist *oa[METRICS_MAX_FIXED] = {o ? o->latency : NULL,   o ? o->service : NULL,
                                         o ? o->lateness : NULL,  o ? o->handshake : NULL,
                                         o ? o->iteration : NULL, o ? o->connecting : NULL};
    for (size_t i = 0; i < METRICS_MAX_FIXED && n < cap; i++, n++) {
        a[n] = ra[i];
        b[n] = oa[i];
    }
    for (size_t i = 0; i < r->nsteps && n + 2 <= cap; i++) {
        a[n] = r->steps[i].latency;
        b[n++] = o && i < o->nsteps ? o->steps[i].latency : NULL;
        a[n] = r->steps[i].service;
        b[n++] = o && i < o->nsteps ? o->steps[i].service : NULL;
    }
    for (size_t i = 0; i < r->nstages && n < cap; i++, n++) {
        a[n] = r->stages[i].lateness;
        b[n] = o && i < o->nstages ? o->stages[i].lateness : NULL;
    }
    return n;
}

static size_t hist_total(const metrics_rec *r)
{
    return METRICS_MAX_FIXED + 2 * r->nsteps + r->nstages;
}

void metrics_rec_reset(metrics_rec *r)
{
    if (r->latency)
        hist_reset(r->latency);
    if (r->service)
        hist_reset(r->service);
    if (r->lateness)
        hist_reset(r->lateness);
    if (r->handshake)
        hist_reset(r->handshake);
    if (r->iteration)
        hist_reset(r->iteration);
    if (r->connecting)
        hist_reset(r->connecting);
    if (r->ws)
        metrics_ws_reset(r->ws);
    for (size_t i = 0; i < r->nsteps; i++) {
        hist *l = r->steps[i].latency, *sv = r->steps[i].service;
        metrics_ws *w = r->steps[i].ws;
        memset(&r->steps[i], 0, sizeof(r->steps[i]));
        r->steps[i].latency = l;
        r->steps[i].service = sv;
        r->steps[i].ws = w;
        hist_reset(l);
        hist_reset(sv);
        if (w)
            metrics_ws_reset(w);
    }
    for (size_t i = 0; i < r->nstages; i++) {
        r->stages[i].scheduled = 0;
        hist_reset(r->stages[i].lateness);
    }
    memset(r->checks, 0, r->nchecks * sizeof(*r->checks));
    memset(&r->c, 0, sizeof(r->c));
    memset(&r->it, 0, sizeof(r->it));
    memset(&r->g, 0, sizeof(r->g));
    memset(r->tls_reasons, 0, sizeof(r->tls_reasons));
}

static bool same_shape(const metrics_rec *a, const metrics_rec *b)
{
    if (a->nsteps != b->nsteps || a->nchecks != b->nchecks || a->nstages != b->nstages ||
        !a->ws != !b->ws)
        return false;
    for (size_t i = 0; i < a->nsteps; i++)
        if (!a->steps[i].ws != !b->steps[i].ws)
            return false;
    return true;
}

int metrics_copy(metrics_rec *dst, const metrics_rec *src)
{
    if (!same_shape(dst, src))
        return -EINVAL;
    size_t cap = hist_total(dst);
    hist *a[cap];
    const hist *b[cap];
    size_t n = hist_pairs(dst, src, a, b, cap);
    for (size_t i = 0; i < n; i++) {
        if (!b[i]) {
            if (a[i])
                hist_reset(a[i]);
            continue;
        }
        if (!a[i] && i < 2) /* dst keeps no scenario-wide latency or service: left out */
            continue;
        if (!a[i] || hist_copy(a[i], b[i]) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < src->nsteps; i++) {
        metrics_step *d = &dst->steps[i];
        hist *l = d->latency, *sv = d->service;
        metrics_ws *w = d->ws;
        *d = src->steps[i];
        d->latency = l;
        d->service = sv;
        d->ws = w;
        if (w && metrics_ws_copy(w, src->steps[i].ws) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < src->nstages; i++)
        dst->stages[i].scheduled = src->stages[i].scheduled;
    memcpy(dst->checks, src->checks, src->nchecks * sizeof(*src->checks));
    if (src->ws && metrics_ws_copy(dst->ws, src->ws) < 0)
        return -EINVAL;
    dst->c = src->c;
    dst->it = src->it;
    dst->g = src->g;
    memcpy(dst->tls_reasons, src->tls_reasons, sizeof(dst->tls_reasons));
    return 0;
}

#define SUB(field) d->field -= s->field
int metrics_sub(metrics_rec *dst, const metrics_rec *src)
{
    if (!same_shape(dst, src))
        return -EINVAL;
    size_t cap = hist_total(dst);
    hist *a[cap];
    const hist *b[cap];
    size_t n = hist_pairs(dst, src, a, b, cap);
    for (size_t i = 0; i < n; i++)
        if (a[i] && b[i] && hist_sub(a[i], b[i]) < 0)
            return -EINVAL;
    for (size_t i = 0; i < src->nsteps; i++) {
        metrics_step *d = &dst->steps[i];
        const metrics_step *s = &src->steps[i];
        SUB(scheduled);
        SUB(ok);
        SUB(failed);
        for (int k = 0; k < METRICS_NFAIL; k++)
            SUB(fail[k]);
        SUB(bytes_sent);
        SUB(bytes_received);
        for (int k = 0; k < 6; k++)
            SUB(status[k]);
        if (s->ws && metrics_ws_sub(d->ws, s->ws) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < src->nstages; i++)
        dst->stages[i].scheduled -= src->stages[i].scheduled;
    if (src->ws && metrics_ws_sub(dst->ws, src->ws) < 0)
        return -EINVAL;
    for (size_t i = 0; i < src->nchecks; i++) {
        dst->checks[i].passes -= src->checks[i].passes;
        dst->checks[i].fails -= src->checks[i].fails;
    }
    {
        metrics_iter *d = &dst->it;
        const metrics_iter *s = &src->it;
        SUB(scheduled);
        SUB(completed);
        SUB(failed);
        SUB(interrupted);
        SUB(dropped);
    }
    metrics_counts *d = &dst->c;
    const metrics_counts *s = &src->c;
    SUB(scheduled);
    SUB(ok);
    SUB(failed);
    SUB(dropped);
    for (int k = 0; k < METRICS_NFAIL; k++)
        SUB(fail[k]);
    SUB(bytes_sent);
    SUB(bytes_received);
    SUB(conns_opened);
    SUB(conns_failed);
    SUB(conns_server_closed);
    SUB(late_sends);
    SUB(tls_full);
    SUB(tls_resumed);
    SUB(conns_recycled);
    for (int i = 0; i < METRICS_TLS_REASONS && src->tls_reasons[i].count; i++)
        for (int j = 0; j < METRICS_TLS_REASONS; j++)
            if (dst->tls_reasons[j].count &&
                strcmp(dst->tls_reasons[j].text, src->tls_reasons[i].text) == 0) {
                dst->tls_reasons[j].count -= src->tls_reasons[i].count;
                break;
            }
    /* Readers stop at the first empty slot: emptied reasons leave the list. */
    int k = 0;
    for (int i = 0; i < METRICS_TLS_REASONS; i++)
        if (dst->tls_reasons[i].count)
            dst->tls_reasons[k++] = dst->tls_reasons[i];
    for (; k < METRICS_TLS_REASONS; k++)
        memset(&dst->tls_reasons[k], 0, sizeof(dst->tls_reasons[k]));
    return 0;
}
#undef SUB

int metrics_finish(metrics_rec *r)
{
    if (r->ws) { /* the same ranges as the steps': a merge cannot fail */
        metrics_ws_reset(r->ws);
        for (size_t i = 0; i < r->nsteps; i++)
            if (r->steps[i].ws)
                metrics_ws_merge(r->ws, r->steps[i].ws);
    }
    if (!r->latency && hist_new(&r->latency, r->range.latency_us) < 0)
        return -ENOMEM;
    if (!r->service && hist_new(&r->service, r->range.service_us) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < r->nsteps; i++) {
        hist_merge(r->latency, r->steps[i].latency);
        hist_merge(r->service, r->steps[i].service);
    }
    return 0;
}

void metrics_publish(metrics_rec *r)
{
    atomic_store_explicit(&r->live.scheduled, r->c.scheduled, memory_order_relaxed);
    atomic_store_explicit(&r->live.ok, r->c.ok, memory_order_relaxed);
    atomic_store_explicit(&r->live.failed, r->c.failed, memory_order_relaxed);
    atomic_store_explicit(&r->live.dropped, r->c.dropped, memory_order_relaxed);
}

void metrics_read_live(const metrics_rec *r, metrics_counts *out)
{
    metrics_live *l = (metrics_live *)&r->live;
    memset(out, 0, sizeof(*out));
    out->scheduled = atomic_load_explicit(&l->scheduled, memory_order_relaxed);
    out->ok = atomic_load_explicit(&l->ok, memory_order_relaxed);
    out->failed = atomic_load_explicit(&l->failed, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&l->dropped, memory_order_relaxed);
}

int metrics_merge(metrics_rec *dst, const metrics_rec *src)
{
    int rc = 0;
    if (dst->nsteps != src->nsteps || dst->nchecks != src->nchecks)
        return -EINVAL;
    if ((rc = hist_merge(dst->lateness, src->lateness)) < 0 ||
        (rc = hist_merge(dst->iteration, src->iteration)) < 0 ||
        (rc = hist_merge(dst->connecting, src->connecting)) < 0 ||
        (src->handshake && !dst->handshake) ||
        (src->handshake && (rc = hist_merge(dst->handshake, src->handshake)) < 0))
        return rc < 0 ? rc : -EINVAL;
    for (size_t i = 0; i < src->nsteps; i++) {
        metrics_step *d = &dst->steps[i];
        const metrics_step *s = &src->steps[i];
        if ((rc = hist_merge(d->latency, s->latency)) < 0 ||
            (rc = hist_merge(d->service, s->service)) < 0)
            return rc;
        d->scheduled += s->scheduled;
        d->ok += s->ok;
        d->failed += s->failed;
        for (int k = 0; k < METRICS_NFAIL; k++)
            d->fail[k] += s->fail[k];
        d->bytes_sent += s->bytes_sent;
        d->bytes_received += s->bytes_received;
        for (int k = 0; k < 6; k++)
            d->status[k] += s->status[k];
        if (!d->ws != !s->ws)
            return -EINVAL;
        if (s->ws && (rc = metrics_ws_merge(d->ws, s->ws)) < 0)
            return rc;
    }
    if (dst->nstages != src->nstages || !dst->ws != !src->ws)
        return -EINVAL;
    if (src->ws && (rc = metrics_ws_merge(dst->ws, src->ws)) < 0)
        return rc;
    for (size_t i = 0; i < src->nstages; i++) {
        dst->stages[i].scheduled += src->stages[i].scheduled;
        if ((rc = hist_merge(dst->stages[i].lateness, src->stages[i].lateness)) < 0)
            return rc;
    }
    for (size_t i = 0; i < src->nchecks; i++) {
        dst->checks[i].passes += src->checks[i].passes;
        dst->checks[i].fails += src->checks[i].fails;
    }
    dst->it.scheduled += src->it.scheduled;
    dst->it.completed += src->it.completed;
    dst->it.failed += src->it.failed;
    dst->it.interrupted += src->it.interrupted;
    dst->it.dropped += src->it.dropped;
    for (int i = 0; i < METRICS_TLS_REASONS && src->tls_reasons[i].count; i++)
        metrics_tls_reason(dst, src->tls_reasons[i].text, src->tls_reasons[i].count);
    metrics_counts *d = &dst->c;
    const metrics_counts *s = &src->c;
    d->scheduled += s->scheduled;
    d->ok += s->ok;
    d->failed += s->failed;
    d->dropped += s->dropped;
    for (int i = 0; i < METRICS_NFAIL; i++)
        d->fail[i] += s->fail[i];
    d->bytes_sent += s->bytes_sent;
    d->bytes_received += s->bytes_received;
    d->conns_opened += s->conns_opened;
    d->conns_failed += s->conns_failed;
    d->conns_open += s->conns_open;
    d->conns_max_open += s->conns_max_open;
    d->conns_server_closed += s->conns_server_closed;
    d->late_sends += s->late_sends;
    d->queue_max += s->queue_max;
    d->tls_full += s->tls_full;
    d->tls_resumed += s->tls_resumed;
    d->conns_recycled += s->conns_recycled;
    dst->g.vus_active += src->g.vus_active;
    dst->g.queued += src->g.queued;
    return 0;
}

void metrics_tls_reason(metrics_rec *r, const char *reason, uint64_t count)
{
    int last = METRICS_TLS_REASONS - 1;
    for (int i = 0; i < METRICS_TLS_REASONS; i++) {
        metrics_reason *m = &r->tls_reasons[i];
        if (m->count && strcmp(m->text, reason) == 0) {
            m->count += count;
            return;
        }
        if (!m->count) {
            snprintf(m->text, sizeof(m->text), "%s", i == last ? "other reasons" : reason);
            m->count = count;
            return;
        }
    }
    r->tls_reasons[last].count += count;
    snprintf(r->tls_reasons[last].text, sizeof(r->tls_reasons[last].text), "other reasons");
}
