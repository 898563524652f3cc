/* json: owns the JSON path parser and the JSON scanner behind json_find, json_get and
 * json_string_eq (see include/json.h).
 *
 * Invariant: nothing outside [doc, doc + len) is read. The scanner holds one cursor and one end
 * pointer and tests the cursor against the end before every byte it reads; it never recurses (a
 * skipped value's nesting is a 64-bit stack of object/array bits), so its time is linear in the
 * bytes scanned and its stack is fixed. Only the path parser allocates (a path's names, once).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#include "json.h"

/* Errors are "column N: ..." (value_col_error). */
#define fail value_col_error

/* JSON scanning. */

typedef struct jscan {
    const unsigned char *p, *end;
    int depth; /* containers entered on the way down the path */
} jscan;

static void ws(jscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

static int hex4(jscan *s, uint32_t *out)
{
    if (s->end - s->p < 4)
        return -EINVAL;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = *s->p++;
        if (is_digit(c))
            v = v << 4 | (c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v = v << 4 | ((c | 0x20) - 'a' + 10);
        else
            return -EINVAL;
    }
    *out = v;
    return 0;
}

static int utf8_put(unsigned char *u, uint32_t cp)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (int i = n - 1; i > 0; i--, cp >>= 6)
        u[i] = (unsigned char)(0x80 | (cp & 0x3f));
    u[0] = (unsigned char)(lead[n] | cp);
    return n;
}

/* Inside a string: decodes the next character into u[0..*n). Returns 1 for a character, 0 at the
 * closing quote (consumed), -EINVAL. */
