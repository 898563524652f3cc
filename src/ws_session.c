/* ws_session: a VU's WebSocket session, from the upgrade it sends to the close handshake.
 *
 * The upgrade is the step's request (vu.c sends it with CONN_HEAD_UPGRADE after wss_prepare put
 * a fresh Sec-WebSocket-Key in it); the 101's head comes to wss_on_head, which checks
 * Sec-WebSocket-Accept and opens the session; conn.c then hands every byte to wss_on_data. The
 * session sends its messages at intended times (open + k * interval), answers pings, matches the
 * server's messages to the ones it sent, times out replies, holds, and closes.
 *
 * Invariants: every message sent ends as replied, timed out, cut (the session ended with it
 * outstanding) or unexpected (nothing is expected back); every session opened ends ok or failed
 * with one class. Decisions that end a session are taken in wss_timer (the VU's deadline, set to
 * now when something ends it), never inside a receive, so that the connection is closed and the
 * VU moved on outside conn.c. Nothing is allocated per message: each VU has an output buffer and
 * a message buffer in lazily resident blocks, and a small ring of outstanding messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "extract.h"
#include "json.h"
#include "mem.h"
#include "worker_int.h"
#include "ws.h"

#define PENDING 8             /* outstanding messages per session; a send waits when full */
#define MSG_KEEP (16u * 1024) /* message bytes kept for matching (contains, json, correlate) */
#define CTL_ROOM 4096u        /* output room for pongs (a ping flood), pings and the close */
/* Control frames of a session that sends no message go out from the session itself, so an
 * idle session touches no page of its output buffer. */
#define INLINE_OUT 160u
#define LINGER_NS (50ull * NS_PER_MS) /* after the close handshake, for our last frame to leave */
#define KEY_FIELD "Sec-WebSocket-Key: "
#define AUX ((PENDING * 24 + WS_CONTROL_MAX + 63) & ~(size_t)63) /* ring and owed pong */

enum phase { PH_NONE, PH_HANDSHAKE, PH_OPEN, PH_CLOSING, PH_ENDING };

typedef struct pend {
    uint64_t intended, sent;
    uint64_t id; /* correlate: the hash of the id the message carries; 0: answered */
} pend;
_Static_assert(sizeof(pend) == 24, "AUX counts 24 bytes per outstanding message");

typedef struct wss {
    ws_parser p;
    char accept[28];   /* the Sec-WebSocket-Accept the key asks for (no NUL) */
    uint8_t phase;
    bool ok_101;       /* a 101 with the right accept value */
    bool got_close;    /* the server's close frame */
    bool sent_close;   /* ours */
    bool mtrunc;       /* the message being gathered was longer than MSG_KEEP */
    bool ping_out;     /* a client ping awaits its pong */
    bool client_first; /* we asked for the close (hold ended, messages done) */
    bool owe_pong;     /* a ping found no output room: its pong goes out when there is */
    bool big;          /* out.bytes is the VU's output buffer (a message needed it) */
    uint8_t owed_len;  /* its payload is in the VU's buffers (owed_of) */
    uint8_t fail;      /* the end's class (metrics_ws_fail), METRICS_WS_NFAIL: ok */
    uint16_t code;     /* the server's close code */
    uint8_t phead, plen; /* the ring of outstanding messages (pend_of) */
    uint32_t mlen;     /* bytes gathered of the message in progress */
    uint64_t opened, hold_end, next_ping, ping_at, close_by;
    uint64_t nsent;    /* messages sent (the next is due at opened + (nsent + 1) * interval) */
    http1_req out;     /* the frames to send: the VU's request buffer, or its output buffer */
} wss;

struct wss_block {
    wss *v;      /* per VU */
    char *bufs;  /* per VU: output buffer, then message buffer */
    size_t bufs_len, slot, out_cap;
    ws_rng rng;
};

static wss *wss_of(wscen *s, wvu *v)
{
    return &s->ws->v[v - s->vu];
}

/* The step's own recorder: the scenario's ws block is made from its steps' (metrics_finish). */
static metrics_ws *wsm(wscen *s, wvu *v)
{
    return s->m.steps[v->step].ws;
}

