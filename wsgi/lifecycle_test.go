package wsgi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// pids returns the pids of the processes in service.
func (h *Handler) pids() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, p := range h.procs {
		out = append(out, p.pid)
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// A zombie has exited; only its parent's wait is missing.
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func getPID(t testing.TB, url string) int {
	t.Helper()
	code, body := get(t, url+"/pid")
	if code != 200 {
		t.Fatalf("/pid: %d %q", code, body)
	}
	pid, err := strconv.Atoi(body)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestWorkerCrash(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 1})
	srv := serve(t, h)
	pid := getPID(t, srv.URL)
	if code, _ := get(t, srv.URL+"/crash"); code != http.StatusBadGateway {
		t.Fatalf("crash: %d, want 502", code)
	}
	if !waitFor(func() bool { p := h.pids(); return len(p) == 1 && p[0] != pid }) {
		t.Fatal("worker not replaced")
	}
	if np := getPID(t, srv.URL); np == pid {
		t.Fatal("same pid after a crash")
	}
	st := h.Stats()
	if st.Restarts["crash"] != 1 || st.Failures["worker_died"] != 1 {
		t.Errorf("stats %+v", st)
	}
	if !contains(logs.String(), "worker process died") {
		t.Errorf("crash not logged:\n%s", logs.String())
	}
	if alive(pid) {
		t.Errorf("crashed worker %d still alive", pid)
	}
}

func TestStartupCrashLoop(t *testing.T) {
	script := testenv.WriteFile(t, "", "bad.wsgi", "import os\nvalue = 1 / 0  # a broken script\n")
	h, logs := newTestHandler(t, Config{Script: script, Processes: 2, QueueTimeout: time.Minute})
	srv := serve(t, h)
	code, _ := get(t, srv.URL+"/")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503", code)
	}
	l := logs.String()
	if !contains(l, "ZeroDivisionError") || !contains(l, "failed to start") {
		t.Errorf("traceback not logged:\n%s", l)
	}
	if !waitFor(func() bool { return h.Stats().Restarts["startup_failure"] >= 3 }) {
		t.Errorf("no retries: %+v", h.Stats())
	}
}

func TestRequestTimeout(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 2, RequestTimeout: 2 * time.Second})
	srv := serve(t, h)
	var wg sync.WaitGroup
	var hangCode, slowCode int
	var slowBody string
	wg.Add(2)
	go func() { defer wg.Done(); hangCode, _ = tryGet(srv.URL + "/hang") }()
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("hanging request not running")
	}
	go func() { defer wg.Done(); slowCode, slowBody = tryGet(srv.URL + "/slow?ms=1000") }()
	wg.Wait()
	if hangCode != http.StatusGatewayTimeout {
		t.Errorf("hang: %d, want 504", hangCode)
	}
	if slowCode != 200 || !strings.HasPrefix(slowBody, "slow ") {
		t.Errorf("the other worker was affected: %d %q", slowCode, slowBody)
	}
	if !waitFor(func() bool { return h.Stats().Restarts["timeout"] == 1 && len(h.pids()) == 2 }) {
		t.Error("killed worker not replaced")
	}
	if st := h.Stats(); st.Restarts["timeout"] != 1 || st.Failures["timeout"] != 1 {
		t.Errorf("stats %+v", st)
	}
	if !contains(logs.String(), "request timed out") {
		t.Error("timeout not logged")
	}
}

