/* hist: owns struct hist, an HDR-style log-linear histogram (see include/hist.h).
 *
 * Layout. With S = sub_count = the next power of two >= 2 * 10^sigfigs and H = S / 2, bucket 0
 * holds the values 0..S-1 one per slot, and bucket b >= 1 holds [H << b, S << b) in H
 * slots of width 2^b. Bucket b's slots are counts[b * H + (v >> b)]: for b >= 1, v >> b lies in
 * [H, S), so the buckets sit back to back with no gaps and no unused halves. A slot is at most
 * 1 / H of its values wide, and a read-back value is the middle of its slot, so the relative error
 * is at most 1 / S <= 10^-sigfigs / 2. counts[] ends at the slot of `highest`, which every
 * recorded value is clamped to. The slot of a value depends on sigfigs only, so histograms with
 * the same sigfigs and different ranges merge slot by slot.
 *
 * Memory: counts[] lives apart from the header and is never memset (mem_lazy_alloc), so its
 * pages cost nothing until a value lands in them. Until HIST_SPARSE distinct slots have been
 * used, counts are kept in a small list inside the header instead (sparse mode), so a histogram
 * that sees few values (a quiet scenario or step, a rare TLS handshake) touches no page of
 * counts[] at all; the first value of a new slot beyond that moves the list into counts[] for
 * good (dense mode), after which recording is one branch more than a plain array. A recorder
 * per scenario, step and worker is then as cheap as the values it actually holds.
 *
 * Invariant: total == sum of the counts (sparse list or counts[], never both) == number of
 * recorded values; sum == sum of those values
 * (exact, 128 bits); when total > 0, min and max are the exact extremes; when total == 0,
 * min == UINT64_MAX and max == 0, so recording and merging need no "is it empty" branch.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "mem.h"

/* Distinct slots kept in the header before counts[] is used (see "Memory" above). */
#define HIST_SPARSE 32
/* hist_copy compares and copies counts[] in pieces of this many slots (a 4 KiB page). */
#define HIST_COPY_CHUNK 512

/* total counts at most 2^64 values, each below 2^64, so their sum stays below 2^128. A double
 * would round once the sum passes 2^53 (1e10 samples of 1e6 µs already do), and a uint64 sum
 * overflows at 1.8e19 (5e9 one-hour samples). */
__extension__ typedef unsigned __int128 hist_u128;

struct hist {
    uint64_t highest;
    int sigfigs;
    unsigned sub_mag;  /* log2(sub_count) */
    unsigned half_mag; /* log2(sub_count / 2) */
    uint64_t sub_mask; /* sub_count - 1: or-ing it in puts every small value in bucket 0 */
    size_t counts_len;
    uint64_t total;
    uint64_t min;
    uint64_t max;
    hist_u128 sum;
    uint64_t *counts;
    bool dense; /* counts[] holds the counts; else sp_idx/sp_cnt[0 .. nsp) do */
    uint32_t nsp;
    uint32_t sp_idx[HIST_SPARSE];
    uint64_t sp_cnt[HIST_SPARSE];
};

/* v | sub_mask has at least sub_mag bits, so clz is defined and the bucket is >= 0. */
static inline size_t hist_index(const hist *h, uint64_t v)
{
    unsigned b = 64 - (unsigned)__builtin_clzll(v | h->sub_mask) - h->sub_mag;
    return ((size_t)b << h->half_mag) + (size_t)(v >> b);
}

/* Smallest value of slot i, and the slot's width, inverting hist_index. */
static void hist_slot(const hist *h, size_t i, uint64_t *lowest, uint64_t *width)
{
    size_t q = i >> h->half_mag;

    if (q == 0) {
        *lowest = i;
        *width = 1;
        return;
    }
    unsigned b = (unsigned)q - 1;
    uint64_t half = (uint64_t)1 << h->half_mag;
    uint64_t sub = ((uint64_t)i & (half - 1)) + half;
    *lowest = sub << b;
    *width = (uint64_t)1 << b;
}

static void hist_clear(hist *h)
{
    /* Only the slots between the smallest and the largest value can be nonzero: clearing just
     * those keeps untouched pages untouched. A dense histogram stays dense. */
    h->nsp = 0;
    if (h->total && h->dense) {
        size_t lo = hist_index(h, h->min), hi = hist_index(h, h->max);
        memset(h->counts + lo, 0, (hi - lo + 1) * sizeof(h->counts[0]));
    }
    h->total = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->sum = 0;
}

