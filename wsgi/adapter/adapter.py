# gowsgi worker adapter: runs one WSGI application in this process and
# serves requests that the Go process sends over inherited socket pairs.
# Standard library only; Python >= 3.9. Embedded in package wsgi, which
# writes it to a private directory and runs it as
#   python3 -u -s .../gowsgi_worker.py SCRIPT #N
# with its configuration in the environment variable GOWSGI_WORKER_CONFIG.
#
# Frame: type (u8), request id (u32 LE), payload length (u32 LE), payload.
# One connection per request thread: each thread owns one socket and handles
# its requests strictly in the order they arrive (the Go side may queue a
# request behind the running one; it waits in `pending`).
import array
import collections
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import json
import marshal
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import weakref

HDR = struct.Struct('<BII')
U32 = struct.Struct('<I')
FILEHDR = struct.Struct('<qq')

# Go -> Python
REQ = 1        # u32 environ length, marshal(environ); body pulled with READ
REQ_FULL = 2   # same, followed by the complete request body
BODY = 3       # a piece of the request body
EOF = 4        # end of the request body
ABORT = 5      # the client went away: stop iterating, close()
# Python -> Go
HELLO = 16     # the application is loaded, ready for requests
HEADERS = 17   # status NUL name NUL value ... (latin-1)
DATA = 18      # body bytes, more follow at once
DATA_FLUSH = 19  # body bytes to flush now
END = 20       # the response is complete
ERROR = 21     # the application failed; payload is the traceback
LOG = 22       # a wsgi.errors line
READ = 23      # u32: the application wants up to n more body bytes
FILE = 24      # i64 offset, i64 length (-1: to EOF); the fd rides SCM_RIGHTS

MAX_CHUNK = 1 << 20


class Aborted(OSError):
    """The client disconnected."""


