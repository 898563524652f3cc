/* Unit tests for extract: JSON lookups (a table of documents, paths and the value or error that
 * must come of them, nesting limits, every cut of a document), path parsing and its errors,
 * header lookup, regex rules on the JIT and on the interpreter, rule parse errors and -ENOSPC.
 *
 * Every document, head and body is copied into a malloc'd block of exactly its length, and every
 * output buffer is exactly cap bytes, so a read or write one byte too far is an ASan error in the
 * sanitizer build. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"

void extract_rule_no_jit(extract_rule *r);

/* An exact-size heap copy of s[0..n) (one byte allocated for n == 0, none of it readable). */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    if (n)
        memcpy(p, s, n);
    return p;
}

/* An output buffer of exactly cap bytes. */
static char *outbuf(size_t cap)
{
    char *p = malloc(cap ? cap : 1);
    cr_assert_not_null(p);
    return p;
}

static json_path parse_path(const char *text)
{
    json_path p;
    char err[256] = "";
    cr_assert_eq(json_path_parse(&p, text, err, sizeof err), 0, "path '%s': %s", text, err);
    return p;
}

/* json_get on an exact copy of doc[0..dlen) into an exact out[0..cap). */
static int get(const char *path, const char *doc, size_t dlen, char *val, size_t cap, size_t *vlen,
               int *kind)
{
    json_path p = parse_path(path);
    char *d = exact(doc, dlen), *out = outbuf(cap);
    int rc = json_get(&p, d, dlen, out, cap, vlen, kind);
    if (rc == 0)
        memcpy(val, out, *vlen);
    free(out);
    free(d);
    json_path_free(&p);
    return rc;
}

static const char *const kind_name[] = {"?", "string", "number", "bool", "null", "object", "array"};

typedef struct json_case {
    const char *path, *doc;
    int rc;
    int kind;
    const char *val;
    size_t vlen; /* 0: strlen(val) */
    size_t dlen; /* 0: strlen(doc) */
} json_case;

/* A row that finds a value, and one that fails. */
#define OK(path, doc, kind, val)                                                                   \
    {                                                                                              \
        path, doc, 0, kind, val, 0, 0                                                              \
    }
#define ERR(path, doc, rc)                                                                         \
    {                                                                                              \
        path, doc, rc, 0, NULL, 0, 0                                                               \
    }

#define S JSON_STRING
#define N JSON_NUMBER
#define B JSON_BOOL
#define O JSON_OBJECT
#define A JSON_ARRAY

