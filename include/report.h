/* report: the end-of-run outputs. One file per format (src/report_text.c, src/report_json.c,
 * src/report_junit.c, src/report_k6.c, src/report_md.c); they read the merged results and the
 * verdict and write nothing else. */
#ifndef BLAST_REPORT_H
#define BLAST_REPORT_H

#include <stdbool.h>
#include <stdint.h>
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
    double cpu_wait_s; /* the workers' time ready to run but waiting for a CPU (schedstat) */
    bool interrupted;  /* stopped by a signal */
    bool started;      /* false: stopped before the start, nothing was sent */
    bool aborted;      /* stopped by the run's tick function (run_set_tick), e.g. a threshold */
    char abort_reason[256]; /* what the tick function said ("" unless aborted) */
    const report_scenario *sc;
    size_t nsc;
    const verdict *verdict; /* the gates' outcome (NULL: not judged, e.g. a live snapshot) */
    const struct ceiling_result *ceiling; /* executor = ceiling: the search (NULL: none) */
} report_run;

/* The achieved rate of a scenario: completed requests (ok + failed) per second of its window. */
double report_achieved_rate(const report_scenario *r);
/* The rate asked for: an arrival-rate scenario's (a ramp's: its integral over its length, the
 * mean), -1 for the closed-model executors. */
double report_target_rate(const report_scenario *r);

/* A time in µs as people read it: "840us", "12.40ms", "1.250s" (spaced: "840 µs", "12.40 ms",
 * "1.250 s"). */
void report_fmt_us(char *buf, size_t n, uint64_t us, bool spaced);

/* Writes the human summary. */
void report_text(FILE *f, const report_run *run);

/* Writes s as a JSON string, redacted first (every string of blast's JSON outputs). */
void report_json_str(FILE *f, const char *s);

/* Writes the JSON document (schema in README.md, "JSON output"). Returns 0 or -EIO. */
int report_json(FILE *f, const report_run *run);

/* Judges the finished run: every threshold of its plan, the offered-load check of each
 * scenario, blast's own CPU and RSS (src/verdict.c). Returns 0 or -ENOMEM; verdict_free frees
 * what it made either way. */
int verdict_build(verdict *v, const report_run *run);
void verdict_free(verdict *v);
/* "n/a", "ok", "warn", "fail". */
const char *verdict_offered_name(offered_state s);

/* Writes a JUnit XML document: one test case per threshold (suite "thresholds") and one per
 * scenario the offered-load check applies to (suite "offered_load"); a failed one carries a
 * <failure>. Valid UTF-8 XML whatever bytes the names hold. Returns 0 or -EIO. */
int report_junit(FILE *f, const report_run *run);

/* Writes the JSON document k6's handleSummary(data) receives (metrics with their thresholds,
 * root_group with the checks, options, state), for CI steps written for k6-summary.json.
 * Returns 0, -ENOMEM (a merged histogram could not be made) or -EIO. */
int report_k6(FILE *f, const report_run *run);

/* Writes a short Markdown verdict (for $GITHUB_STEP_SUMMARY): a heading with pass / fail, a
 * table of the scenarios and one of the thresholds. Returns 0 or -EIO. */
int report_md(FILE *f, const report_run *run);

/* Shared by the writers that quote the file's text (src/report_esc.c). */
#define REPORT_BAD_CHAR 0xfffdu /* what a byte that is not well-formed UTF-8 becomes */
/* Decodes the character at s (not at its NUL): stores its code point in *cp, or
 * REPORT_BAD_CHAR for a byte that does not start a well-formed UTF-8 sequence (overlong, a
 * surrogate, past U+10FFFF, cut short), and returns the bytes it took (1..4). */
size_t report_utf8_next(const char *s, uint32_t *cp);
/* Writes cp (at most U+10FFFF, not a surrogate) as UTF-8; returns the bytes written. */
size_t report_utf8_put(FILE *f, uint32_t cp);

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
