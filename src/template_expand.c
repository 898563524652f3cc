/* template_expand: the run-time half of templates, tpl_expand (see include/template.h; the
 * program it runs is described in template_int.h and built by template.c).
 *
 * Strings built mid-expression (uuid, urlencode, upper/lower of a variable, formats) live in the
 * output buffer, each starting where the strings below it on the stack end: the value an
 * expression ends with is then already where it is emitted, and no other scratch space is
 * needed. They are rewritten in place (urlencode backwards, padding by memmove).
 *
 * Main invariant: expansion never allocates and never writes at or past out + cap: every write
 * is checked against cap, so a wrong compile-time bound (max_len, the stack depth the compiler
 * modelled) can only give -ENOSPC. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "template_int.h"

__extension__ typedef unsigned __int128 u128;

static const char HEX_UP[] = "0123456789ABCDEF";

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

typedef struct val {
    const char *p; /* NULL: an integer */
    int64_t i;
    size_t len;
    bool built;  /* p is out + base */
    size_t base; /* where a string built from this value goes */
} val;

static uint64_t draw(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL; /* a zero state would stay zero */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n), n == 0 meaning 2^64: multiply-shift, rejecting the few draws that would
 * make low results more likely (Lemire), so there is no bias even for huge ranges. */
static uint64_t below(uint64_t *s, uint64_t n)
{
    uint64_t x = draw(s);
    if (n == 0)
        return x;
    u128 m = (u128)x * n;
    if ((uint64_t)m < n) {
        uint64_t floor = (0 - n) % n;
        while ((uint64_t)m < floor)
            m = (u128)draw(s) * n;
    }
    return (uint64_t)(m >> 64);
}

static int num(const val *v, int64_t *x)
{
    if (!v->p) {
        *x = v->i;
        return 0;
    }
    return parse_int(v->p, v->len, x) ? 0 : -EDOM;
}

static void put_uuid(uint64_t *s, char *o)
{
    uint64_t h = draw(s), l = draw(s);
    h = (h & ~0xf000ULL) | 0x4000ULL;       /* version 4 */
    l = (l & ~(3ULL << 62)) | (2ULL << 62); /* variant 10 */
    for (int i = 0, j = 0; i < 32; i++) {
        uint64_t w = i < 16 ? h : l;
        if (i == 8 || i == 12 || i == 16 || i == 20)
            o[j++] = '-';
        o[j++] = HEX_LOW[(w >> (60 - 4 * (i % 16))) & 15];
    }
}

static int urlencode(val *v, char *out, size_t cap)
{
    if (!v->p) /* digits and '-' are unreserved */
        return 0;
    size_t n = v->len, len = n;
    for (size_t i = 0; i < n; i++)
        len += unreserved((unsigned char)v->p[i]) ? 0 : 2;
    if (len > cap - v->base)
        return -ENOSPC;
    char *d = out + v->base, *p = memmove(d, v->p, n); /* a no-op when built */
    for (size_t i = n, j = len; i-- > 0;) { /* from the end: the output never overtakes the input */
        unsigned char c = (unsigned char)p[i];
        if (unreserved(c)) {
            d[--j] = (char)c;
        } else {
            d[--j] = HEX_UP[c & 15];
            d[--j] = HEX_UP[c >> 4];
            d[--j] = '%';
        }
    }
    *v = (val){.p = d, .len = len, .built = true, .base = v->base};
    return 0;
}

static int recase(val *v, char *out, size_t cap, bool up)
{
    if (!v->p)
        return 0;
    if (v->len > cap - v->base)
        return -ENOSPC;
    char *d = out + v->base;
    char lo = up ? 'a' : 'A', hi = up ? 'z' : 'Z';
    for (size_t i = 0; i < v->len; i++) {
        char c = v->p[i];
        d[i] = c >= lo && c <= hi ? (char)(c ^ 0x20) : c;
    }
    v->p = d;
    v->built = true;
    return 0;
}

static int format(val *v, const ins *in, char *out, size_t cap)
{
    char buf[24], *end = buf + sizeof(buf);
    char *d = out + v->base;
    size_t room = cap - v->base, w = in->w;
    int prec = in->pr - 1;
    if (in->a == 's') {
        const char *s = v->p;
        size_t n = v->len;
        if (!s) {
            s = dec(v->i, end);
            n = (size_t)(end - s);
        }
        if (prec >= 0 && n > (size_t)prec)
            n = (size_t)prec;
        size_t pad = w > n ? w - n : 0;
        if (n + pad > room)
            return -ENOSPC;
        memmove(in->f & F_LEFT ? d : d + pad, s, n); /* s may be d: a built string */
        memset(in->f & F_LEFT ? d + n : d, ' ', pad);
        *v = (val){.p = d, .len = n + pad, .built = true, .base = v->base};
        return 0;
    }
    int64_t x;
    if (num(v, &x) < 0)
        return -EDOM;
    bool sig = in->a == 'd' || in->a == 'i';
    char sign = !sig ? 0 : x < 0 ? '-' : in->f & F_PLUS ? '+' : in->f & F_SPACE ? ' ' : 0;
    uint64_t m = sig && x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
    unsigned base = in->a == 'x' || in->a == 'X' ? 16 : in->a == 'o' ? 8 : 10;
    char *s = digits(m, base, in->a == 'X' ? HEX_UP : HEX_LOW, end);
    size_t nd = prec == 0 && m == 0 ? 0 : (size_t)(end - s); /* as printf: %.0d of 0 is empty */
    size_t zeros = prec > 0 && (size_t)prec > nd ? (size_t)prec - nd : 0;
    size_t body = (sign != 0) + zeros + nd;
    if ((in->f & (F_ZERO | F_LEFT)) == F_ZERO && prec < 0 && w > body) {
        zeros += w - body;
        body = w;
    }
    size_t pad = w > body ? w - body : 0, j = 0;
    if (body + pad > room)
        return -ENOSPC;
    if (!(in->f & F_LEFT))
        for (; j < pad; j++)
            d[j] = ' ';
    if (sign)
        d[j++] = sign;
    memset(d + j, '0', zeros);
    memcpy(d + j + zeros, s, nd);
    j += zeros + nd;
    if (in->f & F_LEFT)
        for (size_t k = 0; k < pad; k++)
            d[j++] = ' ';
    *v = (val){.p = d, .len = j, .built = true, .base = v->base};
    return 0;
}