int hist_init(hist **out, uint64_t highest, int sigfigs)
{
    if (!out || highest < 2 || sigfigs < 1 || sigfigs > 5)
        return -EINVAL;

    uint64_t largest = 2;
    for (int i = 0; i < sigfigs; i++)
        largest *= 10;
    unsigned sub_mag = 0;
    while (((uint64_t)1 << sub_mag) < largest)
        sub_mag++;

    hist layout = {
        .highest = highest,
        .sigfigs = sigfigs,
        .sub_mag = sub_mag,
        .half_mag = sub_mag - 1,
        .sub_mask = ((uint64_t)1 << sub_mag) - 1,
    };
    /* At most (64 - 18 + 2) * 2^17 slots (sigfigs 5, highest near 2^64): no size overflow. */
    layout.counts_len = hist_index(&layout, highest) + 1;

    hist *h = malloc(sizeof(*h));
    uint64_t *counts = mem_lazy_alloc(layout.counts_len * sizeof(uint64_t));
    if (!h || !counts) {
        free(h);
        mem_lazy_free(counts, layout.counts_len * sizeof(uint64_t));
        return -ENOMEM;
    }
    *h = layout;
    h->counts = counts;
    hist_clear(h);
    *out = h;
    return 0;
}

void hist_free(hist *h)
{
    if (!h)
        return;
    mem_lazy_free(h->counts, h->counts_len * sizeof(uint64_t));
    free(h);
}

void hist_reset(hist *h)
{
    hist_clear(h);
}

/* Moves the sparse list into counts[]. */
static void densify(hist *h)
{
    for (uint32_t i = 0; i < h->nsp; i++)
        h->counts[h->sp_idx[i]] += h->sp_cnt[i];
    h->nsp = 0;
    h->dense = true;
}

/* Adds count to slot i, in whichever form h keeps its counts. */
static void add_slot(hist *h, size_t i, uint64_t count)
{
    if (h->dense) {
        h->counts[i] += count;
        return;
    }
    for (uint32_t k = 0; k < h->nsp; k++)
        if (h->sp_idx[k] == i) {
            h->sp_cnt[k] += count;
            return;
        }
    if (h->nsp < HIST_SPARSE) {
        h->sp_idx[h->nsp] = (uint32_t)i;
        h->sp_cnt[h->nsp++] = count;
        return;
    }
    densify(h);
    h->counts[i] += count;
}

