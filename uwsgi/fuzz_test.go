package uwsgi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/wsgi"
	"golang.org/x/net/http/httpguts"
)

// FuzzReadHead feeds arbitrary upstream responses to readHead: it never
// panics, and what it accepts is a final status and a header a client may
// receive, without hop-by-hop or front-server fields, whose body reads
// without panicking.
func FuzzReadHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\n\r\nbody to the end",
		"HTTP/1.0 302 Found\r\nLocation: /x\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close, X-A\r\nX-A: 1\r\nKeep-Alive: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Accel-Redirect: /p\r\nX-Sendfile: /etc/passwd\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\nBare: lf\n\n",
		"HTTP/1.1 200 OK\r\nFolded: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad\x00: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
		"HTTP/1.1 999 Weird\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"garbage",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		resp, err := readHead(bufio.NewReader(bytes.NewReader(data)), method)
		if err != nil {
			return
		}
		if resp.StatusCode < 200 || resp.StatusCode > 999 {
			t.Fatalf("status %d accepted", resp.StatusCode)
		}
		for name, values := range resp.Header {
			if !httpguts.ValidHeaderFieldName(name) {
				t.Fatalf("header name %q accepted", name)
			}
			if hopByHop[name] || internal[name] || strings.HasPrefix(name, "X-Accel-") {
				t.Fatalf("header %q kept", name)
			}
			for _, v := range values {
				if !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("header value %q accepted", v)
				}
			}
		}
		if len(resp.TransferEncoding) > 0 && (len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked") {
			t.Fatalf("Transfer-Encoding %q accepted", resp.TransferEncoding)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && resp.ContentLength >= 0 && len(resp.TransferEncoding) == 0 && n != resp.ContentLength && !head &&
			resp.StatusCode != 204 && resp.StatusCode != 304 {
			t.Fatalf("body of %d bytes read whole, Content-Length %d", n, resp.ContentLength)
		}
	})
}

// FuzzPacket encodes arbitrary variables: appendPacket fails exactly when
// a key, a value or the block is over 65535 bytes, leaving its buffer as
// it was, and otherwise writes a packet that decodes to the same
// variables.
func FuzzPacket(f *testing.F) {
	f.Add([]byte("REQUEST_METHOD\x00GET\x00PATH_INFO\x00/x"), 0, 0)
	f.Add([]byte("A\x00"), 65535, 0)
	f.Add([]byte("A\x00"), 65536, 0)
	f.Add([]byte("A\x00B\x00C\x00D"), 30000, 30000)
	f.Add([]byte("\x00\x00"), 0, 65531)
	f.Add([]byte("\x00\x00"), 0, 65532)
	f.Fuzz(func(t *testing.T, data []byte, padKey, padValue int) {
		if padKey < 0 || padValue < 0 || padKey > 1<<17 || padValue > 1<<17 {
			return
		}
		parts := strings.Split(string(data), "\x00")
		var env []wsgi.EnvVar
		for i := 0; i+1 < len(parts); i += 2 {
			env = append(env, wsgi.EnvVar{Name: parts[i], Value: parts[i+1]})
		}
		if len(env) > 0 {
			env[0].Name += strings.Repeat("k", padKey)
			env[len(env)-1].Value += strings.Repeat("v", padValue)
		}
		size, fits := 0, true
		for _, kv := range env {
			size += 4 + len(kv.Name) + len(kv.Value)
			if len(kv.Name) > 65535 || len(kv.Value) > 65535 {
				fits = false
			}
		}
		if size > 65535 {
			fits = false
		}
		prefix := []byte("before")
		b, err := appendPacket(prefix, env)
		if !fits {
			if !errors.Is(err, errVarsTooLarge) || string(b) != "before" {
				t.Fatalf("%d bytes of variables: err %v, buffer %d bytes", size, err, len(b))
			}
			return
		}
		if err != nil {
			t.Fatalf("%d bytes of variables: %v", size, err)
		}
		if len(b) != 6+4+size || binary.LittleEndian.Uint16(b[7:9]) != uint16(size) {
			t.Fatalf("packet of %d bytes for %d bytes of variables", len(b)-6, size)
		}
		got, err := decodePacket(bytes.NewReader(b[6:]))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(env) {
			t.Fatalf("decoded %d variables, want %d", len(got), len(env))
		}
		for i := range env {
			if got[i] != env[i] {
				t.Fatalf("variable %d: %q, want %q", i, got[i], env[i])
			}
		}
	})
}
