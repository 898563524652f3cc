/* main: the command line. Parses options, loads and prepares the plan, opens the outputs, hands
 * the run to run.c, writes the reports and turns the outcome into the exit code. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ceiling.h"
#include "compare.h"
#include "config.h"
#include "value.h"
#include "files.h"
#include "gates.h"
#include "merge.h"
#include "outputs.h"
#include "plan.h"
#include "preflight.h"
#include "redact.h"
#include "report.h"
#include "run.h"
#include "segment.h"
#include "tls.h"
#include "version.h"

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 2,     /* bad command line or scenario file */
    EXIT_SETUP = 3,     /* could not start: unresolvable host, io_uring, output file, threads */
    EXIT_NO_OK = 4,     /* the run completed but not one request succeeded */
    EXIT_OUTPUT = 5,    /* the run completed but an output could not be written */
    EXIT_PREFLIGHT = 6, /* the [preflight] request failed: no load was sent */
    EXIT_THRESHOLDS = 99,
    EXIT_INTERRUPTED = 130,
};

#define MAX_ENV 256
#define MAX_OUT OUTPUTS_MAX /* --out options */

/* Until outputs are opened nothing needs cleaning up: a signal then ends blast at once. */
static volatile sig_atomic_t early = 1;

static void on_signal(int sig)
{
    (void)sig;
    if (early) {
        static const char msg[] = "blast: interrupted during setup; nothing was sent\n";
        ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)n;
        _exit(130);
    }
    /* First Ctrl-C: stop starting requests and let those in flight finish (graceful_stop).
     * Second: stop now. Either wakes every worker wherever it waits. */
    run_stop();
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: blast -c FILE [options]\n"
            "       blast compare BASE.json [BASE.json...] NEW.json [--max-regress LIST]\n"
            "                                 (see blast compare --help)\n"
            "       blast merge SEG.json... -c FILE [-o total.json] [--out KIND=FILE]...\n"
            "                                 (the segments' results as one run; exit 0 / 99)\n"
            "\n"
            "Offers the load a scenario file describes and reports honest latency.\n"
            "\n"
            "  -c, --config FILE      scenario file (INI), required\n"
            "  -e, --env NAME=VALUE   set ${NAME} for the scenario file (repeatable; wins over\n"
            "                         the environment)\n"
            "  -d, --duration DUR     override every scenario's duration or max_duration (30s,\n"
            "                         1m30s, 500ms); not for ramps, whose stages set it\n"
            "  -r, --rate RATE        override every arrival-rate scenario's rate (1000/s, 60/m)\n"
            "  -u, --vus N            override the VUs of every constant-vus, per-vu-iterations\n"
            "                         and shared-iterations scenario\n"
            "  -s, --stage-scale F    multiply every stage, duration, max_duration and\n"
            "                         start_time by F (0.05: a 20-minute ramp in 1 minute)\n"
            "  -p, --profile NAME     lay the file's [profile NAME] over its scenarios (wins\n"
            "                         over [global] profile)\n"
            "  -w, --workers N        worker threads (default: the [global] setting, else one per\n"
            "                         online CPU)\n"
            "  -o, --out FORMAT=FILE  also write results as FORMAT to FILE ('-' = stdout);\n"
            "                         formats: json, junit, k6-summary, markdown, csv,\n"
            "                         ndjson, html, hdrlog, prometheus, prometheus-rw\n"
            "                         (repeatable)\n"
            "      --segment I/N      run the I-th of N exact shares of every scenario (1-based;\n"
            "                         auto/N: I = $JOB_COMPLETION_INDEX + 1, Kubernetes)\n"
            "      --start-at TIME    start the schedules at TIME (Unix seconds or RFC 3339,\n"
            "                         at most an hour away), e.g. the same for every segment\n"
            "  -q, --quiet            no progress display and no text summary\n"
            "      --progress MODE    auto (default: tty on a terminal, else plain), tty (lines\n"
            "                         redrawn in place every second), plain (a line per\n"
            "                         scenario every 10 s, no escape codes) or off\n"
            "  -h, --help             this help\n"
            "  -V, --version          print the version\n"
            "\n"
            "exit codes: 0 run completed; 2 bad command line or scenario file (also a host\n"
            "that [global] allow_hosts does not allow); 3 could not start (host, io_uring,\n"
            "output file); 4 no request succeeded; 5 an output could not be written;\n"
            "6 the [preflight] request failed (no load was sent); 130 interrupted;\n"
            "compare: 0 no regression, 2 bad usage or file, 99 a regression\n");
}

