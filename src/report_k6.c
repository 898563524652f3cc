/* report_k6: the document k6 hands to handleSummary(data), which k6 scripts write out as
 * k6-summary.json, so the CI steps and dashboards written against that file read a blast run
 * as they read a k6 one. Only the names and shapes k6 uses: metrics.NAME = {type, contains,
 * values, thresholds?}, root_group, options, state.
 *
 * What each k6 metric is made of here (times in milliseconds):
 *   http_reqs            completed requests (ok + failed; dropped arrivals never went out)
 *   http_req_failed      a k6 Rate whose value is 1 for a failed request: `passes` counts the
 *                        FAILED requests, `fails` the ok ones, `rate` = failed / completed
 *   http_req_duration    corrected latency (from the intended start), the number users see
 *   http_req_waiting     service time (from the actual send)
 *   http_req_tls_handshaking  per completed handshake (k6 adds a 0 for each reused connection)
 *   iterations           completed + failed iterations; iteration_duration their durations
 *   dropped_iterations   arrivals that found no VU; checks: passes / fails of every check
 *   data_sent/received   bytes; vus_max: the plan's VUs (arrival-rate: max_vus)
 *   ws_*                 with a WebSocket step only: ws_sessions, ws_msgs_sent, ws_msgs_received
 *                        (counters), ws_connecting, ws_session_duration, ws_ping and blast's
 *                        ws_msg_latency (corrected, from the intended send; trends),
 *                        ws_message_failures (timed out or cut / judged messages) and
 *                        ws_connection_failures (failed / ended sessions), rates as
 *                        http_req_failed: passes count the failures
 * A threshold becomes metrics[KEY].thresholds["p(95)<500"] = {ok}, keyed as k6 keys it: the
 * stat, the operator and the limit in k6's units (ms, a fraction), blanks removed. KEY is the
 * metric, or the submetric "metric{tag:value,...}" of the tags the expression selects, with
 * scenario:NAME first for a threshold declared in a [scenario NAME] section. A submetric's
 * values are computed when its tags name scenarios, steps (name, method) or `tag =` values;
 * for other tags (status, ...) they hold the observed value of its thresholds' stats. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "md5.h"
#include "redact.h"
#include "ceiling.h"
#include "report.h"

/* ---- JSON ---- */

static void jstr(FILE *f, const char *s)
{
    s = redact_str(s);
    fputc('"', f);
    while (*s) {
        uint32_t cp;
        s += report_utf8_next(s, &cp);
        if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (char)cp);
        else if (cp < 0x20)
            fprintf(f, "\\u%04x", (unsigned)cp);
        else
            report_utf8_put(f, cp);
    }
    fputc('"', f);
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static void jnum(FILE *f, double v)
{
    fprintf(f, "%.10g", isfinite(v) ? v : 0); /* JSON has no NaN or infinity */
}

/* ---- the metrics ---- */

typedef enum { T_COUNTER, T_RATE, T_TREND, T_GAUGE } mtype;
static const char *const type_names[] = {"counter", "rate", "trend", "gauge"};

typedef enum {
    M_HTTP_REQS,
    M_HTTP_REQ_FAILED,
    M_HTTP_REQ_DURATION,
    M_HTTP_REQ_WAITING,
    M_HTTP_REQ_TLS,
    M_ITERATIONS,
    M_ITERATION_DURATION,
    M_DROPPED_ITERATIONS,
    M_CHECKS,
    M_DATA_SENT,
    M_DATA_RECEIVED,
    M_VUS_MAX,
    M_WS_SESSIONS, /* the WebSocket metrics: only in runs with a WebSocket step */
    M_WS_MSGS_SENT,
    M_WS_MSGS_RECEIVED,
    M_WS_CONNECTING,
    M_WS_SESSION_DURATION,
    M_WS_PING,
    M_WS_MSG_LATENCY,
    M_WS_MESSAGE_FAILURES,
    M_WS_CONNECTION_FAILURES,
    M_NBUILTIN,
    M_OTHER = M_NBUILTIN, /* a name k6 has no built-in metric for */
} metric_id;

