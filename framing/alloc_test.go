//go:build !race

package framing

import "testing"

// TestTakeAllocations: matching a request with its head allocates nothing
// once the connection's queue exists. The race detector, which changes
// allocations, is off for this file.
func TestTakeAllocations(t *testing.T) {
	c := &conn{s: newScanner(1 << 20)}
	req := []byte("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	c.s.scan(req)
	c.take("GET", "/a")
	h := head{method: "GET", target: "/a"}
	if n := testing.AllocsPerRun(100, func() {
		c.s.heads = append(c.s.heads, h)
		if why, _ := c.take("GET", "/a"); why != "" {
			t.Fatal(why)
		}
	}); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}
