/* Unit tests for --segment: the split of every scenario over segments (and, inside each, over
 * workers) as tables and brute force (segments x workers never overlap and cover the whole:
 * arrivals with their exact due times, VUs, iterations, {{ seq }}, data rows), the command-line
 * forms (I/N, auto/N, --start-at), the fingerprint, and the exact rebuild of a histogram from its
 * slots that blast merge relies on. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "hist.h"
#include "plan.h"
#include "segment.h"
#include "../../src/worker_int.h"

__extension__ typedef unsigned __int128 u128;

/* round(j * 1e9 / rate), half up, exactly */
static uint64_t exact_due(uint64_t j, uint64_t rate)
{
    u128 num = (u128)j * 1000000000u * 2 + rate;
    return (uint64_t)(num / ((u128)rate * 2));
}

/* The workers box `seg` runs with: different per box, as load boxes differ. */
static uint32_t box_workers(uint32_t seg)
{
    return 1 + seg % 3;
}

Test(segment, split_tables)
{
    static const struct {
        uint64_t x, n;
        uint64_t want[8];
    } rows[] = {
        {7, 3, {3, 2, 2}},    {1000, 7, {143, 143, 143, 143, 143, 143, 142}},
        {2, 4, {1, 1, 0, 0}}, {0, 2, {0, 0}},
        {9, 1, {9}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < rows[r].n; i++) {
            cr_expect_eq(plan_split(rows[r].x, i, rows[r].n), rows[r].want[i], "row %zu part %llu",
                         r, (unsigned long long)i);
            sum += plan_split(rows[r].x, i, rows[r].n);
        }
        cr_expect_eq(sum, rows[r].x);
    }
}

Test(segment, vus_of_segments_and_workers_partition_the_scenario)
{
    static const uint32_t vus[] = {1, 2, 3, 7, 10, 64, 101};
    for (size_t r = 0; r < sizeof vus / sizeof vus[0]; r++)
        for (uint32_t ns = 1; ns <= 6; ns++) {
            unsigned char *seen = calloc(vus[r], 1);
            uint32_t total = 0, lo = UINT32_MAX, hi = 0;
            for (uint32_t seg = 0; seg < ns; seg++) {
                plan_scenario s = {
                    .executor = PLAN_CONSTANT_VUS, .vus = vus[r], .seg = seg, .nseg = ns};
                uint32_t mine = 0, n = box_workers(seg);
                for (uint32_t w = 0; w < n; w++) {
                    plan_share sh;
                    plan_share_of(&s, w, n, &sh);
                    for (uint32_t j = 0; j < sh.vus; j++) {
                        uint64_t g = plan_share_index(&sh, j);
                        cr_assert_lt(g, vus[r], "vus %u ns %u seg %u w %u j %u", vus[r], ns, seg, w,
                                     j);
                        cr_assert_eq(seen[g], 0, "VU %llu twice", (unsigned long long)g);
                        cr_assert_eq(g % ns, seg, "a segment's VUs are those j %% n == seg");
                        seen[g] = 1;
                    }
                    mine += sh.vus;
                }
                cr_expect_eq(mine, plan_segment_vus(&s));
                lo = mine < lo ? mine : lo;
                hi = mine > hi ? mine : hi;
                total += mine;
            }
            cr_expect_eq(total, vus[r], "vus %u over %u segments", vus[r], ns);
            cr_expect_leq(hi - lo, 1, "segments differ by at most one VU");
            free(seen);
        }
    /* 7 VUs over 3 segments: 3, 2, 2 */
    for (uint32_t seg = 0; seg < 3; seg++) {
        plan_scenario s = {.executor = PLAN_CONSTANT_VUS, .vus = 7, .seg = seg, .nseg = 3};
        cr_expect_eq(plan_segment_vus(&s), seg == 0 ? 3u : 2u);
    }
}

