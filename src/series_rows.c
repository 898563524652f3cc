/* series_rows: the `csv` and `ndjson` time series (see series.h): one row per second per
 * scenario and per step of it, with the second's requests, failures by class, achieved rate,
 * corrected latency p50/p90/p99/max; a scenario's row also has its active VUs, open
 * connections, queued arrivals and send lateness p99 (gauges are as of the end of the second).
 * A run with a ceiling search has one more column, ceiling_step: the 1-based step of the search
 * under way in that second (its cool-down included), empty on other scenarios' rows.
 * A run with a WebSocket step has six more (ws_columns): the second's sessions opened, messages
 * sent and received, messages replied to and timed out, and the message latency p99 (corrected),
 * on the rows of scenarios and steps that have WebSocket sessions (empty, or null, elsewhere).
 * The same columns in both; names are redacted and quoted for the format. Written through
 * files_out: a file appears complete when the run ends (a FIFO or /dev/stdout is written live). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceiling.h"
#include "files.h"
#include "hist.h"
#include "redact.h"
#include "series.h"

typedef struct rows {
    files_out o;
    bool csv;
    bool header_done;
    bool ceiling; /* the plan has a ceiling scenario: the ceiling_step column */
    bool ws;      /* the plan has a WebSocket step: the ws columns */
    uint64_t rows;
} rows;

static const char *const columns =
    "t_s,scenario,step,requests,ok,failed,fail_connect,fail_timeout,fail_reset,fail_tls,"
    "fail_parse,fail_status,fail_check,dropped,rate,latency_p50_ms,latency_p90_ms,"
    "latency_p99_ms,latency_max_ms,vus_active,conns_open,queued,send_lateness_p99_ms";

static const char *const ws_columns = ",ws_sessions,ws_msgs_sent,ws_msgs_received,ws_replied,"
                                      "ws_timed_out,ws_msg_latency_p99_ms";

static bool has_ws(const plan *p)
{
    for (size_t i = 0; p && i < p->nscenarios; i++)
        for (size_t j = 0; j < p->scenarios[i].nsteps; j++)
            if (p->scenarios[i].steps[j].ws)
                return true;
    return false;
}

static bool has_ceiling(const plan *p)
{
    for (size_t i = 0; p && i < p->nscenarios; i++)
        if (p->scenarios[i].executor == PLAN_CEILING)
            return true;
    return false;
}

static int open_rows(void **state, const char *dest, bool csv, const plan *p, char *err,
                     size_t errlen)
{
    rows *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = files_out_open(&r->o, dest, err, errlen);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->csv = csv;
    r->ceiling = has_ceiling(p);
    r->ws = has_ws(p);
    *state = r;
    return 0;
}

static int open_csv(void **state, const char *dest, const plan *p, char *err, size_t errlen)
{
    return open_rows(state, dest, true, p, err, errlen);
}

static int open_ndjson(void **state, const char *dest, const plan *p, char *err, size_t errlen)
{
    return open_rows(state, dest, false, p, err, errlen);
}

/* A name as a CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break) or a
 * JSON string. */
static void name(FILE *f, bool csv, const char *s)
{
    s = redact_str(s);
    if (csv) {
        if (!strpbrk(s, ",\"\r\n")) {
            fputs(s, f);
            return;
        }
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
        return;
    }
    report_json_str(f, s); /* redacts again: a redacted text has nothing left to hide */
}

static const char *const fail_keys[METRICS_NFAIL] = {
    "fail_connect", "fail_timeout", "fail_reset", "fail_tls",
    "fail_parse",   "fail_status",  "fail_check",
};

typedef struct row {
    double t;
    const char *scenario, *step;
    uint64_t ok, failed, dropped;
    const uint64_t *fail;
    double span;
    const hist *lat;
    bool gauges; /* a scenario's row */
    uint64_t vus, conns, queued;
    const hist *late;
    uint64_t cstep; /* ceiling: the step under way; 0: none */
    const metrics_ws *ws; /* its WebSocket sessions, or NULL */
} row;

static void ms_field(FILE *f, bool csv, const char *key, const hist *h, double p)
{
    if (!csv)
        fprintf(f, ", \"%s\": ", key);
    else
        fputc(',', f);
    if (!h || hist_count(h) == 0)
        fputs(csv ? "" : "null", f);
    else
        fprintf(f, "%.3f", (double)(p >= 100 ? hist_max(h) : hist_value_at(h, p)) / 1e3);
}

static void ws_fields(FILE *f, bool csv, const metrics_ws *w)
{
    static const char *const keys[] = {"ws_sessions", "ws_msgs_sent", "ws_msgs_received",
                                       "ws_replied", "ws_timed_out"};
    uint64_t v[] = {w ? w->c.sessions : 0, w ? w->c.msgs_sent : 0, w ? w->c.msgs_received : 0,
                    w ? w->c.replied : 0, w ? w->c.timed_out : 0};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (csv && w)
            fprintf(f, ",%" PRIu64, v[i]);
        else if (csv)
            fputc(',', f);
        else if (w)
            fprintf(f, ", \"%s\": %" PRIu64, keys[i], v[i]);
        else
            fprintf(f, ", \"%s\": null", keys[i]);
    }
    if (w)
        ms_field(f, csv, "ws_msg_latency_p99_ms", w->msg_latency, 99);
    else
        fputs(csv ? "," : ", \"ws_msg_latency_p99_ms\": null", f);
}

