/* threshold: k6's pass/fail criteria, in k6's syntax, judged on blast's results.
 *
 *   threshold = METRIC[{TAG:VALUE,...}] STAT OP LIMIT [over DURATION] [, OPTION]...
 *
 * e.g. `http_req_duration{scenario:browse} p(95) < 400ms`, `http_req_failed rate < 0.5%`,
 * `http_reqs rate > 9500/s`, `dropped_iterations count == 0`, with the options abort_on_fail,
 * delay_abort_eval = DURATION and allow_empty. threshold_parse reads the text alone (the table
 * of metrics, statistics and units); threshold_resolve checks its filters against the plan
 * (a scenario, step name or tag that does not exist is an error with the nearest name);
 * threshold_eval judges it on a run's merged results. */
#ifndef BLAST_THRESHOLD_H
#define BLAST_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "verdict.h"

/* The longest `over` window. The live totals keep a cumulative copy of every recorder per second
 * of window (about 1 MiB a second for a 10-step run), so windows stay short until they keep
 * per-second differences instead. */
#define THRESHOLD_MAX_WINDOW_S 60

typedef enum {
    TM_HTTP_REQ_DURATION,     /* trend, ms: corrected latency (from the intended start) */
    TM_HTTP_REQ_SERVICE_TIME, /* trend, ms: from the actual send */
    TM_HTTP_REQ_FAILED,       /* rate: failed requests / requests */
    TM_HTTP_REQS,             /* counter: requests completed (ok + failed) */
    TM_ITERATIONS,            /* counter: iterations that ran to their end (ok or failed) */
    TM_ITERATION_DURATION,    /* trend, ms */
    TM_DROPPED_ITERATIONS,    /* counter */
    TM_CHECKS,                /* rate: checks passed / checks evaluated */
    TM_TLS_HANDSHAKING,       /* trend, ms: completed TLS handshakes */
    TM_CONNECTING,            /* trend, ms: TCP connects */
    TM_DATA_SENT,             /* counter, bytes */
    TM_DATA_RECEIVED,         /* counter, bytes */
    TM_SEND_LATENESS,         /* trend, ms: actual send - intended start */
    TM_WS_MSG_LATENCY,        /* trend, ms: a message's intended send to its expected reply */
    TM_WS_MSG_SERVICE,        /* trend, ms: its actual send to the reply */
    TM_WS_CONNECTING,         /* trend, ms: upgrade sent to 101 */
    TM_WS_SESSION_DURATION,   /* trend, ms */
    TM_WS_PING,               /* trend, ms: client ping round trips */
    TM_WS_MESSAGE_FAILURES,   /* rate: (timed out + cut) / messages that expected a reply */
    TM_WS_CONNECTION_FAILURES, /* rate: failed sessions / sessions attempted */
    TM_WS_SESSIONS,           /* counter: sessions opened */
    TM_WS_MSGS_SENT,          /* counter */
    TM_WS_MSGS_RECEIVED,      /* counter */
    TM_COUNT
} threshold_metric;

typedef enum { TK_TREND, TK_RATE, TK_COUNTER } threshold_kind;

typedef enum { TS_AVG, TS_MIN, TS_MAX, TS_MED, TS_P, TS_COUNT, TS_RATE } threshold_stat;

typedef enum { TO_LT, TO_LE, TO_GT, TO_GE, TO_EQ, TO_NE } threshold_op;

typedef enum { TF_SCENARIO, TF_NAME, TF_STATUS, TF_TAG } threshold_filter_kind;

typedef struct threshold_filter {
    threshold_filter_kind kind;
    char *key, *value;
    int status_lo, status_hi; /* TF_STATUS: the codes it takes, e.g. 500..599 for 5xx */
    int scenario;             /* TF_SCENARIO, after resolve: its index */
} threshold_filter;

typedef struct threshold {
    char *expr; /* the expression, blanks squeezed, without the options */
    threshold_metric metric;
    threshold_filter *filters;
    size_t nfilters;
    threshold_stat stat;
    double p; /* TS_P: the percentile */
    char stat_text[16];
    threshold_op op;
    double limit; /* base unit: ms, a fraction, per second, bytes or a count (verdict.h) */
    char limit_text[48];
    uint64_t window_ns; /* over DURATION: judged every second on the last DURATION; 0: the run */
    bool abort_on_fail;
    uint64_t delay_abort_ns; /* no abort before this much of the run has passed */
    bool allow_empty;        /* no samples passes (else it fails, saying so) */
    int scenario;            /* the scenario whose section declares it; -1: [global] */
    const char *file;        /* not owned */
    int line;
} threshold;

/* The metric called name (TM_COUNT: none); its kind; its name. */
threshold_metric threshold_metric_find(const char *name, size_t len);
threshold_kind threshold_metric_kind(threshold_metric m);
const char *threshold_metric_name(threshold_metric m);
/* Whether m is kept per step (name and step-tag filters apply) or per scenario. */
bool threshold_metric_per_step(threshold_metric m);

/* Parses text into t (zeroed first). Returns 0, -EINVAL with a one-line message in err (what is
 * wrong at which column, what is allowed, the nearest metric name), or -ENOMEM. On success the
 * caller owns t (threshold_free). */
int threshold_parse(threshold *t, const char *text, char *err, size_t errlen);

/* Checks t's filters against p: a scenario, step name or tag nobody has is -EINVAL with a
 * message naming the nearest one; a filter the metric cannot take (a status filter on a trend,
 * a step name on a per-scenario metric) is -EINVAL too. scenario: the declaring scenario's index
 * (its thresholds filter on it), -1 for [global]. */
int threshold_resolve(threshold *t, const plan *p, int scenario, char *err, size_t errlen);

void threshold_free(threshold *t);

/* Judges t on run's merged results into out (whose texts point into t, which must outlive it).
 * Returns 0 or -ENOMEM. */
int threshold_eval(const threshold *t, const report_run *run, threshold_result *out);

/* The observed value of t on run (base unit), and how many samples it is made of. Returns 0 or
 * -ENOMEM. */
int threshold_observe(const threshold *t, const report_run *run, double *value,
                      uint64_t *samples);

/* value (t's base unit) as people read it, in the limit's terms: "412.300ms", "3.40%",
 * "9512.3/s", "120". */
void threshold_format(const threshold *t, double value, char *buf, size_t cap);

/* Whether value passes t's comparison. */
bool threshold_holds(const threshold *t, double value);

#endif