static const plan_step *step_of(wscen *s, wvu *v)
{
    return &s->s->steps[v->step];
}

static conn *conn_of_vu(worker *w, wscen *s, wvu *v)
{
    return &w->conns[s->first + (uint32_t)(v - s->vu)];
}

/* The VU's part of the scenario's buffers: the ring and the owed pong, then vu_buf's. */
static uint8_t *aux_of(wscen *s, wvu *v)
{
    return (uint8_t *)s->ws->bufs + (size_t)(v - s->vu) * s->ws->slot;
}

static char *vu_buf(wscen *s, wvu *v)
{
    return s->ws->bufs + (size_t)(v - s->vu) * s->ws->slot + AUX;
}

static pend *pend_of(wscen *s, wvu *v)
{
    return (pend *)(void *)aux_of(s, v);
}

static uint8_t *owed_of(wscen *s, wvu *v)
{
    return aux_of(s, v) + PENDING * sizeof(pend);
}

int wss_init(wscen *s)
{
    const plan_scenario *p = s->s;
    size_t send = 0, keep = 0;
    bool any = false;
    for (size_t i = 0; i < p->nsteps; i++) {
        const plan_ws *ws = p->steps[i].ws;
        if (!ws)
            continue;
        any = true;
        if (ws->send_cap > send)
            send = ws->send_cap;
        size_t k = ws->max_message < MSG_KEEP ? ws->max_message : MSG_KEEP;
        if (ws->expect >= PLAN_WS_EXPECT_CONTAINS && k > keep)
            keep = k;
    }
    if (!any)
        return 0;
    struct wss_block *b = calloc(1, sizeof *b);
    size_t n = s->count ? s->count : 1;
    if (!b)
        return -ENOMEM;
    s->ws = b;
    /* Room for a few messages queued behind one in flight, and the control frames. */
    /* Per VU: the outstanding-message ring and an owed pong (touched only by sessions that send
     * or are pinged hard), the output buffer for messages, the message buffer. */
    b->out_cap = 4 * (WS_HEAD_MAX + send) + CTL_ROOM;
    b->slot = (AUX + b->out_cap + keep + 63) & ~(size_t)63;
    b->bufs_len = b->slot * n;
    ws_rng_seed(&b->rng, (uint64_t)(uintptr_t)s ^ s->rng);
    if (!(b->v = mem_lazy_alloc(n * sizeof *b->v)) || !(b->bufs = mem_lazy_alloc(b->bufs_len)))
        return -ENOMEM;
    return 0;
}

void wss_free(wscen *s)
{
    struct wss_block *b = s->ws;
    if (!b)
        return;
    mem_lazy_free(b->v, (s->count ? s->count : 1) * sizeof *b->v);
    mem_lazy_free(b->bufs, b->bufs_len);
    free(b);
    s->ws = NULL;
}

void wss_prepare(worker *w, wscen *s, wvu *v)
{
    (void)w;
    wss *x = wss_of(s, v);
    memset(x, 0, sizeof *x);
    x->phase = PH_HANDSHAKE;
    x->fail = METRICS_WS_NFAIL;
    wsm(s, v)->c.handshakes++;
    char *k = memmem(v->req.bytes, v->req.len, KEY_FIELD, sizeof KEY_FIELD - 1);
    if (!k)
        return; /* cannot happen: config_ws.c added the field; the accept check then fails */
    char key[25], acc[29];
    ws_key_make(&s->ws->rng, key);
    memcpy(k + sizeof KEY_FIELD - 1, key, 24);
    if (ws_accept(key, 24, acc) < 0)
        acc[0] = '\0'; /* matches no header value: the handshake fails as accept */
    memcpy(x->accept, acc, sizeof x->accept);
}

