package testenv

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestStartHAProxy relays a TCP connection through HAProxy with
// send-proxy and checks that the backend reads a PROXY v1 line first.
func TestStartHAProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h := StartHAProxy(t, "tcp", "server s1 "+ln.Addr().String()+" send-proxy")
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		b := make([]byte, 200)
		n, _ := io.ReadAtLeast(c, b, len("PROXY TCP4 "))
		got <- string(b[:n])
	}()
	c, err := net.Dial("tcp", h.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; !strings.HasPrefix(s, "PROXY TCP4 127.0.0.1 127.0.0.1 ") {
		t.Fatalf("backend read %q\nhaproxy: %s", s, h.Output())
	}
}

// TestStartHAProxyBalancer balances over two backends, then takes one out by making its
// /readyz fail: every request goes to the other.
func TestStartHAProxyBalancer(t *testing.T) {
	var ready [2]atomic.Bool
	var backends []HAProxyBackend
	for i := range 2 {
		ready[i].Store(true)
		name := string(rune('a' + i))
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		t.Cleanup(app.Close)
		status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" || !ready[i].Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(status.Close)
		backends = append(backends, HAProxyBackend{Addr: app.Listener.Addr().String(), CheckAddr: status.Listener.Addr().String()})
	}
	h := StartHAProxyBalancer(t, HAProxyConfig{Backends: backends})
	h.WaitState(t, 0, "UP", 10*time.Second)
	h.WaitState(t, 1, "UP", 10*time.Second)
	get := func() string {
		resp, err := http.Get("http://" + h.Addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	seen := map[string]int{}
	for range 10 {
		seen[get()]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Errorf("round-robin gave %v, want 5 each", seen)
	}
	ready[0].Store(false)
	h.WaitState(t, 0, "DOWN", 10*time.Second)
	for range 5 {
		if got := get(); got != "b" {
			t.Fatalf("a request reached the backend that is down: %q", got)
		}
	}
}
