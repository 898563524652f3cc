/* config_flow: a scenario's flow, steps, variables and data file, from the sections that
 * config.c read (see config_int.h).
 *
 * A scenario is either one request of its own (request keys in [scenario NAME]) or runs
 * `flow = NAME`, a [step NAME] or a [flow NAME] whose lines (step, flow, pick, repeat, sleep)
 * are compiled in order into one flat program (flow.h); `setup = NAME` likewise, once per VU.
 * Every step used is compiled for this scenario: its templates against the scenario's variables
 * (the names its steps extract into) and data columns, its checks and extractions, its request
 * program. Sub-flows are inlined, so the program has no calls; a flow that contains itself is an
 * error at the line that closes the loop. */
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
#define DEFAULT_MAX_VAR 4096u
#define MAX_VAR (1u << 20)
#define MAX_WEIGHT 1000000u
#define MAX_REPEAT 1000000u
#define MAX_NESTING 32 /* sub-flows within sub-flows */
#define MAX_STEPS 4096 /* distinct steps in one scenario */
#define MAX_THINK_NS (3600ULL * 1000000000ULL)

/* Built-in template names: no extracted variable may take them. */
static const char *const builtin[] = {"vu", "iter", "seq", "data", "repeat"};

struct build {
    struct ctx *c;
    const struct section *s; /* the scenario */
    plan_scenario *sc;
    const struct url *u;
    const struct section **secs; /* per step: its section (the scenario for its own request) */
    size_t cap;
    const struct section *stack[MAX_NESTING];
    size_t depth;
    unsigned repeats; /* repeats around the code being compiled */
};

static bool is_ident(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Whether section s sets a key that describes a request. */
static int request_key(const struct section *s)
{
    int found = -1, line = 0;
    for (int k = 0; k < K_COUNT; k++)
        if ((cfg_keys[k].flags & REQUEST) && s->v[k].s && (found < 0 || s->v[k].line < line))
            found = k, line = s->v[k].line;
    for (size_t i = 0; i < s->nitems; i++)
        if ((cfg_keys[s->items[i].key].flags & REQUEST) && (found < 0 || s->items[i].v.line < line))
            found = s->items[i].key, line = s->items[i].v.line;
    return found;
}

/* The index of step section sec in the scenario, adding it on first use. */
static int step_of(struct build *b, const struct section *sec, int line, const char *key)
{
    plan_scenario *sc = b->sc;
    for (size_t i = 0; i < sc->nsteps; i++)
        if (b->secs[i] == sec)
            return (int)i;
    if (sc->nsteps == MAX_STEPS) {
        cfg_fail(b->c, -EINVAL, line, b->s, key, "more than %d steps in one scenario", MAX_STEPS);
        return -1;
    }
    if (sc->nsteps == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        plan_step *st = realloc(sc->steps, cap * sizeof *st);
        const struct section **secs = st ? realloc(b->secs, cap * sizeof *secs) : NULL;
        if (st)
            sc->steps = st;
        if (!st || !secs) {
            cfg_oom(b->c);
            return -1;
        }
        b->secs = secs;
        b->cap = cap;
    }
    memset(&sc->steps[sc->nsteps], 0, sizeof sc->steps[0]);
    b->secs[sc->nsteps] = sec;
    return (int)sc->nsteps++;
}

/* "500ms" or "300ms..800ms" (uniform). */
static bool parse_think(struct ctx *c, const struct section *s, const char *key,
                        const struct value *v, uint64_t *lo, uint64_t *hi)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v->s);
    char *dots = strstr(buf, "..");
    if (dots)
        *dots = '\0';
    const char *a = trim(buf), *bs = dots ? trim(dots + 2) : a;
    if (strlen(v->s) >= sizeof buf || value_duration(a, lo) || value_duration(bs, hi)) {
        cfg_fail(c, -EINVAL, v->line, s, key,
                 "'%.40s' is not a think time (a duration such as 500ms, or a range such as "
                 "300ms..800ms)",
                 v->s);
        return false;
    }
    if (*lo > *hi || *hi > MAX_THINK_NS) {
        cfg_fail(c, -EINVAL, v->line, s, key,
                 *lo > *hi ? "'%.40s': the range ends before it starts"
                           : "'%.40s' is longer than 1h",
                 v->s);
        return false;
    }
    return true;
}

