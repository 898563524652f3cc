/* config: the scenario file (INI) and the command-line overrides, turned into a validated plan.
 *
 * Two passes. While inih reads the file, the handler only collects: each value, after ${...}
 * substitution, goes into its section's slot with its line number, so unknown sections and keys,
 * duplicates and unset variables are reported at the line where they are written. Then build()
 * interprets the slots of every section (executor first, since it decides which keys apply) and
 * fills the plan. Every error is one line, "FILE:LINE: [section] key: what (what is allowed)",
 * and the first error wins: nothing after it is looked at.
 *
 * inih is driven through our own line reader over the file held in memory, because inih alone
 * cannot tell us three things we need: where a section header is (it does not call the handler
 * for one, so an empty [scenario x] would vanish and its line is unknown), whether a handler call
 * is an indented continuation line or a repeated key (both arrive with the same name), and
 * whether a line was too long (inih silently cuts it and parses the rest as a new line). The
 * reader classifies each line exactly as inih will, just before inih sees it. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define INI_HANDLER_LINENO 1
#include <ini.h>

#include "clock.h"
#include "files.h"
#include "redact.h"
#include "segment.h"
#include "strbuf.h"
#include "value.h"
#include "config_int.h"

#define CONFIG_MAX_LINE 4096 /* characters of one line, without its line break */
#define MAX_WORKERS 256
#define MAX_VUS 1000000

#define DEFAULT_CONNECT_TIMEOUT_NS (10 * NS_PER_S)
#define DEFAULT_REQUEST_TIMEOUT_NS (60 * NS_PER_S)
#define MAX_BODY_FILE (1ULL << 30) /* one copy in memory, shared by every connection */
#define MAX_DATA_FILE (4ULL << 30) /* one copy in memory, shared by every VU */

