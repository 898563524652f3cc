/* Tests for template: expansions as a table (every operator, name, function and filter, with
 * precedence, constants and C division), every printf format held against snprintf, urlencode of
 * all byte values, the random functions (uuid form, rand ranges and ends, pick coverage and
 * laziness), the clock, literals, bounds, which names a template uses, run-time errors and
 * compile errors as tables of exact messages, and the depth limit.
 *
 * Each expansion runs into a buffer whose bytes past the capacity are a known pattern that must
 * survive, with tpl_max_len as the capacity and then every shorter one (which must give -ENOSPC).
 * That expansion does not allocate is checked process-wide by the integration suite
 * (tests/preload/malloc_count.c): hooking malloc inside this binary would fight ASan's. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "template.h"

#define GUARD 32
#define SEED 0x0123456789abcdefULL

/* The names most tests compile against, and the values they expand with. */
enum { V_TOKEN, V_UPLOAD, V_NAME, V_EMPTY, V_UNSET, V_NUM, NVARS };
static const char *const VARS[] = {"token", "upload_id", "name", "empty", "unset", "num"};
static const uint32_t VAR_MAX[] = {16, 12, 10, 4, 8, 5};
static const char *const COLS[] = {"user", "email"};
static const uint32_t COL_MAX[] = {8, 20};
static const tpl_names NAMES = {VARS, NVARS, VAR_MAX, COLS, 2, COL_MAX};
static const tpl_str VALUES[] = {{"abc123", 6}, {"u-77", 4}, {"Jo Doe/x", 8},
                                 {"", 0},       {NULL, 0},   {"-12", 3}};
static const tpl_str ROW[] = {{"alice", 5}, {"a@b.c", 5}};

static tpl_env env_with(uint64_t *rng)
{
    *rng = SEED;
    return (tpl_env){.vu = 3, .iter = 7, .seq = 41, .rng = rng, .vars = VALUES, .cols = ROW};
}

static tpl *compile_with(const char *text, const tpl_names *names)
{
    tpl *t = NULL;
    char err[256] = "";
    int rc = tpl_compile(&t, text, strlen(text), names, err, sizeof(err));
    cr_assert_eq(rc, 0, "compile %s: %d (%s)", text, rc, err);
    cr_assert_not_null(t, "compile %s", text);
    return t;
}

static tpl *compile(const char *text)
{
    return compile_with(text, &NAMES);
}

/* Expands into buf[0..cap) and checks that buf[cap..cap + GUARD) kept its pattern. */
static ssize_t expand_guarded(const tpl *t, const tpl_env *env, char *buf, size_t cap,
                              size_t *missing, const char *row)
{
    memset(buf, 0x5a, cap + GUARD);
    ssize_t n = tpl_expand(t, env, buf, cap, missing);
    for (size_t i = cap; i < cap + GUARD; i++)
        cr_assert_eq((unsigned char)buf[i], 0x5a, "%s: cap %zu: byte %zu written", row, cap, i);
    return n;
}

/* Expands t with a fresh env into a buffer of tpl_max_len and returns the text (caller frees).
 * Checks the result against the bound, then that every shorter capacity gives -ENOSPC. */
static char *expand_checked(const tpl *t, const char *row, size_t *len)
{
    uint64_t rng;
    tpl_env env = env_with(&rng);
    size_t max = tpl_max_len(t);
    char *buf = malloc(2 * (max + GUARD)); /* the result, then room for the short tries */
    cr_assert_not_null(buf);
    ssize_t n = expand_guarded(t, &env, buf, max, NULL, row);
    cr_assert_geq(n, 0, "%s: expand: %zd", row, n);
    cr_assert_leq((size_t)n, max, "%s: %zd bytes over the bound %zu", row, n, max);
    for (size_t cap = 0; cap < (size_t)n; cap++) {
        env = env_with(&rng);
        ssize_t r = expand_guarded(t, &env, buf + n, cap, NULL, row); /* keep the result */
        cr_assert_eq(r, -ENOSPC, "%s: cap %zu of %zd: got %zd", row, cap, n, r);
    }
    *len = (size_t)n;
    return buf;
}

