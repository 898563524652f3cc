/* hdrlog: owns the conversion of blast's histograms to HdrHistogram's V2 compressed encoding
 * (see include/hdrlog.h): the HDR layout, the varint payload, the zlib wrapping and base64.
 *
 * Why counts are split. Both layouts keep 3 significant digits with 1024 slots an octave, but
 * blast's are in µs and HDR's in ns, so they are not aligned: a blast slot of width w µs (w a
 * power of two, the slot at L µs with 2^e <= L < 2^(e+1), w = 2^(e-10) for L >= 2048) is 1000 w
 * ns wide, and the HDR slots at 1000 L ns are 1024 w wide, or 512 w where 1000 L < 2^(e+10)
 * (the first 2.4% of each octave). So a blast slot often straddles a boundary between two HDR
 * slots, and near the bottom of an octave covers up to three. hdrlog_convert then shares its
 * count between them by how many of the slot's whole-µs values each holds: the total is kept,
 * every count stays within the blast slot (so a percentile read back is still within blast's
 * precision), and the max slot is narrowed to end at the exact max. Slots below 2048 µs are
 * one µs wide: their value is exact and lands in one HDR slot whole.
 *
 * Invariant of a payload: bytes for every index in [0, next) have been written; a pending
 * count (idx >= next, cnt > 0) is written when a higher index arrives or at the end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hdrlog.h"

__extension__ typedef unsigned __int128 hdrlog_u128;

#define SUB_MAG 11u  /* log2(HDRLOG_SUB_COUNT) */
#define HALF_MAG 10u /* log2(HDRLOG_SUB_COUNT / 2) */
/* The largest µs value carried over: HdrHistogram's highest trackable value must stay below
 * 2^63 / 2, and it is 1000 times this (about 146 years). */
#define MAX_US ((uint64_t)INT64_MAX / 2 / 1000)

size_t hdrlog_varint(uint8_t out[9], int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
    size_t n = 0;
    while (n < 8) {
        if ((u >> 7) == 0) {
            out[n++] = (uint8_t)u;
            return n;
        }
        out[n++] = (uint8_t)((u & 0x7f) | 0x80);
        u >>= 7;
    }
    out[n++] = (uint8_t)u; /* the 9th byte: the top 8 bits, no continuation flag */
    return n;
}

size_t hdrlog_index(uint64_t v)
{
    unsigned b = 64 - (unsigned)__builtin_clzll(v | (HDRLOG_SUB_COUNT - 1)) - SUB_MAG;
    return ((size_t)b << HALF_MAG) + (size_t)(v >> b);
}

void hdrlog_slot(size_t i, uint64_t *lowest, uint64_t *width)
{
    if (i < HDRLOG_SUB_COUNT) {
        *lowest = i;
        *width = 1;
        return;
    }
    unsigned b = (unsigned)(i >> HALF_MAG) - 1;
    uint64_t half = HDRLOG_SUB_COUNT / 2;
    *lowest = ((i & (half - 1)) + half) << b;
    *width = (uint64_t)1 << b;
}

typedef struct conv {
    hdrlog_count_fn fn;
    void *ctx;
    uint64_t min, max; /* µs, h's */
} conv;

/* One blast slot: its µs values lo..hi, count c. */
static void conv_slot(void *ctx, uint64_t lowest, uint64_t width, uint64_t c)
{
    conv *cv = ctx;
    uint64_t lo = lowest, hi = lowest + width - 1;
    if (lo < cv->min)
        lo = cv->min;
    if (hi > cv->max)
        hi = cv->max;
    if (lo > MAX_US)
        lo = MAX_US;
    if (hi > MAX_US)
        hi = MAX_US;
    if (hi < lo)
        hi = lo;
    size_t ia = hdrlog_index(lo * 1000), ib = hdrlog_index(hi * 1000);
    if (ia == ib) {
        cv->fn(cv->ctx, ia, c);
        return;
    }
    /* Cumulative rounding: the parts up to slot i add up to floor(c * values so far / all
     * values), so they add up to c, and the last part (which holds hi, so the max) is at least
     * one. */
    uint64_t all = hi - lo + 1, seen = 0, given = 0;
    for (size_t i = ia; i <= ib; i++) {
        uint64_t s, w;
        hdrlog_slot(i, &s, &w);
        uint64_t first = (s + 999) / 1000, last = (s + w - 1) / 1000;
        if (first < lo)
            first = lo;
        if (last > hi)
            last = hi;
        if (last < first)
            continue; /* an HDR slot narrower than 1 µs between two whole µs */
        seen += last - first + 1;
        uint64_t upto = (uint64_t)((hdrlog_u128)c * seen / all);
        if (upto > given)
            cv->fn(cv->ctx, i, upto - given);
        given = upto;
    }
}

void hdrlog_convert(const hist *h, hdrlog_count_fn fn, void *ctx)
{
    if (hist_count(h) == 0)
        return;
    conv cv = {.fn = fn, .ctx = ctx, .min = hist_min(h), .max = hist_max(h)};
    hist_foreach(h, conv_slot, &cv);
}

