package main

import (
	"crypto/x509"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// acmeDomain is a dotted name (ACME refuses single labels) that the test's
// DNS server resolves to 127.0.0.1 for pebble.
const acmeDomain = "trac.gowsgi.test"

// acmeChild runs the command with a certificate from pebble for
// acmeDomain, on -listen tlsAddr and -redirect-http httpAddr, the ports
// pebble validates on.
func acmeChild(t *testing.T, p *testenv.Pebble, tlsAddr, httpAddr, cache, script string) *child {
	t.Helper()
	c := startChild(t, childOpts{noListen: true}, "-listen", tlsAddr, "-redirect-http", httpAddr,
		"-acme-domain", acmeDomain, "-acme-email", "admin@gowsgi.test", "-acme-dir", p.DirectoryURL,
		"-acme-ca-root", p.CAFile, "-acme-cache", cache, "-python", testenv.Python(t), script)
	c.addr = tlsAddr
	c.waitListening(t, 60*time.Second)
	return c
}

// acmeGet gets https://acmeDomain/ from addr, trusting pebble's root, and
// returns the certificate served.
func acmeGet(t *testing.T, p *testenv.Pebble, roots []byte, addr string) *x509.Certificate {
	t.Helper()
	resp, body := do(t, tlsClient(t, roots, addr, true), "GET", "https://"+acmeDomain+"/", "")
	if resp.StatusCode != 200 || body != "https on HTTP/2.0" {
		t.Fatalf("GET over the ACME certificate: %d %q\npebble:\n%s", resp.StatusCode, body, p.Log())
	}
	return resp.TLS.PeerCertificates[0]
}

// TestACME obtains a certificate from Debian's pebble with TLS-ALPN-01,
// serves a request over it, restarts and serves the cached certificate
// without a new order, and renews it before it expires while serving.
func TestACME(t *testing.T) {
	tlsAddr, httpAddr := testenv.Addr(testenv.FreePort(t)), testenv.Addr(testenv.FreePort(t))
	p := testenv.StartPebble(t, testenv.PebbleConfig{
		HTTPPort:  portNumber(t, httpAddr),
		TLSPort:   portNumber(t, tlsAddr),
		DNSServer: testenv.StartLoopbackDNS(t),
		// autocert renews a third of the lifetime before expiry: at
		// about 40s, time enough to restart first.
		CertificateValidity: 60 * time.Second,
	})
	roots := p.Root(t)
	script := testenv.WriteFile(t, "", "scheme.wsgi", schemeApp)
	cache := t.TempDir()

	c := acmeChild(t, p, tlsAddr, httpAddr, cache, script)
	first := acmeGet(t, p, roots, tlsAddr)
	if n := p.Issued(); n != 1 {
		t.Fatalf("pebble issued %d certificates for the first request, want 1:\n%s", n, p.Log())
	}
	if strings.Contains(p.Log(), "validate w/ HTTP") {
		t.Errorf("pebble validated with HTTP-01, not TLS-ALPN-01:\n%s", p.Log())
	}
	c.stop(t)

	// From the cache: the same certificate, no new order.
	c = acmeChild(t, p, tlsAddr, httpAddr, cache, script)
	if got := acmeGet(t, p, roots, tlsAddr); !got.Equal(first) {
		t.Errorf("after a restart, certificate serial %v, want the cached %v", got.SerialNumber, first.SerialNumber)
	}
	if n := p.Issued(); n != 1 {
		t.Errorf("pebble issued %d certificates after a restart, want still 1", n)
	}

	// Renewed while serving, before the first expires.
	for deadline := first.NotAfter; ; {
		got := acmeGet(t, p, roots, tlsAddr)
		if !got.Equal(first) {
			if !time.Now().Before(first.NotAfter) {
				t.Errorf("renewed at %v, after the first certificate expired at %v", time.Now(), first.NotAfter)
			}
			if n := p.Issued(); n < 2 {
				t.Errorf("a new certificate served, but pebble issued %d", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not renewed by %v, when the certificate expired\n%s", deadline, c.output())
		}
		time.Sleep(500 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestACMEHTTP01 obtains a certificate with HTTP-01 on -redirect-http's
// listener, pebble's TLS-ALPN-01 validation finding nothing on its port.
func TestACMEHTTP01(t *testing.T) {
	tlsAddr, httpAddr := testenv.Addr(testenv.FreePort(t)), testenv.Addr(testenv.FreePort(t))
	p := testenv.StartPebble(t, testenv.PebbleConfig{
		HTTPPort:  portNumber(t, httpAddr),
		TLSPort:   testenv.FreePort(t), // nothing listens there
		DNSServer: testenv.StartLoopbackDNS(t),
	})
	script := testenv.WriteFile(t, "", "scheme.wsgi", schemeApp)
	c := acmeChild(t, p, tlsAddr, httpAddr, t.TempDir(), script)
	acmeGet(t, p, p.Root(t), tlsAddr)
	// Neither 443 nor 80: the command says the authority will not reach
	// it without a port forward.
	if !strings.Contains(c.out.String(), "validates a domain on port 443") {
		t.Errorf("no warning about the validation ports:\n%s", c.output())
	}
	if !strings.Contains(p.Log(), "validate w/ HTTP") {
		t.Errorf("pebble's log shows no HTTP-01 validation:\n%s", p.Log())
	}
}

func portNumber(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
