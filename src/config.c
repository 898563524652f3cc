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
#include "value.h"
#include "config_int.h"

#define CONFIG_MAX_LINE 4096 /* characters of one line, without its line break */
#define MAX_WORKERS 256
#define MAX_VUS 1000000
#define MAX_CONNECTIONS 1000000
#define MAX_QUEUE 100000000
#define SUBST_MAX_DEPTH 16 /* ${A:-${B:-...}} nesting */

#define DEFAULT_CONNECT_TIMEOUT_NS (10 * NS_PER_S)
#define MAX_PACING_RESOLUTION_NS (100 * NS_PER_MS)
#define DEFAULT_REQUEST_TIMEOUT_NS (60 * NS_PER_S)
#define DEFAULT_GRACEFUL_STOP_NS (10 * NS_PER_S)
#define DEFAULT_MAX_CONNECTIONS 100
#define DEFAULT_PRE_CONNECTIONS 10
#define DEFAULT_MAX_QUEUE 100000
#define MAX_BODY_FILE (1ULL << 30) /* one copy in memory, shared by every connection */
#define MAX_DATA_FILE (4ULL << 30) /* one copy in memory, shared by every VU */

#define EXECUTORS "constant-arrival-rate, constant-vus"
#define MAX_SOURCES 1024
#define SOURCES_ALLOWED                                                                            \
    "a comma-separated list of IP addresses or IPv4 ranges, e.g. 127.0.0.2-127.0.0.9, at most "    \
    "1024 addresses, all IPv4 or all IPv6"

#define G IN_GLOBAL
#define S IN_SCENARIO
#define T IN_STEP
#define F IN_FLOW
const cfg_key cfg_keys[K_COUNT] = {
    [K_BASE_URL] = {"base_url", G | S},
    [K_DURATION] = {"duration", G | S},
    [K_WORKERS] = {"workers", G},
    [K_CONNECT_TIMEOUT] = {"connect_timeout", G | S},
    [K_REQUEST_TIMEOUT] = {"request_timeout", G | S},
    [K_GRACEFUL_STOP] = {"graceful_stop", G},
    [K_EXECUTOR] = {"executor", S},
    [K_RATE] = {"rate", S | ARRIVAL_ONLY},
    [K_VUS] = {"vus", S | VUS_ONLY},
    [K_MAX_CONNECTIONS] = {"max_connections", S | ARRIVAL_ONLY},
    [K_MAX_VUS] = {"max_vus", S | ARRIVAL_ONLY},
    [K_PRE_CONNECTIONS] = {"pre_connections", S | ARRIVAL_ONLY},
    [K_MAX_QUEUE] = {"max_queue", S | ARRIVAL_ONLY},
    [K_ARRIVAL] = {"arrival", S | ARRIVAL_ONLY},
    [K_PACING_RESOLUTION] = {"pacing_resolution", G | S | ARRIVAL_ONLY},
    [K_FLOW] = {"flow", S | F},
    [K_SETUP] = {"setup", S},
    [K_DATA] = {"data", S},
    [K_DATA_ORDER] = {"data_order", S},
    [K_COOKIES] = {"cookies", G | S},
    [K_METHOD] = {"method", S | T | REQUEST},
    [K_URL] = {"url", S | T | REQUEST},
    [K_PATH] = {"path", S | T | REQUEST},
    [K_HEADER] = {"header", S | T | IS_LIST | REQUEST},
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
};
#undef G
#undef S
#undef T
#undef F
#define keys cfg_keys

static unsigned scope_of(const struct section *s)
{
    static const unsigned scope[] = {IN_GLOBAL, IN_SCENARIO, IN_STEP, IN_FLOW};
    return scope[s->kind];
}

/* "base_url, duration, ...": the keys a section of s's kind may hold, for messages. */
static const char *allowed_keys(const struct section *s)
{
    static char buf[4][1024];
    char *b = buf[s->kind];
    if (!b[0]) {
        size_t o = 0;
        for (int k = 0; k < K_COUNT; k++)
            if (keys[k].flags & scope_of(s))
                o +=
                    (size_t)snprintf(b + o, sizeof buf[0] - o, "%s%s", o ? ", " : "", keys[k].name);
    }
    return b;
}

