/* outputs: the table of end-of-run --out kinds (see report.h) and a run's set of outputs of
 * both sorts (see outputs.h). One row per format; each writer lives in a file of its own
 * (report_json.c, series_rows.c, ...). */
#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

static const report_kind kinds[] = {
    {"json", report_json},
    {"junit", report_junit},
    {"k6-summary", report_k6},
    {"markdown", report_md},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

const report_kind *report_kind_find(const char *name)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

const char *report_kind_names(void)
{
    static char names[256];
    if (!names[0])
        for (size_t i = 0; i < NKINDS; i++) {
            if (i)
                strcat(names, ", ");
            strcat(names, kinds[i].name);
        }
    return names;
}

bool outputs_kind_known(const char *name)
{
    return report_kind_find(name) || series_kind_find(name);
}

const char *outputs_kind_names(void)
{
    static char names[512];
    if (!names[0])
        snprintf(names, sizeof names, "%s, %s", report_kind_names(), series_kind_names());
    return names;
}

struct outputs {
    struct {
        const char *kind, *dest;
        const report_kind *rk; /* an end-of-run document, or */
        const series_kind *sk; /* a time series (opened into the series set) */
        files_out f;
        bool open;
    } o[OUTPUTS_MAX];
    size_t n;
    series_set *series;
};

outputs *outputs_new(void)
{
    outputs *o = calloc(1, sizeof *o);
    if (o && !(o->series = series_set_new())) {
        free(o);
        return NULL;
    }
    return o;
}

int outputs_add(outputs *o, const char *kind, const char *dest)
{
    if (!outputs_kind_known(kind))
        return -EINVAL;
    if (o->n == OUTPUTS_MAX)
        return -E2BIG;
    o->o[o->n].kind = kind;
    o->o[o->n].dest = dest;
    o->o[o->n].rk = report_kind_find(kind);
    o->o[o->n].sk = o->o[o->n].rk ? NULL : series_kind_find(kind);
    o->n++;
    return 0;
}

int outputs_open(outputs *o, const plan *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < o->n; i++) {
        char why[1024];
        int rc = o->o[i].rk ? files_out_open(&o->o[i].f, o->o[i].dest, why, sizeof why)
                            : series_set_open(o->series, o->o[i].sk, o->o[i].dest, p, why,
                                              sizeof why);
        if (rc < 0) {
            snprintf(err, errlen, "%s=%s: %s", o->o[i].kind, o->o[i].dest, why);
            return rc;
        }
        o->o[i].open = o->o[i].rk != NULL;
    }
    return 0;
}

series_set *outputs_series(outputs *o)
{
    return series_set_empty(o->series) ? NULL : o->series;
}

int outputs_finish(outputs *o, const report_run *run,
                   void (*say)(const char *fmt, ...) __attribute__((format(printf, 1, 2))))
{
    int status = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (!o->o[i].open)
            continue;
        int wrc = o->o[i].rk->write(o->o[i].f.f, run);
        char why[256];
        bool closed = files_out_close(&o->o[i].f, why, sizeof why) == 0;
        o->o[i].open = false;
        if (!closed || wrc < 0) {
            say("--out %s=%s: not written: %s", o->o[i].kind, o->o[i].dest,
                closed ? "write error" : why);
            status = -EIO;
        }
    }
    char why[1024];
    if (series_set_finish(o->series, run, why, sizeof why) < 0) {
        say("--out %s", why);
        status = -EIO;
    }
    return status;
}

void outputs_free(outputs *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        if (o->o[i].open)
            files_out_discard(&o->o[i].f);
    series_set_free(o->series);
    free(o);
}
