/* ceiling_run: the main thread's side of executor = ceiling (see include/ceiling.h).
 *
 * The timeline is on the one-second grid on which the workers take their live snapshots (t0 +
 * k s); the run's tick sees grid point k about 50 ms after it. Step i begins at grid point G:
 * its arrivals are due from G + LEAD (G itself for the first step, published before the start)
 * until G + step_duration; its window opens at G + warm_up (snapshot A: a copy of the running
 * totals) and closes at G + step_duration + cool_down (snapshot B), so that requests sent near
 * the end of the step and answered during the cool-down count for the step that sent them. The
 * step is judged on B - A, the next rate chosen, and the next step begins at that grid point.
 * When requests are still in flight at the end of the cool-down (a server that fell behind), B
 * waits for them, at most another step_duration: they belong to this step, and the next one must
 * not start on this one's backlog.
 * LEAD leaves the tick time to publish the step before its first arrival is due.
 *
 * A step's verdict: the thresholds that judge the scenario, each on the window alone; then
 * whether blast could offer the rate (its CPU over the window, send lateness without a queue,
 * drops without every VU busy): a failure blast may have caused is no verdict on the server. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ceiling.h"
#include "clock.h"
#include "gates.h"
#include "hist.h"
#include "metrics.h"
#include "plan.h"
#include "report.h"
#include "schedstat.h"
#include "strbuf.h"
#include "threshold.h"

#define LEAD_NS (100 * NS_PER_MS)
#define CPU_BOUND 0.85     /* of the workers' wall time over the window: blast was the limit */
#define WIDE_FAILED 0.5    /* a failed rate this high is a broken target, not a knee */
#define WIDE_TIMEOUTS 0.05 /* nor is this share of requests timing out or not connecting */
#define QUEUE_GREW_S 0.1   /* as verdict.c: a queue of 100 ms of arrivals */
#define QUEUE_GREW_MIN 100

enum phase { WARMING, MEASURING, OVER };

struct ceiling_run {
    const plan *p;
    const plan_scenario *s;
    size_t si;
    gates *g;
    bool verbose;
    enum phase phase;
    uint64_t grid;           /* G of the step under way (seconds after t0) */
    uint64_t a_grid;         /* where its window actually opened */
    double cpu_a;            /* blast's CPU seconds at A */
    double wait_a;           /* its threads' seconds waiting for a CPU at A (schedstat) */
    bool e_taken;            /* the responses counted at the step's end (E) */
    uint64_t e_done, e_grid; /* ... how many by then (from A), and when */
    metrics_rec *snap;       /* A, per scenario */
    metrics_rec *view;       /* B - A, per scenario (with the scenario-wide histograms) */
    metrics_rec best;        /* the ceiling scenario's window at the highest passing step */
    report_scenario *vsc;
    report_run vrun;
    ceiling_result res;
};

