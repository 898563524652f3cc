/* The triple buffer's index exchange (tribuf.h): what a reader sees after each sequence of
 * publishes and takes, and a writer and a reader thread running against each other with no
 * torn or out-of-order copy. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "tribuf.h"

Test(tribuf, sequences)
{
    tribuf t;
    tribuf_init(&t);
    unsigned first = tribuf_take(&t);
    cr_expect_eq(first, 2u, "before any publish the reader keeps its own area");
    cr_expect_neq(t.back, first);
    unsigned a = t.back;
    tribuf_publish(&t);
    cr_expect_neq(t.back, a, "the writer gets another area after publishing");
    cr_expect_eq(tribuf_take(&t), a, "the reader takes what was published");
    cr_expect_eq(tribuf_take(&t), a, "nothing newer: the same area again");
    unsigned b = t.back;
    tribuf_publish(&t);
    unsigned c = t.back;
    tribuf_publish(&t);
    cr_expect_neq(b, c);
    cr_expect_eq(tribuf_take(&t), c, "two publishes, one take: the newest");
    /* The three indices are always a permutation of 0, 1, 2. */
    unsigned mid = atomic_load(&t.mid) & ~TRIBUF_FRESH;
    cr_expect_eq((1u << t.back) | (1u << t.front) | (1u << mid), 7u);
}

#define WORDS 256
#define ROUNDS 200000u

static uint64_t areas[3][WORDS];
static tribuf shared;

static void *writer(void *arg)
{
    (void)arg;
    for (uint64_t seq = 1; seq <= ROUNDS; seq++) {
        uint64_t *a = areas[shared.back];
        for (unsigned i = 0; i < WORDS; i++)
            a[i] = seq;
        tribuf_publish(&shared);
    }
    return NULL;
}

Test(tribuf, writer_and_reader_threads)
{
    tribuf_init(&shared);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, writer, NULL), 0);
    uint64_t last = 0, torn = 0, backwards = 0, reads = 0;
    while (last < ROUNDS) {
        const uint64_t *a = areas[tribuf_take(&shared)];
        uint64_t v = a[0];
        for (unsigned i = 1; i < WORDS; i++)
            if (a[i] != v)
                torn++;
        if (v < last)
            backwards++;
        last = v;
        reads++;
    }
    pthread_join(th, NULL);
    cr_expect_eq(torn, 0, "a copy changed while it was read (%lu words)", (unsigned long)torn);
    cr_expect_eq(backwards, 0, "the reader saw an older copy after a newer one");
    cr_expect_eq(last, ROUNDS, "the reader ends on the last copy published");
    cr_expect_gt(reads, 1);
}
