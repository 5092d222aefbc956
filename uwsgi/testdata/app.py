# A Flask application for package uwsgi's tests, run by Debian's uWSGI
# (python3 plugin) behind the uwsgi handler.
import hashlib
import json
import os
import time

from flask import Flask, Response, request, url_for

app = Flask(__name__)
application = app


@app.route("/env")
def env():
    e = request.environ
    keys = ["SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "REQUEST_METHOD",
            "REMOTE_USER", "AUTH_TYPE", "REMOTE_ADDR", "SERVER_NAME", "SERVER_PORT",
            "SERVER_PROTOCOL", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_X_TEST", "HTTP_HOST",
            "HTTP_AUTHORIZATION", "wsgi.url_scheme", "trac.env_path"]
    out = {k: e.get(k) for k in keys}
    out["url_for"] = url_for("env")
    out["url_for_external"] = url_for("env", _external=True)
    return Response(json.dumps(out), mimetype="application/json")


@app.route("/upload", methods=["POST", "PUT"])
def upload():
    h = hashlib.sha256()
    n = 0
    while True:
        b = request.stream.read(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    return "%s %d" % (h.hexdigest(), n)


@app.route("/stream")
def stream():
    # Yields a first line, then waits for the test to create the gate file
    # (proof that the first line reached it), then a second line.
    gate = request.args["gate"]

    def gen():
        yield b"first\n"
        deadline = time.time() + 20
        while not os.path.exists(gate) and time.time() < deadline:
            time.sleep(0.01)
        yield b"second\n" if os.path.exists(gate) else b"gate never opened\n"

    return Response(gen(), mimetype="text/plain")


@app.route("/file")
def file():
    path = request.args["path"]
    f = open(path, "rb")
    size = os.fstat(f.fileno()).st_size
    body = request.environ["wsgi.file_wrapper"](f, 65536)
    return Response(body, headers={"Content-Length": str(size)}, mimetype="application/octet-stream",
                    direct_passthrough=True)


@app.route("/die")
def die():
    # Promises a megabyte, sends a kilobyte, and the worker dies.
    def gen():
        yield b"x" * 1024
        os._exit(1)

    return Response(gen(), headers={"Content-Length": str(1 << 20)}, direct_passthrough=True)


@app.route("/slow", methods=["GET", "POST"])
def slow():
    request.get_data()
    time.sleep(float(request.args.get("s", "0.1")))
    return "slow done %d" % os.getpid()


@app.route("/hello")
def hello():
    return "Hello, World!"