class Conn:
    def __init__(self, sock, worker):
        self.sock = sock
        self.w = worker
        self.rbuf = b''
        self.rpos = 0
        self.pending = collections.deque()
        self.cur = None
        self.cur_aborted = False
        self.lock = threading.Lock()
        # With a database budget: held while a request runs, so that the
        # budget's thread closes this thread's idle connections only
        # between requests (see Budget).
        self.busy = threading.Lock() if getattr(worker, 'budget', None) is not None else None
        self.db_idle = ()        # Django connections left open by the last request
        self.db_idle_since = 0.0
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)

    # --- receiving -------------------------------------------------------
    def _recv(self, block):
        # 64 KiB reads: larger ones make CPython allocate (and release) a
        # buffer with mmap on every call. Without block, poll(0) first: most
        # of the time nothing came, and a failed recv costs an exception.
        try:
            if block:
                self.poller.poll()
            elif not self.poller.poll(0):
                return False
            data = self.sock.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b''
        if not data:
            # The Go side closed the socket (or died): nothing more to do.
            os._exit(0)
        if self.rpos == len(self.rbuf):
            self.rbuf = data
        else:
            self.rbuf = self.rbuf[self.rpos:] + data
        self.rpos = 0
        return True

    def _frame(self):
        """Return the next buffered frame, or None."""
        buf = self.rbuf
        pos = self.rpos
        if len(buf) - pos < 9:
            return None
        t, rid, n = HDR.unpack_from(buf, pos)
        end = pos + 9 + n
        if len(buf) < end:
            return None
        payload = buf[pos + 9:end]
        self.rpos = end
        return t, rid, payload

    def _route(self, f):
        """Handle control frames; return BODY/EOF frames of the current
        request, None otherwise."""
        t, rid, _ = f
        if t == REQ or t == REQ_FULL:
            self.pending.append(f)
        elif t == ABORT:
            self._abort(rid)
        elif rid == self.cur:
            return f
        return None

    def _route_all(self):
        """Route every complete buffered frame, as _route does, dropping
        BODY/EOF frames: outside body_frame nothing asked for them."""
        buf = self.rbuf
        pos = self.rpos
        size = len(buf)
        unpack = HDR.unpack_from
        while size - pos >= 9:
            t, rid, n = unpack(buf, pos)
            end = pos + 9 + n
            if end > size:
                break
            if t == REQ or t == REQ_FULL:
                self.pending.append((t, rid, buf[pos + 9:end]))
            elif t == ABORT:
                self._abort(rid)
            pos = end
        self.rpos = pos

    def _abort(self, rid):
        # The running request stops at its next chance; a waiting one is
        # dropped, answered with a bare END.
        if rid == self.cur:
            self.cur_aborted = True
            return
        for p in self.pending:
            if p[1] == rid:
                self.pending.remove(p)
                self.send(HDR.pack(END, rid, 0))
                return

    def poll(self):
        """Take in whatever arrived, without blocking."""
        while self._recv(False):
            pass
        if self.rpos < len(self.rbuf):
            self._route_all()

    def _frame_rest(self):
        """The frame whose header is buffered, its payload completed from
        the socket in pieces joined once (rebuilding rbuf on every 64 KiB
        read, as _recv does, copies a 256 KiB body piece ~3 times into
        fresh memory, which costs more CPU than hashing it)."""
        buf, pos = self.rbuf, self.rpos
        t, rid, n = HDR.unpack_from(buf, pos)
        parts = [buf[pos + 9:]]
        need = n - (len(buf) - pos - 9)
        self.rbuf = b''
        self.rpos = 0
        while need > 0:
            try:
                self.poller.poll()
                data = self.sock.recv(65536, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b''
            if not data:
                os._exit(0)  # as in _recv
            if len(data) > need:
                parts.append(data[:need])
                self.rbuf = data
                self.rpos = need
                break
            parts.append(data)
            need -= len(data)
        return t, rid, b''.join(parts)

    def body_frame(self):
        while True:
            f = self._frame()
            if f is None:
                if len(self.rbuf) - self.rpos < 9:
                    self._recv(True)
                    continue
                f = self._frame_rest()
            f = self._route(f)
            if f is not None:
                return f
            if self.cur_aborted:
                raise Aborted('gowsgi: client disconnected')

    def next_request(self):
        # Route all that was read with a request: an ABORT for a waiting
        # request must be seen before that request starts.
        if self.rpos < len(self.rbuf):
            self._route_all()
        while not self.pending:
            self._recv(True)
            self._route_all()
        return self.pending.popleft()

    # --- sending ---------------------------------------------------------
    def send(self, data):
        with self.lock:
            self.sock.sendall(data)

    def send_fd(self, data, fd):
        with self.lock:
            n = self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [fd]))])
            if n < len(data):
                self.sock.sendall(data[n:])

    def check_in(self):
        """The request ended: its thread's open Django connections become
        idle, or are closed at once when connections are owed."""
        try:
            idle = django_open_connections()
            budget = self.w.budget
            if idle and budget.owed > 0 and budget.pay():
                closed = False
                for w in idle:
                    try:
                        w.close()
                        closed = True
                    except Exception:
                        pass
                if closed:
                    idle = django_open_connections()
                else:
                    with budget.lock:
                        budget.owed += 1
            self.db_idle = idle
            self.db_idle_since = time.time()
        finally:
            self.busy.release()

    def run(self):
        while True:
            t, rid, payload = self.next_request()
            if self.busy is not None:
                self.busy.acquire()
                self.db_idle = ()
            self.cur = rid
            self.cur_aborted = False
            try:
                self.w.handle(self, t, rid, payload)
            except Aborted:
                try:
                    self.send(HDR.pack(END, rid, 0))
                except OSError:
                    os._exit(0)
            except BaseException:
                # Errors of the adapter itself: report and keep serving.
                try:
                    tb = traceback.format_exc().encode('utf-8', 'replace')
                    self.send(HDR.pack(ERROR, rid, len(tb)) + tb)
                except OSError:
                    os._exit(0)
            finally:
                if self.busy is not None:
                    self.check_in()
            self.cur = None


# READ_MAX is what a READ asks for: the most the Go side sends in one answer
# (maxReadChunk in proto.go). It answers with what it has at hand, never
# waiting to fill it, so asking for more than the application wants costs
# nothing and saves round trips.
READ_MAX = 256 << 10


