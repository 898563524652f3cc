/* threshold_eval: a threshold judged on a run's merged results (see include/threshold.h).
 *
 * A threshold sees the scenarios its scenario filters (and its declaring section) allow and,
 * for a metric kept per step, the steps its name and tag filters allow; a tag matches when the
 * step or its scenario carries it. Trends merge the histograms of what it sees; rates and
 * counters add up their counts. A counter's rate is per second of the one scenario's window, or
 * of the run when it sees several. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hist.h"
#include "threshold.h"

static bool tag_on(const plan_tag *tags, size_t n, const threshold_filter *f)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tags[i].key, f->key) == 0 && strcmp(tags[i].value, f->value) == 0)
            return true;
    return false;
}

static bool sees_scenario(const threshold *t, size_t i, const plan_scenario *s)
{
    if (t->scenario >= 0 && (size_t)t->scenario != i)
        return false;
    for (size_t k = 0; k < t->nfilters; k++) {
        const threshold_filter *f = &t->filters[k];
        if (f->kind == TF_SCENARIO && f->scenario != (int)i)
            return false;
        /* a per-scenario metric's tags are the scenario's */
        if (f->kind == TF_TAG && !threshold_metric_per_step(t->metric) &&
            !tag_on(s->tags, s->ntags, f))
            return false;
    }
    return true;
}

static bool sees_step(const threshold *t, const plan_scenario *s, const plan_step *st)
{
    for (size_t k = 0; k < t->nfilters; k++) {
        const threshold_filter *f = &t->filters[k];
        if (f->kind == TF_NAME && strcmp(st->name, f->value) != 0)
            return false;
        if (f->kind == TF_TAG && !tag_on(st->tags, st->ntags, f) && !tag_on(s->tags, s->ntags, f))
            return false;
    }
    return true;
}

static const threshold_filter *status_filter(const threshold *t)
{
    for (size_t k = 0; k < t->nfilters; k++)
        if (t->filters[k].kind == TF_STATUS)
            return &t->filters[k];
    return NULL;
}

/* The per-scenario histogram of a trend metric. */
static const hist *scen_hist(threshold_metric m, const metrics_rec *r)
{
    switch (m) {
    case TM_ITERATION_DURATION:
        return r->iteration;
    case TM_TLS_HANDSHAKING:
        return r->handshake;
    case TM_CONNECTING:
        return r->connecting;
    case TM_SEND_LATENESS:
        return r->lateness;
    default:
        return NULL;
    }
}

/* A WebSocket step's histogram of a ws trend metric. */
static const hist *ws_hist(threshold_metric m, const metrics_ws *w)
{
    switch (m) {
    case TM_WS_MSG_LATENCY:
        return w->msg_latency;
    case TM_WS_MSG_SERVICE:
        return w->msg_service;
    case TM_WS_CONNECTING:
        return w->connecting;
    case TM_WS_SESSION_DURATION:
        return w->session;
    default:
        return w->ping;
    }
}

/* The numerator and denominator a WebSocket rate or counter takes from a scenario. */
static void ws_counts(threshold_metric m, const metrics_ws_counts *c, uint64_t *num, uint64_t *den)
{
    switch (m) {
    case TM_WS_MESSAGE_FAILURES:
        *num += c->timed_out + c->cut;
        *den += c->replied + c->timed_out + c->cut;
        break;
    case TM_WS_CONNECTION_FAILURES:
        *num += c->sessions_failed;
        *den += c->sessions_ok + c->sessions_failed;
        break;
    case TM_WS_SESSIONS:
        *num += c->sessions;
        break;
    case TM_WS_MSGS_SENT:
        *num += c->msgs_sent;
        break;
    default:
        *num += c->msgs_received;
        break;
    }
}

/* Adds h into *acc, making *acc (large enough for every histogram) on first use. */
static int gather(hist **acc, const hist *h, uint64_t highest)
{
    if (!h)
        return 0;
    if (!*acc && hist_init(acc, highest, METRICS_HIST_SIGFIGS) < 0)
        return -ENOMEM;
    return hist_merge(*acc, h) < 0 ? -ENOMEM : 0;
}

