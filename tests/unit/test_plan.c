/* Unit tests for plan: the per-worker split (shares add up to the scenario), the uniform schedule
 * (workers interleave into exactly j / rate, no drift at k = 1e9, checked with exact integer
 * math), Poisson gaps (mean and spread over 1e6 draws, no overflow), and plan_prepare (address
 * resolution and request compilation on a plan loaded from a file). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "plan.h"

__extension__ typedef unsigned __int128 u128;

static plan_share share(double rate_total, uint32_t w, uint32_t n)
{
    plan_scenario s = {.executor = PLAN_CONSTANT_ARRIVAL_RATE,
                       .rate = rate_total,
                       .max_connections = 100,
                       .pre_connections = 10,
                       .max_queue = 1000};
    plan_share sh;
    plan_share_of(&s, w, n, &sh);
    return sh;
}

/* round(j * 1e9 / rate) for an integer rate, half up, in exact integer arithmetic */
static uint64_t exact_due(uint64_t j, uint64_t rate)
{
    u128 num = (u128)j * 1000000000u * 2 + rate;
    return (uint64_t)(num / ((u128)rate * 2));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

Test(plan, shares_sum_to_totals)
{
    static const struct {
        uint32_t vus, maxc, pre, maxq;
    } rows[] = {
        {7, 5, 3, 11}, {1, 1, 1, 1}, {1000001, 999999, 10, 100000}, {13, 100, 0, 3}, {0, 2, 2, 1},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        for (uint32_t n = 1; n <= 9; n++) {
            plan_scenario a = {.executor = PLAN_CONSTANT_ARRIVAL_RATE,
                               .rate = 167,
                               .max_connections = rows[r].maxc,
                               .pre_connections = rows[r].pre,
                               .max_queue = rows[r].maxq};
            plan_scenario v = {.executor = PLAN_CONSTANT_VUS, .vus = rows[r].vus};
            uint64_t vus = 0, maxc = 0, pre = 0, maxq = 0;
            double rate = 0;
            for (uint32_t w = 0; w < n; w++) {
                plan_share sa, sv;
                plan_share_of(&a, w, n, &sa);
                plan_share_of(&v, w, n, &sv);
                cr_expect_eq(sa.worker, w);
                /* max_connections is a total: only min(n, max_connections) workers take part */
                uint32_t m = rows[r].maxc < n ? rows[r].maxc : n;
                if (w < m) {
                    cr_expect_eq(sa.nworkers, m, "row %zu n %u w %u", r, n, w);
                    cr_expect_geq(sa.max_connections, 1, "row %zu n %u w %u", r, n, w);
                    cr_expect_geq(sa.max_queue, 1);
                    cr_expect_leq(sa.pre_connections, sa.max_connections);
                } else {
                    cr_expect_eq(sa.rate, 0, "row %zu n %u w %u", r, n, w);
                    cr_expect_eq(sa.max_connections, 0);
                    cr_expect_eq(sa.pre_connections, 0);
                    cr_expect_eq(sa.max_queue, 0);
                }
                /* the first x % n workers get one more */
                cr_expect_eq(sv.vus, rows[r].vus / n + (w < rows[r].vus % n), "row %zu n %u w %u",
                             r, n, w);
                cr_expect_eq(sv.max_connections, 0);
                rate += sa.rate;
                vus += sv.vus;
                maxc += sa.max_connections;
                pre += sa.pre_connections;
                maxq += sa.max_queue;
            }
            cr_expect_eq(vus, rows[r].vus, "row %zu n %u", r, n);
            cr_expect(fabs(rate - 167) < 1e-9, "row %zu n %u: %.17g", r, n, rate);
            uint32_t m = rows[r].maxc < n ? rows[r].maxc : n;
            /* connections: exactly the total, never more */
            cr_expect_eq(maxc, rows[r].maxc, "row %zu n %u", r, n);
            /* queue: at least one per taking part worker */
            cr_expect_eq(maxq, rows[r].maxq >= m ? rows[r].maxq : m, "row %zu n %u", r, n);
            if (rows[r].pre <= rows[r].maxc)
                cr_expect_eq(pre, rows[r].pre, "row %zu n %u", r, n);
        }
    }
}

/* The union of every worker's due times for k < 10000 is exactly the uniform schedule. */
Test(plan, workers_interleave_into_the_uniform_schedule)
{
    static const struct {
        uint64_t rate;
        uint32_t n;
    } rows[] = {{1000, 1}, {1000, 2}, {3, 1}, {3, 2}, {167, 2}, {7, 4}, {333, 3}, {100000, 8}};
    enum { K = 10000 };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        uint32_t n = rows[r].n;
        uint64_t *got = malloc((size_t)K * n * sizeof *got);
        cr_assert_not_null(got);
        for (uint32_t w = 0; w < n; w++) {
            plan_share sh = share((double)rows[r].rate, w, n);
            uint64_t prev = 0;
            for (uint64_t k = 0; k < K; k++) {
                uint64_t t = plan_due_ns(&sh, k);
                cr_assert(k == 0 || t > prev, "not increasing: rate %llu n %u w %u k %llu",
                          (unsigned long long)rows[r].rate, n, w, (unsigned long long)k);
                got[k * n + w] = t;
                prev = t;
            }
        }
        qsort(got, (size_t)K * n, sizeof *got, cmp_u64);
        for (uint64_t j = 0; j < (uint64_t)K * n; j++)
            cr_assert_eq(got[j], exact_due(j, rows[r].rate), "rate %llu n %u j %llu: %llu",
                         (unsigned long long)rows[r].rate, n, (unsigned long long)j,
                         (unsigned long long)got[j]);
        free(got);
    }
}

