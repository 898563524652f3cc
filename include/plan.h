/* plan: what to offer, validated and immutable once the run starts.
 *
 * config.c builds a plan from the INI file; plan_prepare() resolves each target once and compiles
 * each step's request; then the plan is only read (by every worker at once, without locks).
 * plan.c also owns the executors' arithmetic: how a scenario is split across workers and when
 * the k-th request of a worker is due. */
#ifndef BLAST_PLAN_H
#define BLAST_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http1.h"

typedef enum {
    PLAN_CONSTANT_ARRIVAL_RATE, /* open model: requests start at `rate`, whatever the latency */
    PLAN_CONSTANT_VUS,          /* closed model: `vus` users loop, each on its own connection */
    PLAN_RAMPING_ARRIVAL_RATE,  /* open model: the rate follows `stage` lines */
    PLAN_RAMPING_VUS,           /* closed model: the VU count follows `stage` lines */
    PLAN_PER_VU_ITERATIONS,     /* closed model: each of `vus` VUs runs `iterations` */
    PLAN_SHARED_ITERATIONS,     /* closed model: `vus` VUs run `iterations` in all */
    PLAN_CEILING,               /* open model: a search for the highest rate that holds the
                                   thresholds (ceiling.h); the main thread sets each step's rate */
} plan_executor;

#define PLAN_NEXECUTORS 7
/* k6's names: "constant-arrival-rate", ... */
extern const char *const plan_executor_names[PLAN_NEXECUTORS];

/* Open model: arrivals are started by the clock (constant or ramping arrival rate). */
#define PLAN_IS_ARRIVAL(e)                                                                         \
    ((e) == PLAN_CONSTANT_ARRIVAL_RATE || (e) == PLAN_RAMPING_ARRIVAL_RATE || (e) == PLAN_CEILING)

typedef enum {
    PLAN_ARRIVAL_UNIFORM, /* the k-th request is due at t0 + k / rate */
    PLAN_ARRIVAL_POISSON, /* exponential gaps with mean 1 / rate */
} plan_arrival;

struct tpl;
struct req_prog;
struct check;
struct extract_rule;
struct data_file;
struct ceiling_ctl;

/* executor = ceiling: the search's settings (config_exec.c checks them). The step times are
 * whole seconds: each step is judged on the live totals' one-second snapshot grid. */
typedef struct plan_ceiling {
    double start_rate, max_rate; /* the search range, per second */
    double min_rate;             /* the CI gate: a ceiling below it fails the run; 0: none */
    double precision;            /* stop when (fail - pass) / pass is at most this (0 < p <= 0.5) */
    uint64_t step_ns;            /* how long each rate is held (warm-up included) */
    uint64_t warm_ns;            /* the part of a step its verdict leaves out */
    uint64_t cool_ns;            /* no arrivals between two steps, so that queues drain */
    unsigned max_steps;          /* the most steps the search can take (ceiling_max_steps) */
    int line;                    /* of the executor line, for messages */
} plan_ceiling;

/* A `tag = key:value` line. */
typedef struct plan_tag {
    char *key, *value;
} plan_tag;

/* An `extract = NAME = SOURCE` line: the value goes into the VU's variable `var`. */
typedef struct plan_extract {
    uint32_t var;
    struct extract_rule *rule;
} plan_extract;

/* One HTTP request of a scenario's flow, compiled for that scenario (its variables and data
 * columns). A step is literal when its target, headers and body hold no {{ }}: it is then sent
 * as the precompiled bytes of req whenever the VU's cookie jar has nothing to add. */
/* What a WebSocket step expects back for each message it sends. */
typedef enum {
    PLAN_WS_EXPECT_NONE,      /* nothing: every sent message counts as unexpected (not judged) */
    PLAN_WS_EXPECT_ANY,       /* the next message from the server answers the oldest sent */
    PLAN_WS_EXPECT_CONTAINS,  /* the next message that contains text answers the oldest sent */
    PLAN_WS_EXPECT_JSON,      /* ... whose JSON value at path equals text */
    PLAN_WS_EXPECT_CORRELATE, /* the message whose value at path equals a sent one's answers it */
} plan_ws_expect;

