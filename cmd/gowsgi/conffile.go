package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/framing"
	"github.com/gowsgi/gowsgi/internal/apacheconf"
	"github.com/gowsgi/gowsgi/uwsgi"
	"github.com/gowsgi/gowsgi/wsgi"
)

// fileConfig is what an Apache configuration file (-f) adds to [config]:
// the checked file, which [buildHandler] resolves per request as Apache
// merges its sections (filechain.go), and the worker pools it needs.
//
// With a file, config.Mounts holds one entry per worker pool: one per
// (WSGIProcessGroup, application group, script) triple a request can
// reach, in the order of Pools. Server.Listen and Server.LimitRequestBody
// come from the file; Auth holds the defaults (and the flags that have no
// directive, such as -auth-cache-ttl or -ldap-pool-size) that each
// location's settings start from.
type fileConfig struct {
	// Path is the file (-f).
	Path string
	// Test is -t: check the file, as apachectl configtest, and exit.
	Test bool
	// Dump is -dump: print the resolved form (Config.Dump) and exit.
	Dump bool
	// Options are how the file is read (ServerRoot, the environment).
	Options apacheconf.Options
	// Conf is the checked file; nil until [loadFile].
	Conf *apacheconf.Config
	// Pools are the pool keys of config.Mounts, in order ([poolKey]).
	Pools []string
	// workers are the flags' workers settings every pool starts from,
	// kept from the first load for the reloads.
	workers *workersConfig
}

// fileFlags are the flags allowed with -f: those no directive expresses.
// Every other flag is refused, naming the directive that replaces it
// (fileFlagDirective) or saying that the file decides.
var fileFlags = map[string]bool{
	"f": true, "t": true, "dump": true,
	"python": true, "python-user-site": true, "gomaxprocs": true, "cpuprofile": true,
	"status-addr": true, "shutdown-timeout": true, "lazy-start": true, "start-timeout": true,
	"reload-interval": true, "env": true, "xsendfile-path": true,
	"auth-cache-ttl": true, "auth-secret-file": true, "normalize-user": true, "normalize-after-require": true,
	"ldap-pool-size": true, "ldap-group-base-dn": true, "ldap-member-of": true, "ldap-matching-rule-in-chain": true,
	"krb5-conf": true, "kerberos-default-realm": true, "kerberos-clock-skew": true, "kerberos-pac": true,
	"kerberos-basic-cache-ttl": true, "kerberos-session-key-file": true, "kerberos-basic-realm": true,
	"acme-cache": true, "acme-ca-root": true, "log-format": true, "shutdown-delay": true,
	"allow-root": true, "version": true, "db-max-connections": true, "db-connect-timeout": true,
	"proxy-protocol": true,
}

// fileIgnoredFlags are the flags of the flags' one site that no directive
// maps and a file has no use for: refused with -f, as having no effect.
var fileIgnoredFlags = map[string]bool{
	"env-parent-dir": true, "env-key": true, "env-pass-index": true, "env-allow-symlinks-out": true,
	"upstream": true, "upstream-max-conns": true,
}

