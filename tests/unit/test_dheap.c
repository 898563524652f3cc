/* Unit tests for dheap: a random sequence of sets, moves and deletes checked after every step
 * against a plain array of deadlines (the earliest, and the heap invariant itself). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "dheap.h"

static void check_invariant(const dheap *h)
{
    for (uint32_t i = 0; i < h->n; i++) {
        cr_assert_eq(h->pos[h->e[i].id], i + 1, "pos of id %u", h->e[i].id);
        if (i)
            cr_assert_leq(h->e[(i - 1) / 2].key, h->e[i].key, "heap order at %u", i);
    }
}

Test(dheap, matches_a_plain_array)
{
    enum { N = 300, STEPS = 20000 };
    uint64_t want[N] = {0}; /* 0: no deadline */
    dheap h;
    cr_assert_eq(dheap_init(&h, N), 0);
    uint64_t s = 0x1234567;
    for (int step = 0; step < STEPS; step++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint32_t id = (uint32_t)(s % N);
        uint64_t key = (s >> 20) % 1000 + 1;
        if ((s >> 40) % 4 == 0) {
            dheap_del(&h, id);
            want[id] = 0;
        } else {
            dheap_set(&h, id, key);
            want[id] = key;
        }
        uint64_t min = UINT64_MAX;
        uint32_t n = 0;
        for (uint32_t i = 0; i < N; i++) {
            if (want[i] && want[i] < min)
                min = want[i];
            n += want[i] != 0;
            cr_assert_eq(dheap_has(&h, i), want[i] != 0, "step %d id %u", step, i);
        }
        cr_assert_eq(h.n, n, "step %d", step);
        cr_assert_eq(dheap_min_key(&h), min, "step %d", step);
        if (n)
            cr_assert_eq(want[dheap_min_id(&h)], min, "step %d", step);
        if (step % 97 == 0)
            check_invariant(&h);
    }
    check_invariant(&h);
    /* Draining in order gives the keys sorted. */
    uint64_t last = 0;
    while (h.n) {
        uint64_t k = dheap_min_key(&h);
        cr_assert_geq(k, last);
        last = k;
        dheap_del(&h, dheap_min_id(&h));
    }
    cr_assert_eq(dheap_min_key(&h), UINT64_MAX);
    dheap_free(&h);
    dheap_free(&h); /* a freed heap may be freed again */
}

Test(dheap, equal_keys_and_moves_both_ways)
{
    dheap h;
    cr_assert_eq(dheap_init(&h, 4), 0);
    dheap_set(&h, 0, 10);
    dheap_set(&h, 1, 10);
    dheap_set(&h, 2, 5);
    cr_expect_eq(dheap_min_id(&h), 2);
    dheap_set(&h, 2, 20); /* later: moves down */
    cr_expect_eq(dheap_min_key(&h), 10);
    dheap_set(&h, 3, 1);
    dheap_set(&h, 3, 1); /* unchanged */
    cr_expect_eq(dheap_min_id(&h), 3);
    dheap_del(&h, 3);
    dheap_del(&h, 3); /* absent: no-op */
    cr_expect_eq(dheap_min_key(&h), 10);
    dheap_set(&h, 2, 2); /* earlier: moves up */
    cr_expect_eq(dheap_min_id(&h), 2);
    cr_expect_eq(h.n, 3);
    dheap_free(&h);
}