/* Every line for stderr once the file is read: it may quote what the file holds (hosts, URLs,
 * step names), and the secrets among that must not show. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redact_vsay("blast", fmt, ap);
    va_end(ap);
}

/* The [preflight] request: EXIT_OK when the load may start, else the exit code (its reason
 * printed). Runs after the outputs are open, so a Ctrl-C meanwhile is only noted (run_stop):
 * the request is abandoned within 100 ms and the outputs are discarded. */
static int preflight(const plan *p, bool quiet)
{
    char err[1024];
    int code;
    uint64_t took;
    int rc = preflight_run(p->preflight, run_stops, &code, &took, err, sizeof err);
    if (rc < 0) {
        say("%s", err);
        return rc == -EINTR ? EXIT_INTERRUPTED : EXIT_PREFLIGHT;
    }
    if (!quiet)
        say("preflight %s %s: status %d in %.1f ms", p->preflight->method, p->preflight->url, code,
            (double)took / 1e6);
    return EXIT_OK;
}


int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "compare") == 0)
        return compare_main(argc - 1, argv + 1);
    /* blast merge takes the options that shape the plan, as the segments were given them */
    bool merging = argc > 1 && strcmp(argv[1], "merge") == 0;
    if (merging) {
        argc--;
        argv++;
    }
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"env", required_argument, 0, 'e'},
        {"duration", required_argument, 0, 'd'},
        {"rate", required_argument, 0, 'r'},
        {"vus", required_argument, 0, 'u'},
        {"workers", required_argument, 0, 'w'},
        {"stage-scale", required_argument, 0, 's'},
        {"profile", required_argument, 0, 'p'},
        {"out", required_argument, 0, 'o'},
        {"quiet", no_argument, 0, 'q'},
        {"progress", required_argument, 0, 'P'},
        {"segment", required_argument, 0, 'S'},
        {"start-at", required_argument, 0, 'A'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    const char *file = NULL;
    const char *env[MAX_ENV];
    const char *okind[MAX_OUT], *odest[MAX_OUT]; /* the --out options */
    size_t nout = 0;
    config_overrides ov = {.env = env};
    bool quiet = false;
    const char *progress = "auto";
    int64_t start_at = 0;
    int ch;
    char *end;

    opterr = 0; /* our own one-line messages instead of getopt's */
    while ((ch = getopt_long(argc, argv, ":c:e:d:r:u:w:s:p:o:qhV", opts, NULL)) != -1) {
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
            if (value_duration(optarg, &ov.duration_ns) < 0 || ov.duration_ns == 0) {
                fprintf(stderr,
                        "blast: --duration %s: expected a positive duration such as "
                        "30s, 1m30s or 500ms\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'r': {
            int rrc = value_rate(optarg, &ov.rate);
            if (rrc < 0) {
                fprintf(stderr,
                        rrc == -ERANGE
                            ? "blast: --rate %s: more than one scenario may ask for (at most "
                              "%.0f/s)\n"
                            : "blast: --rate %s: expected a rate > 0 and at most %.0f/s, such as "
                              "1000/s, 60/m or 5000/30s\n",
                        optarg, VALUE_MAX_RATE);
                return EXIT_USAGE;
            }
            break;
        }
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
        case 'p':
            ov.profile = optarg;
            break;
        case 's': {
            errno = 0;
            double f = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(f > 0) || f > 1000) {
                fprintf(stderr,
                        "blast: --stage-scale %s: expected a factor above 0 and at most 1000, "
                        "such as 0.1 (ten times shorter) or 2\n",
                        optarg);
                return EXIT_USAGE;
            }
            ov.stage_scale = f;
            break;
        }
        case 'o': {
            char *eq = strchr(optarg, '=');
            if (merging && !eq && optarg[0]) { /* blast merge ... -o total.json */
                if (nout == MAX_OUT) {
                    fprintf(stderr, "blast: too many --out options (at most %d)\n", MAX_OUT);
                    return EXIT_USAGE;
                }
                okind[nout] = "json";
                odest[nout++] = optarg;
                break;
            }
            if (!eq || eq == optarg || !eq[1]) {
                fprintf(stderr, "blast: --out %s: expected FORMAT=FILE, e.g. json=run.json\n",
                        optarg);
                return EXIT_USAGE;
            }
            *eq = '\0';
            if (!outputs_kind_known(optarg)) {
                fprintf(stderr, "blast: --out %s: unknown format (allowed: %s)\n", optarg,
                        outputs_kind_names());
                return EXIT_USAGE;
            }
            if (nout == MAX_OUT) {
                fprintf(stderr, "blast: too many --out options (at most %d)\n", MAX_OUT);
                return EXIT_USAGE;
            }
            okind[nout] = optarg;
            odest[nout++] = eq + 1;
            break;
        }
        case 'S': {
            char why[256];
            if (segment_parse(optarg, getenv("JOB_COMPLETION_INDEX"), &ov.segment, &ov.segments,
                              why, sizeof why) < 0) {
                fprintf(stderr, "blast: %s\n", why);
                return EXIT_USAGE;
            }
            break;
        }
        case 'A': {
            char why[256];
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            if (segment_start_at(optarg, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, &start_at,
                                 why, sizeof why) < 0) {
                fprintf(stderr, "blast: %s\n", why);
                return EXIT_USAGE;
            }
            break;
        }
        case 'q':
            quiet = true;
            break;
        case 'P':
            if (strcmp(optarg, "auto") && strcmp(optarg, "tty") && strcmp(optarg, "plain") &&
                strcmp(optarg, "off")) {
                fprintf(stderr, "blast: --progress %s: unknown mode (allowed: auto, tty, plain, "
                                "off)\n",
                        optarg);
                return EXIT_USAGE;
            }
            progress = optarg;
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
    if (merging) {
        if (ov.segments || start_at) {
            fprintf(stderr, "blast merge: --segment and --start-at are for the segments' runs\n");
            return EXIT_USAGE;
        }
        merge_args ma = {.files = (const char *const *)argv + optind,
                         .nfiles = (size_t)(argc - optind),
                         .config = file,
                         .ov = &ov,
                         .okind = okind,
                         .odest = odest,
                         .nout = nout,
                         .quiet = quiet};
        return merge_run(&ma);
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

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[4096];
    plan *p = NULL;
    int rc = config_load(file, &ov, &p, err, sizeof(err));
    if (rc < 0) {
        say("%s", err);
        return EXIT_USAGE;
    }
    if (plan_prepare(p, err, sizeof(err)) < 0) {
        say("%s", err);
        plan_free(p);
        return EXIT_SETUP;
    }
    /* The --out options, then the [global] out lines. */
    outputs *outs = outputs_new();
    for (size_t i = 0; outs && i < nout; i++)
        rc = outputs_add(outs, okind[i], odest[i]);
    for (size_t i = 0; outs && rc == 0 && i < p->nouts; i++) {
        char *eq = strchr(p->outs[i], '=');
        *eq = '\0';
        rc = outputs_add(outs, p->outs[i], eq + 1);
    }
    if (!outs || rc < 0) {
        say(outs ? "too many outputs (at most %d --out options and out lines)" : "out of memory",
            OUTPUTS_MAX);
        outputs_free(outs);
        plan_free(p);
        return EXIT_USAGE;
    }
    /* Check and open the outputs before any load is sent: a typo in a path must not waste a
     * run, and nothing before this point needs cleaning up after a Ctrl-C. */
    if (outputs_open(outs, p, err, sizeof(err)) < 0) {
        say("--out %s", err);
        outputs_free(outs);
        plan_free(p);
        return EXIT_SETUP;
    }
    early = 0;

    run *r = NULL;
    int status = EXIT_OK;
    if (tls_global_init() < 0) {
        say("wolfSSL failed to initialise");
        status = EXIT_SETUP;
    } else if (p->preflight) {
        status = preflight(p, quiet);
    }
    /* --quiet wins over --progress. BLAST_PROGRESS_EVERY (seconds) sets the plain interval:
     * for the tests, not documented as a user setting. */
    progress_mode pm = quiet || !strcmp(progress, "off") ? PROGRESS_OFF
                       : !strcmp(progress, "tty")        ? PROGRESS_TTY
                       : !strcmp(progress, "plain")      ? PROGRESS_PLAIN
                       : isatty(STDERR_FILENO)           ? PROGRESS_TTY
                                                         : PROGRESS_PLAIN;
    const char *every = getenv("BLAST_PROGRESS_EVERY");
    gates *g = NULL;
    ceiling_run *ceil = NULL;
    if (status == EXIT_OK && (gates_new(&g, p) < 0 || ceiling_run_new(&ceil, p, g) < 0)) {
        say("out of memory");
        status = EXIT_SETUP;
    }
    /* each step's verdict as a line of its own: plain progress only (a terminal's redrawn lines
     * show the step and the bracket instead) */
    ceiling_run_set_verbose(ceil, pm == PROGRESS_PLAIN);
    if (status == EXIT_OK && (rc = run_create(&r, p, err, sizeof(err))) == 0) {
        run_set_progress(r, pm, every ? strtod(every, NULL) : 0);
        if (start_at)
            run_set_start_at(r, start_at);
        /* a ceiling search's tick runs the live gates first */
        if (ceil)
            rc = run_set_tick(r, ceiling_run_tick, ceil, gates_window_s(g));
        else if (gates_live(g))
            rc = run_set_tick(r, gates_tick, g, gates_window_s(g));
        ceiling_run_begin(ceil);
        if (rc == 0 && outputs_series(outs))
            rc = run_set_series(r, series_set_interval, outputs_series(outs));
        if (rc == 0)
            rc = run_start(r, err, sizeof(err));
    }
    if (status == EXIT_OK && rc < 0) {
        say("%s", err);
        status = rc == -EINTR ? EXIT_INTERRUPTED : EXIT_SETUP;
    }
    if (status != EXIT_OK) {
        outputs_free(outs);
        run_free(r);
        ceiling_run_free(ceil);
        gates_free(g);
        plan_free(p);
        tls_global_cleanup();
        return status;
    }
    run_wait(r);
    report_run judged = *run_report(r);
    const report_run *rep = &judged;
    verdict v;
    if (verdict_build(&v, rep) < 0)
        say("out of memory judging the run: thresholds not evaluated");
    else
        judged.verdict = &v;
    gates_apply(g, &v);
    ceiling_apply(ceil, &v);
    judged.ceiling = ceiling_run_result(ceil);
    bool failed_gate = verdict_failed(judged.verdict);
    uint64_t scheduled = 0, ok = 0;
    for (size_t i = 0; i < rep->nsc; i++) {
        scheduled += rep->sc[i].m->c.scheduled;
        ok += rep->sc[i].m->c.ok;
    }
    if (!quiet)
        report_text(stdout, rep);
    if (judged.ceiling && judged.ceiling->nsteps && judged.ceiling->below_min) {
        char ans[600];
        ceiling_answer(ans, sizeof ans, judged.ceiling);
        say("%s", ans);
    }
    if (outputs_finish(outs, rep, say) < 0)
        status = EXIT_OUTPUT;
    outputs_free(outs);
    fflush(stdout);
    bool interrupted = rep->interrupted;
    verdict_free(&v);
    run_free(r);
    ceiling_run_free(ceil);
    gates_free(g);
    plan_free(p);
    tls_global_cleanup();
    if (status != EXIT_OK)
        return status;
    if (interrupted)
        return EXIT_INTERRUPTED;
    if (failed_gate)
        return EXIT_THRESHOLDS;
    if (scheduled > 0 && ok == 0) {
        say("no request succeeded");
        return EXIT_NO_OK;
    }
    return EXIT_OK;
}
