/* Tests for http1: the response parser (tables of wire bytes and what must come of them, each
 * fed whole, one byte at a time, split in two at every position, against a guard page, and whole
 * through the state machine alone, without the whole-head fast path), the llhttp response
 * corpus, random heads built to probe the fast path, and the request compiler.
 *
 * Every piece handed to the parser is copied so that its last byte sits right before a
 * PROT_NONE page: reading one byte too far crashes the test instead of passing by luck. */
#include <criterion/criterion.h>
#include <jansson.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http1.h"
#include "version.h"

/* Not in http1.h (not part of the interface): http1_resp_parse without its whole-head fast path,
 * so that the tests can hold the fast path against the state machine on the same input. */
ssize_t http1_resp_parse_slow(http1_resp *r, const char *buf, size_t len);

typedef ssize_t (*parse_fn)(http1_resp *r, const char *buf, size_t len);

/* Guarded buffers. */

typedef struct guard {
    uint8_t *base;
    size_t size; /* readable bytes before the PROT_NONE page */
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
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    munmap(g->base, g->size + page);
}

/* Copies n bytes so that the last one is the last readable byte before the guard page. */
static const char *guard_place(guard *g, const char *src, size_t n)
{
    uint8_t *dst = g->base + g->size - n;
    if (n)
        memcpy(dst, src, n);
    return (const char *)dst;
}

/* The driver: what a connection does with the bytes of a response stream. */

enum verdict {
    V_DONE,        /* every byte belonged to complete responses */
    V_PARTIAL,     /* the input ended inside a response (no EOF given) */
    V_BAD,         /* the parser rejected the bytes */
    V_TRUNC,       /* EOF inside a response: http1_resp_eof reported an error */
    V_UPGRADE,     /* stopped after a 101: the rest is another protocol */
    V_AFTER_CLOSE, /* bytes after a response that ended keep-alive */
};

static const char *const verdict_name[] = {"done",      "partial", "bad",
                                           "truncated", "upgrade", "after-close"};

#define MAX_RESP 8

typedef struct got {
    int status;
    int minor_version;
    uint64_t body_len;
    bool keep_alive;
    size_t end; /* offset just past this response in the input */
    uint64_t wire_len;
} got;

typedef struct outcome {
    enum verdict verdict;
    const char *error;
    int nresp;
    got resp[MAX_RESP];
} outcome;

enum place { PLACE_GUARD, PLACE_MALLOC };

/* Feeds in[0..len) in pieces ending at cuts[0] < cuts[1] < ... = len. Parses successive
 * responses: after each complete one the parser is zeroed (head_request kept) and the rest of
 * the piece goes on. Stops at a 101 and after a response that ends keep-alive when bytes follow
 * (a client closes; it does not read on). At the end, with bytes of an unfinished response fed
 * and eof set, calls http1_resp_eof. */
static outcome drive(parse_fn parse, const char *in, size_t len, bool head, bool eof,
                     const size_t *cuts, size_t ncuts, enum place place, guard *g)
{
    outcome o = {.verdict = V_DONE};
    http1_resp r = {.head_request = head};
    size_t off = 0, resp_start = 0;

    for (size_t c = 0; c < ncuts; c++) {
        size_t n = cuts[c] - off;
        char *copy = NULL;
        const char *p;
        if (place == PLACE_MALLOC) {
            copy = malloc(n ? n : 1);
            memcpy(copy, in + off, n);
            p = copy;
        } else {
            p = guard_place(g, in + off, n);
        }
        size_t at = 0;
        do {
            ssize_t rc = parse(&r, p + at, n - at);
            if (rc == HTTP1_ERROR) {
                o.verdict = V_BAD;
                o.error = r.error;
                free(copy);
                return o;
            }
            if (rc == HTTP1_PARTIAL)
                break;
            cr_assert(rc > 0 && (size_t)rc <= n - at, "parse returned %zd for %zu bytes", rc,
                      n - at);
            at += (size_t)rc;
            cr_assert(o.nresp < MAX_RESP, "too many responses");
            o.resp[o.nresp++] =
                (got){r.status, r.minor_version, r.body_len, r.keep_alive, off + at, r.wire_len};
            resp_start = off + at;
            if (r.status == 101 || (!r.keep_alive && resp_start < len)) {
                o.verdict = r.status == 101 ? V_UPGRADE : V_AFTER_CLOSE;
                free(copy);
                return o;
            }
            r = (http1_resp){.head_request = head};
        } while (at < n);
        free(copy);
        off = cuts[c];
    }
    if (resp_start == len)
        return o;
    if (!eof) {
        o.verdict = V_PARTIAL;
        return o;
    }
    if (http1_resp_eof(&r) != 0) {
        o.verdict = V_TRUNC;
        o.error = r.error;
        return o;
    }
    cr_assert(o.nresp < MAX_RESP, "too many responses");
    o.resp[o.nresp++] = (got){r.status, r.minor_version, r.body_len, r.keep_alive, len, r.wire_len};
    return o;
}

static void describe(const outcome *o, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s%s%s%s", verdict_name[o->verdict], o->error ? " (" : "",
                     o->error ? o->error : "", o->error ? ")" : "");
    for (int i = 0; i < o->nresp && n > 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, " [%d body=%llu ka=%d end=%zu wire=%llu]",
                      o->resp[i].status, (unsigned long long)o->resp[i].body_len,
                      o->resp[i].keep_alive, o->resp[i].end,
                      (unsigned long long)o->resp[i].wire_len);
}

static bool same_outcome(const outcome *a, const outcome *b)
{
    if (a->verdict != b->verdict || a->nresp != b->nresp)
        return false;
    if ((a->error == NULL) != (b->error == NULL) || (a->error && strcmp(a->error, b->error)))
        return false;
    for (int i = 0; i < a->nresp; i++) {
        const got *x = &a->resp[i], *y = &b->resp[i];
        if (x->status != y->status || x->minor_version != y->minor_version ||
            x->body_len != y->body_len || x->keep_alive != y->keep_alive || x->end != y->end ||
            x->wire_len != y->wire_len)
            return false;
    }
    return true;
}

/* Splits at every position up to this length; beyond it (the 64 KiB head cases) at a stride,
 * plus every position near the start and the end, to keep the quadratic cost bounded. */
#define SPLIT_ALL_MAX 4096

/* Feeds the input (a) whole from an exact malloc, (b) one byte at a time, (c) split in two at
 * every position, (d) whole against the guard page, (e) whole against the guard page through the
 * state machine alone; all must agree with (a), which is returned. (a) and (d) take the
 * whole-head fast path where it applies; (b), (c) where the cut falls inside the head, and (e)
 * never do, so the fast path is held against the state machine on every input, errors
 * included. */
