/* vu: what one VU does within an iteration: run its flow, build and send each step's request,
 * and judge each response (status rule, checks, extractions into its variables, cookies).
 * worker.c owns the loop, the connections and when iterations start; this file never touches
 * the ring except through conn_send.
 *
 * Invariant: an active VU is in exactly one of: a step pending (waiting for its connection),
 * busy (its request on the connection), thinking (its deadline ends the think time), or in a
 * call of this file that ends by making it one of those or ending the iteration. Every step
 * counted as scheduled ends as ok or failed (a timeout when the run is cut). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "data.h"
#include "mem.h"
#include "request.h"
#include "worker_int.h"

#define ALIGN(x) (((x) + 63) & ~(size_t)63)
/* Extracted values up to this size live in the VU's slice; longer ones in its overflow area. */
#define VAR_INLINE 256
/* Requests are built in the VU's slice when they fit this much, else in its overflow area. */
#define REQ_INLINE 1024

/* A VU's slice holds what its requests touch: the value arrays, the request buffer and the short
 * extracted values, packed (64-byte aligned, not page aligned) so that VUs share pages. What only
 * some VUs or some moments need lives in blocks of its own, resident only where used: long
 * extracted values, cookie jars (a VU that never gets a cookie never touches its jar) and the
 * buffers for kept bodies and heads, which are lent per response (conn_pool). */
struct layout {
    size_t vars, cols, varbuf, req, size;
    size_t reqin; /* request bytes the slice holds */
    size_t big;   /* per VU in s->big: long values ((nvars - 1) * max_var), then the request
                     buffer for requests longer than reqin (reqcap); 0: none */
    size_t bigreq; /* where that request buffer starts in it */
    size_t jar;  /* per VU in s->jars: 0 without cookies */
    size_t keep; /* body bytes a buffer of the pool holds */
    size_t spill;
};

static void layout_of(const plan_scenario *p, struct layout *l, uint32_t *reqcap)
{
    size_t ncols = p->data ? p->data->ncols : 0, cap = 0, keep = 0;
    size_t nv = p->nvars ? p->nvars - 1 : 0; /* variable 0, `repeat`, lives in the VU itself */
    bool head = p->cookies;
    for (size_t i = 0; i < p->nsteps; i++) {
        const plan_step *st = &p->steps[i];
        if (st->prog && req_prog_cap(st->prog) > cap)
            cap = req_prog_cap(st->prog);
        if (st->keep_body > keep)
            keep = st->keep_body;
        head |= st->need_head;
    }
    size_t inl = p->max_var < VAR_INLINE ? p->max_var : VAR_INLINE;
    size_t o = 0;
    l->vars = o;
    o += p->nvars * sizeof(tpl_str);
    l->cols = o;
    o += ncols * sizeof(tpl_str);
    l->varbuf = o;
    o += nv * inl;
    l->req = o;
    l->reqin = cap < REQ_INLINE ? cap : REQ_INLINE;
    o += l->reqin;
    l->size = ALIGN(o);
    l->bigreq = p->max_var > VAR_INLINE ? nv * (size_t)p->max_var : 0;
    l->big = ALIGN(l->bigreq + (cap > l->reqin ? cap : 0));
    l->jar = p->cookies ? ALIGN(sizeof(cookie_jar)) : 0;
    l->keep = keep;
    l->spill = head ? VU_SPILL : 0;
    *reqcap = (uint32_t)cap;
}

int vu_blocks_init(wscen *s)
{
    struct layout l;
    uint32_t reqcap;
    layout_of(s->s, &l, &reqcap);
    size_t n = s->count ? s->count : 1;
    s->slot = l.size;
    s->block_len = l.size * n;
    s->big_len = l.big * n;
    s->jars_len = l.jar * n;
    s->pool.body_cap = (uint32_t)l.keep;
    s->pool.spill_cap = (uint32_t)l.spill;
    s->pool.slot = (uint32_t)ALIGN(l.keep + l.spill);
    s->pool_len = (size_t)s->pool.slot * n;
    if ((s->block_len && !(s->block = mem_lazy_alloc(s->block_len))) ||
        (s->big_len && !(s->big = mem_lazy_alloc(s->big_len))) ||
        (s->jars_len && !(s->jars = mem_lazy_map(s->jars_len))))
        return -ENOMEM;
    if (s->pool_len) {
        if (!(s->pool.base = mem_lazy_alloc(s->pool_len)) ||
            !(s->pool.free = malloc(n * sizeof *s->pool.free)))
            return -ENOMEM;
        for (size_t i = 0; i < n; i++) /* lent from the top: buffer 0 first */
            s->pool.free[i] = (uint32_t)(n - 1 - i);
        s->pool.nfree = (uint32_t)n;
    }
    return 0;
}

