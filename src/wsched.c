/* wsched: when each scenario of a worker starts iterations, per executor.
 *
 * Open model (constant and ramping arrival rate): the clock starts arrivals. Arrival k of this
 * worker is the (k * n + w)-th of the scenario; its due time is computed from k (or, Poisson,
 * from the integral position x), never by adding gaps to the last due time, so ramps do not
 * drift. Closed model: VUs start at the scenario's start and loop; ramping-vus starts and
 * retires VUs as its stages ask, the iteration executors retire a VU when its (or the shared)
 * iterations are used up. A retired VU's connection is closed, so the server sees the VU count.
 *
 * The worker's VU j is the scenario's VU j * n + w, so "VUs 0..target-1 run" gives worker w
 * the first split(target, w, n) of its VUs: the same split the plan uses everywhere. With
 * --segment a segment is one level above: VU (j * n + w) * nseg + seg (plan_share_index), the
 * segment's part of target split first, then the worker's part of that.
 *
 * ceiling: an arrival-rate schedule whose rate the main thread sets step by step through the
 * plan's control block (ceiling.h). Each step's arrivals are numbered from the step's start and
 * due at from + plan_due_ns(k) at the step's rate, so pacing stays open-model from intended
 * time; between steps (cool-down, the main thread judging) nothing is due and the worker looks
 * at the block every CEIL_POLL_NS. */
#include <stdatomic.h>

#include "ceiling.h"
#include "clock.h"
#include "worker_int.h"

/* x split over n: x / n each, and the first x % n get one more (plan.c's split). */
static uint32_t share(uint64_t x, uint32_t w, uint32_t n)
{
    return (uint32_t)(x / n + (w < x % n ? 1 : 0));
}

static inline conn *conn_of(worker *w, wscen *s, wvu *v)
{
    return &w->conns[s->first + (uint32_t)(v - s->vu)];
}

uint64_t sched_shared_share(const wscen *s)
{
    const plan_scenario *p = s->s;
    uint32_t n = s->sh.nworkers ? s->sh.nworkers : 1;
    uint64_t sum = 0;
    (void)n;
    for (uint32_t j = 0; j < s->count; j++)
        sum += p->iterations / p->vus + (plan_share_index(&s->sh, j) < p->iterations % p->vus);
    return sum;
}

#define CEIL_POLL_NS (10 * NS_PER_MS)

/* ceiling: the due time (absolute) of arrival s->k of the current step; UINT64_MAX when it
 * falls after the step (or between steps). */
static uint64_t ceiling_due(wscen *s)
{
    if (!(s->c_rate > 0) || s->sh.rate <= 0)
        return UINT64_MAX;
    plan_share sh = s->sh;
    uint32_t n = sh.nworkers ? sh.nworkers : 1, ns = sh.nseg ? sh.nseg : 1;
    sh.total = s->c_rate;
    sh.rate = s->c_rate / ((double)n * ns);
    uint64_t t;
    if (s->s->arrival == PLAN_ARRIVAL_POISSON)
        t = (s->k == s->c_k0 ? s->c_from : s->next_due) + plan_poisson_gap_ns(&sh, &s->rng);
    else
        t = s->c_from + plan_due_ns(&sh, s->k - s->c_k0);
    return t < s->c_until ? t : UINT64_MAX;
}

/* ceiling: takes a new step (or the end of the search) from the control block. */
static void ceiling_refresh(wscen *s, uint64_t now)
{
    ceiling_ctl *c = s->s->ctl;
    if (atomic_load_explicit(&c->seq, memory_order_acquire) == s->c_seq)
        return;
    ceiling_step_ctl v;
    ceiling_ctl_get(c, &v);
    s->c_seq = atomic_load(&c->seq);
    uint64_t t0 = s->start - s->s->start_time_ns;
    if (v.done) {
        s->scheduling = false;
        s->c_rate = 0;
        if (now < s->end)
            s->end = now;
        if (now + s->s->graceful_stop_ns < s->hard)
            s->hard = now + s->s->graceful_stop_ns;
        return;
    }
    s->c_k0 = s->k;
    s->c_rate = v.rate;
    s->c_from = t0 + v.from_ns;
    s->c_until = t0 + v.until_ns;
    s->next_due = ceiling_due(s);
}

