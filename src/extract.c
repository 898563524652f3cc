/* extract: owns extract rules and scratches, the JSON path parser and scanner, and the header
 * walk (see include/extract.h).
 *
 * Invariant: nothing reachable from a check_resp is read outside [ptr, ptr + len). The JSON
 * scanner holds one cursor and one end pointer and tests the cursor against the end before every
 * byte it reads; it never recurses (a skipped value's nesting is a 64-bit stack of
 * object/array bits), so its time is linear in the bytes scanned and its stack is fixed. After
 * setup, the only memory a match may ask for is the PCRE2 interpreter's backtracking frames,
 * which come from a fixed arena in the scratch (two blocks, because PCRE2 copies the frames into
 * a larger block before freeing the old one).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"

/* A one-line message "column N: ..." in err; returns -EINVAL. */
__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, size_t col,
                                                      const char *fmt, ...)
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

/* Headers. */

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

bool head_name_valid(const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool alnum = is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z');
        if (!alnum && (!c || !strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return n > 0;
}

void head_iter_init(head_iter *it, const char *head, size_t head_len)
{
    *it = (head_iter){.p = head, .end = head ? head + head_len : NULL};
}

bool head_next(head_iter *it, const char *name, size_t name_len, const char **v, size_t *vlen)
{
    if (!it->p || !name_len)
        return false;
    while (it->p < it->end) {
        const char *line = it->p;
        const char *nl = memchr(line, '\n', (size_t)(it->end - line));
        const char *eol = nl ? nl : it->end;
        it->p = nl ? nl + 1 : it->end;
        if (eol > line && eol[-1] == '\r')
            eol--;
        if (eol == line) {
            if (it->started)
                break;
            continue;
        }
        if (!it->started) {
            it->started = true;
            if (eol - line >= 5 && memcmp(line, "HTTP/", 5) == 0)
                continue;
        }
        if ((size_t)(eol - line) <= name_len || line[name_len] != ':')
            continue;
        size_t i = 0;
        while (i < name_len && lower((unsigned char)line[i]) == lower((unsigned char)name[i]))
            i++;
        if (i < name_len)
            continue;
        const char *a = line + name_len + 1, *b = eol;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        *v = a;
        *vlen = (size_t)(b - a);
        return true;
    }
    it->p = it->end;
    return false;
}

bool head_find(const char *head, size_t head_len, const char *name, size_t name_len, size_t n,
               const char **v, size_t *vlen)
{
    head_iter it;
    head_iter_init(&it, head, head_len);
    while (head_next(&it, name, name_len, v, vlen))
        if (n-- == 0)
            return true;
    return false;
}

/* Rules. */

enum { EX_JSON, EX_HEADER, EX_REGEX };

struct extract_rule {
    int type;
    json_path path; /* EX_JSON */
    char *name;     /* EX_HEADER */
    size_t name_len;
    pcre2_code *re; /* EX_REGEX */
    bool jit;       /* re is JIT compiled: matches may use it */
    bool group;     /* the value is capture group 1 (else the whole match) */
};

/* The interpreter's frames grow by doubling up to the heap limit; the old block is freed only
 * after the new one is filled, so the arena holds two blocks, one from each end. */
#define ARENA_SIZE (4u << 20)
#define HEAP_LIMIT_KIB (ARENA_SIZE / 2 / 1024 - 1)
#define MATCH_LIMIT 1000000
#define JIT_STACK_MAX (512u << 10)

struct extract_scratch {
    pcre2_general_context *gctx;
    pcre2_match_context *mctx;
    pcre2_match_data *md;
    pcre2_jit_stack *jit_stack;
    bool setup; /* still in extract_scratch_new: allocate from the system */
    bool lo_used, hi_used;
    size_t lo_size, hi_off; /* blocks at arena[0 .. lo_size) and arena[hi_off .. ARENA_SIZE) */
    unsigned char *arena;
};

static void *arena_alloc(size_t size, void *data)
{
    extract_scratch *s = data;
    if (s->setup)
        return malloc(size);
    size = size ? (size + 15) & ~(size_t)15 : 16;
    if (!s->lo_used && size <= (s->hi_used ? s->hi_off : ARENA_SIZE)) {
        s->lo_used = true;
        s->lo_size = size;
        return s->arena;
    }
    if (s->lo_used && !s->hi_used && size <= ARENA_SIZE - s->lo_size) {
        s->hi_used = true;
        s->hi_off = ARENA_SIZE - size;
        return s->arena + s->hi_off;
    }
    return NULL;
}

static void arena_free(void *ptr, void *data)
{
    extract_scratch *s = data;
    unsigned char *p = ptr;
    if (!p)
        return;
    if (s->arena && p == s->arena)
        s->lo_used = false;
    else if (s->arena && s->hi_used && p == s->arena + s->hi_off)
        s->hi_used = false;
    else
        free(p);
}

int extract_scratch_new(extract_scratch **out)
{
    *out = NULL;
    extract_scratch *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->setup = true;
    s->arena = malloc(ARENA_SIZE);
    s->gctx = pcre2_general_context_create(arena_alloc, arena_free, s);
    s->mctx = s->gctx ? pcre2_match_context_create(s->gctx) : NULL;
    s->md = s->gctx ? pcre2_match_data_create(2, s->gctx) : NULL;
    s->jit_stack = s->gctx ? pcre2_jit_stack_create(32u << 10, JIT_STACK_MAX, s->gctx) : NULL;
    s->setup = false;
    /* No JIT stack is no error: a library without JIT has none to give. */
    if (!s->arena || !s->mctx || !s->md) {
        extract_scratch_free(s);
        return -ENOMEM;
    }
    if (s->jit_stack)
        pcre2_jit_stack_assign(s->mctx, NULL, s->jit_stack);
    pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
    pcre2_set_heap_limit(s->mctx, HEAP_LIMIT_KIB);
    *out = s;
    return 0;
}

void extract_scratch_free(extract_scratch *s)
{
    if (!s)
        return;
    pcre2_match_data_free(s->md);
    pcre2_jit_stack_free(s->jit_stack);
    pcre2_match_context_free(s->mctx);
    pcre2_general_context_free(s->gctx);
    free(s->arena);
    free(s);
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

#define EXTRACTORS "json PATH, header NAME, regex PATTERN"

int extract_parse(extract_rule **out, const char *text, char *err, size_t errlen)
{
    *out = NULL;
    size_t len = strlen(text), i = 0;
    while (i < len && blank(text[i]))
        i++;
    while (len > i && blank(text[len - 1]))
        len--;
    size_t kw = i;
    while (i < len && !blank(text[i]))
        i++;
    size_t kwlen = i - kw;
    while (i < len && blank(text[i]))
        i++;
    if (kwlen == 0)
        return fail(err, errlen, kw + 1, "expected an extractor (allowed: " EXTRACTORS ")");

    extract_rule *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    int rc = 0;
#define KW(w) (kwlen == strlen(w) && memcmp(text + kw, w, kwlen) == 0)
    if (KW("json")) {
        r->type = EX_JSON;
        size_t used;
        if (i == len)
            rc = fail(err, errlen, i + 1, "expected a PATH after 'json' (e.g. json data.id)");
        else if (!(rc = json_path_parse_prefix(&r->path, text + i, len - i, i, &used, err,
                                               errlen)) &&
                 used < len - i) {
            char b[8];
            while (blank(text[i + used]))
                used++;
            rc = fail(err, errlen, i + used + 1, "unexpected %s after the path",
                      show((unsigned char)text[i + used], b));
        }
    } else if (KW("header")) {
        r->type = EX_HEADER;
        if (i == len)
            rc = fail(err, errlen, i + 1, "expected a NAME after 'header' (e.g. header Location)");
        else if (!head_name_valid(text + i, len - i))
            rc = fail(err, errlen, i + 1,
                      "invalid header name '%.*s' (allowed: letters, digits, !#$%%&'*+-.^_`|~)",
                      (int)(len - i), text + i);
        else if (!(r->name = strndup(text + i, len - i)))
            rc = -ENOMEM;
        r->name_len = len - i;
    } else if (KW("regex")) {
        r->type = EX_REGEX;
        int code;
        PCRE2_SIZE at;
        uint32_t groups = 0;
        if (i == len) {
            rc =
                fail(err, errlen, i + 1, "expected a PATTERN after 'regex' (e.g. regex id=(\\d+))");
        } else if (!(r->re = pcre2_compile((PCRE2_SPTR)text + i, len - i, PCRE2_NEVER_UTF, &code,
                                           &at, NULL))) {
            PCRE2_UCHAR msg[256];
            if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
                snprintf((char *)msg, sizeof msg, "error %d", code);
            rc = fail(err, errlen, i + at + 1, "%s", (const char *)msg);
        } else {
            r->jit = pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE) == 0;
            pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups);
            r->group = groups > 0;
        }
    } else {
        rc = fail(err, errlen, kw + 1, "unknown extractor '%.*s' (allowed: " EXTRACTORS ")",
                  (int)kwlen, text + kw);
    }
#undef KW
    if (rc) {
        extract_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void extract_free(extract_rule *r)
{
    if (!r)
        return;
    json_path_free(&r->path);
    free(r->name);
    pcre2_code_free(r->re);
    free(r);
}

bool extract_needs_body(const extract_rule *r)
{
    return r->type != EX_HEADER;
}

bool extract_needs_head(const extract_rule *r)
{
    return r->type == EX_HEADER;
}

/* Not in extract.h (not part of the interface): makes matches with r use the interpreter, so
 * the tests can reach the arena on a machine where JIT compiling works. */
void extract_rule_no_jit(extract_rule *r);
void extract_rule_no_jit(extract_rule *r)
{
    r->jit = false;
}

static int copy_out(const char *v, size_t n, char *out, size_t cap, size_t *len)
{
    if (n > cap)
        return -ENOSPC;
    if (n)
        memcpy(out, v, n);
    *len = n;
    return 0;
}

int extract_run(const extract_rule *r, extract_scratch *s, const check_resp *resp, char *out,
                size_t cap, size_t *len)
{
    const char *v;
    size_t n;
    int kind;
    switch (r->type) {
    case EX_JSON:
        if (!resp->body)
            return -ENOENT;
        return json_get(&r->path, resp->body, resp->body_len, out, cap, len, &kind);
    case EX_HEADER:
        if (!head_find(resp->head, resp->head_len, r->name, r->name_len, 0, &v, &n))
            return -ENOENT;
        return copy_out(v, n, out, cap, len);
    default:
        break;
    }
    if (!resp->body)
        return -ENOENT;
    int rc = pcre2_match(r->re, (PCRE2_SPTR)resp->body, resp->body_len, 0,
                         r->jit ? 0 : PCRE2_NO_JIT, s->md, s->mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
        return -ENOENT;
    if (rc < 0)
        return -E2BIG;
    /* rc == 0: the ovector (2 pairs) is smaller than the groups; the first two are still set. */
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    size_t g = r->group ? 2 : 0;
    if ((rc > 0 && (size_t)rc <= g / 2) || ov[g] == PCRE2_UNSET || ov[g] > ov[g + 1] ||
        ov[g + 1] > resp->body_len)
        return -ENOENT;
    return copy_out(resp->body + ov[g], ov[g + 1] - ov[g], out, cap, len);
}