static outcome feed_all_ways(const char *name, const char *in, size_t len, bool head, bool eof)
{
    char a_text[1024], b_text[1024];
    guard g = guard_new(len);
    size_t whole = len;

    outcome ref = drive(http1_resp_parse, in, len, head, eof, &whole, 1, PLACE_MALLOC, &g);
    describe(&ref, a_text, sizeof a_text);

    outcome o = drive(http1_resp_parse, in, len, head, eof, &whole, 1, PLACE_GUARD, &g);
    describe(&o, b_text, sizeof b_text);
    cr_expect(same_outcome(&ref, &o), "%s: whole vs guard page:\n  %s\n  %s", name, a_text, b_text);

    o = drive(http1_resp_parse_slow, in, len, head, eof, &whole, 1, PLACE_GUARD, &g);
    describe(&o, b_text, sizeof b_text);
    cr_expect(same_outcome(&ref, &o), "%s: fast path vs state machine alone:\n  %s\n  %s", name,
              a_text, b_text);

    size_t *cuts = malloc((len ? len : 1) * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    o = drive(http1_resp_parse, in, len, head, eof, cuts, len, PLACE_GUARD, &g);
    describe(&o, b_text, sizeof b_text);
    cr_expect(same_outcome(&ref, &o), "%s: whole vs byte at a time:\n  %s\n  %s", name, a_text,
              b_text);
    free(cuts);

    for (size_t i = 0; i <= len; i++) {
        if (len > SPLIT_ALL_MAX && i > 256 && i + 256 < len && i % 61)
            continue;
        size_t two[2] = {i, len};
        o = drive(http1_resp_parse, in, len, head, eof, two, 2, PLACE_GUARD, &g);
        if (!same_outcome(&ref, &o)) {
            describe(&o, b_text, sizeof b_text);
            cr_expect(0, "%s: whole vs split at %zu:\n  %s\n  %s", name, i, a_text, b_text);
            break;
        }
    }
    guard_free(&g);
    return ref;
}

/* Response table. */

typedef struct want {
    int status;
    uint64_t body_len;
    bool keep_alive;
    size_t end; /* 0: the end of the input */
} want;

typedef struct resp_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    bool head;  /* responses to HEAD */
    bool eof;   /* the peer closes after the input */
    enum verdict verdict;
    const char *error; /* expected r->error for V_BAD and V_TRUNC */
    int nresp;
    want r[3];
} resp_case;

#define BARE_LF "bare LF (lines must end in CRLF)"
#define EOF_TRUNCATED "connection closed before the response ended"

#define OK1(st, body, ka) .verdict = V_DONE, .nresp = 1, .r = {{st, body, ka, 0}}
#define BAD(msg) .verdict = V_BAD, .error = msg

#define CL5 "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
#define A32 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
/* What the benchmarks parse: nginx 1.22's `return 200 "ok\n";`, and blast-target's answer. */
#define NGINX_200                                                                                  \
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 24 Nov 2026 02:50:10 GMT\r\n"           \
    "Content-Type: application/octet-stream\r\nContent-Length: 3\r\nConnection: keep-alive\r\n"    \
    "\r\nok\n"
#define TARGET_200 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"
#define CHUNKED_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
#define H200 "HTTP/1.1 200 OK\r\n"

