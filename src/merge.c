/* merge: `blast merge` (see include/merge.h). The segments' JSON files are read with compare.c's
 * reader (jdoc, bounded, with its error lines), checked against the plan the scenario file makes
 * (config_sha256, and one file for each of the segments 1/N .. N/N), added into one recorder per
 * scenario shaped as a run's merged recorder is, and then handed to the same verdict and writers
 * as a run's results.
 *
 * Exactness: counters add. A histogram of the JSON is its slots ([lowest, count]); recording each
 * count at its lowest value into a histogram of the same sigfigs puts it in the same slot, so the
 * sum of the segments' slots is exactly the slots a single recorder would have had; the exact
 * min, max and sum (hist_restore) are the segments' min of mins, max of maxes and sum of sums. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compare.h"
#include "merge.h"
#include "metrics.h"
#include "outputs.h"
#include "redact.h"
#include "report.h"

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_SETUP = 3, EXIT_OUTPUT = 5, EXIT_GATE = 99 };

/* What the segments' copies of one histogram say beside their slots. */
struct acc {
    uint64_t min, max;
    long double sum;
    bool any;
};

/* One scenario being merged: its recorder and, per histogram of it, the extremes. Histogram k of
 * the scenario: 0 send lateness, 1 iteration duration, 2 connecting, 3 TLS handshake, then each
 * step's latency and service time, then each stage's send lateness. */
struct mscen {
    metrics_rec m;
    struct acc *acc;
    size_t nacc;
    struct acc *wacc; /* WS_HISTS per step: its ws histograms' (ws steps only use theirs) */
};

#define WS_HISTS 5

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redact_vsay("blast merge", fmt, ap);
    va_end(ap);
}

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* The value at a dotted path of member names ("requests.scheduled"), or NULL. */
static const jdoc *at(const jdoc *d, const char *path)
{
    char name[64];
    while (d && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof name)
            return NULL;
        memcpy(name, path, n);
        name[n] = '\0';
        d = jdoc_get(d, name);
        path += n + (path[n] == '.');
    }
    return d;
}

/* A count at path (a whole number 0..2^53: exact in a double). */
static int count(const jdoc *d, const char *path, uint64_t *v, const char *where, char *err,
                 size_t errlen)
{
    double x;
    if (!jdoc_number(at(d, path), &x) || !(x >= 0) || x > 9007199254740992.0 || x != floor(x))
        return bad(err, errlen, "%s: missing field %s (a count)", where, path);
    *v = (uint64_t)x;
    return 0;
}

/* Adds the count at path to *v. */
static int add(const jdoc *d, const char *path, uint64_t *v, const char *where, char *err,
               size_t errlen)
{
    uint64_t x;
    int rc = count(d, path, &x, where, err, errlen);
    if (rc == 0)
        *v += x;
    return rc;
}

/* Adds a histogram of the JSON (null, or {"sigfigs", "count", "min", "max", "sum", "slots"})
 * into h. */
static int add_hist(hist *h, struct acc *a, const jdoc *j, const char *where, const char *name,
                    char *err, size_t errlen)
{
    if (!j || j->kind == JDOC_NULL) {
        if (h && j == NULL)
            return bad(err, errlen, "%s: missing histogram %s", where, name);
        return 0;
    }
    if (!h)
        return bad(err, errlen, "%s: histogram %s that this plan does not have", where, name);
    double sig;
    const jdoc *slots = jdoc_get(j, "slots");
    if (!jdoc_number(jdoc_get(j, "sigfigs"), &sig) || sig != hist_sigfigs(h) || !slots ||
        slots->kind != JDOC_ARRAY)
        return bad(err, errlen, "%s: histogram %s: expected sigfigs %d and slots", where, name,
                   hist_sigfigs(h));
    uint64_t n, total = 0, mn, mx;
    int rc;
    if ((rc = count(j, "count", &n, where, err, errlen)) < 0)
        return rc;
    for (size_t i = 0; i < slots->n; i++) {
        const jdoc *s = &slots->kids[i];
        double lo, c;
        if (s->kind != JDOC_ARRAY || s->n != 2 || !jdoc_number(&s->kids[0], &lo) ||
            !jdoc_number(&s->kids[1], &c) || !(lo >= 0) || !(c >= 1) || lo != floor(lo) ||
            c != floor(c) || lo > 1.8e19 || c > 9007199254740992.0)
            return bad(err, errlen, "%s: histogram %s: slot %zu is not [lowest, count]", where,
                       name, i);
        hist_record_n(h, (uint64_t)lo, (uint64_t)c);
        total += (uint64_t)c;
    }
    if (total != n)
        return bad(err, errlen, "%s: histogram %s: its slots hold %" PRIu64 " values, not %" PRIu64,
                   where, name, total, n);
    if (n == 0)
        return 0;
    if ((rc = count(j, "min", &mn, where, err, errlen)) < 0 ||
        (rc = count(j, "max", &mx, where, err, errlen)) < 0)
        return rc;
    double sum, mean;
    if (!jdoc_number(jdoc_get(j, "sum"), &sum)) /* older files: the mean, to 3 decimals */
        sum = jdoc_number(jdoc_get(j, "mean"), &mean) ? mean * (double)n : 0;
    if (!a->any || mn < a->min)
        a->min = mn;
    if (!a->any || mx > a->max)
        a->max = mx;
    a->sum += sum;
    a->any = true;
    return 0;
}

