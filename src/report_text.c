/* report_text: the summary a person reads at the end of a run. Corrected latency (from each
 * request's intended start) comes first: it is the number a user of the service would see.
 * Every name and target printed comes from the file and goes through redact_str. */
#include <inttypes.h>
#include <string.h>

#include "check.h"
#include "ceiling.h"
#include "redact.h"
#include "report.h"

double report_achieved_rate(const report_scenario *r)
{
    if (r->window_s <= 0)
        return 0;
    return (double)(r->m->c.ok + r->m->c.failed) / r->window_s;
}

double report_target_rate(const report_scenario *r)
{
    const plan_scenario *s = r->s;
    double part = s->nseg > 1 ? 1.0 / s->nseg : 1; /* a segment offers its share */
    if (s->executor == PLAN_CONSTANT_ARRIVAL_RATE)
        return s->rate * part;
    if (s->executor != PLAN_RAMPING_ARRIVAL_RATE || s->duration_ns == 0)
        return -1;
    return part *
           (double)(plan_ramp_integral(s, s->duration_ns) / ((long double)s->duration_ns / 1e9));
}

static const double pcts[] = {50, 90, 95, 99, 99.9, 99.99};

void report_fmt_us(char *buf, size_t n, uint64_t us, bool spaced)
{
    if (us < 1000)
        snprintf(buf, n, spaced ? "%" PRIu64 " µs" : "%" PRIu64 "us", us);
    else if (us < 1000000)
        snprintf(buf, n, spaced ? "%.2f ms" : "%.2fms", (double)us / 1e3);
    else
        snprintf(buf, n, spaced ? "%.3f s" : "%.3fs", (double)us / 1e6);
}

static void fmt_us(char *buf, size_t n, uint64_t us)
{
    report_fmt_us(buf, n, us, false);
}

static void latency_row(FILE *f, const char *label, const hist *h)
{
    char b[32];
    fprintf(f, "    %-10s", label);
    if (!h || hist_count(h) == 0) {
        fprintf(f, " (no responses)\n");
        return;
    }
    for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        fmt_us(b, sizeof(b), hist_value_at(h, pcts[i]));
        fprintf(f, " %9s", b);
    }
    fmt_us(b, sizeof(b), hist_max(h));
    fprintf(f, " %9s\n", b);
}

/* The offered-load verdict of an open-model scenario, beside its rate. */
static void offered_line(FILE *f, const offered_result *o)
{
    if (!o || o->state == OFFERED_NA)
        return;
    if (o->state == OFFERED_OK) {
        fprintf(f,
                "  offered    ok: send lateness p99 %.3f ms within %.3f ms, %" PRIu64
                " dropped, queue max %" PRIu64 "\n",
                o->lateness_p99_ms, o->lateness_bound_ms, o->dropped, o->queue_max);
        return;
    }
    fprintf(f, "  offered    %s: BLAST DID NOT OFFER THE LOAD ASKED: %s\n",
            o->state == OFFERED_FAIL ? "FAIL" : "WARNING", redact_str(o->reason));
    if (o->advice[0])
        fprintf(f, "             %s\n", redact_str(o->advice));
}

static void thresholds(FILE *f, const verdict *v)
{
    if (!v->nthr)
        return;
    size_t failed = 0;
    for (size_t i = 0; i < v->nthr; i++)
        failed += !v->thr[i].ok;
    fprintf(f, "\nthresholds (%zu of %zu passed)\n", v->nthr - failed, v->nthr);
    for (size_t i = 0; i < v->nthr; i++) {
        const threshold_result *t = &v->thr[i];
        char where[160] = "";
        if (t->scenario)
            snprintf(where, sizeof where, "  [scenario %s]", redact_str(t->scenario));
        fprintf(f, "  %s %-52s %s%s%s%s\n", t->ok ? "✓" : "✗", redact_str(t->expr),
                t->observed_text, t->empty && !t->ok ? " (a threshold that saw nothing fails; "
                                                       "allow_empty passes it)"
                                                     : "",
                t->aborted ? "  ABORTED THE RUN" : "", where);
    }
}

