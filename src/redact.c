/* redact: the secrets and the scrubber every outgoing text passes through (see redact.h).
 *
 * A text is scrubbed by marking which of its bytes belong to an occurrence of a secret (every
 * occurrence of every secret, overlapping ones included), then writing each run of marked bytes
 * as one REDACT_MARK. Marking first and writing after is what keeps overlapping secrets whole:
 * replacing one secret at a time would leave the part of the other that sticks out. */
#include "redact.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define RING 8 /* redact_str copies alive at once: enough for one printf's arguments */

struct secret {
    char *s;
    size_t len;
};

static struct secret *secrets;
static size_t nsecrets, capsecrets;
static size_t longest;
static char *ring[RING];
static unsigned ring_next;

int redact_add(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < nsecrets; i++)
        if (secrets[i].len == len && memcmp(secrets[i].s, s, len) == 0)
            return 0;
    if (nsecrets == capsecrets) {
        size_t ncap = capsecrets ? capsecrets * 2 : 8;
        struct secret *n = realloc(secrets, ncap * sizeof *n);
        if (!n)
            return -ENOMEM;
        secrets = n;
        capsecrets = ncap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    secrets[nsecrets++] = (struct secret){copy, len};
    if (len > longest)
        longest = len;
    return 0;
}

void redact_clear(void)
{
    for (size_t i = 0; i < nsecrets; i++)
        free(secrets[i].s);
    free(secrets);
    secrets = NULL;
    nsecrets = capsecrets = longest = 0;
    for (unsigned i = 0; i < RING; i++) {
        free(ring[i]);
        ring[i] = NULL;
    }
}

size_t redact_count(void)
{
    return nsecrets;
}

bool redact_has(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < nsecrets; i++)
        if (memmem(s, n, secrets[i].s, secrets[i].len))
            return true;
    return false;
}

/* Marks in mask[0..n) the bytes of t that belong to a secret (and, with fragments, to a run of
 * REDACT_FRAGMENT or more bytes that also occurs inside a secret). Returns whether any is. */
static bool cover(const char *t, size_t n, bool fragments, uint8_t *mask)
{
    bool any = false;
    memset(mask, 0, n);
    for (size_t k = 0; k < nsecrets; k++) {
        const struct secret *s = &secrets[k];
        /* one byte at a time, so that "aaa" in "aaaa" covers all four */
        for (const char *p = t; (p = memmem(p, n - (size_t)(p - t), s->s, s->len)); p++) {
            memset(mask + (p - t), 1, s->len);
            any = true;
        }
        if (!fragments || s->len < REDACT_FRAGMENT || n < REDACT_FRAGMENT)
            continue;
        for (size_t i = 0; i + REDACT_FRAGMENT <= n; i++)
            for (size_t j = 0; j + REDACT_FRAGMENT <= s->len; j++) {
                if (t[i] != s->s[j] || memcmp(t + i, s->s + j, REDACT_FRAGMENT) != 0)
                    continue;
                size_t m = REDACT_FRAGMENT;
                while (i + m < n && j + m < s->len && t[i + m] == s->s[j + m])
                    m++;
                memset(mask + i, 1, m);
                any = true;
            }
    }
    return any;
}

