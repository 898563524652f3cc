/* config_values: reading one value of a section as a number, duration, size or boolean, with the
 * inheritance every key follows (the scenario's, else [global]'s, else the default), and the
 * file names values give (relative to the scenario file). Each getter records the error at the
 * value's line and returns false when the value is not valid. */
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

#define MAX_PACING_RESOLUTION_NS (100 * NS_PER_MS)

bool cfg_get_uint(struct ctx *c, const struct section *s, int k, uint64_t min, uint64_t max,
                  uint64_t *out)
{
    const struct value *v = &s->v[k];
    const char *p = v->s;
    uint64_t n = 0;
    bool overflow = false;
    if (!*p)
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        if (__builtin_mul_overflow(n, 10, &n) ||
            __builtin_add_overflow(n, (uint64_t)(*p - '0'), &n))
            overflow = true;
    }
    if (overflow || n < min || n > max) {
        cfg_fail(c, -EINVAL, v->line, s, keys[k].name,
                 "%.40s is out of range (allowed: %llu..%llu)", v->s, (unsigned long long)min,
                 (unsigned long long)max);
        return false;
    }
    *out = n;
    return true;
bad:
    cfg_fail(c, -EINVAL, v->line, s, keys[k].name,
             "'%.40s' is not a whole number (allowed: %llu..%llu)", v->s, (unsigned long long)min,
             (unsigned long long)max);
    return false;
}

bool cfg_get_duration(struct ctx *c, const struct section *s, int k, bool zero_ok, uint64_t *out)
{
    const struct value *v = &s->v[k];
    if (value_duration(v->s, out)) {
        cfg_fail(c, -EINVAL, v->line, s, keys[k].name,
                 "'%.40s' is not a duration (e.g. 30s, 1m30s, 500ms, 1.5h; units us, ms, s, m, h)",
                 v->s);
        return false;
    }
    if (!zero_ok && *out == 0) {
        cfg_fail(c, -EINVAL, v->line, s, keys[k].name, "must be more than 0 (e.g. 30s)");
        return false;
    }
    return true;
}

/* A size (value_size) within min..max bytes. */
bool cfg_get_size(struct ctx *c, const struct section *s, int k, uint64_t min, uint64_t max,
                  uint64_t *out)
{
    const struct value *v = &s->v[k];
    char lo[32], hi[32];
    files_size_text(min, lo, sizeof lo);
    files_size_text(max, hi, sizeof hi);
    if (value_size(v->s, out)) {
        cfg_fail(c, -EINVAL, v->line, s, keys[k].name,
                 "'%.40s' is not a size (e.g. 512, 64KiB, 1MiB, 2GB; from %s to %s)", v->s, lo, hi);
        return false;
    }
    if (*out < min || *out > max) {
        cfg_fail(c, -EINVAL, v->line, s, keys[k].name,
                 "'%.40s' is out of range (allowed: %s to %s)", v->s, lo, hi);
        return false;
    }
    return true;
}

/* A duration from the scenario, else from [global], else the default. */
bool cfg_get_inherited_duration(struct ctx *c, const struct section *s, int k, uint64_t def,
                                uint64_t *out)
{
    if (s->v[k].s)
        return cfg_get_duration(c, s, k, false, out);
    if (c->global && c->global->v[k].s)
        return cfg_get_duration(c, c->global, k, false, out);
    *out = def;
    return true;
}

/* pacing_resolution: 0 (exact, the default) up to MAX_PACING_RESOLUTION_NS. */
bool cfg_get_pacing_resolution(struct ctx *c, const struct section *s, uint64_t *out)
{
    const struct section *from = s->v[K_PACING_RESOLUTION].s ? s : c->global;
    *out = 0;
    if (!from || !from->v[K_PACING_RESOLUTION].s)
        return true;
    if (!cfg_get_duration(c, from, K_PACING_RESOLUTION, true, out))
        return false;
    if (*out > MAX_PACING_RESOLUTION_NS) {
        cfg_fail(c, -EINVAL, from->v[K_PACING_RESOLUTION].line, from, "pacing_resolution",
                 "'%.40s' is too coarse (allowed: 0 for exact pacing, up to 100ms)",
                 from->v[K_PACING_RESOLUTION].s);
        return false;
    }
    return true;
}

char *cfg_concat(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    char *r = malloc(alen + blen + 1);
    if (r) {
        memcpy(r, a, alen);
        memcpy(r + alen, b, blen + 1);
    }
    return r;
}

/* name, resolved against the scenario file's folder unless absolute (malloc'd; NULL: no memory). */
char *cfg_relative_path(struct ctx *c, const char *name)
{
    const char *slash = strrchr(c->file, '/');
    if (name[0] == '/' || !slash)
        return strdup(name);
    return cfg_concat(c->file, (size_t)(slash - c->file) + 1, name);
}
/* A TLS key's value: the scenario's, else [global]'s, else NULL. *line tells where. */
const struct value *cfg_inherited(struct ctx *c, const struct section *s, int k,
                                  const struct section **from)
{
    if (s->v[k].s) {
        *from = s;
        return &s->v[k];
    }
    if (c->global && c->global->v[k].s) {
        *from = c->global;
        return &c->global->v[k];
    }
    return NULL;
}

bool cfg_get_bool(struct ctx *c, const struct section *s, int k, bool def, bool *out)
{
    const struct section *from;
    const struct value *v = cfg_inherited(c, s, k, &from);
    *out = def;
    if (!v)
        return true;
    if (!strcasecmp(v->s, "true") || !strcasecmp(v->s, "yes") || !strcmp(v->s, "1") ||
        !strcasecmp(v->s, "on"))
        *out = true;
    else if (!strcasecmp(v->s, "false") || !strcasecmp(v->s, "no") || !strcmp(v->s, "0") ||
             !strcasecmp(v->s, "off"))
        *out = false;
    else {
        cfg_fail(c, -EINVAL, v->line, from, keys[k].name,
                 "'%.40s' is not a boolean (allowed: true, false)", v->s);
        return false;
    }
    return true;
}

/* A file name value, made absolute against the scenario file's folder; the file must exist. */
