/* metrics: what one worker records about one scenario, and how recorders are combined.
 *
 * A metrics_rec is owned and written by exactly one worker thread (plain fields, no atomics on
 * the hot path). Twice a second the worker copies a few counters into `live` with relaxed atomic
 * stores, which the main thread may read at any time for the progress line. The full recorders
 * (counters and histograms) are read only after the worker has been joined. */
#ifndef BLAST_METRICS_H
#define BLAST_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "hist.h"

/* Why a request failed. The JSON names are in metrics_fail_name(). */
typedef enum {
    METRICS_FAIL_CONNECT, /* no connection could be made for it */
    METRICS_FAIL_TIMEOUT, /* no complete response within request_timeout (or by the hard stop) */
    METRICS_FAIL_RESET,   /* the connection broke: reset, or closed before the response ended */
    METRICS_FAIL_TLS,
    METRICS_FAIL_PARSE,  /* the response was not valid HTTP/1.x */
    METRICS_FAIL_STATUS, /* a complete response with a status outside 200..399 */
    METRICS_FAIL_CHECK,
    METRICS_NFAIL
} metrics_fail;

/* Returns "connect", "timeout", ... for a class; "?" for an out-of-range value. */
const char *metrics_fail_name(metrics_fail f);

/* Plain counters. Invariant once a run has ended: scheduled == ok + failed + dropped, and
 * failed == the sum of fail[]. */
typedef struct metrics_counts {
    uint64_t scheduled, ok, failed, dropped;
    uint64_t fail[METRICS_NFAIL];
    uint64_t bytes_sent, bytes_received;
    uint64_t conns_opened;          /* connect attempts that succeeded */
    uint64_t conns_failed;          /* connect attempts that failed (refused, timed out, ...) */
    uint64_t conns_open;            /* open now */
    uint64_t conns_max_open;        /* most open at once (summed over workers when merged) */
    uint64_t conns_server_closed;   /* the server ended a keep-alive connection (reconnects) */
    uint64_t late_sends;            /* requests sent after they were due (queued or late timer) */
    uint64_t queue_max; /* most arrivals waiting for a VU at once (summed over workers) */
    uint64_t tls_full, tls_resumed; /* completed TLS handshakes, full and resumed */
    uint64_t conns_recycled; /* closed by blast at a limit: keepalive = off, max_requests_per_conn,
                                conn_lifetime (never counted as closed by the server) */
} metrics_counts;

/* Distinct TLS failure reasons with their counts (the first METRICS_TLS_REASONS kept; others are
 * counted under the last slot's "other reasons"). */
#define METRICS_TLS_REASONS 8
typedef struct metrics_reason {
    char text[128];
    uint64_t count;
} metrics_reason;

/* The counters the progress line shows, readable from another thread. */
typedef struct metrics_live {
    _Atomic uint64_t scheduled, ok, failed, dropped;
} metrics_live;

/* What was under way when a live snapshot was taken (see metrics_copy): set only in snapshots
 * and their merges, 0 in a worker's own recorder (so in the final report: nothing is under way
 * once the run has ended). */
typedef struct metrics_gauges {
    uint64_t vus_active; /* VUs in an iteration */
    uint64_t queued;     /* arrival-rate: arrivals waiting for a free VU */
} metrics_gauges;

/* Histograms keep 3 significant digits; each covers 0 µs up to the most its values can be. */
#define METRICS_HIST_SIGFIGS 3

/* The largest value (µs) each histogram of a recorder can meet, from the scenario's timeouts and
 * duration, so that no histogram spans more than it needs. handshake_us 0: no handshake
 * histogram (plain http://). */
typedef struct metrics_range {
    uint64_t latency_us, service_us, lateness_us, handshake_us, connect_us;
    uint64_t ws_us; /* 0: no WebSocket step; else the longest a session can last */
    /* With ws_us: per step, nonzero for a WebSocket step, which alone gets a ws block of its own
     * (NULL: every step gets one). Owned by the plan (plan_scenario.ws_step). */
    const unsigned char *ws_step;
} metrics_range;