static bool compile_flow(struct build *b, flow_prog *prog, const struct section *flow);

/* Emits a reference to the step or flow called name (a line of section from). */
static bool emit_ref(struct build *b, flow_prog *prog, const char *name, const struct section *from,
                     const char *key, int line)
{
    struct section *sec = cfg_named(b->c, name);
    if (!sec) {
        const char *names[64];
        size_t n = 0;
        for (size_t i = 0; i < b->c->nnamed && n < 64; i++)
            names[n++] = b->c->named[i]->name;
        const char *near = value_suggest(name, names, n);
        if (near)
            cfg_fail(b->c, -EINVAL, line, from, key,
                     "no [step %s] or [flow %s] in this file; did you mean %s?", name, name, near);
        else
            cfg_fail(b->c, -EINVAL, line, from, key, "no [step %s] or [flow %s] in this file", name,
                     name);
        return false;
    }
    if (sec->kind == SEC_FLOW)
        return compile_flow(b, prog, sec);
    int idx = step_of(b, sec, line, key);
    if (idx < 0)
        return false;
    flow_emit(prog, (plan_op){.kind = PLAN_OP_STEP, .a = (uint32_t)idx});
    const struct value *think = &sec->v[K_SLEEP];
    if (think->s) {
        uint64_t lo, hi;
        if (!parse_think(b->c, sec, "sleep", think, &lo, &hi))
            return false;
        flow_emit(prog, (plan_op){.kind = PLAN_OP_SLEEP, .lo = lo, .hi = hi});
    }
    return !prog->err;
}

/* pick = 60 a, 30 b, 10 c */
static bool compile_pick(struct build *b, flow_prog *prog, const struct section *flow,
                         const struct value *v)
{
    char *copy = strdup(v->s);
    if (!copy) {
        cfg_oom(b->c);
        return false;
    }
    char *names[64];
    uint64_t weights[64];
    size_t n = 0;
    bool ok = true;
    char *save = NULL;
    for (char *part = strtok_r(copy, ",", &save); part && ok; part = strtok_r(NULL, ",", &save)) {
        part = trim(part);
        char *sp = part + strcspn(part, " \t");
        char *name = *sp ? trim(sp) : sp;
        *sp = '\0';
        uint64_t w = 0;
        const char *d = part;
        while (*d >= '0' && *d <= '9' && w <= MAX_WEIGHT)
            w = w * 10 + (uint64_t)(*d++ - '0');
        if (d == part || *d || w == 0 || w > MAX_WEIGHT || !*name || n == 64) {
            cfg_fail(b->c, -EINVAL, v->line, flow, "pick",
                     n == 64 ? "more than 64 choices"
                             : "'%.60s' is not a weighted choice (write WEIGHT NAME, ..., e.g. "
                               "60 search, 30 list, 10 detail; weights are whole numbers from 1 "
                               "to 1000000)",
                     v->s);
            ok = false;
            break;
        }
        names[n] = name;
        weights[n++] = w;
    }
    if (ok && n == 0) {
        cfg_fail(b->c, -EINVAL, v->line, flow, "pick",
                 "is empty (write WEIGHT NAME, ..., e.g. 60 search, 30 list, 10 detail)");
        ok = false;
    }
    if (ok) {
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += weights[i];
        flow_emit(prog, (plan_op){.kind = PLAN_OP_PICK, .a = (uint32_t)n, .lo = total});
        size_t first = prog->n;
        for (size_t i = 0; i < n; i++)
            flow_emit(prog, (plan_op){.kind = PLAN_OP_BRANCH});
        size_t jumps[64];
        uint64_t cum = 0;
        for (size_t i = 0; i < n && ok; i++) {
            if (prog->err)
                break;
            cum += weights[i];
            prog->ops[first + i].lo = cum;
            prog->ops[first + i].b = (uint32_t)prog->n;
            ok = emit_ref(b, prog, names[i], flow, "pick", v->line);
            jumps[i] = flow_emit(prog, (plan_op){.kind = PLAN_OP_JUMP});
        }
        for (size_t i = 0; ok && !prog->err && i < n; i++)
            prog->ops[jumps[i]].b = (uint32_t)prog->n;
    }
    free(copy);
    if (ok && prog->err)
        cfg_oom(b->c);
    return ok && !prog->err;
}