static void scenario(FILE *f, const report_scenario *r, const offered_result *o)
{
    const metrics_counts *c = &r->m->c;
    const plan_scenario *s = r->s;
    if (s->nsteps == 1 && s->simple)
        fprintf(f, "\nscenario %s (%s, %s)\n", redact_str(s->name),
                plan_executor_names[s->executor], redact_str(s->steps[0].target));
    else
        fprintf(f, "\nscenario %s (%s, %zu steps)\n", redact_str(s->name),
                plan_executor_names[s->executor],
                s->nsteps);
    fprintf(f,
            "  requests   %" PRIu64 " scheduled: %" PRIu64 " ok, %" PRIu64 " failed, %" PRIu64
            " dropped\n",
            c->scheduled, c->ok, c->failed, c->dropped);
    if (c->failed) {
        fprintf(f, "  failures  ");
        for (int i = 0; i < METRICS_NFAIL; i++)
            if (c->fail[i])
                fprintf(f, " %s %" PRIu64, metrics_fail_name((metrics_fail)i), c->fail[i]);
        fprintf(f, "\n");
    }
    if (s->executor == PLAN_RAMPING_ARRIVAL_RATE)
        fprintf(f, "  rate       %.1f req/s achieved, %.1f target on average (%zu stages, peak %.1f)\n",
                report_achieved_rate(r), report_target_rate(r), s->nstages, s->rate);
    else if (!PLAN_IS_ARRIVAL(s->executor))
        fprintf(f, "  rate       %.1f req/s achieved with %s%u VUs\n", report_achieved_rate(r),
                s->executor == PLAN_RAMPING_VUS ? "up to " : "", s->vus);
    else if (s->executor == PLAN_CEILING)
        fprintf(f, "  rate       %.1f req/s achieved over the whole search (each step below)\n",
                report_achieved_rate(r));
    else if (s->pacing_resolution_ns)
        fprintf(f,
                "  rate       %.1f req/s achieved, %.1f target (sent in batches every %.3g ms)\n",
                report_achieved_rate(r), s->rate, (double)s->pacing_resolution_ns / 1e6);
    else
        fprintf(f, "  rate       %.1f req/s achieved, %.1f target\n", report_achieved_rate(r),
                s->rate);
    offered_line(f, o);
    if (r->m->nstages && r->m->nstages == s->nstages && s->nstages <= 24) {
        fprintf(f, "  stages     %9s %11s %10s %10s %12s\n", "duration", "target/s", "expected",
                "scheduled", "late p99");
        for (size_t i = 0; i < s->nstages; i++) {
            const plan_stage *st = &s->stages[i];
            long double upto = i + 1 < s->nstages ? s->stages[i + 1].before
                                                  : plan_ramp_integral(s, s->duration_ns);
            char d[32], late[32];
            snprintf(d, sizeof d, "%.3gs", (double)st->dur_ns / 1e9);
            fmt_us(late, sizeof late, hist_value_at(r->m->stages[i].lateness, 99));
            fprintf(f, "    %-6zu %9s %11.1f %10.0f %10" PRIu64 " %12s\n", i + 1, d, st->to,
                    (double)(upto - st->before), r->m->stages[i].scheduled,
                    hist_count(r->m->stages[i].lateness) ? late : "-");
        }
    }
    fprintf(f, "  latency     %9s %9s %9s %9s %9s %9s %9s\n", "p50", "p90", "p95", "p99", "p99.9",
            "p99.99", "max");
    latency_row(f, "corrected", r->m->latency);
    latency_row(f, "service", r->m->service);
    if (!s->simple) {
        const metrics_iter *it = &r->m->it;
        fprintf(f,
                "  iterations %" PRIu64 " scheduled: %" PRIu64 " completed, %" PRIu64
                " failed, %" PRIu64 " interrupted, %" PRIu64 " dropped\n",
                it->scheduled, it->completed, it->failed, it->interrupted, it->dropped);
        latency_row(f, "iteration", r->m->iteration);
        for (size_t i = 0; i < s->nsteps; i++) {
            const metrics_step *m = &r->m->steps[i];
            char p50[32], p95[32], p99[32];
            fmt_us(p50, sizeof p50, hist_value_at(m->latency, 50));
            fmt_us(p95, sizeof p95, hist_value_at(m->latency, 95));
            fmt_us(p99, sizeof p99, hist_value_at(m->latency, 99));
            fprintf(f,
                    "  step       %-24s %8" PRIu64 " ok %6" PRIu64 " failed   p50 %8s  p95 %8s  "
                    "p99 %8s\n",
                    redact_str(s->steps[i].name), m->ok, m->failed, p50, p95, p99);
        }
    }
    /* one line per check name, summed over the steps that have it (as k6 counts checks) */
    for (size_t i = 0; i < s->nsteps; i++)
        for (size_t j = 0; j < s->steps[i].nchecks; j++) {
            const char *name = check_name(s->steps[i].checks[j]);
            uint64_t passes = 0, fails = 0;
            bool first = true;
            for (size_t a = 0; a < s->nsteps; a++)
                for (size_t b = 0; b < s->steps[a].nchecks; b++) {
                    if (strcmp(check_name(s->steps[a].checks[b]), name) != 0)
                        continue;
                    if (a < i || (a == i && b < j))
                        first = false;
                    passes += r->m->checks[s->steps[a].check0 + b].passes;
                    fails += r->m->checks[s->steps[a].check0 + b].fails;
                }
            if (first)
                fprintf(f, "  check      %-40s %" PRIu64 " passed, %" PRIu64 " failed%s\n",
                        redact_str(name), passes, fails, fails ? "  <--" : "");
        }
    fprintf(f, "  bytes      %" PRIu64 " sent, %" PRIu64 " received\n", c->bytes_sent,
            c->bytes_received);
    fprintf(f,
            "  conns      %" PRIu64 " opened, %" PRIu64 " max open, %" PRIu64
            " closed by server, %" PRIu64 " failed to connect",
            c->conns_opened, c->conns_max_open, c->conns_server_closed, c->conns_failed);
    /* only where a connection control is set, so the usual line stays as it was */
    if (s->max_requests_per_conn || s->conn_lifetime_ns)
        fprintf(f, ", %" PRIu64 " recycled (%s)", c->conns_recycled,
                s->keepalive_off ? "keepalive = off" : "connection limits");
    fprintf(f, "\n");
    if (r->m->ws) {
        const metrics_ws_counts *w = &r->m->ws->c;
        uint64_t judged = w->replied + w->timed_out + w->cut;
        fprintf(f,
                "  ws         %" PRIu64 " sessions (%" PRIu64 " failed), %" PRIu64 " sent, %" PRIu64
                " received; %" PRIu64 " replied, %" PRIu64 " timed out, %" PRIu64
                " cut; delivery %.2f%%\n",
                w->sessions, w->sessions_failed, w->msgs_sent, w->msgs_received, w->replied,
                w->timed_out, w->cut, judged ? 100.0 * (double)w->replied / (double)judged : 100.0);
        if (w->sessions_failed) {
            fprintf(f, "  ws fails  ");
            for (int i = 0; i < METRICS_WS_NFAIL; i++)
                if (w->fail[i] && i != METRICS_WS_REPLY_TIMEOUT)
                    fprintf(f, " %s %" PRIu64, metrics_ws_fail_name((metrics_ws_fail)i), w->fail[i]);
            fprintf(f, "\n");
        }
        latency_row(f, "ws msg", r->m->ws->msg_latency);
        latency_row(f, "ws uncorr", r->m->ws->msg_service);
    }
    if (s->tls) {
        const hist *h = r->m->handshake;
        char p50[32], p99[32];
        fmt_us(p50, sizeof(p50), hist_value_at(h, 50));
        fmt_us(p99, sizeof(p99), hist_value_at(h, 99));
        fprintf(
            f, "  tls        %" PRIu64 " full + %" PRIu64 " resumed handshakes, p50 %s p99 %s%s\n",
            c->tls_full, c->tls_resumed, p50, p99,
            s->tls_opts.insecure ? "; CERTIFICATES NOT VERIFIED (insecure_skip_tls_verify)" : "");
        for (int i = 0; i < METRICS_TLS_REASONS && r->m->tls_reasons[i].count; i++)
            fprintf(f, "  tls error  %" PRIu64 " x %s\n", r->m->tls_reasons[i].count,
                    redact_str(r->m->tls_reasons[i].text));
    }
    if (c->dropped)
        fprintf(f,
                "  WARNING    %" PRIu64 " requests were dropped: raise max_connections or "
                "max_queue, or the target cannot keep up\n",
                c->dropped);
}

