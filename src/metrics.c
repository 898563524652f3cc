/* metrics: per-worker recorders and their merge. A recorder has one writer (its worker); the only
 * cross-thread traffic is the `live` block, written with relaxed atomic stores by that writer and
 * read by the main thread for the progress line. */
#include <errno.h>
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
        (rg->handshake_us && hist_new(&r->handshake, rg->handshake_us) < 0))
        goto nomem;
    for (size_t i = 0; i < nsteps; i++)
        if (hist_new(&r->steps[i].latency, rg->latency_us) < 0 ||
            hist_new(&r->steps[i].service, rg->service_us) < 0)
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
    for (size_t i = 0; r->steps && i < r->nsteps; i++) {
        hist_free(r->steps[i].latency);
        hist_free(r->steps[i].service);
    }
    free(r->steps);
    free(r->checks);
    r->steps = NULL;
    r->checks = NULL;
    r->nsteps = r->nchecks = 0;
    r->latency = r->service = r->lateness = r->handshake = r->iteration = r->connecting = NULL;
}

int metrics_finish(metrics_rec *r)
{
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
    }
    if (dst->nstages != src->nstages)
        return -EINVAL;
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
