/* http1: the HTTP/1.1 wire format on the client side: the request bytes blast sends and the
 * incremental parser for the responses it reads.
 *
 * Invariant: the parser's whole memory is the http1_resp it is handed. Each byte is looked at
 * once, in order, and only moves the state machine forward; nothing is copied and nothing before
 * the current byte is read again, so a response split across any number of buffers at any byte
 * gives the same result (and the same error) as one buffer. Body bytes are counted in bulk,
 * never examined. A head that arrives whole in one buffer (the common case) may instead be read
 * line by line by a fast path (head_whole), which must come to exactly what the state machine
 * would, and leaves every head it does not fully understand to the state machine untouched.
 *
 * Strictness, where the RFCs leave room or llhttp is lenient (a load generator should notice a
 * broken server, not paper over it):
 * - CRLF ends every line; a bare CR or a bare LF is an error.
 * - Status line: "HTTP/1.0" or "HTTP/1.1", one SP, three digits (100..999), then SP and a reason
 *   of any text (HT, SP, VCHAR, bytes >= 0x80), or CRLF right after the digits: RFC 9112 wants
 *   the SP, but servers omit it with an empty reason often enough that rejecting helps nobody.
 * - Empty lines before a status line are skipped (a stray CRLF after a body is common); they
 *   count in wire_len and in the head limit.
 * - A header name is a token directly followed by ':'; a line starting with SP or HT (obs-fold)
 *   is rejected. Values may hold HT, SP, VCHAR and bytes >= 0x80.
 * - Content-Length: digits within optional whitespace; a comma list or a repeated header must
 *   repeat one value; empty elements are rejected.
 * - Content-Length and Transfer-Encoding together: rejected. RFC 9112 6.3 lets
 *   Transfer-Encoding win, but a server sending both is the signature of request smuggling or
 *   response splitting, which a client measuring that server should report.
 * - Transfer-Encoding whose last coding is not "chunked": body until close. In an HTTP/1.0
 *   response it also ends keep-alive (RFC 9112 6.1: the framing may be faulty).
 * - Chunk size: hex digits, optional whitespace only before ';', then extensions
 *   (token [= token / quoted-string]) that are checked and skipped. Trailers are parsed like
 *   header lines and ignored; head and trailers together are bounded by HTTP1_MAX_HEAD.
 * - 101 ends the response after its head (the caller switches protocols); HEAD, other 1xx, 204
 *   and 304 responses have no body whatever their headers say.
 */
#include "http1.h"
#include "version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum state {
    /* head: status line and header lines (and chunked trailers, which reuse the field states) */
    S_START = 0, /* before the status line; an empty line here is skipped */
    S_START_LF,
    S_PROTO, /* "HTTP/1.", match = characters matched */
    S_MINOR,
    S_VERSION_SP,
    S_STATUS, /* match = digits so far */
    S_STATUS_END,
    S_REASON,
    S_LINE_LF, /* LF ending the status line or a field line */
    S_FIELD_START,
    S_NAME,
    S_VALUE,
    S_HEAD_LF, /* LF of the empty line ending the head or the trailers */
    /* bodies */
    S_LENGTH,
    S_CLOSE,
    S_CHUNK_SIZE_START,
    S_CHUNK_SIZE,
    S_CHUNK_SIZE_WS,
    S_EXT_NAME_START,
    S_EXT_NAME,
    S_EXT_NAME_WS,
    S_EXT_VALUE_START,
    S_EXT_TOKEN,
    S_EXT_QUOTED,
    S_EXT_QUOTED_ESC,
    S_EXT_VALUE_WS,
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_DONE,
    S_ERROR,
};

enum body_mode { B_NONE, B_LENGTH, B_CHUNKED, B_CLOSE };

/* H_SET_COOKIE's value is not parsed: its presence is only noted (F_SET_COOKIE), so that a
 * client with a cookie jar looks at the head only when there is something for it. */
enum hdr { H_OTHER, H_CONTENT_LENGTH, H_TRANSFER_ENCODING, H_CONNECTION, H_SET_COOKIE, H_COUNT };
#define TRACKED                                                                                    \
    ((1u << H_CONTENT_LENGTH) | (1u << H_TRANSFER_ENCODING) | (1u << H_CONNECTION) |               \
     (1u << H_SET_COOKIE))

enum tok { T_NONE, T_CHUNKED, T_CLOSE, T_KEEP_ALIVE };

enum elem { E_BEFORE, E_INSIDE, E_AFTER };

enum flag {
    F_CONTENT_LENGTH = 1,
    F_TRANSFER_ENCODING = 2,
    F_CHUNKED = 4, /* "chunked" is the last coding seen so far */
    F_CLOSE = 8,
    F_KEEP_ALIVE = 16,
    F_SET_COOKIE = HTTP1_SET_COOKIE,
};

/* Lowercase, so names compare against lowercased input; NUL-terminated, so a match that runs
 * past the end fails on its own. */
static const char *const hdr_name[H_COUNT] = {
    [H_CONTENT_LENGTH] = "content-length",
    [H_TRANSFER_ENCODING] = "transfer-encoding",
    [H_CONNECTION] = "connection",
    [H_SET_COOKIE] = "set-cookie",
};

static const char *const tok_name[] = {
    [T_NONE] = "",
    [T_CHUNKED] = "chunked",
    [T_CLOSE] = "close",
    [T_KEEP_ALIVE] = "keep-alive",
};

enum {
    C_TCHAR = HTTP1_TCHAR, /* token: ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~ */
    C_TEXT = HTTP1_TEXT,   /* field value and reason phrase: HT SP VCHAR obs-text */
    C_QDTEXT = 4,          /* inside a quoted-string: C_TEXT but '"' and '\' */
};

#define cls http1_cls

