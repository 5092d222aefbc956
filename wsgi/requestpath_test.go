package wsgi

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// rawRequest writes req on a new connection to srv and returns the
// response (status line, header, body read to the end of the connection
// or the declared length) and whether the server closed the connection.
func rawRequest(t *testing.T, addr, req string) (status int, body string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response to %.60q: %v", req, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// After the response, a closed connection reads EOF at once; an open
	// one times out.
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = br.ReadByte()
	return resp.StatusCode, string(b), errors.Is(err, io.EOF)
}

// TestMalformedBodyFreesWorker: malformed chunked uploads get 400, leave
// no connection open, and never wedge the one worker thread: a valid
// upload and a GET after them are served (issue: two bad uploads and one
// good one took the server down for good).
func TestMalformedBodyFreesWorker(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, Threads: 1, RequestTimeout: time.Minute})
	srv := serve(t, h)
	addr := strings.TrimPrefix(srv.URL, "http://")
	bad := "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
	for i := 0; i < 2; i++ {
		status, _, closed := rawRequest(t, addr, bad)
		if status != http.StatusBadRequest {
			t.Errorf("malformed chunk size %d: status %d, want 400", i, status)
		}
		if !closed {
			t.Errorf("malformed chunk size %d: connection left open", i)
		}
	}
	trailer := "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nbad trailer\x01\r\n\r\n"
	if status, _, _ := rawRequest(t, addr, trailer); status != http.StatusBadRequest && status != http.StatusOK {
		t.Errorf("trailer garbage: status %d", status)
	}
	if !waitFor(func() bool { return h.Stats().Busy == 0 }) {
		t.Fatalf("worker still busy after the malformed uploads: %+v", h.Stats())
	}
	payload := strings.Repeat("0123456789", 20000)
	sum := sha256.Sum256([]byte(payload))
	good := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(payload), payload)
	status, body, _ := rawRequest(t, addr, good)
	if want := fmt.Sprintf("%d %s", len(payload), hex.EncodeToString(sum[:])); status != 200 || body != want {
		t.Fatalf("valid upload after malformed ones: %d %q, want 200 %q", status, body, want)
	}
	if code, body := get(t, srv.URL+"/hello"); code != 200 || body != "Hello, World!\n" {
		t.Fatalf("GET after the uploads: %d %q", code, body)
	}
}

// TestShortBodyFreesWorker: a body shorter than its Content-Length, then
// the client's half close: 400, and the worker that was reading it is free
// for the next request.
func TestShortBodyFreesWorker(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, Threads: 1, RequestTimeout: time.Minute})
	srv := serve(t, h)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, size := range []int{1000, 300000} { // inline and streamed bodies
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", size, strings.Repeat("x", size/2))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("size %d: status %d, want 400", size, resp.StatusCode)
		}
		c.Close()
		if !waitFor(func() bool { return h.Stats().Busy == 0 }) {
			t.Fatalf("size %d: worker still busy: %+v", size, h.Stats())
		}
	}
	if code, _ := get(t, srv.URL+"/hello"); code != 200 {
		t.Fatalf("GET after the short bodies: %d", code)
	}
}

// TestMaxRequestBody: a declared length above the limit is 413 before the
// application runs; a chunked body that grows past it is 413 too.
func TestMaxRequestBody(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, Threads: 1, MaxRequestBody: 100000})
	srv := serve(t, h)
	addr := strings.TrimPrefix(srv.URL, "http://")
	status, _, closed := rawRequest(t, addr, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\nabc")
	if status != http.StatusRequestEntityTooLarge || !closed {
		t.Errorf("huge Content-Length: status %d closed %v, want 413 and closed", status, closed)
	}
	if s := h.Stats().Served; s != 0 {
		t.Errorf("the application ran for a body over the limit: served %d", s)
	}
	chunk := strings.Repeat("y", 40000)
	req := "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	for i := 0; i < 4; i++ {
		req += fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk)
	}
	req += "0\r\n\r\n"
	status, _, _ = rawRequest(t, addr, req)
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: status %d, want 413", status)
	}
	// Under the limit, the same kind of upload works.
	status, body, _ := rawRequest(t, addr, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk))
	if status != 200 || !strings.HasPrefix(body, "40000 ") {
		t.Errorf("chunked body under the limit: %d %q", status, body)
	}
	if !waitFor(func() bool { return h.Stats().Busy == 0 }) {
		t.Fatalf("worker still busy: %+v", h.Stats())
	}
}

// TestLateErrorsWrite: an application that keeps wsgi.errors and writes to
// it after its request ended does not kill the worker or the requests in
// flight on it; the line reaches the log.
func TestLateErrorsWrite(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 1, Threads: 2})
	srv := serve(t, h)
	if code, _ := get(t, srv.URL+"/keep-errors"); code != 200 {
		t.Fatal("keep-errors failed")
	}
	pids := h.pids()
	slow := make(chan int, 1)
	go func() { code, _ := tryGet(srv.URL + "/slow?ms=1500"); slow <- code }()
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("slow request not running")
	}
	if code, body := get(t, srv.URL+"/late-log"); code != 200 || body != "late logged" {
		t.Fatalf("late-log: %d %q", code, body)
	}
	if code := <-slow; code != 200 {
		t.Errorf("request in flight during the late write: %d, want 200", code)
	}
	if got := h.pids(); len(got) != 1 || got[0] != pids[0] {
		t.Errorf("worker replaced after a late wsgi.errors write: %v -> %v", pids, got)
	}
	if !waitFor(func() bool { return strings.Contains(logs.String(), "late line from an old request") }) {
		t.Errorf("late line not logged:\n%s", logs.String())
	}
}

