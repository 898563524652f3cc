/* json: JSON paths (data.id, items[0].id, a["key"]) and lookups of the value at a path in a
 * JSON document, without parsing the document into a tree (used by extract.h and check.h).
 *
 * A path is parsed once (setup time, may allocate) and then used by any number of threads at
 * once: nothing writes a path after json_path_parse. json_find, json_get and json_string_eq are
 * hot path: they never allocate, are bounded by their input, read the document by its length
 * only (no NUL is expected after it) and write only into the buffers they are given.
 *
 * Columns in error messages count bytes from 1 at the first byte of the text parsed. */
#ifndef BLAST_JSON_H
#define BLAST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_PATH_MAX 16  /* segments in a path */
#define JSON_MAX_DEPTH 64 /* nesting a lookup follows; deeper documents are -EINVAL */

enum json_kind {
    JSON_STRING = 1,
    JSON_NUMBER,
    JSON_BOOL,
    JSON_NULL,
    JSON_OBJECT,
    JSON_ARRAY,
};

typedef struct json_seg {
    bool is_index;  /* [N] rather than a member name */
    uint32_t index; /* for [N] */
    uint32_t off;   /* for a name: its bytes are names[off .. off + len) of the path */
    uint32_t len;
} json_seg;

typedef struct json_path {
    unsigned nseg; /* 0: the whole document ("$") */
    json_seg seg[JSON_PATH_MAX];
    char *names; /* owned: every member name, unescaped, back to back (NULL when none) */
} json_path;

/* Parses a path: names joined by '.', [N] indexes and ["key"] (or ['key']) members, e.g.
 * data.upload_id, items[0].id, [2], a["key with.dots"], a.b[0][1]; a leading "$" or "$." is
 * accepted and "$" alone is the whole document. A bare name is any bytes but whitespace, control
 * bytes and . [ ] " ' = !; a quoted key takes \" \' \\ as escapes. text is NUL-terminated and
 * not kept. Returns 0 (the caller owns *p: json_path_free), -EINVAL with a one-line message in
 * err (e.g. "column 6: expected a name after '.'") and *p zeroed, or -ENOMEM. */
int json_path_parse(json_path *p, const char *text, char *err, size_t errlen);

/* json_path_parse for a path at the start of text[0..len) that something else may follow: stops
 * at the first byte that cannot continue the path and sets *used to the bytes taken. Columns in
 * messages are counted as if text began at column col0 + 1. Same returns and ownership. */
int json_path_parse_prefix(json_path *p, const char *text, size_t len, size_t col0, size_t *used,
                           char *err, size_t errlen);

/* Frees the names of a path and zeroes it; a zeroed path is accepted. */
void json_path_free(json_path *p);

/* Where a value sits in a document, as json_find found it. */
typedef struct json_value {
    int kind;      /* enum json_kind */
    const char *p; /* its raw text in the document: a string with its quotes, as written */
    size_t len;
} json_value;

/* Finds the value at path p in doc[0..len): walks the raw bytes, skipping (and checking) what it
 * passes, and reads nothing after the value found. Hot path.
 * Returns 0 with *v set; -ENOENT when the path is not there (a member missing, an index past the
 * end, a name or index applied to a value that is no object or array); -EINVAL when doc is not
 * valid JSON (RFC 8259) up to the end of the value, or nests deeper than JSON_MAX_DEPTH on the way,
 * or holds a string with a lone surrogate escape. A document cut short before the value ends
 * (a truncated body) is -EINVAL. Duplicate members: the first wins. Raw bytes >= 0x80 in
 * strings are passed through, not checked as UTF-8. */
int json_find(const json_path *p, const char *doc, size_t len, json_value *v);

/* json_find, then the value copied into out[0..cap) with its length in *olen and its kind in
 * *kind: a string unescaped (\uXXXX as UTF-8, surrogate pairs joined), anything else as its raw
 * text (an object or array whole). No NUL is added. Hot path.
 * Returns what json_find returns, or -ENOSPC when the value is longer than cap (out then holds
 * nothing useful; *olen and *kind are set only on success). */
int json_get(const json_path *p, const char *doc, size_t len, char *out, size_t cap, size_t *olen,
             int *kind);

/* Whether a string value found by json_find, unescaped, is exactly s[0..n). Hot path. */
bool json_string_eq(const json_value *v, const char *s, size_t n);

#endif
