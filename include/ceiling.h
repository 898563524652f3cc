/* ceiling: the search for the highest rate a target sustains within its thresholds
 * (executor = ceiling).
 *
 * Three parts. The search itself (ceiling_search, pure arithmetic, unit-tested as tables): it
 * climbs by doubling from start_rate (capped at max_rate) until a step fails, then bisects the
 * bracket [highest pass, lowest fail] until (fail - pass) / pass <= precision; a wide-margin
 * failure or a step blast itself could not offer ends it at once. The control block
 * (ceiling_ctl): how the main thread tells the workers the rate of the step under way, read by
 * each worker where it computes its next arrival (wsched.c). The driver (ceiling_run.c): the
 * run's tick that measures each step on its own window and moves the search on. */
#ifndef BLAST_CEILING_H
#define BLAST_CEILING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- the search ---- */

typedef enum {
    CEIL_PASS,      /* every threshold held on the step's window */
    CEIL_FAIL,      /* a threshold failed */
    CEIL_WIDE,      /* failed by a wide margin (most requests failed, timeouts): stop now */
    CEIL_GENERATOR, /* blast could not offer the rate: no verdict on the server */
} ceiling_verdict;

typedef enum {
    CEIL_BY_NONE,      /* still searching (or stopped by the user) */
    CEIL_BY_SERVER,    /* the server's ceiling was bracketed (or start_rate failed) */
    CEIL_BY_GENERATOR, /* blast was the limit: the ceiling is at least `pass` */
    CEIL_BY_MAX_RATE,  /* max_rate passed: the ceiling is at least max_rate */
} ceiling_limit;

typedef struct ceiling_search {
    double start, max, precision;
    double pass;   /* highest passing rate so far; 0: none */
    double fail;   /* lowest failing rate so far; 0: none */
    double rate;   /* the step under way (or the last one, once done) */
    unsigned steps; /* verdicts taken */
    bool done;
    bool early;    /* ended by a wide-margin failure before the bracket was narrow */
    ceiling_limit by;
} ceiling_search;

/* Starts a search over [start, max] (0 < start <= max) to precision (0 < p <= 0.5); the first
 * step's rate is s->rate = start. */
void ceiling_init(ceiling_search *s, double start, double max, double precision);

/* Takes the verdict on the step at s->rate. Returns the next step's rate, or 0 when the search
 * is over: then s->by says why and s->pass is the answer (0 when start_rate failed). */
double ceiling_next(ceiling_search *s, ceiling_verdict v);

/* The most verdicts a search over [start, max] to precision can take: the climb
 * (ceil(log2(max / start)) + 1 steps) plus the bisection (ceil(log2(1 / precision)) + 1). */
unsigned ceiling_max_steps(double start, double max, double precision);

const char *ceiling_verdict_name(ceiling_verdict v); /* "pass", "fail", "fail-wide", "generator" */
const char *ceiling_limit_name(ceiling_limit l);     /* "server", "generator", "max_rate", "none" */

/* ---- the control block ---- */

/* Written by the main thread only, read by every worker: a seqlock (seq odd while it is being
 * written). Times are offsets from the run's t0. */
typedef struct ceiling_ctl {
    _Atomic uint64_t seq;
    _Atomic uint64_t step;     /* 1-based number of the step these fields describe; 0: none yet */
    _Atomic double rate;       /* the step's rate, per second, over the whole scenario */
    _Atomic uint64_t from_ns;  /* its first arrival is due here */
    _Atomic uint64_t until_ns; /* no arrival of it is due at or after this */
    _Atomic bool done;         /* the search is over: the scenario ends */
    _Atomic double pass, fail; /* the bracket so far (0: none), for the progress line only */
    _Atomic uint64_t since_s;  /* the step's first second (after t0): rows before it are the
                                  previous step's (for the time series only) */
} ceiling_ctl;

typedef struct ceiling_step_ctl {
    uint64_t step;
    double rate;
    uint64_t from_ns, until_ns;
    bool done;
} ceiling_step_ctl;

/* The step a time-series interval starting at start_s (seconds after t0) belongs to: the one
 * under way, or the one before it when the interval began before it (its cool-down); 0 before
 * the first. For the csv, ndjson and hdrlog series. */
uint64_t ceiling_step_at(ceiling_ctl *c, double start_s);

