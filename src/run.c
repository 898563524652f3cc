/* run: the lifecycle of one load run (see include/run.h).
 *
 * Threads: the caller's (main) thread creates the workers, meets them at two barriers (ready:
 * connections opened; go: t0 set), then sleeps until every worker has ended. With a tick
 * function or a progress display, it wakes once a second (just after the workers' snapshot
 * grid point) to rebuild the live totals (live.c), call the tick and draw; a tick that asks to
 * stop does what a first Ctrl-C does, but the report calls it aborted, not interrupted.
 * A signal may be handled on any thread (run_stop only touches atomics and eventfds); valgrind
 * in particular may starve the main thread while a worker waits, so no thread blocks signals.
 * run_stop wakes each worker through its eventfd, wherever it waits. */
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include "clock.h"
#include "live.h"
#include "redact.h"
#include "worker.h"

/* The main thread reads the workers' snapshots this long after each grid point at which they
 * take them (t0 + k s), so that every worker has had time to write its own. */
#define TICK_LAG_NS (50 * NS_PER_MS)

struct run {
    const plan *plan;
    unsigned nw;
    worker **ws;
    unsigned started; /* threads started */
    bool barriers;
    bool abandoned; /* a thread could not be started: the others wait at a barrier forever */
    report_scenario *rs;
    report_run report;
    uint64_t t0;
    int64_t start_at; /* run_set_start_at: Unix ns of t0 (0: as soon as the workers are ready) */
    /* while it runs (run_set_tick, run_set_progress) */
    run_tick_fn tick;
    void *tick_ctx;
    run_series_fn series;
    void *series_ctx;
    unsigned window_s;
    progress_mode progress;
    double plain_every_s;
    live *live; /* NULL: neither asked for, no snapshots taken */
    _Atomic bool aborted;
    char abort_reason[256];
};

static worker_shared shared;
static _Atomic int stops;
/* The run a signal handler may wake (set while its workers exist). */
static run *_Atomic active;

int run_stop(void)
{
    int n = atomic_fetch_add(&stops, 1) + 1;
    atomic_fetch_add(&shared.stop, 1);
    run *r = atomic_load(&active);
    for (unsigned i = 0; r && i < r->nw; i++)
        if (r->ws[i])
            worker_wake(r->ws[i]);
    return n;
}

int run_stops(void)
{
    return atomic_load(&stops);
}