Test(template, expansions)
{
    static const struct {
        const char *text, *want;
    } rows[] = {
        {"", ""},
        {"/plain/path?q=1", "/plain/path?q=1"},
        {"{{ 1 + 2 * 3 }}", "7"},
        {"{{ (1 + 2) * 3 }}", "9"},
        {"{{ 2 * 3 + 4 * 5 }}", "26"},
        {"{{ 10 - 4 - 3 }}", "3"},
        {"{{ 100 / 10 / 5 }}", "2"},
        {"{{ 2 * (3 + (4 - 1)) }}", "12"},
        {"{{ 1 - 2 * 3 % 4 }}", "-1"},
        {"{{ -vu }}", "-3"},
        {"{{ - -vu }}", "3"},
        {"{{ -(vu + 1) * 2 }}", "-8"},
        {"{{ 2 - -2 }}", "4"},
        {"{{ 7 / 2 }} {{ -7 / 2 }} {{ 7 / -2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }}",
         "3 -3 -3 1 -1 1"},
        {"{{ vu * iter + seq }}", "62"},
        {"{{ vu / 2 }} {{ seq % vu }} {{ seq - iter }}", "1 2 34"},
        {"{{ seq % 5000 + 1 | %05d }}", "00042"},
        {"{{vu}}/{{iter}}/{{seq}}", "3/7/41"},
        {"{{\tvu\t+\t1\t}}", "4"},
        {"{{ 9223372036854775807 }}", "9223372036854775807"},
        {"{{ -9223372036854775807 - 1 }}", "-9223372036854775808"},
        {"{{ 0 }} {{ 007 }}", "0 7"},
        {"{{ num + 1 }}", "-11"},
        {"{{ num * -num }}", "-144"},
        {"{{ \"12\" + 1 }}", "13"},
        {"{{ \"-0012\" * 2 }}", "-24"},
        {"{{ token }}", "abc123"},
        {"Bearer {{ token }}!", "Bearer abc123!"},
        {"{{ upload_id }}{{ empty }}|", "u-77|"},
        {"{{ data.user }}:{{ data.email }}", "alice:a@b.c"},
        {"{{ \"a\\\"b\\\\c\\nd\\te\" }}", "a\"b\\c\nd\te"},
        {"{{ \"{{\" }}x{{ \"}}\" }}", "{{x}}"},
        {"a}}b{{ 1 }}}}", "a}}b1}}"},
        {"{{ \"\" }}|{{ \"x | y\" }}", "|x | y"},
        {"{{ token | upper }}", "ABC123"},
        {"{{ \"MiXeD 9\xc3\xa9\" | lower }}", "mixed 9\xc3\xa9"},
        {"{{ name | upper | lower }}", "jo doe/x"},
        {"{{ name | urlencode }}", "Jo%20Doe%2Fx"},
        {"{{ urlencode(name) }}", "Jo%20Doe%2Fx"},
        {"{{ name | urlencode | lower }}", "jo%20doe%2fx"},
        {"{{ name | upper | urlencode }}", "JO%20DOE%2FX"},
        {"{{ name | urlencode | urlencode }}", "Jo%2520Doe%252Fx"},
        {"{{ urlencode(urlencode(\"a b\")) }}", "a%2520b"},
        {"{{ data.email | urlencode }}", "a%40b.c"},
        {"{{ num | urlencode }} {{ vu | urlencode | upper }}", "-12 3"},
        {"{{ len(token) }} {{ len(\"\") }} {{ len(empty) }} {{ len(-123) }}", "6 0 0 4"},
        {"{{ len(vu * 1000) }} {{ len(uuid()) }} {{ len(urlencode(name)) }}", "4 36 12"},
        {"{{ len(token) * 2 + 1 }}", "13"},
        {"{{ rand(5, 5) }} {{ rand(vu, vu) }} {{ rand(-1, -1) }}", "5 3 -1"},
        {"{{ pick(7) }} {{ pick(token) }} {{ pick(\"x\") | upper }}", "7 abc123 X"},
        {"{{ pick(pick(1)) + pick(2) }}", "3"},
        {"{{ vu | %d }} {{ 42 | %i }}", "3 42"},
        {"{{ vu | %5d }}|{{ vu | %-5d }}|", "    3|3    |"},
        {"{{ vu | %+d }} {{ vu | % d }} {{ -vu | %+d }}", "+3  3 -3"},
        {"{{ -vu | %05d }} {{ vu | %.3d }} {{ vu | %-05d }}|", "-0003 003 3    |"},
        {"{{ 255 | %x }} {{ 255 | %X }} {{ 8 | %o }} {{ -1 | %u }}",
         "ff FF 10 18446744073709551615"},
        {"{{ -1 | %x }} {{ -1 | %o }}", "ffffffffffffffff 1777777777777777777777"},
        {"{{ token | %s }} {{ vu | %s }}", "abc123 3"},
        {"{{ token | %8s }}|{{ token | %-8s }}|{{ token | %.3s }}", "  abc123|abc123  |abc"},
        {"{{ vu * 100 | %6.2s }}", "    30"},
        {"{{ num | %05d }} {{ \"00042\" | %d }}", "-0012 42"},
        {"{{ vu | %05d | urlencode }} {{ seq | %x | upper }}", "00003 29"},
        {"{{ token | %8s | urlencode }}", "%20%20abc123"},
        {"{{ 0 | %.0d }}|{{ 0 | %d }}", "|0"},
        {"{{ data.user | %-8s | upper }}|", "ALICE   |"},
        {"{{ name | %.2s | %4s | urlencode }}", "%20%20Jo"},
        {"{{ \"007\" | %d | %5s }}", "    7"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = compile(rows[i].text);
        size_t len, want = strlen(rows[i].want);
        char *got = expand_checked(t, rows[i].text, &len);
        cr_expect(len == want && memcmp(got, rows[i].want, want) == 0, "%s: got '%.*s', want '%s'",
                  rows[i].text, (int)len, got, rows[i].want);
        free(got);
        tpl_free(t);
    }
}

/* Every combination of flags, a few widths and precisions, each integer conversion and some
 * extreme values, held against snprintf with the same format. */
Test(template, formats_match_snprintf)
{
    static const char *const flags[] = {"",   "-",  "0",  "+",  " ",   "-0",
                                        "-+", "0+", "0 ", "+ ", "-0+", "-0+ "};
    static const char *const widths[] = {"", "1", "7", "22", "64"};
    static const char *const precs[] = {"", ".", ".0", ".3", ".25", ".64"};
    static const char *const values[] = {
        "0", "1", "-1", "42", "-4095", "9223372036854775807", "-9223372036854775807 - 1"};
    static const long long nums[] = {0, 1, -1, 42, -4095, INT64_MAX, INT64_MIN};
    static const char convs[] = "diuxXos";
    char text[160], fmt[32], want[160];
    for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
        for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
            for (size_t p = 0; p < sizeof(precs) / sizeof(precs[0]); p++)
                for (size_t c = 0; convs[c]; c++)
                    for (size_t v = 0; v < sizeof(nums) / sizeof(nums[0]); v++) {
                        bool s = convs[c] == 's';
                        snprintf(fmt, sizeof(fmt), "%%%s%s%s%s%c", flags[f], widths[w], precs[p],
                                 s ? "" : "ll", convs[c]);
                        if (s) { /* %s formats the number's text */
                            char digits[24];
                            snprintf(digits, sizeof(digits), "%lld", nums[v]);
                            snprintf(want, sizeof(want), fmt, digits);
                        } else if (convs[c] == 'd' || convs[c] == 'i') {
                            snprintf(want, sizeof(want), fmt, nums[v]);
                        } else {
                            snprintf(want, sizeof(want), fmt, (unsigned long long)nums[v]);
                        }
                        snprintf(text, sizeof(text), "{{ %s | %%%s%s%s%c }}", values[v], flags[f],
                                 widths[w], precs[p], convs[c]);
                        tpl *t = compile(text);
                        size_t len;
                        char *got = expand_checked(t, text, &len);
                        cr_expect(len == strlen(want) && memcmp(got, want, len) == 0,
                                  "%s: got '%.*s', snprintf '%s'", text, (int)len, got, want);
                        free(got);
                        tpl_free(t);
                    }
}

Test(template, urlencode_every_byte)
{
    static const char *const vars[] = {"bytes"};
    static const uint32_t max[] = {256};
    const tpl_names names = {.vars = vars, .nvars = 1, .var_max = max};
    char bytes[256], want[3 * 256];
    size_t n = 0;
    for (int b = 0; b < 256; b++) {
        bytes[b] = (char)b;
        bool keep = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
                    b == '-' || b == '.' || b == '_' || b == '~';
        n += keep ? (size_t)snprintf(want + n, 2, "%c", b)
                  : (size_t)snprintf(want + n, 4, "%%%02X", b);
    }
    const tpl_str value = {bytes, 256};
    /* From the variable itself, from a copy built in the buffer (in place), and as a function. */
    static const char *const rows[] = {"{{ bytes | urlencode }}", "{{ urlencode(bytes) }}",
                                       "{{ bytes | %s | urlencode }}"};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = compile_with(rows[i], &names);
        cr_expect_eq(tpl_max_len(t), 3 * 256, "%s: bound %zu", rows[i], tpl_max_len(t));
        char out[3 * 256];
        uint64_t rng = SEED;
        tpl_env env = {.rng = &rng, .vars = &value};
        ssize_t got = tpl_expand(t, &env, out, sizeof(out), NULL);
        cr_expect(got == (ssize_t)n && memcmp(out, want, n) == 0, "%s: %zd bytes, want %zu",
                  rows[i], got, n);
        tpl_free(t);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

Test(template, uuid_form_and_uniqueness)
{
    enum { N = 2000 };
    static char seen[N][37];
    tpl *t = compile("{{ uuid() }}");
    cr_assert_eq(tpl_max_len(t), 36);
    uint64_t rng = SEED;
    tpl_env env = {.rng = &rng};
    for (int i = 0; i < N; i++) {
        char *u = seen[i];
        uint64_t before = rng;
        cr_assert_eq(tpl_expand(t, &env, u, 36, NULL), 36, "draw %d", i);
        u[36] = 0;
        cr_expect_neq(rng, before, "draw %d: the VU's rng did not advance", i);
        for (int k = 0; k < 36; k++) {
            bool dash = k == 8 || k == 13 || k == 18 || k == 23;
            bool hex = (u[k] >= '0' && u[k] <= '9') || (u[k] >= 'a' && u[k] <= 'f');
            cr_assert(dash ? u[k] == '-' : hex, "%s: character %d", u, k);
        }
        cr_assert_eq(u[14], '4', "%s: version", u);
        cr_assert(strchr("89ab", u[19]), "%s: variant", u);
    }
    qsort(seen, N, sizeof(seen[0]), cmp_str);
    for (int i = 1; i < N; i++)
        cr_assert_str_neq(seen[i - 1], seen[i], "the same uuid twice");
    tpl_free(t);
}

Test(template, rand_ranges)
{
    static const struct {
        const char *text;
        long long lo, hi;
    } rows[] = {
        {"{{ rand(1, 6) }}", 1, 6},
        {"{{ rand(-3, 3) }}", -3, 3},
        {"{{ rand(0, 1) }}", 0, 1},
        {"{{ rand(vu, seq % 10) }}", 3, 1},
        {"{{ rand(num, -10) }}", -12, -10},
        {"{{ rand(9223372036854775806, 9223372036854775807) }}", INT64_MAX - 1, INT64_MAX},
        {"{{ rand(-9223372036854775807 - 1, -9223372036854775807) }}", INT64_MIN, INT64_MIN + 1},
        {"{{ rand(-9223372036854775807 - 1, 9223372036854775807) }}", INT64_MIN, INT64_MAX},
        {"{{ rand(0, 9223372036854775807) }}", 0, INT64_MAX},
    };
    enum { DRAWS = 20000 };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = compile(rows[i].text);
        uint64_t rng;
        tpl_env env = env_with(&rng);
        long long lo = rows[i].lo, hi = rows[i].hi;
        bool small = hi >= lo && (unsigned long long)hi - (unsigned long long)lo < 16;
        unsigned count[16] = {0}, top = 0;
        if (hi < lo) { /* lo > hi at run time */
            char out[32];
            cr_expect_eq(tpl_expand(t, &env, out, sizeof(out), NULL), -EDOM, "%s", rows[i].text);
            tpl_free(t);
            continue;
        }
        for (int d = 0; d < DRAWS; d++) {
            char out[32];
            ssize_t n = tpl_expand(t, &env, out, sizeof(out), NULL);
            cr_assert(n > 0 && (size_t)n <= tpl_max_len(t), "%s: %zd", rows[i].text, n);
            out[n] = 0;
            long long v = strtoll(out, NULL, 10);
            cr_assert(v >= lo && v <= hi, "%s: %lld out of range", rows[i].text, v);
            if (small)
                count[(unsigned long long)v - (unsigned long long)lo]++;
            else /* the top of the range holds half the values */
                top += (unsigned long long)v - (unsigned long long)lo >
                       ((unsigned long long)hi - (unsigned long long)lo) / 2;
        }
        if (small) {
            unsigned k = (unsigned)((unsigned long long)hi - (unsigned long long)lo) + 1;
            for (unsigned j = 0; j < k; j++) /* each value's share within 10% of 1/k */
                cr_expect(count[j] * 10 * k > DRAWS * 9 && count[j] * 10 * k < DRAWS * 11,
                          "%s: %lld drawn %u times of %d", rows[i].text, lo + j, count[j], DRAWS);
        } else {
            cr_expect(top > DRAWS * 45 / 100 && top < DRAWS * 55 / 100,
                      "%s: %u of %d in the top half", rows[i].text, top, DRAWS);
        }
        tpl_free(t);
    }
}

Test(template, rand_follows_the_vu_rng)
{
    tpl *t = compile("{{ rand(0, 1000000000) }} {{ uuid() }} {{ pick(1, 2, 3) }}");
    char a[128], b[128], c[128];
    uint64_t r1 = SEED, r2 = SEED, r3 = SEED + 1;
    tpl_env e1 = {.rng = &r1}, e2 = {.rng = &r2}, e3 = {.rng = &r3};
    ssize_t na = tpl_expand(t, &e1, a, sizeof(a), NULL);
    ssize_t nb = tpl_expand(t, &e2, b, sizeof(b), NULL);
    ssize_t nc = tpl_expand(t, &e3, c, sizeof(c), NULL);
    cr_assert(na > 0 && nb > 0 && nc > 0);
    cr_expect(na == nb && memcmp(a, b, (size_t)na) == 0, "same seed, different expansions");
    cr_expect(na != nc || memcmp(a, c, (size_t)na) != 0, "another seed, the same expansion");
    cr_expect_eq(r1, r2);
    uint64_t zero = 0; /* not a valid state: still draws, and leaves it nonzero */
    tpl_env ez = {.rng = &zero};
    cr_expect_gt(tpl_expand(t, &ez, a, sizeof(a), NULL), 0);
    cr_expect_neq(zero, 0);
    tpl_free(t);
}

Test(template, pick_covers_every_argument_and_evaluates_one)
{
    tpl *t = compile("{{ pick(\"a\", \"b\", 3, vu, token, uuid()) }}");
    cr_expect_eq(tpl_max_len(t), 36);
    const char *const want[] = {"a", "b", "3", "3", "abc123"};
    unsigned seen[6] = {0}; /* 3 and vu both give "3": counted together */
    uint64_t rng;
    tpl_env env = env_with(&rng);
    for (int d = 0; d < 6000; d++) {
        char out[36];
        ssize_t n = tpl_expand(t, &env, out, sizeof(out), NULL);
        cr_assert_gt(n, 0);
        size_t k = 0;
        while (k < 5 && !(strlen(want[k]) == (size_t)n && memcmp(out, want[k], (size_t)n) == 0))
            k++;
        cr_assert(k < 5 || n == 36, "unexpected '%.*s'", (int)n, out);
        seen[k]++;
    }
    for (size_t k = 0; k < 6; k++) /* 1000 each expected, "3" 2000 */
        cr_expect(k == 3 || (seen[k] > (k == 2 ? 1700 : 850) && seen[k] < (k == 2 ? 2300 : 1150)),
                  "argument %zu chosen %u times", k, seen[k]);
    cr_expect_eq(seen[3], 0);
    tpl_free(t);

    /* Only the chosen argument runs: the unset variable fails only when picked. */
    t = compile("{{ pick(unset, \"ok\") }}");
    unsigned ok = 0, missing = 0;
    for (int d = 0; d < 1000; d++) {
        char out[8];
        size_t idx = SIZE_MAX;
        ssize_t n = tpl_expand(t, &env, out, sizeof(out), &idx);
        if (n == -ENOENT && idx == V_UNSET)
            missing++;
        else if (n == 2 && memcmp(out, "ok", 2) == 0)
            ok++;
    }
    cr_expect(ok + missing == 1000 && ok > 400 && missing > 400, "ok %u, missing %u", ok, missing);
    tpl_free(t);
}

Test(template, sixty_four_pick_arguments)
{
    char text[512] = "{{ pick(0";
    for (int i = 1; i < 64; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), ", %d", i);
    strcat(text, ") }}");
    tpl *t = compile(text);
    bool seen[64] = {false};
    uint64_t rng;
    tpl_env env = env_with(&rng);
    for (int d = 0; d < 5000; d++) {
        char out[21];
        ssize_t n = tpl_expand(t, &env, out, sizeof(out), NULL);
        cr_assert(n > 0 && n < 3);
        out[n] = 0;
        seen[atoi(out)] = true;
    }
    for (int i = 0; i < 64; i++)
        cr_expect(seen[i], "argument %d never chosen", i);
    tpl_free(t);
}