/* A WebSocket step's session (config_ws.c): the upgrade is the step's request; then this. */
typedef struct plan_ws {
    struct tpl *t_send;    /* ws_send: the message template (NULL: send nothing) */
    bool binary;           /* ws_binary = on: binary frames, else text */
    uint64_t interval_ns;  /* ws_interval (or 1 / ws_rate): between intended sends */
    uint64_t messages;     /* ws_messages: per session (0: until the hold ends) */
    uint64_t hold_ns;      /* ws_hold: session length (0: until the server closes, or until
                              ws_messages are sent and answered) */
    uint64_t reply_timeout_ns;
    uint64_t ping_ns;      /* ws_ping: client ping interval (0: none) */
    uint64_t max_message;  /* ws_max_message: largest message accepted from the server */
    uint8_t expect;        /* plan_ws_expect */
    char *expect_text;     /* CONTAINS, JSON: the text (JSON: the value as text) */
    size_t expect_len;
    struct json_path *path; /* JSON, CORRELATE (json.h; a pointer so that plan.h needs no json.h) */
    uint32_t send_cap;     /* bytes a message expands to at most */
} plan_ws;

typedef struct plan_step {
    plan_ws *ws; /* a WebSocket step (ws:// url or ws_ keys), else NULL */
    char *name;     /* [step NAME], or METHOD + path template for a scenario's own request */
    int line;       /* of its [step] header (or the scenario's), for messages */
    char *method;   /* "GET", "POST", ... (upper case) */
    char *target;   /* origin-form request target "/path?query" (base_url path prefix applied) */
    char **headers; /* "Name: value", as written (templates inside) */
    size_t nheaders;
    char *body; /* NULL when there is none; may hold NUL bytes (from @file); a template's text
                   when body_tpl */
    size_t body_len;
    bool body_tpl;         /* the body holds {{ }} */
    bool chunked;          /* transfer_encoding = chunked */
    bool head;             /* HEAD: the response has no body */
    bool literal;          /* no {{ }} anywhere: req holds the whole request */
    http1_req req;         /* compiled by plan_prepare() (literal steps) */
    struct req_prog *prog; /* the request program, for templates and cookies */
    struct tpl *t_target;  /* target, headers and body compiled as templates (prog uses them) */
    struct tpl **t_headers;
    struct tpl *t_body;
    struct check **checks; /* `check =` lines */
    size_t nchecks;
    uint32_t check0;     /* index of checks[0] among the scenario's checks */
    bool status_checked; /* a status check replaces the default "200..399 is ok" rule */
    plan_extract *extracts;
    size_t nextracts;
    plan_tag *tags;
    size_t ntags;
    uint32_t keep_body; /* body bytes kept for checks and extraction; 0: the body is discarded */
    bool need_head;     /* header checks or extractions (cookies need the head too) */
    bool abort_on_fail; /* on_fail = abort: a failed request ends the iteration */
} plan_step;

/* A flow compiled to a flat program that flow.c runs for each iteration (see flow.h). */
typedef enum {
    PLAN_OP_STEP,   /* send step a */
    PLAN_OP_SLEEP,  /* think for a uniform time in [lo, hi] ns */
    PLAN_OP_PICK,   /* a weighted choice: the next a ops are PLAN_OP_BRANCH; lo = total weight */
    PLAN_OP_BRANCH, /* of a pick: cumulative weight lo, code at b */
    PLAN_OP_JUMP,   /* go to b */
    PLAN_OP_REPEAT, /* run the code up to the matching LOOP a times (a >= 1); its end at b */
    PLAN_OP_LOOP,   /* end of a repeat's body, which starts at b */
    PLAN_OP_END,    /* the iteration (or the setup) is over */
} plan_op_kind;

typedef struct plan_op {
    uint8_t kind;
    uint32_t a, b;
    uint64_t lo, hi;
} plan_op;

/* One `stage = DURATION -> TARGET` line of a ramping executor: the rate (per second) or the VU
 * count goes linearly from `from` (the previous stage's target, or start_rate / start_vus) to
 * `to` over dur_ns; a stage of 0 s is a step. */
typedef struct plan_stage {
    uint64_t start_ns; /* offset from the scenario's start */
    uint64_t dur_ns;
    double from, to;
    long double before; /* ramping-arrival-rate: arrivals due before its start (the integral of
                           the rate from the scenario's start to start_ns) */
    int line;
} plan_stage;

