/* Unit tests for hist: percentiles against an exact sort of a large fixed-seed sample, the exact
 * statistics (count, min, max, mean), clamping, merging, resetting and argument checks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "hist.h"

#define HOUR_US 3600000000ULL

__extension__ typedef unsigned __int128 u128;

static const double PCTS[] = {0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};
#define NPCTS (sizeof(PCTS) / sizeof(PCTS[0]))

static hist *make(uint64_t highest, int sigfigs)
{
    hist *h = NULL;
    cr_assert_eq(hist_init(&h, highest, sigfigs), 0, "hist_init(%llu, %d)",
                 (unsigned long long)highest, sigfigs);
    cr_assert_not_null(h);
    return h;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static double unit(uint64_t *s)
{
    return (double)(xorshift(s) >> 11) * 0x1p-53;
}

/* A fixed mix: about half uniform in 1..1e6 µs, half log-uniform over 1 µs..1 h (so every
 * magnitude, including the exact range below 2048, is well populated), and one huge outlier
 * (3e9..3.6e9 µs) every 100000 samples. */
static uint64_t *make_samples(size_t n)
{
    uint64_t *v = malloc(n * sizeof(*v));
    cr_assert_not_null(v);
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        if (i % 100000 == 99999)
            v[i] = 3000000000ULL + xorshift(&s) % 600000001ULL;
        else if (xorshift(&s) & 1)
            v[i] = 1 + xorshift(&s) % 1000000;
        else
            v[i] = (uint64_t)llround(exp(unit(&s) * log((double)HOUR_US)));
        if (v[i] > HOUR_US)
            v[i] = HOUR_US;
    }
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The exact percentile: the sample at sorted index ceil(p / 100 * n) - 1, index 0 for p = 0. */
static uint64_t exact_at(const uint64_t *sorted, size_t n, double p)
{
    if (p <= 0)
        return sorted[0];
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

Test(hist, percentiles_match_exact_sort)
{
    const size_t n = 1000000;
    uint64_t *v = make_samples(n);
    hist *h = make(HOUR_US, 3);
    u128 sum = 0;
    for (size_t i = 0; i < n; i++) {
        hist_record(h, v[i]);
        sum += v[i];
    }
    qsort(v, n, sizeof(*v), cmp_u64);

    cr_assert_eq(hist_count(h), n);
    cr_assert_eq(hist_min(h), v[0]);
    cr_assert_eq(hist_max(h), v[n - 1]);
    cr_assert_gt(v[n - 1], 3000000000ULL, "the sample should hold its outliers");
    double mean = (double)((long double)sum / (long double)n);
    cr_assert(fabs(hist_mean(h) - mean) <= mean * 1e-12, "mean %.6f, exact %.6f", hist_mean(h),
              mean);

    for (size_t k = 0; k < NPCTS; k++) {
        double p = PCTS[k];
        uint64_t want = exact_at(v, n, p);
        uint64_t got = hist_value_at(h, p);
        double err = fabs((double)got - (double)want);
        if (want < 2048)
            cr_expect(err <= 1, "p%g: got %llu, exact %llu", p, (unsigned long long)got,
                      (unsigned long long)want);
        else
            cr_expect(err <= (double)want * 0.001, "p%g: got %llu, exact %llu (%.4f%%)", p,
                      (unsigned long long)got, (unsigned long long)want,
                      100.0 * err / (double)want);
    }
    hist_free(h);
    free(v);
}

/* Reads back a lone value v: with 0 and highest recorded around it, p50 is v's slot and the
 * [min, max] clamp cannot hide the slot's midpoint. */
static uint64_t read_back(hist *h, uint64_t highest, uint64_t v)
{
    hist_reset(h);
    hist_record(h, 0);
    hist_record(h, v);
    hist_record(h, highest);
    return hist_value_at(h, 50);
}

Test(hist, exact_small_values_and_slot_midpoints)
{
    static const struct {
        uint64_t value;
        uint64_t want; /* at 3 sigfigs: 2048 slots of width 1, then 1024 per doubling */
    } rows[] = {
        {0, 0},
        {1, 1},
        {2, 2},
        {999, 999},
        {1023, 1023},
        {1024, 1024},
        {2047, 2047},          /* last slot of width 1 */
        {2048, 2049},          /* [2048, 2049] */
        {2049, 2049},          /* same slot */
        {2050, 2051},          /* [2050, 2051] */
        {4095, 4095},          /* [4094, 4095] */
        {4096, 4098},          /* [4096, 4099] */
        {1000000, 1000192},    /* [999936, 1000447] */
        {HOUR_US, 3599761408}, /* [3598712832, 3600809983]: midpoint, below the max */
    };
    hist *h = make(HOUR_US, 3);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t got = read_back(h, HOUR_US, rows[i].value);
        cr_expect_eq(got, rows[i].want, "value %llu: got %llu, want %llu",
                     (unsigned long long)rows[i].value, (unsigned long long)got,
                     (unsigned long long)rows[i].want);
    }
    for (uint64_t v = 0; v < 2048; v++) {
        uint64_t got = read_back(h, HOUR_US, v);
        cr_assert_eq(got, v, "value %llu read back as %llu", (unsigned long long)v,
                     (unsigned long long)got);
    }
    hist_free(h);
}

