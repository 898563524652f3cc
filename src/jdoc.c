/* jdoc: owns the JSON tree reader (see include/jdoc.h). A recursive-descent parser over a byte
 * range; every value becomes a struct jdoc, an array's or object's members one block of them.
 *
 * Invariant: on error nothing is leaked and the offset of the failing byte is reported; depth is
 * bounded by JDOC_MAX_DEPTH, so the recursion (parse and free) is too. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc.h"

typedef struct parser {
    const char *s;
    size_t len, pos;
    size_t values;   /* made so far, against JDOC_MAX_VALUES */
    const char *why; /* the reason of the first error */
    int rc;          /* -EINVAL or -ENOMEM once failed */
} parser;

static int fail(parser *p, const char *why)
{
    if (!p->rc) {
        p->why = why;
        p->rc = -EINVAL;
    }
    return p->rc;
}

static int nomem(parser *p)
{
    if (!p->rc) {
        p->why = "out of memory";
        p->rc = -ENOMEM;
    }
    return p->rc;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static bool eat(parser *p, char c)
{
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return true;
    }
    return false;
}

static int hex4(parser *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++, p->pos++) {
        if (p->pos >= p->len)
            return fail(p, "a \\u escape is cut short");
        char c = p->s[p->pos];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return fail(p, "a \\u escape needs 4 hex digits");
        *v = *v << 4 | d;
    }
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at p->pos (its opening quote): *out is its unescaped copy (caller frees). An escape
 * never makes more bytes than it takes (\uXXXX: 6 in, at most 3 out; a pair: 12 in, 4 out), so
 * the raw length bounds the copy. */
static int parse_string(parser *p, char **out, size_t *olen)
{
    size_t start = ++p->pos, end = start;
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len) {
        p->pos = p->len;
        return fail(p, "a string is not closed");
    }
    char *o = malloc(end - start + 1);
    if (!o)
        return nomem(p);
    size_t n = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            free(o);
            return fail(p, "a control byte in a string (write it as \\u00XX)");
        }
        if (c != '\\') {
            o[n++] = (char)c;
            p->pos++;
            continue;
        }
        char e = p->s[++p->pos];
        p->pos++;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = e ? strchr(from, e) : NULL;
        if (k) {
            o[n++] = to[k - from];
            continue;
        }
        if (e != 'u') {
            p->pos--;
            free(o);
            return fail(p, "an unknown escape in a string");
        }
        unsigned cp, lo;
        if (hex4(p, &cp) < 0) {
            free(o);
            return p->rc;
        }
        if (cp >= 0xdc00 && cp <= 0xdfff) {
            free(o);
            return fail(p, "a lone low surrogate \\u escape");
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (p->pos + 1 >= end || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                free(o);
                return fail(p, "a high surrogate \\u escape without its low half");
            }
            p->pos += 2;
            if (hex4(p, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
                free(o);
                return fail(p, "a high surrogate \\u escape without its low half");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        n += put_utf8(o + n, cp);
    }
    p->pos = end + 1;
    o[n] = '\0';
    *out = o;
    *olen = n;
    return 0;
}

static bool digit(const parser *p)
{
    return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

/* A number as RFC 8259 writes it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(parser *p, double *v)
{
    size_t start = p->pos;
    eat(p, '-');
    if (!digit(p))
        return fail(p, "expected a digit");
    if (!eat(p, '0'))
        while (digit(p))
            p->pos++;
    if (eat(p, '.')) {
        if (!digit(p))
            return fail(p, "expected a digit after '.'");
        while (digit(p))
            p->pos++;
    }
    if (eat(p, 'e') || eat(p, 'E')) {
        if (!eat(p, '+'))
            eat(p, '-');
        if (!digit(p))
            return fail(p, "expected a digit in the exponent");
        while (digit(p))
            p->pos++;
    }
    /* strtod needs a NUL after the number: copy it (short ones on the stack) */
    size_t n = p->pos - start;
    char small[64], *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return nomem(p);
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return 0;
}

static bool word(parser *p, const char *w)
{
    size_t n = strlen(w);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, w, n) == 0) {
        p->pos += n;
        return true;
    }
    return false;
}

static void free_value(jdoc *d)
{
    for (size_t i = 0; i < d->n; i++)
        free_value(&d->kids[i]);
    free(d->kids);
    free(d->str);
    free(d->key);
}

static int parse_value(parser *p, jdoc *d, unsigned depth);

/* Members of an array or object after its opening bracket, up to and including the close. */
static int parse_members(parser *p, jdoc *d, bool object, unsigned depth)
{
    size_t cap = 0;
    char close = object ? '}' : ']';
    skip_ws(p);
    if (eat(p, close))
        return 0;
    for (;;) {
        if (d->n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            jdoc *k = realloc(d->kids, ncap * sizeof *k);
            if (!k)
                return nomem(p);
            d->kids = k;
            cap = ncap;
        }
        jdoc *m = &d->kids[d->n];
        memset(m, 0, sizeof *m);
        d->n++; /* counted at once, so an error below frees what it got */
        skip_ws(p);
        if (object) {
            size_t klen;
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return fail(p, "expected a member name in double quotes");
            if (parse_string(p, &m->key, &klen) < 0)
                return p->rc;
            skip_ws(p);
            if (!eat(p, ':'))
                return fail(p, "expected ':' after a member name");
        }
        if (parse_value(p, m, depth + 1) < 0)
            return p->rc;
        skip_ws(p);
        if (eat(p, close))
            return 0;
        if (!eat(p, ','))
            return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(parser *p, jdoc *d, unsigned depth)
{
    if (depth > JDOC_MAX_DEPTH)
        return fail(p, "nested deeper than 128 levels");
    if (++p->values > JDOC_MAX_VALUES)
        return fail(p, "more than 4194304 values");
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, "expected a value, found the end of the file");
    char c = p->s[p->pos];
    if (c == '{' || c == '[') {
        p->pos++;
        d->kind = c == '{' ? JDOC_OBJECT : JDOC_ARRAY;
        return parse_members(p, d, c == '{', depth);
    }
    if (c == '"') {
        d->kind = JDOC_STRING;
        return parse_string(p, &d->str, &d->len);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        d->kind = JDOC_NUMBER;
        return parse_number(p, &d->num);
    }
    if (word(p, "true") || word(p, "false")) {
        d->kind = JDOC_BOOL;
        d->b = c == 't';
        return 0;
    }
    if (word(p, "null")) {
        d->kind = JDOC_NULL;
        return 0;
    }
    return fail(p, "expected a value");
}

int jdoc_parse(const char *text, size_t len, jdoc **out, size_t *at, char *err, size_t errlen)
{
    *out = NULL;
    *at = 0;
    parser p = {.s = text, .len = len};
    jdoc *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (parse_value(&p, d, 1) == 0) {
        skip_ws(&p);
        if (p.pos < p.len)
            fail(&p, "more after the end of the document");
    }
    if (p.rc) {
        free_value(d);
        free(d);
        *at = p.pos < len ? p.pos : len;
        snprintf(err, errlen, "%s", p.why);
        return p.rc;
    }
    *out = d;
    return 0;
}

void jdoc_free(jdoc *d)
{
    if (!d)
        return;
    free_value(d);
    free(d);
}

const jdoc *jdoc_get(const jdoc *d, const char *key)
{
    if (!d || d->kind != JDOC_OBJECT)
        return NULL;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->kids[i].key, key) == 0)
            return &d->kids[i];
    return NULL;
}

bool jdoc_number(const jdoc *d, double *v)
{
    if (!d || d->kind != JDOC_NUMBER)
        return false;
    *v = d->num;
    return true;
}