/* The due time (absolute) of this worker's next arrival, s->k; UINT64_MAX past the stages. */
static uint64_t arrival_due(wscen *s)
{
    const plan_scenario *p = s->s;
    if (p->executor == PLAN_CEILING)
        return ceiling_due(s);
    if (p->executor == PLAN_CONSTANT_ARRIVAL_RATE) {
        if (p->arrival == PLAN_ARRIVAL_POISSON)
            return s->k == 0 ? s->start + plan_poisson_gap_ns(&s->sh, &s->rng)
                             : s->next_due + plan_poisson_gap_ns(&s->sh, &s->rng);
        uint64_t d = plan_due_ns(&s->sh, s->k);
        return d == UINT64_MAX ? d : s->start + d;
    }
    uint32_t n = s->sh.nworkers ? s->sh.nworkers : 1, ns = s->sh.nseg ? s->sh.nseg : 1;
    if (p->arrival == PLAN_ARRIVAL_POISSON) {
        /* exponential gaps of mean n x ns in the integral: this worker's part of the arrivals */
        plan_share unit = {.rate = 1.0 / ((double)n * ns)};
        s->x += (long double)plan_poisson_gap_ns(&unit, &s->rng) / NS_PER_S;
    } else {
        s->x = ((long double)s->k * n + s->sh.worker) * ns + s->sh.seg;
    }
    uint64_t d = plan_ramp_due_ns(p, s->x, &s->cursor);
    return d == UINT64_MAX ? d : s->start + d;
}

/* Closed model: v starts an iteration (intended at due). */
static void closed_start(worker *w, wscen *s, wvu *v, uint64_t due, uint64_t now)
{
    if (v->retired) {
        v->retired = false;
        s->nretired--;
    }
    v->retiring = false;
    s->m.it.scheduled++;
    if (s->s->executor == PLAN_SHARED_ITERATIONS)
        s->left--;
    vu_start(w, s, v, due, now);
}

/* An iteration executor whose VUs have all retired (or that has none on this worker) is over
 * here: its window ends now. */
static void iterations_done(wscen *s, uint64_t now)
{
    plan_executor e = s->s->executor;
    if ((e == PLAN_PER_VU_ITERATIONS || e == PLAN_SHARED_ITERATIONS) &&
        s->nretired == s->count && s->scheduling) {
        s->scheduling = false;
        if (now < s->end)
            s->end = now;
        if (now < s->hard)
            s->hard = now;
    }
}

/* Closed model: v starts nothing more (until ramping-vus wants it again); its connection is
 * closed. An iteration executor whose VUs are all retired is over. */
static void retire(worker *w, wscen *s, wvu *v, uint64_t now)
{
    v->retiring = false;
    if (!v->retired) {
        v->retired = true;
        s->nretired++;
    }
    worker_drop_conn(w, s, conn_of(w, s, v), now);
    iterations_done(s, now);
}

static uint32_t ramp_want(const wscen *s, uint64_t now)
{
    uint64_t t = now > s->start ? now - s->start : 0;
    uint32_t seg = share(plan_vus_at(s->s, t), s->sh.seg, s->sh.nseg ? s->sh.nseg : 1);
    return share(seg, s->sh.worker, s->sh.nworkers ? s->sh.nworkers : 1);
}

static uint64_t ramp_next_change(const wscen *s, uint64_t now)
{
    uint64_t t = now > s->start ? now - s->start : 0;
    uint64_t d = plan_vus_next_change(s->s, t);
    return d == UINT64_MAX || d > UINT64_MAX - s->start ? UINT64_MAX : s->start + d;
}

void sched_begin(worker *w, wscen *s, uint64_t now)
{
    const plan_scenario *p = s->s;
    s->begun = true;
    if (!s->vus) {
        /* A worker with no share of an arrival-rate scenario (fewer connections than workers)
         * starts none of its iterations. */
        s->scheduling = s->sh.rate > 0;
        s->k = 0;
        s->x = 0;
        s->cursor = 0;
        s->c_seq = 0;
        s->c_rate = 0;
        s->next_due = arrival_due(s);
        return;
    }
    s->scheduling = true;
    s->want = s->count;
    s->next_change = s->next_cut = UINT64_MAX;
    if (p->executor == PLAN_RAMPING_VUS) {
        s->want = ramp_want(s, now);
        s->next_change = ramp_next_change(s, now);
    } else if (p->executor == PLAN_SHARED_ITERATIONS) {
        s->left = sched_shared_share(s);
    }
    /* Every VU that should run starts its first iteration now (on its connection, or opening
     * it); the others wait, without a connection. */
    s->nidle = 0;
    for (uint32_t j = 0; j < s->count; j++) {
        wvu *v = &s->vu[j];
        w->idle_pos[s->first + j] = NOT_IDLE;
        bool go = j < s->want && (p->executor != PLAN_SHARED_ITERATIONS || s->left > 0);
        if (go)
            closed_start(w, s, v, s->start, now);
        else
            retire(w, s, v, now);
    }
    iterations_done(s, now); /* a worker without VUs of the scenario */
}

/* Ramping VUs: VUs start and are asked to stop as the stages' count moves; a VU asked to stop
 * finishes its iteration, or is cut graceful_ramp_down later. */
