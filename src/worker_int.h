/* worker_int: the types worker.c (the loop, schedules, connections) and vu.c (what a VU does
 * within an iteration) share; not a public header.
 *
 * A VU is its connection slot: VU i of a scenario owns connection s->first + i of the worker's
 * table, one deadline in the worker's heap (a connect or request timeout, or the end of a think
 * time) and a slice of the scenario's VU block (variables, cookie jar, request buffer, the
 * spill buffer for response heads and the kept body). */
#ifndef BLAST_WORKER_INT_H
#define BLAST_WORKER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "cookie.h"
#include "dheap.h"
#include "extract.h"
#include "flow.h"
#include "template.h"
#include "tribuf.h"
#include "worker.h"

#define NOT_IDLE UINT32_MAX
#define VU_SPILL (16u * 1024) /* a response head that spans receives is gathered here */

typedef struct wvu {
    uint32_t number;     /* the VU's number in its scenario, 1-based ({{ vu }}) */
    bool active;         /* in an iteration (or its setup) */
    bool in_setup;       /* running the scenario's setup part */
    bool setup_done;     /* the setup part has run to its end */
    bool failed;         /* a request of this iteration failed */
    bool pending;        /* step is due but waits for the connection */
    bool thinking;       /* its deadline ends a think time */
    bool busy;           /* step's request is on the connection */
    bool responded;      /* the iteration's (last) request got a response, recorded as latency */
    bool restart;        /* its deadline hands it to worker_vu_done (an iteration that ended in the
                            loop pass it started in: no I/O was waited for) */
    bool retiring;       /* ramping-vus: asked to stop; its iteration may end until cut_at */
    bool retired;        /* closed model: starts no more iterations (its connection is closed) */
    bool wsess;          /* in a WebSocket session (ws_session.c owns its deadline) */
    uint64_t cut_at;     /* retiring: when its iteration is cut */
    uint64_t started_at; /* the loop pass (clock reading) its iteration started in */
    uint32_t step;       /* the step due or in flight */
    flow_cursor cur;
    uint64_t iter;   /* iterations this VU has started ({{ iter }} is the current one's) */
    uint64_t seq;    /* the current iteration's number in the scenario ({{ seq }}) */
    uint64_t t_iter; /* intended start of the current iteration */
    uint64_t t_due;  /* intended start of the current step */
    uint64_t rng;
    uint32_t head_len; /* bytes of the current response's head kept in spill (0: none) */
    http1_req req;     /* a request built for this VU (req_build) */
    tpl_str *vars;     /* into the VU's slice: nvars values */
    tpl_str *cols;     /* the current data row */
    char *varbuf;      /* short values of variables 1.. (VAR_INLINE bytes each, in the slice) */
    char *varbig;      /* long values of variables 1.. (max_var bytes each; NULL: none) */
    char repeat[12];   /* variable 0, {{ repeat }}, as text */
    cookie_jar *jar;   /* NULL when cookies are off */
    char *reqbuf; /* in the slice: most requests fit (reqcap bytes) */
    uint32_t reqcap;
    char *bigreq; /* in the overflow area, bigcap (the step's longest) bytes; NULL: none */
    uint32_t bigcap;
} wvu;

/* What a VU's templates see: its number, iteration, seq, random state, variables and row. */
static inline tpl_env wvu_env(wvu *v)
{
    return (tpl_env){.vu = v->number,
                     .iter = v->iter - 1,
                     .seq = v->seq,
                     .rng = &v->rng,
                     .vars = v->vars,
                     .cols = v->cols};
}