void vu_blocks_free(wscen *s)
{
    mem_lazy_free(s->block, s->block_len);
    mem_lazy_free(s->big, s->big_len);
    mem_lazy_unmap(s->jars, s->jars_len);
    mem_lazy_free(s->pool.base, s->pool_len);
    free(s->pool.free);
}

void vu_bind(wscen *s, uint32_t i, uint32_t number)
{
    const plan_scenario *p = s->s;
    struct layout l;
    uint32_t reqcap;
    layout_of(p, &l, &reqcap);
    wvu *v = &s->vu[i];
    char *base = s->block + (size_t)i * s->slot;
    v->number = number;
    v->vars = (tpl_str *)(void *)(base + l.vars);
    v->cols = (tpl_str *)(void *)(base + l.cols);
    v->varbuf = base + l.varbuf;
    v->varbig = l.bigreq ? s->big + (size_t)i * l.big : NULL;
    v->jar = p->cookies ? (cookie_jar *)(void *)(s->jars + (size_t)i * l.jar) : NULL;
    v->reqbuf = base + l.req;
    v->reqcap = (uint32_t)l.reqin;
    v->bigreq = reqcap > l.reqin ? s->big + (size_t)i * l.big + l.bigreq : NULL;
    v->bigcap = reqcap;
    v->rng = 0x9e3779b97f4a7c15ULL * number ^ (uintptr_t)s;
}

void vu_bind_conn(wscen *s, uint32_t i, conn *c)
{
    (void)i;
    c->keep = (conn_keep){0};
    if (s->pool_len) {
        c->keep.pool = &s->pool;
    }
}

static inline conn *conn_of(worker *w, wscen *s, wvu *v)
{
    return &w->conns[s->first + (uint32_t)(v - s->vu)];
}

static void iteration_end(worker *w, wscen *s, wvu *v, uint64_t end, bool interrupted, uint64_t now)
{
    v->active = v->pending = v->thinking = v->busy = v->in_setup = false;
    s->nactive--;
    if (interrupted) {
        s->m.it.interrupted++;
        return;
    }
    if (v->failed)
        s->m.it.failed++;
    else
        s->m.it.completed++;
    /* A one-step flow's iteration lasts exactly its request's latency when it got a response:
     * run.c merges the step's latency into the iteration histogram instead of recording twice. */
    if (!(s->s->simple && v->responded))
        hist_record(s->m.iteration, to_us(end > v->t_iter ? end - v->t_iter : 0));
    worker_vu_done(w, s, v, now);
}

/* v's step waits for its connection: being opened, or opened now. Out of line, so that
 * send_step stays a leaf that tail-calls vu_send. */
static __attribute__((noinline)) void await_conn(worker *w, wscen *s, wvu *v, conn *c,
                                                 uint64_t now)
{
    /* An idle connection past its conn_lifetime takes no new request: the step opens a new one
     * (its connect in the step's latency, as for any closed connection). */
    if (c->state == CONN_IDLE)
        worker_recycle(w, s, c, now);
    v->pending = true;
    if (c->state == CONN_CLOSED)
        worker_vu_connect(w, s, v, now);
}

/* Step `step` of v is due at due: sent now on the idle connection, or when it is open. */
static void send_step(worker *w, wscen *s, wvu *v, uint32_t step, uint64_t due, uint64_t now)
{
    v->step = step;
    v->t_due = due;
    s->m.c.scheduled++;
    s->m.steps[step].scheduled++;
    conn *c = conn_of(w, s, v);
    if (c->state == CONN_IDLE && !(c->limited && conn_expired(c, now)))
        vu_send(w, s, v, c, now);
    else
        await_conn(w, s, v, c, now);
}

