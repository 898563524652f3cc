/* gates: the thresholds that are judged during the run (abort_on_fail, `over` windows), as the
 * run's tick function (run_set_tick), and what they saw folded into the final verdict. */
#ifndef BLAST_GATES_H
#define BLAST_GATES_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"
#include "threshold.h"

typedef struct gates gates;

/* The live gates of p's thresholds (every `over` window of p has one length: config checks it).
 * Returns 0 and *out (gates_free), or -ENOMEM. */
int gates_new(gates **out, const plan *p);

/* Whether any threshold is judged during the run (then the run needs a tick). */
bool gates_live(const gates *g);

/* The trailing window (seconds) the tick needs; 0: none. */
unsigned gates_window_s(const gates *g);

/* The tick (a run_tick_fn; ctx is the gates): judges every live threshold; true (with the
 * reason) when an abort_on_fail threshold failed. */
bool gates_tick(void *ctx, const report_run *cum, const report_run *win, double elapsed_s,
                char *reason, size_t reasonlen);

/* Folds what the ticks saw into v (made by verdict_build for the same plan): an aborting
 * threshold failed; a windowed one failed with its worst window when one failed, and passed
 * when it held over every full window. v->thresholds_ok is recomputed. */
void gates_apply(const gates *g, verdict *v);

void gates_free(gates *g);

#endif
