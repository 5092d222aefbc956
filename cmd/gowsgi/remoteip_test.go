package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/remoteip"
)

const remoteApp = `
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%s %s %s' % (environ['REMOTE_ADDR'], environ['wsgi.url_scheme'], environ.get('HTTP_HOST'))).encode()]
`

// fromGet sends a GET with extra header lines to addr over a connection
// dialled from local, and returns the status and body, or an error when
// the connection was closed unanswered.
func fromGet(t *testing.T, local, addr, headers string) (int, string, error) {
	t.Helper()
	code, body, _, err := fromGetLocation(t, local, addr, headers)
	return code, body, err
}

// TestTrustedProxyFlag runs the command with -trusted-proxy: a trusted
// peer (127.0.0.1) names the client, scheme and host; an untrusted one
// (127.0.0.2) sending the same headers changes nothing, and cannot pass
// -require 'ip ...' with them.
func TestTrustedProxyFlag(t *testing.T) {
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "remote.wsgi", remoteApp)
	addr := startChild(t, childOpts{}, "-python", py, "-trusted-proxy", "127.0.0.1", "-trusted-proxy", "10.0.0.0/8",
		"-require", "ip 203.0.113.0/24 127.0.0.2", script).addr
	spoof := "X-Forwarded-For: 203.0.113.5, 10.1.1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example.org\r\n"
	code, body, err := fromGet(t, "127.0.0.1", addr, spoof)
	if err != nil || code != 200 || body != "203.0.113.5 https www.example.org" {
		t.Errorf("trusted: %d %q %v", code, body, err)
	}
	code, body, err = fromGet(t, "127.0.0.2", addr, spoof)
	if err != nil || code != 200 || body != "127.0.0.2 http app.example" {
		t.Errorf("untrusted: %d %q %v", code, body, err)
	}
	// 127.0.0.3 is not allowed; naming an allowed address in a header
	// does not make it so.
	code, body, err = fromGet(t, "127.0.0.3", addr, "X-Forwarded-For: 203.0.113.5\r\n")
	if err != nil || code != 403 {
		t.Errorf("spoofed Require ip: %d %q %v", code, body, err)
	}
}

// TestProxyProtocolFlag runs the command behind Debian's HAProxy with
// send-proxy-v2 and -proxy-protocol, then with -proxy-protocol=optional.
func TestProxyProtocolFlag(t *testing.T) {
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "remote.wsgi", remoteApp)
	t.Run("required", func(t *testing.T) {
		addr := startChild(t, childOpts{}, "-python", py, "-trusted-proxy", "127.0.0.1", "-proxy-protocol", script).addr
		h := testenv.StartHAProxy(t, "tcp", "server s1 "+addr+" send-proxy-v2")
		code, body, err := fromGet(t, "127.0.0.2", h.Addr, "")
		if err != nil || code != 200 || body != "127.0.0.2 http app.example" {
			t.Errorf("through HAProxy: %d %q %v\n%s", code, body, err, h.Output())
		}
		if code, body, err := fromGet(t, "127.0.0.1", addr, ""); err == nil {
			t.Errorf("trusted peer without a PROXY header served: %d %q", code, body)
		}
		if code, body, err := fromGet(t, "127.0.0.2", addr, ""); err != nil || body != "127.0.0.2 http app.example" {
			t.Errorf("untrusted peer without a header: %d %q %v", code, body, err)
		}
	})
	t.Run("optional", func(t *testing.T) {
		addr := startChild(t, childOpts{}, "-python", py, "-trusted-proxy", "127.0.0.1", "-proxy-protocol=optional", script).addr
		h := testenv.StartHAProxy(t, "tcp", "server s1 "+addr+" send-proxy")
		code, body, err := fromGet(t, "127.0.0.2", h.Addr, "")
		if err != nil || code != 200 || body != "127.0.0.2 http app.example" {
			t.Errorf("through HAProxy: %d %q %v\n%s", code, body, err, h.Output())
		}
		code, body, err = fromGet(t, "127.0.0.1", addr, "X-Forwarded-For: 192.0.2.1\r\n")
		if err != nil || code != 200 || body != "192.0.2.1 http app.example" {
			t.Errorf("trusted peer without a PROXY header: %d %q %v", code, body, err)
		}
	})
}

