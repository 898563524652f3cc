/* progress: the live progress display on stderr while a run is under way (main thread).
 *
 * One line per scenario: its name, how far its window has come, the rate of the last second
 * (against the target of an arrival-rate scenario; a closed model shows its VUs instead), the
 * p99 of the last second's corrected latency, failures so far (count and share), VUs in an
 * iteration, open connections and, arrival-rate, arrivals waiting for a free VU. On a terminal
 * the lines are redrawn in place every second (ANSI cursor-up and clear-line, no colour) and
 * left showing the last state; elsewhere (CI logs) they are plain lines with no escape bytes,
 * printed every so many seconds. */
#ifndef BLAST_PROGRESS_H
#define BLAST_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "report.h"

typedef enum progress_mode {
    PROGRESS_OFF,
    PROGRESS_TTY,   /* redrawn in place */
    PROGRESS_PLAIN, /* appended lines */
} progress_mode;

/* Every this many seconds a plain progress block is printed (unless told otherwise). */
#define PROGRESS_PLAIN_EVERY_S 10

/* Formats scenario i's line into buf (NUL-terminated, cut at n - 1 bytes): cum is the run so far,
 * sec the last second (NULL: the rate and p99 are the whole run's, as in the final draw), elapsed_s the time since the run's start. bar:
 * with the [####......] bar (terminal). name_w pads the name to that width. Returns buf. */
char *progress_line(char *buf, size_t n, const report_run *cum, const report_run *sec, size_t i,
                    double elapsed_s, bool bar, int name_w);

/* Draws every scenario's line on f (sec as for progress_line). TTY: lines_drawn is how many lines the previous draw left
 * (0 the first time: they are printed below the cursor); cols the terminal width (lines are cut
 * to fit, so that each is one row; 0: no cut). PLAIN: each line prefixed with "blast: ". Returns
 * how many lines were drawn. */
size_t progress_draw(FILE *f, progress_mode mode, const report_run *cum, const report_run *sec,
                     double elapsed_s, size_t lines_drawn, int cols);

#endif
