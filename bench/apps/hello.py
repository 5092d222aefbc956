# The hello-world WSGI application every peer runs in bench/wsgi-hello.sh and
# bench/auth-basic.sh: the smallest response, so the figure is the server's
# own cost per request.
BODY = b"Hello, World!\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