static const resp_case resp_cases[] = {
    /* Content-Length */
    {"content-length", CL5, OK1(200, 5, true)},
    {"content-length zero", H200 "Content-Length: 0\r\n\r\n", OK1(200, 0, true)},
    {"content-length with tabs and spaces", H200 "Content-Length: \t 5 \t\r\n\r\nhello",
     OK1(200, 5, true)},
    {"content-length repeated, same value",
     H200 "Content-Length: 5\r\ncontent-length: 5\r\n\r\nhello", OK1(200, 5, true)},
    {"content-length list of one value", H200 "Content-Length: 5, 5 ,5\r\n\r\nhello",
     OK1(200, 5, true)},
    {"content-length largest value, body pending",
     H200 "Content-Length: 18446744073709551615\r\n\r\nabc", .verdict = V_PARTIAL},
    {"content-length body shorter than the buffer: pipelined bytes left",
     H200 "Content-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
     .verdict = V_DONE, .nresp = 2, .r = {{200, 3, true, 41}, {404, 0, true, 0}}},
    {"pipelined three with a stray CRLF between",
     H200 "Content-Length: 1\r\n\r\na\r\n" H200 "Content-Length: 2\r\n\r\nbb"
          "HTTP/1.1 204 No Content\r\n\r\n",
     .verdict = V_DONE, .nresp = 3,
     .r = {{200, 1, true, 39}, {200, 2, true, 81}, {204, 0, true, 0}}},
    {"names close to tracked ones are other headers",
     H200 "Content-Lengths: x\r\nConnectionX: close\r\nTransfer-Encodings: chunked\r\n"
          "Content-Type: text/plain\r\nConnection: closed, keep-alive-x\r\nContent-Length: 2\r\n"
          "\r\nok",
     OK1(200, 2, true)},

    /* chunked */
    {"chunked", CHUNKED_HEAD "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", OK1(200, 11, true)},
    {"chunked empty body", CHUNKED_HEAD "0\r\n\r\n", OK1(200, 0, true)},
    {"chunked with extensions and trailers",
     CHUNKED_HEAD "5;a=b;c\r\nhello\r\nA ; name = \"quo;ted \\\" x\" ;t=\"\"\r\n0123456789\r\n"
                  "0;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
     OK1(200, 15, true)},
    {"chunked upper-case hex and leading zeros", CHUNKED_HEAD "00A\r\n0123456789\r\n000\r\n\r\n",
     OK1(200, 10, true)},
    {"chunked largest size, data pending", CHUNKED_HEAD "FFFFFFFFFFFFFFFF\r\nabc",
     .verdict = V_PARTIAL},
    {"transfer-encoding list ending in chunked, any case",
     H200 "Transfer-Encoding: gzip , CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n", OK1(200, 3, true)},
    {"transfer-encoding over two headers, chunked last",
     H200 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
     OK1(200, 1, true)},
    {"transfer-encoding not ending in chunked: body until close",
     H200 "Transfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc", .eof = true, OK1(200, 6, false)},
    {"transfer-encoding chunkedchunked is not chunked",
     H200 "Transfer-Encoding: chunkedchunked\r\n\r\nxy", .eof = true, OK1(200, 2, false)},

    /* body until close */
    {"until close, then eof", H200 "\r\nhello world", .eof = true, OK1(200, 11, false)},
    {"until close, empty body, then eof", H200 "Server: x\r\n\r\n", .eof = true,
     OK1(200, 0, false)},
    {"until close without eof stays partial", H200 "\r\nhello world", .verdict = V_PARTIAL},
    {"until close, Connection: keep-alive does not help", H200 "Connection: keep-alive\r\n\r\nabc",
     .eof = true, OK1(200, 3, false)},

    /* truncated */
    {"truncated content-length body", H200 "Content-Length: 10\r\n\r\nabc", .eof = true,
     .verdict = V_TRUNC, .error = EOF_TRUNCATED},
    {"truncated head", H200 "Content-Le", .eof = true, .verdict = V_TRUNC, .error = EOF_TRUNCATED},
    {"truncated status line", "HTTP/1.1 2", .eof = true, .verdict = V_TRUNC,
     .error = EOF_TRUNCATED},
    {"truncated chunked: no last chunk", CHUNKED_HEAD "5\r\nhello\r\n", .eof = true,
     .verdict = V_TRUNC, .error = EOF_TRUNCATED},
    {"truncated chunked: no end of trailers", CHUNKED_HEAD "0\r\nX: y\r\n", .eof = true,
     .verdict = V_TRUNC, .error = EOF_TRUNCATED},
    {"only an empty line, then eof", "\r\n", .eof = true, .verdict = V_TRUNC,
     .error = "connection closed before a response"},

    /* no body */
    {"HEAD with content-length", H200 "Content-Length: 1234\r\n\r\n", .head = true,
     OK1(200, 0, true)},
    {"HEAD with chunked", CHUNKED_HEAD, .head = true, OK1(200, 0, true)},
    {"HEAD without length", H200 "\r\n", .head = true, OK1(200, 0, true)},
    {"204", "HTTP/1.1 204 No Content\r\n\r\n", OK1(204, 0, true)},
    {"204 with Connection: close", "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
     OK1(204, 0, false)},
    {"304 with content-length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
     OK1(304, 0, true)},
    {"100-continue then 200", "HTTP/1.1 100 Continue\r\n\r\n" H200 "Content-Length: 2\r\n\r\nok",
     .verdict = V_DONE, .nresp = 2, .r = {{100, 0, true, 25}, {200, 2, true, 0}}},
    {"103 with headers then 204",
     "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
     "HTTP/1.1 204 No Content\r\n\r\n",
     .verdict = V_DONE, .nresp = 2, .r = {{103, 0, true, 57}, {204, 0, true, 0}}},
    {"101 stops HTTP: the rest is the new protocol",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
     "\x81\x05hello",
     .verdict = V_UPGRADE, .nresp = 1, .r = {{101, 0, false, 77}}},

    /* keep-alive */
    {"Connection: close", H200 "Connection: close\r\nContent-Length: 2\r\n\r\nok",
     OK1(200, 2, false)},
    {"Connection list with close, any case",
     H200 "Connection: Upgrade ,, CLOSE\r\nContent-Length: 0\r\n\r\n", OK1(200, 0, false)},
    {"bytes after Connection: close",
     H200 "Connection: close\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
     .verdict = V_AFTER_CLOSE, .nresp = 1, .r = {{200, 2, false, 59}}},
    {"HTTP/1.0 closes by default", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
     OK1(200, 2, false)},
    {"HTTP/1.0 with keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", OK1(200, 2, true)},
    {"HTTP/1.0 with keep-alive and close",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\n"
     "Content-Length: 0\r\n\r\n",
     OK1(200, 0, false)},
    {"HTTP/1.0 with keep-alive, no length: until close",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nabc", .eof = true, OK1(200, 3, false)},
    {"HTTP/1.0 with chunked: framed by chunks, but no keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
     "2\r\nok\r\n0\r\n\r\n",
     OK1(200, 2, false)},

    /* status line */
    {"no reason phrase, no space", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", OK1(200, 0, true)},
    {"empty reason phrase", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", OK1(200, 0, true)},
    {"reason with tabs, spaces and obs-text",
     "HTTP/1.1 500 Ori\xc3\xabnt \t x\r\nContent-Length: 0\r\n\r\n", OK1(500, 0, true)},
    {"leading empty lines are skipped", "\r\n\r\n" H200 "Content-Length: 0\r\n\r\n",
     OK1(200, 0, true)},
    {"status 999", "HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n", OK1(999, 0, true)},
    {"header value with obs-text, empty value",
     H200 "X: caf\xc3\xa9\r\nY:\r\nZ: \t\r\n"
          "Content-Length: 0\r\n\r\n",
     OK1(200, 0, true)},

    /* malformed: status line */
    {"bad version: HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", BAD("unsupported HTTP version")},
    {"bad version: HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", BAD("unsupported HTTP version")},
    {"bad version: HTTP/1.01", "HTTP/1.01 200 OK\r\n\r\n", BAD("invalid HTTP version")},
    {"bad version: tab after it", "HTTP/1.1\t200 OK\r\n\r\n", BAD("invalid HTTP version")},
    {"bad version: lower case", "http/1.1 200 OK\r\n\r\n", BAD("invalid status line")},
    {"bad version: HTTPS/", "HTTPS/1.1 200 OK\r\n\r\n", BAD("invalid status line")},
    {"not HTTP at all", "<html>", BAD("invalid status line")},
    {"bad status: two digits", "HTTP/1.1 20 OK\r\n\r\n", BAD("invalid status code")},
    {"bad status: four digits", "HTTP/1.1 2000 OK\r\n\r\n", BAD("invalid status code")},
    {"bad status: letters", "HTTP/1.1 abc OK\r\n\r\n", BAD("invalid status code")},
    {"bad status: below 100", "HTTP/1.1 099 OK\r\n\r\n", BAD("invalid status code")},
    {"bad status: two spaces before", "HTTP/1.1  200 OK\r\n\r\n", BAD("invalid status code")},
    {"bad reason: control byte", "HTTP/1.1 200 O\x01K\r\n\r\n", BAD("invalid reason phrase")},
    {"bare LF after the status line", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", BAD(BARE_LF)},
    {"bare CR after the status line", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n",
     BAD("expected LF after CR")},
    {"CR before the status line without LF", "\rHTTP/1.1 200 OK\r\n\r\n",
     BAD("expected LF after CR")},

    /* malformed: headers */
    {"bad header name: space inside", H200 "Bad Name: x\r\n\r\n", BAD("invalid header name")},
    {"bad header name: space before colon", H200 "Content-Length : 0\r\n\r\n",
     BAD("invalid header name")},
    {"bad header name: empty", H200 ": x\r\n\r\n", BAD("invalid header name")},
    {"bad header name: separator", H200 "X(y): z\r\n\r\n", BAD("invalid header name")},
    {"bad header name: no colon", H200 "Content-Length\r\n\r\n", BAD("invalid header name")},
    {"obs-fold", H200 "X: a\r\n b\r\nContent-Length: 0\r\n\r\n",
     BAD("obs-fold or whitespace before a header name")},
    {"NUL in a header value", H200 "X: a\0b\r\n\r\n", .len = sizeof(H200 "X: a\0b\r\n\r\n") - 1,
     BAD("invalid header value")},
    {"bare LF ending a header", H200 "X: a\nContent-Length: 0\r\n\r\n", BAD(BARE_LF)},
    {"bare CR inside a header", H200 "Foo: 1\rBar: 2\r\n\r\n", BAD("expected LF after CR")},
    {"bare LF ending the head", H200 "Content-Length: 0\r\n\n", BAD(BARE_LF)},

    /* malformed: framing */
    {"content-length overflow", H200 "Content-Length: 18446744073709551616\r\n\r\n",
     BAD("content-length overflow")},
    {"content-length overflow, long", H200 "Content-Length: 99999999999999999999999\r\n\r\n",
     BAD("content-length overflow")},
    {"conflicting content-length", H200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
     BAD("conflicting content-length")},
    {"conflicting content-length in a list", H200 "Content-Length: 5, 6\r\n\r\nhello",
     BAD("conflicting content-length")},
    {"content-length not a number", H200 "Content-Length: 5a\r\n\r\n",
     BAD("invalid content-length")},
    {"content-length negative", H200 "Content-Length: -1\r\n\r\n", BAD("invalid content-length")},
    {"content-length with a sign", H200 "Content-Length: +1\r\n\r\n",
     BAD("invalid content-length")},
    {"content-length empty", H200 "Content-Length: \r\n\r\n", BAD("invalid content-length")},
    {"content-length empty list element", H200 "Content-Length: 5,\r\n\r\nhello",
     BAD("invalid content-length")},
    {"content-length two numbers", H200 "Content-Length: 5 5\r\n\r\nhello",
     BAD("invalid content-length")},
    {"content-length and transfer-encoding",
     H200 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     BAD("both content-length and transfer-encoding")},
    {"content-length and transfer-encoding, HEAD too",
     H200 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", .head = true,
     BAD("both content-length and transfer-encoding")},
    {"bad hex digit", CHUNKED_HEAD "5g\r\nhello\r\n0\r\n\r\n", BAD("invalid chunk size")},
    {"bad hex: not a digit", CHUNKED_HEAD "x\r\n", BAD("invalid chunk size")},
    {"bad hex: empty size", CHUNKED_HEAD "\r\n", BAD("invalid chunk size")},
    {"bad hex: 0x prefix", CHUNKED_HEAD "0x5\r\nhello\r\n0\r\n\r\n", BAD("invalid chunk size")},
    {"chunk size with trailing spaces only", CHUNKED_HEAD "5  \r\nhello\r\n0\r\n\r\n",
     BAD("invalid chunk size")},
    {"chunk size overflow", CHUNKED_HEAD "10000000000000000\r\n", BAD("chunk size overflow")},
    {"chunk extension without a name", CHUNKED_HEAD "5;\r\nhello\r\n0\r\n\r\n",
     BAD("invalid chunk extension")},
    {"chunk extension with an unterminated quote", CHUNKED_HEAD "5;a=\"b\r\nhello\r\n0\r\n\r\n",
     BAD("invalid chunk extension")},
    {"chunk extension value missing", CHUNKED_HEAD "5;a=\r\nhello\r\n0\r\n\r\n",
     BAD("invalid chunk extension")},
    {"missing CRLF after chunk data", CHUNKED_HEAD "5\r\nhelloX\r\n0\r\n\r\n",
     BAD("missing CRLF after chunk data")},
    {"missing LF after chunk data", CHUNKED_HEAD "5\r\nhello\rX0\r\n\r\n",
     BAD("missing CRLF after chunk data")},
    {"bare LF after a chunk size", CHUNKED_HEAD "5\nhello\r\n0\r\n\r\n", BAD(BARE_LF)},
    {"bad trailer name", CHUNKED_HEAD "0\r\nBad Trailer: x\r\n\r\n", BAD("invalid header name")},

    /* Shapes the whole-head fast path takes, or must give up on to the state machine. Offsets
     * noted are from the start of the response: the fast path indexes it 64 bytes at a time. */
    {"nginx 1.22 return 200", NGINX_200, OK1(200, 3, true)},
    {"blast-target 200", TARGET_200, OK1(200, 3, true)},
    {"known names in any case",
     H200 "SERVER: x\r\ndAtE: y\r\ncontent-TYPE: z\r\nCONTENT-LENGTH: 2\r\nconnection: CLOSE\r\n"
          "\r\nok",
     OK1(200, 2, false)},
    {"names of 13 to 29 characters",
     H200 "Accept-Ranges: bytes\r\nX-Frame-Options: DENY\r\nContent-Encoding: gzip\r\n"
          "X-Content-Type-Opts: 1\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 2\r\n\r\nok",
     OK1(200, 2, true)},
    {"a name across byte 64", H200 "X-Pad: " A32 "\r\nContent-Length: 2\r\n\r\nok",
     OK1(200, 2, true)},
    {"CR at byte 63, LF at 64", H200 "X: " A32 "aaaaaaaaaaa\r\nContent-Length: 2\r\n\r\nok",
     OK1(200, 2, true)},
    {"a line over several 64-byte chunks, with tabs",
     H200 "X-Long: " A32 A32 "\t" A32 A32 A32 "\t" A32 A32 "\r\nContent-Length: 1\r\n\r\nz",
     OK1(200, 1, true)},
    {"tracked values with tabs and spaces around",
     H200 "Connection:\t close \t\r\nContent-Length:\t2\t\r\n\r\nok", OK1(200, 2, false)},
    {"content-length with leading zeros", H200 "Content-Length: 007\r\n\r\n1234567",
     OK1(200, 7, true)},
    {"content-length of 19 digits, body pending",
     H200 "Content-Length: 9999999999999999999\r\n\r\nab", .verdict = V_PARTIAL},
    {"empty Connection and Transfer-Encoding", H200 "Connection:\r\nTransfer-Encoding:\r\n\r\nabc",
     .eof = true, OK1(200, 3, false)},
    {"transfer-encoding of one coding, not chunked", H200 "Transfer-Encoding: gzip\r\n\r\nabc",
     .eof = true, OK1(200, 3, false)},
    {"Connection and Transfer-Encoding tokens with more in them",
     H200 "Connection: close x\r\nTransfer-Encoding: chunked x\r\n\r\nabc", .eof = true,
     OK1(200, 3, false)},
    {"Connection list with keep-alive and close",
     H200 "Connection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", OK1(200, 0, false)},
    {"head of 16 bytes", "HTTP/1.1 204\r\n\r\n", OK1(204, 0, true)},
    {"colons and spaces in values",
     H200 "Location: http://x:8080/\r\nX-E:   \r\nContent-Length: 0\r\n\r\n", OK1(200, 0, true)},
    {"value with a tab, obs-text and DEL-free text",
     H200 "X: a\tb\xff c\r\nContent-Length: 0\r\n\r\n", OK1(200, 0, true)},
    {"DEL in a header value", H200 "X: a\x7f\r\n\r\n", BAD("invalid header value")},
    {"DEL in a long header value", H200 "X-Pad: " A32 "\x7f\r\n\r\n", BAD("invalid header value")},
    {"tab before the colon", H200 "Content-Length\t: 0\r\n\r\n", BAD("invalid header name")},
    {"tab inside a known name", H200 "Con\ttent-Length: 0\r\n\r\n", BAD("invalid header name")},
    {"known name without a colon", H200 "Date\r\nContent-Length: 0\r\n\r\n",
     BAD("invalid header name")},
    {"colon only on the next line", H200 "Server\r\nX: y\r\n\r\n", BAD("invalid header name")},
    {"obs-text in a name", H200 "X\xc3\xa9: y\r\n\r\n", BAD("invalid header name")},
    {"bare CR ending the head", H200 "X: y\r\n\rz", BAD("expected LF after CR")},
    {"bare LF after a known header's value", H200 "Content-Length: 1\n\r\n\r\nx", BAD(BARE_LF)},
    {"control byte in a reason past 16 bytes", "HTTP/1.1 200 OKAYOKAYOKAY\x01\r\n\r\n",
     BAD("invalid reason phrase")},
    {"DEL in a reason", "HTTP/1.1 200 O\x7fK\r\n\r\n", BAD("invalid reason phrase")},
    {"content-length and transfer-encoding, whole",
     H200 "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
     BAD("both content-length and transfer-encoding")},
};

static void check_case(const resp_case *c, const char *in, size_t len)
{
    char text[1024];
    outcome o = feed_all_ways(c->name, in, len, c->head, c->eof);
    describe(&o, text, sizeof text);

    cr_expect(o.verdict == c->verdict, "%s: verdict %s, want %s: %s", c->name,
              verdict_name[o.verdict], verdict_name[c->verdict], text);
    if (c->error)
        cr_expect(o.error && strcmp(o.error, c->error) == 0, "%s: error \"%s\", want \"%s\"",
                  c->name, o.error ? o.error : "(none)", c->error);
    cr_expect(o.nresp == c->nresp, "%s: %d responses, want %d: %s", c->name, o.nresp, c->nresp,
              text);
    for (int i = 0; i < o.nresp && i < c->nresp; i++) {
        const want *w = &c->r[i];
        const got *g = &o.resp[i];
        size_t end = w->end ? w->end : len;
        size_t start = i ? o.resp[i - 1].end : 0;
        cr_expect(g->status == w->status && g->body_len == w->body_len &&
                      g->keep_alive == w->keep_alive && g->end == end,
                  "%s: response %d: got %s; want status %d body %llu ka %d end %zu", c->name, i,
                  text, w->status, (unsigned long long)w->body_len, w->keep_alive, end);
        cr_expect(g->wire_len == g->end - start, "%s: response %d: wire_len %llu, want %zu",
                  c->name, i, (unsigned long long)g->wire_len, g->end - start);
    }
}

Test(http1_resp, table)
{
    for (size_t i = 0; i < sizeof resp_cases / sizeof *resp_cases; i++) {
        const resp_case *c = &resp_cases[i];
        check_case(c, c->in, c->len ? c->len : strlen(c->in));
    }
}

/* A head of exactly n bytes: status line, one big header, Content-Length: 0, blank line. */
static char *head_of(size_t n)
{
    static const char pre[] = "HTTP/1.1 200 OK\r\nX: ";
    static const char post[] = "\r\nContent-Length: 0\r\n\r\n";
    char *s = malloc(n + 1);
    size_t fill = n - (sizeof pre - 1) - (sizeof post - 1);
    memcpy(s, pre, sizeof pre - 1);
    memset(s + sizeof pre - 1, 'a', fill);
    memcpy(s + sizeof pre - 1 + fill, post, sizeof post);
    return s;
}

/* Mangled inputs have no expected verdict, but must not crash or over-read, and must come out
 * the same whole, byte by byte and split anywhere. A fixed seed keeps runs reproducible. */
static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test(http1_resp, mutations_agree_however_split)
{
    static const char alphabet[] = "\r\n \t:;,=\"\\0129aAfF\x00\x7f\x80\xff";
    uint64_t seed = 0x9e3779b97f4a7c15u;
    char buf[512], name[160];

    for (size_t i = 0; i < sizeof resp_cases / sizeof *resp_cases; i++) {
        const resp_case *c = &resp_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        if (len + 4 > sizeof buf)
            continue;
        for (int m = 0; m < 16; m++) {
            size_t n = len;
            memcpy(buf, c->in, len);
            for (int k = 0, edits = 1 + (int)(xorshift(&seed) % 3); k < edits && n; k++) {
                size_t at = xorshift(&seed) % n;
                char ch = alphabet[xorshift(&seed) % (sizeof alphabet - 1)];
                switch (xorshift(&seed) % 3) {
                case 0: /* replace */
                    buf[at] = ch;
                    break;
                case 1: /* insert */
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = ch;
                    n++;
                    break;
                default: /* delete */
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
            }
            snprintf(name, sizeof name, "%s (mutant %d)", c->name, m);
            feed_all_ways(name, buf, n, c->head, m % 2);
        }
    }
}

/* Random heads built from the pieces the whole-head fast path looks at (status lines, common and
 * tracked names in any case, names of every length around the 16-byte block, values it reads
 * and values it must leave to the state machine, wrong line ends, padding that moves lines
 * across its 64-byte chunks), each parsed whole against a guard page by the fast path and by the
 * state machine alone: the two must agree on everything, errors included; every 64th is also
 * fed all the other ways. */
static const char *const rand_status[] = {
    "HTTP/1.1 200 OK",
    "HTTP/1.0 200 OK",
    "HTTP/1.1 204 No Content",
    "HTTP/1.1 304 Not Modified",
    "HTTP/1.1 101 Switching Protocols",
    "HTTP/1.1 100 Continue",
    "HTTP/1.1 404",
    "HTTP/1.1 200 ",
    "HTTP/1.1 500 \t\x80",
    "HTTP/1.2 200 OK",
    "HTTP/1.1 099 X",
    "HTTP/1.1 2000 X",
    "http/1.1 200 OK",
    "HTTP/1.1 200 O\x7fK",
    "HTTP/1.1 999 OKAYOKAYOKAYOKAY",
};
static const char *const rand_names[] = {
    "Server",
    "date",
    "CONTENT-TYPE",
    "Content-Length",
    "content-length",
    "Content-length",
    "Connection",
    "CONNECTION",
    "Transfer-Encoding",
    "transfer-encoding",
    "Keep-Alive",
    "Set-Cookie",
    "Cache-Control",
    "Last-Modified",
    "X-Frame-Options",
    "Content-Encoding",
    "Access-Control-Allow-Origin",
    "X",
    "Content-Lengths",
    "Connectio",
    "Transfer-Encodin",
    "ETag",
    "vary",
    "Location",
    "age",
    "Dat",
    "Content_Length",
    "X-Padding-Name-Of-Thirty-Chars",
};
static const char *const rand_bad_names[] = {
    "Date\t", "Bad Name", "X(y)", "", " Server", "Con\x7ftent", "Caf\xc3\xa9", "Date\r\n",
};
static const char *const rand_values[] = {
    "",
    " ",
    "0",
    " 3",
    "3 ",
    "\t12\t",
    "007",
    "18446744073709551615",
    "1844674407370955161",
    "99999999999999999999",
    "5, 5",
    "5,6",
    "-1",
    "3 3",
    "keep-alive",
    " close ",
    "Keep-Alive",
    "close, keep-alive",
    "upgrade",
    "chunked",
    "CHUNKED",
    "gzip, chunked",
    "chunked, gzip",
    "chunked x",
    " chunked\t",
    "a\tb",
    "caf\xc3\xa9",
    "a\x7f",
    "a\x01",
    "x:y",
    "\xff",
    "a\rb",
    "a\nb",
    "Tue, 24 Nov 2026 02:50:10 GMT",
    "application/octet-stream",
};
static const char *const rand_seps[] = {": ", ": ", ": ", ":", ":\t", " :", "::"};
static const char *const rand_eols[] = {"\r\n", "\r\n", "\r\n", "\r\n", "\r\n",   "\r\n",
                                        "\r\n", "\r\n", "\n",   "\r",   "\r\r\n", "\r\n "};
static const char rand_body[] = "ok\n0\r\n\r\nabcdefgh";

#define PICK(a, s) (a[xorshift(&s) % (sizeof a / sizeof *a)])

static size_t put_str_at(char *buf, size_t at, const char *s)
{
    size_t n = strlen(s);
    memcpy(buf + at, s, n);
    return at + n;
}

Test(http1_resp, random_heads_fast_path_vs_state_machine)
{
    uint64_t seed = 0x2545f4914f6cdd1du;
    char buf[4096], name[64], a_text[1024], b_text[1024];
    guard g = guard_new(sizeof buf);
    int disagreements = 0;

    for (int i = 0; i < 40000 && disagreements < 5; i++) {
        size_t n = 0;
        /* Mostly well formed: a wrong piece is picked now and then by the tables themselves. */
        n = put_str_at(buf, n, xorshift(&seed) % 4 ? "HTTP/1.1 200 OK" : PICK(rand_status, seed));
        n = put_str_at(buf, n, xorshift(&seed) % 8 ? "\r\n" : PICK(rand_eols, seed));
        for (int h = 0, nh = (int)(xorshift(&seed) % 8); h < nh; h++) {
            if (xorshift(&seed) % 4 == 0) {
                /* Padding: moves what follows across the 16-byte blocks and 64-byte chunks. */
                size_t pad = xorshift(&seed) % 150;
                n = put_str_at(buf, n, "X-Pad: ");
                memset(buf + n, 'p', pad);
                n += pad;
                n = put_str_at(buf, n, "\r\n");
            }
            n = put_str_at(
                buf, n, xorshift(&seed) % 16 ? PICK(rand_names, seed) : PICK(rand_bad_names, seed));
            n = put_str_at(buf, n, xorshift(&seed) % 8 ? ": " : PICK(rand_seps, seed));
            n = put_str_at(buf, n, PICK(rand_values, seed));
            n = put_str_at(buf, n, xorshift(&seed) % 16 ? "\r\n" : PICK(rand_eols, seed));
        }
        n = put_str_at(buf, n, xorshift(&seed) % 16 ? "\r\n" : PICK(rand_eols, seed));
        size_t body = xorshift(&seed) % (sizeof rand_body);
        memcpy(buf + n, rand_body, body);
        n += body;
        bool head = xorshift(&seed) % 8 == 0, eof = xorshift(&seed) % 2;

        size_t whole = n;
        outcome fast = drive(http1_resp_parse, buf, n, head, eof, &whole, 1, PLACE_GUARD, &g);
        outcome slow = drive(http1_resp_parse_slow, buf, n, head, eof, &whole, 1, PLACE_GUARD, &g);
        if (!same_outcome(&fast, &slow)) {
            describe(&fast, a_text, sizeof a_text);
            describe(&slow, b_text, sizeof b_text);
            cr_expect(
                0, "random head %d (%zu bytes) \"%.*s\": fast path vs state machine:\n  %s\n  %s",
                i, n, (int)n, buf, a_text, b_text);
            disagreements++;
        }
        if (i % 64 == 0) {
            snprintf(name, sizeof name, "random head %d", i);
            feed_all_ways(name, buf, n, head, eof);
        }
    }
    guard_free(&g);
}

Test(http1_resp, head_limit)
{
    char *s = head_of(HTTP1_MAX_HEAD);
    check_case(&(resp_case){"head of exactly HTTP1_MAX_HEAD", .verdict = V_DONE, .nresp = 1,
                            .r = {{200, 0, true, 0}}},
               s, HTTP1_MAX_HEAD);
    free(s);

    s = head_of(HTTP1_MAX_HEAD + 1);
    check_case(&(resp_case){"head too large", BAD("response head too large")}, s,
               HTTP1_MAX_HEAD + 1);
    free(s);

    /* The limit counts the bytes before the status line too. */
    s = head_of(HTTP1_MAX_HEAD);
    char *t = malloc(HTTP1_MAX_HEAD + 2);
    memcpy(t, "\r\n", 2);
    memcpy(t + 2, s, HTTP1_MAX_HEAD);
    check_case(
        &(resp_case){"head too large with a leading empty line", BAD("response head too large")}, t,
        HTTP1_MAX_HEAD + 2);
    free(t);
    free(s);

    /* Head and trailers share the limit. */
    size_t n = HTTP1_MAX_HEAD + 100;
    char *u = malloc(n);
    size_t hl = strlen(CHUNKED_HEAD);
    memcpy(u, CHUNKED_HEAD "0\r\nX: ", hl + 6);
    memset(u + hl + 6, 'b', n - hl - 6);
    check_case(&(resp_case){"trailers too large", BAD("response trailers too large")}, u, n);
    free(u);
}

Test(http1_resp, big_body_in_one_step)
{
    /* A body is consumed in one step however long it is: the call returns at its end. */
    size_t body = 1 << 20;
    const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n";
    size_t len = sizeof head - 1 + body + 5;
    char *buf = malloc(len);
    memcpy(buf, head, sizeof head - 1);
    memset(buf + sizeof head - 1, 'z', body);
    memcpy(buf + len - 5, "HTTP/", 5);
    http1_resp r = {0};
    cr_assert_eq(http1_resp_parse(&r, buf, len), (ssize_t)(len - 5));
    cr_expect_eq(r.body_len, body);
    cr_expect_eq(r.wire_len, len - 5);
    free(buf);
}

Test(http1_resp, misuse)
{
    const char in[] = CL5;
    http1_resp r = {0};
    cr_assert_eq(http1_resp_parse(&r, in, sizeof in - 1), (ssize_t)(sizeof in - 1));
    cr_expect_eq(http1_resp_eof(&r), 0, "EOF after a complete response is fine");
    cr_expect_eq(http1_resp_parse(&r, in, sizeof in - 1), HTTP1_ERROR, "reuse without zeroing");
    cr_expect_not_null(r.error);

    r = (http1_resp){0};
    cr_expect_eq(http1_resp_parse(&r, "HTTP/9", 6), HTTP1_ERROR);
    const char *e = r.error;
    cr_expect_eq(http1_resp_parse(&r, in, sizeof in - 1), HTTP1_ERROR, "errors stick");
    cr_expect_eq(http1_resp_eof(&r), HTTP1_ERROR);
    cr_expect_eq(r.error, e);

    r = (http1_resp){0};
    cr_expect_eq(http1_resp_parse(&r, in, 0), HTTP1_PARTIAL, "empty input");
    cr_expect_eq(http1_resp_eof(&r), HTTP1_ERROR, "EOF before any byte");
}

/* The llhttp corpus (tests/data/llhttp, see its README). */

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes standard padded base64 into out (room for 3/4 of strlen(in)); returns the length
 * or -1. */
static long b64_decode(const char *in, uint8_t *out)
{
    size_t n = strlen(in), o = 0;
    if (n % 4)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = in[i + k] == '=' && i + 4 == n && k >= 2 ? 0 : b64_value(in[i + k]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
            return -1;
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (in[i + 2] != '=')
            out[o++] = (uint8_t)(w >> 8);
        if (in[i + 3] != '=')
            out[o++] = (uint8_t)w;
    }
    return (long)o;
}

Test(http1_corpus, b64)
{
    uint8_t out[8];
    cr_expect_eq(b64_decode("aGk=", out), 2);
    cr_expect(memcmp(out, "hi", 2) == 0);
    cr_expect_eq(b64_decode("aGV5", out), 3);
    cr_expect_eq(b64_decode("aA==", out), 1);
    cr_expect_eq(b64_decode("a", out), -1);
    cr_expect_eq(b64_decode("a*==", out), -1);
}

/* Strict cases where blast deliberately differs from llhttp, and what blast does instead. */
static const struct {
    const char *name;
    enum verdict verdict;
    const char *why;
} corpus_exceptions[] = {
    {"response/sample.md#RTSP response", V_BAD, "blast speaks HTTP: RTSP/ is not HTTP/"},
    {"response/sample.md#ICE response", V_BAD, "blast speaks HTTP: ICE/ is not HTTP/"},
    {"response/sample.md#HTTP version 0.9", V_BAD,
     "only HTTP/1.0 and 1.1 (HTTP/0.9 had no status line, so this is a broken server)"},
};

static const char *corpus_path(void)
{
    const char *e = getenv("BLAST_CORPUS");
    return e && *e ? e : "tests/data/llhttp/http-responses.json";
}

static bool int_list_matches(json_t *list, const outcome *o, bool status)
{
    if (!json_is_array(list) || (int)json_array_size(list) != o->nresp)
        return false;
    for (int i = 0; i < o->nresp; i++) {
        json_int_t v = json_integer_value(json_array_get(list, (size_t)i));
        if (status ? v != o->resp[i].status : (uint64_t)v != o->resp[i].body_len)
            return false;
    }
    return true;
}

Test(http1_corpus, llhttp_responses)
{
    json_error_t jerr;
    json_t *root = json_load_file(corpus_path(), 0, &jerr);
    cr_assert_not_null(root, "%s: %s (set BLAST_CORPUS)", corpus_path(), jerr.text);
    cr_assert(json_is_array(root));

    size_t i, strict = 0, lenient = 0, excepted = 0;
    bool used[sizeof corpus_exceptions / sizeof *corpus_exceptions] = {0};
    json_t *c;
    json_array_foreach(root, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *b64 = json_string_value(json_object_get(c, "raw_b64"));
        json_t *expect = json_object_get(c, "expect");
        cr_assert(name && b64 && json_is_object(expect), "case %zu is malformed", i);
        bool is_lenient = json_is_true(json_object_get(c, "lenient"));
        bool until_eof = json_is_true(json_object_get(c, "until_eof"));
        bool head = json_is_true(json_object_get(c, "skip_body"));
        json_t *ok = json_object_get(expect, "ok");
        json_t *incomplete = json_object_get(expect, "incomplete");
        json_t *error = json_object_get(expect, "error");

        uint8_t *raw = malloc(strlen(b64) / 4 * 3 + 1);
        long len = b64_decode(b64, raw);
        cr_assert(len >= 0, "%s: bad base64", name);

        /* EOF is signalled where llhttp's test would finish: bodies until close, and the
         * truncated cases, where it must be an error. */
        bool eof = until_eof || incomplete;
        char text[1024];
        outcome whole = feed_all_ways(name, (const char *)raw, (size_t)len, head, eof);
        describe(&whole, text, sizeof text);
        free(raw);

        if (is_lenient) {
            lenient++;
            continue; /* any verdict, as long as nothing crashed and splits agree */
        }
        strict++;

        size_t x;
        for (x = 0; x < sizeof corpus_exceptions / sizeof *corpus_exceptions; x++)
            if (strcmp(corpus_exceptions[x].name, name) == 0)
                break;
        if (x < sizeof corpus_exceptions / sizeof *corpus_exceptions) {
            used[x] = true;
            excepted++;
            cr_expect(whole.verdict == corpus_exceptions[x].verdict, "%s (exception: %s): got %s",
                      name, corpus_exceptions[x].why, text);
            continue;
        }

        if (ok) {
            bool upgrade = json_is_true(json_object_get(c, "upgrade"));
            cr_expect(whole.verdict == (upgrade ? V_UPGRADE : V_DONE), "%s: want ok, got %s", name,
                      text);
            cr_expect(whole.nresp == json_integer_value(json_object_get(ok, "messages")),
                      "%s: message count: got %s", name, text);
            if (whole.nresp > 0) {
                const got *last = &whole.resp[whole.nresp - 1];
                cr_expect(last->status == json_integer_value(json_object_get(ok, "status")) &&
                              last->body_len ==
                                  (uint64_t)json_integer_value(json_object_get(ok, "body_len")),
                          "%s: last response: got %s", name, text);
            }
            cr_expect(int_list_matches(json_object_get(ok, "statuses"), &whole, true) &&
                          int_list_matches(json_object_get(ok, "body_lens"), &whole, false),
                      "%s: responses: got %s", name, text);
            json_t *uo = json_object_get(c, "upgrade_offset");
            if (upgrade && json_is_integer(uo) && whole.nresp > 0)
                cr_expect(whole.resp[whole.nresp - 1].end == (size_t)json_integer_value(uo),
                          "%s: upgrade at %lld: got %s", name, (long long)json_integer_value(uo),
                          text);
        } else if (error) {
            /* Bytes after a response that ends keep-alive count as a rejection: the client
             * closes rather than parse them (llhttp's "data after Connection: close"). */
            cr_expect(whole.verdict == V_BAD || whole.verdict == V_AFTER_CLOSE,
                      "%s: want an error (%s), got %s", name,
                      json_string_value(json_object_get(expect, "llhttp_reason")), text);
            cr_expect(whole.nresp ==
                          json_integer_value(json_object_get(expect, "messages_before_error")),
                      "%s: responses before the error: got %s", name, text);
        } else {
            cr_assert(incomplete, "%s: unknown expectation", name);
            cr_expect(whole.verdict == V_TRUNC, "%s: want truncated at EOF, got %s", name, text);
            cr_expect(int_list_matches(json_object_get(incomplete, "statuses"), &whole, true) &&
                          int_list_matches(json_object_get(incomplete, "body_lens"), &whole, false),
                      "%s: complete responses before the cut: got %s", name, text);
        }
    }
    for (size_t x = 0; x < sizeof used / sizeof *used; x++)
        cr_expect(used[x], "corpus exception %s matches no strict case", corpus_exceptions[x].name);
    cr_log_info("corpus: %zu strict (%zu deliberate exceptions), %zu lenient", strict, excepted,
                lenient);
    json_decref(root);
}

/* Request compile table. */

#define UA "User-Agent: blast/" BLAST_VERSION "\r\n"

typedef struct req_case {
    const char *name;
    http1_req_spec spec;
    int rc;
    const char *want; /* the bytes, when rc is 0 */
} req_case;

#define HDRS(...)                                                                                  \
    .headers = (const char *const[]){__VA_ARGS__},                                                 \
    .nheaders = sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)

static const req_case req_cases[] = {
    {"GET",
     {.method = "GET", .target = "/", .host = "example.com"},
     0,
     "GET / HTTP/1.1\r\nHost: example.com\r\n" UA "\r\n"},
    {"GET with query and port",
     {.method = "GET", .target = "/a/b?c=d&e", .host = "h:8080"},
     0,
     "GET /a/b?c=d&e HTTP/1.1\r\nHost: h:8080\r\n" UA "\r\n"},
    {"POST with body",
     {.method = "POST", .target = "/p", .host = "h", .body = "a\0b", .body_len = 3},
     0,
     "POST /p HTTP/1.1\r\nHost: h\r\n" UA "Content-Length: 3\r\n\r\na\0b"},
    {"POST without body",
     {.method = "POST", .target = "/", .host = "h"},
     0,
     "POST / HTTP/1.1\r\nHost: h\r\n" UA "Content-Length: 0\r\n\r\n"},
    {"PUT without body",
     {.method = "PUT", .target = "/", .host = "h"},
     0,
     "PUT / HTTP/1.1\r\nHost: h\r\n" UA "Content-Length: 0\r\n\r\n"},
    {"PATCH without body",
     {.method = "PATCH", .target = "/", .host = "h"},
     0,
     "PATCH / HTTP/1.1\r\nHost: h\r\n" UA "Content-Length: 0\r\n\r\n"},
    {"DELETE without body",
     {.method = "DELETE", .target = "/", .host = "h"},
     0,
     "DELETE / HTTP/1.1\r\nHost: h\r\n" UA "\r\n"},
    {"GET with body",
     {.method = "GET", .target = "/", .host = "h", .body = "xy", .body_len = 2},
     0,
     "GET / HTTP/1.1\r\nHost: h\r\n" UA "Content-Length: 2\r\n\r\nxy"},
    {"user headers in order",
     {.method = "GET", .target = "/", .host = "h", HDRS("Accept: */*", "X-A:b", "X-Empty:")},
     0,
     "GET / HTTP/1.1\r\nHost: h\r\n" UA "Accept: */*\r\nX-A:b\r\nX-Empty:\r\n\r\n"},
    {"user Host replaces the default",
     {.method = "GET", .target = "/", .host = "h", HDRS("hOST: other")},
     0,
     "GET / HTTP/1.1\r\n" UA "hOST: other\r\n\r\n"},
    {"user Host and no host",
     {.method = "GET", .target = "/", HDRS("Host: other")},
     0,
     "GET / HTTP/1.1\r\n" UA "Host: other\r\n\r\n"},
    {"user User-Agent replaces the default",
     {.method = "GET", .target = "/", .host = "h", HDRS("user-agent: curl/8")},
     0,
     "GET / HTTP/1.1\r\nHost: h\r\nuser-agent: curl/8\r\n\r\n"},
    {"user Content-Length replaces the default",
     {.method = "POST",
      .target = "/",
      .host = "h",
      HDRS("Content-Length: 9"),
      .body = "abc",
      .body_len = 3},
     0,
     "POST / HTTP/1.1\r\nHost: h\r\n" UA "Content-Length: 9\r\n\r\nabc"},
    {"header value with a tab",
     {.method = "GET", .target = "/", .host = "h", HDRS("X: a\tb")},
     0,
     "GET / HTTP/1.1\r\nHost: h\r\n" UA "X: a\tb\r\n\r\n"},

    {"CR in method", {.method = "GE\rT", .target = "/", .host = "h"}, -EINVAL, NULL},
    {"space in method", {.method = "G T", .target = "/", .host = "h"}, -EINVAL, NULL},
    {"empty method", {.method = "", .target = "/", .host = "h"}, -EINVAL, NULL},
    {"no method", {.target = "/", .host = "h"}, -EINVAL, NULL},
    {"LF in target", {.method = "GET", .target = "/a\nb", .host = "h"}, -EINVAL, NULL},
    {"space in target", {.method = "GET", .target = "/a b", .host = "h"}, -EINVAL, NULL},
    {"empty target", {.method = "GET", .target = "", .host = "h"}, -EINVAL, NULL},
    {"CRLF in host", {.method = "GET", .target = "/", .host = "h\r\nX: y"}, -EINVAL, NULL},
    {"no host, no Host header", {.method = "GET", .target = "/"}, -EINVAL, NULL},
    {"header injection",
     {.method = "GET", .target = "/", .host = "h", HDRS("X: a\r\nEvil: 1")},
     -EINVAL,
     NULL},
    {"header with LF",
     {.method = "GET", .target = "/", .host = "h", HDRS("X: a\nb")},
     -EINVAL,
     NULL},
    {"header with a control byte",
     {.method = "GET", .target = "/", .host = "h", HDRS("X: \x01")},
     -EINVAL,
     NULL},
    {"header without colon",
     {.method = "GET", .target = "/", .host = "h", HDRS("X-Foo bar")},
     -EINVAL,
     NULL},
    {"header name with space",
     {.method = "GET", .target = "/", .host = "h", HDRS("X Foo: bar")},
     -EINVAL,
     NULL},
    {"header name empty",
     {.method = "GET", .target = "/", .host = "h", HDRS(": bar")},
     -EINVAL,
     NULL},
    {"headers NULL with a count",
     {.method = "GET", .target = "/", .host = "h", .nheaders = 1},
     -EINVAL,
     NULL},
    {"body NULL with a length",
     {.method = "POST", .target = "/", .host = "h", .body_len = 4},
     -EINVAL,
     NULL},
};

Test(http1_req, table)
{
    for (size_t i = 0; i < sizeof req_cases / sizeof *req_cases; i++) {
        const req_case *c = &req_cases[i];
        http1_req req = {.bytes = (char *)"junk", .len = 99};
        int rc = http1_req_compile(&req, &c->spec);
        cr_expect_eq(rc, c->rc, "%s: rc %d, want %d", c->name, rc, c->rc);
        if (rc == 0 && c->want) {
            /* want is a literal: its length is in the body when the body holds a NUL */
            size_t wlen = strlen(c->want);
            if (c->spec.body_len)
                wlen = (size_t)(strstr(c->want, "\r\n\r\n") - c->want) + 4 + c->spec.body_len;
            cr_expect(req.len == wlen && memcmp(req.bytes, c->want, wlen) == 0,
                      "%s: got \"%.*s\", want \"%s\"", c->name, (int)req.len, req.bytes, c->want);
            cr_expect_eq(req.bytes[req.len], '\0', "%s: NUL-terminated", c->name);
        }
        if (rc != 0)
            cr_expect(req.bytes == NULL && req.len == 0, "%s: *out zeroed on failure", c->name);
        http1_req_free(&req);
        cr_expect_null(req.bytes);
    }
}

Test(http1_req, body_and_free)
{
    http1_req req;
    http1_req_spec spec = {
        .method = "POST", .target = "/x", .host = "h", .body = "abc", .body_len = 3};
    cr_assert_eq(http1_req_compile(&req, &spec), 0);
    cr_expect(strstr(req.bytes, "\r\n\r\nabc") == req.bytes + req.len - 7);
    http1_req_free(&req);
    http1_req_free(NULL);
    http1_req zero = {0};
    http1_req_free(&zero);
}
