/* template_int.h: internal to src/template.c (the compiler) and src/template_expand.c (the
 * expander); not part of blast's interface, which is include/template.h.
 *
 * It holds what both halves must agree on: the layout of a compiled program and the few helpers
 * that compile-time constant folding and run-time evaluation share, so that a folded constant is
 * exactly what expanding the expression would have produced.
 *
 * A compiled template is a flat array of instructions run front to back: TEXT copies a literal
 * segment, value instructions push onto a fixed stack, operators pop and push, EMIT appends the
 * one value left. Every jump is forward (pick() jumps to its chosen argument, each argument jumps
 * past the others), so an expansion is one pass bounded by the program. Invariant: a struct tpl
 * is written only by tpl_compile; after it returns, the program is immutable. */
#ifndef BLAST_TEMPLATE_INT_H
#define BLAST_TEMPLATE_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "template.h"

enum op {
    OP_TEXT, /* copy pool[k, k + a) */
    OP_EMIT, /* pop the value and append it */
    OP_INT,  /* push k */
    OP_STR,  /* push pool[k, k + a) */
    OP_VU,
    OP_ITER,
    OP_SEQ,
    OP_VAR, /* push VU variable a (-ENOENT when unset) */
    OP_COL, /* push data column a */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_NEG,
    OP_RAND, /* pop hi and lo, push a random integer in [lo, hi] */
    OP_PICK, /* a arguments, whose starts are the targets of the a OP_JMP at k */
    OP_JMP,  /* go to a */
    OP_UUID,
    OP_TIME,
    OP_TIME_MS,
    OP_LEN,
    OP_URLENC,
    OP_UPPER,
    OP_LOWER,
    OP_FMT, /* conversion a, flags f, width w, precision pr - 1 (pr 0: none) */
};

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8 };

typedef struct ins {
    uint8_t op, f, w, pr;
    uint32_t a;
    int64_t k;
} ins;

struct tpl {
    ins *code;
    size_t ncode;
    char *pool; /* literal segments and string constants; a literal's text is all of it */
    size_t len; /* of the text */
    size_t max_len, nvars;
    bool literal, uses_data;
    uint8_t *uses; /* a bit per VU variable */
};

static const char HEX_LOW[] = "0123456789abcdef";

/* The text of an integer: optional '-', then digits, within int64. */
static inline bool parse_int(const char *p, size_t n, int64_t *v)
{
    bool neg = n > 0 && p[0] == '-';
    if ((size_t)neg == n)
        return false;
    uint64_t m = 0;
    for (size_t i = neg; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return false;
        m = m * 10 + d; /* m <= 2^63 before, so this cannot wrap */
        if (m > (uint64_t)INT64_MAX + neg)
            return false;
    }
    *v = neg ? (int64_t)(0 - m) : (int64_t)m;
    return true;
}

/* Writes the digits of m in `base` so that they end at `end`; returns where they start. */
static inline char *digits(uint64_t m, unsigned base, const char *hex, char *end)
{
    unsigned shift = base == 16 ? 4 : 3;
    if (base == 10) /* a constant divisor: multiplications, not divisions */
        do {
            *--end = (char)('0' + m % 10);
            m /= 10;
        } while (m);
    else
        do {
            *--end = hex[m & (base - 1)];
            m >>= shift;
        } while (m);
    return end;
}

static inline char *dec(int64_t v, char *end)
{
    char *p = digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, HEX_LOW, end);
    if (v < 0)
        *--p = '-';
    return p;
}

/* -EDOM: division by zero, -ERANGE: overflow (the compiler tells them apart). */
static inline int arith(int op, int64_t a, int64_t b, int64_t *r)
{
    switch (op) {
    case OP_ADD:
        return __builtin_add_overflow(a, b, r) ? -ERANGE : 0;
    case OP_SUB:
        return __builtin_sub_overflow(a, b, r) ? -ERANGE : 0;
    case OP_MUL:
        return __builtin_mul_overflow(a, b, r) ? -ERANGE : 0;
    case OP_NEG:
        return __builtin_sub_overflow((int64_t)0, a, r) ? -ERANGE : 0;
    }
    if (b == 0)
        return -EDOM;
    if (a == INT64_MIN && b == -1) /* C leaves both / and % undefined here */
        return -ERANGE;
    *r = op == OP_DIV ? a / b : a % b;
    return 0;
}

#endif
