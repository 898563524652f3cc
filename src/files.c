/* files: bounded input reads and outputs that never clobber (see include/files.h).
 *
 * Invariant for outputs: until files_out_close succeeds, the destination is exactly as it was
 * before the run (a temp file beside it is all that exists), unless it is written directly (a
 * device, a FIFO, standard output), where there is nothing to preserve. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SYMLINKS 40 /* as the kernel's own limit on a path walk */

void files_size_text(size_t n, char *out, size_t outlen)
{
    if (n < 1024)
        snprintf(out, outlen, "%zu bytes", n);
    else if (n < 1024u * 1024)
        snprintf(out, outlen, "%.1f KiB", (double)n / 1024);
    else if (n < 1024u * 1024 * 1024)
        snprintf(out, outlen, "%.1f MiB", (double)n / (1024.0 * 1024));
    else
        snprintf(out, outlen, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
}

static const char *kind_text(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

static int too_big(size_t max, size_t have, bool exact, char *err, size_t errlen)
{
    char a[32], b[32];
    files_size_text(have, a, sizeof a);
    files_size_text(max, b, sizeof b);
    snprintf(err, errlen, "is %s%s, more than the %s allowed", exact ? "" : "more than ",
             exact ? a : b, b);
    return -EFBIG;
}

int files_read(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one forever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s", strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s", strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, S_ISDIR(st.st_mode) ? "is a directory" : "is %s, not a regular file",
                 kind_text(st.st_mode));
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return too_big(max, (size_t)st.st_size, true, err, errlen);
    }
    /* Files in /proc and /sys say they are empty and are not: read to the end, but never more
     * than max + 1 bytes, so a file that grows while it is read is still refused. */
    size_t cap = (size_t)st.st_size + 1 < 4096 ? 4096 : (size_t)st.st_size + 1;
    size_t n = 0;
    char *p = malloc(cap + 1);
    if (!p) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(p);
                close(fd);
                return too_big(max, max, false, err, errlen);
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *q = realloc(p, ncap + 1);
            if (!q) {
                free(p);
                close(fd);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
            }
            p = q;
            cap = ncap;
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(p);
            close(fd);
            snprintf(err, errlen, "%s", strerror(e));
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(p);
        return too_big(max, max, false, err, errlen);
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

/* ---- outputs ---- */

/* Paths that name a stream rather than a file: always written in place, even when they resolve
 * to a regular file (standard output redirected to a file must not be replaced by a rename). */
static bool stream_path(const char *p)
{
    return strncmp(p, "/dev/", 5) == 0 || strncmp(p, "/proc/self/fd/", 14) == 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Follows symlinks from path to the file they finally name (which may not exist yet). Returns
 * a malloc'd path, or NULL with errno set (ELOOP, ENOMEM, or what lstat said). */
static char *final_target(const char *path)
{
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat st;
        if (lstat(cur, &st) < 0) {
            if (errno == ENOENT)
                return cur; /* a new file (or a dangling link's target) */
            int e = errno;
            free(cur);
            errno = e;
            return NULL;
        }
        if (!S_ISLNK(st.st_mode))
            return cur;
        if (hops == MAX_SYMLINKS) {
            free(cur);
            errno = ELOOP;
            return NULL;
        }
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) {
            int e = errno;
            free(cur);
            errno = e;
            return NULL;
        }
        link[n] = '\0';
        char *next;
        if (link[0] == '/') {
            next = strdup(link);
        } else {
            char *d = dir_of(cur);
            next = d ? malloc(strlen(d) + 1 + (size_t)n + 1) : NULL;
            if (next)
                sprintf(next, "%s/%s", d, link);
            free(d);
        }
        free(cur);
        cur = next;
    }
    errno = ENOMEM;
    return NULL;
}

static int open_direct(files_out *o, const char *dest, char *err, size_t errlen)
{
    /* Non-blocking open: a FIFO without a reader fails at once (ENXIO) instead of hanging. */
    int fd = open(dest, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s", e == ENXIO ? "nothing is reading this FIFO" : strerror(e));
        return -e;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    o->f = fdopen(fd, "w");
    if (!o->f) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "%s", strerror(e));
        return -e;
    }
    o->direct = true;
    return 0;
}

