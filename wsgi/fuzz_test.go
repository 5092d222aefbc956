package wsgi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"testing"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// FuzzFrameReader feeds arbitrary bytes to the worker protocol decoder: it
// must return frames or an error, never panic, and never hand out a frame
// longer than the limit or of an unknown type.
func FuzzFrameReader(f *testing.F) {
	f.Add(appendFrame(nil, frameHello, 0, nil))
	f.Add(appendFrame(appendFrame(nil, frameHeaders, 1, []byte("200 OK\x00Content-Type\x00text/plain")), frameEnd, 1, nil))
	f.Add(appendFrame(nil, frameData, 7, bytes.Repeat([]byte("x"), 100)))
	f.Add(appendFrame(nil, frameRead, 2, []byte{0, 0, 1, 0}))
	f.Add(appendFrame(nil, frameFile, 3, make([]byte, 16)))
	f.Add([]byte{frameData, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xee, 1, 2, 3})
	// Control socket frames (the database connection budget).
	f.Add(appendFrame(appendFrame(nil, frameDBAcquire, 1, nil), frameDBRelease, 1, nil))
	f.Add(appendFrame(nil, frameDBIdleAges, 9, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 5e9), 1e6)))
	f.Add(appendFrame(nil, frameDBIdleAges, 9, binary.LittleEndian.AppendUint64(nil, 1<<63)))
	f.Add(appendFrame(nil, frameDBIdleAges, 9, make([]byte, 8*maxIdleAges+8)))
	f.Add(appendFrame(nil, frameDBAcquire, 2, []byte{1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkCtlFrames(t, data)
		fr := newFrameReader(nil, bytes.NewReader(data))
		fr.buf = make([]byte, 16) // exercise growth
		for i := 0; i < 1000; i++ {
			var peek uint32
			if fr.w-fr.r >= frameHeaderLen {
				peek = binary.LittleEndian.Uint32(fr.buf[fr.r+1 : fr.r+5])
			}
			wasBuffered := fr.buffered(peek)
			fr2, err := fr.next()
			if wasBuffered && err != nil {
				t.Fatalf("buffered frame failed to decode: %v", err)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errProtocol) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(fr2.payload) > maxFrame || checkFrame(fr2.typ, len(fr2.payload)) != nil {
				t.Fatalf("bad frame accepted: %d %d", fr2.typ, len(fr2.payload))
			}
			switch fr2.typ {
			case frameRead:
				if n := readWant(fr2.payload); n <= 0 || n > maxReadChunk {
					t.Fatalf("readWant %d", n)
				}
			case frameHeaders:
				if h, err := parseHead(fr2.payload); err == nil {
					checkHead(t, h)
				}
			}
		}
	})
}

// checkCtlFrames decodes data as the control socket's frames: only
// control frames of valid sizes come out, and idle ages are never
// negative.
func checkCtlFrames(t *testing.T, data []byte) {
	fr := newFrameReader(nil, bytes.NewReader(data))
	fr.check = checkCtlFrame
	fr.buf = make([]byte, 16)
	for range 1000 {
		f, err := fr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errProtocol) {
				t.Fatalf("control socket: unexpected error %v", err)
			}
			return
		}
		if checkCtlFrame(f.typ, len(f.payload)) != nil || checkFrame(f.typ, len(f.payload)) == nil {
			t.Fatalf("control socket: bad frame accepted: %d %d", f.typ, len(f.payload))
		}
		if f.typ == frameDBIdleAges {
			ages, err := idleAges(f.payload)
			if err == nil && len(ages) != len(f.payload)/8 {
				t.Fatalf("%d ages from %d bytes", len(ages), len(f.payload))
			}
			for _, a := range ages {
				if a < 0 {
					t.Fatalf("negative age %v accepted", a)
				}
			}
		}
	}
}

func checkHead(t *testing.T, h responseHead) {
	if h.status < 100 || h.status > 999 {
		t.Fatalf("status %d accepted", h.status)
	}
	if len(h.header)%2 != 0 {
		t.Fatalf("header names and values out of step: %q", h.header)
	}
	for i := 0; i < len(h.header); i += 2 {
		name, value := h.header[i], h.header[i+1]
		if !httpguts.ValidHeaderFieldName(name) || hopByHop[strings.ToLower(name)] || isInternal(name) || strings.EqualFold(name, "x-sendfile") {
			t.Fatalf("header name %q accepted", name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			t.Fatalf("header value %q accepted", value)
		}
	}
}

// FuzzParseHead checks the status and header validation on its own.
func FuzzParseHead(f *testing.F) {
	f.Add([]byte("200 OK\x00Content-Type\x00text/html"))
	f.Add([]byte("404 Not Found"))
	f.Add([]byte("200 OK\x00Connection\x00close"))
	f.Add([]byte("200 OK\x00Connection\x00X-A, close\x00X-A\x001\x00X-B\x002"))
	f.Add([]byte("200 OK\x00X-Sendfile\x00/srv/a\x00X-Accel-Redirect\x00/in/a\x00Content-Length\x003"))
	f.Add([]byte("200 OK\x00X\x00a\r\nb"))
	f.Add([]byte("200 OK\x00Content-Length\x005\x00Content-Length\x006"))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := parseHead(p)
		if err == nil {
			checkHead(t, h)
		}
	})
}

