package testenv

import (
	"net"
	"testing"
	"time"
)

func TestFreePortAndWait(t *testing.T) {
	p := FreePort(t)
	l, err := net.Listen("tcp", Addr(p))
	if err != nil {
		t.Fatalf("port %d from FreePort is not free: %v", p, err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	WaitTCP(t, Addr(p), 2*time.Second)
}

func TestLookPathFindsSh(t *testing.T) {
	if p := LookPath(t, "sh", "dash"); p == "" {
		t.Fatal("sh not found")
	}
}
