/* config_profile: [profile NAME] sections, one file for smoke, load, stress, spike, ... runs.
 *
 * A profile holds executor keys: `key = value` applies to every scenario the profile runs,
 * `SCENARIO.key = value` to that one (later lines win over earlier ones), and `scenarios = a, b`
 * says which scenarios run (default: all). The chosen profile (--profile NAME, else [global]
 * profile, which ${} can fill) is laid over the scenario sections before they are built, so
 * every value is checked by the same code and an error names the profile's line. A profile that
 * sets a scenario's executor replaces that scenario's executor keys as a whole (a constant-vus
 * scenario's `vus` means nothing to the ramping-vus its load profile makes of it); otherwise its
 * keys replace the scenario's one by one, and its `stage` lines replace all of the scenario's. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "value.h"

#define keys cfg_keys

static bool add_item(struct ctx *c, struct section *s, int k, char *scen, char *v, size_t len,
                     int line)
{
    struct item *it = realloc(s->items, (s->nitems + 1) * sizeof *it);
    if (!it) {
        free(scen);
        free(v);
        cfg_oom(c);
        return false;
    }
    s->items = it;
    it[s->nitems++] = (struct item){k, {v, len, line}, scen};
    return true;
}

/* The keys a profile may set, for messages. */
static const char *profile_keys(void)
{
    static char buf[512];
    if (!buf[0]) {
        size_t o = 0;
        for (int k = 0; k < K_COUNT && o < sizeof buf; k++)
            if (keys[k].flags & IN_PROFILE)
                o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", o ? ", " : "",
                                      keys[k].name);
    }
    return buf;
}

void cfg_profile_value(struct ctx *c, struct section *s, const char *name, const char *value,
                       int lineno)
{
    if (c->kind == LINE_CONT) {
        cfg_fail(c, -EINVAL, lineno, s, name,
                 "this indented line would continue the value of %s; a profile's values are one "
                 "line each (remove the indentation)",
                 name);
        return;
    }
    /* NAME.key: scenario names may hold dots, key names do not */
    const char *dot = strrchr(name, '.');
    const char *kname = dot ? dot + 1 : name;
    int k = -1;
    for (int i = 0; i < K_COUNT; i++)
        if ((keys[i].flags & IN_PROFILE) && strcmp(keys[i].name, kname) == 0)
            k = i;
    if (k < 0) {
        const char *names[K_COUNT];
        size_t n = 0;
        for (int i = 0; i < K_COUNT; i++)
            if (keys[i].flags & IN_PROFILE)
                names[n++] = keys[i].name;
        const char *near = value_suggest(kname, names, n);
        cfg_fail(c, -EINVAL, lineno, s, name,
                 "%s%s%s a profile sets executor keys, as `key = value` for every scenario it "
                 "runs or `SCENARIO.key = value` (allowed keys: %s)",
                 near ? "unknown key; did you mean " : "unknown key;", near ? near : "",
                 near ? "?" : "", profile_keys());
        return;
    }
    if (dot && (dot == name || k == K_SCENARIOS)) {
        cfg_fail(c, -EINVAL, lineno, s, name,
                 dot == name ? "missing the scenario name before '.' (write SCENARIO.%s)"
                             : "scenarios is the profile's own list, not a scenario's key%s",
                 dot == name ? kname : "");
        return;
    }
    char *scen = dot ? strndup(name, (size_t)(dot - name)) : NULL;
    size_t len;
    char *v = cfg_substitute(c, lineno, s, name, value, &len);
    if ((dot && !scen) || !v) {
        free(scen);
        free(v);
        if (!c->rc)
            cfg_oom(c);
        return;
    }
    add_item(c, s, k, scen, v, len, lineno);
}

static struct section *find_scenario(struct ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nscen; i++)
        if (strcmp(c->scen[i]->name, name) == 0)
            return c->scen[i];
    return NULL;
}

/* "a, b, c": the scenario names, for messages. */
static const char *scenario_list(struct ctx *c, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->nscen && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", c->scen[i]->name);
    return buf;
}

/* `scenarios = a, b`: only those run; the others' sections are dropped. */
static bool select_scenarios(struct ctx *c, struct section *pr, const struct value *v)
{
    char *list = strdup(v->s);
    bool *keep = calloc(c->nscen ? c->nscen : 1, sizeof *keep);
    if (!list || !keep) {
        free(list);
        free(keep);
        cfg_oom(c);
        return false;
    }
    bool ok = true;
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && ok;
         t = strtok_r(NULL, ",", &save)) {
        char *name = cfg_trim(t);
        struct section *sc = *name ? find_scenario(c, name) : NULL;
        if (!sc) {
            char known[512];
            cfg_fail(c, -EINVAL, v->line, pr, "scenarios",
                     *name ? "no scenario '%.40s' (scenarios: %s)"
                           : "an empty name%.0s in the list (scenarios: %s)",
                     name, scenario_list(c, known, sizeof known));
            ok = false;
            break;
        }
        for (size_t i = 0; i < c->nscen; i++)
            if (c->scen[i] == sc && !keep[i]) {
                keep[i] = true;
                n++;
            }
    }
    if (ok && n == 0) {
        cfg_fail(c, -EINVAL, v->line, pr, "scenarios", "lists no scenario");
        ok = false;
    }
    if (ok) {
        size_t j = 0;
        for (size_t i = 0; i < c->nscen; i++) {
            if (keep[i])
                c->scen[j++] = c->scen[i];
            else
                cfg_section_free(c->scen[i]);
        }
        c->nscen = j;
    }
    free(list);
    free(keep);
    return ok;
}

