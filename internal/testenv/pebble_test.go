package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoopbackDNS(t *testing.T) {
	addr := StartLoopbackDNS(t)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := r.LookupIP(ctx, "ip4", "trac.gowsgi.test")
	if err != nil || len(ips) != 1 || !ips[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("A trac.gowsgi.test: %v %v", ips, err)
	}
	if ips, err := r.LookupIP(ctx, "ip6", "trac.gowsgi.test"); err == nil && len(ips) > 0 {
		t.Errorf("AAAA trac.gowsgi.test: %v, want none", ips)
	}
}

func TestPebble(t *testing.T) {
	p := StartPebble(t, PebbleConfig{DNSServer: StartLoopbackDNS(t), CertificateValidity: time.Minute})
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(p.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dir map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&dir); err != nil || dir["newOrder"] == nil {
		t.Fatalf("directory: %v %v", dir, err)
	}
	if root := p.Root(t); !strings.Contains(string(root), "BEGIN CERTIFICATE") {
		t.Errorf("root: %q", root)
	}
	if n := p.Issued(); n != 0 {
		t.Errorf("Issued() = %d before any order", n)
	}
}
