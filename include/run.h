/* run: one load run, from a prepared plan to merged results.
 *
 * run_create sets up the workers; run_start starts their threads, waits until every connection
 * to open before the start is open, and starts the schedules together (unless a stop came
 * first); run_wait waits for the end, drawing the progress line; run_report gives the merged
 * results. A stop (run_stop, from a signal handler) wakes every worker wherever it waits. One run
 * at a time per process. */
#ifndef BLAST_RUN_H
#define BLAST_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"
#include "report.h"

typedef struct run run;

/* Prepares a run of p (which must outlive it). Returns 0 and *out (run_free), or a negative
 * errno-style code with a one-line message in err. */
int run_create(run **out, const plan *p, char *err, size_t errlen);

/* Starts the workers and, once they are ready, the clock. Returns 0 when the run is under way
 * (or was stopped before the start: then nothing is sent and the report says so), or a
 * negative errno-style code with a message in err when a worker could not set up (io_uring,
 * open-file limit, TLS settings). */
int run_start(run *r, char *err, size_t errlen);

/* Waits until every worker has ended; draws a progress line on stderr once a second when
 * progress is true. */
void run_wait(run *r, bool progress);

/* The merged results (valid until run_free). */
const report_run *run_report(run *r);

/* Asks the active run to stop: the first call stops starting requests and lets those in flight
 * finish (graceful_stop), a second stops at once. Returns how many stops were asked so far.
 * Async-signal-safe. Without an active run it only counts. */
int run_stop(void);

/* How many stops were asked so far (any thread). */
int run_stops(void);

/* Frees the run (threads joined, or never started); NULL is accepted. */
void run_free(run *r);

#endif