/* repeat = 10 x name */
static bool compile_repeat(struct build *b, flow_prog *prog, const struct section *flow,
                           const struct value *v)
{
    const char *p = v->s;
    uint64_t count = 0;
    while (*p >= '0' && *p <= '9' && count <= MAX_REPEAT)
        count = count * 10 + (uint64_t)(*p++ - '0');
    bool digits = p != v->s;
    while (*p == ' ' || *p == '\t')
        p++;
    bool x = *p == 'x' || *p == 'X' || *p == '*';
    if (x)
        p++;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!digits || !x || !*p || count == 0 || count > MAX_REPEAT) {
        cfg_fail(b->c, -EINVAL, v->line, flow, "repeat",
                 "'%.60s' is not a repeat (write COUNT x NAME, e.g. 10 x upload_chunk; COUNT from "
                 "1 to 1000000)",
                 v->s);
        return false;
    }
    if (b->repeats + 1 > FLOW_MAX_DEPTH) {
        cfg_fail(b->c, -EINVAL, v->line, flow, "repeat", "repeats nested more than %d deep",
                 FLOW_MAX_DEPTH);
        return false;
    }
    size_t at = flow_emit(prog, (plan_op){.kind = PLAN_OP_REPEAT, .a = (uint32_t)count});
    size_t body = prog->n;
    b->repeats++;
    bool ok = emit_ref(b, prog, p, flow, "repeat", v->line);
    b->repeats--;
    flow_emit(prog, (plan_op){.kind = PLAN_OP_LOOP, .b = (uint32_t)body});
    if (prog->err) {
        cfg_oom(b->c);
        return false;
    }
    if (ok)
        prog->ops[at].b = (uint32_t)prog->n;
    return ok;
}

static bool compile_flow(struct build *b, flow_prog *prog, const struct section *flow)
{
    for (size_t i = 0; i < b->depth; i++)
        if (b->stack[i] == flow) {
            cfg_fail(b->c, -EINVAL, flow->line, flow, NULL,
                     "contains itself (through %s): a flow may not loop back into itself; use "
                     "repeat",
                     b->depth ? b->stack[b->depth - 1]->name : flow->name);
            return false;
        }
    if (b->depth == MAX_NESTING) {
        cfg_fail(b->c, -EINVAL, flow->line, flow, NULL, "flows nested more than %d deep",
                 MAX_NESTING);
        return false;
    }
    if (flow->nitems == 0) {
        cfg_fail(b->c, -EINVAL, flow->line, flow, NULL,
                 "is empty (give it step, flow, pick, repeat or sleep lines)");
        return false;
    }
    b->stack[b->depth++] = flow;
    bool ok = true;
    for (size_t i = 0; i < flow->nitems && ok; i++) {
        const struct item *it = &flow->items[i];
        switch (it->key) {
        case K_STEP:
        case K_FLOW: {
            struct section *sec = cfg_named(b->c, it->v.s);
            if (sec && sec->kind != (it->key == K_STEP ? SEC_STEP : SEC_FLOW)) {
                cfg_fail(b->c, -EINVAL, it->v.line, flow, cfg_keys[it->key].name,
                         "'%s' is a [%s], not a [%s] (write %s = %s)", it->v.s,
                         sec->kind == SEC_STEP ? "step" : "flow",
                         it->key == K_STEP ? "step" : "flow",
                         sec->kind == SEC_STEP ? "step" : "flow", it->v.s);
                ok = false;
                break;
            }
            ok = emit_ref(b, prog, it->v.s, flow, cfg_keys[it->key].name, it->v.line);
            break;
        }
        case K_PICK:
            ok = compile_pick(b, prog, flow, &it->v);
            break;
        case K_REPEAT:
            ok = compile_repeat(b, prog, flow, &it->v);
            break;
        case K_SLEEP: {
            uint64_t lo, hi;
            ok = parse_think(b->c, flow, "sleep", &it->v, &lo, &hi);
            if (ok)
                flow_emit(prog, (plan_op){.kind = PLAN_OP_SLEEP, .lo = lo, .hi = hi});
            break;
        }
        default:
            ok = false;
        }
    }
    b->depth--;
    if (ok && prog->err) {
        cfg_oom(b->c);
        ok = false;
    }
    return ok;
}

