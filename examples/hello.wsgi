# A hello-world WSGI application: go run ./cmd/gowsgi examples/hello.wsgi
def application(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