#define G IN_GLOBAL
#define S IN_SCENARIO
#define T IN_STEP
#define F IN_FLOW
#define P IN_PROFILE
#define Q IN_PREFLIGHT /* config_guard.c */
const cfg_key cfg_keys[K_COUNT] = {
    [K_BASE_URL] = {"base_url", G | S},
    [K_DURATION] = {"duration", G | S | P, EX_CAR | EX_CVU},
    [K_WORKERS] = {"workers", G},
    [K_CONNECT_TIMEOUT] = {"connect_timeout", G | S},
    [K_REQUEST_TIMEOUT] = {"request_timeout", G | S},
    [K_GRACEFUL_STOP] = {"graceful_stop", G | S | P},
    [K_EXECUTOR] = {"executor", S | P},
    [K_RATE] = {"rate", S | P, EX_CAR},
    [K_VUS] = {"vus", S | P, EX_CVU | EX_ITERS},
    [K_MAX_CONNECTIONS] = {"max_connections", S | P, EX_ARRIVAL},
    [K_MAX_VUS] = {"max_vus", S | P, EX_ARRIVAL},
    [K_PRE_CONNECTIONS] = {"pre_connections", S | P, EX_ARRIVAL},
    [K_MAX_QUEUE] = {"max_queue", S | P, EX_ARRIVAL},
    [K_ARRIVAL] = {"arrival", S | P, EX_ARRIVAL},
    [K_PACING_RESOLUTION] = {"pacing_resolution", G | S | P, EX_ARRIVAL},
    [K_PRE_ALLOCATED_VUS] = {"pre_allocated_vus", S | P, EX_ARRIVAL},
    [K_START_RATE] = {"start_rate", S | P, EX_RAR | EX_CEIL},
    [K_START_VUS] = {"start_vus", S | P, EX_RVU},
    [K_STAGE] = {"stage", S | IS_LIST | P, EX_RAR | EX_RVU},
    [K_ITERATIONS] = {"iterations", S | P, EX_ITERS},
    [K_MAX_DURATION] = {"max_duration", S | P, EX_ITERS},
    [K_START_TIME] = {"start_time", S | P},
    [K_GRACEFUL_RAMP_DOWN] = {"graceful_ramp_down", S | P, EX_RVU},
    [K_MAX_RATE] = {"max_rate", S | P, EX_CEIL},
    [K_STEP_DURATION] = {"step_duration", S | P, EX_CEIL},
    [K_WARM_UP] = {"warm_up", S | P, EX_CEIL},
    [K_COOL_DOWN] = {"cool_down", S | P, EX_CEIL},
    [K_PRECISION] = {"precision", S | P, EX_CEIL},
    [K_MIN_RATE] = {"min_rate", S | P, EX_CEIL},
    [K_PROFILE] = {"profile", G},
    [K_SCENARIOS] = {"scenarios", P},
    [K_FLOW] = {"flow", S | F},
    [K_SETUP] = {"setup", S},
    [K_DATA] = {"data", S},
    [K_DATA_ORDER] = {"data_order", S},
    [K_COOKIES] = {"cookies", G | S},
    [K_METHOD] = {"method", S | T | Q | REQUEST},
    [K_URL] = {"url", S | T | Q | REQUEST},
    [K_PATH] = {"path", S | T | Q | REQUEST},
    [K_HEADER] = {"header", S | T | Q | IS_LIST | REQUEST},
    [K_BODY] = {"body", S | T | REQUEST},
    [K_TRANSFER_ENCODING] = {"transfer_encoding", S | T | REQUEST},
    [K_CHECK] = {"check", S | T | IS_LIST | REQUEST},
    [K_EXTRACT] = {"extract", S | T | IS_LIST | REQUEST},
    [K_TAG] = {"tag", S | T | IS_LIST},
    [K_SLEEP] = {"sleep", S | T | F | REQUEST},
    [K_KEEP_BODY] = {"keep_body", G | S | T},
    [K_ON_FAIL] = {"on_fail", S | T | REQUEST},
    [K_STEP] = {"step", F},
    [K_PICK] = {"pick", F},
    [K_REPEAT] = {"repeat", F},
    [K_SOURCE_ADDRESSES] = {"source_addresses", G | S},
    [K_INSECURE] = {"insecure_skip_tls_verify", G | S},
    [K_CA_FILE] = {"ca_file", G | S},
    [K_CLIENT_CERT] = {"client_cert", G | S},
    [K_CLIENT_KEY] = {"client_key", G | S},
    [K_SERVER_NAME] = {"server_name", G | S},
    [K_TLS_MIN_VERSION] = {"tls_min_version", G | S},
    [K_TLS_CIPHERS] = {"tls_ciphers", G | S},
    [K_TLS_CURVES] = {"tls_curves", G | S},
    [K_TLS_RESUME] = {"tls_resume", G | S},
    [K_MAX_BODY_FILE] = {"max_body_file", G},
    [K_MAX_DATA_FILE] = {"max_data_file", G},
    [K_MAX_VAR_SIZE] = {"max_var_size", G | S},
    [K_ALLOW_HOSTS] = {"allow_hosts", G},
    [K_SECRET] = {"secret", G},
    [K_EXPECT_STATUS] = {"expect_status", Q},
    [K_TIMEOUT] = {"timeout", Q},
    [K_KEEPALIVE] = {"keepalive", G | S},
    [K_MAX_REQUESTS_PER_CONN] = {"max_requests_per_conn", G | S},
    [K_CONN_LIFETIME] = {"conn_lifetime", G | S},
    [K_THRESHOLD] = {"threshold", G | S | IS_LIST},
    [K_OFFERED_LOAD] = {"offered_load", G | S},
    [K_OFFERED_LATENESS] = {"offered_lateness", G | S},
    [K_OUT] = {"out", G | IS_LIST},
    [K_WS_SEND] = {"ws_send", S | T | REQUEST},
    [K_WS_BINARY] = {"ws_binary", S | T | REQUEST},
    [K_WS_INTERVAL] = {"ws_interval", S | T | REQUEST},
    [K_WS_RATE] = {"ws_rate", S | T | REQUEST},
    [K_WS_MESSAGES] = {"ws_messages", S | T | REQUEST},
    [K_WS_EXPECT] = {"ws_expect", S | T | REQUEST},
    [K_WS_HOLD] = {"ws_hold", S | T | REQUEST},
    [K_REPLY_TIMEOUT] = {"reply_timeout", S | T | REQUEST},
    [K_WS_PING] = {"ws_ping", S | T | REQUEST},
    [K_WS_MAX_MESSAGE] = {"ws_max_message", S | T | REQUEST},
};
#undef G
#undef S
#undef T
#undef F
#undef P
#undef Q
#define keys cfg_keys

