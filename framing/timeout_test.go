package framing

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseRequestReadTimeout(t *testing.T) {
	tests := []struct {
		in   string
		want string // the result's String, or "error"
	}{
		{"header=20-40,MinRate=500 body=20,MinRate=500", "header=20-40,MinRate=500 body=20,MinRate=500"},
		{"header=20-40,minrate=500", "header=20-40,MinRate=500 body=1"},
		{"body=10,MinRate=500", "header=1 body=10,MinRate=500"},
		{"header=0 body=0", "header=0 body=0"},
		{"HEADER=5", "header=5 body=1"},
		{"header=5-10", "error"},
		{"header=10-5,MinRate=1", "error"},
		{"header=5,MinRate=0", "error"},
		{"header=5,Rate=10", "error"},
		{"header=-1", "error"},
		{"header=1.5", "error"},
		{"handshake=5", "error"},
		{"header", "error"},
		{"", "error"},
	}
	base := ReadTimeouts{Header: RateTimeout{Timeout: time.Second}, Body: RateTimeout{Timeout: time.Second}}
	for _, tc := range tests {
		got, err := ParseRequestReadTimeout(base, tc.in)
		s := got.String()
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("%q: %s (%v), want %s", tc.in, s, err, tc.want)
		}
	}
	if got, err := ParseRequestReadTimeout(ReadTimeouts{}, DefaultReadTimeouts.String()); err != nil || got != DefaultReadTimeouts {
		t.Errorf("the default does not read back: %+v, %v", got, err)
	}
}

// waitClosed reads c until the server closes it, failing the test if it
// is still open after limit (a bound for a loaded machine, not a measure).
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", limit)
	}
}

// TestHeaderTimeout: a client trickling its head, or sending nothing, is
// cut; a client sending its head at once is served.
func TestHeaderTimeout(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	s := serveGuarded(t, &Guard{RequestReadTimeout: ReadTimeouts{Header: RateTimeout{Timeout: time.Second}}}, ok)

	t.Run("served", func(t *testing.T) {
		if statuses, _ := s.exchange(t, next, 1); !equalInts(statuses, []int{200}) {
			t.Fatalf("statuses %v", statuses)
		}
	})
	t.Run("silent", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		waitClosed(t, c, 20*time.Second)
	})
	t.Run("trickle", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			waitClosed(t, c, 20*time.Second)
		}()
		// One byte every 100 ms, for as long as the connection takes
		// them: the head would take 100 s to complete.
		head := []byte("GET / HTTP/1.1\r\nX-Pad: " + strings.Repeat("a", 1000))
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(head); i++ {
			select {
			case <-closed:
				return
			case <-tick.C:
				c.Write(head[i : i+1])
			}
		}
		t.Fatal("the whole head was sent")
	})
	t.Run("idle keep-alive is not a header timeout", func(t *testing.T) {
		// After a response, the wait for the next request is the
		// server's IdleTimeout (none here): the connection stays open
		// past the header timeout and serves the next request.
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		get := func() {
			io.WriteString(c, next)
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		get()
		// Wait until the header timeout has passed for sure: a second
		// connection, opened now and silent, must be closed first.
		probe, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		waitClosed(t, probe, 20*time.Second)
		probe.Close()
		get()
	})
}

// upload sends size bytes as a Content-Length body in pieces of piece
// bytes, one every every, and returns the response's status and body, or
// the error that cut it.
func upload(addr string, size, piece int, every time.Duration) (int, string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for sent := 0; sent < size; sent += piece {
		<-tick.C
		if _, err := c.Write(bytes.Repeat([]byte("u"), min(piece, size-sent))); err != nil {
			return 0, "", err
		}
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// counter answers the number of body bytes it read, or 400 when reading
// failed.
var counter = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	io.WriteString(w, strconv.FormatInt(n, 10))
})

// TestBodyMinRate: an upload slower in total than the body timeout but
// steady at MinRate or more passes; without MinRate, the same upload is
// cut.
func TestBodyMinRate(t *testing.T) {
	// 12,000 bytes at 6,000 bytes/s: two seconds, twice the timeout.
	const size, piece, every = 12000, 600, 100 * time.Millisecond
	steady := serveGuarded(t, &Guard{RequestReadTimeout: ReadTimeouts{Body: RateTimeout{Timeout: time.Second, MinRate: 2000}}}, counter)
	status, body, err := upload(steady.addr, size, piece, every)
	if err != nil || status != 200 || body != strconv.Itoa(size) {
		t.Errorf("with MinRate: status %d, body %q, %v; want 200 %d", status, body, err, size)
	}
	fixed := serveGuarded(t, &Guard{RequestReadTimeout: ReadTimeouts{Body: RateTimeout{Timeout: time.Second}}}, counter)
	status, body, err = upload(fixed.addr, size, piece, every)
	if err == nil && status == 200 {
		t.Errorf("without MinRate: status %d, body %q; want the upload cut", status, body)
	}
}

// TestWriteTimeout: Timeout bounds each write, not the response: a client
// reading steadily gets a response that takes longer than Timeout, from a
// handler's writes and from sendfile; a client that stops reading is cut.
func TestWriteTimeout(t *testing.T) {
	const size = 12 << 20
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
		t.Fatal(err)
	}
	writeErr := make(chan error, 10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/file" {
			http.ServeFile(w, r, path)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		chunk := bytes.Repeat([]byte("y"), 32<<10)
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	})
	s := serveGuarded(t, &Guard{Timeout: time.Second}, h)
	for _, p := range []string{"/file", "/writes"} {
		t.Run("steady"+p, func(t *testing.T) {
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.(*net.TCPConn).SetReadBuffer(32 << 10)
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", p)
			// 64 KiB every 20 ms: about 3 MB/s, so that the response
			// takes seconds beyond what the socket buffers hold.
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			buf := make([]byte, 64<<10)
			total := 0
			start := time.Now()
			for total < size+100 {
				<-tick.C
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				n, err := io.ReadFull(c, buf[:min(len(buf), size+100-total)])
				total += n
				if err != nil {
					break
				}
			}
			if total < size {
				t.Fatalf("%d bytes of %d after %v", total, size, time.Since(start))
			}
			t.Logf("%d bytes in %v", total, time.Since(start))
		})
	}
	t.Run("stalled", func(t *testing.T) {
		for len(writeErr) > 0 {
			<-writeErr
		}
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(32 << 10)
		io.WriteString(c, "GET /writes HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case err := <-writeErr:
			if err == nil {
				t.Fatal("the handler wrote the whole response to a client that reads nothing")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the handler's write still blocked after 30 s")
		}
	})
}

// BenchmarkTimedServer is BenchmarkServer's keep-alive GETs with the
// command's timeouts on (mod_reqtimeout's defaults and Timeout), for the
// cost of managing the deadlines per read and write.
func BenchmarkTimedServer(b *testing.B) {
	for _, timed := range []bool{false, true} {
		b.Run(fmt.Sprintf("timed=%v", timed), func(b *testing.B) {
			g := &Guard{}
			if timed {
				g.RequestReadTimeout, g.Timeout = DefaultReadTimeouts, time.Minute
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(g.Configure(srv, ln))
			defer srv.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