static double cpu_now(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int rec_like(metrics_rec *r, const plan *p, const plan_scenario *s, bool whole)
{
    metrics_range rg;
    plan_ranges(p, s, &rg);
    if (metrics_rec_init(r, &rg, s->nsteps, s->nchecks) < 0 ||
        (s->executor == PLAN_RAMPING_ARRIVAL_RATE && metrics_rec_stages(r, s->nstages) < 0) ||
        (whole && metrics_finish(r) < 0))
        return -ENOMEM;
    return 0;
}

void ceiling_run_free(ceiling_run *cr)
{
    if (!cr)
        return;
    for (size_t i = 0; i < cr->p->nscenarios; i++) {
        if (cr->snap)
            metrics_rec_free(&cr->snap[i]);
        if (cr->view)
            metrics_rec_free(&cr->view[i]);
    }
    free(cr->snap);
    free(cr->view);
    metrics_rec_free(&cr->best);
    free(cr->vsc);
    for (unsigned i = 0; cr->res.steps && i < cr->s->ceil.max_steps; i++) {
        free(cr->res.steps[i].thr_value);
        free(cr->res.steps[i].thr_samples);
        free(cr->res.steps[i].thr_state);
    }
    free(cr->res.steps);
    free(cr);
}

int ceiling_run_new(ceiling_run **out, const plan *p, gates *g)
{
    *out = NULL;
    size_t si = 0;
    while (si < p->nscenarios && p->scenarios[si].executor != PLAN_CEILING)
        si++;
    if (si == p->nscenarios)
        return 0;
    ceiling_run *cr = calloc(1, sizeof *cr);
    if (!cr)
        return -ENOMEM;
    cr->p = p;
    cr->s = &p->scenarios[si];
    cr->si = si;
    cr->g = g;
    size_t n = p->nscenarios, nt = p->nthresholds ? p->nthresholds : 1;
    unsigned ms = cr->s->ceil.max_steps;
    cr->snap = calloc(n, sizeof *cr->snap);
    cr->view = calloc(n, sizeof *cr->view);
    cr->vsc = calloc(n, sizeof *cr->vsc);
    cr->res.steps = calloc(ms, sizeof *cr->res.steps);
    if (!cr->snap || !cr->view || !cr->vsc || !cr->res.steps)
        goto nomem;
    for (unsigned i = 0; i < ms; i++) {
        ceiling_step *st = &cr->res.steps[i];
        st->thr_value = calloc(nt, sizeof *st->thr_value);
        st->thr_samples = calloc(nt, sizeof *st->thr_samples);
        st->thr_state = calloc(nt, 1);
        if (!st->thr_value || !st->thr_samples || !st->thr_state)
            goto nomem;
    }
    if (rec_like(&cr->best, p, cr->s, true) < 0)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        if (rec_like(&cr->snap[i], p, &p->scenarios[i], false) < 0 ||
            rec_like(&cr->view[i], p, &p->scenarios[i], true) < 0)
            goto nomem;
        cr->vsc[i].s = &p->scenarios[i];
        cr->vsc[i].m = &cr->view[i];
    }
    cr->vrun =
        (report_run){.plan = p, .workers = p->workers, .started = true, .sc = cr->vsc, .nsc = n};
    cr->res.plan = p;
    cr->res.scenario = si;
    const plan_ceiling *ce = &cr->s->ceil;
    ceiling_init(&cr->res.search, ce->start_rate, ce->max_rate, ce->precision);
    *out = cr;
    return 0;
nomem:
    ceiling_run_free(cr);
    return -ENOMEM;
}

void ceiling_run_set_verbose(ceiling_run *cr, bool on)
{
    if (cr)
        cr->verbose = on;
}

const ceiling_result *ceiling_run_result(const ceiling_run *cr)
{
    return cr ? &cr->res : NULL;
}

/* The step starting at grid point g (seconds after t0): published, window not yet open. */
static void publish(ceiling_run *cr, uint64_t g, double rate, bool first)
{
    const plan_ceiling *ce = &cr->s->ceil;
    cr->grid = g;
    cr->phase = WARMING;
    cr->e_taken = false;
    ceiling_step_ctl v = {.step = cr->res.nsteps + 1,
                          .rate = rate,
                          .from_ns = g * NS_PER_S + (first ? 0 : LEAD_NS),
                          .until_ns = g * NS_PER_S + ce->step_ns};
    ceiling_ctl_set(cr->s->ctl, &v);
    atomic_store(&cr->s->ctl->since_s, g);
    atomic_store(&cr->s->ctl->pass, cr->res.search.pass);
    atomic_store(&cr->s->ctl->fail, cr->res.search.fail);
}

void ceiling_run_begin(ceiling_run *cr)
{
    if (!cr)
        return;
    publish(cr, cr->s->start_time_ns / NS_PER_S, cr->res.search.rate, true);
    if (cr->s->ceil.warm_ns == 0 && cr->grid == 0) {
        /* the window opens at t0: nothing has been recorded yet */
        for (size_t i = 0; i < cr->p->nscenarios; i++)
            metrics_rec_reset(&cr->snap[i]);
        cr->a_grid = 0;
        cr->cpu_a = cpu_now();
        cr->wait_a = (double)schedstat_process_wait_ns() / 1e9;
        cr->phase = MEASURING;
    }
}

/* Whether threshold t judges the ceiling scenario. */
static bool judges(const ceiling_run *cr, const threshold *t)
{
    if (t->scenario >= 0)
        return (size_t)t->scenario == cr->si;
    for (size_t k = 0; k < t->nfilters; k++)
        if (t->filters[k].kind == TF_SCENARIO && (size_t)t->filters[k].scenario != cr->si)
            return false;
    return true;
}