// fileFlagDirective names the directive that replaces a flag in a file.
// While that directive is not supported yet (an error in a file), the
// flag is allowed with -f in its stead.
var fileFlagDirective = map[string]string{
	"listen": "Listen", "limit-request-body": "LimitRequestBody", "vhost": "ServerName/ServerAlias",
	"tls-cert": "SSLCertificateFile", "tls-key": "SSLCertificateKeyFile", "http2": "Protocols",
	"redirect-http": "Redirect", "hsts": "Header always set Strict-Transport-Security",
	"acme-domain": "MDomain", "acme-email": "MDContactEmail", "acme-dir": "MDCertificateAuthority",
	"mount": "WSGIScriptAlias", "callable": "WSGICallableObject",
	"processes": "WSGIDaemonProcess processes=", "threads": "WSGIDaemonProcess threads=",
	"python-path": "WSGIDaemonProcess python-path=", "environ": "SetEnv",
	"pass-authorization": "WSGIPassAuthorization", "request-timeout": "WSGIDaemonProcess request-timeout=",
	"queue-timeout": "WSGIDaemonProcess queue-timeout=", "queue-size": "WSGIDaemonProcess listen-backlog=",
	"max-requests": "WSGIDaemonProcess maximum-requests=", "memory-limit": "WSGIDaemonProcess memory-limit=",
	"inactivity-timeout": "WSGIDaemonProcess inactivity-timeout=", "reload": "WSGIScriptReloading",
	"graceful-timeout": "WSGIDaemonProcess graceful-timeout=", "static": "Alias",
	"htpasswd": "AuthType Basic + AuthUserFile", "htdigest": "AuthType Digest + AuthUserFile",
	"realm": "AuthName", "group-file": "AuthGroupFile", "auth-check-url": "<Location> with its AuthType and Require",
	"digest-domain": "AuthDigestDomain", "digest-nonce-lifetime": "AuthDigestNonceLifetime",
	"require": "Require", "auth-location": "<LocationMatch>", "auth-prefix": "<Location>",
	"ldap-url": "AuthLDAPURL", "ldap-bind-dn": "AuthLDAPBindDN", "ldap-bind-password-file": "AuthLDAPBindPassword",
	"ldap-remote-user-attribute": "AuthLDAPRemoteUserAttribute", "ldap-group-attribute": "AuthLDAPGroupAttribute",
	"ldap-group-attribute-is-dn": "AuthLDAPGroupAttributeIsDN", "ldap-subgroup-attribute": "AuthLDAPSubGroupAttribute",
	"ldap-subgroup-class": "AuthLDAPSubGroupClass", "ldap-max-subgroup-depth": "AuthLDAPMaxSubGroupDepth",
	"ldap-referrals": "LDAPReferrals", "ldap-referral-hop-limit": "LDAPReferralHopLimit",
	"ldap-ca-file": "LDAPTrustedGlobalCert", "ldap-timeout": "LDAPConnectionTimeout, LDAPTimeout",
	"ldap-cache-ttl": "LDAPCacheTTL", "ldap-cache-entries": "LDAPCacheEntries",
	"keytab": "GssapiCredStore keytab:", "spn": "GssapiAcceptorName", "kerberos-basic": "GssapiBasicAuth",
	"kerberos-basic-first": "SSPIBasicPreferred", "kerberos-name": "GssapiLocalName, SSPIOmitDomain",
	"kerberos-session": "GssapiUseSessions",
	"access-log":       "CustomLog", "access-log-format": "LogFormat", "log-level": "LogLevel",
	"timeout": "Timeout", "keep-alive-timeout": "KeepAliveTimeout", "request-read-timeout": "RequestReadTimeout",
	"limit-request-line": "LimitRequestLine", "limit-request-field-size": "LimitRequestFieldSize",
	"limit-request-fields": "LimitRequestFields", "user": "User", "group": "Group",
	"trusted-proxy": "RemoteIPTrustedProxy", "remote-ip-header": "RemoteIPHeader",
}

// checkFileFlags refuses, with -f, the flags in set that a directive
// expresses (naming both) or that the file decides otherwise.
func checkFileFlags(set []string) error {
	var errs []error
	_, _, notYet := apacheconf.Directives()
	for _, name := range set {
		if fileFlags[name] {
			continue
		}
		if d, ok := fileFlagDirective[name]; ok {
			if first, _, _ := strings.Cut(d, " "); slices.Contains(notYet, first) {
				continue // the directive is an error until its feature lands: the flag stands in
			}
			errs = append(errs, fmt.Errorf("-%s duplicates the configuration file's %s: with -f, write it in the file", name, d))
			continue
		}
		errs = append(errs, fmt.Errorf("-%s has no effect with -f: the configuration file decides (see gowsgi -h)", name))
	}
	return errors.Join(errs...)
}

// loadFile reads and checks cfg.File.Path and maps it onto cfg: the
// listener, the request body limit and one mount per worker pool. cfg's
// flags (those fileFlags allows) stay as the defaults of every pool and
// location. Errors name the file and line.
func loadFile(cfg *config) error {
	f := cfg.File
	c, err := apacheconf.Load(f.Path, f.Options)
	if err != nil {
		return err
	}
	if err := mapFile(cfg, c); err != nil {
		return err
	}
	f.Conf = c
	return nil
}

