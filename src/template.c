/* template: the compiler of `{{ expr }}` templates (see include/template.h): lexer, parser and
 * code generation into the program described in template_int.h, tpl_compile, tpl_free and the
 * accessors. tpl_expand, which runs the program, is in template_expand.c.
 *
 * Main invariant: the compiler models the expander's value stack, so the depth never exceeds
 * TPL_MAX_DEPTH and max_len covers the output written so far plus every string built on top of
 * it; the expander still checks each write against cap, so a wrong bound can only give
 * -ENOSPC. Constants are folded with the expander's own arithmetic (template_int.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_int.h"

/* Bounds saturate here: 32 of them still add up without overflow. */
#define HUGE_BOUND ((uint64_t)1 << 56)

static uint64_t sat(uint64_t x)
{
    return x > HUGE_BOUND ? HUGE_BOUND : x;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

enum { T_EOF = 256, T_CLOSE, T_OPEN, T_INT, T_STR, T_NAME }; /* else: the punctuation byte */

typedef struct tok {
    int t;
    size_t at, end; /* its source text */
    int64_t k;      /* T_INT */
} tok;

enum kind {
    K_INT,    /* an integer */
    K_STR,    /* a string (or, from pick(), maybe an integer) */
    K_NONNUM, /* a string that cannot be the text of an integer: not a number, even at run time */
};

/* A compiled subexpression: code[code_at, ncode) pushes its value. */
typedef struct ex {
    enum kind kind;
    bool kint, kstr; /* a constant: code[code_at] is its only instruction, OP_INT or OP_STR */
    int64_t k;       /* kint: the value */
    size_t code_at;
    size_t at, end; /* its source text */
    uint64_t bound; /* the longest text it can have */
} ex;

typedef struct cc {
    const char *s;
    size_t n, at; /* the text and the lexer's position */
    const tpl_names *nm;
    tok tok, prev;
    size_t open; /* where the {{ being compiled starts */
    int depth;
    tpl *t;
    size_t capcode, npool; /* the pool holds at most the text's length */
    /* The value stack as expansion will see it: the bytes each value may have built. */
    uint64_t sb[TPL_MAX_DEPTH], sum, peak;
    size_t sp;
    char *err;
    size_t errlen;
} cc;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ < 0)                                                                               \
            return rc_;                                                                            \
    } while (0)

/* Appends to the error; the source bytes it quotes must not break its line. */
static void vmore(cc *c, const char *fmt, va_list ap)
{
    size_t used = c->errlen ? strlen(c->err) : 0;
    if (used + 1 >= c->errlen)
        return;
    vsnprintf(c->err + used, c->errlen - used, fmt, ap);
    for (char *p = c->err + used; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 127)
            *p = '?';
}

