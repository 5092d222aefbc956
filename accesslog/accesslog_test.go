package accesslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// chain is a small server: Basic on /trac/login, 500 at /trac/boom, a
// mount at /trac (404 elsewhere), behind the access log and a request id.
func chain(t *testing.T, alog *accesslog.Log) http.Handler {
	t.Helper()
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte("alice:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n"), 0o600); err != nil { // htpasswd -nbs alice pw
		t.Fatal(err)
	}
	users, err := auth.HtpasswdFile(path)
	if err != nil {
		t.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/boom") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "hello\n")
	})
	login := prefix.MustLocationMatch(regexp.MustCompile("^/trac/login$"), auth.MustBasic(auth.BasicConfig{Realm: "trac", Users: users}))
	req := prefix.MustLocationMatch(regexp.MustCompile("^/trac/login$"), auth.MustRequire(auth.ValidUser()))
	return alog.Wrap(reqinfo.RequestID(login(req(prefix.MustMount("/trac")(app)))))
}

// bufWriter is a concurrency-safe buffer.
type bufWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *bufWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *bufWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string, user, pw string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "192.0.2.7:5555"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	if user != "" {
		r.SetBasicAuth(user, pw)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestCombined(t *testing.T) {
	out := &bufWriter{}
	alog, err := accesslog.New(accesslog.Config{Writer: out})
	if err != nil {
		t.Fatal(err)
	}
	h := chain(t, alog)
	ua := map[string]string{"User-Agent": `curl/8 "quoted"`, "Referer": "http://x/\x01"}
	cases := []struct {
		method, target, user, pw string
		hdr                      map[string]string
		status                   int
		want                     string // a regexp for the whole line
	}{
		{"GET", "/trac/login", "", "", nil, 401,
			`^192\.0\.2\.7 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /trac/login HTTP/1\.1" 401 \d+ "-" "-"$`},
		{"GET", "/trac/login", "alice", "pw", ua, 200,
			`^192\.0\.2\.7 - alice \[[^]]+\] "GET /trac/login HTTP/1\.1" 200 6 "http://x/\\x01" "curl/8 \\"quoted\\""$`},
		{"POST", "/trac/boom?a=%22", "", "", nil, 500,
			`^192\.0\.2\.7 - - \[[^]]+\] "POST /trac/boom\?a=%22 HTTP/1\.1" 500 5 "-" "-"$`},
		{"GET", "/nowhere", "", "", nil, 404,
			`^192\.0\.2\.7 - - \[[^]]+\] "GET /nowhere HTTP/1\.1" 404 \d+ "-" "-"$`},
	}
	for _, c := range cases {
		if w := do(t, h, c.method, c.target, c.hdr, c.user, c.pw); w.Code != c.status {
			t.Fatalf("%s %s: status %d, want %d", c.method, c.target, w.Code, c.status)
		}
	}
	if err := alog.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(cases), out.String())
	}
	for i, c := range cases {
		if !regexp.MustCompile(c.want).MatchString(lines[i]) {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], c.want)
		}
	}
	if alog.Dropped() != 0 || alog.Written() != uint64(len(cases)) {
		t.Errorf("dropped %d written %d", alog.Dropped(), alog.Written())
	}
}

func TestJSON(t *testing.T) {
	out := &bufWriter{}
	alog, err := accesslog.New(accesslog.Config{Writer: out, Format: accesslog.JSON})
	if err != nil {
		t.Fatal(err)
	}
	h := chain(t, alog)
	w := do(t, h, "GET", "/trac/login?x=1", nil, "alice", "pw")
	do(t, h, "GET", "/other", nil, "", "")
	alog.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines:\n%s", out.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("%s: %v", lines[0], err)
	}
	want := map[string]any{
		"remote": "192.0.2.7", "user": "alice", "method": "GET", "uri": "/trac/login?x=1", "proto": "HTTP/1.1",
		"status": 200.0, "bytes": 6.0, "request_id": w.Header().Get("X-Request-ID"), "worker_pid": 0.0, "mount": "/trac",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339, got["time"].(string)); err != nil {
		t.Errorf("time %v: %v", got["time"], err)
	}
	if d, ok := got["duration"].(float64); !ok || d < 0 {
		t.Errorf("duration %v", got["duration"])
	}
	if len(got) != 12 {
		t.Errorf("%d fields, want 12: %s", len(got), lines[0])
	}
	var other map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &other); err != nil || other["mount"] != "" || other["status"] != 404.0 || other["user"] != "" {
		t.Errorf("unmounted request: %s (%v)", lines[1], err)
	}
}

// blockingWriter blocks every Write until release is closed, and tells
// entered once the first Write began.
type blockingWriter struct {
	entered chan []byte
	release chan struct{}
	once    sync.Once
	out     bufWriter
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() { b.entered <- bytes.Clone(p) })
	<-b.release
	return b.out.Write(p)
}

