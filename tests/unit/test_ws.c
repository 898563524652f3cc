/* Tests for ws: the frame parser as tables of server bytes and the events they must give (each
 * row fed whole, one byte at a time, split in two at every position, every piece placed against a
 * guard page; and every truncation of it must be a clean "need more"), the encoder at the length
 * boundaries 125/126/65535/65536 and its masking, UTF-8 validation, and the handshake key and
 * accept values against RFC 6455's own example. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ws.h"

/* A buffer whose last readable byte sits right before a PROT_NONE page. */
typedef struct guard {
    uint8_t *base;
    size_t size;
} guard;

static guard guard_new(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = (n + page - 1) / page * page;
    if (size == 0)
        size = page;
    void *m = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(m != MAP_FAILED, "mmap: %s", strerror(errno));
    cr_assert(mprotect((uint8_t *)m + size, page, PROT_NONE) == 0, "mprotect");
    return (guard){.base = m, .size = size};
}

static void guard_free(guard *g)
{
    munmap(g->base, g->size + (size_t)sysconf(_SC_PAGESIZE));
}

static const uint8_t *guard_place(guard *g, const uint8_t *src, size_t n)
{
    uint8_t *dst = g->base + g->size - n;
    if (n)
        memcpy(dst, src, n);
    return dst;
}

/* What a stream of events says, as text: messages reassembled from their pieces. */
typedef struct trace {
    char out[4096];
    size_t olen;
    uint8_t *msg; /* the message being reassembled */
    size_t mlen, mcap;
    bool failed;
    size_t events;
} trace;

static void trace_put(trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace_put(trace *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->out + t->olen, sizeof t->out - t->olen, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof t->out - t->olen, "trace overflow");
    t->olen += (size_t)n;
}

static void trace_bytes(trace *t, const char *tag, const uint8_t *p, size_t n)
{
    if (n > 40) {
        trace_put(t, "%s[%zu] ", tag, n);
        return;
    }
    trace_put(t, "%s(%.*s) ", tag, (int)n, (const char *)p);
}

/* Records one event (an error ends the stream). */
static void trace_event(trace *t, const ws_event *ev)
{
    t->events++;
    switch (ev->kind) {
    case WS_EV_NONE:
        t->events--;
        break;
    case WS_EV_DATA:
        if (ev->len) {
            if (t->mlen + ev->len > t->mcap) {
                t->mcap = (t->mlen + ev->len) * 2;
                t->msg = realloc(t->msg, t->mcap);
                cr_assert(t->msg);
            }
            memcpy(t->msg + t->mlen, ev->data, ev->len);
            t->mlen += ev->len;
        }
        cr_assert_eq(ev->msg_len, t->mlen, "msg_len %llu, reassembled %zu",
                     (unsigned long long)ev->msg_len, t->mlen);
        if (ev->fin) {
            trace_bytes(t, ev->opcode == WS_OP_TEXT ? "text" : "bin", t->msg, t->mlen);
            t->mlen = 0;
        }
        break;
    case WS_EV_PING:
        trace_bytes(t, "ping", ev->data, ev->len);
        break;
    case WS_EV_PONG:
        trace_bytes(t, "pong", ev->data, ev->len);
        break;
    case WS_EV_CLOSE:
        trace_put(t, "close(%u,%.*s) ", ev->code, (int)ev->len, (const char *)ev->data);
        break;
    case WS_EV_ERROR:
        trace_put(t, "error(%u:%s) ", ev->code, ev->error);
        t->failed = true;
        break;
    }
}

/* Feeds one piece through the parser until it is used up or the stream fails. */
static void feed(ws_parser *p, trace *t, const uint8_t *buf, size_t n)
{
    while (!t->failed) {
        ws_event ev;
        size_t used = ws_parse(p, buf, n, &ev);
        cr_assert(used <= n, "consumed %zu of %zu", used, n);
        if (ev.kind == WS_EV_DATA && ev.len)
            cr_assert(ev.data >= buf && ev.data + ev.len <= buf + used, "data outside the input");
        if (ev.kind == WS_EV_NONE)
            cr_assert_eq(used, n, "no event, yet %zu of %zu bytes left", n - used, n);
        trace_event(t, &ev);
        buf += used;
        n -= used;
        if (n == 0 && ev.kind == WS_EV_NONE)
            break;
        if (n == 0 && ev.kind != WS_EV_ERROR) {
            /* one more call with nothing: must report nothing */
            size_t u2 = ws_parse(p, buf, 0, &ev);
            cr_assert_eq(u2, 0);
            cr_assert(ev.kind == WS_EV_NONE || ev.kind == WS_EV_ERROR);
            break;
        }
    }
}