static const struct {
    const char *name;
    mtype type;
    const char *contains;
    bool per_step; /* a step's records give it (else only a scenario's do) */
} builtins[M_NBUILTIN] = {
    [M_HTTP_REQS] = {"http_reqs", T_COUNTER, "default", true},
    [M_HTTP_REQ_FAILED] = {"http_req_failed", T_RATE, "default", true},
    [M_HTTP_REQ_DURATION] = {"http_req_duration", T_TREND, "time", true},
    [M_HTTP_REQ_WAITING] = {"http_req_waiting", T_TREND, "time", true},
    [M_HTTP_REQ_TLS] = {"http_req_tls_handshaking", T_TREND, "time", false},
    [M_ITERATIONS] = {"iterations", T_COUNTER, "default", false},
    [M_ITERATION_DURATION] = {"iteration_duration", T_TREND, "time", false},
    [M_DROPPED_ITERATIONS] = {"dropped_iterations", T_COUNTER, "default", false},
    [M_CHECKS] = {"checks", T_RATE, "default", true},
    [M_DATA_SENT] = {"data_sent", T_COUNTER, "data", true},
    [M_DATA_RECEIVED] = {"data_received", T_COUNTER, "data", true},
    [M_VUS_MAX] = {"vus_max", T_GAUGE, "default", false},
    [M_WS_SESSIONS] = {"ws_sessions", T_COUNTER, "default", true},
    [M_WS_MSGS_SENT] = {"ws_msgs_sent", T_COUNTER, "default", true},
    [M_WS_MSGS_RECEIVED] = {"ws_msgs_received", T_COUNTER, "default", true},
    [M_WS_CONNECTING] = {"ws_connecting", T_TREND, "time", true},
    [M_WS_SESSION_DURATION] = {"ws_session_duration", T_TREND, "time", true},
    [M_WS_PING] = {"ws_ping", T_TREND, "time", true},
    [M_WS_MSG_LATENCY] = {"ws_msg_latency", T_TREND, "time", true},
    [M_WS_MESSAGE_FAILURES] = {"ws_message_failures", T_RATE, "default", true},
    [M_WS_CONNECTION_FAILURES] = {"ws_connection_failures", T_RATE, "default", true},
};

/* The trend stats every trend carries (options.summaryTrendStats). */
static const struct {
    const char *key;
    double p; /* percentile, or -1 avg, -2 min, -3 max, -4 count */
} trend_stats[] = {{"avg", -1},   {"min", -2},   {"med", 50},   {"max", -3},
                   {"p(90)", 90}, {"p(95)", 95}, {"p(99)", 99}, {"count", -4}};
#define NTREND (sizeof(trend_stats) / sizeof(trend_stats[0]))

static metric_id metric_of(const char *name)
{
    for (int i = 0; i < M_NBUILTIN; i++)
        if (name && strcmp(builtins[i].name, name) == 0)
            return (metric_id)i;
    return M_OTHER;
}

/* A tag selector: the {key:value,...} of a submetric. */
#define SEL_MAX 8
typedef struct sel {
    size_t n;
    struct {
        char key[64], value[256];
    } tag[SEL_MAX];
} sel;

/* What a metric key's values are made of: the records of the scenarios and steps it selects. */
typedef struct agg {
    bool scenario_level; /* whole scenarios: iterations, handshakes and VUs are known */
    uint64_t reqs, failed, sent, received, iters, dropped, passes, fails, vus;
    hist *lat, *svc, *tls, *iter;
    metrics_ws_counts ws;
    hist *ws_conn, *ws_sess, *ws_ping, *ws_lat;
} agg;

static void agg_free(agg *a)
{
    hist *h[] = {a->lat, a->svc, a->tls, a->iter, a->ws_conn, a->ws_sess, a->ws_ping, a->ws_lat};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        hist_free(h[i]);
}

