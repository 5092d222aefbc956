# The application of bench/uwsgi-upstream.sh, run by one uWSGI instance that
# gowsgi (-upstream) and nginx (uwsgi_pass) both front: a hello world at any
# path, and at /big the file named by BENCH_BIG_FILE through
# wsgi.file_wrapper, with its Content-Length.
import os

BODY = b"Hello, World!\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]
BIG = os.environ.get("BENCH_BIG_FILE", "")


def application(environ, start_response):
    if environ["PATH_INFO"] == "/big":
        f = open(BIG, "rb")
        size = os.fstat(f.fileno()).st_size
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](f, 1 << 16)
    start_response("200 OK", HEADERS)
    return [BODY]
