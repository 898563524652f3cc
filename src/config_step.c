/* config_step: one step of a scenario, compiled for that scenario: method, target (its path on
 * the base URL, or an absolute url on the same origin), headers and body, the templates in them
 * (against the scenario's variables and data columns), checks, extractions, tags, keep_body,
 * on_fail and transfer_encoding, and the request program a VU builds it with. Every error names
 * the key's line. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "config_int.h"
#include "data.h"
#include "extract.h"
#include "files.h"
#include "flow.h"
#include "request.h"
#include "template.h"
#include "value.h"

#define DEFAULT_KEEP_BODY (64u * 1024)
#define MAX_KEEP_BODY (16u * 1024 * 1024)

/* Compiles text as a template for this scenario; errors name the key's line. */
bool cfg_compile_tpl(struct build *b, const struct section *sec, const char *key, int line,
                        const char *text, size_t len, struct tpl **out)
{
    plan_scenario *sc = b->sc;
    const char *cols[DATA_MAX_COLS];
    size_t ncols = sc->data ? sc->data->ncols : 0;
    for (size_t i = 0; i < ncols; i++)
        cols[i] = sc->data->names[i];
    tpl_names names = {
        .vars = (const char *const *)sc->vars,
        .nvars = sc->nvars,
        .var_max = sc->var_max,
        .cols = cols,
        .ncols = ncols,
        .col_max = sc->data ? sc->data->col_max : NULL,
    };
    char err[256];
    int rc = tpl_compile(out, text, len, &names, err, sizeof err);
    if (rc == -ENOMEM)
        cfg_oom(b->c);
    else if (rc)
        cfg_fail(b->c, -EINVAL, line, sec, key, "%s", err);
    return rc == 0;
}

/* The request target of a step section: path (joined to the base URL's path), url (on the
 * scenario's origin), or the origin's own path. */
static char *step_target(struct build *b, const struct section *sec)
{
    const struct value *url = &sec->v[K_URL], *path = &sec->v[K_PATH];
    const struct url *o = b->u;
    if (url->s && path->s) {
        cfg_fail(b->c, -EINVAL, path->line, sec, "path",
                 "cannot be combined with url (url is absolute; path joins base_url)");
        return NULL;
    }
    if (url->s && sec != b->s) {
        struct url su;
        char msg[256];
        const char *e = cfg_url_parse(url->s, &su, msg, sizeof msg);
        if (!e && (su.tls != o->tls || su.port != o->port || su.hostlen != o->hostlen ||
                   strncasecmp(su.host, o->host, su.hostlen) != 0))
            e = "a step's url must be on its scenario's base_url (scheme, host and port): the "
                "steps of a scenario share each VU's connection";
        if (e) {
            cfg_fail(b->c, -EINVAL, url->line, sec, "url", "%s", e);
            return NULL;
        }
        return su.rest[0] == '/' ? strdup(su.rest) : cfg_concat("/", 1, su.rest);
    }
    if (o->absolute && !path->s) /* the scenario's own url */
        return o->rest[0] == '/' ? strdup(o->rest) : cfg_concat("/", 1, o->rest);
    if (path->s) {
        if (path->s[0] != '/') {
            cfg_fail(b->c, -EINVAL, path->line, sec, "path",
                     "'%.60s' must start with '/' (e.g. /api/v1/items)", path->s);
            return NULL;
        }
        /* {{ }} may hold spaces; the expanded target is checked when it is built */
        if (!strstr(path->s, "{{") && !cfg_target_ok(path->s)) {
            cfg_fail(b->c, -EINVAL, path->line, sec, "path",
                     strchr(path->s, '#')
                         ? "fragments (#...) are not sent to servers; remove it"
                         : "contains a space or control character (percent-encode it)");
            return NULL;
        }
        size_t plen = strlen(o->rest);
        while (plen && o->rest[plen - 1] == '/')
            plen--; /* base .../api/ + /v1 is /api/v1, not /api//v1 */
        return cfg_concat(o->rest, plen, path->s);
    }
    return strdup(o->rest[0] ? o->rest : "/");
}

