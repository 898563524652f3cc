/* series: the table of time-series kinds and the set of a run's open ones (see series.h). */
#include "series.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const series_kind *const kinds[] = {
    &series_csv,
    &series_ndjson,
    &series_html,
    &series_hdrlog,
    &series_prom,
    &series_promrw,
};

#define NKINDS (sizeof kinds / sizeof kinds[0])
#define MAX_OPEN 16

const series_kind *series_kind_find(const char *name)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const char *series_kind_names(void)
{
    static char names[256];
    if (!names[0])
        for (size_t i = 0; i < NKINDS; i++) {
            if (i)
                strcat(names, ", ");
            strcat(names, kinds[i]->name);
        }
    return names;
}

struct series_set {
    struct {
        const series_kind *k;
        void *state;
        const char *dest;
    } o[MAX_OPEN];
    size_t n;
};

series_set *series_set_new(void)
{
    return calloc(1, sizeof(series_set));
}

int series_set_open(series_set *s, const series_kind *k, const char *dest, const plan *p,
                    char *err, size_t errlen)
{
    if (s->n == MAX_OPEN) {
        snprintf(err, errlen, "more than %d time-series outputs", MAX_OPEN);
        return -E2BIG;
    }
    void *state = NULL;
    int rc = k->open(&state, dest, p, err, errlen);
    if (rc < 0)
        return rc;
    s->o[s->n].k = k;
    s->o[s->n].state = state;
    s->o[s->n].dest = dest;
    s->n++;
    return 0;
}

bool series_set_empty(const series_set *s)
{
    return !s || s->n == 0;
}

void series_set_interval(void *ctx, const report_run *sec, const report_run *cum, double t_s,
                         bool final)
{
    series_set *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        s->o[i].k->interval(s->o[i].state, sec, cum, t_s, final);
}

int series_set_finish(series_set *s, const report_run *run, char *err, size_t errlen)
{
    int first = 0;
    for (size_t i = 0; s && i < s->n; i++) {
        char why[512] = "";
        int rc = s->o[i].k->finish(s->o[i].state, run, why, sizeof why);
        s->o[i].state = NULL;
        if (rc < 0 && first == 0) {
            first = rc;
            snprintf(err, errlen, "%s=%s: %s", s->o[i].k->name, s->o[i].dest, why);
        }
    }
    if (s)
        s->n = 0;
    return first;
}

void series_set_free(series_set *s)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->o[i].state)
            s->o[i].k->discard(s->o[i].state);
    free(s);
}