static unsigned scope_of(const struct section *s)
{
    static const unsigned scope[] = {IN_GLOBAL, IN_SCENARIO, IN_STEP,
                                     IN_FLOW,   IN_PROFILE,  IN_PREFLIGHT};
    return scope[s->kind];
}

/* "base_url, duration, ...": the keys a section of s's kind may hold, for messages. */
static const char *allowed_keys(const struct section *s)
{
    static char buf[SEC_COUNT][2048];
    char *b = buf[s->kind];
    if (!b[0]) {
        size_t o = 0;
        for (int k = 0; k < K_COUNT; k++)
            if (keys[k].flags & scope_of(s))
                o = strbuf_app(b, sizeof buf[0], o, "%s%s", o ? ", " : "", keys[k].name);
    }
    return b;
}

/* Records the first error as one line: "FILE:LINE: [section] key: message" (no line when
 * line <= 0, "[section]: message" without a key, "key: message" outside any section). */
void cfg_fail(struct ctx *c, int rc, int line, const struct section *s, const char *key,
              const char *fmt, ...)
{
    if (c->rc)
        return;
    c->rc = rc;
    if (!c->err || !c->errlen)
        return;
    size_t cap = c->errlen, off = 0;
    off = line > 0 ? strbuf_app(c->err, cap, off, "%s:%d: ", c->file, line)
                   : strbuf_app(c->err, cap, off, "%s: ", c->file);
    static const char *const kind[] = {"global", "scenario", "step",
                                       "flow",   "profile",  "preflight"};
    if (s && !s->name)
        off = strbuf_app(c->err, cap, off, key ? "[%s] " : "[%s]: ", kind[s->kind]);
    else if (s)
        off = strbuf_app(c->err, cap, off, key ? "[%s %s] " : "[%s %s]: ", kind[s->kind], s->name);
    if (key)
        off = strbuf_app(c->err, cap, off, "%s: ", key);
    if (off + 1 < cap) {
        va_list ap;
        va_start(ap, fmt);
        redact_vsnprintf(c->err + off, cap - off, fmt, ap); /* a quoted value may be secret */
        va_end(ap);
    }
    /* values quoted in messages may carry line breaks from the environment: keep one line */
    for (char *p = c->err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

void cfg_oom(struct ctx *c)
{
    cfg_fail(c, -ENOMEM, 0, NULL, NULL, "out of memory");
}

/* ---- reading the file ---- */

/* Appends s to a growable array of sections. */
static bool push_section(struct ctx *c, struct section ***v, size_t *n, size_t *cap,
                         struct section *s)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct section **nv = realloc(*v, ncap * sizeof *nv);
        if (!nv) {
            cfg_oom(c);
            return false;
        }
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = s;
    return true;
}

static struct section *section_new(struct ctx *c, enum sec_kind kind, const char *name, size_t nlen)
{
    struct section *s = calloc(1, sizeof *s);
    if (!s || (name && !(s->name = strndup(name, nlen)))) {
        free(s);
        cfg_oom(c);
        return NULL;
    }
    s->kind = kind;
    s->global = kind == SEC_GLOBAL;
    s->line = c->lineno;
    bool ok = true;
    if (kind == SEC_GLOBAL || kind == SEC_PREFLIGHT)
        *(kind == SEC_GLOBAL ? &c->global : &c->preflight) = s;
    else if (kind == SEC_SCENARIO)
        ok = push_section(c, &c->scen, &c->nscen, &c->capscen, s);
    else if (kind == SEC_PROFILE)
        ok = push_section(c, &c->profiles, &c->nprof, &c->capprof, s);
    else
        ok = push_section(c, &c->named, &c->nnamed, &c->capnamed, s);
    if (!ok) {
        free(s->name);
        free(s);
        return NULL;
    }
    return s;
}

void cfg_section_free(struct section *s)
{
    if (!s)
        return;
    for (int k = 0; k < K_COUNT; k++)
        free(s->v[k].s);
    for (size_t i = 0; i < s->nitems; i++) {
        free(s->items[i].v.s);
        free(s->items[i].scen);
    }
    free(s->items);
    free(s->name);
    free(s);
}

struct section *cfg_named(struct ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nnamed; i++)
        if (strcmp(c->named[i]->name, name) == 0)
            return c->named[i];
    return NULL;
}

