/* config_guard: the guard rails of a scenario file. [global] secret (what must never be shown),
 * [global] allow_hosts (where blast may send at all) and the [preflight] request (what must
 * answer before the load starts).
 *
 * Secrets are collected before they can be quoted: an error stops the parse at its line, so the
 * names `secret` lists are found by a quick look over the whole file before inih reads it (a
 * secret line at the end still hides a value used at the top), and every ${NAME} value and
 * header line is registered as it is substituted, before anything checks it. The error message
 * is redacted once more when config_load returns. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "clock.h"
#include "config_int.h"
#include "guard.h"
#include "http1.h"
#include "preflight.h"
#include "redact.h"

#define keys cfg_keys

#define DEFAULT_PREFLIGHT_TIMEOUT_NS (5 * NS_PER_S)
#define MAX_PREFLIGHT_TIMEOUT_NS (10 * 60 * NS_PER_S)
#define SECRET_ALLOWED                                                                             \
    "write secret = NAME, NAME2: ${} variable names, or header names whose values are secret"

/* Headers whose values are secret whatever the file says. */
static const char *const sensitive[] = {"authorization", "proxy-authorization", "cookie",
                                        "set-cookie"};

struct cfg_guard {
    char **names; /* as [global] secret lists them */
    size_t n;
    int subst_line; /* the line of a secret value that holds ${ (not allowed), or 0 */
};

static void add_secret(struct ctx *c, const char *s, size_t n)
{
    if (redact_add(s, n) < 0)
        cfg_oom(c);
}

static bool listed(const struct cfg_guard *g, const char *name, size_t n, bool nocase)
{
    for (size_t i = 0; g && i < g->n; i++)
        if (strlen(g->names[i]) == n &&
            (nocase ? strncasecmp(g->names[i], name, n) : strncmp(g->names[i], name, n)) == 0)
            return true;
    return false;
}

/* The value of a header line h[0..n) is a secret when its name is sensitive or listed; so is
 * the credential after an Authorization scheme ("Bearer TOKEN": TOKEN also alone). A line
 * without a colon is split at its first blank, so that even a malformed line quoted in an error
 * does not show its value. */
static void header_secret(struct ctx *c, const char *h, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)h[i]))
        i++;
    size_t name = i;
    while (i < n && h[i] != ':' && !isspace((unsigned char)h[i]))
        i++;
    size_t nl = i - name;
    bool secret = listed(c->guard, h + name, nl, true);
    for (size_t k = 0; k < sizeof sensitive / sizeof sensitive[0]; k++)
        secret = secret || (strlen(sensitive[k]) == nl && !strncasecmp(sensitive[k], h + name, nl));
    if (!secret)
        return;
    while (i < n && isspace((unsigned char)h[i]))
        i++;
    if (i < n && h[i] == ':')
        i++;
    while (i < n && isspace((unsigned char)h[i]))
        i++;
    while (n > i && isspace((unsigned char)h[n - 1]))
        n--;
    add_secret(c, h + i, n - i);
    if (nl >= 13 && !strncasecmp(h + name + nl - 13, "authorization", 13)) {
        const char *sp = memchr(h + i, ' ', n - i);
        while (sp && sp < h + n && *sp == ' ')
            sp++;
        if (sp && sp < h + n)
            add_secret(c, sp, (size_t)(h + n - sp));
    }
}

void cfg_guard_header(struct ctx *c, const char *line)
{
    header_secret(c, line, strlen(line));
}

void cfg_guard_substituted(struct ctx *c, const char *name, size_t nlen, const char *val,
                           size_t vlen)
{
    if (vlen && listed(c->guard, name, nlen, false))
        add_secret(c, val, vlen);
}

/* [global] secret's names from the raw line (pass 0), literal header values (pass 1). */
static void prescan_line(struct ctx *c, int pass, bool global, int line, const char *k, size_t kl,
                         const char *v, size_t vl)
{
    struct cfg_guard *g = c->guard;
    bool subst = memmem(v, vl, "${", 2) != NULL;
    if (pass == 0 && global && kl == 6 && memcmp(k, "secret", 6) == 0) {
        if (subst)
            g->subst_line = line;
        for (const char *p = v, *end = v + vl; p < end;) {
            const char *comma = memchr(p, ',', (size_t)(end - p)), *e = comma ? comma : end;
            const char *a = p, *b = e;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            char **nn = a < b ? realloc(g->names, (g->n + 1) * sizeof *nn) : NULL;
            if (a < b && (!nn || !(nn[g->n] = strndup(a, (size_t)(b - a))))) {
                if (nn)
                    g->names = nn;
                cfg_oom(c);
                return;
            }
            if (nn) {
                g->names = nn;
                g->n++;
            }
            p = comma ? comma + 1 : end;
        }
    }
    /* with ${} the value is only known once substituted (cfg_guard_header then) */
    if (pass == 1 && !subst && kl == 6 && memcmp(k, "header", 6) == 0)
        header_secret(c, v, vl);
}