/* Adds src into *dst, making *dst (or a wider one) as needed. Returns 0 or a negative code. */
static int hadd(hist **dst, const hist *src)
{
    if (!src || hist_count(src) == 0)
        return 0;
    if (*dst && hist_highest(*dst) < hist_highest(src)) {
        hist *wide;
        int rc = hist_init(&wide, hist_highest(src), METRICS_HIST_SIGFIGS);
        if (rc < 0 || (rc = hist_merge(wide, *dst)) < 0) {
            hist_free(rc < 0 ? NULL : wide);
            return rc;
        }
        hist_free(*dst);
        *dst = wide;
    }
    if (!*dst) {
        int rc = hist_init(dst, hist_highest(src), METRICS_HIST_SIGFIGS);
        if (rc < 0)
            return rc;
    }
    return hist_merge(*dst, src);
}

/* Adds a scenario's or a step's WebSocket records (w may be NULL: none). */
static int ws_add(agg *a, const metrics_ws *w)
{
    if (!w)
        return 0;
    const metrics_ws_counts *c = &w->c;
    a->ws.sessions += c->sessions;
    a->ws.sessions_ok += c->sessions_ok;
    a->ws.sessions_failed += c->sessions_failed;
    a->ws.msgs_sent += c->msgs_sent;
    a->ws.msgs_received += c->msgs_received;
    a->ws.replied += c->replied;
    a->ws.timed_out += c->timed_out;
    a->ws.cut += c->cut;
    int rc;
    if ((rc = hadd(&a->ws_conn, w->connecting)) < 0 || (rc = hadd(&a->ws_sess, w->session)) < 0 ||
        (rc = hadd(&a->ws_ping, w->ping)) < 0)
        return rc;
    return hadd(&a->ws_lat, w->msg_latency);
}

static bool has_tag(const plan_tag *t, size_t n, const char *key, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].key, key) == 0 && strcmp(t[i].value, value) == 0)
            return true;
    return false;
}

/* Tags blast cannot split its records by (they vary per request). */
static bool per_request_tag(const char *key)
{
    static const char *const keys[] = {
        "status", "expected_response", "url",   "error", "error_code",
        "proto",  "tls_version",       "group", "check", "vu",
        "iter"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

/* 1 when step st of s has every tag of q, 0 when not, -1 when q cannot be told from records. */
static int step_matches(const sel *q, const plan_scenario *s, const plan_step *st)
{
    int m = 1;
    for (size_t i = 0; i < q->n; i++) {
        const char *k = q->tag[i].key, *v = q->tag[i].value;
        if (per_request_tag(k))
            return -1;
        if (strcmp(k, "scenario") == 0)
            m &= strcmp(s->name, v) == 0;
        else if (strcmp(k, "name") == 0)
            m &= strcmp(st->name, v) == 0;
        else if (strcmp(k, "method") == 0)
            m &= st->method && strcmp(st->method, v) == 0;
        else
            m &= has_tag(st->tags, st->ntags, k, v) || has_tag(s->tags, s->ntags, k, v);
    }
    return m;
}

static bool only_scenario_tags(const sel *q)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->tag[i].key, "scenario") != 0)
            return false;
    return true;
}

static uint32_t vus_of(const plan_scenario *s)
{
    return PLAN_IS_ARRIVAL(s->executor) ? s->max_connections : s->vus;
}

/* Fills *a from the records q selects. Returns 0, 1 when q's values cannot be made from the
 * records, or a negative code. */