/* A "[text]" header line: [global], [scenario NAME], [step NAME] or [flow NAME]. */
static void open_section(struct ctx *c, const char *text, size_t len)
{
    static const struct {
        const char *word;
        enum sec_kind kind;
    } kinds[] = {{"scenario", SEC_SCENARIO},
                 {"step", SEC_STEP},
                 {"flow", SEC_FLOW},
                 {"profile", SEC_PROFILE}};
    while (len && isspace((unsigned char)*text))
        text++, len--;
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    c->cur = NULL;
    bool pre = len == 9 && memcmp(text, "preflight", 9) == 0;
    if (pre || (len == 6 && memcmp(text, "global", 6) == 0)) {
        struct section *old = pre ? c->preflight : c->global;
        if (old) {
            cfg_fail(c, -EINVAL, c->lineno, old, NULL,
                     "duplicate section (first on line %d; one [%s] per file)", old->line,
                     pre ? "preflight" : "global");
            return;
        }
        c->cur = section_new(c, pre ? SEC_PREFLIGHT : SEC_GLOBAL, NULL, 0);
        return;
    }
    for (size_t kd = 0; kd < sizeof kinds / sizeof kinds[0]; kd++) {
        size_t wl = strlen(kinds[kd].word);
        if (!(len >= wl && memcmp(text, kinds[kd].word, wl) == 0 &&
              (len == wl || isspace((unsigned char)text[wl]))))
            continue;
        const char *name = text + wl;
        size_t nlen = len - wl;
        while (nlen && isspace((unsigned char)*name))
            name++, nlen--;
        if (nlen == 0) {
            cfg_fail(c, -EINVAL, c->lineno, NULL, NULL, "[%s]: missing %s name (write [%s NAME])",
                     kinds[kd].word, kinds[kd].word, kinds[kd].word);
            return;
        }
        for (size_t i = 0; i < nlen; i++) {
            char ch = name[i];
            if (!cfg_is_name_char(ch) && ch != '.' && ch != '-') {
                cfg_fail(c, -EINVAL, c->lineno, NULL, NULL,
                         "[%.*s]: invalid %s name '%.*s' (allowed: letters, digits, '_', '.', "
                         "'-')",
                         (int)len, text, kinds[kd].word, (int)nlen, name);
                return;
            }
        }
        enum sec_kind kind = kinds[kd].kind;
        struct section **same = kind == SEC_SCENARIO  ? c->scen
                                : kind == SEC_PROFILE ? c->profiles
                                                      : c->named;
        size_t nsame = kind == SEC_SCENARIO ? c->nscen : kind == SEC_PROFILE ? c->nprof : c->nnamed;
        for (size_t i = 0; i < nsame; i++) {
            if (strlen(same[i]->name) == nlen && memcmp(same[i]->name, name, nlen) == 0) {
                cfg_fail(c, -EINVAL, c->lineno, NULL, NULL,
                         kind == SEC_SCENARIO
                             ? "[%.*s]: duplicate scenario (first defined on line %d)"
                         : kind == SEC_PROFILE
                             ? "[%.*s]: duplicate profile (first defined on line %d)"
                             : "[%.*s]: a step or flow of that name is defined on line %d (steps "
                               "and flows share one namespace)",
                         (int)len, text, same[i]->line);
                return;
            }
        }
        c->cur = section_new(c, kinds[kd].kind, name, nlen);
        return;
    }
    const char *words[] = {"global", "scenario", "step", "flow", "profile", "preflight"};
    char first[32];
    size_t fl = strcspn(text, " \t");
    snprintf(first, sizeof first, "%.*s", (int)(fl < len ? fl : len), text);
    const char *near = value_suggest(first, words, sizeof words / sizeof words[0]);
    if (near)
        cfg_fail(c, -EINVAL, c->lineno, NULL, NULL,
                 "[%.*s]: unknown section; did you mean [%s%s]? (allowed: [global], [scenario "
                 "NAME], [step NAME], [flow NAME], [profile NAME], [preflight])",
                 (int)len, text, near,
                 strcmp(near, "global") && strcmp(near, "preflight") ? " NAME" : "");
    else
        cfg_fail(c, -EINVAL, c->lineno, NULL, NULL,
                 "[%.*s]: unknown section (allowed: [global], [scenario NAME], [step NAME], "
                 "[flow NAME], [profile NAME], [preflight])",
                 (int)len, text);
}

