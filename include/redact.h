/* redact: the one place that keeps secrets out of blast's output.
 *
 * config_load collects the secret strings (the values of Authorization, Cookie, Set-Cookie and
 * Proxy-Authorization headers, of headers named in [global] secret, and of ${NAME} variables
 * named there); every text that can carry a value of the file passes through here on its way
 * out (config and run errors, the text summary, the JSON document, the progress line), and each
 * occurrence of a secret becomes REDACT_MARK. Occurrences that overlap or touch are one mark, so
 * no byte of either shows. Secrets of any length are redacted, also short ones (which may then
 * hide unrelated text that happens to equal them).
 *
 * The list is process-wide and not locked: it is written while the file is read (main thread,
 * before any worker exists) and read only by the main thread afterwards. */
#ifndef BLAST_REDACT_H
#define BLAST_REDACT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define REDACT_MARK "[redacted]"

/* Messages (one line, often quoting a value cut at some length) also lose every run of at least
 * this many bytes that is part of a secret, so a secret cut short by a "%.40s" elsewhere does
 * not show either. */
#define REDACT_FRAGMENT 8

/* Adds s[0..len) to the secrets (a copy; duplicates and len 0 are ignored). Returns 0 or
 * -ENOMEM. */
int redact_add(const char *s, size_t len);

/* Forgets every secret and frees what redact_str handed out. */
void redact_clear(void);

/* How many secrets are known. */
size_t redact_count(void);

/* Whether s holds a secret. */
bool redact_has(const char *s);

/* Writes in, with every secret replaced, to out (at most cap - 1 bytes and a NUL; cap 0 writes
 * nothing). fragments: also runs of REDACT_FRAGMENT bytes or more of a secret (messages).
 * Returns the length of the whole redacted text, as snprintf does. */
size_t redact_copy(char *out, size_t cap, const char *in, bool fragments);

/* Redacts the message in buf (capacity cap, NUL-terminated) in place, fragments included; a
 * message that grows past cap is cut. */
void redact_message(char *buf, size_t cap);

/* s itself when it holds no secret, else a redacted copy that stays valid until 8 more copies
 * were made or redact_clear (for printf arguments). Never NULL for a non-NULL s: when memory
 * runs out the copy is REDACT_MARK alone. */
const char *redact_str(const char *s);

/* vsnprintf, except that every %s argument is redacted before its precision cuts it: a value
 * quoted as '%.40s' cannot show the first bytes of a secret it holds. %s arguments are C strings
 * (the bytes past a precision, up to the longest secret, are read to find a secret that the
 * precision would cut). Returns what vsnprintf would, or -1 for a conversion it does not know
 * (the output then ends there). */
int redact_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int redact_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "WHO: message" and a line break to stderr, the message formatted and redacted (at most
 * 1 KiB): every line a command prints once the scenario file is read. */
void redact_vsay(const char *who, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
