/* live: the running totals while a run is under way (see include/live.h).
 *
 * Per scenario: cum (rebuilt each tick: reset, then every worker's snapshot merged in), the ring
 * of the last `nring` cumulative copies (entry k % nring holds tick k's), and the differences
 * win = cum - ring[k - window_s] and sec = cum - ring[k - 1]. Before a ring entry exists (the
 * first seconds), the difference is from the start: cum itself. Every recorder is made before
 * the run (the views with their scenario-wide histograms; ring entries without, since a
 * difference remakes them from its steps'), so an update copies and subtracts into memory that
 * is already there; histogram pages become resident only where values are (hist.c), which is
 * what the ring costs: about nring times the cumulative histograms' resident ranges. */
#include "live.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

typedef struct live_view {
    report_run run;
    report_scenario *sc;
    metrics_rec *m; /* per scenario */
} live_view;

struct live {
    const plan *plan;
    unsigned nw;
    unsigned window_s;
    bool second;
    size_t nsc;
    unsigned nring;
    uint64_t ticks;      /* updates so far */
    uint64_t *ring_at;   /* per ring entry: when its tick was (absolute ns) */
    metrics_rec **ring;  /* [nring][nsc] */
    live_view cum, win, sec;
};

/* A recorder shaped like scenario s's; whole: with the scenario-wide latency and service
 * (ring entries go without: a difference makes its own from its steps'). */
static int rec_like(metrics_rec *r, const plan *p, const plan_scenario *s, bool whole)
{
    metrics_range rg;
    plan_ranges(p, s, &rg);
    if (metrics_rec_init(r, &rg, s->nsteps, s->nchecks) < 0 ||
        (s->executor == PLAN_RAMPING_ARRIVAL_RATE && metrics_rec_stages(r, s->nstages) < 0) ||
        (whole && metrics_finish(r) < 0)) /* the (empty) scenario-wide histograms */
        return -ENOMEM;
    return 0;
}

static void recs_free(metrics_rec *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
        metrics_rec_free(&m[i]);
    free(m);
}

static metrics_rec *recs_new(const plan *p, bool whole)
{
    size_t n = p->nscenarios;
    metrics_rec *m = calloc(n ? n : 1, sizeof(*m));
    for (size_t i = 0; m && i < n; i++)
        if (rec_like(&m[i], p, &p->scenarios[i], whole) < 0) {
            recs_free(m, n);
            return NULL;
        }
    return m;
}

static int view_init(live_view *v, const live *l)
{
    const plan *p = l->plan;
    v->m = recs_new(p, true);
    v->sc = calloc(l->nsc ? l->nsc : 1, sizeof(*v->sc));
    if (!v->m || !v->sc)
        return -ENOMEM;
    for (size_t i = 0; i < l->nsc; i++) {
        v->sc[i].s = &p->scenarios[i];
        v->sc[i].m = &v->m[i];
    }
    v->run = (report_run){.plan = p, .workers = l->nw, .started = true, .sc = v->sc,
                          .nsc = l->nsc};
    return 0;
}

static void view_free(live_view *v, size_t nsc)
{
    recs_free(v->m, nsc);
    free(v->sc);
}

void live_free(live *l)
{
    if (!l)
        return;
    view_free(&l->cum, l->nsc);
    view_free(&l->win, l->nsc);
    view_free(&l->sec, l->nsc);
    for (unsigned k = 0; l->ring && k < l->nring; k++)
        recs_free(l->ring[k], l->nsc);
    free(l->ring);
    free(l->ring_at);
    free(l);
}

