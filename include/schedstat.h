/* schedstat: how long threads were ready to run but waited for a CPU that another thread or
 * program held (the kernel's run delay, the second field of a schedstat file, in ns). blast
 * uses it to tell a busy load box from a slow server. 0 where the kernel does not keep it. */
#ifndef BLAST_SCHEDSTAT_H
#define BLAST_SCHEDSTAT_H

#include <stdint.h>

/* The calling thread's run delay so far. */
uint64_t schedstat_thread_wait_ns(void);
/* The sum over this process's live threads. */
uint64_t schedstat_process_wait_ns(void);

#endif
