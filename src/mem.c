/* mem: lazily resident zeroed blocks (see include/mem.h). The size decides how a block was made,
 * so mem_lazy_free needs it back. */
#include "mem.h"

#include <stdlib.h>
#include <sys/mman.h>

void *mem_lazy_alloc(size_t bytes)
{
    if (bytes < MEM_LAZY_BYTES)
        return calloc(1, bytes ? bytes : 1);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *mem_lazy_map(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void mem_lazy_unmap(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes ? bytes : 1);
}

void mem_lazy_free(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < MEM_LAZY_BYTES)
        free(p);
    else
        munmap(p, bytes);
}
