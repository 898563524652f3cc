/* prom: a run as k6's Prometheus metrics (see prom.h). The label sets follow k6's output
 * (testid, scenario, name, method, status, expected_response, check), with two deviations that
 * come from what blast counts: status is a class ("2xx", or "0" for no response), and
 * expected_response follows the default rule (a 2xx or 3xx status), as k6's does. Every label
 * list below is written in name order, so remote write can send it as it is. */
#include "prom.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "hist.h"
#include "redact.h"

static const prom_family f_reqs = {"k6_http_reqs_total", PROM_COUNTER,
                                   "HTTP requests completed, by status class"};
static const prom_family f_failed = {"k6_http_req_failed_rate", PROM_GAUGE,
                                     "Fraction of completed requests that failed"};
static const prom_family f_dur[] = {
    {"k6_http_req_duration_p99", PROM_GAUGE, "Corrected latency p99 of the run so far, seconds"},
    {"k6_http_req_duration_p95", PROM_GAUGE, "Corrected latency p95 of the run so far, seconds"},
    {"k6_http_req_duration_p90", PROM_GAUGE, "Corrected latency p90 of the run so far, seconds"},
    {"k6_http_req_duration_med", PROM_GAUGE, "Corrected latency median of the run so far, seconds"},
    {"k6_http_req_duration_avg", PROM_GAUGE, "Corrected latency mean of the run so far, seconds"},
    {"k6_http_req_duration_min", PROM_GAUGE,
     "Corrected latency minimum of the run so far, seconds"},
    {"k6_http_req_duration_max", PROM_GAUGE,
     "Corrected latency maximum of the run so far, seconds"},
};
static const double dur_p[] = {99, 95, 90, 50, -1 /* avg */, 0, 100};
static const prom_family f_hist = {"k6_http_req_duration_seconds", PROM_HISTOGRAM,
                                   "Corrected latency (from the intended start), seconds"};
static const prom_family f_checks = {"k6_checks_rate", PROM_GAUGE, "Fraction of checks passed"};
static const prom_family f_sent = {"k6_data_sent_total", PROM_COUNTER, "Bytes sent"};
static const prom_family f_recv = {"k6_data_received_total", PROM_COUNTER, "Bytes received"};
static const prom_family f_iter = {"k6_iterations_total", PROM_COUNTER,
                                   "Iterations ended (completed or failed)"};
static const prom_family f_drop = {"k6_dropped_iterations_total", PROM_COUNTER,
                                   "Iterations dropped (no VU free when due)"};
static const prom_family f_vus = {"k6_vus", PROM_GAUGE, "VUs in an iteration"};
/* WebSocket steps: k6's ws metrics, and blast's message latency, failure rates and classes */
static const prom_family f_ws_sessions = {"k6_ws_sessions_total", PROM_COUNTER,
                                          "WebSocket sessions opened (101 with a good accept key)"};
static const prom_family f_ws_sent = {"k6_ws_msgs_sent_total", PROM_COUNTER,
                                      "WebSocket messages sent"};
static const prom_family f_ws_recv = {"k6_ws_msgs_received_total", PROM_COUNTER,
                                      "WebSocket messages received"};
static const prom_family f_ws_hist[] = {
    {"k6_ws_connecting_seconds", PROM_HISTOGRAM, "WebSocket handshake time, seconds"},
    {"k6_ws_session_duration_seconds", PROM_HISTOGRAM, "WebSocket session duration, seconds"},
    {"k6_ws_ping_seconds", PROM_HISTOGRAM, "WebSocket client ping round trip, seconds"},
    {"k6_ws_msg_latency_seconds", PROM_HISTOGRAM,
     "WebSocket message latency, from its intended send to its expected reply, seconds"},
};
static const prom_family f_ws_msg_failed = {
    "k6_ws_message_failures_rate", PROM_GAUGE,
    "Fraction of WebSocket messages judged (replied, timed out, cut) that got no reply in time"};
static const prom_family f_ws_conn_failed = {"k6_ws_connection_failures_rate", PROM_GAUGE,
                                             "Fraction of ended WebSocket sessions that failed"};
static const prom_family f_ws_fail = {"k6_ws_failures_total", PROM_COUNTER,
                                      "WebSocket failures by class (reply_timeout: messages; "
                                      "the others: sessions)"};

/* The histogram's upper bounds in µs: 1 ms .. 60 s, about three a decade. */
static const uint64_t le_us[] = {1000,    2500,    5000,     10000,    25000,
                                 50000,   100000,  250000,   500000,   1000000,
                                 2500000, 5000000, 10000000, 30000000, 60000000};
#define NLE (sizeof le_us / sizeof le_us[0])

static const char *const class_name[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

typedef struct visit {
    prom_sample_fn fn;
    void *ctx;
    const char *testid;
    size_t stat; /* which of f_dur dur() gives */
} visit;

static double ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : 0;
}

/* Calls fn for each step of each scenario with its labels: method, name, scenario, testid. */
typedef void (*step_fn)(const visit *v, const metrics_step *ms, prom_label l[4]);

