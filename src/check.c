/* check: owns struct check and the status set parser (see include/check.h).
 *
 * Invariant: every check is reduced at parse time to one of a few kinds with its operands in
 * their final form (a status check is a 1024-bit set whatever way it was written; a VALUE is
 * unquoted and classified), so check_eval only compares: no parsing, no allocation, and nothing
 * read but the response's head and body within their lengths (through head_next and
 * json_find, which hold to that).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#include "check.h"

enum kind {
    C_STATUS,
    C_HEADER,
    C_HEADER_EQ,
    C_HEADER_NE,
    C_HEADER_CONTAINS,
    C_BODY_CONTAINS,
    C_BODY_NOT_CONTAINS,
    C_JSON_EQ,
    C_JSON_NE,
    C_JSON_EXISTS,
};

/* What a json VALUE is compared as. */
enum vtype { V_STRING, V_NUMBER, V_LITERAL, V_TEXT };

struct check {
    enum kind kind;
    char *name;
    status_set set; /* C_STATUS */
    char *hname;    /* C_HEADER* */
    size_t hlen;
    char *val; /* header VALUE, body TEXT, json VALUE: unquoted, NUL-terminated */
    size_t vlen;
    enum vtype vtype; /* C_JSON_EQ, C_JSON_NE */
    json_path path;   /* C_JSON* */
};

#define SET_HELP                                                                                   \
    "(allowed: NNN, Nxx, NNN-NNN separated by ','; in SET, !SET, not in SET; == != < <= > >= "     \
    "NNN)"
#define CHECKS                                                                                     \
    "status SET, header NAME [== VALUE | != VALUE | contains VALUE], "                             \
    "body contains | !contains | not contains TEXT, json PATH == VALUE | != VALUE | exists"

/* Errors are "column N: ..." (value_col_error). */
#define fail value_col_error

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t skip_blanks(const char *t, size_t i, size_t len)
{
    while (i < len && blank(t[i]))
        i++;
    return i;
}

/* Whether t[i..len) starts with word w followed by a blank or the end. */
static bool word_at(const char *t, size_t i, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len - i >= n && memcmp(t + i, w, n) == 0 && (i + n == len || blank(t[i + n]));
}

/* What stands at t[i] for a message: the run of non-blank bytes, or "the end". */
static int found(const char *t, size_t i, size_t len, char *buf, size_t cap)
{
    size_t j = i;
    while (j < len && !blank(t[j]))
        j++;
    if (j == i)
        return snprintf(buf, cap, "the end");
    return snprintf(buf, cap, "'%.*s'", (int)(j - i < 40 ? j - i : 40), t + i);
}

/* Status sets. */

static void set_range(status_set *s, int lo, int hi)
{
    for (int v = lo; v <= hi; v++)
        s->bits[v >> 6] |= 1ULL << (v & 63);
}

/* The length of the run of digits and x's at t[i] (0: none). */
static size_t status_token(const char *t, size_t i, size_t len)
{
    size_t j = i;
    while (j < len && (is_digit(t[j]) || t[j] == 'x' || t[j] == 'X'))
        j++;
    return j - i;
}

/* One status NNN at t[i] (3 digits, 100..999); returns it or a negative error. */
static int status_num(const char *t, size_t i, size_t len, size_t col0, const char *after,
                      char *err, size_t errlen)
{
    size_t n = status_token(t, i, len);
    char b[64];
    if (n != 3 || !is_digit(t[i]) || !is_digit(t[i + 1]) || !is_digit(t[i + 2])) {
        found(t, i, len, b, sizeof b);
        return fail(err, errlen, col0 + i + 1, "expected %s, found %s", after, b);
    }
    int v = (t[i] - '0') * 100 + (t[i + 1] - '0') * 10 + (t[i + 2] - '0');
    if (v < 100)
        return fail(err, errlen, col0 + i + 1, "status %.3s is out of range (100..999)", t + i);
    return v;
}

