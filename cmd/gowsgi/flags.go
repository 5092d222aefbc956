package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// errUsage is parseArgs's error for a command line it could not read; the
// reason and the usage have been printed.
var errUsage = errors.New("usage")

// parseArgs fills a config from the command line, starting from
// [defaultConfig]: the flags, then the WSGI script, the one argument. It
// checks only what the flag package checks (types, a flag given twice, the
// argument count); [buildHandler] and [startPools] check the rest. A
// command line it cannot read is reported on stderr with the usage, and
// parseArgs returns errUsage.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("gowsgi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gowsgi [flags] path/to/app.wsgi\n       gowsgi [flags] -upstream uwsgi://HOST:PORT [-upstream ...]\n\nFlags:\n")
		fs.PrintDefaults()
	}

	// Server.
	s := &cfg.Server
	fs.StringVar(&s.Listen, "listen", s.Listen, "`address` to serve HTTP on")
	ri := &cfg.RemoteIP
	fs.Var((*listFlag)(&ri.TrustedProxies), "trusted-proxy", "`CIDR` (or address) of a reverse proxy whose forwarding header (see -remote-ip-header) and PROXY protocol header are believed: the client's address (REMOTE_ADDR, Require ip, logs: the right-most address not in a trusted range), wsgi.url_scheme/HTTPS and HTTP_HOST/SERVER_NAME; from other peers these headers are passed to the app unchanged and believed by nothing (repeatable; mod_remoteip's RemoteIPTrustedProxy)")
	fs.StringVar(&ri.Header, "remote-ip-header", ri.Header, "`header` carrying the client chain from a -trusted-proxy: X-Forwarded-For (with X-Forwarded-Proto and X-Forwarded-Host) or Forwarded (RFC 7239, with its proto= and host=); only this one is believed (mod_remoteip's RemoteIPHeader)")
	fs.Var((*proxyProtocolFlag)(&ri.ProxyProtocol), "proxy-protocol", "read HAProxy's PROXY protocol (v1 and v2: send-proxy, send-proxy-v2) on the listener from -trusted-proxy peers: the address it carries is the client's; a trusted peer without the header (within 5s of connecting), or an untrusted one with it, is closed; =optional also accepts trusted peers without it (mod_remoteip's RemoteIPProxyProtocol)")
	fs.Var((*byteSize)(&s.LimitRequestBody), "limit-request-body", "largest request body accepted, a `size` such as 1G or 512M; larger ones get 413 (LimitRequestBody; 0: no limit)")
	fs.DurationVar(&s.ShutdownTimeout, "shutdown-timeout", s.ShutdownTimeout, "on SIGTERM or SIGINT, how long requests in flight may run before the workers are stopped (the command exits at most 5s later)")
	fs.StringVar(&s.StatusAddr, "status-addr", s.StatusAddr, "`address` of the operator's server (mod_status; off when empty: keep it on loopback): /server-status (HTML, ?refresh=N, ?auto), /healthz, /readyz, /metrics (Prometheus), statistics as JSON at / and expvar at /debug/vars, Go profiles at /debug/pprof/")
	fs.IntVar(&s.GOMAXPROCS, "gomaxprocs", s.GOMAXPROCS, "CPUs the Go front may use at once (GOMAXPROCS); 0: what the machine allows minus one per -processes, at least 1, unless the GOMAXPROCS environment variable is set")
	fs.StringVar(&cfg.Profiling.CPUProfile, "cpuprofile", "", "write a CPU profile of the Go process (pprof) to `file` until the command exits; see bench/pgo.sh")
	limitsFlags(fs, &cfg.Limits)
	fs.Var((*listFlag)(&cfg.VHost.Names), "vhost", "host `name` to answer for (ServerName/ServerAlias; *.example.com wildcards; repeatable); other hosts get 421. Default: any")

	// HTTPS, its certificate (from files or ACME) and the redirect from
	// HTTP.
	t := &cfg.TLS
	fs.StringVar(&t.CertFile, "tls-cert", t.CertFile, "serve HTTPS on -listen with the certificate (and its chain) of this PEM `file` (SSLCertificateFile); read again on SIGHUP, keeping the one in use if the new one does not load. TLS 1.2 and later")
	fs.StringVar(&t.KeyFile, "tls-key", t.KeyFile, "PEM `file` of -tls-cert's private key (SSLCertificateKeyFile)")
	fs.BoolVar(&t.HTTP2, "http2", t.HTTP2, "offer HTTP/2 over HTTPS (Protocols h2 http/1.1); -http2=false: HTTP/1.1 only")
	fs.StringVar(&t.RedirectHTTP, "redirect-http", t.RedirectHTTP, "`address` of a plain-HTTP listener answering 308 to the same URL over HTTPS (mod_wsgi-express --https-only; Redirect permanent / https://...), and ACME's HTTP-01 challenges; e.g. :80")
	fs.DurationVar(&t.HSTS, "hsts", t.HSTS, "send Strict-Transport-Security: max-age=`DURATION` with HTTPS responses (Header always set Strict-Transport-Security; mod_wsgi-express --hsts-policy); 0: none")
	fs.Var((*listFlag)(&t.ACME.Domains), "acme-domain", "host `name` to obtain and renew a certificate for from an ACME authority such as Let's Encrypt, on the first handshake naming it (mod_md MDomain; repeatable); accepts the authority's terms. Challenges: TLS-ALPN-01 on -listen (port 443 for the authority), HTTP-01 on -redirect-http (port 80)")
	fs.StringVar(&t.ACME.Email, "acme-email", t.ACME.Email, "contact `address` given to the ACME authority, for expiry warnings (MDContactEmail)")
	fs.StringVar(&t.ACME.DirectoryURL, "acme-dir", t.ACME.DirectoryURL, "`URL` of the ACME authority's directory (MDCertificateAuthority)")
	fs.StringVar(&t.ACME.CacheDir, "acme-cache", t.ACME.CacheDir, "`DIR` keeping the ACME account key and certificates across restarts (MDStoreDir); default: gowsgi/acme under $XDG_CACHE_HOME or ~/.cache")
	fs.StringVar(&t.ACME.CARoot, "acme-ca-root", t.ACME.CARoot, "PEM `file` of root certificates trusted, besides the system's, for the ACME directory's HTTPS (MDCACertificateFile), e.g. a test authority's")
	// Logs and health.
	lg := &cfg.Log
	fs.StringVar(&lg.AccessLog, "access-log", lg.AccessLog, "write an access log, one line per request, to `FILE` ('-': standard output); reopened on SIGUSR1 after a rotation (CustomLog). Lines the disk cannot take fast enough are dropped and counted, never waited for")
	fs.StringVar(&lg.AccessLogFormat, "access-log-format", lg.AccessLogFormat, "`format` of -access-log: combined (Apache's combined LogFormat) or json (time, remote, user, method, uri, proto, status, bytes, duration, request_id, worker_pid, mount)")
	fs.StringVar(&lg.Level, "log-level", lg.Level, "`level` of the server's own log on standard error: debug, info, warn or error (LogLevel)")
	fs.StringVar(&lg.Format, "log-format", lg.Format, "`format` of the server's own log: text (key=value) or json (ErrorLogFormat)")
	fs.DurationVar(&cfg.Health.ShutdownDelay, "shutdown-delay", cfg.Health.ShutdownDelay, "on SIGTERM or SIGINT, keep serving for this `duration` with -status-addr's /readyz answering 503, so that load balancers stop sending requests first; then shut down (Caddy's shutdown_delay; Kubernetes' preStop sleep)")

	// The Python workers' database connections, all mounts together.
	fs.IntVar(&cfg.DB.MaxConnections, "db-max-connections", cfg.DB.MaxConnections, "cap the database connections (psycopg2, psycopg, MySQLdb, pymysql) that all the workers hold together; a connect waits for a slot while idle connections elsewhere are closed (0: no cap). Apache has no equivalent: see the README's PostgreSQL recipe")
	fs.DurationVar(&cfg.DB.ConnectTimeout, "db-connect-timeout", cfg.DB.ConnectTimeout, "how long a connect waits for a slot of -db-max-connections before the driver's OperationalError")

	// The mount, its script and its workers.
	m := &cfg.Mounts[0]
	fs.StringVar(&m.Path, "mount", m.Path, "URL `prefix` the script is mounted at (WSGIScriptAlias)")
	fs.StringVar(&m.Callable, "callable", m.Callable, "`name` of the WSGI application object in the script (WSGICallableObject)")
	e := &m.Environments
	fs.StringVar(&e.ParentDir, "env-parent-dir", e.ParentDir, "serve each sub-directory of `DIR` as its own environment under -mount (TRAC_ENV_PARENT_DIR)")
	fs.StringVar(&e.Key, "env-key", e.Key, "WSGI environ `key` naming the environment's directory, with -env-parent-dir")
	fs.BoolVar(&e.PassIndex, "env-pass-index", e.PassIndex, "with -env-parent-dir, pass the mount point itself to the app (with trac.env_parent_dir) instead of listing the environments")
	fs.BoolVar(&e.AllowSymlinksOut, "env-allow-symlinks-out", e.AllowSymlinksOut, "with -env-parent-dir, follow environment symlinks that lead outside DIR")
	w := &m.Workers
	fs.IntVar(&w.Processes, "processes", w.Processes, "number of Python worker processes (WSGIDaemonProcess processes=)")
	fs.IntVar(&w.Threads, "threads", w.Threads, "request threads per worker process (WSGIDaemonProcess threads=)")
	fs.StringVar(&w.Python, "python", w.Python, "Python `interpreter` to run the workers with")
	fs.Var((*listFlag)(&w.PythonPath), "python-path", "`directory` to prepend to sys.path (repeatable; WSGIDaemonProcess python-path=)")
	fs.BoolVar(&w.PythonUserSite, "python-user-site", w.PythonUserSite, "put the user site directory (~/.local/lib/pythonX.Y/site-packages) on the workers' sys.path; off: python -s (mod_wsgi has no directive: WSGIPythonHome/python-home= pick the interpreter)")
	fs.BoolVar(&w.LazyStart, "lazy-start", w.LazyStart, "start serving even if the script fails to load, answering 503 while the workers retry (Apache with mod_wsgi does); off: exit 1 with the traceback")
	fs.Var((*listFlag)(&w.Env), "env", "`KEY=VALUE` for the workers' os.environ (repeatable)")
	fs.Var((*listFlag)(&w.Environ), "environ", "`KEY=VALUE` merged into every request's WSGI environ, e.g. trac.env_path=/srv/trac/site (repeatable)")
	fs.BoolVar(&w.PassAuthorization, "pass-authorization", w.PassAuthorization, "pass the Authorization header to the app (WSGIPassAuthorization On)")
	fs.Var((*listFlag)(&w.XSendFilePath), "xsendfile-path", "`directory` whose files the app may send with an X-Sendfile response header, as Trac's [trac] use_xsendfile does (repeatable; mod_xsendfile's XSendFilePath). Without it X-Sendfile is dropped")
	fs.DurationVar(&w.StartTimeout, "start-timeout", w.StartTimeout, "how long a worker may take to load the script")
	fs.DurationVar(&w.RequestTimeout, "request-timeout", w.RequestTimeout, "answer 504 and replace the worker when a request runs longer (0: no limit; request-timeout=)")
	fs.DurationVar(&w.QueueTimeout, "queue-timeout", w.QueueTimeout, "answer 503 when a request waited this long for a free worker (queue-timeout=)")
	fs.IntVar(&w.QueueSize, "queue-size", w.QueueSize, "requests that may wait for a free worker; more get 503 at once (listen-backlog=)")
	fs.IntVar(&w.MaxRequests, "max-requests", w.MaxRequests, "recycle a worker after about this many requests, with jitter (0: never; maximum-requests=)")
	fs.Var((*byteSize)(&w.MemoryLimit), "memory-limit", "recycle a worker whose resident size exceeds this `size` (e.g. 512M; 0: no limit; memory-limit=)")
	fs.DurationVar(&w.InactivityTimeout, "inactivity-timeout", w.InactivityTimeout, "recycle a worker idle this long (0: never; inactivity-timeout=)")
	fs.DurationVar(&w.ReloadInterval, "reload-interval", w.ReloadInterval, "how often the script's modification time is checked")
	fs.BoolVar(&w.Reload, "reload", w.Reload, "replace the workers when the script file changes (WSGIScriptReloading); SIGHUP always reloads")
	fs.DurationVar(&w.GracefulTimeout, "graceful-timeout", w.GracefulTimeout, "how long a worker being replaced (reload, recycling) may finish its requests before it is killed; shutdown uses -shutdown-timeout")

	// Or, instead of the script and its workers, a uWSGI fleet.
	fs.Var((*listFlag)(&m.Upstreams), "upstream", "uwsgi://`HOST:PORT` of a uWSGI instance (uwsgi --socket HOST:PORT) serving the mount instead of a local script, each request to the least busy (repeatable; nginx's uwsgi_pass, Apache's mod_proxy_uwsgi); -environ, -pass-authorization, -request-timeout, -queue-timeout and -queue-size apply")
	fs.IntVar(&m.UpstreamMaxConns, "upstream-max-conns", m.UpstreamMaxConns, "requests sent to one -upstream at a time, more wait in the queue: the instance's processes × threads (0: 64)")

	// Static files.
	var statics listFlag
	fs.Var(&statics, "static", "`URLPREFIX=DIR`: serve the files of DIR at URLPREFIX instead of the app (Alias); repeatable; no listings, no dot files, no symlinks leaving DIR")

	// Authentication schemes.
	a := &cfg.Auth
	fs.StringVar(&a.Basic.Htpasswd, "htpasswd", "", "Basic authentication against this htpasswd `file` (AuthType Basic + AuthUserFile); Basic sends the password readable: serve HTTPS (-tls-cert, -acme-domain) or keep -listen on loopback")
	fs.StringVar(&a.Digest.Htdigest, "htdigest", "", "Digest authentication against this htdigest `file` (AuthType Digest + AuthUserFile); needs -realm. Its MD5 can be attacked offline from what crosses the network: serve HTTPS (-tls-cert, -acme-domain) or keep -listen on loopback")
	fs.StringVar(&a.Realm, "realm", "", "authentication realm `name` (AuthName); must match the htdigest file's realm")
	fs.StringVar(&a.GroupFile, "group-file", "", "Apache group `file` for -require 'group ...' (AuthGroupFile)")
	fs.StringVar(&a.CheckURL, "auth-check-url", "", "`path` of a credential-check endpoint answering 200 for good credentials and 401 otherwise (Trac AccountManager's HttpAuthStore authentication_url)")
	fs.StringVar(&a.Digest.SecretFile, "auth-secret-file", "", "`file` holding the secret that signs Digest nonces, shared by replicas (default: random per process)")
	fs.StringVar(&a.Normalize, "normalize-user", "", "comma-separated `steps` rewriting the authenticated name the app sees: strip-domain (DOMAIN\\user), strip-realm (user@REALM), lower")
	fs.BoolVar(&a.NormalizeAfterRequire, "normalize-after-require", false, "let -require rules see the name before -normalize-user (as the SSPI fix of Trac's mod_wsgi guide); default: rules see the normalized name")
	fs.DurationVar(&a.Basic.CacheTTL, "auth-cache-ttl", 0, "how long a successful htpasswd check is cached; 0 means 5m, negative disables the cache")
	fs.DurationVar(&a.Digest.NonceLifetime, "digest-nonce-lifetime", 0, "how long a Digest nonce is valid (AuthDigestNonceLifetime); 0 means 5m")
	fs.Var((*listFlag)(&a.Digest.Domain), "digest-domain", "`URI` of the Digest protection space (AuthDigestDomain, repeatable)")

	l := &a.LDAP
	fs.StringVar(&l.URL, "ldap-url", "", "AuthLDAPURL: `URL` of the directory, e.g. \"ldap://ad:3268/DC=example,DC=com?sAMAccountName?sub?(objectClass=user)\", optionally followed by NONE, SSL, TLS or STARTTLS; turns on LDAP Basic authentication and the ldap-* Require kinds")
	fs.StringVar(&l.BindDN, "ldap-bind-dn", "", "`DN` of the service account that searches the directory (AuthLDAPBindDN); default: anonymous")
	fs.StringVar(&l.BindPasswordFile, "ldap-bind-password-file", "", "`file` holding the service account's password (AuthLDAPBindPassword); a trailing newline is ignored")
	fs.StringVar(&l.RemoteUserAttribute, "ldap-remote-user-attribute", "", "`attribute` of the user's entry to use as REMOTE_USER (AuthLDAPRemoteUserAttribute); default: the name as typed")
	fs.Var((*listFlag)(&l.GroupAttributes), "ldap-group-attribute", "`attribute` of a group listing its members (AuthLDAPGroupAttribute, repeatable); default: member and uniqueMember")
	fs.BoolVar(&l.GroupAttributeIsDN, "ldap-group-attribute-is-dn", l.GroupAttributeIsDN, "group members are DNs; false: login names, as memberUid (AuthLDAPGroupAttributeIsDN)")
	fs.Var((*listFlag)(&l.SubGroupAttributes), "ldap-subgroup-attribute", "`attribute` of a group listing nested groups (AuthLDAPSubGroupAttribute, repeatable); default: member and uniqueMember")
	fs.Var((*listFlag)(&l.SubGroupClasses), "ldap-subgroup-class", "object `class` of nested groups (AuthLDAPSubGroupClass, repeatable); default: groupOfNames, groupOfUniqueNames, group")
	fs.IntVar(&l.MaxSubGroupDepth, "ldap-max-subgroup-depth", l.MaxSubGroupDepth, "levels of nested groups Require ldap-group follows below the named group, each found by reading a group's members and probing their objectClass against -ldap-subgroup-class; 0: direct members only (AuthLDAPMaxSubGroupDepth)")
	fs.StringVar(&l.GroupBaseDN, "ldap-group-base-dn", "", "only follow nested groups whose entries lie under this `DN` (a limit Apache lacks, for directories where others can create groups); default: anywhere, as Apache: the members of each group are probed directly, no base DN involved")
	fs.BoolVar(&l.MemberOf, "ldap-member-of", false, "Require ldap-group reads the user's memberOf attribute (Active Directory) instead of the groups' member lists")
	fs.BoolVar(&l.MatchingRuleInChain, "ldap-matching-rule-in-chain", false, "Require ldap-group asks Active Directory to resolve nested groups (LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941); AD only")
	fs.BoolVar(&l.Referrals, "ldap-referrals", false, "follow referrals returned by searches (AuthLDAPReferrals on)")
	fs.IntVar(&l.ReferralHopLimit, "ldap-referral-hop-limit", l.ReferralHopLimit, "longest chain of referrals followed (AuthLDAPReferralHopLimit)")
	fs.StringVar(&l.CAFile, "ldap-ca-file", "", "PEM `file` of the certificate authorities trusted for ldaps:// and STARTTLS (LDAPTrustedGlobalCert CA_BASE64); default: the system's")
	fs.DurationVar(&l.Timeout, "ldap-timeout", l.Timeout, "bound on each login or Require check against the directory; a directory that does not answer makes it fail with 503 (LDAPConnectionTimeout, LDAPTimeout)")
	fs.IntVar(&l.PoolSize, "ldap-pool-size", l.PoolSize, "connections kept to the directory for searches, and as many for binds")
	fs.DurationVar(&l.CacheTTL, "ldap-cache-ttl", l.CacheTTL, "how long successful logins and Require answers are cached (LDAPCacheTTL, LDAPOpCacheTTL); 0 disables the cache")
	fs.IntVar(&l.CacheEntries, "ldap-cache-entries", l.CacheEntries, "entries per cache (LDAPCacheEntries)")

	k := &a.Kerberos
	fs.StringVar(&k.Keytab, "keytab", "", "Kerberos service keytab `file`: turns on Negotiate (SPNEGO) single sign-on (GssapiCredStore keytab:, Krb5Keytab)")
	fs.StringVar(&k.SPN, "spn", "", "service `principal` to accept tickets for, e.g. HTTP/trac.example.com@EXAMPLE.COM (GssapiAcceptorName); default: any principal in the keytab")
	fs.BoolVar(&k.Basic, "kerberos-basic", false, "also offer Basic and check the password against the KDC (SSPIOfferBasic, GssapiBasicAuth, KrbMethodK5Passwd)")
	fs.BoolVar(&k.BasicFirst, "kerberos-basic-first", false, "offer Basic before Negotiate (SSPIBasicPreferred)")
	fs.StringVar(&k.BasicRealm, "kerberos-basic-realm", "", "`realm` of the Basic challenge (AuthName); default: Kerberos")
	fs.DurationVar(&k.BasicCacheTTL, "kerberos-basic-cache-ttl", 0, "how long a Basic password the KDC accepted is remembered (a keyed hash, as -auth-cache-ttl for htpasswd): a cached login makes no KDC request; 0 means 5m, negative disables the cache")
	fs.StringVar(&k.Krb5Conf, "krb5-conf", "", "krb5.conf `file` the Basic fallback finds the KDC with; default: $KRB5_CONFIG or /etc/krb5.conf")
	fs.StringVar(&k.DefaultRealm, "kerberos-default-realm", "", "`realm` of Basic user names typed without one; default: the -spn realm or krb5.conf's default_realm")
	fs.DurationVar(&k.ClockSkew, "kerberos-clock-skew", 0, "tolerated clock `skew` between clients, the KDC and us; 0 means 5m")
	fs.BoolVar(&k.PAC, "kerberos-pac", false, "verify and decode the Active Directory PAC of tickets (leave off for MIT realms)")
	fs.StringVar(&k.Name, "kerberos-name", k.Name, "REMOTE_USER `form`: principal (alice@REALM), local (alice for the -spn/default realm, others keep @REALM; SSPIOmitDomain), down-level (REALM\\alice) or down-level=DOMAIN (DOMAIN\\alice, as mod_auth_sspi)")
	fs.DurationVar(&k.Session, "kerberos-session", 0, "remember a login in a signed HttpOnly cookie for this `duration` (GssapiUseSessions); 0 disables")
	fs.StringVar(&k.SessionKeyFile, "kerberos-session-key-file", "", "`file` holding the secret (at least 32 bytes) that signs session cookies, shared by replicas; default: random per process")

	// The one location the flags describe.
	var loc locationConfig
	fs.Var((*listFlag)(&loc.Require), "require", "authorization `rule`: 'valid-user', 'user a b', 'group g', 'ip CIDR...', 'method GET HEAD ...', 'all granted', 'not ...', or a provider's kind such as 'ldap-group DN' (repeatable; any one suffices, as several Require lines). Default with authentication: valid-user")
	fs.StringVar(&loc.Match, "auth-location", "", "`regexp` of the paths that require authentication, matched like <LocationMatch> against the request path alone, never the query string: a '?' meant to start a query is refused (default: every path)")
	fs.StringVar(&loc.Prefix, "auth-prefix", "", "`path` under which requests require authentication, on whole segments like <Location PATH> (a string comparison; exclusive with -auth-location)")

	privilegesFlags(fs, &cfg.Privileges)
	showVersion := fs.Bool("version", false, "print the module version and exit")

	if err := parseFlags(fs, args); err != nil {
		return cfg, fmt.Errorf("%w: %w", errUsage, err) // flag.ErrHelp for -h
	}
	if *showVersion {
		return cfg, errVersion
	}
	if len(m.Upstreams) > 0 {
		// A fleet: no script, and none of the local workers' flags.
		if fs.NArg() != 0 {
			fmt.Fprintln(stderr, "gowsgi: -upstream serves a uWSGI fleet instead of a script: give no script argument")
			return cfg, errUsage
		}
		var bad []string
		fs.Visit(func(f *flag.Flag) {
			if localOnly[f.Name] {
				bad = append(bad, "-"+f.Name)
			}
		})
		if len(bad) > 0 {
			fmt.Fprintf(stderr, "gowsgi: %s: for local workers, not an -upstream fleet (configure the uWSGI instances instead)\n", strings.Join(bad, ", "))
			return cfg, errUsage
		}
	} else if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "gowsgi: want exactly one argument, the WSGI script (or -upstream)")
		fs.Usage()
		return cfg, errUsage
	} else {
		m.Script = fs.Arg(0)
	}
	for _, v := range statics {
		p, dir, _ := strings.Cut(v, "=")
		cfg.Static = append(cfg.Static, staticConfig{URLPrefix: p, Dir: dir, Flag: v})
	}
	// Any authentication or authorization flag makes one location: the
	// paths -auth-location or -auth-prefix select, or every path. The
	// schemes alone protect every path, with valid-user.
	if a.Basic.Htpasswd != "" || a.Digest.Htdigest != "" || l.URL != "" || k.Keytab != "" ||
		len(loc.Require) > 0 || loc.Match != "" || loc.Prefix != "" || a.CheckURL != "" || a.GroupFile != "" {
		cfg.Locations = []locationConfig{loc}
	}
	return cfg, nil
}

