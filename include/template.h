/* template: the `{{ expr }}` expressions of a scenario's paths, header values and bodies.
 *
 * A text is compiled once, when the scenario is loaded, into an immutable flat program: literal
 * segments and small postfix expression programs whose value-stack depth and scratch space are
 * bounded at compile time. Expanding it for a request is one forward pass over that program into
 * the caller's buffer: no allocation, no recursion, bounded stack, time bounded by the program
 * and the values it copies, and never a byte written past the capacity given. A text without
 * `{{` is a literal and says so, so that blast can keep sending its precompiled bytes.
 *
 * Syntax and semantics: `{{ expr ( | filter )* }}` with integers and strings, + - * / %, unary
 * minus, parentheses, vu, iter, seq, data.COLUMN, VU variables, rand(lo, hi), pick(...), uuid(),
 * time(), time_ms(), urlencode(x), len(x), and the filters urlencode, upper, lower and printf-style
 * formats (%05d, %-8s, %x, ...). Integers are int64; a string that is the text of one (optional
 * '-', digits) is converted where a number is needed. */
#ifndef BLAST_TEMPLATE_H
#define BLAST_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TPL_MAX_DEPTH 32 /* nesting of an expression, and the values it holds at once */
#define TPL_MAX_PICK 64  /* arguments of pick() */

typedef struct tpl tpl; /* a compiled template: immutable after tpl_compile, shareable by threads */

typedef struct tpl_str {
    const char *p; /* NULL: unset */
    uint32_t len;
} tpl_str;

/* What a template may name, fixed at compile time. Indexes are positions in these arrays. The
 * arrays are only read during tpl_compile (names are not kept). A NULL var_max or col_max means
 * "no bound known": UINT32_MAX is assumed. */
typedef struct tpl_names {
    const char *const *vars; /* VU variable names */
    size_t nvars;
    const uint32_t *var_max; /* the longest value each variable can hold */
    const char *const *cols; /* data-file column names (may be 0) */
    size_t ncols;
    const uint32_t *col_max; /* the longest value of each column */
} tpl_names;

/* What one expansion sees. */
typedef struct tpl_env {
    uint64_t vu, iter, seq; /* above INT64_MAX they are a run-time error (-EDOM) when named */
    uint64_t *rng;          /* the VU's xorshift64* state (nonzero), advanced by rand/pick/uuid */
    const tpl_str *vars;    /* nvars entries, by index; p == NULL means the VU has no value yet */
    const tpl_str *cols;    /* ncols entries: the VU's current data row (p == NULL reads as "") */
} tpl_env;

/* Compiles text[0..len) (any bytes; NUL is not special) against names (NULL: no variables and no
 * columns). Returns 0 and stores the template in *out (the caller owns it: tpl_free); -EINVAL
 * when the text is not a valid template (also: an expression nested deeper than TPL_MAX_DEPTH,
 * or one whose expansion could exceed 2^56 bytes), with one line in err (NUL-terminated,
 * truncated to errlen; err may be NULL when errlen is 0) of the form "column N: what is wrong",
 * N the 1-based byte column in text; -ENOMEM. On failure *out is NULL. */
int tpl_compile(tpl **out, const char *text, size_t len, const tpl_names *names, char *err,
                size_t errlen);

/* Frees a template; NULL is accepted. */
void tpl_free(tpl *t);

/* Whether the text had no {{ }} at all (its expansion is always the text itself). */
bool tpl_is_literal(const tpl *t);

/* The text of a literal template (owned by t, *len set; not NUL-terminated), else NULL. */
const char *tpl_literal(const tpl *t, size_t *len);

/* An upper bound of the length of any expansion, and the capacity that tpl_expand is sure to
 * fit in (exact for literals). Expansion builds intermediate strings (a uuid in urlencode, a
 * padded number) in the output buffer past what it has written, so for a few unusual
 * expressions, e.g. len(urlencode(x)), this is more than the longest possible result. */
size_t tpl_max_len(const tpl *t);

/* Whether t names VU variable `var` anywhere (even in a pick() argument); false when var is out
 * of range. */
bool tpl_uses_var(const tpl *t, size_t var);

/* Whether t names any data column. */
bool tpl_uses_data(const tpl *t);

/* Hot path. Expands t into out[0..cap). Returns the number of bytes written (>= 0), or:
 * -ENOENT: a variable it needs is unset (*missing = its index; missing may be NULL),
 * -EDOM: bad arithmetic at run time (non-numeric operand, division by zero, overflow, rand with
 *        lo > hi),
 * -ENOSPC: cap too small (never when cap >= tpl_max_len(t) and every value is within its
 *          var_max / col_max).
 * On an error, out[0..cap) holds unspecified bytes. Never allocates, never writes at or past
 * out + cap; no NUL is appended. env->rng must be valid when t uses rand, pick or uuid. */
ssize_t tpl_expand(const tpl *t, const tpl_env *env, char *out, size_t cap, size_t *missing);

#endif
