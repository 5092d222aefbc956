package remoteip_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/framing"
	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/remoteip"
	"github.com/gowsgi/gowsgi/wsgi"
)

// environScript answers with the environ entries that remoteip decides.
const environScript = `
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    keys = ['REMOTE_ADDR', 'wsgi.url_scheme', 'HTTPS', 'HTTP_HOST', 'SERVER_NAME', 'SERVER_PORT', 'HTTP_X_FORWARDED_FOR']
    return [('%s=%s\n' % (k, environ.get(k, '-'))).encode('latin-1') for k in keys]
`

// startWSGI serves a real Python worker behind ri (Wrap, and Listener
// under framing's guard, as cmd/gowsgi does) on a loopback listener, and
// returns its address.
func startWSGI(t *testing.T, ri *remoteip.RemoteIP) string {
	t.Helper()
	script := testenv.WriteFile(t, "", "environ.wsgi", environScript)
	app, err := wsgi.New(wsgi.Config{Script: script, Python: testenv.Python(t), Logger: (&testenv.LogBuffer{}).Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ri.Wrap(app), ReadHeaderTimeout: 30 * time.Second}
	g := &framing.Guard{}
	l := g.Configure(srv, ri.Listener(ln))
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func parseEnv(body string) map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(body), "\n") {
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return m
}

// get sends a GET with headers over a connection dialled from local (an
// address on loopback, "" for any) to addr, and returns the environ the
// application saw, or an error when the connection was closed unanswered.
func get(t *testing.T, local, addr string, headers map[string]string) (map[string]string, int, error) {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("GET /env HTTP/1.1\r\nHost: app.example:8080\r\nConnection: close\r\n")
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		return nil, 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	return parseEnv(string(body)), resp.StatusCode, nil
}

func mustRemoteIP(t *testing.T, cfg remoteip.Config, trusted ...string) *remoteip.RemoteIP {
	t.Helper()
	for _, p := range trusted {
		cfg.TrustedProxies = append(cfg.TrustedProxies, netip.MustParsePrefix(p))
	}
	cfg.Logger = (&testenv.LogBuffer{}).Logger()
	ri, err := remoteip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ri
}

func checkEnv(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (environ %v)", k, got[k], v, got)
		}
	}
}

// TestWSGIEnviron checks REMOTE_ADDR, wsgi.url_scheme and HTTP_HOST in a
// real Python worker's environ, from a trusted proxy and from a client
// spoofing the same headers.
func TestWSGIEnviron(t *testing.T) {
	// 127.0.0.1 is the proxy; a client dials from 127.0.0.2.
	addr := startWSGI(t, mustRemoteIP(t, remoteip.Config{}, "127.0.0.1/32"))
	spoof := map[string]string{
		"X-Forwarded-For":   "127.0.0.1, 203.0.113.50",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-Host":  "www.example.org",
	}
	env, code, err := get(t, "127.0.0.1", addr, spoof)
	if err != nil || code != 200 {
		t.Fatalf("%d %v", code, err)
	}
	checkEnv(t, env, map[string]string{
		"REMOTE_ADDR": "203.0.113.50", "wsgi.url_scheme": "https", "HTTPS": "on",
		"HTTP_HOST": "www.example.org", "SERVER_NAME": "www.example.org", "SERVER_PORT": "443",
		"HTTP_X_FORWARDED_FOR": "127.0.0.1, 203.0.113.50",
	})
	env, code, err = get(t, "127.0.0.2", addr, spoof)
	if err != nil || code != 200 {
		t.Fatalf("%d %v", code, err)
	}
	checkEnv(t, env, map[string]string{
		"REMOTE_ADDR": "127.0.0.2", "wsgi.url_scheme": "http", "HTTPS": "off",
		"HTTP_HOST": "app.example:8080", "SERVER_NAME": "app.example", "SERVER_PORT": "8080",
		"HTTP_X_FORWARDED_FOR": "127.0.0.1, 203.0.113.50",
	})
}