static const json_case json_cases[] = {
    /* nested objects */
    OK("a.b.c", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", S, "deep"),
    OK("data.upload_id", "{\"data\":{\"x\":[1,{}],\"upload_id\":\"u-123\"}}", S, "u-123"),
    OK("tokens.accessToken", "{\"tokens\":{\"refreshToken\":\"r\",\"accessToken\":\"t0k\"}}", S,
       "t0k"),
    OK("$.a", "{\"a\":1}", N, "1"),
    OK("$", " {\"a\" : 1} ", O, "{\"a\" : 1}"),
    OK("$a", "{\"$a\":2,\"a\":1}", N, "2"),
    /* arrays */
    OK("items[0].id", "{\"items\":[{\"id\":7},{\"id\":8}]}", N, "7"),
    OK("items[1].id", "{\"items\":[{\"id\":7},{\"id\":8}]}", N, "8"),
    ERR("items[2].id", "{\"items\":[{\"id\":7},{\"id\":8}]}", -ENOENT),
    OK("[2]", "[10, 20, 30]", N, "30"),
    OK("$[1]", "[10, 20, 30]", N, "20"),
    ERR("[3]", "[10, 20, 30]", -ENOENT),
    ERR("[0]", "[]", -ENOENT),
    ERR("[0]", "[ ]", -ENOENT),
    OK("a.b[0][1]", "{\"a\":{\"b\":[[1,2],[3]]}}", N, "2"),
    ERR("a.b[1][1]", "{\"a\":{\"b\":[[1,2],[3]]}}", -ENOENT),
    OK("[1].x", "[{\"x\":[1,[2,{\"y\":3}]]},{\"x\":\"second\"}]", S, "second"),
    /* keys with dots and escapes */
    OK("a[\"key with.dots\"]", "{\"a\":{\"key with.dots\":true}}", B, "true"),
    OK("a['key with.dots']", "{\"a\":{\"key\":1,\"key with.dots\":false}}", B, "false"),
    OK("[\"a\\\"b\"]", "{\"a\\\"b\":1}", N, "1"),
    OK("ab", "{\"\\u0061b\":5}", N, "5"),
    OK("[\"a/b\"]", "{\"a\\/b\":6}", N, "6"),
    OK("[\"\xc3\xa9\"]", "{\"\\u00e9\":7}", N, "7"),
    OK("ab", "{\"abc\":1,\"a\":2,\"ab\":3}", N, "3"),
    /* escapes in values */
    OK("s", "{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}", S, "a\"b\\c/d\b\f\n\r\t"),
    OK("s", "{\"s\":\"\"}", S, ""),
    OK("s", "{\"s\":\"\\u00e9\\u00E9\"}", S, "\xc3\xa9\xc3\xa9"),
    OK("s", "{\"s\":\"\\u20ac\"}", S, "\xe2\x82\xac"),
    OK("s", "{\"s\":\"\\ud83d\\ude00!\"}", S, "\xf0\x9f\x98\x80!"),
    OK("s", "{\"s\":\"\\uDBFF\\uDFFF\"}", S, "\xf4\x8f\xbf\xbf"),
    {"s", "{\"s\":\"x\\u0000y\"}", 0, S, "x\0y", 3, 0},
    OK("s", "{\"s\":\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"}", S,
       "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"),
    OK("s", "{\"s\":\"raw \xc3\xa9 \xff\"}", S, "raw \xc3\xa9 \xff"),
    ERR("s", "{\"s\":\"\\ud83d\"}", -EINVAL),
    ERR("s", "{\"s\":\"\\ude00\"}", -EINVAL),
    ERR("s", "{\"s\":\"\\ud83dx\"}", -EINVAL),
    ERR("s", "{\"s\":\"\\ud83d\\u0041\"}", -EINVAL),
    ERR("s", "{\"s\":\"\\ud83d\\ud83d\"}", -EINVAL),
    ERR("s", "{\"t\":\"\\udfff\",\"s\":1}", -EINVAL),
    ERR("s", "{\"s\":\"\\u12g4\"}", -EINVAL),
    ERR("s", "{\"s\":\"\\u12\"}", -EINVAL),
    ERR("s", "{\"s\":\"\\q\"}", -EINVAL),
    ERR("s", "{\"s\":\"a\tb\"}", -EINVAL),
    {"s", "{\"s\":\"a\0b\"}", -EINVAL, 0, NULL, 0, 12},
    ERR("s", "{\"s\":\"a\x1f\"}", -EINVAL),
    /* numbers */
    OK("n", "{\"n\":-0}", N, "-0"),
    OK("n", "{\"n\":1.5e+10}", N, "1.5e+10"),
    OK("n", "{\"n\":0.25 }", N, "0.25"),
    OK("n", "{\"n\":1E5}", N, "1E5"),
    OK("n", "{\"n\":-12.0e-3,\"m\":1}", N, "-12.0e-3"),
    OK("[0]", "[123456789012345678901234567890]", N, "123456789012345678901234567890"),
    OK("$", "42", N, "42"),
    OK("$", "-1.5 ", N, "-1.5"),
    ERR("n", "{\"n\":01}", -EINVAL),
    ERR("n", "{\"n\":1.}", -EINVAL),
    ERR("n", "{\"n\":.5}", -EINVAL),
    ERR("n", "{\"n\":+1}", -EINVAL),
    ERR("n", "{\"n\":1e}", -EINVAL),
    ERR("n", "{\"n\":1e+}", -EINVAL),
    ERR("n", "{\"n\":-}", -EINVAL),
    ERR("n", "{\"n\":12x}", -EINVAL),
    ERR("n", "{\"n\":0x10}", -EINVAL),
    ERR("n", "{\"n\":NaN}", -EINVAL),
    ERR("$", "12x", -EINVAL),
    ERR("m", "{\"n\":01,\"m\":1}", -EINVAL),
    /* true, false, null */
    OK("b", "{\"b\":true}", B, "true"),
    OK("b", "{\"b\":false }", B, "false"),
    OK("b", "{\"b\":null}", JSON_NULL, "null"),
    OK("$", "null", JSON_NULL, "null"),
    ERR("b", "{\"b\":tru}", -EINVAL),
    ERR("b", "{\"b\":truex}", -EINVAL),
    ERR("b", "{\"b\":True}", -EINVAL),
    ERR("b", "{\"b\":nul", -EINVAL),
    ERR("c", "{\"b\":nil,\"c\":1}", -EINVAL),
    /* objects and arrays as values */
    OK("a", "{\"a\":{\"b\":[1, {\"c\":null}]},\"z\":0}", O, "{\"b\":[1, {\"c\":null}]}"),
    OK("a.b", "{\"a\":{\"b\":[1, {\"c\":null}]},\"z\":0}", A, "[1, {\"c\":null}]"),
    OK("a", "{\"a\":{}}", O, "{}"),
    OK("a", "{\"a\":[]}", A, "[]"),
    OK("a", "{\"a\":[\"]\",\"}\\\"\"]}", A, "[\"]\",\"}\\\"\"]"),
    /* whitespace (RFC 8259: space, tab, LF, CR only) */
    OK("a[1]", " \t\r\n{ \n\"a\" \t: \r [ 1 , 2 ] }", N, "2"),
    OK("a", "{\"a\"\n:\n\"x\"\n}", S, "x"),
    ERR("a", "{\f\"a\":1}", -EINVAL),
    ERR("a", "\v{\"a\":1}", -EINVAL),
    ERR("a", "{\"a\":\xc2\xa0 1}", -EINVAL),
    /* duplicate keys: the first wins */
    OK("a", "{\"a\":1,\"a\":2}", N, "1"),
    ERR("a.b", "{\"a\":{\"c\":0},\"a\":{\"b\":2}}", -ENOENT),
    /* missing, and names or indexes on what is no object or array */
    ERR("b", "{\"a\":1}", -ENOENT),
    ERR("b", "{}", -ENOENT),
    ERR("a.b", "{\"a\":1}", -ENOENT),
    ERR("a.b", "{\"a\":null}", -ENOENT),
    ERR("a.b", "{\"a\":[1]}", -ENOENT),
    ERR("a[0]", "{\"a\":\"str\"}", -ENOENT),
    ERR("a[0]", "{\"a\":{\"0\":1}}", -ENOENT),
    ERR("[0]", "{\"a\":1}", -ENOENT),
    ERR("a", "[1]", -ENOENT),
    ERR("a", "\"x\"", -ENOENT),
    ERR("a", "\"x", -EINVAL),
    ERR("a.b", "{\"a\":[1,}", -EINVAL),
    /* invalid documents */
    ERR("a", "", -EINVAL),
    ERR("a", "   ", -EINVAL),
    ERR("$", "", -EINVAL),
    ERR("a", "{\"a\" 1}", -EINVAL),
    ERR("a", "{a:1}", -EINVAL),
    ERR("a", "{'a':1}", -EINVAL),
    ERR("b", "{\"a\":1,}", -EINVAL),
    ERR("b", "{\"a\":1 \"b\":2}", -EINVAL),
    ERR("[2]", "[1,,2]", -EINVAL),
    ERR("[1]", "[1 2]", -EINVAL),
    ERR("c", "{\"b\":[1,2},\"c\":1}", -EINVAL),
    ERR("c", "{\"b\":{\"x\":1],\"c\":1}", -EINVAL),
    ERR("c", "{\"b\":[1,2]]", -EINVAL),
    ERR("a", "}", -EINVAL),
    ERR("a", "{\"a\"}", -EINVAL),
    /* nothing after the value is read */
    OK("a", "{\"a\":\"v\",\"b\":", S, "v"),
    OK("a", "{\"a\":[1,2] garbage", A, "[1,2]"),
    OK("$", "true false", B, "true"),
};