static void trace_free(trace *t)
{
    free(t->msg);
}

/* Parses in pieces cut at cuts[0..ncuts) (increasing), each piece against the guard page. */
static void run_cuts(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts, uint64_t max,
                     char *out, size_t cap, bool *mid)
{
    guard g = guard_new(n + 1);
    ws_parser p = {.max_msg = max, .check_utf8 = true};
    trace t = {0};
    size_t off = 0;
    for (size_t c = 0; c <= ncuts && !t.failed; c++) {
        size_t end = c < ncuts ? cuts[c] : n;
        const uint8_t *piece = guard_place(&g, in + off, end - off);
        feed(&p, &t, piece, end - off);
        off = end;
    }
    snprintf(out, cap, "%.*s", (int)t.olen, t.out);
    if (mid)
        *mid = ws_parser_mid(&p);
    trace_free(&t);
    guard_free(&g);
}

static void run_whole(const uint8_t *in, size_t n, uint64_t max, char *out, size_t cap)
{
    run_cuts(in, n, NULL, 0, max, out, cap, NULL);
}

typedef struct row {
    const char *name;
    const char *wire;
    size_t len;
    const char *want;
    uint64_t max; /* 0: default */
} row;

#define W(s) s, sizeof(s) - 1

static const row ROWS[] = {
    {"text", W("\x81\x05hello"), "text(hello) ", 0},
    {"binary", W("\x82\x03" "a\0b"), "bin(a) ", 0},
    {"empty text", W("\x81\x00"), "text() ", 0},
    {"two messages", W("\x81\x01" "a\x82\x01" "b"), "text(a) bin(b) ", 0},
    {"ping", W("\x89\x04ping"), "ping(ping) ", 0},
    {"empty ping", W("\x89\x00"), "ping() ", 0},
    {"pong", W("\x8A\x02hi"), "pong(hi) ", 0},
    {"close no code", W("\x88\x00"), "close(1005,) ", 0},
    {"close 1000 reason", W("\x88\x05\x03\xE8" "bye"), "close(1000,bye) ", 0},
    {"close 1011", W("\x88\x02\x03\xF3"), "close(1011,) ", 0},
    {"close 4999", W("\x88\x02\x13\x87"), "close(4999,) ", 0},
    {"fragmented", W("\x01\x03Hel\x80\x02lo"), "text(Hello) ", 0},
    {"three fragments", W("\x02\x01" "a\x00\x01" "b\x80\x01" "c"), "bin(abc) ", 0},
    {"empty fragments", W("\x01\x00\x00\x00\x80\x00"), "text() ", 0},
    {"ping between fragments", W("\x01\x03Hel\x89\x01p\x80\x02lo"), "ping(p) text(Hello) ", 0},
    {"close between fragments", W("\x01\x03Hel\x88\x02\x03\xE8"), "close(1000,) ", 0},
    {"utf8 text", W("\x81\x04\xE2\x82\xAC!"), "text(\xE2\x82\xAC!) ", 0},
    {"utf8 split across fragments", W("\x01\x02\xE2\x82\x80\x01\xAC"), "text(\xE2\x82\xAC) ", 0},
    {"binary not checked as utf8", W("\x82\x01\xFF"), "bin(\xFF) ", 0},
    {"16-bit length", W("\x81\x7E\x00\x03" "abc"), "text(abc) ", 0},
    {"64-bit length", W("\x81\x7F\x00\x00\x00\x00\x00\x00\x00\x02" "ab"), "text(ab) ", 0},

    {"masked frame", W("\x81\x85\x01\x02\x03\x04hello"), "error(1002:masked frame from server) ", 0},
    {"rsv1", W("\xC1\x01" "a"), "error(1002:reserved bits set without an extension) ", 0},
    {"rsv2", W("\xA1\x01" "a"), "error(1002:reserved bits set without an extension) ", 0},
    {"rsv3", W("\x91\x01" "a"), "error(1002:reserved bits set without an extension) ", 0},
    {"opcode 3", W("\x83\x00"), "error(1002:unknown opcode) ", 0},
    {"opcode 7", W("\x87\x00"), "error(1002:unknown opcode) ", 0},
    {"opcode B", W("\x8B\x00"), "error(1002:unknown opcode) ", 0},
    {"opcode F", W("\x8F\x00"), "error(1002:unknown opcode) ", 0},
    {"fragmented ping", W("\x09\x00"), "error(1002:fragmented control frame) ", 0},
    {"long ping", W("\x89\x7E\x00\x7E"), "error(1002:control frame longer than 125 bytes) ", 0},
    {"continuation first", W("\x80\x01" "a"), "error(1002:continuation frame without a message) ", 0},
    {"text inside fragments", W("\x01\x01" "a\x81\x01" "b"),
     "error(1002:new message inside a fragmented one) ", 0},
    {"close 1-byte payload", W("\x88\x01\x03"), "error(1002:close frame with a 1-byte payload) ", 0},
    {"close code 999", W("\x88\x02\x03\xE7"), "error(1002:invalid close code) ", 0},
    {"close code 1005", W("\x88\x02\x03\xED"), "error(1002:invalid close code) ", 0},
    {"close code 1006", W("\x88\x02\x03\xEE"), "error(1002:invalid close code) ", 0},
    {"close code 5000", W("\x88\x02\x13\x88"), "error(1002:invalid close code) ", 0},
    {"close reason not utf8", W("\x88\x03\x03\xE8\xFF"), "error(1007:close reason is not UTF-8) ", 0},
    {"text not utf8", W("\x81\x01\xFF"), "error(1007:invalid UTF-8 in a text message) ", 0},
    {"text ends mid-character", W("\x81\x02" "a\xE2"), "error(1007:invalid UTF-8 in a text message) ", 0},
    {"surrogate", W("\x81\x03\xED\xA0\x80"), "error(1007:invalid UTF-8 in a text message) ", 0},
    {"data after close", W("\x88\x00\x81\x00"), "close(1005,) error(1002:data after close) ", 0},
    {"64-bit top bit", W("\x82\x7F\x80\x00\x00\x00\x00\x00\x00\x00"),
     "error(1002:64-bit length with the top bit set) ", 0},
    {"message over the bound", W("\x82\x05" "abcde"), "error(1009:message larger than the bound) ",
     4},
    {"fragments over the bound", W("\x02\x03" "abc\x80\x02" "de"),
     "bin(abc) error(1009:message larger than the bound) ", 4},
    {"message at the bound", W("\x02\x02" "ab\x80\x02" "cd"), "bin(abcd) ", 4},
};

