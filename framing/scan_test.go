package framing

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// scanAll feeds stream to a new scanner in pieces of 1 to split+1 bytes, as
// reads of a connection would come, and returns the heads it queued and
// whether it stopped.
func scanAll(stream []byte, split int) ([]head, error) {
	s := newScanner(http.DefaultMaxHeaderBytes + 2*bufSize)
	var heads []head
	for i, n := 0, 1; len(stream) > 0; i++ {
		n = 1 + (i*7+split)%(split+1)
		n = min(n, len(stream))
		s.scan(stream[:n])
		stream = stream[n:]
		heads = append(heads, s.heads...)
		s.heads = s.heads[:0]
	}
	return heads, s.err
}

// goHeads cuts stream into requests as a net/http server connection does
// (its bufio size, the CR/LF it skips after a POST, the body read to its
// end) and returns the method and target of each request it would serve,
// up to the first error, after which it closes the connection.
func goHeads(stream []byte) []head {
	br := bufio.NewReaderSize(bytes.NewReader(stream), bufSize)
	var heads []head
	post := false
	for {
		if post {
			peek, _ := br.Peek(4)
			n := 0
			for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
				n++
			}
			br.Discard(n)
		}
		req, err := http.ReadRequest(br)
		if err != nil || req.ProtoMajor != 1 {
			return heads
		}
		heads = append(heads, head{method: req.Method, target: req.RequestURI})
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return heads
		}
		post = req.Method == "POST"
	}
}

// checkAgainstGo checks the scanner's heads for stream against net/http's:
// every head it did not refuse is one net/http serves, in the same place.
func checkAgainstGo(t *testing.T, stream []byte, split int) []head {
	ours, _ := scanAll(stream, split)
	whole, _ := scanAll(stream, len(stream))
	if fmt.Sprint(ours) != fmt.Sprint(whole) {
		t.Fatalf("heads depend on how the stream is read:\n%+v\n%+v", ours, whole)
	}
	theirs := goHeads(stream)
	for i, h := range ours {
		if h.refuse != "" || i >= len(theirs) {
			break
		}
		if h.method != theirs[i].method || h.target != theirs[i].target {
			t.Fatalf("head %d: scanner %q %q, net/http %q %q", i, h.method, h.target, theirs[i].method, theirs[i].target)
		}
	}
	return ours
}

// FuzzScanner: any stream, read in any pieces, never panics, and where the
// scanner lets requests pass they are the ones net/http serves.
func FuzzScanner(f *testing.F) {
	for _, tc := range framingCases {
		f.Add([]byte(tc.req+next), uint8(3))
	}
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"b\"\r\nx\r\n0\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), uint8(0))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\n\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"), uint8(5))
	f.Fuzz(func(t *testing.T, stream []byte, split uint8) {
		checkAgainstGo(t, stream, int(split))
	})
}