/* The program of `key = NAME` in the scenario (flow or setup), or of its own request. */
static bool compile_root(struct build *b, int key, plan_op **ops, size_t *nops)
{
    flow_prog prog = {0};
    const struct value *v = &b->s->v[key];
    bool ok;
    if (v->s) {
        ok = emit_ref(b, &prog, v->s, b->s, cfg_keys[key].name, v->line);
    } else {
        /* the scenario is one request: itself */
        int idx = step_of(b, b->s, b->s->line, NULL);
        ok = idx >= 0;
        if (ok)
            flow_emit(&prog, (plan_op){.kind = PLAN_OP_STEP, .a = (uint32_t)idx});
        const struct value *think = &b->s->v[K_SLEEP];
        uint64_t lo, hi;
        if (ok && think->s && (ok = parse_think(b->c, b->s, "sleep", think, &lo, &hi)))
            flow_emit(&prog, (plan_op){.kind = PLAN_OP_SLEEP, .lo = lo, .hi = hi});
    }
    flow_emit(&prog, (plan_op){.kind = PLAN_OP_END});
    if (ok && prog.err) {
        cfg_oom(b->c);
        ok = false;
    }
    if (!ok) {
        free(prog.ops);
        return false;
    }
    *ops = prog.ops;
    *nops = prog.n;
    return true;
}

/* ---- variables and data ---- */

static int var_index(const plan_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->nvars; i++)
        if (strcmp(sc->vars[i], name) == 0)
            return (int)i;
    return -1;
}

static bool add_var(struct build *b, const char *name, size_t n, const struct section *s, int line)
{
    plan_scenario *sc = b->sc;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strlen(builtin[i]) == n && strncmp(builtin[i], name, n) == 0 && sc->nvars) {
            cfg_fail(b->c, -EINVAL, line, s, "extract",
                     "'%.*s' is a built-in name (vu, iter, seq, data, repeat): choose another",
                     (int)n, name);
            return false;
        }
    for (size_t i = 0; i < sc->nvars; i++)
        if (strlen(sc->vars[i]) == n && strncmp(sc->vars[i], name, n) == 0)
            return true;
    char **v = realloc(sc->vars, (sc->nvars + 1) * sizeof *v);
    uint32_t *m = v ? realloc(sc->var_max, (sc->nvars + 1) * sizeof *m) : NULL;
    if (v)
        sc->vars = v;
    if (m)
        sc->var_max = m;
    if (!v || !m || !(sc->vars[sc->nvars] = strndup(name, n))) {
        cfg_oom(b->c);
        return false;
    }
    sc->var_max[sc->nvars++] = sc->max_var;
    return true;
}

/* Every name the scenario's steps extract into; `repeat` (the pass of the innermost repeat)
 * is variable 0. */
