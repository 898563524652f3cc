/* series: the time-series outputs (--out KIND=DEST for csv, ndjson, ...): fed once a second
 * during the run with the last second and the run so far (run_set_series), and once at the end
 * with the final results. One file per kind (src/series_*.c); src/series.c holds their table and
 * fans each second out to every open one.
 *
 * Every kind's interval function runs on the main thread and only reads the views it is given
 * (snapshots, never live workers); it must not block for long (a network kind queues and sends
 * from its own thread, or drops and counts). */
#ifndef BLAST_SERIES_H
#define BLAST_SERIES_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

typedef struct series_kind {
    const char *name; /* as given to --out NAME=DEST and `out = NAME=DEST` */
    /* Before any load: checks and opens dest (a file through files_out_open, an address, ...).
     * Returns 0 and *state, or a negative errno-style code with a one-line reason in err. */
    int (*open)(void **state, const char *dest, const plan *p, char *err, size_t errlen);
    /* Once a second (and once more, final, for the part after the last tick): sec covers the
     * last second, cum the run so far; t_s is the end of sec in seconds since t0. */
    void (*interval)(void *state, const report_run *sec, const report_run *cum, double t_s,
                     bool final);
    /* After the run, with the final merged results (and verdict): writes what is left, closes
     * and frees state. Returns 0, or a negative code with the reason in err. */
    int (*finish)(void *state, const report_run *run, char *err, size_t errlen);
    /* Frees state without writing (the run never started, or setup failed). */
    void (*discard)(void *state);
} series_kind;

/* The kind called name, or NULL; every kind's name, for messages ("csv, ndjson"). */
const series_kind *series_kind_find(const char *name);
const char *series_kind_names(void);

/* The open time-series outputs of a run. */
typedef struct series_set series_set;

/* An empty set (NULL when out of memory). */
series_set *series_set_new(void);
/* Opens one output into the set. Returns 0, or the kind's error (err says why). */
int series_set_open(series_set *s, const series_kind *k, const char *dest, const plan *p,
                    char *err, size_t errlen);
bool series_set_empty(const series_set *s);
/* The run_series_fn that feeds every output of the set (ctx: the set). */
void series_set_interval(void *ctx, const report_run *sec, const report_run *cum, double t_s,
                         bool final);
/* Finishes every output; returns 0, or the first error, with "KIND=DEST: reason" in err. */
int series_set_finish(series_set *s, const report_run *run, char *err, size_t errlen);
/* Discards every output and frees the set; NULL is accepted. */
void series_set_free(series_set *s);

/* ---- the row kinds (src/series_rows.c) ---- */
extern const series_kind series_csv, series_ndjson;

/* ---- the html page (src/series_html.c) ---- */
extern const series_kind series_html;

/* ---- the HdrHistogram interval log (src/series_hdrlog.c) ---- */
extern const series_kind series_hdrlog;

/* ---- Prometheus (src/series_prom.c: a scrape endpoint; src/series_promrw.c: remote write) ---- */
extern const series_kind series_prom, series_promrw;

#endif
