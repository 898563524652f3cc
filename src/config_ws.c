/* config_ws: the WebSocket keys of a step (ws_send, ws_binary, ws_interval or ws_rate,
 * ws_messages, ws_expect, ws_hold, reply_timeout, ws_ping, ws_max_message) and the upgrade
 * headers blast adds to its request. A step is a WebSocket step when its url is ws:// or
 * wss://, or when it has any of these keys (a path on an http:// base is then ws://). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "json.h"
#include "template.h"
#include "value.h"
#include "ws.h"

#define DEFAULT_REPLY_TIMEOUT (5ull * NS_PER_S)
#define DEFAULT_INTERVAL (1ull * NS_PER_S)
#define MAX_WS_MESSAGE (64ull << 20)

/* The Sec-WebSocket-Key value the request program carries; each VU overwrites it in the built
 * request with a fresh nonce (ws_session.c), so its length is fixed. */
#define KEY_PLACEHOLDER "AAAAAAAAAAAAAAAAAAAAAA=="

static const char *const added[] = {
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: " KEY_PLACEHOLDER,
};

bool cfg_ws_wanted(const struct section *sec)
{
    const char *u = sec->v[K_URL].s;
    if (u && (strncasecmp(u, "ws://", 5) == 0 || strncasecmp(u, "wss://", 6) == 0))
        return true;
    for (int k = K_WS_SEND; k <= K_WS_MAX_MESSAGE; k++)
        if (sec->v[k].s)
            return true;
    return false;
}

bool cfg_ws_headers(struct build *b, const struct section *sec, plan_step *st)
{
    static const char *const own[] = {"Upgrade", "Connection", "Sec-WebSocket-Key",
                                      "Sec-WebSocket-Version"};
    for (size_t i = 0; i < sec->nitems; i++) {
        const struct item *it = &sec->items[i];
        if (it->key != K_HEADER)
            continue;
        const char *h = it->v.s + strspn(it->v.s, " \t");
        for (size_t k = 0; k < sizeof own / sizeof own[0]; k++) {
            size_t l = strlen(own[k]);
            if (strncasecmp(h, own[k], l) == 0 && h[l] == ':') {
                cfg_fail(b->c, -EINVAL, it->v.line, sec, "header",
                         "a WebSocket step sets %s itself (allowed: Origin, Authorization, "
                         "Sec-WebSocket-Protocol and any other header)",
                         own[k]);
                return false;
            }
        }
    }
    size_t n = st->nheaders + sizeof added / sizeof added[0];
    char **h = realloc(st->headers, n * sizeof *h);
    if (!h) {
        cfg_oom(b->c);
        return false;
    }
    st->headers = h;
    for (size_t k = 0; k < sizeof added / sizeof added[0]; k++) {
        if (!(h[st->nheaders] = strdup(added[k]))) {
            cfg_oom(b->c);
            return false;
        }
        st->nheaders++;
    }
    return true;
}

/* ws_expect = any | contains TEXT | json PATH == VALUE | correlate PATH */
static bool parse_expect(struct build *b, const struct section *sec, plan_ws *ws)
{
    const struct value *v = &sec->v[K_WS_EXPECT];
    ws->expect = ws->t_send ? PLAN_WS_EXPECT_ANY : PLAN_WS_EXPECT_NONE;
    if (!v->s)
        return true;
    const char *s = v->s + strspn(v->s, " \t");
    static const char allowed[] = "allowed: none, any, contains TEXT, json PATH == VALUE, "
                                  "correlate PATH; e.g. correlate $.id";
    char err[200];
    if (strcmp(s, "none") == 0) {
        ws->expect = PLAN_WS_EXPECT_NONE;
        return true;
    }
    if (strcmp(s, "any") == 0) {
        ws->expect = PLAN_WS_EXPECT_ANY;
        return true;
    }
    if (strncmp(s, "contains ", 9) == 0 && s[9]) {
        ws->expect = PLAN_WS_EXPECT_CONTAINS;
        ws->expect_text = strdup(s + 9);
        ws->expect_len = ws->expect_text ? strlen(ws->expect_text) : 0;
        if (!ws->expect_text)
            cfg_oom(b->c);
        return ws->expect_text != NULL;
    }
    bool json = strncmp(s, "json ", 5) == 0, corr = strncmp(s, "correlate ", 10) == 0;
    if (!json && !corr) {
        cfg_fail(b->c, -EINVAL, v->line, sec, "ws_expect", "'%.60s' is not an expectation (%s)",
                 s, allowed);
        return false;
    }
    const char *p = s + (json ? 5 : 10);
    p += strspn(p, " \t");
    size_t used = 0;
    if (!(ws->path = calloc(1, sizeof *ws->path))) {
        cfg_oom(b->c);
        return false;
    }
    int rc = json_path_parse_prefix(ws->path, p, strlen(p), (size_t)(p - v->s), &used, err,
                                    sizeof err);
    if (rc == -ENOMEM) {
        cfg_oom(b->c);
        return false;
    }
    if (rc) {
        cfg_fail(b->c, -EINVAL, v->line, sec, "ws_expect", "%s (%s)", err, allowed);
        return false;
    }
    const char *rest = p + used;
    rest += strspn(rest, " \t");
    if (corr) {
        if (*rest) {
            cfg_fail(b->c, -EINVAL, v->line, sec, "ws_expect",
                     "unexpected '%.30s' after the path (%s)", rest, allowed);
            return false;
        }
        if (!ws->t_send) {
            cfg_fail(b->c, -EINVAL, v->line, sec, "ws_expect",
                     "correlate needs ws_send: the id is read from each sent message");
            return false;
        }
        ws->expect = PLAN_WS_EXPECT_CORRELATE;
        return true;
    }
    if (strncmp(rest, "==", 2) != 0 || !rest[2 + strspn(rest + 2, " \t")]) {
        cfg_fail(b->c, -EINVAL, v->line, sec, "ws_expect", "expected '== VALUE' after the path (%s)",
                 allowed);
        return false;
    }
    rest += 2;
    rest += strspn(rest, " \t");
    ws->expect = PLAN_WS_EXPECT_JSON;
    ws->expect_text = strdup(rest);
    ws->expect_len = ws->expect_text ? strlen(ws->expect_text) : 0;
    if (!ws->expect_text)
        cfg_oom(b->c);
    return ws->expect_text != NULL;
}

