/* Integration: HTTPS against Debian nginx on 127.0.0.1 with a CA and a server certificate for
 * "localhost" that the test generates with openssl. Checks verification (on by default, CA file,
 * host name), insecure mode, resumption, servers that close after each response, and TLS 1.2-only
 * and 1.3-only servers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char certdir[64];

static void make_certs(void)
{
    snprintf(certdir, sizeof(certdir), "/tmp/blast-it.XXXXXX");
    cr_assert_not_null(mkdtemp(certdir));
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd %s && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
             "-out ca.pem -days 2 -subj /CN=blast-test-ca && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key "
             "-out srv.csr -subj /CN=localhost && "
             "printf 'subjectAltName=DNS:localhost\\n' > ext && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem "
             "-days 2 -extfile ext && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cli.key "
             "-out cli.csr -subj /CN=blast-client && "
             "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem "
             "-days 2",
             certdir);
    char full[2100];
    snprintf(full, sizeof(full), "(%s) >/dev/null 2>&1", cmd);
    cr_assert_eq(system(full), 0, "openssl failed: %s", cmd);
}

static void remove_certs(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", certdir);
}

TestSuite(tls, .init = make_certs, .fini = remove_certs);

/* nginx with TLS: protocols as nginx spells them, keepalive_requests (0: close every response). */
static bool tls_nginx(server *s, const char *protocols, int keepalive_requests)
{
    char extra[512];
    snprintf(extra, sizeof(extra),
             "ssl_certificate %s/srv.pem; ssl_certificate_key %s/srv.key; ssl_protocols %s;%s",
             certdir, certdir, protocols, keepalive_requests == 0 ? " keepalive_timeout 0;" : "");
    char kr[32];
    snprintf(kr, sizeof(kr), "%d", keepalive_requests ? keepalive_requests : 1);
    return nginx_start_with(s, extra, kr, true);
}

/* The client always connects to 127.0.0.1 ("localhost" may resolve to ::1 first on some
 * machines); `name` is the name it asks for (SNI) and checks, through server_name, unless it is
 * NULL: then the URL's host, 127.0.0.1, is checked. */
static const char *ini_for(int port, const char *name, const char *tls_lines, const char *rate,
                           const char *dur)
{
    static char ini[2048];
    char sn[128] = "";
    if (name)
        snprintf(sn, sizeof(sn), "server_name = %s\n", name);
    snprintf(ini, sizeof(ini),
             "[global]\nbase_url = https://127.0.0.1:%d\nduration = %s\n%s%s\n\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = %s\nmax_connections = 50\n",
             port, dur, sn, tls_lines, rate);
    return ini;
}

static void print_tls(const char *what, const blast_run *r)
{
    json_t *t = json_object_get(json_object_get(json_object_get(r->json, "scenarios"), "s"), "tls");
    printf("%s: ok %.0f failed %.0f (tls %.0f); handshakes full %.0f resumed %.0f, p50 %.3f ms\n",
           what, jnum(r, "s", "requests", "ok"), jnum(r, "s", "requests", "failed"),
           jnum(r, "s", "failures", "tls"),
           json_number_value(json_object_get(json_object_get(t, "handshakes"), "full")),
           json_number_value(json_object_get(json_object_get(t, "handshakes"), "resumed")),
           json_number_value(json_object_get(json_object_get(t, "handshake_ms"), "p50")));
    fflush(stdout);
}

static json_t *tls_obj(const blast_run *r)
{
    json_t *t = json_object_get(json_object_get(json_object_get(r->json, "scenarios"), "s"), "tls");
    cr_assert_not_null(t, "no tls object in the JSON");
    return t;
}

/* The first failure reason's text, or "". */
static const char *first_reason(const blast_run *r)
{
    json_t *errors = json_object_get(tls_obj(r), "errors");
    const char *key;
    json_t *v;
    json_object_foreach(errors, key, v)
    {
        return key;
    }
    return "";
}

Test(tls, insecure_mode_works, .timeout = 60)
{
    server n;
    if (!tls_nginx(&n, "TLSv1.2 TLSv1.3", 1000))
        cr_skip_test("nginx not installed");
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", "insecure_skip_tls_verify = true", "500/s", "2s"),
               NULL, 0, 40);
    server_stop(&n);
    print_tls("insecure", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 1000);
    cr_assert(json_is_false(json_object_get(tls_obj(&r), "verified")));
    json_t *hs = json_object_get(tls_obj(&r), "handshake_ms");
    cr_assert(json_number_value(json_object_get(hs, "count")) >= 10, "handshakes timed");
    cr_assert(json_number_value(json_object_get(hs, "p50")) > 0, "handshakes take time");
    blast_run_free(&r);
}

Test(tls, ca_file_mode_works, .timeout = 60)
{
    server n;
    if (!tls_nginx(&n, "TLSv1.2 TLSv1.3", 1000))
        cr_skip_test("nginx not installed");
    char lines[256];
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem", certdir);
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", lines, "500/s", "2s"), NULL, 0, 40);
    server_stop(&n);
    print_tls("ca_file", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 1000);
    cr_assert(json_is_true(json_object_get(tls_obj(&r), "verified")));
    blast_run_free(&r);
}