void wss_on_head(worker *w, wscen *s, wvu *v, conn *c, const char *head, size_t len)
{
    wss *x = wss_of(s, v);
    if (x->phase != PH_HANDSHAKE || c->resp.status != 101 || c->send_inflight)
        return;
    head_iter it;
    const char *val;
    size_t vlen;
    head_iter_init(&it, head, len);
    if (!head_next(&it, "sec-websocket-accept", 20, &val, &vlen) || vlen != 28 ||
        !x->accept[0] || memcmp(val, x->accept, sizeof x->accept) != 0)
        return;
    const plan_ws *ws = step_of(s, v)->ws;
    x->ok_101 = true;
    x->phase = PH_OPEN;
    x->p = (ws_parser){.max_msg = ws->max_message,
                       .check_utf8 = ws->expect >= PLAN_WS_EXPECT_CONTAINS};
    /* Control frames go out from the VU's request buffer, free once the upgrade was answered
     * (already resident: an idle session touches no other page). */
    x->out.bytes = v->reqcap >= INLINE_OUT ? v->reqbuf : vu_buf(s, v);
    x->big = v->reqcap < INLINE_OUT;
    x->big = false;
    x->out.len = 0;
    c->req = &x->out;
    c->sent = 0;
    x->opened = w->io.now_mono;
}

/* Room for n more output bytes: the sent part is dropped once nothing is in flight. */
static char *out_room(wss *x, wscen *s, wvu *v, conn *c, size_t n)
{
    if (!c->send_inflight && c->sent) { /* what was sent goes; the rest moves down */
        memmove(x->out.bytes, x->out.bytes + c->sent, x->out.len - c->sent);
        x->out.len -= c->sent;
        c->sent = 0;
    }
    size_t cap = x->big ? s->ws->out_cap : INLINE_OUT;
    if (cap - x->out.len >= n)
        return x->out.bytes + x->out.len;
    if (x->big || x->out.len || c->send_inflight || n > s->ws->out_cap)
        return NULL;
    x->out.bytes = vu_buf(s, v); /* nothing pending: move to the larger buffer */
    x->big = true;
    return x->out.bytes;
}

/* Queues a control frame; false when the output has no room now. */
static bool control(worker *w, wscen *s, wvu *v, wss *x, conn *c, unsigned op,
                    const uint8_t *pl, size_t n)
{
    size_t need = ws_head_len(n, true) + n;
    uint8_t *o = (uint8_t *)out_room(x, s, v, c, need);
    if (!o)
        return false;
    ssize_t k = ws_frame_put(o, need, WS_FIN | op, pl, n, true,
                             (uint32_t)ws_rng_next(&s->ws->rng));
    x->out.len += (size_t)k;
    conn_ws_flush(c, &w->io);
    return true;
}

/* Answers the latest ping (RFC 6455 5.5.3: a pong may answer only the most recent one); without
 * room now, it is owed and the VU's timer retries soon. */
static void pong(worker *w, wscen *s, wvu *v, wss *x, conn *c, const uint8_t *pl, size_t n)
{
    if (control(w, s, v, x, c, WS_OP_PONG, pl, n)) {
        wsm(s, v)->c.pongs_sent++;
        x->owe_pong = false;
        return;
    }
    x->owe_pong = true;
    x->owed_len = (uint8_t)n;
    memcpy(owed_of(s, v), pl, n);
    if (v->wsess)
        worker_set_deadline(w, c, w->io.now_mono + NS_PER_MS);
}

static void send_close(worker *w, wscen *s, wvu *v, wss *x, conn *c, unsigned code)
{
    if (x->sent_close)
        return;
    uint8_t *o = (uint8_t *)out_room(x, s, v, c, WS_HEAD_MAX + WS_CONTROL_MAX);
    if (!o)
        return;
    ssize_t k = ws_close_put(o, WS_HEAD_MAX + WS_CONTROL_MAX, code, NULL, 0,
                             (uint32_t)ws_rng_next(&s->ws->rng));
    x->out.len += (size_t)k;
    x->sent_close = true;
    conn_ws_flush(c, &w->io);
}

static uint64_t hash_id(const char *p, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 0x100000001B3ull;
    return h ? h : 1;
}

/* The oldest outstanding message: ring entries answered out of order (correlate) are skipped. */
static void pend_trim(wscen *s, wvu *v, wss *x)
{
    while (x->plen && pend_of(s, v)[x->phead].id == 0) {
        x->phead = (x->phead + 1) % PENDING;
        x->plen--;
    }
}