Test(extract, json_get_table)
{
    for (size_t i = 0; i < sizeof json_cases / sizeof *json_cases; i++) {
        const json_case *c = &json_cases[i];
        size_t dlen = c->dlen ? c->dlen : strlen(c->doc), vlen = 12345;
        char val[256];
        int kind = -1;
        int rc = get(c->path, c->doc, dlen, val, sizeof val, &vlen, &kind);
        cr_expect_eq(rc, c->rc, "row %zu (%s in %s): rc %d, want %d", i, c->path, c->doc, rc,
                     c->rc);
        if (rc != 0 || c->rc != 0) {
            cr_expect(vlen == 12345 && kind == -1, "row %zu: outputs set on failure", i);
            continue;
        }
        size_t want = c->vlen ? c->vlen : strlen(c->val);
        cr_expect(vlen == want && memcmp(val, c->val, want) == 0,
                  "row %zu (%s in %s): got '%.*s', want '%s'", i, c->path, c->doc, (int)vlen, val,
                  c->val);
        cr_expect_eq(kind, c->kind, "row %zu (%s in %s): kind %s, want %s", i, c->path, c->doc,
                     kind_name[kind], kind_name[c->kind]);
    }
}

/* A path finds the same value with json_find, its raw text inside the document. */
Test(extract, json_find_raw_text)
{
    static const struct {
        const char *path, *doc, *raw;
        int kind;
    } rows[] = {
        {"a", "{\"a\": \"x\\ty\" }", "\"x\\ty\"", S},
        {"a", "{\"a\":-1e3}", "-1e3", N},
        {"a[0]", "{\"a\":[ {\"b\":[]} ]}", "{\"b\":[]}", O},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        json_path p = parse_path(rows[i].path);
        size_t n = strlen(rows[i].doc);
        char *d = exact(rows[i].doc, n);
        json_value v;
        cr_assert_eq(json_find(&p, d, n, &v), 0, "row %zu", i);
        cr_expect(v.kind == rows[i].kind && v.len == strlen(rows[i].raw) &&
                      memcmp(v.p, rows[i].raw, v.len) == 0 && v.p >= d && v.p + v.len <= d + n,
                  "row %zu: got '%.*s' kind %d", i, (int)v.len, v.p, v.kind);
        free(d);
        json_path_free(&p);
    }
    json_path root = {0};
    json_value v;
    cr_expect_eq(json_find(&root, NULL, 0, &v), -ENOENT, "NULL document");
}

static char *nested(int depth, const char *inner, const char *before, const char *after)
{
    size_t n = strlen(before) + 2 * (size_t)depth + strlen(inner) + strlen(after) + 1;
    char *s = malloc(n), *p = s;
    cr_assert_not_null(s);
    p += sprintf(p, "%s", before);
    for (int i = 0; i < depth; i++)
        *p++ = '[';
    p += sprintf(p, "%s", inner);
    for (int i = 0; i < depth; i++)
        *p++ = ']';
    sprintf(p, "%s", after);
    return s;
}