Test(template, clock)
{
    static const struct {
        const char *text;
        long long scale;
    } rows[] = {{"{{ time() }}", 1}, {"{{ time_ms() }}", 1000}};
    for (size_t i = 0; i < 2; i++) {
        tpl *t = compile(rows[i].text);
        char out[21];
        tpl_env env = {0};
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ssize_t n = tpl_expand(t, &env, out, sizeof(out) - 1, NULL);
        cr_assert_gt(n, 0, "%s", rows[i].text);
        out[n] = 0;
        long long got = strtoll(out, NULL, 10);
        long long want = ts.tv_sec * rows[i].scale + ts.tv_nsec / (1000000000 / rows[i].scale);
        cr_expect(got >= want && got - want <= rows[i].scale, "%s: %lld, clock %lld", rows[i].text,
                  got, want);
        tpl_free(t);
    }
}

Test(template, literals)
{
    static const struct {
        const char *text;
        size_t len;
    } rows[] = {
        {"", 0},
        {"/", 1},
        {"/api/v1/items?x=1&y=%20", 23},
        {"}}", 2},
        {"a}}b{c{ {d", 10},
        {"${HOME}", 7},
        {"nul\0inside{\0{", 13},
        {"\xff\xfe{", 3},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = NULL;
        char err[128] = "";
        cr_assert_eq(tpl_compile(&t, rows[i].text, rows[i].len, &NAMES, err, sizeof(err)), 0,
                     "row %zu: %s", i, err);
        size_t len = 99;
        const char *lit = tpl_literal(t, &len);
        cr_expect(tpl_is_literal(t), "row %zu", i);
        cr_expect(lit && len == rows[i].len && memcmp(lit, rows[i].text, len) == 0, "row %zu", i);
        cr_expect_eq(tpl_max_len(t), rows[i].len, "row %zu: bound", i);
        cr_expect(!tpl_uses_data(t), "row %zu", i);
        size_t n;
        char *got = expand_checked(t, rows[i].text, &n);
        cr_expect(n == rows[i].len && memcmp(got, rows[i].text, n) == 0, "row %zu", i);
        free(got);
        tpl_free(t);
    }
    static const char *const not_literal[] = {"{{ 1 }}", "{{ \"{{\" }}", "a{{ \"\" }}b"};
    for (size_t i = 0; i < sizeof(not_literal) / sizeof(not_literal[0]); i++) {
        tpl *t = compile(not_literal[i]);
        size_t len = 99;
        cr_expect(!tpl_is_literal(t), "%s", not_literal[i]);
        cr_expect_null(tpl_literal(t, &len), "%s", not_literal[i]);
        tpl_free(t);
    }
}