static void put_row(rows *r, const row *w)
{
    FILE *f = r->o.f;
    bool csv = r->csv;
    uint64_t req = w->ok + w->failed;
    double rate = w->span > 0 ? (double)req / w->span : 0;
    if (csv) {
        fprintf(f, "%.3f,", w->t);
        name(f, true, w->scenario);
        fputc(',', f);
        if (w->step)
            name(f, true, w->step);
        fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, req, w->ok, w->failed);
        for (int i = 0; i < METRICS_NFAIL; i++)
            fprintf(f, ",%" PRIu64, w->fail[i]);
        if (w->gauges)
            fprintf(f, ",%" PRIu64, w->dropped);
        else
            fputc(',', f);
        fprintf(f, ",%.3f", rate);
    } else {
        fprintf(f, "{\"t_s\": %.3f, \"scenario\": ", w->t);
        name(f, false, w->scenario);
        fprintf(f, ", \"step\": ");
        if (w->step)
            name(f, false, w->step);
        else
            fputs("null", f);
        fprintf(f, ", \"requests\": %" PRIu64 ", \"ok\": %" PRIu64 ", \"failed\": %" PRIu64, req,
                w->ok, w->failed);
        for (int i = 0; i < METRICS_NFAIL; i++)
            fprintf(f, ", \"%s\": %" PRIu64, fail_keys[i], w->fail[i]);
        if (w->gauges)
            fprintf(f, ", \"dropped\": %" PRIu64, w->dropped);
        else
            fputs(", \"dropped\": null", f);
        fprintf(f, ", \"rate\": %.3f", rate);
    }
    ms_field(f, csv, "latency_p50_ms", w->lat, 50);
    ms_field(f, csv, "latency_p90_ms", w->lat, 90);
    ms_field(f, csv, "latency_p99_ms", w->lat, 99);
    ms_field(f, csv, "latency_max_ms", w->lat, 100);
    if (w->gauges) {
        if (csv)
            fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, w->vus, w->conns, w->queued);
        else
            fprintf(f,
                    ", \"vus_active\": %" PRIu64 ", \"conns_open\": %" PRIu64
                    ", \"queued\": %" PRIu64,
                    w->vus, w->conns, w->queued);
        ms_field(f, csv, "send_lateness_p99_ms", w->late, 99);
    } else {
        fputs(csv ? ",,,," : ", \"vus_active\": null, \"conns_open\": null, \"queued\": null, "
                             "\"send_lateness_p99_ms\": null",
              f);
    }
    if (r->ceiling) {
        if (csv && w->cstep)
            fprintf(f, ",%" PRIu64, w->cstep);
        else if (csv)
            fputc(',', f);
        else if (w->cstep)
            fprintf(f, ", \"ceiling_step\": %" PRIu64, w->cstep);
        else
            fputs(", \"ceiling_step\": null", f);
    }
    if (r->ws)
        ws_fields(f, csv, w->ws);
    fputs(csv ? "\r\n" : "}\n", f);
    r->rows++;
}

static void interval(void *state, const report_run *sec, const report_run *cum, double t_s,
                     bool final)
{
    rows *r = state;
    (void)cum;
    (void)final;
    if (!sec)
        return;
    if (r->csv && !r->header_done) {
        fprintf(r->o.f, "%s%s%s\r\n", columns, r->ceiling ? ",ceiling_step" : "",
                r->ws ? ws_columns : "");
        r->header_done = true;
    }
    for (size_t i = 0; i < sec->nsc; i++) {
        const report_scenario *rs = &sec->sc[i];
        const metrics_rec *m = rs->m;
        uint64_t cstep = rs->s->ctl ? ceiling_step_at(rs->s->ctl, t_s - sec->duration_s) : 0;
        if (rs->window_s <= 0 && m->c.ok + m->c.failed + m->c.dropped == 0)
            continue; /* not started yet, or over: no row */
        row w = {.t = t_s,
                 .scenario = rs->s->name,
                 .ok = m->c.ok,
                 .failed = m->c.failed,
                 .dropped = m->it.dropped,
                 .fail = m->c.fail,
                 .span = sec->duration_s,
                 .lat = m->latency,
                 .gauges = true,
                 .vus = m->g.vus_active,
                 .conns = m->c.conns_open,
                 .queued = m->g.queued,
                 .late = m->lateness,
                 .cstep = cstep,
                 .ws = m->ws};
        put_row(r, &w);
        for (size_t j = 0; j < rs->s->nsteps; j++) {
            const metrics_step *ms = &m->steps[j];
            row sw = {.t = t_s,
                      .scenario = rs->s->name,
                      .step = rs->s->steps[j].name,
                      .ok = ms->ok,
                      .failed = ms->failed,
                      .fail = ms->fail,
                      .span = sec->duration_s,
                      .lat = ms->latency,
                      .cstep = cstep,
                      .ws = ms->ws};
            put_row(r, &sw);
        }
    }
}

static int finish(void *state, const report_run *run, char *err, size_t errlen)
{
    rows *r = state;
    (void)run;
    if (r->csv && !r->header_done) /* a run shorter than a tick: the header alone */
        fprintf(r->o.f, "%s%s%s\r\n", columns, r->ceiling ? ",ceiling_step" : "",
                r->ws ? ws_columns : "");
    int rc = files_out_close(&r->o, err, errlen);
    free(r);
    return rc;
}

static void discard(void *state)
{
    rows *r = state;
    files_out_discard(&r->o);
    free(r);
}

const series_kind series_csv = {"csv", open_csv, interval, finish, discard};
const series_kind series_ndjson = {"ndjson", open_ndjson, interval, finish, discard};