static int agg_make(agg *a, const report_run *run, const sel *q)
{
    memset(a, 0, sizeof *a);
    a->scenario_level = only_scenario_tags(q);
    int rc = 0;
    for (size_t i = 0; i < run->nsc && rc == 0; i++) {
        const plan_scenario *s = run->sc[i].s;
        const metrics_rec *m = run->sc[i].m;
        if (a->scenario_level) {
            bool in = true;
            for (size_t t = 0; t < q->n; t++)
                in &= strcmp(s->name, q->tag[t].value) == 0;
            if (!in)
                continue;
            a->reqs += m->c.ok + m->c.failed;
            a->failed += m->c.failed;
            a->sent += m->c.bytes_sent;
            a->received += m->c.bytes_received;
            a->iters += m->it.completed + m->it.failed;
            a->dropped += m->it.dropped;
            a->vus += vus_of(s);
            for (size_t c = 0; c < m->nchecks; c++) {
                a->passes += m->checks[c].passes;
                a->fails += m->checks[c].fails;
            }
            if ((rc = hadd(&a->lat, m->latency)) < 0 || (rc = hadd(&a->svc, m->service)) < 0 ||
                (rc = hadd(&a->tls, m->handshake)) < 0 || (rc = hadd(&a->iter, m->iteration)) < 0 ||
                (rc = ws_add(a, m->ws)) < 0)
                break;
            continue;
        }
        for (size_t j = 0; j < s->nsteps && j < m->nsteps && rc == 0; j++) {
            const plan_step *st = &s->steps[j];
            const metrics_step *ms = &m->steps[j];
            int hit = step_matches(q, s, st);
            if (hit < 0)
                rc = 1;
            if (hit <= 0)
                continue;
            a->reqs += ms->ok + ms->failed;
            a->failed += ms->failed;
            a->sent += ms->bytes_sent;
            a->received += ms->bytes_received;
            for (size_t c = 0; c < st->nchecks && st->check0 + c < m->nchecks; c++) {
                a->passes += m->checks[st->check0 + c].passes;
                a->fails += m->checks[st->check0 + c].fails;
            }
            if ((rc = hadd(&a->lat, ms->latency)) < 0 || (rc = hadd(&a->svc, ms->service)) < 0 ||
                (rc = ws_add(a, ms->ws)) < 0)
                break;
        }
    }
    if (rc != 0)
        agg_free(a);
    return rc;
}

/* ---- thresholds: which metric key each one names, and k6's name for it ---- */

static void trim(char *s)
{
    size_t n = strlen(s), b = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    while (s[b] == ' ' || s[b] == '\t')
        b++;
    memmove(s, s + b, n - b + 1);
}

/* The selector written after the metric in t's expression ("http_req_duration{scenario:a}
 * p(95) < 500ms"), with scenario:NAME first for a threshold of a [scenario NAME] section that
 * does not say which. Returns false for a selector it cannot read (too many or too long tags). */
static bool sel_of(const threshold_result *t, sel *q)
{
    memset(q, 0, sizeof *q);
    const char *e = t->expr ? t->expr : "";
    size_t ml = t->metric ? strlen(t->metric) : 0;
    if (ml && strncmp(e, t->metric, ml) == 0)
        e += ml;
    else
        e = "";
    while (*e == ' ')
        e++;
    bool ok = true;
    if (*e == '{') {
        const char *end = strchr(e, '}');
        for (const char *p = e + 1; end && p < end && ok;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            const char *colon = memchr(p, ':', (size_t)(stop - p));
            size_t kl = colon ? (size_t)(colon - p) : 0,
                   vl = colon ? (size_t)(stop - colon - 1) : 0;
            if (!colon || q->n == SEL_MAX || kl >= sizeof q->tag[0].key ||
                vl >= sizeof q->tag[0].value) {
                ok = false;
                break;
            }
            memcpy(q->tag[q->n].key, p, kl);
            memcpy(q->tag[q->n].value, colon + 1, vl);
            trim(q->tag[q->n].key);
            trim(q->tag[q->n].value);
            q->n++;
            p = stop + 1;
        }
        ok &= end != NULL;
    }
    if (!ok)
        q->n = 0;
    bool scoped = false;
    for (size_t i = 0; i < q->n; i++)
        scoped |= strcmp(q->tag[i].key, "scenario") == 0;
    if (t->scenario && !scoped && q->n < SEL_MAX && strlen(t->scenario) < sizeof q->tag[0].value) {
        memmove(&q->tag[1], &q->tag[0], q->n * sizeof q->tag[0]);
        strcpy(q->tag[0].key, "scenario");
        strcpy(q->tag[0].value, t->scenario);
        q->n++;
    }
    return ok;
}

/* "metric" or "metric{k:v,k:v}" (malloc'd, NULL when out of memory). */
static char *key_of(const char *metric, const sel *q)
{
    size_t n = strlen(metric) + 3;
    for (size_t i = 0; i < q->n; i++)
        n += strlen(q->tag[i].key) + strlen(q->tag[i].value) + 2;
    char *k = malloc(n);
    if (!k)
        return NULL;
    size_t o = (size_t)snprintf(k, n, "%s", metric);
    for (size_t i = 0; i < q->n; i++)
        o += (size_t)snprintf(k + o, n - o, "%s%s:%s", i ? "," : "{", q->tag[i].key,
                              q->tag[i].value);
    if (q->n)
        snprintf(k + o, n - o, "}");
    return k;
}

