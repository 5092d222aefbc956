package uwsgi

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/wsgi"
)

// decodePacket reads one uwsgi request packet: what uWSGI does with the
// bytes appendPacket writes.
func decodePacket(r io.Reader) ([]wsgi.EnvVar, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != 0 || hdr[3] != 0 {
		return nil, fmt.Errorf("modifiers %d/%d", hdr[0], hdr[3])
	}
	block := make([]byte, binary.LittleEndian.Uint16(hdr[1:3]))
	if _, err := io.ReadFull(r, block); err != nil {
		return nil, err
	}
	var env []wsgi.EnvVar
	next := func() (string, error) {
		if len(block) < 2 {
			return "", errors.New("truncated size")
		}
		n := int(binary.LittleEndian.Uint16(block))
		if len(block) < 2+n {
			return "", errors.New("truncated string")
		}
		s := string(block[2 : 2+n])
		block = block[2+n:]
		return s, nil
	}
	for len(block) > 0 {
		k, err := next()
		if err != nil {
			return nil, err
		}
		v, err := next()
		if err != nil {
			return nil, err
		}
		env = append(env, wsgi.EnvVar{Name: k, Value: v})
	}
	return env, nil
}

// fakeUpstream is a uwsgi server in the test: each connection's packet is
// decoded and handed, with the connection, to serve.
func fakeUpstream(t *testing.T, serve func(c net.Conn, env map[string]string, br *bufio.Reader)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				vars, err := decodePacket(br)
				if err != nil {
					t.Errorf("fake upstream: %v", err)
					return
				}
				env := map[string]string{}
				for _, kv := range vars {
					env[kv.Name] = kv.Value
				}
				serve(c, env, br)
			})
		}
	})
	return l.Addr().String()
}

func newFront(t *testing.T, cfg Config) (*Handler, *httptest.Server, *testenv.LogBuffer) {
	t.Helper()
	var lb testenv.LogBuffer
	cfg.Logger = lb.Logger()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("handler log:\n%s", lb.String())
		}
	})
	return h, srv, &lb
}

