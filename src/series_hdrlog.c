/* series_hdrlog: the `hdrlog` time series (see series.h): an HdrHistogram interval log (format
 * version 1.3), one line a second (and one for the last part of a second) per tag, for every
 * scenario under way: `SCENARIO.latency` and `SCENARIO.service` (the scenario's corrected
 * latency and service time over all its steps), then `SCENARIO.STEP.latency` and
 * `SCENARIO.STEP.service` for each step, and for a WebSocket step `SCENARIO.STEP.ws_msg_latency`
 * (message latency, corrected: from its intended send to its expected reply). A ceiling search's scenario is tagged with the step of
 * the search each second belongs to, `SCENARIO@ceiling-N.latency` and so on, so each step's
 * intervals read as a series of their own. Values are ns (blast's µs x 1000), so HdrHistogram's
 * readers show ms with their default unit ratio of 1e6; a line's max column is in ms.
 *
 * Names are redacted, and every byte of a tag that HdrHistogram's reader would split on or
 * that is not printable (a comma, a space, a control byte such as a line break, DEL) becomes
 * `_`. Written through files_out: a file appears complete when the run ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ceiling.h"
#include "files.h"
#include "hdrlog.h"
#include "redact.h"
#include "series.h"
#include "version.h"

typedef struct hlog {
    files_out o;
    bool header_done;
    hdrlog_enc enc;
    int err; /* the first encoding error (the output is then discarded at the end) */
} hlog;

static int open_hdrlog(void **state, const char *dest, const plan *p, char *err, size_t errlen)
{
    (void)p;
    hlog *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = files_out_open(&l->o, dest, err, errlen);
    if (rc < 0) {
        free(l);
        return rc;
    }
    *state = l;
    return 0;
}

/* The header, with the run's start (t_s seconds before now) as StartTime and BaseTime: the
 * lines' times are seconds since then. */
static void header(hlog *l, double t_s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double start = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t_s;
    time_t secs = (time_t)start;
    struct tm tm;
    char date[64] = "";
    if (gmtime_r(&secs, &tm))
        strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &tm);
    FILE *f = l->o.f;
    fprintf(f, "#[Logged with blast %s]\n", BLAST_VERSION);
    fprintf(f, "#[Histogram log format version 1.3]\n");
    fprintf(f, "#[StartTime: %.3f (seconds since epoch), %s]\n", start, date);
    fprintf(f, "#[BaseTime: %.3f (seconds since epoch)]\n", start);
    fprintf(f, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
               "\"Interval_Compressed_Histogram\"\n");
    l->header_done = true;
}

static void tag_part(FILE *f, const char *s)
{
    for (s = redact_str(s); *s; s++) {
        unsigned char ch = (unsigned char)*s;
        fputc(ch <= ' ' || ch == ',' || ch == 0x7f ? '_' : ch, f);
    }
}

static void line(hlog *l, const char *scenario, uint64_t cstep, const char *step,
                 const char *what, const hist *h, double start, double len)
{
    if (!h)
        return;
    const char *text;
    int rc = hdrlog_encode(&l->enc, h, &text);
    if (rc < 0) {
        if (!l->err)
            l->err = rc;
        return;
    }
    FILE *f = l->o.f;
    fputs("Tag=", f);
    tag_part(f, scenario);
    if (cstep)
        fprintf(f, "@ceiling-%llu", (unsigned long long)cstep);
    if (step) {
        fputc('.', f);
        tag_part(f, step);
    }
    fprintf(f, ".%s,%.3f,%.3f,%.3f,%s\n", what, start, len, (double)hist_max(h) / 1e3, text);
}

static void interval(void *state, const report_run *sec, const report_run *cum, double t_s,
                     bool final)
{
    hlog *l = state;
    (void)cum;
    (void) final;
    if (!sec)
        return;
    if (!l->header_done)
        header(l, t_s);
    double len = sec->duration_s, start = t_s - len;
    if (start < 0)
        start = 0;
    for (size_t i = 0; i < sec->nsc; i++) {
        const report_scenario *rs = &sec->sc[i];
        const metrics_rec *m = rs->m;
        if (rs->window_s <= 0 && m->c.ok + m->c.failed + m->c.dropped == 0)
            continue; /* not started yet, or over: no line */
        const char *name = rs->s->name;
        uint64_t cs = rs->s->ctl ? ceiling_step_at(rs->s->ctl, start) : 0;
        line(l, name, cs, NULL, "latency", m->latency, start, len);
        line(l, name, cs, NULL, "service", m->service, start, len);
        for (size_t j = 0; j < rs->s->nsteps && j < m->nsteps; j++) {
            const char *step = rs->s->steps[j].name;
            line(l, name, cs, step, "latency", m->steps[j].latency, start, len);
            line(l, name, cs, step, "service", m->steps[j].service, start, len);
            if (m->steps[j].ws)
                line(l, name, cs, step, "ws_msg_latency", m->steps[j].ws->msg_latency, start,
                     len);
        }
    }
}

static void hlog_free(hlog *l)
{
    hdrlog_enc_free(&l->enc);
    free(l);
}

static int finish(void *state, const report_run *run, char *err, size_t errlen)
{
    hlog *l = state;
    (void)run;
    if (l->err) {
        snprintf(err, errlen, "could not encode a histogram: %s", strerror(-l->err));
        int rc = l->err;
        files_out_discard(&l->o);
        hlog_free(l);
        return rc;
    }
    if (!l->header_done) /* a run shorter than a tick: the header alone */
        header(l, 0);
    int rc = files_out_close(&l->o, err, errlen);
    hlog_free(l);
    return rc;
}

static void discard(void *state)
{
    hlog *l = state;
    files_out_discard(&l->o);
    hlog_free(l);
}

const series_kind series_hdrlog = {"hdrlog", open_hdrlog, interval, finish, discard};