static void each_step(const visit *v, const report_run *run, step_fn fn)
{
    for (size_t i = 0; i < run->nsc; i++) {
        const report_scenario *rs = &run->sc[i];
        for (size_t j = 0; j < rs->s->nsteps && j < rs->m->nsteps; j++) {
            const plan_step *st = &rs->s->steps[j];
            prom_label l[4] = {{"method", st->method ? st->method : ""},
                               {"name", redact_str(st->name ? st->name : "")},
                               {"scenario", redact_str(rs->s->name)},
                               {"testid", v->testid}};
            fn(v, &rs->m->steps[j], l);
        }
    }
}

static void reqs(const visit *v, const metrics_step *ms, prom_label l[4])
{
    uint64_t done = ms->ok + ms->failed, responses = 0;
    for (int c = 0; c < 6; c++)
        responses += ms->status[c];
    for (int c = -1; c < 6; c++) {
        /* c == -1: requests without a complete response in time (status "0", as k6 tags them) */
        uint64_t n = c < 0 ? (done > responses ? done - responses : 0) : ms->status[c];
        if (n == 0)
            continue;
        bool expected = c == 2 || c == 3;
        prom_label a[6] = {{"expected_response", expected ? "true" : "false"},
                           l[0],
                           l[1],
                           l[2],
                           {"status", c < 0 ? "0" : class_name[c]},
                           l[3]};
        v->fn(v->ctx, &f_reqs, "", a, 6, (double)n);
    }
}

static void failed(const visit *v, const metrics_step *ms, prom_label l[4])
{
    if (ms->ok + ms->failed)
        v->fn(v->ctx, &f_failed, "", l, 4, ratio(ms->failed, ms->ok + ms->failed));
}

static void dur(const visit *v, const metrics_step *ms, prom_label l[4])
{
    const hist *h = ms->latency;
    if (!h || hist_count(h) == 0)
        return;
    double p = dur_p[v->stat], us;
    if (p < 0)
        us = hist_mean(h);
    else if (p == 0)
        us = (double)hist_min(h);
    else if (p >= 100)
        us = (double)hist_max(h);
    else
        us = (double)hist_value_at(h, p);
    v->fn(v->ctx, &f_dur[v->stat], "", l, 4, us / 1e6);
}

static void bucket_slot(void *ctx, uint64_t lowest, uint64_t width, uint64_t count)
{
    uint64_t *b = ctx;
    (void)width;
    size_t i = 0;
    while (i < NLE && lowest > le_us[i])
        i++;
    b[i] += count; /* b[NLE]: above the last bound */
}

/* h as histogram family f, with labels l (n of them, in name order after "le"). */
static void histogram_of(const visit *v, const prom_family *f, const hist *h, prom_label *l,
                         size_t n)
{
    if (!h || hist_count(h) == 0 || n > 4)
        return;
    uint64_t b[NLE + 1] = {0};
    hist_foreach(h, bucket_slot, b);
    prom_label a[5] = {{"le", ""}};
    memcpy(a + 1, l, n * sizeof *l);
    uint64_t cum = 0;
    char le[32];
    for (size_t i = 0; i <= NLE; i++) {
        cum += b[i];
        if (i < NLE)
            snprintf(le, sizeof le, "%g", (double)le_us[i] / 1e6);
        else
            strcpy(le, "+Inf");
        a[0].value = le;
        v->fn(v->ctx, f, "_bucket", a, n + 1, (double)cum);
    }
    v->fn(v->ctx, f, "_sum", l, n, hist_mean(h) * (double)hist_count(h) / 1e6);
    v->fn(v->ctx, f, "_count", l, n, (double)hist_count(h));
}

static void histogram(const visit *v, const metrics_step *ms, prom_label l[4])
{
    histogram_of(v, &f_hist, ms->latency, l, 4);
}

/* One family of every WebSocket step (labels name, scenario, testid); v->stat picks it. */
enum { WS_SESSIONS, WS_SENT, WS_RECV, WS_HIST, WS_MSG_FAILED = WS_HIST + 4, WS_CONN_FAILED,
       WS_FAIL, WS_NFAM };

static void ws_step(const visit *v, const metrics_step *ms, prom_label l4[4])
{
    const metrics_ws *w = ms->ws;
    if (!w)
        return;
    const metrics_ws_counts *c = &w->c;
    prom_label *l = l4 + 1; /* without method */
    size_t s = v->stat;
    if (s == WS_SESSIONS || s == WS_SENT || s == WS_RECV)
        v->fn(v->ctx, s == WS_SESSIONS ? &f_ws_sessions : s == WS_SENT ? &f_ws_sent : &f_ws_recv,
              "", l, 3,
              (double)(s == WS_SESSIONS ? c->sessions : s == WS_SENT ? c->msgs_sent
                                                                    : c->msgs_received));
    else if (s < WS_MSG_FAILED) {
        const hist *h[] = {w->connecting, w->session, w->ping, w->msg_latency};
        histogram_of(v, &f_ws_hist[s - WS_HIST], h[s - WS_HIST], l, 3);
    } else if (s == WS_MSG_FAILED && c->replied + c->timed_out + c->cut)
        v->fn(v->ctx, &f_ws_msg_failed, "", l, 3,
              ratio(c->timed_out + c->cut, c->replied + c->timed_out + c->cut));
    else if (s == WS_CONN_FAILED && c->sessions_ok + c->sessions_failed)
        v->fn(v->ctx, &f_ws_conn_failed, "", l, 3,
              ratio(c->sessions_failed, c->sessions_ok + c->sessions_failed));
    else if (s == WS_FAIL)
        for (int k = 0; k < METRICS_WS_NFAIL; k++) {
            prom_label a[4] = {{"class", metrics_ws_fail_name((metrics_ws_fail)k)}, l[0], l[1],
                               l[2]};
            v->fn(v->ctx, &f_ws_fail, "", a, 4, (double)c->fail[k]);
        }
}

