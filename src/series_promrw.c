/* series_promrw: `--out prometheus-rw=http://HOST[:PORT]/PATH`, Prometheus remote write 1.0
 * (k6's names: see prom.h): every PUSH_EVERY_S seconds of the run, and once at the end with
 * the final results, a snappy-compressed WriteRequest of the run so far, POSTed over plain
 * http:// (no TLS).
 *
 * The interval callback (main thread) only encodes and queues a batch; a sender thread of its
 * own POSTs them. The queue is bounded: when it is full the new batch is dropped and its
 * samples counted, so a slow or absent receiver never holds up the load. A push is retried on
 * a transport error, a 5xx or a 429 (PUSH_TRIES attempts, backing off), never on another 4xx.
 * finish queues the final batch (dropping the oldest queued one if it must: the final state
 * matters most) and waits at most FINISH_WAIT_S for the sender to deliver it. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "prom.h"
#include "series.h"

#define PUSH_EVERY_S 5.0
#define QUEUE_MAX 4
#define PUSH_TRIES 4   /* backing off 0.25, 0.5, 1 s in between */
#define IO_TIMEOUT_S 2 /* per connect, send and receive */
#define FINISH_WAIT_S 5.0

typedef struct batch {
    uint8_t *p;
    size_t len;
    size_t samples;
    bool final;
} batch;

typedef struct rw {
    struct sockaddr_storage addr;
    socklen_t alen;
    char host[300]; /* the Host header: host[:port] as given */
    char path[1024];
    const char *testid;
    double last_push_t;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC: a batch was queued or sent, or stop / abort */
    batch q[QUEUE_MAX];
    size_t head, n;
    bool stop;  /* finish: send what is queued, then end */
    bool abort; /* end now (finish's wait ran out, or discard) */
    bool busy;  /* the sender holds a batch */
    int fd;     /* the socket of the push under way, -1 (shut down on abort) */
    /* what happened, under mu */
    uint64_t pushes, failed, dropped_samples, lost_samples;
    bool final_ok;
    char last_error[256];
} rw;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec mono_at(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    return ts;
}

/* Splits http://HOST[:PORT][/PATH] and resolves HOST. */
static int parse_url(rw *w, const char *url, char *err, size_t errlen)
{
    if (strncmp(url, "https://", 8) == 0) {
        snprintf(err, errlen, "https:// is not supported: give a plain http:// URL");
        return -EINVAL;
    }
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen,
                 "expected http://HOST[:PORT]/PATH, e.g. "
                 "http://127.0.0.1:9090/api/v1/write");
        return -EINVAL;
    }
    const char *a = url + 7, *slash = strchr(a, '/');
    size_t al = slash ? (size_t)(slash - a) : strlen(a);
    if (al == 0 || al >= sizeof w->host) {
        snprintf(err, errlen, "no host in %s", url);
        return -EINVAL;
    }
    memcpy(w->host, a, al);
    w->host[al] = '\0';
    snprintf(w->path, sizeof w->path, "%s", slash ? slash : "/");
    char host[300], port[8] = "80";
    const char *colon = strrchr(w->host, ':');
    if (colon && strchr(colon, ']'))
        colon = NULL; /* a bare [v6] */
    size_t hl = colon ? (size_t)(colon - w->host) : al;
    memcpy(host, w->host, hl);
    host[hl] = '\0';
    if (colon)
        snprintf(port, sizeof port, "%.5s", colon + 1);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    char *end;
    long pn = strtol(port, &end, 10);
    if (*end || pn <= 0 || pn > 65535 || !host[0]) {
        snprintf(err, errlen, "bad host or port in %s", url);
        return -EINVAL;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -EINVAL;
    }
    memcpy(&w->addr, ai->ai_addr, ai->ai_addrlen);
    w->alen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* One POST of b: the response's status, or a negative errno (why in w->last_error). */
