/* flow: what a VU does next within an iteration.
 *
 * A scenario's flow (steps, weighted picks, repeats, think times, sub-flows) is compiled once
 * into a flat program of plan_ops (plan.h). Running it is a pure function of the program, the
 * VU's cursor and its random state: flow_next says "send step s", "think for d ns" or "the
 * iteration is over", and touches neither the ring nor the clock, so a flow is tested as a table
 * of programs and the action traces they give. The worker decides when each action happens and
 * what a failed step means. */
#ifndef BLAST_FLOW_H
#define BLAST_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* Repeats nested deeper than this are refused when the flow is compiled. */
#define FLOW_MAX_DEPTH 8

typedef struct flow_cursor {
    uint32_t pc;
    uint8_t depth;
    struct {
        uint32_t left;  /* passes still to run, this one included */
        uint32_t index; /* 0-based number of this pass */
    } rep[FLOW_MAX_DEPTH];
} flow_cursor;

typedef enum {
    FLOW_SEND,  /* send step `step` */
    FLOW_SLEEP, /* think for `ns` nanoseconds, then ask again */
    FLOW_DONE,  /* the program has ended */
} flow_kind;

typedef struct flow_action {
    flow_kind kind;
    uint32_t step;
    uint64_t ns;
} flow_action;

/* Puts c at the start of a program. */
void flow_start(flow_cursor *c);

/* The next action of program ops (ending in PLAN_OP_END) for cursor c, which it advances; rng is
 * the VU's xorshift64* state (picks and think times draw from it). After FLOW_DONE it keeps
 * answering FLOW_DONE. */
flow_action flow_next(const plan_op *ops, flow_cursor *c, uint64_t *rng);

/* The 0-based pass of the innermost repeat c is in (the VU variable `repeat`), 0 outside any. */
uint32_t flow_repeat_index(const flow_cursor *c);

/* xorshift64* (Vigna): the VUs' random numbers. A zero state is replaced by a fixed seed. */
uint64_t flow_random(uint64_t *state);

/* ---- building programs (config time) ---- */

typedef struct flow_prog {
    plan_op *ops;
    size_t n, cap;
    int err; /* 0, or -ENOMEM once an append failed (later appends do nothing) */
} flow_prog;

/* Appends an op and returns its index (for patching jumps), or SIZE_MAX after -ENOMEM. */
size_t flow_emit(flow_prog *p, plan_op op);

#endif
