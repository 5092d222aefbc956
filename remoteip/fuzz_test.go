package remoteip

import (
	"bytes"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

// FuzzForwarded checks the RFC 7239 parser on any line: no panic, at most
// maxHops elements, and every accepted element's for= node is an address
// or a name that cannot be mistaken for one.
func FuzzForwarded(f *testing.F) {
	for _, s := range []string{
		`for=192.0.2.60;proto=http;by=203.0.113.43`,
		`for="[2001:db8:cafe::17]:4711"`,
		`for=192.0.2.43, for=198.51.100.17`,
		`For="[2001:db8:cafe::17]:4711";proto=https;host="www.example.org:8443"`,
		`for=unknown, for=_hidden, for="_SEVKISEK:_port"`,
		`for="\"escaped\\"";x=y,,;`,
		`for="unterminated`,
		`for=1.2.3.4;for=5.6.7.8`,
		`for=[::1]`,
		"for=\"\x80\xff\"",
		`;;,,  , for = 1.2.3.4`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		elems, ok := parseForwarded(s)
		if !ok {
			return
		}
		if len(elems) > maxHops {
			t.Fatalf("%d elements", len(elems))
		}
		for _, e := range elems {
			checkNode(t, e.from)
		}
	})
}

// FuzzNode checks parseNode on any text: an address it returns is a real
// one without a zone, and a name is "unknown" or obfuscated.
func FuzzNode(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "192.0.2.1:80", "[2001:db8::1]:443", "2001:db8::1", "[::ffff:1.2.3.4]",
		"fe80::1%eth0", "unknown", "_abc:_def", "1.2.3.4:99999", "[1.2.3.4]", ":", "[", "_", "1.2.3.4:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkNode(t, parseNode(s))
	})
}

func checkNode(t *testing.T, n node) {
	t.Helper()
	if n.ip.IsValid() {
		if n.ip.Zone() != "" || n.ip.Is4In6() {
			t.Fatalf("address %v kept a zone or a mapping", n.ip)
		}
		if _, err := netip.ParseAddrPort(n.remoteAddr()); err != nil {
			t.Fatalf("RemoteAddr %q does not parse: %v", n.remoteAddr(), err)
		}
		return
	}
	if n.name != "unknown" && !isObfuscated(n.name) {
		t.Fatalf("name %q", n.name)
	}
}

// FuzzWrap sends any forwarding headers through Wrap, from a trusted and
// an untrusted peer: no panic; an untrusted peer changes nothing; from a
// trusted one, RemoteAddr is a valid address or a name no IP rule matches,
// never a trusted address unless every hop was, and Host stays valid.
func FuzzWrap(f *testing.F) {
	f.Add("203.0.113.7, 10.1.1.1", "https", "www.example.org", `for="[2001:db8::1]:80";proto=https;host=h`, false)
	f.Add("garbage,,, 1.2.3.4:80", "http, https", "a, b", `for="x`, true)
	f.Add("", "HTTPS", "", "", false)
	f.Fuzz(func(t *testing.T, xff, proto, host, fwd string, forwarded bool) {
		cfg := Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
		if forwarded {
			cfg.Header = "Forwarded"
		}
		ri, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, peer := range []string{"10.0.0.1:1", "192.0.2.1:1"} {
			r := httptest.NewRequest("GET", "http://example.com/", nil)
			r.RemoteAddr = peer
			r.Header["X-Forwarded-For"] = []string{xff}
			r.Header["X-Forwarded-Proto"] = []string{proto}
			r.Header["X-Forwarded-Host"] = []string{host}
			r.Header["Forwarded"] = []string{fwd}
			got := serve(ri, r)
			if peer == "192.0.2.1:1" {
				if got != (seen{peer, "example.com", "http", peer}) {
					t.Fatalf("untrusted peer: %+v", got)
				}
				continue
			}
			if got.host != "example.com" && !httpguts.ValidHostHeader(got.host) {
				t.Fatalf("Host %q", got.host)
			}
			if got.scheme != "http" && got.scheme != "https" {
				t.Fatalf("scheme %q", got.scheme)
			}
			if got.remoteAddr == peer {
				continue
			}
			ap, err := netip.ParseAddrPort(got.remoteAddr)
			if err != nil {
				name, port, ok := strings.Cut(got.remoteAddr, ":")
				if !ok || port != "0" || (name != "unknown" && !isObfuscated(name)) {
					t.Fatalf("RemoteAddr %q", got.remoteAddr)
				}
				continue
			}
			if ri.trustedIP(ap.Addr()) && !forwarded && !strings.Contains(xff, ap.Addr().String()) {
				t.Fatalf("trusted RemoteAddr %q not from the header", got.remoteAddr)
			}
		}
	})
}

// FuzzProxyHeader sends any bytes as the start of a connection from a
// trusted peer, in each mode, through the listener's connection: no panic
// and no hang; RemoteAddr is always a TCP address; after an accepted
// header, the rest of the stream is read intact.
func FuzzProxyHeader(f *testing.F) {
	v2 := []byte("\r\n\r\n\x00\r\nQUIT\n")
	f.Add([]byte("PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\nrest"))
	f.Add([]byte("PROXY UNKNOWN\r\nrest"))
	f.Add([]byte("PROXY TCP4 1.2.3.4\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(append(append([]byte{}, v2...), 0x21, 0x11, 0, 12, 192, 0, 2, 1, 10, 0, 0, 1, 0xdc, 0x04, 0x01, 0xbb, 'x'))
	f.Add(append(append([]byte{}, v2...), 0x20, 0x00, 0, 0, 'x'))           // LOCAL
	f.Add(append(append([]byte{}, v2...), 0x21, 0x31, 0, 216))              // AF_UNIX, short
	f.Add(append(append([]byte{}, v2...), 0x21, 0x11, 0xff, 0xff, 1, 2, 3)) // huge length
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mode := range []ProxyProtocol{ProxyProtocolRequired, ProxyProtocolOptional} {
			for _, peer := range []string{"10.0.0.9:5000", "192.0.2.77:5000"} {
				ri, err := New(Config{
					TrustedProxies:     []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
					ProxyProtocol:      mode,
					ProxyHeaderTimeout: time.Second,
					Logger:             discardLogger(),
				})
				if err != nil {
					t.Fatal(err)
				}
				ln := ri.Listener(&oneConnListener{c: &bytesConn{r: bytes.NewReader(data), remote: peer}})
				c, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := c.RemoteAddr().(*net.TCPAddr); !ok {
					t.Fatalf("RemoteAddr %T", c.RemoteAddr())
				}
				rest, err := io.ReadAll(c)
				if err != nil {
					continue // refused: closed
				}
				if !bytes.HasSuffix(data, rest) {
					t.Fatalf("read %q, not a suffix of %q", rest, data)
				}
				if peer == "192.0.2.77:5000" && !bytes.Equal(rest, data) {
					t.Fatalf("untrusted peer's bytes changed: %q", rest)
				}
			}
		}
	})
}

// bytesConn is a net.Conn that reads from a reader, for the fuzz target.
type bytesConn struct {
	r      io.Reader
	remote string
	closed bool
}

func (c *bytesConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.r.Read(p)
}
func (c *bytesConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *bytesConn) Close() error                { c.closed = true; return nil }
func (c *bytesConn) LocalAddr() net.Addr {
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort("10.0.0.1:80"))
}
func (c *bytesConn) RemoteAddr() net.Addr {
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(c.remote))
}
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }

type oneConnListener struct {
	c net.Conn
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if l.c == nil {
		return nil, net.ErrClosed
	}
	c := l.c
	l.c = nil
	return c, nil
}
func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return nil }
