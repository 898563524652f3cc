/* check: whether a response passes a step's `check = ...` lines, and status sets.
 *
 * A check is compiled once (setup time, may allocate) and is then only read: any number of
 * threads may evaluate it at once. check_eval is hot path: it never allocates, is bounded by the
 * response's head and body lengths and reads nothing outside them.
 *
 * A check on something that is not there fails, whatever its operator: a header or body the step
 * did not keep, a missing header, a JSON path not found, a body that is not valid JSON up to the
 * value. So `header X != v` needs X present and `json p != v` needs p found; `body !contains t`
 * needs the body kept (a truncated body is looked at as far as it was kept).
 *
 * Columns in error messages count bytes from 1 at the first byte of the text parsed. */
#ifndef BLAST_CHECK_H
#define BLAST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extract.h"

/* A set of statuses: bit s is set when status s is in it (only 100..999 ever are). */
typedef struct status_set {
    uint64_t bits[16];
} status_set;

/* Parses a status set: comma-separated items NNN, Nxx (a class: 2xx) or NNN-NNN (a range), as
 * in "200,201", "2xx", "200-299,304"; "in SET" is the same set, "!SET" and "not in SET" its
 * complement in 100..999; "OP NNN" with OP one of == != < <= > >= (e.g. "< 400"). Statuses are
 * 100..999; a set that no status matches is an error. text is NUL-terminated and not kept.
 * Returns 0 with *s filled, or -EINVAL with a one-line message in err (*s then empty). */
int status_set_parse(status_set *s, const char *text, char *err, size_t errlen);

/* Whether status is in s; false for any status outside 0..1023. */
static inline bool status_set_has(const status_set *s, int status)
{
    return status >= 0 && status < 1024 && (s->bits[status >> 6] >> (status & 63) & 1);
}

typedef struct check check;

/* Compiles the text after "check =": an optional name in double quotes, then one of
 *   status SET                        (any form status_set_parse takes)
 *   header NAME                       (present)
 *   header NAME == VALUE | != VALUE | contains VALUE
 *   body contains TEXT | !contains TEXT | not contains TEXT
 *   json PATH == VALUE | != VALUE | exists
 * VALUE and TEXT are the rest of the text, trimmed, or a double-quoted string (escapes \" and
 * \\) to keep spaces at their ends. A json VALUE is "text" (equals a string value), a JSON number
 * (equals a number value numerically: 1 == 1.0), true, false or null (equal those), or any other
 * word, which equals a value whose text (a string unescaped, anything else as written) is that
 * word. A header VALUE compares byte for byte; header == and contains pass when any header of
 * that name does, != when the header is present and none equals VALUE.
 * Returns 0 (the caller owns *out: check_free), -EINVAL with a one-line message in err naming the
 * column and what is allowed (*out NULL), or -ENOMEM. */
int check_parse(check **out, const char *text, char *err, size_t errlen);

/* Frees a check; NULL is accepted. */
void check_free(check *c);

/* The check's name: the quoted name, else its text as written, trimmed. Owned by c. */
const char *check_name(const check *c);

/* Whether it is a status check (the step's default "200..399 is ok" rule then no longer
 * applies). */
bool check_is_status(const check *c);

/* Whether it reads the body (body, json) or the head (header): the step must keep it. */
bool check_needs_body(const check *c);
bool check_needs_head(const check *c);

/* Whether resp passes c. Hot path. */
bool check_eval(const check *c, const check_resp *resp);

#endif