/* The thresholds on the window: st->thr_*, and what failed into st->why. */
static bool judge_thresholds(ceiling_run *cr, ceiling_step *st)
{
    bool ok = true;
    size_t w = 0;
    for (size_t i = 0; i < cr->p->nthresholds; i++) {
        const threshold *t = &cr->p->thresholds[i];
        st->thr_state[i] = 0;
        if (!judges(cr, t))
            continue;
        double v = 0;
        uint64_t n = 0;
        if (threshold_observe(t, &cr->vrun, &v, &n) < 0)
            continue;
        st->thr_value[i] = v;
        st->thr_samples[i] = n;
        bool held = n == 0 && threshold_metric_kind(t->metric) != TK_COUNTER
                        ? t->allow_empty
                        : threshold_holds(t, v);
        st->thr_state[i] = held ? 1 : 2;
        if (held)
            continue;
        ok = false;
        char shown[48];
        if (n == 0 && threshold_metric_kind(t->metric) != TK_COUNTER)
            snprintf(shown, sizeof shown, "no samples");
        else
            threshold_format(t, v, shown, sizeof shown);
        w = strbuf_app(st->why, sizeof st->why, w, "%s%s %s (%s)", w ? "; " : "", t->stat_text,
                       shown, t->expr);
    }
    return ok;
}

/* Measures the step on the window view and gives its verdict. */
static ceiling_verdict judge(ceiling_run *cr, ceiling_step *st, double span_s, double cpu_s,
                             double wait_s)
{
    const plan_scenario *s = cr->s;
    const metrics_rec *m = &cr->view[cr->si];
    st->requests = m->c.ok + m->c.failed;
    st->failed = m->c.failed;
    st->dropped = m->it.dropped;
    st->timeouts = m->c.fail[METRICS_FAIL_TIMEOUT] + m->c.fail[METRICS_FAIL_CONNECT];
    st->achieved = span_s > 0 ? (double)st->requests / span_s : 0;
    st->failed_rate = st->requests ? (double)st->failed / (double)st->requests : 0;
    if (m->latency && hist_count(m->latency)) {
        st->p50_ms = (double)hist_value_at(m->latency, 50) / 1e3;
        st->p95_ms = (double)hist_value_at(m->latency, 95) / 1e3;
        st->p99_ms = (double)hist_value_at(m->latency, 99) / 1e3;
    }
    st->lateness_p99_ms =
        m->lateness && hist_count(m->lateness) ? (double)hist_value_at(m->lateness, 99) / 1e3 : 0;
    double bound =
        s->offered_lateness_ns ? (double)s->offered_lateness_ns / 1e6 : 0.1 * 1e3 / st->rate;
    if (!s->offered_lateness_ns) {
        if (bound < 1)
            bound = 1;
        bound += (double)s->pacing_resolution_ns / 1e6;
    }
    st->lateness_bound_ms = bound;
    st->cpu_share = span_s > 0 ? cpu_s / (span_s * cr->p->workers) : 0;
    st->wait_share = span_s > 0 ? wait_s / (span_s * cr->p->workers) : 0;
    bool ok = judge_thresholds(cr, st);

    /* could blast offer the rate? */
    const metrics_rec *cum = &cr->snap[cr->si]; /* A; B's maxima are in the view's copy */
    bool starved = m->c.conns_max_open >= s->max_connections;
    double grew =
        st->rate * QUEUE_GREW_S < QUEUE_GREW_MIN ? QUEUE_GREW_MIN : st->rate * QUEUE_GREW_S;
    bool queued = m->c.queue_max > cum->c.queue_max && (double)m->c.queue_max > grew;
    /* out of CPU: its own use, or its use and the time it waited for a CPU that other
     * programs on the machine held (a busy load box is no verdict on the server either) */
    bool cpu = st->cpu_share + st->wait_share >= CPU_BOUND;
    /* late sends are blast's doing only when they are most of the latency: a saturated server
     * also makes sends late (each new connection's connect comes first), by far less than it
     * makes the responses late */
    bool late = st->lateness_p99_ms > bound && !starved && !queued &&
                st->lateness_p99_ms >= 0.5 * st->p99_ms;
    bool drops = st->dropped && !starved;
    /* most requests failing, or timing out: a broken target, whatever else went on */
    bool wide = !ok && (st->requests == 0 || st->failed_rate >= WIDE_FAILED ||
                        (double)st->timeouts >= WIDE_TIMEOUTS * (double)st->requests);
    /* blast out of CPU: no verdict either way; late sends or drops of its own: no verdict on a
     * step they may have failed (a step that held despite late sends held: latency counts them) */
    if (cpu || (!wide && (late || drops) && (!ok || st->dropped))) {
        size_t w = 0;
        if (cpu && st->cpu_share >= CPU_BOUND)
            w = strbuf_app(st->why, sizeof st->why, 0,
                           "blast's CPU %.0f%% of %u worker(s) over the window",
                           100 * st->cpu_share, cr->p->workers);
        else if (cpu)
            w = strbuf_app(st->why, sizeof st->why, 0,
                           "blast's CPU %.0f%% of %u worker(s) over the window, and %.0f%% more "
                           "waiting for a CPU that other programs held: this machine was busy",
                           100 * st->cpu_share, cr->p->workers, 100 * st->wait_share);
        if (late)
            w = strbuf_app(st->why, sizeof st->why, cpu ? w : 0,
                           "%ssend lateness p99 %.3f ms above %.3f ms", cpu ? "; " : "",
                           st->lateness_p99_ms, bound);
        if (drops)
            strbuf_app(st->why, sizeof st->why, (cpu || late) ? w : 0, "%s%llu dropped",
                       (cpu || late) ? "; " : "", (unsigned long long)st->dropped);
        return CEIL_GENERATOR;
    }
    if (ok && st->dropped) {
        strbuf_app(st->why, sizeof st->why, 0, "%llu arrivals dropped (all %u VUs busy)",
                   (unsigned long long)st->dropped, s->max_connections);
        ok = false;
    }
    if (ok)
        return CEIL_PASS;
    if (wide) {
        /* say so first: its thresholds may only read "no samples" */
        char was[sizeof st->why];
        memcpy(was, st->why, sizeof was);
        size_t w = strbuf_app(st->why, sizeof st->why, 0,
                              "%.2f%% failed (%llu timed out or did not "
                              "connect)",
                              100 * st->failed_rate, (unsigned long long)st->timeouts);
        if (was[0])
            strbuf_app(st->why, sizeof st->why, w, "; %.*s", (int)(sizeof was - 1), was);
        return CEIL_WIDE;
    }
    return CEIL_FAIL;
}