Test(extract, json_depth_limit)
{
    static const struct {
        const char *path, *before, *after;
        int depth; /* arrays nested inside the wrapper */
        int rc;
    } rows[] = {
        {"$", "", "", JSON_MAX_DEPTH, 0},
        {"$", "", "", JSON_MAX_DEPTH + 1, -EINVAL},
        /* skipped on the way: the object is one level more */
        {"a", "{\"skip\":", ",\"a\":1}", JSON_MAX_DEPTH - 1, 0},
        {"a", "{\"skip\":", ",\"a\":1}", JSON_MAX_DEPTH, -EINVAL},
        /* walked into: 16 levels by the path, the rest as the value */
        {"[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]", "", "", JSON_MAX_DEPTH, 0},
        {"[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]", "", "", JSON_MAX_DEPTH + 1, -EINVAL},
        {"[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]", "", "", 100000, -EINVAL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char *doc = nested(rows[i].depth, "1", rows[i].before, rows[i].after);
        char val[1024];
        size_t vlen;
        int kind;
        json_path p = parse_path(rows[i].path);
        char *d = exact(doc, strlen(doc));
        int rc = json_get(&p, d, strlen(doc), val, sizeof val, &vlen, &kind);
        cr_expect_eq(rc, rows[i].rc, "row %zu (depth %d, %s): rc %d", i, rows[i].depth,
                     rows[i].path, rc);
        free(d);
        free(doc);
        json_path_free(&p);
    }
}

/* Every cut of a document: before the value has ended the answer is -EINVAL (a cut document is
 * invalid), from there on the value (nothing after it is read). */
Test(extract, json_truncated_every_cut)
{
    static const struct {
        const char *path, *doc, *val;
        size_t ends; /* the shortest prefix that gives the value */
    } rows[] = {
        {"a.b", "{\"a\":{\"b\":\"hello\"}}", "hello", 17},
        {"a.b", "{\"a\":{\"x\":[1,{\"y\":\"\\u00e9\"}],\"b\":\"\\ud83d\\ude00\"}}",
         "\xf0\x9f\x98\x80", 47},
        /* a number needs the byte after it: "12" may be the start of "123" */
        {"n", "{\"n\":123}", "123", 9},
        {"b", "{\"b\":true}", "true", 9},
        {"[1].a[1]", "[0,{\"a\":[1,[2]]}]", "[2]", 14},
        {"[1]", "{\"a\":[1,[2]]}", NULL, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        size_t n = strlen(rows[i].doc);
        for (size_t cut = 0; cut <= n; cut++) {
            char val[64];
            size_t vlen = 0;
            int kind;
            int rc = get(rows[i].path, rows[i].doc, cut, val, sizeof val, &vlen, &kind);
            if (!rows[i].val) {
                cr_expect_eq(rc, cut == n ? -ENOENT : -EINVAL, "row %zu cut %zu: rc %d", i, cut,
                             rc);
            } else if (cut < rows[i].ends) {
                cr_expect_eq(rc, -EINVAL, "row %zu cut %zu: rc %d, want -EINVAL", i, cut, rc);
            } else {
                cr_expect(rc == 0 && vlen == strlen(rows[i].val) &&
                              memcmp(val, rows[i].val, vlen) == 0,
                          "row %zu cut %zu: rc %d '%.*s'", i, cut, rc, (int)vlen, val);
            }
        }
    }
}

/* Paths: a segment list rendered as names joined by '|', indexes as #N. */
static void render(const json_path *p, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < p->nseg && n < cap; i++) {
        const json_seg *g = &p->seg[i];
        if (g->is_index)
            n += (size_t)snprintf(buf + n, cap - n, "%s#%u", i ? "|" : "", g->index);
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s%.*s", i ? "|" : "", (int)g->len,
                                  p->names + g->off);
    }
}