Test(plan, no_drift_far_out)
{
    static const struct {
        uint64_t rate;
        uint32_t n, w;
        uint64_t k;
    } rows[] = {
        {1000, 1, 0, 1000000000ULL},    {3, 1, 0, 1000000000ULL},     {167, 2, 1, 1000000000ULL},
        {7, 4, 3, 1000000000ULL},       {1000, 1, 0, 10000000000ULL}, {3, 2, 1, 10000000000ULL},
        {100000, 8, 5, 10000000000ULL}, {1, 1, 0, 10000000000ULL},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        plan_share sh = share((double)rows[r].rate, rows[r].w, rows[r].n);
        for (uint64_t d = 0; d < 3; d++) {
            uint64_t k = rows[r].k + d;
            uint64_t want = exact_due(k * rows[r].n + rows[r].w, rows[r].rate);
            cr_expect_eq(plan_due_ns(&sh, k), want, "rate %llu n %u w %u k %llu",
                         (unsigned long long)rows[r].rate, rows[r].n, rows[r].w,
                         (unsigned long long)k);
        }
    }
    plan_share sh = share(1000, 0, 1);
    cr_expect_eq(plan_due_ns(&sh, 1000000000ULL), 1000000000ULL * 1000000ULL);
}

Test(plan, due_saturates)
{
    plan_share sh = share(1e-9, 0, 1);
    cr_expect_eq(plan_due_ns(&sh, UINT64_MAX / 2), UINT64_MAX);
    plan_share zero = {.rate = 0, .nworkers = 1};
    cr_expect_eq(plan_due_ns(&zero, 1), UINT64_MAX);
}

Test(plan, poisson_gaps)
{
    static const double rates[] = {1000, 1, 123456};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        plan_share sh = share(rates[r] * 2, 1, 2); /* per-worker rate: rates[r] */
        uint64_t rng = 0x243F6A8885A308D3ULL + r;
        enum { N = 1000000 };
        double sum = 0, sumsq = 0;
        for (int i = 0; i < N; i++) {
            double g = (double)plan_poisson_gap_ns(&sh, &rng);
            sum += g;
            sumsq += g * g;
        }
        double mean = sum / N, want = 1e9 / rates[r];
        double sd = sqrt(sumsq / N - mean * mean);
        cr_expect(fabs(mean - want) / want < 0.02, "rate %g: mean %g want %g", rates[r], mean,
                  want);
        cr_expect(fabs(sd / mean - 1) < 0.02, "rate %g: coefficient of variation %g", rates[r],
                  sd / mean);
    }
}

Test(plan, poisson_edge_cases)
{
    plan_share sh = share(100, 0, 1);
    uint64_t rng = 0; /* a zero seed must not get stuck at 0 */
    uint64_t a = plan_poisson_gap_ns(&sh, &rng), b = plan_poisson_gap_ns(&sh, &rng);
    cr_expect_neq(rng, 0);
    cr_expect(a != b);
    /* a tiny rate gives huge gaps: capped, never wrapped */
    plan_share slow = share(1e-12, 0, 1);
    for (int i = 0; i < 1000; i++) {
        uint64_t g = plan_poisson_gap_ns(&slow, &rng);
        cr_assert_leq(g, UINT64_C(1) << 62);
        cr_assert_gt(g, 0);
    }
    plan_share zero = {.rate = 0, .nworkers = 1};
    cr_expect_eq(plan_poisson_gap_ns(&zero, &rng), UINT64_C(1) << 62);
}

Test(plan, free_null)
{
    plan_free(NULL);
}

/* plan_prepare on plans loaded from a file */

static plan *load_text(const char *text, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "/tmp/blast-plan-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    plan *p = NULL;
    char err[512];
    int rc = config_load(path, NULL, &p, err, sizeof err);
    unlink(path);
    cr_assert_eq(rc, 0, "%s", err);
    return p;
}

