/* worker: the per-core event loop (see worker.h).
 *
 * Each loop pass: read the clock once, start every iteration that has come due (or queue it),
 * open connections the queue needs, handle the deadlines that have passed (timeouts, think
 * times), then hand all queued SQEs to the kernel and wait for completions or the next deadline
 * in one io_uring_enter. What a VU does within an iteration is vu.c's.
 *
 * Invariant (accounting): every iteration counted in `it.scheduled` is, at any moment, exactly
 * one of: in the queue, on an active VU, or counted as completed / failed / interrupted /
 * dropped; every request counted in `scheduled` is on an active VU (pending or busy) or counted
 * as ok / failed / dropped. At the end the queue is empty and no VU is active. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "mem.h"
#include "schedstat.h"
#include "tls.h"
#include "worker_int.h"

#define RING_ENTRIES 4096
/* Receive buffers: the kernel takes them from its ring in order and they come back to its tail,
 * so every buffer of the pool is touched (made resident) sooner or later. The pool is sized by
 * what can be in flight at once, about one buffer per connection with data: 2 per connection,
 * 64 to 1024 buffers, of at most 2 MiB in all (8 KiB each up to 256 buffers, 2 KiB at 1024). */
#define RECV_BUFS_MIN 64
#define RECV_BUFS_MAX 1024
#define RECV_POOL (2u * 1024 * 1024)
#define PUBLISH_EVERY_NS (500 * NS_PER_MS)
/* A lazy wait still returns once this many completions are ready (well inside the CQ ring). */
#define LAZY_WAIT 4096
/* Only sleeps at least this long are lazy (see run). */
#define LAZY_MIN_SLEEP_NS (50 * NS_PER_US)
/* The eventfd read that wakes a worker when the run is stopped (see worker_wake). */
#define WAKE_UD conn_ud_pack(CONN_OP_CANCEL + 1, 0, 0)
/* A live snapshot the main thread was reading is tried again this much later. */
/* A deferred restart (wvu.restart) waits this long: past the current loop pass. */
#define RESTART_NS 1000

static void tq_unlink(worker *w, wscen *s, conn *c)
{
    if (c->tq_prev != NOT_IDLE)
        w->conns[c->tq_prev].tq_next = c->tq_next;
    else
        s->tq_head = c->tq_next;
    if (c->tq_next != NOT_IDLE)
        w->conns[c->tq_next].tq_prev = c->tq_prev;
    else
        s->tq_tail = c->tq_prev;
    c->in_tq = false;
}

void worker_set_deadline(worker *w, conn *c, uint64_t when)
{
    if (c->in_tq) {
        tq_unlink(w, &w->sc[c->owner], c);
        c->deadline = 0;
    }
    if (when == c->deadline)
        return;
    c->deadline = when;
    if (when)
        dheap_set(&w->timers, c->idx, when);
    else
        dheap_del(&w->timers, c->idx);
}

void worker_request_timeout(worker *w, wscen *s, conn *c, uint64_t when)
{
    if (c->in_tq)
        tq_unlink(w, s, c);
    else if (c->deadline)
        dheap_del(&w->timers, c->idx); /* a connect or think deadline before it */
    c->deadline = when;
    c->in_tq = true;
    c->tq_next = NOT_IDLE;
    c->tq_prev = s->tq_tail;
    if (s->tq_tail != NOT_IDLE)
        w->conns[s->tq_tail].tq_next = c->idx;
    else
        s->tq_head = c->idx;
    s->tq_tail = c->idx;
}

/* The earliest deadline of the worker: the heap's or a scenario's oldest request. */
static uint64_t next_deadline(const worker *w)
{
    uint64_t t = dheap_min_key(&w->timers);
    for (size_t i = 0; i < w->nsc; i++)
        if (w->sc[i].tq_head != NOT_IDLE && w->conns[w->sc[i].tq_head].deadline < t)
            t = w->conns[w->sc[i].tq_head].deadline;
    return t;
}

static inline wvu *vu_of(wscen *s, const conn *c)
{
    return &s->vu[c->idx - s->first];
}

static void idle_push(worker *w, wscen *s, conn *c)
{
    w->idle_pos[c->idx] = s->nidle;
    s->idle[s->nidle++] = c->idx;
}

wvu *worker_idle_pop(worker *w, wscen *s)
{
    uint32_t idx = s->idle[--s->nidle];
    w->idle_pos[idx] = NOT_IDLE;
    return vu_of(s, &w->conns[idx]);
}

