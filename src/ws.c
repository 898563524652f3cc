/* ws: RFC 6455 framing for the client side: encoder, incremental parser, UTF-8, handshake keys.
 *
 * Invariant: nothing here allocates or keeps a pointer into a caller's buffer past the call that
 * was given it. The parser reports at most one event per call and consumes only the bytes that
 * event (or the absence of one) accounts for, so a caller loops until its buffer is used up. */
#include "ws.h"

#include <errno.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha.h>

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void ws_rng_seed(ws_rng *r, uint64_t seed)
{
    /* splitmix64 of the seed: any seed, 0 included, gives a non-zero xorshift state */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->s = z ? z : 0x2545F4914F6CDD1Dull;
}

uint64_t ws_rng_next(ws_rng *r)
{
    if (r->s == 0)
        ws_rng_seed(r, 0);
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void ws_mask(uint8_t *p, size_t n, uint32_t key, uint64_t off)
{
    uint8_t kb[4] = {(uint8_t)(key >> 24), (uint8_t)(key >> 16), (uint8_t)(key >> 8),
                     (uint8_t)key};
    uint8_t pat[8];
    for (unsigned j = 0; j < 8; j++)
        pat[j] = kb[(off + j) & 3];
    uint64_t w;
    memcpy(&w, pat, sizeof w);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, sizeof x);
        x ^= w;
        memcpy(p + i, &x, sizeof x);
    }
    for (; i < n; i++)
        p[i] ^= pat[i & 7];
}

size_t ws_head_len(uint64_t n, bool masked)
{
    size_t h = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
    return h + (masked ? 4 : 0);
}

size_t ws_head_put(uint8_t *out, unsigned b0, uint64_t n, bool masked, uint32_t key)
{
    size_t h = 0;
    uint8_t m = masked ? 0x80 : 0;
    out[h++] = (uint8_t)b0;
    if (n < 126) {
        out[h++] = m | (uint8_t)n;
    } else if (n <= 0xFFFF) {
        out[h++] = m | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = m | 127;
        for (int s = 56; s >= 0; s -= 8)
            out[h++] = (uint8_t)(n >> s);
    }
    if (masked) {
        out[h++] = (uint8_t)(key >> 24);
        out[h++] = (uint8_t)(key >> 16);
        out[h++] = (uint8_t)(key >> 8);
        out[h++] = (uint8_t)key;
    }
    return h;
}

ssize_t ws_frame_put(uint8_t *out, size_t cap, unsigned b0, const void *payload, size_t n,
                     bool masked, uint32_t key)
{
    size_t h = ws_head_len(n, masked);
    if (cap < h || cap - h < n)
        return -ENOSPC;
    ws_head_put(out, b0, n, masked, key);
    if (n) {
        memmove(out + h, payload, n);
        if (masked)
            ws_mask(out + h, n, key, 0);
    }
    return (ssize_t)(h + n);
}

size_t ws_frame_seal(uint8_t *buf, size_t n, unsigned b0, uint32_t key)
{
    size_t h = ws_head_len(n, true);
    size_t off = WS_HEAD_MAX - h;
    ws_mask(buf + WS_HEAD_MAX, n, key, 0);
    ws_head_put(buf + off, b0, n, true, key);
    return off;
}

ssize_t ws_close_put(uint8_t *out, size_t cap, unsigned code, const char *reason, size_t rlen,
                     uint32_t key)
{
    uint8_t pl[WS_CONTROL_MAX];
    size_t n = 0;
    if (code) {
        pl[n++] = (uint8_t)(code >> 8);
        pl[n++] = (uint8_t)code;
        if (rlen > WS_CONTROL_MAX - 2)
            rlen = WS_CONTROL_MAX - 2;
        if (rlen)
            memcpy(pl + n, reason, rlen);
        n += rlen;
    }
    return ws_frame_put(out, cap, WS_FIN | WS_OP_CLOSE, pl, n, true, key);
}

/* UTF-8 as RFC 3629 allows it: no overlong forms, no surrogates (ED A0..BF), nothing past
 * U+10FFFF. The lead byte sets how many continuation bytes follow and the first one's range. */
int ws_utf8_feed(ws_utf8 *u, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (u->need) {
            if (c < u->lo || c > u->hi)
                return -1;
            u->need--;
            u->lo = 0x80;
            u->hi = 0xBF;
            continue;
        }
        if (c < 0x80)
            continue;
        u->lo = 0x80;
        u->hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            u->need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            u->need = 2;
            if (c == 0xE0)
                u->lo = 0xA0;
            else if (c == 0xED)
                u->hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            u->need = 3;
            if (c == 0xF0)
                u->lo = 0x90;
            else if (c == 0xF4)
                u->hi = 0x8F;
        } else {
            return -1;
        }
    }
    return 0;
}

