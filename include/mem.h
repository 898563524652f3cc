/* mem: zeroed allocations whose pages cost nothing until they are written.
 *
 * Large per-scenario and per-step arrays (histogram counts, request queues) are sized for the
 * worst case but usually hold a few entries. glibc's calloc may take such a block from the heap
 * and clear it (every page resident), and even a large malloc writes a header on its first
 * page; an anonymous mapping of its own is zero and untouched until used. */
#ifndef BLAST_MEM_H
#define BLAST_MEM_H

#include <stddef.h>

/* Blocks at least this large get a mapping of their own; smaller ones come from calloc. */
#define MEM_LAZY_BYTES (16u * 1024)

/* Returns `bytes` zeroed bytes (the caller frees them with mem_lazy_free and the same size), or
 * NULL when out of memory. bytes 0 gives a valid pointer to nothing. */
void *mem_lazy_alloc(size_t bytes);

/* Frees what mem_lazy_alloc(bytes) returned; NULL is accepted. */
void mem_lazy_free(void *p, size_t bytes);

/* mem_lazy_alloc for a block that is mostly read as zeros and rarely written (a VU's cookie
 * jar): a mapping of its own whatever its size, so reading it costs no memory. Freed with
 * mem_lazy_unmap and the same size. */
void *mem_lazy_map(size_t bytes);
void mem_lazy_unmap(void *p, size_t bytes);

#endif