/* The first check of the scenario named name (the JSON sums checks by name), or -1. */
static long check_index(const plan_scenario *s, const char *name)
{
    for (size_t i = 0; i < s->nsteps; i++)
        for (size_t j = 0; j < s->steps[i].nchecks; j++)
            if (strcmp(check_name(s->steps[i].checks[j]), name) == 0)
                return (long)(s->steps[i].check0 + j);
    return -1;
}

/* The ws histogram k of a step's block (see WS_HISTS and ws_hist_names). */
static hist *ws_hist_k(metrics_ws *w, size_t k)
{
    hist *const h[WS_HISTS] = {w->msg_latency, w->msg_service, w->connecting, w->session, w->ping};
    return h[k];
}

static const char *const ws_hist_names[WS_HISTS] = {"msg_latency", "msg_service", "connecting",
                                                    "session_duration", "ping"};

/* Adds a WebSocket step's `ws` object (report_json.c's ws_json) into its block. */
static int add_ws(struct mscen *ms, size_t i, const jdoc *js, const char *w, char *err,
                  size_t errlen)
{
    metrics_ws *ws = ms->m.steps[i].ws;
    if (!js || js->kind != JDOC_OBJECT)
        return bad(err, errlen, "%s: no \"ws\" object for a WebSocket step", w);
    metrics_ws_counts *c = &ws->c;
    static const struct {
        const char *path;
        size_t off;
    } fields[] = {
        {"ws_sessions", offsetof(metrics_ws_counts, sessions)},
        {"handshakes", offsetof(metrics_ws_counts, handshakes)},
        {"sessions_ok", offsetof(metrics_ws_counts, sessions_ok)},
        {"sessions_failed", offsetof(metrics_ws_counts, sessions_failed)},
        {"ws_msgs_sent", offsetof(metrics_ws_counts, msgs_sent)},
        {"ws_msgs_received", offsetof(metrics_ws_counts, msgs_received)},
        {"replied", offsetof(metrics_ws_counts, replied)},
        {"timed_out", offsetof(metrics_ws_counts, timed_out)},
        {"cut", offsetof(metrics_ws_counts, cut)},
        {"unexpected", offsetof(metrics_ws_counts, unexpected)},
        {"pings_received", offsetof(metrics_ws_counts, pings_received)},
        {"pongs_sent", offsetof(metrics_ws_counts, pongs_sent)},
        {"pings_sent", offsetof(metrics_ws_counts, pings_sent)},
        {"pongs_received", offsetof(metrics_ws_counts, pongs_received)},
        {"closed_by_server", offsetof(metrics_ws_counts, closed_by_server)},
        {"closed_by_client", offsetof(metrics_ws_counts, closed_by_client)},
    };
    int rc = 0;
    for (size_t k = 0; k < sizeof fields / sizeof fields[0] && rc == 0; k++)
        rc = add(js, fields[k].path, (uint64_t *)(void *)((char *)c + fields[k].off), w, err,
                 errlen);
    char path[64];
    for (int f = 0; f < METRICS_WS_NFAIL && rc == 0; f++) {
        snprintf(path, sizeof path, "failures.%s", metrics_ws_fail_name((metrics_ws_fail)f));
        rc = add(js, path, &c->fail[f], w, err, errlen);
    }
    const jdoc *codes = jdoc_get(js, "close_codes");
    for (size_t k = 0; rc == 0 && codes && codes->kind == JDOC_OBJECT && k < codes->n; k++) {
        double n;
        char *end;
        unsigned long code = strtoul(codes->kids[k].key, &end, 10);
        if (*end || code > 65535 || !jdoc_number(&codes->kids[k], &n) || !(n >= 0) ||
            n != floor(n))
            return bad(err, errlen, "%s: close code \"%s\" is not CODE: count", w,
                       codes->kids[k].key);
        metrics_ws_code_n(ws, (unsigned)code, (uint64_t)n);
    }
    const jdoc *h = jdoc_get(js, "histograms");
    for (size_t k = 0; k < WS_HISTS && rc == 0; k++)
        rc = add_hist(ws_hist_k(ws, k), &ms->wacc[WS_HISTS * i + k], jdoc_get(h, ws_hist_names[k]),
                      w, ws_hist_names[k], err, errlen);
    return rc;
}