// TestCancelledContextCutsStream: a context.WithTimeout middleware cutting
// a chunked response short leaves it visibly incomplete: no terminating
// chunk, so the client's read fails instead of ending cleanly.
func TestCancelledContextCutsStream(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, Threads: 1})
	timeout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 300*time.Millisecond)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	srv := serve(t, timeout)
	resp, err := http.Get(srv.URL + "/stream?n=40&size=8&delay=0.05")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("cut stream read as complete: %d bytes, no error", len(b))
	}
	if len(b) >= 40*8 {
		t.Fatalf("the whole stream arrived (%d bytes): nothing was cut", len(b))
	}
	// Before the response starts, a cancelled context is an error status,
	// never an empty 200.
	resp, err = http.Get(srv.URL + "/slow?ms=1000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 500 {
		t.Errorf("request cancelled before its response: status %d, want 5xx", resp.StatusCode)
	}
	if !waitFor(func() bool { return h.Stats().Busy == 0 }) {
		t.Fatalf("worker still busy: %+v", h.Stats())
	}
}

// TestUnsafeNeverQueued: with one long request running and the other
// thread free after a short one, a POST is served as soon as a thread is
// free, never queued behind the long request (it used to wait 3 s).
func TestUnsafeNeverQueued(t *testing.T) {
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			h, _ := newTestHandler(t, Config{Processes: 1, Threads: 2})
			h.pipelineMaxAge = time.Hour // any request may be queued: the policy alone decides
			srv := serve(t, h)
			done := make(chan string, 3)
			fetch := func(name, method, path string) { done <- fetchStatus(srv.URL, name, method, path) }
			longThenShort(t, h, fetch)
			go fetch("probe", method, "/hello")
			var order []string
			for len(order) < 3 {
				order = append(order, <-done)
			}
			// The short request and the probe may finish in either order
			// (the thread is free as soon as the short one's last frame
			// arrives); the probe must not wait for the long one.
			if order[2] != "long 200" || !slices.Contains(order, "probe 200") || !slices.Contains(order, "short 200") {
				t.Errorf("completion order %q: the %s waited for the long request", order, method)
			}
		})
	}
}

// TestFrameBufferShrinks: a connection that relayed large frames (a
// download in 1 MiB pieces) gives its grown read buffer back once idle, so
// that the heap returns to its idle size after a load.
func TestFrameBufferShrinks(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, Threads: 1})
	srv := serve(t, h)
	if code, body := get(t, srv.URL+"/stream?n=4&size=1048576"); code != 200 || len(body) != 4<<20 {
		t.Fatalf("download: %d, %d bytes", code, len(body))
	}
	bufLen := func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, c := range h.conns {
			n = max(n, int(c.fr.size.Load()))
		}
		return n
	}
	// One more request lets the reader pass its waiting point idle.
	get(t, srv.URL+"/hello")
	if !waitFor(func() bool { return bufLen() <= frameBuf }) {
		t.Fatalf("read buffer still %d bytes after the download", bufLen())
	}
}

// TestOldestFirst: a thread that becomes idle goes to the oldest request
// waiting for one, even when that request is queued behind a running one
// and a younger one waits in the queue: the GET queued behind the long
// request is moved before the later POST gets the thread.
func TestOldestFirst(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 1, Threads: 2})
	h.pipelineMaxAge = time.Hour // the GET is queued behind the long request
	srv := serve(t, h)
	done := make(chan string, 4)
	fetch := func(name, method, path string) { done <- fetchStatus(srv.URL, name, method, path) }
	longThenShort(t, h, fetch)
	go fetch("get", "GET", "/hello")
	if !waitFor(func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.conns[0].assigned+h.conns[1].assigned == 3
	}) {
		t.Fatal("the GET was not queued behind a running request")
	}
	go fetch("post", "POST", "/slow?ms=1000")
	if !waitFor(func() bool { return h.Stats().Queued == 1 }) {
		t.Fatal("the POST is not waiting in the queue")
	}
	var order []string
	for len(order) < 4 {
		order = append(order, <-done)
	}
	get, post := slices.Index(order, "get 200"), slices.Index(order, "post 200")
	if get < 0 || post < 0 || get > post || order[3] != "long 200" {
		t.Errorf("completion order %q: the GET, older, must finish before the POST and both before the long request\n%s", order, logs.String())
	}
}

// fetchStatus makes one request and returns "name STATUS" once its body
// was read, or "name: error".
func fetchStatus(base, name, method, path string) string {
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		return name + ": " + err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return name + ": " + err.Error()
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return fmt.Sprintf("%s %d", name, resp.StatusCode)
}

// longThenShort starts a 4 s request, then a 300 ms one, on a handler with
// two threads, and waits until both run. The long one goes first, so the
// rotation then offers its connection first to a request queued next.
func longThenShort(t *testing.T, h *Handler, fetch func(name, method, path string)) {
	t.Helper()
	go fetch("long", "GET", "/slow?ms=4000")
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatal("long request not running")
	}
	go fetch("short", "GET", "/slow?ms=300")
	if !waitFor(func() bool { return h.Stats().Busy == 2 }) {
		t.Fatal("short request not running")
	}
}