// mapFile maps the checked configuration c onto cfg (see [loadFile]).
func mapFile(cfg *config, c *apacheconf.Config) error {
	listens := c.Listen
	if redirect, rest, ok := redirectListen(c); ok {
		if c.TLS == nil {
			return fmt.Errorf("%s: Listen: the virtual hosts on %s redirect to HTTPS, but no server has SSLEngine on", redirect.Pos, redirect.Addr)
		}
		cfg.TLS.RedirectHTTP = listenAddr(redirect.Addr)
		listens = rest
	}
	switch len(listens) {
	case 0:
		return fmt.Errorf("%s: no Listen directive: the file must say where to listen", cfg.File.Path)
	case 1:
		l := listens[0]
		if https := strings.EqualFold(l.Protocol, "https"); https != (c.TLS != nil) && l.Protocol != "" {
			return fmt.Errorf("%s: Listen: protocol %s, but SSLEngine is %s", l.Pos, l.Protocol, map[bool]string{true: "on", false: "off"}[c.TLS != nil])
		}
		cfg.Server.Listen = listenAddr(l.Addr)
	default:
		return fmt.Errorf("%s: Listen: gowsgi listens on one address (and a second one only for virtual hosts that Redirect to HTTPS); the first Listen is at %s", listens[1].Pos, listens[0].Pos)
	}
	// The listener's limit is the largest any request can have (0: none);
	// each chain applies its own below it (filechain.go).
	cfg.Server.LimitRequestBody = -1
	for _, p := range fileProbes(c) {
		n := c.Resolve(p.host, p.path, "POST").LimitRequestBody
		if n == 0 || cfg.Server.LimitRequestBody == 0 {
			cfg.Server.LimitRequestBody = 0
		} else {
			cfg.Server.LimitRequestBody = max(cfg.Server.LimitRequestBody, n)
		}
	}
	if err := mapServerWide(cfg, c); err != nil {
		return err
	}
	if t := c.TLS; t != nil && t.CertFile == "" {
		cfg.TLS.ACME.Domains, cfg.TLS.ACME.Email = t.ACME.Domains, t.ACME.Email
		if t.ACME.DirectoryURL != "" {
			cfg.TLS.ACME.DirectoryURL = t.ACME.DirectoryURL
		}
	} else if t != nil {
		cfg.TLS.CertFile, cfg.TLS.KeyFile = t.CertFile, t.KeyFile
		if t.KeyFile == "" {
			cfg.TLS.KeyFile = t.CertFile // the key in the certificate's file, as mod_ssl allows
		}
	}
	if t := c.TLS; t != nil {
		cfg.TLS.HTTP2 = t.HTTP2
		cfg.TLS.HSTS = t.HSTS
	}

	// One pool per (process group, application group, script) a mount
	// resolves to, with its daemon's settings.
	base := defaultMount()
	if cfg.File.workers == nil && len(cfg.Mounts) > 0 {
		w := cfg.Mounts[0].Workers // -python and the other allowed flags
		cfg.File.workers = &w
	}
	if cfg.File.workers != nil {
		base.Workers = *cfg.File.workers
	}
	daemons := map[string]*apacheconf.Daemon{}
	for _, d := range c.Daemons {
		daemons[d.Name] = d
	}
	var mounts []mountConfig
	var keys []string
	for _, p := range fileProbes(c) {
		e := c.Resolve(p.host, p.path, "GET")
		if e.Mount == nil || e.Static != nil {
			continue
		}
		key := poolKey(e)
		if slices.Contains(keys, key) {
			continue
		}
		m := base
		m.Path = e.Mount.URL
		m.Script = e.Mount.Script
		m.Callable = e.CallableObject
		w := &m.Workers
		w.PythonPath = slices.Clone(w.PythonPath)
		w.PassAuthorization = e.PassAuthorization
		w.Reload = e.ScriptReloading
		if e.ProcessGroup != "" {
			d := daemons[e.ProcessGroup]
			if d == nil {
				return fmt.Errorf("%s: WSGIScriptAlias %s: process group %q has no WSGIDaemonProcess", e.Mount.Pos, e.Mount.URL, e.ProcessGroup)
			}
			daemonWorkers(w, d)
		}
		mounts = append(mounts, m)
		keys = append(keys, key)
	}
	if len(mounts) == 0 {
		return fmt.Errorf("%s: no WSGIScriptAlias: nothing to serve", cfg.File.Path)
	}
	cfg.Mounts = mounts
	cfg.File.Pools = keys
	return nil
}