// localOnly are the flags of a script's local workers, which an -upstream
// fleet refuses.
var localOnly = map[string]bool{
	"callable": true, "processes": true, "threads": true, "python": true, "python-path": true,
	"python-user-site": true, "lazy-start": true, "env": true, "xsendfile-path": true,
	"start-timeout": true, "max-requests": true, "memory-limit": true, "inactivity-timeout": true,
	"reload-interval": true, "reload": true, "graceful-timeout": true,
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// repeatable marks listFlag as a flag that may be given several times;
// every other flag may be given once (see [onceFlags]).
func (l *listFlag) repeatable() {}

// byteSize is a flag taking bytes with an optional K, M or G suffix
// (powers of 1024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(v string) error {
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "K"), strings.HasSuffix(v, "k"):
		mult = 1 << 10
	case strings.HasSuffix(v, "M"), strings.HasSuffix(v, "m"):
		mult = 1 << 20
	case strings.HasSuffix(v, "G"), strings.HasSuffix(v, "g"):
		mult = 1 << 30
	}
	if mult > 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a byte count such as 512M")
	}
	*b = byteSize(n * mult)
	return nil
}

// onceValue wraps a single-value flag so that giving it a second time is an
// error instead of silently keeping the last value: with
// -auth-location '^/uid$' -auth-location '^/env$', last-wins would leave
// /uid unprotected. Fail closed.
type onceValue struct {
	flag.Value
	name  string
	first *string // the first value given; nil before any
}

