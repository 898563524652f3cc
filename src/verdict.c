/* verdict: judging a finished run (see include/verdict.h and verdict_build in report.h): every
 * threshold, and per scenario the offered-load check.
 *
 * The offered-load check (open model only: a closed model offers what its VUs can) fires on any
 * of: iterations dropped; a queue that held more than QUEUE_GREW_S of arrivals (at least
 * QUEUE_GREW_MIN); send lateness p99 above the bound (offered_lateness, else 10% of the mean gap
 * between arrivals and at least 1 ms, plus pacing_resolution, which delays sends by design). It
 * then says whether blast itself was the limit: its CPU time, plus the time its threads waited
 * for a CPU that other programs held, against the workers' wall time, or every VU busy at
 * max_vus. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "hist.h"
#include "report.h"
#include "strbuf.h"
#include "threshold.h"

#define QUEUE_GREW_S 0.1 /* a queue of 100 ms of arrivals */
#define QUEUE_GREW_MIN 100
#define CPU_BOUND 0.85 /* of the workers' wall time: blast was busy all along */

static void offered(const report_run *run, size_t i, double cpu_s, double wait_s, double span_s,
                    offered_result *o)
{
    const report_scenario *rs = &run->sc[i];
    const plan_scenario *s = rs->s;
    const metrics_rec *m = rs->m;
    memset(o, 0, sizeof *o);
    o->scenario = s->name;
    if (!PLAN_IS_ARRIVAL(s->executor) || !run->started) {
        o->state = OFFERED_NA;
        return;
    }
    double rate = report_target_rate(rs);
    o->dropped = m->it.dropped;
    o->queue_max = m->c.queue_max;
    o->lateness_p99_ms = m->lateness ? (double)hist_value_at(m->lateness, 99) / 1e3 : 0;
    double bound = s->offered_lateness_ns ? (double)s->offered_lateness_ns / 1e6
                   : rate > 0             ? 0.1 * 1e3 / rate
                                          : 1;
    if (!s->offered_lateness_ns) {
        if (bound < 1)
            bound = 1;
        bound += (double)s->pacing_resolution_ns / 1e6;
    }
    o->lateness_bound_ms = bound;
    double grew = rate * QUEUE_GREW_S;
    if (grew < QUEUE_GREW_MIN)
        grew = QUEUE_GREW_MIN;
    size_t r = 0;
    if (o->dropped)
        r = strbuf_app(o->reason, sizeof o->reason, r, "%llu of %llu iterations dropped; ",
                       (unsigned long long)o->dropped, (unsigned long long)m->it.scheduled);
    if ((double)o->queue_max > grew)
        r = strbuf_app(o->reason, sizeof o->reason, r,
                       "up to %llu arrivals waited for a free VU (more than %.0f ms of arrivals); ",
                       (unsigned long long)o->queue_max, QUEUE_GREW_S * 1e3);
    if (o->lateness_p99_ms > bound)
        r = strbuf_app(o->reason, sizeof o->reason, r,
                       "send lateness p99 %.3f ms above the %.3f ms bound; ", o->lateness_p99_ms,
                       bound);
    if (!r) {
        o->state = OFFERED_OK;
        return;
    }
    o->reason[r >= 2 ? r - 2 : r] = '\0'; /* the last "; " */
    o->state = s->offered_fail ? OFFERED_FAIL : OFFERED_WARN;
    size_t a = 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (span_s > 0 && cpu_s >= CPU_BOUND * span_s * run->workers) {
        o->generator_limited = true;
        a = strbuf_app(
            o->advice, sizeof o->advice, a,
            "blast used %.2f s of CPU in its %.2f s with %u worker(s): it, not the server, "
            "was the limit; raise workers (%ld CPUs online) or split the load over load "
            "boxes; ",
            cpu_s, span_s, run->workers, cpus);
    } else if (span_s > 0 && cpu_s + wait_s >= CPU_BOUND * span_s * run->workers) {
        /* it wanted the CPU all along but other programs on this machine held it */
        o->generator_limited = true;
        a = strbuf_app(
            o->advice, sizeof o->advice, a,
            "blast used %.2f s of CPU in its %.2f s and waited %.2f s more for a CPU that "
            "other programs held: this machine, not the server, was the limit; give blast "
            "a less busy machine (or pin it: taskset) or split the load over load boxes; ",
            cpu_s, span_s, wait_s);
    }
    if (m->c.conns_max_open >= s->max_connections && (o->dropped || (double)o->queue_max > grew))
        /* Little's law: VUs busy = rate x time each is busy (the service time, not the
         * latency, which includes the queueing this is about) */
        a = strbuf_app(
            o->advice, sizeof o->advice, a,
            "all %u VUs (max_vus) were busy at once: raise max_vus (rate x service time p99 "
            "= %.0f); ",
            s->max_connections,
            rate * (m->service ? (double)hist_value_at(m->service, 99) / 1e6 : 0) + 1);
    if (m->c.conns_failed && s->nsrc == 0)
        a = strbuf_app(o->advice, sizeof o->advice, a,
                       "%llu connects failed: with many connections to one address, "
                       "source_addresses spreads them over more local ports; ",
                       (unsigned long long)m->c.conns_failed);
    if (a)
        o->advice[a >= 2 ? a - 2 : a] = '\0';
}

int verdict_build(verdict *v, const report_run *run)
{
    memset(v, 0, sizeof *v);
    const plan *p = run->plan;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        v->cpu_user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
        v->cpu_sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        v->rss_max_kib = (uint64_t)ru.ru_maxrss;
    }
    v->cpu_wait_s = run->cpu_wait_s;
    threshold_result *thr = calloc(p->nthresholds ? p->nthresholds : 1, sizeof *thr);
    offered_result *off = calloc(run->nsc ? run->nsc : 1, sizeof *off);
    if (!thr || !off) {
        free(thr);
        free(off);
        return -ENOMEM;
    }
    v->thr = thr;
    v->off = off;
    v->nthr = p->nthresholds;
    v->noff = run->nsc;
    v->thresholds_ok = v->offered_ok = true;
    for (size_t i = 0; i < p->nthresholds; i++) {
        if (threshold_eval(&p->thresholds[i], run, &thr[i]) < 0)
            return -ENOMEM; /* verdict_free frees what there is */
        v->thresholds_ok &= thr[i].ok;
    }
    /* blast's busy share: its CPU against its workers' time while load was asked for (the
     * longest window; the graceful stop after it is mostly idle) */
    double span = 0;
    for (size_t i = 0; i < run->nsc; i++)
        if (run->sc[i].window_s > span)
            span = run->sc[i].window_s;
    if (span <= 0)
        span = run->duration_s;

    for (size_t i = 0; i < run->nsc; i++) {
        offered(run, i, v->cpu_user_s + v->cpu_sys_s, v->cpu_wait_s, span, &off[i]);
        v->offered_ok &= off[i].state != OFFERED_FAIL;
    }
    return 0;
}

void verdict_free(verdict *v)
{
    if (!v)
        return;
    free((void *)v->thr);
    free((void *)v->off);
    memset(v, 0, sizeof *v);
}

const char *verdict_offered_name(offered_state s)
{
    static const char *const names[] = {"n/a", "ok", "warn", "fail"};
    return s <= OFFERED_FAIL ? names[s] : "?";
}
