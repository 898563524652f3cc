/* outputs: a run's --out destinations and [global] out lines, of both sorts: documents written
 * once at the end (report.h's kinds: json, junit, ...) and time series fed once a second
 * (series.h's kinds: csv, ndjson, ...). All are checked and opened before any load is sent. */
#ifndef BLAST_OUTPUTS_H
#define BLAST_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"
#include "series.h"

#define OUTPUTS_MAX 24

typedef struct outputs outputs;

/* An empty set, or NULL when out of memory. */
outputs *outputs_new(void);

/* Whether name is a kind of either sort. "json, junit, ..., csv, ndjson": every kind. */
bool outputs_kind_known(const char *name);
const char *outputs_kind_names(void);

/* Adds KIND=DEST (both kept as pointers: they must outlive the set). Returns 0, -EINVAL (an
 * unknown kind) or -E2BIG (more than OUTPUTS_MAX). */
int outputs_add(outputs *o, const char *kind, const char *dest);

/* Checks and opens every destination, in order; the first that fails closes the others and
 * returns its code with "KIND=DEST: reason" in err. */
int outputs_open(outputs *o, const plan *p, char *err, size_t errlen);

/* The time series of the set, for run_set_series (NULL when it has none). */
series_set *outputs_series(outputs *o);

/* Writes and closes every output from the final results. Returns 0, or -EIO after reporting
 * each that could not be written with say(fmt) ("--out KIND=DEST: not written: why"). */
int outputs_finish(outputs *o, const report_run *run,
                   void (*say)(const char *fmt, ...) __attribute__((format(printf, 1, 2))));

/* Abandons every output (the run did not start) and frees the set; NULL is accepted. */
void outputs_free(outputs *o);

#endif
