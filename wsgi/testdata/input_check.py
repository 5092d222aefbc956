# Unit check of the adapter's wsgi.input (class Input), run by
# TestInputLinear: python3 input_check.py ADAPTER.py
#
# A fake Go side answers each READ with a piece of the body (never more than
# asked, nor than the Go side's 256 KiB, nor than what "arrived", following a
# schedule), as wsgi/exchange.go's sendBody does. It checks:
#   - every call returns what io.BytesIO over the same body returns (random
#     mixes of read(n), read(), readline(size), readlines(hint), next());
#   - work is linear in the body size: the bytes allocated while a whole body
#     is consumed (tracemalloc: the rise of the peak between two answers,
#     summed), divided by the body size, stay under a small constant, for
#     read(), read(n) of the whole size, a read(65536) loop, readline() on a
#     body of one long line and on lines of every length, readlines(),
#     iteration;
#   - round trips are few: one READ per answer, plus the one that finds the
#     end; a read(65536) loop asks for 256 KiB at a time.
# Counts, not clocks: the quadratic buffer this replaces is caught by the
# allocation factor (it grows with the body size), not by a timing.
import ast
import io
import random
import socket
import sys
import threading
import tracemalloc

GO_MAX = 256 << 10  # maxReadChunk in proto.go
RID = 7


