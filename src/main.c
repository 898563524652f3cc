/* main: the command line. Parses options, loads the plan, runs the workers, prints the progress
 * line and the reports, and turns the outcome into the exit code. Nothing else lives here. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "plan.h"
#include "report.h"
#include "tls.h"
#include "version.h"
#include "worker.h"

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 2, /* bad command line or scenario file */
    EXIT_SETUP = 3, /* could not start: unresolvable host, io_uring, output file, threads */
    EXIT_NO_OK = 4, /* the run completed but not one request succeeded */
    EXIT_THRESHOLDS = 99,
    EXIT_INTERRUPTED = 130,
};

#define MAX_ENV 256
#define MAX_OUT 8

static worker_shared shared;

static void on_signal(int sig)
{
    (void)sig;
    /* First Ctrl-C: stop starting requests and let those in flight finish (graceful_stop).
     * Second: stop now. */
    atomic_fetch_add(&shared.stop, 1);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: blast -c FILE [options]\n"
            "\n"
            "Offers the load a scenario file describes and reports honest latency.\n"
            "\n"
            "  -c, --config FILE      scenario file (INI), required\n"
            "  -e, --env NAME=VALUE   set ${NAME} for the scenario file (repeatable; wins over\n"
            "                         the environment)\n"
            "  -d, --duration DUR     override every scenario's duration (30s, 1m30s, 500ms)\n"
            "  -r, --rate RATE        override every arrival-rate scenario's rate (1000/s, 60/m)\n"
            "  -u, --vus N            override every constant-vus scenario's VUs\n"
            "  -w, --workers N        worker threads (default: the [global] setting, else one per\n"
            "                         online CPU)\n"
            "  -o, --out FORMAT=FILE  also write results as FORMAT to FILE ('-' = stdout);\n"
            "                         formats: json (repeatable)\n"
            "  -q, --quiet            no progress line and no text summary\n"
            "  -h, --help             this help\n"
            "  -V, --version          print the version\n"
            "\n"
            "exit codes: 0 run completed; 2 bad command line or scenario file; 3 could not\n"
            "start (host, io_uring, output file); 4 no request succeeded; 130 interrupted\n");
}

/* An output is written to PATH.tmp and renamed over PATH when complete, so that a run that
 * fails to start, or dies, never leaves a truncated file where an earlier result was. */
typedef struct out_spec {
    const char *format;
    const char *path;
    char tmp[4096];
    FILE *f;
} out_spec;

/* Frees what a run holds (workers joined or never started; any pointer may be NULL). */
static void run_free(worker **ws, unsigned nw, report_scenario *rs, metrics_rec *merged,
                     plan *p)
{
    for (unsigned i = 0; ws && i < nw; i++)
        worker_free(ws[i]);
    for (size_t i = 0; merged && p && i < p->nscenarios; i++)
        metrics_rec_free(&merged[i]);
    free(ws);
    free(rs);
    free(merged);
    plan_free(p);
    tls_global_cleanup();
}

static void outs_discard(out_spec *outs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (outs[i].f && outs[i].f != stdout) {
            fclose(outs[i].f);
            unlink(outs[i].tmp);
            outs[i].f = NULL;
        }
}

