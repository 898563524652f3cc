/* data: CSV data files parsed in place (see include/data.h).
 *
 * Invariant while parsing: the write position never passes the read position. Unquoting only
 * drops bytes (the quotes around a field, one of each ""), and every cell gives back at least
 * one byte for its NUL: the separator or line end that follows it, or, for the last cell of the
 * file, the NUL files_read puts after the last byte. So the file's buffer holds every cell, and
 * nothing is copied out of it. */
#include "data.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

typedef struct parser {
    char *b;
    size_t len;
    size_t r, w;     /* read and write positions, w <= r */
    size_t line;     /* 1-based line of b[r] */
    size_t row_line; /* line where the row being parsed starts */
    char *err;
    size_t errlen;
} parser;

/* An error in the row being parsed: "LINE: ..." */
__attribute__((format(printf, 2, 3))) static int fail(parser *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "%zu: ", p->row_line);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int nomem(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

/* How a byte reads in a message: 'x' when printable, else by name or value. */
static const char *byte_text(unsigned char c, char out[16])
{
    if (c == ' ')
        return "a space";
    if (c == '\t')
        return "a tab";
    if (c == '\r')
        return "a CR";
    if (c > ' ' && c < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02X", c);
    return out;
}

/* A name as it may be shown in a message: at most 32 bytes, non-printable ones as '?'. */
static const char *name_text(const char *s, char out[40])
{
    size_t n = 0;
    for (; s[n] && n < 32; n++)
        out[n] = (unsigned char)s[n] >= ' ' && (unsigned char)s[n] < 0x7f ? s[n] : '?';
    if (s[n]) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static bool line_end_at(const parser *p, size_t i)
{
    return i < p->len &&
           (p->b[i] == '\n' || (p->b[i] == '\r' && i + 1 < p->len && p->b[i + 1] == '\n'));
}

static void skip_blank_lines(parser *p)
{
    while (line_end_at(p, p->r)) {
        p->r += p->b[p->r] == '\r' ? 2 : 1;
        p->line++;
    }
}

/* Parses field number `field` (1-based, for messages) of the current row at p->r, unquoting it
 * to p->w with a NUL after it. Returns 1 when a `,` follows (the row has another field), 0 when
 * the row ended (line end or end of file), -EINVAL with the message in p->err. */
static int parse_field(parser *p, size_t field, char **cell, size_t *cell_len)
{
    char *b = p->b;
    size_t start = p->w;
    char bt[16];
    if (p->r < p->len && b[p->r] == '"') {
        size_t open_line = p->line;
        for (p->r++;; p->r++) {
            if (p->r == p->len)
                return fail(p, "quoted field never closed (opened on line %zu)", open_line);
            char c = b[p->r];
            if (c == '"') {
                if (p->r + 1 < p->len && b[p->r + 1] == '"') {
                    b[p->w++] = '"';
                    p->r++;
                    continue;
                }
                p->r++;
                break;
            }
            if (c == '\0')
                return fail(p, "NUL byte in field %zu (a data file is text)", field);
            if (c == '\n')
                p->line++;
            b[p->w++] = c;
        }
        if (p->r < p->len && b[p->r] != ',' && !line_end_at(p, p->r))
            return fail(p,
                        "%s after the closing quote of field %zu (a quoted field ends at its "
                        "quote, then , or the line end; write \"\" for a quote inside it)",
                        byte_text((unsigned char)b[p->r], bt), field);
    } else {
        size_t s = p->r;
        for (; p->r < p->len; p->r++) {
            char c = b[p->r];
            if (c == ',' || c == '\n')
                break;
            if (c == '\r') {
                if (line_end_at(p, p->r))
                    break;
                return fail(p,
                            "CR without LF in field %zu (lines end in LF or CRLF; quote the "
                            "field to keep a CR in it)",
                            field);
            }
            if (c == '"')
                return fail(p,
                            "quote inside unquoted field %zu (quote the whole field and write "
                            "\"\" for each quote in it)",
                            field);
            if (c == '\0')
                return fail(p, "NUL byte in field %zu (a data file is text)", field);
        }
        if (p->w != s)
            memmove(b + p->w, b + s, p->r - s);
        p->w += p->r - s;
    }
    size_t n = p->w - start;
    if (n > DATA_MAX_CELL)
        return fail(p, "field %zu is %zu bytes long (at most %u bytes per cell)", field, n,
                    DATA_MAX_CELL);
    /* The terminator is consumed before the NUL is written: the NUL may land on it. */
    int more = 0;
    if (p->r < p->len) {
        more = b[p->r] == ',';
        if (!more)
            p->line++;
        p->r += b[p->r] == '\r' ? 2 : 1;
    }
    b[p->w++] = '\0';
    *cell = b + start;
    *cell_len = n;
    return more;
}

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int parse_header(parser *p, data_file *d)
{
    d->names = malloc(DATA_MAX_COLS * sizeof *d->names);
    if (!d->names)
        return nomem(p->err, p->errlen);
    p->row_line = p->line;
    for (int more = 1; more;) {
        if (d->ncols == DATA_MAX_COLS)
            return fail(p, "the header has more than %d columns (at most %d)", DATA_MAX_COLS,
                        DATA_MAX_COLS);
        size_t n;
        more = parse_field(p, d->ncols + 1, &d->names[d->ncols], &n);
        if (more < 0)
            return more;
        d->ncols++;
    }
    char shown[40], bt[16];
    for (size_t c = 0; c < d->ncols; c++) {
        const char *name = d->names[c];
        if (!name[0])
            return fail(p, "column %zu has no name (the first line names every column)", c + 1);
        for (const char *s = name; *s; s++)
            if (!name_char((unsigned char)*s))
                return fail(p,
                            "column %zu name \"%s\" has %s (names are made of letters, digits "
                            "and _)",
                            c + 1, name_text(name, shown), byte_text((unsigned char)*s, bt));
        for (size_t k = 0; k < c; k++)
            if (strcmp(d->names[k], name) == 0)
                return fail(p, "column %zu name \"%s\" is also column %zu's (names are unique)",
                            c + 1, name_text(name, shown), k + 1);
    }
    char **names = realloc(d->names, d->ncols * sizeof *d->names);
    if (names)
        d->names = names;
    return 0;
}

/* Room for rows up to `rows`; the index arrays only grow when the estimate was low. */
static int reserve(data_file *d, size_t *cap, size_t rows, parser *p)
{
    if (rows <= *cap)
        return 0;
    if (*cap && rows < *cap * 2)
        rows = *cap * 2;
    if (rows > SIZE_MAX / sizeof(char *) / d->ncols)
        return nomem(p->err, p->errlen);
    const char **cells = realloc(d->cells, rows * d->ncols * sizeof *cells);
    if (!cells)
        return nomem(p->err, p->errlen);
    d->cells = cells;
    uint32_t *lens = realloc(d->lens, rows * d->ncols * sizeof *lens);
    if (!lens)
        return nomem(p->err, p->errlen);
    d->lens = lens;
    *cap = rows;
    return 0;
}

/* An upper bound on the data rows left, so that the index is allocated once: every row but the
 * last ends in a LF, and holds ncols - 1 separators (or, with one column, at least one byte). */
static size_t rows_bound(const parser *p, size_t ncols)
{
    size_t lfs = 0;
    for (const char *s = p->b + p->r, *end = p->b + p->len;
         (s = memchr(s, '\n', (size_t)(end - s))) != NULL; s++)
        lfs++;
    size_t by_size = (p->len - p->r + 1) / ncols + 1;
    return lfs + 1 < by_size ? lfs + 1 : by_size;
}

static int parse_rows(parser *p, data_file *d)
{
    size_t cap = 0;
    int rc = reserve(d, &cap, rows_bound(p, d->ncols), p);
    if (rc < 0)
        return rc;
    d->col_max = calloc(d->ncols, sizeof *d->col_max);
    if (!d->col_max)
        return nomem(p->err, p->errlen);
    for (skip_blank_lines(p); p->r < p->len; skip_blank_lines(p)) {
        if ((rc = reserve(d, &cap, d->nrows + 1, p)) < 0)
            return rc;
        p->row_line = p->line;
        size_t base = d->nrows * d->ncols, nf = 0;
        for (int more = 1; more; nf++) {
            char *cell;
            size_t n;
            more = parse_field(p, nf + 1, &cell, &n);
            if (more < 0)
                return more;
            if (nf < d->ncols) {
                d->cells[base + nf] = cell;
                d->lens[base + nf] = (uint32_t)n;
                if (n > d->col_max[nf])
                    d->col_max[nf] = (uint32_t)n;
            }
        }
        if (nf != d->ncols)
            return fail(p, "row has %zu field%s, the header has %zu", nf, nf == 1 ? "" : "s",
                        d->ncols);
        d->nrows++;
    }
    if (d->nrows < cap) {
        const char **cells = realloc(d->cells, d->nrows * d->ncols * sizeof *cells);
        if (cells)
            d->cells = cells;
        uint32_t *lens = realloc(d->lens, d->nrows * d->ncols * sizeof *lens);
        if (lens)
            d->lens = lens;
    }
    return 0;
}

static int parse(data_file *d, size_t len, char *err, size_t errlen)
{
    parser p = {.b = d->buf, .len = len, .line = 1, .err = err, .errlen = errlen};
    if (len >= 3 && memcmp(p.b, "\xEF\xBB\xBF", 3) == 0)
        p.r = 3;
    skip_blank_lines(&p);
    if (p.r == p.len) {
        snprintf(err, errlen, "no data rows (the file is empty)");
        return -EINVAL;
    }
    int rc = parse_header(&p, d);
    if (rc < 0)
        return rc;
    skip_blank_lines(&p);
    if (p.r == p.len) {
        snprintf(err, errlen, "no data rows (only the header line)");
        return -EINVAL;
    }
    return parse_rows(&p, d);
}

int data_load(data_file **out, const char *path, size_t max_bytes, char *err, size_t errlen)
{
    *out = NULL;
    char *buf;
    size_t len;
    int rc = files_read(path, max_bytes, &buf, &len, err, errlen);
    if (rc < 0)
        return rc;
    data_file *d = calloc(1, sizeof *d);
    if (!d) {
        free(buf);
        return nomem(err, errlen);
    }
    d->buf = buf;
    rc = parse(d, len, err, errlen);
    if (rc < 0) {
        data_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void data_free(data_file *d)
{
    if (!d)
        return;
    free(d->names);
    free(d->cells);
    free(d->lens);
    free(d->col_max);
    free(d->buf);
    free(d);
}

int data_column(const data_file *d, const char *name)
{
    for (size_t c = 0; c < d->ncols; c++)
        if (strcmp(d->names[c], name) == 0)
            return (int)c;
    return -1;
}
