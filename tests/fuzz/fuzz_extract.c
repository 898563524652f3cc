/* fuzz_extract: libFuzzer target for src/extract.c and src/check.c: JSON path parsing and
 * lookups, header lookup, extract rules (json, header, PCRE2 regex) and checks.
 *
 * Input: byte 0 picks the mode (bits 0-1: path, check, extract, head) and a parameter (bits 2-7:
 * the output capacity, or the status); then the expression up to the first '\n' (a path, a check,
 * a rule, or a header name); then the document, copied into a heap block of exactly its size (the
 * head and the body of the response are two such copies), so any read past it is an ASan error.
 *
 * Checked, from the headers' contracts:
 * - parsers return 0 or -EINVAL, and on -EINVAL a one-line "column N: ..." message and a
 *   zeroed/NULL result; a status set holds only 100..999 and is not empty;
 * - json_get returns 0, -ENOENT or -EINVAL with room for the document (a value never outgrows its
 *   raw text); a value found is inside the document, a non-string is its raw text, a string
 *   compares equal to its unescaped copy (json_string_eq) and not to a shorter one; exactly its
 *   length fits and one byte less is -ENOSPC; an object or array found is a valid document
 *   by itself; the document cut right after a value other than a number gives the same value
 *   (nothing after it is read);
 * - head_find's values lie in the head, hold no LF and no blanks at their ends, and the walk
 *   agrees with head_iter;
 * - extract_run's codes are the documented ones, a value fits cap, -ENOSPC turns into 0 with
 *   room, a rule that needs what is not kept gives -ENOENT;
 * - a check that needs the head or body fails without it, and gives the same answer with only
 *   what it needs; "X == V" and "X != V" are never both true, and "body contains T" and
 *   "body !contains T" disagree. No leaks (LeakSanitizer). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *expr)
{
    fprintf(stderr, "extract fuzz invariant broken: %s (expression '%s')\n", what, expr);
    abort();
}

static char *copy(const void *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    return c;
}

static void check_err(int rc, const char *err, const char *expr)
{
    if (rc != -EINVAL)
        fail("parse returned neither 0 nor -EINVAL", expr);
    if (strncmp(err, "column ", 7) != 0 || strchr(err, '\n'))
        fail("error is not one 'column N: ...' line", expr);
}

static void fuzz_path(const char *expr, const char *doc, size_t len)
{
    json_path p;
    char err[256] = "";
    int rc = json_path_parse(&p, expr, err, sizeof err);
    if (rc) {
        check_err(rc, err, expr);
        if (p.nseg || p.names)
            fail("failed path parse left segments", expr);
        return;
    }
    if (p.nseg > JSON_PATH_MAX)
        fail("too many segments", expr);
    char *out = malloc(len ? len : 1);
    size_t olen = 0;
    int kind = 0;
    json_value v;
    rc = json_get(&p, doc, len, out, len, &olen, &kind);
    int frc = json_find(&p, doc, len, &v);
    if (rc != frc)
        fail("json_get and json_find disagree", expr);
    if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
        fail("json_get: unexpected code", expr);
    if (rc == 0) {
        if (kind < JSON_STRING || kind > JSON_ARRAY || kind != v.kind)
            fail("bad kind", expr);
        if (v.p < doc || v.len > len || (size_t)(v.p - doc) > len - v.len || olen > v.len)
            fail("value outside the document", expr);
        if (kind != JSON_STRING && (olen != v.len || memcmp(out, v.p, olen) != 0))
            fail("non-string value is not its raw text", expr);
        if (kind == JSON_STRING &&
            (!json_string_eq(&v, out, olen) || (olen && json_string_eq(&v, out, olen - 1))))
            fail("string does not compare equal to its own value", expr);
        char *small = malloc(olen ? olen : 1);
        size_t slen;
        int k;
        if (json_get(&p, doc, len, small, olen, &slen, &k) != 0 || slen != olen)
            fail("value does not fit exactly its length", expr);
        if (olen && json_get(&p, doc, len, small, olen - 1, &slen, &k) != -ENOSPC)
            fail("value fits in one byte less", expr);
        free(small);
        if (kind == JSON_OBJECT || kind == JSON_ARRAY) {
            json_path root = {0};
            char *sub = copy(v.p, v.len);
            json_value w;
            if (json_find(&root, sub, v.len, &w) != 0 || w.kind != kind || w.len != v.len)
                fail("object or array found is not a document by itself", expr);
            free(sub);
        }
        if (kind != JSON_NUMBER) {
            size_t cut = (size_t)(v.p - doc) + v.len;
            char *pre = copy(doc, cut);
            json_value w;
            if (json_find(&p, pre, cut, &w) != 0 || w.len != v.len || w.kind != kind)
                fail("the value needs bytes after it", expr);
            free(pre);
        }
    }
    free(out);
    json_path_free(&p);
}

static void fuzz_head(const char *name, size_t nlen, const char *doc, size_t len)
{
    head_iter it;
    const char *v, *w;
    size_t vlen, wlen, n = 0;
    head_iter_init(&it, doc, len);
    while (n < 64 && head_next(&it, name, nlen, &v, &vlen)) {
        if (v < doc || vlen > len || (size_t)(v - doc) > len - vlen)
            fail("header value outside the head", name);
        if (memchr(v, '\n', vlen) ||
            (vlen && (v[0] == ' ' || v[0] == '\t' || v[vlen - 1] == ' ' || v[vlen - 1] == '\t')))
            fail("header value holds LF or blanks at an end", name);
        if (!head_find(doc, len, name, nlen, n, &w, &wlen) || w != v || wlen != vlen)
            fail("head_find and head_next disagree", name);
        n++;
    }
    if (n < 64 && head_find(doc, len, name, nlen, n, &w, &wlen))
        fail("head_find finds one more than head_next", name);
}

static extract_scratch *scratch;

static void fuzz_rule(const char *expr, unsigned param, const char *doc, size_t len)
{
    extract_rule *r = (extract_rule *)1;
    char err[256] = "";
    int rc = extract_parse(&r, expr, err, sizeof err);
    if (rc) {
        check_err(rc, err, expr);
        if (r)
            fail("failed rule parse left a rule", expr);
        return;
    }
    if (!scratch && extract_scratch_new(&scratch) != 0)
        abort();
    char *head = copy(doc, len), *body = copy(doc, len);
    check_resp resp = {.status = 200, .head = head, .head_len = len, .body = body, .body_len = len};
    size_t cap = param == 63 ? len : param, big = len + 1, n = 0;
    char *out = malloc(big);
    rc = extract_run(r, scratch, &resp, out, cap, &n);
    if (rc != 0 && rc != -ENOENT && rc != -ENOSPC && rc != -E2BIG &&
        (rc != -EINVAL || extract_needs_head(r)))
        fail("extract_run: unexpected code", expr);
    if (rc == 0 && n > cap)
        fail("value longer than cap", expr);
    if (rc == -ENOSPC && (extract_run(r, scratch, &resp, out, big, &n) != 0 || n <= cap))
        fail("-ENOSPC does not turn into a longer value with room", expr);
    check_resp none = {.status = 200};
    if (extract_run(r, scratch, &none, out, big, &n) != -ENOENT)
        fail("nothing kept is not -ENOENT", expr);
    free(out);
    free(head);
    free(body);
    extract_free(r);
}

static bool eval(const check *c, int status, const char *doc, size_t len, bool head, bool body)
{
    char *h = head ? copy(doc, len) : NULL, *b = body ? copy(doc, len) : NULL;
    check_resp resp = {
        .status = status, .head = h, .head_len = h ? len : 0, .body = b, .body_len = b ? len : 0};
    bool ok = check_eval(c, &resp);
    free(h);
    free(b);
    return ok;
}

/* The check with its operator swapped, for the plain forms where the operator's place is sure:
 * "json|header TOKEN ==|!= rest" and "body contains|!contains rest". */