static void replied(wscen *s, wvu *v, wss *x, uint32_t i, uint64_t now)
{
    metrics_ws *m = wsm(s, v);
    pend *e = &pend_of(s, v)[i];
    m->c.replied++;
    hist_record(m->msg_latency, to_us(now > e->intended ? now - e->intended : 0));
    hist_record(m->msg_service, to_us(now > e->sent ? now - e->sent : 0));
    e->id = 0;
    pend_trim(s, v, x);
}

/* A whole message from the server (its first `keep` bytes in p). */
static void on_message(wscen *s, wvu *v, wss *x, const uint8_t *p, size_t n, uint64_t now)
{
    const plan_ws *ws = step_of(s, v)->ws;
    wsm(s, v)->c.msgs_received++;
    if (!x->plen || ws->expect == PLAN_WS_EXPECT_NONE)
        return;
    const char *d = (const char *)p;
    json_value jv;
    switch (ws->expect) {
    case PLAN_WS_EXPECT_ANY:
        break;
    case PLAN_WS_EXPECT_CONTAINS:
        if (!memmem(d, n, ws->expect_text, ws->expect_len))
            return;
        break;
    case PLAN_WS_EXPECT_JSON:
        if (json_find(ws->path, d, n, &jv) != 0)
            return;
        if (jv.kind == JSON_STRING ? !json_string_eq(&jv, ws->expect_text, ws->expect_len)
                                   : jv.len != ws->expect_len ||
                                         memcmp(jv.p, ws->expect_text, jv.len) != 0)
            return;
        break;
    case PLAN_WS_EXPECT_CORRELATE: {
        if (json_find(ws->path, d, n, &jv) != 0)
            return;
        uint64_t id = hash_id(jv.p, jv.len);
        for (uint32_t k = 0; k < x->plen; k++) {
            uint32_t i = (x->phead + k) % PENDING;
            if (pend_of(s, v)[i].id == id) {
                replied(s, v, x, i, now);
                return;
            }
        }
        return;
    }
    default:
        return;
    }
    replied(s, v, x, x->phead, now);
}

/* Ends the session's reading with a class; wss_timer finishes it. */
static void end_with(worker *w, wvu *v, conn *c, wss *x, uint8_t fail, uint64_t when)
{
    if (x->phase == PH_ENDING)
        return;
    if (x->fail == METRICS_WS_NFAIL)
        x->fail = fail;
    x->phase = PH_ENDING;
    x->close_by = when;
    if (v->wsess)
        worker_set_deadline(w, c, when);
}

void wss_on_data(void *ctx, conn *c, const char *data, size_t len, uint64_t now)
{
    worker *w = ctx;
    wscen *s = &w->sc[c->owner];
    wvu *v = &s->vu[c->idx - s->first];
    wss *x = wss_of(s, v);
    const plan_ws *ws = step_of(s, v)->ws;
    const uint8_t *b = (const uint8_t *)data;
    while (len && (x->phase == PH_OPEN || x->phase == PH_CLOSING)) {
        ws_event ev;
        size_t used = ws_parse(&x->p, b, len, &ev);
        b += used;
        len -= used;
        switch (ev.kind) {
        case WS_EV_NONE:
            break;
        case WS_EV_DATA: {
            char *mb = vu_buf(s, v) + s->ws->out_cap;
            size_t keep = s->ws->slot - s->ws->out_cap;
            if (ev.fin && ev.len == ev.msg_len) { /* whole in this receive: read in place */
                on_message(s, v, x, ev.data, ev.len, now);
                break;
            }
            size_t room = keep - x->mlen;
            size_t k = ev.len < room ? ev.len : room;
            if (k)
                memcpy(mb + x->mlen, ev.data, k);
            x->mlen += (uint32_t)k;
            x->mtrunc |= k < ev.len;
            if (ev.fin) {
                on_message(s, v, x, (const uint8_t *)mb, x->mlen, now);
                x->mlen = 0;
                x->mtrunc = false;
            }
            break;
        }
        case WS_EV_PING:
            wsm(s, v)->c.pings_received++;
            if (!x->sent_close)
                pong(w, s, v, x, c, ev.data, ev.len);
            break;
        case WS_EV_PONG:
            if (x->ping_out) {
                x->ping_out = false;
                wsm(s, v)->c.pongs_received++;
                hist_record(wsm(s, v)->ping, to_us(now > x->ping_at ? now - x->ping_at : 0));
            }
            break;
        case WS_EV_CLOSE: {
            x->got_close = true;
            x->code = ev.code;
            metrics_ws_code(wsm(s, v), ev.code);
            bool early = x->phase == PH_OPEN && ws->hold_ns && now < x->hold_end;
            bool fine = ev.code == WS_CLOSE_NORMAL || ev.code == WS_CLOSE_GOING_AWAY;
            if (!x->sent_close)
                send_close(w, s, v, x, c, ev.code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.code);
            /* The server ended it: a failure when it came before the hold ended, or with an
             * error code, unless we had asked for the close ourselves. */
            uint8_t f = x->phase == PH_CLOSING || (!early && fine) ? METRICS_WS_NFAIL
                                                                    : METRICS_WS_CLOSED;
            end_with(w, v, c, x, f, now + LINGER_NS);
            break;
        }
        case WS_EV_ERROR:
            send_close(w, s, v, x, c, ev.code);
            end_with(w, v, c, x, METRICS_WS_PROTOCOL, now + LINGER_NS);
            break;
        }
        if (ev.kind == WS_EV_NONE && used == 0)
            break;
    }
}

