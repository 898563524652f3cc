/* The upgrade request's head as tools/target/ws.c reads it (tools/target/ws_http.c): request
 * line, the headers an RFC 6455 handshake needs, the query string of the fault modes, and the
 * Sec-WebSocket-Accept value. Pointers point into the head given. */
#ifndef BLAST_TARGET_WS_HTTP_H
#define BLAST_TARGET_WS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tws_upgrade {
    const char *query; /* after '?', "" when none */
    size_t qlen;
    bool room;         /* the path is /api/v1/ws/room */
    bool upgrade;      /* Upgrade: websocket */
    bool connection;   /* Connection: ... upgrade ... */
    bool version;      /* Sec-WebSocket-Version: 13 */
    const char *key;   /* Sec-WebSocket-Key, NULL when missing */
    size_t klen;
    const char *proto; /* the first Sec-WebSocket-Protocol offered, NULL when none */
    size_t prlen;
};

/* Parses the head at h (n bytes buffered, the head whole among them). Returns the head's length
 * (through its empty line), or 0 when it is no GET request line and head. */
size_t tws_upgrade_parse(const char *h, size_t n, struct tws_upgrade *u);

/* The number after key= in the query (dflt when absent or not a number; capped at UINT32_MAX). */
uint32_t tws_query_num(const char *q, size_t n, const char *key, uint32_t dflt);

/* base64(SHA-1(key + RFC 6455 GUID)): 28 characters and a NUL. */
void tws_accept_value(const char *key, size_t klen, char out[29]);

#endif
