/* http1: the HTTP/1.1 wire format, client side.
 *
 * The response parser is a byte-at-a-time state machine: it needs no look-back, so a response
 * may arrive split at any byte across any number of receive buffers and nothing is copied.
 * Bodies are counted and discarded. A zero-filled http1_resp is a valid start state (set
 * `head_request` for a response to HEAD before feeding bytes).
 *
 * The request side compiles a request once (at start) into immutable bytes that any number of
 * connections may send as they are. */
#ifndef BLAST_HTTP1_H
#define BLAST_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    HTTP1_ERROR = -1,   /* malformed response; resp->error says why */
    HTTP1_PARTIAL = -2, /* every byte given was consumed; the response is not complete yet */
};

/* Limits beyond which a response is rejected as malformed (a server misbehaving, not a load). */
#define HTTP1_MAX_HEAD 65536 /* bytes of status line + headers + blank line */

typedef struct http1_resp {
    /* Input: set before the first byte when the request was HEAD (the response has no body). */
    bool head_request;
    /* Input, optional: called with every piece of the body as it is parsed (de-chunked, in
     * order, pointing into the caller's buffer), for callers that keep the body. */
    void (*sink)(void *ctx, const char *p, size_t n);
    void *sink_ctx;

    /* Results: valid once http1_resp_parse returned > 0 (or http1_resp_eof returned 0). */
    int status;        /* 100..999 */
    int minor_version; /* 0 or 1 (HTTP/1.x) */
    bool keep_alive;   /* the connection may carry another request after this response */
    uint64_t body_len; /* body bytes, after removing chunked framing */
    uint64_t wire_len; /* bytes of this response on the wire, head included */
    const char *error; /* static text on HTTP1_ERROR, e.g. "invalid status line" */

    /* Private parser state: callers must not touch it. Zero is the start state. */
    uint8_t st;        /* state machine position */
    uint8_t body_mode; /* none yet (in the head) / length / chunked / until close */
    uint8_t hdr;       /* header being parsed (while its name is read: the names it may be) */
    uint8_t match;     /* characters of a header name, token or status code matched so far */
    uint8_t flags;     /* seen content-length, transfer-encoding, chunked last, close, ... */
    uint8_t tok;       /* token a header list element is being matched against */
    uint8_t elem;      /* position in a header list element: before, inside, after it */
    uint32_t head_len; /* head (and trailer) bytes so far, bounded by HTTP1_MAX_HEAD */
    uint64_t content_length;
    uint64_t remaining; /* body or chunk bytes still expected; a number being read in the head */
} http1_resp;

/* Feeds `len` bytes of the response stream to r.
 * Returns n > 0 when a whole response ended after the first n bytes (n <= len): results are
 * valid; bytes after n belong to what follows (a next response, or an unsolicited one).
 * Returns HTTP1_PARTIAL when all len bytes were consumed and the response is not complete, or
 * HTTP1_ERROR when the bytes are not a valid response (r->error set; r is then unusable until
 * zeroed). A 1xx response other than 101 is returned as complete like any other: the caller
 * zeroes r (keeping head_request) and goes on parsing for the final response. */
ssize_t http1_resp_parse(http1_resp *r, const char *buf, size_t len);

#define HTTP1_SET_COOKIE 32 /* in http1_resp.flags: the head has a Set-Cookie field */

/* Whether the head seen so far has a Set-Cookie field. */
static inline bool http1_resp_set_cookie(const http1_resp *r)
{
    return r->flags & HTTP1_SET_COOKIE;
}

/* Whether r has seen its whole head (status line and header fields): a body, if any, follows.
 * After a complete response (http1_resp_parse returned > 0) the head was seen too. */
static inline bool http1_resp_head_seen(const http1_resp *r)
{
    return r->body_mode != 0;
}

/* Tells r that the peer closed the connection. Returns 0 when that completes the response (a
 * body delimited by close), or HTTP1_ERROR when the response was cut short (r->error set, e.g.
 * "connection closed before the response ended"). */
int http1_resp_eof(http1_resp *r);

/* The one character-class table of blast (RFC 9110): config, the request builders and the
 * parser all ask it. */
enum { HTTP1_TCHAR = 1, HTTP1_TEXT = 2 };
extern const uint8_t http1_cls[256];

/* A token character (method, header name). */
static inline bool http1_is_tchar(unsigned char c)
{
    return http1_cls[c] & HTTP1_TCHAR;
}

/* A field-value character: HT, SP, visible ASCII, obs-text (no CR, LF or other control). */
static inline bool http1_is_text(unsigned char c)
{
    return http1_cls[c] & HTTP1_TEXT;
}

/* A request to send: bytes[0..len), then body[0..body_len) when body is not NULL (a large body
 * shared by every connection, sent after a head built per request). */
typedef struct http1_req {
    char *bytes;
    size_t len;
    const char *body;
    size_t body_len;
} http1_req;

/* What a request is made of. headers are "Name: value" strings as the user wrote them. */
typedef struct http1_req_spec {
    const char *method;         /* "GET", "POST", ... */
    const char *target;         /* origin form: "/path?query" */
    const char *host;           /* Host header value, with ":port" when not the default */
    const char *const *headers; /* user headers, may be NULL when nheaders is 0 */
    size_t nheaders;
    const char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
} http1_req_spec;

/* Builds the request bytes: request line, Host, User-Agent: blast/<version>, the user headers,
 * Content-Length when there is a body (or the method is POST, PUT or PATCH), blank line, body.
 * A user header named Host, User-Agent or Content-Length (any case) replaces the default one.
 * Returns 0 and fills *out (the caller owns out->bytes: http1_req_free), -EINVAL when a method,
 * target or header contains CR, LF or NUL or a header has no colon (also: a method that is not a
 * token, a target with a space or control byte, a header name that is not a token right before
 * the colon, a value with a control byte other than tab, no host and no Host header), -ENOMEM.
 * On failure *out is zeroed. */
int http1_req_compile(http1_req *out, const http1_req_spec *spec);

/* Frees the bytes of a compiled request; NULL and a zeroed request are accepted. */
void http1_req_free(http1_req *req);

#endif