Test(plan, prepare_resolves_and_compiles)
{
    char path[64], err[256];
    plan *p = load_text("[global]\nbase_url = http://127.0.0.1:8080/api\nduration = 1s\n"
                        "[scenario four]\nexecutor = constant-vus\nvus = 1\npath = /x?y=1\n"
                        "header = X-Test: yes\nmethod = post\nbody = hello\n"
                        "[scenario six]\nexecutor = constant-arrival-rate\nrate = 1/s\n"
                        "url = http://[::1]/\n",
                        path, sizeof path);
    cr_assert_eq(plan_prepare(p, err, sizeof err), 0, "%s", err);

    plan_scenario *s = &p->scenarios[0];
    const struct sockaddr_in *in = (const struct sockaddr_in *)&s->addr;
    cr_expect_eq(s->addrlen, sizeof(struct sockaddr_in));
    cr_expect_eq(in->sin_family, AF_INET);
    cr_expect_eq(ntohs(in->sin_port), 8080);
    cr_expect_eq(ntohl(in->sin_addr.s_addr), 0x7f000001);
    const http1_req *req = &s->steps[0].req;
    cr_assert_not_null(req->bytes);
    const char *line = "POST /api/x?y=1 HTTP/1.1\r\n";
    cr_expect_eq(strncmp(req->bytes, line, strlen(line)), 0, "%.*s", (int)req->len, req->bytes);
    cr_expect_not_null(memmem(req->bytes, req->len, "\r\nHost: 127.0.0.1:8080\r\n", 24));
    cr_expect_not_null(memmem(req->bytes, req->len, "\r\nX-Test: yes\r\n", 15));
    cr_expect_eq(memcmp(req->bytes + req->len - 9, "\r\n\r\nhello", 9), 0);

    s = &p->scenarios[1];
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&s->addr;
    cr_expect_eq(s->addrlen, sizeof(struct sockaddr_in6));
    cr_expect_eq(in6->sin6_family, AF_INET6);
    cr_expect_eq(ntohs(in6->sin6_port), 80);
    cr_expect(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
    cr_expect_not_null(
        memmem(s->steps[0].req.bytes, s->steps[0].req.len, "\r\nHost: [::1]\r\n", 15));

    /* preparing again replaces the compiled requests (no leak, same bytes) */
    cr_expect_eq(plan_prepare(p, err, sizeof err), 0, "%s", err);
    cr_expect_eq(strncmp(p->scenarios[0].steps[0].req.bytes, line, strlen(line)), 0);
    plan_free(p);
}

Test(plan, prepare_reports_unknown_host)
{
    char path[64], err[256];
    plan *p = load_text("[scenario a]\nexecutor = constant-vus\nvus = 1\nduration = 1s\n"
                        "url = http://nonexistent.invalid:81/\n",
                        path, sizeof path);
    int rc = plan_prepare(p, err, sizeof err);
    cr_expect_lt(rc, 0);
    char want[160];
    snprintf(want, sizeof want,
             "%s:5: [scenario a] url: cannot resolve host 'nonexistent.invalid': ", path);
    cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
    plan_free(p);
}

/* A listening socket on 127.0.0.1 (its port in *port) and a port where nothing listens. */
static int listen_loopback(int *port, int *dead_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), dead = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 4) == 0);
    cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    a.sin_port = 0;
    cr_assert(bind(dead, (struct sockaddr *)&a, sizeof a) == 0);
    cr_assert(getsockname(dead, (struct sockaddr *)&a, &len) == 0);
    *dead_port = ntohs(a.sin_port);
    close(dead); /* bound then closed: nothing listens there */
    return fd;
}

Test(plan, pick_address_falls_back_to_one_that_answers)
{
    int port, dead;
    int lfd = listen_loopback(&port, &dead);
    struct sockaddr_in live = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in gone = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dead)};
    live.sin_addr.s_addr = gone.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct addrinfo second = {.ai_family = AF_INET,
                              .ai_socktype = SOCK_STREAM,
                              .ai_addr = (struct sockaddr *)&live,
                              .ai_addrlen = sizeof live};
    struct addrinfo first = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_addr = (struct sockaddr *)&gone,
                             .ai_addrlen = sizeof gone,
                             .ai_next = &second};
    cr_assert_eq(plan_pick_address(&first, NS_PER_S), &second, "the one that answers");
    /* none answers: the first */
    struct sockaddr_in gone2 = gone;
    struct addrinfo dead2 = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_addr = (struct sockaddr *)&gone2,
                             .ai_addrlen = sizeof gone2};
    first.ai_next = &dead2;
    cr_assert_eq(plan_pick_address(&first, NS_PER_S), &first);
    /* a single address is not tried */
    first.ai_next = NULL;
    cr_assert_eq(plan_pick_address(&first, NS_PER_S), &first);
    close(lfd);
}