class Input:
    """wsgi.input: the request body, pulled from the Go side on demand.

    Linear in the body size, whatever mix of calls the application makes:
    the buffer is one answer from the Go side (buf, read from pos); a call
    that needs more than it holds collects the following answers in a list
    and joins them once, and readline() scans each byte once. Every byte is
    copied at most twice here, and at most READ_MAX bytes wait in the buffer.
    """

    def __init__(self, conn, rid, data, done):
        self.conn = conn
        self.rid = rid
        self.buf = data
        self.pos = 0
        self.done = done

    def _piece(self):
        """The next answer from the Go side, or b'' at the end of the body."""
        c = self.conn
        while not self.done:
            if c.cur_aborted:
                raise Aborted('gowsgi: client disconnected')
            c.send(HDR.pack(READ, self.rid, 4) + U32.pack(READ_MAX))
            t, _, payload = c.body_frame()
            if t == EOF:
                self.done = True
            elif payload:
                return payload
        return b''

    def _rest(self):
        """Take what is left of the buffer."""
        buf, pos = self.buf, self.pos
        self.buf = b''
        self.pos = 0
        return buf[pos:] if pos else buf

    def read(self, size=-1):
        if size is None:
            size = -1
        buf, pos = self.buf, self.pos
        have = len(buf) - pos
        if 0 <= size <= have:
            self.pos = pos + size
            return buf[pos:pos + size]
        parts = [self._rest()] if have else []
        need = size - have  # < 0: to the end
        while need:
            p = self._piece()
            if not p:
                break
            if 0 < need < len(p):
                parts.append(p[:need])
                self.buf = p
                self.pos = need
                break
            parts.append(p)
            need -= len(p)
        return b''.join(parts)

    def readline(self, size=-1):
        if size is None or size < 0:
            size = -1
        elif size == 0:
            return b''
        buf, pos = self.buf, self.pos
        end = len(buf) if size < 0 else min(len(buf), pos + size)
        i = buf.find(b'\n', pos, end)
        if i >= 0 or end < len(buf) or end - pos == size:
            end = i + 1 if i >= 0 else end
            self.pos = end
            return buf[pos:end]
        # The line goes on past the buffer: scan the answers that follow.
        parts = [self._rest()] if end > pos else []
        got = end - pos
        while True:
            p = self._piece()
            if not p:
                return b''.join(parts)
            end = len(p) if size < 0 else min(len(p), size - got)
            i = p.find(b'\n', 0, end)
            if i >= 0 or end < len(p) or got + end == size:
                end = i + 1 if i >= 0 else end
                parts.append(p[:end] if end < len(p) else p)
                self.buf = p
                self.pos = end
                return b''.join(parts)
            parts.append(p)
            got += len(p)

    def readlines(self, hint=-1):
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class Errors:
    """wsgi.errors: text lines logged by the Go side with the request. Once
    the request ended (end) or was aborted, writes go to the process's
    stderr, which the Go side logs too: an application may keep the object
    (a logging handler set up on the first request) and write to it later."""

    # One lock for all: writes are rare, and a lock per request would cost
    # its allocation on every request.
    lock = threading.Lock()

    def __init__(self, conn, rid):
        self.conn = conn  # None once the request ended
        self.rid = rid
        self.buf = ''

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError('wsgi.errors.write() takes str')
        with self.lock:
            if self.conn is None:
                sys.stderr.write(s)
                return len(s)
            self.buf += s
            if '\n' in self.buf:
                lines, _, self.buf = self.buf.rpartition('\n')
                self._send(lines)
        return len(s)

    def writelines(self, seq):
        for s in seq:
            self.write(s)

    def flush(self):
        with self.lock:
            if self.conn is None:
                sys.stderr.flush()
            elif self.buf:
                self._send(self.buf)
                self.buf = ''

    def end(self):
        """The request is ending: send the partial line, if any, before the
        request's last frame; later writes go to stderr."""
        with self.lock:
            if self.conn is not None and self.buf:
                self._send(self.buf)
                self.buf = ''
            self.conn = None

    def _send(self, text):
        if self.conn.cur_aborted:
            # The Go side stopped listening to the request: its stderr
            # reader logs the lines instead.
            sys.stderr.write(text + '\n')
            return
        b = text.encode('utf-8', 'replace')
        try:
            self.conn.send(HDR.pack(LOG, self.rid, len(b)) + b)
        except OSError:
            pass


