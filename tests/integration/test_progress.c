/* The live progress display of the blast binary: plain lines when stderr is not a terminal
 * (CI logs; BLAST_PROGRESS_EVERY, test-only, shortens their 10 s interval), none with --quiet or
 * --progress off, and on a terminal (script(1) gives blast a pty) lines redrawn in place with
 * cursor-up and clear-line, left showing the final state above the summary. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static server srv;
static char dir[64];

static void up(void)
{
    target_start(&srv);
    snprintf(dir, sizeof dir, "/tmp/blast-progress.XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static void down(void)
{
    server_stop(&srv);
    char cmd[128];
    if (strncmp(dir, "/tmp/blast-progress.", 20) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
}

/* Two scenarios (an arrival-rate "open_rate" at 200/s, a closed "closed_vus") for dur. */
static const char *write_ini(const char *dur)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/two.ini", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "[global]\nbase_url = http://127.0.0.1:%d\nduration = %s\nworkers = 2\n"
            "[scenario open_rate]\nexecutor = constant-arrival-rate\nrate = 200/s\n"
            "max_vus = 20\n"
            "[scenario closed_vus]\nexecutor = constant-vus\nvus = 2\npath = /delay/10\n",
            srv.port, dur);
    fclose(f);
    return path;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

Test(progress, plain_lines_without_a_terminal, .init = up, .fini = down)
{
    setenv("BLAST_PROGRESS_EVERY", "1", 1);
    const char *argv[] = {blast_bin(), "-c", write_ini("3500ms"), NULL};
    proc_result r;
    proc_run(&r, dir, argv, PLAIN, 0, 20);
    unsetenv("BLAST_PROGRESS_EVERY");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_expect_null(strchr(r.err, '\033'), "no escape byte in plain mode:\n%s", r.err);
    cr_expect_null(strchr(r.err, '\r'), "no carriage return in plain mode");
    int lines_open = count(r.err, "blast: open_rate "), lines_closed = count(r.err, "blast: closed_vus");
    cr_expect(lines_open >= 2 && lines_open <= 4, "%d lines:\n%s", lines_open, r.err);
    cr_expect_eq(lines_open, lines_closed, "one line per scenario each time:\n%s", r.err);
    /* the open scenario's rate of the last second, once it is steady (its second line) */
    const char *l = strstr(r.err, "blast: open_rate ");
    cr_assert_not_null(l);
    l = strstr(l + 1, "blast: open_rate ");
    cr_assert_not_null(l, "%s", r.err);
    const char *rs = strstr(l, " req/s"); /* "2s/4s  200.0 req/s" */
    cr_assert_not_null(rs);
    while (rs > l && rs[-1] != ' ')
        rs--;
    double rate = strtod(rs, NULL);
    cr_expect(rate > 150 && rate < 250, "rate %.1f in: %.200s", rate, l);
    cr_expect(strstr(l, "(target 200.0)"), "%.200s", l);
    cr_expect(strstr(l, "p99 "), "%.200s", l);
    cr_expect(strstr(l, "failed 0 (0.00%)"), "%.200s", l);
    cr_expect(strstr(l, "conns "), "%.200s", l);
    cr_expect(strstr(l, "queued "), "%.200s", l);
    const char *c = strstr(r.err, "blast: closed_vus");
    cr_assert_not_null(c);
    cr_expect(strstr(c, "(2 VUs)"), "closed model: its VUs: %.200s", c);
    /* the summary still goes to stdout */
    cr_expect(strstr(r.out, "scenario open_rate"), "%s", r.out);
}

Test(progress, none_with_quiet_or_off_or_before_ten_seconds, .init = up, .fini = down)
{
    setenv("BLAST_PROGRESS_EVERY", "1", 1);
    const char *quiet[] = {blast_bin(), "-c", write_ini("2500ms"), "--quiet", NULL};
    const char *off[] = {blast_bin(), "-c", write_ini("2500ms"), "--progress", "off", NULL};
    proc_result r;
    proc_run(&r, dir, quiet, PLAIN, 0, 20);
    cr_expect_eq(r.exit_code, 0, "%s", r.err);
    cr_expect_null(strstr(r.err, "req/s"), "--quiet: %s", r.err);
    cr_expect_eq(r.out[0], '\0', "--quiet: no summary either");
    proc_run(&r, dir, off, PLAIN, 0, 20);
    cr_expect_eq(r.exit_code, 0, "%s", r.err);
    cr_expect_null(strstr(r.err, "req/s"), "--progress off: %s", r.err);
    cr_expect(strstr(r.out, "scenario open_rate"), "--progress off keeps the summary");
    /* plain mode's own interval is 10 s: a 2.5 s run prints no line */
    unsetenv("BLAST_PROGRESS_EVERY");
    const char *plain[] = {blast_bin(), "-c", write_ini("2500ms"), NULL};
    proc_run(&r, dir, plain, PLAIN, 0, 20);
    cr_expect_eq(r.exit_code, 0, "%s", r.err);
    cr_expect_null(strstr(r.err, "req/s"), "plain, under 10 s: %s", r.err);
    const char *bad[] = {blast_bin(), "-c", write_ini("1s"), "--progress", "fancy", NULL};
    proc_run(&r, dir, bad, PLAIN, 0, 20);
    cr_expect_eq(r.exit_code, 2);
    cr_expect(strstr(r.err, "--progress fancy: unknown mode"), "%s", r.err);
}

/* Whether a pseudo-terminal can be made and opened, as script(1) needs. */
static bool pty_works(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0)
        return false;
    bool ok = grantpt(m) == 0 && unlockpt(m) == 0;
    const char *name = ok ? ptsname(m) : NULL;
    int sfd = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    if (sfd >= 0)
        close(sfd);
    close(m);
    return sfd >= 0;
}

Test(progress, terminal_lines_redrawn_in_place, .init = up, .fini = down)
{
    if (access("/usr/bin/script", X_OK) != 0)
        cr_skip_test("script(1) (bsdutils) is not installed");
    if (!pty_works())
        cr_skip_test("no pseudo-terminal can be opened here (devpts not mounted, as in a bare "
                     "chroot)");
    char cmd[512], ts[128];
    snprintf(cmd, sizeof cmd, "%s -c %s", blast_bin(), write_ini("3s"));
    snprintf(ts, sizeof ts, "%s/typescript", dir);
    const char *argv[] = {"/usr/bin/script", "-qfec", cmd, ts, NULL};
    proc_result r;
    proc_run(&r, dir, argv, PLAIN, 0, 20);
    cr_assert_eq(r.exit_code, 0, "%s%s", r.err, r.out);
    static char out[65536];
    read_text(ts, out, sizeof out);
    /* first draw: two lines below the cursor; then each redraw goes up two lines first */
    cr_expect_geq(count(out, "\033[2A"), 2, "%s", out);
    cr_expect_geq(count(out, "\r\033[Kopen_rate  ["), 3, "%s", out);
    cr_expect_geq(count(out, "\r\033[Kclosed_vus ["), 3, "%s", out);
    cr_expect(strstr(out, "(target 200.0)"), "%s", out);
    /* the last draw is the final state (a full bar) and the summary comes after it */
    const char *last = NULL;
    for (const char *p = out; (p = strstr(p, "\033[2A")); p++)
        last = p;
    cr_assert_not_null(last);
    const char *full = strstr(last, "[####################] 3s/3s");
    cr_expect_not_null(full, "final state: %s", last);
    const char *summary = strstr(out, "scenario open_rate (");
    cr_expect(summary && summary > last, "the summary comes after the progress lines");
}