/* B - A into the view (as live.c makes a window). */
static void window_view(ceiling_run *cr, const report_run *cum, double span_s)
{
    for (size_t i = 0; i < cr->p->nscenarios; i++) {
        metrics_rec *m = &cr->view[i];
        metrics_copy(m, cum->sc[i].m);
        metrics_sub(m, &cr->snap[i]);
        hist_reset(m->latency);
        hist_reset(m->service);
        metrics_finish(m);
        /* queue_max and conns_max_open stay B's: run maxima cannot be subtracted */
        m->c.queue_max = cum->sc[i].m->c.queue_max;
        m->c.conns_max_open = cum->sc[i].m->c.conns_max_open;
        cr->vsc[i].window_s = span_s;
    }
    cr->vrun.duration_s = span_s;
}

static void generator_advice(ceiling_run *cr, const ceiling_step *st)
{
    const plan_scenario *s = cr->s;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t a = strbuf_app(cr->res.advice, sizeof cr->res.advice, 0,
                          "blast could not offer %.0f/s (%s): ", st->rate, st->why);
    if (st->cpu_share < CPU_BOUND && st->cpu_share + st->wait_share >= CPU_BOUND)
        a = strbuf_app(
            cr->res.advice, sizeof cr->res.advice, a,
            "run blast on a machine that is not busy with other programs (or pin it and the "
            "server apart: taskset); ");
    else if (st->cpu_share >= CPU_BOUND || cr->p->workers < (unsigned)(cpus > 0 ? cpus : 1))
        a = strbuf_app(cr->res.advice, sizeof cr->res.advice, a,
                       "raise workers (%u now, %ld CPUs online) or split the load over load boxes "
                       "(--segment); ",
                       cr->p->workers, cpus);
    a = strbuf_app(cr->res.advice, sizeof cr->res.advice, a,
                   "raise max_connections (%u now) if every VU was busy; ", s->max_connections);
    if (s->nsrc == 0)
        a = strbuf_app(cr->res.advice, sizeof cr->res.advice, a,
                       "source_addresses spreads many connections over more local ports; ");
    cr->res.advice[a >= 2 ? a - 2 : a] = '\0';
}

