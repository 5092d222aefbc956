# A DB-API application with a process-wide connection pool that behaves
# like Trac's (trac/db/pool.py), for the database connection budget's
# tests and bench/pgcap.sh: connections have thread affinity (a thread
# reuses the one it holds), idle ones wait in LRU lists (_pool, _pool_key,
# _pool_time under the _available condition) shared by every thread and
# every "environment" (key), new ones are created outside the pool's lock,
# and idle ones are closed lazily: after 120 s, when a later request ends.
#
#   /ENV        one query through the pool for environment ENV
#   /hold       open a connection outside the pool and keep it until /release
#   /release    let /hold finish
#   /connect    open and close a connection outside the pool
import os
import threading
import time

import psycopg2

DSN = os.environ['DBPOOL_DSN']
SIZE = int(os.environ.get('DBPOOL_SIZE', '10'))
POOLABLE = os.environ.get('DBPOOL_POOLABLE', '1') != '0'
WORK = int(os.environ.get('DBPOOL_WORK_MS', '0')) / 1000.0


class Pool:
    def __init__(self, maxsize):
        self._available = threading.Condition(threading.RLock())
        self._maxsize = maxsize
        self._active = {}   # thread id -> [connection, uses]
        self._pool = []
        self._pool_key = []
        self._pool_time = []

    def get(self, key):
        tid = threading.get_ident()
        old = None
        with self._available:
            while True:
                if tid in self._active:
                    self._active[tid][1] += 1
                    return self._active[tid][0]
                if key in self._pool_key:
                    i = self._pool_key.index(key)
                    cnx = self._pool.pop(i)
                    del self._pool_key[i]
                    del self._pool_time[i]
                    self._active[tid] = [cnx, 1]
                    return cnx
                if len(self._active) + len(self._pool) < self._maxsize:
                    break
                if self._pool:  # replace the least recently used
                    old = self._pool.pop(0)
                    del self._pool_key[0]
                    del self._pool_time[0]
                    break
                self._available.wait(30)
            self._active[tid] = [None, 1]
        # Lengthy operations without the lock.
        try:
            if old is not None:
                old.close()
            cnx = psycopg2.connect(DSN)
        except BaseException:
            with self._available:
                del self._active[tid]
                self._available.notify()
            raise
        with self._available:
            self._active[tid][0] = cnx
        return cnx

    def put(self, key):
        self._return_cnx(key, threading.get_ident())

    def _return_cnx(self, key, tid):
        with self._available:
            entry = self._active[tid]
            entry[1] -= 1
            if entry[1] > 0:
                return
            del self._active[tid]
        cnx = entry[0]
        try:
            cnx.rollback()
        except Exception:
            cnx.close()
            cnx = None
        if cnx is not None and not POOLABLE:
            cnx.close()
            cnx = None
        with self._available:
            if cnx is not None:
                self._pool.append(cnx)
                self._pool_key.append(key)
                self._pool_time.append(time.time())
            self._available.notify()

    def shutdown(self, delay=120):
        when = time.time() - delay
        with self._available:
            while self._pool_time and self._pool_time[0] <= when:
                self._pool.pop(0).close()
                del self._pool_key[0]
                del self._pool_time[0]


POOL = Pool(SIZE)
registered = False
held = threading.Event()


def application(environ, start_response):
    global registered
    budget = environ.get('gowsgi.db_budget')
    if budget is not None and not registered:
        budget.register_pool(POOL)
        registered = True
    path = environ.get('PATH_INFO', '/')
    status, body = '200 OK', b''
    try:
        if path == '/hold':
            held.clear()
            cnx = psycopg2.connect(DSN)
            held.wait(60)
            cnx.close()
            body = b'held'
        elif path == '/release':
            held.set()
            body = b'released'
        elif path == '/connect':
            psycopg2.connect(DSN).close()
            body = b'connected'
        else:
            key = path.strip('/') or 'main'
            cnx = POOL.get(key)
            try:
                cur = cnx.cursor()
                cur.execute('SELECT count(*) FROM pg_class')
                body = ('%s %d' % (key, cur.fetchone()[0])).encode()
                if WORK:
                    time.sleep(WORK)
            finally:
                POOL.put(key)
            POOL.shutdown()
    except psycopg2.OperationalError as e:
        status, body = '503 Service Unavailable', ('OperationalError: %s' % e).encode()
    start_response(status, [('Content-Type', 'text/plain')])
    return [body]