/* Decides what inih will make of the line, with inih's own rules and in its order: comment or
 * blank, continuation (indented, after a key of the same section), [section], key. */
static void classify(struct ctx *c, const char *line)
{
    const char *start = line;
    if (c->lineno == 1 && (unsigned char)start[0] == 0xEF && (unsigned char)start[1] == 0xBB &&
        (unsigned char)start[2] == 0xBF)
        start += 3; /* inih skips a UTF-8 BOM, then counts it as indentation */
    while (*start && isspace((unsigned char)*start))
        start++;
    c->kind = LINE_NONE;
    if (*start == '\0' || *start == ';' || *start == '#')
        return;
    if (start > line && c->key_in_section) {
        c->kind = LINE_CONT;
        return;
    }
    if (*start == '[') {
        /* inih ends the section name at ']' (inline comments are off) */
        const char *e = start + 1;
        while (*e && *e != ']')
            e++;
        if (*e != ']')
            return; /* inih reports the syntax error */
        c->kind = LINE_SECTION;
        c->key_in_section = false;
        open_section(c, start + 1, (size_t)(e - start - 1));
        return;
    }
    c->kind = LINE_KEY;
    c->key_in_section = true;
}

/* inih's fgets: hands over one line at a time, and stops the parse on the first error. */
static char *reader(char *str, int num, void *stream)
{
    struct ctx *c = stream;
    if (c->rc || c->pos >= c->size || num < 2)
        return NULL;
    const char *p = c->buf + c->pos;
    size_t left = c->size - c->pos;
    const char *nl = memchr(p, '\n', left);
    size_t len = nl ? (size_t)(nl - p) + 1 : left;
    size_t content = nl ? len - 1 : len;
    if (content && p[content - 1] == '\r')
        content--;
    c->lineno++;
    if (content > CONFIG_MAX_LINE || len > (size_t)num - 1) {
        cfg_fail(c, -EINVAL, c->lineno, NULL, NULL, "line too long (%zu characters; at most %d)",
                 content, CONFIG_MAX_LINE);
        return NULL;
    }
    if (memchr(p, '\0', len)) {
        cfg_fail(c, -EINVAL, c->lineno, NULL, NULL, "NUL byte in line (a scenario file is text)");
        return NULL;
    }
    memcpy(str, p, len);
    str[len] = '\0';
    c->pos += len;
    classify(c, str);
    return c->rc ? NULL : str;
}

static int find_key(const char *name)
{
    for (int k = 0; k < K_COUNT; k++)
        if (strcmp(keys[k].name, name) == 0)
            return k;
    return -1;
}

