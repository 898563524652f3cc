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
#include "progress.h"
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

/* Called on the main thread once a second while the run is under way (the first a second after
 * t0): cum is the run so far, win the last window_s seconds (NULL when run_set_tick was given
 * window_s 0); both are views valid only during the call (their duration_s is the span they
 * cover, each scenario's window_s the part of it inside its window), built from snapshots the
 * workers take on the same one-second grid. elapsed_s: seconds since t0. Return true to stop the
 * run as a first Ctrl-C would (no new requests; those in flight get graceful_stop), after
 * writing why into reason (reasonlen bytes, NUL-terminated): the report then says aborted, with
 * the reason, not interrupted. Once it has returned true it is not called again. */
typedef bool (*run_tick_fn)(void *ctx, const report_run *cum, const report_run *win,
                            double elapsed_s, char *reason, size_t reasonlen);

/* Registers fn (with ctx) before run_start; window_s (0..LIVE_MAX_WINDOW_S = 300) is the
 * trailing window fn wants besides the totals. Only a run with a tick function or progress
 * display has its workers take snapshots. Returns 0, or -EINVAL (window too long, or the run
 * has started). */
int run_set_tick(run *r, run_tick_fn fn, void *ctx, unsigned window_s);

/* Called on the main thread once a second while the run is under way, and once more when it has
 * ended (final; sec then covers what came after the last tick): sec is the last second, cum the
 * run so far, views valid only during the call; elapsed_s: seconds since t0 at the end of sec. */
typedef void (*run_series_fn)(void *ctx, const report_run *sec, const report_run *cum,
                              double elapsed_s, bool final);

/* Registers the time-series consumer (before run_start); it makes the workers take snapshots as
 * a tick function does. Returns 0, or -EINVAL once the run has started. */
int run_set_series(run *r, run_series_fn fn, void *ctx);

/* The progress display on stderr (see progress.h), before run_start: PROGRESS_TTY redraws one
 * line per scenario every second, PROGRESS_PLAIN prints them every every_s seconds (<= 0: every
 * PROGRESS_PLAIN_EVERY_S), PROGRESS_OFF (the default) draws nothing. */
void run_set_progress(run *r, progress_mode mode, double every_s);

/* Before run_start: the schedules start (t0) at this wall-clock time (Unix ns), once every
 * connection to open before the start is open; a time already past starts as soon as they are.
 * Connections opened before the start stay open meanwhile; a stop ends the wait. */
void run_set_start_at(run *r, int64_t unix_ns);

/* Waits until every worker has ended, calling the tick function and drawing progress as set. */
void run_wait(run *r);

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