/* k6's source text of t: "p(95)<500" (the limit in ms / as a fraction, as a k6 script writes
 * it), no blanks. */
static void source_of(const threshold_result *t, char *buf, size_t n)
{
    char lim[48];
    if (isfinite(t->limit))
        snprintf(lim, sizeof lim, "%.15g", t->limit);
    else
        snprintf(lim, sizeof lim, "%s", t->limit_text);
    char raw[200];
    snprintf(raw, sizeof raw, "%s%s%s", t->stat ? t->stat : "", t->op ? t->op : "", lim);
    size_t o = 0;
    for (const char *p = raw; *p && o + 1 < n; p++)
        if (*p != ' ' && *p != '\t')
            buf[o++] = *p;
    buf[o] = '\0';
}

typedef struct entry {
    char *key;
    metric_id id;
    const char *metric; /* its name */
    sel q;
    bool readable; /* q was read from the expression */
} entry;

/* ---- writing ---- */

static double trend_value(const hist *h, double p)
{
    if (!h || hist_count(h) == 0)
        return 0;
    if (p == -1)
        return hist_mean(h) / 1e3;
    if (p == -2)
        return (double)hist_min(h) / 1e3;
    if (p == -3)
        return (double)hist_max(h) / 1e3;
    if (p == -4)
        return (double)hist_count(h);
    return (double)hist_value_at(h, p) / 1e3;
}

/* The percentile of a stat "p(99.9)", or -1 when it is not one. */
static double stat_percentile(const char *stat)
{
    double p;
    char close;
    if (stat && sscanf(stat, "p(%lf%c", &p, &close) == 2 && close == ')' && p >= 0 && p <= 100)
        return p;
    return -1;
}