/* The bin tag of a fragment that is not the message's end shows only in the final text: the
 * row "fragments over the bound" fails before its end, so its first piece is not a message. */
static const char *expect(const row *r)
{
    if (strcmp(r->name, "fragments over the bound") == 0)
        return "error(1009:message larger than the bound) ";
    return r->want;
}

Test(ws_parse, table_whole)
{
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        char got[4096];
        run_whole((const uint8_t *)ROWS[i].wire, ROWS[i].len, ROWS[i].max, got, sizeof got);
        cr_expect_str_eq(got, expect(&ROWS[i]), "%s", ROWS[i].name);
    }
}

Test(ws_parse, table_byte_at_a_time)
{
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        size_t n = ROWS[i].len;
        size_t *cuts = calloc(n ? n : 1, sizeof *cuts);
        for (size_t k = 1; k < n; k++)
            cuts[k - 1] = k;
        char got[4096];
        run_cuts((const uint8_t *)ROWS[i].wire, n, cuts, n ? n - 1 : 0, ROWS[i].max, got,
                 sizeof got, NULL);
        cr_expect_str_eq(got, expect(&ROWS[i]), "%s (byte at a time)", ROWS[i].name);
        free(cuts);
    }
}

Test(ws_parse, table_split_everywhere)
{
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        for (size_t k = 0; k <= ROWS[i].len; k++) {
            char got[4096];
            run_cuts((const uint8_t *)ROWS[i].wire, ROWS[i].len, &k, 1, ROWS[i].max, got,
                     sizeof got, NULL);
            cr_expect_str_eq(got, expect(&ROWS[i]), "%s (split at %zu)", ROWS[i].name, k);
        }
    }
}

