package wsgi

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// dbTest is a PostgreSQL server logging its connections and a handler
// with a database connection budget in front of it.
type dbTest struct {
	pg   *testenv.Postgres
	h    *Handler
	logs *logBuf
	url  string
	// before counts the sessions authorized before the handler started.
	before int
	// mon is the test's own connection, to read pg_stat_activity.
	mon *sql.DB
}

func startDBTest(t *testing.T, cfg Config) *dbTest {
	t.Helper()
	py := testenv.Python(t)
	testenv.PythonModule(t, py, "psycopg2", "python3-psycopg2")
	pg := testenv.StartPostgres(t, testenv.PostgresConfig{Settings: []string{"log_connections=on"}})
	if cfg.Script == "" {
		s, err := filepath.Abs("testdata/dbpool.wsgi")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Script = s
	}
	cfg.Python = py
	cfg.Env = append(cfg.Env,
		fmt.Sprintf("DBPOOL_DSN=host=127.0.0.1 port=%d user=postgres dbname=postgres", pg.Port),
		fmt.Sprintf("DBPOOL_PORT=%d", pg.Port))
	mon, err := sql.Open("postgres", pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mon.Close() })
	mon.SetMaxOpenConns(1)
	mon.SetMaxIdleConns(1)
	mon.SetConnMaxIdleTime(0)
	if err := mon.Ping(); err != nil {
		t.Fatal(err)
	}
	// The server's own start-up connections and the monitor's are not the
	// workers'.
	before := strings.Count(pg.Log(), "connection authorized:")
	h, logs := newTestHandler(t, cfg)
	srv := serve(t, h)
	return &dbTest{pg: pg, h: h, logs: logs, url: srv.URL, before: before, mon: mon}
}

// backendsStarted counts the sessions PostgreSQL authorized: every
// backend our workers started.
func (d *dbTest) backendsStarted() int {
	return strings.Count(d.pg.Log(), "connection authorized:") - d.before
}