static uint64_t ramp_vus(worker *w, wscen *s, uint64_t now)
{
    const plan_scenario *p = s->s;
    if (s->scheduling && now >= s->next_change) {
        uint32_t want = ramp_want(s, now);
        for (uint32_t j = want; j < s->want; j++) {
            wvu *v = &s->vu[j];
            if (v->active && !v->retiring) {
                v->retiring = true;
                v->cut_at = now + p->graceful_ramp_down_ns;
                if (v->cut_at < s->next_cut)
                    s->next_cut = v->cut_at;
            } else if (!v->active && !v->retired && !v->restart) {
                retire(w, s, v, now);
            }
        }
        for (uint32_t j = s->want; j < want; j++) {
            wvu *v = &s->vu[j];
            if (v->active)
                v->retiring = false; /* asked to stop, then wanted again: it goes on */
            else if (!v->restart)
                closed_start(w, s, v, now, now);
        }
        s->want = want;
        s->next_change = ramp_next_change(s, now);
    }
    if (now >= s->next_cut) {
        s->next_cut = UINT64_MAX;
        for (uint32_t j = 0; j < s->count; j++) {
            wvu *v = &s->vu[j];
            if (!v->retiring)
                continue;
            if (!v->active) {
                v->retiring = false;
            } else if (v->cut_at <= now) {
                vu_interrupt(w, s, v);
                conn *c = conn_of(w, s, v);
                worker_set_deadline(w, c, 0);
                retire(w, s, v, now);
            } else if (v->cut_at < s->next_cut) {
                s->next_cut = v->cut_at;
            }
        }
    }
    return s->next_change < s->next_cut ? s->next_change : s->next_cut;
}

uint64_t sched_tick(worker *w, wscen *s, uint64_t now)
{
    if (!s->scheduling)
        return UINT64_MAX;
    if (s->vus) {
        if (now >= s->end) {
            s->scheduling = false;
            return UINT64_MAX;
        }
        return s->s->executor == PLAN_RAMPING_VUS ? ramp_vus(w, s, now) : UINT64_MAX;
    }
    bool ceil = s->s->executor == PLAN_CEILING;
    if (ceil) {
        ceiling_refresh(s, now);
        if (!s->scheduling)
            return UINT64_MAX;
    }
    /* Every arrival due before the end is started, even when the loop wakes after the end (a
     * late wake-up must not lose them: they are sent late and their latency says so). */
    while (s->next_due <= now || s->next_due >= s->end) {
        if (ceil && s->next_due == UINT64_MAX && now < s->end)
            break; /* between two steps of the search */
        if (s->next_due >= s->end) {
            s->scheduling = false;
            break;
        }
        uint64_t due = s->next_due;
        if (s->m.nstages)
            s->m.stages[s->cursor].scheduled++; /* the cursor is still at due's stage */
        s->k++;
        s->next_due = arrival_due(s);
        s->m.it.scheduled++;
        if (s->nidle) {
            vu_start(w, s, worker_idle_pop(w, s), due, now);
        } else if (s->qlen < s->qcap) {
            s->q[(s->qhead + s->qlen) % s->qcap] = due;
            if (++s->qlen > s->m.c.queue_max)
                s->m.c.queue_max = s->qlen;
        } else {
            worker_arrival_lost(s, METRICS_NFAIL);
        }
    }
    worker_open_for_queue(w, s, now);
    if (!s->scheduling)
        return UINT64_MAX;
    if (ceil && s->next_due == UINT64_MAX)
        return now + CEIL_POLL_NS < s->end ? now + CEIL_POLL_NS : s->end;
    uint64_t due = s->next_due, r = s->s->pacing_resolution_ns;
    if (r && due > s->start) /* the next multiple of r after the start at or after due */
        due = s->start + (due - s->start + r - 1) / r * r;
    return due;
}

void sched_vu_next(worker *w, wscen *s, wvu *v, uint64_t now)
{
    const plan_scenario *p = s->s;
    uint32_t j = (uint32_t)(v - s->vu);
    bool go = s->scheduling && now < s->end && !v->retiring && j < s->want &&
              !atomic_load_explicit(&w->sh->stop, memory_order_relaxed);
    if (go && p->executor == PLAN_PER_VU_ITERATIONS)
        go = v->iter < p->iterations;
    if (go && p->executor == PLAN_SHARED_ITERATIONS)
        go = s->left > 0;
    if (go)
        closed_start(w, s, v, now, now);
    else
        retire(w, s, v, now);
}

void sched_cut(worker *w, wscen *s, uint64_t now)
{
    s->cut = true;
    s->scheduling = false;
    while (s->qlen)
        worker_queue_fail_one(s, METRICS_NFAIL);
    for (uint32_t j = 0; j < s->count; j++) {
        wvu *v = &s->vu[j];
        if (!v->active)
            continue;
        vu_interrupt(w, s, v);
        conn *c = conn_of(w, s, v);
        worker_set_deadline(w, c, 0);
        worker_drop_conn(w, s, c, now);
    }
}
