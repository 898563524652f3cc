/* merge: `blast merge SEG.json... -c FILE`: the JSON results of the segments of one run
 * (`--segment i/n` on n load boxes) read back and made one run again, exactly: counters added,
 * histograms rebuilt slot by slot (each slot's count recorded at its lowest value into a fresh
 * histogram of the same precision, with the exact min, max and sum restored), then judged as a
 * whole (every threshold and the offered-load check of the plan FILE describes) and written as
 * any run is (the text summary, --out documents). Not hot path: it allocates freely. */
#ifndef BLAST_MERGE_H
#define BLAST_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef struct merge_args {
    const char *const *files; /* the segments' JSON files (every one of 1/N .. N/N, once) */
    size_t nfiles;
    const char *config;                      /* -c FILE: the scenario file the segments ran */
    const config_overrides *ov;              /* -e, -p, -d, -r, -u, -s as the segments had them */
    const char *const *okind, *const *odest; /* --out KIND=FILE (end-of-run kinds only) */
    size_t nout;
    bool quiet; /* no text summary */
} merge_args;

/* Runs the merge. Returns the exit code: 0 the merged run passes its gates, 99 it fails them,
 * 2 bad usage or files (missing, duplicate or foreign segments; one line on stderr names the
 * file and the reason), 3 an output could not be opened, 5 one could not be written. */
int merge_run(const merge_args *a);

#endif
