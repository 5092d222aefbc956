package framing_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/gowsgi/gowsgi/framing"
)

// A request with both Content-Length and Transfer-Encoding is refused and
// its connection closed: the request pipelined behind it is never served.
func ExampleGuard_Configure() {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("served", r.URL.Path)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	g := &framing.Guard{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go srv.Serve(g.Configure(srv, ln))
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: example.org\r\n\r\n"+
		"POST /upload HTTP/1.1\r\nHost: example.org\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
		"GET /admin HTTP/1.1\r\nHost: example.org\r\n\r\n")
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			fmt.Println("connection closed")
			return
		}
		io.Copy(io.Discard, resp.Body)
		fmt.Println(resp.Status)
	}
	// Output:
	// served /first
	// 200 OK
	// 400 Bad Request
	// connection closed
}
