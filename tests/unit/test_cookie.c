/* Unit tests for cookie: scenarios as tables of steps (store a Set-Cookie received from a URL at
 * a time, expect the Cookie header for a URL at a time, expect the number stored) covering
 * storing, replacing, deleting, expiry, the three date forms, path and domain matching,
 * host-only cookies, IP addresses, Secure, quoted values and garbage; then eviction by count and
 * by arena bytes, header truncation to cap with a guard byte, and random input against guard
 * pages, checking the jar's packing invariant after every step.
 *
 * Every input handed to the jar is copied so that its last byte sits right before a PROT_NONE
 * page: reading one byte too far crashes the test instead of passing by luck. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cookie.h"

/* Guarded copies: one page-backed region per argument, data placed against its guard page. */

typedef struct guard {
    char *base;
    size_t size;
} guard;

static guard guard_new(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = (n + page - 1) / page * page;
    void *m = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(m != MAP_FAILED, "mmap: %s", strerror(errno));
    cr_assert(mprotect((char *)m + size, page, PROT_NONE) == 0, "mprotect");
    return (guard){.base = m, .size = size};
}

static void guard_free(guard *g)
{
    munmap(g->base, g->size + (size_t)sysconf(_SC_PAGESIZE));
}

static const char *guard_place(guard *g, const char *src, size_t n)
{
    cr_assert(n <= g->size, "input of %zu bytes does not fit its guard", n);
    char *dst = g->base + g->size - n;
    if (n)
        memcpy(dst, src, n);
    return dst;
}

static guard g_host, g_path, g_value, g_out;

static void setup(void)
{
    g_host = guard_new(4096);
    g_path = guard_new(4096);
    g_value = guard_new(16384);
    g_out = guard_new(8192);
}

static void teardown(void)
{
    guard_free(&g_host);
    guard_free(&g_path);
    guard_free(&g_value);
    guard_free(&g_out);
}

TestSuite(cookie, .init = setup, .fini = teardown);

/* The packing invariant of include/cookie.h, checked after every change. */
static void check_jar(const char *what, const cookie_jar *j)
{
    cr_assert_leq(j->n, COOKIE_MAX, "%s: %u cookies", what, j->n);
    uint32_t off = 0;
    for (uint32_t i = 0; i < j->n; i++) {
        const cookie_ent *e = &j->c[i];
        cr_assert_eq(e->off, off, "%s: cookie %u at %u, expected %u", what, i, e->off, off);
        cr_assert_gt(e->name_len, 0, "%s: cookie %u has no name", what, i);
        off += (uint32_t)e->name_len + e->value_len + e->domain_len + e->path_len;
    }
    cr_assert_eq(j->used, off, "%s: used %u, cookies end at %u", what, j->used, off);
    cr_assert_leq(j->used, COOKIE_ARENA, "%s: used %u", what, j->used);
}

/* "http[s]://host[:port]/path" into its parts. */
typedef struct url {
    bool https;
    const char *host;
    size_t host_len;
    const char *path;
    size_t path_len;
} url;

static url parse_url(const char *u)
{
    url r = {.https = strncmp(u, "https://", 8) == 0};
    const char *h = u + (r.https ? 8 : 7);
    cr_assert(r.https || strncmp(u, "http://", 7) == 0, "bad test URL %s", u);
    const char *slash = strchr(h, '/');
    r.host_len = slash ? (size_t)(slash - h) : strlen(h);
    r.host = guard_place(&g_host, h, r.host_len);
    r.path_len = slash ? strlen(slash) : 0;
    r.path = guard_place(&g_path, slash ? slash : "", r.path_len);
    return r;
}

static void set(cookie_jar *j, const char *u, int64_t now, const char *v, size_t vlen)
{
    url r = parse_url(u);
    const char *val = guard_place(&g_value, v, vlen);
    cookie_jar_set(j, r.host, r.host_len, r.path, r.path_len, r.https, val, vlen, now);
    check_jar(v, j);
}

/* Builds the header into the guarded output with room for cap bytes and one guard byte after;
 * checks that nothing was written past what it returned. */
