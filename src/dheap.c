/* dheap: binary min-heap with a position index (see include/dheap.h).
 *
 * Invariant: for every i > 0, e[(i - 1) / 2].key <= e[i].key, and pos[e[i].id] == i + 1. */
#include "dheap.h"

#include <errno.h>
#include <stdlib.h>

int dheap_init(dheap *h, uint32_t nids)
{
    h->n = 0;
    h->nids = nids;
    h->e = malloc((nids ? nids : 1) * sizeof(*h->e));
    h->pos = calloc(nids ? nids : 1, sizeof(*h->pos));
    if (!h->e || !h->pos) {
        dheap_free(h);
        return -ENOMEM;
    }
    return 0;
}

void dheap_free(dheap *h)
{
    free(h->e);
    free(h->pos);
    h->e = NULL;
    h->pos = NULL;
    h->n = h->nids = 0;
}

static inline void place(dheap *h, uint32_t i, dheap_entry x)
{
    h->e[i] = x;
    h->pos[x.id] = i + 1;
}

static void sift_up(dheap *h, uint32_t i)
{
    dheap_entry x = h->e[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (h->e[parent].key <= x.key)
            break;
        place(h, i, h->e[parent]);
        i = parent;
    }
    place(h, i, x);
}

static void sift_down(dheap *h, uint32_t i)
{
    dheap_entry x = h->e[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->e[child + 1].key < h->e[child].key)
            child++;
        if (x.key <= h->e[child].key)
            break;
        place(h, i, h->e[child]);
        i = child;
    }
    place(h, i, x);
}

void dheap_set(dheap *h, uint32_t id, uint64_t key)
{
    uint32_t p = h->pos[id];
    if (p == 0) {
        place(h, h->n, (dheap_entry){key, id});
        sift_up(h, h->n++);
        return;
    }
    uint64_t old = h->e[p - 1].key;
    h->e[p - 1].key = key;
    if (key < old)
        sift_up(h, p - 1);
    else if (key > old)
        sift_down(h, p - 1);
}

void dheap_del(dheap *h, uint32_t id)
{
    uint32_t p = h->pos[id];
    if (p == 0)
        return;
    h->pos[id] = 0;
    uint32_t i = p - 1;
    if (i == --h->n)
        return;
    uint64_t old = h->e[i].key;
    place(h, i, h->e[h->n]);
    if (h->e[i].key < old)
        sift_up(h, i);
    else
        sift_down(h, i);
}
