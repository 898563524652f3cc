/* Integration: bad input gets a clear answer, and a short run is clean under valgrind.
 *
 * cli_table: one row per CLI or scenario-file mistake. Each row runs the real blast binary (its
 * own fork/exec here, not blast_exec: some rows need a raw command line, a seccomp filter or an
 * rlimit, and every row must look at the --out file after the run) and asserts the exit code,
 * that stderr is exactly one line containing the expected text (file:line, the key, what is
 * allowed), that stdout is empty (--quiet), that no --out file was written, that the bundled
 * target server saw no connection from blast (no partial load), and that the answer came in < 3 s.
 * Scenario files point at a live blast-target, so a mistake that were silently ignored would
 * show up as load.
 *
 * valgrind: memcheck over short runs (arrival rate, constant VUs with reconnects, error paths);
 * skipped when valgrind is not installed. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* What a test started and made, stopped and removed by its .fini (cleanup) also when an
 * assertion ends the test early. */
static server srv;
static char tmpdirs[4][256];

static void make_tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/blast-cli.XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    for (size_t i = 0; i < sizeof(tmpdirs) / sizeof(tmpdirs[0]); i++)
        if (!tmpdirs[i][0]) {
            snprintf(tmpdirs[i], sizeof(tmpdirs[i]), "%s", dir);
            break;
        }
}

static void remove_tmpdir(const char *dir)
{
    char cmd[128];
    if (strncmp(dir, "/tmp/blast-cli.", 15) != 0)
        return;
    chmod(dir, 0700);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_cli: could not remove %s\n", dir);
    for (size_t i = 0; i < sizeof(tmpdirs) / sizeof(tmpdirs[0]); i++)
        if (strcmp(tmpdirs[i], dir) == 0)
            tmpdirs[i][0] = '\0';
}

static void cleanup(void)
{
    if (srv.pid > 0)
        server_stop(&srv);
    for (size_t i = 0; i < sizeof(tmpdirs) / sizeof(tmpdirs[0]); i++) {
        char dir[256];
        memcpy(dir, tmpdirs[i], sizeof(dir));
        if (dir[0])
            remove_tmpdir(dir);
    }
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* The bundled target's counters (GET /admin/stats). The stats request is a connection itself. */
static bool target_counts(int port, long *requests, long *connections)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    static const char req[] = "GET /admin/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Connection: close\r\n\r\n";
    char buf[2048];
    size_t got = 0;
    bool ok = write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1);
    while (ok && got < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    const char *rq = strstr(buf, "\"requests\":"), *cn = strstr(buf, "\"connections\":");
    if (!ok || !rq || !cn)
        return false;
    *requests = strtol(rq + 11, NULL, 10);
    *connections = strtol(cn + 14, NULL, 10);
    return true;
}

/* ---- the table ---- */

typedef struct row {
    const char *name;
    /* Written to {INI} when not NULL. {PORT}: a live blast-target; {D}: the row's temp dir. */
    const char *ini;
    /* When raw, the whole command line after the binary; otherwise what follows
     * "-c {INI} --quiet --out json={OUT}". {INI}, {OUT}, {D} as above. */
    bool raw;
    const char *args[8];
    how how;
    int exit_code;
    const char *want[2]; /* substrings of the one stderr line ({INI}, {D} substituted) */
    /* The --out file is opened before the failure: it may exist, but must be empty. */
    bool out_opened;
} row;

#define GLOBAL "[global]\nbase_url = http://127.0.0.1:{PORT}\nduration = 1s\n" /* lines 1-3 */
#define CAR "[scenario a]\nexecutor = constant-arrival-rate\nrate = 10/s\n"     /* lines 4-6 */
#define VUS "[scenario a]\nexecutor = constant-vus\n"                           /* lines 4-5 */
#define VALID GLOBAL CAR
#define GLOBAL_URL(u) "[global]\nbase_url = " u "\nduration = 1s\n"

