/* metrics_ws: the WebSocket part of a scenario's recorder (see metrics.h): counters, close
 * codes and five histograms, made, emptied, copied, subtracted and merged as the rest of the
 * recorder is (metrics.c calls these). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const char *const ws_fail_names[METRICS_WS_NFAIL] = {
    [METRICS_WS_HANDSHAKE] = "handshake",     [METRICS_WS_ACCEPT] = "accept",
    [METRICS_WS_PROTOCOL] = "ws_protocol",    [METRICS_WS_CLOSED] = "closed_by_server",
    [METRICS_WS_LOST] = "connection_lost",    [METRICS_WS_REPLY_TIMEOUT] = "reply_timeout",
};

const char *metrics_ws_fail_name(metrics_ws_fail f)
{
    return (unsigned)f < METRICS_WS_NFAIL ? ws_fail_names[f] : "?";
}

static void code_add(metrics_ws *w, uint64_t code, uint64_t n)
{
    for (int i = 0; i < METRICS_WS_CODES; i++) {
        if (w->code_n[i] && w->code[i] == code) {
            w->code_n[i] += n;
            return;
        }
        if (!w->code_n[i] && (i < METRICS_WS_CODES - 1 || code == 0)) {
            w->code[i] = code;
            w->code_n[i] = n;
            return;
        }
    }
    code_add(w, 0, n); /* the last slot collects the codes that found no room */
}

void metrics_ws_code(metrics_ws *w, unsigned code)
{
    code_add(w, code, 1);
}

void metrics_ws_code_n(metrics_ws *w, unsigned code, uint64_t n)
{
    if (n)
        code_add(w, code, n);
}

static uint64_t at_least_1s(uint64_t us)
{
    return us < 1000000 ? 1000000 : us;
}

int metrics_ws_new(metrics_ws **out, const metrics_range *rg)
{
    metrics_ws *w = calloc(1, sizeof *w);
    uint64_t top = at_least_1s(rg->ws_us);
    if (!w || hist_init(&w->msg_latency, top, METRICS_HIST_SIGFIGS) < 0 ||
        hist_init(&w->msg_service, top, METRICS_HIST_SIGFIGS) < 0 ||
        hist_init(&w->connecting, at_least_1s(rg->latency_us), METRICS_HIST_SIGFIGS) < 0 ||
        hist_init(&w->session, top, METRICS_HIST_SIGFIGS) < 0 ||
        hist_init(&w->ping, top, METRICS_HIST_SIGFIGS) < 0) {
        metrics_ws_free(w);
        return -ENOMEM;
    }
    *out = w;
    return 0;
}

void metrics_ws_free(metrics_ws *w)
{
    if (!w)
        return;
    hist_free(w->msg_latency);
    hist_free(w->msg_service);
    hist_free(w->connecting);
    hist_free(w->session);
    hist_free(w->ping);
    free(w);
}

#define WS_HISTS(w) {(w)->msg_latency, (w)->msg_service, (w)->connecting, (w)->session, (w)->ping}

void metrics_ws_reset(metrics_ws *w)
{
    hist *h[] = WS_HISTS(w);
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        hist_reset(h[i]);
    memset(&w->c, 0, sizeof w->c);
    memset(w->code, 0, sizeof w->code);
    memset(w->code_n, 0, sizeof w->code_n);
}

int metrics_ws_copy(metrics_ws *d, const metrics_ws *s)
{
    hist *a[] = WS_HISTS(d);
    const hist *b[] = WS_HISTS(s);
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
        if (hist_copy(a[i], b[i]) < 0)
            return -EINVAL;
    d->c = s->c;
    memcpy(d->code, s->code, sizeof d->code);
    memcpy(d->code_n, s->code_n, sizeof d->code_n);
    return 0;
}

/* The counters as an array: every field of metrics_ws_counts is a uint64_t. */
#define NCOUNTS (sizeof(metrics_ws_counts) / sizeof(uint64_t))
_Static_assert(sizeof(metrics_ws_counts) % sizeof(uint64_t) == 0, "counters only");

int metrics_ws_sub(metrics_ws *d, const metrics_ws *s)
{
    hist *a[] = WS_HISTS(d);
    const hist *b[] = WS_HISTS(s);
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
        if (hist_sub(a[i], b[i]) < 0)
            return -EINVAL;
    uint64_t dc[NCOUNTS], sc[NCOUNTS];
    memcpy(dc, &d->c, sizeof dc);
    memcpy(sc, &s->c, sizeof sc);
    for (size_t i = 0; i < NCOUNTS; i++)
        dc[i] -= sc[i];
    memcpy(&d->c, dc, sizeof dc);
    for (int i = 0; i < METRICS_WS_CODES && s->code_n[i]; i++)
        for (int j = 0; j < METRICS_WS_CODES; j++)
            if (d->code_n[j] && d->code[j] == s->code[i]) {
                d->code_n[j] -= s->code_n[i];
                break;
            }
    return 0;
}

int metrics_ws_merge(metrics_ws *d, const metrics_ws *s)
{
    hist *a[] = WS_HISTS(d);
    const hist *b[] = WS_HISTS(s);
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        int rc = hist_merge(a[i], b[i]);
        if (rc < 0)
            return rc;
    }
    uint64_t dc[NCOUNTS], sc[NCOUNTS];
    memcpy(dc, &d->c, sizeof dc);
    memcpy(sc, &s->c, sizeof sc);
    for (size_t i = 0; i < NCOUNTS; i++)
        dc[i] += sc[i];
    memcpy(&d->c, dc, sizeof dc);
    for (int i = 0; i < METRICS_WS_CODES; i++)
        if (s->code_n[i])
            code_add(d, s->code[i], s->code_n[i]);
    return 0;
}