static double trend_stat(const threshold *t, const hist *h)
{
    switch (t->stat) {
    case TS_AVG:
        return hist_mean(h) / 1e3;
    case TS_MIN:
        return (double)hist_min(h) / 1e3;
    case TS_MAX:
        return (double)hist_max(h) / 1e3;
    case TS_MED:
        return (double)hist_value_at(h, 50) / 1e3;
    default:
        return (double)hist_value_at(h, t->p) / 1e3;
    }
}

int threshold_observe(const threshold *t, const report_run *run, double *value,
                      uint64_t *samples)
{
    threshold_kind kind = threshold_metric_kind(t->metric);
    const threshold_filter *sf = status_filter(t);
    uint64_t highest = 2, num = 0, den = 0;
    size_t nscen = 0;
    double window = 0;
    /* the largest range of the histograms it will merge */
    for (size_t i = 0; kind == TK_TREND && i < run->nsc; i++) {
        const metrics_rec *r = run->sc[i].m;
        const hist *hs[] = {r->latency, r->service, scen_hist(t->metric, r)};
        for (size_t k = 0; k < 3; k++)
            if (hs[k] && hist_highest(hs[k]) > highest)
                highest = hist_highest(hs[k]);
    }
    hist *acc = NULL;
    int rc = 0;
    for (size_t i = 0; i < run->nsc && rc == 0; i++) {
        const report_scenario *rs = &run->sc[i];
        const plan_scenario *s = rs->s;
        const metrics_rec *r = rs->m;
        if (!sees_scenario(t, i, s))
            continue;
        nscen++;
        window = rs->window_s;
        switch (t->metric) {
        case TM_ITERATIONS:
            num += r->it.completed + r->it.failed;
            break;
        case TM_DROPPED_ITERATIONS:
            num += r->it.dropped;
            break;
        case TM_ITERATION_DURATION:
        case TM_TLS_HANDSHAKING:
        case TM_CONNECTING:
        case TM_SEND_LATENESS:
            rc = gather(&acc, scen_hist(t->metric, r), highest);
            break;
        case TM_WS_MSG_LATENCY:
        case TM_WS_MSG_SERVICE:
        case TM_WS_CONNECTING:
        case TM_WS_SESSION_DURATION:
        case TM_WS_PING:
        case TM_WS_MESSAGE_FAILURES:
        case TM_WS_CONNECTION_FAILURES:
        case TM_WS_SESSIONS:
        case TM_WS_MSGS_SENT:
        case TM_WS_MSGS_RECEIVED:
            /* per WebSocket step (the scenario's block is their sum): {name:} picks steps */
            for (size_t j = 0; j < s->nsteps && rc == 0; j++) {
                const metrics_ws *w = r->steps[j].ws;
                if (!w || !sees_step(t, s, &s->steps[j]))
                    continue;
                if (threshold_metric_kind(t->metric) == TK_TREND)
                    rc = gather(&acc, ws_hist(t->metric, w), highest);
                else
                    ws_counts(t->metric, &w->c, &num, &den);
            }
            break;
        default:
            for (size_t j = 0; j < s->nsteps && rc == 0; j++) {
                const plan_step *st = &s->steps[j];
                const metrics_step *ms = &r->steps[j];
                if (!sees_step(t, s, st))
                    continue;
                switch (t->metric) {
                case TM_HTTP_REQ_DURATION:
                    rc = gather(&acc, ms->latency, highest);
                    break;
                case TM_HTTP_REQ_SERVICE_TIME:
                    rc = gather(&acc, ms->service, highest);
                    break;
                case TM_HTTP_REQ_FAILED:
                    num += ms->failed;
                    den += ms->ok + ms->failed;
                    break;
                case TM_HTTP_REQS:
                    if (!sf) {
                        num += ms->ok + ms->failed;
                    } else {
                        for (int c = 1; c <= 5; c++)
                            if (c * 100 >= sf->status_lo && c * 100 + 99 <= sf->status_hi)
                                num += ms->status[c];
                    }
                    break;
                case TM_CHECKS:
                    for (size_t k = 0; k < st->nchecks; k++) {
                        num += r->checks[st->check0 + k].passes;
                        den += r->checks[st->check0 + k].passes + r->checks[st->check0 + k].fails;
                    }
                    break;
                case TM_DATA_SENT:
                    num += ms->bytes_sent;
                    break;
                case TM_DATA_RECEIVED:
                    num += ms->bytes_received;
                    break;
                default:
                    break;
                }
            }
        }
    }
    if (rc < 0) {
        hist_free(acc);
        return rc;
    }
    if (nscen != 1)
        window = run->duration_s;
    if (kind == TK_TREND) {
        *samples = acc ? hist_count(acc) : 0;
        *value = *samples ? trend_stat(t, acc) : 0;
    } else if (kind == TK_RATE) {
        *samples = den;
        *value = den ? (double)num / (double)den : 0;
    } else {
        *samples = num;
        *value = t->stat == TS_COUNT ? (double)num : window > 0 ? (double)num / window : 0;
    }
    hist_free(acc);
    return 0;
}

