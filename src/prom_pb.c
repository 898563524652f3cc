/* prom_pb: the remote-write 1.0 body (see prom.h): a proto3 WriteRequest written by hand, and
 * its snappy block compression (libsnappy's C API).
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   (ms since the epoch)
 *
 * Every message is length-delimited inside its parent, so each one's size is worked out
 * before it is written (the sizes are small sums; nothing is written twice). */
#include "prom.h"

#include <errno.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

/* Wire types. */
#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define TAG(field, wt) ((uint8_t)((field) << 3 | (wt)))

void prom_buf_free(prom_buf *b)
{
    if (b) {
        free(b->p);
        *b = (prom_buf){0};
    }
}

static bool room(prom_buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void put(prom_buf *b, const void *s, size_t n)
{
    if (room(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void varint(prom_buf *b, uint64_t v)
{
    uint8_t s[10];
    size_t n = 0;
    while (v >= 0x80) {
        s[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    s[n++] = (uint8_t)v;
    put(b, s, n);
}

/* A length-delimited field's size: its tag, its length's varint and its payload. */
static size_t len_field(size_t payload)
{
    return 1 + varint_len(payload) + payload;
}

static void string_field(prom_buf *b, uint8_t tag, const char *s, size_t n)
{
    put(b, &tag, 1);
    varint(b, n);
    put(b, s, n);
}

void prom_pb_series(prom_buf *b, const prom_label *labels, size_t nlabels, double value,
                    int64_t ts_ms)
{
    size_t ts_size = 0;
    for (size_t i = 0; i < nlabels; i++)
        if (labels[i].value[0])
            ts_size +=
                len_field(len_field(strlen(labels[i].name)) + len_field(strlen(labels[i].value)));
    /* a negative int64 is a 10-byte varint of its two's complement, as proto3 has it */
    size_t sample = 1 + 8 + 1 + varint_len((uint64_t)ts_ms);
    ts_size += len_field(sample);

    uint8_t tag = TAG(1, WT_LEN);
    put(b, &tag, 1);
    varint(b, ts_size);
    for (size_t i = 0; i < nlabels; i++) {
        if (!labels[i].value[0])
            continue;
        size_t nl = strlen(labels[i].name), vl = strlen(labels[i].value);
        tag = TAG(1, WT_LEN);
        put(b, &tag, 1);
        varint(b, len_field(nl) + len_field(vl));
        string_field(b, TAG(1, WT_LEN), labels[i].name, nl);
        string_field(b, TAG(2, WT_LEN), labels[i].value, vl);
    }
    tag = TAG(2, WT_LEN);
    put(b, &tag, 1);
    varint(b, sample);
    tag = TAG(1, WT_I64);
    put(b, &tag, 1);
    uint64_t bits;
    memcpy(&bits, &value, 8);
    uint8_t le[8];
    for (int i = 0; i < 8; i++) /* fixed64 is little-endian whatever the host */
        le[i] = (uint8_t)(bits >> (8 * i));
    put(b, le, 8);
    tag = TAG(2, WT_VARINT);
    put(b, &tag, 1);
    varint(b, (uint64_t)ts_ms);
}

typedef struct pb_visit {
    prom_buf *b;
    int64_t ts;
    size_t n;
} pb_visit;

#define MAX_LABELS 8

static void pb_sample(void *ctx, const prom_family *f, const char *suffix, const prom_label *labels,
                      size_t nlabels, double value)
{
    pb_visit *v = ctx;
    char name[128];
    snprintf(name, sizeof name, "%s%s", f->name, suffix);
    prom_label l[MAX_LABELS + 1] = {{"__name__", name}};
    for (size_t i = 0; i < nlabels && i < MAX_LABELS; i++)
        l[i + 1] = labels[i];
    prom_pb_series(v->b, l, (nlabels < MAX_LABELS ? nlabels : MAX_LABELS) + 1, value, v->ts);
    v->n++;
}

size_t prom_pb_run(prom_buf *b, const report_run *run, const char *testid, int64_t ts_ms)
{
    pb_visit v = {b, ts_ms, 0};
    prom_visit(run, testid, pb_sample, &v);
    return v.n;
}

int prom_snappy(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
    size_t n = snappy_max_compressed_length(len);
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return -ENOMEM;
    if (snappy_compress((const char *)in, len, (char *)p, &n) != SNAPPY_OK) {
        free(p);
        return -ENOMEM; /* only a too-small output buffer fails, and this one is large enough */
    }
    *out = p;
    *outlen = n;
    return 0;
}
