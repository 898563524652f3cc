/* files: every file blast reads as input or writes as output goes through here.
 *
 * Inputs (scenario files, @file bodies, data files) are read whole, only when they are regular
 * files no larger than a stated bound, checked before any byte is read: a device, a FIFO or an
 * endless stream gets a clear error instead of growing memory or blocking forever.
 *
 * Outputs (--out KIND=DEST) are checked before any load is sent and written so that an earlier
 * result is never clobbered by a run that failed: a regular file (or a path that does not exist
 * yet) is written to a temporary file in the directory of its final target and renamed over it
 * when complete, so a symlink keeps pointing where it pointed; a device, a FIFO or a terminal
 * (/dev/stdout, /dev/null) is written directly. Every write error is reported with its reason. */
#ifndef BLAST_FILES_H
#define BLAST_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Bounds on inputs (documented in the README). */
#define FILES_MAX_CONFIG (16u * 1024 * 1024)        /* a scenario file */
#define FILES_MAX_BODY_DEFAULT (64u * 1024 * 1024)  /* an @file body, unless max_body_file says */
#define FILES_MAX_DATA_DEFAULT (256u * 1024 * 1024) /* a CSV data file, unless max_data_file says  \
                                                     */

/* Reads the regular file at path whole, if it holds at most max bytes. Returns 0 with *buf (a
 * malloc'd copy with a NUL after the last byte: the caller frees it) and *len; or a negative
 * errno-style code with what is wrong in err (without the path; e.g. "is a FIFO, not a regular
 * file", "is 20.0 MiB, more than the 16.0 MiB allowed", "No such file or directory"):
 * -ENOENT, -EACCES, ... from open; -EISDIR; -EINVAL for any other file that is not regular;
 * -EFBIG when larger than max; -ENOMEM. The file is opened without blocking, so a FIFO with no
 * writer never stalls the caller. */
int files_read(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errlen);

/* Formats a byte count for messages: "512 bytes", "16.0 KiB", "1.5 MiB", "2.0 GiB". */
void files_size_text(size_t n, char *out, size_t outlen);

/* An output being written. */
typedef struct files_out {
    const char *dest; /* as the user gave it ("-" is standard output) */
    FILE *f;          /* where to write; valid between files_out_open and files_out_close */
    bool direct;      /* written in place (stdout, a device, a FIFO), not through a temp file */
    char *final;      /* the path renamed over when done (a symlink's final target), or NULL */
    char *tmp;        /* the temporary file, or NULL */
} files_out;

/* Checks dest and opens it for writing, before any load is sent. "-" is standard output. A
 * regular file, or a name that does not exist yet, is written through a temporary file in the
 * directory of its final target (symlinks resolved), renamed over it by files_out_close. A
 * character device, FIFO or socket is opened and written directly. Returns 0 with *o ready, or
 * a negative errno-style code with the reason in err (without dest): -EISDIR ("is a
 * directory"), -ENOENT ("directory /x/y does not exist"), -EACCES ("cannot write in directory
 * /x: Permission denied"), -EINVAL (a block device: "is a block device"), and open's own codes.
 * On failure *o holds nothing to free. */
int files_out_open(files_out *o, const char *dest, char *err, size_t errlen);

/* Finishes an output: flushes and closes it, and renames the temporary file over its target.
 * Returns 0, or a negative errno-style code with the reason in err (e.g. "No space left on
 * device"), in which case the temporary file is removed and the target is left as it was. */
int files_out_close(files_out *o, char *err, size_t errlen);

/* Abandons an output that will not be completed (the run failed to start): the temporary file
 * is removed, the target is untouched. A zeroed or closed o is accepted. */
void files_out_discard(files_out *o);

#endif
