/* report_esc: what the text outputs (JUnit XML, k6 JSON, Markdown) share about the bytes they
 * quote. Names, expressions and reasons come from the scenario file and may hold any byte; each
 * writer walks them one character at a time through report_utf8_next, which never reads past the
 * terminating NUL and turns every byte that does not start a well-formed UTF-8 sequence into
 * U+FFFD, so a document that claims UTF-8 is UTF-8. */
#include "report.h"

size_t report_utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = REPORT_BAD_CHAR; /* a continuation byte, C0/C1 (overlong) or F5..FF */
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) { /* also stops at the NUL */
            *cp = REPORT_BAD_CHAR;
            return 1;
        }
        v = v << 6 | (u[i] & 0x3f);
    }
    /* overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 */
    if (v < min || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) {
        *cp = REPORT_BAD_CHAR;
        return 1;
    }
    *cp = v;
    return n;
}

size_t report_utf8_put(FILE *f, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    }
    return fwrite(b, 1, n, f);
}