static int set_parse(status_set *s, const char *t, size_t len, size_t col0, char *err,
                     size_t errlen)
{
    *s = (status_set){0};
    size_t i = skip_blanks(t, 0, len);
    while (len > i && blank(t[len - 1]))
        len--;
    size_t start = i;
    bool neg = false;
    char b[64];
    if (i == len)
        return fail(err, errlen, col0 + i + 1, "expected a status set " SET_HELP);
    if (word_at(t, i, len, "not")) {
        i = skip_blanks(t, i + 3, len);
        if (!word_at(t, i, len, "in"))
            return fail(err, errlen, col0 + i + 1, "expected 'in' after 'not'");
        i += 2;
        neg = true;
    } else if (word_at(t, i, len, "in")) {
        i += 2;
    } else if (t[i] == '!' && (i + 1 == len || t[i + 1] != '=')) {
        i++;
        neg = true;
    } else if (strchr("=!<>", t[i])) {
        static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">"};
        size_t k = 0;
        while (k < 6 && strncmp(t + i, ops[k], strlen(ops[k])) != 0)
            k++;
        if (k == 6) {
            found(t, i, len, b, sizeof b);
            return fail(err, errlen, col0 + i + 1, "unknown operator %s " SET_HELP, b);
        }
        size_t at = i;
        i = skip_blanks(t, i + strlen(ops[k]), len);
        char after[40];
        snprintf(after, sizeof after, "a status (NNN) after '%s'", ops[k]);
        int v = status_num(t, i, len, col0, after, err, errlen);
        if (v < 0)
            return v;
        i = skip_blanks(t, i + 3, len);
        if (i < len) {
            found(t, i, len, b, sizeof b);
            return fail(err, errlen, col0 + i + 1, "unexpected %s after the status", b);
        }
        int lo[] = {v, 100, 100, v, 100, v + 1}, hi[] = {v, 999, v, 999, v - 1, 999};
        set_range(s, lo[k], hi[k]);
        if (k == 1)
            s->bits[v >> 6] &= ~(1ULL << (v & 63));
        start = at;
        goto check_empty;
    }
    for (;;) {
        i = skip_blanks(t, i, len);
        size_t n = status_token(t, i, len);
        if (n == 3 && t[i] >= '1' && t[i] <= '9' && (t[i + 1] | 0x20) == 'x' &&
            (t[i + 2] | 0x20) == 'x') {
            int c = (t[i] - '0') * 100;
            size_t j = skip_blanks(t, i + 3, len);
            if (j < len && t[j] == '-')
                return fail(err, errlen, col0 + i + 1,
                            "a range takes statuses (NNN-NNN), not a class");
            set_range(s, c, c + 99);
            i += 3;
        } else if (n == 3 && t[i] == '0' && (t[i + 1] | 0x20) == 'x' && (t[i + 2] | 0x20) == 'x') {
            return fail(err, errlen, col0 + i + 1, "class %.3s is out of range (1xx..9xx)", t + i);
        } else {
            int lo = status_num(t, i, len, col0, "a status (NNN, Nxx or NNN-NNN)", err, errlen), hi;
            if (lo < 0)
                return lo;
            size_t at = i;
            i = skip_blanks(t, i + 3, len);
            hi = lo;
            if (i < len && t[i] == '-') {
                i = skip_blanks(t, i + 1, len);
                if ((hi = status_num(t, i, len, col0, "a status (NNN) after '-'", err, errlen)) < 0)
                    return hi;
                if (hi < lo)
                    return fail(err, errlen, col0 + at + 1,
                                "range %d-%d runs backwards (write %d-%d)", lo, hi, hi, lo);
                i += 3;
            }
            set_range(s, lo, hi);
        }
        i = skip_blanks(t, i, len);
        if (i == len)
            break;
        if (t[i] != ',') {
            found(t, i, len, b, sizeof b);
            return fail(err, errlen, col0 + i + 1,
                        "expected ',' or the end after a status, found %s", b);
        }
        i++;
    }
    if (neg)
        for (int w = 0; w < 16; w++)
            s->bits[w] = ~s->bits[w];
    for (int v = 0; v < 1024; v++)
        if (v < 100 || v > 999)
            s->bits[v >> 6] &= ~(1ULL << (v & 63));
check_empty:
    for (int w = 0; w < 16; w++)
        if (s->bits[w])
            return 0;
    return fail(err, errlen, col0 + start + 1,
                "no status matches this set (statuses are 100..999)");
}

int status_set_parse(status_set *s, const char *text, char *err, size_t errlen)
{
    int rc = set_parse(s, text, strlen(text), 0, err, errlen);
    if (rc)
        *s = (status_set){0};
    return rc;
}

/* Numbers compared exactly: a number is its sign, its significant digits (the integer and
 * fraction digits read as one run, leading and trailing zeros dropped) and the power of ten of
 * the first of them. */
typedef struct decnum {
    bool neg;
    const char *ip, *fp; /* integer and fraction digits */
    size_t in, fn;
    size_t first, last; /* significant digits: run positions [first, last) (first == last: 0) */
    long long exp10;    /* the first significant digit weighs 10^exp10 */
} decnum;

