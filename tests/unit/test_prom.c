/* prom: the remote-write encoder against bytes worked out by hand from the protobuf wire
 * format, snappy's block format read back by libsnappy's own decoder, and the scrape address
 * rules as a table. */
#include <criterion/criterion.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

/* WriteRequest { timeseries { labels {__name__: "up"} labels {job: "x"}
 *                             samples {value: 1.0, timestamp: 1000} } } */
static const uint8_t one_series[] = {
    0x0a, 0x28,                                           /* timeseries (1, LEN), 40 bytes */
    0x0a, 0x0e,                                           /*   labels (1, LEN), 14 bytes */
    0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_',   /*     name (1, LEN) "__name__" */
    0x12, 0x02, 'u', 'p',                                 /*     value (2, LEN) "up" */
    0x0a, 0x08,                                           /*   labels, 8 bytes */
    0x0a, 0x03, 'j', 'o', 'b',                            /*     name "job" */
    0x12, 0x01, 'x',                                      /*     value "x" */
    0x12, 0x0c,                                           /*   samples (2, LEN), 12 bytes */
    0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,                   /*     value (1, I64) 1.0 LE */
    0x10, 0xe8, 0x07,                                     /*     timestamp (2, VARINT) 1000 */
};

Test(prom, one_series_by_hand)
{
    prom_buf b = {0};
    /* an empty value is left out: remote write has no empty labels */
    prom_label l[] = {{"__name__", "up"}, {"instance", ""}, {"job", "x"}};
    prom_pb_series(&b, l, 3, 1.0, 1000);
    cr_assert(!b.oom);
    cr_assert_eq(b.len, sizeof one_series, "%zu bytes", b.len);
    cr_expect_arr_eq(b.p, one_series, sizeof one_series);
    /* a second series is a second field 1 of the WriteRequest, right after the first */
    prom_pb_series(&b, l, 3, 1.0, 1000);
    cr_assert_eq(b.len, 2 * sizeof one_series);
    cr_expect_arr_eq(b.p + sizeof one_series, one_series, sizeof one_series);
    prom_buf_free(&b);
}

Test(prom, long_fields_and_large_timestamps)
{
    /* a 200-byte value needs a two-byte length; a 2024 timestamp a six-byte varint */
    char v[201];
    memset(v, 'v', 200);
    v[200] = '\0';
    prom_buf b = {0};
    prom_label l[] = {{"__name__", v}};
    prom_pb_series(&b, l, 1, 0.5, 1700000000000LL);
    /* label: 0a 08 __name__ (10) + 12 c8 01 v*200 (203) = 213 = d5 01 -> 0a d5 01 + 213 = 216
     * sample: 09 + 8 + 10 + 6 = 16 -> 12 10 + 16 = 18; series 234 = ea 01 -> 0a ea 01 + 234 */
    cr_assert_eq(b.len, 3 + 234);
    const uint8_t head[] = {0x0a, 0xea, 0x01, 0x0a, 0xd5, 0x01, 0x0a, 0x08};
    cr_expect_arr_eq(b.p, head, sizeof head);
    const uint8_t vlen[] = {0x12, 0xc8, 0x01};
    cr_expect_arr_eq(b.p + 16, vlen, sizeof vlen);
    /* 1700000000000 = 0x18BCFE56800 as a varint */
    const uint8_t ts[] = {0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31};
    cr_expect_arr_eq(b.p + b.len - sizeof ts, ts, sizeof ts);
    prom_buf_free(&b);
}

Test(prom, snappy_round_trips)
{
    prom_buf b = {0};
    prom_label l[] = {{"__name__", "k6_http_reqs_total"}, {"scenario", "api"}, {"testid", "t"}};
    for (int i = 0; i < 500; i++)
        prom_pb_series(&b, l, 3, (double)i, 1700000000000LL + i);
    uint8_t *z;
    size_t zl;
    cr_assert_eq(prom_snappy(b.p, b.len, &z, &zl), 0);
    cr_expect_lt(zl, b.len / 4, "repetitive series should compress: %zu of %zu", zl, b.len);
    size_t ul;
    cr_assert_eq(snappy_uncompressed_length((const char *)z, zl, &ul), SNAPPY_OK);
    cr_assert_eq(ul, b.len);
    char *u = malloc(ul);
    cr_assert_eq(snappy_uncompress((const char *)z, zl, u, &ul), SNAPPY_OK);
    cr_expect_arr_eq(u, b.p, b.len);
    free(u);
    free(z);
    prom_buf_free(&b);
}

static const struct {
    const char *dest, *host, *port; /* host NULL: refused */
} addrs[] = {
    {"9464", "127.0.0.1", "9464"},
    {"127.0.0.1:9464", "127.0.0.1", "9464"},
    {"0.0.0.0:9000", "0.0.0.0", "9000"},
    {"[::1]:9464", "::1", "9464"},
    {"localhost:1", "localhost", "1"},
    {":9464", NULL, NULL}, /* every interface only when asked for by name */
    {"127.0.0.1:", NULL, NULL},
    {"127.0.0.1:0", NULL, NULL},
    {"127.0.0.1:65536", NULL, NULL},
    {"x", NULL, NULL},
    {"", NULL, NULL},
};

Test(prom, scrape_addresses)
{
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        char host[64], port[8], err[256] = "";
        int rc = prom_split_addr(addrs[i].dest, host, sizeof host, port, sizeof port, err,
                                 sizeof err);
        if (!addrs[i].host) {
            cr_expect_lt(rc, 0, "%s accepted", addrs[i].dest);
            cr_expect(err[0], "%s: no reason", addrs[i].dest);
            continue;
        }
        cr_expect_eq(rc, 0, "%s: %s", addrs[i].dest, err);
        cr_expect_str_eq(host, addrs[i].host, "%s", addrs[i].dest);
        cr_expect_str_eq(port, addrs[i].port, "%s", addrs[i].dest);
    }
}