void vu_start(worker *w, wscen *s, wvu *v, uint64_t due, uint64_t now)
{
    const plan_scenario *p = s->s;
    v->active = true;
    s->nactive++;
    v->started_at = now;
    v->failed = false;
    v->seq = plan_share_index(&s->sh, s->started);
    s->started++;
    v->iter++;
    v->t_iter = due;
    if (p->data) {
        const data_file *d = p->data;
        uint64_t row =
            p->data_order == PLAN_DATA_PER_VU   ? plan_data_row(v->number - 1, d->nrows, s->sh.nseg)
            : p->data_order == PLAN_DATA_RANDOM ? flow_random(&v->rng) % d->nrows
                                                : plan_data_row(v->seq, d->nrows, s->sh.nseg);
        for (size_t c = 0; c < d->ncols; c++)
            v->cols[c] = (tpl_str){d->cells[row * d->ncols + c], d->lens[row * d->ncols + c]};
    }
    v->responded = false;
    if (p->simple) { /* one step and nothing else: no program to run */
        send_step(w, s, v, p->ops[0].a, due, now);
        return;
    }
    v->in_setup = p->setup && !v->setup_done;
    flow_start(&v->cur);
    vu_advance(w, s, v, due, now);
}

void vu_advance(worker *w, wscen *s, wvu *v, uint64_t due, uint64_t now)
{
    const plan_scenario *p = s->s;
    for (;;) {
        flow_action a = flow_next(v->in_setup ? p->setup : p->ops, &v->cur, &v->rng);
        if (a.kind == FLOW_SEND) {
            send_step(w, s, v, a.step, due, now);
            return;
        }
        if (a.kind == FLOW_SLEEP) {
            /* Think time runs from when the step ended (intended time), not from when the
             * worker got round to it; the next step is due at its end. */
            due += a.ns;
            if (due <= now)
                continue;
            v->t_due = due;
            v->thinking = true;
            worker_set_deadline(w, conn_of(w, s, v), due);
            return;
        }
        if (v->in_setup) {
            /* The setup part is done: the iteration proper starts now, so the setup's time is
             * in its own steps' figures, not in the iteration's. */
            v->in_setup = false;
            v->setup_done = true;
            v->t_iter = due;
            flow_start(&v->cur);
            continue;
        }
        iteration_end(w, s, v, due, false, now);
        return;
    }
}

/* Builds the request of v's step into v's buffer (templates, cookies). Returns 0, or
 * a negative code with *why (the step then fails with class check). */
static int build(worker *w, wscen *s, wvu *v, const plan_step *st, const http1_req **out,
                 const char **why)
{
    const plan_scenario *p = s->s;
    /* {{ repeat }}: the pass of the innermost repeat, as text */
    int n = snprintf(v->repeat, sizeof v->repeat, "%u", flow_repeat_index(&v->cur));
    v->vars[0] = (tpl_str){v->repeat, (uint32_t)n};
    tpl_env env = wvu_env(v);
    size_t clen = 0;
    if (v->jar && v->jar->n) {
        size_t plen = strcspn(st->target, "?{");
        clen = cookie_jar_header(v->jar, p->host, strlen(p->host), st->target, plen, p->tls,
                                 (int64_t)(w->io.now_real / NS_PER_S), w->cookie, sizeof w->cookie);
    }
    size_t missing = 0;
    int rc =
        req_build(st->prog, &env, w->cookie, clen, v->reqbuf, v->reqcap, &v->req, &missing, why);
    if (rc == -ENOSPC && v->bigreq) /* longer than the slice holds: the overflow buffer */
        rc = req_build(st->prog, &env, w->cookie, clen, v->bigreq, v->bigcap, &v->req, &missing,
                       why);
    if (rc == -ENOENT)
        *why = "a variable the request needs has no value";
    else if (rc == -EDOM)
        *why = "bad arithmetic in a template";
    else if (rc == -ENOSPC)
        *why = "the request does not fit its buffer";
    *out = &v->req;
    return rc;
}