static bool collect_vars(struct build *b)
{
    if (!add_var(b, "repeat", 6, b->s, b->s->line))
        return false;
    for (size_t i = 0; i < b->sc->nsteps; i++) {
        const struct section *sec = b->secs[i];
        for (size_t j = 0; j < sec->nitems; j++) {
            const struct item *it = &sec->items[j];
            if (it->key != K_EXTRACT)
                continue;
            const char *eq = strchr(it->v.s, '=');
            const char *n0 = it->v.s;
            while (*n0 == ' ' || *n0 == '\t')
                n0++;
            const char *n1 = eq ? eq : n0 + strlen(n0);
            while (n1 > n0 && (n1[-1] == ' ' || n1[-1] == '\t'))
                n1--;
            if (!eq || !is_ident(n0, (size_t)(n1 - n0))) {
                cfg_fail(b->c, -EINVAL, it->v.line, sec, "extract",
                         "'%.60s' is not NAME = SOURCE (NAME: letters, digits, '_'; SOURCE: json "
                         "PATH, header NAME or regex PATTERN)",
                         it->v.s);
                return false;
            }
            if (!add_var(b, n0, (size_t)(n1 - n0), sec, it->v.line))
                return false;
        }
    }
    return true;
}

static bool load_data(struct build *b)
{
    const struct value *v = &b->s->v[K_DATA];
    plan_scenario *sc = b->sc;
    const struct value *o = &b->s->v[K_DATA_ORDER];
    if (o->s && !v->s) {
        cfg_fail(b->c, -EINVAL, o->line, b->s, "data_order", "needs data = FILE");
        return false;
    }
    sc->data_order = PLAN_DATA_SEQUENTIAL;
    if (o->s) {
        if (!strcmp(o->s, "sequential"))
            sc->data_order = PLAN_DATA_SEQUENTIAL;
        else if (!strcmp(o->s, "random"))
            sc->data_order = PLAN_DATA_RANDOM;
        else if (!strcmp(o->s, "per_vu") || !strcmp(o->s, "per-vu"))
            sc->data_order = PLAN_DATA_PER_VU;
        else {
            cfg_fail(b->c, -EINVAL, o->line, b->s, "data_order",
                     "unknown order '%.40s' (allowed: sequential, random, per_vu)", o->s);
            return false;
        }
    }
    if (!v->s)
        return true;
    char *path = cfg_relative_path(b->c, v->s);
    if (!path) {
        cfg_oom(b->c);
        return false;
    }
    char err[256];
    int rc = data_load(&sc->data, path, b->c->max_data_file, err, sizeof err);
    if (rc == -ENOMEM)
        cfg_oom(b->c);
    else if (rc)
        cfg_fail(b->c, -EINVAL, v->line, b->s, "data", "%s:%s%s", path,
                 isdigit((unsigned char)err[0]) ? "" : " ", err);
    free(path);
    return rc == 0;
}

/* ---- steps ---- */

