package ldapauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestTLS logs in over ldaps:// (Active Directory's 636/3269) and StartTLS
// against slapd with a certificate from a test CA.
func TestTLS(t *testing.T) {
	s := testenv.StartSlapd(t, testenv.SlapdConfig{
		Schemas: []string{"testdata/ad.schema"},
		LDIF:    []string{"testdata/directory.ldif"},
		TLS:     true,
	})
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	trusted := &tls.Config{RootCAs: roots}
	const path = "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)"
	tests := []struct {
		name  string
		url   string
		tls   *tls.Config
		ok    bool
		avail bool
	}{
		{"ldaps", s.LDAPSURL + path, trusted, true, true},
		{"StartTLS", s.URL + path + " STARTTLS", trusted, true, true},
		{"TLS keyword", s.URL + path + " TLS", trusted, true, true},
		{"ldaps with an untrusted certificate fails closed", s.LDAPSURL + path, nil, false, false},
		{"StartTLS with an untrusted certificate fails closed", s.URL + path + " STARTTLS", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDirectory(t, Config{URL: tt.url, BindDN: readerDN, BindPassword: readerPW, TLSConfig: tt.tls, CacheTTL: -1})
			_, ok, err := d.CheckPassword(context.Background(), "alice", "alicepw")
			if ok != tt.ok || (err == nil) != tt.avail {
				t.Fatalf("CheckPassword = %v, %v; want ok=%v, error=%v", ok, err, tt.ok, !tt.avail)
			}
			if !tt.avail && !IsUnavailable(err) {
				t.Errorf("error %v is not an unavailable error", err)
			}
		})
	}
}