static int emit_val(const val *v, char *out, size_t cap, size_t *pos)
{
    char buf[24], *end = buf + sizeof(buf);
    if (v->built) { /* the bottom value: built where the output goes on */
        *pos += v->len;
        return 0;
    }
    const char *s = v->p ? v->p : dec(v->i, end);
    size_t n = v->p ? v->len : (size_t)(end - s);
    if (n > cap - *pos)
        return -ENOSPC;
    memcpy(out + *pos, s, n);
    *pos += n;
    return 0;
}

static int64_t now(bool ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ms ? (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 : (int64_t)ts.tv_sec;
}

ssize_t tpl_expand(const tpl *t, const tpl_env *env, char *out, size_t cap, size_t *missing)
{
    val st[TPL_MAX_DEPTH];
    size_t sp = 0, pos = 0;
    uint64_t spare = 0, *rng = env->rng ? env->rng : &spare;
    if (cap > SSIZE_MAX)
        cap = SSIZE_MAX;
    for (size_t pc = 0; pc < t->ncode; pc++) {
        const ins *in = &t->code[pc];
        val *v = sp ? &st[sp - 1] : NULL;
        size_t at = !v ? pos : v->base + (v->built ? v->len : 0); /* where a push builds */
        const tpl_str *s;
        int64_t x, y;
        int rc = 0;
        switch ((enum op)in->op) {
        case OP_TEXT:
            if (in->a > cap - pos)
                return -ENOSPC;
            memcpy(out + pos, t->pool + in->k, in->a);
            pos += in->a;
            break;
        case OP_EMIT:
            rc = emit_val(v, out, cap, &pos);
            sp = 0;
            break;
        case OP_INT:
            st[sp++] = (val){.i = in->k, .base = at};
            break;
        case OP_STR:
            st[sp++] = (val){.p = t->pool + in->k, .len = in->a, .base = at};
            break;
        case OP_VU:
        case OP_ITER:
        case OP_SEQ: {
            uint64_t u = in->op == OP_VU ? env->vu : in->op == OP_ITER ? env->iter : env->seq;
            if (u > INT64_MAX)
                return -EDOM;
            st[sp++] = (val){.i = (int64_t)u, .base = at};
            break;
        }
        case OP_VAR:
            s = env->vars ? &env->vars[in->a] : NULL;
            if (!s || !s->p) {
                if (missing)
                    *missing = in->a;
                return -ENOENT;
            }
            st[sp++] = (val){.p = s->p, .len = s->len, .base = at};
            break;
        case OP_COL:
            s = env->cols ? &env->cols[in->a] : NULL;
            st[sp++] = (val){.p = s && s->p ? s->p : "", .len = s && s->p ? s->len : 0, .base = at};
            break;
        case OP_NEG:
            if (num(v, &x) < 0 || arith(OP_NEG, x, 0, &x) < 0)
                return -EDOM;
            *v = (val){.i = x, .base = v->base};
            break;
        case OP_ADD:
        case OP_SUB:
        case OP_MUL:
        case OP_DIV:
        case OP_MOD:
        case OP_RAND:
            if (num(v - 1, &x) < 0 || num(v, &y) < 0)
                return -EDOM;
            if (in->op == OP_RAND) {
                if (x > y)
                    return -EDOM;
                x = (int64_t)((uint64_t)x + below(rng, (uint64_t)y - (uint64_t)x + 1));
            } else if (arith(in->op, x, y, &x) < 0) {
                return -EDOM;
            }
            sp--;
            v[-1] = (val){.i = x, .base = v[-1].base};
            break;
        case OP_PICK:
            pc = t->code[(size_t)in->k + below(rng, in->a)].a - 1;
            break;
        case OP_JMP:
            pc = in->a - 1;
            break;
        case OP_UUID:
            if (36 > cap - at)
                return -ENOSPC;
            put_uuid(rng, out + at);
            st[sp++] = (val){.p = out + at, .len = 36, .built = true, .base = at};
            break;
        case OP_TIME:
        case OP_TIME_MS:
            st[sp++] = (val){.i = now(in->op == OP_TIME_MS), .base = at};
            break;
        case OP_LEN: {
            char buf[24], *end = buf + sizeof(buf);
            x = v->p ? (int64_t)v->len : end - dec(v->i, end);
            *v = (val){.i = x, .base = v->base};
            break;
        }
        case OP_URLENC:
            rc = urlencode(v, out, cap);
            break;
        case OP_UPPER:
        case OP_LOWER:
            rc = recase(v, out, cap, in->op == OP_UPPER);
            break;
        case OP_FMT:
            rc = format(v, in, out, cap);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return (ssize_t)pos;
}