bool cfg_build_ws(struct build *b, const struct section *sec, plan_step *st)
{
    struct ctx *c = b->c;
    plan_ws *ws = st->ws;
    const struct value *send = &sec->v[K_WS_SEND];
    st->need_head = true; /* the 101's Sec-WebSocket-Accept is checked */
    if (send->s && send->len) {
        if (!cfg_compile_tpl(b, sec, "ws_send", send->line, send->s, send->len, &ws->t_send))
            return false;
        size_t cap = tpl_max_len(ws->t_send);
        if (cap > MAX_WS_MESSAGE) {
            cfg_fail(c, -EINVAL, send->line, sec, "ws_send",
                     "the message can expand to %zu bytes (at most 64MiB)", cap);
            return false;
        }
        ws->send_cap = (uint32_t)cap;
    }
    if (sec->v[K_WS_BINARY].s && !cfg_get_bool(c, sec, K_WS_BINARY, false, &ws->binary))
        return false;
    ws->interval_ns = DEFAULT_INTERVAL;
    if (sec->v[K_WS_INTERVAL].s && sec->v[K_WS_RATE].s) {
        cfg_fail(c, -EINVAL, sec->v[K_WS_RATE].line, sec, "ws_rate",
                 "cannot be combined with ws_interval (one says the other: rate = 1 / interval)");
        return false;
    }
    if (sec->v[K_WS_INTERVAL].s && !cfg_get_duration(c, sec, K_WS_INTERVAL, false, &ws->interval_ns))
        return false;
    if (sec->v[K_WS_RATE].s) {
        double r;
        const struct value *v = &sec->v[K_WS_RATE];
        if (value_rate(v->s, &r) != 0 || !(r > 0) || r > 1e6) {
            cfg_fail(c, -EINVAL, v->line, sec, "ws_rate",
                     "'%.40s' is not a rate per session (e.g. 2/s, 30/m; more than 0, at most "
                     "1000000/s)",
                     v->s);
            return false;
        }
        ws->interval_ns = (uint64_t)(1e9 / r);
        if (ws->interval_ns == 0)
            ws->interval_ns = 1;
    }
    if (sec->v[K_WS_MESSAGES].s && !cfg_get_uint(c, sec, K_WS_MESSAGES, 1, UINT32_MAX, &ws->messages))
        return false;
    if (sec->v[K_WS_HOLD].s && !cfg_get_duration(c, sec, K_WS_HOLD, true, &ws->hold_ns))
        return false;
    ws->reply_timeout_ns = DEFAULT_REPLY_TIMEOUT;
    if (sec->v[K_REPLY_TIMEOUT].s &&
        !cfg_get_duration(c, sec, K_REPLY_TIMEOUT, false, &ws->reply_timeout_ns))
        return false;
    if (sec->v[K_WS_PING].s && !cfg_get_duration(c, sec, K_WS_PING, true, &ws->ping_ns))
        return false;
    ws->max_message = WS_MSG_DEFAULT;
    if (sec->v[K_WS_MAX_MESSAGE].s &&
        !cfg_get_size(c, sec, K_WS_MAX_MESSAGE, 1, MAX_WS_MESSAGE, &ws->max_message))
        return false;
    if ((sec->v[K_WS_MESSAGES].s || sec->v[K_WS_INTERVAL].s || sec->v[K_WS_RATE].s ||
         sec->v[K_WS_BINARY].s) &&
        !ws->t_send) {
        int k = sec->v[K_WS_MESSAGES].s   ? K_WS_MESSAGES
                : sec->v[K_WS_INTERVAL].s ? K_WS_INTERVAL
                : sec->v[K_WS_RATE].s     ? K_WS_RATE
                                          : K_WS_BINARY;
        cfg_fail(c, -EINVAL, sec->v[k].line, sec, cfg_keys[k].name,
                 "says how to send messages, but the step has no ws_send (the message)");
        return false;
    }
    return parse_expect(b, sec, ws);
}