/* Compiles text as a template for this scenario; errors name the key's line. */
static bool compile_tpl(struct build *b, const struct section *sec, const char *key, int line,
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
    if (strncmp(v->s, "random ", 7) == 0 && value_size(trim(v->s + 7), &size) == 0) {
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

static bool step_headers(struct build *b, const struct section *sec, plan_step *st)
{
    struct ctx *c = b->c;
    size_t n = 0;
    for (size_t i = 0; i < sec->nitems; i++)
        n += sec->items[i].key == K_HEADER;
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
            x->var = (uint32_t)var_index(sc, trim(name));
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
            char *k = key ? trim(key) : NULL, *vv = val ? trim(val) : NULL;
            if (!colon || !is_ident(k, strlen(k)) || !*vv) {
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
    if (!compile_tpl(b, sec, tkey, tline, st->target, strlen(st->target), &st->t_target))
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
        if (!compile_tpl(b, sec, "header", it->v.line, h, strlen(h), &st->t_headers[hi]))
            return false;
        literal &= tpl_is_literal(st->t_headers[hi]);
        hi++;
    }
    if (st->body_tpl) {
        if (!compile_tpl(b, sec, "body", sec->v[K_BODY].line, st->body, st->body_len, &st->t_body))
            return false;
        literal = false;
    }
    st->literal = literal && !st->chunked;
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

static bool build_step(struct build *b, size_t i)
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
    return step_headers(b, sec, st) && step_body(b, sec, st) && step_rules(b, sec, st) &&
           step_program(b, sec, st);
}

static bool scenario_tags(struct build *b)
{
    const struct section *s = b->s;
    plan_scenario *sc = b->sc;
    size_t n = 0;
    for (size_t i = 0; i < s->nitems; i++)
        n += s->items[i].key == K_TAG;
    /* with a flow, the scenario's tag lines are its own; without one they belong to its request
     * (which gets them through step_rules) */
    if (n == 0 || !s->v[K_FLOW].s)
        return true;
    if (!(sc->tags = calloc(n, sizeof *sc->tags))) {
        cfg_oom(b->c);
        return false;
    }
    for (size_t i = 0; i < s->nitems; i++) {
        const struct item *it = &s->items[i];
        if (it->key != K_TAG)
            continue;
        const char *colon = strchr(it->v.s, ':');
        if (!colon || colon == it->v.s || !colon[1]) {
            cfg_fail(b->c, -EINVAL, it->v.line, s, "tag",
                     "'%.60s' is not key:value (e.g. tag = team:payments)", it->v.s);
            return false;
        }
        char *k = strndup(it->v.s, (size_t)(colon - it->v.s)), *v = strdup(colon + 1);
        if (!k || !v) {
            free(k);
            free(v);
            cfg_oom(b->c);
            return false;
        }
        sc->tags[sc->ntags++] = (plan_tag){k, v};
    }
    return true;
}

bool cfg_build_flow(struct ctx *c, const struct section *s, plan_scenario *sc, const struct url *u)
{
    struct build b = {.c = c, .s = s, .sc = sc, .u = u};
    int rk = request_key(s);
    if (s->v[K_FLOW].s && rk >= 0) {
        int line = s->v[rk].s ? s->v[rk].line : 0;
        for (size_t i = 0; !line && i < s->nitems; i++)
            if (s->items[i].key == rk)
                line = s->items[i].v.line;
        cfg_fail(c, -EINVAL, line, s, cfg_keys[rk].name,
                 "a scenario with flow = %s has no request of its own (put this line in a [step])",
                 s->v[K_FLOW].s);
        return false;
    }
    if (s->v[K_FLOW].s && u->absolute) {
        cfg_fail(c, -EINVAL, s->v[K_URL].line, s, "url",
                 "a scenario with a flow takes base_url (its steps give paths)");
        return false;
    }
    bool cookies = true;
    if (!cfg_get_bool(c, s, K_COOKIES, true, &cookies))
        return false;
    sc->cookies = cookies;
    uint64_t mv = DEFAULT_MAX_VAR;
    const struct section *from;
    if (cfg_inherited(c, s, K_MAX_VAR_SIZE, &from) &&
        !cfg_get_size(c, from, K_MAX_VAR_SIZE, 1, MAX_VAR, &mv))
        return false;
    sc->max_var = (uint32_t)mv;
    bool ok = compile_root(&b, K_FLOW, &sc->ops, &sc->nops);
    if (ok && s->v[K_SETUP].s)
        ok = compile_root(&b, K_SETUP, &sc->setup, &sc->nsetup);
    ok = ok && scenario_tags(&b) && collect_vars(&b) && load_data(&b);
    for (size_t i = 0; ok && i < sc->nsteps; i++)
        ok = build_step(&b, i);
    sc->simple = ok && sc->nops == 2 && sc->ops[0].kind == PLAN_OP_STEP && !sc->setup;
    for (size_t i = 0; ok && i < sc->nops; i++)
        if (sc->ops[i].kind == PLAN_OP_STEP) {
            sc->first_step = sc->ops[i].a;
            break;
        }
    free(b.secs);
    return ok;
}