// daemonWorkers applies a WSGIDaemonProcess group's options to w; an
// option not given keeps mod_wsgi's default (1 process, 15 threads).
func daemonWorkers(w *workersConfig, d *apacheconf.Daemon) {
	w.Processes, w.Threads = 1, 15
	if d.Processes > 0 {
		w.Processes = d.Processes
	}
	if d.Threads > 0 {
		w.Threads = d.Threads
	}
	w.PythonPath = append(w.PythonPath, d.PythonPath...)
	if d.PythonHome != "" {
		w.Python = filepath.Join(d.PythonHome, "bin", "python3")
	}
	if d.RequestTimeout > 0 {
		w.RequestTimeout = d.RequestTimeout
	}
	if d.QueueTimeout > 0 {
		w.QueueTimeout = d.QueueTimeout
	}
	if d.InactivityTimeout > 0 {
		w.InactivityTimeout = d.InactivityTimeout
	}
	if d.GracefulTimeout > 0 {
		w.GracefulTimeout = d.GracefulTimeout
	}
	if d.StartupTimeout > 0 {
		w.StartTimeout = d.StartupTimeout
	}
	if d.MaximumRequests > 0 {
		w.MaxRequests = d.MaximumRequests
	}
	if d.MemoryLimit > 0 {
		w.MemoryLimit = d.MemoryLimit
	}
	if d.ListenBacklog > 0 {
		w.QueueSize = d.ListenBacklog
	}
}

// poolKey names the worker pool a request runs in: its process group,
// its application group as mod_wsgi names the interpreter (for a site
// without ServerName, the site rather than each request's host), and the
// script, since a pool runs one script: two scripts that mod_wsgi would
// load into one %{GLOBAL} interpreter get a pool each here.
func poolKey(e *apacheconf.Effective) string {
	if e.Mount == nil {
		return ""
	}
	site := e.Server.Name
	if site == "" {
		site = e.Server.Pos.String()
	}
	group := e.ApplicationGroup
	switch group {
	case "%{GLOBAL}":
		group = ""
	case "%{SERVER}":
		group = site
	case "%{RESOURCE}":
		group = site + "|" + strings.TrimSuffix(e.Mount.URL, "/")
	}
	return e.ProcessGroup + "\x00" + group + "\x00" + e.Mount.Script
}

// probe is a request [fileProbes] resolves at startup.
type probe struct {
	host, path string
	site       *apacheconf.Server
	// section is the section whose pattern the path was made for; nil
	// for a mount's or an Alias's URL.
	section *apacheconf.Section
}

// fileProbes lists, for each site, a request for each mount, each Alias
// and each section's pattern (a path the pattern matches), so that every
// pool and every distinct set of settings a request can meet is built,
// and checked, before the server listens.
func fileProbes(c *apacheconf.Config) []probe {
	var out []probe
	for _, s := range c.Sites() {
		host, ok := siteHost(c, s)
		if !ok {
			continue
		}
		servers := []*apacheconf.Server{s}
		if !s.IsMain() {
			servers = []*apacheconf.Server{c.Main, s}
		}
		for _, sv := range servers {
			for _, m := range sv.Mounts {
				out = append(out, probe{host: host, path: m.URL, site: s})
			}
			for _, a := range sv.Statics {
				out = append(out, probe{host: host, path: a.URL, site: s})
			}
		}
		for _, sv := range servers {
			for _, sec := range sv.Sections {
				if p, ok := samplePath(sec); ok {
					out = append(out, probe{host: host, path: p, site: s, section: sec})
				}
			}
		}
		out = append(out, probe{host: host, path: "/", site: s})
	}
	return out
}

