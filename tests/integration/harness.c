/* harness: process and server plumbing for the integration tests (see harness.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static void make_dir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/blast-it.XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static void rm_dir(const char *dir)
{
    char cmd[128];
    if (dir[0] && strncmp(dir, "/tmp/blast-it.", 14) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", dir);
    }
}

static bool can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* Starts bin --port 0 --port-file FILE --quiet args... and waits for its port file. */
static void spawn_server(server *s, const char *bin, const char *const *args)
{
    memset(s, 0, sizeof(*s));
    make_dir(s->dir, sizeof(s->dir));
    char portfile[128];
    snprintf(portfile, sizeof(portfile), "%s/port", s->dir);
    const char *argv[32] = {bin, "--port", "0", "--port-file", portfile, "--quiet"};
    int argc = 6;
    for (; args && *args && argc < 31; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &s->port);
            fclose(f);
            if (ok == 1 && s->port > 0)
                return;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            server_stop(s);
            cr_assert_fail("%s exited at start (status %d)", bin, st);
        }
        sleep_s(0.025);
    }
    server_stop(s);
    cr_assert_fail("%s did not start", bin);
}

void target_start(server *s)
{
    spawn_server(s, env_or("TARGET_BIN", "build/blast-target"), NULL);
}

void tool_start(server *s, const char *name, const char *const *args)
{
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/blast-%s", env_or("TOOLS_DIR", "build"), name);
    spawn_server(s, bin, args);
}

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

bool nginx_start(server *s)
{
    return nginx_start_with(s, "", "1000000", false);
}

bool nginx_start_with(server *s, const char *server_extra, const char *keepalive_requests, bool ssl)
{
    memset(s, 0, sizeof(*s));
    const char *bin = env_or("NGINX_BIN", "/usr/sbin/nginx");
    if (access(bin, X_OK) != 0)
        return false;
    make_dir(s->dir, sizeof(s->dir));
    s->port = free_port();
    char conf[160];
    snprintf(conf, sizeof(conf), "%s/nginx.conf", s->dir);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "daemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
            "events { worker_connections 4096; }\n"
            "http {\n  access_log off;\n  keepalive_requests %s;\n"
            "  keepalive_timeout 300s;\n  client_body_temp_path %s;\n  proxy_temp_path %s;\n"
            "  fastcgi_temp_path %s;\n  uwsgi_temp_path %s;\n  scgi_temp_path %s;\n"
            "  server {\n    listen 127.0.0.1:%d%s;\n    %s\n"
            "    location / { return 200 \"ok\\n\"; }\n  }\n}\n",
            s->dir, s->dir, keepalive_requests, s->dir, s->dir, s->dir, s->dir, s->dir, s->port,
            ssl ? " ssl" : "", server_extra);
    fclose(f);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(bin, bin, "-c", conf, "-p", s->dir, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 200; i++) {
        if (can_connect(s->port))
            return true;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            cr_assert_fail("nginx exited at start (see %s/error.log)", s->dir);
        }
        sleep_s(0.025);
    }
    server_stop(s);
    cr_assert_fail("nginx did not start listening on %d", s->port);
    return false;
}

void server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int st;
        for (int i = 0; i < 100; i++) {
            if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
                s->pid = 0;
                break;
            }
            sleep_s(0.02);
        }
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            s->pid = 0;
        }
    }
    rm_dir(s->dir);
    s->dir[0] = '\0';
}

int http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    char req[256], resp[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\n\r\n",
                     path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    ssize_t got = read(fd, resp, sizeof(resp) - 1);
    close(fd);
    int status = -1;
    if (got > 12) {
        resp[got] = '\0';
        sscanf(resp, "HTTP/1.%*d %d", &status);
    }
    return status;
}

void (*harness_tick)(double, void *);
void *harness_tick_ctx;
double harness_pause_at_s, harness_pause_for_s;

