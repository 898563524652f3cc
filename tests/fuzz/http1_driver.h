/* http1_driver: what fuzz_http1.c and fuzz_chunked.c share: feeds one byte stream to the
 * response parser the way a connection does (successive responses, each parser struct zeroed
 * after a complete one, EOF at the end) and records what happened as a trace, once per way of
 * cutting the stream into receive buffers.
 *
 * Invariant checked: the parser's result does not depend on how the stream is cut (http1.c's
 * own promise: "a response split ... at any byte gives the same result (and the same error) as
 * one buffer"), nor on whether the whole-head fast path is used; and every complete response is
 * self-consistent (consumed <= given, wire_len = its bytes, body_len <= wire_len, status and
 * version in range, no body where RFC 9110 allows none). A violation prints both traces and
 * aborts, which libFuzzer reports as a crash with the input saved.
 *
 * Each piece is copied into its own exact-size heap block, so reading one byte past a receive
 * buffer (or before it) is an ASan error, as it would be against a guard page. */
#ifndef BLAST_FUZZ_HTTP1_DRIVER_H
#define BLAST_FUZZ_HTTP1_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "http1.h"

/* Not in http1.h: the parser without its whole-head fast path, exported for tests. */
ssize_t http1_resp_parse_slow(http1_resp *r, const char *buf, size_t len);

typedef ssize_t (*drv_parse_fn)(http1_resp *r, const char *buf, size_t len);

/* Byte-by-byte feeding costs one call (and one allocation) per byte: only for short streams. */
#define DRV_BYTEWISE_MAX 1024

enum drv_kind {
    DRV_DONE,      /* http1_resp_parse returned n > 0 */
    DRV_ERROR,     /* http1_resp_parse returned HTTP1_ERROR */
    DRV_EOF_DONE,  /* the stream ended and http1_resp_eof completed the response */
    DRV_EOF_ERROR, /* the stream ended and http1_resp_eof reported a truncation */
};

typedef struct drv_event {
    enum drv_kind kind;
    uint64_t end; /* stream offset just after the response (or after the byte in error) */
    int status, minor_version;
    bool keep_alive;
    uint64_t body_len, wire_len;
    const char *error;
} drv_event;

typedef struct drv_trace {
    const char *mode;
    drv_event *ev;
    size_t n, cap;
} drv_trace;

static void drv_fail(const char *what, const drv_trace *t, const drv_event *e)
{
    fprintf(stderr, "http1 fuzz invariant broken (%s): %s\n", t ? t->mode : "?", what);
    if (e)
        fprintf(stderr,
                "  event kind=%d end=%llu status=%d minor=%d keep_alive=%d body_len=%llu "
                "wire_len=%llu error=%s\n",
                (int)e->kind, (unsigned long long)e->end, e->status, e->minor_version,
                (int)e->keep_alive, (unsigned long long)e->body_len,
                (unsigned long long)e->wire_len, e->error ? e->error : "(null)");
    abort();
}

static void drv_push(drv_trace *t, enum drv_kind kind, uint64_t end, const http1_resp *r)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->ev = realloc(t->ev, t->cap * sizeof *t->ev);
        if (!t->ev)
            abort();
    }
    drv_event *e = &t->ev[t->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->end = end;
    if (kind == DRV_DONE || kind == DRV_EOF_DONE) {
        e->status = r->status;
        e->minor_version = r->minor_version;
        e->keep_alive = r->keep_alive;
        e->body_len = r->body_len;
        e->wire_len = r->wire_len;
    } else {
        e->wire_len = r->wire_len;
        e->error = r->error;
    }
}