static void idle_remove(worker *w, wscen *s, conn *c)
{
    uint32_t pos = w->idle_pos[c->idx];
    if (pos == NOT_IDLE)
        return;
    uint32_t last = s->idle[--s->nidle];
    s->idle[pos] = last;
    w->idle_pos[last] = pos;
    w->idle_pos[c->idx] = NOT_IDLE;
}

/* Opens c's connection. Returns false when no socket could be made (the caller decides what
 * fails). */
static bool open_conn(worker *w, wscen *s, conn *c, uint64_t now)
{
    const struct sockaddr *src = NULL;
    socklen_t srclen = 0;
    if (s->s->nsrc) {
        /* Round robin over the source addresses. */
        const struct sockaddr_storage *ss = &s->s->src[s->next_src++ % s->s->nsrc];
        src = (const struct sockaddr *)ss;
        srclen =
            ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    }
    int rc = conn_connect(c, &w->io, (const struct sockaddr *)&s->s->addr, s->s->addrlen, src,
                          srclen, now);
    if (rc < 0) {
        s->m.c.conns_failed++;
        return false;
    }
    s->nopen++;
    s->nconnecting++;
    worker_set_deadline(w, c, now + s->s->connect_timeout_ns);
    return true;
}

void worker_vu_connect(worker *w, wscen *s, wvu *v, uint64_t now)
{
    conn *c = &w->conns[s->first + (uint32_t)(v - s->vu)];
    if (!open_conn(w, s, c, now))
        vu_failed(w, s, v, METRICS_FAIL_CONNECT, now, now);
}

/* An arrival that never got a VU fails (its connection could not be made) or is dropped:
 * counted as one request of the flow's first step. */
void worker_arrival_lost(wscen *s, metrics_fail f)
{
    metrics_step *st = &s->m.steps[s->s->first_step];
    s->m.c.scheduled++;
    st->scheduled++;
    if (f == METRICS_NFAIL) {
        s->m.c.dropped++;
        s->m.it.dropped++;
    } else {
        count_fail(s, st, f);
        s->m.it.failed++;
    }
}

void worker_queue_fail_one(wscen *s, metrics_fail f)
{
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    worker_arrival_lost(s, f);
}

/* Open model: a free VU whose connection is closed, or NULL. */
static conn *free_slot(worker *w, wscen *s)
{
    for (uint32_t i = 0; i < s->count; i++) {
        conn *c = &w->conns[s->first + i];
        if (c->state == CONN_CLOSED && !s->vu[i].active)
            return c;
    }
    return NULL;
}

/* Open model: makes sure every queued arrival has a connection on its way, within the limit. */
void worker_open_for_queue(worker *w, wscen *s, uint64_t now)
{
    while (s->qlen > s->nconnecting && s->nopen < s->sh.max_connections) {
        conn *c = free_slot(w, s);
        if (!c)
            return;
        if (!open_conn(w, s, c, now))
            worker_queue_fail_one(s, METRICS_FAIL_CONNECT); /* no socket: the arrival fails now */
    }
}

/* The oldest queued arrival's intended start (the queue is not empty); it starts late. */
static uint64_t queue_pop(wscen *s)
{
    uint64_t due = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    s->m.c.late_sends++;
    return due;
}

/* A free VU's connection is idle: it takes the oldest queued arrival, or waits (open model). */
static void free_vu_ready(worker *w, wscen *s, conn *c, uint64_t now)
{
    if (s->vus) /* closed model: VUs start at t0 and loop; before t0 they just wait */
        return;
    if (s->qlen)
        vu_start(w, s, vu_of(s, c), queue_pop(s), now);
    else
        idle_push(w, s, c);
}

void worker_vu_done(worker *w, wscen *s, wvu *v, uint64_t now)
{
    conn *c = &w->conns[s->first + (uint32_t)(v - s->vu)];
    /* An iteration that ended in the loop pass it began (it failed before waiting for anything)
     * is followed up in a later pass: an endless run of such iterations must not recurse. */
    if (v->started_at == now && (s->vus ? s->scheduling : s->qlen > 0)) {
        v->restart = true;
        worker_set_deadline(w, c, now + RESTART_NS);
        return;
    }
    if (s->vus) {
        sched_vu_next(w, s, v, now);
        return;
    }
    if (s->qlen) {
        vu_start(w, s, v, queue_pop(s), now);
    } else if (c->state == CONN_IDLE) {
        idle_push(w, s, c);
    }
}