// TestHAProxy puts Debian's HAProxy in front of a real Python worker:
// send-proxy and send-proxy-v2 (the client's address comes from the PROXY
// header), option forwardfor in http mode (from X-Forwarded-For), and a
// trusted HAProxy that sends no PROXY header where one is required (the
// connection is closed: HAProxy answers 502).
func TestHAProxy(t *testing.T) {
	for _, send := range []string{"send-proxy", "send-proxy-v2"} {
		t.Run(send, func(t *testing.T) {
			addr := startWSGI(t, mustRemoteIP(t, remoteip.Config{ProxyProtocol: remoteip.ProxyProtocolRequired}, "127.0.0.1/32"))
			h := testenv.StartHAProxy(t, "tcp", "server s1 "+addr+" "+send)
			// The client dials HAProxy from 127.0.0.2; HAProxy dials
			// gowsgi from 127.0.0.1, the trusted proxy.
			env, code, err := get(t, "127.0.0.2", h.Addr, map[string]string{"X-Forwarded-For": "192.0.2.66"})
			if err != nil || code != 200 {
				t.Fatalf("%d %v\nhaproxy: %s", code, err, h.Output())
			}
			// The client is not a trusted proxy: its X-Forwarded-For
			// is passed on and believed by nothing.
			checkEnv(t, env, map[string]string{"REMOTE_ADDR": "127.0.0.2", "HTTP_X_FORWARDED_FOR": "192.0.2.66", "wsgi.url_scheme": "http"})
			// Directly, without the header, from the trusted address:
			// closed.
			if env, code, err := get(t, "127.0.0.1", addr, nil); err == nil {
				t.Errorf("a trusted peer without a PROXY header was served: %d %v", code, env)
			}
		})
	}
	t.Run("untrusted peer sending a header", func(t *testing.T) {
		// HAProxy dials from 127.0.0.1, which is not trusted here.
		addr := startWSGI(t, mustRemoteIP(t, remoteip.Config{ProxyProtocol: remoteip.ProxyProtocolOptional}, "192.0.2.0/24"))
		h := testenv.StartHAProxy(t, "http", "server s1 "+addr+" send-proxy")
		_, code, err := get(t, "127.0.0.2", h.Addr, nil)
		if err != nil || code != 502 {
			t.Fatalf("%d %v, want HAProxy's 502 (its connection closed)\nhaproxy: %s", code, err, h.Output())
		}
	})
	t.Run("required, no header", func(t *testing.T) {
		addr := startWSGI(t, mustRemoteIP(t, remoteip.Config{ProxyProtocol: remoteip.ProxyProtocolRequired}, "127.0.0.1/32"))
		h := testenv.StartHAProxy(t, "http", "server s1 "+addr)
		_, code, err := get(t, "127.0.0.2", h.Addr, nil)
		if err != nil || code != 502 {
			t.Fatalf("%d %v, want HAProxy's 502 (its connection closed)\nhaproxy: %s", code, err, h.Output())
		}
	})
	t.Run("optional, no header", func(t *testing.T) {
		addr := startWSGI(t, mustRemoteIP(t, remoteip.Config{ProxyProtocol: remoteip.ProxyProtocolOptional}, "127.0.0.1/32"))
		h := testenv.StartHAProxy(t, "http", "option forwardfor\n    http-request set-header X-Forwarded-Proto https\n    server s1 "+addr)
		env, code, err := get(t, "127.0.0.2", h.Addr, map[string]string{"X-Forwarded-For": "127.0.0.1"})
		if err != nil || code != 200 {
			t.Fatalf("%d %v\nhaproxy: %s", code, err, h.Output())
		}
		// option forwardfor appends the client's address after the
		// spoofed one: the right-most untrusted address is the client.
		checkEnv(t, env, map[string]string{"REMOTE_ADDR": "127.0.0.2", "wsgi.url_scheme": "https", "HTTP_X_FORWARDED_FOR": "127.0.0.1, 127.0.0.2"})
	})
}
