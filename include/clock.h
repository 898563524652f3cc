/* clock: the one time base of blast. CLOCK_MONOTONIC in nanoseconds (vDSO, ~16 ns a call).
 * Every intended start, send time and completion time is a value of clock_ns(). */
#ifndef BLAST_CLOCK_H
#define BLAST_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL

/* Returns the monotonic clock in nanoseconds. */
static inline uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

#endif