void cfg_guard_prescan(struct ctx *c)
{
    redact_clear(); /* the secrets are this file's */
    if (!(c->guard = calloc(1, sizeof *c->guard))) {
        cfg_oom(c);
        return;
    }
    for (int pass = 0; pass < 2 && !c->rc; pass++) {
        bool global = false;
        int line = 0;
        const char *p = c->buf, *end = c->buf + c->size;
        if (c->size >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
            p += 3;
        while (p < end && !c->rc) {
            const char *nl = memchr(p, '\n', (size_t)(end - p)), *a = p, *b = nl ? nl : end;
            p = nl ? nl + 1 : end;
            line++;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            if (a == b || *a == ';' || *a == '#')
                continue;
            if (*a == '[') {
                const char *e = memchr(a, ']', (size_t)(b - a));
                const char *s = a + 1;
                while (e && s < e && isspace((unsigned char)*s))
                    s++;
                while (e && e > s && isspace((unsigned char)e[-1]))
                    e--;
                global = e && e - s == 6 && !memcmp(s, "global", 6);
                continue;
            }
            /* inih ends a key at the first '=' or ':' */
            const char *eq = a;
            while (eq < b && *eq != '=' && *eq != ':')
                eq++;
            if (eq == b)
                continue;
            const char *ke = eq, *v = eq + 1;
            while (ke > a && isspace((unsigned char)ke[-1]))
                ke--;
            while (v < b && isspace((unsigned char)*v))
                v++;
            prescan_line(c, pass, global, line, a, (size_t)(ke - a), v, (size_t)(b - v));
        }
    }
}

void cfg_guard_finish(struct ctx *c)
{
    if (c->guard) {
        for (size_t i = 0; i < c->guard->n; i++)
            free(c->guard->names[i]);
        free(c->guard->names);
        free(c->guard);
        c->guard = NULL;
    }
    if (c->rc && c->err && c->errlen)
        redact_message(c->err, c->errlen);
}

/* [global] secret: names of variables or headers, nothing else. */
static bool check_secret(struct ctx *c)
{
    const struct section *g = c->global;
    const struct value *v = g ? &g->v[K_SECRET] : NULL;
    if (!v || !v->s)
        return true;
    if (c->guard && c->guard->subst_line == v->line) {
        cfg_fail(c, -EINVAL, v->line, g, "secret",
                 "names are written as they are, without ${} (" SECRET_ALLOWED ")");
        return false;
    }
    for (const char *p = v->s;;) {
        size_t n = strcspn(p, ","), a = 0;
        while (a < n && isspace((unsigned char)p[a]))
            a++;
        while (n > a && isspace((unsigned char)p[n - 1]))
            n--;
        if (a == n) {
            cfg_fail(c, -EINVAL, v->line, g, "secret", "empty name (" SECRET_ALLOWED ")");
            return false;
        }
        for (size_t i = a; i < n; i++)
            if (!http1_is_tchar((unsigned char)p[i])) {
                cfg_fail(c, -EINVAL, v->line, g, "secret",
                         "'%.*s' is not a name (" SECRET_ALLOWED "; letters, digits, '_', '-')",
                         (int)(n - a), p + a);
                return false;
            }
        p += strcspn(p, ",");
        if (!*p)
            return true;
        p++;
    }
}

/* Where a host came from, for the message that refuses it. */
struct origin {
    const struct section *s;
    int line;
    const char *key;
};

static bool allowed(struct ctx *c, const guard_rules *r, const struct value *rules,
                    const char *host, const struct origin *o, const char *user)
{
    if (guard_host_allowed(r, host))
        return true;
    cfg_fail(c, -EINVAL, o->line, o->s, o->key,
             "host '%s'%s%s is not allowed by allow_hosts (line %d: %.200s)", host,
             user ? " of " : "", user ? user : "", rules->line, rules->s);
    return false;
}

/* allow_hosts: every scenario's host and the preflight's must match a rule. */
static bool check_hosts(struct ctx *c, const plan *p, const struct origin *pre)
{
    const struct section *g = c->global;
    const struct value *v = g ? &g->v[K_ALLOW_HOSTS] : NULL;
    if (!v || !v->s)
        return true;
    guard_rules r;
    char msg[256];
    int rc = guard_rules_parse(&r, v->s, msg, sizeof msg);
    if (rc == -ENOMEM)
        cfg_oom(c);
    else if (rc)
        cfg_fail(c, -EINVAL, v->line, g, "allow_hosts", "%s", msg);
    bool ok = rc == 0;
    for (size_t i = 0; ok && i < p->nscenarios; i++) {
        const plan_scenario *sc = &p->scenarios[i];
        struct origin o = {sc->url_global ? g : c->scen[i], sc->url_line, sc->url_key};
        char user[160];
        snprintf(user, sizeof user, "scenario %s", sc->name);
        ok = allowed(c, &r, v, sc->host, &o, sc->url_global ? user : NULL);
    }
    if (ok && p->preflight)
        ok = allowed(c, &r, v, p->preflight->host, pre, pre->s == g ? "[preflight]" : NULL);
    guard_rules_free(&r);
    return ok;
}

static bool preflight_headers(struct ctx *c, const struct section *s, plan_preflight *pf)
{
    for (size_t i = 0; i < s->nitems; i++) {
        const struct value *h = &s->items[i].v;
        if (s->items[i].key != K_HEADER || h->s[strspn(h->s, " \t")] == '\0')
            continue; /* left empty by ${X:+...}: not sent, as in a step */
        const char *colon = strchr(h->s, ':'), *why = NULL;
        bool name_ok = colon && colon > h->s;
        for (const char *q = h->s; name_ok && q < colon; q++)
            name_ok = http1_is_tchar((unsigned char)*q);
        for (const char *q = colon ? colon + 1 : ""; !why && *q; q++)
            if (!http1_is_text((unsigned char)*q))
                why = "the value contains a control byte (allowed: visible characters, spaces "
                      "and tabs)";
        if (!name_ok)
            why = "expected Name: value (a name is letters, digits and !#$%&'*+-.^_`|~)";
        else if (strstr(h->s, "{{"))
            why = "templates ({{ }}) are not expanded in [preflight] (write the value; ${} works)";
        if (why) {
            cfg_fail(c, -EINVAL, h->line, s, "header", "%s", why);
            return false;
        }
        char **n = realloc(pf->headers, (pf->nheaders + 1) * sizeof *n);
        if (!n || !(n[pf->nheaders] = strdup(h->s))) {
            if (n)
                pf->headers = n;
            cfg_oom(c);
            return false;
        }
        pf->headers = n;
        pf->nheaders++;
    }
    return true;
}

/* The preflight's URL: its own url, or path on [global] base_url. Fills the origin fields of pf
 * and where the host came from. */
static bool preflight_target(struct ctx *c, const struct section *s, plan_preflight *pf,
                             struct origin *o)
{
    const struct section *g = c->global;
    const struct value *url = &s->v[K_URL], *path = &s->v[K_PATH];
    struct url u;
    if (url->s && path->s) {
        cfg_fail(c, -EINVAL, path->line, s, "path",
                 "cannot be combined with url (url is absolute; path joins [global] base_url)");
        return false;
    }
    if (!url->s && !path->s) {
        cfg_fail(c, -EINVAL, s->line, s, NULL,
                 "url or path is required (url: an absolute URL; path: joined to [global] "
                 "base_url)");
        return false;
    }
    if (path->s && !(g && g->v[K_BASE_URL].s)) {
        cfg_fail(c, -EINVAL, path->line, s, "path",
                 "needs base_url in [global] to join (or give an absolute url instead)");
        return false;
    }
    if (path->s && (path->s[0] != '/' || !cfg_target_ok(path->s) || strstr(path->s, "{{"))) {
        cfg_fail(c, -EINVAL, path->line, s, "path",
                 "'%.60s' is not a path (it starts with '/', holds no space, control character, "
                 "'#' or {{ }})",
                 path->s);
        return false;
    }
    if (url->s ? !cfg_get_url(c, s, K_URL, false, &u) : !cfg_get_url(c, g, K_BASE_URL, true, &u))
        return false;
    *o = url->s ? (struct origin){s, url->line, "url"}
                : (struct origin){g, g->v[K_BASE_URL].line, "base_url"};
    size_t plen = strlen(u.rest);
    if (path->s) {
        while (plen && u.rest[plen - 1] == '/')
            plen--; /* as a step's path: base .../api/ + /health is /api/health */
        pf->target = cfg_concat(u.rest, plen, path->s);
    } else {
        pf->target = u.rest[0] == '/' ? strdup(u.rest) : cfg_concat("/", 1, u.rest);
    }
    pf->tls = u.tls;
    pf->port = u.port;
    pf->host = strndup(u.host, u.hostlen);
    size_t hh = u.hostlen + 2 + 7;
    pf->host_header = malloc(hh);
    if (!pf->target || !pf->host || !pf->host_header) {
        cfg_oom(c);
        return false;
    }
    if (u.port == (u.tls ? 443 : 80))
        snprintf(pf->host_header, hh, u.ipv6 ? "[%s]" : "%s", pf->host);
    else
        snprintf(pf->host_header, hh, u.ipv6 ? "[%s]:%u" : "%s:%u", pf->host, (unsigned)u.port);
    size_t ul = strlen(pf->host_header) + strlen(pf->target) + 9;
    if (!(pf->url = malloc(ul))) {
        cfg_oom(c);
        return false;
    }
    snprintf(pf->url, ul, "%s://%s%s", u.tls ? "https" : "http", pf->host_header, pf->target);
    return true;
}

static bool build_preflight(struct ctx *c, plan *p, struct origin *o)
{
    const struct section *s = c->preflight;
    if (!s)
        return true;
    plan_preflight *pf = calloc(1, sizeof *pf);
    if (!(p->preflight = pf)) {
        cfg_oom(c);
        return false;
    }
    const struct value *m = &s->v[K_METHOD], *e = &s->v[K_EXPECT_STATUS];
    if (!(pf->method = strdup(m->s ? m->s : "GET"))) {
        cfg_oom(c);
        return false;
    }
    bool ok = pf->method[0] != '\0';
    for (char *q = pf->method; *q; q++) {
        ok = ok && http1_is_tchar((unsigned char)*q);
        *q = (char)toupper((unsigned char)*q);
    }
    if (!ok) {
        cfg_fail(c, -EINVAL, m->line, s, "method",
                 "'%.40s' is not a valid method (a token such as GET, HEAD, POST)", m->s);
        return false;
    }
    if (!preflight_target(c, s, pf, o) || !preflight_headers(c, s, pf))
        return false;
    char msg[256];
    const char *set = e->s ? e->s : "200";
    if (status_set_parse(&pf->expect, set, msg, sizeof msg)) {
        cfg_fail(c, -EINVAL, e->line, s, "expect_status", "%s", msg);
        return false;
    }
    if (!(pf->expect_text = strdup(set))) {
        cfg_oom(c);
        return false;
    }
    pf->timeout_ns = DEFAULT_PREFLIGHT_TIMEOUT_NS;
    if (s->v[K_TIMEOUT].s) {
        if (!cfg_get_duration(c, s, K_TIMEOUT, false, &pf->timeout_ns))
            return false;
        if (pf->timeout_ns > MAX_PREFLIGHT_TIMEOUT_NS) {
            cfg_fail(c, -EINVAL, s->v[K_TIMEOUT].line, s, "timeout",
                     "'%.40s' is longer than 10m (a health check that slow is no check)",
                     s->v[K_TIMEOUT].s);
            return false;
        }
    }
    if (pf->tls) {
        /* [global]'s TLS keys, read the way a scenario reads them (none may be set here) */
        plan_scenario tmp = {0};
        ok = cfg_get_tls(c, s, &tmp);
        pf->tls_opts = tmp.tls_opts;
        if (!ok)
            return false;
    }
    return true;
}

plan *cfg_guard_build(struct ctx *c, plan *p)
{
    struct origin pre = {0};
    if (p && (!check_secret(c) || !build_preflight(c, p, &pre) || !check_hosts(c, p, &pre))) {
        plan_free(p);
        return NULL;
    }
    return p;
}