Test(hist, exact_range_and_error_bound_per_sigfigs)
{
    static const struct {
        int sigfigs;
        uint64_t exact_below; /* sub_count: next power of two >= 2 * 10^sigfigs */
    } rows[] = {
        {1, 32}, {2, 256}, {3, 2048}, {4, 32768}, {5, 262144},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        hist *h = make(HOUR_US, rows[i].sigfigs);
        uint64_t last = rows[i].exact_below - 1;
        cr_expect_eq(read_back(h, HOUR_US, last), last, "sigfigs %d", rows[i].sigfigs);
        cr_expect_eq(read_back(h, HOUR_US, last + 1), last + 2, "sigfigs %d", rows[i].sigfigs);
        double bound = 0.5 * pow(10, -rows[i].sigfigs);
        for (uint64_t v = 1; v < HOUR_US; v = v * 3 + 1) {
            uint64_t got = read_back(h, HOUR_US, v);
            double err = fabs((double)got - (double)v) / (double)v;
            cr_expect(err <= bound, "sigfigs %d: %llu read back as %llu", rows[i].sigfigs,
                      (unsigned long long)v, (unsigned long long)got);
        }
        hist_free(h);
    }
}

Test(hist, empty_is_all_zero)
{
    hist *h = make(HOUR_US, 3);
    cr_expect_eq(hist_count(h), 0);
    cr_expect_eq(hist_min(h), 0);
    cr_expect_eq(hist_max(h), 0);
    cr_expect_eq(hist_mean(h), 0.0);
    for (size_t k = 0; k < NPCTS; k++)
        cr_expect_eq(hist_value_at(h, PCTS[k]), 0, "p%g", PCTS[k]);
    hist_free(h);
}

Test(hist, min_max_mean_exact)
{
    hist *h = make(HOUR_US, 3);
    static const uint64_t vals[] = {4, 3000001, 2, 3, 1};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        hist_record(h, vals[i]);
    cr_expect_eq(hist_count(h), 5);
    cr_expect_eq(hist_min(h), 1);
    cr_expect_eq(hist_max(h), 3000001);
    cr_expect_eq(hist_mean(h), 600002.2);
    cr_expect_eq(hist_value_at(h, 0), 1);
    cr_expect_eq(hist_value_at(h, 100), 3000001);
    cr_expect_eq(hist_value_at(h, 99.9), 2999296, "midpoint of [2998272, 3000319]");
    hist_free(h);
}

Test(hist, value_at_clamps_midpoints_to_min_and_max)
{
    /* 4096..4099 share a slot whose midpoint is 4098. */
    hist *h = make(HOUR_US, 3);
    hist_record(h, 4099);
    hist_record(h, 8000);
    cr_expect_eq(hist_value_at(h, 10), 4099, "midpoint below min");
    hist_reset(h);
    hist_record(h, 1000);
    hist_record(h, 4096);
    cr_expect_eq(hist_value_at(h, 90), 4096, "midpoint above max");
    hist_free(h);
}

Test(hist, clamps_above_highest)
{
    hist *h = make(1000000, 3);
    hist_record(h, 5);
    hist_record(h, 1000001);
    hist_record(h, UINT64_MAX);
    cr_expect_eq(hist_count(h), 3);
    cr_expect_eq(hist_min(h), 5);
    cr_expect_eq(hist_max(h), 1000000);
    cr_expect_eq(hist_value_at(h, 100), 1000000);
    cr_expect_eq(hist_value_at(h, 50), 1000000);
    cr_expect_eq(hist_mean(h), 2000005.0 / 3.0);
    hist_free(h);
}

