/* Unit tests for jdoc: documents that parse (and what they hold), and documents that do not, with
 * the offset of the byte where each goes wrong. Inputs are exact-size heap copies, so an
 * over-read is an ASan error in the sanitizer build. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc.h"

static int parse(const char *s, size_t n, jdoc **d, size_t *at, char *err, size_t errlen)
{
    char *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, s, n);
    int rc = jdoc_parse(copy, n, d, at, err, errlen);
    free(copy);
    return rc;
}

Test(jdoc, values)
{
    const char *doc =
        " {\"a\": [1, -2.5e2, true, false, null], \"s\": \"x\\n\\u00e9\\ud83d\\ude00\","
        " \"o\": {}, \"e\": [], \"a\": 7} ";
    jdoc *d;
    size_t at;
    char err[128];
    cr_assert_eq(parse(doc, strlen(doc), &d, &at, err, sizeof err), 0, "%s at %zu", err, at);
    cr_assert_eq(d->kind, JDOC_OBJECT);
    cr_assert_eq(d->n, 5);
    const jdoc *a = jdoc_get(d, "a"); /* the first of two */
    cr_assert_eq(a->kind, JDOC_ARRAY);
    cr_assert_eq(a->n, 5);
    double v;
    cr_assert(jdoc_number(&a->kids[0], &v) && v == 1);
    cr_assert(jdoc_number(&a->kids[1], &v) && v == -250);
    cr_assert(a->kids[2].kind == JDOC_BOOL && a->kids[2].b);
    cr_assert(a->kids[3].kind == JDOC_BOOL && !a->kids[3].b);
    cr_assert_eq(a->kids[4].kind, JDOC_NULL);
    const jdoc *s = jdoc_get(d, "s");
    cr_assert_eq(s->kind, JDOC_STRING);
    cr_assert_str_eq(s->str, "x\n\xc3\xa9\xf0\x9f\x98\x80");
    cr_assert_eq(s->len, 8);
    cr_assert_eq(jdoc_get(d, "o")->n, 0);
    cr_assert_eq(jdoc_get(d, "e")->kind, JDOC_ARRAY);
    cr_assert_null(jdoc_get(d, "missing"));
    cr_assert_null(jdoc_get(a, "a"), "an array has no members");
    cr_assert_null(jdoc_get(NULL, "a"));
    cr_assert(!jdoc_number(s, &v));
    jdoc_free(d);
    jdoc_free(NULL);
}

Test(jdoc, errors_and_where)
{
    static const struct {
        const char *doc;
        size_t at; /* from 0 */
        const char *why;
    } rows[] = {
        {"", 0, "end of the file"},
        {"   ", 3, "end of the file"},
        {"{", 1, "member name"},
        {"{\"a\" 1}", 5, "expected ':'"},
        {"{\"a\":1,}", 7, "member name"},
        {"{\"a\":1 \"b\":2}", 7, "expected ',' or '}'"},
        {"[1 2]", 3, "expected ',' or ']'"},
        {"[1,]", 3, "expected a value"},
        {"01", 1, "more after the end"},
        {"-", 1, "expected a digit"},
        {"1.", 2, "after '.'"},
        {"1e", 2, "exponent"},
        {"tru", 0, "expected a value"},
        {"nul", 0, "expected a value"},
        {"\"abc", 4, "not closed"},
        {"\"a\\", 3, "not closed"},
        {"\"\\x\"", 2, "unknown escape"},
        {"\"\\u12\"", 5, "4 hex digits"},
        {"\"\\udc00\"", 7, "lone low surrogate"},
        {"\"\\ud800\"", 7, "without its low half"},
        {"\"\\ud800\\u0041\"", 13, "without its low half"},
        {"\"a\tb\"", 2, "control byte"},
        {"{} {}", 3, "more after the end"},
        {"'a'", 0, "expected a value"},
        {"NaN", 0, "expected a value"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jdoc *d = (jdoc *)1;
        size_t at;
        char err[128];
        int rc = parse(rows[i].doc, strlen(rows[i].doc), &d, &at, err, sizeof err);
        cr_expect_eq(rc, -EINVAL, "row %zu (%s): rc %d", i, rows[i].doc, rc);
        cr_expect_null(d, "row %zu", i);
        cr_expect_eq(at, rows[i].at, "row %zu (%s): at %zu, want %zu (%s)", i, rows[i].doc, at,
                     rows[i].at, err);
        cr_expect(strstr(err, rows[i].why), "row %zu (%s): '%s' lacks '%s'", i, rows[i].doc, err,
                  rows[i].why);
    }
}

/* Nesting is bounded (no deep recursion), and so is the number of values. */
Test(jdoc, bounds)
{
    size_t n = 200000;
    char *deep = malloc(n);
    cr_assert_not_null(deep);
    memset(deep, '[', n);
    jdoc *d;
    size_t at;
    char err[128];
    cr_assert_eq(jdoc_parse(deep, n, &d, &at, err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "deeper"), "%s", err);
    cr_assert_eq(at, JDOC_MAX_DEPTH);
    /* 128 levels are fine */
    memset(deep, ']', 256);
    memset(deep, '[', 128);
    cr_assert_eq(jdoc_parse(deep, 256, &d, &at, err, sizeof err), 0, "%s", err);
    jdoc_free(d);
    free(deep);

    size_t values = JDOC_MAX_VALUES + 1, len = values * 2 + 1;
    char *wide = malloc(len);
    cr_assert_not_null(wide);
    wide[0] = '[';
    for (size_t i = 0; i < values; i++) {
        wide[1 + 2 * i] = '0';
        wide[2 + 2 * i] = i + 1 < values ? ',' : ']';
    }
    cr_assert_eq(jdoc_parse(wide, len, &d, &at, err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "values"), "%s", err);
    free(wide);
}
