/* report: the end-of-run outputs. One file per format (src/report_text.c, src/report_json.c); they
 * read the merged results and write nothing else. */
#ifndef BLAST_REPORT_H
#define BLAST_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "metrics.h"
#include "plan.h"

typedef struct report_scenario {
    const plan_scenario *s;
    const metrics_rec *m; /* merged over workers */
    double window_s;      /* how long requests were started (its duration, or less if stopped) */
} report_scenario;

typedef struct report_run {
    const plan *plan;
    unsigned workers;
    double duration_s; /* from t0 until the last worker ended: at least every window_s */
    bool interrupted;  /* stopped by a signal */
    bool started;      /* false: stopped before the start, nothing was sent */
    bool aborted;      /* stopped by the run's tick function (run_set_tick), e.g. a threshold */
    char abort_reason[256]; /* what the tick function said ("" unless aborted) */
    const report_scenario *sc;
    size_t nsc;
} report_run;

/* The achieved rate of a scenario: completed requests (ok + failed) per second of its window. */
double report_achieved_rate(const report_scenario *r);
/* The rate asked for: an arrival-rate scenario's (a ramp's: its integral over its length, the
 * mean), -1 for the closed-model executors. */
double report_target_rate(const report_scenario *r);

/* Writes the human summary. */
void report_text(FILE *f, const report_run *run);

/* Writes the JSON document (schema in README.md, "JSON output"). Returns 0 or -EIO. */
int report_json(FILE *f, const report_run *run);

#endif
