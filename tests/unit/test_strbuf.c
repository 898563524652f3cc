/* strbuf_app: chained appends clamp at the buffer's end and stay NUL-terminated. */
#include <criterion/criterion.h>
#include <string.h>

#include "strbuf.h"

Test(strbuf, chains_and_clamps)
{
    char b[8];
    memset(b, 'x', sizeof b);
    size_t o = strbuf_app(b, sizeof b, 0, "%s", "ab");
    cr_expect_eq(o, 2);
    o = strbuf_app(b, sizeof b, o, "%d", 345);
    cr_expect_eq(o, 5);
    cr_expect_str_eq(b, "ab345");
    o = strbuf_app(b, sizeof b, o, "%s", "6789"); /* does not fit: cut at 7 characters */
    cr_expect_eq(o, 7);
    cr_expect_str_eq(b, "ab34567");
    o = strbuf_app(b, sizeof b, o, "%s", "more"); /* full: nothing changes */
    cr_expect_eq(o, 7);
    cr_expect_str_eq(b, "ab34567");
    cr_expect_eq(strbuf_app(b, 0, 0, "%s", "x"), 0, "a zero-size buffer is never written");
}
