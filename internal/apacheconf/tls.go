package apacheconf

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TLS is the HTTPS of a configuration (mod_ssl, Protocols): gowsgi serves
// one listener, so every server that has SSLEngine on, itself or from the
// main server, must name the same certificate.
type TLS struct {
	Pos Pos // the SSLEngine on that turned it on
	// CertFile and KeyFile are SSLCertificateFile and
	// SSLCertificateKeyFile, absolute. KeyFile "" means the key is in
	// CertFile, as mod_ssl allows.
	CertFile, KeyFile string
	// HTTP2 is Protocols naming h2 (mod_http2); true when no Protocols
	// line is written, as gowsgi offers HTTP/2 over HTTPS by default.
	HTTP2 bool
	// HSTS is the max-age of Header always set Strict-Transport-Security
	// (mod_headers); 0: none.
	HSTS time.Duration
	// ACME is mod_md's: certificates for ACME.Domains from an ACME
	// authority, used when no SSLCertificateFile is given (CertFile "").
	ACME ACME
}

// ACME is mod_md's MDomain, MDContactEmail and MDCertificateAuthority.
type ACME struct {
	Domains      []string
	Email        string
	DirectoryURL string // "": the command's default (Let's Encrypt)
}

// serverTLS is one server's mod_ssl directives, before they are merged
// with the main server's.
type serverTLS struct {
	engine            *Directive // SSLEngine on|off
	cert, key, protos *Directive
	hsts              *Directive // Header always set Strict-Transport-Security
	hstsAge           time.Duration
}

// tlsDirective records one of SSLEngine, SSLCertificateFile,
// SSLCertificateKeyFile and Protocols for srv.
func (c *checker) tlsDirective(d *Directive, name string, srv *Server) {
	if srv.tls == nil {
		srv.tls = &serverTLS{}
	}
	t := srv.tls
	switch name {
	case "SSLEngine":
		switch strings.ToLower(d.Args[0]) {
		case "on", "off":
		case "optional":
			c.errorf(d, "not supported: optional (a TLS upgrade of a plain connection); use on")
			return
		default:
			c.errorf(d, "takes one argument, on|off")
			return
		}
		t.engine = d
	case "SSLCertificateFile":
		t.cert = d
	case "SSLCertificateKeyFile":
		t.key = d
	case "Protocols":
		for _, p := range d.Args {
			switch strings.ToLower(p) {
			case "h2", "http/1.1", "acme-tls/1":
			default:
				c.errorf(d, "protocol %q is not supported (h2, http/1.1)", p)
				return
			}
		}
		if !containsFold(d.Args, "http/1.1") {
			c.errorf(d, "gowsgi always serves http/1.1: name it")
			return
		}
		t.protos = d
	case "MDomain":
		names := d.Args
		if last := strings.ToLower(names[len(names)-1]); last == "auto" || last == "manual" {
			if last == "manual" {
				c.errorf(d, "manual: gowsgi renews the certificates itself (auto)")
				return
			}
			names = names[:len(names)-1]
		}
		if len(names) == 0 {
			c.errorf(d, "no domain name")
			return
		}
		c.acme.Domains = append(c.acme.Domains, names...)
		if c.mdomain == nil {
			c.mdomain = d
		}
	case "MDContactEmail":
		c.acme.Email = d.Args[0]
	case "MDCertificateAuthority":
		if !strings.HasPrefix(d.Args[0], "https://") {
			c.errorf(d, "%q: want the https:// URL of the authority's ACME directory", d.Args[0])
			return
		}
		c.acme.DirectoryURL = d.Args[0]
	case "Header":
		age, err := hstsHeader(d.Args)
		if err != nil {
			c.errorf(d, "%v", err)
			return
		}
		t.hsts, t.hstsAge = d, age
	}
}

// hstsHeader reads the one Header line gowsgi supports, mod_headers'
// "always set Strict-Transport-Security max-age=SECONDS", and returns
// the max-age.
func hstsHeader(args []string) (time.Duration, error) {
	unsupported := errors.New(`only Header always set Strict-Transport-Security "max-age=SECONDS" is supported`)
	if len(args) != 4 || !strings.EqualFold(args[0], "always") || !strings.EqualFold(args[1], "set") || !strings.EqualFold(args[2], "Strict-Transport-Security") {
		return 0, unsupported
	}
	v := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(args[3]), ";"))
	n, ok := strings.CutPrefix(strings.ToLower(v), "max-age=")
	if !ok || strings.ContainsAny(n, "; ") {
		return 0, fmt.Errorf("%w (includeSubDomains and preload are not)", unsupported)
	}
	age, err := seconds(n)
	if err != nil || age == 0 {
		return 0, fmt.Errorf("max-age %q: want a positive number of seconds", n)
	}
	return age, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// finishTLS merges each server's mod_ssl directives with the main
