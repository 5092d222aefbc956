# Test application for TestUploadModes: consumes wsgi.input one way and
# answers "<bytes> <sha256> <ok|what went wrong>".
import hashlib
from urllib.parse import parse_qs


def pieces(inp, mode, n):
    if mode == 'read':
        yield inp.read()
        yield inp.read()  # at the end: b''
    elif mode == 'readn':
        while True:
            b = inp.read(n)
            if not b:
                return
            if len(b) > n:
                raise AssertionError('read(%d) returned %d bytes' % (n, len(b)))
            yield b
    elif mode == 'readline':
        while True:
            line = inp.readline(n)
            if not line:
                return
            yield line
    elif mode == 'readlines':
        while True:
            lines = inp.readlines(n)
            if not lines:
                return
            yield from lines
    elif mode == 'iter':
        yield from inp
    else:
        raise ValueError(mode)


def application(environ, start_response):
    args = {k: v[0] for k, v in parse_qs(environ.get('QUERY_STRING', '')).items()}
    mode = args['mode']
    n = int(args.get('n', '-1'))
    h = hashlib.sha256()
    total = 0
    bad = []
    last = None
    for p in pieces(environ['wsgi.input'], mode, n):
        if mode in ('readline', 'readlines', 'iter'):
            # A line ends at its only newline, or at the size limit, or at
            # the end of the body (the last one).
            if last is not None and not last.endswith(b'\n') and not (mode == 'readline' and len(last) == n):
                bad.append('a line that does not end a line: %r' % last[-20:])
            if b'\n' in p[:-1]:
                bad.append('a newline inside a line at %d' % (total + p.index(b'\n')))
            if mode == 'readline' and n > 0 and len(p) > n:
                bad.append('readline(%d) returned %d bytes' % (n, len(p)))
            last = p
        h.update(p)
        total += len(p)
    body = ('%d %s %s' % (total, h.hexdigest(), '; '.join(bad[:3]) or 'ok')).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