/* body = text, @@text (a literal leading @), @FILE (read now, relative to the INI's folder),
 * or random SIZE (made once). */
static bool step_body(struct build *b, const struct section *sec, plan_step *st)
{
    struct ctx *c = b->c;
    const struct value *v = &sec->v[K_BODY];
    if (!v->s || v->len == 0)
        return true;
    uint64_t size;
    if (strncmp(v->s, "random ", 7) == 0 && value_size(cfg_trim(v->s + 7), &size) == 0) {
        if (size > c->max_body_file) {
            char max[32];
            files_size_text(c->max_body_file, max, sizeof max);
            cfg_fail(c, -EINVAL, v->line, sec, "body",
                     "'%.40s' is more than the %s max_body_file allows", v->s, max);
            return false;
        }
        if (!(st->body = malloc(size ? size : 1))) {
            cfg_oom(c);
            return false;
        }
        uint64_t r = 0x243F6A8885A308D3ULL; /* the same bytes every run */
        for (uint64_t i = 0; i < size; i++)
            st->body[i] = (char)(flow_random(&r) >> 56);
        st->body_len = size;
        return true;
    }
    if (v->s[0] != '@' || v->s[1] == '@') {
        size_t skip = v->s[0] == '@' ? 1 : 0;
        st->body_len = v->len - skip;
        if (!(st->body = malloc(st->body_len + 1))) {
            cfg_oom(c);
            return false;
        }
        memcpy(st->body, v->s + skip, st->body_len + 1);
        st->body_tpl = memmem(st->body, st->body_len, "{{", 2) != NULL;
        return true;
    }
    const char *name = v->s + 1;
    if (!*name) {
        cfg_fail(c, -EINVAL, v->line, sec, "body",
                 "'@' needs a file name (e.g. body = @payload.json)");
        return false;
    }
    char *path = cfg_relative_path(c, name);
    if (!path) {
        cfg_oom(c);
        return false;
    }
    char why[160];
    int rc = files_read(path, c->max_body_file, &st->body, &st->body_len, why, sizeof why);
    if (rc == -ENOMEM) {
        cfg_oom(c);
    } else if (rc == -EFBIG) {
        cfg_fail(c, -EINVAL, v->line, sec, "body",
                 "'%s' (%s) %s (raise max_body_file in [global], or use body = random SIZE)", name,
                 path, why);
    } else if (rc) {
        cfg_fail(c, -EINVAL, v->line, sec, "body", "cannot read '%s' (%s): %s", name, path, why);
    } else if (st->body_len == 0) {
        free(st->body);
        st->body = NULL;
    }
    free(path);
    return rc == 0;
}

/* Whether a step's header lines name Connection (the user's then wins over keepalive = off's). */
static bool has_connection_header(const struct section *sec)
{
    for (size_t i = 0; i < sec->nitems; i++) {
        const char *h = sec->items[i].v.s;
        if (sec->items[i].key == K_HEADER && !strncasecmp(h + strspn(h, " \t"), "connection:", 11))
            return true;
    }
    return false;
}