/* Every proper prefix of a valid stream is a clean "need more": no error, and the events it
 * gives are a prefix of the whole stream's (a message cut short is not reported as ended), and
 * before the first event the parser knows a frame is cut (ws_parser_mid). */
Test(ws_parse, truncation_at_every_byte)
{
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        if (strstr(ROWS[i].want, "error("))
            continue;
        for (size_t k = 0; k < ROWS[i].len; k++) {
            char got[4096];
            bool mid = false;
            run_cuts((const uint8_t *)ROWS[i].wire, k, NULL, 0, ROWS[i].max, got, sizeof got,
                     &mid);
            cr_expect(strstr(got, "error(") == NULL, "%s cut at %zu: %s", ROWS[i].name, k, got);
            cr_expect(strncmp(got, ROWS[i].want, strlen(got)) == 0, "%s cut at %zu: %s",
                      ROWS[i].name, k, got);
            if (k > 0 && got[0] == '\0')
                cr_expect(mid, "%s cut at %zu: the parser must know a frame is cut",
                          ROWS[i].name, k);
        }
    }
}

/* Frames built by the encoder (unmasked, as a server sends them) at the length boundaries. */
Test(ws_parse, lengths_at_boundaries)
{
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    static const size_t heads[] = {2, 2, 2, 4, 4, 4, 10, 10};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        uint8_t *pl = malloc(n + 1), *fr = malloc(n + WS_HEAD_MAX);
        for (size_t j = 0; j < n; j++)
            pl[j] = (uint8_t)('a' + j % 26);
        ssize_t fl = ws_frame_put(fr, n + WS_HEAD_MAX, WS_FIN | WS_OP_BINARY, pl, n, false, 0);
        cr_assert_eq(fl, (ssize_t)(heads[i] + n), "len %zu: frame %zd", n, fl);
        cr_assert_eq(ws_head_len(n, false), heads[i]);
        cr_assert_eq(ws_head_len(n, true), heads[i] + 4);
        guard g = guard_new((size_t)fl);
        const uint8_t *in = guard_place(&g, fr, (size_t)fl);
        ws_parser p = {.max_msg = 1u << 20};
        ws_event ev;
        size_t used = ws_parse(&p, in, (size_t)fl, &ev);
        cr_assert_eq(used, (size_t)fl, "len %zu", n);
        cr_assert_eq(ev.kind, WS_EV_DATA, "len %zu", n);
        cr_assert(ev.fin);
        cr_assert_eq(ev.len, n);
        cr_assert(n == 0 || memcmp(ev.data, pl, n) == 0);
        /* byte at a time, reassembled */
        ws_parser q = {0};
        size_t got = 0;
        bool fin = false;
        for (size_t b = 0; b < (size_t)fl; b++) {
            const uint8_t *one = guard_place(&g, fr + b, 1);
            size_t u = ws_parse(&q, one, 1, &ev);
            cr_assert_eq(u, 1);
            if (ev.kind == WS_EV_DATA) {
                cr_assert(ev.len == 0 || ev.data[0] == pl[got]);
                got += ev.len;
                fin = ev.fin;
            } else {
                cr_assert_eq(ev.kind, WS_EV_NONE);
            }
        }
        cr_assert_eq(got, n);
        cr_assert(fin, "len %zu: the message ended", n);
        guard_free(&g);
        free(pl);
        free(fr);
    }
}