/* RFC 9110 5.6.2 (tchar), 5.5 (field-vchar), 5.6.4 (qdtext). */
const uint8_t http1_cls[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    6, 7, 2, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6, /* 0x20 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, /* 0x30 */
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 0x40 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 2, 6, 7, 7, /* 0x50 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 0x60 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0, /* 0x70 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 0x80 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 0x90 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 0xA0 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 0xB0 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 0xC0 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 0xD0 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 0xE0 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 0xF0 */
};

#define BARE_LF "bare LF (lines must end in CRLF)"

static inline uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static inline bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static inline int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* While a header name is read, hdr is the set (1 << H_x) of tracked names it can still be; 0
 * means an other header, whose name is then skipped in bulk. Returns the set left after the
 * lowercased character c at position i. */
static uint8_t name_step(uint8_t set, uint8_t i, uint8_t c)
{
    for (uint8_t h = H_OTHER + 1; h < H_COUNT; h++)
        if ((set & 1u << h) && hdr_name[h][i] != c)
            set &= (uint8_t) ~(1u << h);
    return set;
}

/* The header named once the name is complete after i characters. */
static uint8_t name_end(uint8_t set, uint8_t i)
{
    for (uint8_t h = H_OTHER + 1; h < H_COUNT; h++)
        if ((set & 1u << h) && hdr_name[h][i] == '\0')
            return h;
    return H_OTHER;
}

/* Names a header whose whole name (n bytes, all tchar) is in view. Must agree with name_step
 * and name_end, which do the same a byte at a time when the name is split. */
static uint8_t name_whole(const uint8_t *name, size_t n)
{
    static const uint8_t len[H_COUNT] = {[H_CONTENT_LENGTH] = 14,
                                         [H_TRANSFER_ENCODING] = 17,
                                         [H_CONNECTION] = 10,
                                         [H_SET_COOKIE] = 10};
    for (uint8_t h = H_OTHER + 1; h < H_COUNT; h++) {
        if (n != len[h])
            continue;
        size_t i = 0;
        while (i < n && hdr_name[h][i] == (char)lower(name[i]))
            i++;
        if (i == n)
            return h;
    }
    return H_OTHER;
}

/* The value of header r->hdr starts. */
static void value_start(http1_resp *r)
{
    if (r->hdr == H_TRANSFER_ENCODING)
        r->flags |= F_TRANSFER_ENCODING;
    if (r->hdr == H_SET_COOKIE) {
        r->flags |= F_SET_COOKIE;
        r->hdr = H_OTHER; /* its value is skipped */
    }
    r->match = 0;
    r->tok = T_NONE;
    r->elem = E_BEFORE;
}

/* Fast path for the common status line "HTTP/1.x NNN" when all of it is in view: returns the
 * byte after the code, or NULL to let the byte-at-a-time states take it (split, or wrong). */
static const uint8_t *status_whole(http1_resp *r, const uint8_t *p, const uint8_t *lim)
{
    if (lim - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
        p[8] != ' ' || p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
        p[11] > '9')
        return NULL;
    r->minor_version = p[7] - '0';
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return p + 12;
}

/* True when none of 8 bytes is a control byte (< 0x20 or 0x7f): bit tricks from "Bit Twiddling
 * Hacks" (hasless, haszero); exact as a yes/no answer. */
static inline bool text8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t del = x ^ (0x7f * ones);
    return (((x - 0x20 * ones) & ~x) | ((del - ones) & ~del)) & highs ? false : true;
}

/* Skips field-value or reason text (C_TEXT) in [p, lim): 8 bytes at a time while no control
 * byte is among them (HT included, which then goes byte by byte), never reading past lim. */
static inline const uint8_t *skip_text(const uint8_t *p, const uint8_t *lim)
{
    while (lim - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        if (!text8(x))
            break;
        p += 8;
    }
    while (p < lim && (cls[*p] & C_TEXT))
        p++;
    return p;
}

/* One Content-Length list element ended (at ',' or the end of the value): remaining holds it. */
static const char *length_element_end(http1_resp *r)
{
    if (r->elem == E_BEFORE)
        return "invalid content-length";
    if ((r->flags & F_CONTENT_LENGTH) && r->content_length != r->remaining)
        return "conflicting content-length";
    r->content_length = r->remaining;
    r->flags |= F_CONTENT_LENGTH;
    r->remaining = 0;
    r->elem = E_BEFORE;
    return NULL;
}

/* One Transfer-Encoding or Connection list element ended; empty elements do not count. */
static void list_element_end(http1_resp *r)
{
    if (r->elem == E_BEFORE)
        return;
    bool hit = r->tok != T_NONE && tok_name[r->tok][r->match] == '\0';
    if (r->hdr == H_TRANSFER_ENCODING) {
        /* Only the last coding decides the framing: "chunked, gzip" is not chunked. */
        if (hit)
            r->flags |= F_CHUNKED;
        else
            r->flags &= (uint8_t)~F_CHUNKED;
    } else if (hit) {
        r->flags |= r->tok == T_CLOSE ? F_CLOSE : F_KEEP_ALIVE;
    }
    r->elem = E_BEFORE;
}

