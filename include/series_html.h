/* series_html: the parts of the `html` time-series kind (src/series_html.c) that are worth
 * testing alone: the escaping of text into the page and the bounded list of points a scenario
 * keeps over the run. */
#ifndef BLAST_SERIES_HTML_H
#define BLAST_SERIES_HTML_H

#include <stdint.h>
#include <stdio.h>

/* Most points a scenario keeps; when full, neighbours are merged pairwise. */
#define HTML_MAX_POINTS 3600

/* One plotted point over time: what the seconds it covers add up to. */
typedef struct html_point {
    double t;  /* end of the interval it covers, seconds since the start */
    double dt; /* its length in seconds */
    uint64_t req, failed;
    double p99_ms;  /* the worst p99 of the seconds it covers; < 0: no request completed */
    unsigned ticks; /* intervals (seconds) it covers */
} html_point;

typedef struct html_series html_series;

/* An empty list (NULL when out of memory); html_series_free frees it (NULL accepted). */
html_series *html_series_new(void);
void html_series_free(html_series *s);

/* Adds one interval. Never fails: when the list is full it is halved (points 2k and 2k+1
 * become one), and from then on each point covers twice as many intervals as before, so the
 * list never holds more than HTML_MAX_POINTS and every point but the last covers as many. */
void html_series_add(html_series *s, double t, double dt, uint64_t req, uint64_t failed,
                     double p99_ms);

/* The points in order of time (the interval still being accumulated included, as the last
 * one); valid until the next add. Returns how many. */
size_t html_series_points(html_series *s, const html_point **pt);

/* Writes s (redacted) as HTML text, safe in an element and in a quoted attribute: & < > " '
 * as character references, control bytes as blanks, bytes that are not UTF-8 as U+FFFD. */
void html_esc(FILE *f, const char *s);

#endif