// TestBlockedWriter: a writer that never returns (a pipe nobody reads, a
// hung disk) slows no request; the lines that do not fit in the queue are
// dropped, counted and reported, and the others are written once the
// writer moves again.
func TestBlockedWriter(t *testing.T) {
	bw := &blockingWriter{entered: make(chan []byte, 1), release: make(chan struct{})}
	logs := &testenv.LogBuffer{}
	const queue = 4
	alog, err := accesslog.New(accesslog.Config{Writer: bw, QueueSize: queue, Logger: logs.Logger(), ReportInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := alog.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	do(t, h, "GET", "/first", nil, "", "")
	first := <-bw.entered // the writer goroutine is now stuck in Write
	if !bytes.Contains(first, []byte("/first")) {
		t.Fatalf("first write %q", first)
	}
	const more = 20
	for i := range more {
		// Each returns although nothing can be written: a blocked
		// request would hang this loop (and the test's timeout says so).
		if w := do(t, h, "GET", fmt.Sprintf("/more/%d", i), nil, "", ""); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	if got := alog.Dropped(); got != more-queue {
		t.Errorf("dropped %d, want %d", got, more-queue)
	}
	if got := alog.Queued(); got != queue {
		t.Errorf("queued %d, want %d", got, queue)
	}
	// Shutting down while the writer is stuck ends when its context does,
	// instead of hanging.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := alog.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with a stuck writer: %v", err)
	}
	close(bw.release)
	alog.Close()
	lines := strings.Split(strings.TrimSuffix(bw.out.String(), "\n"), "\n")
	if len(lines) != 1+queue {
		t.Fatalf("%d lines written, want %d:\n%s", len(lines), 1+queue, bw.out.String())
	}
	for i, l := range lines[1:] {
		if !strings.Contains(l, fmt.Sprintf("/more/%d ", i)) {
			t.Errorf("line %d: %s", i+1, l)
		}
	}
	if s := logs.String(); !strings.Contains(s, "lines dropped") || !strings.Contains(s, fmt.Sprintf("dropped_total=%d", more-queue)) {
		t.Errorf("no report of the drops in the log:\n%s", s)
	}
}

// TestPipeNobodyReads is TestBlockedWriter with a real pipe whose reading
// end nobody reads: once the pipe's buffer is full the writer goroutine
// blocks in write(2), and requests still go through.
func TestPipeNobodyReads(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	alog, err := accesslog.New(accesslog.Config{Writer: w, QueueSize: 16, Logger: (&testenv.LogBuffer{}).Logger()})
	if err != nil {
		t.Fatal(err)
	}
	h := alog.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	long := "/" + strings.Repeat("a", 4000) // a pipe holds 64 KiB: a few dozen lines
	for alog.Dropped() == 0 {
		do(t, h, "GET", long, nil, "", "")
	}
	// Unblock the writer (its write fails), then stop.
	w.Close()
	alog.Close()
}

// TestReopen: logrotate renames the file, the server reopens it, and the
// lines after go to the new file while none is lost.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	f, err := accesslog.OpenFile(path, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	alog, err := accesslog.New(accesslog.Config{Writer: f})
	if err != nil {
		t.Fatal(err)
	}
	h := alog.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	do(t, h, "GET", "/before", nil, "", "")
	waitWritten(t, alog, 1)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	do(t, h, "GET", "/after", nil, "", "")
	alog.Close()
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.Contains(string(old), "/before") || strings.Contains(string(old), "/after") {
		t.Errorf("rotated file: %q", old)
	}
	if !strings.Contains(string(cur), "/after") || strings.Contains(string(cur), "/before") {
		t.Errorf("new file: %q", cur)
	}
}

func waitWritten(t *testing.T, alog *accesslog.Log, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alog.Written() < n || alog.Queued() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("written %d, want %d", alog.Written(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestObserveFile: a body sent through ReadFrom (sendfile) is counted as
// file bytes, and the writer inside keeps its ReadFrom.
func TestObserveFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 100000), 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan accesslog.Entry, 1)
	h := accesslog.Observe(func(e *accesslog.Entry) { got <- *e })(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, p)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	e := <-got
	if n != 100000 || e.Status != 200 || e.Bytes != 100000 || e.FileBytes == 0 {
		t.Errorf("read %d; entry status %d bytes %d file bytes %d", n, e.Status, e.Bytes, e.FileBytes)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"combined", "json"} {
		f, err := accesslog.ParseFormat(s)
		if err != nil || f.String() != s {
			t.Errorf("%s: %v %v", s, f, err)
		}
	}
	if _, err := accesslog.ParseFormat("common"); err == nil {
		t.Error("common accepted")
	}
}
