/* value: durations, rates and sizes (see include/value.h). Numbers are read as decimal digits
 * with an optional fraction, never through strtod, so "1e3", "inf" or a locale's comma are not
 * numbers here, and every accepted text has one meaning. */
#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"

/* Parses "<digits>[.<digits>]" at *pp: the integer part and the fraction (as fracv / 10^fracn,
 * keeping at most 18 digits). Returns false when there is no digit. */
static bool parse_decimal(const char **pp, uint64_t *intv, uint64_t *fracv, int *fracn,
                          bool *overflow)
{
    const char *p = *pp;
    bool digits = false;
    *intv = 0;
    *fracv = 0;
    *fracn = 0;
    while (*p >= '0' && *p <= '9') {
        if (__builtin_mul_overflow(*intv, 10, intv) ||
            __builtin_add_overflow(*intv, (uint64_t)(*p - '0'), intv))
            *overflow = true;
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (*fracn < 18) {
                *fracv = *fracv * 10 + (uint64_t)(*p - '0');
                (*fracn)++;
            }
            p++;
            digits = true;
        }
    }
    *pp = p;
    return digits;
}

/* 10^n, exactly (n <= 18). */
static long double pow10(int n)
{
    long double p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

int value_duration(const char *s, uint64_t *ns)
{
    if (!s || !*s)
        return -EINVAL;
    if (strcmp(s, "0") == 0) { /* the one number that needs no unit */
        *ns = 0;
        return 0;
    }
    const char *p = s;
    uint64_t total = 0;
    bool overflow = false;
    while (*p) {
        uint64_t iv, fv;
        int fn;
        if (!parse_decimal(&p, &iv, &fv, &fn, &overflow))
            return -EINVAL;
        uint64_t unit;
        if (p[0] == 'u' && p[1] == 's')
            unit = NS_PER_US, p += 2;
        else if (p[0] == 'm' && p[1] == 's')
            unit = NS_PER_MS, p += 2;
        else if (p[0] == 's')
            unit = NS_PER_S, p += 1;
        else if (p[0] == 'm')
            unit = 60 * NS_PER_S, p += 1;
        else if (p[0] == 'h')
            unit = 3600 * NS_PER_S, p += 1;
        else
            return -EINVAL;
        uint64_t part;
        if (__builtin_mul_overflow(iv, unit, &part))
            overflow = true;
        uint64_t frac = (uint64_t)((long double)fv * unit / pow10(fn) + 0.5L);
        if (__builtin_add_overflow(part, frac, &part) ||
            __builtin_add_overflow(total, part, &total))
            overflow = true;
    }
    if (overflow)
        return -EINVAL;
    *ns = total;
    return 0;
}

int value_rate(const char *s, double *per_s)
{
    if (!s)
        return -EINVAL;
    const char *p = s;
    uint64_t iv, fv;
    int fn;
    bool overflow = false;
    if (!parse_decimal(&p, &iv, &fv, &fn, &overflow) || overflow || *p != '/')
        return -EINVAL;
    long double num = (long double)iv;
    num += (long double)fv / pow10(fn);
    p++;
    long double per_ns;
    if (strcmp(p, "s") == 0) {
        per_ns = NS_PER_S;
    } else if (strcmp(p, "m") == 0) {
        per_ns = 60.0L * NS_PER_S;
    } else if (strcmp(p, "h") == 0) {
        per_ns = 3600.0L * NS_PER_S;
    } else {
        uint64_t d;
        if (value_duration(p, &d) || d == 0)
            return -EINVAL;
        per_ns = (long double)d;
    }
    double r = (double)(num * NS_PER_S / per_ns);
    if (!(r > 0) || !isfinite(r))
        return -EINVAL;
    if (r > VALUE_MAX_RATE)
        return -ERANGE;
    *per_s = r;
    return 0;
}

int value_size(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"kib", 1ULL << 10},
        {"mib", 1ULL << 20},
        {"gib", 1ULL << 30},
        {"kb", 1000},
        {"mb", 1000000},
        {"gb", 1000000000},
    };
    if (!s)
        return -EINVAL;
    const char *p = s;
    uint64_t iv, fv;
    int fn;
    bool overflow = false;
    if (!parse_decimal(&p, &iv, &fv, &fn, &overflow) || overflow)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(p, units[i].unit) != 0)
            continue;
        long double v = ((long double)iv + (long double)fv / pow10(fn)) * units[i].mult;
        if (!(v < 18446744073709551615.0L))
            return -EINVAL;
        uint64_t n = (uint64_t)(v + 0.5L);
        *bytes = n;
        return 0;
    }
    return -EINVAL;
}

/* Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a
 * substring), case-insensitive; words longer than 63 characters are never near. */
static unsigned edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 1000;
    unsigned d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            char x = (char)tolower((unsigned char)a[i - 1]);
            char y = (char)tolower((unsigned char)b[j - 1]);
            unsigned best = d[i - 1][j - 1] + (x != y);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && x == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == y && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *value_suggest(const char *word, const char *const *cands, size_t n)
{
    size_t len = strlen(word);
    unsigned limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    unsigned bestd = limit + 1;
    for (size_t i = 0; i < n; i++) {
        unsigned dd = edit_distance(word, cands[i]);
        if (dd < bestd) {
            bestd = dd;
            best = cands[i];
        }
    }
    return best;
}

int value_col_error(char *err, size_t errlen, size_t col, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "column %zu: ", col);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -EINVAL;
}
