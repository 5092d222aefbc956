package framing

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// next is the request pipelined behind each case: it must never be served
// after a refused one.
const next = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"

// framingCases are raw requests, each followed on the wire by next. goStatus
// and goKeeps are what net/http alone does (Go 1.26); status is what the
// guarded server answers, and keeps whether it serves next on the same
// connection.
var framingCases = []struct {
	name     string
	req      string
	goStatus int
	goKeeps  bool
	status   int
	keeps    bool
}{
	{"plain GET", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", 200, true, 200, true},
	{"Content-Length body", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 200, true, 200, true},
	{"chunked body", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n", 200, true, 200, true},
	{"chunked body, trailer", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n", 200, true, 200, true},
	{"Chunked in capitals", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", 200, true, 200, true},
	{"same Content-Length twice", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", 200, true, 200, true},
	{"CRLF after a POST body", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\n", 200, true, 200, true},
	{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 200, true, 200, true},

	{"Content-Length and chunked", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, true, 400, false},
	{"chunked and Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n", 200, true, 400, false},
	{"Content-Length and chunked, GET", "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, true, 400, false},
	{"Content-Length and chunked, OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, true, 200, false},
	{"gzip", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, false, 501, false},
	{"gzip, chunked", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, false, 501, false},
	{"chunked, chunked", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 501, false, 501, false},
	{"chunked twice", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, false, 501, false},
	{"identity", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nhi", 501, false, 501, false},
	{"chunked with a tab", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \tchunked\t\r\n\r\n0\r\n\r\n", 200, true, 200, true},
	{"differing Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi", 400, false, 400, false},
	{"Content-Length list", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nhi", 400, false, 400, false},
	{"Content-Length sign", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nhi", 400, false, 400, false},
	{"space before the colon", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, false, 400, false},
	{"HTTP/1.0 chunked and Content-Length", "POST /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 200, true, 400, false},
	{"HTTP/1.0 chunked", "POST /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n", 200, true, 400, false},
	{"folded Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 200, true, 400, false},
	{"folded header", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 200, true, 400, false},
	{"bare LF", "GET /a HTTP/1.1\nHost: x\n\n", 200, true, 400, false},
	{"bad chunk size", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, false, 200, false},
	{"chunk without CRLF", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXX0\r\n\r\n", 200, false, 200, false},
	{"bad trailer", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad\r\n\r\n", 200, false, 200, false},
}

// server serves on a loopback listener, guarded or not, and records the
// paths it served.
type server struct {
	addr string
	mu   sync.Mutex
	seen []string
}

func startServer(t *testing.T, guarded bool) *server {
	t.Helper()
	s := &server{}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.seen = append(s.seen, r.URL.Path)
			s.mu.Unlock()
			// A body error is not the guard's business: the
			// handler answers 200 all the same.
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "ok")
		}),
		ErrorLog: nil,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	if guarded {
		g := &Guard{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if testing.Verbose() {
			g.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		}
		ln = g.Configure(srv, ln)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *server) served(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.seen {
		if p == path {
			return true
		}
	}
	return false
}

// exchange sends raw on a new connection and reads the responses until the
// server closes the connection or until n responses came (n > 0).
// It returns their statuses and whether the connection was closed.
func (s *server) exchange(t *testing.T, raw string, n int) (statuses []int, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
				return statuses, true
			case errors.As(err, &ne) && ne.Timeout():
				return statuses, false
			}
			t.Fatalf("reading response %d: %v", len(statuses)+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if len(statuses) == n {
			// Both answered: the connection is open (and would
			// serve more).
			return statuses, false
		}
	}
}

func TestFraming(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		name := "net/http alone"
		if guarded {
			name = "guarded"
		}
		t.Run(name, func(t *testing.T) {
			for _, tc := range framingCases {
				t.Run(tc.name, func(t *testing.T) {
					s := startServer(t, guarded)
					status, keeps := tc.status, tc.keeps
					if !guarded {
						status, keeps = tc.goStatus, tc.goKeeps
					}
					n := 0 // read until the server closes
					if keeps {
						n = 2
					}
					statuses, closed := s.exchange(t, tc.req+next, n)
					if len(statuses) == 0 || statuses[0] != status {
						t.Fatalf("statuses %v, want %d first", statuses, status)
					}
					if keeps {
						if len(statuses) != 2 || statuses[1] != 200 || !s.served("/next") {
							t.Errorf("statuses %v (closed %v), want the pipelined request served", statuses, closed)
						}
						return
					}
					// net/http answers OPTIONS * itself, and the
					// guard refuses what follows.
					if !closed || len(statuses) > 2 || len(statuses) == 2 && statuses[1] != 400 {
						t.Errorf("statuses %v (closed %v), want the connection closed after one response (or a refusal)", statuses, closed)
					}
					if s.served("/next") {
						t.Errorf("the pipelined request was served")
					}
				})
			}
		})
	}
}

// rfConn counts the bytes a server sends through its connection's
// ReadFrom (sendfile for a file on a *net.TCPConn).
type rfConn struct {
	*net.TCPConn
	n *atomic.Int64
}

func (c rfConn) ReadFrom(r io.Reader) (int64, error) {
	n, err := c.TCPConn.ReadFrom(r)
	c.n.Add(n)
	return n, err
}

type rfListener struct {
	net.Listener
	n atomic.Int64
}

func (l *rfListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return rfConn{c.(*net.TCPConn), &l.n}, nil
}

// TestSendfileKept: a file body still reaches the connection's ReadFrom
// (sendfile) through the guard's connection wrapper, with or without a
// per-write Timeout (which sends it in slices).
func TestSendfileKept(t *testing.T) {
	t.Run("no timeout", func(t *testing.T) { testSendfileKept(t, &Guard{}) })
	t.Run("timeout", func(t *testing.T) { testSendfileKept(t, &Guard{Timeout: time.Minute}) })
}

func testSendfileKept(t *testing.T, g *Guard) {
	const size = 1 << 20
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
		close(served)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := &rfListener{Listener: ln}
	go srv.Serve(g.Configure(srv, rl))
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size || resp.StatusCode != 200 {
		t.Fatalf("status %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	<-served
	if got := rl.n.Load(); got < size-512 {
		t.Errorf("%d bytes by ReadFrom, want the body's %d less the sniffed 512", got, size)
	}
}

// TestHijackedNotScanned: once a handler hijacks its connection (a
// WebSocket, a tunnel), what flows on it is not HTTP and is not scanned.
func TestHijackedNotScanned(t *testing.T) {
	type result struct {
		echo    string
		scanErr error
		heads   int
	}
	done := make(chan result, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc, _ := r.Context().Value(connKey{}).(*conn)
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil || fc == nil {
			t.Errorf("hijack: %v (guarded conn %v)", err, fc != nil)
			return
		}
		defer c.Close()
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
		line, _ := brw.ReadString('\n')
		line2, _ := brw.ReadString('\n')
		fc.mu.Lock()
		done <- result{line + line2, fc.s.err, len(fc.s.heads)}
		fc.mu.Unlock()
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve((&Guard{}).Configure(srv, ln))
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// Would be refused as a head: Content-Length with Transfer-Encoding.
	tunnel := "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	io.WriteString(c, tunnel)
	r := <-done
	if r.echo != "GET / HTTP/1.1\r\nContent-Length: 1\r\n" || r.scanErr != nil || r.heads != 0 {
		t.Errorf("read %q through the hijacked connection; scanner error %v, %d heads queued", r.echo, r.scanErr, r.heads)
	}
}

// BenchmarkServer measures a keep-alive request to a hello-world handler
// over loopback, with and without the guard.
func BenchmarkServer(b *testing.B) {
	for _, guarded := range []bool{false, true} {
		name := "plain"
		if guarded {
			name = "guarded"
		}
		b.Run(name, func(b *testing.B) {
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "14")
				io.WriteString(w, "Hello, World!\n")
			})}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			sln := ln
			if guarded {
				g := &Guard{}
				sln = g.Configure(srv, ln)
			}
			go srv.Serve(sln)
			defer srv.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET /hello HTTP/1.1\r\nHost: localhost:8000\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
			br := bufio.NewReader(c)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
