/* flow: the program runner (see include/flow.h).
 *
 * Invariant: a cursor's rep[0 .. depth) are the repeats whose body holds pc, innermost last.
 * Every program the config compiles ends in PLAN_OP_END, every pick has at least one branch
 * with a positive weight, and every repeat body and branch reaches a STEP or SLEEP before it
 * loops, so flow_next always returns after a bounded number of ops. */
#include "flow.h"

#include <errno.h>
#include <stdlib.h>

uint64_t flow_random(uint64_t *state)
{
    uint64_t x = *state ? *state : UINT64_C(0x9E3779B97F4A7C15);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* A uniform integer in [0, n) from the top bits of a draw (multiply-shift: no modulo bias
 * worth the name for n far below 2^64). */
static uint64_t below(uint64_t *rng, uint64_t n)
{
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)(((u128)flow_random(rng) * n) >> 64);
}

void flow_start(flow_cursor *c)
{
    c->pc = 0;
    c->depth = 0;
}

flow_action flow_next(const plan_op *ops, flow_cursor *c, uint64_t *rng)
{
    for (;;) {
        const plan_op *op = &ops[c->pc];
        switch (op->kind) {
        case PLAN_OP_STEP:
            c->pc++;
            return (flow_action){.kind = FLOW_SEND, .step = op->a};
        case PLAN_OP_SLEEP: {
            uint64_t ns = op->lo;
            if (op->hi > op->lo)
                ns += below(rng, op->hi - op->lo + 1);
            c->pc++;
            return (flow_action){.kind = FLOW_SLEEP, .ns = ns};
        }
        case PLAN_OP_PICK: {
            uint64_t r = below(rng, op->lo);
            uint32_t i = 0;
            while (i + 1 < op->a && ops[c->pc + 1 + i].lo <= r)
                i++;
            c->pc = ops[c->pc + 1 + i].b;
            break;
        }
        case PLAN_OP_JUMP:
            c->pc = op->b;
            break;
        case PLAN_OP_REPEAT:
            c->rep[c->depth].left = op->a;
            c->rep[c->depth].index = 0;
            c->depth++;
            c->pc++;
            break;
        case PLAN_OP_LOOP:
            if (--c->rep[c->depth - 1].left > 0) {
                c->rep[c->depth - 1].index++;
                c->pc = op->b;
            } else {
                c->depth--;
                c->pc++;
            }
            break;
        case PLAN_OP_END:
        default:
            return (flow_action){.kind = FLOW_DONE};
        }
    }
}

uint32_t flow_repeat_index(const flow_cursor *c)
{
    return c->depth ? c->rep[c->depth - 1].index : 0;
}

size_t flow_emit(flow_prog *p, plan_op op)
{
    if (p->err)
        return SIZE_MAX;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        plan_op *ops = realloc(p->ops, cap * sizeof(*ops));
        if (!ops) {
            p->err = -ENOMEM;
            return SIZE_MAX;
        }
        p->ops = ops;
        p->cap = cap;
    }
    p->ops[p->n] = op;
    return p->n++;
}