static int add_step(struct mscen *ms, const plan_scenario *s, size_t i, const jdoc *js,
                    const char *where, char *err, size_t errlen)
{
    metrics_step *m = &ms->m.steps[i];
    char w[400];
    snprintf(w, sizeof w, "%s, step \"%s\"", where, s->steps[i].name);
    static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    char path[64];
    int rc = 0;
    if ((rc = add(js, "requests.scheduled", &m->scheduled, w, err, errlen)) < 0 ||
        (rc = add(js, "requests.ok", &m->ok, w, err, errlen)) < 0 ||
        (rc = add(js, "requests.failed", &m->failed, w, err, errlen)) < 0 ||
        (rc = add(js, "bytes.sent", &m->bytes_sent, w, err, errlen)) < 0 ||
        (rc = add(js, "bytes.received", &m->bytes_received, w, err, errlen)) < 0)
        return rc;
    for (int f = 0; f < METRICS_NFAIL && rc == 0; f++) {
        snprintf(path, sizeof path, "failures.%s", metrics_fail_name((metrics_fail)f));
        rc = add(js, path, &m->fail[f], w, err, errlen);
    }
    for (int k = 0; k < 6 && rc == 0; k++) {
        snprintf(path, sizeof path, "status.%s", cls[k]);
        rc = add(js, path, &m->status[k], w, err, errlen);
    }
    const jdoc *h = jdoc_get(js, "histograms");
    if (rc == 0)
        rc = add_hist(m->latency, &ms->acc[4 + 2 * i], jdoc_get(h, "latency"), w, "latency", err,
                      errlen);
    if (rc == 0)
        rc = add_hist(m->service, &ms->acc[5 + 2 * i], jdoc_get(h, "service_time"), w,
                      "service_time", err, errlen);
    if (rc == 0 && m->ws)
        rc = add_ws(ms, i, jdoc_get(js, "ws"), w, err, errlen);
    return rc;
}