static int post(rw *w, const batch *b)
{
    int fd = socket(w->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* connect's timeout too */
    pthread_mutex_lock(&w->mu);
    bool abort = w->abort;
    if (!abort)
        w->fd = fd;
    pthread_mutex_unlock(&w->mu);
    int rc = abort ? -ECANCELED : 0;
    char head[1600];
    int hl = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: blast\r\n"
                      "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
                      "X-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      w->path, w->host, b->len);
    if (rc == 0 && connect(fd, (struct sockaddr *)&w->addr, w->alen) < 0)
        rc = -errno;
    const uint8_t *parts[2] = {(const uint8_t *)head, b->p};
    size_t lens[2] = {(size_t)hl, b->len};
    for (int i = 0; i < 2 && rc == 0; i++)
        for (size_t off = 0; off < lens[i] && rc == 0;) {
            ssize_t n = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
            if (n < 0 && errno != EINTR)
                rc = -errno;
            else if (n > 0)
                off += (size_t)n;
        }
    /* the response: its status line, and the start of its body for the message */
    char resp[1024];
    size_t got = 0;
    while (rc == 0 && got < sizeof resp - 1) {
        ssize_t n = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -errno;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    resp[got] = '\0';
    pthread_mutex_lock(&w->mu);
    w->fd = -1;
    pthread_mutex_unlock(&w->mu);
    close(fd);
    if (rc < 0) {
        snprintf(w->last_error, sizeof w->last_error, "%s", strerror(-rc));
        return rc;
    }
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
        snprintf(w->last_error, sizeof w->last_error, "no HTTP response");
        return -EPROTO;
    }
    if (status >= 300) {
        const char *body = strstr(resp, "\r\n\r\n");
        body = body ? body + 4 : "";
        snprintf(w->last_error, sizeof w->last_error, "HTTP %d%s%.*s", status, *body ? ": " : "",
                 (int)strcspn(body, "\r\n"), body);
    }
    return status;
}

/* POSTs b, retrying what may pass later. Returns true once the receiver took it. */
static bool push(rw *w, const batch *b)
{
    double backoff = 0.25;
    for (int i = 0; i < PUSH_TRIES; i++) {
        int st = post(w, b);
        if (st >= 200 && st < 300)
            return true;
        if (st >= 400 && st < 500 && st != 429)
            return false; /* the receiver refuses this batch: sending it again will not help */
        if (i + 1 == PUSH_TRIES)
            break;
        pthread_mutex_lock(&w->mu);
        struct timespec until = mono_at(mono_s() + backoff);
        while (!w->abort && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
            ;
        bool abort = w->abort;
        pthread_mutex_unlock(&w->mu);
        if (abort)
            return false;
        backoff *= 2;
    }
    return false;
}

static void *send_loop(void *arg)
{
    rw *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->n && !w->stop && !w->abort)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->abort || !w->n)
            break;
        batch b = w->q[w->head];
        w->head = (w->head + 1) % QUEUE_MAX;
        w->n--;
        w->busy = true;
        pthread_mutex_unlock(&w->mu);
        bool ok = push(w, &b);
        free(b.p);
        pthread_mutex_lock(&w->mu);
        w->busy = false;
        w->pushes++;
        if (!ok) {
            w->failed++;
            w->lost_samples += b.samples;
        }
        if (b.final)
            w->final_ok = ok;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void rw_free(rw *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->q[(w->head + i) % QUEUE_MAX].p);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static int open_rw(void **state, const char *dest, const plan *p, char *err, size_t errlen)
{
    (void)p;
    rw *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = parse_url(w, dest, err, errlen);
    if (rc == 0 && (rc = prom_thread_start(&w->thread, send_loop, w)) < 0)
        snprintf(err, errlen, "cannot start the sender: %s", strerror(-rc));
    if (rc < 0) {
        rw_free(w);
        return rc;
    }
    w->testid = prom_testid();
    *state = w;
    return 0;
}

/* Encodes run and queues it; when the queue is full, drops it (or, for the final batch, the
 * oldest queued one). */
static void enqueue(rw *w, const report_run *run, bool final)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    prom_buf pb = {0};
    size_t samples = prom_pb_run(&pb, run, w->testid, ms);
    batch b = {.samples = samples, .final = final};
    bool built = !pb.oom && prom_snappy(pb.p, pb.len, &b.p, &b.len) == 0;
    prom_buf_free(&pb);
    pthread_mutex_lock(&w->mu);
    if (built && w->n == QUEUE_MAX && final) {
        batch *old = &w->q[w->head];
        w->dropped_samples += old->samples;
        free(old->p);
        w->head = (w->head + 1) % QUEUE_MAX;
        w->n--;
    }
    if (!built || w->n == QUEUE_MAX) {
        w->dropped_samples += samples;
        free(b.p);
    } else {
        w->q[(w->head + w->n) % QUEUE_MAX] = b;
        w->n++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

static void interval(void *state, const report_run *sec, const report_run *cum, double t_s,
                     bool final)
{
    rw *w = state;
    (void)sec;
    if (final || !cum || t_s - w->last_push_t < PUSH_EVERY_S)
        return; /* the final state is pushed by finish, from the merged results */
    w->last_push_t = t_s;
    enqueue(w, cum, false);
}

/* Ends the sender: after what is queued is sent (at most FINISH_WAIT_S), or at once. */
static void stop(rw *w, bool drain)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    struct timespec until = mono_at(mono_s() + FINISH_WAIT_S);
    while (drain && (w->n || w->busy) &&
           pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
        ;
    if (w->n || w->busy) {
        w->abort = true;
        if (w->fd >= 0)
            shutdown(w->fd, SHUT_RDWR); /* wakes a connect, send or recv under way */
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (size_t i = 0; i < w->n; i++)
        w->dropped_samples += w->q[(w->head + i) % QUEUE_MAX].samples;
}

static int finish(void *state, const report_run *run, char *err, size_t errlen)
{
    rw *w = state;
    enqueue(w, run, true);
    stop(w, true);
    int rc = 0;
    if (!w->final_ok) {
        snprintf(err, errlen, "the final push was not delivered%s%s", w->last_error[0] ? ": " : "",
                 w->last_error[0] ? w->last_error : " in time");
        rc = -EIO;
    }
    if (w->failed || w->dropped_samples)
        fprintf(stderr,
                "blast: --out prometheus-rw: %llu of %llu pushes failed (%llu samples), %llu "
                "samples dropped (queue full or out of time)%s%s\n",
                (unsigned long long)w->failed, (unsigned long long)w->pushes,
                (unsigned long long)w->lost_samples, (unsigned long long)w->dropped_samples,
                w->last_error[0] ? "; last error: " : "", w->last_error);
    rw_free(w);
    return rc;
}

static void discard(void *state)
{
    rw *w = state;
    stop(w, false);
    rw_free(w);
}

const series_kind series_promrw = {"prometheus-rw", open_rw, interval, finish, discard};