int run_create(run **out, const plan *p, char *err, size_t errlen)
{
    *out = NULL;
    run *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->plan = p;
    r->nw = p->workers;
    r->ws = calloc(r->nw, sizeof(*r->ws));
    r->rs = calloc(p->nscenarios ? p->nscenarios : 1, sizeof(*r->rs));
    if (!r->ws || !r->rs) {
        run_free(r);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    /* stop keeps counting across create: a Ctrl-C during setup must not be forgotten. */
    shared.plan = p;
    shared.nworkers = r->nw;
    atomic_store(&shared.setup_failed, 0);
    atomic_store(&shared.finished, 0);
    atomic_store(&shared.stop, atomic_load(&stops));
    atomic_store(&active, r);
    for (unsigned i = 0; i < r->nw; i++) {
        if (run_stops()) {
            run_free(r);
            snprintf(err, errlen, "interrupted during setup; nothing was sent");
            return -EINTR;
        }
        int rc = worker_create(&r->ws[i], &shared, i);
        if (rc < 0) {
            run_free(r);
            snprintf(err, errlen, "setting up worker %u: %s", i, strerror(-rc));
            return rc;
        }
    }
    *out = r;
    return 0;
}

int run_set_tick(run *r, run_tick_fn fn, void *ctx, unsigned window_s)
{
    if (window_s > LIVE_MAX_WINDOW_S || r->started)
        return -EINVAL;
    r->tick = fn;
    r->tick_ctx = ctx;
    r->window_s = fn ? window_s : 0;
    return 0;
}

int run_set_series(run *r, run_series_fn fn, void *ctx)
{
    if (r->started)
        return -EINVAL;
    r->series = fn;
    r->series_ctx = ctx;
    return 0;
}

void run_set_progress(run *r, progress_mode mode, double every_s)
{
    r->progress = mode;
    r->plain_every_s = every_s > 0 ? every_s : PROGRESS_PLAIN_EVERY_S;
}

/* Snapshots for the tick function and the progress display, made before any thread runs. */
static int live_setup(run *r)
{
    if (!r->tick && !r->series && r->progress == PROGRESS_OFF)
        return 0;
    int rc = live_new(&r->live, r->plan, r->nw, r->window_s,
                      r->progress != PROGRESS_OFF || r->series);
    for (unsigned i = 0; i < r->nw && rc == 0; i++)
        rc = worker_live_init(r->ws[i]);
    return rc;
}

void run_set_start_at(run *r, int64_t unix_ns)
{
    r->start_at = unix_ns;
}

int run_start(run *r, char *err, size_t errlen)
{
    if (live_setup(r) < 0) {
        snprintf(err, errlen, "out of memory for the live totals");
        return -ENOMEM;
    }
    pthread_barrier_init(&shared.ready, NULL, r->nw + 1);
    pthread_barrier_init(&shared.go, NULL, r->nw + 1);
    r->barriers = true;
    int rc = 0;
    for (unsigned i = 0; i < r->nw && rc == 0; i++)
        if ((rc = worker_start(r->ws[i])) == 0)
            r->started++;
    if (rc < 0) {
        /* The threads already started wait at the ready barrier for one that never comes; they
         * end with the process, which the caller exits. */
        r->abandoned = true;
        snprintf(err, errlen, "cannot start worker thread: %s", strerror(-rc));
        return rc;
    }
    pthread_barrier_wait(&shared.ready);
    /* Every worker has its connections; the schedules start together, a little in the future
     * so that no worker starts late. A stop that came first leaves every window empty. */
    /* A common wall-clock start (load boxes): the workers wait at the go barrier meanwhile, and
     * the wait is cut in pieces so that a stop ends it. t0 is 1 ms after the last piece. */
    while (r->start_at && !atomic_load(&shared.stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait = r->start_at - (int64_t)NS_PER_MS -
                       ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
        if (wait <= 0)
            break;
        if (wait > 100 * (int64_t)NS_PER_MS)
            wait = 100 * (int64_t)NS_PER_MS;
        struct timespec d = {0, (long)wait};
        nanosleep(&d, NULL);
    }
    r->t0 = clock_ns() + NS_PER_MS;
    r->report.started = !atomic_load(&shared.stop) && !atomic_load(&shared.setup_failed);
    atomic_store(&shared.t0, r->t0);
    pthread_barrier_wait(&shared.go);
    if (atomic_load(&shared.setup_failed)) {
        r->progress = PROGRESS_OFF;
        r->tick = NULL;
        run_wait(r);
        for (unsigned i = 0; i < r->nw; i++) {
            int e = worker_join(r->ws[i]);
            if (e < 0) {
                snprintf(err, errlen, "%s", worker_error(r->ws[i]));
                return e;
            }
        }
        snprintf(err, errlen, "a worker could not set up");
        return -EIO;
    }
    return 0;
}

/* The tick asked to stop: as a first Ctrl-C, unless a stop was asked already. */
static void stop_by_tick(run *r)
{
    int none = 0;
    atomic_compare_exchange_strong(&shared.stop, &none, 1);
    for (unsigned i = 0; i < r->nw; i++)
        worker_wake(r->ws[i]);
}

static int term_cols(void)
{
    struct winsize ws;
    return ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

/* One second of the live machinery: the totals, the tick function, the display. */
static void live_tick(run *r, uint64_t now, bool final, size_t *drawn, uint64_t *next_plain)
{
    live_update(r->live, r->ws, r->t0, now);
    double el = (double)(now - r->t0) / 1e9;
    if (r->tick && !final && !atomic_load(&r->aborted)) {
        char why[sizeof r->abort_reason] = "";
        if (r->tick(r->tick_ctx, live_cum(r->live), live_window(r->live), el, why, sizeof why)) {
            snprintf(r->abort_reason, sizeof r->abort_reason, "%s", why[0] ? why : "tick");
            atomic_store(&r->aborted, true);
            stop_by_tick(r);
        }
    }
    if (r->series)
        r->series(r->series_ctx, live_second(r->live), live_cum(r->live), el, final);
    if (r->progress == PROGRESS_TTY) {
        *drawn = progress_draw(stderr, PROGRESS_TTY, live_cum(r->live),
                               final ? NULL : live_second(r->live), el, *drawn, term_cols());
    } else if (r->progress == PROGRESS_PLAIN && !final && now >= *next_plain) {
        progress_draw(stderr, PROGRESS_PLAIN, live_cum(r->live), live_second(r->live), el, 0, 0);
        *next_plain += (uint64_t)(r->plain_every_s * 1e9);
    }
}

void run_wait(run *r)
{
    bool on = r->live && r->report.started;
    uint64_t next = r->t0 + NS_PER_S + TICK_LAG_NS;
    uint64_t next_plain = r->t0 + (uint64_t)(r->plain_every_s * 1e9) + TICK_LAG_NS;
    size_t drawn = 0;
    while (atomic_load(&shared.finished) < r->started) {
        uint64_t now = clock_ns();
        /* Polls for the end every 50 ms, and wakes for the next tick on time. */
        uint64_t d = 50 * NS_PER_MS;
        if (on && next > now && next - now < d)
            d = next - now;
        struct timespec ts = {0, (long)d};
        nanosleep(&ts, NULL);
        now = clock_ns();
        if (on && now >= next) {
            live_tick(r, now, false, &drawn, &next_plain);
            while (next <= now)
                next += NS_PER_S;
        }
    }
    /* the final state stays on the screen; the series gets the last part of a second */
    if (on && (r->progress == PROGRESS_TTY || r->series))
        live_tick(r, clock_ns(), true, &drawn, &next_plain);
}

const report_run *run_report(run *r)
{
    const plan *p = r->plan;
    uint64_t finished = 0;
    for (unsigned w = 0; w < r->nw; w++) {
        worker_join(r->ws[w]);
        if (worker_finished_ns(r->ws[w]) > finished)
            finished = worker_finished_ns(r->ws[w]);
    }
    for (size_t i = 0; i < p->nscenarios; i++) {
        /* Merged into worker 0's recorder: a fresh one would make every page the others use
         * resident a second time. */
        metrics_rec *m = worker_metrics(r->ws[0], i);
        uint64_t window = worker_window_ns(r->ws[0], i);
        for (unsigned w = 1; w < r->nw; w++) {
            metrics_merge(m, worker_metrics(r->ws[w], i));
            if (worker_window_ns(r->ws[w], i) > window)
                window = worker_window_ns(r->ws[w], i);
        }
        metrics_finish(m); /* on failure (no memory) the scenario-wide histograms stay NULL */
        /* a one-step flow's iterations that got a response were recorded as its latency only */
        if (p->scenarios[i].simple)
            hist_merge(m->iteration, m->steps[p->scenarios[i].ops[0].a].latency);
        r->rs[i].s = &p->scenarios[i];
        r->rs[i].m = m;
        r->rs[i].window_s = (double)window / 1e9;
    }
    r->report.plan = p;
    r->report.workers = r->nw;
    r->report.sc = r->rs;
    r->report.nsc = p->nscenarios;
    /* Only signals count as interrupting: a stop by the tick function is an abort. */
    r->report.interrupted = atomic_load(&stops) > 0;
    r->report.aborted = atomic_load(&r->aborted);
    snprintf(r->report.abort_reason, sizeof r->report.abort_reason, "%s",
             r->report.aborted ? r->abort_reason : "");
    /* Every worker stays until all of its windows have closed, so this is at least every
     * scenario's duration_s. */
    r->report.duration_s = (double)finished / 1e9;
    uint64_t wait = 0;
    for (unsigned w = 0; w < r->nw; w++)
        wait += worker_run_delay_ns(r->ws[w]);
    r->report.cpu_wait_s = (double)wait / 1e9;
    return &r->report;
}

void run_free(run *r)
{
    if (!r)
        return;
    atomic_store(&active, NULL);
    if (r->abandoned)
        return; /* threads hold the workers: leave them to the exit */
    for (unsigned i = 0; r->ws && i < r->nw; i++) {
        if (r->ws[i])
            worker_join(r->ws[i]);
        worker_free(r->ws[i]);
    }
    if (r->barriers) {
        pthread_barrier_destroy(&shared.ready);
        pthread_barrier_destroy(&shared.go);
    }
    live_free(r->live);
    free(r->ws);
    free(r->rs);
    free(r);
}
