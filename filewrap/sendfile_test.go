package filewrap_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gowsgi/gowsgi/filewrap"
	"github.com/gowsgi/gowsgi/internal/testenv"
)

// countingConn sits between net/http and the TCP connection and records
// which bytes went through user-space Write calls and which were handed to
// the kernel as a file by ReadFrom (net/http's sendfile path).
type countingConn struct {
	*net.TCPConn
	mu        sync.Mutex
	writes    bytes.Buffer // everything passed to Write
	fileBytes int64        // sent by ReadFrom from an *os.File
	copyBytes int64        // sent by ReadFrom from anything else
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes.Write(p)
	c.mu.Unlock()
	return c.TCPConn.Write(p)
}

func (c *countingConn) ReadFrom(r io.Reader) (int64, error) {
	inner := r
	if lr, ok := r.(*io.LimitedReader); ok {
		inner = lr.R
	}
	_, isFile := inner.(*os.File)
	n, err := c.TCPConn.ReadFrom(r)
	c.mu.Lock()
	if isFile {
		c.fileBytes += n
	} else {
		c.copyBytes += n
	}
	c.mu.Unlock()
	return n, err
}

type countingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*countingConn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{TCPConn: c.(*net.TCPConn)}
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

// TestSendfileThroughWrappers proves that a file body crosses a chain of
// rwWriters without one byte going through a user-space Write: everything
// after the header reaches the connection's ReadFrom as an *os.File, which
// *net.TCPConn sends with sendfile(2) (TestSendfileStrace watches the
// system calls themselves).
func TestSendfileThroughWrappers(t *testing.T) {
	data := pattern(1<<20+1, 42)
	path := writeFile(t, t.TempDir(), "body.bin", data)
	tests := []struct {
		name         string
		wrap         func(http.ResponseWriter) http.ResponseWriter
		method       string
		wantSendfile bool
	}{
		{"bare", func(w http.ResponseWriter) http.ResponseWriter { return w }, "GET", true},
		{"one-writer", func(w http.ResponseWriter) http.ResponseWriter { return wrapRW(w) }, "GET", true},
		{"three-writers", func(w http.ResponseWriter) http.ResponseWriter { return wrapRW(wrapRW(wrapRW(w))) }, "GET", true},
		{"writer-with-hook", func(w http.ResponseWriter) http.ResponseWriter {
			x := wrapRW(w)
			x.BeforeHeader = func(h http.Header, _ int) { h.Set("X-Hook", "1") }
			return wrapRW(x)
		}, "GET", true},
		// A wrapper hiding ReadFrom must get the body through Write: the
		// counting works both ways.
		{"no-readfrom", func(w http.ResponseWriter) http.ResponseWriter { return wrapRW(noReadFrom{w}) }, "GET", false},
		{"head", func(w http.ResponseWriter) http.ResponseWriter { return wrapRW(w) }, "HEAD", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type record struct {
				status  int
				written int64
			}
			done := make(chan record, 1)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				f, err := os.Open(path)
				if err != nil {
					t.Error(err)
					return
				}
				defer f.Close()
				outer := wrapRW(tt.wrap(w))
				err = filewrap.Send(outer, r, 200, f, 0, -1)
				done <- record{outer.Status(), outer.Written()}
				filewrap.Fail(outer, r, nil, err)
			}))
			ln := &countingListener{Listener: srv.Listener}
			srv.Listener = ln
			srv.Start()
			defer srv.Close()
			req, _ := http.NewRequest(tt.method, srv.URL, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := sumReader(t, resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := sum(data)
			if tt.method == "HEAD" {
				want = sum(nil)
			}
			if got != want {
				t.Fatalf("body sha256 %s, want %s", got, want)
			}
			rec := <-done // the handler has returned from Send
			ln.mu.Lock()
			defer ln.mu.Unlock()
			if len(ln.conns) != 1 {
				t.Fatalf("%d connections", len(ln.conns))
			}
			c := ln.conns[0]
			c.mu.Lock()
			defer c.mu.Unlock()
			hdrEnd := bytes.Index(c.writes.Bytes(), []byte("\r\n\r\n")) + 4
			if hdrEnd < 4 {
				t.Fatalf("no header among the written bytes")
			}
			bodyWrites := int64(c.writes.Len() - hdrEnd)
			t.Logf("header %d bytes by Write; body: %d by Write, %d by ReadFrom(file), %d by ReadFrom(other)", hdrEnd, bodyWrites, c.fileBytes, c.copyBytes)
			if tt.wantSendfile {
				if bodyWrites != 0 || c.fileBytes != int64(len(data)) || c.copyBytes != 0 {
					t.Errorf("want the whole body (%d bytes) by ReadFrom(file) and none by Write", len(data))
				}
				if rec.status != 200 || rec.written != int64(len(data)) {
					t.Errorf("outer writer recorded status %d, %d bytes", rec.status, rec.written)
				}
			} else if c.fileBytes != 0 {
				t.Errorf("%d bytes went by ReadFrom(file), want 0", c.fileBytes)
			}
			if tt.name == "writer-with-hook" && resp.Header.Get("X-Hook") != "1" {
				t.Error("BeforeHeader hook did not run")
			}
		})
	}
}