def load_adapter(path):
    """The adapter's definitions, without running its main()."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    tree.body = [n for n in tree.body if not (
        isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
        and getattr(n.value.func, 'id', None) == 'main')]
    ns = {'__name__': 'gowsgi_adapter_check'}
    exec(compile(tree, path, 'exec'), ns)
    return ns


A = load_adapter(sys.argv[1])
HDR, U32, READ, BODY, EOF = A['HDR'], A['U32'], A['READ'], A['BODY'], A['EOF']
FAILED = []


def fail(msg):
    FAILED.append(msg)
    print('FAIL', msg)


class Meter:
    """Sums the rises of traced memory's peak between ticks: what was
    allocated, transiently or not, in each interval."""

    def __init__(self):
        self.total = 0
        self.base = 0

    def start(self):
        tracemalloc.reset_peak()
        self.base = tracemalloc.get_traced_memory()[0]
        self.total = 0

    def tick(self):
        cur, peak = tracemalloc.get_traced_memory()
        self.total += peak - self.base
        tracemalloc.reset_peak()
        self.base = cur


class FakeConn:
    """The Go side of one request: answers READ frames from body, each
    answer at most the size asked, GO_MAX, and the next arrival size."""

    def __init__(self, body, arrivals, meter=None):
        self.body = body
        self.off = 0
        self.arrivals = arrivals  # iterator of sizes
        self.asked = None
        self.reads = 0
        self.asks = []
        self.cur_aborted = False
        self.meter = meter

    def send(self, data):
        t, rid, n = HDR.unpack_from(data)
        if t != READ or rid != RID or n != 4 or len(data) != 13:
            raise AssertionError('unexpected frame %r' % data[:16])
        if self.asked is not None:
            raise AssertionError('two READs in flight')
        self.asked = U32.unpack_from(data, 9)[0]
        self.asks.append(self.asked)
        self.reads += 1

    def body_frame(self):
        if self.asked is None:
            raise AssertionError('body_frame without a READ')
        n = self.asked if 0 < self.asked <= GO_MAX else GO_MAX
        self.asked = None
        if self.meter:
            self.meter.tick()
        n = min(n, next(self.arrivals), len(self.body) - self.off)
        if n <= 0:
            return EOF, RID, b''
        p = self.body[self.off:self.off + n]
        self.off += n
        return BODY, RID, p


def constant(n):
    while True:
        yield n


def random_sizes(rng, lo, hi):
    while True:
        yield rng.randint(lo, hi)


def make_input(body, arrivals, inline=False, meter=None):
    if inline:
        # REQ_FULL: the whole body came with the request.
        return A['Input'](FakeConn(b'', constant(1)), RID, body, True)
    return A['Input'](FakeConn(body, arrivals, meter), RID, b'', False)


def random_ops(rng):
    ops = []
    for _ in range(rng.randint(1, 6)):
        k = rng.choice(['read', 'readn', 'readline', 'readline_n', 'readlines', 'next', 'read0'])
        n = rng.choice([1, 2, 7, 100, 4095, 65535, 65536, 65537, 262143, 262144, 262145, 400000])
        ops.append((k, n))
    return ops


def apply(f, op):
    k, n = op
    if k == 'read':
        return f.read()
    if k == 'readn':
        return f.read(n)
    if k == 'read0':
        return f.read(0)
    if k == 'readline':
        return f.readline()
    if k == 'readline_n':
        return f.readline(n)
    if k == 'readlines':
        return f.readlines(n)
    if k == 'next':
        return next(f, None)
    raise ValueError(k)


def random_body(rng, size):
    # Lines of every length, across answer boundaries.
    out = bytearray()
    while len(out) < size:
        n = rng.choice([0, 1, 5, 80, 4000, 65535, 65536, 262143, 262144, 300000])
        out += bytes([rng.randrange(32, 127)]) * n
        if rng.random() < 0.8:
            out += b'\n'
    return bytes(out[:size])


def check_against_bytesio(rng, rounds):
    sizes = [0, 1, 10, 65535, 65536, 65537, 262143, 262144, 262145, 524288, 1 << 20]
    for i in range(rounds):
        size = rng.choice(sizes) if i % 2 else rng.randint(0, 1 << 20)
        body = random_body(rng, size)
        inline = size <= 65536 and rng.random() < 0.3
        scheds = [constant(GO_MAX), constant(32768), random_sizes(rng, 1000, 300000)]
        if size <= 70000:
            scheds += [constant(1), random_sizes(rng, 1, 300)]
        sched = rng.choice(scheds)
        got = make_input(body, sched, inline)
        want = io.BytesIO(body)
        steps = []
        while want.tell() < len(body) or not steps:
            for op in random_ops(rng):
                g, w = apply(got, op), apply(want, op)
                steps.append(op)
                if g != w:
                    fail('round %d (size %d, inline %s): after %r: got %s..., want %s...' % (
                        i, size, inline, steps[-8:], repr(g)[:80], repr(w)[:80]))
                    return
        if got.read() != b'' or got.readline() != b'' or next(got, None) is not None:
            fail('round %d: data after the end' % i)
            return
    print('ok random mixes against io.BytesIO: %d bodies' % rounds)


def consume(mode, f):
    out = []
    if mode == 'read':
        out.append(f.read())
    elif mode == 'read_all_n':
        out.append(f.read(SIZE))
    elif mode.startswith('read_n'):
        n = int(mode[6:])
        while True:
            b = f.read(n)
            if not b:
                break
            out.append(b)
    elif mode == 'readline':
        while True:
            line = f.readline()
            if not line:
                break
            out.append(line)
    elif mode == 'readline_65536':
        while True:
            line = f.readline(65536)
            if not line:
                break
            out.append(line)
    elif mode == 'readlines':
        out.extend(f.readlines())
    elif mode == 'readlines_hint':
        while True:
            lines = f.readlines(100000)
            if not lines:
                break
            out.extend(lines)
    elif mode == 'iter':
        out.extend(f)
    return out


SIZE = 8 << 20


def check_linear():
    rng = random.Random(18)
    one_line = bytes(rng.randrange(32, 127) for _ in range(4096)) * (SIZE // 4096)
    lines = random_body(rng, SIZE)
    cases = [
        ('read', one_line, GO_MAX),
        ('read', one_line, 65536),
        ('read', one_line, 32768),
        ('read_all_n', one_line, 65536),
        ('read_n65536', one_line, GO_MAX),
        ('read_n65536', one_line, 32768),
        ('read_n1000000', one_line, 65536),
        ('readline', one_line, 65536),
        ('readline', lines, 65536),
        ('readline_65536', one_line, GO_MAX),
        ('readlines', lines, 65536),
        ('readlines_hint', lines, GO_MAX),
        ('iter', lines, 32768),
    ]
    tracemalloc.start()
    for mode, body, arrival in cases:
        meter = Meter()
        f = make_input(body, constant(arrival), meter=meter)
        meter.start()
        out = consume(mode, f)
        meter.tick()
        data = b''.join(out)
        factor = meter.total / len(body)
        answers = -(-len(body) // min(arrival, GO_MAX))
        reads = f.conn.reads
        line = '%-15s arrivals %6d: allocated %5.2f× the body, %4d READs for %4d answers' % (
            mode, arrival, factor, reads, answers)
        if data != body:
            fail(line + ': wrong bytes')
        elif factor > 4:
            fail(line + ': more than 4× (quadratic buffer?)')
        elif reads > answers + 1:
            fail(line + ': more READs than answers + 1')
        else:
            print('ok', line)
        del out, data
    tracemalloc.stop()


def check_asks():
    # A read(65536) loop asks for the Go side's whole answer size, so that
    # one round trip serves four calls.
    f = make_input(b'x' * (1 << 20), constant(GO_MAX))
    while f.read(65536):
        pass
    if f.conn.reads != 5 or min(f.conn.asks) < GO_MAX:
        fail('read(65536) loop over 1 MiB: %d READs asking %s, want 5 asking %d' % (
            f.conn.reads, sorted(set(f.conn.asks)), GO_MAX))
    else:
        print('ok read(65536) loop: 5 READs of %d for 1 MiB' % GO_MAX)


def check_abort():
    f = make_input(b'x' * 100, constant(10))
    f.read(5)
    f.conn.cur_aborted = True
    try:
        f.read()
    except A['Aborted']:
        print('ok an aborted request raises Aborted on the next READ')
    else:
        fail('read() after the client left did not raise')


def check_conn_frames():
    # The adapter's Conn on a real socket pair with small buffers, so that
    # frames arrive cut anywhere: BODY frames of every size, a frame's
    # tail and the next frame in one read, an EOF, then an ABORT.
    a, b = socket.socketpair()
    for s in (a, b):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    rng = random.Random(9)
    sizes = [1, 8, 9, 4096, 65527, 65536, 65545, 100000, 262144, 262144, 3, 262143]
    bodies = [bytes(rng.randrange(256) for _ in range(64)) * (n // 64) + b'z' * (n % 64) for n in sizes]
    stream = b''.join(HDR.pack(BODY, RID, len(x)) + x for x in bodies)
    stream += HDR.pack(EOF, RID, 0) + HDR.pack(BODY, RID, 5) + b'hello' + HDR.pack(A['ABORT'], RID, 0)

    def writer():
        i = 0
        while i < len(stream):
            n = rng.choice([1, 7, 9, 100, 5000, 70000])
            b.sendall(stream[i:i + n])
            i += n

    t = threading.Thread(target=writer)
    t.start()
    c = A['Conn'](a, None)
    c.cur = RID
    got = []
    try:
        for _ in bodies:
            got.append(c.body_frame())
        eof = c.body_frame()
        five = c.body_frame()
        try:
            c.body_frame()
            aborted = False
        except A['Aborted']:
            aborted = True
    finally:
        t.join()
        a.close()
        b.close()
    bad = [i for i, (f, want) in enumerate(zip(got, bodies)) if f != (BODY, RID, want)]
    if bad or eof[0] != EOF or five != (BODY, RID, b'hello') or not aborted:
        fail('Conn.body_frame over a socket: wrong frames %s, eof %r, then %r, aborted %s' % (
            bad, eof[:2], five, aborted))
    else:
        print('ok Conn.body_frame: %d frames cut anywhere, EOF, ABORT' % (len(bodies) + 2))


check_against_bytesio(random.Random(3333), 400)
check_linear()
check_asks()
check_abort()
check_conn_frames()
if FAILED:
    print('%d failures' % len(FAILED))
    sys.exit(1)