static char *sibling(const char *expr, bool *body)
{
    static const char *const body_ops[][2] = {{"body contains ", "body !contains "},
                                              {"body !contains ", "body contains "}};
    const char *from = NULL, *to = NULL, *at = NULL;
    for (size_t i = 0; i < 2; i++)
        if (strncmp(expr, body_ops[i][0], strlen(body_ops[i][0])) == 0)
            from = body_ops[i][0], to = body_ops[i][1], at = expr;
    *body = from != NULL;
    if (!from && (strncmp(expr, "json ", 5) == 0 || strncmp(expr, "header ", 7) == 0)) {
        const char *tok = strchr(expr, ' ') + 1, *end = tok + strcspn(tok, " \t");
        bool odd = strcspn(tok, "\"'=!") < (size_t)(end - tok); /* a quote or another operator */
        if (end == tok || odd)
            return NULL;
        if (strncmp(end, " == ", 4) == 0)
            from = " == ", to = " != ", at = end;
        else if (strncmp(end, " != ", 4) == 0)
            from = " != ", to = " == ", at = end;
    }
    if (!from)
        return NULL;
    size_t n = strlen(expr), a = strlen(from), b = strlen(to), pre = (size_t)(at - expr);
    char *s = malloc(n - a + b + 1);
    memcpy(s, expr, pre);
    memcpy(s + pre, to, b);
    strcpy(s + pre + b, at + a);
    return s;
}