/* A byte (C_TEXT, not CR) of the value of a tracked header. */
static const char *value_byte(http1_resp *r, uint8_t c)
{
    if (r->hdr == H_CONTENT_LENGTH) {
        if (is_ws(c)) {
            if (r->elem == E_INSIDE)
                r->elem = E_AFTER;
            return NULL;
        }
        if (c == ',')
            return length_element_end(r);
        if (c < '0' || c > '9' || r->elem == E_AFTER)
            return "invalid content-length";
        unsigned d = c - '0';
        if (r->remaining > (UINT64_MAX - d) / 10)
            return "content-length overflow";
        r->remaining = r->remaining * 10 + d;
        r->elem = E_INSIDE;
        return NULL;
    }

    /* Transfer-Encoding or Connection: a comma list of tokens matched case-insensitively; an
     * element with anything else in it ("chunked;x", "close x") matches nothing. */
    if (is_ws(c)) {
        if (r->elem == E_INSIDE)
            r->elem = E_AFTER;
        return NULL;
    }
    if (c == ',') {
        list_element_end(r);
        return NULL;
    }
    c = lower(c);
    if (r->elem == E_BEFORE) {
        r->elem = E_INSIDE;
        r->match = 0;
        if (r->hdr == H_TRANSFER_ENCODING)
            r->tok = T_CHUNKED;
        else
            r->tok = c == 'c' ? T_CLOSE : c == 'k' ? T_KEEP_ALIVE : T_NONE;
    } else if (r->elem == E_AFTER) {
        r->elem = E_INSIDE;
        r->tok = T_NONE;
    }
    if (r->tok != T_NONE) {
        if (tok_name[r->tok][r->match] == c)
            r->match++;
        else
            r->tok = T_NONE;
    }
    return NULL;
}

/* The CR ending a header value. */
static const char *value_end(http1_resp *r)
{
    switch (r->hdr) {
    case H_CONTENT_LENGTH:
        return length_element_end(r);
    case H_TRANSFER_ENCODING:
    case H_CONNECTION:
        list_element_end(r);
        return NULL;
    default:
        return NULL;
    }
}

/* The head ended: decide keep-alive and how the body is framed (RFC 9112 6.3). Returns the
 * next state, S_DONE when there is no body, or S_ERROR with *err set. */
static inline unsigned head_end(http1_resp *r, const char **err)
{
    bool te = r->flags & F_TRANSFER_ENCODING;
    bool cl = r->flags & F_CONTENT_LENGTH;

    if (te && cl) {
        *err = "both content-length and transfer-encoding";
        return S_ERROR;
    }
    if (r->minor_version == 1)
        r->keep_alive = !(r->flags & F_CLOSE);
    else
        r->keep_alive = (r->flags & F_KEEP_ALIVE) && !(r->flags & F_CLOSE) && !te;
    r->remaining = 0;

    if (r->status == 101) {
        r->keep_alive = false; /* the connection now speaks another protocol */
        return S_DONE;
    }
    if (r->head_request || r->status < 200 || r->status == 204 || r->status == 304)
        return S_DONE;
    if (te && (r->flags & F_CHUNKED)) {
        r->body_mode = B_CHUNKED;
        return S_CHUNK_SIZE_START;
    }
    if (cl) {
        if (r->content_length == 0)
            return S_DONE;
        r->body_mode = B_LENGTH;
        r->remaining = r->content_length;
        return S_LENGTH;
    }
    r->body_mode = B_CLOSE;
    r->keep_alive = false;
    return S_CLOSE;
}

/* Whole-head fast path.
 *
 * When the status line, every header line and the blank line are all in view (the common case:
 * a small response read by one receive), the head is parsed a line at a time instead of a byte
 * at a time. A bitmap of its control bytes, made 64 bytes at a time with vector compares, gives
 * the end of each line with a shift and a count: as the bitmap does not depend on where lines
 * start, that is all one line waits for from the line before, and the rest of the work on a
 * line overlaps with the next ones. At the start of each line one 16-byte block gives the
 * colon, a common name is recognised by its length and first letter and one comparison (as
 * h2o's token table does), any other name is checked against the tchar table, and only the
 * values of Content-Length, Transfer-Encoding and Connection are looked at, in their plain
 * forms. Anything unusual (an empty line before the status line, obs-fold, a list, a repeated
 * Content-Length, a head not wholly in view, any malformed byte) makes it give up before it has
 * written anything, and the state machine then parses the response from its first byte as if
 * the fast path did not exist. So the fast path never decides an error of its own, and what it
 * does decide must agree with the state machine exactly: the tests hold the two against each
 * other on every case (http1_resp_parse_slow).
 */