/* How a VU takes rows of the scenario's data file. */
typedef enum {
    PLAN_DATA_SEQUENTIAL, /* each iteration the next row of the scenario (seq % rows) */
    PLAN_DATA_RANDOM,     /* each iteration a random row */
    PLAN_DATA_PER_VU,     /* one row per VU for the whole run ((vu - 1) % rows) */
} plan_data_order;

/* TLS settings of an https:// scenario. */
typedef struct plan_tls {
    bool insecure;     /* insecure_skip_tls_verify: no certificate or host name check */
    bool resume;       /* tls_resume: resume sessions on reconnect (default true) */
    int min_version;   /* 12 or 13 */
    char *ca_file;     /* trust these CAs instead of the system's (absolute path) */
    char *client_cert; /* mutual TLS: certificate chain file and key file (absolute paths) */
    char *client_key;
    char *server_name; /* SNI and the name checked; default: the URL's host */
    char *ciphers;     /* wolfSSL/OpenSSL cipher list, NULL: fast defaults */
    char *curves;      /* "X25519:P-256", NULL: X25519 first */
} plan_tls;

typedef struct plan_scenario {
    char *name;
    int line; /* line of its [scenario NAME] header, for messages */
    plan_executor executor;
    plan_arrival arrival;
    double rate;              /* requests per second (arrival-rate executors; ramping: the
                                 highest rate of its stages) */
    uint64_t duration_ns;     /* how long iterations are started (ramping: the sum of the stages;
                                 the iteration executors: max_duration) */
    uint32_t vus;             /* closed model (ramping-vus: the most its stages ask for) */
    uint64_t start_time_ns;   /* the scenario starts this long after the run */
    uint64_t graceful_stop_ns;      /* after its end, how long iterations may finish; then they are
                                       cut and counted as interrupted */
    uint64_t graceful_ramp_down_ns; /* ramping-vus: how long a VU asked to stop may finish its
                                       iteration */
    uint64_t iterations;            /* per-vu-iterations: each VU's; shared-iterations: in all */
    plan_stage *stages;             /* ramping executors */
    size_t nstages;
    double start_value;             /* start_rate / start_vus */
    uint32_t max_connections; /* arrival-rate: VUs (each with its connection) at most: max_vus */
    uint32_t pre_connections; /* arrival-rate: connections opened before the clock starts */
    uint32_t max_queue;       /* arrival-rate: due requests that may wait for a connection; beyond,
                                 a due request is dropped */
    uint64_t pacing_resolution_ns; /* arrival-rate: 0 sends each request when due; R > 0 wakes
                                      only on multiples of R after the start and sends what has
                                      come due (up to R late, fewer wake-ups) */
    uint64_t connect_timeout_ns;
    uint64_t request_timeout_ns; /* from send to the end of the response */

    /* target, from base_url (global or per scenario) */
    bool tls; /* https:// */
    plan_tls tls_opts;
    char *host; /* as written in the URL, without brackets for IPv6 */
    uint16_t port;
    char *host_header;            /* "host" or "host:port" when not the default port */
    int url_line;                 /* where the URL was set, for messages: line, */
    const char *url_key;          /* "url" or "base_url", */
    bool url_global;              /* and whether in [global] */
    struct sockaddr_storage addr; /* filled by plan_prepare() */
    socklen_t addrlen;

    /* source_addresses: local addresses connections are bound to, round robin (port chosen by
     * the kernel at connect time), so more connections than one source port range allows can be
     * opened to one destination. NULL / 0: the kernel picks. Same family as addr. */
    struct sockaddr_storage *src;
    uint32_t nsrc;

    plan_step *steps; /* every step its flow and setup use */
    size_t nsteps;
    unsigned char *ws_step; /* per step: 1 for a WebSocket step (NULL: the scenario has none) */
    plan_op *ops; /* the flow of one iteration, ending in PLAN_OP_END */
    size_t nops;
    plan_op *setup; /* what each VU runs once before its first iteration (NULL: nothing) */
    size_t nsetup;
    bool simple;         /* one step, nothing else: a response never leads to another request */
    uint32_t first_step; /* the first step of the flow's text: where an iteration that never got
                            a VU (dropped, or its connection failed) is counted */

    char **vars; /* VU variable names: `repeat`, then every extracted name */
    uint32_t *var_max;
    size_t nvars;
    uint32_t max_var;       /* bytes a variable may hold (max_var_size) */
    struct data_file *data; /* `data = FILE`, or NULL */
    plan_data_order data_order;
    bool cookies;   /* a cookie jar per VU (cookies = on, the default) */
    size_t nchecks; /* checks over all steps */
    bool offered_fail;            /* offered_load = fail: the offered-load check fails the run */
    uint64_t offered_lateness_ns; /* send lateness p99 bound; 0: 10% of the mean gap, >= 1 ms */
    plan_tag *tags; /* the scenario's own tags (on every step) */
    size_t ntags;

    /* Connection controls: blast closes a connection where a response ends once one of them is
     * reached, and the next request opens a new one. Zero (as calloc leaves them) is keep-alive
     * without limits. */
    bool keepalive_off;             /* keepalive = off: one request per connection, each sent
                                       with Connection: close */
    uint32_t max_requests_per_conn; /* responses a connection carries at most (keepalive = off
                                       makes it 1); 0: no limit */
    uint64_t conn_lifetime_ns;      /* age (from its connect) after which a connection takes no
                                       more requests; 0: no limit */

    /* --segment: this process runs segment seg (0-based) of nseg exact shares of the scenario
     * (nseg 0 or 1: the whole). A segment is an outer level of the worker split: item j of the
     * scenario (an arrival, a VU, a {{ seq }} value) belongs to segment j % nseg. */
    uint32_t seg, nseg;

    /* executor = ceiling: its settings, and the block through which the main thread tells the
     * workers each step's rate (allocated with the plan; the only part of a scenario written
     * while the run is under way, through atomics). NULL for the other executors. */
    plan_ceiling ceil;
    struct ceiling_ctl *ctl;
} plan_scenario;