/* Bookkeeping after a connection closed (for whatever reason). */
static void conn_gone(worker *w, wscen *s, conn *c, bool was_connected, bool by_server,
                      uint64_t now)
{
    wvu *v = vu_of(s, c);
    idle_remove(w, s, c);
    if (!v->thinking && !v->restart)
        worker_set_deadline(w, c, 0);
    s->nopen--;
    if (was_connected)
        s->m.c.conns_open--;
    if (by_server)
        s->m.c.conns_server_closed++;
    if (!s->vus && !v->active)
        worker_open_for_queue(w, s, now);
}

void worker_drop_conn(worker *w, wscen *s, conn *c, uint64_t now)
{
    if (c->state == CONN_CLOSED)
        return;
    bool connected = conn_connected(c);
    if (c->state == CONN_CONNECTING)
        s->nconnecting--;
    conn_close(c, &w->io);
    conn_gone(w, s, c, connected, false, now);
}

void worker_recycle(worker *w, wscen *s, conn *c, uint64_t now)
{
    conn_close(c, &w->io);
    s->m.c.conns_recycled++;
    conn_gone(w, s, c, true, false, now);
}

static void connect_failed(worker *w, wscen *s, conn *c, metrics_fail f, const char *why,
                           uint64_t now)
{
    wvu *v = vu_of(s, c);
    s->nconnecting--;
    s->m.c.conns_failed++;
    if (f == METRICS_FAIL_TLS && why)
        metrics_tls_reason(&s->m, why, 1);
    conn_gone(w, s, c, false, false, now);
    /* The connection was opened for a VU's step (that step fails) or, open model, for a queued
     * arrival (the oldest one fails). */
    if (v->active && v->pending)
        vu_failed(w, s, v, f, now, now);
    else if (!v->active && !s->vus && s->qlen)
        worker_queue_fail_one(s, f);
}

/* Reads the wake eventfd through the ring: its completion ends any wait (worker_wake). */
static void arm_wake(worker *w)
{
    struct io_uring_sqe *sqe = conn_io_sqe(&w->io);
    io_uring_prep_read(sqe, w->wakefd, &w->wakebuf, sizeof(w->wakebuf), 0);
    io_uring_sqe_set_data64(sqe, WAKE_UD);
}

static void handle_cqe(worker *w, const struct io_uring_cqe *cqe, uint64_t now)
{
    uint64_t ud = cqe->user_data;
    if (ud == WAKE_UD) {
        arm_wake(w); /* stop is read at the top of the loop */
        return;
    }
    unsigned op = conn_ud_op(ud);
    if (op == CONN_OP_CANCEL || op == 0)
        return;
    uint32_t idx = conn_ud_idx(ud);
    if (idx >= w->nconns) {
        conn_io_recycle(&w->io, cqe);
        return;
    }
    conn *c = &w->conns[idx];
    if (conn_ud_gen(ud) != c->gen || c->state == CONN_CLOSED) {
        conn_io_recycle(&w->io, cqe); /* a late completion of a closed connection */
        return;
    }
    wscen *s = &w->sc[c->owner];
    wvu *v = vu_of(s, c);
    bool was_connected = conn_connected(c);
    conn_ev ev = conn_complete(c, &w->io, cqe, op, now);
    s->m.c.bytes_received += ev.bytes_in;
    s->m.c.bytes_sent += ev.bytes_out;
    if (v->active) {
        s->m.steps[v->step].bytes_received += ev.bytes_in;
        s->m.steps[v->step].bytes_sent += ev.bytes_out;
    }
    switch (ev.type) {
    case CONN_EV_NONE:
        break;
    case CONN_EV_CONNECTED:
        s->nconnecting--;
        s->m.c.conns_opened++;
        hist_record(s->m.connecting, to_us(ev.connect_ns));
        if (ev.handshake) {
            hist_record(s->m.handshake, to_us(ev.handshake_ns));
            if (ev.resumed)
                s->m.c.tls_resumed++;
            else
                s->m.c.tls_full++;
        }
        if (++s->m.c.conns_open > s->m.c.conns_max_open)
            s->m.c.conns_max_open = s->m.c.conns_open;
        if (c->limited) { /* connection controls count from the end of the connect */
            c->left = s->s->max_requests_per_conn;
            c->expires = s->s->conn_lifetime_ns ? now + s->s->conn_lifetime_ns : 0;
        }
        worker_set_deadline(w, c, 0);
        if (v->active && v->pending)
            vu_send(w, s, v, c, now);
        else if (!v->active)
            free_vu_ready(w, s, c, now);
        break;
    case CONN_EV_CONNECT_FAILED:
        connect_failed(w, s, c, ev.fail, ev.why, now);
        break;
    case CONN_EV_RESPONSE:
        if (ev.closed) {
            s->m.c.conns_recycled += ev.recycled;
            conn_gone(w, s, c, true, ev.by_server, now);
        } else {
            worker_set_deadline(w, c, 0); /* off the request-timeout list: O(1) */
        }
        if (v->active && v->busy)
            vu_response(w, s, v, c, now);
        break;
    case CONN_EV_FAILED:
        if (ev.fail == METRICS_FAIL_TLS && ev.why)
            metrics_tls_reason(&s->m, ev.why, 1);
        conn_gone(w, s, c, was_connected, false, now);
        if (v->active && v->busy)
            vu_failed(w, s, v, ev.fail, now, now);
        break;
    case CONN_EV_CLOSED:
        conn_gone(w, s, c, was_connected, ev.by_server, now);
        if (v->wsess)
            wss_lost(w, s, v, now);
        break;
    }
}

