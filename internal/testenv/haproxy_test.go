package testenv

import (
	"io"
	"net"
	"strings"
	"testing"
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
