/* harness: what the integration tests share. Starts the bundled target server and nginx on
 * 127.0.0.1 (ephemeral or free ports), runs the blast binary as a real process with a scenario
 * file, reads its JSON result, and always stops what it started, by pid. */
#ifndef BLAST_TEST_HARNESS_H
#define BLAST_TEST_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef struct server {
    pid_t pid;
    int port;
    char dir[64]; /* its temp dir */
} server;

/* Starts build/blast-target (TARGET_BIN) on an ephemeral loopback port. Aborts the test on
 * failure. */
void target_start(server *s);

/* Starts Debian nginx (1 worker) with its own config on a free loopback port, serving "ok\n" on
 * every path. Returns false (after cr_skip-worthy logging) if nginx is not installed. */
bool nginx_start(server *s);

/* Starts the helper program $TOOLS_DIR/blast-NAME (default build/blast-NAME) with --port 0
 * --port-file FILE --quiet and then args (NULL-terminated, may be NULL), and waits for its port
 * file. Aborts the test on failure. Stop it with server_stop. */
void tool_start(server *s, const char *name, const char *const *args);

/* nginx_start with extra directives inside server { } (e.g. TLS settings), a keepalive_requests
 * value, and `listen ... ssl` when ssl is true. */
bool nginx_start_with(server *s, const char *server_extra, const char *keepalive_requests,
                      bool ssl);

/* Stops a server started by target_start / nginx_start (SIGTERM, then SIGKILL) and removes its
 * temp dir. */
void server_stop(server *s);

/* Sends one GET to 127.0.0.1:port and returns the status (or -1). */
int http_get(int port, const char *path);

/* A port nothing listens on (bound once, then closed). */
int free_port(void);

/* CLOCK_MONOTONIC in seconds; sleeps s seconds. */
double now_s(void);
void sleep_s(double s);

/* The blast binary under test: $BLAST_BIN, else ./blast. */
const char *blast_bin(void);

/* A one-scenario constant-arrival-rate file (scenario "s") against 127.0.0.1:port; more is
 * appended to the scenario (may be NULL). Returns a static buffer. */
const char *arrival_ini(int port, const char *path, const char *rate, const char *dur,
                        int max_conns, const char *more);

/* Writes a temp file of mib MiB of 'b' (a request body for `body = @FILE`) and puts its path in
 * path (at least 32 bytes). Aborts the test on failure; the caller unlinks it. */
void body_file(char *path, unsigned mib);

typedef struct blast_run {
    int exit_code; /* exit status, or 128 + signal */
    json_t *json;  /* parsed --out json document, NULL if none */
    char stderr_text[4096];
    double wall_s;
} blast_run;

/* Writes ini to a temp file and runs BLAST_BIN -c FILE --quiet --out json=... plus extra args
 * (NULL-terminated, may be NULL). If sigint_after_s > 0, sends SIGINT that long after the start.
 * Waits at most timeout_s, then kills it (the test then fails). */
void blast_exec(blast_run *r, const char *ini, const char *const *extra, double sigint_after_s,
                double timeout_s);

/* When pause_for_s > 0, the next blast_exec stops blast (SIGSTOP) at pause_at_s after its start
 * and resumes it pause_for_s later: a worker that wakes late. Reset by blast_exec. */
extern double harness_pause_at_s, harness_pause_for_s;

/* When set, the next blast_exec calls harness_tick(seconds since the start, harness_tick_ctx)
 * every ~10 ms while blast runs (to sample the server meanwhile). Reset by blast_exec. */
extern void (*harness_tick)(double elapsed_s, void *ctx);
extern void *harness_tick_ctx;

/* blast_exec with the malloc-counting preload (so: tests/preload/malloc_count.so): returns how
 * many allocations the process made (its result stays in *r). Aborts the test when the count
 * is missing. */
long blast_exec_counting(blast_run *r, const char *ini, const char *so, double timeout_s);

/* The bundled target's /admin/stats, parsed (the caller frees it), and one integer of it
 * (aborts the test when missing). The stats request is a connection and a request itself. */
json_t *target_stats(int port);
double target_stat(json_t *stats, const char *key);

/* Frees what blast_exec returned. */
void blast_run_free(blast_run *r);

/* scenarios.NAME.<a>.<b> as a number (aborts the test if missing). */
double jnum(const blast_run *r, const char *scenario, const char *a, const char *b);

/* Asserts scheduled == ok + failed + dropped and failed == sum of failures.* for a scenario. */
void assert_accounted(const blast_run *r, const char *scenario);

/* ---- running a program as a raw process ---- */

/* How the child is set up before exec. */
typedef enum how {
    PLAIN,
    UNREADABLE,  /* the scenario file is mode 000; as root, blast runs as nobody */
    NO_IO_URING, /* seccomp makes io_uring_setup fail with ENOSYS (kernel without io_uring) */
    FD_LIMIT,    /* RLIMIT_NOFILE 64 */
    AS_NOBODY,   /* as root, blast runs as nobody (the scenario file stays readable) */
} how;

typedef struct proc_result {
    int exit_code; /* exit status, or 128 + signal */
    char err[8192];
    char out[65536]; /* room for a whole JSON document (its histograms included) */
    double wall_s;
    struct rusage ru; /* the child's: ru_maxrss is its peak RSS in KiB */
} proc_result;

/* Runs argv (argv[0] is the program) with stdout and stderr captured in dir (r->out, r->err);
 * sends SIGINT sigint_after_s after the start when > 0; waits at most timeout_s (then kills it
 * and fails the test). */
void proc_run(proc_result *r, const char *dir, const char *const *argv, how h,
              double sigint_after_s, double timeout_s);

/* Reads a text file into buf (at most n - 1 bytes, NUL-terminated; "" when unreadable). */
void read_text(const char *path, char *buf, size_t n);

#endif
