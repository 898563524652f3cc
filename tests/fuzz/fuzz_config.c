/* fuzz_config: libFuzzer target for the scenario-file reader (config_load in src/config.c: our
 * line reader, inih, ${NAME} substitution, every key's value parser, URL parsing, @file bodies)
 * and for what it promises about the plan it returns.
 *
 * The input is the INI file. It is written to t-PID.ini in /tmp/blast-fuzz-config-UID (kept
 * from run to run), which also holds b.txt so that "body = @b.txt" reads a real file.
 * Inputs of odd length are loaded with command-line overrides (-e, --duration, --rate, --vus,
 * --workers), even ones without.
 *
 * Sandbox: "body = @FILE" reads any file, and /dev/zero or a FIFO would only measure the
 * machine, so an input with a line that holds '@' followed later by '/' is skipped (relative
 * names stay inside the directory, which holds only small files); and the environment is
 * replaced by a few fixed variables at start, so ${NAME} cannot bring in a path either.
 *
 * Checked: 0 comes with a plan and -errno with a one-line, NUL-terminated message and no plan;
 * an accepted plan has workers >= 1, at least one scenario, each with a step whose request
 * http1_req_compile accepts (else blast would fail at start instead of naming the line), a
 * positive finite rate for arrival-rate scenarios, VUs for VU scenarios; plan_share_of splits
 * VUs and connections into parts that add up; a [preflight]'s request compiles. No leaks
 * (LeakSanitizer). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "data.h"
#include "flow.h"
#include "request.h"
#include "http1.h"
#include "plan.h"
#include "preflight.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], ini_path[96], body_path[96];

static void cleanup(void)
{
    unlink(ini_path);
}

static void fail(const char *what, const char *err)
{
    fprintf(stderr, "config fuzz invariant broken: %s%s%s\n", what, err ? ": " : "",
            err ? err : "");
    abort();
}

static void write_all(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    const char *p = data;
    while (size) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            perror(path);
            abort();
        }
        p += n;
        size -= (size_t)n;
    }
    close(fd);
}

/* One directory per user, reused: a crash (or -minimize_crash, which crashes on purpose many
 * times) skips atexit, so a directory per process would pile up. Files of processes that are
 * gone are removed here instead. */
static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/blast-fuzz-config-%u", (unsigned)getuid());
    struct stat st;
    if (mkdir(dir, 0700) != 0 && (errno != EEXIST || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
                                  st.st_uid != getuid())) {
        fprintf(stderr, "fuzz_config: cannot use %s as a private directory\n", dir);
        abort();
    }
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            unsigned pid;
            char path[sizeof dir + 300];
            if (sscanf(e->d_name, "t-%u.ini", &pid) == 1 && kill((pid_t)pid, 0) != 0 &&
                errno == ESRCH) {
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        }
        closedir(d);
    }
    snprintf(ini_path, sizeof ini_path, "%s/t-%u.ini", dir, (unsigned)getpid());
    snprintf(body_path, sizeof body_path, "%s/b.txt", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    make_dir();
    write_all(body_path, "{\"k\":\"v\"}\n", 10);
    atexit(cleanup);
    /* The variables the files in config/ use, and nothing that names a file. */
    clearenv();
    setenv("BASE_URL", "http://127.0.0.1:8080", 1);
    setenv("DURATION", "1s", 1);
    setenv("RATE", "100/s", 1);
    setenv("TOKEN", "t0k3n", 1);
    setenv("EMPTY", "", 1);
    return 0;
}

/* True when some line has '@' with a '/' after it (a body that could name any file), or a data
 * file named with a '/'. */
static bool names_a_path(const uint8_t *data, size_t size)
{
    bool at = false;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n')
            at = false;
        else if (data[i] == '@' || (i + 4 <= size && memcmp(data + i, "data", 4) == 0))
            at = true; /* "data" also names data_order, which needs no file: harmless */
        else if (data[i] == '/' && at)
            return true;
    }
    return false;
}

/* A templated step's program builds for a VU that has no values yet: into exactly the
 * capacity it asks for (ASan catches a byte past it), with one of the documented answers. */
