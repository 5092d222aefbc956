package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TLSCerts writes to dir a fresh CA (ca.pem) and a server certificate for
// 127.0.0.1 and localhost signed by it (cert.pem, key.pem), valid from an
// hour ago for a day, and returns the three paths.
func TLSCerts(t testing.TB, dir string) (ca, cert, key string) {
	t.Helper()
	return testCerts(t, dir)
}

// PebbleConfig describes the ACME test authority [StartPebble] runs.
type PebbleConfig struct {
	// HTTPPort and TLSPort are the ports pebble's validation connects to,
	// on the address the challenged name resolves to, for HTTP-01 and
	// TLS-ALPN-01. Zero means pebble's defaults (5002 and 5001).
	HTTPPort, TLSPort int
	// DNSServer is the HOST:PORT pebble resolves challenged names with
	// (pebble -dnsserver), such as [StartLoopbackDNS]'s. Empty means the
	// system's resolver.
	DNSServer string
	// CertificateValidity is the lifetime of the certificates it issues,
	// in whole seconds. Zero means pebble's default (five years).
	CertificateValidity time.Duration
}

// Pebble is a running pebble (Let's Encrypt's ACME test server) started by
// [StartPebble].
type Pebble struct {
	// DirectoryURL is the ACME directory, "https://127.0.0.1:PORT/dir".
	DirectoryURL string
	// CAFile is the PEM file of the CA that signed pebble's own HTTPS
	// certificate (not the certificates it issues: see [Pebble.Root]).
	CAFile string

	mgmt string // management interface, "https://127.0.0.1:PORT"
	log  LogBuffer
}

// StartPebble starts Debian's pebble on loopback ports with its own test
// certificate, validating challenges without the random sleeps and
// accepting every good nonce (PEBBLE_VA_NOSLEEP=1,
// PEBBLE_WFE_NONCEREJECT=0), and stops it when the test ends. It skips
// the test (fails it under CI) when pebble is missing.
func StartPebble(t testing.TB, cfg PebbleConfig) *Pebble {
	t.Helper()
	bin := LookPath(t, "pebble", "pebble")
	dir := t.TempDir()
	ca, cert, key := testCerts(t, dir)
	listen, mgmt := Addr(FreePort(t)), Addr(FreePort(t))
	pc := map[string]any{
		"listenAddress":                  listen,
		"managementListenAddress":        mgmt,
		"certificate":                    cert,
		"privateKey":                     key,
		"httpPort":                       cfg.HTTPPort,
		"tlsPort":                        cfg.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}
	if cfg.HTTPPort == 0 {
		pc["httpPort"] = 5002
	}
	if cfg.TLSPort == 0 {
		pc["tlsPort"] = 5001
	}
	if cfg.CertificateValidity > 0 {
		pc["certificateValidityPeriod"] = int64(cfg.CertificateValidity / time.Second)
	}
	js, err := json.Marshal(map[string]any{"pebble": pc})
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "pebble-config.json")
	if err := os.WriteFile(conf, js, 0o600); err != nil {
		t.Fatalf("testenv: pebble: %v", err)
	}
	args := []string{"-config", conf}
	if cfg.DNSServer != "" {
		args = append(args, "-dnsserver", cfg.DNSServer)
	}
	p := &Pebble{DirectoryURL: "https://" + listen + "/dir", CAFile: ca, mgmt: "https://" + mgmt}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: pebble: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	for deadline := time.Now().Add(30 * time.Second); !dialOK(listen) || !dialOK(mgmt); {
		select {
		case <-done:
			t.Fatalf("testenv: pebble exited: %v\n%s", cmd.ProcessState, p.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: pebble does not listen on %s and %s\n%s", listen, mgmt, p.log.String())
		}
	}
	return p
}

// Root returns the PEM of the root certificate of the chains pebble issues
// (its management interface's /roots/0), made anew each time pebble starts.
func (p *Pebble) Root(t testing.TB) []byte {
	t.Helper()
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("testenv: pebble root: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: pebble root: %v %v %s", resp.Status, err, b)
	}
	return b
}

// Issued is how many certificates pebble has issued (its "Issued
// certificate serial" log lines).
func (p *Pebble) Issued() int { return strings.Count(p.log.String(), "Issued certificate serial") }

// Log is what pebble has written so far.
func (p *Pebble) Log() string { return p.log.String() }

// StartLoopbackDNS starts a DNS server on a free UDP port of 127.0.0.1 that
// answers every A question with 127.0.0.1 and every other question with
// no record, for pebble's -dnsserver, and stops it when the test ends. It
// returns its address.
func StartLoopbackDNS(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: DNS: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Logf("testenv: DNS: %v", err)
				}
				return
			}
			if out, err := loopbackAnswer(buf[:n]); err == nil {
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// loopbackAnswer is the answer to the DNS query q: 127.0.0.1 for an A
// question, no record otherwise.
func loopbackAnswer(q []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil, err
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return nil, err
	}
	if len(qs) != 1 {
		return nil, fmt.Errorf("%d questions", len(qs))
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(qs[0]); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if qs[0].Type == dnsmessage.TypeA {
		rh := dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET, TTL: 60}
		if err := b.AResource(rh, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