int live_new(live **out, const plan *p, unsigned nw, unsigned window_s, bool second)
{
    *out = NULL;
    if (window_s > LIVE_MAX_WINDOW_S)
        return -EINVAL;
    live *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->plan = p;
    l->nw = nw;
    l->nsc = p->nscenarios;
    l->window_s = window_s;
    l->second = second;
    l->nring = window_s > 1 ? window_s : (window_s || second) ? 1 : 0;
    if (view_init(&l->cum, l) < 0 || (window_s && view_init(&l->win, l) < 0) ||
        (second && view_init(&l->sec, l) < 0))
        goto nomem;
    if (l->nring) {
        l->ring = calloc(l->nring, sizeof(*l->ring));
        l->ring_at = calloc(l->nring, sizeof(*l->ring_at));
        if (!l->ring || !l->ring_at)
            goto nomem;
        for (unsigned k = 0; k < l->nring; k++)
            if (!(l->ring[k] = recs_new(p, false)))
                goto nomem;
    }
    *out = l;
    return 0;
nomem:
    live_free(l);
    return -ENOMEM;
}

/* The part of [from, to] (ns after t0) inside scenario s's window, in seconds. */
static double overlap_s(const plan_scenario *s, uint64_t from, uint64_t to)
{
    uint64_t a = s->start_time_ns, b = s->start_time_ns + s->duration_ns;
    if (b < a) /* an endless window (saturated) */
        b = UINT64_MAX;
    if (from > a)
        a = from;
    if (to < b)
        b = to;
    return b > a ? (double)(b - a) / 1e9 : 0;
}

/* v = cum - the ring entry of tick `back` ticks ago (cum itself when it does not exist yet). */
static void diff(live *l, live_view *v, unsigned back, uint64_t t0, uint64_t now)
{
    const metrics_rec *old = NULL;
    uint64_t from = t0;
    if (l->ticks > back) {
        unsigned slot = (unsigned)((l->ticks - back) % l->nring);
        old = l->ring[slot];
        from = l->ring_at[slot];
    }
    for (size_t i = 0; i < l->nsc; i++) {
        metrics_rec *m = &v->m[i];
        metrics_copy(m, &l->cum.m[i]);
        if (old) { /* the scenario-wide latency and service again, from the steps' */
            metrics_sub(m, &old[i]);
            hist_reset(m->latency);
            hist_reset(m->service);
            metrics_finish(m);
        }
        v->sc[i].window_s = overlap_s(v->sc[i].s, from - t0, now - t0);
    }
    v->run.duration_s = (double)(now - from) / 1e9;
}

void live_update(live *l, worker *const *ws, uint64_t t0, uint64_t now)
{
    if (now < t0)
        now = t0;
    const plan *p = l->plan;
    for (size_t i = 0; i < l->nsc; i++)
        metrics_rec_reset(&l->cum.m[i]);
    for (unsigned w = 0; w < l->nw; w++)
        worker_live_merge(ws[w], l->cum.m);
    for (size_t i = 0; i < l->nsc; i++) {
        metrics_rec *m = &l->cum.m[i];
        metrics_finish(m); /* the histograms exist: nothing is allocated */
        /* a one-step flow's iterations were recorded as its step's latency (as run_report) */
        if (p->scenarios[i].simple)
            hist_merge(m->iteration, m->steps[p->scenarios[i].ops[0].a].latency);
        l->cum.sc[i].window_s = overlap_s(&p->scenarios[i], 0, now - t0);
    }
    l->cum.run.duration_s = (double)(now - t0) / 1e9;
    l->ticks++;
    if (l->window_s)
        diff(l, &l->win, l->window_s, t0, now);
    if (l->second)
        diff(l, &l->sec, 1, t0, now);
    if (l->nring) {
        unsigned slot = (unsigned)(l->ticks % l->nring);
        for (size_t i = 0; i < l->nsc; i++)
            metrics_copy(&l->ring[slot][i], &l->cum.m[i]);
        l->ring_at[slot] = now;
    }
}

const report_run *live_cum(const live *l)
{
    return &l->cum.run;
}

const report_run *live_window(const live *l)
{
    return l->window_s && l->ticks ? &l->win.run : NULL;
}

const report_run *live_second(const live *l)
{
    return l->second && l->ticks ? &l->sec.run : NULL;
}
