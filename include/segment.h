/* segment: a run split over load boxes. `--segment i/n` runs the i-th of n exact shares of every
 * scenario (the arithmetic is plan.c's: plan_share_of, plan_share_index, plan_data_row); this
 * file owns the command-line forms (i/n, auto/n from a Kubernetes Indexed Job's
 * JOB_COMPLETION_INDEX, --start-at) and the plan's fingerprint, which `blast merge` uses to
 * refuse results of different runs. */
#ifndef BLAST_SEGMENT_H
#define BLAST_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* The most --start-at may lie from now, either way. */
#define SEGMENT_START_MAX_NS (3600ull * 1000000000ull)

/* Parses "I/N" (1 <= I <= N <= CONFIG_MAX_SEGMENTS, 1-based as written) or "auto/N", where I is
 * job_index + 1 (job_index: JOB_COMPLETION_INDEX's value, 0-based; NULL when unset). Returns 0
 * with *index (0-based) and *count, or -EINVAL with a one-line reason in err. */
int segment_parse(const char *arg, const char *job_index, uint32_t *index, uint32_t *count,
                  char *err, size_t errlen);

/* Parses --start-at: Unix seconds (`1767225600`, fractions allowed) or RFC 3339
 * (`2026-01-01T00:00:00Z`, `...T01:00:00.5+01:00`) into Unix ns in *out. A time more than
 * SEGMENT_START_MAX_NS from now_ns (Unix ns) is refused. Returns 0 or -EINVAL (reason in err). */
int segment_start_at(const char *arg, int64_t now_ns, int64_t *out, char *err, size_t errlen);

/* The fingerprint of a plan read from text[0..len): sha256 (64 hex digits and a NUL into out) of
 * the file's text, the profile, and each scenario's name, executor, target host and port, and
 * the numbers its schedule is made of (rate, VUs, iterations, duration, start time, stages)
 * after the command-line overrides, but not --segment, --workers or outputs: every segment of one
 * run has the same fingerprint. */
void segment_fingerprint(const plan *p, const char *text, size_t len, char out[65]);

#endif