Test(hist, record_n)
{
    hist *h = make(HOUR_US, 3);
    hist_record_n(h, 1000, 5);
    hist_record_n(h, 7, 0);
    hist_record_n(h, HOUR_US, 0);
    cr_expect_eq(hist_count(h), 5);
    cr_expect_eq(hist_min(h), 1000, "a count of 0 must not move min");
    cr_expect_eq(hist_max(h), 1000, "a count of 0 must not move max");
    cr_expect_eq(hist_mean(h), 1000.0);
    cr_expect_eq(hist_value_at(h, 50), 1000);

    /* 1e10 hours overflows a 64-bit sum (3.6e19 > 1.8e19); the mean must stay exact. */
    hist_reset(h);
    hist_record_n(h, HOUR_US, 10000000000ULL);
    hist_record_n(h, 1, 10000000000ULL);
    cr_expect_eq(hist_count(h), 20000000000ULL);
    cr_expect_eq(hist_mean(h), 1800000000.5);
    cr_expect_eq(hist_value_at(h, 50), 1);
    cr_expect_eq(hist_value_at(h, 50.0001), 3599761408ULL, "midpoint of the top slot");
    cr_expect_eq(hist_value_at(h, 100), HOUR_US);
    hist_free(h);
}

Test(hist, merge_of_halves_equals_all)
{
    const size_t n = 200000;
    uint64_t *v = make_samples(n);
    hist *all = make(HOUR_US, 3);
    hist *a = make(HOUR_US, 3);
    hist *b = make(HOUR_US, 3);
    for (size_t i = 0; i < n; i++) {
        hist_record(all, v[i]);
        hist_record(i < n / 3 ? a : b, v[i]);
    }
    cr_assert_eq(hist_merge(a, b), 0);
    cr_expect_eq(hist_count(a), hist_count(all));
    cr_expect_eq(hist_min(a), hist_min(all));
    cr_expect_eq(hist_max(a), hist_max(all));
    cr_expect_eq(hist_mean(a), hist_mean(all));
    for (int k = 0; k <= 1000; k++) {
        double p = k / 10.0;
        cr_assert_eq(hist_value_at(a, p), hist_value_at(all, p), "p%g", p);
    }
    for (size_t k = 0; k < NPCTS; k++)
        cr_assert_eq(hist_value_at(a, PCTS[k]), hist_value_at(all, PCTS[k]), "p%g", PCTS[k]);

    /* Merging an empty histogram changes nothing, min included. */
    hist_reset(b);
    cr_assert_eq(hist_merge(a, b), 0);
    cr_expect_eq(hist_count(a), n);
    cr_expect_eq(hist_min(a), hist_min(all));
    hist_free(all);
    hist_free(a);
    hist_free(b);
    free(v);
}

Test(hist, merge_takes_extremes_from_either_side)
{
    hist *dst = make(HOUR_US, 3);
    hist *src = make(HOUR_US, 3);
    hist_record(dst, 500);
    hist_record(src, 0);
    hist_record(src, 9007);
    cr_assert_eq(hist_merge(dst, src), 0);
    cr_expect_eq(hist_count(dst), 3);
    cr_expect_eq(hist_min(dst), 0);
    cr_expect_eq(hist_max(dst), 9007);
    cr_expect_eq(hist_mean(dst), 3169.0); /* (500 + 0 + 9007) / 3 */
    cr_expect_eq(hist_value_at(dst, 10), 0);
    cr_expect_eq(hist_value_at(dst, 50), 500);
    cr_expect_eq(hist_count(src), 2, "src is left alone");
    hist_free(dst);
    hist_free(src);
}