static row rows[] = {
    /* the scenario file itself */
    {"missing_file", NULL, true, {"-c", "{D}/nope.ini", "--quiet", "--out", "json={OUT}"},
     PLAIN, 2, {"{D}/nope.ini: cannot open", "No such file or directory"}, false},
    {"directory_as_file", NULL, true, {"-c", "{D}", "--quiet", "--out", "json={OUT}"}, PLAIN, 2,
     {"{D}: is a directory", "regular file of at most 16.0 MiB"}, false},
    /* files that never end, block or exceed the bound: refused before a byte is read */
    {"config_dev_zero", NULL, true, {"-c", "/dev/zero", "--quiet", "--out", "json={OUT}"}, PLAIN,
     2, {"/dev/zero: is a character device, not a regular file", "at most 16.0 MiB"}, false},
    {"config_dev_urandom", NULL, true, {"-c", "/dev/urandom", "--quiet", "--out", "json={OUT}"},
     PLAIN, 2, {"/dev/urandom: is a character device", "regular file"}, false},
    {"config_fifo_without_writer", NULL, true, {"-c", "{FIFO}", "--quiet", "--out", "json={OUT}"},
     PLAIN, 2, {"{D}/fifo: is a FIFO, not a regular file", "at most 16.0 MiB"}, false},
    {"config_too_big", NULL, true, {"-c", "{BIG}", "--quiet", "--out", "json={OUT}"}, PLAIN, 2,
     {"{D}/big.ini: is 17.0 MiB, more than the 16.0 MiB allowed", "scenario file"}, false},
    {"body_dev_zero", VALID "body = @/dev/zero\n", false, {NULL}, PLAIN, 2,
     {"{INI}:7: [scenario a] body: cannot read '/dev/zero'", "not a regular file"}, false},
    {"body_too_big", "[global]\nbase_url = http://127.0.0.1:{PORT}\nduration = 1s\n"
     "max_body_file = 16\n" CAR "body = @{BIG}\n", false, {NULL}, PLAIN, 2,
     {"{INI}:8: [scenario a] body: '{D}/big.ini' ({D}/big.ini) is 17.0 MiB, more than the 16 "
      "bytes allowed", "max_body_file"}, false},
    {"rate_exponent", GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\nrate = 1e12/s\n",
     false, {NULL}, PLAIN, 2, {"{INI}:6: [scenario a] rate: '1e12/s' is not a valid rate",
     "at most 10000000/s, written with digits"}, false},
    {"rate_too_high", GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\n"
     "rate = 1000000000000/s\n", false, {NULL}, PLAIN, 2,
     {"{INI}:6: [scenario a] rate: '1000000000000/s' is more than", "at most 10000000/s"},
     false},
    {"rate_too_high_cli", VALID, false, {"--rate", "20000000/s"}, PLAIN, 2,
     {"--rate 20000000/s", "at most 10000000/s"}, false},
    {"unreadable_file", VALID, false, {NULL}, UNREADABLE, 2,
     {"{INI}: cannot open", "Permission denied"}, false},
    {"empty_file", "", false, {NULL}, PLAIN, 2, {"{INI}: no scenarios", "[scenario NAME]"}, false},
    {"syntax_error", GLOBAL "this is not ini\n" CAR, false, {NULL}, PLAIN, 2,
     {"{INI}:4: syntax error", "key = value"}, false},
    {"unknown_key", VALID "bogus = 1\n", false, {NULL}, PLAIN, 2,
     {"{INI}:7: [scenario a] bogus: unknown key", "allowed: base_url, duration, connect_timeout"}, false},
    {"unknown_section", VALID "[foo]\n", false, {NULL}, PLAIN, 2,
     {"{INI}:7: [foo]: unknown section", "allowed: [global], [scenario NAME]"}, false},
    {"duplicate_key", VALID "rate = 20/s\n", false, {NULL}, PLAIN, 2,
     {"{INI}:7: [scenario a] rate: duplicate key", "line 6"}, false},
    {"unknown_executor", GLOBAL "[scenario a]\nexecutor = ramping\n", false, {NULL}, PLAIN, 2,
     {"{INI}:5: [scenario a] executor:", "constant-arrival-rate, ramping-arrival-rate"}, false},
    {"bad_duration", "[global]\nbase_url = http://127.0.0.1:{PORT}\nduration = 10x\n" CAR, false,
     {NULL}, PLAIN, 2, {"{INI}:3: [global] duration: '10x' is not a duration", "units us, ms"},
     false},
    {"rate_zero", GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\nrate = 0/s\n", false,
     {NULL}, PLAIN, 2, {"{INI}:6: [scenario a] rate: '0/s'", "a number > 0 and at most"}, false},
    {"rate_without_unit", GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\nrate = 100\n",
     false, {NULL}, PLAIN, 2, {"{INI}:6: [scenario a] rate: '100'", "100/s"}, false},
    {"vus_negative", GLOBAL VUS "vus = -3\n", false, {NULL}, PLAIN, 2,
     {"{INI}:6: [scenario a] vus: '-3'", "allowed: 1..1000000"}, false},
    {"vus_zero", GLOBAL VUS "vus = 0\n", false, {NULL}, PLAIN, 2,
     {"{INI}:6: [scenario a] vus: 0 is out of range", "allowed: 1..1000000"}, false},
    {"port_out_of_range", GLOBAL_URL("http://127.0.0.1:70000") CAR, false, {NULL}, PLAIN, 2,
     {"{INI}:2: [global] base_url: invalid port '70000'", "allowed: 1..65535"}, false},
    {"port_zero", GLOBAL_URL("http://127.0.0.1:0") CAR, false, {NULL}, PLAIN, 2,
     {"{INI}:2: [global] base_url: invalid port '0'", "allowed: 1..65535"}, false},
    {"unsupported_scheme", GLOBAL_URL("ftp://127.0.0.1:{PORT}") CAR, false, {NULL}, PLAIN, 2,
     {"{INI}:2: [global] base_url: unsupported scheme 'ftp'", "allowed: http://, https://, ws:// or wss://"},
     false},
    {"tls_ca_file_missing", GLOBAL_URL("https://127.0.0.1:{PORT}") CAR "ca_file = nope.pem\n",
     false, {NULL}, PLAIN, 2, {"{INI}:7: [scenario a] ca_file: cannot read '{D}/nope.pem'",
     "No such file or directory"}, false},
    {"body_file_missing", VALID "body = @nope.json\n", false, {NULL}, PLAIN, 2,
     {"{INI}:7: [scenario a] body: cannot read 'nope.json'", "No such file or directory"}, false},
    {"var_unset", GLOBAL_URL("${BLAST_TEST_UNSET_VAR}") CAR, false, {NULL}, PLAIN, 2,
     {"{INI}:2: [global] base_url: ${BLAST_TEST_UNSET_VAR} is not set",
      "-e BLAST_TEST_UNSET_VAR="},
     false},
    {"template_unterminated", VALID "path = /api/${USER_ID\n", false, {NULL}, PLAIN, 2,
     {"{INI}:7: [scenario a] path: unterminated ${", "$${"}, false},
    {"template_bad_name", VALID "path = /api/${1-user}\n", false, {NULL}, PLAIN, 2,
     {"{INI}:7: [scenario a] path: invalid variable reference '${1-user}'", "${NAME:-default}"},
     false},
    {"template_empty_name", VALID "header = X-Id: ${}\n", false, {NULL}, PLAIN, 2,
     {"{INI}:7: [scenario a] header: invalid variable reference '${}'", "${NAME}"}, false},

    /* the command line */
    {"no_config_option", NULL, true, {"--quiet", "--out", "json={OUT}"}, PLAIN, 2,
     {"no scenario file", "-c FILE"}, false},
    {"unknown_option", VALID, false, {"--frobnicate"}, PLAIN, 2, {"--frobnicate", "--help"},
     false},
    {"missing_option_argument", VALID, true, {"--quiet", "--out", "json={OUT}", "-c"}, PLAIN, 2,
     {"-c", "--help"}, false},
    {"stray_argument", VALID, false, {"extra"}, PLAIN, 2, {"'extra'", "--help"}, false},
    {"duration_garbage", VALID, false, {"--duration", "abc"}, PLAIN, 2,
     {"--duration abc", "30s, 1m30s or 500ms"}, false},
    {"rate_garbage", VALID, false, {"--rate", "lots"}, PLAIN, 2,
     {"--rate lots", "1000/s, 60/m or 5000/30s"}, false},
    {"rate_zero_cli", VALID, false, {"--rate", "0/s"}, PLAIN, 2, {"--rate 0/s", "rate > 0"},
     false},
    {"vus_negative_cli", VALID, false, {"--vus", "-1"}, PLAIN, 2,
     {"--vus -1", "from 1 to 1000000"}, false},
    {"workers_zero", VALID, false, {"--workers", "0"}, PLAIN, 2,
     {"--workers 0", "from 1 to 256"}, false},
    {"env_without_equals", VALID, false, {"-e", "FOO"}, PLAIN, 2,
     {"-e FOO", "expected NAME=VALUE"}, false},
    {"out_unknown_format", VALID, true, {"-c", "{INI}", "--quiet", "--out", "xml={OUT}"}, PLAIN, 2,
     {"--out xml: unknown format", "allowed: json, junit, k6-summary, markdown, csv, ndjson, html, hdrlog, prometheus, prometheus-rw"}, false},
    {"out_without_file", VALID, true, {"-c", "{INI}", "--quiet", "--out", "json="}, PLAIN, 2,
     {"--out json=", "FORMAT=FILE"}, false},

    /* could not start */
    {"unresolvable_host", GLOBAL_URL("http://blast-test.invalid:8080") CAR, false, {NULL}, PLAIN,
     3, {"cannot resolve host 'blast-test.invalid'", "base_url"}, false},
    /* outputs: every destination is checked before any load is sent, with its own reason */
    {"out_missing_dir", VALID, true,
     {"-c", "{INI}", "--quiet", "--out", "json=/nonexistent/x.json", "--out", "json={OUT}"},
     PLAIN, 3, {"--out json=/nonexistent/x.json:", "directory /nonexistent does not exist"},
     false},
    /* the first output is opened (its temp file) and discarded when the second fails: the
     * destination itself is never created */
    {"out_unwritable_second", VALID, true,
     {"-c", "{INI}", "--quiet", "--out", "json={OUT}", "--out", "json=/nonexistent/x.json"},
     PLAIN, 3, {"--out json=/nonexistent/x.json:", "does not exist"}, false},
    {"out_directory", VALID, true, {"-c", "{INI}", "--quiet", "--out", "json={D}"}, PLAIN, 3,
     {"--out json={D}: is a directory", "give a file name"}, false},
    {"out_proc_file", VALID, true, {"-c", "{INI}", "--quiet", "--out", "json=/proc/version"},
     PLAIN, 3, {"--out json=/proc/version: cannot create a file in /proc", "renamed over"},
     false},
    {"out_fifo_without_reader", VALID, true, {"-c", "{INI}", "--quiet", "--out", "json={FIFO}"},
     PLAIN, 3, {"--out json={D}/fifo:", "nothing is reading this FIFO"}, false},
    {"out_not_writable", VALID, true,
     {"-c", "{INI}", "--quiet", "--out", "json=/var/lib/blast-test-nobody.json"}, AS_NOBODY, 3,
     {"--out json=/var/lib/blast-test-nobody.json: cannot create a file in /var/lib",
      "Permission denied"},
     false},
    {"io_uring_unavailable", VALID, false, {"--workers", "2"}, NO_IO_URING, 3,
     {"io_uring", "Function not implemented"}, true},
    {"fd_limit_too_low", GLOBAL VUS "vus = 400\n", false, {"--workers", "2"}, FD_LIMIT, 3,
     {"open-file limit", "ulimit -n"}, true},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Criterion copies parameters into its workers' memory, where the strings a row points to need
 * not be at the same addresses: the parameter is the row's index. */
static size_t row_index[NROWS];

ParameterizedTestParameters(cli_table, rows)
{
    for (size_t i = 0; i < NROWS; i++)
        row_index[i] = i;
    return cr_make_param_array(size_t, row_index, NROWS);
}

/* Copies src to dst replacing {D}, {INI}, {OUT}, {PORT}. */
static void subst(char *dst, size_t n, const char *src, const char *dir, int port)
{
    size_t o = 0;
    while (*src && o + 1 < n) {
        char rep[256];
        size_t skip = 0;
        if (strncmp(src, "{D}", 3) == 0)
            snprintf(rep, sizeof(rep), "%s", dir), skip = 3;
        else if (strncmp(src, "{INI}", 5) == 0)
            snprintf(rep, sizeof(rep), "%s/scenario.ini", dir), skip = 5;
        else if (strncmp(src, "{OUT}", 5) == 0)
            snprintf(rep, sizeof(rep), "%s/out.json", dir), skip = 5;
        else if (strncmp(src, "{PORT}", 6) == 0)
            snprintf(rep, sizeof(rep), "%d", port), skip = 6;
        else if (strncmp(src, "{FIFO}", 6) == 0) {
            /* a FIFO nobody writes to or reads from */
            snprintf(rep, sizeof(rep), "%s/fifo", dir), skip = 6;
            if (access(rep, F_OK) != 0)
                cr_assert_eq(mkfifo(rep, 0644), 0, "mkfifo %s: %s", rep, strerror(errno));
        } else if (strncmp(src, "{BIG}", 5) == 0) {
            /* a sparse 17 MiB file: larger than any scenario file may be */
            snprintf(rep, sizeof(rep), "%s/big.ini", dir), skip = 5;
            int fd = open(rep, O_WRONLY | O_CREAT, 0644);
            cr_assert(fd >= 0, "%s: %s", rep, strerror(errno));
            close(fd);
            cr_assert_eq(truncate(rep, 17 << 20), 0, "truncate %s: %s", rep, strerror(errno));
        }
        if (skip) {
            o += (size_t)snprintf(dst + o, n - o, "%s", rep);
            if (o >= n)
                o = n - 1;
            src += skip;
        } else {
            dst[o++] = *src++;
        }
    }
    dst[o] = '\0';
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

ParameterizedTest(size_t *idx, cli_table, rows, .timeout = 30, .fini = cleanup)
{
    cr_assert(*idx < NROWS);
    const row *rw = &rows[*idx];
    server *t = &srv;
    target_start(t);
    char dir[64], ini[4096], out[256], ini_path[256];
    make_tmpdir(dir, sizeof(dir));
    snprintf(ini_path, sizeof(ini_path), "%s/scenario.ini", dir);
    snprintf(out, sizeof(out), "%s/out.json", dir);
    if (rw->ini) {
        subst(ini, sizeof(ini), rw->ini, dir, t->port);
        write_text(ini_path, ini);
    }
    static char bin_copy[300];
    if (rw->how == UNREADABLE || rw->how == AS_NOBODY) {
        if (rw->how == UNREADABLE)
            cr_assert_eq(chmod(ini_path, 0), 0);
        else
            cr_assert_eq(chmod(ini_path, 0644), 0);
        cr_assert_eq(chmod(dir, 0711), 0); /* nobody may reach the file, not list the dir */
        /* The binary may live where nobody cannot reach it (a checkout under /root): run a
         * copy from the temp dir instead. */
        snprintf(bin_copy, sizeof(bin_copy), "%s/blast", dir);
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'", blast_bin(), bin_copy,
                 bin_copy);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
    }

    static char argbuf[16][512];
    const char *argv[24] = {rw->how == UNREADABLE || rw->how == AS_NOBODY ? bin_copy
                                                                          : blast_bin()};
    int argc = 1;
    if (!rw->raw) {
        argv[argc++] = "-c";
        argv[argc++] = ini_path;
        argv[argc++] = "--quiet";
        argv[argc++] = "--out";
        snprintf(argbuf[0], sizeof(argbuf[0]), "json=%s", out);
        argv[argc++] = argbuf[0];
    }
    for (int i = 0; i < 8 && rw->args[i]; i++) {
        subst(argbuf[i + 1], sizeof(argbuf[i + 1]), rw->args[i], dir, t->port);
        argv[argc++] = argbuf[i + 1];
    }
    argv[argc] = NULL;

    long req0 = 0, conn0 = 0, req1 = 0, conn1 = 0;
    cr_assert(target_counts(t->port, &req0, &conn0), "blast-target /admin/stats failed");
    proc_result r;
    proc_run(&r, dir, argv, rw->how, 0, 10);
    bool stats = target_counts(t->port, &req1, &conn1);
    struct stat st;
    bool out_exists = stat(out, &st) == 0;
    off_t out_size = out_exists ? st.st_size : 0;
    server_stop(t);
    remove_tmpdir(dir);

    printf("cli_table %-24s exit %d  %.3fs  %s", rw->name, r.exit_code, r.wall_s,
           r.err[0] ? r.err : "(no stderr)\n");
    fflush(stdout);

    cr_expect_eq(r.exit_code, rw->exit_code, "%s: exit %d, want %d; stderr: %s", rw->name,
                 r.exit_code, rw->exit_code, r.err);
    size_t len = strlen(r.err);
    cr_expect(len > 1 && r.err[len - 1] == '\n' && count_char(r.err, '\n') == 1,
              "%s: stderr is not exactly one line (%d lines):\n%s", rw->name,
              count_char(r.err, '\n'), r.err);
    cr_expect(strncmp(r.err, "blast: ", 7) == 0, "%s: stderr does not start with 'blast: ': %s",
              rw->name, r.err);
    for (int i = 0; i < 2 && rw->want[i]; i++) {
        char want[512];
        subst(want, sizeof(want), rw->want[i], dir, t->port);
        cr_expect_not_null(strstr(r.err, want), "%s: stderr lacks \"%s\":\n%s", rw->name, want,
                           r.err);
    }
    cr_expect_eq(r.out[0], '\0', "%s: stdout is not empty (--quiet): %s", rw->name, r.out);
    if (rw->out_opened)
        cr_expect_eq(out_size, 0, "%s: --out file has %lld bytes, want none written", rw->name,
                     (long long)out_size);
    else
        cr_expect(!out_exists, "%s: --out file exists (%lld bytes), want it never created",
                  rw->name, (long long)out_size);
    cr_expect(stats, "%s: blast-target /admin/stats failed after the run", rw->name);
    /* The second stats request is the one connection the target should have seen. */
    cr_expect(stats && conn1 - conn0 == 1 && req1 == req0,
              "%s: load was sent: target saw %ld connections and %ld requests from blast",
              rw->name, conn1 - conn0 - 1, req1 - req0);
    cr_expect(r.wall_s < 3.0, "%s: took %.2f s, want < 3 s", rw->name, r.wall_s);
}

/* ---- valgrind (memcheck) ---- */

/* Whether the blast binary is built with a sanitizer (make asan): valgrind cannot run those. */
static bool blast_is_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#else
    FILE *f = fopen(blast_bin(), "rb");
    if (!f)
        return false;
    static const char needle[] = "__asan_init";
    char buf[65536 + sizeof(needle)];
    size_t keep = 0, n;
    bool found = false;
    while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, f)) > 0) {
        n += keep;
        found = memmem(buf, n, needle, sizeof(needle) - 1) != NULL;
        keep = n < sizeof(needle) ? n : sizeof(needle) - 1;
        memmove(buf, buf + n - keep, keep);
    }
    fclose(f);
    return found;