#if defined(__SSE2__)
static inline __m128i load16(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* Bit i set when byte i of v is a control byte (< 0x20 or 0x7f, HT included). */
static inline uint64_t ctl16(__m128i v)
{
    __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
}
#endif

/* Bit i set when byte i of the (up to) 64 bytes from p < lim is a control byte; bytes at or
 * past lim are not. The 16 bytes before lim must be readable: a block cut short by lim is read
 * as the 16 bytes ending there and its bits moved down, so no read strays past lim. Not inline:
 * a head needs it once per 64 bytes, from several places. */
__attribute__((noinline)) static uint64_t ctl_chunk(const uint8_t *p, const uint8_t *lim)
{
    size_t left = (size_t)(lim - p);
    uint64_t m = 0;
#if defined(__SSE2__)
    if (__builtin_expect(left >= 64, 1))
        return ctl16(load16(p)) | ctl16(load16(p + 16)) << 16 | ctl16(load16(p + 32)) << 32 |
               ctl16(load16(p + 48)) << 48;
    unsigned s = 0;
    for (; left - s >= 16; s += 16)
        m |= ctl16(load16(p + s)) << s;
    if (s < left)
        m |= ctl16(load16(lim - 16)) >> (16 - (left - s)) << s;
#else
    for (unsigned i = 0; i < 64 && i < left; i++)
        m |= (uint64_t)(p[i] < 0x20 || p[i] == 0x7f) << i;
#endif
    return m;
}

/* The control bitmap of a head, one 64-byte chunk at a time (lines only move forward): bits
 * describes the bytes from chunk, a multiple of 64 bytes after the start of the head. */
struct ctl_map {
    const uint8_t *lim, *chunk;
    uint64_t bits;
};

/* The first control byte at or after p (m->chunk <= p < lim), or lim. The next chunk is the one
 * after the current one, not the one p is in, so that its address does not wait for p. */
static inline const uint8_t *next_ctl(struct ctl_map *m, const uint8_t *p)
{
    for (;;) {
        size_t off = (size_t)(p - m->chunk);
        if (m->lim - m->chunk <= 64) {
            uint64_t w = off < 64 ? m->bits >> off : 0;
            return w ? p + __builtin_ctzll(w) : m->lim;
        }
        if (__builtin_expect(off < 64, 1)) {
            uint64_t w = m->bits >> off;
            if (w)
                return p + __builtin_ctzll(w);
            p = m->chunk + 64; /* still before lim */
        }
        m->chunk += 64;
        m->bits = ctl_chunk(m->chunk, m->lim);
    }
}

/* Given q, the first control byte in the rest of a line (or lim), the CR of the CRLF ending the
 * line when the rest of it is text (HT SP VCHAR obs-text) and in view; else NULL. */
static inline const uint8_t *line_end(struct ctl_map *m, const uint8_t *q)
{
    for (;;) {
        if (q >= m->lim - 1)
            return NULL;
        if (__builtin_expect(q[0] == '\r', 1))
            return q[1] == '\n' ? q : NULL;
        if (q[0] != '\t')
            return NULL;
        q = next_ctl(m, q + 1);
    }
}

/* Do the n bytes at p, each ORed with 0x20, spell s (n of a-z and '-', 4 <= n <= 16)? That is
 * exactly lower(p[i]) == s[i] for every byte but CR: the only bytes mapped onto a letter are its
 * two cases, and onto '-' only '-' and CR. Reads p[0..n) only. */
static inline bool fold_eq(const uint8_t *p, const char *s, size_t n)
{
    if (n >= 8) {
        const uint64_t fold = 0x2020202020202020u;
        uint64_t a, b, c, d;
        memcpy(&a, p, 8);
        memcpy(&b, s, 8);
        memcpy(&c, p + n - 8, 8);
        memcpy(&d, s + n - 8, 8);
        return (((a | fold) ^ b) | ((c | fold) ^ d)) == 0;
    }
    const uint32_t fold = 0x20202020u;
    uint32_t a, b, c, d;
    memcpy(&a, p, 4);
    memcpy(&b, s, 4);
    memcpy(&c, p + n - 4, 4);
    memcpy(&d, s + n - 4, 4);
    return (((a | fold) ^ b) | ((c | fold) ^ d)) == 0;
}

static inline bool all_tchar(const uint8_t *p, const uint8_t *end)
{
    for (; p < end; p++)
        if (!(cls[*p] & C_TCHAR))
            return false;
    return true;
}

#if defined(__SSE2__)
/* Common response header names of up to 14 characters, lowercase and with their colon, and
 * what they are, at the slot of their length n and first letter c (either case): a slot holds
 * one name of that length and letter. A name found here needs no byte-by-byte check: matching
 * one, byte by byte ORed with 0x20, proves it a token (see fold_eq). A name given the wrong
 * letter would only never be found; two at one slot fail to compile (-Woverride-init, in
 * -Wextra). */
#define KNOWN_SLOT(n, c) ((((unsigned)(n)) * 5 + ((unsigned)(c) | 0x20)) & 31)
#define KNOWN(c, s, h) [KNOWN_SLOT(sizeof s - 1, c)] = {s ":", h}
static const struct known_name {
    char name[15]; /* bytes past the colon are not compared */
    uint8_t hdr;
} known_names[32] __attribute__((aligned(16))) = {
    KNOWN('a', "accept-ranges", H_OTHER),
    KNOWN('a', "age", H_OTHER),
    KNOWN('c', "cache-control", H_OTHER),
    KNOWN('c', "connection", H_CONNECTION),
    KNOWN('c', "content-length", H_CONTENT_LENGTH),
    KNOWN('c', "content-type", H_OTHER),
    KNOWN('d', "date", H_OTHER),
    KNOWN('e', "etag", H_OTHER),
    KNOWN('e', "expires", H_OTHER),
    KNOWN('k', "keep-alive", H_OTHER),
    KNOWN('l', "last-modified", H_OTHER),
    KNOWN('l', "link", H_OTHER),
    KNOWN('l', "location", H_OTHER),
    KNOWN('p', "pragma", H_OTHER),
    KNOWN('s', "server", H_OTHER),
    KNOWN('s', "set-cookie", H_SET_COOKIE),
    KNOWN('v', "vary", H_OTHER),
};
#undef KNOWN

/* The name of a header line with at least 16 bytes in view at p: when its first colon is among
 * them with a token before it, returns the name's length and sets *h (as name_whole would);
 * else 0. Control bytes are not looked for: a token has none, and a known name none but a CR
 * where it has a '-' (see fold_eq), which the caller rules out by wanting the colon before the
 * line's first control byte. */
static inline size_t line_name(const uint8_t *p, uint8_t *h)
{
    __m128i v = load16(p);
    unsigned colons = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':')));
    if (!colons)
        return 0;
    unsigned n = (unsigned)__builtin_ctz(colons), upto = (2u << n) - 1; /* name and colon */
    /* (A 15-byte name meets the hdr byte where its colon should be, and never matches.) */
    const struct known_name *known = &known_names[KNOWN_SLOT(n, p[0])];
    __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
    __m128i want = _mm_load_si128((const __m128i *)(const void *)known);
    if ((~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(folded, want)) & upto) == 0) {
        *h = known->hdr;
        return n;
    }
    if (n == 0 || !all_tchar(p, p + n))
        return 0;
    *h = name_whole(p, n);
    return n;
}
#endif