/* Output that counts what it would have written, as snprintf does. */
struct out {
    char *b;
    size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len - 1; /* keep one byte for the NUL */
        memcpy(o->b + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void finish(struct out *o)
{
    if (o->cap)
        o->b[o->len < o->cap ? o->len : o->cap - 1] = '\0';
}

/* Writes t[0..limit) with each marked run as one mark; a run that starts before limit is written
 * whole (as its mark) even when it goes on past limit, which is how a precision that would cut a
 * secret shows the mark instead of its first bytes. */
static void render(struct out *o, const char *t, const uint8_t *mask, size_t limit)
{
    size_t i = 0;
    while (i < limit) {
        if (!mask[i]) {
            size_t j = i;
            while (j < limit && !mask[j])
                j++;
            put(o, t + i, j - i);
            i = j;
            continue;
        }
        put(o, REDACT_MARK, sizeof REDACT_MARK - 1);
        while (i < limit && mask[i])
            i++;
    }
}

/* Scrubs t[0..scan) and writes its first limit bytes (see render) to o. */
static void scrub(struct out *o, const char *t, size_t scan, size_t limit, bool fragments)
{
    if (nsecrets == 0 || scan == 0) {
        put(o, t, limit);
        return;
    }
    uint8_t small[512], *mask = scan <= sizeof small ? small : malloc(scan);
    if (!mask) {
        /* no memory to look: showing nothing is the safe answer */
        put(o, REDACT_MARK, sizeof REDACT_MARK - 1);
        return;
    }
    if (cover(t, scan, fragments, mask))
        render(o, t, mask, limit);
    else
        put(o, t, limit);
    if (mask != small)
        free(mask);
}

size_t redact_copy(char *out, size_t cap, const char *in, bool fragments)
{
    struct out o = {out, cap, 0};
    size_t n = strlen(in);
    scrub(&o, in, n, n, fragments);
    finish(&o);
    return o.len;
}

void redact_message(char *buf, size_t cap)
{
    if (!cap || nsecrets == 0)
        return;
    buf[cap - 1] = '\0';
    char *copy = strdup(buf);
    if (!copy) {
        snprintf(buf, cap, "%s", REDACT_MARK);
        return;
    }
    redact_copy(buf, cap, copy, true);
    free(copy);
}

const char *redact_str(const char *s)
{
    if (!s || nsecrets == 0 || !redact_has(s))
        return s;
    size_t n = redact_copy(NULL, 0, s, false) + 1;
    char *copy = malloc(n);
    if (!copy)
        return REDACT_MARK;
    redact_copy(copy, n, s, false);
    free(ring[ring_next]);
    ring[ring_next] = copy;
    ring_next = (ring_next + 1) % RING;
    return copy;
}

/* vsnprintf of one conversion at the end of o. */
static void emit(struct out *o, const char *spec, ...)
{
    va_list ap;
    va_start(ap, spec);
    int n = o->len < o->cap ? vsnprintf(o->b + o->len, o->cap - o->len, spec, ap)
                            : vsnprintf(NULL, 0, spec, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* A %s argument: redacted, then cut at its precision, then padded to its width by spec (which
 * has the flags and width, not the precision). */
static void emit_string(struct out *o, const char *spec, const char *s, int prec)
{
    if (!s || nsecrets == 0) {
        char full[48];
        if (prec >= 0)
            snprintf(full, sizeof full, "%.*s.*s", (int)(strlen(spec) - 1), spec);
        else
            snprintf(full, sizeof full, "%s", spec);
        if (prec >= 0)
            emit(o, full, prec, s);
        else
            emit(o, full, s);
        return;
    }
    size_t limit = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
    size_t scan = prec >= 0 ? strnlen(s, (size_t)prec + longest) : limit;
    struct out r = {NULL, 0, 0};
    scrub(&r, s, scan, limit, false); /* measures */
    char small[256], *buf = r.len < sizeof small ? small : malloc(r.len + 1);
    if (!buf) {
        emit(o, spec, REDACT_MARK);
        return;
    }
    r = (struct out){buf, r.len + 1, 0};
    scrub(&r, s, scan, limit, false);
    finish(&r);
    emit(o, spec, buf);
    if (buf != small)
        free(buf);
}

int redact_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, cap, 0};
    va_list aq;
    va_copy(aq, ap);
    int rc = 0;
    for (const char *p = fmt; *p;) {
        if (*p != '%') {
            const char *q = strchrnul(p, '%');
            put(&o, p, (size_t)(q - p));
            p = q;
            continue;
        }
        /* One conversion: copied into spec with '*' widths and precisions made literal, so it
         * can be printed on its own. */
        char spec[48];
        size_t sl = 0;
        spec[sl++] = *p++;
        while (*p && strchr("-+ #0'", *p) && sl < 8)
            spec[sl++] = *p++;
        if (*p == '*') {
            int w = va_arg(aq, int);
            sl += (size_t)snprintf(spec + sl, sizeof spec - sl, "%s%d", w < 0 ? "-" : "",
                                   w < 0 ? -w : w);
            p++;
        } else {
            while (*p >= '0' && *p <= '9' && sl < 20)
                spec[sl++] = *p++;
        }
        size_t before_prec = sl;
        int prec = -1;
        if (*p == '.') {
            p++;
            prec = 0;
            if (*p == '*') {
                prec = va_arg(aq, int);
                p++;
            } else {
                while (*p >= '0' && *p <= '9')
                    prec = prec * 10 + (*p++ - '0');
            }
            if (prec >= 0)
                sl += (size_t)snprintf(spec + sl, sizeof spec - sl, ".%d", prec);
        }
        char len[3] = "";
        size_t ll = 0;
        while (*p && strchr("hljztLq", *p) && ll < 2)
            len[ll++] = *p++;
        len[ll] = '\0';
        char conv = *p ? *p++ : '\0';
        if (sl + ll + 2 > sizeof spec) {
            rc = -1;
            break;
        }
        memcpy(spec + sl, len, ll);
        sl += ll;
        spec[sl++] = conv;
        spec[sl] = '\0';
        bool l = ll == 1 && len[0] == 'l', L2 = (ll == 2 && len[0] == 'l') || len[0] == 'q',
             j = len[0] == 'j', z = len[0] == 'z', t = len[0] == 't';
        switch (conv) {
        case '%':
            put(&o, "%", 1);
            break;
        case 'd':
        case 'i':
            if (l)
                emit(&o, spec, va_arg(aq, long));
            else if (L2)
                emit(&o, spec, va_arg(aq, long long));
            else if (j)
                emit(&o, spec, va_arg(aq, intmax_t));
            else if (z)
                emit(&o, spec, va_arg(aq, ssize_t));
            else if (t)
                emit(&o, spec, va_arg(aq, ptrdiff_t));
            else
                emit(&o, spec, va_arg(aq, int)); /* also hh and h: promoted to int */
            break;
        case 'u':
        case 'o':
        case 'x':
        case 'X':
            if (l)
                emit(&o, spec, va_arg(aq, unsigned long));
            else if (L2)
                emit(&o, spec, va_arg(aq, unsigned long long));
            else if (j)
                emit(&o, spec, va_arg(aq, uintmax_t));
            else if (z)
                emit(&o, spec, va_arg(aq, size_t));
            else if (t)
                emit(&o, spec, va_arg(aq, ptrdiff_t));
            else
                emit(&o, spec, va_arg(aq, unsigned));
            break;
        case 'c':
            if (ll) {
                rc = -1;
                break;
            }
            emit(&o, spec, va_arg(aq, int));
            break;
        case 's': {
            if (ll) {
                rc = -1;
                break;
            }
            /* the precision is applied after redaction: spec keeps flags and width only */
            spec[before_prec] = 's';
            spec[before_prec + 1] = '\0';
            emit_string(&o, spec, va_arg(aq, const char *), prec);
            break;
        }
        case 'p':
            emit(&o, spec, va_arg(aq, void *));
            break;
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
        case 'a':
        case 'A':
            if (len[0] == 'L')
                emit(&o, spec, va_arg(aq, long double));
            else
                emit(&o, spec, va_arg(aq, double));
            break;
        default:
            rc = -1; /* %n, wide characters, or a malformed spec */
            break;
        }
        if (rc)
            break;
    }
    va_end(aq);
    finish(&o);
    return rc ? -1 : (int)o.len;
}

int redact_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = redact_vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void redact_vsay(const char *who, const char *fmt, va_list ap)
{
    char line[1024];
    redact_vsnprintf(line, sizeof line, fmt, ap);
    redact_message(line, sizeof line);
    fprintf(stderr, "%s: %s\n", who, line);
}