void blast_exec(blast_run *r, const char *ini, const char *const *extra, double sigint_after_s,
                double timeout_s)
{
    memset(r, 0, sizeof(*r));
    char dir[64], path[128], out[128], errf[128], outarg[160];
    make_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/scenario.ini", dir);
    snprintf(out, sizeof(out), "%s/out.json", dir);
    snprintf(errf, sizeof(errf), "%s/stderr", dir);
    snprintf(outarg, sizeof(outarg), "json=%s", out);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(ini, f);
    fclose(f);

    const char *bin = blast_bin();
    const char *argv[64] = {bin, "-c", path, "--quiet", "--out", outarg};
    int argc = 6;
    for (; extra && *extra && argc < 62; extra++)
        argv[argc++] = *extra;
    argv[argc] = NULL;

    double t0 = now_s();
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    bool sent_int = false;
    int paused = 0; /* 0 not yet, 1 stopped, 2 resumed */
    double pause_at = harness_pause_at_s, pause_for = harness_pause_for_s;
    harness_pause_at_s = harness_pause_for_s = 0;
    void (*tick)(double, void *) = harness_tick;
    void *tick_ctx = harness_tick_ctx;
    harness_tick = NULL;
    harness_tick_ctx = NULL;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        double el = now_s() - t0;
        if (pause_for > 0 && paused == 0 && el >= pause_at) {
            kill(pid, SIGSTOP);
            paused = 1;
        } else if (paused == 1 && el >= pause_at + pause_for) {
            kill(pid, SIGCONT);
            paused = 2;
        }
        if (tick)
            tick(el, tick_ctx);
        if (sigint_after_s > 0 && !sent_int && el >= sigint_after_s) {
            kill(pid, SIGINT);
            sent_int = true;
        }
        if (el > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            rm_dir(dir);
            cr_assert_fail("blast did not finish within %.0f s", timeout_s);
        }
        sleep_s(paused == 0 && pause_for > 0 ? 0.002 : 0.01);
    }
    r->wall_s = now_s() - t0;
    r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    f = fopen(errf, "r");
    if (f) {
        size_t n = fread(r->stderr_text, 1, sizeof(r->stderr_text) - 1, f);
        r->stderr_text[n] = '\0';
        fclose(f);
    }
    json_error_t jerr;
    r->json = json_load_file(out, 0, &jerr);
    rm_dir(dir);
}

const char *blast_bin(void)
{
    return env_or("BLAST_BIN", "./blast");
}

const char *arrival_ini(int port, const char *path, const char *rate, const char *dur,
                        int max_conns, const char *more)
{
    static char ini[4096];
    snprintf(ini, sizeof(ini),
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = %s\n\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = %s\n"
             "max_connections = %d\npath = %s\n%s",
             port, dur, rate, max_conns, path, more ? more : "");
    return ini;
}