static bool step_headers(struct build *b, const struct section *sec, plan_step *st)
{
    struct ctx *c = b->c;
    size_t n = 0;
    for (size_t i = 0; i < sec->nitems; i++)
        n += sec->items[i].key == K_HEADER;
    /* keepalive = off: the server is told too, as k6's noConnectionReuse does (it then closes
     * its side as well); blast closes the connection after the response either way. */
    bool close = b->sc->keepalive_off && !has_connection_header(sec);
    n += close;
    if (n == 0)
        return true;
    if (!(st->headers = calloc(n, sizeof *st->headers))) {
        cfg_oom(c);
        return false;
    }
    for (size_t i = 0; i < sec->nitems; i++) {
        const struct item *it = &sec->items[i];
        if (it->key != K_HEADER)
            continue;
        const struct value *h = &it->v;
        /* A header that substitution left empty (header = ${TOKEN:+Authorization: ...}) is
         * left out, so an optional header needs no second scenario file. */
        if (h->s[strspn(h->s, " \t")] == '\0')
            continue;
        const char *colon = strchr(h->s, ':');
        const char *brace = strstr(h->s, "{{");
        if (brace && (!colon || brace < colon)) {
            cfg_fail(c, -EINVAL, h->line, sec, "header",
                     "a header name cannot be a template (only its value)");
            return false;
        }
        if (!colon) {
            cfg_fail(c, -EINVAL, h->line, sec, "header",
                     "'%.60s' has no ':' (expected Name: value)", h->s);
            return false;
        }
        bool ok = colon > h->s;
        for (const char *p = h->s; p < colon; p++)
            ok = ok && http1_is_tchar((unsigned char)*p);
        if (!ok) {
            cfg_fail(c, -EINVAL, h->line, sec, "header",
                     "invalid header name '%.*s' (expected Name: value; a name is letters, digits "
                     "and !#$%%&'*+-.^_`|~, no spaces)",
                     (int)(colon - h->s > 60 ? 60 : colon - h->s), h->s);
            return false;
        }
        if (strpbrk(colon, "\r\n")) {
            cfg_fail(c, -EINVAL, h->line, sec, "header",
                     "the value contains a line break (from an environment variable?)");
            return false;
        }
        /* The same rule as the request compiler: no control bytes but tab, so that every
         * header the file accepts can be sent. */
        for (const char *p = colon + 1; *p; p++) {
            unsigned char ch = (unsigned char)*p;
            if (!http1_is_text(ch)) {
                cfg_fail(c, -EINVAL, h->line, sec, "header",
                         "the value of '%.*s' contains control byte 0x%02x (allowed: visible "
                         "characters, spaces and tabs)",
                         (int)(colon - h->s > 60 ? 60 : colon - h->s), h->s, ch);
                return false;
            }
        }
        if (!(st->headers[st->nheaders] = strdup(h->s))) {
            cfg_oom(c);
            return false;
        }
        st->nheaders++;
    }
    if (close && !(st->headers[st->nheaders++] = strdup("Connection: close"))) {
        cfg_oom(c);
        return false;
    }
    return true;
}

static bool step_method(struct build *b, const struct section *sec, plan_step *st)
{
    const struct value *m = &sec->v[K_METHOD];
    st->method = strdup(m->s ? m->s : "GET");
    if (!st->method) {
        cfg_oom(b->c);
        return false;
    }
    bool ok = st->method[0] != '\0';
    for (char *p = st->method; *p; p++) {
        ok = ok && http1_is_tchar((unsigned char)*p);
        *p = (char)toupper((unsigned char)*p);
    }
    if (!ok) {
        cfg_fail(b->c, -EINVAL, m->line, sec, "method",
                 "'%.40s' is not a valid method (a token such as GET, POST, PUT, DELETE)", m->s);
        return false;
    }
    st->head = strcmp(st->method, "HEAD") == 0;
    return true;
}

