/* tls: wolfSSL client sessions over memory buffers (see tls.h).
 *
 * Invariant: wolfSSL's I/O callbacks only copy: the receive callback from the bytes handed in by
 * tls_feed (WANT_READ once they are used up), the send callback into the session's out buffer
 * (appending, never moving bytes a SEND may be reading). The out buffer is only rewound when it
 * has been sent completely. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "tls.h"

/* One flight (certificate chains included) or one record of TLS_WRITE_CHUNK fits. */
#define OUT_CAP (32 * 1024)

struct tls_ctx {
    WOLFSSL_CTX *ctx;
    const plan_scenario *s;
    const char *name; /* SNI and checked host name */
    bool sni;         /* the name is a DNS name (SNI is not sent for IP literals) */
    int first_group;  /* key share offered in the ClientHello */
    WOLFSSL_SESSION *session;
};

struct tls_conn {
    WOLFSSL *ssl;
    tls_ctx *ctx;
    const char *in;
    size_t in_len;
    char *out;
    size_t out_off, out_len;
    bool remembered;
    char reason[128];
};

int tls_global_init(void)
{
    return wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : -EIO;
}

void tls_thread_cleanup(void)
{
#ifdef FP_ECC
    /* Debian's wolfSSL keeps a per-thread fixed-point ECC cache that only this frees. */
    wc_ecc_fp_free();
#endif
}

void tls_global_cleanup(void)
{
    wolfSSL_Cleanup();
}

static int cb_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    tls_conn *t = arg;
    if (t->in_len == 0)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    size_t n = (size_t)sz < t->in_len ? (size_t)sz : t->in_len;
    memcpy(buf, t->in, n);
    t->in += n;
    t->in_len -= n;
    return (int)n;
}

static int cb_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    tls_conn *t = arg;
    size_t room = OUT_CAP - t->out_len;
    if (room == 0)
        return WOLFSSL_CBIO_ERR_WANT_WRITE;
    size_t n = (size_t)sz < room ? (size_t)sz : room;
    memcpy(t->out + t->out_len, buf, n);
    t->out_len += n;
    return (int)n;
}

static int group_of(const char *name)
{
    if (!strcasecmp(name, "X25519"))
        return WOLFSSL_ECC_X25519;
    if (!strcasecmp(name, "P-256"))
        return WOLFSSL_ECC_SECP256R1;
    if (!strcasecmp(name, "P-384"))
        return WOLFSSL_ECC_SECP384R1;
    if (!strcasecmp(name, "P-521"))
        return WOLFSSL_ECC_SECP521R1;
    return -1;
}

static void wolf_error(char *err, size_t errlen, const char *what, int code)
{
    char buf[WOLFSSL_MAX_ERROR_SZ];
    wolfSSL_ERR_error_string_n((unsigned long)code, buf, sizeof(buf));
    snprintf(err, errlen, "%s: %s", what, buf);
}