// server's, as mod_ssl does, and makes Config.TLS of them.
func (c *checker) finishTLS() {
	main := c.cfg.Main.tls
	if main == nil {
		main = &serverTLS{}
	}
	var first *TLS
	var firstAt *Server
	for _, s := range c.cfg.Sites() {
		if s.IsMain() && !c.mainReachable() {
			continue
		}
		if s.Redirect != nil {
			if len(s.Mounts) > 0 || len(s.Statics) > 0 || (s.tls != nil && s.tls.engine != nil && strings.EqualFold(s.tls.engine.Args[0], "on")) {
				c.add(errAt(s.Redirect.Pos, "Redirect", "a virtual host that redirects to HTTPS serves nothing else: move its WSGIScriptAlias, Alias and SSLEngine to the HTTPS one"))
			}
			continue
		}
		t := main
		if s.tls != nil && !s.IsMain() {
			merged := *s.tls
			if merged.engine == nil {
				merged.engine = main.engine
			}
			if merged.cert == nil {
				merged.cert = main.cert
			}
			if merged.key == nil {
				merged.key = main.key
			}
			if merged.protos == nil {
				merged.protos = main.protos
			}
			if merged.hsts == nil {
				merged.hsts, merged.hstsAge = main.hsts, main.hstsAge
			}
			t = &merged
		}
		on := t.engine != nil && strings.EqualFold(t.engine.Args[0], "on")
		var cur *TLS
		if on {
			cur = &TLS{Pos: t.engine.Pos, HTTP2: true}
			switch {
			case t.cert != nil:
				cur.CertFile = c.abs(t.cert.Args[0])
			case len(c.acme.Domains) > 0:
				cur.ACME = c.acme
			default:
				c.errorf(t.engine, "SSLEngine on without SSLCertificateFile or MDomain")
				continue
			}
			if t.key != nil {
				cur.KeyFile = c.abs(t.key.Args[0])
			}
			if t.protos != nil {
				cur.HTTP2 = containsFold(t.protos.Args, "h2")
			}
			cur.HSTS = t.hstsAge
		} else if t.hsts != nil {
			c.errorf(t.hsts, "Strict-Transport-Security is for HTTPS: this server has no SSLEngine on")
			continue
		}
		if firstAt == nil {
			first, firstAt = cur, s
			continue
		}
		if (first == nil) != (cur == nil) || (first != nil && !first.same(cur)) {
			c.add(errAt(s.Pos, "SSLEngine", fmt.Sprintf("gowsgi serves one listener with one certificate: this server's SSLEngine, SSLCertificateFile, SSLCertificateKeyFile, Protocols and Strict-Transport-Security must be those of the server at %s", firstAt.Pos)))
			return
		}
	}
	if len(c.acme.Domains) > 0 && (first == nil || first.CertFile != "") {
		c.cfg.Warnings = append(c.cfg.Warnings, Warning{Pos: c.mdomain.Pos, Directive: "MDomain", Msg: "no server uses it: the ACME certificates serve a server with SSLEngine on and no SSLCertificateFile"})
	}
	c.cfg.TLS = first
}

// mainReachable reports whether a request can reach the main server:
// there are no virtual hosts, or a Listen port none of them has.
func (c *checker) mainReachable() bool {
	if len(c.cfg.VirtualHosts) == 0 {
		return true
	}
	for _, l := range c.cfg.Listen {
		p := listenPort(l.Addr)
		covered := false
		for _, v := range c.cfg.VirtualHosts {
			for _, a := range v.Addrs {
				if vp := vhostPort(a); vp == "" || vp == p {
					covered = true
				}
			}
		}
		if !covered {
			return true
		}
	}
	return false
}

// same reports whether t and u serve alike (their positions aside).
func (t *TLS) same(u *TLS) bool {
	return t.CertFile == u.CertFile && t.KeyFile == u.KeyFile && t.HTTP2 == u.HTTP2 && t.HSTS == u.HSTS &&
		slices.Equal(t.ACME.Domains, u.ACME.Domains) && t.ACME.Email == u.ACME.Email && t.ACME.DirectoryURL == u.ACME.DirectoryURL
}

// Redirect is the one Redirect gowsgi supports: a <VirtualHost> of plain
// HTTP that sends every request to HTTPS ("Redirect permanent /
// https://host/"), which gowsgi serves as its redirect listener: every
// request gets 308 to the same host and path over HTTPS.
type Redirect struct {
	Pos Pos
	URL string
}

func (c *checker) redirect(d *Directive, srv *Server) {
	args := d.Args
	if len(args) == 3 {
		switch strings.ToLower(args[0]) {
		case "permanent", "301", "308":
		default:
			c.errorf(d, "status %s: gowsgi redirects to HTTPS permanently (permanent, 301, 308)", args[0])
			return
		}
		args = args[1:]
	}
	if args[0] != "/" || !strings.HasPrefix(args[1], "https://") {
		c.errorf(d, "only Redirect permanent / https://HOST/ is supported (every request of a plain-HTTP virtual host to HTTPS)")
		return
	}
	if srv.Redirect != nil {
		c.errorf(d, "a second Redirect in this virtual host (the first at %s)", srv.Redirect.Pos)
		return
	}
	srv.Redirect = &Redirect{Pos: d.Pos, URL: args[1]}
}