bool threshold_holds(const threshold *t, double v)
{
    /* Compared at the resolution the value is shown with, so "0.500ms <= 0.5ms" holds. */
    double l = t->limit, eps = 1e-9 * (fabs(l) > 1 ? fabs(l) : 1);
    switch (t->op) {
    case TO_LT:
        return v < l - eps;
    case TO_LE:
        return v <= l + eps;
    case TO_GT:
        return v > l + eps;
    case TO_GE:
        return v >= l - eps;
    case TO_EQ:
        return fabs(v - l) <= eps;
    default:
        return fabs(v - l) > eps;
    }
}

void threshold_format(const threshold *t, double v, char *buf, size_t cap)
{
    threshold_kind kind = threshold_metric_kind(t->metric);
    bool data = t->metric == TM_DATA_SENT || t->metric == TM_DATA_RECEIVED;
    if (kind == TK_TREND)
        snprintf(buf, cap, "%.3fms", v);
    else if (kind == TK_RATE)
        snprintf(buf, cap, "%.2f%%", v * 100);
    else if (t->stat == TS_COUNT)
        snprintf(buf, cap, data ? "%.0fB" : "%.0f", v);
    else
        snprintf(buf, cap, data ? "%.0fB/s" : "%.1f/s", v);
}

static const char *const op_text[] = {
    [TO_LT] = "<", [TO_LE] = "<=", [TO_GT] = ">", [TO_GE] = ">=", [TO_EQ] = "==", [TO_NE] = "!="};

int threshold_eval(const threshold *t, const report_run *run, threshold_result *out)
{
    memset(out, 0, sizeof *out);
    out->expr = t->expr;
    out->metric = threshold_metric_name(t->metric);
    out->stat = t->stat_text;
    out->op = op_text[t->op];
    out->scenario = t->scenario >= 0 && (size_t)t->scenario < run->plan->nscenarios
                        ? run->plan->scenarios[t->scenario].name
                        : NULL;
    out->file = t->file;
    out->line = (unsigned)t->line;
    out->limit = t->limit;
    snprintf(out->limit_text, sizeof out->limit_text, "%s", t->limit_text);
    int rc = threshold_observe(t, run, &out->observed, &out->samples);
    if (rc < 0)
        return rc;
    /* A counter that counted nothing observed 0; a trend or rate with no sample saw nothing. */
    out->empty = out->samples == 0 && threshold_metric_kind(t->metric) != TK_COUNTER;
    if (out->empty) {
        snprintf(out->observed_text, sizeof out->observed_text, "no samples");
        out->ok = t->allow_empty;
    } else {
        threshold_format(t, out->observed, out->observed_text, sizeof out->observed_text);
        out->ok = threshold_holds(t, out->observed);
    }
    return 0;
}
