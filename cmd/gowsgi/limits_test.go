package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/framing"
)

// TestLimitsFlags: the flags reach the server: a request line over
// -limit-request-line gets 414, too many fields 400, and a connection that
// sends no head is closed after -request-read-timeout's header time.
func TestLimitsFlags(t *testing.T) {
	addr, seen := startSeenApp(t, "-limit-request-line", "100", "-limit-request-fields", "3",
		"-request-read-timeout", "header=1", "-keep-alive-timeout", "30s")
	long := "GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	if statuses, closed := responses(t, addr, long); len(statuses) != 1 || statuses[0] != 414 || !closed {
		t.Errorf("long request line: %v, closed %v; want [414], closed", statuses, closed)
	}
	fields := "GET /f HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
	if statuses, closed := responses(t, addr, fields); len(statuses) != 1 || statuses[0] != 400 || !closed {
		t.Errorf("four fields: %v, closed %v; want [400], closed", statuses, closed)
	}
	ok := "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if statuses, _ := responses(t, addr, ok); len(statuses) != 1 || statuses[0] != 200 {
		t.Errorf("within the limits: %v", statuses)
	}
	if s := seen(); len(s) != 1 || s[0] != "/ok" {
		t.Errorf("the application saw %q, want only /ok", s)
	}

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Error("a connection with half a head is still open after 20s, with -request-read-timeout header=1")
	}
}

// TestLimitsFlagErrors: a bad value names the flag.
func TestLimitsFlagErrors(t *testing.T) {
	for _, v := range []string{"header=20-40", "header=x", "handshake=5", "body=1,MinRate=0"} {
		var out strings.Builder
		if code := run([]string{"-request-read-timeout", v, "x.wsgi"}, &out); code != 2 || !strings.Contains(out.String(), "-request-read-timeout") {
			t.Errorf("%q: exit %d: %s", v, code, out.String())
		}
	}
	cfg := parseTestArgs(t, "-request-read-timeout", "body=5,MinRate=100", "-timeout", "2m")
	if got := cfg.Limits.RequestReadTimeout.String(); got != "header=20-40,MinRate=500 body=5,MinRate=100" {
		t.Errorf("-request-read-timeout body=...: %s; the header phase keeps its default", got)
	}
	if cfg.Limits.Timeout != 2*time.Minute || cfg.Limits.KeepAliveTimeout != 75*time.Second || cfg.Limits.LimitRequestFieldSize != 8190 {
		t.Errorf("limits %+v", cfg.Limits)
	}
}

// TestKeepAliveTimeoutFlag: an idle keep-alive connection is closed after
// -keep-alive-timeout (it stayed open for ever before the flag), and 0
// turns keep-alive off.
func TestKeepAliveTimeoutFlag(t *testing.T) {
	addr, _ := startSeenApp(t, "-keep-alive-timeout", "1s")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c) // the response, then EOF when the server closes
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		t.Errorf("idle connection: %q, %v; want a 200 then the server closing it", b, err)
	}

	off, _ := startSeenApp(t, "-keep-alive-timeout", "0")
	statuses, closed := responses(t, off, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	if len(statuses) != 1 || !closed {
		t.Errorf("-keep-alive-timeout 0: %v, closed %v; want one response and the connection closed", statuses, closed)
	}
}

// HTTP/2 connections do not pass through the guard: -timeout reaches them
// as the HTTP/2 server's write timeout, and the head limits as
// MaxHeaderBytes (SETTINGS_MAX_HEADER_LIST_SIZE).
func TestLimitsHTTP2(t *testing.T) {
	l := defaultLimits()
	srv := &http.Server{}
	applyLimits(l, srv, &framing.Guard{})
	if srv.HTTP2 == nil || srv.HTTP2.WriteByteTimeout != l.Timeout {
		t.Errorf("HTTP2 %+v, want WriteByteTimeout %v", srv.HTTP2, l.Timeout)
	}
	if srv.MaxHeaderBytes < l.LimitRequestLine {
		t.Errorf("MaxHeaderBytes %d below the request line limit %d", srv.MaxHeaderBytes, l.LimitRequestLine)
	}
}
