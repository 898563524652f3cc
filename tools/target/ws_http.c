/* ws_http: the HTTP side of the target's WebSocket handshake (see ws_http.h), apart from the
 * session code in tools/target/ws.c. Written without blast's src/ws.c, so that client and server
 * do not share a mistake. */
#include "target/ws_http.h"

#include <string.h>
#include <strings.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha.h>

static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t t = strlen(tok);
    for (size_t i = 0; i + t <= n; i++) {
        if (strncasecmp(v + i, tok, t) == 0 && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
            (i + t == n || v[i + t] == ',' || v[i + t] == ' '))
            return true;
    }
    return false;
}

uint32_t tws_query_num(const char *q, size_t n, const char *key, uint32_t dflt)
{
    size_t k = strlen(key);
    for (size_t i = 0; i + k + 1 <= n; i++) {
        if ((i == 0 || q[i - 1] == '&') && memcmp(q + i, key, k) == 0 && q[i + k] == '=') {
            uint64_t v = 0;
            size_t j = i + k + 1;
            if (j >= n || q[j] < '0' || q[j] > '9')
                return dflt;
            for (; j < n && q[j] >= '0' && q[j] <= '9' && v < (1ull << 32); j++)
                v = v * 10 + (uint64_t)(q[j] - '0');
            return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        }
    }
    return dflt;
}

void tws_accept_value(const char *key, size_t klen, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    wc_Sha sha;
    uint8_t d[21] = {0};
    wc_InitSha(&sha);
    wc_ShaUpdate(&sha, (const byte *)key, (word32)klen);
    wc_ShaUpdate(&sha, (const byte *)guid, sizeof guid - 1);
    wc_ShaFinal(&sha, d);
    wc_ShaFree(&sha);
    size_t o = 0;
    for (size_t i = 0; i < 21; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    out[27] = '='; /* 20 bytes: 27 characters and one pad */
    out[28] = '\0';
}

size_t tws_upgrade_parse(const char *h, size_t n, struct tws_upgrade *u)
{
    memset(u, 0, sizeof *u);
    u->query = "";
    const char *e = memmem(h, n, "\r\n\r\n", 4);
    if (!e)
        return 0;
    size_t head = (size_t)(e - h) + 4;
    const char *sp = memchr(h, ' ', head);
    const char *sp2 = sp ? memchr(sp + 1, ' ', head - (size_t)(sp + 1 - h)) : NULL;
    if (!sp || !sp2 || sp - h != 3 || memcmp(h, "GET", 3) != 0)
        return 0;
    const char *tgt = sp + 1;
    size_t tlen = (size_t)(sp2 - tgt);
    const char *q = memchr(tgt, '?', tlen);
    size_t plen = q ? (size_t)(q - tgt) : tlen;
    if (q) {
        u->query = q + 1;
        u->qlen = tlen - plen - 1;
    }
    u->room = plen == 15;
    const char *line = memchr(h, '\n', head);
    while (line && (size_t)(line + 1 - h) < head - 2) {
        const char *ls = line + 1;
        const char *le = memchr(ls, '\r', head - (size_t)(ls - h));
        const char *colon = le ? memchr(ls, ':', (size_t)(le - ls)) : NULL;
        if (!le)
            break;
        line = le + 1;
        if (!colon)
            continue;
        size_t nl = (size_t)(colon - ls);
        const char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        size_t vl = (size_t)(le - v);
        if (nl == 7 && strncasecmp(ls, "upgrade", 7) == 0)
            u->upgrade = has_token(v, vl, "websocket");
        else if (nl == 10 && strncasecmp(ls, "connection", 10) == 0)
            u->connection = has_token(v, vl, "upgrade");
        else if (nl == 21 && strncasecmp(ls, "sec-websocket-version", 21) == 0)
            u->version = vl == 2 && memcmp(v, "13", 2) == 0;
        else if (nl == 17 && strncasecmp(ls, "sec-websocket-key", 17) == 0) {
            u->key = v;
            u->klen = vl;
        } else if (nl == 22 && strncasecmp(ls, "sec-websocket-protocol", 22) == 0) {
            u->proto = v;
            u->prlen = 0;
            while (u->prlen < vl && v[u->prlen] != ',' && v[u->prlen] != ' ')
                u->prlen++;
        }
    }
    return head;
}