static int str_next(jscan *s, unsigned char u[4], int *n)
{
    if (s->p >= s->end)
        return -EINVAL;
    unsigned c = *s->p++;
    *n = 1;
    if (c == '"')
        return 0;
    if (c < 0x20)
        return -EINVAL;
    if (c != '\\') {
        u[0] = (unsigned char)c;
        return 1;
    }
    if (s->p >= s->end)
        return -EINVAL;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    c = *s->p++;
    const char *e = c ? strchr(from, (int)c) : NULL;
    if (e) {
        u[0] = (unsigned char)to[e - from];
        return 1;
    }
    uint32_t cp, lo;
    if (c != 'u' || hex4(s, &cp) || (cp >= 0xdc00 && cp <= 0xdfff))
        return -EINVAL;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
            return -EINVAL;
        s->p += 2;
        if (hex4(s, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return -EINVAL;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    *n = utf8_put(u, cp);
    return 1;
}

/* Inside a string: moves past its closing quote. Runs of plain bytes go at memchr-like speed;
 * escapes are decoded (and so checked) one at a time. */
static int str_skip(jscan *s)
{
    unsigned char u[4];
    int n, rc;
    for (;;) {
        while (s->p < s->end && *s->p != '"' && *s->p != '\\' && *s->p >= 0x20)
            s->p++;
        if ((rc = str_next(s, u, &n)) <= 0)
            return rc;
    }
}

/* Inside a string (a member name): moves past it. Returns 1 when it unescapes to exactly
 * name[0..len), 0 when not, -EINVAL. */
static int key_match(jscan *s, const char *name, size_t len)
{
    unsigned char u[4];
    int n, rc;
    size_t at = 0;
    bool same = true;
    while ((rc = str_next(s, u, &n)) > 0) {
        if (same && (len - at < (size_t)n || memcmp(name + at, u, (size_t)n) != 0))
            same = false;
        else if (same)
            at += (size_t)n;
    }
    return rc < 0 ? rc : same && at == len;
}

/* RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int num_skip(jscan *s)
{
    const unsigned char *p = s->p, *e = s->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e || !is_digit(*p))
        return -EINVAL;
    if (*p++ != '0')
        while (p < e && is_digit(*p))
            p++;
    if (p < e && *p == '.') {
        if (++p >= e || !is_digit(*p))
            return -EINVAL;
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return -EINVAL;
        while (p < e && is_digit(*p))
            p++;
    }
    s->p = p;
    return 0;
}

static int lit_skip(jscan *s, int *kind)
{
    const char *w = *s->p == 't' ? "true" : *s->p == 'f' ? "false" : "null";
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return -EINVAL;
    s->p += n;
    *kind = *w == 'n' ? JSON_NULL : JSON_BOOL;
    return 0;
}

/* A string, number or literal at s->p; *kind says which. */
static int scalar_skip(jscan *s, int *kind)
{
    unsigned c = *s->p;
    if (c == '"') {
        s->p++;
        *kind = JSON_STRING;
        return str_skip(s);
    }
    if (c == '-' || is_digit(c)) {
        *kind = JSON_NUMBER;
        return num_skip(s);
    }
    if (c == 't' || c == 'f' || c == 'n')
        return lit_skip(s, kind);
    return -EINVAL;
}

/* At a member's opening quote: moves past the name and the ':' after it. */
static int member_name_skip(jscan *s)
{
    ws(s);
    if (s->p >= s->end || *s->p != '"')
        return -EINVAL;
    s->p++;
    int rc = str_skip(s);
    if (rc)
        return rc;
    ws(s);
    if (s->p >= s->end || *s->p != ':')
        return -EINVAL;
    s->p++;
    return 0;
}

/* Moves past one whole value (leading whitespace included), checking it. */
static int value_skip(jscan *s)
{
    uint64_t objects = 0; /* bit d: the container at local depth d is an object */
    int d = 0, kind, rc;

    for (;;) {
        ws(s);
        if (s->p >= s->end)
            return -EINVAL;
        unsigned c = *s->p;
        if (c == '{' || c == '[') {
            if (s->depth + d >= JSON_MAX_DEPTH)
                return -EINVAL;
            s->p++;
            objects = c == '{' ? objects | 1ULL << d : objects & ~(1ULL << d);
            d++;
            ws(s);
            if (s->p < s->end && *s->p == (c == '{' ? '}' : ']')) {
                s->p++;
                d--;
            } else {
                if (c == '{' && (rc = member_name_skip(s)))
                    return rc;
                continue;
            }
        } else if ((rc = scalar_skip(s, &kind))) {
            return rc;
        }
        /* A value ended: close containers until one goes on with a ','. */
        for (;;) {
            if (d == 0)
                return 0;
            bool obj = objects >> (d - 1) & 1;
            ws(s);
            if (s->p >= s->end)
                return -EINVAL;
            c = *s->p++;
            if (c == (obj ? '}' : ']')) {
                d--;
                continue;
            }
            if (c != ',')
                return -EINVAL;
            if (obj && (rc = member_name_skip(s)))
                return rc;
            break;
        }
    }
}

/* Inside an object, at a member: stops after the ':' of the first member named name. */
static int seek_member(jscan *s, const char *name, size_t len)
{
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            return -EINVAL;
        s->p++;
        int m = key_match(s, name, len);
        if (m < 0)
            return m;
        ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -EINVAL;
        s->p++;
        ws(s);
        if (m)
            return 0;
        int rc = value_skip(s);
        if (rc)
            return rc;
        ws(s);
        if (s->p >= s->end)
            return -EINVAL;
        unsigned c = *s->p++;
        if (c == '}')
            return -ENOENT;
        if (c != ',')
            return -EINVAL;
        ws(s);
    }
}

/* Inside an array, at its first element: stops at element index. */
static int seek_index(jscan *s, uint32_t index)
{
    for (uint32_t i = 0; i < index; i++) {
        int rc = value_skip(s);
        if (rc)
            return rc;
        ws(s);
        if (s->p >= s->end)
            return -EINVAL;
        unsigned c = *s->p++;
        if (c == ']')
            return -ENOENT;
        if (c != ',')
            return -EINVAL;
        ws(s);
    }
    return 0;
}

/* A number or literal must not run on into other bytes ("12x", "truex"); a number at the end of
 * a cut document inside a container may have lost digits. */
static int value_at(jscan *s, json_value *v)
{
    if (s->p >= s->end)
        return -EINVAL;
    const unsigned char *start = s->p;
    unsigned c = *s->p;
    int kind, rc;
    if (c == '{' || c == '[') {
        kind = c == '{' ? JSON_OBJECT : JSON_ARRAY;
        rc = value_skip(s);
    } else {
        rc = scalar_skip(s, &kind);
        if (!rc && kind != JSON_STRING) {
            if (s->p == s->end)
                rc = kind == JSON_NUMBER && s->depth > 0 ? -EINVAL : 0;
            else if (!strchr(" \t\r\n,]}", *s->p) || *s->p == 0)
                rc = -EINVAL;
        }
    }
    if (rc)
        return rc;
    *v = (json_value){.kind = kind, .p = (const char *)start, .len = (size_t)(s->p - start)};
    return 0;
}

int json_find(const json_path *p, const char *doc, size_t len, json_value *v)
{
    if (!doc)
        return -ENOENT;
    jscan s = {(const unsigned char *)doc, (const unsigned char *)doc + len, 0};
    ws(&s);
    for (unsigned i = 0; i < p->nseg; i++) {
        const json_seg *g = &p->seg[i];
        char open = g->is_index ? '[' : '{', close = g->is_index ? ']' : '}';
        if (s.p >= s.end)
            return -EINVAL;
        if (*s.p != open) {
            /* Not a container of the kind wanted: not there, if it is a value at all. */
            int rc = value_skip(&s);
            return rc ? rc : -ENOENT;
        }
        if (++s.depth > JSON_MAX_DEPTH)
            return -EINVAL;
        s.p++;
        ws(&s);
        if (s.p >= s.end)
            return -EINVAL;
        if (*s.p == close)
            return -ENOENT;
        int rc =
            g->is_index ? seek_index(&s, g->index) : seek_member(&s, p->names + g->off, g->len);
        if (rc)
            return rc;
    }
    return value_at(&s, v);
}

int json_get(const json_path *p, const char *doc, size_t len, char *out, size_t cap, size_t *olen,
             int *kind)
{
    json_value v;
    int rc = json_find(p, doc, len, &v);
    if (rc)
        return rc;
    size_t n = 0;
    if (v.kind == JSON_STRING) {
        jscan s = {(const unsigned char *)v.p + 1, (const unsigned char *)v.p + v.len, 0};
        unsigned char u[4];
        int k;
        while (str_next(&s, u, &k) > 0) {
            if (cap - n < (size_t)k)
                return -ENOSPC;
            memcpy(out + n, u, (size_t)k);
            n += (size_t)k;
        }
    } else {
        if (v.len > cap)
            return -ENOSPC;
        memcpy(out, v.p, v.len);
        n = v.len;
    }
    *olen = n;
    *kind = v.kind;
    return 0;
}

bool json_string_eq(const json_value *v, const char *str, size_t n)
{
    if (v->kind != JSON_STRING || v->len < 2)
        return false;
    jscan s = {(const unsigned char *)v->p + 1, (const unsigned char *)v->p + v->len, 0};
    return key_match(&s, str, n) == 1;
}

/* Paths. */

static bool name_byte(unsigned c)
{
    return c > 0x20 && c != 0x7f && !strchr(".[]\"'=!", (int)c);
}

/* c as it reads in a message: 'c' when printable, else its code. */
static const char *show(unsigned c, char buf[8])
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 8, "'%c'", (char)c);
    else
        snprintf(buf, 8, "0x%02x", c);
    return buf;
}