/* Handles the deadlines that have passed: think times end, requests and connects time out. */
static void expire(worker *w, uint64_t now)
{
    for (size_t i = 0; i < w->nsc; i++) {
        wscen *s = &w->sc[i];
        while (s->tq_head != NOT_IDLE && w->conns[s->tq_head].deadline <= now) {
            conn *c = &w->conns[s->tq_head];
            wvu *v = vu_of(s, c);
            worker_set_deadline(w, c, 0);
            conn_close(c, &w->io);
            conn_gone(w, s, c, true, false, now);
            if (v->active && v->busy)
                vu_failed(w, s, v, METRICS_FAIL_TIMEOUT, now, now);
        }
    }
    while (dheap_min_key(&w->timers) <= now) {
        conn *c = &w->conns[dheap_min_id(&w->timers)];
        wscen *s = &w->sc[c->owner];
        wvu *v = vu_of(s, c);
        worker_set_deadline(w, c, 0);
        if (v->restart) {
            v->restart = false;
            v->started_at = 0;
            worker_vu_done(w, s, v, now);
        } else if (v->thinking) {
            v->thinking = false;
            vu_advance(w, s, v, v->t_due, now);
        } else if (v->wsess) {
            wss_timer(w, s, v, c, now);
        } else if (c->state == CONN_BUSY) {
            conn_close(c, &w->io);
            conn_gone(w, s, c, true, false, now);
            if (v->active && v->busy)
                vu_failed(w, s, v, METRICS_FAIL_TIMEOUT, now, now);
        } else if (c->state == CONN_CONNECTING) {
            bool hs = c->handshaking;
            conn_close(c, &w->io);
            connect_failed(w, s, c, hs ? METRICS_FAIL_TLS : METRICS_FAIL_CONNECT,
                           hs ? "TLS handshake timed out (connect_timeout)" : NULL, now);
        }
    }
}

/* The hard stop: queued arrivals are dropped, iterations in flight are interrupted (their
 * requests time out), every connection is closed. */
static void force_end(worker *w)
{
    for (size_t i = 0; i < w->nsc; i++) {
        wscen *s = &w->sc[i];
        s->scheduling = false;
        while (s->qlen)
            worker_queue_fail_one(s, METRICS_NFAIL);
        for (uint32_t j = 0; j < s->count; j++)
            if (s->vu[j].active)
                vu_interrupt(w, s, &s->vu[j]);
    }
    for (uint32_t i = 0; i < w->nconns; i++) {
        conn *c = &w->conns[i];
        wscen *s = &w->sc[c->owner];
        if (conn_connected(c))
            s->m.c.conns_open--;
        if (c->state != CONN_CLOSED) {
            conn_close(c, &w->io);
            s->nopen--;
        }
    }
}

static bool all_done(const worker *w, uint64_t now)
{
    for (size_t i = 0; i < w->nsc; i++) {
        const wscen *s = &w->sc[i];
        if (!s->begun || s->scheduling || s->qlen || s->nactive || now < s->end)
            return false;
    }
    return true;
}