static void values_computed(FILE *f, const entry *e, const agg *a, const report_run *run,
                            const threshold_result *thr, const size_t *owner, size_t nthr,
                            size_t me)
{
    double dur = run->duration_s > 0 ? run->duration_s : 0;
    const hist *h = NULL;
    switch (e->id) {
    case M_HTTP_REQS:
    case M_ITERATIONS:
    case M_DROPPED_ITERATIONS:
    case M_DATA_SENT:
    case M_DATA_RECEIVED:
    case M_WS_SESSIONS:
    case M_WS_MSGS_SENT:
    case M_WS_MSGS_RECEIVED: {
        uint64_t c = e->id == M_HTTP_REQS          ? a->reqs
                     : e->id == M_ITERATIONS       ? a->iters
                     : e->id == M_DATA_SENT        ? a->sent
                     : e->id == M_DATA_RECEIVED    ? a->received
                     : e->id == M_WS_SESSIONS      ? a->ws.sessions
                     : e->id == M_WS_MSGS_SENT     ? a->ws.msgs_sent
                     : e->id == M_WS_MSGS_RECEIVED ? a->ws.msgs_received
                                                   : a->dropped;
        fprintf(f, "{\"count\": %" PRIu64 ", \"rate\": ", c);
        jnum(f, dur > 0 ? (double)c / dur : 0);
        fputc('}', f);
        return;
    }
    case M_HTTP_REQ_FAILED:
    case M_CHECKS:
    case M_WS_MESSAGE_FAILURES:
    case M_WS_CONNECTION_FAILURES: {
        /* http_req_failed adds 1 per failed request: its passes are the failures (so do the
         * ws failure rates: a message timed out or cut, a session that failed) */
        const metrics_ws_counts *w = &a->ws;
        uint64_t pass = e->id == M_CHECKS                 ? a->passes
                        : e->id == M_WS_MESSAGE_FAILURES    ? w->timed_out + w->cut
                        : e->id == M_WS_CONNECTION_FAILURES ? w->sessions_failed
                                                            : a->failed;
        uint64_t fail = e->id == M_CHECKS                 ? a->fails
                        : e->id == M_WS_MESSAGE_FAILURES    ? w->replied
                        : e->id == M_WS_CONNECTION_FAILURES ? w->sessions_ok
                                                            : a->reqs - a->failed;
        fputs("{\"rate\": ", f);
        jnum(f, pass + fail ? (double)pass / (double)(pass + fail) : 0);
        fprintf(f, ", \"passes\": %" PRIu64 ", \"fails\": %" PRIu64 "}", pass, fail);
        return;
    }
    case M_VUS_MAX:
        fprintf(f, "{\"value\": %" PRIu64 ", \"min\": %" PRIu64 ", \"max\": %" PRIu64 "}", a->vus,
                a->vus, a->vus);
        return;
    case M_HTTP_REQ_DURATION:
        h = a->lat;
        break;
    case M_HTTP_REQ_WAITING:
        h = a->svc;
        break;
    case M_HTTP_REQ_TLS:
        h = a->tls;
        break;
    case M_ITERATION_DURATION:
        h = a->iter;
        break;
    case M_WS_CONNECTING:
        h = a->ws_conn;
        break;
    case M_WS_SESSION_DURATION:
        h = a->ws_sess;
        break;
    case M_WS_PING:
        h = a->ws_ping;
        break;
    case M_WS_MSG_LATENCY:
        h = a->ws_lat;
        break;
    default:
        break;
    }
    fputc('{', f);
    for (size_t i = 0; i < NTREND; i++) {
        fprintf(f, "%s\"%s\": ", i ? ", " : "", trend_stats[i].key);
        jnum(f, trend_value(h, trend_stats[i].p));
    }
    /* a percentile a threshold reads that the summary stats lack, e.g. p(99.9) */
    for (size_t i = 0; i < nthr; i++) {
        double p = owner[i] == me ? stat_percentile(thr[i].stat) : -1;
        bool listed = false;
        for (size_t k = 0; k < NTREND && p >= 0; k++)
            listed |= strcmp(trend_stats[k].key, nz(thr[i].stat)) == 0;
        for (size_t j = 0; j < i && p >= 0 && !listed; j++)
            listed |= owner[j] == me && strcmp(nz(thr[j].stat), nz(thr[i].stat)) == 0;
        if (p < 0 || listed)
            continue;
        fputs(", ", f);
        jstr(f, thr[i].stat);
        fputs(": ", f);
        jnum(f, trend_value(h, p));
    }
    fputc('}', f);
}

/* Values nothing in the records gives: each stat its thresholds read, with the value they saw. */
static void values_observed(FILE *f, const threshold_result *thr, const size_t *owner, size_t nthr,
                            size_t me)
{
    fputc('{', f);
    bool first = true;
    for (size_t i = 0; i < nthr; i++) {
        bool seen = owner[i] != me;
        for (size_t j = 0; j < i && !seen; j++)
            seen = owner[j] == me && strcmp(nz(thr[j].stat), nz(thr[i].stat)) == 0;
        if (seen)
            continue;
        fputs(first ? "" : ", ", f);
        jstr(f, thr[i].stat ? thr[i].stat : "value");
        fputs(": ", f);
        jnum(f, thr[i].empty ? 0 : thr[i].observed);
        first = false;
    }
    fputc('}', f);
}

static mtype guess_type(const char *stat)
{
    if (!stat || strcmp(stat, "rate") == 0)
        return T_RATE;
    if (strcmp(stat, "count") == 0)
        return T_COUNTER;
    if (strcmp(stat, "value") == 0)
        return T_GAUGE;
    return T_TREND;
}