static int add_scenario(struct mscen *ms, const plan_scenario *s, const jdoc *js, double *window,
                        const char *file, char *err, size_t errlen)
{
    metrics_rec *m = &ms->m;
    metrics_counts *c = &m->c;
    char w[300];
    snprintf(w, sizeof w, "%s: scenario \"%s\"", file, s->name);
    double d;
    if (jdoc_number(jdoc_get(js, "duration_s"), &d) && d > *window)
        *window = d;
    const char *exec = at(js, "executor") && at(js, "executor")->kind == JDOC_STRING
                           ? at(js, "executor")->str
                           : "";
    if (strcmp(exec, plan_executor_names[s->executor]) != 0)
        return bad(err, errlen, "%s: executor %s, the scenario file says %s", w, exec,
                   plan_executor_names[s->executor]);
    static const struct {
        const char *path;
        size_t off;
    } fields[] = {
        {"requests.scheduled", offsetof(metrics_counts, scheduled)},
        {"requests.ok", offsetof(metrics_counts, ok)},
        {"requests.failed", offsetof(metrics_counts, failed)},
        {"requests.dropped", offsetof(metrics_counts, dropped)},
        {"bytes.sent", offsetof(metrics_counts, bytes_sent)},
        {"bytes.received", offsetof(metrics_counts, bytes_received)},
        {"connections.opened", offsetof(metrics_counts, conns_opened)},
        {"connections.max_open", offsetof(metrics_counts, conns_max_open)},
        {"connections.closed_by_server", offsetof(metrics_counts, conns_server_closed)},
        {"connections.failed", offsetof(metrics_counts, conns_failed)},
        {"connections.recycled", offsetof(metrics_counts, conns_recycled)},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && rc == 0; i++)
        rc = add(js, fields[i].path, (uint64_t *)(void *)((char *)c + fields[i].off), w, err,
                 errlen);
    char path[64];
    for (int f = 0; f < METRICS_NFAIL && rc == 0; f++) {
        snprintf(path, sizeof path, "failures.%s", metrics_fail_name((metrics_fail)f));
        rc = add(js, path, &c->fail[f], w, err, errlen);
    }
    if (rc == 0 &&
        ((rc = add(js, "iterations.scheduled", &m->it.scheduled, w, err, errlen)) < 0 ||
         (rc = add(js, "iterations.completed", &m->it.completed, w, err, errlen)) < 0 ||
         (rc = add(js, "iterations.failed", &m->it.failed, w, err, errlen)) < 0 ||
         (rc = add(js, "iterations.interrupted", &m->it.interrupted, w, err, errlen)) < 0 ||
         (rc = add(js, "iterations.dropped", &m->it.dropped, w, err, errlen)) < 0))
        return rc;
    if (rc < 0)
        return rc;
    uint64_t q;
    if (count(js, "offered_load.queue_max", &q, w, err, errlen) == 0)
        c->queue_max += q; /* summed, as over workers */
    if (s->tls) {
        if ((rc = add(js, "tls.handshakes.full", &c->tls_full, w, err, errlen)) < 0 ||
            (rc = add(js, "tls.handshakes.resumed", &c->tls_resumed, w, err, errlen)) < 0)
            return rc;
        const jdoc *e = at(js, "tls.errors");
        for (size_t i = 0; e && e->kind == JDOC_OBJECT && i < e->n; i++) {
            double n;
            if (jdoc_number(&e->kids[i], &n) && n >= 1)
                metrics_tls_reason(m, e->kids[i].key, (uint64_t)n);
        }
    }
    const jdoc *chk = jdoc_get(js, "checks");
    for (size_t i = 0; chk && chk->kind == JDOC_OBJECT && i < chk->n; i++) {
        long k = check_index(s, chk->kids[i].key);
        if (k < 0)
            return bad(err, errlen, "%s: check \"%s\" is not in the scenario file", w,
                       chk->kids[i].key);
        if ((rc = add(&chk->kids[i], "passes", &m->checks[k].passes, w, err, errlen)) < 0 ||
            (rc = add(&chk->kids[i], "fails", &m->checks[k].fails, w, err, errlen)) < 0)
            return rc;
    }
    const jdoc *st = jdoc_get(js, "steps");
    if (!st || st->kind != JDOC_OBJECT || st->n != s->nsteps)
        return bad(err, errlen, "%s: expected the %zu steps of the scenario file", w, s->nsteps);
    for (size_t i = 0; i < s->nsteps; i++) {
        if (strcmp(st->kids[i].key, s->steps[i].name) != 0)
            return bad(err, errlen, "%s: step %zu is \"%s\", the scenario file's is \"%s\"", w,
                       i + 1, st->kids[i].key, s->steps[i].name);
        if ((rc = add_step(ms, s, i, &st->kids[i], w, err, errlen)) < 0)
            return rc;
    }
    const jdoc *h = jdoc_get(js, "histograms");
    if ((rc = add_hist(m->lateness, &ms->acc[0], jdoc_get(h, "send_lateness"), w, "send_lateness",
                       err, errlen)) < 0 ||
        (rc = add_hist(m->iteration, &ms->acc[1], jdoc_get(h, "iteration_duration"), w,
                       "iteration_duration", err, errlen)) < 0 ||
        (rc = add_hist(m->connecting, &ms->acc[2], jdoc_get(h, "connecting"), w, "connecting", err,
                       errlen)) < 0 ||
        (rc = add_hist(m->handshake, &ms->acc[3], jdoc_get(h, "tls_handshake"), w, "tls_handshake",
                       err, errlen)) < 0)
        return rc;
    if (m->nstages) {
        const jdoc *sg = jdoc_get(js, "stages");
        if (!sg || sg->kind != JDOC_ARRAY || sg->n != m->nstages)
            return bad(err, errlen, "%s: expected the %zu stages of the scenario file", w,
                       m->nstages);
        for (size_t i = 0; i < m->nstages; i++) {
            if ((rc = add(&sg->kids[i], "scheduled", &m->stages[i].scheduled, w, err, errlen)) < 0)
                return rc;
            const jdoc *lh = jdoc_get(&sg->kids[i], "send_lateness_histogram");
            if (lh && (rc = add_hist(m->stages[i].lateness, &ms->acc[4 + 2 * s->nsteps + i], lh, w,
                                     "stage send_lateness", err, errlen)) < 0)
                return rc;
        }
    }
    return 0;
}

