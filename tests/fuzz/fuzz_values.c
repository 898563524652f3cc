/* fuzz_values: libFuzzer target for the value parsers of src/config.c that stand alone:
 * value_duration and value_rate. The input, NUL-terminated, is given to both.
 *
 * Checked, from config.h's contract: a failure leaves the output untouched; a rate is > 0 and
 * finite. And from the grammar: a duration of several parts is the sum of its parts (split
 * after a unit letter that a digit or '.' follows); "N/s", "N/m", "N/h" equal "N/1s", "N/1m",
 * "N/1h"; "1/D" is 1e9 / D ns for any nonzero duration D. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS_PER_S 1000000000.0L

static void fail(const char *what, const char *s)
{
    fprintf(stderr, "values fuzz invariant broken: %s (input '%s')\n", what, s);
    abort();
}

static void check_duration(const char *s, size_t len)
{
    const uint64_t poison = 0xdeadbeefcafef00dULL;
    uint64_t ns = poison;
    int rc = value_duration(s, &ns);
    if (rc != 0) {
        if (rc != -EINVAL)
            fail("duration: neither 0 nor -EINVAL", s);
        if (ns != poison)
            fail("duration: failure wrote *ns", s);
        return;
    }
    /* Additivity over the first part boundary: "1m30s" = "1m" + "30s". */
    for (size_t i = 1; i < len; i++) {
        char u = s[i - 1], c = s[i];
        if ((u == 's' || u == 'm' || u == 'h') && ((c >= '0' && c <= '9') || c == '.')) {
            char *head = strndup(s, i);
            if (!head)
                abort();
            uint64_t a = poison, b = poison;
            int ra = value_duration(head, &a), rb = value_duration(s + i, &b);
            free(head);
            if (ra || rb)
                fail("duration: parts of a valid duration fail alone", s);
            if (a + b != ns)
                fail("duration: not the sum of its parts", s);
            break;
        }
    }
    /* "1/D" is a rate of one per D. */
    if (ns > 0 && len < 4000) {
        char buf[4096];
        snprintf(buf, sizeof buf, "1/%s", s);
        double r = -1;
        double want = (double)(1.0L * NS_PER_S / (long double)ns);
        int rc = value_rate(buf, &r);
        if (want > VALUE_MAX_RATE) {
            if (rc != -ERANGE)
                fail("rate: 1/D above the bound not -ERANGE", buf);
        } else if (rc != 0) {
            fail("rate: 1/<valid nonzero duration> rejected", buf);
        } else if (r != want) {
            fail("rate: 1/D is not 1e9/D", buf);
        }
    }
}

static void check_rate(const char *s, size_t len)
{
    double r = -1;
    int rc = value_rate(s, &r);
    if (rc != 0) {
        if (rc != -EINVAL && rc != -ERANGE)
            fail("rate: neither 0, -EINVAL nor -ERANGE", s);
        if (r != -1)
            fail("rate: failure wrote *per_s", s);
    } else if (!(r > 0) || !isfinite(r) || r > VALUE_MAX_RATE) {
        fail("rate: not > 0, finite and within VALUE_MAX_RATE", s);
    }
    /* "N/s" and "N/1s" (likewise m, h) name the same rate. */
    if (len >= 2 && len < 4000 && s[len - 2] == '/' &&
        (s[len - 1] == 's' || s[len - 1] == 'm' || s[len - 1] == 'h')) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%.*s1%c", (int)(len - 1), s, s[len - 1]);
        double r1 = -1;
        int rc1 = value_rate(buf, &r1);
        if (rc1 != rc || (rc == 0 && r1 != r))
            fail("rate: N/u and N/1u differ", s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return -1; /* values are short; long inputs only slow the search */
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s); /* the parsers see up to the first NUL */
    check_duration(s, len);
    check_rate(s, len);
    free(s);
    return 0;
}