static void fuzz_check(const char *expr, unsigned param, const char *doc, size_t len)
{
    status_set set;
    char err[512] = "";
    int rc = status_set_parse(&set, expr, err, sizeof err);
    bool any = false;
    for (int s = 0; s < 1024; s++) {
        if (status_set_has(&set, s) && (rc || s < 100 || s > 999))
            fail("status set holds a status it must not", expr);
        any |= status_set_has(&set, s);
    }
    if (rc)
        check_err(rc, err, expr);
    else if (!any)
        fail("accepted status set is empty", expr);

    check *c = (check *)1;
    rc = check_parse(&c, expr, err, sizeof err);
    if (rc) {
        check_err(rc, err, expr);
        if (c)
            fail("failed check parse left a check", expr);
        return;
    }
    if (!check_name(c) || !*check_name(c))
        fail("check without a name", expr);
    int status = 100 + (int)param * 14;
    bool nh = check_needs_head(c), nb = check_needs_body(c);
    bool all = eval(c, status, doc, len, true, true);
    if (eval(c, status, doc, len, nh, nb) != all)
        fail("the result depends on what the check does not need", expr);
    if ((nh && eval(c, status, doc, len, false, true)) ||
        (nb && eval(c, status, doc, len, true, false)))
        fail("passes without what it needs", expr);
    if (check_is_status(c) && (nh || nb))
        fail("a status check needs head or body", expr);
    bool body_pair = false;
    char *sib = sibling(expr, &body_pair);
    check *d = NULL;
    if (sib && check_parse(&d, sib, err, sizeof err) == 0) {
        bool other = eval(d, status, doc, len, true, true);
        if (all && other)
            fail("a check and its negation both pass", expr);
        if (body_pair && all == other)
            fail("body contains and !contains agree", expr);
        check_free(d);
    }
    free(sib);
    check_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const uint8_t *nl = memchr(data + 1, '\n', size - 1);
    if (!nl)
        return 0;
    size_t elen = (size_t)(nl - (data + 1)), len = size - 2 - elen;
    char *expr = malloc(elen + 1);
    memcpy(expr, data + 1, elen);
    expr[elen] = '\0';
    char *doc = copy(nl + 1, len);
    unsigned param = data[0] >> 2;
    switch (data[0] & 3) {
    case 0:
        fuzz_path(expr, doc, len);
        break;
    case 1:
        fuzz_check(expr, param, doc, len);
        break;
    case 2:
        fuzz_rule(expr, param, doc, len);
        break;
    default:
        fuzz_head(expr, elen, doc, len);
        break;
    }
    free(doc);
    free(expr);
    return 0;
}
