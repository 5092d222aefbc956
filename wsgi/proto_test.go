package wsgi

import (
	"bytes"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDetachPayloads checks the batch path of the reader: frames taken
// with nextView alias the read buffer, and detachPayloads gives them one
// array of their own that later reads cannot overwrite and that an append
// to one payload cannot spill into the next.
func TestDetachPayloads(t *testing.T) {
	var stream []byte
	stream = appendFrame(stream, frameHeaders, 7, []byte("200 OK\x00Content-Type\x00text/plain"))
	stream = appendFrame(stream, frameData, 7, []byte("hello"))
	stream = appendFrame(stream, frameEnd, 7, nil)
	stream = appendFrame(stream, frameData, 8, []byte("next request"))
	fr := newFrameReader(nil, bytes.NewReader(stream))

	f, err := fr.nextView()
	if err != nil {
		t.Fatal(err)
	}
	batch := []frame{f}
	for fr.buffered(7) {
		f, err := fr.nextView()
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, f)
		if f.typ == frameEnd {
			break
		}
	}
	if len(batch) != 3 {
		t.Fatalf("batch of %d frames, want 3", len(batch))
	}
	if &batch[1].payload[0] != &fr.buf[frameHeaderLen+len(batch[0].payload)+frameHeaderLen] {
		t.Fatal("nextView copied the payload")
	}
	detachPayloads(batch)
	for i := range fr.buf {
		fr.buf[i] = 'X'
	}
	if got := string(batch[0].payload); got != "200 OK\x00Content-Type\x00text/plain" {
		t.Errorf("headers after the buffer changed: %q", got)
	}
	if got := string(batch[1].payload); got != "hello" {
		t.Errorf("data after the buffer changed: %q", got)
	}
	if batch[2].payload != nil {
		t.Errorf("end frame got a payload: %q", batch[2].payload)
	}
	_ = append(batch[0].payload, "!!!!!"...)
	if got := string(batch[1].payload); got != "hello" {
		t.Errorf("an append to one payload changed the next: %q", got)
	}

	// next still hands out copies of its own.
	fr = newFrameReader(nil, bytes.NewReader(stream))
	f, err = fr.next()
	if err != nil {
		t.Fatal(err)
	}
	for i := range fr.buf {
		fr.buf[i] = 'X'
	}
	if got := string(f.payload); got != "200 OK\x00Content-Type\x00text/plain" {
		t.Errorf("next: payload changed with the buffer: %q", got)
	}
}