Test(hist, merge_rejects_other_layouts)
{
    hist *dst = make(HOUR_US, 3);
    hist *other_sigfigs = make(HOUR_US, 2);
    hist *other_highest = make(HOUR_US * 2, 3);
    hist_record(dst, 10);
    hist_record(dst, 5000);
    hist_record(other_sigfigs, 1);
    hist_record(other_sigfigs, 9999999);
    hist_record(other_highest, 2);
    hist_record(other_highest, HOUR_US + 5);

    uint64_t before[NPCTS];
    for (size_t k = 0; k < NPCTS; k++)
        before[k] = hist_value_at(dst, PCTS[k]);

    cr_expect_eq(hist_merge(dst, other_sigfigs), -EINVAL);
    cr_expect_eq(hist_merge(dst, other_highest), -EINVAL);
    cr_expect_eq(hist_count(dst), 2);
    cr_expect_eq(hist_min(dst), 10);
    cr_expect_eq(hist_max(dst), 5000);
    cr_expect_eq(hist_mean(dst), 2505.0);
    for (size_t k = 0; k < NPCTS; k++)
        cr_expect_eq(hist_value_at(dst, PCTS[k]), before[k], "p%g", PCTS[k]);
    hist_free(dst);
    hist_free(other_sigfigs);
    hist_free(other_highest);
}

Test(hist, reset_empties_and_keeps_layout)
{
    hist *h = make(HOUR_US, 3);
    hist_record(h, 3);
    hist_record(h, 3000000);
    hist_reset(h);
    cr_expect_eq(hist_count(h), 0);
    cr_expect_eq(hist_min(h), 0);
    cr_expect_eq(hist_max(h), 0);
    cr_expect_eq(hist_mean(h), 0.0);
    cr_expect_eq(hist_value_at(h, 50), 0);

    hist_record(h, 7000);
    cr_expect_eq(hist_count(h), 1);
    cr_expect_eq(hist_min(h), 7000, "min must restart after a reset");
    cr_expect_eq(hist_max(h), 7000);
    cr_expect_eq(hist_value_at(h, 50), 7000);

    hist *same = make(HOUR_US, 3);
    cr_expect_eq(hist_merge(same, h), 0, "layout kept");
    hist_free(same);
    hist_free(h);
}

Test(hist, init_validates_arguments)
{
    static const struct {
        uint64_t highest;
        int sigfigs;
        int want;
    } rows[] = {
        {HOUR_US, 0, -EINVAL},
        {HOUR_US, 6, -EINVAL},
        {HOUR_US, -1, -EINVAL},
        {0, 3, -EINVAL},
        {1, 3, -EINVAL},
        {2, 3, 0},
        {2, 1, 0},
        {HOUR_US, 1, 0},
        {HOUR_US, 5, 0},
        {UINT64_MAX, 5, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        hist *h = NULL;
        int rc = hist_init(&h, rows[i].highest, rows[i].sigfigs);
        cr_expect_eq(rc, rows[i].want, "hist_init(%llu, %d) = %d",
                     (unsigned long long)rows[i].highest, rows[i].sigfigs, rc);
        if (rc != 0) {
            cr_expect_null(h);
            continue;
        }
        /* The extremes of each layout are recordable and read back within [min, max]. */
        hist_record(h, 0);
        hist_record(h, rows[i].highest);
        hist_record(h, UINT64_MAX);
        uint64_t top = hist_value_at(h, 50);
        double err = ((double)rows[i].highest - (double)top) / (double)rows[i].highest;
        cr_expect_eq(hist_max(h), rows[i].highest);
        cr_expect_eq(hist_value_at(h, 100), rows[i].highest);
        cr_expect(top <= rows[i].highest && err <= 0.5 * pow(10, -rows[i].sigfigs),
                  "hist_init(%llu, %d): top slot reads %llu", (unsigned long long)rows[i].highest,
                  rows[i].sigfigs, (unsigned long long)top);
        cr_expect_eq(hist_value_at(h, 10), 0);
        hist_free(h);
    }
    hist_free(NULL);
}

/* A narrower range merges into a wider one (same sigfigs): slots line up, so the result is the
 * same as recording every value into the wider histogram. */
Test(hist, merge_narrow_into_wide_is_exact)
{
    hist *narrow = make(60000000, 3), *wide = make(HOUR_US, 3), *direct = make(HOUR_US, 3);
    uint64_t s = 42;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = xorshift(&s) % 60000001;
        hist_record(narrow, v);
        hist_record(direct, v);
    }
    hist_record(wide, HOUR_US);
    hist_record(direct, HOUR_US);
    cr_assert_eq(hist_merge(wide, narrow), 0);
    cr_expect_eq(hist_count(wide), hist_count(direct));
    cr_expect_eq(hist_min(wide), hist_min(direct));
    cr_expect_eq(hist_max(wide), hist_max(direct));
    cr_expect_eq(hist_mean(wide), hist_mean(direct));
    for (size_t k = 0; k < NPCTS; k++)
        cr_expect_eq(hist_value_at(wide, PCTS[k]), hist_value_at(direct, PCTS[k]), "p%g", PCTS[k]);
    cr_expect_eq(hist_highest(narrow), 60000000);
    hist_free(narrow);
    hist_free(wide);
    hist_free(direct);
}