func TestQueue(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, QueueSize: 1, QueueTimeout: 500 * time.Millisecond})
	srv := serve(t, h)
	done := make(chan int, 1)
	go func() { c, _ := tryGet(srv.URL + "/slow?ms=2500"); done <- c }()
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("slow request not running")
	}
	// POST requests wait in the handler's queue, never behind the slow
	// request on its connection (only a safe request may).
	queued := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/hello", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Error(err)
		}
		queued <- resp
	}()
	if !waitFor(func() bool { return h.Stats().Queued == 1 }) {
		t.Fatal("request not queued")
	}
	resp, err := http.Post(srv.URL+"/hello", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("queue full: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp = <-queued
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("queue timeout: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if c := <-done; c != 200 {
		t.Errorf("slow: %d", c)
	}
	st := h.Stats()
	if st.Failures["queue_full"] != 1 || st.Failures["queue_timeout"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestQueueTimeoutEach checks that one timer for the whole queue gives each
// waiting request its own QueueTimeout: a request that joined the queue
// later is neither failed with an earlier one nor kept much longer.
func TestQueueTimeoutEach(t *testing.T) {
	const timeout = 600 * time.Millisecond
	h, _ := newTestHandler(t, Config{Processes: 1, QueueTimeout: timeout})
	srv := serve(t, h)
	go tryGet(srv.URL + "/slow?ms=4000")
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("slow request not running")
	}
	type result struct {
		code   int
		waited time.Duration
	}
	queue := func(n int) chan result {
		ch := make(chan result, 1)
		start := time.Now()
		go func() {
			c, _ := tryPost(srv.URL + "/hello") // queued by the handler, never behind the slow request
			ch <- result{c, time.Since(start)}
		}()
		if !waitFor(func() bool { return h.Stats().Queued == n }) {
			t.Fatalf("queued %d, want %d", h.Stats().Queued, n)
		}
		return ch
	}
	first := queue(1)
	time.Sleep(timeout / 2)
	second := queue(2)
	a := <-first
	if got := h.Stats().Queued; got != 1 {
		t.Errorf("after the first request timed out, %d queued, want 1 (the second waits on)", got)
	}
	b := <-second
	for i, r := range []result{a, b} {
		if r.code != http.StatusServiceUnavailable {
			t.Errorf("request %d: status %d, want 503", i+1, r.code)
		}
		if r.waited < timeout || r.waited > timeout+5*time.Second {
			t.Errorf("request %d waited %v, want %v (and not much longer)", i+1, r.waited, timeout)
		}
	}
	if st := h.Stats(); st.Failures["queue_timeout"] != 2 {
		t.Errorf("queue_timeout failures %d, want 2", st.Failures["queue_timeout"])
	}
}

// TestQueuedAcrossRestart checks that requests waiting in the queue when
// the only worker dies are served by its replacement (they are written to
// it when the new process is added).
func TestQueuedAcrossRestart(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, QueueTimeout: time.Minute})
	srv := serve(t, h)
	slow := make(chan int, 1)
	go func() { c, _ := tryGet(srv.URL + "/slow?ms=5000"); slow <- c }()
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("slow request not running")
	}
	const n = 6
	codes := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() { c, _ := tryPost(srv.URL + "/hello"); codes <- c }() // in the handler's queue
	}
	if !waitFor(func() bool { return h.Stats().Queued == n }) {
		t.Fatalf("queued %d, want %d", h.Stats().Queued, n)
	}
	pids := h.pids()
	if len(pids) != 1 {
		t.Fatalf("pids %v", pids)
	}
	p, _ := os.FindProcess(pids[0])
	p.Kill()
	if c := <-slow; c != http.StatusBadGateway {
		t.Errorf("running request: %d, want 502", c)
	}
	for i := 0; i < n; i++ {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("queued request: %d, want 200", c)
		}
	}
}

func TestQueueClientGone(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, QueueTimeout: time.Minute})
	srv := serve(t, h)
	go tryGet(srv.URL + "/slow?ms=1500")
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("slow request not running")
	}
	ctx, cancel := context.WithCancel(context.Background())
	// A POST waits in the handler's queue, never behind the slow request.
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/hello", strings.NewReader("x"))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	if !waitFor(func() bool { return h.Stats().Queued == 1 }) {
		t.Fatal("request not queued")
	}
	cancel()
	<-errc
	if !waitFor(func() bool { return h.Stats().Queued == 0 }) {
		t.Fatal("a request whose client left stays queued")
	}
}