/* The checks every complete response must pass, whatever the bytes were. */
static void drv_check_done(const drv_trace *t, const drv_event *e, uint64_t start, bool head)
{
    if (e->wire_len != e->end - start)
        drv_fail("wire_len is not the bytes the response took", t, e);
    if (e->body_len > e->wire_len)
        drv_fail("body_len > wire_len", t, e);
    if (e->status < 100 || e->status > 999)
        drv_fail("status out of 100..999", t, e);
    if (e->minor_version != 0 && e->minor_version != 1)
        drv_fail("minor_version not 0 or 1", t, e);
    bool bodiless = head || e->status < 200 || e->status == 204 || e->status == 304;
    if (bodiless && e->body_len != 0)
        drv_fail("a body on a HEAD, 1xx, 204 or 304 response", t, e);
    if (e->status == 101 && e->keep_alive)
        drv_fail("keep_alive after 101 Switching Protocols", t, e);
    if (e->kind == DRV_EOF_DONE && e->keep_alive)
        drv_fail("keep_alive on a response delimited by close", t, e);
    /* A head is at least "HTTP/1.x NNN\r\n\r\n" (16 bytes). */
    if (e->wire_len < 16 || e->wire_len - e->body_len < 16)
        drv_fail("response shorter than the smallest head", t, e);
}

/* Feeds data[0..len) cut at cuts[0] < cuts[1] < ... < cuts[ncuts-1] (exclusive of 0 and len)
 * through fn, appending to t. With empty_calls, every piece is preceded by a zero-length call,
 * which must change nothing. */
static void drv_run(drv_trace *t, const uint8_t *data, size_t len, bool head, drv_parse_fn fn,
                    const size_t *cuts, size_t ncuts, bool empty_calls)
{
    http1_resp r;
    memset(&r, 0, sizeof r);
    r.head_request = head;
    uint64_t start = 0; /* stream offset where the current response began */
    static const char nothing[1];

    for (size_t i = 0; i <= ncuts; i++) {
        size_t from = i ? cuts[i - 1] : 0, to = i < ncuts ? cuts[i] : len;
        size_t plen = to - from;
        if (plen == 0)
            continue;
        char *piece = malloc(plen);
        if (!piece)
            abort();
        memcpy(piece, data + from, plen);
        size_t off = 0;
        while (off < plen) {
            if (empty_calls) {
                http1_resp before;
                memcpy(&before, &r, sizeof r); /* padding included, for the memcmp */
                if (fn(&r, nothing, 0) != HTTP1_PARTIAL || memcmp(&before, &r, sizeof r) != 0)
                    drv_fail("a zero-length call did not return HTTP1_PARTIAL unchanged", t, NULL);
            }
            ssize_t n = fn(&r, piece + off, plen - off);
            if (n == HTTP1_PARTIAL) {
                off = plen;
                break;
            }
            if (n == HTTP1_ERROR) {
                drv_push(t, DRV_ERROR, start + r.wire_len, &r);
                if (!r.error)
                    drv_fail("HTTP1_ERROR without an error text", t, &t->ev[t->n - 1]);
                if (r.wire_len == 0 || start + r.wire_len > to)
                    drv_fail("error offset outside the bytes given", t, &t->ev[t->n - 1]);
                /* An errored parser stays errored. */
                if (fn(&r, piece, plen) != HTTP1_ERROR || http1_resp_eof(&r) != HTTP1_ERROR)
                    drv_fail("parser usable again after HTTP1_ERROR", t, &t->ev[t->n - 1]);
                free(piece);
                return;
            }
            if (n <= 0 || (size_t)n > plen - off)
                drv_fail("consumed more than given (or a bad return value)", t, NULL);
            off += (size_t)n;
            drv_push(t, DRV_DONE, from + off, &r);
            drv_check_done(t, &t->ev[t->n - 1], start, head);
            /* A complete parser refuses more bytes until zeroed (on a copy: r is reused). */
            http1_resp again = r;
            if (fn(&again, piece, plen) != HTTP1_ERROR)
                drv_fail("a complete parser accepted more bytes without being zeroed", t, NULL);
            if (r.status == 101) { /* the connection now speaks another protocol */
                free(piece);
                return;
            }
            start = from + off;
            memset(&r, 0, sizeof r);
            r.head_request = head;
        }
        free(piece);
    }
    int rc = http1_resp_eof(&r);
    if (rc == 0) {
        drv_push(t, DRV_EOF_DONE, len, &r);
        drv_check_done(t, &t->ev[t->n - 1], start, head);
    } else if (rc == HTTP1_ERROR) {
        drv_push(t, DRV_EOF_ERROR, len, &r);
        if (!r.error)
            drv_fail("http1_resp_eof error without an error text", t, &t->ev[t->n - 1]);
    } else {
        drv_fail("http1_resp_eof returned neither 0 nor HTTP1_ERROR", t, NULL);
    }
}