#endif
}

static const char *valgrind_bin(void)
{
    const char *v = getenv("VALGRIND");
    if (v && *v)
        return access(v, X_OK) == 0 ? v : NULL;
    static const char *const paths[] = {"/usr/bin/valgrind", "/usr/local/bin/valgrind"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* A line of the log that names a memcheck error kind, or NULL. Leak summary lines count only
 * when they are not zero. */
static const char *memcheck_problem(const char *log)
{
    static const char *const bad[] = {
        "Invalid read",  "Invalid write",   "Invalid free",      "Mismatched free",
        "uninitialised", "Syscall param",   "Source and destination overlap",
        "unhandled syscall", "unhandled ioctl", "Process terminating", "Invalid address",
        "are definitely lost", "are indirectly lost",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *p = strstr(log, bad[i]);
        if (p)
            return p;
    }
    const char *p;
    for (p = strstr(log, "definitely lost: "); p; p = strstr(p + 1, "definitely lost: "))
        if (strncmp(p + 17, "0 bytes", 7) != 0)
            return p;
    for (p = strstr(log, "indirectly lost: "); p; p = strstr(p + 1, "indirectly lost: "))
        if (strncmp(p + 17, "0 bytes", 7) != 0)
            return p;
    return NULL;
}

typedef struct vg_case {
    const char *name;
    const char *ini;    /* {PORT}: blast-target; {REFUSED}: a port nothing listens on */
    const char *extra;  /* one more argument, or NULL */
    int exit_code;
    double sigint_s;    /* > 0: SIGINT that long after the start */
    bool want_json;
} vg_case;

/* What memcheck can and cannot see here. Valgrind 3.19 runs blast's io_uring syscalls without a
 * warning, but the kernel reads and writes memory through the rings (send buffers, the receive
 * buffer ring, sockaddrs), which memcheck does not observe: an SQE pointing at freed or
 * uninitialised memory goes unreported. Heap use by blast's own code, libc, inih and wolfSSL is
 * fully checked. Valgrind also serialises threads and (as far as it shows) holds its lock while a
 * thread waits in io_uring_enter, so with 2 workers one of them starves: send lateness reaches
 * the whole duration and SIGINT is acted on seconds late. Timings under valgrind mean nothing;
 * only the accounting is checked. */

/* Runs one case under memcheck and checks exit code, log and (when want_json) the accounting. */
static void valgrind_case(const char *vg, const vg_case *c, int port)
{
    char dir[64], ini[4096], ini_path[256], out[256], log[256], outarg[300], logarg[300];
    make_tmpdir(dir, sizeof(dir));
    snprintf(ini_path, sizeof(ini_path), "%s/scenario.ini", dir);
    snprintf(out, sizeof(out), "%s/out.json", dir);
    snprintf(log, sizeof(log), "%s/valgrind.log", dir);
    snprintf(outarg, sizeof(outarg), "json=%s", out);
    snprintf(logarg, sizeof(logarg), "--log-file=%s", log);
    char portstr[16], refused[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    snprintf(refused, sizeof(refused), "%d", free_port());
    size_t o = 0;
    for (const char *s = c->ini; *s && o + 8 < sizeof(ini);) {
        if (strncmp(s, "{PORT}", 6) == 0)
            o += (size_t)snprintf(ini + o, sizeof(ini) - o, "%s", portstr), s += 6;
        else if (strncmp(s, "{REFUSED}", 9) == 0)
            o += (size_t)snprintf(ini + o, sizeof(ini) - o, "%s", refused), s += 9;
        else
            ini[o++] = *s++;
    }
    ini[o] = '\0';
    write_text(ini_path, ini);

    const char *argv[] = {vg,       "--error-exitcode=99",
                          "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
                          logarg,   blast_bin(), "-c", ini_path, "--quiet", "--out", outarg,
                          c->extra, NULL};
    proc_result r;
    proc_run(&r, dir, argv, PLAIN, c->sigint_s, 120);
    char vlog[65536];
    read_text(log, vlog, sizeof(vlog));
    json_error_t jerr;
    json_t *j = json_load_file(out, 0, &jerr);
    remove_tmpdir(dir);

    const char *summary = strstr(vlog, "ERROR SUMMARY:");
    printf("valgrind %-22s exit %d  %.2fs  %.60s\n", c->name, r.exit_code, r.wall_s,
           summary ? summary : "(no ERROR SUMMARY)");
    fflush(stdout);
    const char *bad = memcheck_problem(vlog);
    cr_expect_null(bad, "%s: memcheck reports: %.200s\n--- log (start):\n%.6000s", c->name,
                   bad ? bad : "", vlog);
    cr_expect_not_null(strstr(vlog, "ERROR SUMMARY: 0 errors"), "%s: %.80s",
                       c->name, summary ? summary : "no ERROR SUMMARY in the valgrind log");
    cr_expect_eq(r.exit_code, c->exit_code, "%s: exit %d, want %d (99 = memcheck errors)\n%s",
                 c->name, r.exit_code, c->exit_code, r.err);
    if (c->want_json) {
        cr_expect_not_null(j, "%s: no JSON written", c->name);
        json_t *scs = json_object_get(j, "scenarios");
        const char *name;
        json_t *sc;
        json_object_foreach(scs, name, sc)
        {
            json_t *rq = json_object_get(sc, "requests");
            double sched = json_number_value(json_object_get(rq, "scheduled"));
            double sum = json_number_value(json_object_get(rq, "ok")) +
                         json_number_value(json_object_get(rq, "failed")) +
                         json_number_value(json_object_get(rq, "dropped"));
            printf("valgrind %-22s   scenario %s: scheduled %.0f ok %.0f failed %.0f dropped "
                   "%.0f\n",
                   c->name, name, sched, json_number_value(json_object_get(rq, "ok")),
                   json_number_value(json_object_get(rq, "failed")),
                   json_number_value(json_object_get(rq, "dropped")));
            cr_expect(sched > 0 && sched == sum, "%s/%s: scheduled %.0f != %.0f", c->name, name,
                      sched, sum);
        }
    }
    if (j)
        json_decref(j);
}

#define VG_GLOBAL "[global]\nbase_url = http://127.0.0.1:{PORT}\nduration = 1s\nworkers = 2\n"

static const vg_case vg_runs[] = {
    {"arrival_200_per_s", VG_GLOBAL
     "[scenario a]\nexecutor = constant-arrival-rate\nrate = 200/s\nmax_connections = 20\n",
     NULL, 0, 0, true},
    {"vus_reconnecting", VG_GLOBAL
     "[scenario v]\nexecutor = constant-vus\nvus = 4\npath = /close\n"
     "[scenario w]\nexecutor = constant-arrival-rate\nrate = 100/s\npath = /status/503\n"
     "method = POST\nbody = {\"k\":1}\nheader = Content-Type: application/json\n",
     NULL, 0, 0, true},
    {"connection_refused", "[global]\nbase_url = http://127.0.0.1:{REFUSED}\nduration = 1s\n"
     "workers = 2\nconnect_timeout = 200ms\n"
     "[scenario a]\nexecutor = constant-arrival-rate\nrate = 100/s\n",
     NULL, 4, 0, true},
    /* one worker: under valgrind a second one starves (see the note above valgrind_case) and
     * SIGINT is acted on late, which only makes the test slow */
    {"interrupted", "[global]\nbase_url = http://127.0.0.1:{PORT}\nduration = 20s\n"
     "workers = 1\ngraceful_stop = 1s\n"
     "[scenario a]\nexecutor = constant-arrival-rate\nrate = 200/s\npath = /delay/50\n",
     NULL, 130, 2.5, true},
    {"config_error", VG_GLOBAL "[scenario a]\nexecutor = constant-vus\nvus = 2\nbogus = 1\n",
     NULL, 2, 0, false},
    {"unresolvable_host", "[global]\nbase_url = http://blast-test.invalid\nduration = 1s\n"
     "[scenario a]\nexecutor = constant-vus\nvus = 2\n",
     NULL, 3, 0, false},
    {"out_unwritable", VG_GLOBAL "[scenario a]\nexecutor = constant-vus\nvus = 2\n",
     "--out=json=/nonexistent/x.json", 3, 0, false},
};

Test(valgrind, memcheck_http, .timeout = 300, .fini = cleanup)
{
    const char *vg = valgrind_bin();
    if (!vg)
        cr_skip_test("valgrind is not installed (apt-get install valgrind; or set VALGRIND)");
    if (blast_is_sanitized())
        cr_skip_test("blast is built with ASan (make asan): valgrind cannot run it");
    target_start(&srv);
    for (size_t i = 0; i < sizeof(vg_runs) / sizeof(vg_runs[0]); i++)
        valgrind_case(vg, &vg_runs[i], srv.port);
    server_stop(&srv);
}

/* HTTPS against nginx that closes every 20th response: handshakes (ECDSA certificate verified
 * against ca_file), records and teardown under memcheck. */
Test(valgrind, memcheck_tls, .timeout = 300, .fini = cleanup)
{
    const char *vg = valgrind_bin();
    if (!vg)
        cr_skip_test("valgrind is not installed (apt-get install valgrind; or set VALGRIND)");
    if (blast_is_sanitized())
        cr_skip_test("blast is built with ASan (make asan): valgrind cannot run it");
    if (system("command -v openssl >/dev/null 2>&1") != 0)
        cr_skip_test("openssl is not installed");
    char dir[64], cmd[1024];
    make_tmpdir(dir, sizeof(dir));
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout srv.key -out srv.pem -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
             dir);
    cr_assert_eq(system(cmd), 0, "openssl failed: %s", cmd);
    char extra[512];
    snprintf(extra, sizeof(extra), "ssl_certificate %s/srv.pem; ssl_certificate_key %s/srv.key;",
             dir, dir);
    if (!nginx_start_with(&srv, extra, "20", true)) {
        remove_tmpdir(dir);
        cr_skip_test("nginx is not installed");
    }
    char ini[1024];
    snprintf(ini, sizeof(ini),
             "[global]\nbase_url = https://127.0.0.1:{PORT}\nserver_name = localhost\nduration = 1s\n"
             "workers = 2\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 200/s\n"
             "max_connections = 20\nca_file = %s/srv.pem\n",
             dir);
    const vg_case c = {"tls_reconnecting", ini, NULL, 0, 0, true};
    valgrind_case(vg, &c, srv.port);
    server_stop(&srv);
    remove_tmpdir(dir);
}