// TestParseHead: the application's status and header block, with the
// hop-by-hop and server-internal fields taken out and reported.
func TestParseHead(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		err       string // an error containing it is wanted
		header    []string
		cl        int64
		close     bool
		dropped   string
		xsendfile string
		internal  string
	}{
		{name: "plain", in: "200 OK\x00Content-Type\x00text/html\x00Content-Length\x005",
			header: []string{"Content-Type", "text/html", "Content-Length", "5"}, cl: 5},
		{name: "Connection: close", in: "200 OK\x00Connection\x00close\x00X-A\x00a",
			header: []string{"X-A", "a"}, cl: -1, close: true, dropped: "Connection"},
		{name: "close in any case, among options", in: "200 OK\x00connection\x00Keep-Alive ,\tCLOSE",
			header: []string{}, cl: -1, close: true, dropped: "connection"},
		{name: "Connection: keep-alive", in: "200 OK\x00Connection\x00keep-alive\x00Keep-Alive\x00timeout=5",
			header: []string{}, cl: -1, dropped: "Connection"},
		{name: "every hop-by-hop field", in: "204 No Content\x00Keep-Alive\x00x\x00Proxy-Authenticate\x00x\x00Proxy-Authorization\x00x\x00TE\x00x\x00Trailer\x00x\x00Trailers\x00x\x00Transfer-Encoding\x00chunked\x00Upgrade\x00h2c\x00Proxy-Connection\x00x\x00X-Kept\x00yes",
			header: []string{"X-Kept", "yes"}, cl: -1, dropped: "Keep-Alive"},
		{name: "fields the Connection field names", in: "200 OK\x00X-Secret\x00s\x00Connection\x00x-secret, X-Other\x00x-other\x00o\x00X-Kept\x00k",
			header: []string{"X-Kept", "k"}, cl: -1, dropped: "X-Secret"},
		{name: "Content-Length named by Connection", in: "200 OK\x00Connection\x00Content-Length\x00Content-Length\x005",
			header: []string{}, cl: -1, dropped: "Connection"},
		{name: "X-Sendfile", in: "200 OK\x00Content-Type\x00application/pdf\x00X-Sendfile\x00/srv/files/a.pdf\x00Content-Length\x00100",
			header: []string{"Content-Type", "application/pdf", "Content-Length", "100"}, cl: 100, xsendfile: "/srv/files/a.pdf"},
		{name: "X-Sendfile in any case", in: "200 OK\x00x-sendfile\x00/a",
			header: []string{}, cl: -1, xsendfile: "/a"},
		{name: "X-Lighttpd-Send-File", in: "200 OK\x00X-LIGHTTPD-send-file\x00/a",
			header: []string{}, cl: -1, xsendfile: "/a"},
		{name: "X-Sendfile repeated alike", in: "200 OK\x00X-Sendfile\x00/a\x00X-Sendfile\x00/a",
			header: []string{}, cl: -1, xsendfile: "/a"},
		{name: "two X-Sendfile paths", in: "200 OK\x00X-Sendfile\x00/a\x00X-Sendfile\x00/b", err: "two X-Sendfile"},
		{name: "empty X-Sendfile", in: "200 OK\x00X-Sendfile\x00",
			header: []string{}, cl: -1, internal: "X-Sendfile"},
		{name: "X-Accel-Redirect", in: "200 OK\x00X-Accel-Redirect\x00/internal/a\x00X-Accel-Buffering\x00no",
			header: []string{"X-Accel-Buffering", "no"}, cl: -1, internal: "X-Accel-Redirect"},
		{name: "X-Sendfile2", in: "200 OK\x00X-Sendfile2\x00/a 0-1",
			header: []string{}, cl: -1, internal: "X-Sendfile2"},
		{name: "X-Sendfile-Temporary", in: "200 OK\x00X-Sendfile-Temporary\x00/tmp/a",
			header: []string{}, cl: -1, internal: "X-Sendfile-Temporary"},
		{name: "control character in a dropped field", in: "200 OK\x00Connection\x00a\rb", err: "control character"},
		{name: "bad name", in: "200 OK\x00Bad Name\x00x", err: "bad header name"},
		{name: "bad status", in: "200", err: "bad status"},
		{name: "Content-Lengths differ", in: "200 OK\x00Content-Length\x005\x00Content-Length\x006", err: "Content-Length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseHead([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.header, tc.header) || h.contentLength != tc.cl || h.close != tc.close ||
				h.dropped != tc.dropped || h.xsendfile != tc.xsendfile || h.internal != tc.internal {
				t.Errorf("got header %q cl %d close %v dropped %q xsendfile %q internal %q\nwant header %q cl %d close %v dropped %q xsendfile %q internal %q",
					h.header, h.contentLength, h.close, h.dropped, h.xsendfile, h.internal,
					tc.header, tc.cl, tc.close, tc.dropped, tc.xsendfile, tc.internal)
			}
		})
	}
}

// TestFrameReaderDeadline: a read deadline that passes in the middle of a
// frame (how an exchange reading its connection is interrupted) leaves the
// reader where it was: reading on returns the frame whole, and the next.
func TestFrameReaderDeadline(t *testing.T) {
	fds, err := socketpair()
	if err != nil {
		t.Fatal(err)
	}
	unixConn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	ours, theirs := unixConn(fds[0]), unixConn(fds[1])
	fr := newFrameReader(ours, nil)

	stream := appendFrame(nil, frameData, 3, []byte("a payload in two halves"))
	stream = appendFrame(stream, frameEnd, 3, nil)
	if _, err := theirs.Write(stream[:frameHeaderLen+5]); err != nil {
		t.Fatal(err)
	}
	ours.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := fr.nextView(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("half a frame: %v, want a deadline error", err)
	}
	ours.SetReadDeadline(time.Time{})
	if _, err := theirs.Write(stream[frameHeaderLen+5:]); err != nil {
		t.Fatal(err)
	}
	f, err := fr.nextView()
	if err != nil || f.typ != frameData || f.id != 3 || string(f.payload) != "a payload in two halves" {
		t.Fatalf("after the deadline: %+v, %v", f, err)
	}
	if f, err := fr.nextView(); err != nil || f.typ != frameEnd || f.id != 3 {
		t.Fatalf("next frame: %+v, %v", f, err)
	}
}
