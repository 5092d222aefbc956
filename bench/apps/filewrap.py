# The download application of bench/filewrap.sh: sends the file named by the
# BENCH_FILE environment variable through wsgi.file_wrapper, as Trac does
# for attachments, with the app's own Content-Length.
import os

PATH = os.environ["BENCH_FILE"]


def application(environ, start_response):
    f = open(PATH, "rb")
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(size)),
    ])
    return environ["wsgi.file_wrapper"](f, 1 << 16)