Test(template, bounds)
{
    static const struct {
        const char *text;
        size_t max;
    } rows[] = {
        {"{{ vu }}", 20},
        {"a{{ vu }}b", 22},
        {"{{ 1 }}{{ 2 }}", 40},
        {"{{ uuid() }}", 36},
        {"{{ token }}", 16},
        {"{{ data.email }}", 20},
        {"{{ \"abc\" }}", 3},
        {"{{ token | urlencode }}", 48},
        {"{{ urlencode(urlencode(name)) }}", 90},
        {"{{ token | upper }} {{ name | lower }}", 27},
        {"{{ pick(token, uuid(), \"ab\") }}", 36},
        {"{{ pick(1, name) }}", 20},
        {"{{ vu | %05d }}", 20},
        {"{{ vu | %30d }}", 30},
        {"{{ vu | %.40d }}", 41},
        {"{{ vu | %x }} {{ vu | %u }} {{ vu | %o }}", 16 + 1 + 20 + 1 + 22},
        {"{{ token | %.3s }}", 3},
        {"{{ token | %30s }}", 30},
        {"{{ vu | %s }}", 20},
        {"{{ uuid() | %.4s }}", 36},               /* the uuid is built before it is cut */
        {"{{ len(urlencode(token)) }}", 48},       /* the argument is built before it is counted */
        {"x{{ len(uuid()) }}{{ token }}", 1 + 36}, /* 1 + max(36, 20 + 16) */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = compile(rows[i].text);
        cr_expect_eq(tpl_max_len(t), rows[i].max, "%s: bound %zu, want %zu", rows[i].text,
                     tpl_max_len(t), rows[i].max);
        size_t n;
        free(expand_checked(t, rows[i].text, &n));
        tpl_free(t);
    }
}

