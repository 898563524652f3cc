/* jdoc: a small JSON (RFC 8259) document reader that builds a tree, for the tools that read
 * whole documents blast wrote (blast compare). Not for the hot path: it allocates per value.
 * (json.h is the allocation-free path lookup the request path uses.)
 *
 * Bounded on any input: nesting deeper than JDOC_MAX_DEPTH and documents of more than
 * JDOC_MAX_VALUES values are errors, not a deep recursion or an unbounded allocation. */
#ifndef BLAST_JDOC_H
#define BLAST_JDOC_H

#include <stdbool.h>
#include <stddef.h>

#define JDOC_MAX_DEPTH 128
#define JDOC_MAX_VALUES (1u << 22)

enum jdoc_kind {
    JDOC_NULL = 1,
    JDOC_BOOL,
    JDOC_NUMBER,
    JDOC_STRING,
    JDOC_ARRAY,
    JDOC_OBJECT,
};

typedef struct jdoc jdoc;

/* One value. An array's or object's members are kids[0..n) in document order; an object
 * member's name is its key. Everything is owned by the root (jdoc_free). */
struct jdoc {
    int kind;   /* enum jdoc_kind */
    bool b;     /* JDOC_BOOL */
    double num; /* JDOC_NUMBER (finite or +-HUGE_VAL when out of double's range) */
    char *str;  /* JDOC_STRING: unescaped, NUL-terminated (may also hold NULs: see len) */
    size_t len; /* JDOC_STRING: bytes in str */
    char *key;  /* the member name (unescaped, NUL-terminated) when in an object, else NULL */
    jdoc *kids; /* JDOC_ARRAY, JDOC_OBJECT */
    size_t n;   /* number of kids */
};

/* Parses text[0..len) (no NUL needed after it) as one JSON document, whitespace around it
 * allowed. Returns 0 with *out (the caller owns it: jdoc_free); -EINVAL when it is not JSON, with
 * *at set to the offset (from 0) of the byte where it went wrong and a short reason in err
 * ("expected ':' after a member name"); -ENOMEM. On failure *out is NULL. */
int jdoc_parse(const char *text, size_t len, jdoc **out, size_t *at, char *err, size_t errlen);

/* Frees a document from jdoc_parse; NULL is accepted. */
void jdoc_free(jdoc *d);

/* The first member named key of object d, or NULL when d is NULL, not an object, or lacks it. */
const jdoc *jdoc_get(const jdoc *d, const char *key);

/* d's number in *v when d is a number; false otherwise (also for NULL). */
bool jdoc_number(const jdoc *d, double *v);

#endif