/* Resetting clears exactly what was recorded, also when values sat far apart. */
Test(hist, reset_after_scattered_values)
{
    hist *h = make(HOUR_US, 3);
    for (uint64_t v = 1; v < HOUR_US; v *= 3)
        hist_record(h, v);
    hist_reset(h);
    hist_record(h, 12345);
    cr_expect_eq(hist_count(h), 1);
    for (size_t k = 0; k < NPCTS; k++)
        cr_expect(hist_value_at(h, PCTS[k]) >= 12340 && hist_value_at(h, PCTS[k]) <= 12350,
                  "p%g = %llu", PCTS[k], (unsigned long long)hist_value_at(h, PCTS[k]));
    hist_free(h);
}

/* A histogram starts sparse (its counts in a short list) and turns dense after 32 distinct
 * slots. Either way it must answer exactly as a histogram that was dense from the start (made
 * dense by 40 distinct values and a reset: a dense histogram stays dense). Merges cross both. */
Test(hist, sparse_and_dense_answer_alike)
{
    static const int distinct[] = {1, 2, 5, 31, 32, 33, 64, 500};
    for (size_t d = 0; d < sizeof distinct / sizeof distinct[0]; d++) {
        hist *fresh = make(HOUR_US, 3), *dense = make(HOUR_US, 3);
        hist *a = make(HOUR_US, 3), *b = make(HOUR_US, 3);
        for (uint64_t v = 0; v < 40; v++)
            hist_record(dense, v * 1000);
        hist_reset(dense);
        uint64_t s = 7 + (uint64_t)d;
        for (int i = 0; i < 5000; i++) {
            uint64_t v = 100 + (xorshift(&s) % (uint64_t)distinct[d]) * 997;
            hist_record(fresh, v);
            hist_record(dense, v);
            hist_record(i % 2 ? a : b, v);
        }
        cr_assert_eq(hist_merge(a, b), 0);
        const hist *hs[] = {fresh, a};
        for (size_t k = 0; k < 2; k++) {
            cr_expect_eq(hist_count(hs[k]), hist_count(dense), "distinct %d", distinct[d]);
            cr_expect_eq(hist_min(hs[k]), hist_min(dense), "distinct %d", distinct[d]);
            cr_expect_eq(hist_max(hs[k]), hist_max(dense), "distinct %d", distinct[d]);
            cr_expect_eq(hist_mean(hs[k]), hist_mean(dense), "distinct %d", distinct[d]);
            for (size_t p = 0; p < NPCTS; p++)
                cr_expect_eq(hist_value_at(hs[k], PCTS[p]), hist_value_at(dense, PCTS[p]),
                             "distinct %d, %s, p%g", distinct[d], k ? "merged" : "fresh",
                             PCTS[p]);
        }
        hist_reset(fresh);
        cr_expect_eq(hist_count(fresh), 0);
        hist_record(fresh, 77);
        cr_expect_eq(hist_value_at(fresh, 50), 77, "distinct %d: after reset", distinct[d]);
        hist_free(fresh);
        hist_free(dense);
        hist_free(a);
        hist_free(b);
    }
}

/* ---- hist_copy and hist_sub: the live snapshots' copies and window differences ---- */

/* Asserts a and b answer every question alike. */
static void expect_same(const hist *a, const hist *b, const char *what)
{
    cr_expect_eq(hist_count(a), hist_count(b), "%s: count", what);
    cr_expect_eq(hist_min(a), hist_min(b), "%s: min", what);
    cr_expect_eq(hist_max(a), hist_max(b), "%s: max", what);
    cr_expect_eq(hist_mean(a), hist_mean(b), "%s: mean", what);
    for (size_t p = 0; p < NPCTS; p++)
        cr_expect_eq(hist_value_at(a, PCTS[p]), hist_value_at(b, PCTS[p]), "%s: p%g", what,
                     PCTS[p]);
}

