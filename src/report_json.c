/* report_json: the machine-readable result. Field names are a contract with other tools (CI
 * gates, blast compare): add fields, never rename or remove them. Times are milliseconds with
 * microsecond resolution. */
#include <errno.h>
#include <inttypes.h>

#include <string.h>

#include "ceiling.h"
#include "check.h"
#include "redact.h"
#include "report.h"
#include "version.h"

/* Writes s as a JSON string (scenario names are restricted by config, but quote anyway). Every
 * string of the document comes through here, redacted before it is escaped. */
#define jstr report_json_str

void report_json_str(FILE *f, const char *s)
{
    s = redact_str(s);
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void ms(FILE *f, uint64_t us)
{
    fprintf(f, "%.3f", (double)us / 1e3);
}

static void times(FILE *f, const char *indent, const char *name, const hist *h)
{
    static hist *none; /* a histogram that could not be made reads as empty */
    if (!h && !none && hist_init(&none, 2, 1) < 0) {
        fprintf(f, "%s\"%s\": null", indent, name);
        return;
    }
    if (!h)
        h = none;
    static const struct {
        const char *key;
        double p;
    } pct[] = {{"p50", 50}, {"p90", 90},     {"p95", 95},
               {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}};
    fprintf(f, "%s\"%s\": {\"count\": %" PRIu64 ", \"min\": ", indent, name, hist_count(h));
    ms(f, hist_min(h));
    fprintf(f, ", \"mean\": %.3f", hist_mean(h) / 1e3);
    for (size_t i = 0; i < sizeof(pct) / sizeof(pct[0]); i++) {
        fprintf(f, ", \"%s\": ", pct[i].key);
        ms(f, hist_value_at(h, pct[i].p));
    }
    fprintf(f, ", \"max\": ");
    ms(f, hist_max(h));
    fprintf(f, "}");
}

struct slots {
    FILE *f;
    bool first;
};

static void slot(void *ctx, uint64_t lowest, uint64_t width, uint64_t count)
{
    struct slots *s = ctx;
    (void)width;
    fprintf(s->f, "%s[%" PRIu64 ", %" PRIu64 "]", s->first ? "" : ", ", lowest, count);
    s->first = false;
}

/* A histogram, whole: every slot that holds values as [its smallest value in µs, count], so a
 * reader can merge runs exactly (blast compare, the merge of several load boxes). */
static void hist_json(FILE *f, const char *name, const hist *h, bool last)
{
    fprintf(f, "\"%s\": ", name);
    if (!h) {
        fprintf(f, "null%s", last ? "" : ", ");
        return;
    }
    fprintf(f,
            "{\"unit\": \"us\", \"sigfigs\": %d, \"highest\": %" PRIu64 ", \"count\": %" PRIu64
            ", \"min\": %" PRIu64 ", \"max\": %" PRIu64 ", \"mean\": %.3f, \"sum\": %.0Lf, "
            "\"slots\": [",
            hist_sigfigs(h), hist_highest(h), hist_count(h), hist_min(h), hist_max(h),
            hist_mean(h), hist_sum(h));
    struct slots s = {f, true};
    hist_foreach(h, slot, &s);
    fprintf(f, "]}%s", last ? "" : ", ");
}

static void status_json(FILE *f, const uint64_t *st)
{
    fprintf(f, "{\"1xx\": %" PRIu64 ", \"2xx\": %" PRIu64 ", \"3xx\": %" PRIu64
               ", \"4xx\": %" PRIu64 ", \"5xx\": %" PRIu64 ", \"other\": %" PRIu64 "}",
            st[1], st[2], st[3], st[4], st[5], st[0]);
}

static void failures(FILE *f, const uint64_t *fail)
{
    fprintf(f, "{");
    for (int i = 0; i < METRICS_NFAIL; i++)
        fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", metrics_fail_name((metrics_fail)i),
                fail[i]);
    fprintf(f, "}");
}

/* A scenario's or a step's WebSocket sessions: counts, delivery, failures by class, close codes,
 * times; `ind` is the indent of its key, its lines go two deeper. */