/* Why a WebSocket session (or, for reply_timeout, a message) failed. Names: metrics_ws_fail_name. */
typedef enum {
    METRICS_WS_HANDSHAKE,     /* the upgrade was answered with a status other than 101 */
    METRICS_WS_ACCEPT,        /* 101 with a wrong or missing Sec-WebSocket-Accept */
    METRICS_WS_PROTOCOL,      /* the server broke RFC 6455 (class ws_protocol) */
    METRICS_WS_CLOSED,        /* the server closed before the session's hold ended */
    METRICS_WS_LOST,          /* the connection failed or was cut without a close handshake */
    METRICS_WS_REPLY_TIMEOUT, /* messages: no expected reply within reply_timeout */
    METRICS_WS_NFAIL
} metrics_ws_fail;

const char *metrics_ws_fail_name(metrics_ws_fail f);

#define METRICS_WS_CODES 8 /* distinct close codes kept (the rest under code 0) */

/* A scenario's WebSocket sessions. Invariants once a run has ended: msgs_sent == replied +
 * timed_out + cut + unexpected (unexpected: messages sent when no reply is expected), sessions ==
 * sessions_ok + sessions_failed, and sessions_failed == the sum of fail[] but
 * fail[METRICS_WS_REPLY_TIMEOUT] (which counts messages: it equals timed_out). */
typedef struct metrics_ws_counts {
    uint64_t handshakes, sessions, sessions_ok, sessions_failed;
    uint64_t msgs_sent, msgs_received;
    uint64_t replied, timed_out, cut, unexpected;
    uint64_t pings_received, pongs_sent, pings_sent, pongs_received;
    uint64_t closed_by_server, closed_by_client;
    uint64_t fail[METRICS_WS_NFAIL];
} metrics_ws_counts;

typedef struct metrics_ws {
    metrics_ws_counts c;
    uint64_t code[METRICS_WS_CODES], code_n[METRICS_WS_CODES]; /* close codes the server sent */
    hist *msg_latency; /* µs from a message's intended send to its expected reply (corrected) */
    hist *msg_service; /* µs from its actual send to the reply (uncorrected) */
    hist *connecting;  /* µs of each handshake (upgrade sent to 101) */
    hist *session;     /* µs from each session's open to its end */
    hist *ping;        /* µs of each client ping's round trip */
} metrics_ws;

/* Used by metrics.c on a recorder's ws block (src/metrics_ws.c): make (0 or -ENOMEM), free
 * (NULL accepted), empty, copy, subtract and add, as the metrics_rec functions of those names. */
int metrics_ws_new(metrics_ws **w, const metrics_range *rg);
void metrics_ws_free(metrics_ws *w);
void metrics_ws_reset(metrics_ws *w);
int metrics_ws_copy(metrics_ws *dst, const metrics_ws *src);
int metrics_ws_sub(metrics_ws *dst, const metrics_ws *src);
int metrics_ws_merge(metrics_ws *dst, const metrics_ws *src);

/* Counts one close code the server sent (_n: n of them, as a merge of results does). */
void metrics_ws_code(metrics_ws *w, unsigned code);
void metrics_ws_code_n(metrics_ws *w, unsigned code, uint64_t n);

/* What one step of a scenario's flow recorded. */
typedef struct metrics_step {
    uint64_t scheduled, ok, failed;
    uint64_t fail[METRICS_NFAIL];
    uint64_t bytes_sent, bytes_received;
    uint64_t status[6]; /* complete responses by status class: [1] 1xx .. [5] 5xx, [0] others */
    hist *latency; /* µs from the intended start to the end of the response (corrected) */
    hist *service; /* µs from the actual send to the end of the response (uncorrected) */
    metrics_ws *ws; /* a WebSocket step's sessions (what ws_session.c records); else NULL */
} metrics_step;

/* Iterations of a scenario. Invariant once a run has ended: scheduled == completed + failed +
 * interrupted + dropped. */
typedef struct metrics_iter {
    uint64_t scheduled, completed, failed, interrupted, dropped;
} metrics_iter;

typedef struct metrics_check {
    uint64_t passes, fails;
} metrics_check;

