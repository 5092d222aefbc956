# The application every server runs in bench/upload.sh: it hashes the
# request body and answers "<bytes> <sha256>". POST /read reads the body with
# one wsgi.input.read(); POST /read64k with a loop of read(65536), bounded
# by CONTENT_LENGTH as PEP 3333 asks (as Werkzeug's LimitedStream does).
# Anything else answers 200 (the start-up probe).
import hashlib


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    inp = environ["wsgi.input"]
    h = hashlib.sha256()
    n = 0
    if path == "/read":
        b = inp.read()
        h.update(b)
        n = len(b)
        del b
    elif path == "/read64k":
        left = int(environ.get("CONTENT_LENGTH") or 0)
        while left > 0:
            b = inp.read(min(65536, left))
            if not b:
                break
            h.update(b)
            n += len(b)
            left -= len(b)
    body = ("%d %s\n" % (n, h.hexdigest())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