/* check, extract and tag lines; keep_body and on_fail. */
static bool step_rules(struct build *b, const struct section *sec, plan_step *st)
{
    struct ctx *c = b->c;
    plan_scenario *sc = b->sc;
    size_t nc = 0, ne = 0, nt = 0;
    for (size_t i = 0; i < sec->nitems; i++) {
        nc += sec->items[i].key == K_CHECK;
        ne += sec->items[i].key == K_EXTRACT;
        nt += sec->items[i].key == K_TAG;
    }
    st->checks = calloc(nc ? nc : 1, sizeof *st->checks);
    st->extracts = calloc(ne ? ne : 1, sizeof *st->extracts);
    st->tags = calloc(nt + sc->ntags ? nt + sc->ntags : 1, sizeof *st->tags);
    if (!st->checks || !st->extracts || !st->tags) {
        cfg_oom(c);
        return false;
    }
    bool need_body = false;
    char err[256];
    st->check0 = (uint32_t)sc->nchecks;
    for (size_t i = 0; i < sec->nitems; i++) {
        const struct item *it = &sec->items[i];
        int rc = 0;
        if (it->key == K_CHECK) {
            rc = check_parse(&st->checks[st->nchecks], it->v.s, err, sizeof err);
            if (rc == 0) {
                check *ck = st->checks[st->nchecks++];
                st->status_checked |= check_is_status(ck);
                need_body |= check_needs_body(ck);
                st->need_head |= check_needs_head(ck);
            }
        } else if (it->key == K_EXTRACT) {
            const char *eq = strchr(it->v.s, '=');
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - it->v.s), it->v.s);
            plan_extract *x = &st->extracts[st->nextracts];
            x->var = (uint32_t)cfg_var_index(sc, cfg_trim(name));
            const char *src = eq + 1;
            while (*src == ' ' || *src == '\t')
                src++; /* columns in messages count from the source's first character */
            rc = extract_parse(&x->rule, src, err, sizeof err);
            if (rc == 0) {
                st->nextracts++;
                need_body |= extract_needs_body(x->rule);
                st->need_head |= extract_needs_head(x->rule);
            }
        } else if (it->key == K_TAG) {
            const char *colon = strchr(it->v.s, ':');
            char *key = colon ? strndup(it->v.s, (size_t)(colon - it->v.s)) : NULL;
            char *val = colon ? strdup(colon + 1) : NULL;
            if (colon && (!key || !val)) {
                free(key);
                free(val);
                cfg_oom(c);
                return false;
            }
            char *k = key ? cfg_trim(key) : NULL, *vv = val ? cfg_trim(val) : NULL;
            if (!colon || !cfg_is_ident(k, strlen(k)) || !*vv) {
                free(key);
                free(val);
                cfg_fail(c, -EINVAL, it->v.line, sec, "tag",
                         "'%.60s' is not key:value (key: letters, digits, '_'; e.g. tag = "
                         "flow:checkout)",
                         it->v.s);
                return false;
            }
            memmove(key, k, strlen(k) + 1);
            memmove(val, vv, strlen(vv) + 1);
            st->tags[st->ntags++] = (plan_tag){key, val};
            continue;
        } else {
            continue;
        }
        if (rc == -ENOMEM) {
            cfg_oom(c);
            return false;
        }
        if (rc) {
            cfg_fail(c, -EINVAL, it->v.line, sec, cfg_keys[it->key].name, "%s", err);
            return false;
        }
    }
    sc->nchecks += st->nchecks;
    /* the scenario's tags apply to every step */
    for (size_t i = 0; i < sc->ntags; i++) {
        char *k = strdup(sc->tags[i].key), *v = strdup(sc->tags[i].value);
        if (!k || !v) {
            free(k);
            free(v);
            cfg_oom(c);
            return false;
        }
        st->tags[st->ntags++] = (plan_tag){k, v};
    }
    if (need_body) {
        uint64_t keep = DEFAULT_KEEP_BODY;
        const struct section *from = sec->v[K_KEEP_BODY].s                      ? sec
                                     : b->s->v[K_KEEP_BODY].s                   ? b->s
                                     : c->global && c->global->v[K_KEEP_BODY].s ? c->global
                                                                                : NULL;
        if (from && !cfg_get_size(c, from, K_KEEP_BODY, 1, MAX_KEEP_BODY, &keep))
            return false;
        st->keep_body = (uint32_t)keep;
    }
    const struct value *of = &sec->v[K_ON_FAIL];
    if (of->s) {
        if (!strcmp(of->s, "abort"))
            st->abort_on_fail = true;
        else if (strcmp(of->s, "continue") != 0) {
            cfg_fail(c, -EINVAL, of->line, sec, "on_fail",
                     "unknown value '%.40s' (allowed: continue, abort)", of->s);
            return false;
        }
    }
    const struct value *te = &sec->v[K_TRANSFER_ENCODING];
    if (te->s) {
        if (!strcasecmp(te->s, "chunked"))
            st->chunked = true;
        else if (strcasecmp(te->s, "identity") != 0) {
            cfg_fail(c, -EINVAL, te->line, sec, "transfer_encoding",
                     "unknown value '%.40s' (allowed: chunked, identity)", te->s);
            return false;
        }
    }
    return true;
}