class FileWrapper:
    """wsgi.file_wrapper: a regular file with a descriptor is handed to the
    Go process (SCM_RIGHTS), which sends it with sendfile; anything else is
    iterated in blocks."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, 'close'):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def fd(self):
        try:
            fd = self.filelike.fileno()
            st = os.fstat(fd)
        except Exception:
            return -1
        import stat
        if not stat.S_ISREG(st.st_mode):
            return -1
        return fd


class Response:
    """The response to one request: start_response and write for the
    application, and the frames they make."""

    __slots__ = ('conn', 'rid', 'head', 'headers', 'sent')

    def __init__(self, conn, rid, head):
        self.conn = conn
        self.rid = rid
        self.head = head      # a HEAD request: the body is not sent
        self.headers = None   # the HEADERS frame, once start_response ran
        self.sent = False     # whether the HEADERS frame went out

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.headers is not None:
            raise AssertionError('start_response called a second time without exc_info')
        if type(status) is not str:
            raise TypeError('status must be str, not %s' % type(status).__name__)
        parts = [status]
        for h in headers:
            if type(h) is not tuple or len(h) != 2:
                raise TypeError('a header must be a (name, value) tuple: %r' % (h,))
            name, value = h
            if type(name) is not str or type(value) is not str:
                raise TypeError('header name and value must be str: %r' % (h,))
            parts += h
        blob = '\0'.join(parts)
        if blob.count('\0') != len(parts) - 1:
            raise ValueError('NUL in status or header')
        b = blob.encode('latin-1')  # raises for non-latin-1
        self.headers = HDR.pack(HEADERS, self.rid, len(b)) + b
        return self.write

    def headers_frame(self):
        """Return the HEADERS frame, which the caller sends."""
        h = self.headers
        if h is None:
            raise AssertionError('application returned data before start_response')
        self.sent = True
        return h

    def write(self, data):
        if type(data) is not bytes:
            raise TypeError('write() takes bytes, not %s' % type(data).__name__)
        conn = self.conn
        if conn.cur_aborted:
            raise Aborted('gowsgi: client disconnected')
        out = b''
        if not self.sent:
            out = self.headers_frame()
        if data and not self.head:
            out += data_frames(DATA_FLUSH, self.rid, data)
        if out:
            conn.send(out)
        conn.poll()


class Worker:
    def __init__(self, app, base, budget=None):
        self.app = app
        self.base = base
        self.budget = budget

    def handle(self, conn, t, rid, payload):
        errors = Errors(conn, rid)
        try:
            self.respond(conn, t, rid, payload, errors)
        finally:
            # Every way out, an exception or an abort included: a partial
            # wsgi.errors line goes before the request's last frame (which
            # Conn.run sends after an exception). The ways out that send
            # the last frame themselves ended it already.
            if errors.conn is not None:
                errors.end()

    def respond(self, conn, t, rid, payload, errors):
        n = U32.unpack_from(payload)[0]
        env = marshal.loads(payload[4:4 + n])
        env.update(self.base)
        if t == REQ_FULL:
            env['wsgi.input'] = Input(conn, rid, payload[4 + n:], True)
        else:
            env['wsgi.input'] = Input(conn, rid, b'', False)
        env['wsgi.errors'] = errors
        resp = Response(conn, rid, env.get('REQUEST_METHOD') == 'HEAD')

        result = self.app(env, resp.start_response)
        try:
            if type(result) is list or type(result) is tuple:
                # The whole response in one send: HEADERS, DATA frames, END.
                out = []
                for chunk in result:
                    if type(chunk) is not bytes:
                        raise TypeError('the application must yield bytes, not %s' % type(chunk).__name__)
                    if chunk and not resp.head:
                        if not resp.sent:
                            out.append(resp.headers_frame())
                        if len(chunk) <= MAX_CHUNK:  # else data_frames splits it
                            out.append(HDR.pack(DATA, rid, len(chunk)))
                            out.append(chunk)
                        else:
                            out.append(data_frames(DATA, rid, chunk))
                if not resp.sent:
                    out.append(resp.headers_frame())
                errors.end()
                out.append(HDR.pack(END, rid, 0))
                conn.send(b''.join(out))
                return
            if type(result) is FileWrapper and not resp.sent:
                fd = result.fd()
                if fd >= 0 and resp.headers is not None:
                    self.send_file(conn, rid, result, fd, resp, errors)
                    return
            for chunk in result:
                if type(chunk) is not bytes:
                    raise TypeError('the application must yield bytes, not %s' % type(chunk).__name__)
                if chunk:
                    out = b''
                    if not resp.sent:
                        out = resp.headers_frame()
                    if not resp.head:
                        out += data_frames(DATA_FLUSH, rid, chunk)
                    conn.send(out)
                    conn.poll()
                if conn.cur_aborted:
                    break
            if not resp.sent:
                conn.send(resp.headers_frame())
        except BaseException:
            close_quietly(result, errors)
            raise
        else:
            if hasattr(result, 'close'):
                result.close()
        errors.end()
        conn.send(HDR.pack(END, rid, 0))

    def send_file(self, conn, rid, result, fd, resp, errors):
        try:
            offset = os.lseek(fd, 0, os.SEEK_CUR)
            length = -1
            parts = resp.headers_frame()
            # The app's own Content-Length bounds the length (PEP 3333).
            fields = parts[9:].split(b'\0')
            for i in range(1, len(fields) - 1, 2):
                if fields[i].lower() == b'content-length':
                    try:
                        length = int(fields[i + 1])
                    except ValueError:
                        pass
            conn.send(parts)
            conn.send_fd(HDR.pack(FILE, rid, 16) + FILEHDR.pack(offset, length), fd)
        finally:
            if hasattr(result, 'close'):
                result.close()
        errors.end()
        conn.send(HDR.pack(END, rid, 0))


def close_quietly(result, errors):
    if hasattr(result, 'close'):
        try:
            result.close()
        except BaseException:
            errors.write(traceback.format_exc())


def data_frames(kind, rid, data):
    if len(data) <= MAX_CHUNK:
        return HDR.pack(kind, rid, len(data)) + data
    out = []
    mv = memoryview(data)
    for i in range(0, len(data), MAX_CHUNK):
        piece = mv[i:i + MAX_CHUNK]
        out.append(HDR.pack(kind, rid, len(piece)))
        out.append(piece)
    return b''.join(out)

# --- the database connection budget (Config.DBMaxConnections) ------------
# Each new connection of a DB-API driver takes a slot from the Go process
# before it opens and gives it back once closed (or garbage-collected). The
# drivers are wrapped when the application imports them, never imported
# here. A thread of its own reads the Go side's answers and questions on the
# control socket: slots granted or refused, and requests to close idle
# connections, which go through their owner's bookkeeping (Trac's pool,
# Django's connection handler) so that the owner opens a new one when it
# needs one.
DB_GRANT = 6      # Go -> worker: a slot for connection id
DB_DENY = 7       # no slot; payload: the reason
DB_IDLE = 8       # report the idle connections
DB_SHED = 9       # u32 n, u32 owe: close n idle connections now, owe more; report
DB_ACQUIRE = 25   # worker -> Go: a slot for new connection id
DB_RELEASE = 26   # connection id is closed
DB_IDLE_AGES = 27  # i64 ns per idle connection, oldest first
DB_MAX_AGES = 64  # maxIdleAges in proto.go
I64 = struct.Struct('<q')
DB_DRIVERS = ('psycopg2', 'psycopg', 'MySQLdb', 'pymysql')


class Slot:
    """One connection's slot; release() is idempotent and thread-safe."""
    __slots__ = ('budget', 'left', '__weakref__')

    def __init__(self, budget, rid):
        self.budget = budget
        self.left = [rid]

    def release(self):
        try:
            rid = self.left.pop()
        except IndexError:
            return
        self.budget.send(DB_RELEASE, rid)