// String guards against the zero value that package flag makes to learn a
// flag's default.
func (o *onceValue) String() string {
	if o == nil || o.Value == nil {
		return ""
	}
	return o.Value.String()
}

func (o *onceValue) Set(v string) error {
	if o.first != nil {
		return fmt.Errorf("given twice (%q, then %q): -%s takes one value; give it once", *o.first, v, o.name)
	}
	o.first = &v
	return o.Value.Set(v)
}

// onceBool is onceValue for a boolean flag, which must keep IsBoolFlag so
// that "-flag" alone still means true.
type onceBool struct{ onceValue }

func (b *onceBool) IsBoolFlag() bool { return true }

// onceFlags makes every flag of fs that is not repeatable refuse a second
// value while fs parses. Call it after all flags are registered, before
// Parse; call restore after Parse, and before printing the defaults
// (package flag learns a flag's type name and zero value from its Value,
// which must be the original for -h to read right).
func onceFlags(fs *flag.FlagSet) (restore func()) {
	orig := map[*flag.Flag]flag.Value{}
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(interface{ repeatable() }); ok {
			return
		}
		orig[f] = f.Value
		o := &onceValue{Value: f.Value, name: f.Name}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			f.Value = &onceBool{*o}
			return
		}
		f.Value = o
	})
	return func() {
		for f, v := range orig {
			f.Value = v
		}
	}
}

// parseFlags parses args with fs, refusing a second value for any
// single-value flag ([onceFlags]).
func parseFlags(fs *flag.FlagSet, args []string) error {
	restore := onceFlags(fs)
	defer restore()
	usage := fs.Usage
	fs.Usage = func() {
		restore()
		if usage != nil {
			usage()
		} else {
			fs.PrintDefaults()
		}
	}
	defer func() { fs.Usage = usage }()
	return fs.Parse(args)
}
