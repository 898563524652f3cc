/* Unit tests for data: CSV files written to a fresh temp dir per test and loaded. Tables of
 * (bytes, columns, cells) for every quoting and line-end form, (bytes, exact message) for every
 * error, the file-level errors files_read passes through (a device, a FIFO, too big, missing),
 * column lookups and col_max, the column and cell limits at and past their bounds, and a 100k
 * row file checked cell by cell. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"

static char dir[64];
static char csv_path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/blast-data-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(csv_path, sizeof csv_path, "%s/t.csv", dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(data, .init = setup, .fini = teardown);

static void write_csv(const char *bytes, size_t len)
{
    FILE *f = fopen(csv_path, "wb");
    cr_assert_not_null(f, "%s", csv_path);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* Every cell is a NUL-terminated string of its stated length inside the file's buffer. */
static void check_layout(const char *name, const data_file *d, size_t file_len)
{
    for (size_t i = 0; i < d->nrows * d->ncols; i++) {
        cr_assert(d->cells[i] >= d->buf && d->cells[i] + d->lens[i] <= d->buf + file_len,
                  "%s: cell %zu outside the file's buffer", name, i);
        cr_assert_eq(d->cells[i][d->lens[i]], '\0', "%s: cell %zu not NUL-terminated", name, i);
    }
}

#define IN(s) s, sizeof(s) - 1
#define MAX_CELLS 16

