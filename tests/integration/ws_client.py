#!/usr/bin/python3
"""An independent WebSocket client (Debian python3-websockets) for the bundled target's endpoints:
echo (text, and a 140,000-byte binary message), the broadcast room, and the handshake faults.
Prints one line per check, "ok NAME" or "FAIL NAME: why"; exits 1 if any failed.
Usage: ws_client.py PORT"""
import asyncio
import sys

import websockets

PORT = int(sys.argv[1])
BASE = "ws://127.0.0.1:%d/api/v1/ws" % PORT
failed = False


def check(name, cond, why=""):
    global failed
    print(("ok " if cond else "FAIL ") + name + ("" if cond else ": " + why), flush=True)
    failed |= not cond


async def main():
    async with websockets.connect(BASE, origin="http://chat.example", subprotocols=["chat"]) as w:
        await w.send("hello")
        check("echo text", await w.recv() == "hello")
        check("subprotocol chosen", w.subprotocol == "chat", str(w.subprotocol))
        big = bytes(range(256)) * 547 + b"xyz"
        await w.send(big)
        check("echo binary 140,035 bytes", await w.recv() == big)
    async with websockets.connect(BASE + "/room") as a, websockets.connect(BASE + "/room") as b:
        await asyncio.sleep(0.05)
        await a.send("to-all")
        ra, rb = await a.recv(), await b.recv()
        check("room delivers to both members", ra == "to-all" and rb == "to-all", f"{ra} {rb}")
    try:
        async with websockets.connect(BASE + "?fault=bad_accept"):
            check("bad accept refused", False, "the client accepted it")
    except websockets.exceptions.InvalidHeaderValue:
        check("bad accept refused", True)
    try:
        async with websockets.connect(BASE + "?status=403"):
            check("status 403", False, "upgraded")
    except websockets.exceptions.InvalidStatusCode as e:
        check("status 403", e.status_code == 403, str(e))
    async with websockets.connect(BASE + "?fault=close_1011") as w:
        await w.send("x")
        try:
            await w.recv()
            check("close 1011", False, "a message came")
        except websockets.ConnectionClosed as e:
            check("close 1011", e.rcvd is not None and e.rcvd.code == 1011, str(e))
    async with websockets.connect(BASE + "?fault=masked") as w:
        await w.send("x")
        try:
            await w.recv()
            check("masked frame is a protocol error", False, "accepted")
        except websockets.ConnectionClosed as e:
            check("masked frame is a protocol error", e.sent is not None and e.sent.code == 1002,
                  str(e))
    async with websockets.connect(BASE + "?fault=big", max_size=None) as w:
        await w.send("x")
        r = await w.recv()
        check("16 MiB message", len(r) == 16 << 20, str(len(r)))
        check("echo after it", await w.recv() == "x")


asyncio.run(main())
sys.exit(1 if failed else 0)
