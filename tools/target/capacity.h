/* capacity: blast-target's service-rate limit (--capacity N/s), a saturated backend in a box.
 *
 * With a capacity set, every counted response (not /admin/, not 100 Continue) gets a release
 * slot when its request is parsed: slot k of a busy period is due at base + k / N, computed from
 * k (never by adding gaps), so the server releases at most N responses in any second and exactly
 * N a second while it is behind. A request that finds the server idle (its slot would be in the
 * past) starts a new busy period at once. Responses wait in their connection's ring until their
 * slot: the queue grows without bound, as a backend's does, and latency grows with it. */
#ifndef BLAST_TARGET_CAPACITY_H
#define BLAST_TARGET_CAPACITY_H

#include <stdbool.h>
#include <stdint.h>

/* Parses "N/s", "N/m" or a plain N (per second) into *per_s (> 0, at most 10,000,000/s).
 * Returns false on anything else. */
bool capacity_parse(const char *s, double *per_s);

/* Sets the limit (per second; 0: none, the default). */
void capacity_set(double per_s);

/* The limit set (per second; 0: none). */
double capacity_get(void);

/* The release time (CLOCK_MONOTONIC ns) of the next response, asked for at now: now when there
 * is no limit, else its slot (taken in request order); and not before not_before (a /delay
 * job's own time), which does not move the slots of the others. */
uint64_t capacity_slot(uint64_t now, uint64_t not_before);

/* Responses that had to wait for their slot (held past the moment they were ready). */
uint64_t capacity_held(void);

#endif
