/* Unit tests for redact: the scrubber as a table of (secrets, text, expected), then the message
 * mode (fragments), the redacting printf (precision, width, every argument type) and the copies
 * redact_str hands out. Each test starts from no secrets (Criterion runs each in its own
 * process, and each also clears). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "redact.h"

#define R REDACT_MARK

static void secrets(const char *const *s)
{
    redact_clear();
    for (; s && *s; s++)
        cr_assert_eq(redact_add(*s, strlen(*s)), 0);
}

Test(redact, table)
{
    static const struct {
        const char *secrets[4];
        const char *in, *out;
    } rows[] = {
        {{NULL}, "nothing to hide", "nothing to hide"},
        {{"TOKEN123"}, "no secret here", "no secret here"},
        {{"TOKEN123"}, "TOKEN123", R},
        {{"TOKEN123"}, "TOKEN123 at the start", R " at the start"},
        {{"TOKEN123"}, "at the end TOKEN123", "at the end " R},
        {{"TOKEN123"}, "a TOKEN123 b TOKEN123 c", "a " R " b " R " c"},
        {{"TOKEN123"}, "TOKEN123TOKEN123", R}, /* touching: one mark, nothing between */
        {{"TOKEN123"}, "TOKEN12 TOKEN1234", "TOKEN12 " R "4"},
        {{"aaa"}, "aaaaa", R}, /* overlapping occurrences of one secret */
        {{"aaa"}, "aa aaaa a", "aa " R " a"},
        {{"abcdef", "defghi"}, "xxabcdefghixx", "xx" R "xx"}, /* overlapping secrets */
        {{"defghi", "abcdef"}, "xxabcdefghixx", "xx" R "xx"}, /* in either order */
        {{"abc", "xabcx"}, "1xabcx2abc3", "1" R "2" R "3"},   /* one inside another */
        {{"Bearer SECRET", "SECRET"},
         "Authorization: Bearer SECRET; SECRET",
         "Authorization: " R "; " R},
        {{"x"}, "axbxc", "a" R "b" R "c"}, /* short secrets are redacted too */
        {{"x"}, "xxx", R},
        {{"case"}, "CASE Case case", "CASE Case " R}, /* bytes, not letters */
        {{"k=v&t"}, "/p?k=v&t=1", "/p?" R "=1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        secrets(rows[i].secrets);
        char out[256];
        size_t n = redact_copy(out, sizeof out, rows[i].in, false);
        cr_expect_str_eq(out, rows[i].out, "row %zu: got '%s', want '%s'", i, out, rows[i].out);
        cr_expect_eq(n, strlen(rows[i].out), "row %zu", i);
        cr_expect_eq(redact_has(rows[i].in), strcmp(rows[i].in, rows[i].out) != 0, "row %zu", i);
    }
    redact_clear();
}

Test(redact, add_ignores_duplicates_and_empty)
{
    redact_clear();
    cr_expect_eq(redact_add("abc", 3), 0);
    cr_expect_eq(redact_add("abc", 3), 0);
    cr_expect_eq(redact_add("", 0), 0);
    cr_expect_eq(redact_add("abcdef", 3), 0); /* a length, not a C string */
    cr_expect_eq(redact_count(), 1);
    redact_clear();
    cr_expect_eq(redact_count(), 0);
    char out[16];
    redact_copy(out, sizeof out, "abc", false);
    cr_expect_str_eq(out, "abc");
}

Test(redact, copy_is_cut_like_snprintf)
{
    const char *s[] = {"SECRET", NULL};
    secrets(s);
    char out[8];
    size_t n = redact_copy(out, sizeof out, "ab SECRET cd", false);
    cr_expect_eq(n, strlen("ab " R " cd"));
    cr_expect_str_eq(out, "ab [red");
    cr_expect_eq(redact_copy(NULL, 0, "SECRET", false), strlen(R));
}

/* Messages lose a secret cut short by a precision elsewhere: any run of REDACT_FRAGMENT bytes or
 * more that is part of a secret. */
Test(redact, message_fragments)
{
    const char *s[] = {"SECRETTOKEN123456", NULL};
    secrets(s);
    char m[128] = "t.ini:3: [scenario a] rate: 'SECRETTOKEN12' is not a valid rate";
    redact_message(m, sizeof m);
    cr_expect_str_eq(m, "t.ini:3: [scenario a] rate: '" R "' is not a valid rate");
    strcpy(m, "found 'TOKEN123456' at the end"); /* a tail of it, as a pointer into the middle */
    redact_message(m, sizeof m);
    cr_expect_str_eq(m, "found '" R "' at the end");
    strcpy(m, "'SECRETT' is shorter than a fragment"); /* 7 bytes: the documented limit */
    redact_message(m, sizeof m);
    cr_expect_str_eq(m, "'SECRETT' is shorter than a fragment");
    /* a plain copy does not look for fragments */
    char out[64];
    redact_copy(out, sizeof out, "SECRETTOKEN12", false);
    cr_expect_str_eq(out, "SECRETTOKEN12");
    /* a message longer than its buffer after redaction is cut */
    const char *t[] = {"ab", NULL};
    secrets(t);
    char small[8] = "ab ab";
    redact_message(small, sizeof small);
    cr_expect_str_eq(small, "[redact");
}