static void check_build(const plan_scenario *s, const plan_step *st)
{
    if (!st->prog)
        fail("a templated step without a request program", st->name);
    size_t cap = req_prog_cap(st->prog);
    char *buf = malloc(cap ? cap : 1);
    tpl_str vars[256] = {{0}}, cols[DATA_MAX_COLS];
    size_t ncols = s->data ? s->data->ncols : 0;
    for (size_t c = 0; c < ncols; c++)
        cols[c] = (tpl_str){s->data->cells[c], s->data->lens[c]};
    if (s->nvars > 256) {
        free(buf);
        return;
    }
    vars[0] = (tpl_str){"0", 1}; /* repeat */
    uint64_t rng = 1;
    tpl_env env = {.vu = 1, .iter = 0, .seq = 0, .rng = &rng, .vars = vars, .cols = cols};
    http1_req out;
    size_t missing;
    const char *why;
    int rc = req_build(st->prog, &env, "a=1", 3, buf, cap, &out, &missing, &why);
    if (rc != 0 && rc != -ENOENT && rc != -EDOM && rc != -EINVAL)
        fail("req_build gave an undocumented answer", strerror(-rc));
    if (rc == 0 && (out.len > cap || out.bytes != buf))
        fail("req_build wrote past its capacity", st->name);
    free(buf);
}

/* A flow program ends, names only the scenario's steps, and keeps its repeat stack in bounds. */
static void check_flow(const plan_scenario *s, const plan_op *ops, size_t nops)
{
    if (!ops || nops < 1 || ops[nops - 1].kind != PLAN_OP_END)
        fail("a flow program that does not end in END", s->name);
    flow_cursor c;
    flow_start(&c);
    uint64_t rng = 3;
    for (int i = 0; i < 20000; i++) {
        flow_action a = flow_next(ops, &c, &rng);
        if (c.pc >= nops || c.depth > FLOW_MAX_DEPTH)
            fail("a flow ran outside its program", s->name);
        if (a.kind == FLOW_DONE)
            return;
        if (a.kind == FLOW_SEND && a.step >= s->nsteps)
            fail("a flow sent a step the scenario does not have", s->name);
    }
}

