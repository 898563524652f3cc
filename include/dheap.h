/* dheap: a min-heap of deadlines, at most one per id (a connection or a VU of one worker).
 *
 * Timeouts and think times end exactly when due: the worker's wait ends at the earliest key, and
 * whatever is due is handled then, instead of scanning every connection now and then. Setting,
 * moving and removing a deadline cost O(log n); the earliest is read in O(1). One heap belongs to
 * one worker thread; nothing here allocates after dheap_init. */
#ifndef BLAST_DHEAP_H
#define BLAST_DHEAP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dheap_entry {
    uint64_t key; /* the deadline (clock_ns) */
    uint32_t id;
} dheap_entry;

typedef struct dheap {
    dheap_entry *e; /* e[0 .. n) is the heap, e[0] the earliest */
    uint32_t *pos;  /* per id: its place in e plus one, 0 when it has no deadline */
    uint32_t n, nids;
} dheap;

/* Prepares an empty heap for ids 0 .. nids - 1. Returns 0 or -ENOMEM (h then holds nothing). */
int dheap_init(dheap *h, uint32_t nids);

/* Frees what h holds; a zeroed h is accepted. */
void dheap_free(dheap *h);

/* Gives id the deadline key, replacing any it had. id < nids. */
void dheap_set(dheap *h, uint32_t id, uint64_t key);

/* Removes id's deadline, if it has one. */
void dheap_del(dheap *h, uint32_t id);

static inline bool dheap_has(const dheap *h, uint32_t id)
{
    return h->pos[id] != 0;
}

/* The earliest deadline, or UINT64_MAX when there is none. */
static inline uint64_t dheap_min_key(const dheap *h)
{
    return h->n ? h->e[0].key : UINT64_MAX;
}

/* The id of the earliest deadline; only when the heap is not empty. */
static inline uint32_t dheap_min_id(const dheap *h)
{
    return h->e[0].id;
}

#endif
