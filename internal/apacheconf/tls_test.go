package apacheconf

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestTLS(t *testing.T) {
	tests := []struct {
		name, src string
		want      *TLS // nil: plain HTTP
		err       string
	}{
		{"none", "Listen 80\n", nil, ""},
		{"main", "Listen 443 https\nSSLEngine on\nSSLCertificateFile c.pem\nSSLCertificateKeyFile /k.pem\n",
			&TLS{CertFile: "/srv/c.pem", KeyFile: "/k.pem", HTTP2: true}, ""},
		{"engine off", "SSLEngine off\nSSLCertificateFile c.pem\n", nil, ""},
		{"http/1.1 only", "SSLEngine on\nSSLCertificateFile /c.pem\nProtocols http/1.1\n", &TLS{CertFile: "/c.pem"}, ""},
		{"vhosts inherit the main server's certificate", "Listen 443\nSSLCertificateFile /c.pem\nSSLCertificateKeyFile /k.pem\n" +
			"<VirtualHost *:443>\nServerName a\nSSLEngine on\n</VirtualHost>\n<VirtualHost *:443>\nServerName b\nSSLEngine on\n</VirtualHost>\n",
			&TLS{CertFile: "/c.pem", KeyFile: "/k.pem", HTTP2: true}, ""},
		{"one vhost plain", "Listen 443\n<VirtualHost *:443>\nServerName a\nSSLEngine on\nSSLCertificateFile /c.pem\n</VirtualHost>\n<VirtualHost *:443>\nServerName b\n</VirtualHost>\n",
			nil, "t.conf:7: SSLEngine: gowsgi serves one listener with one certificate"},
		{"two certificates", "Listen 443\nSSLEngine on\n<VirtualHost *:443>\nSSLCertificateFile /a.pem\n</VirtualHost>\n<VirtualHost *:443>\nSSLCertificateFile /b.pem\n</VirtualHost>\n",
			nil, "t.conf:6: SSLEngine: gowsgi serves one listener with one certificate: this server's SSLEngine, SSLCertificateFile, SSLCertificateKeyFile, Protocols and Strict-Transport-Security must be those of the server at t.conf:3"},
		{"no certificate", "SSLEngine on\n", nil, "t.conf:1: SSLEngine: SSLEngine on without SSLCertificateFile or MDomain"},
		{"acme", "MDomain a.example b.example auto\nMDContactEmail x@a.example\nMDCertificateAuthority https://ca/dir\nSSLEngine on\nProtocols h2 http/1.1 acme-tls/1\n",
			&TLS{HTTP2: true, ACME: ACME{Domains: []string{"a.example", "b.example"}, Email: "x@a.example", DirectoryURL: "https://ca/dir"}}, ""},
		{"hsts", "SSLEngine on\nSSLCertificateFile /c.pem\nHeader always set Strict-Transport-Security \"max-age=600;\"\n",
			&TLS{CertFile: "/c.pem", HTTP2: true, HSTS: 600 * time.Second}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseBytes("t.conf", []byte(tt.src), Options{ServerRoot: "/srv"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := Check(f)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (c.TLS == nil) != (tt.want == nil) {
				t.Fatalf("TLS %+v, want %+v", c.TLS, tt.want)
			}
			if c.TLS == nil {
				return
			}
			got := *c.TLS
			got.Pos = Pos{}
			if !got.same(tt.want) {
				t.Errorf("TLS %+v, want %+v", got, *tt.want)
			}
			var b bytes.Buffer
			if err := c.Dump(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "\ntls "+tt.want.CertFile) {
				t.Errorf("-dump has no tls line:\n%s", b.String())
			}
		})
	}
}