Test(tls, verify_without_the_ca_fails_every_request, .timeout = 60)
{
    server n;
    if (!tls_nginx(&n, "TLSv1.2 TLSv1.3", 1000))
        cr_skip_test("nginx not installed");
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", "", "200/s", "1s"), NULL, 0, 40);
    server_stop(&n);
    print_tls("no CA", &r);
    cr_assert_eq(r.exit_code, 4, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "failures", "tls"), 200);
    cr_assert(strstr(first_reason(&r), "certificate verify failed") != NULL, "reason: %s",
              first_reason(&r));
    blast_run_free(&r);
}

Test(tls, wrong_host_name_fails, .timeout = 60)
{
    server n;
    if (!tls_nginx(&n, "TLSv1.2 TLSv1.3", 1000))
        cr_skip_test("nginx not installed");
    char lines[256];
    /* The certificate is for localhost; the URL says 127.0.0.1. */
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem", certdir);
    blast_run r;
    blast_exec(&r, ini_for(n.port, NULL, lines, "200/s", "1s"), NULL, 0, 40);
    print_tls("wrong host", &r);
    cr_assert_eq(jnum(&r, "s", "failures", "tls"), 200);
    cr_assert(strstr(first_reason(&r), "host name mismatch") != NULL, "reason: %s",
              first_reason(&r));
    blast_run_free(&r);
    /* server_name names the host the certificate is for: then it passes. */
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem", certdir);
    blast_exec(&r, ini_for(n.port, "localhost", lines, "200/s", "1s"), NULL, 0, 40);
    server_stop(&n);
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 200, "%s", r.stderr_text);
    blast_run_free(&r);
}

/* nginx closes every connection after 5 requests: reconnects resume the session. */
Test(tls, resumption_on_reconnect, .timeout = 60)
{
    server n;
    if (!tls_nginx(&n, "TLSv1.2 TLSv1.3", 5))
        cr_skip_test("nginx not installed");
    char lines[256];
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem", certdir);
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", lines, "500/s", "2s"), NULL, 0, 40);
    print_tls("resume", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 1000);
    json_t *hs = json_object_get(tls_obj(&r), "handshakes");
    double resumed = json_number_value(json_object_get(hs, "resumed"));
    cr_assert(resumed >= 100, "resumed %.0f of ~200 reconnects", resumed);
    blast_run_free(&r);
    /* tls_resume = false: every handshake is a full one. */
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem\ntls_resume = false", certdir);
    blast_exec(&r, ini_for(n.port, "localhost", lines, "500/s", "1s"), NULL, 0, 40);
    server_stop(&n);
    hs = json_object_get(tls_obj(&r), "handshakes");
    cr_assert_eq(json_number_value(json_object_get(hs, "resumed")), 0);
    cr_assert(json_number_value(json_object_get(hs, "full")) >= 100);
    blast_run_free(&r);
}

Test(tls, server_closing_every_response_reconnects_cleanly, .timeout = 60)
{
    server n;
    if (!tls_nginx(&n, "TLSv1.2 TLSv1.3", 0))
        cr_skip_test("nginx not installed");
    char lines[256];
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem", certdir);
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", lines, "300/s", "2s"), NULL, 0, 40);
    server_stop(&n);
    print_tls("close each", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 600);
    cr_assert_eq(jnum(&r, "s", "requests", "failed"), 0);
    cr_assert(jnum(&r, "s", "connections", "closed_by_server") >= 599);
    blast_run_free(&r);
}

/* keepalive = off measures a handshake per request: nginx keeps connections alive, blast asks
 * it not to (Connection: close) and closes each one itself after its response; with
 * tls_resume = false every one of them is a full handshake, and none is the server's close. */
Test(tls, keepalive_off_handshake_per_request, .timeout = 60)
{
    server n;
    if (!tls_nginx(&n, "TLSv1.2 TLSv1.3", 1000))
        cr_skip_test("nginx not installed");
    char lines[256];
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem\ntls_resume = false\nkeepalive = off",
             certdir);
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", lines, "300/s", "2s"), NULL, 0, 40);
    server_stop(&n);
    print_tls("keepalive off", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 600);
    cr_assert_eq(jnum(&r, "s", "requests", "failed"), 0);
    cr_assert_eq(jnum(&r, "s", "connections", "recycled"), 600, "blast closed each one");
    cr_assert_eq(jnum(&r, "s", "connections", "closed_by_server"), 0);
    double opened = jnum(&r, "s", "connections", "opened");
    json_t *hs = json_object_get(tls_obj(&r), "handshakes");
    cr_assert_eq(json_number_value(json_object_get(hs, "full")), opened);
    cr_assert_eq(json_number_value(json_object_get(hs, "resumed")), 0);
    cr_assert(opened >= 600 && opened <= 650, "%.0f connections for 600 requests", opened);
    blast_run_free(&r);
}