static void say_step(const ceiling_run *cr, const ceiling_step *st, unsigned n)
{
    if (!cr->verbose)
        return;
    const ceiling_search *q = &cr->res.search;
    char fail[32] = "-";
    if (q->fail > 0)
        snprintf(fail, sizeof fail, "%.0f", q->fail);
    fprintf(stderr,
            "blast: ceiling step %u: %.0f/s offered, %.0f/s achieved, p99 %.3f ms, failed "
            "%.2f%%: %s%s%s; bracket [%.0f, %s]\n",
            n, st->rate, st->achieved, st->p99_ms, 100 * st->failed_rate,
            ceiling_verdict_name(st->verdict), st->why[0] ? ": " : "", st->why, q->pass, fail);
}

static void conclude(ceiling_run *cr)
{
    ceiling_result *r = &cr->res;
    const ceiling_search *q = &r->search;
    r->rate = q->pass;
    r->fail_rate = q->fail;
    r->by = q->by;
    r->complete = q->done;
    for (unsigned i = 0; i < r->nsteps; i++) {
        if (r->steps[i].verdict == CEIL_PASS && r->steps[i].rate == q->pass)
            r->pass_step = i + 1;
        if ((r->steps[i].verdict == CEIL_FAIL || r->steps[i].verdict == CEIL_WIDE) &&
            r->steps[i].rate == q->fail)
            r->fail_step = i + 1;
    }
    double min = cr->s->ceil.min_rate;
    r->below_min = q->pass == 0 || (min > 0 && q->pass < min);
}

bool ceiling_run_tick(void *ctx, const report_run *cum, const report_run *win, double elapsed_s,
                      char *reason, size_t reasonlen)
{
    ceiling_run *cr = ctx;
    if (cr->g && gates_live(cr->g) && gates_tick(cr->g, cum, win, elapsed_s, reason, reasonlen))
        return true;
    if (cr->phase == OVER)
        return false;
    const plan_ceiling *ce = &cr->s->ceil;
    uint64_t k = (uint64_t)floor(elapsed_s);
    uint64_t warm = ce->warm_ns / NS_PER_S, step = ce->step_ns / NS_PER_S,
             cool = ce->cool_ns / NS_PER_S;
    for (;;) {
        if (cr->phase == WARMING && k >= cr->grid + warm) {
            for (size_t i = 0; i < cr->p->nscenarios; i++)
                metrics_copy(&cr->snap[i], cum->sc[i].m);
            cr->a_grid = k;
            cr->cpu_a = cpu_now();
            cr->wait_a = (double)schedstat_process_wait_ns() / 1e9;
            cr->phase = MEASURING;
        }
        if (cr->phase == MEASURING && !cr->e_taken && k >= cr->grid + step) {
            /* achieved: responses from A to the end of the arrivals, per second (what the server
             * kept up with; the cool-down's responses still count for the verdict) */
            const metrics_rec *m = cum->sc[cr->si].m, *a = &cr->snap[cr->si];
            cr->e_done = m->c.ok + m->c.failed - (a->c.ok + a->c.failed);
            cr->e_grid = k;
            cr->e_taken = true;
        }
        if (cr->phase != MEASURING || k < cr->grid + step + cool)
            return false;
        /* A server that fell behind is still answering: the step's slow requests belong to it,
         * and the next step must not start on its backlog. Wait for them (at most another
         * step_duration), then judge. */
        const metrics_rec *now = cum->sc[cr->si].m;
        if (now->g.vus_active + now->g.queued > 0 && k < cr->grid + 2 * step + cool)
            return false;
        uint64_t end = cr->grid + step;
        double span = end > cr->a_grid ? (double)(end - cr->a_grid) : 0;
        if (cr->a_grid == cr->grid && cr->res.nsteps > 0)
            span -= (double)LEAD_NS / 1e9; /* no arrivals in the lead of a step */
        window_view(cr, cum, span);
        ceiling_step *st = &cr->res.steps[cr->res.nsteps];
        st->rate = cr->res.search.rate;
        st->start_s = (double)cr->grid + (cr->res.nsteps ? (double)LEAD_NS / 1e9 : 0);
        double waited = (double)schedstat_process_wait_ns() / 1e9 - cr->wait_a;
        st->verdict = judge(cr, st, span, cpu_now() - cr->cpu_a, waited);
        double espan = (double)(cr->e_grid - cr->a_grid) -
                       (span < (double)(end - cr->a_grid) ? (double)LEAD_NS / 1e9 : 0);
        st->achieved = espan > 0 ? (double)cr->e_done / espan : st->achieved;
        cr->res.nsteps++;
        if (st->verdict == CEIL_GENERATOR)
            generator_advice(cr, st);
        double next = ceiling_next(&cr->res.search, st->verdict);
        if (st->verdict == CEIL_PASS && cr->res.search.pass == st->rate &&
            metrics_copy(&cr->best, &cr->view[cr->si]) == 0) {
            cr->res.pass_rec = &cr->best;
            cr->res.pass_span_s = span;
        }
        say_step(cr, st, cr->res.nsteps);
        if (next <= 0 || cr->res.nsteps >= ce->max_steps) {
            cr->phase = OVER;
            conclude(cr);
            ceiling_step_ctl v = {.step = cr->res.nsteps, .done = true};
            ceiling_ctl_set(cr->s->ctl, &v);
            return false;
        }
        publish(cr, k, next, false);
        /* with no warm-up the new window opens now: loop once more for it */
    }
}