void vu_send(worker *w, wscen *s, wvu *v, conn *c, uint64_t now)
{
    const plan_step *st = &s->s->steps[v->step];
    const http1_req *req = &st->req;
    const char *why = NULL;
    v->pending = false;
    /* A literal step whose VU has no cookie to add goes out as its precompiled bytes. */
    if (!(st->literal && (!v->jar || v->jar->n == 0)) && build(w, s, v, st, &req, &why) < 0) {
        /* A request that cannot be built from what the VU has (a value an earlier step did not
         * extract): the step fails as a check, and the rest of the iteration is skipped. */
        count_fail(s, &s->m.steps[v->step], METRICS_FAIL_CHECK);
        v->failed = true;
        iteration_end(w, s, v, now, false, now);
        return;
    }
    unsigned head = st->need_head ? CONN_HEAD_ALWAYS : v->jar ? CONN_HEAD_COOKIES : CONN_HEAD_NONE;
    if (st->ws) {
        wss_prepare(w, s, v);
        head = CONN_HEAD_UPGRADE;
    }
    conn_send(c, &w->io, req, st->head, head, st->keep_body, v->t_due, now);
    worker_request_timeout(w, s, c, now + s->s->request_timeout_ns);
    v->busy = true;
    v->head_len = 0;
    s->nbusy++;
    uint64_t late = to_us(now > v->t_due ? now - v->t_due : 0);
    hist_record(s->m.lateness, late);
    if (s->m.nstages) /* ramping-arrival-rate: by the stage the step was due in */
        hist_record(s->m.stages[plan_stage_at(s->s, v->t_due > s->start ? v->t_due - s->start : 0)]
                        .lateness,
                    late);
}

/* After a step: on to the next, unless the iteration must stop here. */
static void next(worker *w, wscen *s, wvu *v, bool abort, uint64_t when, uint64_t now)
{
    if (abort || s->s->simple)
        iteration_end(w, s, v, when, false, now);
    else
        vu_advance(w, s, v, when, now);
}

/* The step that would have set these values got no (timely) response: they are missing, not
 * what an earlier iteration left, so the steps that need them are skipped. */
static void forget_extracts(wvu *v, const plan_step *st)
{
    for (size_t i = 0; i < st->nextracts; i++)
        v->vars[st->extracts[i].var] = (tpl_str){NULL, 0};
}

void vu_failed(worker *w, wscen *s, wvu *v, metrics_fail f, uint64_t when, uint64_t now)
{
    if (s->s->steps[v->step].ws)
        wss_step_failed(s, v, v->busy);
    if (v->busy)
        s->nbusy--;
    v->busy = v->pending = false;
    forget_extracts(v, &s->s->steps[v->step]);
    count_fail(s, &s->m.steps[v->step], f);
    v->failed = true;
    next(w, s, v, s->s->steps[v->step].abort_on_fail || v->in_setup, when, now);
}

