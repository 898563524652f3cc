/* config_verdict: what judges a run. `threshold =` lines of [global] and of each scenario (a
 * scenario's see only it), the offered-load check's mode and bound (`offered_load = warn |
 * fail`, `offered_lateness`, the scenario's, else [global]'s) and [global] `out = KIND=FILE`
 * lines (as repeated --out options). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "outputs.h"
#include "threshold.h"

#define MAX_THRESHOLDS 1000
#define MAX_OUTS 16

static bool add_thresholds(struct ctx *c, const struct section *s, plan *p, int scenario)
{
    for (size_t i = 0; i < s->nitems; i++) {
        const struct item *it = &s->items[i];
        if (it->key != K_THRESHOLD)
            continue;
        if (p->nthresholds == MAX_THRESHOLDS) {
            cfg_fail(c, -EINVAL, it->v.line, s, "threshold", "more than %d thresholds",
                     MAX_THRESHOLDS);
            return false;
        }
        threshold *n = realloc(p->thresholds, (p->nthresholds + 1) * sizeof *n);
        if (!n) {
            cfg_oom(c);
            return false;
        }
        p->thresholds = n;
        threshold *t = &p->thresholds[p->nthresholds];
        char err[600];
        int rc = threshold_parse(t, it->v.s, err, sizeof err);
        if (rc == 0) {
            p->nthresholds++;
            t->file = p->file;
            t->line = it->v.line;
            rc = threshold_resolve(t, p, scenario, err, sizeof err);
        }
        if (rc < 0) {
            if (rc == -ENOMEM)
                cfg_oom(c);
            else
                cfg_fail(c, -EINVAL, it->v.line, s, "threshold", "%s", err);
            return false;
        }
    }
    return true;
}

static bool get_offered(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    const struct section *from;
    const struct value *v = cfg_inherited(c, s, K_OFFERED_LOAD, &from);
    if (v) {
        if (strcmp(v->s, "warn") == 0)
            sc->offered_fail = false;
        else if (strcmp(v->s, "fail") == 0)
            sc->offered_fail = true;
        else {
            cfg_fail(c, -EINVAL, v->line, from, "offered_load", "'%.40s' (allowed: warn, fail)",
                     v->s);
            return false;
        }
    }
    return cfg_get_inherited_duration(c, s, K_OFFERED_LATENESS, 0, &sc->offered_lateness_ns);
}

static bool get_outs(struct ctx *c, const struct section *g, plan *p)
{
    for (size_t i = 0; g && i < g->nitems; i++) {
        const struct item *it = &g->items[i];
        if (it->key != K_OUT)
            continue;
        const char *eq = strchr(it->v.s, '=');
        if (!eq || eq == it->v.s || !eq[1]) {
            cfg_fail(c, -EINVAL, it->v.line, g, "out",
                     "'%.60s' is not KIND=FILE (e.g. out = junit=results.xml; kinds: %s)",
                     it->v.s, outputs_kind_names());
            return false;
        }
        char kind[32];
        snprintf(kind, sizeof kind, "%.*s", (int)(eq - it->v.s), it->v.s);
        if (!outputs_kind_known(kind)) {
            cfg_fail(c, -EINVAL, it->v.line, g, "out", "unknown kind '%s' (allowed: %s)", kind,
                     outputs_kind_names());
            return false;
        }
        if (p->nouts == MAX_OUTS) {
            cfg_fail(c, -EINVAL, it->v.line, g, "out", "more than %d out lines", MAX_OUTS);
            return false;
        }
        char **n = realloc(p->outs, (p->nouts + 1) * sizeof *n);
        if (!n || !(n[p->nouts] = strdup(it->v.s))) {
            if (n)
                p->outs = n;
            cfg_oom(c);
            return false;
        }
        p->outs = n;
        p->nouts++;
    }
    return true;
}

/* The live totals keep one trailing window: every `over` of a run has the same length. */
static bool one_window(struct ctx *c, const plan *p)
{
    const threshold *first = NULL;
    for (size_t i = 0; i < p->nthresholds; i++) {
        const threshold *t = &p->thresholds[i];
        if (!t->window_ns)
            continue;
        if (first && t->window_ns != first->window_ns) {
            const struct section *s = t->scenario >= 0 ? c->scen[t->scenario] : c->global;
            cfg_fail(c, -EINVAL, t->line, s, "threshold",
                     "'over %llus' differs from line %d's 'over %llus' (every `over` window of a "
                     "run has one length)",
                     (unsigned long long)(t->window_ns / NS_PER_S), first->line,
                     (unsigned long long)(first->window_ns / NS_PER_S));
            return false;
        }
        first = t;
    }
    return true;
}

bool cfg_build_verdicts(struct ctx *c, plan *p)
{
    if (c->global && !add_thresholds(c, c->global, p, -1))
        return false;
    for (size_t i = 0; i < c->nscen; i++)
        if (!add_thresholds(c, c->scen[i], p, (int)i) ||
            !get_offered(c, c->scen[i], &p->scenarios[i]))
            return false;
    if (!one_window(c, p))
        return false;
    return get_outs(c, c->global, p);
}
