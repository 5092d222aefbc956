package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// schemeApp answers with what the WSGI environ says of the request's
// scheme and protocol.
const schemeApp = `def application(environ, start_response):
    body = '%s %s %s' % (environ['wsgi.url_scheme'], environ['HTTPS'], environ['SERVER_PROTOCOL'])
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body.encode()]
`

// tlsClient is an HTTP client trusting the PEM roots, for HTTP/2 and
// HTTP/1.1 (h2 false: HTTP/1.1 only), that dials addr whatever the URL's
// host.
func tlsClient(t *testing.T, roots []byte, addr string, h2 bool) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(roots) {
		t.Fatal("no root certificate")
	}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHTTPS serves a real Python worker over HTTPS: HTTP/2 and HTTP/1.1
// requests both reach the app as https with HTTPS=on, -hsts adds its
// header, -http2=false leaves HTTP/1.1 only, and the framing guard still
// refuses an ambiguous HTTP/1.1 request under TLS.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := testenv.TLSCerts(t, dir)
	roots := readFile(t, ca)
	script := testenv.WriteFile(t, "", "scheme.wsgi", schemeApp)
	py := testenv.Python(t)

	c := startChild(t, childOpts{}, "-python", py, "-tls-cert", cert, "-tls-key", key, "-hsts", "8760h", script)
	// A client that connects and never starts its handshake holds up
	// no one.
	idle, err := net.Dial("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	for _, tc := range []struct {
		h2   bool
		want string
	}{
		{true, "https on HTTP/2.0"},
		{false, "https on HTTP/1.1"},
	} {
		resp, body := do(t, tlsClient(t, roots, c.addr, tc.h2), "GET", "https://localhost/", "")
		if resp.StatusCode != 200 || body != tc.want {
			t.Errorf("h2 %v: %d %q, want 200 %q", tc.h2, resp.StatusCode, body, tc.want)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("h2 %v: Strict-Transport-Security %q, want max-age=31536000", tc.h2, got)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("h2 %v: TLS state %v", tc.h2, resp.TLS)
		}
	}

	// TLS 1.1 is refused.
	if conn, err := tls.Dial("tcp", c.addr, &tls.Config{RootCAs: tlsClient(t, roots, c.addr, false).Transport.(*http.Transport).TLSClientConfig.RootCAs, ServerName: "localhost", MaxVersion: tls.VersionTLS11}); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	// Content-Length with Transfer-Encoding: refused under TLS as in
	// plain text.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(roots)
	conn, err := tls.Dial("tcp", c.addr, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("Content-Length with Transfer-Encoding over TLS: %d, want 400", resp.StatusCode)
	}

	// Plain HTTP to the HTTPS port: 400 with the reason.
	resp, body := do(t, http.DefaultClient, "GET", "http://"+c.addr+"/", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "HTTP request to an HTTPS server") {
		t.Errorf("plain HTTP to the HTTPS port: %d %q", resp.StatusCode, body)
	}

	// -http2=false: an HTTP/2 client gets HTTP/1.1.
	c = startChild(t, childOpts{}, "-python", py, "-tls-cert", cert, "-tls-key", key, "-http2=false", script)
	resp, body = do(t, tlsClient(t, roots, c.addr, true), "GET", "https://localhost/", "")
	if resp.StatusCode != 200 || body != "https on HTTP/1.1" {
		t.Errorf("-http2=false: %d %q, want 200 %q", resp.StatusCode, body, "https on HTTP/1.1")
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("Strict-Transport-Security sent without -hsts")
	}
}