int files_out_open(files_out *o, const char *dest, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->dest = dest;
    if (strcmp(dest, "-") == 0) {
        o->f = stdout;
        o->direct = true;
        return 0;
    }
    struct stat st;
    bool exists = stat(dest, &st) == 0;
    if (!exists && errno != ENOENT) {
        int e = errno;
        snprintf(err, errlen, "%s", strerror(e));
        return -e;
    }
    if (exists && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory (give a file name, e.g. %s/run.json)", dest);
        return -EISDIR;
    }
    if (exists && S_ISBLK(st.st_mode)) {
        snprintf(err, errlen, "is a block device (give a file name)");
        return -EINVAL;
    }
    if ((exists && !S_ISREG(st.st_mode)) || stream_path(dest))
        return open_direct(o, dest, err, errlen);

    char *final = final_target(dest);
    if (!final) {
        int e = errno;
        snprintf(err, errlen, "%s", strerror(e));
        return -e;
    }
    char *dir = dir_of(final);
    const char *base = strrchr(final, '/') ? strrchr(final, '/') + 1 : final;
    size_t tlen = (dir ? strlen(dir) : 0) + strlen(base) + 48;
    char *tmp = dir ? malloc(tlen) : NULL;
    if (!tmp) {
        free(dir);
        free(final);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct stat dst;
    int rc = 0;
    if (stat(dir, &dst) < 0) {
        rc = -errno;
        snprintf(err, errlen, rc == -ENOENT ? "directory %s does not exist" : "directory %s: %s",
                 dir, strerror(-rc));
    } else if (!S_ISDIR(dst.st_mode)) {
        rc = -ENOTDIR;
        snprintf(err, errlen, "%s is not a directory", dir);
    }
    int fd = -1;
    if (rc == 0) {
        snprintf(tmp, tlen, "%s/.%s.%ld.blast-tmp", dir, base, (long)getpid());
        mode_t mode = exists ? (st.st_mode & 07777) : 0666;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0) {
            rc = -errno;
            /* Say why the destination itself cannot be written when that is the reason (a
             * read-only file system, /proc), rather than the errno of a file nobody asked for. */
            int probe = exists ? open(final, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) : -1;
            if (exists && probe < 0)
                snprintf(err, errlen, "cannot be written: %s", strerror(errno));
            else
                snprintf(err, errlen,
                         "cannot create a file in %s (written there, then renamed over %s when "
                         "the run completes): %s",
                         dir, base, strerror(-rc));
            if (probe >= 0)
                close(probe);
        } else if (exists) {
            fchmod(fd, st.st_mode & 07777); /* the umask must not change a file's mode */
        }
    }
    free(dir);
    if (rc == 0 && !(o->f = fdopen(fd, "w"))) {
        rc = -errno;
        snprintf(err, errlen, "%s", strerror(-rc));
        close(fd);
        unlink(tmp);
    }
    if (rc < 0) {
        free(tmp);
        free(final);
        return rc;
    }
    o->tmp = tmp;
    o->final = final;
    return 0;
}

int files_out_close(files_out *o, char *err, size_t errlen)
{
    if (!o->f)
        return 0;
    int rc = 0;
    errno = 0;
    if (fflush(o->f) != 0 || ferror(o->f))
        rc = errno ? -errno : -EIO;
    if (o->f != stdout) {
        errno = 0;
        if (fclose(o->f) != 0 && rc == 0)
            rc = errno ? -errno : -EIO;
    }
    o->f = NULL;
    if (rc == 0 && o->tmp && rename(o->tmp, o->final) != 0)
        rc = -errno;
    if (rc < 0) {
        snprintf(err, errlen, "%s", strerror(-rc));
        if (o->tmp)
            unlink(o->tmp);
    }
    free(o->tmp);
    free(o->final);
    o->tmp = o->final = NULL;
    return rc;
}

void files_out_discard(files_out *o)
{
    if (o->f && o->f != stdout)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->final);
    o->tmp = o->final = NULL;
}