/* Compiles the step's templates and request program. */
static bool step_program(struct build *b, const struct section *sec, plan_step *st)
{
    plan_scenario *sc = b->sc;
    int tline = sec->v[K_PATH].s  ? sec->v[K_PATH].line
                : sec->v[K_URL].s ? sec->v[K_URL].line
                                  : sec->line;
    const char *tkey = sec->v[K_PATH].s ? "path" : sec->v[K_URL].s ? "url" : NULL;
    if (!cfg_compile_tpl(b, sec, tkey, tline, st->target, strlen(st->target), &st->t_target))
        return false;
    bool literal = tpl_is_literal(st->t_target);
    if (st->nheaders && !(st->t_headers = calloc(st->nheaders, sizeof *st->t_headers))) {
        cfg_oom(b->c);
        return false;
    }
    size_t hi = 0;
    for (size_t i = 0; i < sec->nitems && hi < st->nheaders; i++) {
        const struct item *it = &sec->items[i];
        if (it->key != K_HEADER || it->v.s[strspn(it->v.s, " \t")] == '\0')
            continue;
        const char *h = st->headers[hi];
        if (!cfg_compile_tpl(b, sec, "header", it->v.line, h, strlen(h), &st->t_headers[hi]))
            return false;
        literal &= tpl_is_literal(st->t_headers[hi]);
        hi++;
    }
    /* Headers blast added (keepalive = off's Connection: close) follow the user's. */
    for (; hi < st->nheaders; hi++)
        if (!cfg_compile_tpl(b, sec, "header", sec->line, st->headers[hi], strlen(st->headers[hi]),
                         &st->t_headers[hi]))
            return false;
    if (st->body_tpl) {
        if (!cfg_compile_tpl(b, sec, "body", sec->v[K_BODY].line, st->body, st->body_len, &st->t_body))
            return false;
        literal = false;
    }
    st->literal = literal && !st->chunked && !st->ws; /* a WebSocket key is per VU */
    if (st->literal && !sc->cookies)
        return true;
    req_spec spec = {
        .method = st->method,
        .target = st->t_target,
        .host = sc->host_header,
        .headers = (const tpl *const *)st->t_headers,
        .header_text = (const char *const *)st->headers,
        .nheaders = st->nheaders,
        .body = st->body_tpl ? NULL : st->body,
        .body_len = st->body_tpl ? 0 : st->body_len,
        .body_tpl = st->t_body,
        .chunked = st->chunked,
        .cookies = sc->cookies,
    };
    char err[256];
    int rc = req_prog_new(&st->prog, &spec, err, sizeof err);
    if (rc == -ENOMEM)
        cfg_oom(b->c);
    else if (rc)
        cfg_fail(b->c, -EINVAL, sec->line, sec, NULL, "%s", err);
    return rc == 0;
}

bool cfg_build_step(struct build *b, size_t i)
{
    plan_step *st = &b->sc->steps[i];
    const struct section *sec = b->secs[i];
    st->line = sec->line;
    if (!step_method(b, sec, st) || !(st->target = step_target(b, sec))) {
        if (!b->c->rc)
            cfg_oom(b->c);
        return false;
    }
    if (sec->kind == SEC_STEP) {
        st->name = strdup(sec->name);
    } else {
        /* a scenario's own request is named by method and path, as k6 names requests */
        size_t n = strlen(st->method) + 1 + strlen(st->target) + 1;
        if ((st->name = malloc(n)))
            snprintf(st->name, n, "%s %s", st->method, st->target);
    }
    if (!st->name) {
        cfg_oom(b->c);
        return false;
    }
    if (cfg_ws_wanted(sec) && !(st->ws = calloc(1, sizeof *st->ws))) {
        cfg_oom(b->c);
        return false;
    }
    return step_headers(b, sec, st) && (!st->ws || cfg_ws_headers(b, sec, st)) &&
           step_body(b, sec, st) && step_rules(b, sec, st) && step_program(b, sec, st) &&
           (!st->ws || cfg_build_ws(b, sec, st));
}