// TestSendfileStrace runs a download in a child process under strace and
// sums the bytes the sendfile(2) and write(2) system calls moved.
func TestSendfileStrace(t *testing.T) {
	if os.Getenv("FILEWRAP_STRACE_CHILD") == "1" {
		straceChild(t)
		return
	}
	if testing.Short() {
		t.Skip("skipping strace in -short mode")
	}
	strace := testenv.LookPath(t, "strace", "strace")
	const size = 8 << 20
	dir := t.TempDir()
	// The parent writes the file: the child's write(2) calls are then
	// only the HTTP exchange and the test's own output.
	data := pattern(size, 7)
	writeFile(t, dir, "body", data)
	out := filepath.Join(dir, "trace")
	cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=sendfile,write", "-o", out,
		os.Args[0], "-test.run=^TestSendfileStrace$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FILEWRAP_STRACE_CHILD=1", "FILEWRAP_STRACE_FILE="+filepath.Join(dir, "body"), "FILEWRAP_STRACE_SUM="+sum(data))
	msg, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(msg), "ptrace") || strings.Contains(string(msg), "Operation not permitted") {
			// A sandbox without ptrace: TestSendfileThroughWrappers
			// still proves the path up to the connection.
			t.Skipf("strace cannot trace here: %s", msg)
		}
		t.Fatalf("child: %v\n%s", err, msg)
	}
	trace, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var sent, written int64
	ret := regexp.MustCompile(`= (\d+)$`)
	for _, line := range strings.Split(string(trace), "\n") {
		m := ret.FindStringSubmatch(line)
		if m == nil || strings.Contains(line, "unfinished") {
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		switch {
		case strings.Contains(line, "sendfile"):
			sent += n
		case strings.Contains(line, "write"):
			written += n
		}
	}
	t.Logf("child: sendfile moved %d bytes, write(2) %d bytes, for a %d-byte body", sent, written, size)
	if sent != size {
		t.Errorf("sendfile moved %d bytes, want %d", sent, size)
	}
	if written > size/100 {
		t.Errorf("write(2) moved %d bytes: the body was copied", written)
	}
}

// straceChild serves and downloads one file through a chain of writers.
func straceChild(t *testing.T) {
	path, want := os.Getenv("FILEWRAP_STRACE_FILE"), os.Getenv("FILEWRAP_STRACE_SUM")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		ww := wrapRW(wrapRW(w))
		filewrap.Fail(ww, r, nil, filewrap.Send(ww, r, 200, f, 0, -1))
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _, err := sumReader(t, resp.Body)
	if err != nil || got != want {
		t.Fatalf("download: %v, sha256 %s want %s", err, got, want)
	}
}

// TestSendShrinkingFile truncates the file while it is being sent: the
// client must see an error, never a complete-looking short body, and the
// server must log it.
func TestSendShrinkingFile(t *testing.T) {
	const size = 256 << 20 // far more than the socket buffers hold
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "shrinks")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			head := pattern(1<<20, 9)
			if _, err := f.Write(head); err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(size); err != nil {
				t.Fatal(err)
			}
			f.Close()
			var logs testenv.LogBuffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			var sendErr atomic.Value
			srv := p.server.start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				f, err := os.Open(path)
				if err != nil {
					t.Error(err)
					return
				}
				defer f.Close()
				if p.wrap != nil {
					w = p.wrap(w)
				}
				err = filewrap.Send(w, r, 200, f, 0, -1)
				if err != nil {
					sendErr.Store(err)
				}
				filewrap.Fail(w, r, logger, err)
			}))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.ContentLength != size {
				t.Fatalf("Content-Length %d, want %d", resp.ContentLength, size)
			}
			first := make([]byte, len(head))
			if _, err := io.ReadFull(resp.Body, first); err != nil || !bytes.Equal(first, head) {
				t.Fatalf("first MiB: %v", err)
			}
			if err := os.Truncate(path, 2<<20); err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			if err == nil {
				t.Fatalf("client read %d more bytes and no error: the short body looked complete", n)
			}
			t.Logf("client: %d bytes, then %v", int64(len(head))+n, err)
			if e, _ := sendErr.Load().(error); !errors.Is(e, filewrap.ErrIncomplete) {
				t.Errorf("Send returned %v, want ErrIncomplete", e)
			}
			if !strings.Contains(logs.String(), "aborting an incomplete response") {
				t.Errorf("log: %q", logs.String())
			}
		})
	}
}

