/* worker: one thread, one io_uring, its own connections and recorders.
 *
 * A worker runs its share (plan_share_of) of every scenario: it starts requests when they are due,
 * queues them when no connection is idle, opens connections on demand up to the scenario's limit,
 * enforces timeouts and records every outcome. It shares nothing with other workers while it runs;
 * the main thread reads its metrics only after worker_join(). */
#ifndef BLAST_WORKER_H
#define BLAST_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "plan.h"

/* What the main thread and all workers share: set up before the threads start. */
typedef struct worker_shared {
    const plan *plan;
    uint32_t nworkers;
    pthread_barrier_t ready;   /* workers (and main) meet here once connections are pre-opened */
    pthread_barrier_t go;      /* ... and here once main has set t0 */
    _Atomic uint64_t t0;       /* clock_ns() at which every schedule starts */
    _Atomic int setup_failed;  /* a worker could not set up: nobody starts */
    _Atomic int stop;          /* 1: stop starting requests (Ctrl-C); 2: stop now */
    _Atomic uint32_t finished; /* workers that have ended their run */
} worker_shared;

typedef struct worker worker;

/* Prepares worker `index` (its thread does not run yet). Returns 0 and *out (free with
 * worker_free), or -ENOMEM (or eventfd's -errno). */
int worker_create(worker **out, worker_shared *sh, uint32_t index);

/* Starts the worker's thread. Returns 0 or -errno. */
int worker_start(worker *w);

/* Waits for the thread. Returns 0 when it ran, or the negative errno-style code of its setup
 * failure (its message: worker_error()). */
int worker_join(worker *w);

/* Text of the setup failure, or "". */
const char *worker_error(const worker *w);

/* The worker's recorder for scenario i (read it after worker_join, or its live block at any
 * time). */
metrics_rec *worker_metrics(worker *w, size_t i);

/* Nanoseconds after t0 at which the worker stopped starting scenario i's requests (its duration,
 * or earlier when stopped). Valid after worker_join. */
uint64_t worker_window_ns(const worker *w, size_t i);

/* How long the worker's thread was ready to run but waited for a CPU held by another thread or
 * program (the kernel's schedstat run delay, read when the loop ends; 0 where the kernel does
 * not keep it). Valid after worker_join. */
uint64_t worker_run_delay_ns(const worker *w);

/* Live snapshots, for a run that shows progress or evaluates thresholds while it runs. Once
 * this is called (main thread, before worker_start), the worker copies its recorders into a
 * snapshot area of its own once a second on the t0 + k s grid and once more when it ends, and
 * publishes it by swapping it into a triple buffer: neither the worker nor the main thread
 * ever waits for the other, and there is no lock. The areas are allocated here, never in the
 * loop. Without them the loop does no copy.
 * Returns 0 or -ENOMEM. */
int worker_live_init(worker *w);

/* Main thread only, during the run: adds the worker's latest snapshot of every scenario i into
 * dst[i] (metrics_merge; the gauges too). Returns when the snapshot was taken (clock_ns(); 0: none
 * yet, nothing added). */
uint64_t worker_live_merge(worker *w, metrics_rec *dst);

/* Wakes the worker from any wait so that it sees worker_shared.stop (pre-connect included).
 * Async-signal-safe: a signal handler may call it. */
void worker_wake(const worker *w);

/* Nanoseconds after t0 at which the worker ended its run (at least every one of its windows);
 * 0 when it never ran. Valid after worker_join. */
uint64_t worker_finished_ns(const worker *w);

/* Frees a worker (joined or never started); NULL is accepted. */
void worker_free(worker *w);

#endif
