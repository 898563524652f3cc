/* worker_setup: making and freeing a worker (its scenarios' shares, VUs, connections and
 * recorders) and the calls run.c makes on it from the main thread (see worker.h). The thread
 * itself (worker_thread) and its loop are worker.c's. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mem.h"
#include "tls.h"
#include "worker_int.h"

/* Sets up what scenario i of worker w needs: its share, VUs, recorder, queue. */
static int scen_init(worker *w, size_t i)
{
    const plan *p = w->sh->plan;
    wscen *s = &w->sc[i];
    s->s = &p->scenarios[i];
    s->vus = !PLAN_IS_ARRIVAL(s->s->executor);
    plan_share_of(s->s, w->index, w->sh->nworkers, &s->sh);
    s->first = w->nconns;
    s->count = s->vus ? s->sh.vus : s->sh.max_connections;
    w->nconns += s->count;
    /* distinct streams per worker and per segment (Poisson gaps) */
    s->rng = 0x9e3779b97f4a7c15ULL * (plan_share_index(&s->sh, 0) + 1) + i;
    s->tq_head = s->tq_tail = NOT_IDLE;
    metrics_range rg;
    plan_ranges(p, s->s, &rg);
    if (metrics_rec_init(&s->m, &rg, s->s->nsteps, s->s->nchecks) < 0)
        return -ENOMEM;
    if (s->s->executor == PLAN_RAMPING_ARRIVAL_RATE &&
        metrics_rec_stages(&s->m, s->s->nstages) < 0)
        return -ENOMEM;
    s->idle = calloc(s->count ? s->count : 1, sizeof(*s->idle));
    s->vu = calloc(s->count ? s->count : 1, sizeof(*s->vu));
    s->qcap = s->vus || s->sh.max_queue == 0 ? 1 : s->sh.max_queue;
    /* Only pages the queue and the VUs' slices actually use become resident. */
    s->q = mem_lazy_alloc((size_t)s->qcap * sizeof(*s->q));
    if (!s->idle || !s->vu || !s->q || vu_blocks_init(s) < 0 || wss_init(s) < 0)
        return -ENOMEM;
    /* VU numbers interleave over the workers (and segments), as arrivals do: 1..vus in all. */
    for (uint32_t j = 0; j < s->count; j++)
        vu_bind(s, j, (uint32_t)plan_share_index(&s->sh, j) + 1);
    return 0;
}

int worker_create(worker **out, worker_shared *sh, uint32_t index)
{
    const plan *p = sh->plan;
    worker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->sh = sh;
    w->index = index;
    w->wakefd = eventfd(0, EFD_CLOEXEC); /* blocking: io_uring would answer -EAGAIN at once */
    if (w->wakefd < 0) {
        free(w);
        return -errno;
    }
    w->nsc = p->nscenarios;
    w->sc = calloc(w->nsc, sizeof(*w->sc));
    if (!w->sc || extract_scratch_new(&w->xs) < 0)
        goto nomem;
    uint32_t xcap = 1;
    for (size_t i = 0; i < p->nscenarios; i++)
        if (p->scenarios[i].max_var > xcap)
            xcap = p->scenarios[i].max_var;
    if (!(w->xbuf = malloc(xcap)))
        goto nomem;
    for (size_t i = 0; i < w->nsc; i++)
        if (scen_init(w, i) < 0)
            goto nomem;
    w->conns = calloc(w->nconns ? w->nconns : 1, sizeof(*w->conns));
    w->idle_pos = malloc((w->nconns ? w->nconns : 1) * sizeof(*w->idle_pos));
    if (!w->conns || !w->idle_pos)
        goto nomem;
    for (size_t i = 0; i < w->nsc; i++)
        for (uint32_t j = 0; j < w->sc[i].count; j++) {
            uint32_t idx = w->sc[i].first + j;
            conn_init(&w->conns[idx], idx);
            w->conns[idx].owner = (uint16_t)i;
            /* Arrival-rate connections are read lazily (lazy_ok), so they need arrival stamps;
             * a VU reads at once, where the stamp would only cost time. */
            w->conns[idx].stamped = !w->sc[i].vus;
            const plan_scenario *ps = w->sc[i].s;
            w->conns[idx].limited = ps->max_requests_per_conn || ps->conn_lifetime_ns;
            w->idle_pos[idx] = NOT_IDLE;
            vu_bind_conn(&w->sc[i], j, &w->conns[idx]);
        }
    *out = w;
    return 0;
nomem:
    worker_free(w);
    return -ENOMEM;
}