/* The histogram k of a scenario (see struct mscen). */
static hist *hist_k(metrics_rec *m, size_t nsteps, size_t k)
{
    if (k < 4)
        return k == 0 ? m->lateness : k == 1 ? m->iteration : k == 2 ? m->connecting : m->handshake;
    k -= 4;
    if (k < 2 * nsteps)
        return k % 2 ? m->steps[k / 2].service : m->steps[k / 2].latency;
    return m->stages[k - 2 * nsteps].lateness;
}

/* The whole run's top-level figures, from every file. */
struct top {
    double duration_s, cpu_user, cpu_sys, cpu_wait;
    uint64_t rss, workers;
    bool interrupted, started, aborted;
    char reason[256];
};

/* Checks that file's document d belongs to plan p and notes its segment in seen[]. */
static int check_file(const plan *p, const jdoc *d, const char *file, size_t nfiles,
                      unsigned char *seen, char *err, size_t errlen)
{
    const jdoc *fp = jdoc_get(d, "config_sha256");
    if (!fp || fp->kind != JDOC_STRING)
        return bad(err, errlen, "%s: no config_sha256 (written by an older blast?)", file);
    if (strcmp(fp->str, p->fingerprint) != 0)
        return bad(err, errlen,
                   "%s: from a different run: config_sha256 %.12s..., the scenario file and "
                   "options give %.12s... (same file, -e, -p, -d, -r, -u, -s as the segments?)",
                   file, fp->str, p->fingerprint);
    double idx, cnt;
    const jdoc *sg = jdoc_get(d, "segment");
    if (!sg || sg->kind != JDOC_OBJECT || !jdoc_number(jdoc_get(sg, "index"), &idx) ||
        !jdoc_number(jdoc_get(sg, "count"), &cnt))
        return bad(err, errlen,
                   "%s: not a segment (its \"segment\" is null: run with --segment "
                   "I/N)",
                   file);
    if (cnt != (double)nfiles)
        return bad(err, errlen, "%s: segment %.0f/%.0f, but %zu file%s given (one per segment)",
                   file, idx, cnt, nfiles, nfiles == 1 ? " is" : "s are");
    if (!(idx >= 1 && idx <= cnt) || idx != floor(idx))
        return bad(err, errlen, "%s: segment index %g out of range", file, idx);
    if (seen[(size_t)idx - 1])
        return bad(err, errlen, "%s: segment %.0f/%.0f is given twice", file, idx, cnt);
    seen[(size_t)idx - 1] = 1;
    return 0;
}

static void add_top(struct top *t, const jdoc *d)
{
    double x;
    if (jdoc_number(jdoc_get(d, "duration_s"), &x) && x > t->duration_s)
        t->duration_s = x;
    if (jdoc_number(jdoc_get(d, "workers"), &x) && x > 0)
        t->workers += (uint64_t)x;
    if (jdoc_number(at(d, "client.cpu_user_s"), &x))
        t->cpu_user += x;
    if (jdoc_number(at(d, "client.cpu_sys_s"), &x))
        t->cpu_sys += x;
    if (jdoc_number(at(d, "client.cpu_wait_s"), &x))
        t->cpu_wait += x;
    if (jdoc_number(at(d, "client.rss_max_kib"), &x) && x > (double)t->rss)
        t->rss = (uint64_t)x;
    const jdoc *b = jdoc_get(d, "interrupted");
    t->interrupted |= b && b->kind == JDOC_BOOL && b->b;
    b = jdoc_get(d, "started");
    t->started |= !b || b->kind != JDOC_BOOL || b->b;
    b = jdoc_get(d, "aborted_by");
    if (b && b->kind == JDOC_STRING && !t->aborted) {
        t->aborted = true;
        snprintf(t->reason, sizeof t->reason, "%s", b->str);
    }
}

