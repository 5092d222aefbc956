package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/gowsgi/gowsgi/framing"
)

// tlsConfig is HTTPS: a certificate from files (mod_ssl) or from an ACME
// certificate authority (mod_md), HTTP/2, and the plain-HTTP listener that
// redirects to HTTPS and answers ACME's HTTP-01 challenges. Neither a
// certificate nor a domain means plain HTTP, and then every other field
// must keep its default.
type tlsConfig struct {
	// CertFile and KeyFile are PEM files of the certificate (with its
	// chain) and its private key (-tls-cert, -tls-key;
	// SSLCertificateFile, SSLCertificateKeyFile). Both or neither;
	// exclusive with ACME. SIGHUP reads them again.
	CertFile, KeyFile string
	// HTTP2 offers HTTP/2 to clients that speak it (-http2; Protocols h2
	// http/1.1). It has no effect without TLS: cleartext HTTP/2 is not
	// served.
	HTTP2 bool
	// RedirectHTTP is the address of a plain-HTTP listener answering 308
	// to the same URL over HTTPS, and ACME's HTTP-01 challenges; "" means
	// none (-redirect-http; mod_wsgi-express --https-only, Apache's
	// Redirect permanent / https://...).
	RedirectHTTP string
	// HSTS is the max-age of the Strict-Transport-Security header sent
	// with every HTTPS response; 0 means no header (-hsts; Header always
	// set Strict-Transport-Security, mod_wsgi-express --hsts-policy).
	HSTS time.Duration
	ACME acmeConfig
}

// acmeConfig is certificates obtained and renewed automatically from an
// ACME certificate authority (mod_md), with
// golang.org/x/crypto/acme/autocert. Domains empty means off, and then
// every other field must keep its default.
type acmeConfig struct {
	// Domains are the host names certificates are obtained for, one
	// certificate each, on the first TLS handshake naming them (SNI);
	// other names are refused (-acme-domain; MDomain).
	Domains []string
	// Email is the contact address given to the authority, for expiry
	// warnings; "" means none (-acme-email; MDContactEmail).
	Email string
	// DirectoryURL is the authority's directory (-acme-dir;
	// MDCertificateAuthority). Default: Let's Encrypt's production.
	DirectoryURL string
	// CacheDir keeps the account key and the certificates across restarts
	// (-acme-cache; MDStoreDir); "" means gowsgi/acme under the user's
	// cache directory ($XDG_CACHE_HOME or ~/.cache).
	CacheDir string
	// CARoot is a PEM file of root certificates trusted, besides the
	// system's, for the directory's HTTPS (-acme-ca-root;
	// MDCACertificateFile): a test authority such as pebble.
	CARoot string
}

// defaultACMEDirectory is Let's Encrypt's production directory.
const defaultACMEDirectory = acme.LetsEncryptURL

// enabled reports whether c serves HTTPS.
func (c tlsConfig) enabled() bool {
	return c.CertFile != "" || c.KeyFile != "" || len(c.ACME.Domains) > 0
}

// tlsHandshakeTimeout bounds a TLS handshake, as net/http bounds its own
// with the server's read timeouts.
const tlsHandshakeTimeout = 30 * time.Second

// httpsServer is the command's HTTPS: the certificate (from files, reloaded
// on SIGHUP, or from ACME), the TLS listener in front of the framing guard
// and the plain-HTTP redirect listener. A nil *httpsServer is plain HTTP.
type httpsServer struct {
	cfg    tlsConfig
	logger *slog.Logger
	tls    *tls.Config
	// cert is the certificate from -tls-cert and -tls-key, swapped whole
	// by reload; handshakes read it through GetCertificate.
	cert    atomic.Pointer[tls.Certificate]
	manager *autocert.Manager // nil without ACME

	redirectLn  net.Listener // nil without -redirect-http
	redirectSrv *http.Server
}