// certOf is the certificate the server at addr presents for localhost,
// on a new connection.
func certOf(t *testing.T, addr string) []byte {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

// replaceFile replaces name with content atomically, as a deployment tool
// would.
func replaceFile(t *testing.T, name string, content []byte) {
	t.Helper()
	tmp := name + ".new"
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// TestHTTPSReload: SIGHUP reads the certificate files again; a connection
// opened before keeps serving; a new certificate that does not load is
// logged and the one in use kept.
func TestHTTPSReload(t *testing.T) {
	dirA, dirB, dir := t.TempDir(), t.TempDir(), t.TempDir()
	caA, certA, keyA := testenv.TLSCerts(t, dirA)
	_, certB, keyB := testenv.TLSCerts(t, dirB)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	replaceFile(t, cert, readFile(t, certA))
	replaceFile(t, key, readFile(t, keyA))
	script := testenv.WriteFile(t, "", "scheme.wsgi", schemeApp)
	c := startChild(t, childOpts{}, "-python", testenv.Python(t), "-tls-cert", cert, "-tls-key", key, script)
	derA := certOf(t, c.addr)

	// A keep-alive connection, opened with certificate A.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(readFile(t, caA))
	conn, err := tls.Dial("tcp", c.addr, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	get := func(what string) {
		t.Helper()
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "https on HTTP/1.1" {
			t.Fatalf("%s: %d %q", what, resp.StatusCode, b)
		}
	}
	get("before SIGHUP")

	replaceFile(t, cert, readFile(t, certB))
	replaceFile(t, key, readFile(t, keyB))
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, c, "certificate reloaded")
	derB := certOf(t, c.addr)
	if bytes.Equal(derB, derA) {
		t.Fatal("certificate not replaced")
	}
	get("after SIGHUP, on the connection opened before")
	if !bytes.Equal(conn.ConnectionState().PeerCertificates[0].Raw, derA) {
		t.Error("the open connection's certificate changed")
	}

	// A broken certificate file: logged, B kept.
	replaceFile(t, cert, []byte("not a certificate\n"))
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, c, "keeping the certificate in use")
	if !bytes.Equal(certOf(t, c.addr), derB) {
		t.Error("a broken certificate file replaced the certificate in use")
	}
	get("after a failed reload")
}

// waitOutput waits until the child's output holds s.
func waitOutput(t *testing.T, c *child, s string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(c.out.String(), s); {
		if time.Now().After(deadline) {
			t.Fatalf("gowsgi did not log %q:\n%s", s, c.output())
		}
		select {
		case <-c.exited:
			t.Fatalf("gowsgi exited:\n%s", c.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestRedirectHTTP: -redirect-http answers 308 to the same URL over
// HTTPS, on -listen's port.
func TestRedirectHTTP(t *testing.T) {
	_, cert, key := testenv.TLSCerts(t, t.TempDir())
	script := testenv.WriteFile(t, "", "scheme.wsgi", schemeApp)
	redirect := testenv.Addr(testenv.FreePort(t))
	c := startChild(t, childOpts{}, "-python", testenv.Python(t), "-tls-cert", cert, "-tls-key", key, "-redirect-http", redirect, script)
	_, port, _ := net.SplitHostPort(c.addr)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ host, path, want string }{
		{"trac.example.com", "/trac/login?referer=%2Fwiki#x", "https://trac.example.com:" + port + "/trac/login?referer=%2Fwiki"},
		{"trac.example.com:80", "/", "https://trac.example.com:" + port + "/"},
		{"[::1]:8080", "/a", "https://[::1]:" + port + "/a"},
	} {
		req, err := http.NewRequest("GET", "http://"+redirect+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != tc.want {
			t.Errorf("Host %s %s: %d %q, want 308 %q", tc.host, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
	}
	if got := redirectTarget(t, ""); got != 400 {
		t.Errorf("no Host: %d, want 400", got)
	}
}

// redirectTarget is the status redirectHandler gives a request with host.
func redirectTarget(t *testing.T, host string) int {
	t.Helper()
	req, err := http.NewRequest("GET", "http://x/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	w := &statusRecorder{h: http.Header{}}
	redirectHandler("").ServeHTTP(w, req)
	return w.code
}

type statusRecorder struct {
	h    http.Header
	code int
}

func (w *statusRecorder) Header() http.Header         { return w.h }
func (w *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (w *statusRecorder) WriteHeader(code int)        { w.code = code }

// TestTLSFlagErrors: TLS settings that cannot work are refused at startup,
// naming the flag, before any worker starts.
func TestTLSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	_, cert, key := testenv.TLSCerts(t, dir)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"-tls-cert", cert}, "-tls-key"},
		{"key without cert", []string{"-tls-key", key}, "-tls-cert"},
		{"key of another certificate", []string{"-tls-cert", cert, "-tls-key", writeOtherKey(t)}, "-tls-cert"},
		{"expired certificate", expiredCert(t), "not now"},
		{"missing cert file", []string{"-tls-cert", filepath.Join(dir, "none.pem"), "-tls-key", key}, "-tls-cert"},
		{"redirect without TLS", []string{"-redirect-http", "127.0.0.1:0"}, "-redirect-http needs HTTPS"},
		{"hsts without TLS", []string{"-hsts", "1h"}, "-hsts needs HTTPS"},
		{"negative hsts", []string{"-tls-cert", cert, "-tls-key", key, "-hsts", "-1h"}, "-hsts"},
		{"http2 without TLS", []string{"-http2=false"}, "-http2"},
		{"acme email without domain", []string{"-acme-email", "a@example.com"}, "need -acme-domain"},
		{"acme dir without domain", []string{"-acme-dir", "https://127.0.0.1/dir"}, "need -acme-domain"},
		{"single-label domain", []string{"-acme-domain", "trac", "-acme-cache", dir}, `-acme-domain \"trac\"`},
		{"wildcard domain", []string{"-acme-domain", "*.example.com", "-acme-cache", dir}, "-acme-domain"},
		{"IP domain", []string{"-acme-domain", "10.0.0.1", "-acme-cache", dir}, "-acme-domain"},
		{"acme and files", []string{"-acme-domain", "trac.example.com", "-tls-cert", cert, "-tls-key", key}, "exclude each other"},
		{"bad CA root", []string{"-acme-domain", "trac.example.com", "-acme-cache", dir, "-acme-ca-root", key}, "-acme-ca-root"},
		{"busy redirect port", []string{"-tls-cert", cert, "-tls-key", key, "-redirect-http", busyAddr(t)}, "-redirect-http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			args := append(tc.args, "-listen", "127.0.0.1:0", "/nonexistent/app.wsgi")
			if code := run(args, &out); code != 1 {
				t.Errorf("exit %d, want 1: %s", code, out.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("the error does not name %q: %s", tc.want, out.String())
			}
			if strings.Contains(out.String(), "did not load") {
				t.Errorf("the workers started before the TLS settings were checked: %s", out.String())
			}
		})
	}
}

// expiredCert writes a self-signed certificate that expired an hour ago
// and its key, and returns the flags that give them.
func expiredCert(t *testing.T) []string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-48 * time.Hour),
		NotAfter:     time.Now().Add(-time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	replaceFile(t, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	replaceFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return []string{"-tls-cert", cert, "-tls-key", keyFile}
}

// writeOtherKey writes the key of another test certificate.
func writeOtherKey(t *testing.T) string {
	_, _, key := testenv.TLSCerts(t, t.TempDir())
	return key
}

// busyAddr is an address something listens on until the test ends.
func busyAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// TestPlainPasswordWarning: Basic over plain HTTP on a non-loopback
// address logs a warning; on loopback, or over HTTPS, it does not.
func TestPlainPasswordWarning(t *testing.T) {
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, htpasswd, "alice", "secret", "-B")
	script := testenv.WriteFile(t, "", "scheme.wsgi", schemeApp)
	py := testenv.Python(t)
	const warning = "authentication over plain HTTP on a non-loopback address"

	c := startChild(t, childOpts{noListen: true}, "-listen", "0.0.0.0:"+strconv.Itoa(testenv.FreePort(t)), "-python", py, "-htpasswd", htpasswd, script)
	waitOutput(t, c, "gowsgi: serving")
	if !strings.Contains(c.out.String(), "Basic "+warning) {
		t.Errorf("no warning on 0.0.0.0:\n%s", c.output())
	}

	c = startChild(t, childOpts{}, "-python", py, "-htpasswd", htpasswd, script)
	waitOutput(t, c, "gowsgi: serving")
	if strings.Contains(c.out.String(), warning) {
		t.Errorf("warning on loopback:\n%s", c.output())
	}

	_, cert, key := testenv.TLSCerts(t, t.TempDir())
	c = startChild(t, childOpts{noListen: true}, "-listen", "0.0.0.0:"+strconv.Itoa(testenv.FreePort(t)), "-python", py, "-htpasswd", htpasswd, "-tls-cert", cert, "-tls-key", key, script)
	waitOutput(t, c, "gowsgi: serving")
	if strings.Contains(c.out.String(), warning) {
		t.Errorf("warning over HTTPS:\n%s", c.output())
	}
}

func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8000": true,
		"[::1]:8000":     true,
		"localhost:80":   true,
		"127.0.0.2:80":   true,
		":8000":          false,
		"0.0.0.0:8000":   false,
		"[::]:8000":      false,
		"10.1.2.3:443":   false,
		"example.com:80": false,
		"garbage":        false,
	} {
		if got := loopbackAddr(addr); got != want {
			t.Errorf("loopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestHelp: -h exits 0 and names the directive each TLS flag replaces.
func TestHelp(t *testing.T) {
	var out strings.Builder
	if code := run([]string{"-h"}, &out); code != 0 {
		t.Errorf("gowsgi -h: exit %d, want 0", code)
	}
	for _, want := range []string{"-tls-cert", "SSLCertificateFile", "-redirect-http", "--https-only", "-acme-domain", "MDomain", "-hsts", "Strict-Transport-Security", "-http2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("gowsgi -h does not mention %s", want)
		}
	}
	for _, flag := range []string{"-htpasswd", "-htdigest"} {
		_, after, _ := strings.Cut(out.String(), "\n  "+flag+" ")
		help, _, _ := strings.Cut(after, "\n  -")
		if !strings.Contains(help, "HTTPS") {
			t.Errorf("gowsgi -h: %s does not recommend HTTPS:%s", flag, help)
		}
	}
}