static void progress(const report_run *run, worker **ws, unsigned nw, uint64_t t0, bool final)
{
    uint64_t now = clock_ns();
    double el = now > t0 ? (double)(now - t0) / 1e9 : 0;
    fprintf(stderr, "\r[%6.1fs]", el);
    for (size_t i = 0; i < run->nsc; i++) {
        metrics_counts tot = {0}, c;
        for (unsigned w = 0; w < nw; w++) {
            metrics_read_live(worker_metrics(ws[w], i), &c);
            tot.scheduled += c.scheduled;
            tot.ok += c.ok;
            tot.failed += c.failed;
            tot.dropped += c.dropped;
        }
        fprintf(stderr, " %s: %llu ok %llu failed %llu dropped", run->sc[i].s->name,
                (unsigned long long)tot.ok, (unsigned long long)tot.failed,
                (unsigned long long)tot.dropped);
    }
    fprintf(stderr, "\033[K%s", final ? "\n" : "");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"env", required_argument, 0, 'e'},
        {"duration", required_argument, 0, 'd'},
        {"rate", required_argument, 0, 'r'},
        {"vus", required_argument, 0, 'u'},
        {"workers", required_argument, 0, 'w'},
        {"out", required_argument, 0, 'o'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    const char *file = NULL;
    const char *env[MAX_ENV];
    out_spec outs[MAX_OUT];
    size_t nout = 0;
    config_overrides ov = {.env = env};
    bool quiet = false;
    int ch;
    char *end;

    opterr = 0; /* our own one-line messages instead of getopt's */
    while ((ch = getopt_long(argc, argv, ":c:e:d:r:u:w:o:qhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            file = optarg;
            break;
        case 'e':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "blast: -e %s: expected NAME=VALUE\n", optarg);
                return EXIT_USAGE;
            }
            if (ov.nenv == MAX_ENV) {
                fprintf(stderr, "blast: too many -e options (at most %d)\n", MAX_ENV);
                return EXIT_USAGE;
            }
            env[ov.nenv++] = optarg;
            break;
        case 'd':
            if (config_parse_duration(optarg, &ov.duration_ns) < 0 || ov.duration_ns == 0) {
                fprintf(stderr,
                        "blast: --duration %s: expected a positive duration such as "
                        "30s, 1m30s or 500ms\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'r':
            if (config_parse_rate(optarg, &ov.rate) < 0) {
                fprintf(stderr,
                        "blast: --rate %s: expected a positive rate such as 1000/s, "
                        "60/m or 5000/30s\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'u': {
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || *end || optarg[0] == '-' || v == 0 || v > 1000000) {
                fprintf(stderr, "blast: --vus %s: expected a whole number from 1 to 1000000\n",
                        optarg);
                return EXIT_USAGE;
            }
            ov.vus = (uint32_t)v;
            break;
        }
        case 'w': {
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || *end || optarg[0] == '-' || v == 0 || v > 256) {
                fprintf(stderr, "blast: --workers %s: expected a whole number from 1 to 256\n",
                        optarg);
                return EXIT_USAGE;
            }
            ov.workers = (unsigned)v;
            break;
        }
        case 'o': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1]) {
                fprintf(stderr, "blast: --out %s: expected FORMAT=FILE, e.g. json=run.json\n",
                        optarg);
                return EXIT_USAGE;
            }
            *eq = '\0';
            if (strcmp(optarg, "json") != 0) {
                fprintf(stderr, "blast: --out %s: unknown format (allowed: json)\n", optarg);
                return EXIT_USAGE;
            }
            if (nout == MAX_OUT) {
                fprintf(stderr, "blast: too many --out options (at most %d)\n", MAX_OUT);
                return EXIT_USAGE;
            }
            outs[nout++] = (out_spec){.format = optarg, .path = eq + 1};
            break;
        }
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("blast %s\n", BLAST_VERSION);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "blast: option '%s' needs a value (see blast --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "blast: unknown option '%s' (see blast --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "blast: unexpected argument '%s' (options only; see blast --help)\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    if (!file) {
        fprintf(stderr, "blast: no scenario file (give -c FILE; see blast --help)\n");
        return EXIT_USAGE;
    }

    char err[512];
    plan *p = NULL;
    int rc = config_load(file, &ov, &p, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "blast: %s\n", err);
        return EXIT_USAGE;
    }
    if (plan_prepare(p, err, sizeof(err)) < 0) {
        fprintf(stderr, "blast: %s\n", err);
        plan_free(p);
        return EXIT_SETUP;
    }
    /* Open the outputs before any load is sent: a typo in a path must not waste a run. */
    for (size_t i = 0; i < nout; i++) {
        if (strcmp(outs[i].path, "-") == 0) {
            outs[i].f = stdout;
            continue;
        }
        snprintf(outs[i].tmp, sizeof(outs[i].tmp), "%s.tmp", outs[i].path);
        outs[i].f = fopen(outs[i].tmp, "w");
        if (!outs[i].f) {
            outs_discard(outs, i);
            fprintf(stderr, "blast: --out %s=%s: cannot open: %s\n", outs[i].format, outs[i].path,
                    strerror(errno));
            plan_free(p);
            return EXIT_SETUP;
        }
    }

    if (tls_global_init() < 0) {
        fprintf(stderr, "blast: wolfSSL failed to initialise\n");
        plan_free(p);
        outs_discard(outs, nout);
        return EXIT_SETUP;
    }
    unsigned nw = p->workers;
    shared.plan = p;
    shared.nworkers = nw;
    pthread_barrier_init(&shared.ready, NULL, nw + 1);
    pthread_barrier_init(&shared.go, NULL, nw + 1);
    worker **ws = calloc(nw, sizeof(*ws));
    report_scenario *rs = calloc(p->nscenarios, sizeof(*rs));
    metrics_rec *merged = calloc(p->nscenarios, sizeof(*merged));
    if (!ws || !rs || !merged) {
        fprintf(stderr, "blast: out of memory\n");
        outs_discard(outs, nout);
        run_free(ws, 0, rs, NULL, p);
        free(merged);
        return EXIT_SETUP;
    }
    for (unsigned i = 0; i < nw; i++) {
        if (worker_create(&ws[i], &shared, i) < 0) {
            fprintf(stderr, "blast: out of memory setting up worker %u\n", i);
            outs_discard(outs, nout);
            run_free(ws, nw, rs, merged, p);
            return EXIT_SETUP;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    for (unsigned i = 0; i < nw; i++) {
        if ((rc = worker_start(ws[i])) < 0) {
            fprintf(stderr, "blast: cannot start worker thread: %s\n", strerror(-rc));
            outs_discard(outs, nout);
            return EXIT_SETUP; /* threads already started are blocked at a barrier; exit ends them
                                */
        }
    }
    pthread_barrier_wait(&shared.ready);
    /* Every worker has its connections; the schedules start together, a little in the future
     * so that no worker starts late. */
    uint64_t t0 = clock_ns() + NS_PER_MS;
    atomic_store(&shared.t0, t0);
    pthread_barrier_wait(&shared.go);

    bool live = !quiet && isatty(STDERR_FILENO);
    report_run run = {.plan = p, .workers = nw, .sc = rs, .nsc = p->nscenarios};
    for (size_t i = 0; i < p->nscenarios; i++)
        rs[i].s = &p->scenarios[i];
    uint64_t next_progress = t0 + NS_PER_S;
    while (atomic_load(&shared.finished) < nw) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (live && !atomic_load(&shared.setup_failed) && clock_ns() >= next_progress) {
            progress(&run, ws, nw, t0, false);
            next_progress += NS_PER_S;
        }
    }
    uint64_t t_end = clock_ns();
    if (live && !atomic_load(&shared.setup_failed))
        progress(&run, ws, nw, t0, true);

    int setup_err = 0;
    for (unsigned i = 0; i < nw; i++) {
        /* Workers fail setup for the same reason: say it once. */
        if (worker_join(ws[i]) < 0 && !setup_err++)
            fprintf(stderr, "blast: %s\n", worker_error(ws[i]));
    }
    if (setup_err) {
        outs_discard(outs, nout);
        run_free(ws, nw, rs, merged, p);
        return EXIT_SETUP;
    }

    uint64_t scheduled = 0, ok = 0;
    for (size_t i = 0; i < p->nscenarios; i++) {
        /* Merged into worker 0's recorder: a fresh one would make every page the others use
         * resident a second time. */
        metrics_rec *m = worker_metrics(ws[0], i);
        uint64_t window = worker_window_ns(ws[0], i);
        for (unsigned w = 1; w < nw; w++) {
            metrics_merge(m, worker_metrics(ws[w], i));
            if (worker_window_ns(ws[w], i) > window)
                window = worker_window_ns(ws[w], i);
        }
        rs[i].m = m;
        rs[i].window_s = (double)window / 1e9;
        scheduled += m->c.scheduled;
        ok += m->c.ok;
    }
    int stops = atomic_load(&shared.stop);
    run.interrupted = stops > 0;
    run.duration_s = (double)(t_end - t0) / 1e9;
    if (!quiet)
        report_text(stdout, &run);
    int status = EXIT_OK;
    for (size_t i = 0; i < nout; i++) {
        bool bad = report_json(outs[i].f, &run) < 0;
        if (outs[i].f != stdout) {
            bad |= fclose(outs[i].f) != 0;
            bad = bad || rename(outs[i].tmp, outs[i].path) != 0;
            if (bad)
                unlink(outs[i].tmp);
            outs[i].f = NULL;
        }
        if (bad) {
            fprintf(stderr, "blast: --out %s=%s: write failed\n", outs[i].format, outs[i].path);
            status = EXIT_SETUP;
        }
    }
    fflush(stdout);
    run_free(ws, nw, rs, merged, p);
    pthread_barrier_destroy(&shared.ready);
    pthread_barrier_destroy(&shared.go);
    if (status != EXIT_OK)
        return status;
    if (run.interrupted)
        return EXIT_INTERRUPTED;
    if (scheduled > 0 && ok == 0) {
        fprintf(stderr, "blast: no request succeeded\n");
        return EXIT_NO_OK;
    }
    return EXIT_OK;
}