/* Is "HTTP/1.0 NNN" or "HTTP/1.1 NNN" (NNN in 100..999) at p (12 bytes in view)? */
static inline bool status_fast(const uint8_t *p)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t proto;
    uint32_t code;
    memcpy(&proto, p, 8);
    memcpy(&code, p + 8, 4);
    /* "HTTP/1.0" with the low bit of the minor version ignored; then ' ' and three digits, each
     * 0x30..0x39 (high nibble 3, and low nibble + 6 carrying nothing into it), the first not 0. */
    return (proto & ~((uint64_t)1 << 56)) == 0x302e312f50545448u &&
           (code & 0xf0f0f0ffu) == 0x30303020u &&
           ((code + 0x06060600u) & 0xf0f0f000u) == 0x30303000u && p[9] != '0';
#else
    return memcmp(p, "HTTP/1.", 7) == 0 && (p[7] == '0' || p[7] == '1') && p[8] == ' ' &&
           p[9] >= '1' && p[9] <= '9' && p[10] >= '0' && p[10] <= '9' && p[11] >= '0' &&
           p[11] <= '9';
#endif
}

/* Parses the head in [*pp, lim) when all of it is there and in the plain forms described above.
 * Returns S_START when it gives up (r and *pp untouched); else does what parse_head would have
 * done with the same bytes: sets the results, moves *pp past the head and returns head_end's
 * state (a body state, S_DONE, or S_ERROR with *err set). Needs lim - *pp >= 16, which any head
 * (status line, CRLF, blank line) is. */
static unsigned head_whole(http1_resp *r, const uint8_t **pp, const uint8_t *lim, const char **err)
{
    const uint8_t *const base = *pp;
    struct ctl_map map = {lim, base, ctl_chunk(base, lim)};
    const uint8_t *p = base, *cr;
    uint8_t flags = 0;
    uint64_t content_length = 0;

    if (!status_fast(p) || (p[12] != ' ' && p[12] != '\r'))
        return S_START;
    if (!(cr = line_end(&map, next_ctl(&map, p + 12))))
        return S_START;
    p = cr + 2;

    for (;;) {
        if (p >= lim - 1)
            return S_START;
        if (p[0] == '\r') {
            if (p[1] != '\n')
                return S_START;
            p += 2;
            break;
        }
        /* The name ends at the first colon, which must come before the first control byte. */
        const uint8_t *q = next_ctl(&map, p);
        size_t n = 0;
        uint8_t h;
#if defined(__SSE2__)
        if (__builtin_expect(p <= lim - 16, 1))
            n = line_name(p, &h);
#endif
        if (n == 0) {
            /* Near the end of the input, a long name, or something wrong: byte by byte. */
            while (p + n < q && (cls[p[n]] & C_TCHAR))
                n++;
            if (n == 0 || p + n == q || p[n] != ':')
                return S_START;
            h = name_whole(p, n);
        }
        if (p + n >= q || !(cr = line_end(&map, q)))
            return S_START;

        if (h == H_SET_COOKIE) {
            flags |= F_SET_COOKIE;
        } else if (h != H_OTHER) {
            const uint8_t *v = p + n + 1, *ve = cr;
            while (v < ve && is_ws(*v))
                v++;
            while (ve > v && is_ws(ve[-1]))
                ve--;
            size_t len = (size_t)(ve - v);
            if (h == H_CONTENT_LENGTH) {
                /* Digits only, at most 19 of them (so no overflow); a list goes the slow way. */
                uint64_t num = 0;
                if (len - 1 > 18)
                    return S_START;
                for (; v < ve; v++) {
                    unsigned d = (unsigned)*v - '0';
                    if (d > 9)
                        return S_START;
                    num = num * 10 + d;
                }
                if ((flags & F_CONTENT_LENGTH) && num != content_length)
                    return S_START;
                content_length = num;
                flags |= F_CONTENT_LENGTH;
            } else if (h == H_CONNECTION) {
                /* One token (no comma), as list_element_end counts it. */
                if (len == 10 && fold_eq(v, "keep-alive", 10))
                    flags |= F_KEEP_ALIVE;
                else if (len == 5 && fold_eq(v, "close", 5))
                    flags |= F_CLOSE;
                else if (memchr(v, ',', len))
                    return S_START;
            } else {
                /* The only coding, if any, decides chunked, as in list_element_end. */
                flags |= F_TRANSFER_ENCODING;
                if (len == 7 && fold_eq(v, "chunked", 7))
                    flags |= F_CHUNKED;
                else if (memchr(v, ',', len))
                    return S_START;
                else if (len)
                    flags &= (uint8_t)~F_CHUNKED;
            }
        }
        p = cr + 2;
    }

    r->minor_version = base[7] - '0';
    r->status = (base[9] - '0') * 100 + (base[10] - '0') * 10 + (base[11] - '0');
    r->flags = flags;
    r->content_length = content_length;
    *pp = p;
    return head_end(r, err);
}

/* Runs the head (or trailer) states over [*pp, lim) and advances *pp past what it used. Stops
 * after the line that ends the head: returns the state that follows (a body state, S_DONE), a
 * head state when lim was reached first, or S_ERROR with *err set. */