// newHTTPS checks cfg's TLS settings, loads the certificate or prepares
// ACME, and opens the redirect listener. It returns nil for plain HTTP,
// after warning when passwords would cross the network in the clear.
func newHTTPS(cfg config, logger *slog.Logger) (*httpsServer, error) {
	c := cfg.TLS
	if !c.enabled() {
		switch {
		case c.RedirectHTTP != "":
			return nil, errors.New("-redirect-http needs HTTPS: give -tls-cert and -tls-key, or -acme-domain")
		case c.HSTS != 0:
			return nil, errors.New("-hsts needs HTTPS: give -tls-cert and -tls-key, or -acme-domain")
		case !c.HTTP2:
			return nil, errors.New("-http2=false applies to HTTPS only (cleartext HTTP/2 is never served): give -tls-cert and -tls-key, or -acme-domain")
		case c.ACME.Email != "" || c.ACME.CacheDir != "" || c.ACME.CARoot != "" || c.ACME.DirectoryURL != defaultACMEDirectory:
			return nil, errors.New("-acme-email, -acme-dir, -acme-cache and -acme-ca-root need -acme-domain")
		}
		warnPlainPasswords(cfg, logger)
		return nil, nil
	}
	if c.HSTS < 0 {
		return nil, fmt.Errorf("-hsts %v: want a positive duration, or 0 for no header", c.HSTS)
	}
	s := &httpsServer{cfg: c, logger: logger}
	s.tls = &tls.Config{
		// Go's defaults otherwise: its cipher suites and curves.
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
	}
	if c.HTTP2 {
		s.tls.NextProtos = []string{"h2", "http/1.1"}
	}
	switch {
	case len(c.ACME.Domains) > 0:
		if c.CertFile != "" || c.KeyFile != "" {
			return nil, errors.New("-acme-domain and -tls-cert/-tls-key exclude each other: a certificate comes from files or from ACME")
		}
		m, err := newACMEManager(c.ACME, logger)
		if err != nil {
			return nil, err
		}
		s.manager = m
		if portOf(cfg.Server.Listen) != "443" && portOf(c.RedirectHTTP) != "80" {
			logger.Warn("gowsgi: an ACME authority validates a domain on port 443 (TLS-ALPN-01, -listen) or 80 (HTTP-01, -redirect-http), and neither is served here: certificates can only be obtained if a port forward leads there", "listen", cfg.Server.Listen, "redirect-http", c.RedirectHTTP)
		}
		s.tls.GetCertificate = m.GetCertificate
		// TLS-ALPN-01: the authority's validation handshake asks for
		// acme-tls/1, which the manager answers with its challenge
		// certificate.
		s.tls.NextProtos = append(s.tls.NextProtos, acme.ALPNProto)
	case c.CertFile == "" || c.KeyFile == "":
		return nil, errors.New("-tls-cert and -tls-key go together: give both")
	default:
		cert, err := loadCertificate(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, err
		}
		s.cert.Store(cert)
		s.tls.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil }
	}
	if c.RedirectHTTP != "" {
		ln, err := net.Listen("tcp", c.RedirectHTTP)
		if err != nil {
			return nil, fmt.Errorf("-redirect-http: %w", err)
		}
		s.redirectLn = ln
	}
	return s, nil
}

// loadCertificate reads a certificate and its key, and checks that the
// certificate is in force.
func loadCertificate(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil { // GODEBUG=x509keypairleaf=0
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("-tls-cert %s: %w", certFile, err)
		}
	}
	now := time.Now()
	if leaf := cert.Leaf; now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("-tls-cert %s: the certificate is valid from %v to %v, not now", certFile, leaf.NotBefore, leaf.NotAfter)
	}
	return &cert, nil
}

// newACMEManager makes the autocert manager for c: the authority's
// directory, trusting c.CARoot, the cache directory, and only c.Domains.
func newACMEManager(c acmeConfig, logger *slog.Logger) (*autocert.Manager, error) {
	for _, d := range c.Domains {
		// Authorities refuse single-label names and IP addresses, and
		// wildcards need DNS-01, which is not offered.
		if !strings.Contains(d, ".") || strings.ContainsAny(d, "*/: ") || net.ParseIP(d) != nil || strings.HasSuffix(d, ".") {
			return nil, fmt.Errorf("-acme-domain %q: want a fully qualified host name such as trac.example.com (no wildcard, no IP address, no trailing dot)", d)
		}
	}
	dir := c.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("-acme-cache not given and no user cache directory: %w", err)
		}
		dir = filepath.Join(base, "gowsgi", "acme")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("-acme-cache: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if c.CARoot != "" {
		pem, err := os.ReadFile(c.CARoot)
		if err != nil {
			return nil, fmt.Errorf("-acme-ca-root: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-acme-ca-root %s: no PEM certificate in it", c.CARoot)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	logger.Info("gowsgi: certificates from ACME", "domains", strings.Join(c.Domains, ","), "directory", c.DirectoryURL, "cache", dir)
	return &autocert.Manager{
		// Running with -acme-domain is accepting the authority's terms,
		// as with Caddy and mod_md (MDCertificateAgreement accepted).
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: autocert.HostWhitelist(c.Domains...),
		Email:      c.Email,
		Client: &acme.Client{
			DirectoryURL: c.DirectoryURL,
			HTTPClient:   &http.Client{Transport: transport, Timeout: time.Minute},
			UserAgent:    "gowsgi",
		},
	}, nil
}

// warnPlainPasswords logs a warning when a scheme that sends passwords
// (Basic, or Digest whose MD5 an eavesdropper can attack offline) is
// served over plain HTTP on an address other than loopback.
func warnPlainPasswords(cfg config, logger *slog.Logger) {
	a := cfg.Auth
	var schemes []string
	if a.Basic.Htpasswd != "" || a.LDAP.URL != "" || a.Kerberos.Basic {
		schemes = append(schemes, "Basic")
	}
	if a.Digest.Htdigest != "" {
		schemes = append(schemes, "Digest")
	}
	if len(schemes) == 0 || loopbackAddr(cfg.Server.Listen) {
		return
	}
	logger.Warn("gowsgi: "+strings.Join(schemes, " and ")+" authentication over plain HTTP on a non-loopback address: passwords cross the network readable; serve HTTPS (-tls-cert and -tls-key, or -acme-domain) or keep a TLS-terminating proxy in front",
		"addr", cfg.Server.Listen)
}

// portOf is the port of the address addr, or "".
func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}