/* n values of `distinct` different slots (97 us apart from base, so each is its own slot below
 * 2048 and spreads over buckets above). */
static void fill(hist *h, uint64_t seed, int n, int distinct, uint64_t base)
{
    uint64_t s = seed;
    for (int i = 0; i < n; i++)
        hist_record(h, base + (xorshift(&s) % (uint64_t)distinct) * 97);
}

Test(hist, copy_of_sparse_and_dense)
{
    /* Below, at and above the 32 slots a sparse histogram keeps. */
    static const int distinct[] = {1, 5, 31, 32, 33, 500};
    for (size_t d = 0; d < sizeof(distinct) / sizeof(distinct[0]); d++) {
        hist *src = make(HOUR_US, 3), *fresh = make(HOUR_US, 3), *dirty = make(HOUR_US, 3);
        fill(dirty, 99, 3000, 700, 50000); /* dense, far from src's values */
        fill(src, 1 + d, 2000, distinct[d], 100);
        cr_assert_eq(hist_copy(fresh, src), 0);
        cr_assert_eq(hist_copy(dirty, src), 0);
        expect_same(fresh, src, "fresh copy");
        expect_same(dirty, src, "copy over a dense one");
        /* The source grows (sparse may turn dense); copying again catches up. */
        fill(src, 50 + d, 2000, 2 * distinct[d] + 40, 90);
        cr_assert_eq(hist_copy(fresh, src), 0);
        expect_same(fresh, src, "second copy");
        /* A copy records on like its source: no stale count is left in it. */
        hist_record(fresh, 123456);
        hist_record(dirty, 123456);
        hist_record(src, 123456);
        expect_same(fresh, src, "recorded after the copy");
        cr_assert_eq(hist_copy(dirty, src), 0);
        expect_same(dirty, src, "dirty copied again");
        hist_free(src);
        hist_free(fresh);
        hist_free(dirty);
    }
}

Test(hist, copy_of_sparse_over_dense_leaves_no_counts)
{
    hist *src = make(HOUR_US, 3), *dst = make(HOUR_US, 3), *want = make(HOUR_US, 3);
    fill(dst, 3, 5000, 1000, 10); /* dense over 10 .. ~97 ms */
    hist_record(src, 500);
    hist_record(src, 700);
    cr_assert_eq(hist_copy(dst, src), 0);
    expect_same(dst, src, "sparse copy");
    /* Filling both alike from here must give identical answers (a stale slot would show). */
    fill(dst, 4, 5000, 1000, 10);
    fill(src, 4, 5000, 1000, 10);
    expect_same(dst, src, "after refilling");
    /* An empty source empties the copy. */
    hist_reset(src);
    cr_assert_eq(hist_copy(dst, src), 0);
    expect_same(dst, want, "empty copy");
    hist_free(src);
    hist_free(dst);
    hist_free(want);
}

Test(hist, copy_rejects_other_layouts)
{
    hist *a = make(HOUR_US, 3), *b = make(1000000, 3), *c = make(HOUR_US, 2);
    hist_record(a, 5);
    hist_record(b, 9);
    cr_expect_eq(hist_copy(a, b), -EINVAL);
    cr_expect_eq(hist_copy(a, c), -EINVAL);
    cr_expect_eq(hist_count(a), 1);
    cr_expect_eq(hist_max(a), 5);
    cr_expect_eq(hist_copy(a, a), 0);
    hist_free(a);
    hist_free(b);
    hist_free(c);
}

/* What a trailing window sees: the histogram now minus the one earlier is what was recorded in
 * between, for every mix of sparse and dense. Values below 2048 have slots of width 1, so even
 * min and max are exact there. */