Test(redact, printf_redacts_before_the_precision_cuts)
{
    const char *s[] = {"SECRETTOKEN123", NULL};
    secrets(s);
    char out[256];
    const char *v = "Bearer SECRETTOKEN123 and more";
    redact_snprintf(out, sizeof out, "'%.10s'", v); /* would have shown "Bearer SEC" */
    cr_expect_str_eq(out, "'Bearer " R "'");
    redact_snprintf(out, sizeof out, "'%.7s'", v); /* cut before the secret: untouched */
    cr_expect_str_eq(out, "'Bearer '");
    redact_snprintf(out, sizeof out, "'%.*s'", 12, v);
    cr_expect_str_eq(out, "'Bearer " R "'");
    redact_snprintf(out, sizeof out, "'%s'", v);
    cr_expect_str_eq(out, "'Bearer " R " and more'");
    redact_snprintf(out, sizeof out, "[%-12s|%12s]", "SECRETTOKEN123", "x");
    cr_expect_str_eq(out, "[" R "  |           x]");
    redact_snprintf(out, sizeof out, "[%*s]", -4, "ab");
    cr_expect_str_eq(out, "[ab  ]");
    /* the secret as a bare precision window of a longer buffer */
    const char *mid = "xxSECRETTOKEN123yy";
    redact_snprintf(out, sizeof out, "%.*s|", 4, mid + 2);
    cr_expect_str_eq(out, R "|");
}

Test(redact, printf_passes_every_other_conversion)
{
    const char *s[] = {"7", NULL}; /* numbers are printed as they are: only %s is redacted */
    secrets(s);
    char out[256], want[256];
    long long ll = -9000000000LL;
    int n =
        redact_snprintf(out, sizeof out,
                        "%d %i %u %ld %lld %zu %zd %x %X %o %c %hhd %hu %jd "
                        "%td %5.2f %e %g %Lf %p %% %s",
                        -7, 7, 7u, 70L, ll, (size_t)77, (ssize_t)-77, 255u, 255u, 8u, 'z', 7, 7,
                        (intmax_t)7, (ptrdiff_t)7, 3.14159, 1e10, 0.5, 2.5L, (void *)0x10, "a7b");
    snprintf(want, sizeof want,
             "%d %i %u %ld %lld %zu %zd %x %X %o %c %hhd %hu %jd %td %5.2f %e %g "
             "%Lf %p %% %s",
             -7, 7, 7u, 70L, ll, (size_t)77, (ssize_t)-77, 255u, 255u, 8u, 'z', 7, 7, (intmax_t)7,
             (ptrdiff_t)7, 3.14159, 1e10, 0.5, 2.5L, (void *)0x10, "a" R "b");
    cr_expect_str_eq(out, want);
    cr_expect_eq(n, (int)strlen(want));
    /* like snprintf: the length it would have written, and a cut output */
    char small[6];
    n = redact_snprintf(small, sizeof small, "%s=%d", "ab7", 12345);
    cr_expect_eq(n, (int)strlen("ab" R "=12345"));
    cr_expect_str_eq(small, "ab[re");
    /* without secrets it is snprintf */
    redact_clear();
    redact_snprintf(out, sizeof out, "%-6.3s|%04d|%.*s", "abcdef", 42, 2, "xyz");
    cr_expect_str_eq(out, "abc   |0042|xy");
}

Test(redact, str_copies_last_for_eight_calls)
{
    const char *s[] = {"SECRET", NULL};
    secrets(s);
    const char *plain = "GET /items";
    cr_expect(redact_str(plain) == plain, "a string without a secret is returned as it is");
    const char *copies[8];
    char texts[8][32];
    for (int i = 0; i < 8; i++) {
        snprintf(texts[i], sizeof texts[i], "GET /x?k=SECRET&i=%d", i);
        copies[i] = redact_str(texts[i]);
    }
    for (int i = 0; i < 8; i++) {
        char want[64];
        snprintf(want, sizeof want, "GET /x?k=" R "&i=%d", i);
        cr_expect_str_eq(copies[i], want);
    }
    cr_expect_null(redact_str(NULL));
    redact_clear();
}