/* Sends every message due by now that has room; returns when the next one is due. */
static void send_due(wscen *s, wvu *v, conn *c, wss *x, const plan_ws *ws, uint64_t now)
{
    metrics_ws *m = wsm(s, v);
    while (x->phase == PH_OPEN && ws->t_send && (!ws->messages || x->nsent < ws->messages)) {
        uint64_t due = x->opened + (x->nsent + 1) * ws->interval_ns;
        if (due > now || (ws->hold_ns && due >= x->hold_end))
            return;
        if (x->plen == PENDING && ws->expect != PLAN_WS_EXPECT_NONE)
            return; /* waits for a reply or a timeout (its latency counts from due) */
        uint8_t *o = (uint8_t *)out_room(x, s, v, c, WS_HEAD_MAX + ws->send_cap);
        if (!o)
            return; /* the server is not reading: it waits */
        tpl_env env = wvu_env(v);
        size_t missing = 0;
        ssize_t n = tpl_expand(ws->t_send, &env, (char *)o + WS_HEAD_MAX, ws->send_cap, &missing);
        x->nsent++;
        m->c.msgs_sent++;
        if (n < 0) {
            m->c.unexpected++; /* a value the message needs is missing: never answered */
            continue;
        }
        uint64_t id = 1;
        if (ws->expect == PLAN_WS_EXPECT_CORRELATE) {
            json_value jv;
            if (json_find(ws->path, (const char *)o + WS_HEAD_MAX, (size_t)n, &jv) == 0)
                id = hash_id(jv.p, jv.len);
            else
                id = 0; /* carries no id: nothing can answer it */
        }
        unsigned op = ws->binary ? WS_OP_BINARY : WS_OP_TEXT;
        size_t off = ws_frame_seal(o, (size_t)n, WS_FIN | op, (uint32_t)ws_rng_next(&s->ws->rng));
        size_t flen = WS_HEAD_MAX - off + (size_t)n;
        memmove(o, o + off, flen);
        x->out.len += flen;
        if (ws->expect == PLAN_WS_EXPECT_NONE || id == 0) {
            m->c.unexpected++;
        } else {
            pend *e = &pend_of(s, v)[(x->phead + x->plen) % PENDING];
            *e = (pend){.intended = due, .sent = now, .id = id};
            x->plen++;
        }
    }
}