__attribute__((format(printf, 2, 3))) static void more(cc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmore(c, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 3, 4))) static int fail(cc *c, size_t at, const char *fmt, ...)
{
    va_list ap;
    if (c->errlen)
        c->err[0] = 0;
    more(c, "column %zu: ", at + 1);
    va_start(ap, fmt);
    vmore(c, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A piece of the source for a message: at most 32 bytes. */
#define SRC(c, a, b) (int)((b) - (a) > 32 ? 32 : (b) - (a)), (c)->s + (a)

static int unterminated(cc *c)
{
    return fail(c, c->open, "unterminated {{ (close it with }})");
}

static int expected(cc *c, const char *what)
{
    if (c->tok.t == T_EOF)
        return unterminated(c);
    if (c->tok.t == T_OPEN)
        return fail(c, c->tok.at, "unexpected {{ (the {{ at column %zu is not closed)",
                    c->open + 1);
    return fail(c, c->tok.at, "expected %s", what);
}

static int want_value(cc *c)
{
    if (c->tok.t == T_CLOSE && c->prev.t == T_OPEN)
        return fail(c, c->tok.at, "empty {{ }}");
    char what[64];
    snprintf(what, sizeof(what), "a value after '%.*s'", SRC(c, c->prev.at, c->prev.end));
    return expected(c, what);
}

static bool ident(char ch, bool first)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (!first && ch >= '0' && ch <= '9');
}

static int lex(cc *c)
{
    const char *s = c->s;
    size_t i = c->at, n = c->n;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    tok t = {.t = T_EOF, .at = i, .end = i};
    char ch = i < n ? s[i] : 0, next = i + 1 < n ? s[i + 1] : 0;
    if (i == n) {
        t.end = n;
    } else if ((ch == '}' || ch == '{') && next == ch) {
        t.t = ch == '}' ? T_CLOSE : T_OPEN;
        t.end = i + 2;
    } else if (ch >= '0' && ch <= '9') {
        uint64_t k = 0;
        for (t.end = i; t.end < n && s[t.end] >= '0' && s[t.end] <= '9'; t.end++)
            if (k <= INT64_MAX)
                k = k * 10 + (uint64_t)(s[t.end] - '0');
        if (k > INT64_MAX)
            return fail(c, i, "integer %.*s is over 9223372036854775807", SRC(c, i, t.end));
        t.t = T_INT;
        t.k = (int64_t)k;
    } else if (ch == '"') {
        size_t j = i + 1;
        for (; j < n && s[j] != '"'; j++) {
            if (s[j] != '\\')
                continue;
            if (++j == n)
                break;
            if (!s[j] || !strchr("\"\\nt", s[j]))
                return fail(c, j - 1,
                            "unknown escape '\\%c' in a string (known: \\\" \\\\ \\n \\t)",
                            s[j] > ' ' && s[j] < 127 ? s[j] : '?');
        }
        if (j >= n)
            return fail(c, i, "unterminated string (close it with \")");
        t.t = T_STR;
        t.end = j + 1;
    } else if (ident(ch, true)) {
        for (t.end = i; t.end < n && ident(s[t.end], false); t.end++)
            ;
        t.t = T_NAME;
    } else if (ch && strchr("+-*/%(),.|", ch)) {
        t.t = (unsigned char)ch;
        t.end = i + 1;
    } else if (ch > ' ' && ch < 127) {
        return fail(c, i, "unexpected character '%c'", ch);
    } else {
        return fail(c, i, "unexpected byte 0x%02x", (unsigned char)ch);
    }
    c->prev = c->tok;
    c->tok = t;
    c->at = t.end;
    return 0;
}

static int emit(cc *c, enum op op, uint32_t a, int64_t k)
{
    tpl *t = c->t;
    if (t->ncode == c->capcode) {
        size_t cap = c->capcode ? 2 * c->capcode : 16;
        ins *code = realloc(t->code, cap * sizeof(*code));
        if (!code)
            return -ENOMEM;
        t->code = code;
        c->capcode = cap;
    }
    t->code[t->ncode++] = (ins){.op = (uint8_t)op, .a = a, .k = k};
    return 0;
}

static int m_push(cc *c, uint64_t sb, size_t at)
{
    if (c->sp == TPL_MAX_DEPTH)
        return fail(c, at, "expression too deep (over %d levels)", TPL_MAX_DEPTH);
    c->sb[c->sp++] = sat(sb);
    c->sum += sat(sb);
    if (c->sum > c->peak)
        c->peak = c->sum;
    return 0;
}

static void m_pop(cc *c)
{
    c->sum -= c->sb[--c->sp];
}

static void m_set(cc *c, uint64_t sb)
{
    m_pop(c);
    m_push(c, sb, 0); /* cannot fail: a slot was just freed */
}

static int nest(cc *c, size_t at)
{
    if (++c->depth > TPL_MAX_DEPTH)
        return fail(c, at, "expression too deep (over %d levels)", TPL_MAX_DEPTH);
    return 0;
}

static unsigned distance(const char *a, size_t an, const char *b, size_t bn)
{
    unsigned row[33];
    if (an > 32 || bn > 32)
        return 99;
    for (size_t j = 0; j <= bn; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= an; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= bn; j++) {
            unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bn];
}

/* Lists the names a..., then b..., then tail, and suggests the closest to p[0, n) within 2 edits
 * (and not wholly different), closing the parenthesis the caller opened. */
static int list_names(cc *c, const char *p, size_t n, const char *const *a, size_t na,
                      const char *const *b, size_t nb, const char *tail)
{
    const char *best = NULL;
    unsigned bd = 3;
    for (size_t i = 0; i < na + nb; i++) {
        const char *name = i < na ? a[i] : b[i - na];
        size_t len = strlen(name);
        unsigned d = distance(p, n, name, len);
        more(c, "%s%s", i ? ", " : "", name);
        if (d < bd && d < (n > len ? n : len)) {
            bd = d;
            best = name;
        }
    }
    more(c, "%s", tail);
    if (best)
        more(c, "; did you mean '%s'?", best);
    more(c, ")");
    return -EINVAL;
}

static bool is(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(p, word, n) == 0;
}

static int push_const(cc *c, ex *e, enum op op, uint32_t a, int64_t k)
{
    TRY(emit(c, op, a, k));
    return m_push(c, 0, e->at);
}

/* Makes e a number: a constant string becomes the integer it spells; a string that can never be
 * one is an error. */
static int need_int(cc *c, ex *e)
{
    int64_t v;
    ins *in = &c->t->code[e->code_at];
    if (e->kstr && parse_int(c->t->pool + in->k, in->a, &v)) {
        *in = (ins){.op = OP_INT, .k = v};
        *e = (ex){.kind = K_INT,
                  .kint = true,
                  .k = v,
                  .code_at = e->code_at,
                  .at = e->at,
                  .end = e->end,
                  .bound = 20};
    }
    if (e->kind == K_NONNUM)
        return fail(c, e->at, "%.*s is not a number", SRC(c, e->at, e->end));
    return 0;
}

static int fold(cc *c, ex *e, int64_t v)
{
    c->t->ncode = e->code_at;
    TRY(emit(c, OP_INT, 0, v));
    *e = (ex){.kind = K_INT,
              .kint = true,
              .k = v,
              .code_at = e->code_at,
              .at = e->at,
              .end = e->end,
              .bound = 20};
    return 0;
}

static int sum(cc *c, ex *e);

static int transform(cc *c, ex *e, enum op op)
{
    if (e->kind == K_INT) /* a number's text has nothing to encode or change case of */
        return 0;
    TRY(emit(c, op, 0, 0));
    if (op == OP_URLENC)
        e->bound = sat(e->bound * 3);
    m_set(c, e->bound);
    e->kint = e->kstr = false;
    return 0;
}

static const char *const FUNCS[] = {"rand", "pick", "uuid", "time", "time_ms", "urlencode", "len"};
static const int ARITY[] = {2, -1, 0, 0, 0, 1, 1};
static const char *const USAGE[] = {
    "rand(lo, hi) takes 2 arguments", "pick(a, ...) takes 1 to 64 arguments",
    "uuid() takes no arguments",      "time() takes no arguments",
    "time_ms() takes no arguments",   "urlencode(x) takes 1 argument",
    "len(x) takes 1 argument",
};
enum { FN_RAND, FN_PICK, FN_UUID, FN_TIME, FN_TIME_MS, FN_URLENC, FN_LEN, NFUNCS };

static int call(cc *c, ex *e, const tok *name)
{
    int f = 0;
    while (f < NFUNCS && !is(c->s + name->at, name->end - name->at, FUNCS[f]))
        f++;
    if (f == NFUNCS) {
        fail(c, name->at, "unknown function '%.*s' (allowed: ", SRC(c, name->at, name->end));
        return list_names(c, c->s + name->at, name->end - name->at, FUNCS, NFUNCS, NULL, 0, "");
    }
    TRY(nest(c, name->at));
    size_t pick_at = c->t->ncode, na = 0;
    uint32_t starts[TPL_MAX_PICK], jumps[TPL_MAX_PICK];
    ex a[2], r = {.kind = K_NONNUM, .code_at = pick_at, .at = name->at};
    bool all_int = true;
    uint64_t sb = 0;
    if (f == FN_PICK)
        TRY(emit(c, OP_PICK, 0, 0));
    TRY(lex(c));
    for (bool more_args = c->tok.t != ')'; more_args; na++) {
        if (na == (f == FN_PICK ? TPL_MAX_PICK : (size_t)ARITY[f]))
            return fail(c, name->at, "%s", USAGE[f]);
        ex x;
        if (f == FN_PICK)
            starts[na] = (uint32_t)c->t->ncode;
        TRY(sum(c, &x));
        if (f == FN_PICK) {
            jumps[na] = (uint32_t)c->t->ncode;
            TRY(emit(c, OP_JMP, 0, 0));
            r.bound = x.bound > r.bound ? x.bound : r.bound;
            sb = c->sb[c->sp - 1] > sb ? c->sb[c->sp - 1] : sb;
            all_int &= x.kind == K_INT;
            r.kind = x.kind == K_NONNUM ? r.kind : K_STR;
            m_pop(c);
        } else {
            a[na] = x;
        }
        if (c->tok.t != ',' && c->tok.t != ')')
            return expected(c, "',' or ')'");
        more_args = c->tok.t == ',';
        if (more_args)
            TRY(lex(c));
    }
    if (na < (f == FN_PICK ? 1 : (size_t)ARITY[f]))
        return fail(c, name->at, "%s", USAGE[f]);
    c->depth--;
    size_t close = r.end = c->tok.end;
    TRY(lex(c));
    switch (f) {
    case FN_RAND:
        TRY(need_int(c, &a[0]));
        TRY(need_int(c, &a[1]));
        if (a[0].kint && a[1].kint && a[0].k > a[1].k)
            return fail(c, name->at, "rand(lo, hi) with lo %lld greater than hi %lld",
                        (long long)a[0].k, (long long)a[1].k);
        TRY(emit(c, OP_RAND, 0, 0));
        m_pop(c);
        m_set(c, 0);
        r.kind = K_INT;
        r.bound = 20;
        break;
    case FN_PICK:
        c->t->code[pick_at].a = (uint32_t)na;
        c->t->code[pick_at].k = (int64_t)c->t->ncode;
        for (size_t i = 0; i < na; i++)
            TRY(emit(c, OP_JMP, starts[i], 0));
        for (size_t i = 0; i < na; i++)
            c->t->code[jumps[i]].a = (uint32_t)c->t->ncode;
        r.kind = all_int ? K_INT : r.kind;
        TRY(m_push(c, sb, name->at));
        break;
    case FN_UUID:
        TRY(emit(c, OP_UUID, 0, 0));
        TRY(m_push(c, 36, name->at));
        r.bound = 36;
        break;
    case FN_TIME:
    case FN_TIME_MS:
        TRY(emit(c, f == FN_TIME ? OP_TIME : OP_TIME_MS, 0, 0));
        TRY(m_push(c, 0, name->at));
        r.kind = K_INT;
        r.bound = 20;
        break;
    case FN_URLENC:
        r = a[0];
        TRY(transform(c, &r, OP_URLENC));
        break;
    case FN_LEN:
        r.kind = K_INT;
        r.bound = 20;
        if (a[0].kint || a[0].kstr) {
            char buf[24], *end = buf + sizeof(buf);
            ins *in = &c->t->code[a[0].code_at];
            *e = r;
            return fold(c, e, a[0].kstr ? in->a : end - dec(a[0].k, end));
        }
        TRY(emit(c, OP_LEN, 0, 0));
        m_set(c, 0);
        break;
    }
    r.at = name->at;
    r.end = close;
    *e = r;
    return 0;
}

static int name(cc *c, ex *e)
{
    const tpl_names *nm = c->nm;
    tok t = c->tok;
    const char *p = c->s + t.at;
    size_t n = t.end - t.at;
    TRY(lex(c));
    if (c->tok.t == '(')
        return call(c, e, &t);
    if (c->tok.t == '.' && is(p, n, "data")) {
        TRY(lex(c));
        if (c->tok.t != T_NAME)
            return expected(c, "a column name after 'data.'");
        tok col = c->tok;
        const char *q = c->s + col.at;
        size_t qn = col.end - col.at, i = 0;
        while (i < nm->ncols && !is(q, qn, nm->cols[i]))
            i++;
        if (nm->ncols == 0)
            return fail(c, col.at, "data.%.*s: the scenario has no data file",
                        SRC(c, col.at, col.end));
        if (i == nm->ncols) {
            fail(c, col.at, "unknown column '%.*s' (columns: ", SRC(c, col.at, col.end));
            return list_names(c, q, qn, nm->cols, nm->ncols, NULL, 0, "");
        }
        c->t->uses_data = true;
        *e = (ex){.kind = K_STR,
                  .code_at = c->t->ncode,
                  .at = t.at,
                  .end = col.end,
                  .bound = nm->col_max ? nm->col_max[i] : UINT32_MAX};
        TRY(push_const(c, e, OP_COL, (uint32_t)i, 0));
        return lex(c);
    }
    if (c->tok.t == '.')
        return fail(c, c->tok.at, "'.' after '%.*s': only data has fields (data.COLUMN)",
                    SRC(c, t.at, t.end));
    static const char *const builtins[] = {"vu", "iter", "seq"};
    *e = (ex){.kind = K_INT, .code_at = c->t->ncode, .at = t.at, .end = t.end, .bound = 20};
    for (int b = 0; b < 3; b++)
        if (is(p, n, builtins[b]))
            return push_const(c, e, OP_VU + b, 0, 0);
    for (size_t i = 0; i < nm->nvars; i++) {
        if (is(p, n, nm->vars[i])) {
            c->t->uses[i / 8] |= (uint8_t)(1u << (i % 8));
            e->kind = K_STR;
            e->bound = nm->var_max ? nm->var_max[i] : UINT32_MAX;
            return push_const(c, e, OP_VAR, (uint32_t)i, 0);
        }
    }
    if (is(p, n, "data"))
        return fail(c, t.at, "'data' needs a column: data.NAME");
    fail(c, t.at, "unknown variable '%.*s' (known: ", SRC(c, t.at, t.end));
    return list_names(c, p, n, builtins, 3, nm->vars, nm->nvars, "");
}

static int primary(cc *c, ex *e)
{
    tok t = c->tok;
    *e = (ex){.code_at = c->t->ncode, .at = t.at, .end = t.end};
    switch (t.t) {
    case T_INT:
        *e = (ex){.kind = K_INT,
                  .kint = true,
                  .k = t.k,
                  .code_at = e->code_at,
                  .at = t.at,
                  .end = t.end,
                  .bound = 20};
        TRY(push_const(c, e, OP_INT, 0, t.k));
        return lex(c);
    case T_STR: {
        char *pool = c->t->pool;
        uint32_t off = (uint32_t)c->npool, len = 0;
        for (size_t i = t.at + 1; i + 1 < t.end; i++) {
            char ch = c->s[i];
            if (ch == '\\') {
                ch = c->s[++i];
                ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
            }
            pool[off + len++] = ch;
        }
        c->npool += len;
        int64_t v;
        e->kind = parse_int(pool + off, len, &v) ? K_STR : K_NONNUM;
        e->kstr = true;
        e->bound = len;
        TRY(push_const(c, e, OP_STR, len, off));
        return lex(c);
    }
    case '(':
        TRY(nest(c, t.at));
        TRY(lex(c));
        TRY(sum(c, e));
        if (c->tok.t != ')')
            return expected(c, "')'");
        c->depth--;
        e->at = t.at;
        e->end = c->tok.end;
        return lex(c);
    case T_NAME:
        return name(c, e);
    }
    return want_value(c);
}

static int unary(cc *c, ex *e)
{
    if (c->tok.t != '-')
        return primary(c, e);
    tok op = c->tok;
    TRY(nest(c, op.at));
    TRY(lex(c));
    TRY(unary(c, e));
    c->depth--;
    TRY(need_int(c, e));
    e->at = op.at;
    if (e->kint) {
        int64_t v;
        if (arith(OP_NEG, e->k, 0, &v) < 0)
            return fail(c, op.at, "integer overflow in %.*s", SRC(c, e->at, e->end));
        return fold(c, e, v);
    }
    e->kind = K_INT;
    e->bound = 20;
    return emit(c, OP_NEG, 0, 0);
}

static int binary(cc *c, int opch, size_t op_at, ex *l, ex *r)
{
    enum op op = opch == '+'   ? OP_ADD
                 : opch == '-' ? OP_SUB
                 : opch == '*' ? OP_MUL
                 : opch == '/' ? OP_DIV
                               : OP_MOD;
    TRY(need_int(c, l));
    TRY(need_int(c, r));
    if (r->kint && r->k == 0 && (op == OP_DIV || op == OP_MOD))
        return fail(c, op_at, "%s by zero", op == OP_DIV ? "division" : "modulo");
    l->end = r->end;
    m_pop(c);
    if (l->kint && r->kint) {
        int64_t v;
        if (arith(op, l->k, r->k, &v) < 0)
            return fail(c, op_at, "integer overflow in %.*s", SRC(c, l->at, l->end));
        return fold(c, l, v);
    }
    m_set(c, 0);
    l->kint = false;
    l->kind = K_INT;
    l->bound = 20;
    return emit(c, op, 0, 0);
}

static int product(cc *c, ex *e)
{
    TRY(unary(c, e));
    while (c->tok.t == '*' || c->tok.t == '/' || c->tok.t == '%') {
        tok op = c->tok;
        ex r;
        TRY(lex(c));
        TRY(unary(c, &r));
        TRY(binary(c, op.t, op.at, e, &r));
    }
    return 0;
}

static int sum(cc *c, ex *e)
{
    TRY(product(c, e));
    while (c->tok.t == '+' || c->tok.t == '-') {
        tok op = c->tok;
        ex r;
        TRY(lex(c));
        TRY(product(c, &r));
        TRY(binary(c, op.t, op.at, e, &r));
    }
    return 0;
}

static int filter(cc *c, ex *e)
{
    const char *s = c->s;
    size_t i = c->tok.end, n = c->n;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t at = i;
    if (i < n && s[i] == '%') {
        uint8_t f = 0;
        unsigned w = 0, pr = 0;
        const char *flag;
        while (++i < n && s[i] && (flag = strchr("-0+ ", s[i])))
            f |= (uint8_t)(1u << (flag - "-0+ "));
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            w = w > 64 ? w : w * 10 + (unsigned)(s[i] - '0');
        if (i < n && s[i] == '.')
            for (pr = 1; ++i < n && s[i] >= '0' && s[i] <= '9';)
                pr = pr > 65 ? pr : (pr - 1) * 10 + (unsigned)(s[i] - '0') + 1;
        if (w > 64 || pr > 65)
            return fail(c, at, "format %s over 64 in '%.*s'", w > 64 ? "width" : "precision",
                        SRC(c, at, i < n ? i + 1 : i));
        if (i == n)
            return unterminated(c);
        char conv = s[i];
        bool show = conv > ' ' && conv < 127 && conv != '}' && conv != '|';
        if (!conv || !strchr("diuxXos", conv))
            return fail(c, at,
                        "bad format '%.*s' (flags -0+ or space, a width and a .precision up to "
                        "64, then one of d i u x X o s)",
                        SRC(c, at, i + show));
        uint64_t bound;
        if (conv == 's') {
            bound = e->kind == K_INT ? 20 : e->bound;
            bound = pr && bound > pr - 1 ? pr - 1 : bound;
        } else {
            TRY(need_int(c, e));
            bool sig = conv == 'd' || conv == 'i';
            uint64_t nd = sig ? 19 : conv == 'u' ? 20 : conv == 'o' ? 22 : 16;
            bound = sig + (pr && pr - 1 > nd ? pr - 1 : nd);
        }
        TRY(emit(c, OP_FMT, (uint32_t)conv, 0));
        ins *in = &c->t->code[c->t->ncode - 1];
        in->f = f;
        in->w = (uint8_t)w;
        in->pr = (uint8_t)pr;
        e->bound = bound > w ? bound : w;
        e->kind = K_STR;
        e->kint = e->kstr = false;
        m_set(c, e->bound);
        c->at = i + 1;
        return lex(c);
    }
    static const char *const FILTERS[] = {"urlencode", "upper", "lower"};
    static const enum op OPS[] = {OP_URLENC, OP_UPPER, OP_LOWER};
    c->at = i;
    TRY(lex(c));
    if (c->tok.t != T_NAME)
        return expected(c, "a filter after '|' (urlencode, upper, lower or a format like %05d)");
    tok t = c->tok;
    for (int k = 0; k < 3; k++)
        if (is(s + t.at, t.end - t.at, FILTERS[k])) {
            TRY(transform(c, e, OPS[k]));
            return lex(c);
        }
    fail(c, t.at, "unknown filter '%.*s' (allowed: ", SRC(c, t.at, t.end));
    return list_names(c, s + t.at, t.end - t.at, FILTERS, 3, NULL, 0, ", a format like %05d");
}

/* Whether a }} (outside strings) follows the {{ at c->open; a string cut short counts, for the
 * lexer to report it. Checked first so that "{{ a" is unterminated, not an unknown name. */
static bool closed(const cc *c)
{
    bool str = false;
    for (size_t i = c->open + 2; i < c->n; i++) {
        if (str && c->s[i] == '\\')
            i++;
        else if (c->s[i] == '"')
            str = !str;
        else if (!str && c->s[i] == '}' && i + 1 < c->n && c->s[i + 1] == '}')
            return true;
    }
    return str;
}

/* Compiles the {{ at c->open up to its }}, appending the program that emits its value. */
static int segment(cc *c, ex *e)
{
    if (!closed(c))
        return unterminated(c);
    c->tok = (tok){.t = T_OPEN, .at = c->open, .end = c->open + 2};
    c->at = c->open + 2;
    c->depth = 0;
    c->sum = c->peak = 0;
    TRY(lex(c));
    TRY(sum(c, e));
    while (c->tok.t == '|')
        TRY(filter(c, e));
    if (c->tok.t != T_CLOSE)
        return expected(c, "an operator, '|' or '}}'");
    m_pop(c);
    return emit(c, OP_EMIT, 0, 0);
}

int tpl_compile(tpl **out, const char *text, size_t len, const tpl_names *names, char *err,
                size_t errlen)
{
    static const tpl_names none;
    cc c = {.s = text ? text : "",
            .n = len,
            .nm = names ? names : &none,
            .err = err,
            .errlen = err ? errlen : 0};
    *out = NULL;
    if (c.errlen)
        err[0] = 0;
    if (len > UINT32_MAX)
        return fail(&c, 0, "template longer than 4 GiB");
    tpl *t = c.t = calloc(1, sizeof(*t));
    if (!t || !(t->pool = malloc(len ? len : 1)) ||
        (c.nm->nvars && !(t->uses = calloc((c.nm->nvars + 7) / 8, 1)))) {
        tpl_free(t);
        return -ENOMEM;
    }
    t->len = len;
    t->nvars = c.nm->nvars;
    t->literal = true;
    uint64_t written = 0, need = 0; /* bounds: of the output so far, of any point of it */
    int rc = 0;
    for (size_t i = 0; i <= len && rc == 0;) {
        const char *open = memmem(c.s + i, len - i, "{{", 2);
        size_t lit = open ? (size_t)(open - c.s) - i : len - i;
        if (lit) {
            memcpy(t->pool + c.npool, c.s + i, lit);
            rc = emit(&c, OP_TEXT, (uint32_t)lit, (int64_t)c.npool);
            c.npool += lit;
            written = sat(written + lit);
        }
        if (!open || rc < 0)
            break;
        t->literal = false;
        c.open = (size_t)(open - c.s);
        ex e;
        if ((rc = segment(&c, &e)) < 0)
            break;
        need = max64(need, sat(written + max64(c.peak, e.bound)));
        written = sat(written + e.bound);
        if (need == HUGE_BOUND) /* saturated: tpl_max_len would not be a bound */
            rc = fail(&c, c.open, "this {{ }} could expand to more than 2^56 bytes");
        i = c.tok.end;
    }
    if (rc < 0) {
        if (rc == -ENOMEM && c.errlen)
            snprintf(err, c.errlen, "out of memory");
        tpl_free(t);
        return rc;
    }
    t->max_len = (size_t)(written > need ? written : need);
    *out = t;
    return 0;
}

void tpl_free(tpl *t)
{
    if (!t)
        return;
    free(t->code);
    free(t->pool);
    free(t->uses);
    free(t);
}

bool tpl_is_literal(const tpl *t)
{
    return t->literal;
}

const char *tpl_literal(const tpl *t, size_t *len)
{
    if (!t->literal)
        return NULL;
    *len = t->len;
    return t->pool;
}

size_t tpl_max_len(const tpl *t)
{
    return t->max_len;
}

bool tpl_uses_var(const tpl *t, size_t var)
{
    return t->uses && var < t->nvars && (t->uses[var / 8] >> (var % 8) & 1);
}

bool tpl_uses_data(const tpl *t)
{
    return t->uses_data;
}