static int metric_out(FILE *f, const report_run *run, const entry *e, size_t me,
                      const size_t *owner, bool last)
{
    const verdict *v = run->verdict;
    const threshold_result *thr = v ? v->thr : NULL;
    size_t nthr = v ? v->nthr : 0;
    const threshold_result *first = NULL;
    for (size_t i = 0; i < nthr && !first; i++)
        if (owner[i] == me)
            first = &thr[i];
    mtype type = e->id != M_OTHER ? builtins[e->id].type : guess_type(first ? first->stat : NULL);
    fputs("    ", f);
    jstr(f, e->key);
    fprintf(f, ": {\n      \"type\": \"%s\",\n      \"contains\": \"%s\",\n      \"values\": ",
            type_names[type], e->id != M_OTHER ? builtins[e->id].contains : "default");
    agg a;
    int rc = e->id == M_OTHER || !e->readable ? 1 : agg_make(&a, run, &e->q);
    if (rc < 0)
        return rc;
    if (rc == 0 && !a.scenario_level && !builtins[e->id].per_step) {
        agg_free(&a);
        rc = 1;
    }
    if (rc == 0) {
        values_computed(f, e, &a, run, thr, owner, nthr, me);
        agg_free(&a);
    } else {
        values_observed(f, thr, owner, nthr, me);
    }
    if (first) {
        fputs(",\n      \"thresholds\": {", f);
        bool any = false;
        for (size_t i = 0; i < nthr; i++) {
            if (owner[i] != me)
                continue;
            char src[200], other[200];
            source_of(&thr[i], src, sizeof src);
            bool seen = false, ok = thr[i].ok;
            for (size_t j = 0; j < nthr; j++) {
                if (j == i || owner[j] != me)
                    continue;
                source_of(&thr[j], other, sizeof other);
                if (strcmp(src, other) == 0) {
                    seen |= j < i;
                    ok &= thr[j].ok; /* one key in JSON: it holds only if both do */
                }
            }
            if (seen)
                continue;
            fputs(any ? ", " : "", f);
            jstr(f, src);
            fprintf(f, ": {\"ok\": %s}", ok ? "true" : "false");
            any = true;
        }
        fputc('}', f);
    }
    fprintf(f, "\n    }%s\n", last ? "" : ",");
    return 0;
}

/* The check names of the plan, each once (as k6's root group has them), with their counts. */
typedef struct check_sum {
    const char *name;
    uint64_t passes, fails;
} check_sum;

static int check_sums(const report_run *run, check_sum **out, size_t *n)
{
    size_t cap = 0;
    for (size_t i = 0; i < run->nsc; i++)
        cap += run->sc[i].s->nchecks;
    *out = calloc(cap ? cap : 1, sizeof **out);
    *n = 0;
    if (!*out)
        return -ENOMEM;
    for (size_t i = 0; i < run->nsc; i++) {
        const plan_scenario *s = run->sc[i].s;
        const metrics_rec *m = run->sc[i].m;
        for (size_t j = 0; j < s->nsteps; j++)
            for (size_t c = 0; c < s->steps[j].nchecks; c++) {
                const char *name = check_name(s->steps[j].checks[c]);
                size_t k = 0;
                while (k < *n && strcmp((*out)[k].name, name) != 0)
                    k++;
                if (k == *n)
                    (*out)[(*n)++].name = name;
                uint32_t idx = s->steps[j].check0 + (uint32_t)c;
                if (idx < m->nchecks) {
                    (*out)[k].passes += m->checks[idx].passes;
                    (*out)[k].fails += m->checks[idx].fails;
                }
            }
    }
    return 0;
}

static void root_group(FILE *f, const check_sum *cs, size_t n)
{
    char id[33];
    md5_hex("", id);
    fprintf(f,
            "  \"root_group\": {\n    \"name\": \"\",\n    \"path\": \"\",\n    \"id\": \"%s\",\n"
            "    \"groups\": [],\n    \"checks\": [",
            id);
    for (size_t i = 0; i < n; i++) {
        const char *name = redact_str(cs[i].name);
        size_t len = strlen(name) + 3;
        char *path = malloc(len);
        if (path)
            snprintf(path, len, "::%s", name);
        md5_hex(path ? path : name, id);
        fprintf(f, "%s\n      {\"name\": ", i ? "," : "");
        jstr(f, name);
        fputs(", \"path\": ", f);
        jstr(f, path ? path : name);
        fprintf(f, ", \"id\": \"%s\", \"passes\": %" PRIu64 ", \"fails\": %" PRIu64 "}", id,
                cs[i].passes, cs[i].fails);
        free(path);
    }
    fprintf(f, "%s]\n  },\n", n ? "\n    " : "");
}