static void ws_json(FILE *f, const metrics_ws *w, const char *ind)
{
    char in[32];
    snprintf(in, sizeof in, "%s  ", ind);
    const metrics_ws_counts *c = &w->c;
    uint64_t judged = c->replied + c->timed_out + c->cut;
    fprintf(f,
            "%s\"ws\": {\"ws_sessions\": %" PRIu64 ", \"handshakes\": %" PRIu64
            ", \"sessions_ok\": %" PRIu64 ", \"sessions_failed\": %" PRIu64
            ", \"ws_msgs_sent\": %" PRIu64 ", \"ws_msgs_received\": %" PRIu64
            ",\n%s\"replied\": %" PRIu64 ", \"timed_out\": %" PRIu64 ", \"cut\": %" PRIu64
            ", \"unexpected\": %" PRIu64 ", \"delivery_rate\": %.6f",
            ind, c->sessions, c->handshakes, c->sessions_ok, c->sessions_failed, c->msgs_sent,
            c->msgs_received, in, c->replied, c->timed_out, c->cut, c->unexpected,
            judged ? (double)c->replied / (double)judged : 1.0);
    fprintf(f,
            ",\n%s\"pings_received\": %" PRIu64 ", \"pongs_sent\": %" PRIu64
            ", \"pings_sent\": %" PRIu64 ", \"pongs_received\": %" PRIu64
            ", \"closed_by_server\": %" PRIu64 ", \"closed_by_client\": %" PRIu64,
            in, c->pings_received, c->pongs_sent, c->pings_sent, c->pongs_received,
            c->closed_by_server, c->closed_by_client);
    fprintf(f, ",\n%s\"failures\": {", in);
    for (int i = 0; i < METRICS_WS_NFAIL; i++)
        fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", metrics_ws_fail_name((metrics_ws_fail)i),
                c->fail[i]);
    fprintf(f, "},\n%s\"close_codes\": {", in);
    for (int i = 0, n = 0; i < METRICS_WS_CODES; i++)
        if (w->code_n[i])
            fprintf(f, "%s\"%" PRIu64 "\": %" PRIu64, n++ ? ", " : "", w->code[i], w->code_n[i]);
    fprintf(f, "},\n");
    times(f, in, "msg_latency_ms", w->msg_latency);
    fprintf(f, ",\n");
    times(f, in, "msg_service_ms", w->msg_service);
    fprintf(f, ",\n");
    times(f, in, "connecting_ms", w->connecting);
    fprintf(f, ",\n");
    times(f, in, "session_duration_ms", w->session);
    fprintf(f, ",\n");
    times(f, in, "ping_ms", w->ping);
    fprintf(f, ",\n%s\"histograms\": {", in);
    hist_json(f, "msg_latency", w->msg_latency, false);
    hist_json(f, "msg_service", w->msg_service, false);
    hist_json(f, "connecting", w->connecting, false);
    hist_json(f, "session_duration", w->session, false);
    hist_json(f, "ping", w->ping, true);
    fprintf(f, "}},\n");
}

static void step(FILE *f, const plan_step *st, const metrics_step *m, bool last)
{
    fprintf(f, "        ");
    jstr(f, st->name);
    fprintf(f,
            ": {\n          \"requests\": {\"scheduled\": %" PRIu64 ", \"ok\": %" PRIu64
            ", \"failed\": %" PRIu64 "},\n          \"failures\": ",
            m->scheduled, m->ok, m->failed);
    failures(f, m->fail);
    fprintf(f, ",\n");
    times(f, "          ", "latency_ms", m->latency);
    fprintf(f, ",\n");
    times(f, "          ", "service_time_ms", m->service);
    fprintf(f, ",\n          \"status\": ");
    status_json(f, m->status);
    fprintf(f, ",\n          \"histograms\": {");
    hist_json(f, "latency", m->latency, false);
    hist_json(f, "service_time", m->service, true);
    fprintf(f,
            "},\n          \"bytes\": {\"sent\": %" PRIu64 ", \"received\": %" PRIu64
            "},\n",
            m->bytes_sent, m->bytes_received);
    if (m->ws)
        ws_json(f, m->ws, "          ");
    fprintf(f, "          \"tags\": {");
    for (size_t i = 0; i < st->ntags; i++) {
        fprintf(f, "%s", i ? ", " : "");
        jstr(f, st->tags[i].key);
        fprintf(f, ": ");
        jstr(f, st->tags[i].value);
    }
    fprintf(f, "}\n        }%s\n", last ? "" : ",");
}