// FuzzEnviron builds environs from arbitrary request parts: no panic, the
// security rules hold, and the marshal encoding decodes back to the same
// entries with every byte as one latin-1 code point.
func FuzzEnviron(f *testing.F) {
	f.Add("/a%20b/%C3%A9", "x=%20y", "X-Test", "value", "X_Under", "v", "127.0.0.1:80")
	f.Add("/", "", "Proxy", "http://evil", "Authorization", "Basic x", "[::1]:9")
	f.Add("/\xff\x00", "\xe9", "Cookie", "a=1", "Remote_User", "root", "bad")
	f.Fuzz(func(t *testing.T, path, query, h1, v1, h2, v2, remote string) {
		u := &url.URL{Path: path, RawQuery: query}
		r := &http.Request{Method: "GET", URL: u, Header: http.Header{}, Host: "example.com", RemoteAddr: remote, Proto: "HTTP/1.1"}
		r.Header[h1] = []string{v1}
		r.Header[h2] = []string{v2, v1}
		r = r.WithContext(t.Context())
		env := Environ(r, &Config{})
		seen := map[string]bool{}
		for _, kv := range env {
			if seen[kv.Name] {
				t.Fatalf("duplicate %s", kv.Name)
			}
			seen[kv.Name] = true
			switch kv.Name {
			case "HTTP_PROXY", "HTTP_AUTHORIZATION", "REMOTE_USER", "AUTH_TYPE":
				t.Fatalf("%s present", kv.Name)
			case "SCRIPT_NAME":
				if kv.Value == "/" {
					t.Fatal("SCRIPT_NAME is /")
				}
			}
			if strings.HasPrefix(kv.Name, "HTTP_") {
				for _, c := range kv.Name[5:] {
					if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
						t.Fatalf("bad key %q", kv.Name)
					}
				}
			}
		}
		got, err := decodeMarshalDict(appendMarshalEnviron(nil, env))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(env) {
			t.Fatalf("decoded %d entries, want %d", len(got), len(env))
		}
		for i, kv := range env {
			if got[i].Name != latin1(kv.Name) || got[i].Value != latin1(kv.Value) {
				t.Fatalf("entry %d: %q=%q, want latin-1 of %q=%q", i, got[i].Name, got[i].Value, kv.Name, kv.Value)
			}
		}
	})
}

// decodeMarshalDict decodes the subset of Python's marshal format that
// appendMarshalEnviron writes, as Python's marshal.loads would.
func decodeMarshalDict(b []byte) ([]EnvVar, error) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '0' {
		return nil, errors.New("not a dict")
	}
	b = b[1 : len(b)-1]
	var out []EnvVar
	str := func() (string, error) {
		if len(b) == 0 {
			return "", errors.New("short")
		}
		var n int
		t := b[0]
		switch t {
		case 'z':
			if len(b) < 2 {
				return "", errors.New("short")
			}
			n, b = int(b[1]), b[2:]
		case 'a', 'u':
			if len(b) < 5 {
				return "", errors.New("short")
			}
			n, b = int(binary.LittleEndian.Uint32(b[1:5])), b[5:]
		default:
			return "", errors.New("bad type")
		}
		if len(b) < n {
			return "", errors.New("short")
		}
		s := string(b[:n])
		b = b[n:]
		if t != 'u' {
			for i := 0; i < len(s); i++ {
				if s[i] >= 0x80 {
					return "", errors.New("non-ASCII in an ASCII string")
				}
			}
		} else if !utf8.ValidString(s) {
			return "", errors.New("invalid UTF-8")
		}
		return s, nil
	}
	for len(b) > 0 {
		k, err := str()
		if err != nil {
			return nil, err
		}
		v, err := str()
		if err != nil {
			return nil, err
		}
		out = append(out, EnvVar{k, v})
	}
	return out, nil
}