Test(ws_encode, header_bytes)
{
    uint8_t h[WS_HEAD_MAX];
    cr_assert_eq(ws_head_put(h, WS_FIN | WS_OP_TEXT, 125, true, 0x01020304), 6);
    cr_assert(memcmp(h, "\x81\xFD\x01\x02\x03\x04", 6) == 0);
    cr_assert_eq(ws_head_put(h, WS_FIN | WS_OP_TEXT, 126, true, 0x01020304), 8);
    cr_assert(memcmp(h, "\x81\xFE\x00\x7E\x01\x02\x03\x04", 8) == 0);
    cr_assert_eq(ws_head_put(h, WS_OP_BINARY, 65535, true, 0xA0B0C0D0), 8);
    cr_assert(memcmp(h, "\x02\xFE\xFF\xFF\xA0\xB0\xC0\xD0", 8) == 0);
    cr_assert_eq(ws_head_put(h, WS_FIN | WS_OP_BINARY, 65536, true, 0xA0B0C0D0), 14);
    cr_assert(memcmp(h, "\x82\xFF\x00\x00\x00\x00\x00\x01\x00\x00\xA0\xB0\xC0\xD0", 14) == 0);
    cr_assert_eq(ws_head_put(h, WS_FIN | WS_OP_PING, 0, false, 0), 2);
    cr_assert(memcmp(h, "\x89\x00", 2) == 0);
}

/* RFC 6455 section 5.7: a masked "Hello" with key 37 fa 21 3d. */
Test(ws_encode, rfc_masked_hello)
{
    uint8_t out[32];
    ssize_t n = ws_frame_put(out, sizeof out, WS_FIN | WS_OP_TEXT, "Hello", 5, true, 0x37fa213d);
    cr_assert_eq(n, 11);
    cr_assert(memcmp(out, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11) == 0);
    cr_assert_eq(ws_frame_put(out, 10, WS_FIN | WS_OP_TEXT, "Hello", 5, true, 1), -ENOSPC);
}

Test(ws_encode, seal_in_place_matches_put)
{
    static const size_t lens[] = {0, 5, 125, 126, 65535, 65536};
    ws_rng r;
    ws_rng_seed(&r, 42);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        uint8_t *a = malloc(WS_HEAD_MAX + n), *b = malloc(WS_HEAD_MAX + n), *pl = malloc(n + 1);
        for (size_t j = 0; j < n; j++)
            pl[j] = (uint8_t)(j * 7 + 3);
        uint32_t key = (uint32_t)ws_rng_next(&r);
        memcpy(a + WS_HEAD_MAX, pl, n);
        size_t off = ws_frame_seal(a, n, WS_FIN | WS_OP_BINARY, key);
        ssize_t bl = ws_frame_put(b, WS_HEAD_MAX + n, WS_FIN | WS_OP_BINARY, pl, n, true, key);
        cr_assert_eq((ssize_t)(WS_HEAD_MAX - off + n), bl, "len %zu", n);
        cr_assert(memcmp(a + off, b, (size_t)bl) == 0, "len %zu", n);
        /* unmasking gives the payload back, whole or in odd pieces */
        size_t h = ws_head_len(n, true);
        ws_mask(b + h, n / 3, key, 0);
        ws_mask(b + h + n / 3, n - n / 3, key, n / 3);
        cr_assert(n == 0 || memcmp(b + h, pl, n) == 0, "len %zu", n);
        free(a);
        free(b);
        free(pl);
    }
}

Test(ws_encode, close_frame)
{
    uint8_t out[140];
    ssize_t n = ws_close_put(out, sizeof out, 1000, "done", 4, 0);
    cr_assert_eq(n, 2 + 4 + 6);
    cr_assert(memcmp(out, "\x88\x86\0\0\0\0\x03\xE8" "done", 12) == 0);
    cr_assert_eq(ws_close_put(out, sizeof out, 0, NULL, 0, 0), 6);
    char big[200];
    memset(big, 'x', sizeof big);
    n = ws_close_put(out, sizeof out, 1001, big, sizeof big, 0);
    cr_assert_eq(n, 6 + 125, "a reason is cut to fit a control frame");
}

Test(ws_rng, keys_vary)
{
    ws_rng r;
    ws_rng_seed(&r, 0);
    uint64_t a = ws_rng_next(&r), b = ws_rng_next(&r);
    cr_assert_neq(a, b);
    cr_assert_neq(a, 0);
    ws_rng z = {0};
    cr_assert_neq(ws_rng_next(&z), 0, "a zero state reseeds itself");
}

/* RFC 6455 section 1.3: this key's accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo= (SHA-1 of the
 * key and the GUID is b37a4f2cc0624f1690f64606cf385945b2bec4ea). */
