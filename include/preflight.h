/* preflight: the one request of a [preflight] section, sent before any load.
 *
 * A health check that decides whether the run happens at all: blast sends it once, after the
 * plan is prepared and the outputs are open and before any worker exists, and only a response
 * whose status is in the expected set lets the load start. The client is blocking and simple on
 * purpose (a socket, poll with the timeout, the request compiler and response parser of http1.c,
 * wolfSSL over memory buffers for https://): it is far off the hot path. */
#ifndef BLAST_PREFLIGHT_H
#define BLAST_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "plan.h"

typedef struct plan_preflight {
    char *method; /* upper case */
    char *url;    /* absolute, for messages */
    bool tls;     /* https:// */
    char *host;   /* as written in the URL, IPv6 without brackets */
    uint16_t port;
    char *host_header; /* "host" or "host:port" */
    char *target;      /* origin-form "/path?query" */
    char **headers;    /* "Name: value", after ${} substitution */
    size_t nheaders;
    status_set expect;   /* statuses that pass */
    char *expect_text;   /* the set as written (default "200"), for messages */
    uint64_t timeout_ns; /* for the whole exchange: resolve excluded, connect to last byte */
    plan_tls tls_opts;   /* [global]'s TLS keys */
} plan_preflight;

/* Frees a preflight and what it owns; NULL is accepted. */
void preflight_free(plan_preflight *pf);

/* Sends the request and reads the whole response, within pf->timeout_ns. stopped, when not
 * NULL, is asked every 100 ms at most; when it returns nonzero the exchange is abandoned.
 * Returns 0 when the status is expected (*status and *elapsed_ns filled, may be NULL), -EINTR
 * when stopped, or another negative errno-style code with one line in err:
 * "preflight GET URL failed: what happened (expected status SET)". tls_global_init must have
 * run for an https:// preflight. */
int preflight_run(const plan_preflight *pf, int (*stopped)(void), int *status, uint64_t *elapsed_ns,
                  char *err, size_t errlen);

#endif
