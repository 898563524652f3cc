/* tribuf: the index exchange of a triple buffer, one writer thread and one reader thread,
 * neither of which ever waits. Three areas; the writer owns one (back), the reader one (front),
 * and the third (mid) is in the atomic word, with TRIBUF_FRESH set when the writer has put a
 * copy there that the reader has not taken. The writer fills back and publishes it; the reader
 * takes mid when it is fresh and reads front for as long as it likes. An area is only ever
 * touched by the side holding its index, so a reader never sees a copy being written. */
#ifndef BLAST_TRIBUF_H
#define BLAST_TRIBUF_H

#include <stdatomic.h>
#include <stdbool.h>

#define TRIBUF_FRESH 4u

typedef struct tribuf {
    _Atomic unsigned mid;
    unsigned back;  /* the writer's */
    unsigned front; /* the reader's */
} tribuf;

static inline void tribuf_init(tribuf *t)
{
    t->back = 0;
    atomic_init(&t->mid, 1u);
    t->front = 2;
}

/* Writer: back is filled; hand it over and get the area to fill next. release: the copy is
 * complete before the reader can take it; acquire: the area handed back is one the reader
 * has finished with. */
static inline unsigned tribuf_publish(tribuf *t)
{
    unsigned old = atomic_exchange_explicit(&t->mid, t->back | TRIBUF_FRESH, memory_order_acq_rel);
    t->back = old & ~TRIBUF_FRESH;
    return t->back;
}

/* Reader: the area to read (the newest published, or the one read last if nothing newer). */
static inline unsigned tribuf_take(tribuf *t)
{
    if (atomic_load_explicit(&t->mid, memory_order_relaxed) & TRIBUF_FRESH)
        t->front = atomic_exchange_explicit(&t->mid, t->front, memory_order_acq_rel) &
                   ~TRIBUF_FRESH;
    return t->front;
}

#endif