/* checks.NAME: passes and fails, summed over the checks of that name (as k6 counts them). */
static void checks(FILE *f, const plan_scenario *s, const metrics_rec *m)
{
    bool first = true;
    for (size_t i = 0; i < s->nsteps; i++)
        for (size_t j = 0; j < s->steps[i].nchecks; j++) {
            const char *name = check_name(s->steps[i].checks[j]);
            bool seen = false; /* only the first check of a name prints, with the sums */
            for (size_t a = 0; a <= i && !seen; a++)
                for (size_t b = 0; b < (a == i ? j : s->steps[a].nchecks) && !seen; b++)
                    seen = strcmp(check_name(s->steps[a].checks[b]), name) == 0;
            if (seen)
                continue;
            uint64_t passes = 0, fails = 0;
            for (size_t a = 0; a < s->nsteps; a++)
                for (size_t b = 0; b < s->steps[a].nchecks; b++)
                    if (strcmp(check_name(s->steps[a].checks[b]), name) == 0) {
                        passes += m->checks[s->steps[a].check0 + b].passes;
                        fails += m->checks[s->steps[a].check0 + b].fails;
                    }
            fprintf(f, "%s\n        ", first ? "" : ",");
            jstr(f, name);
            fprintf(f, ": {\"passes\": %" PRIu64 ", \"fails\": %" PRIu64 "}", passes, fails);
            first = false;
        }
    if (!first)
        fprintf(f, "\n      ");
}

static void offered_json(FILE *f, const offered_result *o)
{
    fprintf(f, "      \"offered_load\": ");
    if (!o) {
        fprintf(f, "null,\n");
        return;
    }
    fprintf(f, "{\"verdict\": \"%s\"", verdict_offered_name(o->state));
    if (o->state != OFFERED_NA) {
        fprintf(f,
                ", \"dropped\": %" PRIu64 ", \"queue_max\": %" PRIu64
                ", \"send_lateness_p99_ms\": %.3f, \"send_lateness_bound_ms\": %.3f, "
                "\"generator_limited\": %s, \"reason\": ",
                o->dropped, o->queue_max, o->lateness_p99_ms, o->lateness_bound_ms,
                o->generator_limited ? "true" : "false");
        jstr(f, o->reason);
        fprintf(f, ", \"advice\": ");
        jstr(f, o->advice);
    }
    fprintf(f, "},\n");
}

