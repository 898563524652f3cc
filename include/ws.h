/* ws: the WebSocket wire format (RFC 6455), client side.
 *
 * Pure and allocation-free: a frame encoder (every client frame masked, with a key the caller
 * draws from its own ws_rng), an incremental frame parser that may be fed any number of bytes at
 * a time and copies nothing but control-frame payloads (at most 125 bytes, kept in the parser so
 * a ping or close split across receive buffers is still whole when reported), a streaming UTF-8
 * validator, and the handshake's Sec-WebSocket-Key / Sec-WebSocket-Accept computation.
 *
 * A zero-filled ws_parser is a valid start state (set max_msg and check_utf8 before the first
 * byte if the defaults do not fit). Protocol errors are values: the parser stops, says why and
 * which close code the client should answer with; it never reads outside what it was given. */
#ifndef BLAST_WS_H
#define BLAST_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

#define WS_FIN 0x80u         /* first header byte: last frame of a message */
#define WS_RSV_MASK 0x70u    /* first header byte: RSV1..3, must be 0 without an extension */
#define WS_HEAD_MAX 14u      /* longest frame header: 2 + 8 (64-bit length) + 4 (mask key) */
#define WS_CONTROL_MAX 125u  /* longest control-frame payload */
#define WS_MSG_DEFAULT (1u << 20) /* message size bound when ws_parser.max_msg is 0 */

/* Close codes the client sends or records. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_NO_STATUS = 1005, /* recorded when a close frame carries no code; never sent */
    WS_CLOSE_ABNORMAL = 1006,  /* recorded when the connection ended without a close frame */
    WS_CLOSE_BAD_DATA = 1007,  /* a text message that is not UTF-8 */
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

/* A fast per-worker pseudo-random generator for masking keys and handshake nonces (xorshift64*;
 * masking needs unpredictability against cache poisoning by intermediaries, not secrecy). */
typedef struct ws_rng {
    uint64_t s;
} ws_rng;

/* Seeds r; any seed (0 included) gives a usable generator. */
void ws_rng_seed(ws_rng *r, uint64_t seed);
uint64_t ws_rng_next(ws_rng *r);

/* Applies (or removes: XOR is its own inverse) the mask key to n bytes, where p[0] is byte `off`
 * of the payload (so a payload masked in pieces gets the same bytes as one masked whole). */
void ws_mask(uint8_t *p, size_t n, uint32_t key, uint64_t off);

/* Header length of a frame carrying n payload bytes: 2, 4 or 10, plus 4 when masked. */
size_t ws_head_len(uint64_t n, bool masked);

/* Writes a frame header for n payload bytes into out (at least ws_head_len(n, masked) bytes):
 * b0 is WS_FIN | RSV bits | opcode; the key is written big-endian when masked. Returns its
 * length. The payload is not touched. */
size_t ws_head_put(uint8_t *out, unsigned b0, uint64_t n, bool masked, uint32_t key);

/* Writes a whole frame (header, then the payload masked with key if masked) into out.
 * Returns its length, or -ENOSPC when it needs more than cap bytes (out untouched). */
ssize_t ws_frame_put(uint8_t *out, size_t cap, unsigned b0, const void *payload, size_t n,
                     bool masked, uint32_t key);

/* Seals a client frame in place without moving the payload: buf holds WS_HEAD_MAX bytes of room
 * followed by the n payload bytes. The payload is masked with key and the header written so that
 * it ends right where the payload starts. Returns the offset in buf where the frame begins; the
 * frame is (WS_HEAD_MAX - offset) + n bytes long. */
size_t ws_frame_seal(uint8_t *buf, size_t n, unsigned b0, uint32_t key);

/* Writes a masked close frame with code (0: none) and a reason of rlen bytes (cut to fit in 123).
 * Returns its length, or -ENOSPC. */
ssize_t ws_close_put(uint8_t *out, size_t cap, unsigned code, const char *reason, size_t rlen,
                     uint32_t key);

/* Streaming UTF-8 validator: a zero-filled ws_utf8 is the start state. */
typedef struct ws_utf8 {
    uint8_t need; /* continuation bytes still expected in the current sequence */
    uint8_t lo;   /* bounds for the next continuation byte (tighter after E0, ED, F0, F4) */
    uint8_t hi;
} ws_utf8;