/* Reads every file into sc (one per plan scenario). */
static int read_all(const merge_args *a, const plan *p, struct mscen *sc, double *windows,
                    struct top *t, char *err, size_t errlen)
{
    unsigned char *seen = calloc(a->nfiles, 1);
    if (!seen)
        return bad(err, errlen, "out of memory");
    int rc = 0;
    for (size_t f = 0; f < a->nfiles && rc == 0; f++) {
        compare_run *r = NULL;
        char why[512];
        if ((rc = compare_load(a->files[f], &r, why, sizeof why)) < 0) {
            snprintf(err, errlen, "%s: %s", a->files[f], why);
            break;
        }
        const jdoc *js = jdoc_get(r->doc, "scenarios");
        rc = check_file(p, r->doc, a->files[f], a->nfiles, seen, err, errlen);
        if (rc == 0 && js->n != p->nscenarios)
            rc = bad(err, errlen, "%s: %zu scenarios, the scenario file has %zu", a->files[f],
                     js->n, p->nscenarios);
        for (size_t i = 0; rc == 0 && i < p->nscenarios; i++) {
            const jdoc *one = jdoc_get(js, p->scenarios[i].name);
            if (!one)
                rc = bad(err, errlen, "%s: no scenario \"%s\"", a->files[f], p->scenarios[i].name);
            else
                rc = add_scenario(&sc[i], &p->scenarios[i], one, &windows[i], a->files[f], err,
                                  errlen);
        }
        if (rc == 0)
            add_top(t, r->doc);
        compare_run_free(r);
    }
    free(seen);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < p->nscenarios; i++) {
        for (size_t k = 0; k < sc[i].nacc; k++) {
            hist *h = hist_k(&sc[i].m, p->scenarios[i].nsteps, k);
            const struct acc *ac = &sc[i].acc[k];
            if (h && ac->any && hist_restore(h, ac->min, ac->max, ac->sum) < 0)
                return bad(err, errlen,
                           "scenario \"%s\": a histogram's min, max or sum does not fit its "
                           "slots",
                           p->scenarios[i].name);
        }
        for (size_t j = 0; j < p->scenarios[i].nsteps; j++)
            for (size_t k = 0; sc[i].m.steps[j].ws && k < WS_HISTS; k++) {
                const struct acc *ac = &sc[i].wacc[WS_HISTS * j + k];
                hist *h = ws_hist_k(sc[i].m.steps[j].ws, k);
                if (h && ac->any && hist_restore(h, ac->min, ac->max, ac->sum) < 0)
                    return bad(err, errlen,
                               "scenario \"%s\": a WebSocket histogram's min, max or sum does "
                               "not fit its slots",
                               p->scenarios[i].name);
            }
        if (metrics_finish(&sc[i].m) < 0)
            return bad(err, errlen, "out of memory");
    }
    return 0;
}

static int outputs_of(const merge_args *a, const plan *p, outputs **out)
{
    outputs *o = outputs_new();
    *out = o;
    if (!o) {
        say("out of memory");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < a->nout; i++) {
        if (strcmp(a->okind[i], "prometheus") == 0) {
            say("--out prometheus: a scrape endpoint lives as long as a run; a merge ends at "
                "once (push the merged totals with prometheus-rw=URL instead)");
            return EXIT_USAGE;
        }
        if (!outputs_kind_known(a->okind[i])) {
            say("--out %s: not a kind of output (known: %s)", a->okind[i], outputs_kind_names());
            return EXIT_USAGE;
        }
        if (outputs_add(o, a->okind[i], a->odest[i]) < 0) {
            say("too many outputs (at most %d)", OUTPUTS_MAX);
            return EXIT_USAGE;
        }
    }
    /* The file's out lines, as a single run of it would write them (not a scrape endpoint). */
    for (size_t i = 0; i < p->nouts; i++) {
        char *eq = strchr(p->outs[i], '='); /* config checked KIND=DEST */
        *eq = '\0';
        if (strcmp(p->outs[i], "prometheus") == 0) {
            say("the file's out = prometheus=%s is left out: a scrape endpoint lives as long as "
                "a run, and a merge ends at once",
                eq + 1);
            continue;
        }
        if (outputs_add(o, p->outs[i], eq + 1) < 0) {
            say("too many outputs (at most %d --out options and out lines)", OUTPUTS_MAX);
            return EXIT_USAGE;
        }
    }
    char err[1024];
    if (outputs_open(o, p, err, sizeof err) < 0) {
        say("--out %s", err);
        return EXIT_SETUP;
    }
    return EXIT_OK;
}