/* Mutual TLS: nginx requires a client certificate signed by the test CA. */
Test(tls, client_certificate, .timeout = 60)
{
    server n;
    char extra[512];
    snprintf(extra, sizeof(extra),
             "ssl_certificate %s/srv.pem; ssl_certificate_key %s/srv.key; "
             "ssl_client_certificate %s/ca.pem; ssl_verify_client on; "
             "if ($ssl_client_verify != SUCCESS) { return 403; }",
             certdir, certdir, certdir);
    if (!nginx_start_with(&n, extra, "1000", true))
        cr_skip_test("nginx not installed");
    char lines[512];
    snprintf(lines, sizeof(lines),
             "ca_file = %s/ca.pem\nclient_cert = %s/cli.pem\n"
             "client_key = %s/cli.key",
             certdir, certdir, certdir);
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", lines, "200/s", "1s"), NULL, 0, 40);
    print_tls("mTLS", &r);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 200);
    blast_run_free(&r);
    /* Without the client certificate nginx refuses (400 "No required SSL certificate"). */
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem", certdir);
    blast_exec(&r, ini_for(n.port, "localhost", lines, "200/s", "1s"), NULL, 0, 40);
    server_stop(&n);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 0);
    cr_assert_eq(jnum(&r, "s", "failures", "status") + jnum(&r, "s", "failures", "tls"), 200);
    blast_run_free(&r);
}

static void one_protocol(const char *protocols, const char *min, bool expect_ok)
{
    server n;
    if (!tls_nginx(&n, protocols, 1000))
        cr_skip_test("nginx not installed");
    char lines[256];
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem\n%s", certdir, min);
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", lines, "200/s", "1s"), NULL, 0, 40);
    server_stop(&n);
    print_tls(protocols, &r);
    assert_accounted(&r, "s");
    if (expect_ok) {
        cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
        cr_assert_eq(jnum(&r, "s", "requests", "ok"), 200);
    } else {
        cr_assert_eq(jnum(&r, "s", "failures", "tls"), 200);
        cr_assert(strstr(first_reason(&r), "tls_min_version") != NULL, "reason: %s",
                  first_reason(&r));
    }
    blast_run_free(&r);
}

Test(tls, tls12_only_server, .timeout = 60)
{
    one_protocol("TLSv1.2", "", true);
}

Test(tls, tls13_only_server, .timeout = 60)
{
    one_protocol("TLSv1.3", "", true);
}

Test(tls, min_version_13_against_a_12_only_server_fails, .timeout = 60)
{
    one_protocol("TLSv1.2", "tls_min_version = 1.3", false);
}

/* ALPN: nginx answers 421 unless the connection negotiated http/1.1; curves: a server that only
 * accepts X25519 works by default and fails when the client offers only P-256; ciphers: a
 * one-suite list (ChaCha20: the fast one without AES-NI) works, an unknown list is refused before
 * any load. */
Test(tls, alpn_curves_and_ciphers, .timeout = 90)
{
    server n;
    char extra[512];
    snprintf(extra, sizeof(extra),
             "ssl_certificate %s/srv.pem; ssl_certificate_key %s/srv.key; "
             "ssl_protocols TLSv1.2 TLSv1.3; ssl_ecdh_curve X25519; "
             "if ($ssl_alpn_protocol != \"http/1.1\") { return 421; }",
             certdir, certdir);
    if (!nginx_start_with(&n, extra, "1000", true))
        cr_skip_test("nginx not installed");
    char lines[256];
    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem", certdir);
    blast_run r;
    blast_exec(&r, ini_for(n.port, "localhost", lines, "200/s", "1s"), NULL, 0, 40);
    print_tls("alpn + x25519", &r);
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 200, "ALPN http/1.1 and X25519: %s",
                 r.stderr_text);
    blast_run_free(&r);

    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem\ntls_curves = P-256", certdir);
    blast_exec(&r, ini_for(n.port, "localhost", lines, "100/s", "1s"), NULL, 0, 40);
    print_tls("P-256 only vs X25519 server", &r);
    assert_accounted(&r, "s");
    cr_assert_eq(jnum(&r, "s", "failures", "tls"), 100);
    blast_run_free(&r);

    snprintf(lines, sizeof(lines),
             "ca_file = %s/ca.pem\ntls_ciphers = TLS13-CHACHA20-POLY1305-SHA256", certdir);
    blast_exec(&r, ini_for(n.port, "localhost", lines, "100/s", "1s"), NULL, 0, 40);
    print_tls("one suite", &r);
    cr_assert_eq(jnum(&r, "s", "requests", "ok"), 100, "%s", r.stderr_text);
    blast_run_free(&r);

    snprintf(lines, sizeof(lines), "ca_file = %s/ca.pem\ntls_ciphers = NO-SUCH-CIPHER", certdir);
    blast_exec(&r, ini_for(n.port, "localhost", lines, "100/s", "1s"), NULL, 0, 40);
    server_stop(&n);
    cr_assert_eq(r.exit_code, 3, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert(strstr(r.stderr_text, "tls_ciphers") != NULL, "%s", r.stderr_text);
    cr_assert_null(r.json, "refused before any load");
    blast_run_free(&r);
}
