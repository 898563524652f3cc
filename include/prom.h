/* prom: the Prometheus view of a run, shared by the scrape endpoint (src/series_prom.c) and
 * remote write (src/series_promrw.c): k6's metric names and labels (k6_http_reqs_total,
 * k6_http_req_duration_p99, ...; see README.md, "Prometheus"), walked as samples
 * (prom_visit), written as text format 0.0.4 (prom_text) or encoded as a remote-write 1.0
 * WriteRequest (prom_pb_*, src/prom_pb.c). Nothing here keeps state between calls except the
 * run's test id. */
#ifndef BLAST_PROM_H
#define BLAST_PROM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

typedef enum { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM } prom_type;

typedef struct prom_family {
    const char *name; /* k6_http_reqs_total, ... */
    prom_type type;
    const char *help;
} prom_family;

typedef struct prom_label {
    const char *name, *value;
} prom_label;

/* One sample: its family, the suffix of its name after the family's ("" but for a histogram's
 * "_bucket", "_sum", "_count"), its labels sorted by name (none repeated; a value may be ""
 * when a name is empty) and its value. */
typedef void (*prom_sample_fn)(void *ctx, const prom_family *f, const char *suffix,
                               const prom_label *labels, size_t nlabels, double value);

/* Calls fn for every sample of run (cumulative counts, trends of the whole run so far), family
 * after family: a family's samples are contiguous, and a histogram series gives its buckets
 * (rising le, ending "+Inf"), then _sum, then _count. testid is every sample's testid label. */
void prom_visit(const report_run *run, const char *testid, prom_sample_fn fn, void *ctx);

/* Writes run in the text exposition format 0.0.4 (# HELP and # TYPE before each family).
 * Returns 0 or -EIO. */
int prom_text(FILE *f, const report_run *run, const char *testid);

/* The run's test id: $BLAST_TESTID when set and not empty, else "blast-<unix seconds>" of the
 * first call (the same for every output of the run). Not thread-safe: call from the main
 * thread (the opens). */
const char *prom_testid(void);

/* Splits dest, "[HOST:]PORT" or "[V6]:PORT", into host and port (a port alone: 127.0.0.1). An
 * empty host (":PORT") is refused: listening on every interface is asked for by name
 * (0.0.0.0:PORT). Returns 0, or -EINVAL with the reason in err. */
int prom_split_addr(const char *dest, char *host, size_t hostlen, char *port, size_t portlen,
                    char *err, size_t errlen);

/* Starts fn(arg) in a thread that takes no signals (they stay the main thread's). Returns 0 or
 * a negative errno code. */
int prom_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* ---- remote write 1.0 (src/prom_pb.c) ---- */

/* A growing byte buffer; a failed allocation sets oom and drops what follows. */
typedef struct prom_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} prom_buf;

void prom_buf_free(prom_buf *b);

/* Appends one TimeSeries (one Label per label whose value is not empty, in the order given,
 * which the caller sorts by name with __name__ first; one Sample: value, ts_ms) to the
 * WriteRequest being built in b (a WriteRequest is its timeseries, field 1, one after the
 * other). */
void prom_pb_series(prom_buf *b, const prom_label *labels, size_t nlabels, double value,
                    int64_t ts_ms);

/* Encodes every sample of run (prom_visit, with __name__) as a WriteRequest into b, each with
 * the timestamp ts_ms. Returns how many series it holds. */
size_t prom_pb_run(prom_buf *b, const report_run *run, const char *testid, int64_t ts_ms);

/* Snappy block format (not framed) of in, as remote write sends it. Returns 0 and a malloc'd
 * *out (the caller frees it) of *outlen bytes, or -ENOMEM. */
int prom_snappy(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen);

#endif