bool ws_utf8_valid(const uint8_t *p, size_t n)
{
    ws_utf8 u = {0};
    return ws_utf8_feed(&u, p, n) == 0 && ws_utf8_done(&u);
}

bool ws_close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

enum { ST_HEAD0, ST_HEAD1, ST_EXT, ST_PAYLOAD, ST_CLOSED, ST_FAILED };

static bool is_control(unsigned op)
{
    return op & 0x8;
}

static size_t fail(ws_parser *p, ws_event *ev, uint16_t code, const char *why, size_t used)
{
    p->st = ST_FAILED;
    p->error = why;
    p->error_code = code;
    ev->kind = WS_EV_ERROR;
    ev->code = code;
    ev->error = why;
    return used;
}

/* The first header byte: what the opcode may be here. Returns an error text or NULL. */
static const char *check_b0(const ws_parser *p, uint8_t b0)
{
    unsigned op = b0 & 0x0F;
    if (b0 & WS_RSV_MASK)
        return "reserved bits set without an extension";
    if ((op >= 0x3 && op <= 0x7) || op > 0xA)
        return "unknown opcode";
    if (is_control(op))
        return (b0 & WS_FIN) ? NULL : "fragmented control frame";
    if (op == WS_OP_CONT && p->msg_op == 0)
        return "continuation frame without a message";
    if (op != WS_OP_CONT && p->msg_op != 0)
        return "new message inside a fragmented one";
    return NULL;
}

