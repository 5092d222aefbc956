package framing

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
)

// serveGuarded serves h behind g on a loopback listener and returns a
// server to exchange requests with (its seen list stays empty).
func serveGuarded(t *testing.T, g *Guard, h http.Handler) *server {
	t.Helper()
	if g.Logger == nil {
		g.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			g.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		}
	}
	srv := &http.Server{Handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: ln.Addr().String()}
	go srv.Serve(g.Configure(srv, ln))
	t.Cleanup(func() { srv.Close() })
	return s
}

var apacheLimits = Limits{RequestLine: 8190, FieldSize: 8190, Fields: 100}

// TestLimits: each limit answers its status and closes the connection,
// so the request pipelined behind is not served; a head at the limits
// passes.
func TestLimits(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	s := serveGuarded(t, &Guard{Limits: apacheLimits}, ok)
	target := func(n int) string { return "/" + strings.Repeat("a", n-1) }
	// The request line is "GET " + target + " HTTP/1.1": 13 bytes more.
	fields := func(n int) string { return strings.Repeat("X-A: 1\r\n", n) }
	field := func(n int) string { return "X-Long: " + strings.Repeat("b", n-8) + "\r\n" }
	tests := []struct {
		name   string
		req    string
		status int
		keeps  bool
	}{
		{"line at the limit", "GET " + target(8190-13) + " HTTP/1.1\r\nHost: x\r\n\r\n", 200, true},
		{"line over the limit", "GET " + target(8190-12) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, false},
		{"line far over the limit", "GET " + target(100000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, false},
		{"field at the limit", "GET / HTTP/1.1\r\nHost: x\r\n" + field(8190) + "\r\n", 200, true},
		{"field over the limit", "GET / HTTP/1.1\r\nHost: x\r\n" + field(8191) + "\r\n", 431, false},
		{"fields at the limit", "GET / HTTP/1.1\r\nHost: x\r\n" + fields(99) + "\r\n", 200, true},
		{"fields over the limit", "GET / HTTP/1.1\r\nHost: x\r\n" + fields(100) + "\r\n", 400, false},
		{"a head of 800 KB at the limits", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat(field(8190), 99) + "\r\n", 200, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			statuses, closed := s.exchange(t, tc.req+next, 2)
			want := []int{tc.status}
			if tc.keeps {
				want = append(want, 200)
			}
			if !equalInts(statuses, want) || closed == tc.keeps {
				t.Errorf("statuses %v, closed %v; want %v, closed %v", statuses, closed, want, !tc.keeps)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// limitsOf checks a stream's heads as net/http reads them against l: it
// returns the index of the first request net/http serves that passes a
// limit, or -1.
func firstOverLimit(stream []byte, l Limits) int {
	br := bufio.NewReaderSize(bytes.NewReader(stream), bufSize)
	for i := 0; ; i++ {
		// The raw head: up to the first empty line.
		head, err := readRawHead(br)
		if err != nil {
			return -1
		}
		lines := strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
		if len(lines[0]) > l.RequestLine || len(lines)-1 > l.Fields {
			return i
		}
		for _, f := range lines[1:] {
			if len(f) > l.FieldSize {
				return i
			}
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil || req.ContentLength != 0 || len(req.TransferEncoding) > 0 {
			return -1 // the fuzz target's streams are bodiless
		}
	}
}

// readRawHead reads a head ended by CRLFCRLF, whose lines all end with
// CRLF.
func readRawHead(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasSuffix(line, "\r\n") {
			return "", io.ErrUnexpectedEOF
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String(), nil
		}
	}
}

// FuzzLimits: with small limits, whatever the stream and however it is
// read, no head the scanner lets pass breaks a limit, a head within them
// is not refused for them, and the refusal does not depend on the reads.
func FuzzLimits(f *testing.F) {
	f.Add([]byte("GET /abcdefgh HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), uint8(2))
	f.Add([]byte("GET / HTTP/1.1\r\nX-Long: 0123456789abcdef\r\n\r\n"), uint8(0))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n\r\nGET /0123456789012345678901234567890 HTTP/1.1\r\n\r\n"), uint8(7))
	l := Limits{RequestLine: 30, FieldSize: 16, Fields: 3}
	f.Fuzz(func(t *testing.T, stream []byte, split uint8) {
		// Bodiless GETs only: the limits are about heads.
		if bytes.Contains(bytes.ToLower(stream), []byte("content-length")) || bytes.Contains(bytes.ToLower(stream), []byte("transfer-encoding")) {
			return
		}
		run := func(split int) []head {
			s := newScanner(1 << 20)
			s.lim = l
			var heads []head
			for i := 0; len(stream[min(i, len(stream)):]) > 0 && s.state != stStopped; {
				n := min(1+(i*7+split)%(split+1), len(stream)-i)
				s.scan(stream[i : i+n])
				i += n
			}
			heads = append(heads, s.heads...)
			return heads
		}
		ours, whole := run(int(split)), run(len(stream))
		if len(ours) != len(whole) {
			t.Fatalf("heads depend on how the stream is read:\n%+v\n%+v", ours, whole)
		}
		for i := range ours {
			if ours[i].refuse != whole[i].refuse || ours[i].status != whole[i].status {
				t.Fatalf("head %d depends on how the stream is read: %+v, %+v", i, ours[i], whole[i])
			}
		}
		over := firstOverLimit(stream, l)
		for i, h := range ours {
			limitRefusal := h.status == 414 || h.status == 431 || h.status == 400 && strings.Contains(h.refuse, "fields")
			switch {
			case i == over && h.refuse == "":
				t.Fatalf("head %d is over the limits and passed: %q", i, stream)
			case i != over && limitRefusal && over >= 0 && i < over:
				t.Fatalf("head %d refused for a limit it keeps (%s): %q", i, h.refuse, stream)
			}
			if h.refuse != "" {
				break
			}
		}
	})
}