/* One scenario as this worker runs it. */
typedef struct wscen {
    const plan_scenario *s;
    bool vus; /* closed model */
    plan_share sh;
    metrics_rec m;
    uint32_t first, count; /* its slice of the worker's connection table (= its VUs) */
    wvu *vu;               /* count VUs */
    uint32_t *idle;        /* arrival model: free VUs whose connection is idle (a stack) */
    uint32_t nidle;
    uint32_t nopen; /* connections connecting or connected */
    uint32_t nconnecting;
    uint32_t nbusy;   /* requests on connections */
    uint32_t nactive; /* VUs in an iteration */
    uint64_t *q;      /* intended starts of arrivals waiting for a VU (a ring) */
    uint32_t qhead, qlen, qcap;
    uint64_t k;        /* number of the next arrival */
    uint64_t next_due; /* absolute time it is due */
    uint64_t start;    /* absolute time the scenario starts (the run's start + start_time) */
    uint64_t end;      /* absolute time iterations stop being started */
    uint64_t hard;     /* absolute time iterations still in flight are cut (end + graceful_stop) */
    bool begun;        /* its start has come (or the run was stopped before it) */
    bool cut;          /* its hard stop has been applied */
    size_t cursor;     /* ramping-arrival-rate: the stage of the next arrival */
    long double x;     /* ramping-arrival-rate: the integral at which the next arrival is due */
    uint32_t want;     /* closed model: VUs that should be running (ramping-vus: now) */
    uint32_t nretired; /* closed model: VUs that start no more iterations */
    uint64_t next_change; /* ramping-vus: when want changes next (absolute; UINT64_MAX: never) */
    uint64_t next_cut;    /* ramping-vus: the earliest cut_at of a retiring VU (UINT64_MAX) */
    uint64_t left;        /* shared-iterations: iterations this worker may still start */
    /* ceiling: the step being offered, as last read from the plan's control block */
    uint64_t c_seq;     /* the block's sequence number when read */
    uint64_t c_k0;      /* s->k at the step's start: its arrivals are numbered from there */
    double c_rate;      /* the step's rate (whole scenario); 0: between steps */
    uint64_t c_from, c_until; /* absolute: its arrivals are due in [c_from, c_until) */
    uint64_t started;  /* iterations this worker has started ({{ seq }}: plan_share_index) */
    uint64_t rng;
    uint32_t next_src; /* round robin over source_addresses */
    tls_ctx *tls;      /* https:// scenarios: this worker's TLS settings and session */
    bool scheduling;
    /* Its connections with a request on them, oldest first: every request's timeout is its send
     * plus the same request_timeout, so the list is in deadline order and the earliest is at
     * the head (O(1) where the heap would take O(log n) twice per request). */
    uint32_t tq_head, tq_tail;
    char *block; /* the VUs' slices (see vu.c) */
    size_t slot, block_len;
    char *big, *jars; /* long variable values, cookie jars: per VU, resident where used */
    size_t big_len, jars_len;
    conn_pool pool; /* kept bodies and heads, lent per response */
    size_t pool_len;
    struct wss_block *ws; /* WebSocket session state of its VUs (ws_session.c); NULL: none */
} wscen;

struct worker {
    worker_shared *sh;
    uint32_t index;
    pthread_t thread;
    bool started;
    int err;
    char errmsg[256];
    int wakefd;       /* eventfd: written by worker_wake, read through the ring */
    uint64_t wakebuf; /* the eventfd's counter, read into here */
    conn_io io;
    conn *conns;
    uint32_t *idle_pos; /* per connection: its place in its scenario's idle stack, or NOT_IDLE */
    uint32_t nconns;
    dheap timers; /* per connection (= VU): its connect or request timeout, or think end */
    wscen *sc;
    size_t nsc;
    extract_scratch *xs; /* regex match data for extractions and checks */
    char *xbuf;          /* an extracted value, before it goes to its VU (the largest max_var) */
    char cookie[4096];   /* the Cookie header being built */
    uint64_t t0, hard_stop, next_publish, finished;
    uint64_t run_delay_ns; /* schedstat's run delay when the loop ended (worker_run_delay_ns) */
    /* Live snapshots (worker_live_init): three areas of one recorder copy per scenario, handed
     * between the worker (writer) and the main thread (reader) by a triple buffer (tribuf.h). */
    metrics_rec *snap[3]; /* NULL: no snapshots */
    uint64_t snap_at[3];  /* when each area was written (absolute ns; 0: never) */
    tribuf snap_x;
    uint64_t next_snap; /* the next grid point (absolute ns) */
};

static inline uint64_t to_us(uint64_t ns)
{
    return (ns + 500) / 1000;
}

static inline void count_fail(wscen *s, metrics_step *st, metrics_fail f)
{
    s->m.c.failed++;
    s->m.c.fail[f]++;
    st->failed++;
    st->fail[f]++;
}

/* A connection's (and its VU's) one deadline: a connect timeout, a think time's end or a
 * deferred restart, kept in the heap; 0 clears any deadline, also a request timeout. */
void worker_set_deadline(worker *w, conn *c, uint64_t when);
/* c's request timeout: now + the scenario's request_timeout, at the end of its list. */
void worker_request_timeout(worker *w, wscen *s, conn *c, uint64_t when);
/* Sends v's pending step on its idle connection, or opens the connection for it. In worker.c. */
void worker_vu_connect(worker *w, wscen *s, wvu *v, uint64_t now);
/* Closes c, idle but past its conn_lifetime, before its VU's next request: blast's own close
 * (counted as recycled). In worker.c. */
void worker_recycle(worker *w, wscen *s, conn *c, uint64_t now);
/* v has ended an iteration (arrival model: it is free again, or takes the next arrival; closed
 * model: it starts the next one). In worker.c. */
void worker_vu_done(worker *w, wscen *s, wvu *v, uint64_t now);

/* Closes c on blast's own account (not the server's), with conn_gone's bookkeeping; nothing
 * when it is closed already. In worker.c. */
void worker_drop_conn(worker *w, wscen *s, conn *c, uint64_t now);
/* The arrival queue (open model), in worker.c: a free VU, an arrival that never got one
 * (f: why it failed, METRICS_NFAIL: dropped), the oldest queued one lost, connections for the
 * queue. */