Test(extract, path_parse_forms)
{
    static const struct {
        const char *text, *want;
    } rows[] = {
        {"data.upload_id", "data|upload_id"},
        {"tokens.accessToken", "tokens|accessToken"},
        {"items[0].id", "items|#0|id"},
        {"[2]", "#2"},
        {"a[\"key with.dots\"]", "a|key with.dots"},
        {"a['key with.dots']", "a|key with.dots"},
        {"a.b[0][1]", "a|b|#0|#1"},
        {"$", ""},
        {"$.a", "a"},
        {"$[0]", "#0"},
        {"$a", "$a"},
        {"a.$", "a|$"},
        {"a$.b", "a$|b"},
        {"['it\\'s']", "it's"},
        {"[\"q\\\"\\\\\"]", "q\"\\"},
        {"[\"\"]", ""},
        {"[\"a]b\"].c", "a]b|c"},
        {"a[007]", "a|#7"},
        {"[2147483647]", "#2147483647"},
        {"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87.x-y_z", "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87|x-y_z"},
        {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", "a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p"},
        {"a  ", "a"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        json_path p = parse_path(rows[i].text);
        char got[256];
        render(&p, got, sizeof got);
        cr_expect_str_eq(got, rows[i].want, "row %zu (%s): got %s", i, rows[i].text, got);
        json_path_free(&p);
    }
    /* An empty quoted key is one segment with an empty name, not the root. */
    json_path p = parse_path("[\"\"]");
    cr_expect_eq(p.nseg, 1u, "[\"\"] segments");
    json_path_free(&p);
}

Test(extract, path_parse_errors)
{
    static const struct {
        const char *text, *err;
    } rows[] = {
        {"", "column 1: expected a path (e.g. data.id, items[0].id, [\"a key\"])"},
        {".a", "column 1: expected a path (e.g. data.id, items[0].id, [\"a key\"])"},
        {" a", "column 1: expected a path (e.g. data.id, items[0].id, [\"a key\"])"},
        {"data.", "column 6: expected a name after '.'"},
        {"a..b", "column 3: expected a name after '.'"},
        {"$.", "column 3: expected a name after '.'"},
        {"$.[0]", "column 3: expected a name after '.'"},
        {"a.[0]", "column 3: expected a name after '.'"},
        {"a[", "column 3: expected an index or a quoted key after '[' (e.g. [0], [\"a key\"])"},
        {"a[x]", "column 3: expected an index or a quoted key after '[' (e.g. [0], [\"a key\"])"},
        {"a[-1]", "column 3: expected an index or a quoted key after '[' (e.g. [0], [\"a key\"])"},
        {"a[]", "column 3: expected an index or a quoted key after '[' (e.g. [0], [\"a key\"])"},
        {"a[1", "column 4: expected ']'"},
        {"a[1x]", "column 4: expected ']'"},
        {"a[\"b\"", "column 6: expected ']'"},
        {"a[\"b\"x]", "column 6: expected ']'"},
        {"a[\"b", "column 3: unterminated key (missing \")"},
        {"a['b\"]", "column 3: unterminated key (missing ')"},
        {"a[\"b\\n\"]", "column 5: unknown escape in a quoted key (allowed: \\\" \\' \\\\)"},
        {"a[2147483648]", "column 3: index too large (at most 2147483647)"},
        {"a[99999999999999999999]", "column 3: index too large (at most 2147483647)"},
        {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", "column 33: more than 16 segments in the path"},
        {"[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]",
         "column 49: more than 16 segments in the path"},
        {"a b", "column 3: unexpected 'b' after the path"},
        {"a]", "column 2: unexpected ']' after the path"},
        {"a.b=", "column 4: unexpected '=' after the path"},
        {"a\"b", "column 2: unexpected '\"' after the path"},
        {"a\x01", "column 2: unexpected 0x01 after the path"},
        {"a\t\x7f", "column 3: unexpected 0x7f after the path"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        json_path p;
        memset(&p, 0xa5, sizeof p);
        char err[256] = "";
        int rc = json_path_parse(&p, rows[i].text, err, sizeof err);
        cr_expect_eq(rc, -EINVAL, "row %zu (%s): rc %d", i, rows[i].text, rc);
        cr_expect_str_eq(err, rows[i].err, "row %zu (%s): got %s", i, rows[i].text, err);
        cr_expect(p.nseg == 0 && p.names == NULL, "row %zu: path not zeroed", i);
    }
    /* A short error buffer gets a cut, terminated message; none at all is accepted. */
    json_path p;
    char small[8];
    cr_expect_eq(json_path_parse(&p, "a..", small, sizeof small), -EINVAL);
    cr_expect_str_eq(small, "column ");
    cr_expect_eq(json_path_parse(&p, "a..", NULL, 0), -EINVAL);
}

/* Headers. */

#define HEAD                                                                                       \
    "HTTP/1.1 200 OK\r\n"                                                                          \
    "Content-Type: application/json\r\n"                                                           \
    "X-Token:   abc \t\r\n"                                                                        \
    "Set-Cookie: a=1\r\n"                                                                          \
    "set-cookie:b=2\r\n"                                                                           \
    "Empty:\r\n"                                                                                   \
    "Spaces:  \t \r\n"                                                                             \
    "Location: http://x:8080/a b\r\n"                                                              \
    "A : spaced\r\n"                                                                               \
    "X-Fold: 1\r\n"                                                                                \
    "  continued\r\n"                                                                              \
    "\r\n"                                                                                         \
    "X-After: no\r\n"

Test(extract, head_find_table)
{
    static const struct {
        const char *head, *name;
        size_t n;
        const char *want; /* NULL: not found */
    } rows[] = {
        {HEAD, "Content-Type", 0, "application/json"},
        {HEAD, "content-type", 0, "application/json"},
        {HEAD, "CONTENT-TYPE", 0, "application/json"},
        {HEAD, "Content-Type", 1, NULL},
        {HEAD, "X-Token", 0, "abc"},
        {HEAD, "Set-Cookie", 0, "a=1"},
        {HEAD, "Set-Cookie", 1, "b=2"},
        {HEAD, "Set-Cookie", 2, NULL},
        {HEAD, "Empty", 0, ""},
        {HEAD, "Spaces", 0, ""},
        {HEAD, "Location", 0, "http://x:8080/a b"},
        {HEAD, "A", 0, NULL},
        {HEAD, "X-Fold", 0, "1"},
        {HEAD, "X-After", 0, NULL},
        {HEAD, "Content", 0, NULL},
        {HEAD, "Content-Type2", 0, NULL},
        {HEAD, "HTTP/1.1 200 OK", 0, NULL},
        {HEAD, "", 0, NULL},
        {"HTTP/1.1 200 OK\nA: 1\nB:2\n\nC: 3\n", "B", 0, "2"},
        {"HTTP/1.1 200 OK\nA: 1\nB:2\n\nC: 3\n", "C", 0, NULL},
        {"HTTP/1.1 200 OK\r\nA: 1\nB: 2\r\n\n", "B", 0, "2"},
        {"HTTP/1.1 200 OK\r\nA: 1", "A", 0, "1"},
        {"HTTP/1.1 200 OK\r\nA: 1\r", "A", 0, "1"},
        {"HTTP/1.1 200 OK\r\nA:", "A", 0, ""},
        {"HTTP/1.1 200 OK\r\nA", "A", 0, NULL},
        {"\r\n\nHTTP/1.1 200 OK\r\nA: x\r\n\r\n", "A", 0, "x"},
        {"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 204 No Content", 0, NULL},
        {"A: first line\r\n\r\n", "A", 0, "first line"},
        {"", "A", 0, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        size_t n = strlen(rows[i].head);
        char *h = exact(rows[i].head, n);
        const char *v = NULL;
        size_t vlen = 0;
        bool ok = head_find(h, n, rows[i].name, strlen(rows[i].name), rows[i].n, &v, &vlen);
        if (!rows[i].want) {
            cr_expect(!ok, "row %zu (%s #%zu): found '%.*s'", i, rows[i].name, rows[i].n, (int)vlen,
                      v);
        } else {
            cr_expect(ok, "row %zu (%s #%zu): not found", i, rows[i].name, rows[i].n);
            if (ok)
                cr_expect(vlen == strlen(rows[i].want) && memcmp(v, rows[i].want, vlen) == 0 &&
                              v >= h && v + vlen <= h + n,
                          "row %zu (%s): got '%.*s', want '%s'", i, rows[i].name, (int)vlen, v,
                          rows[i].want);
        }
        free(h);
    }
    const char *v;
    size_t vlen;
    cr_expect(!head_find(NULL, 0, "A", 1, 0, &v, &vlen), "NULL head");
}

Test(extract, head_iter_walks_repeats_once)
{
    size_t n = strlen(HEAD);
    char *h = exact(HEAD, n);
    head_iter it;
    const char *v;
    size_t vlen;
    const char *want[] = {"a=1", "b=2"};
    size_t got = 0;
    head_iter_init(&it, h, n);
    while (head_next(&it, "set-cookie", 10, &v, &vlen)) {
        cr_assert(got < 2, "more than two Set-Cookie");
        cr_expect(vlen == 3 && memcmp(v, want[got], 3) == 0, "Set-Cookie #%zu: '%.*s'", got,
                  (int)vlen, v);
        got++;
    }
    cr_expect_eq(got, 2u, "Set-Cookie count");
    cr_expect(!head_next(&it, "set-cookie", 10, &v, &vlen), "an ended walk stays ended");
    free(h);
}

/* Rules. */

static extract_rule *rule(const char *text)
{
    extract_rule *r = NULL;
    char err[256] = "";
    cr_assert_eq(extract_parse(&r, text, err, sizeof err), 0, "rule '%s': %s", text, err);
    cr_assert_not_null(r);
    return r;
}

/* extract_run with the head and body in exact copies and an exact out[0..cap). */
static int run(const extract_rule *r, extract_scratch *s, const char *head, const char *body,
               size_t body_len, size_t cap, char *val, size_t *vlen)
{
    check_resp resp = {.status = 200};
    char *h = NULL, *b = NULL, *out = outbuf(cap);
    if (head) {
        resp.head_len = strlen(head);
        resp.head = h = exact(head, resp.head_len);
    }
    if (body) {
        resp.body_len = body_len;
        resp.body = b = exact(body, body_len);
    }
    int rc = extract_run(r, s, &resp, out, cap, vlen);
    if (rc == 0)
        memcpy(val, out, *vlen);
    free(out);
    free(h);
    free(b);
    return rc;
}

typedef struct run_case {
    const char *rule, *head, *body;
    int rc;
    const char *want;
    size_t blen, wlen; /* 0: strlen */
} run_case;

static const run_case run_cases[] = {
    {"json data.id", NULL, "{\"data\":{\"id\":\"abc\"}}", 0, "abc", 0, 0},
    {"  json  $.data.id  ", NULL, "{\"data\":{\"id\":12}}", 0, "12", 0, 0},
    {"json data.id", NULL, "{\"data\":{}}", -ENOENT, NULL, 0, 0},
    {"json data.id", NULL, "{\"data\":", -EINVAL, NULL, 0, 0},
    {"json data.id", NULL, NULL, -ENOENT, NULL, 0, 0},
    {"json data.id", HEAD, NULL, -ENOENT, NULL, 0, 0},
    {"header Location", HEAD, NULL, 0, "http://x:8080/a b", 0, 0},
    {"header set-cookie", HEAD, NULL, 0, "a=1", 0, 0},
    {"header X-Missing", HEAD, NULL, -ENOENT, NULL, 0, 0},
    {"header Location", NULL, "Location: x", -ENOENT, NULL, 0, 0},
    {"regex \"id\":\"([^\"]+)\"", NULL, "{\"id\":\"abc\"}", 0, "abc", 0, 0},
    {"regex \\d+", NULL, "order 123 ok", 0, "123", 0, 0},
    {"regex token=(\\w+)&", NULL, "x=1&token=zz9&y", 0, "zz9", 0, 0},
    {"regex (?i)HELLO (\\w+)", NULL, "hello world", 0, "world", 0, 0},
    {"regex (?:x)(y)(z)", NULL, "xyz", 0, "y", 0, 0},
    {"regex (a)|(b)", NULL, "b", -ENOENT, NULL, 0, 0},
    {"regex (a)|(b)", NULL, "a", 0, "a", 0, 0},
    {"regex (a?)b", NULL, "b", 0, "", 0, 0},
    {"regex nomatch", NULL, "some body", -ENOENT, NULL, 0, 0},
    {"regex ^$", NULL, "", 0, "", 0, 0},
    {"regex a.b", NULL, "xa\0by", 0, "a\0b", 5, 3},
    {"regex \\xff(.)", NULL, "\xff\xfe", 0, "\xfe", 0, 0},
    {"regex .", NULL, NULL, -ENOENT, NULL, 0, 0},
    {"regex (b+)$", NULL, "abbb", 0, "bbb", 0, 0},
};

static void run_table(bool jit)
{
    extract_scratch *s;
    cr_assert_eq(extract_scratch_new(&s), 0);
    for (size_t i = 0; i < sizeof run_cases / sizeof *run_cases; i++) {
        const run_case *c = &run_cases[i];
        extract_rule *r = rule(c->rule);
        if (!jit)
            extract_rule_no_jit(r);
        char val[256];
        size_t vlen = 12345;
        size_t blen = c->blen ? c->blen : c->body ? strlen(c->body) : 0;
        int rc = run(r, s, c->head, c->body, blen, sizeof val, val, &vlen);
        cr_expect_eq(rc, c->rc, "row %zu (%s, jit %d): rc %d, want %d", i, c->rule, jit, rc, c->rc);
        if (rc == 0 && c->rc == 0) {
            size_t want = c->wlen ? c->wlen : strlen(c->want);
            cr_expect(vlen == want && memcmp(val, c->want, want) == 0,
                      "row %zu (%s, jit %d): got '%.*s', want '%s'", i, c->rule, jit, (int)vlen,
                      val, c->want);
        } else {
            cr_expect_eq(vlen, 12345u, "row %zu: *len set on failure", i);
        }
        extract_free(r);
    }
    extract_scratch_free(s);
}

Test(extract, run_table_jit)
{
    run_table(true);
}

Test(extract, run_table_interpreter)
{
    run_table(false);
}

Test(extract, needs)
{
    static const struct {
        const char *rule;
        bool body, head;
    } rows[] = {
        {"json a", true, false},
        {"header A", false, true},
        {"regex a", true, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        extract_rule *r = rule(rows[i].rule);
        cr_expect_eq(extract_needs_body(r), rows[i].body, "row %zu (%s) body", i, rows[i].rule);
        cr_expect_eq(extract_needs_head(r), rows[i].head, "row %zu (%s) head", i, rows[i].rule);
        extract_free(r);
    }
}

/* Values longer than cap: -ENOSPC, and exactly cap fits. */
Test(extract, enospc)
{
    static const struct {
        const char *rule, *head, *body;
        size_t len; /* the value's length: cap len fits, len - 1 does not */
    } rows[] = {
        {"json s", NULL, "{\"s\":\"hello\"}", 5},
        {"json s", NULL, "{\"s\":\"\\u20ac\\ud83d\\ude00\"}", 7},
        {"json s", NULL, "{\"s\":\"a\\nb\"}", 3},
        {"json n", NULL, "{\"n\":12345}", 5},
        {"json o", NULL, "{\"o\":{\"a\":[1]}}", 9},
        {"json b", NULL, "{\"b\":false}", 5},
        {"json s", NULL, "{\"s\":\"x\"}", 1},
        {"header Location", HEAD, NULL, 17},
        {"regex id=(\\d+)", NULL, "id=4711;", 4},
        {"regex [a-z]+", NULL, "123abc", 3},
    };
    extract_scratch *s;
    cr_assert_eq(extract_scratch_new(&s), 0);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        extract_rule *r = rule(rows[i].rule);
        size_t blen = rows[i].body ? strlen(rows[i].body) : 0;
        char val[64];
        size_t vlen = 0;
        int rc = run(r, s, rows[i].head, rows[i].body, blen, rows[i].len, val, &vlen);
        cr_expect(rc == 0 && vlen == rows[i].len, "row %zu (%s): cap %zu: rc %d len %zu", i,
                  rows[i].rule, rows[i].len, rc, vlen);
        rc = run(r, s, rows[i].head, rows[i].body, blen, rows[i].len - 1, val, &vlen);
        cr_expect_eq(rc, -ENOSPC, "row %zu (%s): cap %zu: rc %d", i, rows[i].rule, rows[i].len - 1,
                     rc);
        rc = run(r, s, rows[i].head, rows[i].body, blen, 0, val, &vlen);
        cr_expect_eq(rc, -ENOSPC, "row %zu (%s): cap 0: rc %d", i, rows[i].rule, rc);
        extract_free(r);
    }
    /* An empty value fits in nothing. */
    extract_rule *r = rule("json s");
    char val[1];
    size_t vlen = 9;
    cr_expect_eq(run(r, s, NULL, "{\"s\":\"\"}", 8, 0, val, &vlen), 0, "empty string, cap 0");
    cr_expect_eq(vlen, 0u);
    extract_free(r);
    extract_scratch_free(s);
}

Test(extract, parse_errors)
{
    static const struct {
        const char *text, *err;
    } rows[] = {
        {"", "column 1: expected an extractor (allowed: json PATH, header NAME, regex PATTERN)"},
        {"   ", "column 4: expected an extractor (allowed: json PATH, header NAME, regex PATTERN)"},
        {"xml //a",
         "column 1: unknown extractor 'xml' (allowed: json PATH, header NAME, regex PATTERN)"},
        {"JSON a",
         "column 1: unknown extractor 'JSON' (allowed: json PATH, header NAME, regex PATTERN)"},
        {" json.a",
         "column 2: unknown extractor 'json.a' (allowed: json PATH, header NAME, regex PATTERN)"},
        {"json", "column 5: expected a PATH after 'json' (e.g. json data.id)"},
        {"json   ", "column 5: expected a PATH after 'json' (e.g. json data.id)"},
        {"json a..b", "column 8: expected a name after '.'"},
        {"  json data.", "column 13: expected a name after '.'"},
        {"json a b", "column 8: unexpected 'b' after the path"},
        {"json a[0]]", "column 10: unexpected ']' after the path"},
        {"header", "column 7: expected a NAME after 'header' (e.g. header Location)"},
        {"header a b",
         "column 8: invalid header name 'a b' (allowed: letters, digits, !#$%&'*+-.^_`|~)"},
        {"header a:",
         "column 8: invalid header name 'a:' (allowed: letters, digits, !#$%&'*+-.^_`|~)"},
        {"regex", "column 6: expected a PATTERN after 'regex' (e.g. regex id=(\\d+))"},
        {"regex (abc", "column 11: missing closing parenthesis"},
        {"regex a)", "column 8: unmatched closing parenthesis"},
        {"regex a{2,1}", "column 12: numbers out of order in {} quantifier"},
        {"regex [z-a]", "column 10: range out of order in character class"},
        {"regex (*UTF)x", "column 13: using UTF is disabled by the application"},
        {"regex \\", "column 8: \\ at end of pattern"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        extract_rule *r = (extract_rule *)0x1;
        char err[256] = "";
        int rc = extract_parse(&r, rows[i].text, err, sizeof err);
        cr_expect_eq(rc, -EINVAL, "row %zu (%s): rc %d", i, rows[i].text, rc);
        cr_expect_null(r, "row %zu: *out not NULL", i);
        cr_expect_str_eq(err, rows[i].err, "row %zu (%s): got %s", i, rows[i].text, err);
    }
}

/* Limits: a pattern that backtracks without end stops at the match limit, on the JIT and on the
 * interpreter; the interpreter's frames grow in the scratch's arena and stop at its heap limit. */
Test(extract, regex_limits)
{
    static const struct {
        const char *rule;
        char fill; /* the body: n bytes of fill, then tail */
        size_t n;
        const char *tail;
        bool jit;
        int rc;
        size_t vlen;
    } rows[] = {
        {"regex (a+)+$", 'a', 40, "b", true, -E2BIG, 0},
        {"regex (a+)+$", 'a', 40, "b", false, -E2BIG, 0},
        {"regex ^(a|b)*c", 'a', 2000, "c", false, 0, 1},
        {"regex ^(a|b)*c", 'a', 2000, "c", true, 0, 1},
        {"regex ^((a|b)*)c", 'b', 50000, "c", false, -E2BIG, 0},
        {"regex (c)", 'a', 100000, "c", false, 0, 1},
    };
    extract_scratch *s;
    cr_assert_eq(extract_scratch_new(&s), 0);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
            extract_rule *r = rule(rows[i].rule);
            if (!rows[i].jit)
                extract_rule_no_jit(r);
            size_t tl = strlen(rows[i].tail), n = rows[i].n + tl;
            char *body = malloc(n);
            cr_assert_not_null(body);
            memset(body, rows[i].fill, rows[i].n);
            memcpy(body + rows[i].n, rows[i].tail, tl);
            char val[8];
            size_t vlen = 0;
            int rc = run(r, s, NULL, body, n, sizeof val, val, &vlen);
            cr_expect_eq(rc, rows[i].rc, "round %d row %zu (%s, jit %d, %zu bytes): rc %d", round,
                         i, rows[i].rule, rows[i].jit, n, rc);
            if (rc == 0)
                cr_expect_eq(vlen, rows[i].vlen, "row %zu: value length", i);
            free(body);
            extract_free(r);
        }
    }
    extract_scratch_free(s);
}
