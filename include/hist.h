/* hist: an HDR-style log-linear histogram of non-negative integer values.
 *
 * Values in [0, highest] are kept with `sigfigs` significant decimal digits: a recorded value v
 * lands in a bucket whose width is at most v / 10^sigfigs (rounded to a power of two, as
 * HdrHistogram does), so any percentile read back is within that relative error of the exact
 * one. blast records microseconds with highest = 1 h and sigfigs = 3.
 *
 * Recording is O(1), never allocates and never fails: values above `highest` are clamped to it
 * (and still counted). One histogram belongs to one thread; merge copies to combine them. */
#ifndef BLAST_HIST_H
#define BLAST_HIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct hist hist;

/* Creates an empty histogram for values 0..highest (highest >= 2) with sigfigs in 1..5. Its
 * counts take memory (resident pages) only where values land.
 * Returns 0 and stores it in *out (the caller owns it: hist_free), -EINVAL on bad arguments,
 * -ENOMEM. */
int hist_init(hist **out, uint64_t highest, int sigfigs);

/* Frees a histogram; NULL is accepted. */
void hist_free(hist *h);

/* Empties h, keeping its layout. */
void hist_reset(hist *h);

/* Records `count` occurrences of `value`. Hot path: no allocation, no failure. */
void hist_record_n(hist *h, uint64_t value, uint64_t count);
static inline void hist_record(hist *h, uint64_t value);

/* Adds every count of src into dst. Both must have the same sigfigs and src's range must fit in
 * dst's (src highest <= dst highest): returns 0, or -EINVAL (dst unchanged) otherwise. */
int hist_merge(hist *dst, const hist *src);

/* Makes dst an exact copy of src (counts, total, sum, min, max), sparse or dense as src is.
 * Both must have the same layout (highest and sigfigs): returns 0, or -EINVAL (dst unchanged).
 * Never allocates: a dense copy is a memcpy of the slots between src's min and max, and only
 * dst's slots outside them that it used before are cleared, so pages stay untouched where
 * neither has values. */
int hist_copy(hist *dst, const hist *src);

/* Subtracts src from dst, slot by slot: dst -= src, for src an earlier state of dst (or any
 * histogram of the same layout whose every slot count is at most dst's). Returns 0, or -EINVAL
 * (dst unchanged) when the layouts differ or some slot of src holds more than dst's. The count
 * and the sum (so the mean) of the difference are exact; its min and max are the bounds of its
 * lowest and highest nonzero slots, clamped to dst's former min and max (exact below
 * 2 * 10^sigfigs, else within the histogram's relative error). */
int hist_sub(hist *dst, const hist *src);

/* Number of recorded values. */
uint64_t hist_count(const hist *h);

/* Exact smallest / largest recorded value (after clamping); 0 when empty. */
uint64_t hist_min(const hist *h);
uint64_t hist_max(const hist *h);

/* Exact arithmetic mean of the recorded values (from a running sum); 0 when empty. */
double hist_mean(const hist *h);

/* The highest value the histogram keeps (larger ones are clamped to it). */
uint64_t hist_highest(const hist *h);

/* Value at percentile p (0 <= p <= 100): the smallest bucket such that at least p% of the values
 * are at or below it, reported as the middle of that bucket, clamped to [min, max].
 * p = 0 gives min, p = 100 gives max; 0 when empty. */
uint64_t hist_value_at(const hist *h, double p);

/* Calls fn for every slot that holds values, in increasing order: the slot's smallest value,
 * its width (every value in [lowest, lowest + width) lands in it) and its count. Recording
 * `count` times `lowest` into an empty histogram of the same sigfigs rebuilds these counts. */
typedef void (*hist_slot_fn)(void *ctx, uint64_t lowest, uint64_t width, uint64_t count);
void hist_foreach(const hist *h, hist_slot_fn fn, void *ctx);

int hist_sigfigs(const hist *h);

/* The exact sum of the recorded values (as a long double: exact below 2^64). */
long double hist_sum(const hist *h);

/* After a histogram was rebuilt from another's slots (hist_foreach's lowest values, recorded
 * count times each): sets the exact min, max and sum the other one had, which the slots alone
 * do not hold. Returns 0, or -EINVAL (h unchanged) when h is empty or they cannot be its: min or
 * max outside the slot of h's own, sum outside [min, max] x count. */
int hist_restore(hist *h, uint64_t min, uint64_t max, long double sum);

static inline void hist_record(hist *h, uint64_t value)
{
    hist_record_n(h, value, 1);
}

#endif