static void put(hdrlog_payload *p, int64_t v)
{
    if (p->cap - p->len < 9) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        uint8_t *b = realloc(p->buf, cap);
        if (!b) {
            p->nomem = true;
            return;
        }
        p->buf = b;
        p->cap = cap;
    }
    p->len += hdrlog_varint(p->buf + p->len, v);
}

static void flush(hdrlog_payload *p)
{
    size_t gap = p->idx - p->next;
    if (gap >= 2)
        put(p, -(int64_t)gap);
    else if (gap == 1)
        put(p, 0);
    put(p, p->cnt > INT64_MAX ? INT64_MAX : (int64_t)p->cnt);
    p->next = p->idx + 1;
    p->pending = false;
}

void hdrlog_payload_reset(hdrlog_payload *p)
{
    p->len = 0;
    p->next = 0;
    p->pending = false;
    p->nomem = false;
}

void hdrlog_payload_add(void *ctx, size_t index, uint64_t count)
{
    hdrlog_payload *p = ctx;
    if (count == 0 || index < p->next)
        return;
    if (p->pending) {
        if (index == p->idx) {
            p->cnt += count;
            return;
        }
        if (index < p->idx)
            return;
        flush(p);
    }
    p->idx = index;
    p->cnt = count;
    p->pending = true;
}

int hdrlog_payload_end(hdrlog_payload *p)
{
    if (p->pending)
        flush(p);
    else if (p->next == 0) /* empty: HdrHistogram writes the one count up to its max of 0 */
        put(p, 0);
    return p->nomem ? -ENOMEM : 0;
}

void hdrlog_payload_free(hdrlog_payload *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

static uint8_t *be32(uint8_t *o, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        *o++ = (uint8_t)(v >> (8 * i));
    return o;
}

static uint8_t *be64(uint8_t *o, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *o++ = (uint8_t)(v >> (8 * i));
    return o;
}

/* buf (of *cap bytes), or a larger copy of at least n bytes; NULL (buf unchanged) when out of
 * memory. */
static void *grow(void *buf, size_t *cap, size_t n)
{
    if (*cap >= n)
        return buf;
    void *b = realloc(buf, n);
    if (b)
        *cap = n;
    return b;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 base64 with padding (what java.util.Base64 reads). */
static void base64(char *out, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64chars[v >> 18];
        *out++ = b64chars[(v >> 12) & 63];
        *out++ = b64chars[(v >> 6) & 63];
        *out++ = b64chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = b64chars[v >> 18];
        *out++ = b64chars[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = b64chars[v >> 18];
        *out++ = b64chars[(v >> 12) & 63];
        *out++ = b64chars[(v >> 6) & 63];
        *out++ = '=';
    }
    *out = '\0';
}

int hdrlog_encode(hdrlog_enc *e, const hist *h, const char **text)
{
    hdrlog_payload_reset(&e->pl);
    hdrlog_convert(h, hdrlog_payload_add, &e->pl);
    if (hdrlog_payload_end(&e->pl) < 0)
        return -ENOMEM;

    size_t raw_len = HDRLOG_HEADER_LEN + e->pl.len;
    uint8_t *raw = grow(e->raw, &e->raw_cap, raw_len);
    if (!raw)
        return -ENOMEM;
    e->raw = raw;
    uint64_t highest = hist_highest(h);
    if (highest > MAX_US)
        highest = MAX_US;
    double ratio = 1.0;
    uint64_t ratio_bits;
    memcpy(&ratio_bits, &ratio, sizeof ratio_bits);
    uint8_t *o = be32(e->raw, HDRLOG_COOKIE);
    o = be32(o, (uint32_t)e->pl.len);
    o = be32(o, 0); /* normalizing index offset */
    o = be32(o, HDRLOG_DIGITS);
    o = be64(o, 1); /* lowest discernible value, ns */
    o = be64(o, highest * 1000);
    o = be64(o, ratio_bits);
    memcpy(o, e->pl.buf, e->pl.len);

    uLong bound = compressBound((uLong)raw_len);
    uint8_t *z = grow(e->z, &e->z_cap, 8 + (size_t)bound);
    if (!z)
        return -ENOMEM;
    e->z = z;
    uLongf zlen = bound;
    int zrc = compress2(e->z + 8, &zlen, e->raw, (uLong)raw_len, Z_DEFAULT_COMPRESSION);
    if (zrc == Z_MEM_ERROR)
        return -ENOMEM;
    if (zrc != Z_OK)
        return -EIO;
    be32(be32(e->z, HDRLOG_COMPRESSED_COOKIE), (uint32_t)zlen);

    size_t n = 8 + (size_t)zlen;
    char *t = grow(e->text, &e->text_cap, (n + 2) / 3 * 4 + 1);
    if (!t)
        return -ENOMEM;
    e->text = t;
    base64(e->text, e->z, n);
    *text = e->text;
    return 0;
}

void hdrlog_enc_free(hdrlog_enc *e)
{
    if (!e)
        return;
    hdrlog_payload_free(&e->pl);
    free(e->raw);
    free(e->z);
    free(e->text);
    memset(e, 0, sizeof *e);
}
