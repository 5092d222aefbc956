package wsgi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// errorPages is a Config.ErrorHandler that answers 599 with the error's
// text and records each error by request path.
type errorPages struct {
	mu   sync.Mutex
	errs map[string]error
}

func (e *errorPages) handle(w http.ResponseWriter, r *http.Request, err error) {
	e.mu.Lock()
	if e.errs == nil {
		e.errs = map[string]error{}
	}
	e.errs[r.URL.Path+"?"+r.URL.RawQuery] = err
	e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(599)
	io.WriteString(w, "custom page\n")
}

func (e *errorPages) get(key string) (error, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	err, ok := e.errs[key]
	return err, ok
}

// check asserts that the request for key reached the error handler with
// an error matching want, and that the client got the custom page.
func (e *errorPages) check(t *testing.T, key string, code int, body string, want ...error) {
	t.Helper()
	if code != 599 || body != "custom page\n" {
		t.Errorf("%s: got %d %q, want the custom 599 page", key, code, body)
	}
	err, ok := e.get(key)
	if !ok {
		t.Errorf("%s: ErrorHandler not called", key)
		return
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s: error %q is not %q", key, err, w)
		}
	}
	if !strings.HasPrefix(err.Error(), "wsgi: ") {
		t.Errorf("%s: error %q lacks the package prefix", key, err)
	}
}

// TestErrorHandler makes real Python workers fail in every way a Handler
// reports, and checks that each failure reaches Config.ErrorHandler as the
// documented sentinel error, and that a response that already started is
// cut, never handed to it.
func TestErrorHandler(t *testing.T) {
	t.Run("exchange", func(t *testing.T) {
		var pages errorPages
		xdir := t.TempDir()
		h, _ := newTestHandler(t, Config{Processes: 1, ErrorHandler: pages.handle, MaxRequestBody: 100, XSendFilePath: []string{xdir}})
		deadline := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
					defer cancel()
					r = r.WithContext(ctx)
				}
				next.ServeHTTP(w, r)
			})
		}
		srv := serve(t, deadline(h))

		for _, tc := range []struct {
			target string
			want   []error
		}{
			{"/raise?", []error{ErrApplication}},
			{"/badstatus?s=abc", []error{ErrBadResponse}},
			{"/start-twice?", []error{ErrApplication}},
			{"/badname?", []error{ErrBadResponse}},
			{"/crash?", []error{ErrWorkerDied}},
			{"/xsendfile?path=/etc/passwd", []error{ErrXSendFile}},
			{"/slow?ms=300", []error{ErrCanceled, context.DeadlineExceeded}},
		} {
			code, body := get(t, srv.URL+tc.target)
			pages.check(t, tc.target, code, body, tc.want...)
		}

		resp, err := http.Post(srv.URL+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 101)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pages.check(t, "/echo?", resp.StatusCode, string(b), ErrBodyTooLarge)

		// A body shorter than its Content-Length.
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /upload?short HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n0123456789")
		c.(*net.TCPConn).CloseWrite()
		resp, err = http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		pages.check(t, "/upload?short", resp.StatusCode, string(b), ErrBadRequestBody)
		if !resp.Close {
			t.Error("a body error left the connection open")
		}

		// Once the response started, a failure cuts it: no error page.
		resp, err = http.Get(srv.URL + "/raise-after")
		if err != nil {
			t.Fatal(err)
		}
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || err == nil {
			t.Errorf("raise-after: %d %q %v, want a 200 cut short", resp.StatusCode, b, err)
		}
		if err, ok := pages.get("/raise-after?"); ok {
			t.Errorf("ErrorHandler called after the response started: %v", err)
		}
	})

	t.Run("queue", func(t *testing.T) {
		var pages errorPages
		h, _ := newTestHandler(t, Config{Processes: 1, QueueSize: 1, QueueTimeout: 500 * time.Millisecond,
			RequestTimeout: 3 * time.Second, ErrorHandler: pages.handle})
		srv := serve(t, h)
		// POST requests are never queued on a busy worker's connection,
		// only in the handler's queue.
		post := func(target string) (int, string) { return tryPost(srv.URL + target) }
		type result struct {
			code int
			body string
		}
		hang, queued := make(chan result, 1), make(chan result, 1)
		go func() { c, b := post("/hang?"); hang <- result{c, b} }()
		if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
			t.Fatal("hanging request not running")
		}
		go func() { c, b := post("/hello?queued"); queued <- result{c, b} }()
		if !waitFor(func() bool { return h.Stats().Queued == 1 }) {
			t.Fatal("request not queued")
		}
		code, body := post("/hello?full")
		pages.check(t, "/hello?full", code, body, ErrQueueFull)
		r := <-queued
		pages.check(t, "/hello?queued", r.code, r.body, ErrQueueTimeout)
		r = <-hang
		pages.check(t, "/hang?", r.code, r.body, ErrRequestTimeout)
	})

	t.Run("unavailable", func(t *testing.T) {
		var pages errorPages
		h, err := New(Config{Script: testScript(t), Python: pythonForTest(t), ErrorHandler: pages.handle, Logger: newLogger(io.Discard)})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		code, body := get(t, serve(t, h).URL+"/hello")
		pages.check(t, "/hello?", code, body, ErrUnavailable)
	})

	t.Run("default", func(t *testing.T) {
		h, _ := newTestHandler(t, Config{Processes: 1})
		srv := serve(t, h)
		for target, want := range map[string]int{"/raise": 500, "/crash": 502, "/badstatus?s=abc": 500} {
			if code, body := get(t, srv.URL+target); code != want || body != http.StatusText(want)+"\n" {
				t.Errorf("%s: %d %q, want the plain %d page", target, code, body, want)
			}
		}
	})
}