// TestSendOver4GiB sends a sparse 5 GiB file (data at the start, across the
// 4 GiB mark and at the end), whole and in sections.
func TestSendOver4GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 5 GiB transfer in -short mode")
	}
	const size = 5 << 30
	// On tmpfs the holes read as the shared zero page: the transfer costs
	// no page-cache filling and no disk.
	dir, err := os.MkdirTemp("/dev/shm", "filewrap-test-")
	if err != nil {
		dir = t.TempDir()
	} else {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	path := filepath.Join(dir, "big")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for i, off := range []int64{0, 4<<30 - 2048, size - 4096} {
		if _, err := f.WriteAt(pattern(4096, uint64(100+i)), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	section := func(off, n int64) string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		off, _ := strconv.ParseInt(r.URL.Query().Get("off"), 10, 64)
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		ww := wrapRW(w)
		filewrap.Fail(ww, r, nil, filewrap.Send(ww, r, 200, f, off, n))
	}))
	defer srv.Close()
	tests := []struct {
		name       string
		method     string
		off, n     int64
		rng        string
		wantStatus int
		wantOff    int64
		wantN      int64
	}{
		{"whole", "GET", 0, -1, "", 200, 0, size},
		{"head", "HEAD", 0, -1, "", 200, 0, 0},
		{"section-past-4GiB", "GET", 4<<30 - 100, 10000, "", 200, 4<<30 - 100, 10000},
		{"range-across-4GiB", "GET", 0, -1, fmt.Sprintf("bytes=%d-%d", 4<<30-3000, 4<<30+3000), 206, 4<<30 - 3000, 6001},
		{"range-suffix", "GET", 0, -1, "bytes=-5000", 206, size - 5000, 5000},
		{"range-open-past-4GiB", "GET", 0, -1, fmt.Sprintf("bytes=%d-", size-(1<<20)), 206, size - (1 << 20), 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := fmt.Sprintf("%s/?off=%d&n=%d", srv.URL, tt.off, tt.n)
			if tt.method == "GET" && tt.wantN > 1<<30 {
				// Hashing 5 GiB in this (race-instrumented) process
				// would dominate the test: curl downloads it and cmp
				// compares it with the file, byte by byte.
				curlCmp(t, url, path, tt.wantN)
				return
			}
			req, _ := http.NewRequest(tt.method, url, nil)
			if tt.rng != "" {
				req.Header.Set("Range", tt.rng)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			wantLen := tt.wantN
			if tt.method == "HEAD" {
				wantLen = size
			}
			if resp.ContentLength != wantLen {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, wantLen)
			}
			got, n, err := sumReader(t, resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if w := section(tt.wantOff, tt.wantN); got != w || n != tt.wantN {
				t.Errorf("got %d bytes sha256 %s, want %d bytes sha256 %s", n, got, tt.wantN, w)
			}
		})
	}
}

// curlCmp downloads url with curl and compares the body with the file at
// path using cmp, outside this process.
func curlCmp(t *testing.T, url, path string, size int64) {
	curl := testenv.LookPath(t, "curl", "curl")
	cmpBin := testenv.LookPath(t, "cmp", "diffutils")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var curlErr, cmpOut bytes.Buffer
	dl := exec.Command(curl, "-sS", "--write-out", "%{stderr}%{http_code} %{size_download}", url)
	dl.Stdout, dl.Stderr = pw, &curlErr
	cmp := exec.Command(cmpBin, "-", path)
	cmp.Stdin, cmp.Stdout, cmp.Stderr = pr, &cmpOut, &cmpOut
	if err := cmp.Start(); err != nil {
		t.Fatal(err)
	}
	if err := dl.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	pw.Close()
	if err := dl.Wait(); err != nil {
		t.Errorf("curl: %v: %s", err, curlErr.String())
	}
	if err := cmp.Wait(); err != nil {
		t.Errorf("cmp: %v: %s", err, cmpOut.String())
	}
	if want := fmt.Sprintf("200 %d", size); curlErr.String() != want {
		t.Errorf("curl: status and size %q, want %q", curlErr.String(), want)
	}
	t.Logf("curl: status and size %s; cmp: identical to the file", curlErr.String())
}

// TestSendClientGone closes the connection in the middle of a body: Send
// reports ErrIncomplete and Fail logs it as the client's doing, not as a
// server error.
func TestSendClientGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 256<<20); err != nil {
		t.Fatal(err)
	}
	var logs testenv.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		err = filewrap.Send(wrapRW(w), r, 200, f, 0, -1)
		done <- err
		filewrap.Fail(w, r, logger, err)
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetLinger(0) // reset, not a polite close
	c.Close()
	if err := <-done; !errors.Is(err, filewrap.ErrIncomplete) {
		t.Fatalf("Send: %v, want ErrIncomplete", err)
	}
	srv.Close() // waits for the handler, and so for Fail's log line
	if l := logs.String(); !strings.Contains(l, "client went away") || strings.Contains(l, "level=ERROR") {
		t.Errorf("log: %q", l)
	}
}