static void scenario(FILE *f, const report_scenario *r, const offered_result *o, bool last,
                     const ceiling_result *ce)
{
    const metrics_counts *c = &r->m->c;
    const plan_scenario *s = r->s;
    fprintf(f, "    ");
    jstr(f, s->name);
    fprintf(f, ": {\n      \"executor\": \"%s\",\n", plan_executor_names[s->executor]);
    if (ce) {
        fprintf(f, "      \"ceiling\": ");
        ceiling_json(f, ce, "      ");
        fprintf(f, ",\n");
    }
    fprintf(f, "      \"start_time_s\": %.3f,\n", (double)s->start_time_ns / 1e9);
    fprintf(f, "      \"duration_s\": %.3f,\n", r->window_s);
    fprintf(f,
            "      \"requests\": {\"scheduled\": %" PRIu64 ", \"ok\": %" PRIu64
            ", \"failed\": %" PRIu64 ", \"dropped\": %" PRIu64 "},\n",
            c->scheduled, c->ok, c->failed, c->dropped);
    fprintf(f, "      \"failures\": {");
    for (int i = 0; i < METRICS_NFAIL; i++)
        fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", metrics_fail_name((metrics_fail)i),
                c->fail[i]);
    fprintf(f, "},\n");
    offered_json(f, o);
    if (!PLAN_IS_ARRIVAL(s->executor))
        fprintf(f, "      \"rate\": {\"target\": null, \"achieved\": %.3f},\n",
                report_achieved_rate(r));
    else
        fprintf(f, "      \"rate\": {\"target\": %.3f, \"achieved\": %.3f},\n",
                report_target_rate(r), report_achieved_rate(r));
    if (s->nstages) {
        fprintf(f, "      \"stages\": [");
        for (size_t i = 0; i < s->nstages; i++) {
            const plan_stage *st = &s->stages[i];
            fprintf(f, "%s\n        {\"duration_s\": %.3f, \"target\": %.3f", i ? "," : "",
                    (double)st->dur_ns / 1e9, st->to);
            if (r->m->nstages == s->nstages) {
                /* arrivals the stage's integral asks for, and those that came due in it */
                long double upto = i + 1 < s->nstages ? s->stages[i + 1].before
                                                      : plan_ramp_integral(s, s->duration_ns);
                fprintf(f, ", \"expected\": %.3f, \"scheduled\": %" PRIu64 ",\n",
                        (double)(upto - st->before), r->m->stages[i].scheduled);
                times(f, "         ", "send_lateness_ms", r->m->stages[i].lateness);
                fprintf(f, ",\n         ");
                hist_json(f, "send_lateness_histogram", r->m->stages[i].lateness, true);
            }
            fprintf(f, "}");
        }
        fprintf(f, "],\n");
    }
    if (s->executor == PLAN_PER_VU_ITERATIONS || s->executor == PLAN_SHARED_ITERATIONS)
        fprintf(f, "      \"iterations_planned\": %" PRIu64 ",\n",
                plan_segment_iterations(s));
    if (!PLAN_IS_ARRIVAL(s->executor))
        fprintf(f, "      \"%s\": %u,\n", s->executor == PLAN_RAMPING_VUS ? "vus_max" : "vus",
                plan_segment_vus(s));
    else
        fprintf(f, "      \"pacing_resolution_ms\": %.3f,\n",
                (double)s->pacing_resolution_ns / 1e6);
    times(f, "      ", "latency_ms", r->m->latency);
    fprintf(f, ",\n");
    times(f, "      ", "service_time_ms", r->m->service);
    fprintf(f, ",\n");
    times(f, "      ", "send_lateness_ms", r->m->lateness);
    fprintf(f, ",\n");
    times(f, "      ", "connecting_ms", r->m->connecting);
    fprintf(f, ",\n      \"status\": ");
    uint64_t st[6] = {0};
    for (size_t i = 0; i < r->m->nsteps; i++)
        for (int k = 0; k < 6; k++)
            st[k] += r->m->steps[i].status[k];
    status_json(f, st);
    fprintf(f, ",\n      \"histograms\": {");
    hist_json(f, "latency", r->m->latency, false);
    hist_json(f, "service_time", r->m->service, false);
    hist_json(f, "send_lateness", r->m->lateness, false);
    hist_json(f, "iteration_duration", r->m->iteration, false);
    hist_json(f, "connecting", r->m->connecting, false);
    hist_json(f, "tls_handshake", r->m->handshake, true);
    fprintf(f, "},\n");
    fprintf(f, "      \"bytes\": {\"sent\": %" PRIu64 ", \"received\": %" PRIu64 "},\n",
            c->bytes_sent, c->bytes_received);
    fprintf(f,
            "      \"connections\": {\"opened\": %" PRIu64 ", \"max_open\": %" PRIu64
            ", \"closed_by_server\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"recycled\": %" PRIu64
            "},\n",
            c->conns_opened, c->conns_max_open, c->conns_server_closed, c->conns_failed,
            c->conns_recycled);
    if (r->m->ws)
        ws_json(f, r->m->ws, "      ");
    const metrics_iter *it = &r->m->it;
    fprintf(f,
            "      \"iterations\": {\"scheduled\": %" PRIu64 ", \"completed\": %" PRIu64
            ", \"failed\": %" PRIu64 ", \"interrupted\": %" PRIu64 ", \"dropped\": %" PRIu64 "},\n",
            it->scheduled, it->completed, it->failed, it->interrupted, it->dropped);
    times(f, "      ", "iteration_duration_ms", r->m->iteration);
    fprintf(f, ",\n      \"steps\": {\n");
    for (size_t i = 0; i < s->nsteps; i++)
        step(f, &s->steps[i], &r->m->steps[i], i + 1 == s->nsteps);
    fprintf(f, "      },\n      \"checks\": {");
    checks(f, s, r->m);
    fprintf(f, "}%s\n", s->tls ? "," : "");
    if (s->tls) {
        fprintf(f,
                "      \"tls\": {\"verified\": %s, \"handshakes\": {\"full\": %" PRIu64
                ", \"resumed\": %" PRIu64 "},\n",
                s->tls_opts.insecure ? "false" : "true", c->tls_full, c->tls_resumed);
        times(f, "        ", "handshake_ms", r->m->handshake);
        fprintf(f, ",\n        \"errors\": {");
        for (int i = 0; i < METRICS_TLS_REASONS && r->m->tls_reasons[i].count; i++) {
            fprintf(f, "%s", i ? ", " : "");
            jstr(f, r->m->tls_reasons[i].text);
            fprintf(f, ": %" PRIu64, r->m->tls_reasons[i].count);
        }
        fprintf(f, "}}\n");
    }
    fprintf(f, "    }%s\n", last ? "" : ",");
}