/* Feeds n bytes. Returns 0 while the text is valid so far, -1 at the first invalid byte (u is
 * then unusable until zeroed). */
int ws_utf8_feed(ws_utf8 *u, const uint8_t *p, size_t n);
/* Whether the bytes fed so far end on a character boundary (a complete text). */
static inline bool ws_utf8_done(const ws_utf8 *u)
{
    return u->need == 0;
}
/* Whole-buffer check: true when p[0..n) is valid UTF-8. */
bool ws_utf8_valid(const uint8_t *p, size_t n);

/* What ws_parse reports. */
enum ws_event_kind {
    WS_EV_NONE = 0, /* every byte given was consumed; nothing to report yet */
    WS_EV_DATA,     /* a piece of a text or binary message (fin: the message's last piece) */
    WS_EV_PING,     /* a whole ping; payload in ev.data (the parser's copy) */
    WS_EV_PONG,     /* a whole pong */
    WS_EV_CLOSE,    /* a whole close frame: code (1005 when absent), reason in ev.data */
    WS_EV_ERROR,    /* a protocol error: ev.code is the close code to answer with */
};

typedef struct ws_event {
    enum ws_event_kind kind;
    uint8_t opcode;      /* WS_EV_DATA: WS_OP_TEXT or WS_OP_BINARY (the message's opcode) */
    bool fin;            /* WS_EV_DATA: this piece ends the message */
    const uint8_t *data; /* payload bytes: into the caller's buffer (DATA) or the parser (control) */
    size_t len;
    uint64_t msg_len; /* WS_EV_DATA: message bytes so far, this piece included */
    uint16_t code;    /* WS_EV_CLOSE: the peer's code; WS_EV_ERROR: the code to answer with */
    const char *error; /* WS_EV_ERROR: static text, e.g. "masked frame from server" */
} ws_event;

typedef struct ws_parser {
    /* Inputs, set before the first byte (zero: defaults). */
    uint64_t max_msg; /* bound on a message's total payload (0: WS_MSG_DEFAULT); beyond: 1009 */
    bool check_utf8;  /* validate text messages as UTF-8 (close reasons always are) */

    /* Private state: callers must not touch it. Zero is the start state. */
    uint8_t st;        /* header, extended length, payload, closed, failed */
    uint8_t b0, b1;    /* the frame header's two first bytes */
    uint8_t hneed;     /* extended-length bytes still expected */
    uint8_t msg_op;    /* opcode of the fragmented message in progress (0: none) */
    uint8_t ctl_len;   /* control payload bytes copied so far */
    uint64_t remaining; /* payload bytes of the current frame still expected */
    uint64_t msg_len;   /* payload bytes of the current message so far */
    ws_utf8 utf8;
    const char *error;
    uint16_t error_code;
    uint8_t ctl[WS_CONTROL_MAX];
} ws_parser;

/* Feeds up to len bytes of the server's stream to p and reports at most one event in *ev.
 * Returns the number of bytes consumed (0..len); call again with the rest while bytes remain
 * or an event was reported. Once a close frame was reported every later byte is an error ("data
 * after close"); once an error was reported, every later call reports it again and consumes
 * nothing. A DATA event may have len 0 (an empty final frame ends a message). */
size_t ws_parse(ws_parser *p, const uint8_t *buf, size_t len, ws_event *ev);

/* Whether a frame or message is cut: the parser is between a frame's first byte and a
 * message's end. Used to tell a clean end of stream from a truncated one. */
bool ws_parser_mid(const ws_parser *p);

/* Whether code is one a peer may send in a close frame (1000-1003, 1007-1014, 3000-4999). */
bool ws_close_code_valid(unsigned code);

/* Sec-WebSocket-Key: 16 bytes from r, base64: writes 24 characters and a NUL into out. */
void ws_key_make(ws_rng *r, char out[25]);

/* Sec-WebSocket-Accept for a key of klen bytes: base64(SHA-1(key + RFC 6455 GUID)), 28
 * characters and a NUL into out. Returns 0, or -EIO when the SHA-1 implementation fails. */
int ws_accept(const char *key, size_t klen, char out[29]);

/* Base64 (RFC 4648, with padding) of n bytes into out (4 * ceil(n / 3) characters and a NUL). */
size_t ws_base64(const uint8_t *in, size_t n, char *out);

#endif