/* inih's handler: collects one value (or one continuation line of a value). */
static int on_value(void *user, const char *section, const char *name, const char *value,
                    int lineno)
{
    struct ctx *c = user;
    (void)section; /* c->cur is the same section, with its header line (inih keeps only text) */
    if (c->rc)
        return 0;
    struct section *s = c->cur;
    if (!s) {
        cfg_fail(c, -EINVAL, lineno, NULL, name,
                 "key outside any section (put it under [global], [scenario NAME], [step NAME] or "
                 "[flow NAME])");
        return 0;
    }
    if (!*name) {
        cfg_fail(c, -EINVAL, lineno, s, NULL, "missing key name (expected key = value)");
        return 0;
    }
    if (s->kind == SEC_PROFILE) {
        cfg_profile_value(c, s, name, value, lineno);
        return c->rc ? 0 : 1;
    }
    int k = find_key(name);
    unsigned where = scope_of(s);
    if (k < 0) {
        const char *names[K_COUNT];
        size_t n = 0;
        for (int i = 0; i < K_COUNT; i++)
            if (keys[i].flags & where)
                names[n++] = keys[i].name;
        const char *near = value_suggest(name, names, n);
        if (near)
            cfg_fail(c, -EINVAL, lineno, s, name, "unknown key; did you mean %s? (allowed: %s)",
                     near, allowed_keys(s));
        else
            cfg_fail(c, -EINVAL, lineno, s, name, "unknown key (allowed: %s)", allowed_keys(s));
        return 0;
    }
    if (!(keys[k].flags & where)) {
        const char *home = keys[k].flags & IN_SCENARIO ? "[scenario NAME]"
                           : keys[k].flags & IN_GLOBAL ? "[global]"
                           : keys[k].flags & IN_FLOW   ? "[flow NAME]"
                           : keys[k].flags & IN_STEP   ? "[step NAME]"
                                                       : "[preflight]";
        cfg_fail(c, -EINVAL, lineno, s, name, "only allowed in %s (allowed here: %s)", home,
                 allowed_keys(s));
        return 0;
    }
    size_t len;
    char *v = cfg_substitute(c, lineno, s, name, value, &len);
    if (!v)
        return 0;
    struct value *slot = &s->v[k];

    if (c->kind == LINE_CONT) {
        /* an indented line after a key: inih passes it as more of that key's value */
        if (k != K_BODY) {
            cfg_fail(c, -EINVAL, lineno, s, name,
                     "this indented line continues the value of %s; only body may span lines "
                     "(remove the indentation)",
                     name);
        } else if (slot->s[0] == '@' && slot->s[1] != '@') {
            cfg_fail(c, -EINVAL, lineno, s, name,
                     "a body read from a file (@FILE) cannot continue on the next line");
        } else {
            /* multi-line bodies keep their line breaks; "body =" alone starts no empty line */
            size_t sep = slot->len ? 1 : 0;
            char *joined = malloc(slot->len + sep + len + 1);
            if (!joined) {
                cfg_oom(c);
            } else {
                memcpy(joined, slot->s, slot->len);
                if (sep)
                    joined[slot->len] = '\n';
                memcpy(joined + slot->len + sep, v, len + 1);
                free(slot->s);
                slot->s = joined;
                slot->len += sep + len;
            }
        }
        free(v);
        return c->rc ? 0 : 1;
    }

    /* List keys, and every line of a [flow] (its items, in order), are kept in file order. */
    if ((keys[k].flags & IS_LIST) || s->kind == SEC_FLOW) {
        struct item *it = realloc(s->items, (s->nitems + 1) * sizeof *it);
        if (!it) {
            free(v);
            cfg_oom(c);
            return 0;
        }
        s->items = it;
        it[s->nitems++] = (struct item){k, {v, len, lineno}, NULL};
        return 1;
    }
    if (slot->s) {
        free(v);
        cfg_fail(c, -EINVAL, lineno, s, name, "duplicate key (first set on line %d)", slot->line);
        return 0;
    }
    *slot = (struct value){v, len, lineno};
    return 1;
}

static bool build_scenario(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    if (!(sc->name = strdup(s->name))) {
        cfg_oom(c);
        return false;
    }
    sc->line = s->line;

    if (!cfg_build_executor(c, s, sc))
        return false;

    if (!cfg_get_inherited_duration(c, s, K_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT_NS,
                                    &sc->connect_timeout_ns) ||
        !cfg_get_inherited_duration(c, s, K_REQUEST_TIMEOUT, DEFAULT_REQUEST_TIMEOUT_NS,
                                    &sc->request_timeout_ns) ||
        !cfg_get_pacing_resolution(c, s, &sc->pacing_resolution_ns))
        return false;
    if (!cfg_get_sources(c, s, sc) || !cfg_get_tls(c, s, sc) || !cfg_get_conn_limits(c, s, sc))
        return false;
    struct url u;
    return cfg_build_origin(c, s, sc, &u) && cfg_build_flow(c, s, sc, &u);
}

/* --segment i/n: every scenario runs its i-th of n shares (plan.h, plan_share_of). An
 * arrival-rate scenario needs a VU in every segment. */