// pollUntil polls cond until it holds or the deadline passes.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// load runs clients concurrent clients of n requests each over paths and
// samples the connections meanwhile, as the workers hold them (the
// kernel's list of established connections to PostgreSQL's port, less the
// test's own) and as PostgreSQL counts them (its client
// backends in pg_stat_activity, less the test's own): it returns the
// responses that were not 200 and the peaks of both.
func (d *dbTest) load(t *testing.T, clients, n int, paths []string) (failed []string, peak, serverPeak int) {
	t.Helper()
	stop := make(chan struct{})
	peaks := make(chan [2]int)
	go func() {
		top, stop2 := 0, 0
		for {
			if open, err := testenv.EstablishedTo(d.pg.Port); err == nil {
				if own, err := testenv.ClientPorts(d.pg.Port); err == nil {
					top = max(top, len(open)-len(own))
				}
			}
			var backends int
			if err := d.mon.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&backends); err == nil {
				stop2 = max(stop2, backends)
			}
			select {
			case <-stop:
				peaks <- [2]int{top, stop2}
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i := range clients {
		wg.Go(func() {
			for j := range n {
				p := paths[(i+j)%len(paths)]
				code, body := tryGet(d.url + p)
				if code != 200 {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("%s: %d %.200s", p, code, body))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	p := <-peaks
	return failed, p[0], p[1]
}

// checkBudget asserts the budget held: at most max slots at once, as many
// connections seen by the kernel and by PostgreSQL, and every backend
// PostgreSQL started had a slot.
func (d *dbTest) checkBudget(t *testing.T, max, peak, serverPeak int) {
	t.Helper()
	st := d.h.Stats().DB
	if st == nil {
		t.Fatal("Stats().DB is nil with DBMaxConnections")
	}
	// pg_stat_activity is a snapshot taken in microseconds, and a slot
	// returns only after its backend left it (see the adapter): a sample
	// over the cap is a connection over the cap. The kernel's list is read
	// in 4 KiB pieces, between which a connection may close and its slot
	// serve a new one: it is only logged.
	if st.Peak > int64(max) || serverPeak > max {
		t.Errorf("connections over the budget of %d: %d slots held at once, %d backends in pg_stat_activity", max, st.Peak, serverPeak)
	}
	// Every backend PostgreSQL authorized was opened with a slot: the
	// log is written before the connect returns, so it is complete now.
	if got := d.backendsStarted(); int64(got) != st.Granted {
		t.Errorf("PostgreSQL started %d backends, the budget granted %d slots", got, st.Granted)
	}
	t.Logf("budget: %+v; peak connections sampled %d, backends %d", *st, peak, serverPeak)
}

// A pool like Trac's, 2 processes × 4 threads over three environments with
// a budget of 3: never more than 3 connections, and no request fails
// although 8 threads want connections (idle ones move between processes).
func TestDBBudgetTracLikePool(t *testing.T) {
	d := startDBTest(t, Config{Processes: 2, Threads: 4, DBMaxConnections: 3})
	failed, peak, serverPeak := d.load(t, 24, 25, []string{"/env1", "/env2", "/env3"})
	if len(failed) > 0 {
		t.Errorf("%d requests failed, first: %s", len(failed), failed[0])
	}
	d.checkBudget(t, 3, peak, serverPeak)
	if st := d.h.Stats().DB; st.Shed == 0 {
		t.Errorf("no idle connection was closed for a waiting connect: %+v", *st)
	}
}

// Django with persistent connections (CONN_MAX_AGE None): each thread
// keeps its own, and a budget of 3 for 8 threads closes them between
// requests (through Django) for the threads that wait.
func TestDBBudgetDjango(t *testing.T) {
	py := testenv.Python(t)
	testenv.PythonModule(t, py, "django", "python3-django")
	dir := t.TempDir()
	testenv.WriteFile(t, dir, "dbsite/__init__.py", "")
	testenv.WriteFile(t, dir, "dbsite/settings.py", `import os
SECRET_KEY = 'test'
DEBUG = False
ALLOWED_HOSTS = ['*']
ROOT_URLCONF = 'dbsite.urls'
INSTALLED_APPS = []
MIDDLEWARE = []
USE_TZ = True
DATABASES = {'default': {
    'ENGINE': 'django.db.backends.postgresql',
    'NAME': 'postgres', 'USER': 'postgres', 'HOST': '127.0.0.1',
    'PORT': os.environ['DBPOOL_PORT'],
    'CONN_MAX_AGE': None,
}}
`)
	testenv.WriteFile(t, dir, "dbsite/urls.py", `from django.db import connection
from django.http import HttpResponse
from django.urls import path

def query(request):
    with connection.cursor() as cur:
        cur.execute('SELECT count(*) FROM pg_class')
        return HttpResponse('%d' % cur.fetchone()[0])

urlpatterns = [path('q', query)]
`)
	script := testenv.WriteFile(t, dir, "site.wsgi", `import os
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'dbsite.settings')
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
`)
	d := startDBTest(t, Config{Script: script, PythonPath: []string{dir}, Processes: 2, Threads: 4, DBMaxConnections: 3})
	failed, peak, serverPeak := d.load(t, 24, 25, []string{"/q"})
	if len(failed) > 0 {
		t.Errorf("%d requests failed, first: %s", len(failed), failed[0])
	}
	d.checkBudget(t, 3, peak, serverPeak)
}

// A connect that finds the budget spent waits DBConnectTimeout, then gets
// the driver's OperationalError, and the reason is logged; the slot comes
// back when the connection holding it closes.
func TestDBBudgetTimeout(t *testing.T) {
	d := startDBTest(t, Config{Threads: 3, DBMaxConnections: 1, DBConnectTimeout: 300 * time.Millisecond})
	held := make(chan string, 1)
	go func() {
		code, body := tryGet(d.url + "/hold")
		held <- fmt.Sprint(code, " ", body)
	}()
	pollUntil(t, "the held connection", func() bool { return d.h.Stats().DB.Held == 1 })
	start := time.Now()
	code, body := get(t, d.url+"/connect")
	if code != 503 || !strings.Contains(body, "OperationalError") || !strings.Contains(body, "-db-max-connections") {
		t.Errorf("connect over the budget: %d %q, want 503 with the OperationalError", code, body)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("connect refused after %v, before DBConnectTimeout", waited)
	}
	pollUntil(t, "the log line", func() bool { return strings.Contains(d.logs.String(), "the budget is spent") })
	if code, _ := get(t, d.url+"/release"); code != 200 {
		t.Fatalf("release: %d", code)
	}
	if got := <-held; got != "200 held" {
		t.Errorf("hold: %s", got)
	}
	pollUntil(t, "the slot back", func() bool { return d.h.Stats().DB.Held == 0 })
	if code, body := get(t, d.url+"/connect"); code != 200 {
		t.Errorf("connect with a free slot: %d %q", code, body)
	}
	if st := d.h.Stats().DB; st.Denied != 1 || st.Granted != 2 {
		t.Errorf("stats %+v, want 1 denied, 2 granted", *st)
	}
}

// A worker that dies gives back every slot it held.
func TestDBBudgetWorkerDies(t *testing.T) {
	d := startDBTest(t, Config{Threads: 2, DBMaxConnections: 1, DBConnectTimeout: 20 * time.Second})
	var done atomic.Bool
	go func() {
		tryGet(d.url + "/hold")
		done.Store(true)
	}()
	pollUntil(t, "the held connection", func() bool { return d.h.Stats().DB.Held == 1 })
	d.h.mu.Lock()
	pid := d.h.procs[0].pid
	d.h.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "the slot back", func() bool { return d.h.Stats().DB.Held == 0 })
	pollUntil(t, "the held request to end", done.Load)
	// The replacement worker gets the slot at once.
	pollUntil(t, "a connect on the new worker", func() bool {
		code, _ := tryGet(d.url + "/connect")
		return code == 200
	})
	if st := d.h.Stats().DB; st.Denied != 0 {
		t.Errorf("stats %+v, want nothing denied", *st)
	}
}

// Every slot held by the process whose threads wait: its own idle
// connections are closed for them (no deadlock, no failure), with one
// process and a budget of one connection for four threads.
func TestDBBudgetOneProcessHoldsAll(t *testing.T) {
	d := startDBTest(t, Config{Processes: 1, Threads: 4, DBMaxConnections: 1})
	failed, peak, serverPeak := d.load(t, 8, 15, []string{"/env1", "/env2", "/env3"})
	if len(failed) > 0 {
		t.Errorf("%d requests failed, first: %s", len(failed), failed[0])
	}
	d.checkBudget(t, 1, peak, serverPeak)
}

// The adapter imports no driver the application does not: it wraps them
// when the application imports them.
func TestDBBudgetDriversWrappedLazily(t *testing.T) {
	py := testenv.Python(t)
	testenv.PythonModule(t, py, "psycopg2", "python3-psycopg2")
	script := testenv.WriteFile(t, "", "lazy.wsgi", `import sys

def application(environ, start_response):
    before = 'psycopg2' in sys.modules
    import psycopg2
    wrapped = hasattr(psycopg2.connect, '__wrapped__')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%s %s' % (before, wrapped)).encode()]
`)
	h, _ := newTestHandler(t, Config{Script: script, DBMaxConnections: 2})
	srv := serve(t, h)
	if code, body := get(t, srv.URL+"/"); code != 200 || body != "False True" {
		t.Errorf("imported before the application asked, wrapped after: %d %q, want \"False True\"", code, body)
	}
}

// psycopg 3: connections made by psycopg.connect and by
// Connection.connect take a slot, and give it back when closed by a with
// block or garbage-collected unclosed.
func TestDBBudgetPsycopg3(t *testing.T) {
	py := testenv.Python(t)
	testenv.PythonModule(t, py, "psycopg", "python3-psycopg")
	script := testenv.WriteFile(t, "", "pg3.wsgi", `import gc, os
import psycopg

DSN = os.environ['DBPOOL_DSN']

def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/with':
        with psycopg.connect(DSN) as c:
            c.execute('SELECT 1')
    elif path == '/drop':
        c = psycopg.connect(DSN)
        c.execute('SELECT 1')
        del c
        gc.collect()
    elif path == '/class':
        c = psycopg.Connection.connect(DSN)
        c.close()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']
`)
	d := startDBTest(t, Config{Script: script, DBMaxConnections: 1, DBConnectTimeout: 2 * time.Second})
	for _, p := range []string{"/with", "/drop", "/class", "/with"} {
		if code, body := get(t, d.url+p); code != 200 {
			t.Fatalf("%s: %d %q (a slot not given back makes the next connect time out)", p, code, body)
		}
	}
	pollUntil(t, "every slot back", func() bool { return d.h.Stats().DB.Held == 0 })
	if st := d.h.Stats().DB; st.Granted != 4 || st.Denied != 0 {
		t.Errorf("stats %+v, want 4 granted, none denied", *st)
	}
	if got := d.backendsStarted(); got != 4 {
		t.Errorf("PostgreSQL started %d backends, want 4", got)
	}
}

// pymysql (no MySQL server here): a connect takes a slot and a connect
// that fails gives it back, so that the next one gets it.
func TestDBBudgetPymysqlFailedConnect(t *testing.T) {
	py := testenv.Python(t)
	testenv.PythonModule(t, py, "pymysql", "python3-pymysql")
	closed := testenv.FreePort(t) // nothing listens there
	script := testenv.WriteFile(t, "", "my.wsgi", `import os
import pymysql

def application(environ, start_response):
    try:
        pymysql.connect(host='127.0.0.1', port=int(os.environ['CLOSED_PORT']), connect_timeout=2)
        body = b'connected'
    except pymysql.OperationalError as e:
        body = ('OperationalError %s' % e.args[0]).encode()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]
`)
	h, _ := newTestHandler(t, Config{Script: script, DBMaxConnections: 1, DBConnectTimeout: 2 * time.Second,
		Env: []string{fmt.Sprintf("CLOSED_PORT=%d", closed)}})
	srv := serve(t, h)
	for range 2 {
		// 2003: "Can't connect", the driver's own error, not the budget's.
		if code, body := get(t, srv.URL+"/"); code != 200 || body != "OperationalError 2003" {
			t.Fatalf("connect to a closed port: %d %q, want the driver's error 2003", code, body)
		}
	}
	if st := h.Stats().DB; st.Granted != 2 || st.Held != 0 || st.Denied != 0 {
		t.Errorf("stats %+v, want 2 granted, none held or denied", *st)
	}
}

// Two handlers given one DBBudget share its cap: a connection held by the
// workers of one leaves none for the other's, until it closes.
func TestDBBudgetShared(t *testing.T) {
	b, err := NewDBBudget(1, 300*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := startDBTest(t, Config{Threads: 2, DBBudget: b})
	other, _ := newTestHandler(t, Config{Script: d.h.cfg.Script, Env: d.h.cfg.Env, DBBudget: b})
	otherURL := serve(t, other).URL
	held := make(chan int, 1)
	go func() {
		code, _ := tryGet(d.url + "/hold")
		held <- code
	}()
	pollUntil(t, "the held connection", func() bool { return b.Stats().Held == 1 })
	if code, body := get(t, otherURL+"/connect"); code != 503 || !strings.Contains(body, "OperationalError") {
		t.Errorf("the other handler's connect with the shared budget spent: %d %q, want 503", code, body)
	}
	get(t, d.url+"/release")
	if code := <-held; code != 200 {
		t.Errorf("hold: %d", code)
	}
	pollUntil(t, "the slot back", func() bool { return b.Stats().Held == 0 })
	if code, body := get(t, otherURL+"/connect"); code != 200 {
		t.Errorf("the other handler's connect with the slot free: %d %q", code, body)
	}
	if _, err := New(Config{Script: d.h.cfg.Script, DBBudget: b, DBMaxConnections: 2}); err == nil {
		t.Error("New took both a DBBudget and DBMaxConnections")
	}
	if st := other.Stats().DB; st == nil || *st != b.Stats() {
		t.Errorf("a handler's Stats().DB %+v is not its shared budget's %+v", st, b.Stats())
	}
}