Test(data, parses)
{
    static const struct {
        const char *name;
        const char *in;
        size_t len;
        size_t ncols;
        const char *names[4];
        const char *cells[MAX_CELLS]; /* row by row, NULL after the last */
    } rows[] = {
        {"lf", IN("id,name\n1,ann\n2,bob\n"), 2, {"id", "name"}, {"1", "ann", "2", "bob"}},
        {"crlf", IN("id,name\r\n1,ann\r\n2,bob\r\n"), 2, {"id", "name"}, {"1", "ann", "2", "bob"}},
        {"mixed line ends",
         IN("id,name\r\n1,ann\n2,bob\r\n"),
         2,
         {"id", "name"},
         {"1", "ann", "2", "bob"}},
        {"no line end at the end",
         IN("id,name\n1,ann\n2,bob"),
         2,
         {"id", "name"},
         {"1", "ann", "2", "bob"}},
        {"bom", IN("\xEF\xBB\xBFid,name\n1,ann\n"), 2, {"id", "name"}, {"1", "ann"}},
        {"bom only at the start", IN("id\n\xEF\xBB\xBFx\n"), 1, {"id"}, {"\xEF\xBB\xBFx"}},
        {"blank lines",
         IN("\n\r\nid,name\n\n1,ann\r\n\r\n\n2,bob\n\n"),
         2,
         {"id", "name"},
         {"1", "ann", "2", "bob"}},
        {"spaces are data", IN("a,b\n x , y \n"), 2, {"a", "b"}, {" x ", " y "}},
        {"a line of spaces is a row", IN("a\n \n"), 1, {"a"}, {" "}},
        {"empty fields", IN("a,b,c\n,,\n1,,\n"), 3, {"a", "b", "c"}, {"", "", "", "1", "", ""}},
        {"trailing separator at the end", IN("a,b\n1,"), 2, {"a", "b"}, {"1", ""}},
        {"quoted", IN("a,b\n\"x\",\"y\"\n"), 2, {"a", "b"}, {"x", "y"}},
        {"quoted separator", IN("a,b\n\"x,y\",z\n"), 2, {"a", "b"}, {"x,y", "z"}},
        {"doubled quotes", IN("a\n\"say \"\"hi\"\"\"\n"), 1, {"a"}, {"say \"hi\""}},
        {"only a quote", IN("a\n\"\"\"\"\n"), 1, {"a"}, {"\""}},
        {"empty quoted", IN("a,b\n\"\",\"\"\n"), 2, {"a", "b"}, {"", ""}},
        {"empty quoted keeps a one-column row", IN("a\n\"\"\n\n1\n"), 1, {"a"}, {"", "1"}},
        {"embedded lf", IN("a,b\n\"l1\nl2\",x\n"), 2, {"a", "b"}, {"l1\nl2", "x"}},
        {"embedded crlf", IN("a,b\r\n\"l1\r\nl2\",x\r\n"), 2, {"a", "b"}, {"l1\r\nl2", "x"}},
        {"embedded cr", IN("a\n\"x\ry\"\n"), 1, {"a"}, {"x\ry"}},
        {"embedded blank line", IN("a\n\"x\n\ny\"\n"), 1, {"a"}, {"x\n\ny"}},
        {"quoted at the end", IN("a,b\n1,\"z\""), 2, {"a", "b"}, {"1", "z"}},
        {"quoted then crlf at the end", IN("a,b\n1,\"z\"\r\n"), 2, {"a", "b"}, {"1", "z"}},
        {"quoted after unquoted moves",
         IN("a,b,c\n\"q\",plain,\"\"\"\"\n"),
         3,
         {"a", "b", "c"},
         {"q", "plain", "\""}},
        {"quoted header", IN("\"id\",\"name\"\n1,2\n"), 2, {"id", "name"}, {"1", "2"}},
        {"names with digits and _",
         IN("user_id,Col2,_,9\n1,2,3,4\n"),
         4,
         {"user_id", "Col2", "_", "9"},
         {"1", "2", "3", "4"}},
        {"utf-8 data", IN("name\nJos\xC3\xA9\n"), 1, {"name"}, {"Jos\xC3\xA9"}},
        {"quote inside a quoted field's data", IN("a\n\"a\"\"\"\"b\"\n"), 1, {"a"}, {"a\"\"b"}},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        write_csv(rows[i].in, rows[i].len);
        data_file *d = NULL;
        char err[256] = "";
        int rc = data_load(&d, csv_path, 1 << 20, err, sizeof err);
        cr_assert_eq(rc, 0, "%s: rc %d: %s", rows[i].name, rc, err);
        cr_assert_eq(d->ncols, rows[i].ncols, "%s: ncols %zu", rows[i].name, d->ncols);
        for (size_t c = 0; c < d->ncols; c++)
            cr_expect_str_eq(d->names[c], rows[i].names[c], "%s: name %zu", rows[i].name, c);
        size_t ncells = 0;
        while (ncells < MAX_CELLS && rows[i].cells[ncells])
            ncells++;
        cr_assert_eq(d->nrows * d->ncols, ncells, "%s: %zu rows", rows[i].name, d->nrows);
        for (size_t k = 0; k < ncells; k++) {
            cr_expect_eq(d->lens[k], strlen(rows[i].cells[k]), "%s: cell %zu length %u",
                         rows[i].name, k, d->lens[k]);
            cr_expect_str_eq(d->cells[k], rows[i].cells[k], "%s: cell %zu", rows[i].name, k);
        }
        check_layout(rows[i].name, d, rows[i].len);
        data_free(d);
    }
}

#define NAMES_RULE "(names are made of letters, digits and _)"
#define UNQUOTED_RULE "(quote the whole field and write \"\" for each quote in it)"
#define CLOSING_RULE                                                                               \
    "(a quoted field ends at its quote, then , or the line end; write \"\" for a quote inside "    \
    "it)"
#define CR_RULE "(lines end in LF or CRLF; quote the field to keep a CR in it)"

