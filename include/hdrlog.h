/* hdrlog: blast's histograms as HdrHistogram's "V2 compressed" histograms, the payload of an
 * HdrHistogram interval log line (the `hdrlog` time series, src/series_hdrlog.c).
 *
 * The HDR side has a fixed layout: values in nanoseconds, lowest discernible value 1, 3
 * significant digits (sub-bucket count 2048, unit magnitude 0), buckets doubling. blast's
 * histograms hold microseconds in their own slots; hdrlog_convert carries their counts over
 * into HDR slots so that the total and the max are exact and every count stays inside its blast
 * slot (see src/hdrlog.c for why a blast slot can cover two or three HDR slots).
 *
 * Everything here runs on the main thread, once a second per histogram: buffers grow as needed
 * and are kept from one histogram to the next. */
#ifndef BLAST_HDRLOG_H
#define BLAST_HDRLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

#define HDRLOG_DIGITS 3
#define HDRLOG_SUB_COUNT 2048u /* 2^ceil(log2(2 * 10^3)) */
#define HDRLOG_COOKIE 0x1c849313u
#define HDRLOG_COMPRESSED_COOKIE 0x1c849314u
#define HDRLOG_HEADER_LEN 40u /* cookie .. conversion ratio, before the payload */

/* ZigZag-encodes v and writes it as LEB128, HdrHistogram's way: 7 bits a byte, low first, at
 * most 9 bytes (the 9th carries 8 bits, no continuation flag). Returns the bytes written. */
size_t hdrlog_varint(uint8_t out[9], int64_t v);

/* The HDR counts index of a value (ns), and the inverse: slot i holds [*lowest, *lowest +
 * *width). */
size_t hdrlog_index(uint64_t v);
void hdrlog_slot(size_t i, uint64_t *lowest, uint64_t *width);

/* Receives HDR counts: count > 0, index never smaller than the last call's. */
typedef void (*hdrlog_count_fn)(void *ctx, size_t index, uint64_t count);

/* Carries h's counts (µs) over into HDR slots (ns = µs x 1000), in increasing index order. A
 * blast slot whose values fall in one HDR slot goes there whole; one that covers several is
 * split between them in proportion to how many of its µs values each holds (rounded so that
 * the parts add up to its count). The slots of h's min and max are first narrowed to
 * [min, ...] and [..., max], and the last HDR slot of a split always gets at least one count,
 * so the highest HDR slot used is exactly the one of 1000 x hist_max(h). */
void hdrlog_convert(const hist *h, hdrlog_count_fn fn, void *ctx);

/* The payload being built: every count from index 0 up to the last nonzero one, each as a
 * varint, a run of two or more zero counts as one varint of minus the run's length. */
typedef struct hdrlog_payload {
    uint8_t *buf; /* the bytes so far (buf[0 .. len)), the struct's own (hdrlog_payload_free) */
    size_t len, cap;
    size_t next; /* the first index not written yet */
    size_t idx;  /* the pending count's index, while pending */
    uint64_t cnt;
    bool pending;
    bool nomem; /* a byte could not be stored: the payload is incomplete */
} hdrlog_payload;

/* Empties p for a new histogram (keeps its buffer). */
void hdrlog_payload_reset(hdrlog_payload *p);
/* Adds count at index (an hdrlog_count_fn, ctx: the payload): counts at one index add up, a
 * smaller index than the last one's is ignored. */
void hdrlog_payload_add(void *ctx, size_t index, uint64_t count);
/* Writes the pending count; an empty histogram is one zero count (as HdrHistogram writes it).
 * Returns 0 or -ENOMEM. */
int hdrlog_payload_end(hdrlog_payload *p);
void hdrlog_payload_free(hdrlog_payload *p);

/* An encoder: its buffers, reused for every histogram. A zeroed struct is a valid start. */
typedef struct hdrlog_enc {
    hdrlog_payload pl;
    uint8_t *raw, *z;
    size_t raw_cap, z_cap;
    char *text;
    size_t text_cap;
} hdrlog_enc;

/* Encodes h as the base64 text of a V2 compressed histogram: the cookie 0x1c849314, the
 * length of a zlib stream (RFC 1950) and the stream, which holds the cookie 0x1c849313, the
 * payload length, normalizing index offset 0, 3 digits, lowest 1, highest 1000 x
 * hist_highest(h), conversion ratio 1.0 and the payload. Returns 0 with *text (NUL-terminated,
 * e's own, valid until the next call), -ENOMEM, or -EIO (zlib failed). */
int hdrlog_encode(hdrlog_enc *e, const hist *h, const char **text);

/* Frees e's buffers (e itself is the caller's); a zeroed e is accepted. */
void hdrlog_enc_free(hdrlog_enc *e);

#endif
