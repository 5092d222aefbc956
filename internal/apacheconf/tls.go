package apacheconf

import (
	"fmt"
	"strings"
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
}

// serverTLS is one server's mod_ssl directives, before they are merged
// with the main server's.
type serverTLS struct {
	engine            *Directive // SSLEngine on|off
	cert, key, protos *Directive
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
			case "h2", "http/1.1":
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
	}
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
			t = &merged
		}
		on := t.engine != nil && strings.EqualFold(t.engine.Args[0], "on")
		var cur *TLS
		if on {
			if t.cert == nil {
				c.errorf(t.engine, "SSLEngine on without SSLCertificateFile")
				continue
			}
			cur = &TLS{Pos: t.engine.Pos, CertFile: c.abs(t.cert.Args[0]), HTTP2: true}
			if t.key != nil {
				cur.KeyFile = c.abs(t.key.Args[0])
			}
			if t.protos != nil {
				cur.HTTP2 = containsFold(t.protos.Args, "h2")
			}
		}
		if firstAt == nil {
			first, firstAt = cur, s
			continue
		}
		if (first == nil) != (cur == nil) || (first != nil && (*first != TLS{Pos: first.Pos, CertFile: cur.CertFile, KeyFile: cur.KeyFile, HTTP2: cur.HTTP2})) {
			c.add(errAt(s.Pos, "SSLEngine", fmt.Sprintf("gowsgi serves one listener with one certificate: this server's SSLEngine, SSLCertificateFile, SSLCertificateKeyFile and Protocols must be those of the server at %s", firstAt.Pos)))
			return
		}
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
