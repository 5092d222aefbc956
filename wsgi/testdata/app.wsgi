# Test application for package wsgi: one endpoint per behaviour under test.
import hashlib
import io
import json
import os
import sys
import time
from urllib.parse import parse_qs

LEAK = []
KEPT = []


def q(environ):
    return {k: v[0] for k, v in parse_qs(environ.get('QUERY_STRING', '')).items()}


def text(start_response, body, status='200 OK', extra=()):
    if isinstance(body, str):
        body = body.encode('utf-8')
    start_response(status, [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))] + list(extra))
    return [body]


class Closing:
    def __init__(self, n, size, marker, delay):
        self.n, self.size, self.marker, self.delay = n, size, marker, delay

    def __iter__(self):
        for i in range(self.n):
            if self.delay:
                time.sleep(self.delay)
            yield (b'%08d' % i) * (self.size // 8)

    def close(self):
        if self.marker:
            with open(self.marker, 'w') as f:
                f.write('closed')


def application(environ, start_response):
    path = environ['PATH_INFO']
    args = q(environ)
    if path == '/hello':
        return text(start_response, 'Hello, World!\n')
    if path.startswith('/env'):
        out = {}
        for k, v in environ.items():
            if isinstance(v, str):
                out[k] = v
            elif isinstance(v, (bool, tuple)):
                out[k] = repr(v)
        # PEP 3333 native strings: latin-1 code points; ship them as such.
        return text(start_response, json.dumps(out), extra=[('Content-Type', 'application/json')][:0])
    if path == '/osenv':
        return text(start_response, os.environ.get('TRAC_ENV', '-'))
    if path == '/pid':
        return text(start_response, str(os.getpid()))
    if path == '/upload':
        h = hashlib.sha256()
        n = 0
        inp = environ['wsgi.input']
        while True:
            b = inp.read(int(args.get('chunk', '65536')))
            if not b:
                break
            h.update(b)
            n += len(b)
        return text(start_response, '%d %s' % (n, h.hexdigest()))
    if path == '/echo':
        body = environ['wsgi.input'].read()
        start_response('200 OK', [('Content-Type', 'application/octet-stream')])
        return [body]
    if path == '/lines':
        inp = environ['wsgi.input']
        mode = args.get('mode', 'iter')
        if mode == 'iter':
            lines = list(inp)
        elif mode == 'readlines':
            lines = inp.readlines()
        else:
            size = int(args.get('size', '-1'))
            lines = []
            while True:
                line = inp.readline(size)
                if not line:
                    break
                lines.append(line)
        return text(start_response, json.dumps([l.decode('latin-1') for l in lines]))
    if path == '/stream':
        n = int(args.get('n', '3'))
        size = int(args.get('size', '8'))
        delay = float(args.get('delay', '0'))
        start_response('200 OK', [('Content-Type', 'application/octet-stream')])
        return Closing(n, size, args.get('marker'), delay)
    if path == '/write':
        write = start_response('200 OK', [('Content-Type', 'text/plain')])
        write(b'written ')
        write(b'then ')
        return [b'returned']
    if path == '/raise':
        raise RuntimeError('boom from the app')
    if path == '/raise-after':
        start_response('200 OK', [('Content-Type', 'text/plain')])

        def gen():
            yield b'partial'
            raise RuntimeError('boom after headers')
        return gen()
    if path == '/exc-info':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        try:
            raise ValueError('handled')
        except ValueError:
            start_response('500 Internal Server Error', [('Content-Type', 'text/plain')], sys.exc_info())
        return [b'recovered']
    if path == '/start-twice':
        start_response('200 OK', [])
        start_response('200 OK', [])
        return [b'no']
    if path == '/hop':
        return text(start_response, 'x', extra=[('Connection', 'close')])
    if path == '/hop-many':
        # Every hop-by-hop field, and one the Connection field names.
        body = b'end to end'
        start_response('200 OK', [
            ('Content-Type', 'text/plain'), ('Content-Length', str(len(body))),
            ('Connection', 'X-Hop-Secret, keep-alive'), ('X-Hop-Secret', 'internal'),
            ('Keep-Alive', 'timeout=5'), ('Upgrade', 'h2c'), ('Transfer-Encoding', 'chunked'),
            ('Proxy-Connection', 'keep-alive'), ('TE', 'trailers'), ('Trailer', 'X-T'),
            ('Proxy-Authenticate', 'Basic realm="x"'), ('Proxy-Authorization', 'Basic eA=='),
            ('X-End-To-End', 'kept')])
        return [body]
    if path == '/hg-post':
        # As Mercurial's hgweb answers a POST (unbundle): Connection: close,
        # no Content-Length, the body streamed in pieces.
        inp = environ['wsgi.input']
        n = len(inp.read())
        start_response('200 OK', [('Content-Type', 'application/mercurial-0.1'), ('Connection', 'close')])

        def gen():
            yield b'1\n'
            for i in range(int(args.get('n', '4'))):
                yield b'chunk %d of a streamed answer\n' % i
            yield b'read %d\n' % n
        return gen()
    if path == '/xsendfile':
        # As Trac's send_file with [trac] use_xsendfile: the file's size as
        # Content-Length, the path in X-Sendfile, and no body (here a
        # decoy one that must not be sent).
        headers = [('Content-Type', args.get('type', 'application/x-test')),
                   ('Content-Length', args.get('cl', '8'))]
        if 'path' in args:
            headers.append((args.get('h', 'X-Sendfile'), args['path']))
        start_response(args.get('status', '200 OK'), headers)
        return [b'app body']
    if path == '/badstatus':
        start_response(args.get('s', '200'), [])
        return [b'x']
    if path == '/badname':
        start_response('200 OK', [('Bad Name', 'x')])
        return [b'x']
    if path == '/crlf':
        start_response('200 OK', [('X-Split', 'a\r\nSet-Cookie: evil=1')])
        return [b'x']
    if path == '/nonlatin':
        start_response('200 OK', [('X-Name', '\u20ac')])
        return [b'x']
    if path == '/cl-over':
        start_response('200 OK', [('Content-Length', '5')])
        return [b'0123456789']
    if path == '/status':
        return text(start_response, 'status', status=args.get('s', '404 Not Found'))
    if path == '/errors':
        environ['wsgi.errors'].write('line one\nline two\n')
        return text(start_response, 'logged')
    if path == '/keep-errors':
        # As logging.StreamHandler(environ['wsgi.errors']) set up on a
        # first request does: the stream outlives its request.
        KEPT.append(environ['wsgi.errors'])
        return text(start_response, 'kept')
    if path == '/late-log':
        for e in KEPT:
            e.write('late line from an old request\n')
            e.write('late partial')
            e.flush()
        return text(start_response, 'late logged')
    if path == '/crash':
        os._exit(int(args.get('code', '1')))
    if path == '/hang':
        while True:
            time.sleep(1)
    if path == '/slow':
        time.sleep(float(args.get('ms', '100')) / 1000)
        return text(start_response, 'slow %d' % os.getpid())
    if path == '/leak':
        LEAK.append(bytearray(int(args.get('mb', '50')) << 20))
        return text(start_response, 'leaked %d' % len(LEAK))
    if path == '/file':
        f = open(args['path'], 'rb')
        off = int(args.get('offset', '0'))
        if off:
            f.seek(off)
        headers = [('Content-Type', 'application/octet-stream')]
        if 'cl' in args:
            headers.append(('Content-Length', args['cl']))
        start_response('200 OK', headers)
        if args.get('wrap') == 'bytesio':
            return environ['wsgi.file_wrapper'](io.BytesIO(f.read()), 8192)
        if args.get('wrap') == 'middleware':
            return (chunk for chunk in environ['wsgi.file_wrapper'](f, 8192))
        return environ['wsgi.file_wrapper'](f, 8192)
    return text(start_response, 'not found: ' + path, status='404 Not Found')