Test(hist, sub_of_an_earlier_state_is_the_later_part)
{
    static const struct {
        int d1, d2;
        uint64_t base;
    } rows[] = {
        {3, 4, 100},       /* sparse - sparse */
        {10, 20, 100},     /* sparse, turns dense */
        {15, 15, 100},     /* one slot list, 30 slots together: stays sparse */
        {300, 200, 100},   /* dense - dense */
        {1, 300, 100},     /* sparse - dense */
        {400, 400, 40000}, /* dense, wide slots (values up to ~80 ms) */
    };
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        hist *h = make(HOUR_US, 3), *old = make(HOUR_US, 3), *diff = make(HOUR_US, 3),
             *later = make(HOUR_US, 3);
        fill(h, 11 + r, 3000, rows[r].d1, rows[r].base);
        cr_assert_eq(hist_copy(old, h), 0);
        /* The later part on its own, offset so that its extremes differ from the first's. */
        uint64_t s = 77 + r;
        for (int i = 0; i < 4000; i++) {
            uint64_t v = rows[r].base + 13 + (xorshift(&s) % (uint64_t)rows[r].d2) * 89;
            hist_record(h, v);
            hist_record(later, v);
        }
        cr_assert_eq(hist_copy(diff, h), 0);
        cr_assert_eq(hist_sub(diff, old), 0, "row %zu", r);
        cr_expect_eq(hist_count(diff), hist_count(later), "row %zu: count", r);
        cr_expect_eq(hist_mean(diff), hist_mean(later), "row %zu: mean", r);
        int dmax = rows[r].d1 > rows[r].d2 ? rows[r].d1 : rows[r].d2;
        if (rows[r].base + 13 + (uint64_t)dmax * 97 < 2048) {
            cr_expect_eq(hist_min(diff), hist_min(later), "row %zu: min", r);
            cr_expect_eq(hist_max(diff), hist_max(later), "row %zu: max", r);
        } else { /* within a slot's width */
            cr_expect_leq(fabs((double)hist_min(diff) - (double)hist_min(later)),
                          (double)hist_min(later) / 1000.0, "row %zu: min", r);
            cr_expect_leq(fabs((double)hist_max(diff) - (double)hist_max(later)),
                          (double)hist_max(later) / 1000.0, "row %zu: max", r);
        }
        for (size_t p = 0; p < NPCTS; p++) {
            double want = (double)hist_value_at(later, PCTS[p]);
            double got = (double)hist_value_at(diff, PCTS[p]);
            cr_expect_leq(fabs(got - want), want / 1000.0 + 0.5, "row %zu: p%g %g vs %g", r,
                          PCTS[p], got, want);
        }
        hist_free(h);
        hist_free(old);
        hist_free(diff);
        hist_free(later);
    }
}

Test(hist, sub_of_itself_is_empty)
{
    hist *h = make(HOUR_US, 3), *c = make(HOUR_US, 3);
    for (int dense = 0; dense < 2; dense++) {
        hist_reset(h);
        fill(h, 5, 1000, dense ? 500 : 8, 300);
        cr_assert_eq(hist_copy(c, h), 0);
        cr_assert_eq(hist_sub(c, h), 0);
        cr_expect_eq(hist_count(c), 0);
        cr_expect_eq(hist_min(c), 0);
        cr_expect_eq(hist_max(c), 0);
        cr_expect_eq(hist_value_at(c, 99), 0);
        cr_expect_eq(hist_mean(c), 0.0);
        /* and it records afresh */
        hist_record(c, 42);
        cr_expect_eq(hist_min(c), 42);
        cr_expect_eq(hist_max(c), 42);
        cr_expect_eq(hist_count(c), 1);
    }
    hist_free(h);
    hist_free(c);
}

Test(hist, sub_rejects_what_is_not_contained)
{
    hist *a = make(HOUR_US, 3), *b = make(HOUR_US, 3), *other = make(1000000, 3);
    for (int dense = 0; dense < 2; dense++) {
        hist_reset(a);
        hist_reset(b);
        fill(a, 9, 1000, dense ? 400 : 6, 100);
        hist_record(b, 100);
        hist_record(b, 100 + 97);
        hist_record(b, 5); /* a slot a never used */
        cr_expect_eq(hist_sub(a, b), -EINVAL);
        cr_expect_eq(hist_count(a), 1000, "unchanged");
        hist_reset(b);
        hist_record_n(b, 100, 2000); /* more than a's slot holds */
        cr_expect_eq(hist_sub(a, b), -EINVAL);
        cr_expect_eq(hist_count(a), 1000, "unchanged");
        hist_reset(other);
        hist_record(other, 100);
        cr_expect_eq(hist_sub(a, other), -EINVAL);
        cr_expect_eq(hist_min(a), 100);
    }
    hist_free(a);
    hist_free(b);
    hist_free(other);
}
