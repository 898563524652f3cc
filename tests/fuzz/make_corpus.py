#!/usr/bin/env python3
"""Regenerates the seed corpora of fuzz_http1 and fuzz_chunked (tests/fuzz/corpus/{http1,chunked}).

http1 seeds: every case of tests/data/llhttp/http-responses.json (llhttp's response tests; see
its README), named by case index, plus typical responses of blast-target (tools/target.c) and
nginx. chunked seeds: the body of every corpus case whose head says Transfer-Encoding: chunked,
plus hand-written chunked bodies. Each file starts with the option bytes the target reads
(fuzz_http1: flags, split selector; fuzz_chunked: split selector), then the stream.

Run from anywhere: python3 tests/fuzz/make_corpus.py [path/to/http-responses.json]
It rewrites only the files it owns (names below); others in those folders are kept.
"""
import base64
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_JSON = os.path.join(REPO, "tests", "data", "llhttp", "http-responses.json")
OWNED = re.compile(r"^(case|target|nginx|chunk)-")

TARGET = [
    # name, head_request, bytes (as tools/target.c renders them)
    ("ok", False, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"),
    ("ok-pipelined", False,
     b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n" * 3),
    ("head", True, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n"),
    ("204", False, b"HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n"),
    ("304", False, b"HTTP/1.1 304 Not Modified\r\nContent-Type: text/plain\r\n\r\n"),
    ("404", False, b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
     b"\r\n404 Not Found\n"),
    ("close", False, b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
     b"Content-Length: 24\r\nConnection: close\r\n\r\n503 Service Unavailable\n"),
    ("http10-keepalive", False, b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
     b"Content-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n"),
    ("continue", False, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
     b"Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"),
    ("chunked", False, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n"
     b"1a\r\nabcdefghijklmnopqrstuvwxyz\r\n6\r\nabcdef\r\n0\r\n\r\n"),
    ("stats", False, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 41\r\n"
     b"\r\n{\"requests\":12,\"connections\":3,\"open\":1}\n"),
    ("bytes", False, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\n"
     b"abcdefghijklmnopqrstuvwxyzabcdefghijklmn"),
]

NGINX_DATE = b"Date: Mon, 06 Jan 2025 10:00:00 GMT\r\n"
NGINX = [
    ("200", False, b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n" + NGINX_DATE +
     b"Content-Type: text/html\r\nContent-Length: 45\r\n"
     b"Last-Modified: Mon, 06 Jan 2025 09:00:00 GMT\r\nConnection: keep-alive\r\n"
     b"ETag: \"677b9c10-2d\"\r\nAccept-Ranges: bytes\r\n\r\n"
     b"<html><body><h1>It works!</h1></body></html>\n"),
    ("404", False, b"HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\n" + NGINX_DATE +
     b"Content-Type: text/html\r\nContent-Length: 153\r\nConnection: keep-alive\r\n\r\n"
     b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
     b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
     b"</body>\r\n</html>\r\n"),
    ("301", False, b"HTTP/1.1 301 Moved Permanently\r\nServer: nginx/1.22.1\r\n" + NGINX_DATE +
     b"Content-Type: text/html\r\nContent-Length: 0\r\nLocation: http://127.0.0.1/dir/\r\n"
     b"Connection: keep-alive\r\n\r\n"),
    ("304", False, b"HTTP/1.1 304 Not Modified\r\nServer: nginx/1.22.1\r\n" + NGINX_DATE +
     b"Last-Modified: Mon, 06 Jan 2025 09:00:00 GMT\r\nConnection: keep-alive\r\n"
     b"ETag: \"677b9c10-2d\"\r\n\r\n"),
    ("gzip-chunked", False, b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n" + NGINX_DATE +
     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
     b"Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n\r\n"
     b"14\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xabV*\xc9\xcc\xc9\x05\x00\xe4\x00\r\n"
     b"0\r\n\r\n"),
    ("close-10", False, b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n" + NGINX_DATE +
     b"Content-Type: text/html\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad request"),
    ("head", True, b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n" + NGINX_DATE +
     b"Content-Type: text/html\r\nContent-Length: 615\r\nConnection: keep-alive\r\n\r\n"),
]

CHUNKED = [
    ("simple", b"5\r\nhello\r\n0\r\n\r\n"),
    ("several", b"1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n"),
    ("hex-case", b"A\r\n0123456789\r\nf\r\n0123456789abcde\r\nF\r\n0123456789ABCDE\r\n0\r\n\r\n"),
    ("leading-zeros", b"0005\r\nhello\r\n000\r\n\r\n"),
    ("ext", b"5;name=value\r\nhello\r\n3;a;b=c ; d = \"q\\\"x\"\r\nabc\r\n0;last\r\n\r\n"),
    ("ext-ws", b"5 ;x=y\r\nhello\r\n0\r\n\r\n"),
    ("trailers", b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Checksum: 1234\r\n\r\n"),
    ("then-next", b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"),
    ("then-chunked", b"0\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"2\r\nok\r\n0\r\n\r\n"),
    ("big-size", b"fffffffffffffff\r\nabc"),
    ("overflow", b"10000000000000000\r\n"),
    ("bare-lf", b"5\nhello\n0\n\n"),
    ("no-crlf-after-data", b"5\r\nhelloX\r\n0\r\n\r\n"),
    ("truncated", b"10\r\nonly part"),
    ("empty", b""),
]


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_JSON
    with open(src) as f:
        cases = json.load(f)

    out = {t: os.path.join(HERE, "corpus", t) for t in ("http1", "chunked")}
    for folder in out.values():
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if OWNED.match(name):
                os.remove(os.path.join(folder, name))

    n = {"http1": 0, "chunked": 0}

    def http1(name, head, raw, k):
        # flags (bit 0: HEAD; the rest seeds the piece sizes), then a split selector that varies
        # from seed to seed so the seeds start out cut in different places.
        flags = (1 if head else 0) | ((k * 2) & 0xFE)
        write(out["http1"], name, bytes([flags, (k * 37) % 256]) + raw)
        n["http1"] += 1

    def chunked(name, body, k):
        write(out["chunked"], name, bytes([(k * 29 + 3) % 256]) + body)
        n["chunked"] += 1

    k = 0
    for i, c in enumerate(cases):
        raw = base64.b64decode(c["raw_b64"])
        http1("case-%02d" % i, bool(c.get("skip_body")), raw, k)
        k += 1
        head, sep, body = raw.partition(b"\r\n\r\n")
        if sep and re.search(rb"(?im)^transfer-encoding:[^\r\n]*chunked", head):
            chunked("chunk-case-%02d" % i, body, k)
    for name, head, raw in TARGET:
        http1("target-" + name, head, raw, k)
        k += 1
    for name, head, raw in NGINX:
        http1("nginx-" + name, head, raw, k)
        k += 1
    for name, body in CHUNKED:
        chunked("chunk-" + name, body, k)
        k += 1
    print("http1: %d seeds, chunked: %d seeds" % (n["http1"], n["chunked"]))


if __name__ == "__main__":
    main()