/* What the arrivals due in one stage of a ramping-arrival-rate scenario met. */
typedef struct metrics_stage {
    uint64_t scheduled; /* arrivals due in the stage */
    hist *lateness;     /* µs from the intended start to the send, requests due in the stage */
} metrics_stage;

typedef struct metrics_rec {
    metrics_counts c; /* the scenario's requests (the sum of its steps' plus dropped), conns */
    metrics_iter it;
    /* The scenario's latency and service time over all its steps: made by metrics_finish from
     * the steps' histograms (NULL before). */
    hist *latency;
    hist *service;
    hist *lateness;  /* µs from the intended start to the actual send, every request */
    hist *handshake; /* µs of each completed TLS handshake; NULL for plain http:// */
    hist *connecting; /* µs of each TCP connect that succeeded */
    hist *iteration; /* µs from an iteration's intended start to the end of its last step */
    metrics_step *steps;
    size_t nsteps;
    metrics_check *checks; /* by the scenario's check index (plan_step.check0 + i) */
    size_t nchecks;
    metrics_stage *stages; /* ramping-arrival-rate: per stage (NULL, 0 otherwise) */
    size_t nstages;
    metrics_range range;
    metrics_reason tls_reasons[METRICS_TLS_REASONS];
    metrics_gauges g;
    metrics_live live;
    metrics_ws *ws; /* scenarios with a WebSocket step (range.ws_us), else NULL: the sum of its
                       steps' ws blocks, made by metrics_finish (empty before) */
} metrics_rec;

/* Prepares an empty recorder for nsteps steps and nchecks checks whose histograms cover the
 * ranges in rg (each at least 1 s). Histogram memory becomes resident only where values land.
 * Returns 0 or -ENOMEM (r then holds nothing to free). */
int metrics_rec_init(metrics_rec *r, const metrics_range *rg, size_t nsteps, size_t nchecks);

/* Adds per-stage records for n stages (ramping-arrival-rate). Returns 0 or -ENOMEM. */
int metrics_rec_stages(metrics_rec *r, size_t n);

/* After every worker's recorder has been merged into r: makes r's scenario-wide latency and
 * service histograms from its steps' (added to what they hold), and r's ws block from its steps'
 * (replacing what it held). Returns 0 or -ENOMEM. */
int metrics_finish(metrics_rec *r);

/* Empties r (counters, gauges, reasons and every histogram, which keep their layout). */
void metrics_rec_reset(metrics_rec *r);

/* Makes dst (prepared like src: the same ranges, steps, checks and stages, by metrics_rec_init
 * and metrics_rec_stages) an exact copy of src's counters, gauges and histograms; src's
 * scenario-wide latency and service are copied only when dst has them (metrics_finish). Never allocates. Returns 0 or -EINVAL
 * (the shapes differ; dst is then partly copied). */
int metrics_copy(metrics_rec *dst, const metrics_rec *src);

/* dst -= src, for src an earlier copy of the same recorder (or of its merges): what happened in
 * between. Gauges (conns_open, conns_max_open, g) stay dst's: they are "now", not sums. TLS
 * reasons are subtracted by text. Returns 0 or -EINVAL (src is not contained in dst). */
int metrics_sub(metrics_rec *dst, const metrics_rec *src);

/* Frees what r holds (r itself is the caller's); a zeroed or freed r is accepted. */
void metrics_rec_free(metrics_rec *r);

/* Counts one TLS failure under its reason. Not on the hot path (failures only). */
void metrics_tls_reason(metrics_rec *r, const char *reason, uint64_t count);

/* Worker side: publishes the progress counters. */
void metrics_publish(metrics_rec *r);

/* Any thread: reads the last published progress counters of r. */
void metrics_read_live(const metrics_rec *r, metrics_counts *out);

/* After the workers are joined: adds src's counters and histograms into dst (conns_max_open is
 * summed: each worker has its own connections). Returns 0 or -EINVAL (a histogram of src spans
 * more than dst's, or dst lacks one src has). */
int metrics_merge(metrics_rec *dst, const metrics_rec *src);

#endif
