package remoteip

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/gowsgi/gowsgi/framing"
	"github.com/gowsgi/gowsgi/internal/testenv"
)

// startServer serves, on a loopback listener wrapped by ri.Listener and
// then package framing's guard (the documented order), a handler that
// answers with the request's RemoteAddr.
func startServer(t *testing.T, ri *RemoteIP) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: ri.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, r.RemoteAddr)
		})),
		ReadHeaderTimeout: 30 * time.Second,
	}
	g := &framing.Guard{Logger: discardLogger()}
	l := g.Configure(srv, ri.Listener(ln))
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func newRI(t *testing.T, trusted string, mode ProxyProtocol, log *testenv.LogBuffer) *RemoteIP {
	t.Helper()
	ri, err := New(Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix(trusted)},
		ProxyProtocol:  mode,
		Logger:         log.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ri
}

func v2Header(t *testing.T, src, dst string) string {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(2,
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src)),
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort(dst)))
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exchange sends prefix and then a GET on a new connection to addr and
// returns the response's status and body, or an error when the server
// closed the connection without answering.
func exchange(t *testing.T, addr, prefix, request string) (int, string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if request == "" {
		request = "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
	}
	if _, err := io.WriteString(c, prefix+request); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestProxyProtocolListener(t *testing.T) {
	v1 := "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n"
	v1six := "PROXY TCP6 2001:db8::9 ::1 5555 80\r\n"
	tests := []struct {
		name    string
		trusted string // 127.0.0.0/8 trusts the test client
		mode    ProxyProtocol
		prefix  string
		want    string // the RemoteAddr served, or "" for a closed connection
		logged  string
	}{
		{"v1 from a trusted peer", "127.0.0.0/8", ProxyProtocolRequired, v1, "203.0.113.9:5555", ""},
		{"v1 TCP6", "127.0.0.0/8", ProxyProtocolRequired, v1six, "[2001:db8::9]:5555", ""},
		{"v2 from a trusted peer", "127.0.0.0/8", ProxyProtocolRequired, "V2", "198.51.100.4:4242", ""},
		{"v1 UNKNOWN: the peer", "127.0.0.0/8", ProxyProtocolRequired, "PROXY UNKNOWN\r\n", "127.0.0.1:", ""},
		{"required, missing: closed", "127.0.0.0/8", ProxyProtocolRequired, "", "", "proxy protocol signature not present"},
		{"malformed: closed", "127.0.0.0/8", ProxyProtocolOptional, "PROXY TCP4 1.2.3.4 nonsense\r\n", "", "PROXY header"},
		{"untrusted with a header: closed", "192.0.2.0/24", ProxyProtocolRequired, v1, "", "isn't allowed"},
		{"untrusted with a v2 header: closed", "192.0.2.0/24", ProxyProtocolOptional, "V2", "", "isn't allowed"},
		{"untrusted without: its own address", "192.0.2.0/24", ProxyProtocolRequired, "", "127.0.0.1:", ""},
		{"optional, missing: the peer", "127.0.0.0/8", ProxyProtocolOptional, "", "127.0.0.1:", ""},
		{"optional, present", "127.0.0.0/8", ProxyProtocolOptional, v1, "203.0.113.9:5555", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log testenv.LogBuffer
			addr := startServer(t, newRI(t, tt.trusted, tt.mode, &log))
			prefix := tt.prefix
			if prefix == "V2" {
				prefix = v2Header(t, "198.51.100.4:4242", addr)
			}
			code, body, err := exchange(t, addr, prefix, "")
			if tt.want == "" {
				if err == nil {
					t.Fatalf("served (%d %q), want the connection closed", code, body)
				}
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(log.String(), tt.logged) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if !strings.Contains(log.String(), "closing a connection for its PROXY header") || !strings.Contains(log.String(), tt.logged) {
					t.Errorf("log %q, want the refusal and %q", log.String(), tt.logged)
				}
				return
			}
			if err != nil || code != 200 {
				t.Fatalf("%d %q %v", code, body, err)
			}
			if !strings.HasPrefix(body, tt.want) {
				t.Errorf("RemoteAddr %q, want %q", body, tt.want)
			}
		})
	}
}

// TestProxyProtocolFraming checks that framing's guard, around the PROXY
// listener, still refuses a smuggling request after a valid header.
func TestProxyProtocolFraming(t *testing.T) {
	var log testenv.LogBuffer
	addr := startServer(t, newRI(t, "127.0.0.0/8", ProxyProtocolRequired, &log))
	code, _, err := exchange(t, addr, "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	if err != nil || code != 400 {
		t.Fatalf("%d %v, want 400", code, err)
	}
}

// TestProxyProtocolSlowPeer checks that a peer that never sends its header
// holds up nobody: Accept does not read, so a second connection is served
// while the first waits.
func TestProxyProtocolSlowPeer(t *testing.T) {
	var log testenv.LogBuffer
	ri, err := New(Config{
		TrustedProxies:     []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		ProxyProtocol:      ProxyProtocolRequired,
		ProxyHeaderTimeout: time.Hour,
		Logger:             log.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, ri)
	for range 3 {
		silent, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
	}
	code, body, err := exchange(t, addr, "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n", "")
	if err != nil || code != 200 || body != "203.0.113.9:5555" {
		t.Fatalf("%d %q %v", code, body, err)
	}
}

// TestProxyProtocolHeaderTimeout checks that a trusted peer that sends no
// header is closed after ProxyHeaderTimeout in required mode.
func TestProxyProtocolHeaderTimeout(t *testing.T) {
	var log testenv.LogBuffer
	ri, err := New(Config{
		TrustedProxies:     []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		ProxyProtocol:      ProxyProtocolRequired,
		ProxyHeaderTimeout: 50 * time.Millisecond,
		Logger:             log.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, ri)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || err == nil {
		t.Fatalf("read %v, want the connection closed", err)
	}
}

// TestProxyProtocolThenHeaders checks the two ways together: the PROXY
// header's address is the peer Wrap judges, so X-Forwarded-For is believed
// only when that address is a trusted proxy.
func TestProxyProtocolThenHeaders(t *testing.T) {
	ri, err := New(Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")},
		ProxyProtocol:  ProxyProtocolRequired,
		Logger:         discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, ri)
	xff := "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5\r\nConnection: close\r\n\r\n"
	for src, want := range map[string]string{
		"10.1.1.1":     "203.0.113.5:0",     // a trusted balancer in front of the PROXY sender
		"198.51.100.1": "198.51.100.1:4000", // a client: its header is not believed
	} {
		code, body, err := exchange(t, addr, "PROXY TCP4 "+src+" 127.0.0.1 4000 80\r\n", xff)
		if err != nil || code != 200 || body != want {
			t.Errorf("PROXY from %s: %d %q %v, want %q", src, code, body, err, want)
		}
	}
}
