/* strbuf: see include/strbuf.h. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>

size_t strbuf_app(char *b, size_t cap, size_t off, const char *fmt, ...)
{
    if (off + 1 >= cap)
        return off;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b + off, cap - off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return off;
    return off + (size_t)n < cap ? off + (size_t)n : cap - 1;
}