int json_path_parse_prefix(json_path *p, const char *text, size_t len, size_t col0, size_t *used,
                           char *err, size_t errlen)
{
    *p = (json_path){0};
    if (len > UINT32_MAX)
        return fail(err, errlen, col0 + 1, "path too long");
    p->names = malloc(len ? len : 1);
    if (!p->names)
        return -ENOMEM;
    const unsigned char *t = (const unsigned char *)text;
    size_t i = 0, nb = 0;
    bool dot = false; /* a name must come next */
    int rc = 0;
    if (len && t[0] == '$' && (len == 1 || !name_byte(t[1]))) {
        i = 1;
        if (i < len && t[i] == '.')
            dot = true, i++;
        else if (i == len || t[i] != '[')
            goto done;
    } else if (!len || (t[0] != '[' && !name_byte(t[0]))) {
        rc =
            fail(err, errlen, col0 + 1, "expected a path (e.g. data.id, items[0].id, [\"a key\"])");
        goto done;
    }
    for (;;) {
        size_t start = i;
        if (p->nseg == JSON_PATH_MAX) {
            rc =
                fail(err, errlen, col0 + i + 1, "more than %d segments in the path", JSON_PATH_MAX);
            goto done;
        }
        json_seg *g = &p->seg[p->nseg];
        if (!dot && t[i] == '[') {
            i++;
            if (i < len && is_digit(t[i])) {
                uint64_t v = 0;
                while (i < len && is_digit(t[i]) && v <= INT32_MAX)
                    v = v * 10 + (t[i++] - '0');
                if (v > INT32_MAX) {
                    rc = fail(err, errlen, col0 + start + 2, "index too large (at most %d)",
                              INT32_MAX);
                    goto done;
                }
                *g = (json_seg){.is_index = true, .index = (uint32_t)v};
            } else if (i < len && (t[i] == '"' || t[i] == '\'')) {
                unsigned q = t[i++];
                g->off = (uint32_t)nb;
                while (i < len && t[i] != q) {
                    if (t[i] == '\\' && i + 1 < len && t[i + 1] && strchr("\"'\\", t[i + 1]))
                        i++;
                    else if (t[i] == '\\') {
                        rc = fail(err, errlen, col0 + i + 1,
                                  "unknown escape in a quoted key (allowed: \\\" \\' \\\\)");
                        goto done;
                    }
                    p->names[nb++] = (char)t[i++];
                }
                if (i == len) {
                    rc = fail(err, errlen, col0 + start + 2, "unterminated key (missing %c)",
                              (char)q);
                    goto done;
                }
                i++;
                g->len = (uint32_t)(nb - g->off);
            } else {
                rc = fail(err, errlen, col0 + i + 1,
                          "expected an index or a quoted key after '[' (e.g. [0], [\"a key\"])");
                goto done;
            }
            if (i >= len || t[i] != ']') {
                rc = fail(err, errlen, col0 + i + 1, "expected ']'");
                goto done;
            }
            i++;
        } else {
            g->off = (uint32_t)nb;
            while (i < len && name_byte(t[i]))
                p->names[nb++] = (char)t[i++];
            g->len = (uint32_t)(nb - g->off);
            if (!g->len) {
                rc = fail(err, errlen, col0 + i + 1, "expected a name after '.'");
                goto done;
            }
        }
        p->nseg++;
        dot = i < len && t[i] == '.';
        if (dot)
            i++;
        else if (i >= len || t[i] != '[')
            break;
    }
done:
    if (rc) {
        json_path_free(p);
        return rc;
    }
    *used = i;
    return 0;
}

int json_path_parse(json_path *p, const char *text, char *err, size_t errlen)
{
    size_t len = strlen(text), used;
    int rc = json_path_parse_prefix(p, text, len, 0, &used, err, errlen);
    if (rc)
        return rc;
    while (used < len && (text[used] == ' ' || text[used] == '\t'))
        used++;
    if (used < len) {
        char b[8];
        json_path_free(p);
        return fail(err, errlen, used + 1, "unexpected %s after the path",
                    show((unsigned char)text[used], b));
    }
    return 0;
}

void json_path_free(json_path *p)
{
    free(p->names);
    *p = (json_path){0};
}
