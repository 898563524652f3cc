/* config_subst: ${NAME}, ${NAME:-default} and ${NAME:+text} in scenario-file values, replaced
 * from -e overrides first, then the environment, when the file is read (the shell's rules for
 * :- and :+; $${ is a literal ${). Nested defaults are bounded (SUBST_MAX_DEPTH). Errors name
 * the value's line and key, as every config error does. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "config_int.h"
#include "files.h"
#include "value.h"

#define keys cfg_keys

#define SUBST_MAX_DEPTH 16 /* ${A:-${B:-...}} nesting */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* -e NAME=VALUE first (the last one given wins), then the environment. */
static const char *lookup(const config_overrides *ov, const char *name, size_t len)
{
    for (size_t i = ov->env ? ov->nenv : 0; i-- > 0;) {
        const char *e = ov->env[i];
        if (e && strncmp(e, name, len) == 0 && e[len] == '=')
            return e + len + 1;
    }
    char tmp[256];
    if (len >= sizeof tmp)
        return NULL;
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    return getenv(tmp);
}

struct subst {
    struct ctx *c;
    int line;
    const struct section *s;
    const char *key;
};

/* Expands *pp into out until the end of the string or, when depth > 0, the '}' closing a default
 * (left at *pp for the caller to check). With emit false (an unused default) it only finds the
 * end: unset variables in it are no error, as in the shell. */
static int expand(struct subst *x, const char **pp, int depth, bool emit, struct sbuf *out)
{
    const char *p = *pp;
    while (*p && !(depth > 0 && *p == '}')) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            if (emit)
                sb_add(out, "${", 2);
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            if (emit)
                sb_add(out, p, 1);
            p++;
            continue;
        }
        const char *name = p + 2, *q = name;
        if (cfg_is_name_start(*q))
            while (cfg_is_name_char(*q))
                q++;
        int nlen = (int)(q - name);
        if (nlen > 0 && *q == '}') {
            const char *val = lookup(x->c->ov, name, (size_t)nlen);
            if (!val && emit) {
                cfg_fail(x->c, -EINVAL, x->line, x->s, x->key,
                         "${%.*s} is not set (give -e %.*s=... or ${%.*s:-default})", nlen, name,
                         nlen, name, nlen, name);
                return -1;
            }
            if (emit) {
                sb_add(out, val, strlen(val));
                cfg_guard_substituted(x->c, name, (size_t)nlen, val, strlen(val));
            }
            p = q + 1;
        } else if (nlen > 0 && q[0] == ':' && (q[1] == '-' || q[1] == '+')) {
            const char *val = lookup(x->c->ov, name, (size_t)nlen);
            /* As the shell: ${N:-word} is word when N is unset or empty, ${N:+word} is word
             * when N is set and not empty (and empty otherwise). */
            bool plus = q[1] == '+';
            bool set = val && *val;
            bool use_default = plus ? set : !set;
            if (depth + 1 > SUBST_MAX_DEPTH) {
                cfg_fail(x->c, -EINVAL, x->line, x->s, x->key,
                         "${...} nested too deeply (at most %d levels)", SUBST_MAX_DEPTH);
                return -1;
            }
            q += 2;
            size_t before = out->len;
            if (expand(x, &q, depth + 1, emit && use_default, out))
                return -1;
            if (*q != '}')
                goto unterminated;
            /* a secret's default stands in for its value: as secret as the value */
            if (emit && use_default && !plus && !out->oom)
                cfg_guard_substituted(x->c, name, (size_t)nlen, out->p + before, out->len - before);
            if (emit && !use_default && !plus) {
                sb_add(out, val, strlen(val));
                cfg_guard_substituted(x->c, name, (size_t)nlen, val, strlen(val));
            }
            p = q + 1;
        } else if (!strchr(p + 2, '}')) {
            goto unterminated;
        } else {
            cfg_fail(
                x->c, -EINVAL, x->line, x->s, x->key,
                "invalid variable reference '%.20s' (expected ${NAME}, ${NAME:-default} or "
                "${NAME:+text}, NAME made of letters, digits and '_'; write $${ for a literal ${)",
                p);
            return -1;
        }
    }
    *pp = p;
    return 0;
unterminated:
    cfg_fail(x->c, -EINVAL, x->line, x->s, x->key,
             "unterminated ${ (close it with }, or write $${ for a literal ${)");
    return -1;
}

/* Returns a new string with the value's ${...} replaced, or NULL with the error recorded. */
char *cfg_substitute(struct ctx *c, int line, const struct section *s, const char *key,
                     const char *value, size_t *len)
{
    struct subst x = {c, line, s, key};
    struct sbuf out = {0};
    const char *p = value;
    sb_add(&out, "", 0);
    if (expand(&x, &p, 0, true, &out)) {
        free(out.p);
        return NULL;
    }
    if (out.oom) {
        free(out.p);
        cfg_oom(c);
        return NULL;
    }
    if (strcmp(key, "header") == 0)
        cfg_guard_header(c, out.p); /* before anything can quote it */
    *len = out.len;
    return out.p;
}