// siteHost returns a Host header that [apacheconf.Config.Server] answers
// with s; false when no request reaches s (a nameless virtual host after
// another on its port).
func siteHost(c *apacheconf.Config, s *apacheconf.Server) (string, bool) {
	var cands []string
	if s.Name != "" {
		cands = append(cands, s.Name)
	}
	cands = append(cands, s.Aliases...)
	for _, a := range s.Addrs {
		if _, port, err := net.SplitHostPort(a); err == nil && port != "*" {
			for _, n := range append(slices.Clone(cands), "unnamed.invalid") {
				cands = append(cands, net.JoinHostPort(n, port))
			}
		}
	}
	for _, l := range c.Listen {
		// The main server answers on the ports no virtual host has.
		if _, port, err := net.SplitHostPort(l.Addr); err == nil {
			cands = append(cands, net.JoinHostPort("unnamed.invalid", port))
		} else {
			cands = append(cands, net.JoinHostPort("unnamed.invalid", l.Addr))
		}
	}
	cands = append(cands, "unnamed.invalid", "")
	for _, h := range cands {
		if !strings.ContainsAny(h, "*?") && c.Server(h) == s {
			return h, true
		}
	}
	return "", false
}

// samplePath returns a canonical path sec's pattern matches, if it has
// one (a <Location> or <LocationMatch>).
func samplePath(sec *apacheconf.Section) (string, bool) {
	if sec.Kind != "Location" && sec.Kind != "LocationMatch" {
		return "", false
	}
	if !sec.Regexp {
		p := strings.NewReplacer("*", "x", "?", "x").Replace(sec.Pattern)
		if p == "" || p[0] != '/' {
			return "", false
		}
		return p, true
	}
	return sampleMatch(sec.Pattern)
}

// fileWarnings writes c's warnings as gowsgi -t prints them.
func fileWarnings(c *apacheconf.Config) []string {
	var out []string
	for _, w := range c.Warnings {
		out = append(out, "warning: "+w.String())
	}
	return out
}

// probeMethods are the methods each probe is resolved with: GET, POST,
// and every method a <Limit> or <LimitExcept> names.
func probeMethods(c *apacheconf.Config) []string {
	ms := []string{"GET", "POST"}
	var walk func(ds []*apacheconf.Directive)
	walk = func(ds []*apacheconf.Directive) {
		for _, d := range ds {
			if d.Section && (strings.EqualFold(d.Name, "Limit") || strings.EqualFold(d.Name, "LimitExcept")) {
				for _, m := range d.Args {
					if m = strings.ToUpper(m); !slices.Contains(ms, m) {
						ms = append(ms, m)
					}
				}
			}
			walk(d.Block)
		}
	}
	for _, s := range c.Sites() {
		for _, sec := range s.Sections {
			walk(sec.Directives)
		}
	}
	return ms
}

// defaultKeytab is the keytab mod_auth_gssapi reads without
// GssapiCredStore: $KRB5_KTNAME, else /etc/krb5.keytab.
func defaultKeytab() string {
	if k := os.Getenv("KRB5_KTNAME"); k != "" {
		return strings.TrimPrefix(strings.TrimPrefix(k, "FILE:"), "WRFILE:")
	}
	return "/etc/krb5.keytab"
}

// durationOr returns d, or def when d is 0.
func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// fileArgs completes cfg for -f: the flags given must be those allowed
// with a file, and no script is named.
func fileArgs(cfg *config, file *fileConfig, fs *flag.FlagSet) error {
	if file.Path == "" {
		return errors.New("-t and -dump check a configuration file: give it with -f")
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("with -f, the scripts are the file's WSGIScriptAlias lines: give no script argument (got %q)", fs.Arg(0))
	}
	var set []string
	fs.Visit(func(f *flag.Flag) { set = append(set, f.Name) })
	if err := checkFileFlags(set); err != nil {
		return err
	}
	cfg.File = file
	return nil
}

