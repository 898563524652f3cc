/* run: the lifecycle of one load run (see include/run.h).
 *
 * Threads: the caller's (main) thread creates the workers, meets them at two barriers (ready:
 * connections opened; go: t0 set), then sleeps and draws progress until every worker has ended.
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

#include "clock.h"
#include "redact.h"
#include "worker.h"

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

int run_start(run *r, char *err, size_t errlen)
{
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
    r->t0 = clock_ns() + NS_PER_MS;
    r->report.started = !atomic_load(&shared.stop) && !atomic_load(&shared.setup_failed);
    atomic_store(&shared.t0, r->t0);
    pthread_barrier_wait(&shared.go);
    if (atomic_load(&shared.setup_failed)) {
        run_wait(r, false);
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

static void progress(run *r, bool final)
{
    uint64_t now = clock_ns();
    double el = now > r->t0 ? (double)(now - r->t0) / 1e9 : 0;
    fprintf(stderr, "\r[%6.1fs]", el);
    for (size_t i = 0; i < r->plan->nscenarios; i++) {
        metrics_counts tot = {0}, c;
        for (unsigned w = 0; w < r->nw; w++) {
            metrics_read_live(worker_metrics(r->ws[w], i), &c);
            tot.ok += c.ok;
            tot.failed += c.failed;
            tot.dropped += c.dropped;
        }
        fprintf(stderr, " %s: %llu ok %llu failed %llu dropped",
                redact_str(r->plan->scenarios[i].name), (unsigned long long)tot.ok,
                (unsigned long long)tot.failed, (unsigned long long)tot.dropped);
    }
    fprintf(stderr, "\033[K%s", final ? "\n" : "");
}

void run_wait(run *r, bool show)
{
    uint64_t next = r->t0 + NS_PER_S;
    show = show && r->report.started;
    while (atomic_load(&shared.finished) < r->started) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (show && clock_ns() >= next) {
            progress(r, false);
            next += NS_PER_S;
        }
    }
    if (show)
        progress(r, true);
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
    r->report.interrupted = atomic_load(&shared.stop) > 0;
    /* Every worker stays until all of its windows have closed, so this is at least every
     * scenario's duration_s. */
    r->report.duration_s = (double)finished / 1e9;
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
    free(r->ws);
    free(r->rs);
    free(r);
}