typedef struct plan {
    char *file;                /* the scenario file, for messages */
    unsigned workers;          /* worker threads (>= 1) */
    uint64_t graceful_stop_ns; /* [global] graceful_stop: each scenario's default, and what a
                                  Ctrl-C grants iterations in flight */
    plan_scenario *scenarios;
    size_t nscenarios;
    char *profile; /* the [profile NAME] that was laid over the scenarios, or NULL */
    struct plan_preflight *preflight; /* [preflight] (preflight.h), or NULL */
    struct threshold *thresholds;     /* threshold.h: [global]'s, then each scenario's */
    size_t nthresholds;
    char **outs; /* [global] out = KIND=FILE lines, as written */
    size_t nouts;
    uint32_t segment, segments; /* --segment: 0-based index and count (segments 0: none) */
    char fingerprint[65];       /* sha256 (hex) of what the run is made of: see segment.h */
} plan;

/* Frees a plan and everything it owns; NULL is accepted. */
void plan_free(plan *p);

/* Resolves every scenario's host (getaddrinfo, once; of several addresses, plan_pick_address's
 * choice) and compiles every step's request. Returns 0, or a negative errno-style code with a
 * one-line message in err ("FILE:LINE: [scenario NAME] base_url: cannot resolve host ..."). */
int plan_prepare(plan *p, char *err, size_t errlen);

/* The request a step of s describes, as http1_req_compile takes it (pointers into the plan). */
http1_req_spec plan_step_spec(const plan_scenario *s, const plan_step *st);

struct addrinfo;
/* Of a name's addresses, the first that accepts a TCP connection within min(timeout, 1 s), as
 * curl falls back from one to the next (localhost: ::1, then 127.0.0.1); the first when none
 * does. A single address is returned untried. */
const struct addrinfo *plan_pick_address(const struct addrinfo *res, uint64_t timeout_ns);

struct metrics_range;
/* The largest value each of s's histograms can meet (µs): latency (queueing + the whole run),
 * service time (request_timeout), send lateness (the run), TLS handshakes (connect_timeout;
 * 0 for http://). */
void plan_ranges(const plan *p, const plan_scenario *s, struct metrics_range *out);

/* The part of a scenario that worker w of n runs (of its segment, when the scenario is run in
 * segments: every field below is then the worker's part of the segment's part). */
typedef struct plan_share {
    double rate;       /* this worker's requests per second (rate / (nworkers * nseg)); 0 when it
                          takes no part (then max_connections, pre_connections and max_queue are
                          0 too) */
    double total;      /* the scenario's whole rate, which every share's schedule is cut from */
    uint32_t worker;   /* this worker's index */
    uint32_t nworkers; /* workers taking part in the scenario: all of them, except for an
                          arrival-rate scenario with fewer max_connections than workers */
    uint32_t seg, nseg; /* the segment (0-based) of nseg; 0, 1 when the scenario is whole */
    uint32_t vus;      /* this worker's VUs: vus / n, the first vus % n workers get one more */
    uint32_t max_connections; /* split the same way over the workers taking part */
    uint32_t pre_connections; /* split the same way, at most max_connections */
    uint32_t max_queue;       /* split the same way, at least 1 */
} plan_share;