/* snprintf at off, clamped: returns the new offset (never past the end of the buffer). */
static size_t app(char *b, size_t cap, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t app(char *b, size_t cap, size_t off, const char *fmt, ...)
{
    if (off + 1 >= cap)
        return off;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b + off, cap - off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return off;
    return off + (size_t)n < cap ? off + (size_t)n : cap - 1;
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
    off = line > 0 ? app(c->err, cap, off, "%s:%d: ", c->file, line)
                   : app(c->err, cap, off, "%s: ", c->file);
    static const char *const kind[] = {"global", "scenario", "step", "flow"};
    if (s && s->global)
        off = app(c->err, cap, off, key ? "[global] " : "[global]: ");
    else if (s)
        off = app(c->err, cap, off, key ? "[%s %s] " : "[%s %s]: ", kind[s->kind], s->name);
    if (key)
        off = app(c->err, cap, off, "%s: ", key);
    if (off + 1 < cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + off, cap - off, fmt, ap);
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

/* ---- growable string ---- */

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

/* ---- ${NAME} substitution ---- */

static bool is_name_start(char ch)
{
    return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool is_name_char(char ch)
{
    return is_name_start(ch) || (ch >= '0' && ch <= '9');
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
        if (is_name_start(*q))
            while (is_name_char(*q))
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
            if (emit)
                sb_add(out, val, strlen(val));
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
            if (expand(x, &q, depth + 1, emit && use_default, out))
                return -1;
            if (*q != '}')
                goto unterminated;
            if (emit && !use_default && !plus)
                sb_add(out, val, strlen(val));
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
static char *substitute(struct ctx *c, int line, const struct section *s, const char *key,
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
    *len = out.len;
    return out.p;
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
    if (!s || (kind != SEC_GLOBAL && !(s->name = strndup(name, nlen)))) {
        free(s);
        cfg_oom(c);
        return NULL;
    }
    s->kind = kind;
    s->global = kind == SEC_GLOBAL;
    s->line = c->lineno;
    bool ok = true;
    if (kind == SEC_GLOBAL)
        c->global = s;
    else if (kind == SEC_SCENARIO)
        ok = push_section(c, &c->scen, &c->nscen, &c->capscen, s);
    else
        ok = push_section(c, &c->named, &c->nnamed, &c->capnamed, s);
    if (!ok) {
        free(s->name);
        free(s);
        return NULL;
    }
    return s;
}

static void section_free(struct section *s)
{
    if (!s)
        return;
    for (int k = 0; k < K_COUNT; k++)
        free(s->v[k].s);
    for (size_t i = 0; i < s->nitems; i++)
        free(s->items[i].v.s);
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
    } kinds[] = {{"scenario", SEC_SCENARIO}, {"step", SEC_STEP}, {"flow", SEC_FLOW}};
    while (len && isspace((unsigned char)*text))
        text++, len--;
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    c->cur = NULL;
    if (len == 6 && memcmp(text, "global", 6) == 0) {
        if (c->global) {
            cfg_fail(c, -EINVAL, c->lineno, c->global, NULL,
                     "duplicate section (first on line %d; one [global] per file)",
                     c->global->line);
            return;
        }
        c->cur = section_new(c, SEC_GLOBAL, NULL, 0);
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
            if (!is_name_char(ch) && ch != '.' && ch != '-') {
                cfg_fail(c, -EINVAL, c->lineno, NULL, NULL,
                         "[%.*s]: invalid %s name '%.*s' (allowed: letters, digits, '_', '.', "
                         "'-')",
                         (int)len, text, kinds[kd].word, (int)nlen, name);
                return;
            }
        }
        struct section **same = kinds[kd].kind == SEC_SCENARIO ? c->scen : c->named;
        size_t nsame = kinds[kd].kind == SEC_SCENARIO ? c->nscen : c->nnamed;
        for (size_t i = 0; i < nsame; i++) {
            if (strlen(same[i]->name) == nlen && memcmp(same[i]->name, name, nlen) == 0) {
                cfg_fail(c, -EINVAL, c->lineno, NULL, NULL,
                         kinds[kd].kind == SEC_SCENARIO
                             ? "[%.*s]: duplicate scenario (first defined on line %d)"
                             : "[%.*s]: a step or flow of that name is defined on line %d (steps "
                               "and flows share one namespace)",
                         (int)len, text, same[i]->line);
                return;
            }
        }
        c->cur = section_new(c, kinds[kd].kind, name, nlen);
        return;
    }
    const char *words[] = {"global", "scenario", "step", "flow"};
    char first[32];
    size_t fl = strcspn(text, " \t");
    snprintf(first, sizeof first, "%.*s", (int)(fl < len ? fl : len), text);
    const char *near = value_suggest(first, words, 4);
    if (near)
        cfg_fail(c, -EINVAL, c->lineno, NULL, NULL,
                 "[%.*s]: unknown section; did you mean [%s%s]? (allowed: [global], [scenario "
                 "NAME], [step NAME], [flow NAME])",
                 (int)len, text, near, strcmp(near, "global") ? " NAME" : "");
    else
        cfg_fail(c, -EINVAL, c->lineno, NULL, NULL,
                 "[%.*s]: unknown section (allowed: [global], [scenario NAME], [step NAME], "
                 "[flow NAME])",
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
                                                       : "[step NAME]";
        cfg_fail(c, -EINVAL, lineno, s, name, "only allowed in %s (allowed here: %s)", home,
                 allowed_keys(s));
        return 0;
    }
    size_t len;
    char *v = substitute(c, lineno, s, name, value, &len);
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
        it[s->nitems++] = (struct item){k, {v, len, lineno}};
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

/* ---- interpreting values ---- */

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
static bool get_inherited_duration(struct ctx *c, const struct section *s, int k, uint64_t def,
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
static bool get_pacing_resolution(struct ctx *c, const struct section *s, uint64_t *out)
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

/* Visible ASCII and non-ASCII bytes: what a request target may hold as written. */
bool cfg_target_ok(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
            return false;
    return true;
}

/* Parses http://host[:port][/path][?query]. Returns NULL, or what is wrong (in msg). */
const char *cfg_url_parse(const char *s, struct url *u, char *msg, size_t msglen)
{
    u->tls = strncasecmp(s, "https://", 8) == 0;
    if (!u->tls && strncasecmp(s, "http://", 7) != 0) {
        const char *sep = strstr(s, "://");
        if (sep) {
            snprintf(msg, msglen,
                     "unsupported scheme '%.*s' (allowed: http:// or https://host[:port][/path])",
                     (int)(sep - s > 20 ? 20 : sep - s), s);
            return msg;
        }
        snprintf(msg, msglen, "'%.60s' is not an absolute URL (expected http://host[:port][/path])",
                 s);
        return msg;
    }
    const char *p = s + (u->tls ? 8 : 7);
    const char *end = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(end - p)))
        return "user info (user@host) is not supported in URLs";
    u->ipv6 = false;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        char tmp[INET6_ADDRSTRLEN + 1];
        struct in6_addr a;
        if (!close || (size_t)(close - p - 1) >= sizeof tmp) {
            snprintf(msg, msglen, "invalid IPv6 address in '%.60s' (e.g. http://[::1]:8080)", s);
            return msg;
        }
        memcpy(tmp, p + 1, (size_t)(close - p - 1));
        tmp[close - p - 1] = '\0';
        if (inet_pton(AF_INET6, tmp, &a) != 1) {
            snprintf(msg, msglen, "invalid IPv6 address '[%s]' (e.g. http://[::1]:8080)", tmp);
            return msg;
        }
        u->host = p + 1;
        u->hostlen = (size_t)(close - p - 1);
        u->ipv6 = true;
        p = close + 1;
    } else {
        u->host = p;
        while (p < end && *p != ':') {
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_') {
                snprintf(msg, msglen,
                         "invalid host in '%.60s' (letters, digits, '-', '.', '_'; IPv6 in "
                         "brackets: http://[::1]:8080)",
                         s);
                return msg;
            }
            p++;
        }
        u->hostlen = (size_t)(p - u->host);
        if (u->hostlen == 0)
            return "missing host (expected http://host[:port][/path])";
    }
    u->port = u->tls ? 443 : 80;
    if (p < end && *p == ':') {
        p++;
        unsigned long port = 0;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9' && port <= 65535)
            port = port * 10 + (unsigned long)(*p++ - '0');
        if (p == digits || p != end || port == 0 || port > 65535) {
            snprintf(msg, msglen, "invalid port '%.*s' (allowed: 1..65535)",
                     (int)(end - digits > 20 ? 20 : end - digits), digits);
            return msg;
        }
        u->port = (uint16_t)port;
    } else if (p != end) {
        snprintf(msg, msglen, "invalid host in '%.60s' (expected http://host[:port][/path])", s);
        return msg;
    }
    u->rest = end;
    if (!cfg_target_ok(end)) {
        if (strchr(end, '#'))
            return "fragments (#...) are not sent to servers; remove it";
        return "the path contains a space or control character (percent-encode it)";
    }
    return NULL;
}