static char dec_digit(const decnum *d, size_t i)
{
    return i < d->in ? d->ip[i] : d->fp[i - d->in];
}

/* t[0..n) is a valid JSON number. Exponents are clamped far beyond any double's range. */
static void dec_read(decnum *d, const char *t, size_t n)
{
    const char *e = t + n;
    *d = (decnum){.neg = n > 0 && *t == '-'};
    t += d->neg;
    d->ip = t;
    while (t < e && is_digit(*t))
        t++;
    d->in = (size_t)(t - d->ip);
    d->fp = t;
    if (t < e && *t == '.') {
        d->fp = ++t;
        while (t < e && is_digit(*t))
            t++;
        d->fn = (size_t)(t - d->fp);
    }
    long long x = 0;
    bool xneg = false;
    if (t < e && (*t == 'e' || *t == 'E')) {
        t++;
        if (t < e && (*t == '+' || *t == '-'))
            xneg = *t++ == '-';
        for (; t < e && is_digit(*t); t++)
            if (x < 1000000000000LL)
                x = x * 10 + (*t - '0');
    }
    size_t total = d->in + d->fn;
    while (d->first < total && dec_digit(d, d->first) == '0')
        d->first++;
    d->last = total;
    while (d->last > d->first && dec_digit(d, d->last - 1) == '0')
        d->last--;
    d->exp10 = (xneg ? -x : x) + (long long)d->in - 1 - (long long)d->first;
}

static bool num_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    decnum x, y;
    dec_read(&x, a, alen);
    dec_read(&y, b, blen);
    bool xz = x.first == x.last, yz = y.first == y.last;
    if (xz || yz)
        return xz && yz;
    if (x.neg != y.neg || x.exp10 != y.exp10 || x.last - x.first != y.last - y.first)
        return false;
    for (size_t i = 0; i < x.last - x.first; i++)
        if (dec_digit(&x, x.first + i) != dec_digit(&y, y.first + i))
            return false;
    return true;
}

/* Checks. */

/* A double-quoted string at t[*i] (escapes \" and \\) into out (room for len - *i bytes):
 * sets *n to its length and *i past the closing quote. what names it in messages. */
static int unquote(const char *t, size_t *i, size_t len, char *out, size_t *n, const char *what,
                   char *err, size_t errlen)
{
    size_t open = (*i)++;
    *n = 0;
    while (*i < len && t[*i] != '"') {
        if (t[*i] == '\\' && (*i + 1 == len || (t[*i + 1] != '"' && t[*i + 1] != '\\')))
            return fail(err, errlen, *i + 1,
                        "unknown escape in the quoted %s (allowed: \\\" and \\\\)", what);
        if (t[*i] == '\\')
            (*i)++;
        out[(*n)++] = t[(*i)++];
    }
    if (*i == len)
        return fail(err, errlen, open + 1, "unterminated quoted %s (missing closing '\"')", what);
    (*i)++;
    return 0;
}

/* VALUE or TEXT at t[i..len) (len trimmed): the rest as it is, or a quoted string. On success
 * c->val holds it (owned, NUL-terminated) and *quoted says which form it was. */
static int value_parse(check *c, const char *t, size_t i, size_t len, const char *what,
                       const char *after, bool *quoted, char *err, size_t errlen)
{
    *quoted = i < len && t[i] == '"';
    if (!*quoted && i == len)
        return fail(err, errlen, i + 1, "expected a %s after '%s'", what, after);
    if (!(c->val = malloc(len - i + 1)))
        return -ENOMEM;
    size_t n = len - i;
    if (!*quoted) {
        memcpy(c->val, t + i, n);
    } else {
        int rc = unquote(t, &i, len, c->val, &n, what, err, errlen);
        if (rc)
            return rc;
        i = skip_blanks(t, i, len);
        if (i < len)
            return fail(err, errlen, i + 1, "unexpected text after the closing quote");
    }
    c->val[n] = '\0';
    c->vlen = n;
    return 0;
}

