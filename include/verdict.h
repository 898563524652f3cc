/* verdict: what a run's gates concluded, as every output reports it: each threshold (see
 * threshold.h) and, per scenario, the offered-load check. Made once after the run (and, for
 * abort_on_fail, once a second during it) from the merged results; the outputs only read it. */
#ifndef BLAST_VERDICT_H
#define BLAST_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One threshold's outcome. Values are in the metric's base unit: milliseconds for times, a
 * fraction (0..1) for rates, per second for `rate` of a counter, bytes for data, a plain count
 * otherwise. The texts carry the unit for people: "412.300ms", "3.40%", "9512.3/s". */
typedef struct threshold_result {
    const char *expr;     /* as written (blanks squeezed): "http_req_duration p(95) < 500ms" */
    const char *metric;   /* "http_req_duration" */
    const char *stat;     /* "p(95)", "avg", "rate", "count", ... */
    const char *op;       /* "<", "<=", ">", ">=", "==", "!=" */
    const char *scenario; /* the scenario whose section declares it; NULL: [global] */
    const char *file;     /* where it is written */
    unsigned line;
    double observed, limit;
    char observed_text[48]; /* "no samples" when the metric saw none */
    char limit_text[48];
    uint64_t samples; /* values (or requests, checks, iterations) the observed value is made of */
    bool ok;
    bool empty;   /* its metric saw no samples (a failure unless allow_empty) */
    bool aborted; /* its breach stopped the run (abort_on_fail) */
} threshold_result;

typedef enum { OFFERED_NA, OFFERED_OK, OFFERED_WARN, OFFERED_FAIL } offered_state;

/* Did blast offer the load it was asked for? One per scenario. Open model: no drops, a queue
 * that stayed short, send lateness p99 within a bound. Closed model: VUs are not held back by
 * the generator (OFFERED_NA when nothing applies). */
typedef struct offered_result {
    const char *scenario;
    offered_state state; /* OK, or WARN / FAIL (offered_load = warn | fail) when a reason fired */
    uint64_t dropped;
    uint64_t queue_max;         /* most iterations waiting for a VU at once (summed over workers) */
    double lateness_p99_ms;     /* send lateness p99 */
    double lateness_bound_ms;   /* the bound it is held to */
    bool generator_limited;     /* the load generator, not the server, was the limit */
    char reason[384];           /* why it fired (empty when OK) */
    char advice[512];           /* what to change (empty when nothing to suggest) */
} offered_result;

typedef struct verdict {
    const threshold_result *thr;
    size_t nthr;
    const offered_result *off; /* one per scenario, in the plan's order */
    size_t noff;
    bool thresholds_ok; /* every threshold passed (true when there are none) */
    bool offered_ok;    /* no offered-load check is FAIL */
    bool ceiling_failed; /* executor = ceiling: below min_rate, or start_rate failed */
    /* blast's own use of the machine over the run (getrusage of the process) */
    double cpu_user_s, cpu_sys_s;
    double cpu_wait_s; /* time its threads were ready to run but waited for a CPU (schedstat;
                          0 where the kernel does not say): a busy machine takes it */
    uint64_t rss_max_kib;
} verdict;

/* true when the verdict fails the run (exit code 99). */
static inline bool verdict_failed(const verdict *v)
{
    return v && (!v->thresholds_ok || !v->offered_ok || v->ceiling_failed);
}

#endif