Test(template, names_used)
{
    static const struct {
        const char *text;
        unsigned vars; /* bit per VARS index */
        bool data;
    } rows[] = {
        {"/x", 0, false},
        {"{{ vu }}{{ iter }}{{ seq }}", 0, false},
        {"{{ token }}", 1u << V_TOKEN, false},
        {"{{ pick(unset, name) }}", 1u << V_UNSET | 1u << V_NAME, false},
        {"{{ len(upload_id) + num }}", 1u << V_UPLOAD | 1u << V_NUM, false},
        {"{{ data.user }}", 0, true},
        {"{{ empty }}/{{ data.email | upper }}", 1u << V_EMPTY, true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = compile(rows[i].text);
        for (size_t v = 0; v < NVARS; v++)
            cr_expect_eq(tpl_uses_var(t, v), (rows[i].vars >> v & 1) != 0, "%s: variable %s",
                         rows[i].text, VARS[v]);
        cr_expect(!tpl_uses_var(t, NVARS) && !tpl_uses_var(t, SIZE_MAX), "%s", rows[i].text);
        cr_expect_eq(tpl_uses_data(t), rows[i].data, "%s: data", rows[i].text);
        tpl_free(t);
    }
}

Test(template, run_time_errors)
{
    static const struct {
        const char *text;
        int rc;
        size_t missing;
    } rows[] = {
        {"{{ unset }}", -ENOENT, V_UNSET},
        {"x{{ token }}{{ unset | upper }}", -ENOENT, V_UNSET},
        {"{{ len(unset) }}", -ENOENT, V_UNSET},
        {"{{ name + 1 }}", -EDOM, 0},
        {"{{ 1 - empty }}", -EDOM, 0},
        {"{{ upload_id * 2 }}", -EDOM, 0},
        {"{{ -name }}", -EDOM, 0},
        {"{{ name | %d }}", -EDOM, 0},
        {"{{ data.user | %x }}", -EDOM, 0},
        {"{{ vu / (iter - 7) }}", -EDOM, 0},
        {"{{ vu % (iter - 7) }}", -EDOM, 0},
        {"{{ num * 9223372036854775807 }}", -EDOM, 0},
        {"{{ 9223372036854775807 + vu }}", -EDOM, 0},
        {"{{ -9223372036854775807 - vu }}", -EDOM, 0},
        {"{{ (-9223372036854775807 - 1 + vu - 3) / -1 }}", -EDOM, 0},
        {"{{ (-9223372036854775807 - 1 + vu - 3) % -1 }}", -EDOM, 0},
        {"{{ -(-9223372036854775807 - 1 + vu - 3) }}", -EDOM, 0},
        {"{{ rand(vu, 1) }}", -EDOM, 0},
        {"{{ rand(name, 1) }}", -EDOM, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = compile(rows[i].text);
        uint64_t rng;
        tpl_env env = env_with(&rng);
        size_t max = tpl_max_len(t), missing = 99;
        char *buf = malloc(max + GUARD);
        ssize_t n = expand_guarded(t, &env, buf, max, &missing, rows[i].text);
        cr_expect_eq(n, rows[i].rc, "%s: got %zd, want %d", rows[i].text, n, rows[i].rc);
        if (rows[i].rc == -ENOENT)
            cr_expect_eq(missing, rows[i].missing, "%s: missing %zu", rows[i].text, missing);
        env = env_with(&rng);
        cr_expect_eq(tpl_expand(t, &env, buf, max, NULL), rows[i].rc, "%s: missing NULL",
                     rows[i].text);
        free(buf);
        tpl_free(t);
    }
}

Test(template, env_edges)
{
    static const struct {
        const char *text;
        uint64_t vu;
        bool no_vars, no_cols;
        ssize_t rc;
        const char *want;
    } rows[] = {
        {"{{ vu }}", INT64_MAX, false, false, 19, "9223372036854775807"},
        {"{{ vu }}", (uint64_t)INT64_MAX + 1, false, false, -EDOM, ""},
        {"{{ token }}", 1, true, false, -ENOENT, ""},
        {"[{{ data.user }}]", 1, false, true, 2, "[]"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = compile(rows[i].text);
        uint64_t rng;
        tpl_env env = env_with(&rng);
        env.vu = rows[i].vu;
        env.vars = rows[i].no_vars ? NULL : env.vars;
        env.cols = rows[i].no_cols ? NULL : env.cols;
        char out[64];
        ssize_t n = tpl_expand(t, &env, out, sizeof(out), NULL);
        cr_expect_eq(n, rows[i].rc, "row %zu: %zd", i, n);
        cr_expect(n < 0 || memcmp(out, rows[i].want, (size_t)n) == 0, "row %zu", i);
        tpl_free(t);
    }
}

/* A value longer than its declared bound makes tpl_max_len wrong: expansion must still stop at
 * the capacity. */
Test(template, values_over_their_bound)
{
    static const char *const vars[] = {"x"};
    static const uint32_t max[] = {2};
    static const char *const cols[] = {"c"};
    static const uint32_t cmax[] = {1};
    const tpl_names names = {vars, 1, max, cols, 1, cmax};
    static const tpl_str value = {"a b/c d", 7}, col = {"xyz", 3};
    static const char *const rows[] = {
        "{{ x }}",
        "{{ x | urlencode }}",
        "{{ x | upper }}",
        "{{ x | %s }}",
        "{{ x | %3s }}",
        "{{ data.c }}",
        "{{ pick(x, data.c) }}",
        "{{ x | upper | urlencode }}",
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = compile_with(rows[i], &names);
        uint64_t rng = SEED;
        tpl_env env = {.rng = &rng, .vars = &value, .cols = &col};
        char buf[64 + GUARD];
        ssize_t n = expand_guarded(t, &env, buf, tpl_max_len(t), NULL, rows[i]);
        cr_expect_eq(n, -ENOSPC, "%s: %zd", rows[i], n);
        tpl_free(t);
    }
}

Test(template, compile_errors)
{
    static const char *const vars[] = {"token", "upload_id"};
    static const uint32_t vmax[] = {32, 32};
    static const char *const cols[] = {"user", "email"};
    static const uint32_t cmax[] = {8, 8};
    const tpl_names names = {vars, 2, vmax, cols, 2, cmax};
    const tpl_names no_data = {vars, 2, vmax, NULL, 0, NULL};
    static const struct {
        const char *text, *err;
    } rows[] = {
        {"{{ a", "column 1: unterminated {{ (close it with }})"},
        {"/x/{{ vu", "column 4: unterminated {{ (close it with }})"},
        {"{{ vu }", "column 1: unterminated {{ (close it with }})"},
        {"{{ vu }} {{ \"}}\"", "column 10: unterminated {{ (close it with }})"},
        {"{{ {{ }}", "column 4: unexpected {{ (the {{ at column 1 is not closed)"},
        {"{{}}", "column 3: empty {{ }}"},
        {"{{ }}", "column 4: empty {{ }}"},
        {"{{ 1 + }}", "column 8: expected a value after '+'"},
        {"{{ seq % }}", "column 10: expected a value after '%'"},
        {"a {{ 1 }} {{ vu +* 2 }}", "column 18: expected a value after '+'"},
        {"{{ rand(1, ) }}", "column 12: expected a value after ','"},
        {"{{ (1 + 2 }}", "column 11: expected ')'"},
        {"{{ rand(1 2) }}", "column 11: expected ',' or ')'"},
        {"{{ vu iter }}", "column 7: expected an operator, '|' or '}}'"},
        {"{{ vu | urlencode() }}", "column 18: expected an operator, '|' or '}}'"},
        {"{{ (vu | %05d) }}", "column 8: expected ')'"},
        {"{{ vu & 1 }}", "column 7: unexpected character '&'"},
        {"{{ vu\n }}", "column 6: unexpected byte 0x0a"},
        {"{{ \"abc }}", "column 4: unterminated string (close it with \")"},
        {"{{ \"a\\qb\" }}",
         "column 6: unknown escape '\\q' in a string (known: \\\" \\\\ \\n \\t)"},
        {"{{ tokn }}", "column 4: unknown variable 'tokn' (known: vu, iter, seq, token, upload_id; "
                       "did you mean 'token'?)"},
        {"{{ it }}", "column 4: unknown variable 'it' (known: vu, iter, seq, token, upload_id; "
                     "did you mean 'iter'?)"},
        {"{{ x }}", "column 4: unknown variable 'x' (known: vu, iter, seq, token, upload_id)"},
        {"{{ rnd(1, 2) }}", "column 4: unknown function 'rnd' (allowed: rand, pick, uuid, time, "
                            "time_ms, urlencode, len; did you mean 'rand'?)"},
        {"{{ upper(vu) }}", "column 4: unknown function 'upper' (allowed: rand, pick, uuid, time, "
                            "time_ms, urlencode, len)"},
        {"{{ vu | uper }}", "column 9: unknown filter 'uper' (allowed: urlencode, upper, lower, a "
                            "format like %05d; did you mean 'upper'?)"},
        {"{{ vu | }}", "column 9: expected a filter after '|' (urlencode, upper, lower or a format "
                       "like %05d)"},
        {"{{ vu | %q }}", "column 9: bad format '%q' (flags -0+ or space, a width and a .precision "
                          "up to 64, then one of d i u x X o s)"},
        {"{{ vu | %5 }}", "column 9: bad format '%5' (flags -0+ or space, a width and a .precision "
                          "up to 64, then one of d i u x X o s)"},
        {"{{ vu | %#x }}", "column 9: bad format '%#' (flags -0+ or space, a width and a "
                           ".precision up to 64, then one of d i u x X o s)"},
        {"{{ vu | %ld }}", "column 9: bad format '%l' (flags -0+ or space, a width and a "
                           ".precision up to 64, then one of d i u x X o s)"},
        {"{{ vu | %65d }}", "column 9: format width over 64 in '%65d'"},
        {"{{ vu | %.65d }}", "column 9: format precision over 64 in '%.65d'"},
        {"{{ vu | %99999999999999999999d }}", "column 9: format width over 64 in "
                                              "'%99999999999999999999d'"},
        {"{{ \"a\" + 1 }}", "column 4: \"a\" is not a number"},
        {"{{ uuid() * 2 }}", "column 4: uuid() is not a number"},
        {"{{ 2 * uuid() }}", "column 8: uuid() is not a number"},
        {"{{ -\"x\" }}", "column 5: \"x\" is not a number"},
        {"{{ rand(1, \"a\") }}", "column 12: \"a\" is not a number"},
        {"{{ \"abc\" | %d }}", "column 4: \"abc\" is not a number"},
        {"{{ uuid() | urlencode | %x }}", "column 4: uuid() is not a number"},
        {"{{ pick(\"a\", uuid()) + 1 }}", "column 4: pick(\"a\", uuid()) is not a number"},
        {"{{ \"a\nb\" + 1 }}", "column 4: \"a?b\" is not a number"},
        {"{{ 1 * \"99999999999999999999\" }}",
         "column 8: \"99999999999999999999\" is not a number"},
        {"{{ 1 / 0 }}", "column 6: division by zero"},
        {"{{ vu % (2 - 2) }}", "column 7: modulo by zero"},
        {"{{ 9223372036854775807 + 1 }}", "column 24: integer overflow in 9223372036854775807 + 1"},
        {"{{ -(-9223372036854775807 - 1) }}",
         "column 4: integer overflow in -(-9223372036854775807 - 1)"},
        {"{{ 9223372036854775808 }}", "column 4: integer 9223372036854775808 is over "
                                      "9223372036854775807"},
        {"{{ rand(5, 1) }}", "column 4: rand(lo, hi) with lo 5 greater than hi 1"},
        {"{{ rand(1) }}", "column 4: rand(lo, hi) takes 2 arguments"},
        {"{{ rand(1, 2, 3) }}", "column 4: rand(lo, hi) takes 2 arguments"},
        {"{{ uuid(1) }}", "column 4: uuid() takes no arguments"},
        {"{{ time(1) }}", "column 4: time() takes no arguments"},
        {"{{ pick() }}", "column 4: pick(a, ...) takes 1 to 64 arguments"},
        {"{{ len() }}", "column 4: len(x) takes 1 argument"},
        {"{{ urlencode(1, 2) }}", "column 4: urlencode(x) takes 1 argument"},
        {"{{ data.usr }}", "column 9: unknown column 'usr' (columns: user, email; did you mean "
                           "'user'?)"},
        {"{{ data }}", "column 4: 'data' needs a column: data.NAME"},
        {"{{ data. }}", "column 10: expected a column name after 'data.'"},
        {"{{ token.x }}", "column 9: '.' after 'token': only data has fields (data.COLUMN)"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tpl *t = (tpl *)&t;
        char err[256];
        memset(err, 'x', sizeof(err));
        int rc = tpl_compile(&t, rows[i].text, strlen(rows[i].text), &names, err, sizeof(err));
        cr_expect_eq(rc, -EINVAL, "%s: %d", rows[i].text, rc);
        cr_expect_null(t, "%s", rows[i].text);
        cr_expect_str_eq(err, rows[i].err, "%s:\n  got  %s\n  want %s", rows[i].text, err,
                         rows[i].err);
    }
    tpl *t = NULL;
    char err[128] = "";
    cr_expect_eq(tpl_compile(&t, "{{ data.x }}", 12, &no_data, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "column 9: data.x: the scenario has no data file");
}

/* Nesting and the values held at once are each bounded by TPL_MAX_DEPTH. */
Test(template, depth_limit)
{
    static const struct {
        const char *open, *close; /* repeated n times around "1" */
        int ok, over;             /* the deepest accepted n, and the first refused */
    } rows[] = {
        {"(", ")", 32, 33},        {"-", "", 32, 33},      {"1 + (", ")", 31, 32},
        {"rand(1, ", ")", 31, 32}, {"pick(", ")", 32, 33}, {"len(", ")", 32, 33},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        for (int n = rows[i].ok; n <= rows[i].over; n++) {
            char text[1024] = "{{ ";
            for (int k = 0; k < n; k++)
                strcat(text, rows[i].open);
            strcat(text, "vu");
            for (int k = 0; k < n; k++)
                strcat(text, rows[i].close);
            strcat(text, " }}");
            tpl *t = NULL;
            char err[128] = "";
            int rc = tpl_compile(&t, text, strlen(text), &NAMES, err, sizeof(err));
            if (n == rows[i].ok) {
                cr_expect_eq(rc, 0, "%s: %s", text, err);
                size_t len;
                if (t)
                    free(expand_checked(t, text, &len));
            } else {
                cr_expect_eq(rc, -EINVAL, "%s", text);
                cr_expect(strstr(err, "expression too deep (over 32 levels)"), "%s: %s", text, err);
            }
            tpl_free(t);
        }
    }
    char text[512] = "{{ pick(0"; /* 65 arguments */
    for (int i = 1; i < 65; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), ", %d", i);
    strcat(text, ") }}");
    tpl *t = NULL;
    char err[128] = "";
    cr_expect_eq(tpl_compile(&t, text, strlen(text), &NAMES, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "column 4: pick(a, ...) takes 1 to 64 arguments");
}

Test(template, small_error_buffer)
{
    static const size_t sizes[] = {0, 1, 5, 12, 40};
    const char *text = "{{ tokn }}";
    const char *full = "column 4: unknown variable 'tokn' (known: vu, iter, seq, token, upload_id, "
                       "name, empty, unset, num; did you mean 'token'?)";
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char err[64];
        memset(err, 'x', sizeof(err));
        tpl *t = NULL;
        int rc = tpl_compile(&t, text, strlen(text), &NAMES, sizes[i] ? err : NULL, sizes[i]);
        cr_expect_eq(rc, -EINVAL, "errlen %zu", sizes[i]);
        if (sizes[i]) {
            cr_expect_eq(strlen(err), sizes[i] - 1, "errlen %zu: '%s'", sizes[i], err);
            cr_expect_eq(strncmp(err, full, sizes[i] - 1), 0, "errlen %zu: '%s'", sizes[i], err);
        }
        cr_expect_eq(err[sizes[i] ? sizes[i] : 0], 'x', "errlen %zu: wrote past it", sizes[i]);
    }
    tpl_free(NULL);
    tpl *t = compile_with("{{ vu }}", NULL); /* no names at all */
    cr_expect(!tpl_uses_var(t, 0) && !tpl_uses_data(t));
    tpl_free(t);
}