func TestMaxRequests(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, MaxRequests: 5})
	srv := serve(t, h)
	seen := map[int]bool{}
	// The replacement starts while the old process keeps serving, so
	// count until a new process appears (bounded).
	for i := 0; i < 500 && len(seen) < 2; i++ {
		seen[getPID(t, srv.URL)] = true
		time.Sleep(5 * time.Millisecond)
	}
	if len(seen) < 2 {
		t.Errorf("one process served 500 requests with MaxRequests 5")
	}
	if h.Stats().Restarts["max_requests"] < 1 {
		t.Errorf("stats %+v", h.Stats())
	}
	for pid := range seen {
		if pid != h.pids()[0] && !waitFor(func() bool { return !alive(pid) }) {
			t.Errorf("recycled worker %d still alive", pid)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, MemoryLimit: 100 << 20})
	srv := serve(t, h)
	pid := getPID(t, srv.URL)
	if code, _ := get(t, srv.URL+"/leak?mb=150"); code != 200 {
		t.Fatalf("leak: %d", code)
	}
	if !waitFor(func() bool { return h.Stats().Restarts["memory"] == 1 }) {
		t.Fatalf("not recycled: %+v", h.Stats())
	}
	if np := getPID(t, srv.URL); np == pid {
		t.Error("same process after recycling")
	}
	if !waitFor(func() bool { return !alive(pid) }) {
		t.Error("old worker still alive")
	}
}

func TestInactivityTimeout(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, InactivityTimeout: 300 * time.Millisecond})
	srv := serve(t, h)
	pid := getPID(t, srv.URL)
	if !waitFor(func() bool { return h.Stats().Restarts["inactivity"] >= 1 }) {
		t.Fatalf("not recycled: %+v", h.Stats())
	}
	if np := getPID(t, srv.URL); np == pid {
		t.Error("same process after the inactivity timeout")
	}
}

// copyScript copies the test application to a temporary directory, so a
// test can touch it.
func copyScript(t testing.TB) string {
	b, err := os.ReadFile(testScript(t))
	if err != nil {
		t.Fatal(err)
	}
	return testenv.WriteFile(t, "", "app.wsgi", string(b))
}

func TestReload(t *testing.T) {
	script := copyScript(t)
	h, _ := newTestHandler(t, Config{Script: script, Processes: 2, ReloadInterval: 50 * time.Millisecond})
	srv := serve(t, h)
	old := h.pids()
	slow := make(chan string, 1)
	go func() { _, b := tryGet(srv.URL + "/slow?ms=1000"); slow <- b }()
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("slow request not running")
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(script, future, future); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return h.Stats().Restarts["reload"] == 2 }) {
		t.Fatalf("no reload: %+v", h.Stats())
	}
	for i := 0; i < 4; i++ {
		pid := getPID(t, srv.URL)
		for _, o := range old {
			if pid == o {
				t.Fatalf("request served by retired worker %d", pid)
			}
		}
	}
	if b := <-slow; !strings.HasPrefix(b, "slow ") {
		t.Errorf("in-flight request during reload: %q", b)
	}
	// Reload replaces them again.
	cur := h.pids()
	h.Reload()
	if !waitFor(func() bool { return h.Stats().Restarts["reload"] == 4 }) {
		t.Fatalf("Reload did nothing: %+v", h.Stats())
	}
	for _, pid := range append(old, cur...) {
		if !waitFor(func() bool { return !alive(pid) }) {
			t.Errorf("retired worker %d still alive", pid)
		}
	}
}

func TestShutdown(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 2, Threads: 2})
	srv := serve(t, h)
	pids := h.pids()
	slow := make(chan int, 1)
	go func() { c, _ := tryGet(srv.URL + "/slow?ms=500"); slow <- c }()
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("slow request not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if c := <-slow; c != 200 {
		t.Errorf("in-flight request: %d", c)
	}
	if code, _ := get(t, srv.URL+"/hello"); code != 503 {
		t.Errorf("after Shutdown: %d", code)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("worker %d alive after Shutdown", pid)
		}
	}
}