/* The session's next deadline: a send, a reply timeout, a ping, the hold's end, the close. */
static uint64_t next_due(wscen *s, wvu *v, const wss *x, const plan_ws *ws)
{
    uint64_t t = UINT64_MAX;
    if (x->phase == PH_ENDING || x->phase == PH_CLOSING)
        return x->close_by;
    if (ws->t_send && (!ws->messages || x->nsent < ws->messages)) {
        uint64_t due = x->opened + (x->nsent + 1) * ws->interval_ns;
        if (!ws->hold_ns || due < x->hold_end)
            t = due;
    }
    if (x->plen && pend_of(s, v)[x->phead].sent + ws->reply_timeout_ns < t)
        t = pend_of(s, v)[x->phead].sent + ws->reply_timeout_ns;
    if (ws->ping_ns && x->next_ping < t)
        t = x->next_ping;
    if (ws->hold_ns && x->hold_end < t)
        t = x->hold_end;
    return t;
}

/* Counts how the session ended, closes its connection, and moves the VU on. */
static void finish(worker *w, wscen *s, wvu *v, conn *c, wss *x, uint64_t now)
{
    metrics_ws *m = wsm(s, v);
    metrics_step *ms = &s->m.steps[v->step];
    for (uint32_t k = 0; k < x->plen; k++)
        m->c.cut += pend_of(s, v)[(x->phead + k) % PENDING].id != 0;
    x->plen = 0;
    hist_record(m->session, to_us(now > x->opened ? now - x->opened : 0));
    if (x->client_first)
        m->c.closed_by_client++;
    else if (x->got_close)
        m->c.closed_by_server++;
    bool failed = x->fail != METRICS_WS_NFAIL;
    if (failed) {
        m->c.sessions_failed++;
        m->c.fail[x->fail]++;
        count_fail(s, ms, x->fail == METRICS_WS_PROTOCOL ? METRICS_FAIL_PARSE : METRICS_FAIL_RESET);
        v->failed = true;
    } else {
        m->c.sessions_ok++;
        s->m.c.ok++;
        ms->ok++;
    }
    x->phase = PH_NONE;
    v->wsess = false;
    if (c->state != CONN_CLOSED)
        worker_drop_conn(w, s, c, now);
    vu_next(w, s, v, failed && step_of(s, v)->abort_on_fail, now, now);
}

void wss_handshake(worker *w, wscen *s, wvu *v, conn *c, uint64_t now)
{
    wss *x = wss_of(s, v);
    const plan_step *st = step_of(s, v);
    metrics_step *ms = &s->m.steps[v->step];
    metrics_ws *m = wsm(s, v);
    int status = c->resp.status;
    ms->status[status >= 100 && status < 600 ? status / 100 : 0]++;
    hist_record(ms->latency, to_us(c->t_done - c->t_intended));
    hist_record(ms->service, to_us(c->t_done - c->t_sent));
    v->responded = true;
    conn_keep_release(c);
    v->head_len = 0;
    if (!x->ok_101) {
        uint8_t f = status == 101 ? METRICS_WS_ACCEPT : METRICS_WS_HANDSHAKE;
        m->c.sessions_failed++;
        m->c.fail[f]++;
        count_fail(s, ms, status == 101 ? METRICS_FAIL_CHECK : METRICS_FAIL_STATUS);
        v->failed = true;
        x->phase = PH_NONE;
        worker_drop_conn(w, s, c, now);
        vu_next(w, s, v, st->abort_on_fail || v->in_setup, c->t_done, now);
        return;
    }
    const plan_ws *ws = st->ws;
    hist_record(m->connecting, to_us(c->t_done - c->t_sent));
    m->c.sessions++;
    x->opened = c->t_done;
    x->hold_end = ws->hold_ns ? x->opened + ws->hold_ns : 0;
    x->next_ping = ws->ping_ns ? x->opened + ws->ping_ns : 0;
    v->wsess = true;
    wss_timer(w, s, v, c, now);
}