int merge_run(const merge_args *a)
{
    if (!a->config) {
        fprintf(stderr, "blast merge: no scenario file (give -c FILE: the one the segments ran, "
                        "whose thresholds judge the whole)\n");
        return EXIT_USAGE;
    }
    if (a->nfiles == 0) {
        fprintf(stderr, "blast merge: no segment files (blast merge SEG.json... -c FILE)\n");
        return EXIT_USAGE;
    }
    char err[4096];
    plan *p = NULL;
    if (config_load(a->config, a->ov, &p, err, sizeof err) < 0) {
        say("%s", err);
        return EXIT_USAGE;
    }
    size_t n = p->nscenarios;
    struct mscen *sc = calloc(n, sizeof *sc);
    double *windows = calloc(n, sizeof *windows);
    report_scenario *rs = calloc(n, sizeof *rs);
    int status = sc && windows && rs ? EXIT_OK : EXIT_USAGE;
    for (size_t i = 0; status == EXIT_OK && i < n; i++) {
        const plan_scenario *s = &p->scenarios[i];
        metrics_range rg;
        plan_ranges(p, s, &rg);
        sc[i].nacc =
            4 + 2 * s->nsteps + (s->executor == PLAN_RAMPING_ARRIVAL_RATE ? s->nstages : 0);
        sc[i].acc = calloc(sc[i].nacc, sizeof *sc[i].acc);
        sc[i].wacc = calloc(WS_HISTS * (s->nsteps ? s->nsteps : 1), sizeof *sc[i].wacc);
        if (!sc[i].acc || !sc[i].wacc || metrics_rec_init(&sc[i].m, &rg, s->nsteps, s->nchecks) < 0 ||
            (s->executor == PLAN_RAMPING_ARRIVAL_RATE &&
             metrics_rec_stages(&sc[i].m, s->nstages) < 0))
            status = EXIT_USAGE;
    }
    if (status != EXIT_OK)
        say("out of memory");
    struct top t = {0};
    if (status == EXIT_OK && read_all(a, p, sc, windows, &t, err, sizeof err) < 0) {
        say("%s", err);
        status = EXIT_USAGE;
    }
    outputs *outs = NULL;
    if (status == EXIT_OK)
        status = outputs_of(a, p, &outs);
    if (status == EXIT_OK) {
        for (size_t i = 0; i < n; i++)
            rs[i] = (report_scenario){.s = &p->scenarios[i], .m = &sc[i].m, .window_s = windows[i]};
        report_run run = {.plan = p,
                          .workers = (unsigned)t.workers,
                          .duration_s = t.duration_s,
                          .interrupted = t.interrupted,
                          .started = t.started,
                          .aborted = t.aborted,
                          .sc = rs,
                          .nsc = n};
        snprintf(run.abort_reason, sizeof run.abort_reason, "%s", t.reason);
        verdict v;
        if (verdict_build(&v, &run) < 0) {
            say("out of memory judging the merged run");
            status = EXIT_USAGE;
        } else {
            /* the client figures are the segments' (their CPU summed, the largest RSS) */
            v.cpu_user_s = t.cpu_user;
            v.cpu_sys_s = t.cpu_sys;
            v.cpu_wait_s = t.cpu_wait;
            v.rss_max_kib = t.rss;
            run.verdict = &v;
            /* The segments kept no seconds: a time series gets one interval, the whole run. */
            series_set *ss = outputs_series(outs);
            if (ss)
                series_set_interval(ss, &run, &run, run.duration_s, true);
            if (!a->quiet)
                report_text(stdout, &run);
            if (outputs_finish(outs, &run, say) < 0)
                status = EXIT_OUTPUT;
            else if (verdict_failed(&v))
                status = EXIT_GATE;
            fflush(stdout);
        }
        verdict_free(&v);
    }
    outputs_free(outs);
    for (size_t i = 0; sc && i < n; i++) {
        metrics_rec_free(&sc[i].m);
        free(sc[i].acc);
        free(sc[i].wacc);
    }
    free(sc);
    free(windows);
    free(rs);
    plan_free(p);
    return status;
}
