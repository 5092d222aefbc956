# The WSGI application of bench/mixed.sh: /slow sleeps 500 ms (a long
# request: a report, a big query), anything else (/fast) answers at once.
import time

FAST = b"fast\n"
SLOW = b"slow\n"


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        time.sleep(0.5)
        body = SLOW
    else:
        body = FAST
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
