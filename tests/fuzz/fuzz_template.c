/* fuzz_template: libFuzzer target for the template compiler and expander (tpl_compile and
 * tpl_expand in src/template.c).
 *
 * Input: the template text, compiled against fixed names (four VU variables with small bounds,
 * one of them unset at expansion, and two data columns whose values are as long as their
 * bounds allow). Checks:
 * - compile returns 0 or -EINVAL; an error is one line "column N: ..." with N within the text,
 *   and no template;
 * - a literal is exactly a text without "{{", tpl_literal gives the text back, its bound is its
 *   length, and it expands to itself;
 * - expanding into a heap block of exactly tpl_max_len bytes (ASan catches any byte past it)
 *   never gives -ENOSPC and never more than the bound; -ENOENT names the unset variable, which
 *   the template uses; the only other error is -EDOM;
 * - expanding into a block one byte shorter than the last result writes within it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT (1u << 20) /* bounds above this (urlencode of urlencode of ...) get a short buffer   \
                          */

static const char *const VARS[] = {"token", "id", "empty", "unset"};
static const uint32_t VAR_MAX[] = {8, 3, 0, 16};
static const char *const COLS[] = {"name", "email"};
static const uint32_t COL_MAX[] = {5, 12};
#define UNSET 3

static const uint8_t *input;
static size_t input_len;

static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "invariant broken: %s\ninput (%zu bytes): %.*s\n", what, input_len,
            (int)input_len, (const char *)input);
    abort();
}

/* Expands t into a heap block of exactly cap bytes; returns what tpl_expand did. */
static ssize_t expand(const tpl *t, size_t cap, char *copy, size_t *missing)
{
    static const tpl_str vars[] = {{"a/b C~9%", 8}, {"-42", 3}, {"", 0}, {NULL, 0}};
    static const tpl_str cols[] = {{"Z\xc3\xab\x00z", 5}, {"x+y@ex.com\t!", 12}};
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    tpl_env env = {.vu = 7, .iter = 3, .seq = 41, .rng = &rng, .vars = vars, .cols = cols};
    char *buf = malloc(cap ? cap : 1);
    check(buf != NULL, "malloc");
    *missing = SIZE_MAX;
    ssize_t n = tpl_expand(t, &env, buf, cap, missing);
    if (copy && n > 0)
        memcpy(copy, buf, (size_t)n);
    free(buf);
    check(n >= 0 || n == -ENOENT || n == -EDOM || n == -ENOSPC, "an unexpected error code");
    check(n < 0 || (size_t)n <= cap, "wrote more than the capacity");
    check(n != -ENOENT || *missing == UNSET, "-ENOENT without the unset variable");
    check(n != -ENOENT || tpl_uses_var(t, UNSET), "-ENOENT for a variable it does not use");
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const tpl_names names = {
        .vars = VARS, .nvars = 4, .var_max = VAR_MAX, .cols = COLS, .ncols = 2, .col_max = COL_MAX};
    const char *text = (const char *)data;
    char err[256];
    tpl *t = (tpl *)1;
    input = data;
    input_len = size;
    memset(err, 'x', sizeof(err));
    int rc = tpl_compile(&t, text, size, &names, err, sizeof(err));
    check(rc == 0 || rc == -EINVAL, "tpl_compile returned neither 0 nor -EINVAL");
    if (rc < 0) {
        unsigned long col = 0;
        check(t == NULL, "a template despite the error");
        check(memchr(err, 0, sizeof(err)) != NULL, "error not NUL-terminated");
        check(strchr(err, '\n') == NULL, "error on more than one line");
        check(sscanf(err, "column %lu: ", &col) == 1 && col >= 1 && col <= size + 1,
              "error without a column within the text");
        return 0;
    }
    bool literal = memmem(text, size, "{{", 2) == NULL;
    size_t max = tpl_max_len(t), len = 0, missing;
    check(tpl_is_literal(t) == literal, "tpl_is_literal disagrees with the text");
    const char *lit = tpl_literal(t, &len);
    check(!literal || (lit && len == size && memcmp(lit, text, size) == 0 && max == size),
          "a literal is not its text");
    check(literal || lit == NULL, "tpl_literal of a template with {{ }}");
    check(!tpl_uses_var(t, 4) && !tpl_uses_var(t, SIZE_MAX), "uses a variable out of range");

    char *copy = malloc(max < LIMIT ? max + 1 : LIMIT);
    check(copy != NULL, "malloc");
    ssize_t n = expand(t, max < LIMIT ? max : LIMIT, copy, &missing);
    check(max >= LIMIT || n != -ENOSPC, "-ENOSPC with a buffer of tpl_max_len bytes");
    check(!literal || (n == (ssize_t)size && memcmp(copy, text, size) == 0),
          "a literal does not expand to itself");
    if (n > 0)
        expand(t, (size_t)n - 1, NULL, &missing);
    free(copy);
    tpl_free(t);
    return 0;
}
