/* live: the running totals of a run while it is under way, on the main thread.
 *
 * Workers copy their recorders into snapshot areas once a second (worker_live_init); live_update
 * merges every worker's last copy into one cumulative recorder per scenario (the run so far),
 * and keeps what trailing windows need: a ring of the last cumulative recorders, one a tick, so
 * that the last `window_s` seconds are cum(now) - cum(now - window_s) and the last second is
 * cum(now) - cum(now - 1 s). Nothing is allocated after live_new. The views it gives are
 * report_run structs over its own recorders, valid until the next live_update. */
#ifndef BLAST_LIVE_H
#define BLAST_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"
#include "report.h"
#include "worker.h"

typedef struct live live;

/* The longest trailing window live keeps (seconds). */
#define LIVE_MAX_WINDOW_S 300

/* Prepares the totals of a run of p (which must outlive it) over nw workers: window_s (0: none,
 * at most LIVE_MAX_WINDOW_S) the trailing window to keep; second: keep the last second too (the
 * progress display's rate and p99). Returns 0 and *out (live_free), -EINVAL (window too long) or
 * -ENOMEM. */
int live_new(live **out, const plan *p, unsigned nw, unsigned window_s, bool second);

/* One tick: rebuilds the totals from the workers' snapshots (ws[0 .. nw)), taken at or before
 * now; t0 is the run's start (clock_ns). Call it about once a second (the ring holds one entry a
 * call); a late call only makes the window a little longer, as its duration_s says. */
void live_update(live *l, worker *const *ws, uint64_t t0, uint64_t now);

/* The run so far, the trailing window (NULL when none was asked, or before the first update),
 * the last second (NULL unless asked for). duration_s is the span each covers; each scenario's
 * window_s the part of that span inside its own window (start_time .. + duration), so that
 * report_achieved_rate gives its rate over the span. */
const report_run *live_cum(const live *l);
const report_run *live_window(const live *l);
const report_run *live_second(const live *l);

/* Frees l; NULL is accepted. */
void live_free(live *l);

#endif