static bool segments(struct ctx *c, plan *p)
{
    uint32_t n = c->ov->segments, i = c->ov->segment;
    if (n <= 1)
        return true;
    if (n > CONFIG_MAX_SEGMENTS || i >= n) {
        cfg_fail(c, -EINVAL, 0, NULL, NULL,
                 "--segment %u/%u is out of range (allowed: 1/N..N/N, N <= %d)", i + 1, n,
                 CONFIG_MAX_SEGMENTS);
        return false;
    }
    p->segment = i;
    p->segments = n;
    for (size_t k = 0; k < p->nscenarios; k++) {
        plan_scenario *s = &p->scenarios[k];
        s->seg = i;
        s->nseg = n;
        if (PLAN_IS_ARRIVAL(s->executor) && s->max_connections < n) {
            cfg_fail(c, -EINVAL, s->line, c->scen[k], NULL,
                     "max_vus %u is fewer than the %u segments of --segment (each segment needs "
                     "a VU of its own)",
                     s->max_connections, n);
            return false;
        }
    }
    return true;
}

static plan *build(struct ctx *c)
{
    const config_overrides *ov = c->ov;
    const struct section *g = c->global;
    plan *p = calloc(1, sizeof *p);
    if (!p || !(p->file = strdup(c->file))) {
        free(p);
        cfg_oom(c);
        return NULL;
    }
    p->graceful_stop_ns = CFG_DEFAULT_GRACEFUL_STOP_NS;
    c->max_body_file = FILES_MAX_BODY_DEFAULT;
    c->max_data_file = FILES_MAX_DATA_DEFAULT;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    p->workers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (unsigned)cpus;

    if (g) {
        /* global values are checked even when every scenario overrides them */
        struct url u;
        uint64_t n;
        if (g->v[K_BASE_URL].s && !cfg_get_url(c, g, K_BASE_URL, true, &u))
            goto fail;
        if (g->v[K_DURATION].s && !cfg_get_duration(c, g, K_DURATION, false, &n))
            goto fail;
        if (g->v[K_CONNECT_TIMEOUT].s && !cfg_get_duration(c, g, K_CONNECT_TIMEOUT, false, &n))
            goto fail;
        if (g->v[K_REQUEST_TIMEOUT].s && !cfg_get_duration(c, g, K_REQUEST_TIMEOUT, false, &n))
            goto fail;
        if (g->v[K_GRACEFUL_STOP].s &&
            !cfg_get_duration(c, g, K_GRACEFUL_STOP, true, &p->graceful_stop_ns))
            goto fail;
        if (g->v[K_MAX_BODY_FILE].s &&
            !cfg_get_size(c, g, K_MAX_BODY_FILE, 1, MAX_BODY_FILE, &c->max_body_file))
            goto fail;
        if (g->v[K_MAX_DATA_FILE].s &&
            !cfg_get_size(c, g, K_MAX_DATA_FILE, 1, MAX_DATA_FILE, &c->max_data_file))
            goto fail;
        const struct value *w = &g->v[K_WORKERS];
        if (w->s && strcmp(w->s, "auto") != 0) {
            bool digits = w->s[0] != '\0' && strspn(w->s, "0123456789") == w->len;
            if (!digits) {
                cfg_fail(c, -EINVAL, w->line, g, "workers",
                         "'%.40s' is not a number (allowed: 1..%d or auto)", w->s, MAX_WORKERS);
                goto fail;
            }
            if (!cfg_get_uint(c, g, K_WORKERS, 1, MAX_WORKERS, &n))
                goto fail;
            p->workers = (unsigned)n;
        }
    }
    if (ov->workers) {
        if (ov->workers > MAX_WORKERS) {
            cfg_fail(c, -EINVAL, 0, NULL, NULL, "--workers %u is out of range (allowed: 1..%d)",
                     ov->workers, MAX_WORKERS);
            goto fail;
        }
        p->workers = ov->workers;
    }
    if (ov->vus > MAX_VUS) {
        cfg_fail(c, -EINVAL, 0, NULL, NULL, "--vus %u is out of range (allowed: 1..%d)", ov->vus,
                 MAX_VUS);
        goto fail;
    }
    if (ov->rate < 0 || isnan(ov->rate) || isinf(ov->rate)) {
        cfg_fail(c, -EINVAL, 0, NULL, NULL, "--rate must be a number > 0 per second");
        goto fail;
    }

    if (c->nscen == 0) {
        cfg_fail(c, -EINVAL, 0, NULL, NULL,
                 "no scenarios (add a [scenario NAME] section with an executor)");
        goto fail;
    }
    if (!cfg_apply_profile(c, &p->profile))
        goto fail;
    if (!(p->scenarios = calloc(c->nscen, sizeof *p->scenarios))) {
        cfg_oom(c);
        goto fail;
    }
    p->nscenarios = c->nscen;
    for (size_t i = 0; i < c->nscen; i++)
        if (!build_scenario(c, c->scen[i], &p->scenarios[i]))
            goto fail;
    /* one search per run: its steps are the run's timeline */
    for (size_t i = 0, first = SIZE_MAX; i < c->nscen; i++) {
        if (p->scenarios[i].executor != PLAN_CEILING)
            continue;
        if (first != SIZE_MAX) {
            cfg_fail(c, -EINVAL, p->scenarios[i].ceil.line, c->scen[i], "executor",
                     "a second ceiling search (one run holds one: [scenario %s] at line %d is "
                     "the first)",
                     p->scenarios[first].name, p->scenarios[first].line);
            goto fail;
        }
        first = i;
    }
    if (!segments(c, p))
        goto fail;
    if (!cfg_build_verdicts(c, p))
        goto fail;
    return p;
fail:
    plan_free(p);
    return NULL;
}

