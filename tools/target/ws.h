/* The target server's WebSocket endpoints (tools/target/ws.c), as tools/target.c sees them.
 *
 * tools/target.c recognises an upgrade path, lets the request head arrive, then hands the socket
 * over (tws_adopt) and forgets it; from then on one thread of this module owns the descriptor,
 * with its own epoll set, so the HTTP loop's invariants are untouched. Counters are atomics that
 * /admin/stats reads from the HTTP thread. */
#ifndef BLAST_TARGET_WS_H
#define BLAST_TARGET_WS_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes tws_stats_put writes at most. */
#define TWS_STATS_MAX 600u

/* Whether path (without its query) is a WebSocket endpoint: /api/v1/ws or /api/v1/ws/room. */
bool tws_path(const char *path, size_t n);

/* Takes over fd (non-blocking, already out of the caller's epoll set): buf holds the whole
 * upgrade request head and any bytes read after it (n bytes, copied). Answers the handshake and
 * runs the session in the WebSocket thread, started on first use. Returns 0, or -errno when the
 * session could not be set up (fd is then closed). */
int tws_adopt(int fd, const char *buf, size_t n);

/* Appends the counters as JSON members, each preceded by a comma (",\"ws_sessions\":3..."), and
 * returns the end. At most TWS_STATS_MAX bytes. */
char *tws_stats_put(char *p);

/* Stops the WebSocket thread and closes its sessions (no-op when it never started). */
void tws_stop(void);

#endif