wvu *worker_idle_pop(worker *w, wscen *s);
void worker_arrival_lost(wscen *s, metrics_fail f);
void worker_queue_fail_one(wscen *s, metrics_fail f);
void worker_open_for_queue(worker *w, wscen *s, uint64_t now);
/* Copies every scenario's recorder into the worker's snapshot area and publishes it (worker.c).
 * Never waits. */
void worker_snapshot(worker *w, uint64_t now);
/* The worker's thread (worker.c): TLS contexts, ring and pre-connect, the barriers, the loop.
 * worker_setup.c makes the worker and starts it. */
void *worker_thread(void *arg);

/* ---- wsched.c: when each scenario starts iterations, per executor ---- */

/* The scenario's start has come: arrivals are scheduled from now, VUs start. */
void sched_begin(worker *w, wscen *s, uint64_t now);
/* Starts every arrival of s due by now (open model); ramping-vus: follows the stages. Returns
 * the next time s needs the loop (absolute; UINT64_MAX: none before its end). */
uint64_t sched_tick(worker *w, wscen *s, uint64_t now);
/* Closed model: v's iteration has ended; it starts the next one or retires. */
void sched_vu_next(worker *w, wscen *s, wvu *v, uint64_t now);
/* The scenario's hard stop: queued arrivals dropped, iterations in flight interrupted and their
 * connections closed. */
void sched_cut(worker *w, wscen *s, uint64_t now);
/* This worker's share of a shared-iterations scenario: its VUs' parts of the total. */
uint64_t sched_shared_share(const wscen *s);

/* ---- vu.c ---- */

/* Lays out and maps the scenario's VU blocks (slices, overflow values, cookie jars, the keep
 * pool) for its s->count VUs (0 or -ENOMEM; vu_blocks_free undoes either), then points each VU
 * and its connection at its parts; before the run. */
int vu_blocks_init(wscen *s);
void vu_blocks_free(wscen *s);
void vu_bind(wscen *s, uint32_t i, uint32_t number);
/* Points connection c (VU i's) at its VU's spill and body buffers. */
void vu_bind_conn(wscen *s, uint32_t i, conn *c);

/* Starts an iteration on a free VU, intended to start at due. */
void vu_start(worker *w, wscen *s, wvu *v, uint64_t due, uint64_t now);
/* Runs v's flow from where it is (the next step due at `due`) until it sends, thinks or ends. */
void vu_advance(worker *w, wscen *s, wvu *v, uint64_t due, uint64_t now);
/* Sends v's step on its idle connection c. */
void vu_send(worker *w, wscen *s, wvu *v, conn *c, uint64_t now);
/* The response to v's step ended (c->resp holds it): checks, extraction, accounting, next. */
void vu_response(worker *w, wscen *s, wvu *v, conn *c, uint64_t now);
/* v's step failed with class f (the connection, the request or its build): accounting, next.
 * when: when it failed (the next step is due then). */
void vu_failed(worker *w, wscen *s, wvu *v, metrics_fail f, uint64_t when, uint64_t now);
/* The hard stop cuts v's iteration (its request, if any, counted as a timeout). */
void vu_interrupt(worker *w, wscen *s, wvu *v);
/* conn_io.on_head: cookies, and the head kept for checks that read it. */
void vu_on_head(void *ctx, conn *c, const char *head, size_t len);

/* After a step: on to the next, unless abort (or a one-step flow) ends the iteration. In vu.c. */
void vu_next(worker *w, wscen *s, wvu *v, bool abort, uint64_t when, uint64_t now);

/* ---- ws_session.c: WebSocket steps ---- */

/* The scenario's session state for its VUs, when a step is a WebSocket step (0 or -ENOMEM);
 * wss_free accepts NULL. */
int wss_init(wscen *s);
void wss_free(wscen *s);
/* v's WebSocket step is about to send its upgrade (built in v->req): a fresh key goes into it. */
void wss_prepare(worker *w, wscen *s, wvu *v);
/* The head of the answer to the upgrade (from vu_on_head): the accept key is checked and, for a
 * good 101, the session opened so that frames right behind the head are read. */
void wss_on_head(worker *w, wscen *s, wvu *v, conn *c, const char *head, size_t len);
/* The upgrade was answered (vu_response): the session starts, or the step fails. */
void wss_handshake(worker *w, wscen *s, wvu *v, conn *c, uint64_t now);
/* conn_io.on_ws: bytes of a session. */
void wss_on_data(void *ctx, conn *c, const char *data, size_t len, uint64_t now);
/* v's deadline passed while in a session (expire). */
void wss_timer(worker *w, wscen *s, wvu *v, conn *c, uint64_t now);
/* v's session connection closed under it (the server's EOF, a failed send or receive). */
void wss_lost(worker *w, wscen *s, wvu *v, uint64_t now);
/* The run's hard stop interrupts v's session: its outstanding messages are cut. */
void wss_cut(wscen *s, wvu *v, uint64_t now);
/* v's WebSocket step failed before a session opened (connect, timeout, reset...). */
void wss_step_failed(wscen *s, wvu *v, bool sent);

#endif
