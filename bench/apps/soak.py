# The WSGI application of bench/soak.sh (a fault soak of cmd/gowsgi; the
# client is bench/soakload). Every body it sends is checkable by the client:
#
#   /hello                 13 bytes with a Content-Length
#   /stream?n=N&size=S&delay=MS
#                          N chunks of S bytes, no Content-Length (so the
#                          server sends it chunked), MS ms apart
#   /download?size=B       B bytes with a Content-Length, in 64 KiB pieces
#   /upload (POST)         reads wsgi.input to its end in 64 KiB reads (the
#                          whole Content-Length, or to EOF of a chunked
#                          body) and answers "LENGTH SHA256HEX"
#   /crash                 os._exit(1) in the worker
#   /hang                  sleeps for ever (the server's request timeout
#                          ends it)
#
# Streams and downloads are the pattern byte(k) = PATTERN[k % 65536] of the
# offset k in the body; bench/soakload/main.go computes the same.
import hashlib
import os
import time
from urllib.parse import parse_qs

PATTERN = bytes(((i * 7) + (i // 251)) & 0xFF for i in range(65536))
HELLO = b"Hello, soak!\n"


def _qs(environ):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    return {k: int(v[0]) for k, v in q.items()}


def _pattern(offset, n):
    """n bytes of the pattern from body offset."""
    out = []
    while n > 0:
        o = offset % 65536
        piece = PATTERN[o : o + n]
        out.append(piece)
        n -= len(piece)
        offset += len(piece)
    return b"".join(out)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/hello":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
        return [HELLO]
    if path == "/stream":
        q = _qs(environ)
        n, size, delay = q.get("n", 10), q.get("size", 8192), q.get("delay", 10)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def gen():
            for i in range(n):
                if i and delay:
                    time.sleep(delay / 1000)
                yield _pattern(i * size, size)

        return gen()
    if path == "/download":
        size = _qs(environ).get("size", 50 << 20)
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])

        def gen():
            off = 0
            while off < size:
                n = min(65536, size - off)
                yield PATTERN[:n]  # off is a multiple of 65536
                off += n

        return gen()
    if path == "/upload":
        inp = environ["wsgi.input"]
        cl = environ.get("CONTENT_LENGTH")
        left = int(cl) if cl else -1
        h = hashlib.sha256()
        total = 0
        while left != 0:
            want = 65536 if left < 0 else min(65536, left)
            b = inp.read(want)
            if not b:
                break
            h.update(b)
            total += len(b)
            if left > 0:
                left -= len(b)
        body = ("%d %s\n" % (total, h.hexdigest())).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/crash":
        os._exit(1)
    if path == "/hang":
        while True:
            time.sleep(3600)
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"not found\n"]