void report_text(FILE *f, const report_run *run)
{
    if (!run->started) {
        fprintf(f, "blast: stopped before the start (Ctrl-C while connecting): no request was "
                   "sent\n");
        return;
    }
    fprintf(f, "blast: %.2fs, %u worker%s%s", run->duration_s, run->workers,
            run->workers == 1 ? "" : "s", run->interrupted ? ", interrupted" : "");
    if (run->plan && run->plan->profile)
        fprintf(f, ", profile %s", run->plan->profile);
    if (run->plan && run->plan->segments > 1)
        fprintf(f, ", segment %u/%u", run->plan->segment + 1, run->plan->segments);
    fprintf(f, "\n");
    if (run->aborted)
        fprintf(f, "stopped early by %s\n", run->abort_reason);
    const verdict *v = run->verdict;
    for (size_t i = 0; i < run->nsc; i++) {
        scenario(f, &run->sc[i], v && i < v->noff ? &v->off[i] : NULL);
        if (run->ceiling && run->ceiling->scenario == i)
            ceiling_text(f, run->ceiling);
    }
    if (!v)
        return;
    thresholds(f, v);
    fprintf(f, "\nclient     %.2f s CPU (user %.2f, sys %.2f), %.1f MiB max RSS",
            v->cpu_user_s + v->cpu_sys_s, v->cpu_user_s, v->cpu_sys_s,
            (double)v->rss_max_kib / 1024);
    if (v->cpu_wait_s >= 0.01) /* other programs held the CPU it was ready to use */
        fprintf(f, "; its workers waited %.2f s for a CPU", v->cpu_wait_s);
    fputc('\n', f);
    if (!v->thresholds_ok || !v->offered_ok || v->ceiling_failed)
        fprintf(f, "verdict    FAIL:%s%s%s (exit code 99)\n",
                v->thresholds_ok ? "" : " thresholds failed",
                v->offered_ok ? "" : (v->thresholds_ok ? " the offered-load check failed"
                                                       : "; the offered-load check failed"),
                v->ceiling_failed ? "; the ceiling is below min_rate (or start_rate failed)"
                                  : "");
    else if (v->nthr)
        fprintf(f, "verdict    PASS\n");
}