int report_json(FILE *f, const report_run *run)
{
    fprintf(f, "{\n  \"blast_version\": \"%s\",\n", BLAST_VERSION);
    fprintf(f, "  \"duration_s\": %.3f,\n", run->duration_s);
    fprintf(f, "  \"workers\": %u,\n", run->workers);
    fprintf(f, "  \"interrupted\": %s,\n", run->interrupted ? "true" : "false");
    fprintf(f, "  \"started\": %s,\n", run->started ? "true" : "false");
    fprintf(f, "  \"aborted_by\": ");
    if (run->aborted)
        jstr(f, run->abort_reason);
    else
        fprintf(f, "null");
    fprintf(f, ",\n");
    const plan *pl = run->plan;
    if (pl && pl->segments > 1)
        fprintf(f, "  \"segment\": {\"index\": %u, \"count\": %u},\n", pl->segment + 1,
                pl->segments);
    else
        fprintf(f, "  \"segment\": null,\n");
    fprintf(f, "  \"config_sha256\": ");
    if (pl && pl->fingerprint[0])
        jstr(f, pl->fingerprint);
    else
        fprintf(f, "null");
    fprintf(f, ",\n");
    fprintf(f, "  \"profile\": ");
    if (run->plan && run->plan->profile)
        jstr(f, run->plan->profile);
    else
        fprintf(f, "null");
    fprintf(f, ",\n");
    const verdict *v = run->verdict;
    fprintf(f, "  \"passed\": %s,\n", !v ? "null" : verdict_failed(v) ? "false" : "true");
    fprintf(f, "  \"thresholds\": [");
    for (size_t i = 0; v && i < v->nthr; i++) {
        const threshold_result *t = &v->thr[i];
        fprintf(f, "%s\n    {\"expression\": ", i ? "," : "");
        jstr(f, t->expr);
        fprintf(f, ", \"metric\": ");
        jstr(f, t->metric);
        fprintf(f, ", \"stat\": ");
        jstr(f, t->stat);
        fprintf(f, ", \"op\": \"%s\", \"scenario\": ", t->op);
        if (t->scenario)
            jstr(f, t->scenario);
        else
            fprintf(f, "null");
        fprintf(f, ", \"line\": %u,\n     \"limit\": %.6g, \"limit_text\": ", t->line, t->limit);
        jstr(f, t->limit_text);
        fprintf(f, ", \"observed\": ");
        if (t->empty)
            fprintf(f, "null");
        else
            fprintf(f, "%.6g", t->observed);
        fprintf(f, ", \"observed_text\": ");
        jstr(f, t->observed_text);
        fprintf(f, ", \"samples\": %" PRIu64 ", \"ok\": %s, \"empty\": %s, \"aborted\": %s}",
                t->samples, t->ok ? "true" : "false", t->empty ? "true" : "false",
                t->aborted ? "true" : "false");
    }
    fprintf(f, "%s],\n", v && v->nthr ? "\n  " : "");
    if (v)
        fprintf(f,
                "  \"client\": {\"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f, \"cpu_wait_s\": %.3f, "
                "\"rss_max_kib\": %" PRIu64 "},\n",
                v->cpu_user_s, v->cpu_sys_s, v->cpu_wait_s, v->rss_max_kib);
    fprintf(f, "  \"scenarios\": {\n");
    for (size_t i = 0; i < run->nsc; i++)
        scenario(f, &run->sc[i], v && i < v->noff ? &v->off[i] : NULL, i + 1 == run->nsc,
                 run->ceiling && run->ceiling->scenario == i ? run->ceiling : NULL);
    fprintf(f, "  }\n}\n");
    return ferror(f) ? -EIO : 0;
}