static size_t control_done(ws_parser *p, ws_event *ev, size_t used)
{
    unsigned op = p->b0 & 0x0F;
    p->st = ST_HEAD0;
    ev->data = p->ctl;
    ev->len = p->ctl_len;
    if (op == WS_OP_PING) {
        ev->kind = WS_EV_PING;
        return used;
    }
    if (op == WS_OP_PONG) {
        ev->kind = WS_EV_PONG;
        return used;
    }
    if (p->ctl_len == 1)
        return fail(p, ev, WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload", used);
    uint16_t code = WS_CLOSE_NO_STATUS;
    if (p->ctl_len >= 2) {
        code = (uint16_t)(p->ctl[0] << 8 | p->ctl[1]);
        if (!ws_close_code_valid(code))
            return fail(p, ev, WS_CLOSE_PROTOCOL, "invalid close code", used);
        if (!ws_utf8_valid(p->ctl + 2, p->ctl_len - 2u))
            return fail(p, ev, WS_CLOSE_BAD_DATA, "close reason is not UTF-8", used);
        ev->data = p->ctl + 2;
        ev->len = p->ctl_len - 2u;
    }
    p->st = ST_CLOSED;
    ev->kind = WS_EV_CLOSE;
    ev->code = code;
    return used;
}

/* The frame's length is known: set up its payload, or report it at once when empty. Returns
 * true when an event was reported. */
static bool frame_start(ws_parser *p, ws_event *ev, size_t used, size_t *ret)
{
    unsigned op = p->b0 & 0x0F;
    p->ctl_len = 0;
    if (is_control(op)) {
        if (p->remaining == 0) {
            *ret = control_done(p, ev, used);
            return true;
        }
        p->st = ST_PAYLOAD;
        return false;
    }
    uint64_t max = p->max_msg ? p->max_msg : WS_MSG_DEFAULT;
    if (op != WS_OP_CONT) {
        p->msg_op = (uint8_t)op;
        p->msg_len = 0;
        p->utf8 = (ws_utf8){0};
    }
    if (p->remaining > max - p->msg_len) {
        *ret = fail(p, ev, WS_CLOSE_TOO_BIG, "message larger than the bound", used);
        return true;
    }
    if (p->remaining > 0) {
        p->st = ST_PAYLOAD;
        return false;
    }
    p->st = ST_HEAD0;
    if (!(p->b0 & WS_FIN))
        return false; /* an empty fragment: nothing to report */
    if (p->check_utf8 && p->msg_op == WS_OP_TEXT && !ws_utf8_done(&p->utf8)) {
        *ret = fail(p, ev, WS_CLOSE_BAD_DATA, "invalid UTF-8 in a text message", used);
        return true;
    }
    ev->kind = WS_EV_DATA;
    ev->opcode = p->msg_op;
    ev->fin = true;
    ev->data = NULL;
    ev->len = 0;
    ev->msg_len = p->msg_len;
    p->msg_op = 0;
    *ret = used;
    return true;
}

size_t ws_parse(ws_parser *p, const uint8_t *buf, size_t len, ws_event *ev)
{
    *ev = (ws_event){.kind = WS_EV_NONE};
    if (p->st == ST_FAILED) {
        ev->kind = WS_EV_ERROR;
        ev->code = p->error_code;
        ev->error = p->error;
        return 0;
    }
    size_t i = 0, ret;
    while (i < len) {
        switch (p->st) {
        case ST_CLOSED:
            return fail(p, ev, WS_CLOSE_PROTOCOL, "data after close", i);
        case ST_HEAD0: {
            uint8_t b0 = buf[i++];
            const char *why = check_b0(p, b0);
            if (why)
                return fail(p, ev, WS_CLOSE_PROTOCOL, why, i);
            p->b0 = b0;
            p->st = ST_HEAD1;
            break;
        }
        case ST_HEAD1: {
            uint8_t b1 = buf[i++];
            p->b1 = b1;
            if (b1 & 0x80)
                return fail(p, ev, WS_CLOSE_PROTOCOL, "masked frame from server", i);
            unsigned l = b1 & 0x7F;
            if (is_control(p->b0 & 0x0F) && l > WS_CONTROL_MAX)
                return fail(p, ev, WS_CLOSE_PROTOCOL, "control frame longer than 125 bytes", i);
            p->remaining = l < 126 ? l : 0;
            if (l >= 126) {
                p->hneed = l == 126 ? 2 : 8;
                p->st = ST_EXT;
                break;
            }
            if (frame_start(p, ev, i, &ret))
                return ret;
            break;
        }
        case ST_EXT:
            p->remaining = p->remaining << 8 | buf[i++];
            if (--p->hneed)
                break;
            if ((p->b1 & 0x7F) == 127 && (p->remaining >> 63))
                return fail(p, ev, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set", i);
            if (frame_start(p, ev, i, &ret))
                return ret;
            break;
        case ST_PAYLOAD: {
            size_t k = len - i;
            if (k > p->remaining)
                k = (size_t)p->remaining;
            p->remaining -= k;
            if (is_control(p->b0 & 0x0F)) {
                memcpy(p->ctl + p->ctl_len, buf + i, k);
                p->ctl_len = (uint8_t)(p->ctl_len + k);
                i += k;
                if (p->remaining == 0)
                    return control_done(p, ev, i);
                break;
            }
            bool text = p->check_utf8 && p->msg_op == WS_OP_TEXT;
            if (text && ws_utf8_feed(&p->utf8, buf + i, k) != 0)
                return fail(p, ev, WS_CLOSE_BAD_DATA, "invalid UTF-8 in a text message", i + k);
            bool fin = p->remaining == 0 && (p->b0 & WS_FIN);
            if (fin && text && !ws_utf8_done(&p->utf8))
                return fail(p, ev, WS_CLOSE_BAD_DATA, "invalid UTF-8 in a text message", i + k);
            p->msg_len += k;
            ev->kind = WS_EV_DATA;
            ev->opcode = p->msg_op;
            ev->fin = fin;
            ev->data = buf + i;
            ev->len = k;
            ev->msg_len = p->msg_len;
            if (p->remaining == 0)
                p->st = ST_HEAD0;
            if (fin)
                p->msg_op = 0;
            return i + k;
        }
        default:
            return fail(p, ev, WS_CLOSE_PROTOCOL, "parser state corrupt", i);
        }
    }
    return i;
}

bool ws_parser_mid(const ws_parser *p)
{
    return p->st == ST_HEAD1 || p->st == ST_EXT || p->st == ST_PAYLOAD || p->msg_op != 0;
}

size_t ws_base64(const uint8_t *in, size_t n, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = A[v >> 18];
        out[o++] = A[(v >> 12) & 63];
        out[o++] = A[(v >> 6) & 63];
        out[o++] = A[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = A[v >> 18];
        out[o++] = A[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = A[v >> 18];
        out[o++] = A[(v >> 12) & 63];
        out[o++] = A[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

void ws_key_make(ws_rng *r, char out[25])
{
    uint8_t nonce[16];
    uint64_t a = ws_rng_next(r), b = ws_rng_next(r);
    memcpy(nonce, &a, 8);
    memcpy(nonce + 8, &b, 8);
    ws_base64(nonce, sizeof nonce, out);
}

int ws_accept(const char *key, size_t klen, char out[29])
{
    wc_Sha sha;
    uint8_t d[WC_SHA_DIGEST_SIZE];
    if (wc_InitSha(&sha) != 0)
        return -EIO;
    int rc = wc_ShaUpdate(&sha, (const byte *)key, (word32)klen);
    if (rc == 0)
        rc = wc_ShaUpdate(&sha, (const byte *)WS_GUID, sizeof WS_GUID - 1);
    if (rc == 0)
        rc = wc_ShaFinal(&sha, d);
    wc_ShaFree(&sha);
    if (rc != 0)
        return -EIO;
    ws_base64(d, sizeof d, out);
    return 0;
}
