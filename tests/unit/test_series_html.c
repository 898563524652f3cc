/* Unit: the html kind's escaping (a table of names that could become markup, and a secret) and
 * its bounded point list (merged pairwise when full, nothing lost, even resolution). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "series_html.h"

static void fini(void)
{
    redact_clear();
}

TestSuite(series_html, .fini = fini);

static char *esc(const char *in)
{
    static char buf[512];
    memset(buf, 0, sizeof buf);
    FILE *f = fmemopen(buf, sizeof buf, "w");
    cr_assert_not_null(f);
    html_esc(f, in);
    fclose(f);
    return buf;
}

Test(series_html, escaping_table)
{
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"plain-name_1.x", "plain-name_1.x"},
        {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"a&b", "a&amp;b"},
        {"\"quoted\" 'single'", "&quot;quoted&quot; &#39;single&#39;"},
        {"&amp;", "&amp;amp;"},
        {"tab\there\nnl\x7f", "tab here nl "},
        {"caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93"},       /* UTF-8 kept */
        {"bad\xff\xc0\x80", "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* -> U+FFFD */
        {"cut\xe2\x9c", "cut\xef\xbf\xbd\xef\xbf\xbd"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cr_expect_str_eq(esc(rows[i].in), rows[i].out, "row %zu", i);
}

Test(series_html, secrets_are_redacted_before_escaping)
{
    const char *secret = "tok<en>&1";
    cr_assert_eq(redact_add(secret, strlen(secret)), 0);
    cr_expect_str_eq(esc("Bearer tok<en>&1 <x>"), "Bearer " REDACT_MARK " &lt;x&gt;");
}

Test(series_html, points_stay_bounded_and_add_up)
{
    html_series *s = html_series_new();
    cr_assert_not_null(s);
    const size_t secs = 86400 + 17; /* a day and a bit, one interval a second */
    uint64_t req = 0, failed = 0;
    double worst = 0;
    for (size_t i = 1; i <= secs; i++) {
        double p99 = (double)(i % 1000) / 10.0;
        if (p99 > worst)
            worst = p99;
        html_series_add(s, (double)i, 1.0, 100 + i % 7, i % 3 == 0, i % 500 ? p99 : -1);
        req += 100 + i % 7;
        failed += i % 3 == 0;
    }
    const html_point *pt;
    size_t n = html_series_points(s, &pt);
    cr_assert(n > HTML_MAX_POINTS / 2 && n <= HTML_MAX_POINTS, "%zu points", n);
    uint64_t r = 0, fl = 0;
    unsigned ticks = 0;
    double dt = 0, maxp = -1;
    for (size_t i = 0; i < n; i++) {
        r += pt[i].req;
        fl += pt[i].failed;
        ticks += pt[i].ticks;
        dt += pt[i].dt;
        if (pt[i].p99_ms > maxp)
            maxp = pt[i].p99_ms;
        if (i)
            cr_expect(pt[i].t > pt[i - 1].t, "times rise at %zu", i);
        if (i + 1 < n) /* every point but the last covers as many seconds */
            cr_expect_eq(pt[i].ticks, pt[0].ticks, "point %zu covers %u", i, pt[i].ticks);
    }
    cr_expect_eq(pt[0].ticks, 32, "a day at %u s a point", pt[0].ticks);
    cr_expect_eq(r, req);
    cr_expect_eq(fl, failed);
    cr_expect_eq(ticks, secs);
    cr_expect_float_eq(dt, (double)secs, 1e-6);
    cr_expect_float_eq(pt[n - 1].t, (double)secs, 1e-9);
    cr_expect_float_eq(maxp, worst, 1e-9, "the worst p99 is kept");
    html_series_free(s);
    html_series_free(NULL);
}

Test(series_html, a_short_run_keeps_every_second)
{
    html_series *s = html_series_new();
    cr_assert_not_null(s);
    for (int i = 1; i <= 5; i++)
        html_series_add(s, i + 0.05, 1.0, (uint64_t)i * 10, 0, i == 3 ? -1 : i);
    html_series_add(s, 5.5, 0.45, 4, 1, 2.0); /* the last part of a second */
    const html_point *pt;
    size_t n = html_series_points(s, &pt);
    cr_assert_eq(n, 6);
    cr_expect_eq(pt[2].p99_ms, -1);
    cr_expect_eq(pt[5].req, 4);
    cr_expect_float_eq(pt[5].dt, 0.45, 1e-9);
    cr_expect_eq(html_series_points(s, &pt), 6, "reading twice adds nothing");
    html_series_free(s);
}
