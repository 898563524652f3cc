/* fuzz_ws: libFuzzer target for ws_parse, the WebSocket frame parser (src/ws.c).
 *
 * Input: byte 0 picks the options (bit 0: check UTF-8; bits 1-3: a message bound from 0 (the
 * default) to 64 KiB) and seeds the piece sizes; the rest is the server's byte stream. It is fed
 * three ways: whole, byte by byte, and in pseudo-random pieces, each piece copied into its own
 * exact-size heap block so a read outside it is an ASan error. Checked: every call consumes at
 * most what it was given, reports data only from what it consumed, gives NONE only when it used
 * everything; message lengths add up and stay within the bound; text messages that end were
 * valid UTF-8 when checked; after an error nothing more is consumed; and the three ways give the
 * same digest of events (kinds, opcodes, the bytes of messages that ended, close codes, error
 * text). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "ws fuzz invariant broken: %s\n", what);
    abort();
}

typedef struct digest {
    uint64_t h;
    uint64_t events;
    uint64_t msg; /* bytes of the message in progress */
    uint64_t mh;  /* their hash: mixed in only when the message ends, since how much of a
                   * message that then fails was reported depends on the cuts */
    ws_utf8 u;
    const char *error;
} digest;

static void mix(digest *d, uint64_t v)
{
    d->h = (d->h ^ v) * 0x100000001B3ull;
}

/* Feeds one piece; returns false once the stream failed. */
static int feed(ws_parser *p, digest *d, const uint8_t *src, size_t n, uint64_t max)
{
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        abort();
    memcpy(buf, src, n);
    const uint8_t *b = buf;
    int alive = 1;
    for (;;) {
        ws_event ev;
        size_t used = ws_parse(p, b, n, &ev);
        if (used > n)
            fail("consumed more than given");
        if (ev.kind == WS_EV_NONE && used != n)
            fail("no event but bytes left");
        if (ev.kind == WS_EV_DATA) {
            if (ev.len && (ev.data < b || ev.data + ev.len > b + used))
                fail("data outside the consumed bytes");
            d->msg += ev.len;
            if (ev.msg_len != d->msg)
                fail("msg_len does not add up");
            if (d->msg > max)
                fail("a message beyond the bound");
            if (ev.opcode != WS_OP_TEXT && ev.opcode != WS_OP_BINARY)
                fail("data of a control opcode");
            for (size_t i = 0; i < ev.len; i++)
                d->mh = (d->mh ^ ev.data[i]) * 0x100000001B3ull;
            if (p->check_utf8 && ev.opcode == WS_OP_TEXT) {
                if (ws_utf8_feed(&d->u, ev.data, ev.len) != 0)
                    fail("invalid UTF-8 passed as text");
                if (ev.fin && !ws_utf8_done(&d->u))
                    fail("text message ends mid-character");
            }
            if (ev.fin) {
                mix(d, 0x1000 + ev.opcode);
                mix(d, d->mh);
                d->mh = 0;
                d->msg = 0;
                d->u = (ws_utf8){0};
                d->events++;
            }
        } else if (ev.kind != WS_EV_NONE) {
            if (ev.kind != WS_EV_ERROR && ev.len > WS_CONTROL_MAX)
                fail("control payload over 125 bytes");
            mix(d, 0x2000 + ev.kind);
            mix(d, ev.code);
            for (size_t i = 0; ev.kind != WS_EV_ERROR && i < ev.len; i++)
                mix(d, ev.data[i]);
            if (ev.kind == WS_EV_CLOSE && ev.code != WS_CLOSE_NO_STATUS &&
                !ws_close_code_valid(ev.code))
                fail("an invalid close code reported");
            d->events++;
        }
        if (ev.kind == WS_EV_ERROR) {
            if (!ev.error || (d->error && d->error != ev.error))
                fail("error without a stable text");
            d->error = ev.error;
            ws_event again;
            if (ws_parse(p, b + used, n - used, &again) != 0 || again.kind != WS_EV_ERROR)
                fail("a failed parser went on");
            alive = 0;
            break;
        }
        b += used;
        n -= used;
        if (n == 0)
            break;
    }
    free(buf);
    return alive;
}

static uint64_t run(const uint8_t *s, size_t n, unsigned opt, int mode, const char **err)
{
    uint64_t max = (opt >> 1) & 7 ? (uint64_t)1 << (2 * ((opt >> 1) & 7) + 2) : WS_MSG_DEFAULT;
    ws_parser p = {.max_msg = (opt >> 1) & 7 ? max : 0, .check_utf8 = opt & 1};
    digest d = {.h = 0xCBF29CE484222325ull};
    uint32_t seed = opt * 2654435761u + 1;
    size_t off = 0;
    while (off < n) {
        size_t k = n - off;
        if (mode == 1)
            k = 1;
        else if (mode == 2) {
            seed = seed * 1103515245u + 12345u;
            size_t r = (seed >> 16) % 17;
            k = r < k ? r : k;
        }
        if (!feed(&p, &d, s + off, k, max))
            break;
        off += k;
    }
    mix(&d, d.events);
    *err = d.error;
    return d.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned opt = data[0];
    const char *e0, *e1, *e2;
    uint64_t a = run(data + 1, size - 1, opt, 0, &e0);
    uint64_t b = run(data + 1, size - 1, opt, 1, &e1);
    uint64_t c = run(data + 1, size - 1, opt, 2, &e2);
    if (a != b || a != c)
        fail("the events depend on how the stream was cut");
    if (e0 != e1 || e0 != e2)
        fail("the error depends on how the stream was cut");
    return 0;
}