static bool get_url(struct ctx *c, const struct section *s, int k, bool base, struct url *u)
{
    const struct value *v = &s->v[k];
    char msg[256];
    const char *e = cfg_url_parse(v->s, u, msg, sizeof msg);
    if (!e && base && strchr(u->rest, '?'))
        e = "base_url cannot have a query (put it in path)";
    if (e) {
        cfg_fail(c, -EINVAL, v->line, s, keys[k].name, "%s", e);
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

/* Which key set in s, if any, does not apply to its executor: the first one in the file. */
static int misplaced_key(const struct section *s, unsigned wrong)
{
    int found = -1;
    for (int k = 0; k < K_COUNT; k++)
        if ((keys[k].flags & wrong) && s->v[k].s && (found < 0 || s->v[k].line < s->v[found].line))
            found = k;
    return found;
}

/* Appends one address (or an IPv4 range a-b) to sc->src. Returns false with an error message. */
static bool add_sources(struct ctx *c, const struct section *s, const struct value *v,
                        plan_scenario *sc, const char *item)
{
    char a[INET6_ADDRSTRLEN + 1], b[INET6_ADDRSTRLEN + 1];
    const char *dash = strchr(item, '-');
    size_t alen = dash ? (size_t)(dash - item) : strlen(item);
    struct in_addr lo4, hi4;
    struct in6_addr one6;
    uint32_t lo, hi;
    if (alen == 0 || alen >= sizeof a || (dash && strlen(dash + 1) >= sizeof b))
        goto bad;
    memcpy(a, item, alen);
    a[alen] = '\0';
    if (!dash && inet_pton(AF_INET6, a, &one6) == 1) {
        lo = hi = 0;
    } else {
        if (inet_pton(AF_INET, a, &lo4) != 1)
            goto bad;
        hi4 = lo4;
        if (dash) {
            strcpy(b, dash + 1);
            if (inet_pton(AF_INET, b, &hi4) != 1)
                goto bad;
        }
        lo = ntohl(lo4.s_addr);
        hi = ntohl(hi4.s_addr);
        if (hi < lo) {
            cfg_fail(c, -EINVAL, v->line, s, "source_addresses",
                     "range '%.80s' ends before it starts (" SOURCES_ALLOWED ")", item);
            return false;
        }
    }
    uint64_t count = (uint64_t)hi - lo + 1;
    if (sc->nsrc + count > MAX_SOURCES) {
        cfg_fail(c, -EINVAL, v->line, s, "source_addresses",
                 "too many addresses (" SOURCES_ALLOWED ")");
        return false;
    }
    struct sockaddr_storage *n = realloc(sc->src, (sc->nsrc + count) * sizeof *n);
    if (!n) {
        cfg_oom(c);
        return false;
    }
    sc->src = n;
    for (uint64_t i = 0; i < count; i++) {
        struct sockaddr_storage *ss = &sc->src[sc->nsrc++];
        memset(ss, 0, sizeof *ss);
        if (dash || inet_pton(AF_INET6, a, &one6) != 1) {
            struct sockaddr_in *in = (struct sockaddr_in *)ss;
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(lo + (uint32_t)i);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
            in6->sin6_family = AF_INET6;
            in6->sin6_addr = one6;
        }
        if (ss->ss_family != sc->src[0].ss_family) {
            cfg_fail(c, -EINVAL, v->line, s, "source_addresses",
                     "mixes IPv4 and IPv6 (" SOURCES_ALLOWED ")");
            return false;
        }
    }
    return true;
bad:
    cfg_fail(c, -EINVAL, v->line, s, "source_addresses",
             "'%.80s' is not an address (" SOURCES_ALLOWED ")", item);
    return false;
}

/* source_addresses, from the scenario or else [global]. */
static bool get_sources(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    const struct section *from = s->v[K_SOURCE_ADDRESSES].s ? s : c->global;
    if (!from || !from->v[K_SOURCE_ADDRESSES].s)
        return true;
    const struct value *v = &from->v[K_SOURCE_ADDRESSES];
    char *copy = strdup(v->s);
    if (!copy) {
        cfg_oom(c);
        return false;
    }
    bool ok = true;
    char *save = NULL;
    for (char *item = strtok_r(copy, ", \t", &save); item && ok;
         item = strtok_r(NULL, ", \t", &save))
        ok = add_sources(c, from, v, sc, item);
    free(copy);
    if (ok && sc->nsrc == 0) {
        cfg_fail(c, -EINVAL, v->line, from, "source_addresses", "is empty (" SOURCES_ALLOWED ")");
        ok = false;
    }
    return ok;
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
static bool get_file(struct ctx *c, const struct section *s, int k, char **out)
{
    const struct section *from;
    const struct value *v = cfg_inherited(c, s, k, &from);
    *out = NULL;
    if (!v)
        return true;
    char *path = cfg_relative_path(c, v->s);
    if (!path) {
        cfg_oom(c);
        return false;
    }
    if (access(path, R_OK) != 0) {
        cfg_fail(c, -EINVAL, v->line, from, keys[k].name, "cannot read '%.200s': %s", path,
                 strerror(errno));
        free(path);
        return false;
    }
    *out = path;
    return true;
}

static bool get_string(struct ctx *c, const struct section *s, int k, char **out)
{
    const struct section *from;
    const struct value *v = cfg_inherited(c, s, k, &from);
    *out = NULL;
    if (!v)
        return true;
    if (!(*out = strdup(v->s))) {
        cfg_oom(c);
        return false;
    }
    return true;
}

/* The TLS settings of a scenario (only read for https:// targets). */
static bool get_tls(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    plan_tls *t = &sc->tls_opts;
    const struct section *from;
    if (!cfg_get_bool(c, s, K_INSECURE, false, &t->insecure) ||
        !cfg_get_bool(c, s, K_TLS_RESUME, true, &t->resume) ||
        !get_file(c, s, K_CA_FILE, &t->ca_file) ||
        !get_file(c, s, K_CLIENT_CERT, &t->client_cert) ||
        !get_file(c, s, K_CLIENT_KEY, &t->client_key) ||
        !get_string(c, s, K_SERVER_NAME, &t->server_name) ||
        !get_string(c, s, K_TLS_CIPHERS, &t->ciphers) ||
        !get_string(c, s, K_TLS_CURVES, &t->curves))
        return false;
    if (!t->client_cert != !t->client_key) {
        const struct value *v =
            cfg_inherited(c, s, t->client_cert ? K_CLIENT_CERT : K_CLIENT_KEY, &from);
        cfg_fail(c, -EINVAL, v->line, from,
                 keys[t->client_cert ? K_CLIENT_CERT : K_CLIENT_KEY].name,
                 "client_cert and client_key go together (give both for mutual TLS)");
        return false;
    }
    t->min_version = 12;
    const struct value *v = cfg_inherited(c, s, K_TLS_MIN_VERSION, &from);
    if (v) {
        if (!strcmp(v->s, "1.2"))
            t->min_version = 12;
        else if (!strcmp(v->s, "1.3"))
            t->min_version = 13;
        else {
            cfg_fail(c, -EINVAL, v->line, from, "tls_min_version",
                     "'%.40s' is not supported (allowed: 1.2, 1.3)", v->s);
            return false;
        }
    }
    if ((v = cfg_inherited(c, s, K_TLS_CURVES, &from))) {
        char *copy = strdup(v->s), *save = NULL;
        if (!copy) {
            cfg_oom(c);
            return false;
        }
        for (char *n = strtok_r(copy, ":, ", &save); n; n = strtok_r(NULL, ":, ", &save)) {
            if (strcasecmp(n, "X25519") && strcasecmp(n, "P-256") && strcasecmp(n, "P-384") &&
                strcasecmp(n, "P-521")) {
                cfg_fail(
                    c, -EINVAL, v->line, from, "tls_curves",
                    "unknown curve '%.40s' (allowed: X25519, P-256, P-384, P-521, separated by "
                    "':')",
                    n);
                free(copy);
                return false;
            }
        }
        free(copy);
    }
    return true;
}

/* Where a scenario's requests go: its own url (a scenario that is one request), else base_url
 * here or in [global]. Fills sc's host, port, TLS flag, Host header and where the URL was set. */
static bool build_origin(struct ctx *c, const struct section *s, plan_scenario *sc, struct url *u)
{
    const struct section *g = c->global;
    const struct value *url = &s->v[K_URL], *path = &s->v[K_PATH];
    if (url->s) {
        if (path->s) {
            cfg_fail(c, -EINVAL, path->line, s, "path",
                     "cannot be combined with url (url is absolute; path joins base_url)");
            return false;
        }
        if (s->v[K_BASE_URL].s) {
            cfg_fail(c, -EINVAL, url->line, s, "url",
                     "cannot be combined with base_url in the same scenario (url is absolute; "
                     "use path with base_url)");
            return false;
        }
        if (!get_url(c, s, K_URL, false, u))
            return false;
        u->absolute = true;
        sc->url_line = url->line;
        sc->url_key = "url";
    } else {
        const struct section *from = s->v[K_BASE_URL].s ? s : g && g->v[K_BASE_URL].s ? g : NULL;
        if (!from) {
            cfg_fail(c, -EINVAL, s->line, s, NULL,
                     "no target (set url here, or base_url here or in [global])");
            return false;
        }
        if (!get_url(c, from, K_BASE_URL, true, u))
            return false;
        u->absolute = false;
        sc->url_line = from->v[K_BASE_URL].line;
        sc->url_key = "base_url";
        sc->url_global = from->global;
    }
    sc->port = u->port;
    sc->tls = u->tls;
    sc->host = strndup(u->host, u->hostlen);
    size_t hh = u->hostlen + 2 + 7;
    sc->host_header = malloc(hh);
    if (!sc->host || !sc->host_header) {
        cfg_oom(c);
        return false;
    }
    if (u->port == (u->tls ? 443 : 80))
        snprintf(sc->host_header, hh, u->ipv6 ? "[%s]" : "%s", sc->host);
    else
        snprintf(sc->host_header, hh, u->ipv6 ? "[%s]:%u" : "%s:%u", sc->host, (unsigned)u->port);
    return true;
}

static bool build_scenario(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    const config_overrides *ov = c->ov;
    const struct section *g = c->global;
    if (!(sc->name = strdup(s->name))) {
        cfg_oom(c);
        return false;
    }
    sc->line = s->line;

    const struct value *ex = &s->v[K_EXECUTOR];
    if (!ex->s) {
        cfg_fail(c, -EINVAL, s->line, s, NULL, "executor is required (allowed: " EXECUTORS ")");
        return false;
    }
    if (strcmp(ex->s, "constant-arrival-rate") == 0) {
        sc->executor = PLAN_CONSTANT_ARRIVAL_RATE;
    } else if (strcmp(ex->s, "constant-vus") == 0) {
        sc->executor = PLAN_CONSTANT_VUS;
    } else if (strcmp(ex->s, "ramping-arrival-rate") == 0 || strcmp(ex->s, "ramping-vus") == 0 ||
               strcmp(ex->s, "per-vu-iterations") == 0 || strcmp(ex->s, "shared-iterations") == 0) {
        cfg_fail(c, -EINVAL, ex->line, s, "executor",
                 "%s is not supported yet (allowed: " EXECUTORS ")", ex->s);
        return false;
    } else {
        cfg_fail(c, -EINVAL, ex->line, s, "executor",
                 "unknown executor '%.40s' (allowed: " EXECUTORS ")", ex->s);
        return false;
    }
    bool arrival = sc->executor == PLAN_CONSTANT_ARRIVAL_RATE;

    int k = misplaced_key(s, arrival ? VUS_ONLY : ARRIVAL_ONLY);
    if (k >= 0) {
        cfg_fail(c, -EINVAL, s->v[k].line, s, keys[k].name, "only for %s (this scenario is %s)",
                 arrival ? "constant-vus" : "constant-arrival-rate", ex->s);
        return false;
    }

    uint64_t n;
    if (arrival) {
        const struct value *r = &s->v[K_RATE];
        int rrc = r->s ? value_rate(r->s, &sc->rate) : 0;
        if (rrc == -ERANGE) {
            cfg_fail(
                c, -EINVAL, r->line, s, "rate",
                "'%.40s' is more than one scenario may ask for (at most %.0f/s; split the load "
                "over scenarios or load boxes)",
                r->s, VALUE_MAX_RATE);
            return false;
        }
        if (rrc) {
            cfg_fail(c, -EINVAL, r->line, s, "rate",
                     "'%.40s' is not a valid rate (%sa number > 0 and at most %.0f/s, written with "
                     "digits, per unit: 100/s, 100/m, 5000/30s, 0.5/s)",
                     r->s, strchr(r->s, '/') ? "" : "missing the unit; ", VALUE_MAX_RATE);
            return false;
        }
        if (ov->rate > 0)
            sc->rate = ov->rate;
        else if (!r->s) {
            cfg_fail(c, -EINVAL, s->line, s, NULL,
                     "rate is required for constant-arrival-rate (e.g. rate = 100/s)");
            return false;
        }
        sc->max_connections = DEFAULT_MAX_CONNECTIONS;
        /* max_vus (k6's name) and max_connections are one limit: each VU has its connection */
        int km = s->v[K_MAX_VUS].s ? K_MAX_VUS : K_MAX_CONNECTIONS;
        if (s->v[K_MAX_VUS].s && s->v[K_MAX_CONNECTIONS].s) {
            cfg_fail(c, -EINVAL, s->v[K_MAX_VUS].line, s, "max_vus",
                     "cannot be combined with max_connections (the same limit: each VU has one "
                     "connection; keep one of them)");
            return false;
        }
        if (s->v[km].s) {
            if (!cfg_get_uint(c, s, km, 1, MAX_CONNECTIONS, &n))
                return false;
            sc->max_connections = (uint32_t)n;
        }
        sc->pre_connections = sc->max_connections < DEFAULT_PRE_CONNECTIONS
                                  ? sc->max_connections
                                  : DEFAULT_PRE_CONNECTIONS;
        if (s->v[K_PRE_CONNECTIONS].s) {
            if (!cfg_get_uint(c, s, K_PRE_CONNECTIONS, 0, MAX_CONNECTIONS, &n))
                return false;
            if (n > sc->max_connections) {
                cfg_fail(c, -EINVAL, s->v[K_PRE_CONNECTIONS].line, s, "pre_connections",
                         "%llu is more than max_vus / max_connections (allowed: 0..%u)",
                         (unsigned long long)n, sc->max_connections);
                return false;
            }
            sc->pre_connections = (uint32_t)n;
        }
        sc->max_queue = DEFAULT_MAX_QUEUE;
        if (s->v[K_MAX_QUEUE].s) {
            if (!cfg_get_uint(c, s, K_MAX_QUEUE, 1, MAX_QUEUE, &n))
                return false;
            sc->max_queue = (uint32_t)n;
        }
        const struct value *a = &s->v[K_ARRIVAL];
        sc->arrival = PLAN_ARRIVAL_UNIFORM;
        if (a->s && strcmp(a->s, "poisson") == 0) {
            sc->arrival = PLAN_ARRIVAL_POISSON;
        } else if (a->s && strcmp(a->s, "uniform") != 0) {
            cfg_fail(c, -EINVAL, a->line, s, "arrival",
                     "unknown arrival '%.40s' (allowed: uniform, poisson)", a->s);
            return false;
        }
    } else {
        if (s->v[K_VUS].s) {
            if (!cfg_get_uint(c, s, K_VUS, 1, MAX_VUS, &n))
                return false;
            sc->vus = (uint32_t)n;
        }
        if (ov->vus)
            sc->vus = ov->vus;
        else if (!s->v[K_VUS].s) {
            cfg_fail(c, -EINVAL, s->line, s, NULL,
                     "vus is required for constant-vus (e.g. vus = 10)");
            return false;
        }
    }

    if (s->v[K_DURATION].s) {
        if (!cfg_get_duration(c, s, K_DURATION, false, &sc->duration_ns))
            return false;
    } else if (g && g->v[K_DURATION].s) {
        if (!cfg_get_duration(c, g, K_DURATION, false, &sc->duration_ns))
            return false;
    } else if (!ov->duration_ns) {
        cfg_fail(c, -EINVAL, s->line, s, NULL,
                 "duration is required (set it here or in [global], or give --duration)");
        return false;
    }
    if (ov->duration_ns)
        sc->duration_ns = ov->duration_ns;

    if (!get_inherited_duration(c, s, K_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT_NS,
                                &sc->connect_timeout_ns) ||
        !get_inherited_duration(c, s, K_REQUEST_TIMEOUT, DEFAULT_REQUEST_TIMEOUT_NS,
                                &sc->request_timeout_ns) ||
        !get_pacing_resolution(c, s, &sc->pacing_resolution_ns))
        return false;
    if (!get_sources(c, s, sc) || !get_tls(c, s, sc))
        return false;
    struct url u;
    return build_origin(c, s, sc, &u) && cfg_build_flow(c, s, sc, &u);
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
    p->graceful_stop_ns = DEFAULT_GRACEFUL_STOP_NS;
    c->max_body_file = FILES_MAX_BODY_DEFAULT;
    c->max_data_file = FILES_MAX_DATA_DEFAULT;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    p->workers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (unsigned)cpus;

    if (g) {
        /* global values are checked even when every scenario overrides them */
        struct url u;
        uint64_t n;
        if (g->v[K_BASE_URL].s && !get_url(c, g, K_BASE_URL, true, &u))
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
    if (!(p->scenarios = calloc(c->nscen, sizeof *p->scenarios))) {
        cfg_oom(c);
        goto fail;
    }
    p->nscenarios = c->nscen;
    for (size_t i = 0; i < c->nscen; i++)
        if (!build_scenario(c, c->scen[i], &p->scenarios[i]))
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
    plan *p = c.rc ? NULL : build(&c);

    free(buf);
    section_free(c.global);
    for (size_t i = 0; i < c.nscen; i++)
        section_free(c.scen[i]);
    free(c.scen);
    for (size_t i = 0; i < c.nnamed; i++)
        section_free(c.named[i]);
    free(c.named);
    if (c.rc) {
        plan_free(p);
        return c.rc;
    }
    *out = p;
    return 0;
}