int report_k6(FILE *f, const report_run *run)
{
    /* A ceiling search: its scenario's metrics are those of the ceiling's step (the whole run
     * mixes every step's, the failing ones too), as its thresholds are. */
    report_run alt;
    report_scenario *asc = NULL;
    const struct ceiling_result *ce = run->ceiling;
    if (ce && ce->pass_rec && (asc = malloc(run->nsc * sizeof *asc))) {
        memcpy(asc, run->sc, run->nsc * sizeof *asc);
        asc[ce->scenario].m = ce->pass_rec;
        asc[ce->scenario].window_s = ce->pass_span_s;
        alt = *run;
        alt.sc = asc;
        alt.duration_s = ce->pass_span_s;
        run = &alt;
    }
    const verdict *v = run->verdict;
    size_t nthr = v ? v->nthr : 0;
    entry *ents = calloc(M_NBUILTIN + nthr, sizeof *ents);
    size_t *owner = calloc(nthr ? nthr : 1, sizeof *owner);
    check_sum *cs = NULL;
    size_t ncs = 0, nent = 0;
    int rc = ents && owner ? check_sums(run, &cs, &ncs) : -ENOMEM;
    bool tls = false, ws = false;
    for (size_t i = 0; i < run->nsc; i++) {
        tls |= run->sc[i].s->tls;
        ws |= run->sc[i].m->ws != NULL;
    }
    /* the built-in metrics k6 always has, then the ones only some runs have */
    for (int i = 0; i < M_NBUILTIN && rc == 0; i++) {
        if ((i == M_HTTP_REQ_TLS && !tls) || (i == M_CHECKS && !ncs) ||
            (i >= M_WS_SESSIONS && !ws))
            continue;
        ents[nent] = (entry){.key = strdup(builtins[i].name),
                             .id = (metric_id)i,
                             .metric = builtins[i].name,
                             .readable = true};
        rc = ents[nent++].key ? 0 : -ENOMEM;
    }
    /* each threshold's metric or submetric, made when it is not there yet */
    for (size_t i = 0; i < nthr && rc == 0; i++) {
        const threshold_result *t = &v->thr[i];
        sel q;
        bool readable = sel_of(t, &q);
        char *key = key_of(t->metric ? t->metric : "", &q);
        if (!key) {
            rc = -ENOMEM;
            break;
        }
        size_t k = 0;
        while (k < nent && strcmp(ents[k].key, key) != 0)
            k++;
        if (k == nent)
            ents[nent++] = (entry){.key = key,
                                   .id = metric_of(t->metric),
                                   .metric = t->metric,
                                   .q = q,
                                   .readable = readable};
        else
            free(key);
        owner[i] = k;
    }
    if (rc == 0) {
        fputs("{\n", f);
        root_group(f, cs, ncs);
        fputs("  \"options\": {\n    \"summaryTrendStats\": [", f);
        for (size_t i = 0; i < NTREND; i++)
            fprintf(f, "%s\"%s\"", i ? ", " : "", trend_stats[i].key);
        fputs("],\n    \"summaryTimeUnit\": \"\",\n    \"noColor\": false\n  },\n", f);
        fprintf(f,
                "  \"state\": {\n    \"isStdOutTTY\": %s,\n    \"isStdErrTTY\": %s,\n"
                "    \"testRunDurationMs\": ",
                isatty(STDOUT_FILENO) ? "true" : "false", isatty(STDERR_FILENO) ? "true" : "false");
        jnum(f, run->duration_s * 1e3);
        fputs("\n  },\n  \"metrics\": {\n", f);
        for (size_t i = 0; i < nent && rc == 0; i++)
            rc = metric_out(f, run, &ents[i], i, owner, i + 1 == nent);
        fputs("  }\n}\n", f);
    }
    for (size_t i = 0; ents && i < nent; i++)
        free(ents[i].key);
    free(ents);
    free(owner);
    free(cs);
    free(asc);
    if (rc < 0)
        return rc;
    return ferror(f) ? -EIO : 0;
}