int tls_ctx_new(tls_ctx **out, const plan_scenario *s, char *err, size_t errlen)
{
    const plan_tls *o = &s->tls_opts;
    tls_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->s = s;
    c->name = o->server_name ? o->server_name : s->host;
    struct in6_addr a6;
    struct in_addr a4;
    c->sni = inet_pton(AF_INET, c->name, &a4) != 1 && inet_pton(AF_INET6, c->name, &a6) != 1;
    c->ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
    if (!c->ctx) {
        free(c);
        return -ENOMEM;
    }
    int rc;
    wolfSSL_CTX_SetIORecv(c->ctx, cb_recv);
    wolfSSL_CTX_SetIOSend(c->ctx, cb_send);
    rc =
        wolfSSL_CTX_SetMinVersion(c->ctx, o->min_version == 13 ? WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2);
    if (rc != WOLFSSL_SUCCESS) {
        wolf_error(err, errlen, "tls_min_version", rc);
        goto fail;
    }
    /* This wolfSSL build does not verify unless told to: always say which. */
    if (o->insecure) {
        wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_NONE, NULL);
    } else {
        wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_PEER, NULL);
        if (o->ca_file)
            rc = wolfSSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL);
        else
            rc = wolfSSL_CTX_load_system_CA_certs(c->ctx);
        if (rc != WOLFSSL_SUCCESS) {
            if (o->ca_file)
                snprintf(err, errlen, "ca_file %s: not a PEM certificate file wolfSSL can load",
                         o->ca_file);
            else
                snprintf(err, errlen,
                         "cannot load the system CA certificates (install "
                         "ca-certificates, or give ca_file)");
            goto fail;
        }
    }
    if (o->client_cert) {
        if (wolfSSL_CTX_use_certificate_chain_file(c->ctx, o->client_cert) != WOLFSSL_SUCCESS) {
            snprintf(err, errlen, "client_cert %s: not a PEM certificate chain", o->client_cert);
            goto fail;
        }
        if (wolfSSL_CTX_use_PrivateKey_file(c->ctx, o->client_key, WOLFSSL_FILETYPE_PEM) !=
            WOLFSSL_SUCCESS) {
            snprintf(err, errlen, "client_key %s: not a PEM private key matching client_cert",
                     o->client_key);
            goto fail;
        }
    }
    if (o->ciphers && wolfSSL_CTX_set_cipher_list(c->ctx, o->ciphers) != WOLFSSL_SUCCESS) {
        snprintf(err, errlen, "tls_ciphers '%s': no cipher suite of this list is available",
                 o->ciphers);
        goto fail;
    }
    /* X25519 first: the default P-256 key share costs 2.5x the handshake CPU. */
    char curves[128];
    snprintf(curves, sizeof(curves), "%s", o->curves ? o->curves : "X25519:P-256:P-384");
    c->first_group = -1;
    char *save = NULL;
    for (char *n = strtok_r(curves, ":, ", &save); n; n = strtok_r(NULL, ":, ", &save)) {
        int g = group_of(n);
        if (g < 0 || wolfSSL_CTX_UseSupportedCurve(c->ctx, (word16)g) != WOLFSSL_SUCCESS) {
            snprintf(err, errlen, "tls_curves: %s is not available in this wolfSSL build", n);
            goto fail;
        }
        if (c->first_group < 0)
            c->first_group = g;
    }
    *out = c;
    return 0;
fail:
    tls_ctx_free(c);
    return -EINVAL;
}

void tls_ctx_free(tls_ctx *c)
{
    if (!c)
        return;
    if (c->session)
        wolfSSL_SESSION_free(c->session);
    wolfSSL_CTX_free(c->ctx);
    free(c);
}