static int header_parse(check *c, const char *t, size_t i, size_t len, char *err, size_t errlen)
{
    size_t at = i;
    while (i < len && head_name_valid(t + i, 1) && !(t[i] == '!' && i + 1 < len && t[i + 1] == '='))
        i++;
    if (i == at)
        return fail(err, errlen, at + 1,
                    "expected a header NAME after 'header' (e.g. header Location)");
    if (!(c->hname = strndup(t + at, i - at)))
        return -ENOMEM;
    c->hlen = i - at;
    i = skip_blanks(t, i, len);
    c->kind = C_HEADER;
    if (i == len)
        return 0;
    const char *op;
    if (strncmp(t + i, "==", 2) == 0)
        c->kind = C_HEADER_EQ, op = "==";
    else if (strncmp(t + i, "!=", 2) == 0)
        c->kind = C_HEADER_NE, op = "!=";
    else if (word_at(t, i, len, "contains") || strncmp(t + i, "contains\"", 9) == 0)
        c->kind = C_HEADER_CONTAINS, op = "contains";
    else {
        char b[64];
        found(t, i, len, b, sizeof b);
        return fail(err, errlen, i + 1,
                    "unknown operator %s after the header name (allowed: ==, !=, contains, or "
                    "nothing to test presence)",
                    b);
    }
    bool quoted;
    return value_parse(c, t, skip_blanks(t, i + strlen(op), len), len, "VALUE", op, &quoted, err,
                       errlen);
}

static int body_parse(check *c, const char *t, size_t i, size_t len, char *err, size_t errlen)
{
    const char *op = "contains";
    c->kind = C_BODY_NOT_CONTAINS;
    if (strncmp(t + i, "contains", 8) == 0) {
        c->kind = C_BODY_CONTAINS;
    } else if (strncmp(t + i, "!contains", 9) == 0) {
        op = "!contains";
    } else if (word_at(t, i, len, "not") &&
               strncmp(t + skip_blanks(t, i + 3, len), "contains", 8) == 0) {
        i = skip_blanks(t, i + 3, len);
    } else {
        char b[64];
        found(t, i, len, b, sizeof b);
        return fail(err, errlen, i + 1,
                    "expected contains, !contains or not contains after 'body', found %s", b);
    }
    i += strlen(op);
    if (i < len && !blank(t[i]) && t[i] != '"')
        return fail(err, errlen, i + 1, "expected a blank after '%s'", op);
    bool quoted;
    return value_parse(c, t, skip_blanks(t, i, len), len, "TEXT", op, &quoted, err, errlen);
}

static int json_parse(check *c, const char *t, size_t i, size_t len, char *err, size_t errlen)
{
    if (i == len)
        return fail(err, errlen, i + 1, "expected a PATH after 'json' (e.g. json data.id == 5)");
    size_t used;
    int rc = json_path_parse_prefix(&c->path, t + i, len - i, i, &used, err, errlen);
    if (rc)
        return rc;
    i = skip_blanks(t, i + used, len);
    const char *op;
    if (strncmp(t + i, "==", 2) == 0) {
        c->kind = C_JSON_EQ, op = "==";
    } else if (strncmp(t + i, "!=", 2) == 0) {
        c->kind = C_JSON_NE, op = "!=";
    } else if (word_at(t, i, len, "exists")) {
        c->kind = C_JSON_EXISTS;
        i = skip_blanks(t, i + 6, len);
        return i == len ? 0 : fail(err, errlen, i + 1, "unexpected text after 'exists'");
    } else {
        char b[64];
        found(t, i, len, b, sizeof b);
        return fail(err, errlen, i + 1, "expected ==, != or exists after the path, found %s", b);
    }
    bool quoted;
    if ((rc =
             value_parse(c, t, skip_blanks(t, i + 2, len), len, "VALUE", op, &quoted, err, errlen)))
        return rc;
    json_path root = {0};
    json_value v;
    if (quoted)
        c->vtype = V_STRING;
    else if (json_find(&root, c->val, c->vlen, &v) == 0 && v.kind == JSON_NUMBER &&
             v.len == c->vlen)
        c->vtype = V_NUMBER;
    else if (!strcmp(c->val, "true") || !strcmp(c->val, "false") || !strcmp(c->val, "null"))
        c->vtype = V_LITERAL;
    else
        c->vtype = V_TEXT;
    return 0;
}