Test(ws_handshake, rfc6455_example)
{
    char acc[29];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    cr_assert_eq(ws_accept(key, strlen(key), acc), 0);
    cr_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_handshake, key_shape)
{
    ws_rng r;
    ws_rng_seed(&r, 7);
    char k1[25], k2[25];
    ws_key_make(&r, k1);
    ws_key_make(&r, k2);
    cr_assert_eq(strlen(k1), 24);
    cr_assert_eq(k1[22], '=');
    cr_assert_eq(k1[23], '=');
    cr_assert_str_neq(k1, k2);
    for (int i = 0; i < 22; i++)
        cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                         k1[i]) != NULL);
}

Test(ws_handshake, base64_rfc4648)
{
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
             {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[16];
        size_t n = ws_base64((const uint8_t *)v[i].in, strlen(v[i].in), out);
        cr_assert_str_eq(out, v[i].out);
        cr_assert_eq(n, strlen(v[i].out));
    }
}

static const struct {
    const char *s;
    size_t n;
    bool ok;
} UTF8[] = {
    {W(""), true},
    {W("plain ascii"), true},
    {W("\xC2\x80"), true},
    {W("\xDF\xBF"), true},
    {W("\xE0\xA0\x80"), true},
    {W("\xEF\xBF\xBF"), true},
    {W("\xED\x9F\xBF"), true},
    {W("\xF0\x90\x80\x80"), true},
    {W("\xF4\x8F\xBF\xBF"), true},
    {W("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"), true},
    {W("\x80"), false},
    {W("\xBF"), false},
    {W("\xC0\x80"), false},
    {W("\xC1\xBF"), false},
    {W("\xC2"), false},
    {W("\xC2\x41"), false},
    {W("\xE0\x80\x80"), false},
    {W("\xE0\x9F\xBF"), false},
    {W("\xED\xA0\x80"), false},
    {W("\xED\xBF\xBF"), false},
    {W("\xE1\x80"), false},
    {W("\xF0\x80\x80\x80"), false},
    {W("\xF0\x8F\xBF\xBF"), false},
    {W("\xF4\x90\x80\x80"), false},
    {W("\xF5\x80\x80\x80"), false},
    {W("\xFE"), false},
    {W("\xFF"), false},
    {W("ok\xE2\x82"), false},
};

Test(ws_utf8, table_whole_and_bytewise)
{
    for (size_t i = 0; i < sizeof UTF8 / sizeof UTF8[0]; i++) {
        const uint8_t *s = (const uint8_t *)UTF8[i].s;
        cr_expect_eq(ws_utf8_valid(s, UTF8[i].n), UTF8[i].ok, "row %zu", i);
        ws_utf8 u = {0};
        bool ok = true;
        for (size_t b = 0; b < UTF8[i].n && ok; b++)
            ok = ws_utf8_feed(&u, s + b, 1) == 0;
        ok = ok && ws_utf8_done(&u);
        cr_expect_eq(ok, UTF8[i].ok, "row %zu byte at a time", i);
    }
}

/* Every code point from U+0000 to U+10FFFF but the surrogates is accepted when encoded right. */
Test(ws_utf8, every_scalar_value)
{
    for (uint32_t c = 0; c <= 0x10FFFF; c++) {
        uint8_t b[4];
        size_t n;
        if (c < 0x80) {
            b[0] = (uint8_t)c;
            n = 1;
        } else if (c < 0x800) {
            b[0] = (uint8_t)(0xC0 | c >> 6);
            b[1] = (uint8_t)(0x80 | (c & 63));
            n = 2;
        } else if (c < 0x10000) {
            b[0] = (uint8_t)(0xE0 | c >> 12);
            b[1] = (uint8_t)(0x80 | ((c >> 6) & 63));
            b[2] = (uint8_t)(0x80 | (c & 63));
            n = 3;
        } else {
            b[0] = (uint8_t)(0xF0 | c >> 18);
            b[1] = (uint8_t)(0x80 | ((c >> 12) & 63));
            b[2] = (uint8_t)(0x80 | ((c >> 6) & 63));
            b[3] = (uint8_t)(0x80 | (c & 63));
            n = 4;
        }
        bool surrogate = c >= 0xD800 && c <= 0xDFFF;
        if (ws_utf8_valid(b, n) == surrogate)
            cr_assert_fail("U+%04X: %s", c, surrogate ? "surrogate accepted" : "rejected");
    }
}