/* Sets key k of scenario sc to the profile item's value. */
static bool overlay(struct ctx *c, struct section *sc, const struct item *it, bool *stages_reset)
{
    char *v = strdup(it->v.s);
    if (!v) {
        cfg_oom(c);
        return false;
    }
    if (!(keys[it->key].flags & IS_LIST)) {
        free(sc->v[it->key].s);
        sc->v[it->key] = (struct value){v, it->v.len, it->v.line};
        return true;
    }
    if (!*stages_reset) { /* the profile's stages replace the scenario's */
        size_t j = 0;
        for (size_t i = 0; i < sc->nitems; i++) {
            if (sc->items[i].key == it->key) {
                free(sc->items[i].v.s);
                free(sc->items[i].scen);
            } else {
                sc->items[j++] = sc->items[i];
            }
        }
        sc->nitems = j;
        *stages_reset = true;
    }
    return add_item(c, sc, it->key, NULL, v, it->v.len, it->v.line);
}

/* The profile sets sc's executor: the scenario's own executor keys go. */
static void clear_executor_keys(struct section *sc)
{
    for (int k = 0; k < K_COUNT; k++) {
        if (!(keys[k].flags & IN_PROFILE) || k == K_START_TIME || k == K_GRACEFUL_STOP)
            continue;
        free(sc->v[k].s);
        sc->v[k] = (struct value){0};
    }
    size_t j = 0;
    for (size_t i = 0; i < sc->nitems; i++) {
        if (keys[sc->items[i].key].flags & IN_PROFILE) {
            free(sc->items[i].v.s);
            free(sc->items[i].scen);
        } else {
            sc->items[j++] = sc->items[i];
        }
    }
    sc->nitems = j;
}

static bool targets(const struct item *it, const struct section *sc)
{
    return !it->scen || strcmp(it->scen, sc->name) == 0;
}

bool cfg_apply_profile(struct ctx *c, char **chosen)
{
    *chosen = NULL;
    const struct value *g = c->global ? &c->global->v[K_PROFILE] : NULL;
    const char *want = c->ov->profile ? c->ov->profile : g && g->s ? g->s : NULL;
    int line = c->ov->profile ? 0 : g && g->s ? g->line : 0;
    if (!want)
        return true;
    struct section *pr = NULL;
    for (size_t i = 0; i < c->nprof; i++)
        if (strcmp(c->profiles[i]->name, want) == 0)
            pr = c->profiles[i];
    if (!pr) {
        char known[512];
        size_t o = 0;
        known[0] = '\0';
        for (size_t i = 0; i < c->nprof && o < sizeof known; i++)
            o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "",
                                  c->profiles[i]->name);
        if (c->ov->profile)
            cfg_fail(c, -EINVAL, 0, NULL, NULL, "--profile %.40s: %s%s%s", want,
                     c->nprof ? "unknown profile (known: " : "the file has no [profile NAME] sections",
                     known, c->nprof ? ")" : "");
        else
            cfg_fail(c, -EINVAL, line, c->global, "profile", "unknown profile '%.40s' (%s%s%s)",
                     want, c->nprof ? "known: " : "the file has no [profile NAME] sections", known,
                     "");
        return false;
    }
    if (!(*chosen = strdup(pr->name))) {
        cfg_oom(c);
        return false;
    }
    /* which scenarios run: the last scenarios = line */
    const struct item *sel = NULL;
    for (size_t i = 0; i < pr->nitems; i++)
        if (pr->items[i].key == K_SCENARIOS)
            sel = &pr->items[i];
    if (sel && !select_scenarios(c, pr, &sel->v))
        return false;
    for (size_t i = 0; i < pr->nitems; i++) {
        const struct item *it = &pr->items[i];
        if (it->scen && !find_scenario(c, it->scen)) {
            char known[512];
            cfg_fail(c, -EINVAL, it->v.line, pr, NULL,
                     "%s.%s: no scenario '%.40s' runs in this profile (scenarios: %s)", it->scen,
                     keys[it->key].name, it->scen, scenario_list(c, known, sizeof known));
            return false;
        }
    }
    for (size_t j = 0; j < c->nscen; j++) {
        struct section *sc = c->scen[j];
        bool stages_reset = false, own_stages = false;
        for (size_t i = 0; i < pr->nitems; i++) {
            if (pr->items[i].key == K_EXECUTOR && targets(&pr->items[i], sc) &&
                !stages_reset) {
                clear_executor_keys(sc);
                stages_reset = true; /* once */
            }
            own_stages |= pr->items[i].key == K_STAGE && pr->items[i].scen &&
                          strcmp(pr->items[i].scen, sc->name) == 0;
        }
        stages_reset = false;
        for (size_t i = 0; i < pr->nitems; i++) {
            const struct item *it = &pr->items[i];
            /* a scenario's own stage lines replace the profile's general ones, not add to them */
            if (it->key == K_SCENARIOS || !targets(it, sc) ||
                (it->key == K_STAGE && own_stages && !it->scen))
                continue;
            if (!overlay(c, sc, it, &stages_reset))
                return false;
        }
    }
    return true;
}