int check_parse(check **out, const char *text, char *err, size_t errlen)
{
    *out = NULL;
    size_t len = strlen(text);
    size_t i = skip_blanks(text, 0, len);
    while (len > i && blank(text[len - 1]))
        len--;
    if (i == len)
        return fail(err, errlen, i + 1, "empty check (allowed: " CHECKS ")");

    check *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int rc = 0;
    bool quoted = text[i] == '"';
    if (quoted) {
        size_t open = i, n;
        if (!(c->name = malloc(len - i + 1))) {
            rc = -ENOMEM;
            goto out;
        }
        if ((rc = unquote(text, &i, len, c->name, &n, "name", err, errlen)))
            goto out;
        c->name[n] = '\0';
        if (n == 0) {
            rc = fail(err, errlen, open + 1, "empty check name");
            goto out;
        }
        i = skip_blanks(text, i, len);
        if (i == len) {
            rc = fail(err, errlen, i + 1, "expected a check after the name (allowed: " CHECKS ")");
            goto out;
        }
    } else if (!(c->name = strndup(text + i, len - i))) {
        rc = -ENOMEM;
        goto out;
    }
    size_t kw = i;
    while (i < len && text[i] >= 'a' && text[i] <= 'z')
        i++;
    size_t kwlen = i - kw;
    i = skip_blanks(text, i, len);
#define KW(w) (kwlen == strlen(w) && memcmp(text + kw, w, kwlen) == 0)
    if (KW("status")) {
        c->kind = C_STATUS;
        rc = i == len ? fail(err, errlen, i + 1,
                             "expected a status set after 'status' (e.g. 200,201  2xx  !5xx  < "
                             "400  in 200-299,304)")
                      : set_parse(&c->set, text + i, len - i, i, err, errlen);
    } else if (KW("header")) {
        rc = header_parse(c, text, i, len, err, errlen);
    } else if (KW("body")) {
        rc = body_parse(c, text, i, len, err, errlen);
    } else if (KW("json")) {
        rc = json_parse(c, text, i, len, err, errlen);
    } else {
        char b[64];
        found(text, kw, len, b, sizeof b);
        rc = fail(err, errlen, kw + 1, "unknown check %s (allowed: " CHECKS ")", b);
    }
#undef KW
out:
    if (rc) {
        check_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void check_free(check *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->hname);
    free(c->val);
    json_path_free(&c->path);
    free(c);
}

const char *check_name(const check *c)
{
    return c->name;
}

bool check_is_status(const check *c)
{
    return c->kind == C_STATUS;
}

bool check_needs_body(const check *c)
{
    return c->kind >= C_BODY_CONTAINS;
}

bool check_needs_head(const check *c)
{
    return c->kind >= C_HEADER && c->kind <= C_HEADER_CONTAINS;
}

static bool json_eq(const check *c, const json_value *v)
{
    switch (c->vtype) {
    case V_STRING:
        return json_string_eq(v, c->val, c->vlen);
    case V_NUMBER:
        return v->kind == JSON_NUMBER && num_eq(v->p, v->len, c->val, c->vlen);
    case V_TEXT:
        if (v->kind == JSON_STRING)
            return json_string_eq(v, c->val, c->vlen);
        break;
    case V_LITERAL:
        if (v->kind != JSON_BOOL && v->kind != JSON_NULL)
            return false;
        break;
    }
    return v->len == c->vlen && memcmp(v->p, c->val, c->vlen) == 0;
}

static bool header_eval(const check *c, const check_resp *resp)
{
    head_iter it;
    const char *v;
    size_t n;
    bool present = false;
    head_iter_init(&it, resp->head, resp->head_len);
    while (head_next(&it, c->hname, c->hlen, &v, &n)) {
        present = true;
        if (c->kind == C_HEADER)
            return true;
        if (c->kind == C_HEADER_CONTAINS) {
            if (!c->vlen || memmem(v, n, c->val, c->vlen))
                return true;
        } else if (n == c->vlen && (!n || memcmp(v, c->val, n) == 0)) {
            return c->kind == C_HEADER_EQ;
        }
    }
    return present && c->kind == C_HEADER_NE;
}

bool check_eval(const check *c, const check_resp *resp)
{
    json_value v;
    switch (c->kind) {
    case C_STATUS:
        return status_set_has(&c->set, resp->status);
    case C_HEADER:
    case C_HEADER_EQ:
    case C_HEADER_NE:
    case C_HEADER_CONTAINS:
        return resp->head && header_eval(c, resp);
    case C_BODY_CONTAINS:
    case C_BODY_NOT_CONTAINS:
        if (!resp->body)
            return false;
        return (c->kind == C_BODY_CONTAINS) ==
               (!c->vlen || memmem(resp->body, resp->body_len, c->val, c->vlen) != NULL);
    case C_JSON_EQ:
    case C_JSON_NE:
    case C_JSON_EXISTS:
        if (!resp->body || json_find(&c->path, resp->body, resp->body_len, &v) != 0)
            return false;
        return c->kind == C_JSON_EXISTS || (c->kind == C_JSON_EQ) == json_eq(c, &v);
    }
    return false;
}
