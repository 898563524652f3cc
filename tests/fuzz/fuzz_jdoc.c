/* fuzz_jdoc: libFuzzer target for jdoc_parse, the JSON reader of blast compare.
 *
 * Checked: a failure gives no tree, an offset within the input and a message; a success gives a
 * tree whose values count at most JDOC_MAX_VALUES, nest at most JDOC_MAX_DEPTH, hold finite or
 * infinite (never NaN) numbers and strings whose stated length fits what they own; and the
 * document parses to the same shape when a space is put on each side of it. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "jdoc fuzz invariant broken: %s\n", what);
    abort();
}

/* Values in d (d included); checks each on the way. */
static size_t walk(const jdoc *d, unsigned depth)
{
    if (depth > JDOC_MAX_DEPTH + 1)
        fail("nested deeper than JDOC_MAX_DEPTH");
    if (d->kind < JDOC_NULL || d->kind > JDOC_OBJECT)
        fail("a value of no kind");
    if (d->kind == JDOC_NUMBER && isnan(d->num))
        fail("a NaN number");
    if (d->kind == JDOC_STRING && (!d->str || d->str[d->len] != '\0'))
        fail("a string not terminated at its length");
    size_t n = 1;
    for (size_t i = 0; (d->kind == JDOC_ARRAY || d->kind == JDOC_OBJECT) && i < d->n; i++) {
        if ((d->kind == JDOC_OBJECT) != (d->kids[i].key != NULL))
            fail("an object member without a name, or an array element with one");
        n += walk(&d->kids[i], depth + 1);
    }
    return n;
}

static bool same(const jdoc *a, const jdoc *b)
{
    if (a->kind != b->kind || a->n != b->n || a->b != b->b || a->len != b->len)
        return false;
    if (a->kind == JDOC_NUMBER && !(a->num == b->num))
        return false;
    if (a->kind == JDOC_STRING && memcmp(a->str, b->str, a->len) != 0)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!same(&a->kids[i], &b->kids[i]))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jdoc *d = NULL, *e = NULL;
    size_t at = (size_t)-1;
    char err[256] = "";
    int rc = jdoc_parse((const char *)data, size, &d, &at, err, sizeof err);
    if (rc < 0) {
        if (d)
            fail("a failure left a tree");
        if (rc != -ENOMEM && (at > size || !err[0]))
            fail("a failure without an offset within the input or a message");
        return 0;
    }
    if (walk(d, 0) > JDOC_MAX_VALUES)
        fail("more values than JDOC_MAX_VALUES");
    char *padded = malloc(size + 2);
    if (padded) {
        padded[0] = ' ';
        memcpy(padded + 1, data, size);
        padded[size + 1] = ' ';
        if (jdoc_parse(padded, size + 2, &e, &at, err, sizeof err) < 0 || !same(d, e))
            fail("blanks around the document changed it");
        jdoc_free(e);
        free(padded);
    }
    jdoc_free(d);
    return 0;
}