static size_t header(const cookie_jar *j, const char *u, int64_t now, size_t cap, char *copy)
{
    url r = parse_url(u);
    cr_assert(cap + 1 <= g_out.size);
    char *out = g_out.base + g_out.size - cap - 1;
    memset(out, '#', cap + 1);
    size_t n = cookie_jar_header(j, r.host, r.host_len, r.path, r.path_len, r.https, now, out, cap);
    cr_assert_leq(n, cap, "%s: header %zu bytes for cap %zu", u, n, cap);
    for (size_t i = n; i <= cap; i++)
        cr_assert_eq(out[i], '#', "%s: byte %zu written past the header's %zu (cap %zu)", u, i, n,
                     cap);
    memcpy(copy, out, n);
    copy[n] = '\0';
    return n;
}

enum op { END, SET, HDR, COUNT };

typedef struct step {
    enum op op;
    const char *url;
    int64_t now;
    const char *text; /* SET: the Set-Cookie value; HDR: the expected Cookie header */
    size_t count;     /* COUNT */
} step;

#define S(u, t, v)                                                                                 \
    {                                                                                              \
        SET, u, t, v, 0                                                                            \
    }
#define H(u, t, v)                                                                                 \
    {                                                                                              \
        HDR, u, t, v, 0                                                                            \
    }
#define N(n)                                                                                       \
    {                                                                                              \
        COUNT, NULL, 0, NULL, n                                                                    \
    }
#define MAX_STEPS 12

typedef struct scenario {
    const char *name;
    step steps[MAX_STEPS];
} scenario;

static void run(const scenario *sc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cookie_jar j = {0};
        for (size_t k = 0; k < MAX_STEPS && sc[i].steps[k].op != END; k++) {
            const step *st = &sc[i].steps[k];
            char got[4096];
            if (st->op == SET) {
                set(&j, st->url, st->now, st->text, strlen(st->text));
            } else if (st->op == HDR) {
                size_t len = header(&j, st->url, st->now, 2048, got);
                cr_expect_str_eq(got, st->text, "%s, step %zu: header for %s at %lld", sc[i].name,
                                 k + 1, st->url, (long long)st->now);
                cr_expect_eq(len, strlen(st->text), "%s, step %zu", sc[i].name, k + 1);
            } else {
                cr_expect_eq(cookie_jar_count(&j), st->count, "%s, step %zu: %zu cookies",
                             sc[i].name, k + 1, cookie_jar_count(&j));
            }
        }
    }
}

#define A "http://a.com/"
#define A_HTTPS "https://a.com/"
#define FAR 4000000000LL /* 2096: after every Expires in these tables */