void vu_response(worker *w, wscen *s, wvu *v, conn *c, uint64_t now)
{
    const plan_scenario *p = s->s;
    const plan_step *st = &p->steps[v->step];
    metrics_step *ms = &s->m.steps[v->step];
    s->nbusy--;
    v->busy = false;
    if (st->ws) {
        wss_handshake(w, s, v, c, now);
        return;
    }
    /* Reaped after its deadline but ended after it too: a timeout, as if the worker had woken
     * exactly then (the arrival stamp says when it really ended). */
    if (c->t_done - c->t_sent > p->request_timeout_ns) {
        count_fail(s, ms, METRICS_FAIL_TIMEOUT);
        forget_extracts(v, st);
        v->failed = true;
        next(w, s, v, st->abort_on_fail || v->in_setup, c->t_done, now);
        return;
    }
    hist_record(ms->latency, to_us(c->t_done - c->t_intended));
    hist_record(ms->service, to_us(c->t_done - c->t_sent));
    v->responded = true;
    int status = c->resp.status;
    ms->status[status >= 100 && status < 600 ? status / 100 : 0]++;
    metrics_fail f = METRICS_NFAIL;
    bool abort = false;
    if (!st->status_checked && !(status >= 200 && status < 400))
        f = METRICS_FAIL_STATUS;
    if (st->nchecks || st->nextracts) {
        check_resp r = {
            .status = status,
            .head = v->head_len ? conn_spill(c) : NULL,
            .head_len = v->head_len,
            .body = st->keep_body ? c->keep.body : NULL,
            .body_len = st->keep_body ? c->body_len : 0,
            .body_truncated = c->body_truncated,
        };
        for (size_t i = 0; i < st->nchecks; i++) {
            metrics_check *mc = &s->m.checks[st->check0 + i];
            if (check_eval(st->checks[i], &r)) {
                mc->passes++;
            } else {
                mc->fails++;
                if (f == METRICS_NFAIL)
                    f = METRICS_FAIL_CHECK;
            }
        }
        for (size_t i = 0; i < st->nextracts; i++) {
            const plan_extract *x = &st->extracts[i];
            size_t len = 0, k = x->var - 1; /* var 0 is repeat */
            if (extract_run(x->rule, w->xs, &r, w->xbuf, p->max_var, &len) == 0) {
                /* a short value in the VU's slice, a long one in its overflow area */
                size_t inl = p->max_var < VAR_INLINE ? p->max_var : VAR_INLINE;
                char *dst = len <= inl ? v->varbuf + k * inl : v->varbig + k * p->max_var;
                memcpy(dst, w->xbuf, len);
                v->vars[x->var] = (tpl_str){dst, (uint32_t)len};
            } else {
                /* A value the flow needs is missing: the step fails as a check and the rest of
                 * the iteration is skipped (its later requests would be built without it). */
                v->vars[x->var] = (tpl_str){NULL, 0};
                if (f == METRICS_NFAIL)
                    f = METRICS_FAIL_CHECK;
                abort = true;
            }
        }
    }
    v->head_len = 0;
    conn_keep_release(c); /* judged: its kept head and body are not needed any more */
    if (f != METRICS_NFAIL) {
        count_fail(s, ms, f);
        v->failed = true;
        abort |= st->abort_on_fail;
    } else {
        s->m.c.ok++;
        ms->ok++;
    }
    next(w, s, v, abort || (v->in_setup && v->failed), c->t_done, now);
}

void vu_next(worker *w, wscen *s, wvu *v, bool abort, uint64_t when, uint64_t now)
{
    next(w, s, v, abort || (v->in_setup && v->failed), when, now);
}

void vu_interrupt(worker *w, wscen *s, wvu *v)
{
    if (v->wsess)
        wss_cut(s, v, w->io.now_mono);
    if (v->busy || v->pending) {
        if (v->busy)
            s->nbusy--;
        count_fail(s, &s->m.steps[v->step], METRICS_FAIL_TIMEOUT);
    }
    iteration_end(w, s, v, 0, true, 0);
}

void vu_on_head(void *ctx, conn *c, const char *head, size_t len)
{
    worker *w = ctx;
    wscen *s = &w->sc[c->owner];
    wvu *v = &s->vu[c->idx - s->first];
    const plan_scenario *p = s->s;
    const plan_step *st = &p->steps[v->step];
    if (v->jar && http1_resp_set_cookie(&c->resp)) {
        head_iter it;
        const char *val;
        size_t vlen;
        size_t plen = strcspn(st->target, "?{");
        head_iter_init(&it, head, len);
        while (head_next(&it, "set-cookie", 10, &val, &vlen))
            cookie_jar_set(v->jar, p->host, strlen(p->host), st->target, plen, p->tls, val, vlen,
                           (int64_t)(w->io.now_real / NS_PER_S));
    }
    if (st->ws) {
        wss_on_head(w, s, v, c, head, len);
        return;
    }
    if (st->need_head && len <= conn_spill_cap(c) && conn_keep_get(c)) {
        if (head != conn_spill(c))
            memcpy(conn_spill(c), head, len);
        v->head_len = (uint32_t)len;
    }
}