def _budgeted_close(base_close):
    def close(self, *args, **kwargs):
        slot = self.__dict__.get('_gowsgi_slot')
        fd = _dup_socket(self) if slot is not None else -1
        try:
            return base_close(self, *args, **kwargs)
        finally:
            if fd >= 0:
                _await_server_close(fd)
            if slot is not None:
                slot.release()
    return close


def _dup_socket(cnx):
    """A duplicate of the connection's socket descriptor, or -1."""
    try:
        fd = cnx.fileno()
        return os.dup(fd) if isinstance(fd, int) and fd >= 0 else -1
    except Exception:
        return -1


def _await_server_close(fd, timeout=2.0):
    """Wait until the server closed the connection whose socket fd
    duplicates (the driver sent its goodbye and closed its own descriptor),
    then close fd. PostgreSQL closes a backend's socket once the backend
    has left pg_stat_activity: the slot goes back when the server no longer
    counts the connection, not just the client."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                return
            try:
                if not os.read(fd, 65536):
                    return
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
    finally:
        os.close(fd)


def _budgeted_del(self):
    # Before the driver's own deallocation, which would close the
    # connection after the slot went back: close it first, then release.
    try:
        self.close()
    except Exception:
        slot = self.__dict__.get('_gowsgi_slot')
        if slot is not None:
            slot.release()


_subclasses = {}


def budgeted_class(cls):
    """A subclass of the driver's connection class whose close() (and
    garbage collection) gives the slot back once the connection is closed."""
    sub = _subclasses.get(cls)
    if sub is None:
        ns = {'close': _budgeted_close(cls.close), '__module__': cls.__module__,
              '__qualname__': cls.__qualname__}
        if hasattr(cls, '__del__'):
            base_del = cls.__del__

            def __del__(self):
                _budgeted_del(self)
                base_del(self)
            ns['__del__'] = __del__
        else:
            ns['__del__'] = _budgeted_del
        sub = type(cls.__name__, (cls,), ns)
        _subclasses[cls] = sub
    return sub


class Budget:
    def __init__(self, sock, limit, timeout):
        self.sock = sock
        self.limit = limit
        self.timeout = timeout
        self.send_lock = threading.Lock()
        self.lock = threading.Lock()
        self.waits = {}             # connection id -> [Event, answer]
        self.ids = itertools.count(1)
        self.pools = []             # pools registered with register_pool
        self.conns = ()             # the request threads' Conn objects
        self.patched = set()
        # owed: connections to close as soon as they become idle, for
        # connects waiting in other threads or processes (set by DB_SHED).
        self.owed = 0

    # --- the application's side -------------------------------------------
    def register_pool(self, pool):
        """Register a process-wide pool with the layout of Trac's
        trac.db.pool.ConnectionPoolBackend (an _available condition and the
        LRU lists _pool, _pool_key, _pool_time of idle connections), whose
        idle connections the budget may then close for a waiting connect.
        Trac's own pool is found without registering."""
        if not trac_layout(pool):
            raise TypeError('gowsgi: register_pool needs the layout of trac.db.pool.ConnectionPoolBackend')
        with self.lock:
            if all(p is not pool for p in self.pools):
                self.pools.append(pool)

    def send(self, t, rid, payload=b''):
        try:
            with self.send_lock:
                self.sock.sendall(HDR.pack(t, rid, len(payload)) + payload)
        except OSError:
            os._exit(0)  # the Go side is gone

    def slot(self, driver):
        """Wait for a slot for a new connection of module driver; raise its
        OperationalError when the budget stays spent."""
        rid = next(self.ids) & 0xffffffff
        box = [threading.Event(), None]
        with self.lock:
            self.waits[rid] = box
        self.send(DB_ACQUIRE, rid)
        # The Go side answers within the timeout; the margin covers a
        # loaded machine.
        if not box[0].wait(self.timeout + 30):
            with self.lock:
                gave_up = self.waits.pop(rid, None) is not None
            if gave_up:
                box[1] = 'gowsgi: no answer about a database connection slot'
            else:
                box[0].wait()
        if box[1] is True:
            return Slot(self, rid)
        err = getattr(driver, 'OperationalError', None)
        if not (isinstance(err, type) and issubclass(err, Exception)):
            err = RuntimeError
        raise err(box[1])

    # --- the control thread ---------------------------------------------
    def start(self):
        threading.Thread(target=self.run, name='gowsgi-db', daemon=True).start()

    def run(self):
        buf = b''
        while True:
            try:
                data = self.sock.recv(65536)
            except InterruptedError:
                continue
            except OSError:
                data = b''
            if not data:
                os._exit(0)
            buf += data
            while len(buf) >= 9:
                t, rid, n = HDR.unpack_from(buf)
                if len(buf) < 9 + n:
                    break
                payload = buf[9:9 + n]
                buf = buf[9 + n:]
                try:
                    self.frame(t, rid, payload)
                except Exception:
                    sys.stderr.write('gowsgi: database connection budget:\n' + traceback.format_exc())

    def frame(self, t, rid, payload):
        if t == DB_GRANT or t == DB_DENY:
            with self.lock:
                box = self.waits.pop(rid, None)
            if box is None:
                if t == DB_GRANT:  # its connect gave up waiting
                    self.send(DB_RELEASE, rid)
                return
            box[1] = True if t == DB_GRANT else payload.decode('utf-8', 'replace')
            box[0].set()
        elif t == DB_IDLE:
            self.send(DB_IDLE_AGES, rid, self.ages())
        elif t == DB_SHED:
            n, owe = struct.unpack('<II', payload)
            with self.lock:
                self.owed = owe
            self.shed(n)
            self.send(DB_IDLE_AGES, rid, self.ages())

    def idle(self):
        """The idle connections that may be closed, as (idle since, kind,
        owner, connection), oldest first."""
        out = []
        for pool in self.all_pools():
            # Never wait long for a pool's lock on this thread, which must
            # keep answering: a pool busy for long is looked at next time.
            if not pool._available.acquire(timeout=0.05):
                continue
            try:
                for cnx, since in zip(pool._pool, pool._pool_time):
                    out.append((since, 0, pool, cnx))
            finally:
                pool._available.release()
        for c in self.conns:
            for w in c.db_idle:
                out.append((c.db_idle_since, 1, c, w))
        out.sort(key=lambda v: v[0])
        return out

    def ages(self):
        now = time.time()
        return b''.join(I64.pack(max(0, int((now - v[0]) * 1e9))) for v in self.idle()[:DB_MAX_AGES])

    def all_pools(self):
        pools = list(self.pools)
        m = sys.modules.get('trac.db.pool')
        backend = getattr(m, '_backend', None) if m is not None else None
        if backend is not None and trac_layout(backend) and all(p is not backend for p in pools):
            pools.append(backend)
        for pool in pools:
            self.hook_pool(pool)
        return pools

    def pay(self):
        """Take one connection owed, if any."""
        if self.owed <= 0:
            return False
        with self.lock:
            if self.owed <= 0:
                return False
            self.owed -= 1
        return True

    def hook_pool(self, pool):
        """Have the pool close its oldest idle connection as soon as it
        takes one back while connections are owed (Trac's _return_cnx:
        PooledConnection.close calls it at the end of a request)."""
        if pool.__dict__.get('_gowsgi_hooked') or not callable(getattr(pool, '_return_cnx', None)):
            return
        orig = pool._return_cnx
        budget = self

        def _return_cnx(*args, **kwargs):
            try:
                return orig(*args, **kwargs)
            finally:
                if budget.owed > 0 and budget.pay() and not budget.close_pooled(pool, None):
                    with budget.lock:
                        budget.owed += 1
        pool._return_cnx = _return_cnx
        pool._gowsgi_hooked = True

    def close_pooled(self, pool, cnx):
        """Close cnx (None: the oldest) of pool's idle list, unless a thread
        took it meanwhile: take it out of the lists under the pool's lock,
        close it outside, and wake a thread waiting for room in the pool."""
        if not pool._available.acquire(timeout=0.05):
            return False
        try:
            if not pool._pool:
                return False
            if cnx is None:
                i = 0
            else:
                for i, c in enumerate(pool._pool):
                    if c is cnx:
                        break
                else:
                    return False
            cnx = pool._pool.pop(i)
            del pool._pool_key[i]
            del pool._pool_time[i]
            pool._available.notify()
        finally:
            pool._available.release()
        try:
            cnx.close()
        except Exception:
            pass
        return True

    def shed(self, n):
        if n <= 0:
            return
        for since, kind, owner, cnx in self.idle():
            if n <= 0:
                return
            if kind == 0:
                if self.close_pooled(owner, cnx):
                    n -= 1
            elif owner.busy.acquire(blocking=False):
                # A Django connection of a thread between requests: closed
                # through Django, which opens a new one at its next use.
                try:
                    if cnx in owner.db_idle and close_django(cnx):
                        owner.db_idle = tuple(w for w in owner.db_idle if w is not cnx)
                        n -= 1
                finally:
                    owner.busy.release()

    # --- the drivers ------------------------------------------------------
    def install(self):
        """Wrap the drivers already imported, and the others when the
        application imports them."""
        for name in DB_DRIVERS:
            m = sys.modules.get(name)
            if m is not None:
                self.patch(m)
        sys.meta_path.insert(0, DriverFinder(self))

    def patch(self, m):
        if m.__name__ in self.patched:
            return
        self.patched.add(m.__name__)
        if m.__name__ == 'psycopg2':
            self.patch_psycopg2(m)
            return
        for attr in ('connect', 'Connect'):
            orig = getattr(m, attr, None)
            if callable(orig):
                setattr(m, attr, self.wrap_connect(m, orig))
        conn_cls = getattr(m, 'Connection', None)
        if m.__name__ == 'psycopg' and isinstance(conn_cls, type) and 'connect' in conn_cls.__dict__:
            # psycopg_pool and others call Connection.connect directly.
            orig = conn_cls.__dict__['connect'].__get__(None, conn_cls).__func__
            budget = self

            def connect(cls, *args, **kwargs):
                slot = budget.slot(m)
                return budget.opened(orig, slot, cls, *args, **kwargs)
            conn_cls.connect = classmethod(connect)
            m.connect = conn_cls.connect

    def opened(self, orig, slot, *args, **kwargs):
        try:
            cnx = orig(*args, **kwargs)
        except BaseException:
            slot.release()
            raise
        try:
            cnx.__class__ = budgeted_class(type(cnx))
            cnx.__dict__['_gowsgi_slot'] = slot
        except (TypeError, AttributeError):
            pass
        try:
            weakref.finalize(cnx, slot.release)
        except TypeError:
            pass
        return cnx

    def wrap_connect(self, m, orig):
        budget = self

        def connect(*args, **kwargs):
            slot = budget.slot(m)
            return budget.opened(orig, slot, *args, **kwargs)
        connect.__wrapped__ = orig
        connect.__doc__ = getattr(orig, '__doc__', None)
        return connect

    def patch_psycopg2(self, m):
        # psycopg2's connection is a C type whose class cannot change: the
        # connection is made as a subclass through connection_factory.
        orig = m.connect
        budget = self

        def connect(dsn=None, connection_factory=None, cursor_factory=None, **kwargs):
            base = connection_factory or m.extensions.connection
            slot = budget.slot(m)
            try:
                cnx = orig(dsn, connection_factory=budgeted_class(base), cursor_factory=cursor_factory, **kwargs)
            except BaseException:
                slot.release()
                raise
            cnx._gowsgi_slot = slot
            weakref.finalize(cnx, slot.release)
            return cnx
        connect.__wrapped__ = orig
        connect.__doc__ = orig.__doc__
        m.connect = connect