void hist_record_n(hist *h, uint64_t value, uint64_t count)
{
    /* Zero occurrences must not move min and max. */
    if (count == 0)
        return;
    if (value > h->highest)
        value = h->highest;
    size_t i = hist_index(h, value);
    if (__builtin_expect(h->dense, 1))
        h->counts[i] += count;
    else
        add_slot(h, i, count);
    h->total += count;
    h->sum += (hist_u128)value * count;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

int hist_merge(hist *dst, const hist *src)
{
    if (src->highest > dst->highest || dst->sigfigs != src->sigfigs)
        return -EINVAL;
    if (src->total == 0)
        return 0;
    /* Only src's nonzero slots are written, so dst's pages become resident only where values
     * are (reading src's untouched pages maps nothing). */
    if (!src->dense) {
        for (uint32_t k = 0; k < src->nsp; k++)
            add_slot(dst, src->sp_idx[k], src->sp_cnt[k]);
    } else {
        size_t hi = hist_index(src, src->max);
        for (size_t i = hist_index(src, src->min); i <= hi; i++)
            if (src->counts[i])
                add_slot(dst, i, src->counts[i]);
    }
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return 0;
}

static bool same_layout(const hist *a, const hist *b)
{
    return a->highest == b->highest && a->sigfigs == b->sigfigs;
}

/* Zeroes h's dense slots [lo, hi] that lie outside [keep_lo, keep_hi]. */
static void clear_outside(hist *h, size_t lo, size_t hi, size_t keep_lo, size_t keep_hi)
{
    if (keep_lo > keep_hi || hi < keep_lo || lo > keep_hi) {
        memset(h->counts + lo, 0, (hi - lo + 1) * sizeof(h->counts[0]));
        return;
    }
    if (lo < keep_lo)
        memset(h->counts + lo, 0, (keep_lo - lo) * sizeof(h->counts[0]));
    if (hi > keep_hi)
        memset(h->counts + keep_hi + 1, 0, (hi - keep_hi) * sizeof(h->counts[0]));
}

int hist_copy(hist *dst, const hist *src)
{
    if (!same_layout(dst, src))
        return -EINVAL;
    if (dst == src)
        return 0;
    /* The slots src may use: [slo, shi] when it is dense and holds values, none otherwise. */
    bool sdense = src->dense && src->total;
    size_t slo = sdense ? hist_index(src, src->min) : 1;
    size_t shi = sdense ? hist_index(src, src->max) : 0;
    /* dst's own dense slots outside what the copy overwrites go back to zero. A live recorder
     * only grows, so when dst is its previous copy this clears nothing. */
    if (dst->dense && dst->total)
        clear_outside(dst, hist_index(dst, dst->min), hist_index(dst, dst->max), slo, shi);
    /* Chunk by chunk, and only where they differ: a chunk src never wrote reads as zero
     * without becoming resident, so dst's stays untouched too (a copy costs about the memory
     * its source holds, not its span), and an unchanged chunk is not written again. */
    for (size_t i = slo; sdense && i <= shi;) {
        size_t end = (i / HIST_COPY_CHUNK + 1) * HIST_COPY_CHUNK; /* page-aligned pieces */
        size_t n = (end < shi + 1 ? end : shi + 1) - i;
        if (memcmp(dst->counts + i, src->counts + i, n * sizeof(dst->counts[0])) != 0)
            memcpy(dst->counts + i, src->counts + i, n * sizeof(dst->counts[0]));
        i += n;
    }
    /* A sparse src leaves dst sparse (its counts[] all zero now), whatever dst was before. */
    dst->dense = src->dense;
    dst->nsp = src->nsp;
    memcpy(dst->sp_idx, src->sp_idx, src->nsp * sizeof(src->sp_idx[0]));
    memcpy(dst->sp_cnt, src->sp_cnt, src->nsp * sizeof(src->sp_cnt[0]));
    dst->total = src->total;
    dst->sum = src->sum;
    dst->min = src->min;
    dst->max = src->max;
    return 0;
}

/* The count of slot i, in whichever form h keeps its counts. */
static uint64_t slot_count(const hist *h, size_t i)
{
    if (h->dense)
        return h->counts[i];
    for (uint32_t k = 0; k < h->nsp; k++)
        if (h->sp_idx[k] == i)
            return h->sp_cnt[k];
    return 0;
}

/* Takes count (at most what the slot holds) from slot i of h. */
static void take_slot(hist *h, size_t i, uint64_t count)
{
    if (h->dense) {
        h->counts[i] -= count;
        return;
    }
    for (uint32_t k = 0; k < h->nsp; k++)
        if (h->sp_idx[k] == i) {
            if ((h->sp_cnt[k] -= count) == 0) { /* an emptied entry leaves the list */
                h->sp_idx[k] = h->sp_idx[--h->nsp];
                h->sp_cnt[k] = h->sp_cnt[h->nsp];
            }
            return;
        }
}

int hist_sub(hist *dst, const hist *src)
{
    if (!same_layout(dst, src) || src->total > dst->total || src->sum > dst->sum)
        return -EINVAL;
    if (src->total == 0)
        return 0;
    if (src->min < dst->min || src->max > dst->max)
        return -EINVAL;
    size_t lo = hist_index(src, src->min), hi = hist_index(src, src->max);
    /* Check every slot first, so that a bad src leaves dst as it was. */
    if (src->dense) {
        for (size_t i = lo; i <= hi; i++)
            if (src->counts[i] && src->counts[i] > slot_count(dst, i))
                return -EINVAL;
        for (size_t i = lo; i <= hi; i++)
            if (src->counts[i])
                take_slot(dst, i, src->counts[i]);
    } else {
        for (uint32_t k = 0; k < src->nsp; k++)
            if (src->sp_cnt[k] > slot_count(dst, src->sp_idx[k]))
                return -EINVAL;
        for (uint32_t k = 0; k < src->nsp; k++)
            take_slot(dst, src->sp_idx[k], src->sp_cnt[k]);
    }
    uint64_t dmin = dst->min, dmax = dst->max;
    dst->total -= src->total;
    dst->sum -= src->sum;
    if (dst->total == 0) {
        dst->nsp = 0;
        dst->min = UINT64_MAX;
        dst->max = 0;
        return 0;
    }
    /* The new extremes: the lowest and highest slots still holding values, bounded by the old
     * exact extremes (a slot's edge may lie beyond them). */
    size_t first = SIZE_MAX, last = 0;
    if (dst->dense) {
        size_t dlo = hist_index(dst, dmin), dhi = hist_index(dst, dmax);
        for (size_t i = dlo; i <= dhi && first == SIZE_MAX; i++)
            if (dst->counts[i])
                first = i;
        for (size_t i = dhi; i >= first; i--)
            if (dst->counts[i]) {
                last = i;
                break;
            }
    } else {
        for (uint32_t k = 0; k < dst->nsp; k++) {
            if (dst->sp_idx[k] < first)
                first = dst->sp_idx[k];
            if (dst->sp_idx[k] > last)
                last = dst->sp_idx[k];
        }
    }
    uint64_t lowest, width;
    hist_slot(dst, first, &lowest, &width);
    dst->min = lowest > dmin ? lowest : dmin;
    hist_slot(dst, last, &lowest, &width);
    uint64_t top = lowest + width - 1;
    dst->max = top < dmax ? top : dmax;
    return 0;
}

uint64_t hist_highest(const hist *h)
{
    return h->highest;
}

uint64_t hist_count(const hist *h)
{
    return h->total;
}

uint64_t hist_min(const hist *h)
{
    return h->total ? h->min : 0;
}

uint64_t hist_max(const hist *h)
{
    return h->max;
}

double hist_mean(const hist *h)
{
    if (h->total == 0)
        return 0.0;
    return (double)((long double)h->sum / (long double)h->total);
}

long double hist_sum(const hist *h)
{
    return (long double)h->sum;
}

int hist_restore(hist *h, uint64_t min, uint64_t max, long double sum)
{
    /* the exact extremes lie in the slots of the rebuilt ones (their slots' lowest values) */
    if (h->total == 0 || min > max || max > h->highest || hist_index(h, min) != hist_index(h, h->min) ||
        hist_index(h, max) != hist_index(h, h->max) || !(sum >= 0) ||
        sum < (long double)min * h->total || sum > (long double)max * h->total)
        return -EINVAL;
    h->min = min;
    h->max = max;
    h->sum = (hist_u128)(sum + 0.5L);
    return 0;
}

uint64_t hist_value_at(const hist *h, double p)
{
    if (h->total == 0)
        return 0;
    /* !(p > 0) also sends NaN here rather than into the rank conversion below. */
    if (!(p > 0.0))
        return h->min;
    if (p >= 100.0)
        return h->max;

    /* The rank-th smallest value (1-based), the same definition as a sorted array's
     * [ceil(p / 100 * n) - 1]; the bound keeps rounding from stepping past the last value. */
    double r = ceil(p / 100.0 * (double)h->total);
    uint64_t rank = r < 1.0 ? 1 : (uint64_t)r;
    if (rank > h->total)
        rank = h->total;

    uint64_t seen = 0;
    size_t i = 0;
    if (h->dense) {
        for (; i < h->counts_len; i++) {
            seen += h->counts[i];
            if (seen >= rank)
                break;
        }
    } else {
        /* The sparse list in slot order (insertion sort of at most HIST_SPARSE entries). */
        uint32_t idx[HIST_SPARSE];
        uint64_t cnt[HIST_SPARSE];
        for (uint32_t k = 0; k < h->nsp; k++) {
            uint32_t j = k;
            for (; j > 0 && idx[j - 1] > h->sp_idx[k]; j--) {
                idx[j] = idx[j - 1];
                cnt[j] = cnt[j - 1];
            }
            idx[j] = h->sp_idx[k];
            cnt[j] = h->sp_cnt[k];
        }
        for (uint32_t k = 0; k < h->nsp; k++) {
            i = idx[k];
            seen += cnt[k];
            if (seen >= rank)
                break;
        }
    }

    uint64_t lowest, width;
    hist_slot(h, i, &lowest, &width);
    /* Middle of the slot [lowest, lowest + width): exact for width 1, and within width / 2 of
     * any value in the slot otherwise. */
    uint64_t v = lowest + (width >> 1);
    if (v < h->min)
        v = h->min;
    if (v > h->max)
        v = h->max;
    return v;
}

void hist_foreach(const hist *h, hist_slot_fn fn, void *ctx)
{
    uint64_t lo, width;
    if (h->total == 0)
        return;
    if (!h->dense) {
        uint32_t idx[HIST_SPARSE];
        uint64_t cnt[HIST_SPARSE];
        uint32_t n = h->nsp;
        for (uint32_t k = 0; k < n; k++) { /* in slot order: insertion sort of <= 32 */
            uint32_t j = k;
            while (j > 0 && idx[j - 1] > h->sp_idx[k]) {
                idx[j] = idx[j - 1];
                cnt[j] = cnt[j - 1];
                j--;
            }
            idx[j] = h->sp_idx[k];
            cnt[j] = h->sp_cnt[k];
        }
        for (uint32_t k = 0; k < n; k++) {
            hist_slot(h, idx[k], &lo, &width);
            fn(ctx, lo, width, cnt[k]);
        }
        return;
    }
    size_t hi = hist_index(h, h->max);
    for (size_t i = hist_index(h, h->min); i <= hi; i++)
        if (h->counts[i]) {
            hist_slot(h, i, &lo, &width);
            fn(ctx, lo, width, h->counts[i]);
        }
}

int hist_sigfigs(const hist *h)
{
    return h->sigfigs;
}