// wellFormed makes a pipelined stream of well-formed requests from b, and
// returns it with the number of requests.
func wellFormed(b []byte) ([]byte, int) {
	next := func() byte {
		if len(b) == 0 {
			return 0
		}
		c := b[0]
		b = b[1:]
		return c
	}
	methods := []string{"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "POST"}
	var w bytes.Buffer
	n := 0
	for len(b) > 0 && n < 64 {
		c := next()
		method := methods[c%8]
		http10 := c&0x18 == 0x18
		minor := 1
		if http10 {
			minor = 0
		}
		fmt.Fprintf(&w, "%s /r%d?q=%x HTTP/1.%d\r\nHost: x\r\n", method, n, next(), minor)
		if c&0x40 != 0 {
			w.WriteString("X-Extra:  a b\t\r\n")
		}
		body := int(next())
		switch kind := (c >> 5) % 3; {
		case kind == 1 || kind == 2 && http10:
			fmt.Fprintf(&w, "Content-Length: %d\r\n", body)
			if c&0x80 != 0 {
				fmt.Fprintf(&w, "content-length:%d\r\n", body)
			}
			w.WriteString("\r\n")
			w.WriteString(strings.Repeat("b", body))
		case kind == 2:
			te := "chunked"
			if c&0x80 != 0 {
				te = "Chunked"
			}
			fmt.Fprintf(&w, "Transfer-Encoding: %s\r\n\r\n", te)
			for body > 0 {
				k := min(body, 1+int(next())%40)
				body -= k
				if next()%4 == 0 {
					fmt.Fprintf(&w, "%X;ext=%d\r\n", k, k)
				} else {
					fmt.Fprintf(&w, "%x\r\n", k)
				}
				w.WriteString(strings.Repeat("c", k) + "\r\n")
			}
			w.WriteString("0\r\n")
			if next()%3 == 0 {
				w.WriteString("X-Trailer: t\r\n")
			}
			w.WriteString("\r\n")
		default:
			w.WriteString("\r\n")
		}
		if method == "POST" && next()%2 == 0 {
			w.WriteString("\r\n")
		}
		n++
	}
	return w.Bytes(), n
}

// FuzzWellFormed: on well-formed pipelined requests, read in any pieces,
// the scanner finds every head net/http finds, refuses none, and stops not.
func FuzzWellFormed(f *testing.F) {
	f.Add([]byte{0x20, 1, 5, 0x40, 2, 10, 3, 0, 0x41, 0, 0}, uint8(0))
	f.Add([]byte{0x41, 9, 200, 7, 1, 30, 0, 0xc1, 1, 9, 0x61, 2, 3}, uint8(9))
	f.Add([]byte("the quick brown fox jumps over the lazy dog"), uint8(1))
	f.Fuzz(func(t *testing.T, recipe []byte, split uint8) {
		stream, n := wellFormed(recipe)
		heads := checkAgainstGo(t, stream, int(split))
		theirs := goHeads(stream)
		if len(theirs) != n || len(heads) != n {
			t.Fatalf("%d requests, net/http found %d, the scanner %d: %+v\n%q", n, len(theirs), len(heads), heads, stream)
		}
		for _, h := range heads {
			if h.refuse != "" {
				t.Fatalf("refused %q %q: %s\n%q", h.method, h.target, h.refuse, stream)
			}
		}
		if _, err := scanAll(stream, int(split)); err != nil {
			t.Fatalf("scanner stopped: %v\n%q", err, stream)
		}
	})
}

// TestParseHead is parseHead's table.
func TestParseHead(t *testing.T) {
	tests := []struct {
		head    string
		refuse  string
		chunked bool
		length  uint64
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "", false, 0},
		{"GET / HTTP/1.1\r\n\r\n", "", false, 0},
		{"POST /p HTTP/1.0\r\nContent-Length:  007 \r\n\r\n", "", false, 7},
		{"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "", true, 0},
		{"POST /p HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n", "", false, 1<<63 - 1},
		{"POST /p HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", "malformed Content-Length", false, 0},
		{"POST /p HTTP/1.1\r\nContent-Length: \r\n\r\n", "malformed Content-Length", false, 0},
		{"POST /p HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "Content-Length with Transfer-Encoding", false, 0},
		{"POST /p HTTP/1.1\r\ntransfer-encoding: x\r\n\r\n", "transfer coding other than chunked", false, 0},
		{"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "repeated Transfer-Encoding", false, 0},
		{"POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in an HTTP/1.0 request", false, 0},
		{"POST /p HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 01\r\n\r\n", "differing Content-Length values", false, 0},
		{"PRI * HTTP/2.0\r\n\r\n", "not an HTTP/1.x request", false, 0},
		{"GET  / HTTP/1.1\r\n\r\n", "malformed request line", false, 0},
		{"GET / HTTP/1.1\n\n", "request line not ended by CRLF", false, 0},
		{"GET / HTTP/1.1\r\nA: b\n\n", "head not ended by CRLF", false, 0},
		{"GET / HTTP/1.1\r\nA: b\n\r\n", "field line not ended by CRLF", false, 0},
		{"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "obsolete line folding", false, 0},
		{"GET / HTTP/1.1\r\nA b: c\r\n\r\n", "malformed field line", false, 0},
		{"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "control character in a field value", false, 0},
		{"\r\n", "malformed request line", false, 0},
	}
	for _, tc := range tests {
		h, chunked, length := parseHead([]byte(tc.head))
		if h.refuse != tc.refuse || chunked != tc.chunked || length != tc.length {
			t.Errorf("%q: refuse %q chunked %v length %d, want %q %v %d", tc.head, h.refuse, chunked, length, tc.refuse, tc.chunked, tc.length)
		}
	}
}

// TestScannerBounds: a head longer than the bound, or more heads read ahead
// than maxQueue, stop the scanner; a long head's buffer is not kept.
func TestScannerBounds(t *testing.T) {
	s := newScanner(100)
	s.scan([]byte("GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\n\r\n"))
	if s.err == nil || len(s.heads) != 0 || s.buf != nil {
		t.Errorf("long head: err %v, heads %d, buf %d", s.err, len(s.heads), cap(s.buf))
	}
	s = newScanner(1 << 20)
	s.scan([]byte(strings.Repeat("GET / HTTP/1.1\r\n\r\n", maxQueue+1)))
	if s.err == nil || len(s.heads) != maxQueue {
		t.Errorf("read ahead: err %v, heads %d", s.err, len(s.heads))
	}
	s = newScanner(1 << 20)
	s.scan([]byte("GET /" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\n\r\n"))
	if s.err != nil || len(s.heads) != 1 || cap(s.buf) > 64<<10 {
		t.Errorf("long head within bound: err %v, heads %d, buf %d", s.err, len(s.heads), cap(s.buf))
	}
}

// BenchmarkScan scans a typical browser request head and a small chunked
// upload, as one connection's reads would bring them.
func BenchmarkScan(b *testing.B) {
	stream := []byte("GET /trac/project/timeline?from=2026-12-07&daysback=30 HTTP/1.1\r\n" +
		"Host: trac.example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\nCookie: trac_form_token=0123456789abcdef; trac_session=fedcba9876543210\r\n" +
		"Connection: keep-alive\r\n\r\n" +
		"POST /trac/project/newticket HTTP/1.1\r\nHost: trac.example.org\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"40\r\n" + strings.Repeat("x", 64) + "\r\n0\r\n\r\n")
	s := newScanner(http.DefaultMaxHeaderBytes + 2*bufSize)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		s.scan(stream)
		s.heads = s.heads[:0]
	}
	if s.err != nil {
		b.Fatal(s.err)
	}
}