/* Publishes a step (main thread). */
void ceiling_ctl_set(ceiling_ctl *c, const ceiling_step_ctl *v);
/* A consistent copy of what was last published (any thread). */
void ceiling_ctl_get(ceiling_ctl *c, ceiling_step_ctl *out);

/* ---- the driver (ceiling_run.c) and its results ---- */

struct plan;
struct plan_scenario;
struct report_run;
struct verdict;
struct gates;

/* One step as measured on its own window (warm-up end to the end of its cool-down). */
typedef struct ceiling_step {
    double rate;         /* offered (asked for), per second */
    double achieved;     /* responses in the window per second of its arrivals */
    double p50_ms, p95_ms, p99_ms;
    double failed_rate;  /* failed / (ok + failed) */
    uint64_t requests, failed, dropped, timeouts;
    double lateness_p99_ms, lateness_bound_ms;
    double cpu_share;    /* blast's CPU time over the window / (its wall time x workers) */
    double wait_share;   /* its threads' time waiting for a CPU, the same way (schedstat) */
    double start_s;      /* when its arrivals began (seconds after t0) */
    ceiling_verdict verdict;
    char why[256];       /* what failed it: "p99 312.000ms (< 50ms)", or the generator's reason */
    /* per threshold of the plan that judges the scenario: observed value, samples, held */
    double *thr_value;
    uint64_t *thr_samples;
    unsigned char *thr_state; /* 0: does not apply, 1: held, 2: failed */
} ceiling_step;

typedef struct ceiling_result {
    const struct plan *plan;
    size_t scenario; /* its index in the plan */
    ceiling_search search;
    ceiling_step *steps;
    unsigned nsteps;
    double rate;          /* the answer: the highest passing rate (0: start_rate failed) */
    double fail_rate;     /* the lowest failing rate (0: none) */
    unsigned pass_step;   /* 1-based step of the answer (0: none) */
    unsigned fail_step;   /* 1-based step of the lowest failure (0: none) */
    ceiling_limit by;
    bool below_min;       /* min_rate set and not reached (exit 99) */
    bool complete;        /* the search ended by itself (not stopped by the user) */
    char advice[512];     /* generator-limited: what to change */
    /* the answer's step window (the k6 summary reports it); NULL when no step passed */
    const struct metrics_rec *pass_rec;
    double pass_span_s;
} ceiling_result;

typedef struct ceiling_run ceiling_run;

/* The driver of p's ceiling scenario: *out NULL (and 0) when p has none. g (may be NULL) are the
 * run's live gates, which the driver's tick runs first. Returns 0 or -ENOMEM. */
int ceiling_run_new(ceiling_run **out, const struct plan *p, struct gates *g);

/* Publishes the first step (before run_start). */
void ceiling_run_begin(ceiling_run *cr);

/* The run's tick (a run_tick_fn, ctx the driver): the gates, then the search. */
bool ceiling_run_tick(void *ctx, const struct report_run *cum, const struct report_run *win,
                      double elapsed_s, char *reason, size_t reasonlen);

/* Whether progress lines for each step go to stderr (set before the run). */
void ceiling_run_set_verbose(ceiling_run *cr, bool on);

/* The search's outcome so far (valid until ceiling_run_free). */
const ceiling_result *ceiling_run_result(const ceiling_run *cr);

/* Folds the search into v (made by verdict_build, after gates_apply): the thresholds that judge
 * the ceiling scenario take their value at the answer's step (or, when start_rate failed, at the
 * first step); its offered-load check is judged per step instead; v->ceiling_failed when the
 * answer is below min_rate or start_rate failed. */
void ceiling_apply(const ceiling_run *cr, struct verdict *v);

void ceiling_run_free(ceiling_run *cr);

/* The text report's ceiling part (ceiling_report.c): a line per step, then the answer. */
void ceiling_text(FILE *f, const ceiling_result *r);
/* The JSON object scenarios.NAME.ceiling (no trailing comma or newline). */
void ceiling_json(FILE *f, const ceiling_result *r, const char *indent);
/* The html page's part: latency percentiles and the failed rate against the offered rate, the
 * thresholds drawn, the ceiling marked (inline SVG, every point with its values). */
void ceiling_html(FILE *f, const ceiling_result *r);
/* The one-line answer ("ceiling 8,450 req/s (...); 9,200 req/s fails on p99 (312 ms)"). */
void ceiling_answer(char *buf, size_t n, const ceiling_result *r);

#endif