class _PatchLoader(importlib.abc.Loader):
    """A driver's loader that wraps the driver once it is loaded."""

    def __init__(self, inner, budget):
        self.inner = inner
        self.budget = budget

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        self.budget.patch(module)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class DriverFinder(importlib.abc.MetaPathFinder):
    """Finds the drivers with the other finders and wraps their loaders."""

    def __init__(self, budget):
        self.budget = budget
        self.busy = threading.local()

    def find_spec(self, name, path=None, target=None):
        if name not in DB_DRIVERS or getattr(self.busy, 'on', False):
            return None
        self.busy.on = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy.on = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            return spec
        spec.loader = _PatchLoader(spec.loader, self.budget)
        return spec


def trac_layout(pool):
    return all(hasattr(pool, a) for a in ('_available', '_pool', '_pool_key', '_pool_time')) and \
        isinstance(pool._pool, list)


def django_open_connections():
    """The calling thread's open Django connections outside a transaction
    (Django's are per thread), or ()."""
    m = sys.modules.get('django.db')
    if m is None:
        return ()
    try:
        return tuple(w for w in m.connections.all()
                     if w.connection is not None and not w.in_atomic_block)
    except Exception:
        return ()


def close_django(w):
    """Close Django connection w from another thread, as its own thread
    would: Django opens a new one at its next use."""
    if w.connection is None or w.in_atomic_block:
        return False
    w.inc_thread_sharing()
    try:
        w.close()
    except Exception:
        return False
    finally:
        w.dec_thread_sharing()
    return True


