/* Unit tests for threshold: threshold_parse on tables of valid k6 expressions (metric, statistic,
 * percentile, comparison, the limit in its base unit, window, options, filters and the squeezed
 * expression text) and of invalid ones (the exact one-line message: column, what is allowed, the
 * nearest name); threshold_resolve through config_load of small files (each mistake a
 * FILE:LINE: [section] threshold: ... error naming the nearest scenario, step or tag), and the
 * [global] out lines. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "outputs.h"
#include "report.h"
#include "threshold.h"

#define SEC 1000000000ULL

/* ---- threshold_parse: valid expressions ---- */

typedef struct valid_row {
    const char *text;
    threshold_metric metric;
    threshold_stat stat;
    double p;
    const char *stat_text;
    threshold_op op;
    double limit; /* base unit */
    const char *limit_text;
    uint64_t window_ns;
    bool abort_on_fail, allow_empty;
    uint64_t delay_abort_ns;
    const char *expr; /* NULL: the text itself */
    /* up to two filters: kind, key, value (status: its range) */
    size_t nfilters;
    threshold_filter_kind fk[2];
    const char *fkey[2], *fval[2];
    int lo, hi;
} valid_row;

static const valid_row valid_rows[] = {
    {.text = "http_req_duration p(95) < 500ms",
     TM_HTTP_REQ_DURATION,
     TS_P,
     95,
     "p(95)",
     TO_LT,
     500,
     "500ms"},
    {.text = "http_req_failed rate < 0.5%",
     TM_HTTP_REQ_FAILED,
     TS_RATE,
     0,
     "rate",
     TO_LT,
     0.005,
     "0.5%"},
    {.text = "http_req_failed rate <= 0.05",
     TM_HTTP_REQ_FAILED,
     TS_RATE,
     0,
     "rate",
     TO_LE,
     0.05,
     "0.05"},
    {.text = "http_reqs rate > 9500/s", TM_HTTP_REQS, TS_RATE, 0, "rate", TO_GT, 9500, "9500/s"},
    {.text = "http_reqs rate >= 120/m", TM_HTTP_REQS, TS_RATE, 0, "rate", TO_GE, 2, "120/m"},
    {.text = "http_reqs rate > 0/s", TM_HTTP_REQS, TS_RATE, 0, "rate", TO_GT, 0, "0/s"},
    {.text = "checks rate > 99%", TM_CHECKS, TS_RATE, 0, "rate", TO_GT, 0.99, "99%"},
    {.text = "checks rate == 100%", TM_CHECKS, TS_RATE, 0, "rate", TO_EQ, 1, "100%"},
    {.text = "iteration_duration p(99) < 2s",
     TM_ITERATION_DURATION,
     TS_P,
     99,
     "p(99)",
     TO_LT,
     2000,
     "2s"},
    {.text = "dropped_iterations count == 0",
     TM_DROPPED_ITERATIONS,
     TS_COUNT,
     0,
     "count",
     TO_EQ,
     0,
     "0"},
    {.text = "iterations count >= 100", TM_ITERATIONS, TS_COUNT, 0, "count", TO_GE, 100, "100"},
    {.text = "http_reqs count === 5", TM_HTTP_REQS, TS_COUNT, 0, "count", TO_EQ, 5, "5"},
    {.text = "http_reqs count != 7", TM_HTTP_REQS, TS_COUNT, 0, "count", TO_NE, 7, "7"},
    {.text = "http_req_duration{scenario:browse} p(95) < 400ms",
     TM_HTTP_REQ_DURATION,
     TS_P,
     95,
     "p(95)",
     TO_LT,
     400,
     "400ms",
     .nfilters = 1,
     .fk = {TF_SCENARIO},
     .fkey = {"scenario"},
     .fval = {"browse"}},
    {.text = "http_req_duration{name:browse_search} p(90) <= 250ms",
     TM_HTTP_REQ_DURATION,
     TS_P,
     90,
     "p(90)",
     TO_LE,
     250,
     "250ms",
     .nfilters = 1,
     .fk = {TF_NAME},
     .fkey = {"name"},
     .fval = {"browse_search"}},
    {.text = "http_reqs{status:5xx} count < 10",
     TM_HTTP_REQS,
     TS_COUNT,
     0,
     "count",
     TO_LT,
     10,
     "10",
     .nfilters = 1,
     .fk = {TF_STATUS},
     .fkey = {"status"},
     .fval = {"5xx"},
     .lo = 500,
     .hi = 599},
    {.text = "http_reqs{ status : 4XX ,  kind:slow } rate < 5/s",
     TM_HTTP_REQS,
     TS_RATE,
     0,
     "rate",
     TO_LT,
     5,
     "5/s",
     .expr = "http_reqs{ status : 4XX , kind:slow } rate < 5/s",
     .nfilters = 2,
     .fk = {TF_STATUS, TF_TAG},
     .fkey = {"status", "kind"},
     .fval = {"4XX", "slow"},
     .lo = 400,
     .hi = 499},
    {.text = "data_received count > 1MB",
     TM_DATA_RECEIVED,
     TS_COUNT,
     0,
     "count",
     TO_GT,
     1e6,
     "1MB"},
    {.text = "data_received count < 2KiB",
     TM_DATA_RECEIVED,
     TS_COUNT,
     0,
     "count",
     TO_LT,
     2048,
     "2KiB"},
    {.text = "data_sent rate < 10MB/s", TM_DATA_SENT, TS_RATE, 0, "rate", TO_LT, 1e7, "10MB/s"},
    {.text = "data_sent rate < 60MB/m", TM_DATA_SENT, TS_RATE, 0, "rate", TO_LT, 1e6, "60MB/m"},
    {.text = "data_received rate > 10MB/2s",
     TM_DATA_RECEIVED,
     TS_RATE,
     0,
     "rate",
     TO_GT,
     5e6,
     "10MB/2s"},
    {.text = "http_req_duration avg < 1.5s",
     TM_HTTP_REQ_DURATION,
     TS_AVG,
     0,
     "avg",
     TO_LT,
     1500,
     "1.5s"},
    {.text = "http_req_duration min > 0.5ms",
     TM_HTTP_REQ_DURATION,
     TS_MIN,
     0,
     "min",
     TO_GT,
     0.5,
     "0.5ms"},
    {.text = "http_req_duration max < 1m",
     TM_HTTP_REQ_DURATION,
     TS_MAX,
     0,
     "max",
     TO_LT,
     60000,
     "1m"},
    {.text = "http_req_duration p(99.9) < 1s",
     TM_HTTP_REQ_DURATION,
     TS_P,
     99.9,
     "p(99.9)",
     TO_LT,
     1000,
     "1s"},
    {.text = "http_req_duration p(0) >= 1us",
     TM_HTTP_REQ_DURATION,
     TS_P,
     0,
     "p(0)",
     TO_GE,
     0.001,
     "1us"},
    {.text = "http_req_service_time med >= 200us",
     TM_HTTP_REQ_SERVICE_TIME,
     TS_MED,
     0,
     "med",
     TO_GE,
     0.2,
     "200us"},
    {.text = "http_req_connecting p(95) < 1ms", TM_CONNECTING, TS_P, 95, "p(95)", TO_LT, 1, "1ms"},
    {.text = "http_req_tls_handshaking avg < 20ms",
     TM_TLS_HANDSHAKING,
     TS_AVG,
     0,
     "avg",
     TO_LT,
     20,
     "20ms"},
    {.text = "send_lateness p(99) < 2ms", TM_SEND_LATENESS, TS_P, 99, "p(99)", TO_LT, 2, "2ms"},
    {.text = "http_req_duration p(95) < 500ms over 30s",
     TM_HTTP_REQ_DURATION,
     TS_P,
     95,
     "p(95)",
     TO_LT,
     500,
     "500ms",
     .window_ns = 30 * SEC},
    {.text = "http_req_failed rate < 1% over 1m",
     TM_HTTP_REQ_FAILED,
     TS_RATE,
     0,
     "rate",
     TO_LT,
     0.01,
     "1%",
     .window_ns = 60 * SEC},
    {.text = "http_req_failed rate < 1%, abort_on_fail",
     TM_HTTP_REQ_FAILED,
     TS_RATE,
     0,
     "rate",
     TO_LT,
     0.01,
     "1%",
     .abort_on_fail = true,
     .expr = "http_req_failed rate < 1%"},
    {.text = "http_req_failed rate < 1%, abort_on_fail, delay_abort_eval = 10s",
     TM_HTTP_REQ_FAILED,
     TS_RATE,
     0,
     "rate",
     TO_LT,
     0.01,
     "1%",
     .abort_on_fail = true,
     .delay_abort_ns = 10 * SEC,
     .expr = "http_req_failed rate < 1%"},
    {.text = "http_req_duration p(99) < 1s over 10s ,delay_abort_eval:1m,abort_on_fail",
     TM_HTTP_REQ_DURATION,
     TS_P,
     99,
     "p(99)",
     TO_LT,
     1000,
     "1s",
     .window_ns = 10 * SEC,
     .abort_on_fail = true,
     .delay_abort_ns = 60 * SEC,
     .expr = "http_req_duration p(99) < 1s over 10s"},
    {.text = "http_req_duration{name:x} p(95) < 5ms, allow_empty",
     TM_HTTP_REQ_DURATION,
     TS_P,
     95,
     "p(95)",
     TO_LT,
     5,
     "5ms",
     .allow_empty = true,
     .expr = "http_req_duration{name:x} p(95) < 5ms",
     .nfilters = 1,
     .fk = {TF_NAME},
     .fkey = {"name"},
     .fval = {"x"}},
    {.text = "  http_req_duration   p(95)\t<\t\t500ms   ",
     TM_HTTP_REQ_DURATION,
     TS_P,
     95,
     "p(95)",
     TO_LT,
     500,
     "500ms",
     .expr = "http_req_duration p(95) < 500ms"},
    {.text = "http_req_duration{name:GET /api} p(95)<500ms",
     TM_HTTP_REQ_DURATION,
     TS_P,
     95,
     "p(95)",
     TO_LT,
     500,
     "500ms",
     .nfilters = 1,
     .fk = {TF_NAME},
     .fkey = {"name"},
     .fval = {"GET /api"}},
};