// loopbackAddr reports whether the listen address addr accepts only
// connections from this machine.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// configure readies srv to serve HTTPS on ln and returns the listener to
// serve: TLS handshakes, then HTTP/2 connections go to net/http as they
// are, HTTP/1 connections through guard (see [tlsListener]). On a nil s,
// it is guard.Configure: plain HTTP.
func (s *httpsServer) configure(srv *http.Server, ln net.Listener, guard *framing.Guard) net.Listener {
	if s == nil {
		return guard.Configure(srv, ln)
	}
	if !s.cfg.HTTP2 {
		var p http.Protocols
		p.SetHTTP1(true)
		srv.Protocols = &p
	}
	tl := &tlsListener{
		Listener: ln,
		config:   s.tls,
		guard:    guard,
		logger:   s.logger,
		conns:    make(chan acceptResult),
		done:     make(chan struct{}),
	}
	tl.ctx, tl.cancel = context.WithCancel(context.Background())
	if prev := srv.ConnContext; prev != nil {
		srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			return tl.connContext(prev(ctx, c), c)
		}
	} else {
		srv.ConnContext = tl.connContext
	}
	srv.Handler = s.wrap(srv.Handler)
	// The guard's hooks, and the guard outermost in the handler; the
	// listener it returns is not used, tl wraps each HTTP/1 connection.
	guard.Configure(srv, nil)
	go tl.acceptLoop()
	return tl
}

// wrap gives HTTP/1 requests their connection's TLS state (see
// [tlsListener]) and adds the Strict-Transport-Security header.
func (s *httpsServer) wrap(next http.Handler) http.Handler {
	hsts := ""
	if s.cfg.HSTS > 0 {
		hsts = "max-age=" + strconv.FormatInt(int64(s.cfg.HSTS/time.Second), 10)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
				r = r.WithContext(r.Context())
				r.TLS = st
			}
		}
		if hsts != "" && r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// serveRedirect serves the redirect listener until s.close, sending its
// error, if any, to errc. front, when not nil, goes around its handler
// (remoteip's Wrap: behind a trusted proxy, the redirect is built from the
// host it forwarded).
func (s *httpsServer) serveRedirect(tlsAddr net.Addr, front middleware, errc chan<- error) {
	if s == nil || s.redirectLn == nil {
		return
	}
	port := ""
	if a, ok := tlsAddr.(*net.TCPAddr); ok && a.Port != 443 {
		port = strconv.Itoa(a.Port)
	}
	var h http.Handler = redirectHandler(port)
	if s.manager != nil {
		// HTTP-01: /.well-known/acme-challenge/ answered here, anything
		// else redirected. The manager checks Host against -acme-domain
		// as it is, and a port (a listener other than :80 behind a port
		// forward, a test authority) would fail that: it is left out.
		acmeHandler := s.manager.HTTPHandler(h)
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if host, _, err := net.SplitHostPort(r.Host); err == nil {
				r = r.WithContext(r.Context())
				r.Host = host
			}
			acmeHandler.ServeHTTP(w, r)
		})
	}
	if front != nil {
		h = front(h)
	}
	s.redirectSrv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.logger.Info("gowsgi: redirecting HTTP to HTTPS", "addr", s.redirectLn.Addr().String())
	go func() {
		if err := s.redirectSrv.Serve(s.redirectLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("-redirect-http: %w", err)
		}
	}()
}

// redirectHandler answers 308 Permanent Redirect to the request's URL over
// HTTPS, on port (empty: 443). A request without a Host gets 400.
func redirectHandler(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || strings.ContainsAny(host, "/?#@\\ ") {
			http.Error(w, "400 Bad Request: no valid Host to redirect to", http.StatusBadRequest)
			return
		}
		if port != "" {
			host = net.JoinHostPort(host, port)
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// reload reads the certificate files again (SIGHUP): new handshakes get
// the new certificate, connections already open keep theirs. A file that
// does not load is logged and the certificate in use is kept.
func (s *httpsServer) reload() {
	if s == nil || s.cfg.CertFile == "" {
		return
	}
	cert, err := loadCertificate(s.cfg.CertFile, s.cfg.KeyFile)
	if err != nil {
		s.logger.Error("gowsgi: SIGHUP: keeping the certificate in use", "err", err)
		return
	}
	s.cert.Store(cert)
	s.logger.Info("gowsgi: SIGHUP: certificate reloaded", "file", s.cfg.CertFile, "not_after", cert.Leaf.NotAfter)
}

// close stops the redirect server.
func (s *httpsServer) close() {
	if s == nil {
		return
	}
	if s.redirectSrv != nil {
		s.redirectSrv.Close()
	} else if s.redirectLn != nil {
		s.redirectLn.Close()
	}
}