static bool drv_same(const drv_event *a, const drv_event *b)
{
    if (a->kind != b->kind || a->end != b->end || a->status != b->status ||
        a->minor_version != b->minor_version || a->keep_alive != b->keep_alive ||
        a->body_len != b->body_len || a->wire_len != b->wire_len)
        return false;
    if (!a->error != !b->error)
        return false;
    return !a->error || strcmp(a->error, b->error) == 0;
}

static void drv_print(const drv_trace *t)
{
    fprintf(stderr, "  %s: %zu event(s)\n", t->mode, t->n);
    for (size_t i = 0; i < t->n; i++) {
        const drv_event *e = &t->ev[i];
        fprintf(stderr,
                "    [%zu] kind=%d end=%llu status=%d minor=%d keep_alive=%d body_len=%llu "
                "wire_len=%llu error=%s\n",
                i, (int)e->kind, (unsigned long long)e->end, e->status, e->minor_version,
                (int)e->keep_alive, (unsigned long long)e->body_len,
                (unsigned long long)e->wire_len, e->error ? e->error : "-");
    }
}

static void drv_compare(const drv_trace *ref, const drv_trace *t)
{
    bool same = ref->n == t->n;
    for (size_t i = 0; same && i < ref->n; i++)
        same = drv_same(&ref->ev[i], &t->ev[i]);
    if (same)
        return;
    fprintf(stderr, "http1 fuzz invariant broken: '%s' and '%s' disagree\n", ref->mode, t->mode);
    drv_print(ref);
    drv_print(t);
    abort();
}

/* A small deterministic generator for piece sizes (xorshift32). */
static uint32_t drv_rand(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Runs data[0..len) through every feeding mode and aborts unless all agree.
 * base: where the fuzzed part starts (bytes before it are a fixed prefix the split point should
 * not waste itself on). sel: picks the split point (below 128: base + sel, so the first bytes
 * of the fuzzed part, byte by byte; else a point proportional to sel in the rest). seed: drives
 * the random piece sizes. */
static void drv_all(const uint8_t *data, size_t len, bool head, size_t base, uint8_t sel,
                    uint32_t seed)
{
    drv_trace whole = {.mode = "whole"}, slow = {.mode = "whole, slow path"},
              split = {.mode = "split in two"}, chunks = {.mode = "random pieces"},
              bytes = {.mode = "byte by byte"};

    drv_run(&whole, data, len, head, http1_resp_parse, NULL, 0, false);

    drv_run(&slow, data, len, head, http1_resp_parse_slow, NULL, 0, false);
    drv_compare(&whole, &slow);

    size_t rest = len > base ? len - base : 0;
    size_t at = sel < 128 ? base + (sel <= rest ? sel : rest) : base + rest * (sel - 128u) / 127u;
    if (at > 0 && at < len) {
        drv_run(&split, data, len, head, http1_resp_parse, &at, 1, false);
        drv_compare(&whole, &split);
    }

    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    if (!cuts)
        abort();
    size_t ncuts = 0;
    uint32_t rng = seed ^ (uint32_t)len * 0x85ebca6bu;
    /* Piece sizes from 1 to 2^k with k itself random: mostly short pieces, some long ones. */
    for (size_t p = 0;;) {
        uint32_t x = drv_rand(&rng);
        p += 1 + (x >> 8) % (1u << (x & 7));
        if (p >= len)
            break;
        cuts[ncuts++] = p;
    }
    drv_run(&chunks, data, len, head, http1_resp_parse, cuts, ncuts, true);
    drv_compare(&whole, &chunks);

    if (len <= DRV_BYTEWISE_MAX) {
        for (size_t i = 1; i < len; i++)
            cuts[i - 1] = i;
        drv_run(&bytes, data, len, head, http1_resp_parse, cuts, len ? len - 1 : 0, false);
        drv_compare(&whole, &bytes);
    }

    free(cuts);
    free(whole.ev);
    free(slow.ev);
    free(split.ev);
    free(chunks.ev);
    free(bytes.ev);
}

#endif