// The variables nginx's uwsgi_params send, with the scheme where uWSGI
// reads it, and a chunked body's length once spooled.
func TestVariables(t *testing.T) {
	got := make(chan map[string]string, 1)
	addr := fakeUpstream(t, func(c net.Conn, env map[string]string, br *bufio.Reader) {
		body, _ := io.ReadAll(io.LimitReader(br, 3))
		env["body"] = string(body)
		got <- env
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	_, srv, _ := newFront(t, Config{Upstreams: []string{addr}, Environ: map[string]string{"trac.env_path": "/srv/x"}})
	req, _ := http.NewRequest("POST", srv.URL+"/a%2Fb/c?x=1", io.MultiReader(strings.NewReader("abc")))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Cookie", "a=1")
	req.Header.Add("Cookie", "b=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	env := <-got
	want := map[string]string{
		"REQUEST_METHOD": "POST", "QUERY_STRING": "x=1", "REQUEST_URI": "/a%2Fb/c?x=1",
		"SCRIPT_NAME": "", "PATH_INFO": "/a/b/c", "SERVER_PROTOCOL": "HTTP/1.1",
		"REQUEST_SCHEME": "http", "UWSGI_SCHEME": "http", "CONTENT_TYPE": "text/plain",
		"CONTENT_LENGTH": "3", "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "127.0.0.1",
		"HTTP_COOKIE": "a=1; b=2", "trac.env_path": "/srv/x", "body": "abc",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"HTTPS", "wsgi.url_scheme", "HTTP_TRANSFER_ENCODING"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s = %q, want none", k, v)
		}
	}
	if env["REMOTE_PORT"] == "" || env["SERVER_PORT"] == "" {
		t.Errorf("REMOTE_PORT %q SERVER_PORT %q", env["REMOTE_PORT"], env["SERVER_PORT"])
	}
}

// Responses from the upstream, and what the client must see.
func TestResponses(t *testing.T) {
	tests := []struct {
		name   string
		method string
		reply  string
		rst    bool // close with a reset instead of a FIN
		status int
		body   string
		cut    bool // the client's read must fail
		header map[string]string
	}{
		{name: "length", reply: "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello", status: 201, body: "hello", header: map[string]string{"X-A": "1", "Content-Length": "5"}},
		{name: "short of its length", reply: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", status: 200, cut: true},
		{name: "no length, clean close", reply: "HTTP/1.1 200 OK\r\n\r\nhello", status: 200, body: "hello"},
		{name: "no length, reset", reply: "HTTP/1.1 200 OK\r\n\r\nhello", rst: true, status: 200, cut: true},
		{name: "chunked", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", status: 200, body: "hello"},
		{name: "chunked cut off", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", status: 200, cut: true},
		{name: "hop-by-hop and internal fields", reply: "HTTP/1.1 200 OK\r\nConnection: X-Mine\r\nX-Mine: 1\r\nKeep-Alive: 5\r\nX-Accel-Redirect: /x\r\nX-Sendfile: /etc/passwd\r\nX-Kept: 1\r\nContent-Length: 0\r\n\r\n",
			status: 200, header: map[string]string{"X-Mine": "", "Keep-Alive": "", "X-Accel-Redirect": "", "X-Sendfile": "", "X-Kept": "1"}},
		// An HTTP/1.0 response (to an HTTP/1.0 request) keeps the
		// client's connection; an explicit Connection: close closes it.
		{name: "HTTP/1.0 upstream", reply: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", header: map[string]string{"Connection": ""}},
		{name: "Connection: close", reply: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", header: map[string]string{"Connection": "close"}},
		{name: "head", method: "HEAD", reply: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", status: 200, header: map[string]string{"Content-Length": "1234"}},
		{name: "no content", reply: "HTTP/1.1 204 No Content\r\n\r\n", status: 204},
		{name: "garbage", reply: "hello\r\n\r\n", status: 502},
		{name: "informational", reply: "HTTP/1.1 100 Continue\r\n\r\n", status: 502},
		{name: "two lengths", reply: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", status: 502},
		{name: "closed before a response", reply: "", status: 502},
		{name: "half a head", reply: "HTTP/1.1 200 OK\r\nX-A: 1\r\n", status: 502},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeUpstream(t, func(c net.Conn, env map[string]string, br *bufio.Reader) {
				io.WriteString(c, tc.reply)
				if tc.rst {
					c.(*net.TCPConn).SetLinger(0)
				}
			})
			_, srv, _ := newFront(t, Config{Upstreams: []string{addr}})
			method := tc.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, srv.URL+"/", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tc.status, body)
			}
			if tc.cut {
				if err == nil {
					t.Fatalf("body %q read whole, want a cut", body)
				}
				return
			}
			if err != nil {
				t.Fatalf("body: %v", err)
			}
			if tc.status < 300 && string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			for k, v := range tc.header {
				if k == "Connection" {
					if resp.Close != (v == "close") {
						t.Errorf("client connection closed %v, want %v", resp.Close, v == "close")
					}
					continue
				}
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// Failures before the response reach Config.ErrorHandler as wsgi's
// errors (and this package's), with the default statuses.
func TestErrors(t *testing.T) {
	refused := testenv.Addr(testenv.FreePort(t))

	tests := []struct {
		name    string
		cfg     Config
		req     func(url string) *http.Request
		before  int // requests left hanging first
		status  int
		err     error
		retryIn bool
	}{
		{name: "unavailable", cfg: Config{Upstreams: []string{refused}}, status: 503, err: wsgi.ErrUnavailable, retryIn: true},
		{name: "request timeout", cfg: Config{RequestTimeout: 50 * time.Millisecond}, status: 504, err: wsgi.ErrRequestTimeout},
		{name: "queue timeout", cfg: Config{MaxConns: 1, QueueTimeout: 50 * time.Millisecond}, before: 1, status: 503, err: wsgi.ErrQueueTimeout, retryIn: true},
		{name: "queue full", cfg: Config{MaxConns: 1, QueueSize: 1}, before: 2, status: 503, err: wsgi.ErrQueueFull, retryIn: true},
		{name: "body over the limit", cfg: Config{MaxRequestBody: 10}, status: 413, err: wsgi.ErrBodyTooLarge,
			req: func(url string) *http.Request {
				r, _ := http.NewRequest("POST", url, strings.NewReader(strings.Repeat("x", 11)))
				return r
			}},
		{name: "chunked body over the limit", cfg: Config{MaxRequestBody: 10}, status: 413, err: wsgi.ErrBodyTooLarge,
			req: func(url string) *http.Request {
				r, _ := http.NewRequest("POST", url, io.MultiReader(strings.NewReader(strings.Repeat("x", 11))))
				return r
			}},
		{name: "variables over 64 KiB", cfg: Config{}, status: 431, err: ErrRequestTooLarge,
			req: func(url string) *http.Request {
				r, _ := http.NewRequest("GET", url, nil)
				r.Header.Set("X-Big", strings.Repeat("x", 70000))
				return r
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := make(chan error, 10)
			tc.cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
				errs <- err
				if errors.Is(err, wsgi.ErrQueueFull) || errors.Is(err, wsgi.ErrQueueTimeout) || errors.Is(err, wsgi.ErrUnavailable) {
					w.Header().Set("Retry-After", "1")
				}
				w.WriteHeader(statusOf(err))
			}
			// Without upstreams, one that answers when the test ends.
			release := make(chan struct{})
			if tc.cfg.Upstreams == nil {
				tc.cfg.Upstreams = []string{fakeUpstream(t, func(c net.Conn, env map[string]string, br *bufio.Reader) {
					<-release
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				})}
			}
			h, srv, _ := newFront(t, tc.cfg)
			t.Cleanup(func() { close(release) })
			for range tc.before {
				go func() {
					if resp, err := http.Get(srv.URL + "/hang"); err == nil {
						resp.Body.Close()
					}
				}()
			}
			waitFor(t, "the requests in front", func() bool {
				h.mu.Lock()
				defer h.mu.Unlock()
				return h.ups[0].active+h.queue.Len() >= tc.before
			})
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			if tc.req != nil {
				req = tc.req(srv.URL + "/")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			err = <-errs
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Retry-After") != ""; got != tc.retryIn {
				t.Errorf("Retry-After present %v, want %v", got, tc.retryIn)
			}
		})
	}
}

// statusOf is the default handler's status for err, the way an embedding
// server's ErrorHandler might pick it.
func statusOf(err error) int {
	switch {
	case errors.Is(err, wsgi.ErrRequestTimeout):
		return 504
	case errors.Is(err, wsgi.ErrBodyTooLarge):
		return 413
	case errors.Is(err, ErrRequestTooLarge):
		return 431
	case errors.Is(err, wsgi.ErrQueueFull), errors.Is(err, wsgi.ErrQueueTimeout), errors.Is(err, wsgi.ErrUnavailable):
		return 503
	}
	return 502
}