void body_file(char *path, unsigned mib)
{
    strcpy(path, "/tmp/blast-it-body.XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    static char chunk[1 << 16];
    memset(chunk, 'b', sizeof(chunk));
    for (unsigned i = 0; i < mib * 16; i++)
        cr_assert_eq(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
    close(fd);
}

void blast_run_free(blast_run *r)
{
    if (r->json)
        json_decref(r->json);
    r->json = NULL;
}

double jnum(const blast_run *r, const char *scenario, const char *a, const char *b)
{
    cr_assert_not_null(r->json, "no JSON output (exit %d): %s", r->exit_code, r->stderr_text);
    json_t *v = json_object_get(json_object_get(r->json, "scenarios"), scenario);
    cr_assert_not_null(v, "no scenario %s in the JSON", scenario);
    v = json_object_get(v, a);
    if (b)
        v = json_object_get(v, b);
    cr_assert(json_is_number(v), "scenarios.%s.%s%s%s is not a number", scenario, a, b ? "." : "",
              b ? b : "");
    return json_number_value(v);
}

void assert_accounted(const blast_run *r, const char *scenario)
{
    static const char *classes[] = {"connect", "timeout", "reset", "tls",
                                    "parse",   "status",  "check"};
    double sched = jnum(r, scenario, "requests", "scheduled");
    double ok = jnum(r, scenario, "requests", "ok");
    double failed = jnum(r, scenario, "requests", "failed");
    double dropped = jnum(r, scenario, "requests", "dropped");
    double sum = 0;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        sum += jnum(r, scenario, "failures", classes[i]);
    cr_assert_eq(sched, ok + failed + dropped,
                 "%s: scheduled %.0f != ok %.0f + failed %.0f + dropped %.0f", scenario, sched, ok,
                 failed, dropped);
    cr_assert_eq(failed, sum, "%s: failed %.0f != sum of failure classes %.0f", scenario, failed,
                 sum);
}

void read_text(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
}

/* Makes io_uring_setup fail with ENOSYS in this process and what it execs. */
static int deny_io_uring(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof(f) / sizeof(f[0])), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Runs argv (argv[0] is the program) with stdout and stderr captured in dir; sends SIGINT
 * sigint_after_s after the start when > 0; waits at most timeout_s (then kills it and fails the
 * test). */
void proc_run(proc_result *r, const char *dir, const char *const *argv, how h,
              double sigint_after_s, double timeout_s)
{
    memset(r, 0, sizeof(*r));
    char errf[256], outf[256];
    snprintf(errf, sizeof(errf), "%s/.stderr", dir);
    snprintf(outf, sizeof(outf), "%s/.stdout", dir);
    double t0 = now_s();
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int o = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (e < 0 || o < 0 || dup2(e, 2) < 0 || dup2(o, 1) < 0)
            _exit(126);
        close(e);
        close(o);
        unsetenv("BLAST_TEST_UNSET_VAR");
        if ((h == UNREADABLE || h == AS_NOBODY) && geteuid() == 0) {
            /* root reads mode-000 files: drop to nobody so the permission check is real */
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
                _exit(125);
        } else if (h == NO_IO_URING) {
            if (deny_io_uring() != 0)
                _exit(124);
        } else if (h == FD_LIMIT) {
            struct rlimit rl = {64, 64};
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(123);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    bool sent_int = false;
    for (;;) {
        if (wait4(pid, &st, WNOHANG, &r->ru) == pid)
            break;
        if (sigint_after_s > 0 && !sent_int && now_s() - t0 >= sigint_after_s) {
            kill(pid, SIGINT);
            sent_int = true;
        }
        if (now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            cr_assert_fail("%s did not finish within %.0f s", argv[0], timeout_s);
        }
        sleep_s(0.005);
    }
    r->wall_s = now_s() - t0;
    r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    read_text(errf, r->err, sizeof(r->err));
    read_text(outf, r->out, sizeof(r->out));
    unlink(errf);
    unlink(outf);
}

long blast_exec_counting(blast_run *r, const char *ini, const char *so, double timeout_s)
{
    char countfile[] = "/tmp/blast-it-malloc.XXXXXX";
    int fd = mkstemp(countfile);
    cr_assert(fd >= 0);
    close(fd);
    setenv("LD_PRELOAD", so, 1);
    setenv("MALLOC_COUNT_FILE", countfile, 1);
    blast_exec(r, ini, NULL, 0, timeout_s);
    unsetenv("LD_PRELOAD");
    unsetenv("MALLOC_COUNT_FILE");
    long n = -1;
    FILE *f = fopen(countfile, "r");
    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%ld", &n), 1, "no count written");
    fclose(f);
    unlink(countfile);
    return n;
}

/* /admin/stats of the target, parsed. */
json_t *target_stats(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char req[] = "GET /admin/stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char buf[8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    const char *body = strstr(buf, "\r\n\r\n");
    cr_assert_not_null(body, "no stats: %s", buf);
    json_error_t e;
    json_t *j = json_loads(body + 4, 0, &e);
    cr_assert_not_null(j, "stats are not JSON: %s", body + 4);
    return j;
}

double target_stat(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    cr_assert(json_is_integer(v), "stats lack %s", k);
    return (double)json_integer_value(v);
}