Test(segment, arrivals_interleave_exactly_over_segments_and_workers)
{
    static const uint64_t rates[] = {1, 3, 167, 1000, 7919};
    enum { M = 600 };
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
        for (uint32_t ns = 1; ns <= 7; ns++) {
            uint64_t got[M];
            memset(got, 0xff, sizeof got);
            for (uint32_t seg = 0; seg < ns; seg++) {
                plan_scenario s = {.executor = PLAN_CONSTANT_ARRIVAL_RATE,
                                   .rate = (double)rates[r],
                                   .max_connections = 50,
                                   .pre_connections = 5,
                                   .max_queue = 100,
                                   .seg = seg,
                                   .nseg = ns};
                double rate = 0;
                for (uint32_t w = 0, n = box_workers(seg); w < n; w++) {
                    plan_share sh;
                    plan_share_of(&s, w, n, &sh);
                    rate += sh.rate;
                    for (uint64_t k = 0;; k++) {
                        uint64_t j = plan_share_index(&sh, k);
                        if (j >= M)
                            break;
                        cr_assert_eq(got[j], UINT64_MAX, "arrival %llu twice",
                                     (unsigned long long)j);
                        got[j] = plan_due_ns(&sh, k);
                    }
                }
                cr_expect(fabs(rate - (double)rates[r] / ns) < 1e-9 * rates[r],
                          "a segment offers rate / n");
            }
            for (uint64_t j = 0; j < M; j++)
                cr_assert_eq(got[j], exact_due(j, rates[r]), "rate %llu ns %u arrival %llu",
                             (unsigned long long)rates[r], ns, (unsigned long long)j);
        }
}

Test(segment, arrival_limits_split_per_segment)
{
    /* max_vus 10 over 3 segments: 4, 3, 3; with 4 workers the third segment's 3 VUs take 3 */
    plan_scenario s = {.executor = PLAN_CONSTANT_ARRIVAL_RATE,
                       .rate = 90,
                       .max_connections = 10,
                       .pre_connections = 10,
                       .max_queue = 7,
                       .nseg = 3};
    static const uint32_t want_conns[3] = {4, 3, 3};
    for (uint32_t seg = 0; seg < 3; seg++) {
        s.seg = seg;
        uint32_t conns = 0, queue = 0, takers = 0;
        for (uint32_t w = 0; w < 4; w++) {
            plan_share sh;
            plan_share_of(&s, w, 4, &sh);
            conns += sh.max_connections;
            queue += sh.max_queue * (sh.rate > 0);
            takers += sh.rate > 0;
            cr_expect_leq(sh.pre_connections, sh.max_connections);
        }
        cr_expect_eq(conns, want_conns[seg], "segment %u", seg);
        cr_expect_eq(takers, want_conns[seg] < 4 ? want_conns[seg] : 4);
        cr_expect_geq(queue, plan_split(7, seg, 3));
    }
}