/* Fills *out with worker w's share of s (w < n), of s's segment (s->seg of s->nseg). */
void plan_share_of(const plan_scenario *s, uint32_t w, uint32_t n, plan_share *out);

/* x split over n parts: part i gets x / n, and the first x % n parts one more (parts differ by
 * at most one and sum to x). */
uint64_t plan_split(uint64_t x, uint64_t i, uint64_t n);

/* The scenario-wide number of this worker's k-th item (k = 0, 1, ...: an arrival, a VU, an
 * iteration's {{ seq }}): (k * nworkers + worker) * nseg + seg. Workers interleave within a
 * segment and segments interleave within the scenario, so no two (segment, worker) pairs ever
 * share a number and together they take every one. */
static inline uint64_t plan_share_index(const plan_share *sh, uint64_t k)
{
    uint64_t n = sh->nworkers ? sh->nworkers : 1, ns = sh->nseg ? sh->nseg : 1;
    return (k * n + sh->worker) * ns + sh->seg;
}

/* The data-file row (of nrows >= 1) of scenario-wide item j (a {{ seq }} value, sequential
 * order; a VU number - 1, per_vu order) of segment j % nseg: row j while j < nrows, as in a
 * whole run; beyond, each segment wraps within its own rows (those congruent to it modulo nseg),
 * so no two segments read one row. With fewer rows than segments: j % nrows (rows are shared). */
uint64_t plan_data_row(uint64_t j, uint64_t nrows, uint32_t nseg);

/* The VUs of s's segment (all of them without segments): split so segments differ by one. */
uint32_t plan_segment_vus(const plan_scenario *s);
/* The iterations s's segment plans to run (per-vu-iterations and shared-iterations). */
uint64_t plan_segment_iterations(const plan_scenario *s);

/* Uniform arrival: nanoseconds after t0 at which worker sh->worker's k-th request (k = 0, 1, ...)
 * is due: arrival plan_share_index(sh, k) of the scenario at sh->total, so the workers of every
 * segment together offer exactly `rate`. Computed from k, never accumulated, so it does not drift. */
uint64_t plan_due_ns(const plan_share *sh, uint64_t k);

/* Ramping arrival rate: nanoseconds after the scenario's start at which the integral of the
 * rate reaches x (the x-th arrival of the scenario is due there, x = 0, 1, ...), UINT64_MAX when
 * it never does within the stages. *cursor (start at 0) is the stage the last call ended in;
 * calls with growing x move it forward only. */
uint64_t plan_ramp_due_ns(const plan_scenario *s, long double x, size_t *cursor);
/* The integral of a ramping scenario's rate from its start to t (arrivals due before t). */
long double plan_ramp_integral(const plan_scenario *s, uint64_t t_ns);
/* Ramping VUs: the VU count the stages ask for at t (ns after the scenario's start): the line
 * between two integers holds the count it left, so a ramp up from 0 to 10 over 10 s has 1 VU
 * from 1 s on and a ramp down from 10 to 0 has 9 from 1 s on. After the stages: 0. */
uint32_t plan_vus_at(const plan_scenario *s, uint64_t t_ns);
/* The first time after t at which plan_vus_at changes, UINT64_MAX when it never does. */
uint64_t plan_vus_next_change(const plan_scenario *s, uint64_t t_ns);
/* The stage that t (ns after the scenario's start) falls in: the last one that starts at or
 * before t and lasts (a 0 s stage holds no time); the last stage for t past the end. */
size_t plan_stage_at(const plan_scenario *s, uint64_t t_ns);
/* Fills in each stage's start_ns and before, and the scenario's duration, rate and vus from
 * its stages (config.c, once the stages are read and scaled). */
void plan_stages_finish(plan_scenario *s);

/* Poisson arrival: an exponentially distributed gap (mean 1 / sh->rate) in nanoseconds, drawn
 * from *rng (xorshift state, any nonzero seed), which it advances. */
uint64_t plan_poisson_gap_ns(const plan_share *sh, uint64_t *rng);

#endif
