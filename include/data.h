/* data: CSV data files (`data = users.csv` in a scenario), loaded once at start.
 *
 * A loaded file is immutable: every worker thread reads the same copy without locking. Its
 * memory is the file's own buffer, unquoted in place (every cell is a NUL-terminated string
 * inside it), plus one pointer and one 32-bit length per cell and a few per-column arrays.
 *
 * The format is RFC 4180 as users write it: the first non-blank row names the columns (letters,
 * digits and _, unique), fields are separated by `,`, may be double-quoted (then `""` is a quote
 * and `,`, CR and LF are data), lines end in LF or CRLF, a UTF-8 BOM at the start is skipped, the
 * last line may lack its line end, entirely empty lines are skipped and spaces are data. */
#ifndef BLAST_DATA_H
#define BLAST_DATA_H

#include <stddef.h>
#include <stdint.h>

#define DATA_MAX_COLS 1024   /* columns in a file */
#define DATA_MAX_CELL 65536u /* bytes in one cell, after unquoting */

typedef struct data_file {
    size_t ncols, nrows; /* nrows >= 1, 1 <= ncols <= DATA_MAX_COLS */
    char **names;        /* ncols column names from the header row (into buf) */
    const char **cells;  /* nrows * ncols: cells[r * ncols + c], NUL-terminated, unquoted */
    uint32_t *lens;      /* nrows * ncols byte lengths (a cell holds no NUL byte) */
    uint32_t *col_max;   /* ncols: the length of the longest cell of each column */
    char *buf;           /* the file as read, rewritten in place: every string points here */
} data_file;

/* Loads the CSV file at path, at most max_bytes long (read with files_read). Returns 0 and *out
 * (the caller owns it: data_free), or a negative errno-style code with a one-line message in err
 * (*out is then NULL):
 *  - what files_read says about the file itself, passed through (-ENOENT, -EISDIR, -EINVAL for a
 *    device or FIFO, -EFBIG, ...), e.g. "is a FIFO, not a regular file";
 *  - -EINVAL for content that is not a valid data file, as "LINE: what is wrong (what is
 *    allowed)" with the 1-based line where the offending row starts (e.g. "4: row has 2 fields,
 *    the header has 3"), or without a line for the file as a whole ("no data rows");
 *  - -ENOMEM.
 * The message never names the file: the caller prefixes it. */
int data_load(data_file **out, const char *path, size_t max_bytes, char *err, size_t errlen);

/* Frees a loaded file and everything it points to; NULL is accepted. */
void data_free(data_file *d);

/* Returns the index of the column called name (exact, case-sensitive), or -1. */
int data_column(const data_file *d, const char *name);

#endif
