/* extract: owns extract rules and scratches and the header walk (see include/extract.h); the
 * JSON paths and scanner that json rules use are in json.c.
 *
 * Invariant: nothing reachable from a check_resp is read outside [ptr, ptr + len) (json.c holds
 * to the same for bodies). After setup, the only memory a match may ask for is the PCRE2
 * interpreter's backtracking frames, which come from a fixed arena in the scratch (two blocks,
 * because PCRE2 copies the frames into a larger block before freeing the old one).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#include "extract.h"

/* Errors are "column N: ..." (value_col_error). */
#define fail value_col_error

static bool is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

/* c as it reads in a message: 'c' when printable, else its code. */
static const char *show(unsigned c, char buf[8])
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 8, "'%c'", (char)c);
    else
        snprintf(buf, 8, "0x%02x", c);
    return buf;
}

/* Headers. */

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

bool head_name_valid(const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool alnum = is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z');
        if (!alnum && (!c || !strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return n > 0;
}

void head_iter_init(head_iter *it, const char *head, size_t head_len)
{
    *it = (head_iter){.p = head, .end = head ? head + head_len : NULL};
}

bool head_next(head_iter *it, const char *name, size_t name_len, const char **v, size_t *vlen)
{
    if (!it->p || !name_len)
        return false;
    while (it->p < it->end) {
        const char *line = it->p;
        const char *nl = memchr(line, '\n', (size_t)(it->end - line));
        const char *eol = nl ? nl : it->end;
        it->p = nl ? nl + 1 : it->end;
        if (eol > line && eol[-1] == '\r')
            eol--;
        if (eol == line) {
            if (it->started)
                break;
            continue;
        }
        if (!it->started) {
            it->started = true;
            if (eol - line >= 5 && memcmp(line, "HTTP/", 5) == 0)
                continue;
        }
        if ((size_t)(eol - line) <= name_len || line[name_len] != ':')
            continue;
        size_t i = 0;
        while (i < name_len && lower((unsigned char)line[i]) == lower((unsigned char)name[i]))
            i++;
        if (i < name_len)
            continue;
        const char *a = line + name_len + 1, *b = eol;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        *v = a;
        *vlen = (size_t)(b - a);
        return true;
    }
    it->p = it->end;
    return false;
}

bool head_find(const char *head, size_t head_len, const char *name, size_t name_len, size_t n,
               const char **v, size_t *vlen)
{
    head_iter it;
    head_iter_init(&it, head, head_len);
    while (head_next(&it, name, name_len, v, vlen))
        if (n-- == 0)
            return true;
    return false;
}

/* Rules. */

enum { EX_JSON, EX_HEADER, EX_REGEX };

struct extract_rule {
    int type;
    json_path path; /* EX_JSON */
    char *name;     /* EX_HEADER */
    size_t name_len;
    pcre2_code *re; /* EX_REGEX */
    bool jit;       /* re is JIT compiled: matches may use it */
    bool group;     /* the value is capture group 1 (else the whole match) */
};

/* The interpreter's frames grow by doubling up to the heap limit; the old block is freed only
 * after the new one is filled, so the arena holds two blocks, one from each end. */
#define ARENA_SIZE (4u << 20)
#define HEAP_LIMIT_KIB (ARENA_SIZE / 2 / 1024 - 1)
#define MATCH_LIMIT 1000000
#define JIT_STACK_MAX (512u << 10)

struct extract_scratch {
    pcre2_general_context *gctx;
    pcre2_match_context *mctx;
    pcre2_match_data *md;
    pcre2_jit_stack *jit_stack;
    bool setup; /* still in extract_scratch_new: allocate from the system */
    bool lo_used, hi_used;
    size_t lo_size, hi_off; /* blocks at arena[0 .. lo_size) and arena[hi_off .. ARENA_SIZE) */
    unsigned char *arena;
};

static void *arena_alloc(size_t size, void *data)
{
    extract_scratch *s = data;
    if (s->setup)
        return malloc(size);
    size = size ? (size + 15) & ~(size_t)15 : 16;
    if (!s->lo_used && size <= (s->hi_used ? s->hi_off : ARENA_SIZE)) {
        s->lo_used = true;
        s->lo_size = size;
        return s->arena;
    }
    if (s->lo_used && !s->hi_used && size <= ARENA_SIZE - s->lo_size) {
        s->hi_used = true;
        s->hi_off = ARENA_SIZE - size;
        return s->arena + s->hi_off;
    }
    return NULL;
}

static void arena_free(void *ptr, void *data)
{
    extract_scratch *s = data;
    unsigned char *p = ptr;
    if (!p)
        return;
    if (s->arena && p == s->arena)
        s->lo_used = false;
    else if (s->arena && s->hi_used && p == s->arena + s->hi_off)
        s->hi_used = false;
    else
        free(p);
}

int extract_scratch_new(extract_scratch **out)
{
    *out = NULL;
    extract_scratch *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->setup = true;
    s->arena = malloc(ARENA_SIZE);
    s->gctx = pcre2_general_context_create(arena_alloc, arena_free, s);
    s->mctx = s->gctx ? pcre2_match_context_create(s->gctx) : NULL;
    s->md = s->gctx ? pcre2_match_data_create(2, s->gctx) : NULL;
    s->jit_stack = s->gctx ? pcre2_jit_stack_create(32u << 10, JIT_STACK_MAX, s->gctx) : NULL;
    s->setup = false;
    /* No JIT stack is no error: a library without JIT has none to give. */
    if (!s->arena || !s->mctx || !s->md) {
        extract_scratch_free(s);
        return -ENOMEM;
    }
    if (s->jit_stack)
        pcre2_jit_stack_assign(s->mctx, NULL, s->jit_stack);
    pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
    pcre2_set_heap_limit(s->mctx, HEAP_LIMIT_KIB);
    *out = s;
    return 0;
}

void extract_scratch_free(extract_scratch *s)
{
    if (!s)
        return;
    pcre2_match_data_free(s->md);
    pcre2_jit_stack_free(s->jit_stack);
    pcre2_match_context_free(s->mctx);
    pcre2_general_context_free(s->gctx);
    free(s->arena);
    free(s);
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

#define EXTRACTORS "json PATH, header NAME, regex PATTERN"

int extract_parse(extract_rule **out, const char *text, char *err, size_t errlen)
{
    *out = NULL;
    size_t len = strlen(text), i = 0;
    while (i < len && blank(text[i]))
        i++;
    while (len > i && blank(text[len - 1]))
        len--;
    size_t kw = i;
    while (i < len && !blank(text[i]))
        i++;
    size_t kwlen = i - kw;
    while (i < len && blank(text[i]))
        i++;
    if (kwlen == 0)
        return fail(err, errlen, kw + 1, "expected an extractor (allowed: " EXTRACTORS ")");

    extract_rule *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    int rc = 0;
#define KW(w) (kwlen == strlen(w) && memcmp(text + kw, w, kwlen) == 0)
    if (KW("json")) {
        r->type = EX_JSON;
        size_t used;
        if (i == len)
            rc = fail(err, errlen, i + 1, "expected a PATH after 'json' (e.g. json data.id)");
        else if (!(rc = json_path_parse_prefix(&r->path, text + i, len - i, i, &used, err,
                                               errlen)) &&
                 used < len - i) {
            char b[8];
            while (blank(text[i + used]))
                used++;
            rc = fail(err, errlen, i + used + 1, "unexpected %s after the path",
                      show((unsigned char)text[i + used], b));
        }
    } else if (KW("header")) {
        r->type = EX_HEADER;
        if (i == len)
            rc = fail(err, errlen, i + 1, "expected a NAME after 'header' (e.g. header Location)");
        else if (!head_name_valid(text + i, len - i))
            rc = fail(err, errlen, i + 1,
                      "invalid header name '%.*s' (allowed: letters, digits, !#$%%&'*+-.^_`|~)",
                      (int)(len - i), text + i);
        else if (!(r->name = strndup(text + i, len - i)))
            rc = -ENOMEM;
        r->name_len = len - i;
    } else if (KW("regex")) {
        r->type = EX_REGEX;
        int code;
        PCRE2_SIZE at;
        uint32_t groups = 0;
        if (i == len) {
            rc =
                fail(err, errlen, i + 1, "expected a PATTERN after 'regex' (e.g. regex id=(\\d+))");
        } else if (!(r->re = pcre2_compile((PCRE2_SPTR)text + i, len - i, PCRE2_NEVER_UTF, &code,
                                           &at, NULL))) {
            PCRE2_UCHAR msg[256];
            if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
                snprintf((char *)msg, sizeof msg, "error %d", code);
            rc = fail(err, errlen, i + at + 1, "%s", (const char *)msg);
        } else {
            r->jit = pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE) == 0;
            pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups);
            r->group = groups > 0;
        }
    } else {
        rc = fail(err, errlen, kw + 1, "unknown extractor '%.*s' (allowed: " EXTRACTORS ")",
                  (int)kwlen, text + kw);
    }
#undef KW
    if (rc) {
        extract_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void extract_free(extract_rule *r)
{
    if (!r)
        return;
    json_path_free(&r->path);
    free(r->name);
    pcre2_code_free(r->re);
    free(r);
}

bool extract_needs_body(const extract_rule *r)
{
    return r->type != EX_HEADER;
}

bool extract_needs_head(const extract_rule *r)
{
    return r->type == EX_HEADER;
}

/* Not in extract.h (not part of the interface): makes matches with r use the interpreter, so
 * the tests can reach the arena on a machine where JIT compiling works. */
void extract_rule_no_jit(extract_rule *r);
void extract_rule_no_jit(extract_rule *r)
{
    r->jit = false;
}

static int copy_out(const char *v, size_t n, char *out, size_t cap, size_t *len)
{
    if (n > cap)
        return -ENOSPC;
    if (n)
        memcpy(out, v, n);
    *len = n;
    return 0;
}

int extract_run(const extract_rule *r, extract_scratch *s, const check_resp *resp, char *out,
                size_t cap, size_t *len)
{
    const char *v;
    size_t n;
    int kind;
    switch (r->type) {
    case EX_JSON:
        if (!resp->body)
            return -ENOENT;
        return json_get(&r->path, resp->body, resp->body_len, out, cap, len, &kind);
    case EX_HEADER:
        if (!head_find(resp->head, resp->head_len, r->name, r->name_len, 0, &v, &n))
            return -ENOENT;
        return copy_out(v, n, out, cap, len);
    default:
        break;
    }
    if (!resp->body)
        return -ENOENT;
    int rc = pcre2_match(r->re, (PCRE2_SPTR)resp->body, resp->body_len, 0,
                         r->jit ? 0 : PCRE2_NO_JIT, s->md, s->mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
        return -ENOENT;
    if (rc < 0)
        return -E2BIG;
    /* rc == 0: the ovector (2 pairs) is smaller than the groups; the first two are still set. */
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    size_t g = r->group ? 2 : 0;
    if ((rc > 0 && (size_t)rc <= g / 2) || ov[g] == PCRE2_UNSET || ov[g] > ov[g + 1] ||
        ov[g + 1] > resp->body_len)
        return -ENOENT;
    return copy_out(resp->body + ov[g], ov[g + 1] - ov[g], out, cap, len);
}