int tls_conn_new(tls_conn **out)
{
    tls_conn *t = calloc(1, sizeof(*t));
    if (!t || !(t->out = malloc(OUT_CAP))) {
        free(t);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

void tls_conn_free(tls_conn *t)
{
    if (!t)
        return;
    tls_conn_end(t);
    free(t->out);
    free(t);
}

int tls_conn_start(tls_conn *t, tls_ctx *ctx)
{
    tls_conn_end(t);
    t->ctx = ctx;
    t->in = NULL;
    t->in_len = t->out_off = t->out_len = 0;
    t->remembered = false;
    t->reason[0] = '\0';
    if (!(t->ssl = wolfSSL_new(ctx->ctx)))
        return -ENOMEM;
    wolfSSL_SetIOReadCtx(t->ssl, t);
    wolfSSL_SetIOWriteCtx(t->ssl, t);
    if (ctx->sni)
        wolfSSL_UseSNI(t->ssl, WOLFSSL_SNI_HOST_NAME, ctx->name, (word16)strlen(ctx->name));
    char alpn[] = "http/1.1";
    wolfSSL_UseALPN(t->ssl, alpn, sizeof(alpn) - 1, WOLFSSL_ALPN_CONTINUE_ON_MISMATCH);
    /* Without this a wrong host name passes: the build checks the chain, not the name. */
    if (!ctx->s->tls_opts.insecure)
        wolfSSL_check_domain_name(t->ssl, ctx->name);
    if (ctx->first_group >= 0)
        wolfSSL_UseKeyShare(t->ssl, (word16)ctx->first_group);
    if (ctx->s->tls_opts.resume && ctx->session)
        wolfSSL_set_session(t->ssl, ctx->session);
    return 0;
}

void tls_conn_end(tls_conn *t)
{
    if (t && t->ssl) {
        wolfSSL_free(t->ssl);
        t->ssl = NULL;
    }
}

void tls_feed(tls_conn *t, const char *data, size_t len)
{
    t->in = data;
    t->in_len = len;
}

/* Turns wolfSSL's error into words a user can act on. */
static void set_reason(tls_conn *t, int code)
{
    const char *r = NULL;
    switch (code) {
    case ASN_NO_SIGNER_E:
        r = "certificate verify failed: unknown CA or self-signed certificate (give ca_file, or "
            "insecure_skip_tls_verify = true)";
        break;
    case ASN_SIG_CONFIRM_E:
        r = "certificate verify failed: bad signature";
        break;
    case ASN_AFTER_DATE_E:
        r = "certificate verify failed: certificate expired";
        break;
    case ASN_BEFORE_DATE_E:
        r = "certificate verify failed: certificate not yet valid";
        break;
    case DOMAIN_NAME_MISMATCH:
        r = "host name mismatch: the certificate is not for this host (see server_name)";
        break;
    case VERSION_ERROR:
        r = "protocol version mismatch (see tls_min_version)";
        break;
    case MATCH_SUITE_ERROR:
        r = "no cipher suite in common (see tls_ciphers)";
        break;
    case FATAL_ERROR:
        r = "the server sent a fatal alert (no common protocol version, cipher or curve? see "
            "tls_min_version, tls_ciphers, tls_curves)";
        break;
    case SOCKET_PEER_CLOSED_E:
        r = "the server closed the connection during the handshake";
        break;
    default:
        break;
    }
    if (r) {
        snprintf(t->reason, sizeof(t->reason), "%s", r);
    } else {
        char buf[WOLFSSL_MAX_ERROR_SZ];
        wolfSSL_ERR_error_string_n((unsigned long)code, buf, sizeof(buf));
        snprintf(t->reason, sizeof(t->reason), "%s (wolfSSL %d)", buf, code);
    }
}

int tls_handshake(tls_conn *t)
{
    int ret = wolfSSL_connect(t->ssl);
    if (ret == WOLFSSL_SUCCESS)
        return TLS_OK;
    int err = wolfSSL_get_error(t->ssl, ret);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
        return TLS_WANT;
    set_reason(t, err);
    return TLS_ERROR;
}

ssize_t tls_read(tls_conn *t, char *buf, size_t cap)
{
    int n = wolfSSL_read(t->ssl, buf, (int)cap);
    if (n > 0)
        return n;
    int err = wolfSSL_get_error(t->ssl, n);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
        return 0;
    if (err == WOLFSSL_ERROR_ZERO_RETURN)
        return TLS_CLOSED;
    set_reason(t, err);
    return TLS_ERROR;
}

ssize_t tls_write(tls_conn *t, const char *buf, size_t len)
{
    if (len > TLS_WRITE_CHUNK)
        len = TLS_WRITE_CHUNK;
    int n = wolfSSL_write(t->ssl, buf, (int)len);
    if (n > 0)
        return n;
    set_reason(t, wolfSSL_get_error(t->ssl, n));
    return TLS_ERROR;
}

const char *tls_out(const tls_conn *t, size_t *len)
{
    *len = t->out_len - t->out_off;
    return t->out + t->out_off;
}

void tls_out_sent(tls_conn *t, size_t n)
{
    t->out_off += n;
    if (t->out_off >= t->out_len)
        t->out_off = t->out_len = 0;
}

bool tls_resumed(const tls_conn *t)
{
    return t->ssl && wolfSSL_session_reused(t->ssl);
}

void tls_remember_session(tls_conn *t, tls_ctx *ctx)
{
    if (t->remembered || !ctx->s->tls_opts.resume || !t->ssl)
        return;
    t->remembered = true;
    WOLFSSL_SESSION *s = wolfSSL_get1_session(t->ssl);
    if (!s)
        return;
    if (ctx->session)
        wolfSSL_SESSION_free(ctx->session);
    ctx->session = s;
}

const char *tls_reason(const tls_conn *t)
{
    return t->reason[0] ? t->reason : "TLS error";
}