Test(cookie, store_replace_delete)
{
    static const scenario rows[] = {
        {"basic", {S(A, 0, "sid=abc"), H(A, 0, "sid=abc"), N(1)}},
        {"attributes case-insensitive, unknown ignored",
         {S(A, 0, "sid=abc; HTTPONLY; SameSite=Strict; Foo=bar; pAtH=/; priority=high"),
          H(A, 0, "sid=abc"), N(1)}},
        {"replace", {S(A, 0, "a=1"), S(A, 0, "a=2"), H(A, 0, "a=2"), N(1)}},
        {"replace keeps creation order",
         {S(A, 0, "a=1"), S(A, 0, "b=2"), S(A, 0, "a=3"), H(A, 0, "a=3; b=2"), N(2)}},
        {"names are case-sensitive", {S(A, 0, "a=1"), S(A, 0, "A=2"), H(A, 0, "a=1; A=2")}},
        {"other path is another cookie",
         {S(A, 0, "a=1; Path=/"), S(A, 0, "a=2; Path=/x"), H("http://a.com/x/y", 0, "a=2; a=1"),
          H(A, 0, "a=1"), N(2)}},
        {"delete by Max-Age=0", {S(A, 0, "a=1"), S(A, 5, "a=; Max-Age=0"), H(A, 5, ""), N(0)}},
        {"delete by negative Max-Age",
         {S(A, 0, "a=1"), S(A, 0, "b=2"), S(A, 0, "a=x; Max-Age=-1"), H(A, 0, "b=2"), N(1)}},
        {"delete by past Expires",
         {S(A, 1000, "a=1"), S(A, 1000, "a=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
          H(A, 1000, ""), N(0)}},
        {"delete needs the same path",
         {S(A, 0, "a=1; Path=/x"), S(A, 0, "a=; Max-Age=0"), N(1),
          S(A, 0, "a=; Max-Age=0; Path=/x"), N(0)}},
        {"delete needs the same domain",
         {S("http://www.a.com/", 0, "a=1; Domain=a.com"),
          S("http://www.a.com/", 0, "a=; Max-Age=0"), N(1),
          S("http://www.a.com/", 0, "a=; Max-Age=0; Domain=A.com"), N(0)}},
        {"already expired is not stored", {S(A, 0, "a=1; Max-Age=0"), N(0), H(A, 0, "")}},
        {"Max-Age expires", {S(A, 100, "a=1; Max-Age=10"), H(A, 109, "a=1"), H(A, 110, ""), N(1)}},
        {"expired ones are dropped on the next set",
         {S(A, 100, "a=1; Max-Age=10"), S(A, 100, "b=1"), N(2), S(A, 110, "c=1"), N(2),
          H(A, 110, "b=1; c=1")}},
        {"Max-Age wins over a past Expires",
         {S(A, 0, "a=1; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), H(A, 99, "a=1"),
          H(A, 100, "")}},
        {"Max-Age=0 wins over a future Expires",
         {S(A, 0, "a=1; Expires=Sun, 06 Nov 2044 08:49:37 GMT; Max-Age=0"), N(0)}},
        {"last Max-Age wins", {S(A, 0, "a=1; Max-Age=0; Max-Age=100"), H(A, 99, "a=1")}},
        {"bad Max-Age ignored",
         {S(A, 0, "a=1; Max-Age=10s"), S(A, 0, "b=1; Max-Age=+5"), S(A, 0, "c=1; Max-Age="),
          S(A, 0, "d=1; Max-Age=-"), H(A, FAR, "a=1; b=1; c=1; d=1")}},
        {"huge Max-Age saturates",
         {S(A, 10, "a=1; Max-Age=99999999999999999999999999"), H(A, INT64_MAX - 1, "")}},
        {"huge Max-Age lives long",
         {S(A, 10, "a=1; Max-Age=99999999999999999999999999"), H(A, INT64_MAX - 2, "a=1")}},
        {"session cookie lives on", {S(A, 0, "a=1"), H(A, INT64_MAX - 1, "a=1")}},
    };
    run(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define T1994 784111777LL

Test(cookie, expires_forms)
{
    static const scenario rows[] = {
        {"IMF-fixdate",
         {S(A, 0, "a=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT"), H(A, T1994 - 1, "a=1"),
          H(A, T1994, "")}},
        {"RFC 850",
         {S(A, 0, "a=1; Expires=Sunday, 06-Nov-94 08:49:37 GMT"), H(A, T1994 - 1, "a=1"),
          H(A, T1994, "")}},
        {"asctime",
         {S(A, 0, "a=1; expires=Sun Nov  6 08:49:37 1994"), H(A, T1994 - 1, "a=1"),
          H(A, T1994, "")}},
        {"lower case, no weekday",
         {S(A, 0, "a=1; expires=06 nov 1994 08:49:37 gmt"), H(A, T1994 - 1, "a=1"),
          H(A, T1994, "")}},
        {"leap day 2024",
         {S(A, 0, "a=1; Expires=Thu, 29 Feb 2024 00:00:00 GMT"), H(A, 1709164799, "a=1"),
          H(A, 1709164800, "")}},
        {"after a leap day",
         {S(A, 0, "a=1; Expires=Fri, 01 Mar 2024 00:00:00 GMT"), H(A, 1709251199, "a=1"),
          H(A, 1709251200, "")}},
        {"2000 is a leap year",
         {S(A, 0, "a=1; Expires=Tue, 29 Feb 2000 00:00:00 GMT"), H(A, 951782399, "a=1"),
          H(A, 951782400, "")}},
        {"end of 1999 (two digits)",
         {S(A, 0, "a=1; Expires=Fri, 31-Dec-99 23:59:59 GMT"), H(A, 946684798, "a=1"),
          H(A, 946684799, "")}},
        {"two-digit 69 is 2069",
         {S(A, 0, "a=1; Expires=01-Jan-69 00:00:00 GMT"), H(A, 3124223999, "a=1"),
          H(A, 3124224000, "")}},
        {"year 9999", {S(A, 0, "a=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT"), H(A, FAR, "a=1")}},
        {"bad dates are ignored (session)",
         {S(A, 0, "a=1; Expires=never"), S(A, 0, "b=1; Expires=Sun, 30 Feb 2020 08:49:37 GMT"),
          S(A, 0, "c=1; Expires=Sun, 06 Nov 1994 24:00:00 GMT"),
          S(A, 0, "d=1; Expires=Sun, 06 Nov 1600 08:49:37 GMT"),
          S(A, 0, "e=1; Expires=Sun, 06 Nov 1994"), S(A, 0, "f=1; Expires=06 1994 08:49:37"),
          S(A, 0, "g=1; Expires=Sun, 32 Nov 1994 08:49:37 GMT"), S(A, 0, "h=1; Expires="),
          S(A, 0, "i=1; Expires=29 Feb 2023 00:00:00"),
          S(A, 0, "j=1; Expires=29 Feb 1900 00:00:00"),
          H(A, FAR, "a=1; b=1; c=1; d=1; e=1; f=1; g=1; h=1; i=1; j=1")}},
        {"bad date does not undo a good one",
         {S(A, 0, "a=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Expires=soon"), H(A, T1994, "")}},
    };
    run(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(cookie, paths)
{
    static const scenario rows[] = {
        {"default path is the directory",
         {S("http://a.com/x/y/z", 0, "a=1"), H("http://a.com/x/y", 0, "a=1"),
          H("http://a.com/x/y/", 0, "a=1"), H("http://a.com/x/y/q/r", 0, "a=1"),
          H("http://a.com/x/yy", 0, ""), H("http://a.com/x", 0, ""), H(A, 0, "")}},
        {"default path of a top-level file is /",
         {S("http://a.com/x", 0, "a=1"), H("http://a.com/other", 0, "a=1")}},
        {"default path of an empty path is /", {S("http://a.com", 0, "a=1"), H(A, 0, "a=1")}},
        {"default path ignores the query",
         {S("http://a.com/x/y?to=/b/c/d", 0, "a=1"), H("http://a.com/x/q", 0, "a=1"),
          H("http://a.com/b/c/q", 0, "")}},
        {"default path ignores the fragment",
         {S("http://a.com/x/y#/b/c", 0, "a=1"), H("http://a.com/x/q", 0, "a=1")}},
        {"Path attribute",
         {S(A, 0, "a=1; Path=/docs"), H("http://a.com/docs", 0, "a=1"),
          H("http://a.com/docs/", 0, "a=1"), H("http://a.com/docs/web", 0, "a=1"),
          H("http://a.com/docs?x=1", 0, "a=1"), H("http://a.com/docsx", 0, ""),
          H("http://a.com/Docs", 0, ""), H(A, 0, "")}},
        {"Path with a trailing slash",
         {S(A, 0, "a=1; Path=/docs/"), H("http://a.com/docs/x", 0, "a=1"),
          H("http://a.com/docs", 0, "")}},
        {"Path not starting with / takes the default",
         {S("http://a.com/x/y", 0, "a=1; Path=docs"), H("http://a.com/x/q", 0, "a=1"),
          H(A, 0, "")}},
        {"empty Path takes the default",
         {S("http://a.com/x/y", 0, "a=1; Path="), H("http://a.com/x/q", 0, "a=1"), H(A, 0, "")}},
        {"last Path wins",
         {S(A, 0, "a=1; Path=/a; Path=/b"), H("http://a.com/b", 0, "a=1"),
          H("http://a.com/a", 0, "")}},
        {"longer paths first, then older",
         {S(A, 0, "a=1; Path=/"), S(A, 0, "b=2; Path=/x/y"), S(A, 0, "c=3; Path=/x"),
          S(A, 0, "d=4; Path=/x/y"), H("http://a.com/x/y/z", 0, "b=2; d=4; c=3; a=1"),
          H("http://a.com/x", 0, "c=3; a=1")}},
        {"replaced keeps its age in the order",
         {S(A, 0, "a=1; Path=/x"), S(A, 0, "b=2; Path=/x"), S(A, 0, "a=9; Path=/x"),
          H("http://a.com/x", 0, "a=9; b=2")}},
    };
    run(rows, sizeof(rows) / sizeof(rows[0]));
}

#define WWW "http://www.a.com/"

Test(cookie, domains)
{
    static const scenario rows[] = {
        {"Domain covers subdomains",
         {S(WWW, 0, "a=1; Domain=a.com"), H(A, 0, "a=1"), H(WWW, 0, "a=1"),
          H("http://x.y.a.com/", 0, "a=1"), H("http://b.com/", 0, ""), H("http://xa.com/", 0, ""),
          H("http://A.COM/", 0, "a=1"), H("http://a.com.evil/", 0, "")}},
        {"leading dot ignored", {S(WWW, 0, "a=1; Domain=.a.com"), H("http://q.a.com/", 0, "a=1")}},
        {"Domain in capitals", {S(WWW, 0, "a=1; Domain=A.Com"), H("http://q.a.com/", 0, "a=1")}},
        {"Domain equal to the host",
         {S(WWW, 0, "a=1; Domain=www.a.com"), H("http://q.www.a.com/", 0, "a=1"), H(A, 0, "")}},
        {"foreign Domain rejected", {S(WWW, 0, "a=1; Domain=b.com"), N(0)}},
        {"subdomain of the host rejected", {S(WWW, 0, "a=1; Domain=x.www.a.com"), N(0)}},
        {"not at a dot rejected", {S(WWW, 0, "a=1; Domain=w.a.com"), N(0)}},
        {"empty Domain is host-only",
         {S(WWW, 0, "a=1; Domain="), H(WWW, 0, "a=1"), H("http://x.www.a.com/", 0, "")}},
        {"bare dot Domain is host-only",
         {S(WWW, 0, "a=1; Domain=."), H(WWW, 0, "a=1"), H("http://x.www.a.com/", 0, "")}},
        {"host-only",
         {S(A, 0, "a=1"), H("http://sub.a.com/", 0, ""), H(A, 0, "a=1"),
          H("http://A.Com/", 0, "a=1")}},
        {"host compared in any case", {S("http://A.COM/", 0, "a=1"), H(A, 0, "a=1")}},
        {"host-only replaced by a Domain cookie",
         {S(A, 0, "a=1"), S(A, 0, "a=2; Domain=a.com"), N(1), H("http://sub.a.com/", 0, "a=2")}},
        {"ports do not matter",
         {S("http://a.com:8080/", 0, "a=1"), H(A, 0, "a=1"), H("https://a.com:8443/", 0, "a=1")}},
        {"IPv4 only matches itself",
         {S("http://10.0.0.1/", 0, "a=1; Domain=0.0.1"), N(0),
          S("http://10.0.0.1/", 0, "b=1; Domain=10.0.0.1"), H("http://10.0.0.1:81/", 0, "b=1"),
          H("http://10.0.0.2/", 0, "")}},
        {"not an IPv4 parent domain",
         {S("http://1.2.3.4/", 0, "a=1; Domain=2.3.4"), N(0), S("http://1.2.3.4/", 0, "b=1"),
          H("http://x.1.2.3.4/", 0, ""), H("http://1.2.3.4/", 0, "b=1")}},
        {"IPv6 in brackets",
         {S("http://[::1]:8080/", 0, "a=1"), H("http://[::1]/", 0, "a=1"),
          H("http://[::2]/", 0, "")}},
        {"IPv6 Domain only itself",
         {S("http://[fe80::1]/", 0, "a=1; Domain=1]"),
          S("http://[::ffff:1.2.3.4]/", 0, "b=1; Domain=3.4]"), N(0),
          S("http://[::ffff:1.2.3.4]/", 0, "c=1; Domain=[::ffff:1.2.3.4]"), N(1)}},
        {"names with a numeric-looking label are domains",
         {S("http://www.a1.com/", 0, "a=1; Domain=a1.com"), H("http://x.a1.com/", 0, "a=1")}},
    };
    run(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(cookie, secure_values_and_garbage)
{
    static const scenario rows[] = {
        {"Secure sent over https only",
         {S(A_HTTPS, 0, "a=1; Secure"), H(A, 0, ""), H(A_HTTPS, 0, "a=1")}},
        {"Secure from http is kept (RFC 6265), sent over https",
         {S(A, 0, "a=1; secure"), H(A, 0, ""), H(A_HTTPS, 0, "a=1")}},
        {"plain cookies go over both",
         {S(A_HTTPS, 0, "a=1"), H(A, 0, "a=1"), H(A_HTTPS, 0, "a=1")}},
        {"quoted values are sent as received",
         {S(A, 0, "a=\"x y\""), S(A, 0, "b=\"\""), S(A, 0, "c=\"1,2\"; Path=/"),
          H(A, 0, "a=\"x y\"; b=\"\"; c=\"1,2\"")}},
        {"whitespace around name and value trimmed",
         {S(A, 0, "  a  =  1  ; Path = /p ; Max-Age = 5 "), H("http://a.com/p", 4, "a=1"),
          H("http://a.com/p", 5, "")}},
        {"tabs trimmed", {S(A, 0, "\ta\t=\t1\t;\tSecure"), H(A_HTTPS, 0, "a=1")}},
        {"empty value", {S(A, 0, "a="), S(A, 0, "b=;Path=/"), H(A, 0, "a=; b=")}},
        {"value with = and UTF-8", {S(A, 0, "a=x=y\xC3\xA9"), H(A, 0, "a=x=y\xC3\xA9")}},
        {"garbage ignored",
         {S(A, 0, ""), S(A, 0, "=1"), S(A, 0, "novalue"), S(A, 0, ";a=1"), S(A, 0, "a b=1"),
          S(A, 0, "a\x01=1"), S(A, 0, "a=1\x01"), S(A, 0, "a=\r\n"), S(A, 0, "(a)=1"),
          S(A, 0, "a\xC3\xA9=1"), S(A, 0, "  =1; Path=/"), N(0)}},
        {"garbage does not disturb",
         {S(A, 0, "k=v"), S(A, 0, "bad name=1"), S(A, 0, "x=\x7f"), S(A, 0, "; ; ;"),
          S(A, 0, "k; Max-Age=0"), H(A, 0, "k=v"), N(1)}},
        {"token punctuation in names",
         {S(A, 0, "__Host-x.y!#$%&'*+^`|~=1"), H(A, 0, "__Host-x.y!#$%&'*+^`|~=1")}},
    };
    run(rows, sizeof(rows) / sizeof(rows[0]));

    /* A NUL byte in a value is a control byte like any other. */
    cookie_jar j = {0};
    set(&j, A, 0, "a=1\0b", 5);
    set(&j, A, 0, "a\0=1", 4);
    cr_expect_eq(cookie_jar_count(&j), 0, "NUL inside a value or name");
    set(&j, A, 0, "a=1;\0", 5);
    cr_expect_eq(cookie_jar_count(&j), 1, "NUL in an attribute is just an unknown attribute");

    /* Empty arguments may come as NULL: a request with no host and no path. */
    cookie_jar_set(&j, NULL, 0, NULL, 0, false, NULL, 0, 0);
    cookie_jar_set(&j, NULL, 0, NULL, 0, false, "n=1", 3, 0);
    cr_expect_eq(cookie_jar_count(&j), 2, "a host-only cookie for the empty host");
    char out[16];
    size_t n = cookie_jar_header(&j, NULL, 0, NULL, 0, false, 0, out, sizeof out);
    cr_expect(n == 3 && memcmp(out, "n=1", 3) == 0, "header for the empty host: %.*s", (int)n, out);
}

static char big[8192];

/* "NAME=VALUE" with VALUE `len` bytes of 'v'. */
static const char *cookie_of(const char *name, size_t len)
{
    size_t n = (size_t)snprintf(big, sizeof big, "%s=", name);
    memset(big + n, 'v', len);
    big[n + len] = '\0';
    return big;
}

Test(cookie, eviction)
{
    cookie_jar j = {0};
    char name[32], got[4096], want[4096];

    /* By count: the 33rd cookie evicts the first. */
    for (int i = 0; i <= COOKIE_MAX; i++) {
        snprintf(name, sizeof name, "c%d=%d", i, i);
        set(&j, A, 0, name, strlen(name));
    }
    cr_expect_eq(cookie_jar_count(&j), COOKIE_MAX);
    size_t w = 0;
    for (int i = 1; i <= COOKIE_MAX; i++)
        w += (size_t)snprintf(want + w, sizeof want - w, "%sc%d=%d", i > 1 ? "; " : "", i, i);
    header(&j, A, 0, 4095, got);
    cr_expect_str_eq(got, want, "c0 evicted, the others in order");

    /* Replacing in a full jar evicts nothing. */
    set(&j, A, 0, "c5=new", 6);
    cr_expect_eq(cookie_jar_count(&j), COOKIE_MAX);
    header(&j, A, 0, 4095, got);
    cr_expect(strstr(got, "c1=1; ") == got && strstr(got, "c5=new"), "got %s", got);

    /* An expired cookie goes before the oldest live one. */
    cookie_jar_clear(&j);
    cr_expect_eq(cookie_jar_count(&j), 0);
    set(&j, A, 0, "live=1", 6);
    set(&j, A, 0, "old=1; Max-Age=10", 17);
    for (int i = 2; i < COOKIE_MAX; i++) {
        snprintf(name, sizeof name, "c%d=%d", i, i);
        set(&j, A, 0, name, strlen(name));
    }
    cr_expect_eq(cookie_jar_count(&j), COOKIE_MAX);
    set(&j, A, 20, "new=1", 5);
    cr_expect_eq(cookie_jar_count(&j), COOKIE_MAX);
    header(&j, A, 20, 4095, got);
    cr_expect(strncmp(got, "live=1; c2=2", 12) == 0 && strstr(got, "old=") == NULL &&
                  strstr(got, "; new=1") != NULL,
              "got %s", got);

    /* By arena bytes: "a" with 1500 bytes takes 1 + 1500 + 5 ("a.com") + 1 ("/") = 1507, so a
     * third one evicts the first. */
    static const struct {
        const char *name;
        size_t value_len;
        size_t count;      /* after storing it */
        const char *first; /* the oldest cookie left, by its name */
    } rows[] = {
        {"a", 1500, 1, "a="}, {"b", 1500, 2, "a="}, {"c", 1500, 2, "b="},
        {"d", 10, 3, "b="},   {"e", 2000, 3, "c="}, /* b goes: 1507 + 1507 + 17 + 2007 > 4096 */
        {"f", 4089, 1, "f="},                       /* 4096 exactly: everything else goes */
        {"g", 4090, 1, "f="},                       /* 4097: cannot fit, ignored, f stays */
        {"f", 5000, 1, "f="}, /* a replacement that cannot fit leaves the old one */
    };
    cookie_jar_clear(&j);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *c = cookie_of(rows[i].name, rows[i].value_len);
        set(&j, A, 0, c, strlen(c));
        cr_expect_eq(cookie_jar_count(&j), rows[i].count, "after %s (%zu bytes): %zu cookies",
                     rows[i].name, rows[i].value_len, cookie_jar_count(&j));
        size_t n = header(&j, A, 0, 8000, big);
        cr_expect(n >= 2 && strncmp(big, rows[i].first, 2) == 0, "after %s: header starts %.8s",
                  rows[i].name, big);
    }
    cr_expect_eq(j.used, 4096, "f fills the arena");
}

Test(cookie, header_truncated_to_cap)
{
    cookie_jar j = {0};
    set(&j, A, 0, "a=1", 3);
    set(&j, A, 0, "bb=22", 5);
    set(&j, A, 0, "ccc=333", 7);
    static const struct {
        size_t cap;
        const char *want;
    } rows[] = {
        {0, ""},
        {1, ""},
        {2, ""},
        {3, "a=1"},
        {9, "a=1"},
        {10, "a=1; bb=22"},
        {18, "a=1; bb=22"},
        {19, "a=1; bb=22; ccc=333"},
        {100, "a=1; bb=22; ccc=333"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char got[256];
        size_t n = header(&j, A, 0, rows[i].cap, got);
        cr_expect_str_eq(got, rows[i].want, "cap %zu", rows[i].cap);
        cr_expect_eq(n, strlen(rows[i].want), "cap %zu", rows[i].cap);
    }

    /* One that does not fit is left out; later, shorter ones still go in. */
    cookie_jar_clear(&j);
    set(&j, A, 0, "long=xxxxxxxx", 13);
    set(&j, A, 0, "s=1", 3);
    set(&j, A, 0, "t=2", 3);
    static const struct {
        size_t cap;
        const char *want;
    } skip[] = {
        {3, "s=1"}, {7, "s=1"}, {8, "s=1; t=2"}, {13, "long=xxxxxxxx"}, {18, "long=xxxxxxxx; s=1"},
    };
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        char got[256];
        header(&j, A, 0, skip[i].cap, got);
        cr_expect_str_eq(got, skip[i].want, "cap %zu", skip[i].cap);
    }

    /* A NULL output with no room is fine. */
    url r = parse_url(A);
    cr_expect_eq(cookie_jar_header(&j, r.host, r.host_len, r.path, r.path_len, false, 0, NULL, 0),
                 0);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Random Set-Cookie values built from pieces that reach every branch of the parser, plus raw
 * random bytes, from random hosts and paths, each against guard pages. */
Test(cookie, random_input_stays_in_bounds)
{
    static const char *const pieces[] = {
        "a",
        "=",
        ";",
        " ",
        "\t",
        "\"",
        "/",
        ".",
        ":",
        "[",
        "]",
        "-",
        "0",
        "9",
        "99999999999999999999",
        "x.a.com",
        "a.com",
        "Path",
        "path=/",
        "Domain=",
        "domain=.a.com",
        "Max-Age=",
        "max-age=0",
        "Expires=",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Nov",
        "08:49:37",
        "1994",
        "\x01",
        "\x7f",
        "\xff",
        "\0",
    };
    static const char *const hosts[] = {"a.com",      "x.a.com", "A.COM:80", "10.0.0.1",
                                        "[::1]:8080", "",        ":",        "[",
                                        "b.a.com.",   "..",      "a:b:c"};
    static const char *const paths[] = {"/", "", "/x/y", "/x/", "?q", "x", "/a/b/c?d=/e#f/g"};
    const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    cookie_jar j = {0};
    char v[2048], got[4096];
    for (int iter = 0; iter < 100000; iter++) {
        size_t n = 0, parts = xorshift(&seed) % 24;
        for (size_t p = 0; p < parts && n < sizeof v - 64; p++) {
            uint64_t r = xorshift(&seed);
            if (r % 5 == 0) {
                v[n++] = (char)(r >> 8);
            } else {
                const char *s = pieces[(r >> 8) % npieces];
                size_t len = s[0] ? strlen(s) : 1;
                memcpy(v + n, s, len);
                n += len;
            }
        }
        if (xorshift(&seed) % 50 == 0) {
            memset(v + n, 'z', 1500);
            n += 1500;
        }
        const char *h = hosts[xorshift(&seed) % (sizeof(hosts) / sizeof(hosts[0]))];
        const char *pa = paths[xorshift(&seed) % (sizeof(paths) / sizeof(paths[0]))];
        bool https = xorshift(&seed) & 1;
        int64_t now = (int64_t)(xorshift(&seed) % 1000000000);
        const char *gh = guard_place(&g_host, h, strlen(h));
        const char *gp = guard_place(&g_path, pa, strlen(pa));
        const char *gv = guard_place(&g_value, v, n);
        cookie_jar_set(&j, gh, strlen(h), gp, strlen(pa), https, gv, n, now);
        check_jar("random", &j);

        size_t cap = xorshift(&seed) % 600;
        char *out = g_out.base + g_out.size - cap;
        size_t len = cookie_jar_header(&j, gh, strlen(h), gp, strlen(pa), https, now, out, cap);
        cr_assert_leq(len, cap, "iteration %d: %zu > cap %zu", iter, len, cap);
        memcpy(got, out, len);
        for (size_t i = 0; i < len; i++)
            cr_assert(got[i] != '\r' && got[i] != '\n' && got[i] != '\0',
                      "iteration %d: control byte in the header", iter);
    }
}