void ceiling_apply(const ceiling_run *cr, verdict *v)
{
    if (!cr || !v || !v->thr)
        return;
    ceiling_run *c = (ceiling_run *)cr;
    if (c->phase != OVER)
        conclude(c); /* stopped before the search ended: what it found so far */
    const ceiling_result *r = &cr->res;
    unsigned at = r->pass_step ? r->pass_step : r->nsteps ? 1 : 0;
    threshold_result *thr = (threshold_result *)v->thr;
    for (size_t i = 0; i < v->nthr && at; i++) {
        const threshold *t = &cr->p->thresholds[i];
        const ceiling_step *st = &r->steps[at - 1];
        if (!judges(cr, t) || !st->thr_state[i])
            continue;
        threshold_result *o = &thr[i];
        o->ok = st->thr_state[i] == 1;
        o->empty = st->thr_samples[i] == 0 && threshold_metric_kind(t->metric) != TK_COUNTER;
        o->observed = st->thr_value[i];
        o->samples = st->thr_samples[i];
        if (o->empty)
            snprintf(o->observed_text, sizeof o->observed_text, "no samples");
        else
            threshold_format(t, st->thr_value[i], o->observed_text, sizeof o->observed_text);
        size_t n = strlen(o->observed_text);
        snprintf(o->observed_text + n, sizeof o->observed_text - n, " (step %u, %.0f/s)", at,
                 st->rate);
    }
    v->thresholds_ok = true;
    for (size_t i = 0; i < v->nthr; i++)
        v->thresholds_ok &= thr[i].ok;
    if (v->off && cr->si < v->noff) {
        /* judged per step: a generator-limited step is reported as the search's limit */
        offered_result *o = (offered_result *)&v->off[cr->si];
        o->state = OFFERED_NA; /* the whole run's figures mix every step's */
        o->reason[0] = '\0';
        o->generator_limited = r->by == CEIL_BY_GENERATOR;
        snprintf(o->advice, sizeof o->advice, "%s", r->by == CEIL_BY_GENERATOR ? r->advice : "");
        v->offered_ok = true;
        for (size_t i = 0; i < v->noff; i++)
            v->offered_ok &= v->off[i].state != OFFERED_FAIL;
    }
    v->ceiling_failed = r->nsteps > 0 && r->below_min;
}
