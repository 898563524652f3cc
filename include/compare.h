/* compare: `blast compare BASE.json... NEW.json`: runs written by `blast --out json=FILE` side by
 * side, per scenario and per step, with a verdict for each row and an exit code a CI job gates
 * on. Not hot path: it allocates freely and frees all of it.
 *
 * The metrics judged are the corrected latency's p50, p95, p99 and max, the failed rate (failed
 * requests / scheduled, in percent) and the achieved rate. With several baselines the new run is
 * judged against the worst of them (the highest latency and failed rate, the lowest rate), so
 * the baselines' own spread is never a regression. The rate is judged for scenarios only (a
 * step's share of its scenario's rate, a pick's, varies from run to run); steps show theirs. */
#ifndef BLAST_COMPARE_H
#define BLAST_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "jdoc.h"

enum {
    COMPARE_EXIT_OK = 0,
    COMPARE_EXIT_USAGE = 2,
    COMPARE_EXIT_REGRESSED = 99, /* the code blast uses for failed thresholds */
};

typedef enum compare_metric {
    CMP_P50,
    CMP_P95,
    CMP_P99,
    CMP_MAX,
    CMP_FAILED,
    CMP_RATE,
    CMP_CEILING, /* executor = ceiling: the ceiling found (scenarios.NAME.ceiling.rate) */
    CMP_NMETRICS,
} compare_metric;

/* The --max-regress key of each metric: "p50", "p95", "p99", "max", "failed", "rate",
 * "ceiling". */
extern const char *const compare_metric_names[CMP_NMETRICS];

/* How far a metric may get worse. Latency (p50..max): by more than rel percent AND by more than
 * abs_ms milliseconds, both; failed: by more than abs (percentage points; rel unused); rate: a
 * drop below rel percent (rel <= 0; abs unused). A metric with on == false is shown, not judged. */
typedef struct compare_limit {
    bool on;
    double rel;     /* percent */
    double abs;     /* latency: ms; failed: percentage points */
    bool abs_given; /* latency: the floor was written with the key (p99=10%+2ms) */
} compare_limit;

typedef struct compare_limits {
    compare_limit m[CMP_NMETRICS];
} compare_limits;

/* The defaults: p95 and p99 +10% and +1 ms; p50 and max not judged; failed +0.1pp; rate -5%;
 * ceiling -10% (judged only where both runs searched one). */
void compare_limits_default(compare_limits *l);

/* Lays a --max-regress list over l: comma-separated KEY=VALUE, where KEY is one of
 * compare_metric_names and VALUE is
 *   p50, p95, p99, max: PCT% or PCT%+DUR (a floor: 500us, 1ms, 0), or off;
 *   failed: Npp (percentage points), or off;
 *   rate, ceiling: -PCT% (the drop allowed; 0% allows none), or off.
 * Returns 0, or -EINVAL with a one-line message in err (an unknown key lists the allowed ones);
 * l may then be partly changed. */
int compare_limits_parse(compare_limits *l, const char *spec, char *err, size_t errlen);

/* --min-abs DUR: the floor of every latency metric whose key did not give its own. Returns 0, or
 * -EINVAL with a message. */
int compare_limits_floor(compare_limits *l, const char *dur, char *err, size_t errlen);

/* One row's figures from one run: v[m] is valid when has[m]. Latency in ms (has: count > 0),
 * failed in percent (has: scheduled > 0), rate in requests per second. */
typedef struct compare_fig {
    double v[CMP_NMETRICS];
    bool has[CMP_NMETRICS];
} compare_fig;

/* A scenario's row (step NULL) or a step's, in one run. Names point into the run's document;
 * occ tells apart steps of the same name in one scenario (the JSON may repeat a name). */
typedef struct compare_item {
    const char *scenario, *step;
    unsigned occ;
    compare_fig fig;
} compare_item;

/* One loaded run. */
typedef struct compare_run {
    jdoc *doc;
    compare_item *items;
    size_t nitems;
    bool interrupted, started;
} compare_run;

/* Reads and checks a blast JSON file. Returns 0 with *out (compare_run_free); or -EINVAL, -ENOENT,
 * ... with one line in err that names what is wrong but not the path ("not JSON at byte 17 (line
 * 2, column 5): expected ':' after a member name", "not a blast JSON: no \"scenarios\" object",
 * "scenario \"api\": missing field latency_ms.p99 (a number)"). */
int compare_load(const char *path, compare_run **out, char *err, size_t errlen);

void compare_run_free(compare_run *r);

typedef enum compare_verdict {
    CMP_OK,
    CMP_REGRESSED,
    CMP_IMPROVED,
    CMP_NEW,     /* only in the new run: not a regression */
    CMP_MISSING, /* only in the baselines: not a regression */
} compare_verdict;

extern const char *const compare_verdict_names[]; /* "ok", "regressed", ... */

/* A row of the comparison. lo and hi are the lowest and highest value over the baselines that
 * have the row (nbase of them); worst is hi for latency and failed, lo for rate. */
typedef struct compare_row {
    const char *scenario, *step;
    unsigned occ;
    size_t nbase;
    compare_fig lo, hi;
    bool in_new;
    compare_fig nw;
    compare_verdict verdict;
    unsigned regressed, improved; /* bit (1u << metric) per metric beyond its limit */
} compare_row;

typedef struct compare_report {
    compare_row *rows; /* scenarios in order of appearance (the new run's first), each followed
                        * by its steps */
    size_t nrows;
    size_t nregressed; /* rows */
} compare_report;

/* Judges nw against the nbase (>= 1) baselines. The report points into the runs, which must
 * outlive it. Returns 0 or -ENOMEM. */
int compare_judge(const compare_run *const *base, size_t nbase, const compare_run *nw,
                  const compare_limits *l, compare_report *rep);

void compare_report_free(compare_report *rep);

/* The plain-text table and the list of regressions (no colour, for CI logs). */
void compare_print(FILE *f, const compare_report *rep, const compare_limits *l,
                   const char *const *base_paths, size_t nbase, const char *new_path);

/* The whole command: argv[0] is "compare". Output goes to out, errors (one line each) to err.
 * Returns the exit code: 0, 2 (usage, unreadable or invalid file) or 99 (a regression). */
int compare_cli(int argc, char **argv, FILE *out, FILE *err);

/* compare_cli on stdout and stderr (what main dispatches to). */
int compare_main(int argc, char **argv);

#endif