Test(data, errors)
{
    static const struct {
        const char *name;
        const char *in;
        size_t len;
        const char *err;
    } rows[] = {
        {"empty", IN(""), "no data rows (the file is empty)"},
        {"blank lines only", IN("\n\r\n\n"), "no data rows (the file is empty)"},
        {"bom only", IN("\xEF\xBB\xBF"), "no data rows (the file is empty)"},
        {"header only", IN("a,b\n"), "no data rows (only the header line)"},
        {"header without line end", IN("a,b"), "no data rows (only the header line)"},
        {"header then blank lines", IN("a,b\n\n\r\n"), "no data rows (only the header line)"},
        {"too few fields", IN("a,b,c\n1,2,3\n1,2\n"), "3: row has 2 fields, the header has 3"},
        {"one field", IN("a,b,c\n1\n"), "2: row has 1 field, the header has 3"},
        {"too many fields", IN("a,b\n1,2,3\n"), "2: row has 3 fields, the header has 2"},
        {"trailing separator", IN("a,b\n1,2,\n"), "2: row has 3 fields, the header has 2"},
        {"line after blank lines", IN("a,b\n\n\r\n1\n"), "4: row has 1 field, the header has 2"},
        {"line after embedded newlines", IN("a,b\n\"x\ny\nz\",1\n1,2,3\n"),
         "5: row has 3 fields, the header has 2"},
        {"line after embedded crlf", IN("a,b\r\n\"x\r\ny\",1\r\n\r\n1\r\n"),
         "5: row has 1 field, the header has 2"},
        {"unclosed quote", IN("a,b\n1,2\n\"x,3\n4,5\n"),
         "3: quoted field never closed (opened on line 3)"},
        {"unclosed quote opened on a later line", IN("a,b\n\"x\ny\",\"open\nmore\n"),
         "2: quoted field never closed (opened on line 3)"},
        {"unclosed quote at the end", IN("a\n\""),
         "2: quoted field never closed (opened on line 2)"},
        {"unclosed quote in the header", IN("\"a\n1\n"),
         "1: quoted field never closed (opened on line 1)"},
        {"quote in an unquoted field", IN("a,b\n1,x\"y\n"),
         "2: quote inside unquoted field 2 " UNQUOTED_RULE},
        {"quote at the end of an unquoted field", IN("a,b\nx\",1\n"),
         "2: quote inside unquoted field 1 " UNQUOTED_RULE},
        {"quote after a space", IN("a,b\n1, \"x\"\n"),
         "2: quote inside unquoted field 2 " UNQUOTED_RULE},
        {"byte after closing quote", IN("a,b\n\"x\"y,1\n"),
         "2: 'y' after the closing quote of field 1 " CLOSING_RULE},
        {"space after closing quote", IN("a,b\n\"x\" ,1\n"),
         "2: a space after the closing quote of field 1 " CLOSING_RULE},
        {"cr after closing quote", IN("a,b\n1,\"x\"\r2\n"),
         "2: a CR after the closing quote of field 2 " CLOSING_RULE},
        {"control byte after closing quote", IN("a\n\"x\"\x01\n"),
         "2: byte 0x01 after the closing quote of field 1 " CLOSING_RULE},
        {"unescaped quote in a quoted field", IN("a\n\"say \"hi\"\"\n"),
         "2: 'h' after the closing quote of field 1 " CLOSING_RULE},
        {"nul unquoted", IN("a,b\n1,x\0y\n"), "2: NUL byte in field 2 (a data file is text)"},
        {"nul quoted", IN("a\n1\n\"x\n\0\"\n"), "3: NUL byte in field 1 (a data file is text)"},
        {"nul in the header", IN("a\0,b\n1,2\n"), "1: NUL byte in field 1 (a data file is text)"},
        {"bare cr", IN("a,b\n1\r2,3\n"), "2: CR without LF in field 1 " CR_RULE},
        {"cr-only line ends", IN("a\r1\r"), "1: CR without LF in field 1 " CR_RULE},
        {"empty name", IN("a,,c\n1,2,3\n"),
         "1: column 2 has no name (the first line names every column)"},
        {"empty last name", IN("a,\n1,2\n"),
         "1: column 2 has no name (the first line names every column)"},
        {"empty quoted name", IN("\"\"\n1\n"),
         "1: column 1 has no name (the first line names every column)"},
        {"dash in a name", IN("id,first-name\n1,2\n"),
         "1: column 2 name \"first-name\" has '-' " NAMES_RULE},
        {"space in a name", IN("id, name\n1,2\n"),
         "1: column 2 name \" name\" has a space " NAMES_RULE},
        {"dot in a name", IN("a.b\n1\n"), "1: column 1 name \"a.b\" has '.' " NAMES_RULE},
        {"non-ascii name", IN("caf\xC3\xA9\n1\n"),
         "1: column 1 name \"caf??\" has byte 0xC3 " NAMES_RULE},
        {"bom in a name", IN("\xEF\xBB\xBF\xEF\xBB\xBFid\n1\n"),
         "1: column 1 name \"???id\" has byte 0xEF " NAMES_RULE},
        {"newline in a quoted name", IN("\"a\nb\"\n1\n"),
         "1: column 1 name \"a?b\" has byte 0x0A " NAMES_RULE},
        {"long bad name is cut", IN("abcdefghijabcdefghijabcdefghijabcdefghij!\n1\n"),
         "1: column 1 name \"abcdefghijabcdefghijabcdefghijab...\" has '!' " NAMES_RULE},
        {"duplicate name", IN("id,name,id\n1,2,3\n"),
         "1: column 3 name \"id\" is also column 1's (names are unique)"},
        {"names differ by case only are distinct: dup later", IN("Id,id,ID,id\n1,2,3,4\n"),
         "1: column 4 name \"id\" is also column 2's (names are unique)"},
        {"header line after blank lines", IN("\n\r\nid,id\n1,2\n"),
         "3: column 2 name \"id\" is also column 1's (names are unique)"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        write_csv(rows[i].in, rows[i].len);
        data_file *d = (data_file *)0x1;
        char err[512] = "";
        int rc = data_load(&d, csv_path, 1 << 20, err, sizeof err);
        cr_expect_eq(rc, -EINVAL, "%s: rc %d", rows[i].name, rc);
        cr_expect_null(d, "%s: *out must be NULL on error", rows[i].name);
        cr_expect_str_eq(err, rows[i].err, "%s", rows[i].name);
    }
}

/* What files_read says about the file itself comes through as it is. */
Test(data, file_errors_pass_through)
{
    char fifo[160], sub[160], missing[160];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(missing, sizeof missing, "%s/missing.csv", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
    cr_assert_eq(mkdir(sub, 0700), 0);
    write_csv(IN("id\n1\n2\n3\n4\n5\n6\n7\n8\n"));

    static const struct {
        const char *name;
        int which; /* 0: /dev/null, 1: fifo, 2: directory, 3: missing, 4: t.csv */
        size_t max;
        int rc;
        const char *err;
    } rows[] = {
        {"character device", 0, 1 << 20, -EINVAL, "is a character device, not a regular file"},
        {"fifo", 1, 1 << 20, -EINVAL, "is a FIFO, not a regular file"},
        {"directory", 2, 1 << 20, -EISDIR, "is a directory"},
        {"missing", 3, 1 << 20, -ENOENT, "No such file or directory"},
        {"one byte too big", 4, 18, -EFBIG, "is 19 bytes, more than the 18 bytes allowed"},
        {"at the limit", 4, 19, 0, ""},
    };
    const char *paths[] = {"/dev/null", fifo, sub, missing, csv_path};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        data_file *d = (data_file *)0x1;
        char err[256] = "";
        int rc = data_load(&d, paths[rows[i].which], rows[i].max, err, sizeof err);
        cr_expect_eq(rc, rows[i].rc, "%s: rc %d (%s)", rows[i].name, rc, err);
        cr_expect_str_eq(err, rows[i].err, "%s", rows[i].name);
        if (rows[i].rc == 0) {
            cr_assert_not_null(d, "%s", rows[i].name);
            cr_expect_eq(d->nrows, 8, "%s: nrows", rows[i].name);
        } else {
            cr_expect_null(d, "%s", rows[i].name);
        }
        data_free(d == (data_file *)0x1 ? NULL : d);
    }
}

Test(data, columns_and_col_max)
{
    write_csv(IN("id,name,note,empty\n1,ann,,\n22,bo,\"long\nnote\",\n333,c,x,\n"));
    data_file *d = NULL;
    char err[256] = "";
    cr_assert_eq(data_load(&d, csv_path, 1 << 20, err, sizeof err), 0, "%s", err);
    static const struct {
        const char *name;
        int col;
    } rows[] = {
        {"id", 0},   {"name", 1},   {"note", 2}, {"empty", 3}, {"Name", -1},
        {"nam", -1}, {"names", -1}, {"", -1},    {"id,", -1},  {"note\n", -1},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_expect_eq(data_column(d, rows[i].name), rows[i].col, "data_column(\"%s\")",
                     rows[i].name);
    static const uint32_t want_max[] = {3, 3, 9, 0};
    for (size_t c = 0; c < 4; c++)
        cr_expect_eq(d->col_max[c], want_max[c], "col_max[%zu] = %u", c, d->col_max[c]);
    cr_expect_eq(d->nrows, 3);
    data_free(d);
    data_free(NULL);
}

/* Builds a file with `ncols` columns c0, c1, ... and one data row of 1s. */
static void write_wide(size_t ncols)
{
    size_t cap = ncols * 8 + 16, n = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    for (size_t c = 0; c < ncols; c++)
        n += (size_t)snprintf(s + n, cap - n, "%sc%zu", c ? "," : "", c);
    s[n++] = '\n';
    for (size_t c = 0; c < ncols; c++)
        n += (size_t)snprintf(s + n, cap - n, "%s1", c ? "," : "");
    write_csv(s, n);
    free(s);
}

/* A file whose second line is one cell of `len` bytes, quoted (every 100th byte a doubled
 * quote, so the raw field is longer than the cell) or not. */
static void write_long_cell(size_t len, bool quoted)
{
    char *s = malloc(len * 2 + 16);
    cr_assert_not_null(s);
    size_t n = (size_t)sprintf(s, "a\n%s", quoted ? "\"" : "");
    for (size_t i = 0; i < len; i++) {
        if (quoted && i % 100 == 0)
            s[n++] = '"';
        s[n++] = quoted && i % 100 == 0 ? '"' : 'x';
    }
    n += (size_t)sprintf(s + n, "%s\n", quoted ? "\"" : "");
    write_csv(s, n);
    free(s);
}

Test(data, limits)
{
    static const struct {
        const char *name;
        int kind; /* 0: columns, 1: unquoted cell, 2: quoted cell */
        size_t size;
        const char *err; /* NULL: loads */
    } rows[] = {
        {"1024 columns", 0, 1024, NULL},
        {"1025 columns", 0, 1025, "1: the header has more than 1024 columns (at most 1024)"},
        {"2000 columns", 0, 2000, "1: the header has more than 1024 columns (at most 1024)"},
        {"64 KiB cell", 1, 65536, NULL},
        {"64 KiB + 1 cell", 1, 65537,
         "2: field 1 is 65537 bytes long (at most 65536 bytes per cell)"},
        {"64 KiB quoted cell, longer raw", 2, 65536, NULL},
        {"64 KiB + 1 quoted cell", 2, 65537,
         "2: field 1 is 65537 bytes long (at most 65536 bytes per cell)"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].kind == 0)
            write_wide(rows[i].size);
        else
            write_long_cell(rows[i].size, rows[i].kind == 2);
        data_file *d = NULL;
        char err[256] = "";
        int rc = data_load(&d, csv_path, 1 << 20, err, sizeof err);
        if (!rows[i].err) {
            cr_assert_eq(rc, 0, "%s: %s", rows[i].name, err);
            size_t want_cols = rows[i].kind == 0 ? rows[i].size : 1;
            cr_expect_eq(d->ncols, want_cols, "%s: ncols %zu", rows[i].name, d->ncols);
            cr_expect_eq(d->nrows, 1, "%s: nrows", rows[i].name);
            size_t want_len = rows[i].kind == 0 ? 1 : rows[i].size;
            cr_expect_eq(d->lens[d->ncols - 1], want_len, "%s: last cell", rows[i].name);
            cr_expect_eq(d->col_max[d->ncols - 1], want_len, "%s: col_max", rows[i].name);
            data_free(d);
        } else {
            cr_expect_eq(rc, -EINVAL, "%s: rc %d", rows[i].name, rc);
            cr_expect_str_eq(err, rows[i].err, "%s", rows[i].name);
        }
    }
}

Test(data, small_error_buffer)
{
    write_csv(IN("a,b\n1\n"));
    data_file *d = NULL;
    char err[8];
    memset(err, 'x', sizeof err);
    cr_expect_eq(data_load(&d, csv_path, 1 << 20, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "2: row ", "cut to the buffer, NUL-terminated");
    cr_expect_eq(data_load(&d, csv_path, 1 << 20, NULL, 0), -EINVAL);
    cr_expect_null(d);
}

/* Row i of the large file: id, a name, and a note that is sometimes quoted with a doubled quote
 * and an embedded line end; some rows end in CRLF, and some are followed by a blank line. */
#define LARGE_ROWS 100000

static void large_row(size_t i, char cells[3][64], const char **raw_note)
{
    snprintf(cells[0], 64, "%zu", i);
    snprintf(cells[1], 64, "user%zu", i * 7919 % 100003);
    static char raw[64];
    if (i % 7 == 0) {
        snprintf(cells[2], 64, "say \"%zu\"\nbye", i);
        snprintf(raw, sizeof raw, "\"say \"\"%zu\"\"\nbye\"", i);
    } else {
        snprintf(cells[2], 64, "%s", i % 3 ? "plain note" : "");
        snprintf(raw, sizeof raw, "%s", cells[2]);
    }
    *raw_note = raw;
}

Test(data, large_file)
{
    size_t cap = (size_t)LARGE_ROWS * 64 + 64, n = 0, line = 2;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    n += (size_t)sprintf(s, "id,name,note\n");
    uint32_t want_max[3] = {0};
    for (size_t i = 0; i < LARGE_ROWS; i++) {
        char cells[3][64];
        const char *raw;
        large_row(i, cells, &raw);
        n += (size_t)sprintf(s + n, "%s,%s,%s%s%s", cells[0], cells[1], raw,
                             i % 11 == 0 ? "\r\n" : "\n", i % 13 == 0 ? "\n" : "");
        line += 1 + (i % 7 == 0) + (i % 13 == 0);
        for (int c = 0; c < 3; c++)
            if (strlen(cells[c]) > want_max[c])
                want_max[c] = (uint32_t)strlen(cells[c]);
    }
    size_t good_len = n;
    write_csv(s, good_len);

    data_file *d = NULL;
    char err[256] = "";
    cr_assert_eq(data_load(&d, csv_path, 64 << 20, err, sizeof err), 0, "%s", err);
    cr_assert_eq(d->ncols, 3);
    cr_assert_eq(d->nrows, LARGE_ROWS);
    for (size_t i = 0; i < LARGE_ROWS; i++) {
        char cells[3][64];
        const char *raw;
        large_row(i, cells, &raw);
        for (size_t c = 0; c < 3; c++) {
            const char *got = d->cells[i * 3 + c];
            cr_assert_str_eq(got, cells[c], "row %zu col %zu", i, c);
            cr_assert_eq(d->lens[i * 3 + c], strlen(cells[c]), "row %zu col %zu length", i, c);
        }
    }
    for (size_t c = 0; c < 3; c++)
        cr_expect_eq(d->col_max[c], want_max[c], "col_max[%zu] = %u, want %u", c, d->col_max[c],
                     want_max[c]);
    cr_expect_eq(data_column(d, "note"), 2);
    check_layout("large", d, good_len);
    data_free(d);

    /* A bad row at the end is reported on its own line, counted through every embedded line. */
    n += (size_t)sprintf(s + n, "1,2\n");
    write_csv(s, n);
    char want[64];
    snprintf(want, sizeof want, "%zu: row has 2 fields, the header has 3", line);
    d = (data_file *)0x1;
    cr_expect_eq(data_load(&d, csv_path, 64 << 20, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, want);
    cr_expect_null(d);
    free(s);
}