static void checks(const visit *v, const report_run *run)
{
    for (size_t i = 0; i < run->nsc; i++) {
        const report_scenario *rs = &run->sc[i];
        for (size_t j = 0; j < rs->s->nsteps; j++) {
            const plan_step *st = &rs->s->steps[j];
            for (size_t k = 0; k < st->nchecks; k++) {
                size_t ci = st->check0 + k;
                if (ci >= rs->m->nchecks)
                    continue;
                const metrics_check *mc = &rs->m->checks[ci];
                if (mc->passes + mc->fails == 0)
                    continue;
                prom_label l[4] = {{"check", redact_str(check_name(st->checks[k]))},
                                   {"name", redact_str(st->name ? st->name : "")},
                                   {"scenario", redact_str(rs->s->name)},
                                   {"testid", v->testid}};
                v->fn(v->ctx, &f_checks, "", l, 4, ratio(mc->passes, mc->passes + mc->fails));
            }
        }
    }
}

static void per_scenario(const visit *v, const report_run *run, const prom_family *f)
{
    for (size_t i = 0; i < run->nsc; i++) {
        const metrics_rec *m = run->sc[i].m;
        uint64_t n = f == &f_sent   ? m->c.bytes_sent
                     : f == &f_recv ? m->c.bytes_received
                     : f == &f_iter ? m->it.completed + m->it.failed
                                    : m->it.dropped;
        prom_label l[2] = {{"scenario", redact_str(run->sc[i].s->name)}, {"testid", v->testid}};
        v->fn(v->ctx, f, "", l, 2, (double)n);
    }
}

void prom_visit(const report_run *run, const char *testid, prom_sample_fn fn, void *ctx)
{
    visit v = {fn, ctx, testid, 0};
    each_step(&v, run, reqs);
    each_step(&v, run, failed);
    for (v.stat = 0; v.stat < sizeof f_dur / sizeof f_dur[0]; v.stat++)
        each_step(&v, run, dur);
    each_step(&v, run, histogram);
    for (v.stat = 0; v.stat < WS_NFAM; v.stat++)
        each_step(&v, run, ws_step);
    checks(&v, run);
    per_scenario(&v, run, &f_sent);
    per_scenario(&v, run, &f_recv);
    per_scenario(&v, run, &f_iter);
    per_scenario(&v, run, &f_drop);
    uint64_t vus = 0;
    for (size_t i = 0; i < run->nsc; i++)
        vus += run->sc[i].m->g.vus_active;
    prom_label l[1] = {{"testid", testid}};
    fn(ctx, &f_vus, "", l, 1, (double)vus);
}

typedef struct text {
    FILE *f;
    const prom_family *last;
} text;

static const char *const type_name[] = {"counter", "gauge", "histogram"};

/* A label value or help text as the text format escapes it (\\, \n, and \" in values). */
static void escaped(FILE *f, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (*s == '"' && quote)
            fputs("\\\"", f);
        else
            fputc(*s, f);
    }
}

static void text_sample(void *ctx, const prom_family *f, const char *suffix,
                        const prom_label *labels, size_t nlabels, double value)
{
    text *t = ctx;
    if (t->last != f) {
        fprintf(t->f, "# HELP %s ", f->name);
        escaped(t->f, f->help, false);
        fprintf(t->f, "\n# TYPE %s %s\n", f->name, type_name[f->type]);
        t->last = f;
    }
    fprintf(t->f, "%s%s", f->name, suffix);
    for (size_t i = 0; i < nlabels; i++) {
        fprintf(t->f, "%c%s=\"", i ? ',' : '{', labels[i].name);
        escaped(t->f, labels[i].value, true);
        fputc('"', t->f);
    }
    fprintf(t->f, "%s %.15g\n", nlabels ? "}" : "", value);
}

int prom_text(FILE *f, const report_run *run, const char *testid)
{
    text t = {f, NULL};
    prom_visit(run, testid, text_sample, &t);
    return ferror(f) ? -EIO : 0;
}

const char *prom_testid(void)
{
    static char id[128];
    if (!id[0]) {
        const char *env = getenv("BLAST_TESTID");
        if (env && *env)
            snprintf(id, sizeof id, "%s", env);
        else
            snprintf(id, sizeof id, "blast-%lld", (long long)time(NULL));
    }
    return id;
}
