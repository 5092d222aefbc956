package testenv

import (
	"net"
	"testing"
)

func TestClientPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	local := c.LocalAddr().(*net.TCPAddr).Port
	ports, err := ClientPorts(port)
	if err != nil {
		t.Fatal(err)
	}
	if !ports[local] || len(ports) != 1 {
		t.Fatalf("ClientPorts(%d) = %v, want just %d", port, ports, local)
	}
	c.Close()
	ports, err = ClientPorts(port)
	if err != nil {
		t.Fatal(err)
	}
	if ports[local] {
		t.Fatalf("a closed connection is still listed: %v", ports)
	}
}

func TestEstablishedTo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().(*net.TCPAddr).Port
	ports, err := EstablishedTo(port)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 1 || !ports[local] {
		t.Fatalf("EstablishedTo(%d) = %v, want just %d", port, ports, local)
	}
	c.Close()
	ports, err = EstablishedTo(port)
	if err != nil {
		t.Fatal(err)
	}
	if ports[local] {
		t.Fatalf("EstablishedTo(%d) = %v after close", port, ports)
	}
}