static unsigned parse_head(http1_resp *r, unsigned st, const uint8_t **pp, const uint8_t *lim,
                           const char **err)
{
    const uint8_t *p = *pp;
    const char *e;
    uint8_t c = 0;

    while (p < lim) {
        c = *p++;
        switch (st) {
        case S_START:
            if (c == 'H') {
                const uint8_t *q = status_whole(r, p - 1, lim);
                if (q) {
                    p = q;
                    st = S_STATUS_END;
                } else {
                    r->match = 1;
                    st = S_PROTO;
                }
            } else if (c == '\r') {
                st = S_START_LF;
            } else {
                e = "invalid status line";
                goto fail;
            }
            break;
        case S_START_LF:
            if (c != '\n')
                goto bare_cr;
            st = S_START;
            break;
        case S_PROTO:
            if (c != (uint8_t) "HTTP/1."[r->match]) {
                e = r->match < 5 ? "invalid status line" : "unsupported HTTP version";
                goto fail;
            }
            if (++r->match == 7)
                st = S_MINOR;
            break;
        case S_MINOR:
            if (c != '0' && c != '1') {
                e = "unsupported HTTP version";
                goto fail;
            }
            r->minor_version = c - '0';
            st = S_VERSION_SP;
            break;
        case S_VERSION_SP:
            if (c != ' ') {
                e = "invalid HTTP version";
                goto fail;
            }
            r->match = 0;
            st = S_STATUS;
            break;
        case S_STATUS:
            if (c < '0' || c > '9' || (r->match == 0 && c == '0')) {
                e = "invalid status code";
                goto fail;
            }
            r->status = r->status * 10 + (c - '0');
            if (++r->match == 3)
                st = S_STATUS_END;
            break;
        case S_STATUS_END:
            if (c == ' ') {
                st = S_REASON;
            } else if (c == '\r') {
                st = S_LINE_LF;
            } else {
                e = "invalid status code";
                goto fail;
            }
            break;
        case S_REASON:
            if (cls[c] & C_TEXT) {
                p = skip_text(p, lim);
            } else if (c == '\r') {
                st = S_LINE_LF;
            } else {
                e = "invalid reason phrase";
                goto fail;
            }
            break;
        case S_LINE_LF:
            if (c != '\n')
                goto bare_cr;
            st = S_FIELD_START;
            break;
        case S_FIELD_START:
            if (c == '\r') {
                st = S_HEAD_LF;
            } else if (cls[c] & C_TCHAR) {
                /* With the name and its colon in view, name it at once; else byte by byte. */
                const uint8_t *q = p;
                while (q < lim && (cls[*q] & C_TCHAR))
                    q++;
                /* Trailers are checked but never interpreted. */
                bool trailer = r->body_mode == B_CHUNKED;
                if (q < lim && *q == ':') {
                    r->hdr = trailer ? H_OTHER : name_whole(p - 1, (size_t)(q - p + 1));
                    value_start(r);
                    p = q + 1;
                    st = S_VALUE;
                } else {
                    r->hdr = trailer ? 0 : name_step(TRACKED, 0, lower(c));
                    r->match = 1;
                    st = S_NAME;
                }
            } else {
                e = is_ws(c) ? "obs-fold or whitespace before a header name"
                             : "invalid header name";
                goto fail;
            }
            break;
        case S_NAME:
            if (cls[c] & C_TCHAR) {
                if (r->hdr == 0) {
                    while (p < lim && (cls[*p] & C_TCHAR))
                        p++;
                } else {
                    r->hdr = name_step(r->hdr, r->match, lower(c));
                    r->match++;
                }
                break;
            }
            if (c != ':') {
                e = "invalid header name";
                goto fail;
            }
            r->hdr = r->hdr ? name_end(r->hdr, r->match) : H_OTHER;
            value_start(r);
            st = S_VALUE;
            break;
        case S_VALUE:
            if (c == '\r') {
                if ((e = value_end(r)))
                    goto fail;
                st = S_LINE_LF;
            } else if (!(cls[c] & C_TEXT)) {
                e = "invalid header value";
                goto fail;
            } else if (r->hdr == H_OTHER) {
                p = skip_text(p, lim);
            } else if ((e = value_byte(r, c))) {
                goto fail;
            }
            break;
        case S_HEAD_LF:
            if (c != '\n')
                goto bare_cr;
            *pp = p;
            if (r->body_mode == B_CHUNKED)
                return S_DONE; /* end of the trailers */
            return head_end(r, err);
        default:
            e = "internal error: bad head state";
            goto fail;
        }
    }
    *pp = p;
    return st;

bare_cr:
    e = "expected LF after CR";
fail:
    if (c == '\n')
        e = BARE_LF; /* more telling than what the state expected instead */
    *pp = p;
    *err = e;
    return S_ERROR;
}

/* One byte of a chunk-size line, or of the CRLF after chunk data. */
static unsigned chunk_byte(http1_resp *r, unsigned st, uint8_t c, const char **err)
{
    int v;

    switch (st) {
    case S_CHUNK_SIZE_START:
        if ((v = hex_value(c)) < 0)
            goto bad_size;
        r->remaining = (uint64_t)v;
        return S_CHUNK_SIZE;
    case S_CHUNK_SIZE:
        if ((v = hex_value(c)) >= 0) {
            if (r->remaining >> 60) {
                *err = "chunk size overflow";
                return S_ERROR;
            }
            r->remaining = r->remaining << 4 | (uint64_t)v;
            return S_CHUNK_SIZE;
        }
        if (c == '\r')
            return S_CHUNK_SIZE_LF;
        if (c == ';')
            return S_EXT_NAME_START;
        if (is_ws(c))
            return S_CHUNK_SIZE_WS;
        goto bad_size;
    case S_CHUNK_SIZE_WS: /* BWS is allowed before ';' only: "5  \r\n" is not a size */
        if (is_ws(c))
            return st;
        if (c == ';')
            return S_EXT_NAME_START;
        goto bad_size;
    case S_EXT_NAME_START:
        if (is_ws(c))
            return st;
        if (cls[c] & C_TCHAR)
            return S_EXT_NAME;
        goto bad_ext;
    case S_EXT_NAME:
        if (cls[c] & C_TCHAR)
            return st;
        if (is_ws(c))
            return S_EXT_NAME_WS;
        goto name_done;
    case S_EXT_NAME_WS:
        if (is_ws(c))
            return st;
    name_done:
        if (c == '=')
            return S_EXT_VALUE_START;
        goto value_done;
    case S_EXT_VALUE_START:
        if (is_ws(c))
            return st;
        if (c == '"')
            return S_EXT_QUOTED;
        if (cls[c] & C_TCHAR)
            return S_EXT_TOKEN;
        goto bad_ext;
    case S_EXT_TOKEN:
        if (cls[c] & C_TCHAR)
            return st;
        if (is_ws(c))
            return S_EXT_VALUE_WS;
        goto value_done;
    case S_EXT_QUOTED:
        if (c == '"')
            return S_EXT_VALUE_WS;
        if (c == '\\')
            return S_EXT_QUOTED_ESC;
        if (cls[c] & C_QDTEXT)
            return st;
        goto bad_ext;
    case S_EXT_QUOTED_ESC:
        if (cls[c] & C_TEXT)
            return S_EXT_QUOTED;
        goto bad_ext;
    case S_EXT_VALUE_WS:
        if (is_ws(c))
            return st;
    value_done:
        if (c == ';')
            return S_EXT_NAME_START;
        if (c == '\r')
            return S_CHUNK_SIZE_LF;
        goto bad_ext;
    case S_CHUNK_SIZE_LF:
        if (c != '\n') {
            *err = "expected LF after CR";
            return S_ERROR;
        }
        /* The last chunk: trailers follow, parsed by the head states. */
        return r->remaining ? S_CHUNK_DATA : S_FIELD_START;
    case S_CHUNK_DATA_CR:
        if (c != '\r')
            goto bad_data_end;
        return S_CHUNK_DATA_LF;
    case S_CHUNK_DATA_LF:
        if (c != '\n')
            goto bad_data_end;
        return S_CHUNK_SIZE_START;
    default:
        *err = "internal error: bad body state";
        return S_ERROR;
    }

bad_size:
    *err = c == '\n' ? BARE_LF : "invalid chunk size";
    return S_ERROR;
bad_ext:
    *err = "invalid chunk extension";
    return S_ERROR;
bad_data_end:
    *err = "missing CRLF after chunk data";
    return S_ERROR;
}

