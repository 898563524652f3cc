/* tls: TLS 1.2/1.3 client sessions (wolfSSL) over memory buffers.
 *
 * wolfSSL never touches a socket: received ciphertext is handed in with tls_feed(), and what it
 * wants to send collects in the session's out buffer, which the connection sends through
 * io_uring. A tls_ctx (settings, trust, the session kept for resumption) belongs to one worker
 * and one scenario; a tls_conn belongs to one connection slot and is reused across reconnects. */
#ifndef BLAST_TLS_H
#define BLAST_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plan.h"

typedef struct tls_ctx tls_ctx;
typedef struct tls_conn tls_conn;

enum {
    TLS_OK = 0,      /* done (handshake) */
    TLS_WANT = 1,    /* needs more received bytes */
    TLS_ERROR = -1,  /* failed: tls_reason() says why */
    TLS_CLOSED = -2, /* the peer sent close_notify */
};

/* Largest plaintext tls_write takes at once: one record, so it always fits an empty out buffer. */
#define TLS_WRITE_CHUNK 8192

/* Once per process, before any other call. Returns 0 or -EIO. */
int tls_global_init(void);
void tls_global_cleanup(void);

/* Frees what wolfSSL keeps per thread; call at the end of every thread that used TLS. */
void tls_thread_cleanup(void);

/* Builds the settings of an https:// scenario: verification (system CAs or ca_file, unless
 * insecure), client certificate, minimum version, ciphers, curves (X25519 first by default).
 * Returns 0 and *out (tls_ctx_free), or -EINVAL / -ENOMEM with a message in err. */
int tls_ctx_new(tls_ctx **out, const plan_scenario *s, char *err, size_t errlen);
void tls_ctx_free(tls_ctx *ctx);

/* A connection slot's TLS state with its out buffer. Returns 0 or -ENOMEM. */
int tls_conn_new(tls_conn **out);
void tls_conn_free(tls_conn *t);

/* Starts a session for a new connection: SNI, ALPN http/1.1, host name check, key share, and the
 * remembered session when resumption is on. Returns 0 or -ENOMEM. */
int tls_conn_start(tls_conn *t, tls_ctx *ctx);

/* Ends the session (no close_notify: the connection is being reset). */
void tls_conn_end(tls_conn *t);

/* Hands in received ciphertext; it must stay valid until the next tls_handshake / tls_read has
 * returned TLS_WANT (by then every byte has been consumed or buffered inside wolfSSL). */
void tls_feed(tls_conn *t, const char *data, size_t len);

/* Advances the handshake: TLS_OK when it completed, TLS_WANT, or TLS_ERROR. */
int tls_handshake(tls_conn *t);

/* Decrypts into buf: > 0 bytes, 0 when it needs more ciphertext, TLS_CLOSED or TLS_ERROR. */
ssize_t tls_read(tls_conn *t, char *buf, size_t cap);

/* Encrypts up to TLS_WRITE_CHUNK bytes of buf into the out buffer. Returns the bytes taken
 * (> 0), or TLS_ERROR. Call it with an empty out buffer. */
ssize_t tls_write(tls_conn *t, const char *buf, size_t len);

/* Ciphertext waiting to be sent (pointer stays valid while bytes are appended) and its length. */
const char *tls_out(const tls_conn *t, size_t *len);

/* n bytes of tls_out() were sent. */
void tls_out_sent(tls_conn *t, size_t n);

/* After the handshake: was the session resumed? */
bool tls_resumed(const tls_conn *t);

/* Keeps this connection's session in ctx for the next connects (when resumption is on). */
void tls_remember_session(tls_conn *t, tls_ctx *ctx);

/* Why the last call failed, in words ("certificate verify failed: ...", "host name mismatch"). */
const char *tls_reason(const tls_conn *t);

#endif