int worker_start(worker *w)
{
    int rc = pthread_create(&w->thread, NULL, worker_thread, w);
    if (rc)
        return -rc;
    w->started = true;
    return 0;
}

int worker_join(worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    return w->err;
}

const char *worker_error(const worker *w)
{
    return w->errmsg;
}

metrics_rec *worker_metrics(worker *w, size_t i)
{
    return &w->sc[i].m;
}

static void snap_area_free(metrics_rec *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        metrics_rec_free(&a[i]);
    free(a);
}

static metrics_rec *snap_area_new(const worker *w)
{
    metrics_rec *a = calloc(w->nsc ? w->nsc : 1, sizeof(*a));
    for (size_t i = 0; a && i < w->nsc; i++) {
        const metrics_rec *m = &w->sc[i].m;
        if (metrics_rec_init(&a[i], &m->range, m->nsteps, m->nchecks) < 0 ||
            (m->stages && metrics_rec_stages(&a[i], m->nstages) < 0)) {
            snap_area_free(a, i + 1);
            return NULL;
        }
    }
    return a;
}

int worker_live_init(worker *w)
{
    if (w->snap[0])
        return 0;
    for (unsigned k = 0; k < 3; k++)
        if (!(w->snap[k] = snap_area_new(w))) {
            for (unsigned j = 0; j < k; j++) {
                snap_area_free(w->snap[j], w->nsc);
                w->snap[j] = NULL;
            }
            return -ENOMEM;
        }
    tribuf_init(&w->snap_x);
    return 0;
}

uint64_t worker_live_merge(worker *w, metrics_rec *dst)
{
    if (!w->snap[0])
        return 0;
    unsigned f = tribuf_take(&w->snap_x);
    uint64_t at = w->snap_at[f];
    if (at)
        for (size_t i = 0; i < w->nsc; i++)
            metrics_merge(&dst[i], &w->snap[f][i]);
    return at;
}

void worker_wake(const worker *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->wakefd, &one, sizeof(one));
    (void)n; /* a full counter is as good as a wake-up */
}

uint64_t worker_finished_ns(const worker *w)
{
    return w->finished > w->t0 ? w->finished - w->t0 : 0;
}

uint64_t worker_run_delay_ns(const worker *w)
{
    return w->run_delay_ns;
}

uint64_t worker_window_ns(const worker *w, size_t i)
{
    return w->sc[i].end > w->sc[i].start ? w->sc[i].end - w->sc[i].start : 0;
}

void worker_free(worker *w)
{
    if (!w)
        return;
    conn_io_free(&w->io);
    dheap_free(&w->timers);
    close(w->wakefd);
    extract_scratch_free(w->xs);
    free(w->xbuf);
    for (unsigned k = 0; k < 3; k++)
        snap_area_free(w->snap[k], w->nsc);
    for (uint32_t i = 0; w->conns && i < w->nconns; i++)
        tls_conn_free(w->conns[i].tls);
    for (size_t i = 0; w->sc && i < w->nsc; i++)
        tls_ctx_free(w->sc[i].tls);
    if (w->sc)
        for (size_t i = 0; i < w->nsc; i++) {
            wscen *s = &w->sc[i];
            metrics_rec_free(&s->m);
            free(s->idle);
            free(s->vu);
            mem_lazy_free(s->q, (size_t)s->qcap * sizeof(*s->q));
            vu_blocks_free(s);
            wss_free(s);
        }
    free(w->sc);
    free(w->conns);
    free(w->idle_pos);
    free(w);
}