/* http1_resp_parse by the state machine alone. */
static ssize_t parse(http1_resp *r, const char *buf, size_t len)
{
    const uint8_t *const start = (const uint8_t *)buf;
    const uint8_t *const end = start + len;
    const uint8_t *p = start;
    const char *err = NULL;
    unsigned st = r->st;

    if (st == S_ERROR)
        return HTTP1_ERROR;
    if (st == S_DONE) {
        err = "response already complete (zero the parser between responses)";
        goto fail;
    }

    while (p < end) {
        if (st <= S_HEAD_LF) {
            /* The limit is applied by shortening the input, so the error comes at the same
             * byte however the response is split. */
            size_t room = HTTP1_MAX_HEAD - r->head_len;
            const uint8_t *lim = (size_t)(end - p) > room ? p + room : end;
            const uint8_t *from = p;

            st = parse_head(r, st, &p, lim, &err);
            r->head_len += (uint32_t)(p - from);
            if (st == S_ERROR)
                goto fail;
            if (st == S_DONE)
                goto done;
            if (st <= S_HEAD_LF) {
                if (p == end)
                    break;
                err = r->body_mode == B_CHUNKED ? "response trailers too large"
                                                : "response head too large";
                goto fail;
            }
            continue;
        }
        switch (st) {
        case S_LENGTH:
        case S_CHUNK_DATA: {
            uint64_t n = (uint64_t)(end - p);
            if (n > r->remaining)
                n = r->remaining;
            if (r->sink)
                r->sink(r->sink_ctx, (const char *)p, (size_t)n);
            p += n;
            r->remaining -= n;
            r->body_len += n;
            if (r->remaining == 0) {
                if (st == S_LENGTH)
                    goto done;
                st = S_CHUNK_DATA_CR;
            }
            break;
        }
        case S_CLOSE:
            if (r->sink)
                r->sink(r->sink_ctx, (const char *)p, (size_t)(end - p));
            r->body_len += (uint64_t)(end - p);
            p = end;
            break;
        default:
            st = chunk_byte(r, st, *p++, &err);
            if (st == S_ERROR)
                goto fail;
        }
    }
    r->st = (uint8_t)st;
    r->wire_len += len;
    return HTTP1_PARTIAL;

done:
    r->st = S_DONE;
    r->wire_len += (uint64_t)(p - start);
    return p - start;

fail:
    r->st = S_ERROR;
    r->error = err;
    r->wire_len += (uint64_t)(p - start);
    return HTTP1_ERROR;
}

/* A new response whose head may be in view: the fast path, when it takes the head. Returns
 * what http1_resp_parse returns, or PARSE_SLOW (r untouched) when the head is not for it. */
enum { PARSE_SLOW = -3 };

static ssize_t parse_whole(http1_resp *r, const char *buf, size_t len)
{
    const uint8_t *const start = (const uint8_t *)buf;
    const uint8_t *p = start;
    const char *err = NULL;
    /* The same limit parse_head applies, so the fast path never sees more than it would. */
    size_t room = HTTP1_MAX_HEAD - r->head_len;
    const uint8_t *lim = start + (len > room ? room : len);
    if (lim - start < 16)
        return PARSE_SLOW;

    unsigned st = head_whole(r, &p, lim, &err);
    if (st == S_START)
        return PARSE_SLOW;
    size_t head = (size_t)(p - start);
    r->head_len += (uint32_t)head;
    r->wire_len += head;
    if (st == S_ERROR) {
        r->st = S_ERROR;
        r->error = err;
        return HTTP1_ERROR;
    }
    if (st == S_LENGTH && r->remaining <= len - head) {
        /* The common end: the whole body is in view too. */
        if (r->sink)
            r->sink(r->sink_ctx, buf + head, (size_t)r->remaining);
        r->body_len = r->remaining;
        head += r->remaining;
        r->wire_len += r->remaining;
        r->remaining = 0;
        st = S_DONE;
    }
    if (st == S_DONE) {
        r->st = S_DONE;
        return (ssize_t)head;
    }
    /* A body that goes on past the buffer, or chunks: the state machine takes it from here. */
    r->st = (uint8_t)st;
    ssize_t n = parse(r, buf + head, len - head);
    return n > 0 ? n + (ssize_t)head : n;
}

