//go:build linux

package uwsgi

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// fullListener returns the address of a socket whose accept queue is full
// and never drained: Linux drops the SYN of a further connect, which then
// times out.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	// Fill the queue: connects succeed until it is full, then one times out.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			if i == 0 {
				t.Fatalf("no connect succeeded: %v", err)
			}
			return addr
		}
		t.Cleanup(func() { c.Close() })
		if i == 16 {
			t.Skip("the accept queue of a backlog-0 socket does not fill up here")
		}
	}
}

// An upstream that does not answer a connect within ConnectTimeout goes
// out of service like one that refuses, and the request goes to another.
func TestConnectTimeoutTakesUpstreamOut(t *testing.T) {
	full := fullListener(t)
	ok := fakeUpstream(t, func(c net.Conn, env map[string]string, br *bufio.Reader) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	h, srv, _ := newFront(t, Config{Upstreams: []string{full, ok}, ConnectTimeout: 100 * time.Millisecond, Backoff: time.Minute})
	for range 3 {
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("status %d %q", resp.StatusCode, body)
		}
	}
	st := h.Stats()
	if !st[0].Down || st[0].Downs != 1 || st[1].Requests != 3 {
		t.Fatalf("stats %+v: want the timed-out upstream out after one try, the other serving all 3", st)
	}
}