// runFile loads cfg's file and, for -t or -dump, does what they ask:
// done reports that the command should exit with code.
func runFile(cfg *config, stdout, stderr io.Writer) (code int, done bool) {
	if err := loadFile(cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return 1, true
	}
	f := cfg.File
	switch {
	case f.Dump:
		if err := f.Conf.Dump(stdout); err != nil {
			fmt.Fprintf(stderr, "gowsgi: %v\n", err)
			return 1, true
		}
		return 0, true
	case f.Test:
		for _, w := range fileWarnings(f.Conf) {
			fmt.Fprintln(stderr, w)
		}
		if err := checkFileChain(*cfg); err != nil {
			fmt.Fprintln(stderr, err)
			return 1, true
		}
		fmt.Fprintln(stderr, "Syntax OK")
		return 0, true
	}
	for _, w := range fileWarnings(f.Conf) {
		fmt.Fprintln(stderr, w)
	}
	return 0, false
}

// checkFileChain builds cfg's handler in front of placeholders for the
// pools, as serve would, to run the checks a start runs (files readable,
// Require rules that need a user having an AuthType...) without starting
// workers.
func checkFileChain(cfg config) error {
	apps := make([]http.Handler, len(cfg.Mounts))
	for i := range apps {
		apps[i] = http.NotFoundHandler()
	}
	_, release, err := buildHandler(cfg, apps, slog.New(slog.DiscardHandler))
	release()
	return err
}

// liveFile is the handler of a server started with -f: SIGHUP replaces
// what it serves ([liveFile.reload]) while requests keep flowing.
type liveFile struct {
	cfg       config
	h         atomic.Pointer[http.Handler]
	queueWait func(*http.Request, time.Duration)
	logger    *slog.Logger
	// serving, when set, is told the mounts and pools a reload put in
	// service (the status page, the metrics and /healthz follow them).
	serving func(mounts []mountConfig, fleets []*uwsgi.Handler, pools []*wsgi.Handler)
	// budget is the process's one budget of database connections (nil:
	// none), shared by the pools of every reload.
	budget *wsgi.DBBudget
}

func newLiveFile(cfg config, h http.Handler, queueWait func(*http.Request, time.Duration), logger *slog.Logger) *liveFile {
	l := &liveFile{cfg: cfg, queueWait: queueWait, logger: logger}
	l.h.Store(&h)
	return l
}

func (l *liveFile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*l.h.Load()).ServeHTTP(w, r)
}

// reload reads the file again, as apachectl graceful: a file that does not
// load, or whose pools or chain do not start, is logged with its file and
// line and the running configuration keeps serving. A good one gets new
// pools and a new chain, swapped in at once; the old pools finish their
// requests within their graceful timeout, then the old chain is released.
// pools and release are serve's, updated so that the shutdown stops what
// runs now.
func (l *liveFile) reload(pools *[]*wsgi.Handler, release *func()) {
	cfg := l.cfg
	f := *cfg.File
	f.Conf, f.Pools = nil, nil
	cfg.File = &f
	if err := loadFile(&cfg); err != nil {
		l.logger.Error("gowsgi: SIGHUP: the configuration file has errors; still serving the previous one", "err", err)
		return
	}
	if cfg.Server.Listen != l.cfg.Server.Listen {
		l.logger.Warn("gowsgi: SIGHUP: Listen changed; the listener stays until a restart", "listen", l.cfg.Server.Listen, "file", cfg.Server.Listen)
		cfg.Server.Listen = l.cfg.Server.Listen
	}
	for _, d := range []struct {
		what     string
		old, new any
	}{
		{"the certificate's files and Protocols", l.cfg.TLS, cfg.TLS},
		{"the timeouts and limits", l.cfg.Limits, cfg.Limits},
		{"CustomLog and LogLevel", l.cfg.Log, cfg.Log},
		{"User and Group", l.cfg.Privileges, cfg.Privileges},
	} {
		if fmt.Sprintf("%+v", d.old) != fmt.Sprintf("%+v", d.new) {
			l.logger.Warn("gowsgi: SIGHUP: changed in the file, applied at the next restart", "what", d.what)
		}
	}
	if err := checkFileChain(cfg); err != nil {
		l.logger.Error("gowsgi: SIGHUP: the configuration file has errors; still serving the previous one", "err", err)
		return
	}
	newPools, err := startPools(cfg, l.logger, l.queueWait, l.budget)
	if err != nil {
		l.logger.Error("gowsgi: SIGHUP: the new workers did not start; still serving the previous configuration", "err", err)
		return
	}
	apps := make([]http.Handler, len(newPools))
	for i, p := range newPools {
		apps[i] = p
	}
	h, newRelease, err := buildHandler(cfg, apps, l.logger)
	if err != nil {
		l.logger.Error("gowsgi: SIGHUP: still serving the previous configuration", "err", err)
		newRelease()
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		stopPools(ctx, newPools, l.logger)
		cancel()
		return
	}
	l.h.Store(&h)
	if l.serving != nil {
		l.serving(cfg.Mounts, make([]*uwsgi.Handler, len(cfg.Mounts)), newPools)
	}
	oldPools, oldRelease := *pools, *release
	*pools, *release = newPools, newRelease
	grace := time.Duration(0)
	for _, m := range l.cfg.Mounts {
		grace = max(grace, m.Workers.GracefulTimeout)
	}
	l.cfg = cfg
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		stopPools(ctx, oldPools, l.logger)
		oldRelease()
	}()
	l.logger.Info("gowsgi: SIGHUP: configuration file reloaded", "file", cfg.File.Path, "pools", len(newPools))
}