ssize_t http1_resp_parse(http1_resp *r, const char *buf, size_t len)
{
    if (__builtin_expect(r->st == S_START, 1)) {
        ssize_t n = parse_whole(r, buf, len);
        if (n != PARSE_SLOW)
            return n;
    }
    return parse(r, buf, len);
}

/* For the unit tests and the fuzz driver only, and so not in http1.h: http1_resp_parse without
 * the whole-head fast path, so that each path's result can be held against the other's on the
 * same input. */
ssize_t http1_resp_parse_slow(http1_resp *r, const char *buf, size_t len);

ssize_t http1_resp_parse_slow(http1_resp *r, const char *buf, size_t len)
{
    return parse(r, buf, len);
}

int http1_resp_eof(http1_resp *r)
{
    switch (r->st) {
    case S_ERROR:
        return HTTP1_ERROR;
    case S_DONE:
        return 0;
    case S_CLOSE:
        r->st = S_DONE;
        return 0;
    case S_START:
    case S_START_LF:
        r->error = "connection closed before a response";
        break;
    default:
        r->error = "connection closed before the response ended";
        break;
    }
    r->st = S_ERROR;
    return HTTP1_ERROR;
}

/* Request side. */

static bool is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(cls[(uint8_t)s[i]] & C_TCHAR))
            return false;
    return true;
}

/* Field values and the Host value: text (HT SP VCHAR obs-text), so no CR, LF or other CTL. */
static bool is_text(const char *s)
{
    for (; *s; s++)
        if (!(cls[(uint8_t)*s] & C_TEXT))
            return false;
    return true;
}

/* The target goes between two spaces of the request line: no SP and no CTL. */
static bool is_target(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!(cls[(uint8_t)*s] & C_TEXT) || *s == ' ' || *s == '\t')
            return false;
    return true;
}

enum { D_HOST = 1, D_USER_AGENT = 2, D_CONTENT_LENGTH = 4 };

/* Checks a "Name: value" user header; returns which default it replaces (0 for none) or
 * -EINVAL. */
static int user_header(const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || !is_token(h, (size_t)(colon - h)) || !is_text(colon + 1))
        return -EINVAL;
    size_t n = (size_t)(colon - h);
    if (n == 4 && strncasecmp(h, "host", n) == 0)
        return D_HOST;
    if (n == 10 && strncasecmp(h, "user-agent", n) == 0)
        return D_USER_AGENT;
    if (n == 14 && strncasecmp(h, "content-length", n) == 0)
        return D_CONTENT_LENGTH;
    return 0;
}

/* Writes through o->buf when it is set, and counts either way: run once to size, once to fill. */
struct sink {
    char *buf;
    size_t len;
};

static void put(struct sink *o, const char *s, size_t n)
{
    if (o->buf)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_str(struct sink *o, const char *s)
{
    put(o, s, strlen(s));
}

static void emit(struct sink *o, const http1_req_spec *spec, unsigned replaced,
                 const char *content_length)
{
    put_str(o, spec->method);
    put(o, " ", 1);
    put_str(o, spec->target);
    put_str(o, " HTTP/1.1\r\n");
    if (!(replaced & D_HOST)) {
        put_str(o, "Host: ");
        put_str(o, spec->host);
        put(o, "\r\n", 2);
    }
    if (!(replaced & D_USER_AGENT))
        put_str(o, "User-Agent: blast/" BLAST_VERSION "\r\n");
    for (size_t i = 0; i < spec->nheaders; i++) {
        put_str(o, spec->headers[i]);
        put(o, "\r\n", 2);
    }
    if (content_length) {
        put_str(o, "Content-Length: ");
        put_str(o, content_length);
        put(o, "\r\n", 2);
    }
    put(o, "\r\n", 2);
    if (spec->body_len)
        put(o, spec->body, spec->body_len);
}

int http1_req_compile(http1_req *out, const http1_req_spec *spec)
{
    unsigned replaced = 0;
    char cl[24];
    const char *content_length = NULL;

    out->bytes = NULL;
    out->len = 0;
    if (!spec->method || !is_token(spec->method, strlen(spec->method)) || !spec->target ||
        !is_target(spec->target) || (spec->nheaders && !spec->headers) ||
        (spec->body_len && !spec->body))
        return -EINVAL;
    for (size_t i = 0; i < spec->nheaders; i++) {
        int d = spec->headers[i] ? user_header(spec->headers[i]) : -EINVAL;
        if (d < 0)
            return d;
        replaced |= (unsigned)d;
    }
    if (!(replaced & D_HOST) && (!spec->host || !is_text(spec->host)))
        return -EINVAL;

    if (!(replaced & D_CONTENT_LENGTH) &&
        (spec->body_len || !strcmp(spec->method, "POST") || !strcmp(spec->method, "PUT") ||
         !strcmp(spec->method, "PATCH"))) {
        snprintf(cl, sizeof cl, "%zu", spec->body_len);
        content_length = cl;
    }

    struct sink o = {0};
    emit(&o, spec, replaced, content_length);
    o.buf = malloc(o.len + 1); /* NUL-terminated for logging; len excludes it */
    if (!o.buf)
        return -ENOMEM;
    size_t want = o.len;
    o.len = 0;
    emit(&o, spec, replaced, content_length);
    o.buf[want] = '\0';
    out->bytes = o.buf;
    out->len = want;
    return 0;
}

void http1_req_free(http1_req *req)
{
    if (!req)
        return;
    free(req->bytes);
    req->bytes = NULL;
    req->len = 0;
}
