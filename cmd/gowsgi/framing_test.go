package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// seenApp appends each request's PATH_INFO to the file SEEN, then reads
// the body.
const seenApp = `
def application(environ, start_response):
    with open(SEEN, 'a') as f:
        f.write(environ['PATH_INFO'] + '\n')
    environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']
`

func startSeenApp(t *testing.T, args ...string) (addr string, seen func() []string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "seen")
	script := testenv.WriteFile(t, dir, "seen.wsgi", "SEEN = "+strings.ReplaceAll(`"`+log+`"`, `\`, `\\`)+"\n"+seenApp)
	addr = startChild(t, childOpts{}, append(append([]string{"-python", testenv.Python(t)}, args...), script)...).addr
	return addr, func() []string {
		b, _ := os.ReadFile(log)
		return strings.Fields(string(b))
	}
}

// responses sends raw on one connection and reads responses until the
// server closes it; a read timeout means the connection stayed open.
func responses(t *testing.T, addr, raw string) (statuses []int, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return statuses, false
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
				return statuses, true
			}
			t.Fatalf("response %d: %v", len(statuses)+1, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
}

// TestSmugglingRefused: a request with both Content-Length and
// Transfer-Encoding, after a first request on the same keep-alive
// connection, gets 400 and a closed connection, and the request pipelined
// behind it never reaches the application.
func TestSmugglingRefused(t *testing.T) {
	addr, seen := startSeenApp(t)
	raw := "GET /first HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /smuggler HTTP/1.1\r\nHost: x\r\nContent-Length: 37\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
		"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	statuses, closed := responses(t, addr, raw)
	if len(statuses) != 2 || statuses[0] != 200 || statuses[1] != 400 || !closed {
		t.Errorf("statuses %v, closed %v; want [200 400] and the connection closed", statuses, closed)
	}
	if got := seen(); len(got) != 1 || got[0] != "/first" {
		t.Errorf("the application saw %q, want only /first", got)
	}
}

// TestLimitRequestBody: a declared body over -limit-request-body (default
// 1 GiB, as Apache's LimitRequestBody) gets 413 at once, and the
// application does not run.
func TestLimitRequestBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		cl   int64
	}{
		{"default", nil, 2 << 30},
		{"1K", []string{"-limit-request-body", "1K"}, 2048},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, seen := startSeenApp(t, tc.args...)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.FormatInt(tc.cl, 10)+"\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no response to a %d-byte declared body: %v", tc.cl, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", resp.StatusCode)
			}
			if got := seen(); len(got) != 0 {
				t.Errorf("the application ran for %q", got)
			}
		})
	}
}

// TestLimitRequestBodyFlag: the flag's sizes and its 0 reach
// wsgi.Config.MaxRequestBody.
func TestLimitRequestBodyFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int64
	}{
		{nil, 1 << 30},
		{[]string{"-limit-request-body", "0"}, -1},
		{[]string{"-limit-request-body", "512M"}, 512 << 20},
		{[]string{"-limit-request-body", "1G"}, 1 << 30},
		{[]string{"-limit-request-body", "1048576"}, 1 << 20},
	} {
		c := parseTestArgs(t, tc.args...)
		cfg, err := wsgiConfig(c.Mounts[0], c.Server, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MaxRequestBody != tc.want {
			t.Errorf("%q: MaxRequestBody %d, want %d", tc.args, cfg.MaxRequestBody, tc.want)
		}
	}
	var out strings.Builder
	if code := run([]string{"-limit-request-body", "lots", "x.wsgi"}, &out); code != 2 {
		t.Errorf("-limit-request-body lots: exit %d, want 2", code)
	}
}
