/* rusage: run a command, then write "user_s sys_s maxrss_kib vol_csw invol_csw wall_s" of it to
 * a file.
 *
 * What /usr/bin/time -f '%U %S %M' reports (wait4's rusage of the child and its descendants),
 * but with microsecond resolution instead of centiseconds: at 20k req/s for 10 s a client spends
 * a few hundredths of a second of user time, which /usr/bin/time rounds by up to 25%. The
 * context-switch counts show what pacing costs: a client that sleeps until each request is due
 * pays one wake-up per sleep. wall_s is the child's lifetime (CLOCK_MONOTONIC, fork to reap), so
 * (user + sys) / wall is the share of one core it used. Written in C, not Python, because the
 * child's max RSS includes what it held between fork and exec: a Python parent would add ~10 MiB
 * to every client's figure. bench/lib.sh builds it with cc.
 *
 * If the environment has RUSAGE_PIDFILE, the child's pid is written there (for sampling
 * /proc/PID/status while it runs); the variable is removed from the child's environment.
 *
 * usage: rusage OUTFILE CMD [ARG]...   exits with CMD's status, 128 + signal if it was killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child;

/* Termination requests go on to the child; its rusage is still reported. */
static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage OUTFILE CMD [ARG]...\n");
        return 2;
    }
    const char *pidfile = getenv("RUSAGE_PIDFILE");
    char pidfile_copy[4096] = "";
    if (pidfile) {
        snprintf(pidfile_copy, sizeof(pidfile_copy), "%s", pidfile);
        unsetenv("RUSAGE_PIDFILE");
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage: fork");
        return 127;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    child = pid;
    if (pidfile_copy[0]) {
        FILE *pf = fopen(pidfile_copy, "w");
        if (!pf || fprintf(pf, "%ld\n", (long)pid) < 0 || fclose(pf) != 0)
            perror("rusage: pid file");
    }
    struct sigaction sa = {.sa_handler = forward};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("rusage: wait4");
            return 127;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%ld.%06ld %ld.%06ld %ld %ld %ld %.6f\n", (long)ru.ru_utime.tv_sec,
                      (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
                      (long)ru.ru_stime.tv_usec, ru.ru_maxrss, ru.ru_nvcsw, ru.ru_nivcsw,
                      wall) < 0 ||
        fclose(f) != 0) {
        perror("rusage: write");
        return 127;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