def load(script, callable_name):
    # A module name derived from the path, as mod_wsgi does, never __main__.
    name = '_gowsgi_' + hashlib.md5(script.encode('utf-8', 'surrogateescape'),
                                     usedforsecurity=False).hexdigest()
    loader = importlib.machinery.SourceFileLoader(name, script)
    spec = importlib.util.spec_from_file_location(name, script, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    app = getattr(mod, callable_name, None)
    if app is None:
        raise AttributeError('%s: no callable named %r' % (script, callable_name))
    return app


def set_name(script, number):
    """Name the process for top and ps -o comm (Linux: 15 bytes, as
    prctl(PR_SET_NAME) sets it), e.g. "wsgi:trac #1". Best effort."""
    if not sys.platform.startswith('linux'):
        return
    stem = os.path.splitext(os.path.basename(script))[0].encode('utf-8', 'replace')
    suffix = b' #%d' % number
    name = (b'wsgi:' + stem)[:15 - len(suffix)] + suffix
    try:
        with open('/proc/self/comm', 'wb') as f:
            f.write(name)
        return
    except OSError:
        pass
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


def main():
    # Run as a file, sys.path[0] is this file's private directory (never the
    # current directory, as with -c): drop it before the application loads.
    here = os.path.dirname(os.path.realpath(__file__))
    if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == here:
        del sys.path[0]
    # The application's own subprocesses do not inherit the configuration.
    cfg = json.loads(os.environ.pop('GOWSGI_WORKER_CONFIG'))
    fds = cfg['fds']
    socks = [socket.socket(fileno=fd) for fd in fds]
    for s in socks:
        s.setblocking(True)
    for p in reversed(cfg.get('path') or []):
        sys.path.insert(0, p)
    script = cfg['script']
    set_name(script, cfg.get('worker', 0))
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    budget = None
    if cfg.get('db'):
        db = cfg['db']
        budget = Budget(socket.socket(fileno=db['fd']), db['max'], db['timeout'])
        budget.install()
    try:
        app = load(script, cfg['callable'])
    except BaseException:
        sys.stderr.write('gowsgi: %s did not load in Python %s (%s, sys.prefix %s):\n' % (
            script, sys.version.split()[0], sys.executable, sys.prefix))
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)
    base = {
        'wsgi.version': (1, 0),
        'wsgi.multithread': len(fds) > 1,
        'wsgi.multiprocess': bool(cfg['multiprocess']),
        'wsgi.run_once': False,
        'wsgi.input_terminated': True,
        'wsgi.file_wrapper': FileWrapper,
    }
    if budget is not None:
        base['gowsgi.db_budget'] = budget
    w = Worker(app, base, budget)
    conns = [Conn(s, w) for s in socks]
    if budget is not None:
        budget.conns = conns
        budget.start()
    for c in conns:
        c.send(HDR.pack(HELLO, 0, 0))
    for c in conns[1:]:
        threading.Thread(target=c.run, daemon=True).start()
    conns[0].run()


main()