/* Whether the next wait may sleep through response arrivals until the next due request: only
 * while an arrival-rate scenario is scheduling (so a wake-up is coming anyway), and only when
 * nothing waits on a completion: no closed-model VU (its next request follows its response), no
 * flow whose response leads to another request, no request queued for a VU, no connect or
 * handshake, no follow-up send. */
static bool lazy_ok(const worker *w, bool stopping)
{
    if (stopping || w->io.followups || w->io.unstamped)
        return false;
    bool open_scheduling = false;
    for (size_t i = 0; i < w->nsc; i++) {
        const wscen *s = &w->sc[i];
        if (s->vus && (s->scheduling || s->nactive))
            return false;
        if ((!s->s->simple && s->nactive) || s->qlen || s->nconnecting)
            return false;
        open_scheduling |= !s->vus && s->scheduling;
    }
    return open_scheduling;
}

static void reap(worker *w)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    uint64_t now = clock_ns();
    conn_io_clock(&w->io, now);
    io_uring_for_each_cqe(&w->io.ring, head, cqe)
    {
        handle_cqe(w, cqe, now);
        n++;
    }
    io_uring_cq_advance(&w->io.ring, n);
    conn_io_flush(&w->io);
}

/* Submits what is queued and waits until `until` (absolute ns) or until `nr` completions are
 * ready. With nr > 1 the kernel lets arriving responses wait (DEFER_TASKRUN lazy wake-up)
 * instead of waking the thread for each one; their arrival times come from the kernel's receive
 * timestamps, so they are measured exactly all the same. */
static void wait_until(worker *w, uint64_t until, uint64_t now, unsigned nr)
{
    if (until <= now) {
        io_uring_submit_and_get_events(&w->io.ring);
        return;
    }
    uint64_t d = until - now;
    struct __kernel_timespec ts = {.tv_sec = (long long)(d / NS_PER_S),
                                   .tv_nsec = (long long)(d % NS_PER_S)};
    struct io_uring_cqe *cqe;
    int rc = io_uring_submit_and_wait_timeout(&w->io.ring, &cqe, nr, &ts, NULL);
    (void)rc; /* -ETIME and -EINTR just mean "look at the clock again" */
}

/* Opens pre-connections (open model) and every VU's connection, and waits for them: each has
 * its own connect_timeout, and a stop (Ctrl-C) ends the wait at once. */
static void preconnect(worker *w)
{
    for (size_t i = 0; i < w->nsc; i++) {
        wscen *s = &w->sc[i];
        uint32_t want = s->vus ? s->count : s->sh.pre_connections;
        if (s->s->executor == PLAN_RAMPING_VUS) /* the VUs it starts with */
            want = (uint32_t)(plan_vus_at(s->s, 0) / s->sh.nworkers +
                              (s->sh.worker < plan_vus_at(s->s, 0) % s->sh.nworkers));
        if (want > s->count)
            want = s->count;
        /* Opening thousands of sockets takes seconds when the kernel's free-port search slows
         * down: each connect's clock starts when it is opened, not when the first one was. */
        for (uint32_t j = 0; j < want && !atomic_load(&w->sh->stop); j++)
            open_conn(w, s, &w->conns[s->first + j], clock_ns());
    }
    for (;;) {
        /* Collect what has completed before looking at the clock, so that connects that
         * finished in time are never counted as timed out. */
        io_uring_submit_and_get_events(&w->io.ring);
        reap(w);
        uint64_t now = clock_ns();
        expire(w, now);
        bool pending = false;
        for (size_t i = 0; i < w->nsc; i++)
            pending |= w->sc[i].nconnecting > 0;
        if (!pending || atomic_load(&w->sh->stop))
            break;
        /* Before the start nothing is due: connections just become idle (scheduling is off). */
        wait_until(w, next_deadline(w), now, 1);
        reap(w);
    }
    /* Stopped: connects still pending are abandoned, not counted as failures (nobody waited). */
    for (uint32_t i = 0; i < w->nconns; i++) {
        conn *c = &w->conns[i];
        if (c->state == CONN_CONNECTING) {
            wscen *s = &w->sc[c->owner];
            conn_close(c, &w->io);
            worker_set_deadline(w, c, 0);
            s->nconnecting--;
            s->nopen--;
        }
    }
}