#define N_VALID_ROWS (sizeof valid_rows / sizeof *valid_rows)
static size_t valid_rows_index[N_VALID_ROWS];

ParameterizedTestParameters(threshold_parse, valid)
{
    for (size_t i = 0; i < N_VALID_ROWS; i++)
        valid_rows_index[i] = i;
    return cr_make_param_array(size_t, valid_rows_index, N_VALID_ROWS);
}

static bool near_eq(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

ParameterizedTest(size_t *idx, threshold_parse, valid)
{
    cr_assert(*idx < N_VALID_ROWS);
    const valid_row *row = &valid_rows[*idx];
    threshold t;
    char err[600] = "";
    int rc = threshold_parse(&t, row->text, err, sizeof err);
    cr_assert_eq(rc, 0, "'%s': %s", row->text, err);
    cr_expect_eq(t.metric, row->metric, "'%s': metric %d", row->text, t.metric);
    cr_expect_eq(t.stat, row->stat, "'%s': stat %d", row->text, t.stat);
    if (row->stat == TS_P)
        cr_expect(near_eq(t.p, row->p), "'%s': p %g", row->text, t.p);
    cr_expect_str_eq(t.stat_text, row->stat_text, "'%s'", row->text);
    cr_expect_eq(t.op, row->op, "'%s': op %d", row->text, t.op);
    cr_expect(near_eq(t.limit, row->limit), "'%s': limit %.9g, want %.9g", row->text, t.limit,
              row->limit);
    cr_expect_str_eq(t.limit_text, row->limit_text, "'%s'", row->text);
    cr_expect_eq(t.window_ns, row->window_ns, "'%s': window %llu", row->text,
                 (unsigned long long)t.window_ns);
    cr_expect_eq(t.abort_on_fail, row->abort_on_fail, "'%s'", row->text);
    cr_expect_eq(t.delay_abort_ns, row->delay_abort_ns, "'%s': delay %llu", row->text,
                 (unsigned long long)t.delay_abort_ns);
    cr_expect_eq(t.allow_empty, row->allow_empty, "'%s'", row->text);
    cr_expect_str_eq(t.expr, row->expr ? row->expr : row->text, "'%s': expr '%s'", row->text,
                     t.expr);
    cr_expect_eq(t.scenario, -1, "not resolved yet: no declaring scenario");
    cr_assert_eq(t.nfilters, row->nfilters, "'%s': %zu filters", row->text, t.nfilters);
    for (size_t i = 0; i < t.nfilters; i++) {
        cr_expect_eq(t.filters[i].kind, row->fk[i], "'%s' filter %zu", row->text, i);
        cr_expect_str_eq(t.filters[i].key, row->fkey[i], "'%s' filter %zu", row->text, i);
        cr_expect_str_eq(t.filters[i].value, row->fval[i], "'%s' filter %zu", row->text, i);
        cr_expect_eq(t.filters[i].scenario, -1);
        if (t.filters[i].kind == TF_STATUS) {
            cr_expect_eq(t.filters[i].status_lo, row->lo, "'%s'", row->text);
            cr_expect_eq(t.filters[i].status_hi, row->hi, "'%s'", row->text);
        }
    }
    threshold_free(&t);
    cr_expect_null(t.expr);
    cr_expect_null(t.filters);
}

/* ---- threshold_parse: invalid expressions ---- */

typedef struct invalid_row {
    const char *text, *err; /* the whole message */
} invalid_row;

#define OPTS "abort_on_fail, delay_abort_eval = DURATION, allow_empty"
#define TREND_STATS "avg, min, max, med or p(N)"

static const invalid_row invalid_rows[] = {
    {"http_req_duratoin p(95) < 500ms",
     "column 1: unknown metric 'http_req_duratoin' (did you mean http_req_duration?)"},
    {"  http_req_faild rate < 1%",
     "column 3: unknown metric 'http_req_faild' (did you mean http_req_failed?)"},
    {"checkz rate > 99%", "column 1: unknown metric 'checkz' (did you mean checks?)"},
    {"latency p(95) < 5ms",
     "column 1: unknown metric 'latency' (allowed: http_req_duration, http_req_service_time, "
     "http_req_failed, http_reqs, iterations, iteration_duration, dropped_iterations, checks, "
     "http_req_tls_handshaking, http_req_connecting, data_sent, data_received, send_lateness, "
     "ws_msg_latency, ws_msg_service_time, ws_connecting, ws_session_duration, ws_ping, "
     "ws_message_failures, ws_connection_failures, ws_sessions, ws_msgs_sent, ws_msgs_received)"},
    {"", "column 1: expected a metric name (e.g. http_req_duration)"},
    {"p(95) < 5ms", "column 1: unknown metric 'p' (allowed: http_req_duration, "
                    "http_req_service_time, http_req_failed, http_reqs, iterations, "
                    "iteration_duration, dropped_iterations, checks, http_req_tls_handshaking, "
                    "http_req_connecting, data_sent, data_received, send_lateness, "
     "ws_msg_latency, ws_msg_service_time, ws_connecting, ws_session_duration, ws_ping, "
     "ws_message_failures, ws_connection_failures, ws_sessions, ws_msgs_sent, ws_msgs_received)"},
    /* a time needs its unit */
    {"http_req_duration p(95) < 500",
     "column 27: 500 is a time: give its unit, e.g. 500ms (us, ms, s or m; k6 would read a bare "
     "number as milliseconds)"},
    {"http_req_duration p(95) < 5 ms",
     "column 27: 5 is a time: give its unit, e.g. 5ms (us, ms, s or m; k6 would read a bare "
     "number as milliseconds)"},
    {"http_req_duration p(95) < 5parsecs",
     "column 27: '5parsecs' is not a time (e.g. 500ms, 1.5s, 200us)"},
    /* rates */
    {"http_req_failed rate < 1.5",
     "column 24: 1.5 is more than 1 (a fraction; or write a percentage such as 1.5%)"},
    {"http_req_failed rate < 150%", "column 24: 150% is more than 100%"},
    {"http_req_duration p(95) < 5ms,",
     "column 31: a ',' with no option after it (allowed: abort_on_fail, delay_abort_eval = "
     "DURATION, allow_empty)"},
    {"http_req_failed rate < 5x",
     "column 24: '5x' is not a rate (a percentage such as 0.5% or a fraction from 0 to 1 such as "
     "0.005)"},
    {"http_reqs rate > 9500", "column 18: 9500 is a rate: give its unit, e.g. 9500/s (per s, m or "
                              "h)"},
    {"http_reqs rate > fast/s", "column 18: 'fast/s' is not a rate (e.g. 9500/s, 100/m)"},
    {"data_sent rate < 10MB", "column 18: 10MB is a rate: give its unit, e.g. 1MB/s (per s, m or "
                              "h)"},
    {"data_sent rate < 10MB/fortnight",
     "column 18: '10MB/fortnight' is not a data rate (e.g. 10MB/s)"},
    {"data_received count > lots",
     "column 23: 'lots' is not an amount of data (e.g. 0, 512KiB, 10MB)"},
    {"dropped_iterations count == 1.5", "column 29: '1.5' is not a count (a whole number)"},
    /* the statistic must fit the metric's kind */
    {"http_reqs p(95) < 5", "column 11: http_reqs has no statistic 'p(95)' (allowed: count or "
                            "rate)"},
    {"http_req_duration count < 5",
     "column 19: http_req_duration has no statistic 'count' (allowed: " TREND_STATS ")"},
    {"http_req_failed avg < 1%",
     "column 17: http_req_failed has no statistic 'avg' (allowed: rate)"},
    {"dropped_iterations med < 1",
     "column 20: dropped_iterations has no statistic 'med' (allowed: count or rate)"},
    {"http_req_duration p95 < 5ms",
     "column 19: expected a statistic of http_req_duration: " TREND_STATS},
    {"http_req_duration < 5ms",
     "column 19: expected a statistic of http_req_duration: " TREND_STATS},
    {"http_req_duration p(101) < 5ms",
     "column 19: expected p(N) with N from 0 to 100 (e.g. p(95))"},
    {"http_req_duration p(95 < 5ms", "column 19: expected p(N) with N from 0 to 100 (e.g. p(95))"},
    /* the comparison and the limit */
    {"http_req_duration p(95) =< 5ms", "column 25: expected a comparison (<, <=, >, >=, == or !=)"},
    {"http_req_duration p(95) = 5ms", "column 25: expected a comparison (<, <=, >, >=, == or !=)"},
    {"http_req_duration p(95) 5ms", "column 25: expected a comparison (<, <=, >, >=, == or !=)"},
    {"http_req_duration p(95) <", "column 26: expected a limit after the comparison"},
    {"http_req_duration p(95) < , abort_on_fail",
     "column 27: expected a limit after the comparison"},
    /* the window */
    {"http_req_duration p(95) < 5ms over 0s",
     "column 36: '0s' is not a window from 1s to 1m (e.g. over 30s, over 1m)"},
    {"http_req_duration p(95) < 5ms over 61s",
     "column 36: '61s' is not a window from 1s to 1m (e.g. over 30s, over 1m)"},
    {"http_req_duration p(95) < 5ms over 500ms",
     "column 36: '500ms' is not a window from 1s to 1m (e.g. over 30s, over 1m)"},
    /* a control byte is refused where it is, and never copied into the message */
    {"http_req_duration p(95) < 5ms\x01", "column 30: a control byte (0x01) is not allowed here"},
    {"http_req_dur\x1b"
     "ation p(95) < 5ms",
     "column 13: a control byte (0x1b) is not allowed here"},
    {"http_req_duration p(95) < 5ms over , allow_empty",
     "column 36: expected a duration after 'over' (e.g. over 30s)"},
    /* options */
    {"http_req_duration p(95) < 5ms, abort_on_fial",
     "column 32: unknown option 'abort_on_fial' (allowed: " OPTS ")"},
    {"http_req_duration p(95) < 5ms 10",
     "column 31: unexpected '10' after the limit (expected [over DURATION] and then ', OPTION' "
     "with " OPTS ")"},
    {"http_req_duration p(95) < 5ms, delay_abort_eval = 10s",
     "column 32: delay_abort_eval needs abort_on_fail"},
    {"http_req_duration p(95) < 5ms, abort_on_fail, delay_abort_eval 10s",
     "column 64: expected '= DURATION' after delay_abort_eval"},
    {"http_req_duration p(95) < 5ms, abort_on_fail, delay_abort_eval = soon",
     "column 66: 'soon' is not a duration (e.g. 10s, 1m)"},
    /* tag filters */
    {"http_reqs{status:200} count < 1",
     "column 18: status:200 is not a status class (allowed: 1xx, 2xx, 3xx, 4xx, 5xx; responses "
     "are counted per class)"},
    {"http_reqs{status:6xx} count < 1",
     "column 18: status:6xx is not a status class (allowed: 1xx, 2xx, 3xx, 4xx, 5xx; responses "
     "are counted per class)"},
    {"http_reqs{name:} count < 1", "column 16: the tag filter 'name' has no value"},
    {"http_reqs{name:x,kind: } count < 1", "column 23: the tag filter 'kind' has no value"},
    {"http_req_duration{name:x p(95) < 5ms", "column 37: expected '}' to end the tag filters"},
    {"http_req_duration{ p(95) < 5ms", "column 31: expected '}' to end the tag filters"},
    {"http_req_duration{scenario} p(95) < 5ms",
     "column 19: expected a tag filter KEY:VALUE (e.g. scenario:browse, name:login, status:5xx)"},
    {"http_req_duration{:x} p(95) < 5ms",
     "column 19: expected a tag filter KEY:VALUE (e.g. scenario:browse, name:login, status:5xx)"},
};

#define N_INVALID_ROWS (sizeof invalid_rows / sizeof *invalid_rows)
static size_t invalid_rows_index[N_INVALID_ROWS];

ParameterizedTestParameters(threshold_parse, invalid)
{
    for (size_t i = 0; i < N_INVALID_ROWS; i++)
        invalid_rows_index[i] = i;
    return cr_make_param_array(size_t, invalid_rows_index, N_INVALID_ROWS);
}

ParameterizedTest(size_t *idx, threshold_parse, invalid)
{
    cr_assert(*idx < N_INVALID_ROWS);
    const invalid_row *row = &invalid_rows[*idx];
    threshold t;
    char err[600] = "";
    int rc = threshold_parse(&t, row->text, err, sizeof err);
    cr_expect_eq(rc, -EINVAL, "'%s' parsed (rc %d)", row->text, rc);
    cr_expect_str_eq(err, row->err, "'%s'\n--- got:  %s\n--- want: %s", row->text, err, row->err);
    /* nothing is left behind for the caller to free */
    cr_expect_null(t.expr);
    cr_expect_null(t.filters);
    cr_expect_eq(t.nfilters, 0);
}

Test(threshold_parse, small_error_buffer_is_cut_not_overrun)
{
    threshold t;
    char err[24];
    memset(err, 'X', sizeof err);
    cr_expect_eq(threshold_parse(&t, "http_req_duratoin p(95) < 1s", err, 16), -EINVAL);
    cr_expect_eq(strlen(err), 15, "'%s'", err);
    cr_expect_eq(strncmp(err, "column 1: unkno", 15), 0, "'%s'", err);
    cr_expect_eq(err[16], 'X', "nothing past the given length is written");
}

Test(threshold_parse, metric_table)
{
    /* every name finds itself; the kinds and per-step flags are what the evaluation relies on */
    for (int m = 0; m < TM_COUNT; m++) {
        const char *n = threshold_metric_name((threshold_metric)m);
        cr_expect_eq(threshold_metric_find(n, strlen(n)), m, "%s", n);
    }
    cr_expect_eq(threshold_metric_find("http_reqs_", 10), TM_COUNT);
    cr_expect_eq(threshold_metric_find("http_reqs", 8), TM_COUNT, "a prefix is no name");
    cr_expect_eq(threshold_metric_kind(TM_HTTP_REQ_DURATION), TK_TREND);
    cr_expect_eq(threshold_metric_kind(TM_HTTP_REQ_FAILED), TK_RATE);
    cr_expect_eq(threshold_metric_kind(TM_CHECKS), TK_RATE);
    cr_expect_eq(threshold_metric_kind(TM_HTTP_REQS), TK_COUNTER);
    cr_expect_eq(threshold_metric_kind(TM_DATA_SENT), TK_COUNTER);
    cr_expect(threshold_metric_per_step(TM_HTTP_REQ_DURATION));
    cr_expect(threshold_metric_per_step(TM_HTTP_REQS));
    cr_expect_not(threshold_metric_per_step(TM_ITERATION_DURATION));
    cr_expect_not(threshold_metric_per_step(TM_DROPPED_ITERATIONS));
    cr_expect_not(threshold_metric_per_step(TM_TLS_HANDSHAKING));
}

/* ---- threshold_holds ---- */

Test(threshold_holds, comparisons_at_the_shown_resolution)
{
    static const struct {
        const char *text;
        double v;
        bool holds;
    } rows[] = {
        {"http_req_duration p(95) < 500ms", 499.999, true},
        {"http_req_duration p(95) < 500ms", 500, false},
        {"http_req_duration p(95) <= 500ms", 500, true},
        {"http_req_duration p(95) <= 0.5ms", 0.5 + 1e-12, true},
        {"http_req_duration p(95) <= 500ms", 500.01, false},
        {"http_req_duration p(95) > 5ms", 5, false},
        {"http_req_duration p(95) > 5ms", 5.001, true},
        {"http_req_duration p(95) >= 5ms", 5, true},
        {"http_req_duration p(95) >= 5ms", 4.999, false},
        {"http_reqs count == 0", 0, true},
        {"http_reqs count == 0", 1, false},
        {"http_reqs count != 0", 0, false},
        {"http_reqs count != 0", 3, true},
        {"http_req_failed rate < 0.5%", 0.004999, true},
        {"http_req_failed rate < 0.5%", 0.005, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        threshold t;
        char err[600];
        cr_assert_eq(threshold_parse(&t, rows[i].text, err, sizeof err), 0, "%s", err);
        cr_expect_eq(threshold_holds(&t, rows[i].v), rows[i].holds, "'%s' on %.9g", rows[i].text,
                     rows[i].v);
        threshold_free(&t);
    }
}

/* ---- threshold_resolve through config_load ---- */

static char dir[64];
static char ini_path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/blast-threshold-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(ini_path, sizeof ini_path, "%s/t.ini", dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(threshold_config, .init = setup, .fini = teardown);

static int load(const char *ini, plan **p, char *err, size_t errlen)
{
    FILE *f = fopen(ini_path, "wb");
    cr_assert_not_null(f, "%s", ini_path);
    cr_assert_eq(fwrite(ini, 1, strlen(ini), f), strlen(ini));
    fclose(f);
    return config_load(ini_path, NULL, p, err, errlen);
}

/* Two scenarios: browse (a flow of two steps; a step tag kind:read and a scenario tag team:web)
 * and other (one request). G, B and O are one line each: [global] line 4, [scenario browse]
 * line 18, [scenario other] line 23 (a comment when not used). */
static void fixture(char *out, size_t cap, const char *g, const char *b, const char *o)
{
    snprintf(out, cap,
             "[global]\n"                         /* 1 */
             "base_url = http://127.0.0.1:8080\n" /* 2 */
             "duration = 1s\n"                    /* 3 */
             "%s\n"                               /* 4 */
             "[step browse_search]\n"             /* 5 */
             "path = /search\n"                   /* 6 */
             "tag = kind:read\n"                  /* 7 */
             "[step checkout]\n"                  /* 8 */
             "path = /checkout\n"                 /* 9 */
             "[flow f]\n"                         /* 10 */
             "step = browse_search\n"             /* 11 */
             "step = checkout\n"                  /* 12 */
             "[scenario browse]\n"                /* 13 */
             "executor = constant-vus\n"          /* 14 */
             "vus = 1\n"                          /* 15 */
             "flow = f\n"                         /* 16 */
             "tag = team:web\n"                   /* 17 */
             "%s\n"                               /* 18 */
             "[scenario other]\n"                 /* 19 */
             "executor = constant-arrival-rate\n" /* 20 */
             "rate = 10/s\n"                      /* 21 */
             "path = /\n"                         /* 22 */
             "%s\n",                              /* 23 */
             g ? g : "; -", b ? b : "; -", o ? o : "; -");
}

typedef struct resolve_row {
    const char *g, *b, *o; /* the threshold lines: [global], [scenario browse], [scenario other] */
    const char *err;       /* "{F}" is the file; NULL: it loads */
} resolve_row;

#define T "threshold = "

static const resolve_row resolve_rows[] = {
    /* loads: each filter finds what it names */
    {T "http_req_duration{scenario:browse} p(95) < 400ms", NULL, NULL, NULL},
    {T "http_req_duration{name:browse_search} p(95) < 400ms", NULL, NULL, NULL},
    {NULL, T "http_req_duration{name:checkout} p(95) < 400ms", NULL, NULL},
    {T "http_req_duration{kind:read} p(95) < 400ms", NULL, NULL, NULL},
    {T "http_req_duration{team:web} p(95) < 400ms", NULL, NULL, NULL},
    {T "iteration_duration{team:web} p(95) < 4s", NULL, NULL, NULL},
    {T "http_reqs{status:5xx} count < 10", NULL, NULL, NULL},
    {NULL, NULL, T "http_reqs{scenario:other} rate > 9/s", NULL},
    {NULL, NULL, T "http_req_duration{name:GET /} p(95) < 1s", NULL},
    {T "dropped_iterations count == 0", NULL, NULL, NULL},
    /* scenarios */
    {T "http_req_duration{scenario:brwose} p(95) < 400ms", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_duration{scenario:brwose} p(95) < 400ms': no scenario "
     "is called 'brwose' (did you mean browse?)"},
    {T "http_req_duration{scenario:nothing_like_it} p(95) < 400ms", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_duration{scenario:nothing_like_it} p(95) < 400ms': no "
     "scenario is called 'nothing_like_it'"},
    {NULL, T "http_req_duration{scenario:other} p(95) < 400ms", NULL,
     "{F}:18: [scenario browse] threshold: 'http_req_duration{scenario:other} p(95) < 400ms': a "
     "threshold of [scenario browse] is on that scenario; one on scenario other belongs in "
     "[global] or in [scenario other]"},
    /* step names */
    {T "http_req_duration{name:browse_serch} p(95) < 400ms", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_duration{name:browse_serch} p(95) < 400ms': no step is "
     "named 'browse_serch' (did you mean browse_search?)"},
    {NULL, NULL, T "http_req_duration{name:checkout} p(95) < 400ms",
     "{F}:23: [scenario other] threshold: 'http_req_duration{name:checkout} p(95) < 400ms': no "
     "step is named 'checkout' in scenario other"},
    {NULL, T "http_req_duration{name:chekout} p(95) < 400ms", NULL,
     "{F}:18: [scenario browse] threshold: 'http_req_duration{name:chekout} p(95) < 400ms': no "
     "step is named 'chekout' in scenario browse (did you mean checkout?)"},
    {T "iteration_duration{name:checkout} p(95) < 1s", NULL, NULL,
     "{F}:4: [global] threshold: 'iteration_duration{name:checkout} p(95) < 1s': "
     "iteration_duration is kept per scenario, not per step: filter it by scenario (or a "
     "scenario's tag)"},
    /* tags */
    {T "http_req_duration{knd:read} p(95) < 400ms", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_duration{knd:read} p(95) < 400ms': no step or scenario "
     "has a tag 'knd' (did you mean kind?) (filters: scenario, name, status, or a tag from `tag =` "
     "lines)"},
    {T "http_req_duration{kind:raed} p(95) < 400ms", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_duration{kind:raed} p(95) < 400ms': no step or scenario "
     "has the tag kind:raed (did you mean read?)"},
    {NULL, NULL, T "http_req_duration{kind:read} p(95) < 400ms",
     "{F}:23: [scenario other] threshold: 'http_req_duration{kind:read} p(95) < 400ms': no step or "
     "scenario has a tag 'kind' (filters: scenario, name, status, or a tag from `tag =` lines)"},
    {T "iteration_duration{team:mobile} p(95) < 1s", NULL, NULL,
     "{F}:4: [global] threshold: 'iteration_duration{team:mobile} p(95) < 1s': no scenario has "
     "the tag team:mobile"},
    {T "http_req_duration{method:GET} p(95) < 400ms", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_duration{method:GET} p(95) < 400ms': blast does not "
     "keep results by k6's tag 'method' (allowed filters: scenario, name, status, or a tag of "
     "yours from `tag =` lines)"},
    {T "http_reqs{expected_response:true} count > 0", NULL, NULL,
     "{F}:4: [global] threshold: 'http_reqs{expected_response:true} count > 0': blast does not "
     "keep results by k6's tag 'expected_response' (allowed filters: scenario, name, status, or "
     "a tag of yours from `tag =` lines)"},
    /* status filters take http_reqs only */
    {T "http_req_duration{status:5xx} p(95) < 400ms", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_duration{status:5xx} p(95) < 400ms': a status filter "
     "takes http_reqs (count or rate); http_req_duration is not kept per status"},
    {T "http_req_failed{status:4xx} rate < 1%", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_failed{status:4xx} rate < 1%': a status filter takes "
     "http_reqs (count or rate); http_req_failed is not kept per status"},
    /* metrics nothing in scope produces */
    {T "checks rate > 99%", NULL, NULL,
     "{F}:4: [global] threshold: 'checks rate > 99%': no step has a `check =` line, so checks has "
     "no value"},
    {NULL, T "checks rate > 99%", NULL,
     "{F}:18: [scenario browse] threshold: 'checks rate > 99%': no step of scenario browse has a "
     "`check =` line, so checks has no value"},
    {T "http_req_tls_handshaking p(95) < 20ms", NULL, NULL,
     "{F}:4: [global] threshold: 'http_req_tls_handshaking p(95) < 20ms': no https:// scenario, "
     "so there are no TLS handshakes"},
    {NULL, NULL, T "http_req_tls_handshaking avg < 20ms",
     "{F}:23: [scenario other] threshold: 'http_req_tls_handshaking avg < 20ms': no https:// "
     "scenario is other, so there are no TLS handshakes"},
    /* a parse error keeps its column behind the file and line */
    {NULL, T "http_req_duration p(95) < 500", NULL,
     "{F}:18: [scenario browse] threshold: column 27: 500 is a time: give its unit, e.g. 500ms "
     "(us, ms, s or m; k6 would read a bare number as milliseconds)"},
};

#define N_RESOLVE_ROWS (sizeof resolve_rows / sizeof *resolve_rows)
static size_t resolve_rows_index[N_RESOLVE_ROWS];

ParameterizedTestParameters(threshold_config, resolve)
{
    for (size_t i = 0; i < N_RESOLVE_ROWS; i++)
        resolve_rows_index[i] = i;
    return cr_make_param_array(size_t, resolve_rows_index, N_RESOLVE_ROWS);
}

static void subst_file(char *out, size_t cap, const char *want)
{
    const char *f = strstr(want, "{F}");
    cr_assert_not_null(f);
    snprintf(out, cap, "%.*s%s%s", (int)(f - want), want, ini_path, f + 3);
}

ParameterizedTest(size_t *idx, threshold_config, resolve)
{
    cr_assert(*idx < N_RESOLVE_ROWS);
    const resolve_row *row = &resolve_rows[*idx];
    char ini[4096], err[4096] = "", want[4096];
    fixture(ini, sizeof ini, row->g, row->b, row->o);
    plan *p = NULL;
    int rc = load(ini, &p, err, sizeof err);
    if (!row->err) {
        cr_assert_eq(rc, 0, "%s\n--- file:\n%s", err, ini);
        cr_assert_eq(p->nthresholds, 1);
        const threshold *t = &p->thresholds[0];
        cr_expect_eq(t->line, row->g ? 4 : row->b ? 18 : 23);
        cr_expect_eq(t->scenario, row->g ? -1 : row->b ? 0 : 1);
        cr_expect_str_eq(t->file, ini_path);
        for (size_t i = 0; i < t->nfilters; i++)
            if (t->filters[i].kind == TF_SCENARIO)
                cr_expect_eq(t->filters[i].scenario,
                             strcmp(t->filters[i].value, "browse") == 0 ? 0 : 1,
                             "the scenario filter is resolved to its index");
        plan_free(p);
        return;
    }
    subst_file(want, sizeof want, row->err);
    cr_expect_eq(rc, -EINVAL, "rc %d\n--- file:\n%s", rc, ini);
    cr_expect_null(p);
    cr_expect_str_eq(err, want, "\n--- got:  %s\n--- want: %s", err, want);
    cr_expect_null(strchr(err, '\n'));
}

Test(threshold_config, order_lines_and_scenarios)
{
    char ini[4096], err[4096] = "";
    /* [global] first, then each scenario's, in file order; a scenario's own sees only it */
    fixture(ini, sizeof ini, T "http_reqs count > 0",
            T "http_req_duration{name:checkout} p(99) < 1s\n" T "iterations count > 0",
            T "http_req_failed rate < 1%");
    plan *p = NULL;
    cr_assert_eq(load(ini, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p->nthresholds, 4);
    static const struct {
        threshold_metric m;
        int line, scenario;
    } want[] = {{TM_HTTP_REQS, 4, -1},
                {TM_HTTP_REQ_DURATION, 18, 0},
                {TM_ITERATIONS, 19, 0},
                {TM_HTTP_REQ_FAILED, 24, 1}};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(p->thresholds[i].metric, want[i].m, "threshold %zu", i);
        cr_expect_eq(p->thresholds[i].line, want[i].line, "threshold %zu: line %d", i,
                     p->thresholds[i].line);
        cr_expect_eq(p->thresholds[i].scenario, want[i].scenario, "threshold %zu", i);
    }
    plan_free(p);
}

Test(threshold_config, checks_and_tls_found_in_scope)
{
    /* a check line in one scenario makes checks valid there and in [global], not elsewhere */
    static const char base[] = "[global]\nbase_url = http://127.0.0.1:8080\nduration = 1s\n"
                               "%s\n"
                               "[scenario a]\nexecutor = constant-vus\nvus = 1\npath = /\n"
                               "check = status 200\n%s\n"
                               "[scenario b]\nexecutor = constant-vus\nvus = 1\n"
                               "base_url = https://127.0.0.1:8443\n%s\n";
    char ini[2048], err[4096] = "";
    plan *p = NULL;
    snprintf(ini, sizeof ini, base, T "checks rate > 99%", T "checks rate == 100%",
             T "http_req_tls_handshaking p(95) < 50ms");
    cr_assert_eq(load(ini, &p, err, sizeof err), 0, "%s\n%s", err, ini);
    cr_expect_eq(p->nthresholds, 3);
    plan_free(p);
    p = NULL;
    snprintf(ini, sizeof ini, base, T "http_req_tls_handshaking p(95) < 50ms", "; -", "; -");
    cr_assert_eq(load(ini, &p, err, sizeof err), 0, "%s\n%s", err, ini);
    plan_free(p);
    p = NULL;
    /* line 15: [scenario b]'s threshold line */
    snprintf(ini, sizeof ini, base, "; -", "; -", T "checks rate > 99%");
    cr_expect_eq(load(ini, &p, err, sizeof err), -EINVAL, "%s", ini);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:15: [scenario b] threshold: 'checks rate > 99%%': no step of scenario b has a "
             "`check =` line, so checks has no value",
             ini_path);
    cr_expect_str_eq(err, want);
    p = NULL;
    /* line 10: [scenario a] is http:// */
    snprintf(ini, sizeof ini, base, "; -", T "http_req_tls_handshaking p(95) < 50ms", "; -");
    cr_expect_eq(load(ini, &p, err, sizeof err), -EINVAL, "%s", ini);
    snprintf(want, sizeof want,
             "%s:10: [scenario a] threshold: 'http_req_tls_handshaking p(95) < 50ms': no https:// "
             "scenario is a, so there are no TLS handshakes",
             ini_path);
    cr_expect_str_eq(err, want);
}

Test(threshold_config, not_in_a_step_section)
{
    static const char ini[] = "[global]\nbase_url = http://127.0.0.1:8080\nduration = 1s\n"
                              "[step s]\npath = /\nthreshold = http_reqs count > 0\n"
                              "[scenario a]\nexecutor = constant-vus\nvus = 1\nflow = s\n";
    char err[4096] = "";
    plan *p = NULL;
    cr_expect_eq(load(ini, &p, err, sizeof err), -EINVAL);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s:6: [step s] threshold:", ini_path);
    cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "%s", err);
}

/* ---- offered_load and out lines ---- */

Test(threshold_config, offered_load_mode)
{
    static const char base[] = "[global]\nbase_url = http://127.0.0.1:8080\nduration = 1s\n%s\n"
                               "[scenario a]\nexecutor = constant-arrival-rate\nrate = 10/s\n"
                               "%s\n"
                               "[scenario b]\nexecutor = constant-arrival-rate\nrate = 10/s\n";
    char ini[1024], err[4096] = "";
    plan *p = NULL;
    snprintf(ini, sizeof ini, base, "offered_load = fail\noffered_lateness = 7ms",
             "offered_load = warn");
    cr_assert_eq(load(ini, &p, err, sizeof err), 0, "%s", err);
    cr_expect_not(p->scenarios[0].offered_fail, "a scenario's own mode wins");
    cr_expect(p->scenarios[1].offered_fail, "[global]'s is inherited");
    cr_expect_eq(p->scenarios[1].offered_lateness_ns, 7000000);
    plan_free(p);
    p = NULL;
    snprintf(ini, sizeof ini, base, "; -", "; -");
    cr_assert_eq(load(ini, &p, err, sizeof err), 0, "%s", err);
    cr_expect_not(p->scenarios[0].offered_fail, "warn is the default");
    cr_expect_eq(p->scenarios[0].offered_lateness_ns, 0);
    plan_free(p);
    p = NULL;
    snprintf(ini, sizeof ini, base, "; -", "offered_load = abort");
    cr_expect_eq(load(ini, &p, err, sizeof err), -EINVAL);
    char want[512];
    snprintf(want, sizeof want, "%s:8: [scenario a] offered_load: 'abort' (allowed: warn, fail)",
             ini_path);
    cr_expect_str_eq(err, want);
}

Test(threshold_config, out_lines)
{
    static const char base[] = "[global]\nbase_url = http://127.0.0.1:8080\nduration = 1s\n"
                               "out = json=a.json\n%s\n"
                               "[scenario a]\nexecutor = constant-vus\nvus = 1\n";
    char ini[1024], err[4096] = "", want[1024];
    plan *p = NULL;
    snprintf(ini, sizeof ini, base, "out = json=/tmp/x=y.json");
    cr_assert_eq(load(ini, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p->nouts, 2);
    cr_expect_str_eq(p->outs[0], "json=a.json");
    cr_expect_str_eq(p->outs[1], "json=/tmp/x=y.json", "the first '=' splits kind and file");
    plan_free(p);

    const char *kinds = outputs_kind_names();
    cr_assert(strstr(kinds, "json"), "%s", kinds);
    static const struct {
        const char *line, *msg; /* %s: the kinds */
    } bad[] = {
        {"out = xml=results.xml", "unknown kind 'xml' (allowed: %s)"},
        {"out = JSON=a.json", "unknown kind 'JSON' (allowed: %s)"},
        {"out = results.json",
         "'results.json' is not KIND=FILE (e.g. out = junit=results.xml; kinds: %s)"},
        {"out = json=", "'json=' is not KIND=FILE (e.g. out = junit=results.xml; kinds: %s)"},
        {"out = =a.json", "'=a.json' is not KIND=FILE (e.g. out = junit=results.xml; kinds: %s)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = NULL;
        snprintf(ini, sizeof ini, base, bad[i].line);
        cr_expect_eq(load(ini, &p, err, sizeof err), -EINVAL, "%s", bad[i].line);
        cr_expect_null(p);
        char msg[512];
        snprintf(msg, sizeof msg, bad[i].msg, kinds);
        snprintf(want, sizeof want, "%s:5: [global] out: %s", ini_path, msg);
        cr_expect_str_eq(err, want, "\n--- got:  %s\n--- want: %s", err, want);
    }
    /* out belongs to [global] */
    p = NULL;
    snprintf(ini, sizeof ini, base, "; -");
    strcat(ini, "out = json=b.json\n");
    cr_expect_eq(load(ini, &p, err, sizeof err), -EINVAL);
    snprintf(want, sizeof want, "%s:9: [scenario a] out: only allowed in [global]", ini_path);
    cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
}
