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

#define DEFAULT_MAX_VAR 4096u
#define MAX_VAR (1u << 20)
#define MAX_WEIGHT 1000000u
#define MAX_REPEAT 1000000u
#define MAX_STEPS 4096 /* distinct steps in one scenario */
#define MAX_THINK_NS (3600ULL * 1000000000ULL)

/* Built-in template names: no extracted variable may take them. */
static const char *const builtin[] = {"vu", "iter", "seq", "data", "repeat"};

bool cfg_is_ident(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

char *cfg_trim(char *s)
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
    const char *a = cfg_trim(buf), *bs = dots ? cfg_trim(dots + 2) : a;
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
        part = cfg_trim(part);
        char *sp = part + strcspn(part, " \t");
        char *name = *sp ? cfg_trim(sp) : sp;
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
    if (b->depth == CFG_MAX_NESTING) {
        cfg_fail(b->c, -EINVAL, flow->line, flow, NULL, "flows nested more than %d deep",
                 CFG_MAX_NESTING);
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

int cfg_var_index(const plan_scenario *sc, const char *name)
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
            if (!eq || !cfg_is_ident(n0, (size_t)(n1 - n0))) {
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
    bool sends = false;
    for (size_t i = 0; ok && i < sc->nops; i++)
        sends |= sc->ops[i].kind == PLAN_OP_STEP;
    if (ok && !sends) { /* only sleeps: iterations that never send a request */
        cfg_fail(c, -EINVAL, s->v[K_FLOW].line, s, "flow",
                 "flow %s sends no request (it needs a step line, in it or in a sub-flow it "
                 "names)",
                 s->v[K_FLOW].s);
        ok = false;
    }
    if (ok && s->v[K_SETUP].s)
        ok = compile_root(&b, K_SETUP, &sc->setup, &sc->nsetup);
    ok = ok && scenario_tags(&b) && collect_vars(&b) && load_data(&b);
    for (size_t i = 0; ok && i < sc->nsteps; i++)
        ok = cfg_build_step(&b, i);
    /* which steps get a ws recorder (without the array, out of memory: every step, still right) */
    for (size_t i = 0; ok && i < sc->nsteps; i++)
        if (sc->steps[i].ws && (sc->ws_step || (sc->ws_step = calloc(sc->nsteps, 1))))
            sc->ws_step[i] = 1;
    sc->simple = ok && sc->nops == 2 && sc->ops[0].kind == PLAN_OP_STEP && !sc->setup;
    for (size_t i = 0; ok && i < sc->nops; i++)
        if (sc->ops[i].kind == PLAN_OP_STEP) {
            sc->first_step = sc->ops[i].a;
            break;
        }
    free(b.secs);
    return ok;
}