/* The run is stopped (Ctrl-C): no scenario starts anything more; iterations in flight have
 * their scenario's graceful_stop from now. */
static void stop_all(worker *w, uint64_t now)
{
    w->hard_stop = now;
    for (size_t i = 0; i < w->nsc; i++) {
        wscen *s = &w->sc[i];
        if (!s->begun) { /* not started yet: its window stays empty */
            s->begun = true;
            s->start = s->end = s->hard = now;
        }
        s->scheduling = false;
        if (s->end > now)
            s->end = now;
        if (now + s->s->graceful_stop_ns < s->hard)
            s->hard = now + s->s->graceful_stop_ns;
        if (s->hard > w->hard_stop)
            w->hard_stop = s->hard;
    }
}

void worker_snapshot(worker *w, uint64_t now)
{
    unsigned b = w->snap_x.back;
    metrics_rec *area = w->snap[b];
    for (size_t i = 0; i < w->nsc; i++) {
        wscen *s = &w->sc[i];
        metrics_copy(&area[i], &s->m); /* same shapes by construction (worker_live_init) */
        area[i].g.vus_active = s->nactive;
        area[i].g.queued = s->qlen;
    }
    w->snap_at[b] = now;
    tribuf_publish(&w->snap_x);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

static void run(worker *w)
{
    w->t0 = atomic_load(&w->sh->t0);
    /* t0 is set a little in the future so that all workers start together: wait for it. */
    struct timespec ts = {(time_t)(w->t0 / NS_PER_S), (long)(w->t0 % NS_PER_S)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    w->hard_stop = w->t0;
    for (size_t i = 0; i < w->nsc; i++) {
        wscen *s = &w->sc[i];
        s->start = sat_add(w->t0, s->s->start_time_ns);
        s->end = sat_add(s->start, s->s->duration_ns);
        s->hard = sat_add(s->end, s->s->graceful_stop_ns);
        if (s->hard > w->hard_stop)
            w->hard_stop = s->hard;
    }
    w->next_publish = w->t0 + PUBLISH_EVERY_NS;
    w->next_snap = w->snap[0] ? w->t0 + NS_PER_S : UINT64_MAX;
    /* Stopped before the start: no scenario starts anything; the windows are empty. */
    bool stopping = atomic_load(&w->sh->stop) != 0;
    if (stopping)
        stop_all(w, w->t0);

    for (;;) {
        uint64_t now = clock_ns();
        int stop = atomic_load_explicit(&w->sh->stop, memory_order_relaxed);
        if (stop && !stopping) {
            stopping = true;
            stop_all(w, now);
        }
        uint64_t wake = w->hard_stop;
        for (size_t i = 0; i < w->nsc; i++) {
            wscen *s = &w->sc[i];
            if (!s->begun) {
                if (now < s->start) {
                    if (s->start < wake)
                        wake = s->start;
                    continue;
                }
                sched_begin(w, s, now);
            }
            uint64_t next = sched_tick(w, s, now);
            if (next < wake)
                wake = next;
            /* The run lasts at least until every window has closed, so no scenario's duration
             * is longer than the run's. */
            if (s->end > now && s->end < wake)
                wake = s->end;
            if (!s->cut && now >= s->hard)
                sched_cut(w, s, now);
            else if (!s->cut && s->hard < wake)
                wake = s->hard;
        }
        expire(w, now);
        if (now >= w->next_publish) {
            for (size_t i = 0; i < w->nsc; i++)
                metrics_publish(&w->sc[i].m);
            w->next_publish = now + PUBLISH_EVERY_NS;
        }
        /* Live snapshots (only when asked for) on the t0 + k s grid, where the main thread
         * reads them; the grid point is part of the wait below so that a quiet worker's
         * snapshot is never older than a second. */
        if (now >= w->next_snap) {
            worker_snapshot(w, now);
            w->next_snap = w->t0 + ((now - w->t0) / NS_PER_S + 1) * NS_PER_S;
        }
        if (all_done(w, now))
            break;
        if (now >= w->hard_stop || stop >= 2) {
            force_end(w);
            break;
        }
        if (next_deadline(w) < wake)
            wake = next_deadline(w);
        if (w->next_snap < wake)
            wake = w->next_snap;
        /* A short sleep ends at the next due request anyway, and waking early for a response
         * is cheaper than a timer expiry (measured at 20k req/s on one worker: 29 vs 37 CPU-us
         * per request): lazy waits pay off only when the worker would sleep for longer. */
        bool lazy = wake >= now + LAZY_MIN_SLEEP_NS && lazy_ok(w, stopping);
        wait_until(w, wake, now, lazy ? LAZY_WAIT : 1);
        reap(w);
    }
    /* Close what is left (idle keep-alive connections) and record where each window ended. */
    for (uint32_t i = 0; i < w->nconns; i++) {
        conn *c = &w->conns[i];
        if (c->state != CONN_CLOSED) {
            wscen *s = &w->sc[c->owner];
            if (conn_connected(c))
                s->m.c.conns_open--;
            conn_close(c, &w->io);
        }
    }
    io_uring_submit(&w->io.ring);
    for (size_t i = 0; i < w->nsc; i++)
        metrics_publish(&w->sc[i].m);
    w->finished = clock_ns();
    w->run_delay_ns = schedstat_thread_wait_ns();
    if (w->snap[0]) /* the final totals, for the main thread's last look */
        worker_snapshot(w, w->finished);
}

static unsigned recv_bufs(uint32_t nconns)
{
    unsigned n = RECV_BUFS_MIN;
    while (n < RECV_BUFS_MAX && n < 2 * (uint64_t)nconns)
        n *= 2;
    return n;
}

/* At most RECV_POOL bytes of buffers, 2 to 8 KiB each. */
static unsigned recv_buf_size(unsigned nbufs)
{
    unsigned size = RECV_POOL / nbufs;
    return size > 8192 ? 8192 : size < 2048 ? 2048 : size;
}

void *worker_thread(void *arg)
{
    worker *w = arg;
    struct rlimit rl;
    int rc = 0;
    /* TLS contexts are made in the worker's thread: each worker owns its own. */
    for (size_t i = 0; i < w->nsc && rc == 0; i++) {
        wscen *s = &w->sc[i];
        if (!s->s->tls)
            continue;
        char err[200];
        rc = tls_ctx_new(&s->tls, s->s, err, sizeof(err));
        if (rc < 0) {
            w->err = rc;
            snprintf(w->errmsg, sizeof(w->errmsg), "scenario %s: %s", s->s->name, err);
            atomic_store(&w->sh->setup_failed, 1);
            break;
        }
        for (uint32_t j = 0; j < s->count && rc == 0; j++) {
            conn *c = &w->conns[s->first + j];
            c->tctx = s->tls;
            if ((rc = tls_conn_new(&c->tls)) < 0) {
                w->err = rc;
                snprintf(w->errmsg, sizeof(w->errmsg), "worker %u: out of memory for TLS",
                         w->index);
                atomic_store(&w->sh->setup_failed, 1);
            }
        }
    }
    if (rc == 0)
        rc = conn_io_init(&w->io, RING_ENTRIES, recv_bufs(w->nconns),
                          recv_buf_size(recv_bufs(w->nconns)), w->nconns);
    if (rc < 0 && !w->err) {
        w->err = rc;
        if (rc == -EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
            snprintf(w->errmsg, sizeof(w->errmsg),
                     "worker %u needs %u connections but the open-file limit (ulimit -n) is "
                     "%llu, which caps each worker's connections: lower max_connections / vus, "
                     "add workers or raise the limit",
                     w->index, w->nconns, (unsigned long long)rl.rlim_cur);
        else
            snprintf(w->errmsg, sizeof(w->errmsg), "worker %u: io_uring setup failed: %s", w->index,
                     strerror(-rc));
        atomic_store(&w->sh->setup_failed, 1);
    } else if (!w->err && (rc = dheap_init(&w->timers, w->nconns)) < 0) {
        w->err = rc;
        snprintf(w->errmsg, sizeof(w->errmsg), "worker %u: out of memory", w->index);
        atomic_store(&w->sh->setup_failed, 1);
    } else if (!w->err) {
        w->io.on_head = vu_on_head;
        w->io.on_ws = wss_on_data;
        w->io.head_ctx = w;
        arm_wake(w);
        preconnect(w);
    }
    pthread_barrier_wait(&w->sh->ready);
    pthread_barrier_wait(&w->sh->go);
    if (!w->err && !atomic_load(&w->sh->setup_failed))
        run(w);
    tls_thread_cleanup();
    atomic_fetch_add(&w->sh->finished, 1);
    return NULL;
}