func TestRemoteIPFlags(t *testing.T) {
	cfg := parseTestArgs(t, "-trusted-proxy", "10.0.0.0/8", "-trusted-proxy", "192.0.2.1", "-remote-ip-header", "Forwarded", "-proxy-protocol=optional")
	want := remoteIPConfig{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1"}, Header: "Forwarded", ProxyProtocol: remoteip.ProxyProtocolOptional}
	if !reflect.DeepEqual(cfg.RemoteIP, want) {
		t.Errorf("%+v, want %+v", cfg.RemoteIP, want)
	}
	if cfg := parseTestArgs(t, "-proxy-protocol"); cfg.RemoteIP.ProxyProtocol != remoteip.ProxyProtocolRequired {
		t.Errorf("-proxy-protocol alone: %v", cfg.RemoteIP.ProxyProtocol)
	}
	var out strings.Builder
	if code := run([]string{"-proxy-protocol=maybe", "x.wsgi"}, &out); code != 2 || !strings.Contains(out.String(), "want true, false or optional") {
		t.Errorf("-proxy-protocol=maybe: exit %d: %s", code, out.String())
	}
}

// TestRemoteIPConfigErrors: configurations that would trust nobody, or
// anything, are refused with the flag named, before serving.
func TestRemoteIPConfigErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"-proxy-protocol"}, "-proxy-protocol: no -trusted-proxy"},
		{[]string{"-trusted-proxy", "10.0.0.0/33"}, "-trusted-proxy"},
		{[]string{"-trusted-proxy", "localhost"}, "-trusted-proxy"},
		{[]string{"-trusted-proxy", "10.0.0.0/8", "-remote-ip-header", "X-Real-IP"}, "X-Real-IP"},
		{[]string{"-remote-ip-header", "Forwarded"}, "no -trusted-proxy"},
	}
	for _, tc := range tests {
		_, err := chainFromArgs(t, http.NotFoundHandler(), tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v, want an error with %q", tc.args, err, tc.msg)
		}
	}
}

// TestReadmeBehindProxy runs the README's reverse-proxy recipe.
func TestReadmeBehindProxy(t *testing.T) {
	testenv.PythonModule(t, testenv.Python(t), "flask", "python3-flask")
	runRecipe(t, "### Behind a reverse proxy or a load balancer")
}

// TestProxyProtocolTLS puts Debian's HAProxy, passing TCP through with
// send-proxy-v2, in front of the command serving HTTPS: the PROXY header
// is read before the TLS handshake, and the app sees the client's address
// over https, with HTTP/2 and HTTP/1.1.
func TestProxyProtocolTLS(t *testing.T) {
	ca, cert, key := testenv.TLSCerts(t, t.TempDir())
	script := testenv.WriteFile(t, "", "remote.wsgi", remoteApp)
	addr := startChild(t, childOpts{}, "-python", testenv.Python(t), "-tls-cert", cert, "-tls-key", key,
		"-trusted-proxy", "127.0.0.1", "-proxy-protocol", script).addr
	h := testenv.StartHAProxy(t, "tcp", "server s1 "+addr+" send-proxy-v2")
	for _, h2 := range []bool{true, false} {
		c := tlsClient(t, readFile(t, ca), h.Addr, h2)
		c.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
			return d.DialContext(ctx, network, h.Addr)
		}
		resp, body := do(t, c, "GET", "https://localhost/", "")
		if resp.StatusCode != 200 || body != "127.0.0.2 https localhost" {
			t.Errorf("h2 %v: %d %q, want the client's address over https\n%s", h2, resp.StatusCode, body, h.Output())
		}
	}
}

// TestRedirectBehindProxy: -redirect-http builds its URL from the host a
// trusted proxy forwarded, and from the Host header for anyone else.
func TestRedirectBehindProxy(t *testing.T) {
	_, cert, key := testenv.TLSCerts(t, t.TempDir())
	script := testenv.WriteFile(t, "", "remote.wsgi", remoteApp)
	redirect := testenv.Addr(testenv.FreePort(t))
	c := startChild(t, childOpts{}, "-python", testenv.Python(t), "-tls-cert", cert, "-tls-key", key,
		"-redirect-http", redirect, "-trusted-proxy", "127.0.0.1", script)
	_, port, _ := net.SplitHostPort(c.addr)
	for local, want := range map[string]string{
		"127.0.0.1": "https://www.example.org:" + port + "/x",
		"127.0.0.2": "https://app.example:" + port + "/x",
	} {
		code, _, loc, err := fromGetLocation(t, local, redirect, "X-Forwarded-Host: www.example.org\r\n")
		if err != nil || code != http.StatusPermanentRedirect || loc != want {
			t.Errorf("from %s: %d %q %v, want 308 %q", local, code, loc, err, want)
		}
	}
}

// fromGetLocation is fromGet returning the Location header too.
func fromGetLocation(t *testing.T, local, addr, headers string) (int, string, string, error) {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n%s\r\n", headers); err != nil {
		return 0, "", "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location"), err
}

// TestAccessLogBehindProxy: the access log, outermost, prints the client
// a trusted proxy named, and an untrusted peer's own address whatever its
// headers say.
func TestAccessLogBehindProxy(t *testing.T) {
	script := testenv.WriteFile(t, "", "remote.wsgi", remoteApp)
	logFile := filepath.Join(t.TempDir(), "access.log")
	addr := startChild(t, childOpts{}, "-python", testenv.Python(t), "-trusted-proxy", "127.0.0.1",
		"-access-log", logFile, script).addr
	for _, local := range []string{"127.0.0.1", "127.0.0.2"} {
		if code, body, err := fromGet(t, local, addr, "X-Forwarded-For: 203.0.113.5\r\n"); err != nil || code != 200 {
			t.Fatalf("from %s: %d %q %v", local, code, body, err)
		}
	}
	var lines []string
	for deadline := time.Now().Add(20 * time.Second); len(lines) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(logFile)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] == "" {
			lines = nil
		}
	}
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "203.0.113.5 ") || !strings.HasPrefix(lines[1], "127.0.0.2 ") {
		t.Errorf("access log %q, want the trusted proxy's client, then the untrusted peer", lines)
	}
}
