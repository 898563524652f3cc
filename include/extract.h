/* extract: values taken from a response (a JSON body, a header, a regex over the body) into a
 * flow's per-VU variables, and the pieces check.h shares: the response view and header lookup.
 * JSON paths and lookups are in json.h, included here so that users of both need only this.
 *
 * A rule is compiled once (setup time, may allocate) and then applied to any number of
 * responses by any number of threads at once: a rule is never written after extract_parse.
 * Everything that takes a check_resp, and every head_ lookup, is hot path: it never
 * allocates, is bounded by its input, reads head and body by their lengths only (no NUL is
 * expected after them) and writes only into the buffers it is given.
 *
 * Columns in error messages count bytes from 1 at the first byte of the text parsed. */
#ifndef BLAST_EXTRACT_H
#define BLAST_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* One response as the connection layer kept it. */
typedef struct check_resp {
    int status;       /* 100..999 */
    const char *head; /* the response head exactly as received: status line, header lines, empty
                         line (CRLF or LF line ends); NULL when the step did not keep it (then
                         head_len == 0) */
    size_t head_len;
    const char *body; /* the body, de-chunked, possibly cut at a bound; NULL when not kept */
    size_t body_len;
    bool body_truncated; /* the real body was longer than what is kept */
} check_resp;

/* Headers. */

/* Finds the n-th (0-based) header line named name (case-insensitive) in head[0..head_len): the
 * status line and any empty lines before it are skipped, lines end with LF or CRLF, the first
 * empty line ends the headers. Returns true with *v, *vlen the value inside head, without the
 * spaces and tabs around it; false when there is no such header (or head is NULL). Hot path. */
bool head_find(const char *head, size_t head_len, const char *name, size_t name_len, size_t n,
               const char **v, size_t *vlen);

/* The same walk, one header after another, in one pass: head_iter_init, then head_next until it
 * returns false. The iterator points into head, which must outlive it. Hot path. */
typedef struct head_iter {
    const char *p, *end;
    bool started; /* the status line and leading empty lines are behind p */
} head_iter;
void head_iter_init(head_iter *it, const char *head, size_t head_len);

/* Moves to the next header named name; returns true with *v, *vlen as head_find does. */
bool head_next(head_iter *it, const char *name, size_t name_len, const char **v, size_t *vlen);

/* Whether n bytes are a valid header name (an RFC 9110 token, n > 0). */
bool head_name_valid(const char *name, size_t n);

/* Rules. */

typedef struct extract_rule extract_rule;

/* Compiles what follows "extract = NAME =" in a scenario file: "json PATH", "header NAME" or
 * "regex PATTERN" (PCRE2, UTF off, JIT compiled when the library can). Surrounding whitespace is
 * ignored. Returns 0 (the caller owns *out: extract_free), -EINVAL with a one-line message in err
 * (e.g. "column 12: missing closing parenthesis") and *out NULL, or -ENOMEM. */
int extract_parse(extract_rule **out, const char *text, char *err, size_t errlen);

/* Frees a rule; NULL is accepted. */
void extract_free(extract_rule *r);

/* Whether the rule reads the body (json, regex) or the head (header): the step must keep it. */
bool extract_needs_body(const extract_rule *r);
bool extract_needs_head(const extract_rule *r);

/* Per-thread state for extract_run: PCRE2 match data, a JIT stack, and the memory the
 * interpreter may use when a pattern could not be JIT compiled. One scratch serves every rule,
 * one call at a time. Returns 0 (the caller owns *out: extract_scratch_free) or -ENOMEM. */
typedef struct extract_scratch extract_scratch;
int extract_scratch_new(extract_scratch **out);

/* Frees a scratch; NULL is accepted. */
void extract_scratch_free(extract_scratch *s);

/* Applies r to resp: writes the value into out[0..cap) (no NUL added) and its length into *len.
 * json: as json_get on the body. header: the first header of that name. regex: capture group 1
 * when the pattern has groups, else the whole match, on the kept body. Hot path.
 * Returns 0; -ENOENT when the value is not there (no such header, path not found, no match,
 * group 1 not set by the match, head or body not kept); -EINVAL when the body is not valid JSON
 * up to where the path was sought, which includes a body cut before the value ends (also when
 * body_truncated says it was cut at a bound); -ENOSPC when the value is longer than cap (out then
 * holds nothing useful); -E2BIG when the regex gave up (match, depth or memory limit). *len is
 * set only on success. */
int extract_run(const extract_rule *r, extract_scratch *s, const check_resp *resp, char *out,
                size_t cap, size_t *len);

#endif
