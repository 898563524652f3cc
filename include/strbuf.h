/* strbuf: appending formatted text to a fixed buffer, for messages built in pieces. */
#ifndef BLAST_STRBUF_H
#define BLAST_STRBUF_H

#include <stddef.h>

/* snprintf at off into b (cap bytes), clamped: returns the new offset, never past cap - 1, so
 * that calls can be chained and the text stays NUL-terminated however long it grows. */
size_t strbuf_app(char *b, size_t cap, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