// mapServerWide maps the file's timeouts, limits, logs, trusted proxies
// and privilege drop onto cfg (the flags' defaults stay for what the file
// does not set).
func mapServerWide(cfg *config, c *apacheconf.Config) error {
	w, l := c.ServerWide, &cfg.Limits
	if w.Timeout != nil {
		l.Timeout = *w.Timeout
	}
	if w.KeepAliveTimeout != nil {
		l.KeepAliveTimeout = *w.KeepAliveTimeout
	}
	if len(w.RequestReadTimeout) > 0 {
		t, err := framing.ParseRequestReadTimeout(l.RequestReadTimeout, strings.Join(w.RequestReadTimeout, " "))
		if err != nil {
			return fmt.Errorf("%s: RequestReadTimeout: %w", cfg.File.Path, err)
		}
		l.RequestReadTimeout = t
	}
	if w.LimitRequestLine != nil {
		l.LimitRequestLine = *w.LimitRequestLine
	}
	if w.LimitRequestFieldSize != nil {
		l.LimitRequestFieldSize = *w.LimitRequestFieldSize
	}
	if w.LimitRequestFields != nil {
		l.LimitRequestFields = *w.LimitRequestFields
	}
	if w.AccessLog != "" {
		cfg.Log.AccessLog, cfg.Log.AccessLogFormat = w.AccessLog, w.AccessLogFormat
	}
	if w.LogLevel != "" {
		cfg.Log.Level = w.LogLevel
	}
	if w.RemoteIPHeader != "" {
		cfg.RemoteIP.Header = w.RemoteIPHeader
	}
	if len(w.RemoteIPTrustedProxy) > 0 {
		cfg.RemoteIP.TrustedProxies = w.RemoteIPTrustedProxy
	}
	if c.User != "" {
		cfg.Privileges.User = c.User
	}
	if c.Group != "" {
		cfg.Privileges.Group = c.Group
	}
	return nil
}

// listenAddr is a Listen address as net.Listen takes it ("80": ":80").
func listenAddr(addr string) string {
	if _, err := strconv.Atoi(addr); err == nil {
		return ":" + addr
	}
	return addr
}

// redirectListen finds, among two Listen lines, the one whose port only
// virtual hosts that Redirect to HTTPS answer: gowsgi serves it as its
// redirect listener (-redirect-http), and the other as its own.
func redirectListen(c *apacheconf.Config) (redirect apacheconf.Listen, rest []apacheconf.Listen, ok bool) {
	if len(c.Listen) != 2 {
		return redirect, nil, false
	}
	for i, l := range c.Listen {
		_, port, err := net.SplitHostPort(l.Addr)
		if err != nil {
			port = l.Addr
		}
		n, all := 0, true
		for _, v := range c.VirtualHosts {
			for _, a := range v.Addrs {
				if _, p, err := net.SplitHostPort(a); err == nil && p == port {
					n++
					all = all && v.Redirect != nil
				}
			}
		}
		if n > 0 && all {
			return l, []apacheconf.Listen{c.Listen[1-i]}, true
		}
	}
	return redirect, nil, false
}
