/* series_prom: `--out prometheus=[HOST:]PORT`, a /metrics endpoint for Prometheus to scrape
 * while the run goes on (text format 0.0.4, k6's names: see prom.h).
 *
 * The socket is bound in open (so a port in use fails before any load); a thread of its own
 * answers one connection at a time, with a blocking accept and short socket timeouts, so a slow
 * or stuck client costs only itself. The interval callback (main thread) writes the run so far
 * into a new text and swaps it in under a mutex; the thread copies the latest out under the
 * same mutex and sends the copy, so neither waits on the other for more than a memcpy. The
 * endpoint lives as long as the run: finish stops the thread and closes the socket. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prom.h"
#include "series.h"

#define IO_TIMEOUT_S 2 /* per read or write of a scrape */
#define REQ_MAX 8192   /* a request head larger than this is answered 431 */

typedef struct scrape {
    int lfd;
    int wake[2]; /* finish writes to wake[1]: the thread's poll returns and it ends */
    pthread_t thread;
    pthread_mutex_t mu;
    char *text; /* the latest exposition (mu); NULL before the first second */
    size_t len;
    const char *testid;
} scrape;

int prom_split_addr(const char *dest, char *host, size_t hostlen, char *port, size_t portlen,
                    char *err, size_t errlen)
{
    const char *colon = strrchr(dest, ':');
    const char *h = dest, *p = colon ? colon + 1 : dest;
    size_t hl = colon ? (size_t)(colon - dest) : 0;
    if (colon && hl == 0) {
        snprintf(err, errlen,
                 "no host before ':%s': give 127.0.0.1:%s (the default, loopback only), or "
                 "0.0.0.0:%s to listen on every interface",
                 p, p, p);
        return -EINVAL;
    }
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char *end;
    long n = strtol(p, &end, 10);
    if (!*p || *end || n <= 0 || n > 65535) {
        snprintf(err, errlen, "expected [HOST:]PORT with a port in 1..65535, e.g. 127.0.0.1:9464");
        return -EINVAL;
    }
    if (!colon) {
        h = "127.0.0.1";
        hl = strlen(h);
    }
    if (hl >= hostlen) {
        snprintf(err, errlen, "host too long");
        return -EINVAL;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%ld", n);
    return 0;
}

static int listen_on(const char *dest, char *err, size_t errlen)
{
    char host[256], port[8];
    int rc = prom_split_addr(dest, host, sizeof host, port, sizeof port, err, errlen);
    if (rc < 0)
        return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -EINVAL;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot listen on %s:%s: %s%s", host, port, strerror(errno),
                 rc == -EADDRINUSE ? " (another program, or another blast, has it)" : "");
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the scraper went away or stalled past the timeout */
        s += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t n,
                    bool head)
{
    char h[256];
    int hl = snprintf(h, sizeof h,
                      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, type, n);
    send_all(fd, h, (size_t)hl);
    if (!head)
        send_all(fd, body, n);
}

/* One scrape: reads the request head, answers GET /metrics (HEAD too) and closes. */
static void serve(scrape *s, int fd, char **copy, size_t *cap)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[REQ_MAX + 1];
    size_t n = 0;
    while (n < REQ_MAX) {
        ssize_t r = recv(fd, req + n, REQ_MAX - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[n] = '\0';
    if (n == REQ_MAX) {
        respond(fd, "431 Request Header Fields Too Large", "text/plain", "", 0, false);
        return;
    }
    bool head = strncmp(req, "HEAD ", 5) == 0;
    const char *path = head ? req + 5 : strncmp(req, "GET ", 4) == 0 ? req + 4 : NULL;
    if (!path) {
        respond(fd, "405 Method Not Allowed", "text/plain", "GET /metrics\n", 13, false);
        return;
    }
    size_t pl = strcspn(path, " ?");
    if (!(pl == 8 && strncmp(path, "/metrics", 8) == 0)) {
        respond(fd, "404 Not Found", "text/plain", "see /metrics\n", 13, head);
        return;
    }
    pthread_mutex_lock(&s->mu);
    size_t len = s->len;
    if (len > *cap) {
        char *p = realloc(*copy, len);
        if (!p) {
            pthread_mutex_unlock(&s->mu);
            respond(fd, "503 Service Unavailable", "text/plain", "", 0, head);
            return;
        }
        *copy = p;
        *cap = len;
    }
    if (len)
        memcpy(*copy, s->text, len);
    pthread_mutex_unlock(&s->mu);
    respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", *copy, len, head);
}

static void *serve_loop(void *arg)
{
    scrape *s = arg;
    char *copy = NULL;
    size_t cap = 0;
    for (;;) {
        struct pollfd pf[2] = {{s->lfd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue; /* ECONNABORTED, EMFILE, ...: the next scrape tries again */
        serve(s, fd, &copy, &cap);
        close(fd);
    }
    free(copy);
    return NULL;
}

static void scrape_free(scrape *s)
{
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->text);
    free(s);
}

int prom_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

static int open_prom(void **state, const char *dest, const plan *p, char *err, size_t errlen)
{
    (void)p;
    scrape *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = listen_on(dest, err, errlen);
    if (s->lfd < 0) {
        int rc = s->lfd;
        scrape_free(s);
        return rc;
    }
    int rc = pipe2(s->wake, O_CLOEXEC) < 0 ? -errno : 0;
    if (rc == 0)
        rc = prom_thread_start(&s->thread, serve_loop, s);
    if (rc < 0) {
        snprintf(err, errlen, "cannot start the endpoint: %s", strerror(-rc));
        scrape_free(s);
        return rc;
    }
    s->testid = prom_testid();
    *state = s;
    return 0;
}

static void update(scrape *s, const report_run *run)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return; /* out of memory: the endpoint keeps the last text */
    int rc = prom_text(f, run, s->testid);
    if (fclose(f) != 0 || rc < 0) {
        free(text);
        return;
    }
    pthread_mutex_lock(&s->mu);
    char *old = s->text;
    s->text = text;
    s->len = len;
    pthread_mutex_unlock(&s->mu);
    free(old);
}

static void interval(void *state, const report_run *sec, const report_run *cum, double t_s,
                     bool final)
{
    (void)sec;
    (void)t_s;
    (void) final;
    if (cum)
        update(state, cum);
}

static void stop(scrape *s)
{
    ssize_t w;
    do
        w = write(s->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    scrape_free(s);
}

static int finish(void *state, const report_run *run, char *err, size_t errlen)
{
    (void)run;
    (void)err;
    (void)errlen;
    stop(state);
    return 0;
}

static void discard(void *state)
{
    stop(state);
}

const series_kind series_prom = {"prometheus", open_prom, interval, finish, discard};
