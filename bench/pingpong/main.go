//go:build linux

// Command pingpong measures the floor of a two-process request path on this
// machine: a Go process and a Python process exchange a request-sized and a
// response-sized message over a Unix stream socket pair, the socket type
// gowsgi uses between the Go server and its workers, one round trip at a
// time (one client on one keep-alive connection).
//
// It measures two Go sides: "direct", where the goroutine that writes the
// request reads the reply itself, and "relay", where a reader goroutine
// reads the socket and hands each reply to the waiting goroutine over a
// channel, as wsgi's connection reader does. The difference is the cost of
// that handoff. bench/latency.sh runs it; see bench/README.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

// The Python side answers each message with a reply of the given size, as
// a worker thread's loop would: recv, then send.
const pyServer = `
import socket, sys
s = socket.socket(fileno=3)
req, resp = int(sys.argv[1]), int(sys.argv[2])
out = b"r" * resp
buf = bytearray(req)
view = memoryview(buf)
while True:
    got = 0
    while got < req:
        n = s.recv_into(view[got:])
        if n == 0:
            sys.exit(0)
        got += n
    s.sendall(out)
`

func main() {
	python := flag.String("python", "/usr/bin/python3", "Python interpreter")
	n := flag.Int("n", 20000, "round trips per batch")
	batches := flag.Int("batches", 5, "batches per mode (alternated)")
	reqSize := flag.Int("req", 400, "request message size, bytes")
	respSize := flag.Int("resp", 120, "response message size, bytes")
	flag.Parse()

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		log.Fatal(err)
	}
	child := os.NewFile(uintptr(fds[1]), "worker")
	cmd := exec.Command(*python, "-c", pyServer, fmt.Sprint(*reqSize), fmt.Sprint(*respSize))
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	child.Close()
	f := os.NewFile(uintptr(fds[0]), "go")
	c, err := net.FileConn(f)
	if err != nil {
		log.Fatal(err)
	}
	f.Close()

	req := make([]byte, *reqSize)
	resp := make([]byte, *respSize)
	direct := func() time.Duration {
		start := time.Now()
		for i := 0; i < *n; i++ {
			if _, err := c.Write(req); err != nil {
				log.Fatal(err)
			}
			if _, err := io.ReadFull(c, resp); err != nil {
				log.Fatal(err)
			}
		}
		return time.Since(start) / time.Duration(*n)
	}
	relay := func() time.Duration {
		replies := make(chan []byte, 4)
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, *respSize)
			for i := 0; i < *n; i++ {
				if _, err := io.ReadFull(c, buf); err != nil {
					log.Fatal(err)
				}
				replies <- buf
			}
		}()
		start := time.Now()
		for i := 0; i < *n; i++ {
			if _, err := c.Write(req); err != nil {
				log.Fatal(err)
			}
			<-replies
		}
		d := time.Since(start) / time.Duration(*n)
		<-done
		return d
	}
	direct() // warm up
	var ds, rs []time.Duration
	for b := 0; b < *batches; b++ {
		ds = append(ds, direct())
		rs = append(rs, relay())
	}
	slices.Sort(ds)
	slices.Sort(rs)
	fmt.Printf("round trip, Go<->Python over a Unix socket pair (%d-byte request, %d-byte reply), median of %d batches of %d:\n", *reqSize, *respSize, *batches, *n)
	fmt.Printf("  direct (the writing goroutine reads the reply): %.1f µs (min %.1f, max %.1f)\n", us(ds[len(ds)/2]), us(ds[0]), us(ds[len(ds)-1]))
	fmt.Printf("  relay  (a reader goroutine hands it over):      %.1f µs (min %.1f, max %.1f)\n", us(rs[len(rs)/2]), us(rs[0]), us(rs[len(rs)-1]))
	c.Close()
	cmd.Wait()
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