static void check_plan(const plan *p)
{
    if (p->workers < 1)
        fail("plan with no workers", NULL);
    if (p->nscenarios < 1 || !p->scenarios)
        fail("plan with no scenarios", NULL);
    for (size_t i = 0; i < p->nscenarios; i++) {
        const plan_scenario *s = &p->scenarios[i];
        if (!s->name || !s->host || !s->host_header || s->nsteps < 1 || !s->steps)
            fail("scenario without name, host or step", s->name);
        if (PLAN_IS_ARRIVAL(s->executor) && !(s->rate > 0 && isfinite(s->rate)))
            fail("arrival-rate scenario without a positive finite rate", s->name);
        if (!PLAN_IS_ARRIVAL(s->executor) && s->vus < 1)
            fail("VU scenario without VUs", s->name);
        if (s->duration_ns == 0)
            fail("scenario that lasts 0 s", s->name);
        /* stages: contiguous, and the integral never goes back */
        for (size_t j = 0; j < s->nstages; j++) {
            const plan_stage *st = &s->stages[j];
            if (j && (st->start_ns != s->stages[j - 1].start_ns + s->stages[j - 1].dur_ns ||
                      st->from != s->stages[j - 1].to || st->before < s->stages[j - 1].before))
                fail("stages out of order", s->name);
            if (!(st->to >= 0) || !isfinite(st->to))
                fail("a stage with a negative or infinite target", s->name);
        }
        if (s->executor == PLAN_RAMPING_ARRIVAL_RATE) {
            size_t cur = 0;
            uint64_t prev = 0;
            for (int x = 0; x < 64; x++) {
                uint64_t d = plan_ramp_due_ns(s, (long double)x * 7.5L, &cur);
                if (d == UINT64_MAX)
                    break;
                if (d < prev || d > s->duration_ns)
                    fail("ramp due times out of order or past the stages", s->name);
                prev = d;
            }
        }
        if (s->executor == PLAN_RAMPING_VUS) {
            uint64_t t = 0;
            for (int k = 0; k < 64 && t != UINT64_MAX; k++) {
                uint64_t nx = plan_vus_next_change(s, t);
                if (nx <= t || plan_vus_at(s, t) > s->vus)
                    fail("ramping-vus change times out of order or above the peak", s->name);
                t = nx;
            }
        }
        for (size_t j = 0; j < s->nsteps; j++) {
            const plan_step *st = &s->steps[j];
            if (!st->method || !st->target || st->target[0] != '/')
                fail("step without method or origin-form target", s->name);
            if (!st->body != !st->body_len)
                fail("body and body_len disagree", s->name);
            if (!st->literal) {
                check_build(s, st);
                continue;
            }
            http1_req_spec spec = plan_step_spec(s, st);
            http1_req req;
            int rc = http1_req_compile(&req, &spec);
            if (rc) {
                fprintf(stderr, "scenario %s: method '%s' target '%s' host '%s', %zu header(s):\n",
                        s->name, st->method, st->target, s->host_header, st->nheaders);
                for (size_t h = 0; h < st->nheaders; h++)
                    fprintf(stderr, "  '%s'\n", st->headers[h]);
                fail("config accepted a request http1_req_compile rejects", strerror(-rc));
            }
            http1_req_free(&req);
        }
        check_flow(s, s->ops, s->nops);
        if (s->setup)
            check_flow(s, s->setup, s->nsetup);
        /* Shares over the plan's worker count add up to the scenario's totals. */
        uint32_t n = p->workers, vus = 0, maxc = 0;
        for (uint32_t w = 0; w < n; w++) {
            plan_share sh;
            plan_share_of(s, w, n, &sh);
            vus += sh.vus;
            maxc += sh.max_connections;
            if (sh.pre_connections > sh.max_connections)
                fail("a share with more pre_connections than max_connections", s->name);
        }
        if (vus != s->vus)
            fail("VU shares do not add up", s->name);
        if (PLAN_IS_ARRIVAL(s->executor) && s->max_connections &&
            maxc != s->max_connections)
            fail("connection shares do not add up", s->name);
    }
    /* A [preflight] that config accepts can be sent: its request compiles. */
    const plan_preflight *pf = p->preflight;
    if (pf) {
        if (!pf->method || !pf->url || !pf->host || !pf->host_header || !pf->target ||
            pf->target[0] != '/' || !pf->expect_text || !pf->timeout_ns)
            fail("preflight without method, url, host, target, statuses or timeout", NULL);
        http1_req_spec spec = {.method = pf->method,
                               .target = pf->target,
                               .host = pf->host_header,
                               .headers = (const char *const *)pf->headers,
                               .nheaders = pf->nheaders};
        http1_req req;
        int rc = http1_req_compile(&req, &spec);
        if (rc)
            fail("config accepted a preflight http1_req_compile rejects", strerror(-rc));
        http1_req_free(&req);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (names_a_path(data, size))
        return -1;
    write_all(ini_path, data, size);

    static const char *const env[] = {"BASE_URL=http://[::1]:9/api", "B=@b.txt", "E=", "RATE=5/s"};
    static const config_overrides ov = {
        .env = env,
        .nenv = sizeof env / sizeof env[0],
        .duration_ns = 2000000000,
        .rate = 50,
        .vus = 3,
        .workers = 2,
    };
    plan *p = (plan *)1;
    char err[512];
    memset(err, 'x', sizeof err);
    int rc = config_load(ini_path, size & 1 ? &ov : NULL, &p, err, sizeof err);
    if (!memchr(err, '\0', sizeof err))
        fail("error message not NUL-terminated", NULL);
    if (rc == 0) {
        if (!p)
            fail("0 without a plan", NULL);
        check_plan(p);
        plan_free(p);
    } else {
        if (rc > 0 || rc < -4095)
            fail("neither 0 nor -errno", NULL);
        if (p)
            fail("a plan with an error", err);
        if (!err[0])
            fail("an error without a message", NULL);
        if (strchr(err, '\n'))
            fail("a message of more than one line", err);
    }
    return 0;
}