int config_load(const char *path, const config_overrides *ov, plan **out, char *err, size_t errlen)
{
    static const config_overrides none;
    struct ctx c = {.file = path, .ov = ov ? ov : &none, .err = err, .errlen = errlen};
    if (out)
        *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!path || !out)
        return -EINVAL;

    char *buf, why[160];
    int rc = files_read(path, FILES_MAX_CONFIG, &buf, &c.size, why, sizeof why);
    if (rc) {
        if (err && errlen) {
            char max[32];
            files_size_text(FILES_MAX_CONFIG, max, sizeof max);
            if (rc == -EFBIG)
                snprintf(err, errlen, "%s: %s for a scenario file", path, why);
            else if (rc == -EINVAL || rc == -EISDIR)
                snprintf(err, errlen, "%s: %s (a scenario file is a regular file of at most %s)",
                         path, why, max);
            else
                snprintf(err, errlen, "%s: cannot open: %s", path, why);
        }
        return rc;
    }
    c.buf = buf;

    /* Process-wide settings of the Debian libinih (runtime variables, not macros). One more
     * than needed for the longest line, its "\r\n" and the NUL, so a line of CONFIG_MAX_LINE
     * characters fits; the reader rejects longer ones instead of letting inih split them. */
    ini_max_line = CONFIG_MAX_LINE + 3;
    ini_stop_on_first_error = true;
    ini_allow_multiline = true;
    /* Comments are whole lines only: a value keeps every character to the end of its line, so
     * bodies, header values and URLs may hold " ;" and " #" (README: "Comments"). */
    ini_allow_inline_comments = false;

    cfg_guard_prescan(&c);
    rc = ini_parse_stream(reader, &c, on_value, &c);
    if (!c.rc) {
        if (rc > 0)
            cfg_fail(&c, -EINVAL, rc, NULL, NULL,
                     "syntax error (expected key = value or [section])");
        else if (rc == -2)
            cfg_oom(&c);
        else if (rc < 0)
            cfg_fail(&c, -EIO, 0, NULL, NULL, "cannot read the file (inih error %d)", rc);
    }
    plan *p = c.rc ? NULL : cfg_guard_build(&c, build(&c));
    if (p)
        segment_fingerprint(p, buf, c.size, p->fingerprint);

    free(buf);
    cfg_section_free(c.global);
    for (size_t i = 0; i < c.nscen; i++)
        cfg_section_free(c.scen[i]);
    free(c.scen);
    for (size_t i = 0; i < c.nnamed; i++)
        cfg_section_free(c.named[i]);
    free(c.named);
    for (size_t i = 0; i < c.nprof; i++)
        cfg_section_free(c.profiles[i]);
    free(c.profiles);
    cfg_section_free(c.preflight);
    cfg_guard_finish(&c); /* redacts the error */
    if (c.rc) {
        plan_free(p);
        return c.rc;
    }
    *out = p;
    return 0;
}