void wss_timer(worker *w, wscen *s, wvu *v, conn *c, uint64_t now)
{
    wss *x = wss_of(s, v);
    const plan_ws *ws = step_of(s, v)->ws;
    metrics_ws *m = wsm(s, v);
    bool gone = c->state == CONN_CLOSED;
    if (x->phase == PH_ENDING && (now >= x->close_by || gone)) {
        finish(w, s, v, c, x, now);
        return;
    }
    if (x->phase == PH_CLOSING && (now >= x->close_by || gone)) {
        /* The server did not answer our close: the session is over all the same. */
        finish(w, s, v, c, x, now);
        return;
    }
    if (x->owe_pong && x->phase == PH_OPEN)
        pong(w, s, v, x, c, owed_of(s, v), x->owed_len);
    if (x->phase == PH_OPEN) {
        while (x->plen && pend_of(s, v)[x->phead].sent + ws->reply_timeout_ns <= now) {
            m->c.timed_out++;
            m->c.fail[METRICS_WS_REPLY_TIMEOUT]++;
            pend_of(s, v)[x->phead].id = 0;
            pend_trim(s, v, x);
        }
        send_due(s, v, c, x, ws, now);
        if (ws->ping_ns && now >= x->next_ping) {
            uint64_t k = x->next_ping;
            if (control(w, s, v, x, c, WS_OP_PING, (const uint8_t *)&k, sizeof k)) {
                m->c.pings_sent++;
                x->ping_out = true;
                x->ping_at = now;
            }
            while (x->next_ping <= now)
                x->next_ping += ws->ping_ns;
        }
        conn_ws_flush(c, &w->io);
        bool held = ws->hold_ns && now >= x->hold_end;
        bool all_sent = ws->t_send && ws->messages && x->nsent >= ws->messages;
        if ((held || (all_sent && !ws->hold_ns)) && x->plen == 0) {
            send_close(w, s, v, x, c, WS_CLOSE_NORMAL);
            x->client_first = true;
            x->phase = PH_CLOSING;
            x->close_by = now + ws->reply_timeout_ns;
        }
    }
    uint64_t t = next_due(s, v, x, ws);
    if (x->owe_pong && now + NS_PER_MS < t) /* retried once the output has room */
        t = now + NS_PER_MS;
    if (t != UINT64_MAX)
        worker_set_deadline(w, c, t <= now ? now + 1 : t);
}

void wss_lost(worker *w, wscen *s, wvu *v, uint64_t now)
{
    wss *x = wss_of(s, v);
    const plan_ws *ws = step_of(s, v)->ws;
    conn *c = conn_of_vu(w, s, v);
    /* EOF after the close handshake is its normal end; before it, the session was cut. A
     * session that holds "until the server closes" ends fine on a bare EOF too. */
    bool normal = x->got_close || x->phase == PH_CLOSING ||
                  (!ws->hold_ns && !ws->messages && !ws->t_send);
    if (!x->got_close && x->phase != PH_ENDING) /* cut without a close frame */
        metrics_ws_code(wsm(s, v), WS_CLOSE_ABNORMAL);
    x->phase = x->phase == PH_ENDING ? PH_ENDING : PH_OPEN;
    end_with(w, v, c, x, normal ? METRICS_WS_NFAIL : METRICS_WS_LOST, now);
    worker_set_deadline(w, c, now);
}

void wss_cut(wscen *s, wvu *v, uint64_t now)
{
    wss *x = wss_of(s, v);
    metrics_ws *m = wsm(s, v);
    for (uint32_t k = 0; k < x->plen; k++)
        m->c.cut += pend_of(s, v)[(x->phead + k) % PENDING].id != 0;
    x->plen = 0;
    hist_record(m->session, to_us(now > x->opened ? now - x->opened : 0));
    if (x->fail != METRICS_WS_NFAIL) {
        m->c.sessions_failed++;
        m->c.fail[x->fail]++;
        count_fail(s, &s->m.steps[v->step],
                   x->fail == METRICS_WS_PROTOCOL ? METRICS_FAIL_PARSE : METRICS_FAIL_RESET);
    } else {
        /* held until the run's end: the session did what it was asked */
        m->c.sessions_ok++;
        s->m.c.ok++;
        s->m.steps[v->step].ok++;
    }
    x->phase = PH_NONE;
    v->wsess = false;
}

void wss_step_failed(wscen *s, wvu *v, bool sent)
{
    metrics_ws *m = wsm(s, v);
    wss *x = wss_of(s, v);
    if (!sent)
        m->c.handshakes++;
    m->c.sessions_failed++;
    m->c.fail[METRICS_WS_LOST]++;
    x->phase = PH_NONE;
}