func TestShutdownDeadline(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1})
	srv := serve(t, h)
	pids := h.pids()
	hang := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/hang")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		hang <- err
	}()
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("request not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.Shutdown(ctx); err == nil {
		t.Error("Shutdown cut a request short without an error")
	}
	<-hang
	if alive(pids[0]) {
		t.Error("worker alive after Shutdown")
	}
}

func fdCount(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestShutdownDuringRespawn: a worker dies or is replaced (Reload) just
// before Shutdown, and its replacement takes long to load. Shutdown must
// not wait for that load (up to StartTimeout): the replacement is never
// started or is killed while loading, so it never finishes loading.
func TestShutdownDuringRespawn(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "app.wsgi")
	// The first load of each handler marks "started"; a reload sleeps,
	// then marks "loaded".
	src := `import os, time
d = os.environ['MARK']
if os.path.exists(d + '.started'):
    time.sleep(3)
    open(d + '.loaded', 'w').close()
open(d + '.started', 'a').close()
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'']
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		mark := filepath.Join(dir, fmt.Sprint("run", i))
		h, _ := newTestHandler(t, Config{Script: script, Env: []string{"MARK=" + mark}, ReloadInterval: -1})
		if i%2 == 0 {
			h.mu.Lock()
			p := h.procs[0]
			h.mu.Unlock()
			if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-p.exited
		} else {
			h.Reload()
		}
		// Shutdown at different moments of the supervisor's reaction.
		time.Sleep(time.Duration(i/2) * 300 * time.Microsecond)
		if err := h.Shutdown(context.Background()); err != nil {
			t.Fatalf("run %d: Shutdown: %v", i, err)
		}
		if _, err := os.Stat(mark + ".loaded"); err == nil {
			t.Errorf("run %d: Shutdown waited for a replacement worker to finish loading", i)
		}
	}
}

// TestRescueQueued: GET requests queued on a worker connection behind a
// request that turns out long are taken back as soon as the other
// connection is idle, and served there before the long request ends.
func TestRescueQueued(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 1, Threads: 2})
	h.pipelineMaxAge = time.Hour // the GETs are always queued behind the long request
	srv := serve(t, h)
	type done struct {
		what string
		code int
	}
	results := make(chan done, 8)
	fetch := func(what, path string) {
		code, _ := tryGet(srv.URL + path)
		results <- done{what, code}
	}
	// The long request takes the first connection, a short one the
	// second; the GETs then go behind the long one (the rotation offers
	// it first) and must be taken back when the short one ends.
	go fetch("long", "/slow?ms=4000")
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("long request not running")
	}
	go fetch("short", "/slow?ms=300")
	if !waitFor(func() bool { return h.Stats().Busy == 2 }) {
		t.Fatal("short request not running")
	}
	for i := 0; i < 3; i++ {
		go fetch("hello", "/hello")
	}
	var order []string
	for len(order) < 5 {
		r := <-results
		if r.code != 200 {
			t.Fatalf("%s: status %d", r.what, r.code)
		}
		order = append(order, r.what)
	}
	if order[4] != "long" {
		t.Errorf("completion order %v: the GETs waited for the long request", order)
	}
	if !strings.Contains(logs.String(), "taken back") {
		t.Error("no request was taken back")
	}
}

// TestBrokenIdleConnRetried: nothing reads a worker connection with no
// request in flight, so one that broke while idle is found broken by the
// next request written to it. That request never reached the worker: it is
// retried on another connection, not answered 502.
func TestBrokenIdleConnRetried(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 2, Threads: 1})
	if !waitFor(func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.conns) == 2
	}) {
		t.Fatal("workers not ready")
	}
	h.mu.Lock()
	c := h.conns[0]
	h.rr = 0 // the next request goes to c
	h.mu.Unlock()
	rc, err := c.uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_WR) })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/hello", nil))
	if rec.Code != 200 {
		t.Fatalf("request on a broken idle connection: %d %q\n%s", rec.Code, rec.Body, logs.String())
	}
	if !strings.Contains(logs.String(), "writing to worker") {
		t.Skip("the worker was replaced before the request reached its connection")
	}
}
