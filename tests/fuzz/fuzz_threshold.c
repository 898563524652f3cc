/* fuzz_threshold: libFuzzer target for threshold_parse, the grammar of `threshold =` lines.
 *
 * Checked: a failure leaves t zeroed (nothing to free) with a one-line message; a success has a
 * non-empty expression without a line break, a finite limit >= 0 (a rate's at most 1), a window
 * that is whole seconds; and its expression parsed again gives the same metric, statistic,
 * comparison, limit and window (the expression is what every output prints, so it must mean
 * what the line meant). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "threshold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *s)
{
    fprintf(stderr, "threshold fuzz invariant broken: %s (input '%s')\n", what, s);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    threshold t, u;
    char err[512];
    int rc = threshold_parse(&t, s, err, sizeof err);
    if (rc < 0) {
        if (t.expr || t.filters || t.nfilters)
            fail("a failure left something allocated", s);
        if (!err[0] || strchr(err, '\n'))
            fail("a failure without a one-line message", s);
        free(s);
        return 0;
    }
    if (!t.expr || !t.expr[0] || strchr(t.expr, '\n'))
        fail("empty expression or a line break in it", s);
    if (!isfinite(t.limit) || t.limit < 0)
        fail("limit not finite or negative", s);
    if (threshold_metric_kind(t.metric) == TK_RATE && t.limit > 1)
        fail("a rate limit above 1", s);
    if (t.window_ns % 1000000000ULL)
        fail("window not whole seconds", s);
    char again[600];
    snprintf(again, sizeof again, "%s", t.expr);
    if (threshold_parse(&u, again, err, sizeof err) < 0)
        fail("its own expression does not parse", s);
    if (u.metric != t.metric || u.stat != t.stat || u.op != t.op || u.limit != t.limit ||
        u.p != t.p || u.nfilters != t.nfilters || u.window_ns != t.window_ns)
        fail("its expression means something else", s);
    threshold_free(&u);
    threshold_free(&t);
    free(s);
    return 0;
}
