/* report: the end-of-run outputs. One file per format (src/report_text.c, src/report_json.c); they
 * read the merged results and write nothing else. */
#ifndef BLAST_REPORT_H
#define BLAST_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "metrics.h"
#include "plan.h"
#include "verdict.h"

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
    const report_scenario *sc;
    size_t nsc;
    const verdict *verdict; /* the gates' outcome (NULL: not judged, e.g. a live snapshot) */
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

/* Judges the finished run: every threshold of its plan, the offered-load check of each
 * scenario, blast's own CPU and RSS (src/verdict.c). Returns 0 or -ENOMEM; verdict_free frees
 * what it made either way. */
int verdict_build(verdict *v, const report_run *run);
void verdict_free(verdict *v);
/* "n/a", "ok", "warn", "fail". */
const char *verdict_offered_name(offered_state s);

/* The --out kinds (src/outputs.c): each writes one document of the results to f and returns 0
 * or a negative errno-style code. */
typedef int (*report_writer)(FILE *f, const report_run *run);
typedef struct report_kind {
    const char *name; /* as given to --out NAME=FILE and `out = NAME=FILE` */
    report_writer write;
} report_kind;
/* The kind called name, or NULL. */
const report_kind *report_kind_find(const char *name);
/* "json, junit, ..." (every kind, for messages). */
const char *report_kind_names(void);

#endif
