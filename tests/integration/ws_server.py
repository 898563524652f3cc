#!/usr/bin/python3
"""An independent WebSocket server for blast's integration tests (tests/integration/test_ws.c).

Built on Debian's python3-websockets (not on blast's own framing), it listens on 127.0.0.1 at the
given port and serves, by path:
  /echo            every message back
  /close1011       close with 1011 after the first message
  /midframe        half a frame after the first message, then EOF
  /masked          a masked frame (servers must not mask) after the first message
  /pingflood       100 pings right after the handshake, then echo
  /big             a 16 MiB binary message after the first message, then echo
  /badaccept       a wrong Sec-WebSocket-Accept in the 101
  /reject          403 instead of the upgrade
  /stats           (plain HTTP) the counters below as JSON
Counters: sessions, received, sent, pongs (answers to /pingflood's pings), closes (close frames
from the client, by code). With a certificate and key file after the port it speaks wss (TLS).
"""
import asyncio
import http
import json
import ssl
import sys

import websockets
import websockets.legacy.server as legacy

STATS = {"sessions": 0, "received": 0, "sent": 0, "pongs": 0, "closes": {}}
BIG = 16 * 1024 * 1024


class Protocol(legacy.WebSocketServerProtocol):
    def write_http_response(self, status, headers, body=None):
        if getattr(self, "path", "") == "/badaccept" and "Sec-WebSocket-Accept" in headers:
            del headers["Sec-WebSocket-Accept"]
            headers["Sec-WebSocket-Accept"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
        return super().write_http_response(status, headers, body)


async def process_request(path, headers):
    if path == "/stats":
        return http.HTTPStatus.OK, [("Content-Type", "application/json")], json.dumps(STATS).encode()
    if path == "/reject":
        return http.HTTPStatus.FORBIDDEN, [], b"forbidden\n"
    return None


async def first_then(ws, path):
    msg = await ws.recv()
    STATS["received"] += 1
    if path == "/close1011":
        await ws.close(1011, "server error")
        return False
    if path == "/midframe":
        ws.transport.write(b"\x81\x0aha")
        ws.transport.close()
        return False
    if path == "/masked":
        key = b"\x01\x02\x03\x04"
        data = msg.encode() if isinstance(msg, str) else msg
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(data[:125]))
        ws.transport.write(bytes([0x81, 0x80 | len(masked)]) + key + masked)
        await asyncio.sleep(2)
        return False
    if path == "/big":
        await ws.send(b"b" * BIG)
        STATS["sent"] += 1
    await ws.send(msg)
    STATS["sent"] += 1
    return True


async def handler(ws, path):
    STATS["sessions"] += 1
    try:
        if path == "/pingflood":
            waiters = [await ws.ping(b"p%d" % i) for i in range(100)]
            for w in waiters:
                await w
                STATS["pongs"] += 1
        if path != "/echo" and path != "/pingflood":
            if not await first_then(ws, path):
                return
        async for msg in ws:
            STATS["received"] += 1
            await ws.send(msg)
            STATS["sent"] += 1
    except websockets.ConnectionClosed:
        pass
    finally:
        if ws.close_code is not None and ws.close_rcvd is not None:
            code = str(ws.close_rcvd.code)
            STATS["closes"][code] = STATS["closes"].get(code, 0) + 1


async def main(port, cert=None, key=None):
    tls = None
    if cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
    async with websockets.serve(handler, "127.0.0.1", port, create_protocol=Protocol,
                                process_request=process_request, max_size=None,
                                ping_interval=None, ssl=tls):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), *sys.argv[2:4]))