Test(segment, iterations_split_by_vus)
{
    static const struct {
        uint32_t vus;
        uint64_t iters;
    } rows[] = {{7, 1000}, {1, 5}, {4, 25}, {10, 1000003}, {3, 4}, {13, 13}, {1000, 1001}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (uint32_t ns = 1; ns <= 7; ns++) {
            uint64_t shared = 0, pervu = 0;
            for (uint32_t seg = 0; seg < ns; seg++) {
                plan_scenario p = {.executor = PLAN_SHARED_ITERATIONS,
                                   .vus = rows[r].vus,
                                   .iterations = rows[r].iters,
                                   .seg = seg,
                                   .nseg = ns};
                uint64_t mine = 0;
                for (uint32_t w = 0, n = box_workers(seg); w < n; w++) {
                    wscen s = {.s = &p};
                    plan_share_of(&p, w, n, &s.sh);
                    s.count = s.sh.vus;
                    mine += sched_shared_share(&s);
                }
                cr_expect_eq(mine, plan_segment_iterations(&p), "row %zu ns %u seg %u", r, ns, seg);
                shared += mine;
                p.executor = PLAN_PER_VU_ITERATIONS;
                pervu += plan_segment_iterations(&p);
            }
            cr_expect_eq(shared, rows[r].iters, "row %zu ns %u: shared adds up", r, ns);
            cr_expect_eq(pervu, rows[r].iters * rows[r].vus, "row %zu ns %u: per-vu", r, ns);
        }
    /* 1000 iterations over 7 VUs in 7 segments: one VU each, 143 x 6 and 142 */
    for (uint32_t seg = 0; seg < 7; seg++) {
        plan_scenario p = {.executor = PLAN_SHARED_ITERATIONS,
                           .vus = 7,
                           .iterations = 1000,
                           .seg = seg,
                           .nseg = 7};
        cr_expect_eq(plan_segment_iterations(&p), seg < 6 ? 143u : 142u);
    }
}

Test(segment, seq_values_never_shared_and_cover_the_run)
{
    /* each (segment, worker) numbers its iterations started = 0, 1, ... as plan_share_index */
    enum { M = 500 };
    for (uint32_t ns = 1; ns <= 5; ns++) {
        unsigned char seen[M] = {0};
        size_t total = 0;
        for (uint32_t seg = 0; seg < ns; seg++) {
            plan_scenario s = {.executor = PLAN_CONSTANT_VUS, .vus = 12, .seg = seg, .nseg = ns};
            for (uint32_t w = 0, n = box_workers(seg); w < n; w++) {
                plan_share sh;
                plan_share_of(&s, w, n, &sh);
                for (uint64_t started = 0;; started++) {
                    uint64_t seq = plan_share_index(&sh, started);
                    if (seq >= M)
                        break;
                    cr_assert_eq(seen[seq], 0);
                    seen[seq] = 1;
                    total++;
                }
            }
        }
        cr_expect_eq(total, M, "ns %u: every seq value once", ns);
    }
}

Test(segment, data_rows_partitioned)
{
    static const struct {
        uint64_t rows;
        uint32_t ns;
    } t[] = {{10, 1}, {10, 3}, {7, 7}, {100, 4}, {5, 6}, {1, 1}, {13, 5}};
    for (size_t r = 0; r < sizeof t / sizeof t[0]; r++) {
        int *owner = malloc(t[r].rows * sizeof *owner);
        for (uint64_t i = 0; i < t[r].rows; i++)
            owner[i] = -1;
        for (uint64_t j = 0; j < 20 * t[r].rows + 17; j++) {
            uint64_t row = plan_data_row(j, t[r].rows, t[r].ns);
            cr_assert_lt(row, t[r].rows);
            if (j < t[r].rows)
                cr_expect_eq(row, j, "below the row count: row j, as a whole run reads");
            if (t[r].ns == 1 || t[r].rows < t[r].ns) {
                cr_expect_eq(row, j % t[r].rows);
                continue;
            }
            int seg = (int)(j % t[r].ns);
            cr_expect(owner[row] == -1 || owner[row] == seg, "row %llu read by two segments",
                      (unsigned long long)row);
            owner[row] = seg;
        }
        free(owner);
    }
}

Test(segment, parse_table)
{
    static const struct {
        const char *arg, *job;
        int rc;
        uint32_t index, count;
    } rows[] = {
        {"1/4", NULL, 0, 0, 4},          {"4/4", NULL, 0, 3, 4},
        {"1/1", NULL, 0, 0, 1},          {"1000/1000", NULL, 0, 999, 1000},
        {"auto/4", "0", 0, 0, 4},        {"auto/4", "3", 0, 3, 4},
        {"auto/4", "4", -EINVAL, 0, 0},  {"auto/4", NULL, -EINVAL, 0, 0},
        {"auto/4", "x", -EINVAL, 0, 0},  {"auto/4", "-1", -EINVAL, 0, 0},
        {"0/4", NULL, -EINVAL, 0, 0},    {"5/4", NULL, -EINVAL, 0, 0},
        {"1/1001", NULL, -EINVAL, 0, 0}, {"1/0", NULL, -EINVAL, 0, 0},
        {"1", NULL, -EINVAL, 0, 0},      {"/4", NULL, -EINVAL, 0, 0},
        {"1/4x", NULL, -EINVAL, 0, 0},   {" 1/4", NULL, -EINVAL, 0, 0},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        uint32_t i = 77, n = 77;
        char err[256] = "";
        int rc = segment_parse(rows[r].arg, rows[r].job, &i, &n, err, sizeof err);
        cr_expect_eq(rc, rows[r].rc, "%s: %d (%s)", rows[r].arg, rc, err);
        if (rc == 0) {
            cr_expect_eq(i, rows[r].index, "%s", rows[r].arg);
            cr_expect_eq(n, rows[r].count, "%s", rows[r].arg);
        } else {
            cr_expect(strstr(err, "--segment") != NULL, "%s: %s", rows[r].arg, err);
        }
    }
}

Test(segment, start_at_table)
{
    const int64_t now = 1767225600LL * 1000000000; /* 2026-01-01T00:00:00Z */
    static const struct {
        const char *arg;
        int rc;
        int64_t off_ns; /* from now */
    } rows[] = {
        {"1767225600", 0, 0},
        {"1767225630.5", 0, 30500000000LL},
        {"2026-01-01T00:00:00Z", 0, 0},
        {"2026-01-01T00:10:00Z", 0, 600000000000LL},
        {"2026-01-01T01:00:00+01:00", 0, 0},
        {"2025-12-31T23:30:00-00:30", 0, 0},
        {"2026-01-01t00:00:01.25z", 0, 1250000000LL},
        {"2026-01-01T02:00:00Z", -EINVAL, 0}, /* two hours away */
        {"2025-12-31T22:00:00Z", -EINVAL, 0},
        {"2026-01-01T00:00:00", -EINVAL, 0}, /* no zone */
        {"2026-13-01T00:00:00Z", -EINVAL, 0},
        {"soon", -EINVAL, 0},
        {"", -EINVAL, 0},
        {"-5", -EINVAL, 0},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int64_t at = 0;
        char err[256] = "";
        int rc = segment_start_at(rows[r].arg, now, &at, err, sizeof err);
        cr_expect_eq(rc, rows[r].rc, "'%s': %d (%s)", rows[r].arg, rc, err);
        if (rc == 0)
            cr_expect_eq(at, now + rows[r].off_ns, "'%s': %lld", rows[r].arg, (long long)at);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

Test(segment, fingerprint_and_config)
{
    char path[] = "/tmp/blast_seg_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    write_file(path, "[global]\nbase_url = http://127.0.0.1:1\nduration = 1s\n"
                     "[scenario a]\nexecutor = constant-arrival-rate\nrate = 100/s\nmax_vus = 4\n");
    char err[512];
    plan *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = NULL;
    config_overrides seg = {.segment = 1, .segments = 3};
    config_overrides rate = {.rate = 50};
    cr_assert_eq(config_load(path, NULL, &p1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(config_load(path, &seg, &p2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(config_load(path, &rate, &p3, err, sizeof err), 0, "%s", err);
    cr_expect_eq(strlen(p1->fingerprint), 64);
    cr_expect_str_eq(p1->fingerprint, p2->fingerprint, "--segment is not part of it");
    cr_expect_str_neq(p1->fingerprint, p3->fingerprint, "--rate is");
    cr_expect_eq(p2->segment, 1);
    cr_expect_eq(p2->segments, 3);
    cr_expect_eq(p2->scenarios[0].seg, 1);
    cr_expect_eq(p2->scenarios[0].nseg, 3);
    /* more segments than max_vus: each segment needs a VU */
    config_overrides many = {.segment = 0, .segments = 5};
    cr_expect_eq(config_load(path, &many, &p4, err, sizeof err), -EINVAL);
    cr_expect(strstr(err, "max_vus 4 is fewer than the 5 segments") != NULL, "%s", err);
    plan_free(p1);
    plan_free(p2);
    plan_free(p3);
    unlink(path);
}

struct rebuild {
    hist *h;
};

static void put_slot(void *ctx, uint64_t lowest, uint64_t width, uint64_t count)
{
    (void)width;
    hist_record_n(((struct rebuild *)ctx)->h, lowest, count);
}

Test(segment, histograms_rebuild_and_merge_exactly)
{
    /* four "segments" recorded apart, each rebuilt from its slots, merged: the same as one
     * histogram that saw every value */
    hist *whole, *merged;
    cr_assert_eq(hist_init(&whole, 3600000000ull, 3), 0);
    cr_assert_eq(hist_init(&merged, 3600000000ull, 3), 0);
    uint64_t x = 12345;
    uint64_t mn = UINT64_MAX, mx = 0;
    long double sum = 0;
    for (int seg = 0; seg < 4; seg++) {
        hist *part, *back;
        cr_assert_eq(hist_init(&part, 3600000000ull, 3), 0);
        cr_assert_eq(hist_init(&back, 3600000000ull, 3), 0);
        for (int i = 0; i < 5000; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t v = (x >> 33) % (seg == 2 ? 5000000 : 20000) + 1;
            hist_record(part, v);
            hist_record(whole, v);
        }
        struct rebuild rb = {back};
        hist_foreach(part, put_slot, &rb);
        cr_assert_eq(hist_restore(back, hist_min(part), hist_max(part), hist_sum(part)), 0);
        cr_expect_eq(hist_min(back), hist_min(part));
        cr_expect_eq(hist_max(back), hist_max(part));
        cr_expect_eq(hist_mean(back), hist_mean(part));
        mn = hist_min(part) < mn ? hist_min(part) : mn;
        mx = hist_max(part) > mx ? hist_max(part) : mx;
        sum += hist_sum(part);
        struct rebuild rm = {merged};
        hist_foreach(part, put_slot, &rm);
        hist_free(part);
        hist_free(back);
    }
    cr_assert_eq(hist_restore(merged, mn, mx, sum), 0);
    static const double pcts[] = {0, 1, 50, 90, 95, 99, 99.9, 99.99, 100};
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
        cr_expect_eq(hist_value_at(merged, pcts[i]), hist_value_at(whole, pcts[i]), "p%g", pcts[i]);
    cr_expect_eq(hist_count(merged), hist_count(whole));
    cr_expect_eq(hist_mean(merged), hist_mean(whole));
    /* extremes that cannot be the slots' are refused */
    cr_expect_eq(hist_restore(merged, mn + 100000, mx, sum), -EINVAL);
    cr_expect_eq(hist_restore(merged, mn, mx, -1), -EINVAL);
    hist_free(whole);
    hist_free(merged);
}
