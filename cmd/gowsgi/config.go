package main

import (
	"time"

	"github.com/gowsgi/gowsgi/remoteip"
)

// config is everything the command runs from. The flags fill it
// ([parseArgs]); [buildHandler] turns it into the handler chain,
// [startPools] into the worker processes, and [serve] runs them.
//
// Its zero value is not the flags' defaults: start from [defaultConfig].
// Each field names the flag that sets it and the Apache directive it
// stands for. Errors found while building name the flag, so that a
// deployment started from flags is told what to change.
//
// The flags make one mount and at most one location; the structure holds
// several of each, as an Apache configuration does.
type config struct {
	Server    serverConfig
	Profiling profilingConfig
	// RemoteIP is what the reverse proxies in front are believed about
	// the client (mod_remoteip).
	RemoteIP remoteIPConfig
	// TLS is HTTPS, its certificate and the redirect from HTTP (tls.go).
	TLS tlsConfig
	// VHost limits the hosts served (ServerName, ServerAlias).
	VHost vhostConfig
	// Auth holds the authentication schemes, shared by every location.
	Auth authConfig
	// Locations are the paths that require authentication or pass a
	// Require rule (<Location>, <LocationMatch>), each with its rules. A
	// request under several passes through all of them, in this order.
	// Empty: no path is guarded (and a scheme in Auth that the
	// credential-check URL does not use either is refused).
	Locations []locationConfig
	// Static lists directories served as files ahead of the mounts
	// (Alias), inside the locations' rules.
	Static []staticConfig
	// Mounts are the WSGI scripts, each with a worker pool of its own
	// (WSGIScriptAlias, WSGIDaemonProcess). At least one; a request goes to
	// the mount with the longest path it lies under, on whole segments.
	Mounts []mountConfig
	// Log is the server's own log and the access log.
	Log logConfig
	// Health is what -status-addr's health endpoints need.
	Health healthConfig
	// DB is the one budget of database connections shared by the workers
	// of every mount.
	DB dbConfig
	// Limits is how long the server waits for clients and how much of a
	// request head it reads (Timeout, RequestReadTimeout, LimitRequest*).
	Limits limitsConfig
	// Privileges is the user the workers, and the server once its ports
	// are bound, run as (User, Group).
	Privileges privilegesConfig
}

// dbConfig caps the database connections the Python workers hold
// together (wsgi.NewDBBudget).
type dbConfig struct {
	// MaxConnections is the cap over every mount's workers; 0 means none
	// (-db-max-connections).
	MaxConnections int
	// ConnectTimeout is how long a connect waits for a slot before the
	// driver's OperationalError (-db-connect-timeout).
	ConnectTimeout time.Duration
}

// logConfig is the server's own log and the access log.
type logConfig struct {
	// AccessLog is the access log's file, "-" for standard output; ""
	// means none (-access-log; CustomLog).
	AccessLog string
	// AccessLogFormat is "combined" or "json" (-access-log-format;
	// LogFormat).
	AccessLogFormat string
	// Level is the server log's level: debug, info, warn or error
	// (-log-level; LogLevel).
	Level string
	// Format is the server log's format on standard error: text or json
	// (-log-format; ErrorLogFormat).
	Format string
}

// healthConfig is the health endpoints' behaviour.
type healthConfig struct {
	// ShutdownDelay is how long the server keeps serving after SIGTERM
	// or SIGINT, with /readyz answering 503, before it stops accepting
	// (-shutdown-delay; Caddy's shutdown_delay). 0 means none.
	ShutdownDelay time.Duration
}

// serverConfig is the HTTP server's own settings.
type serverConfig struct {
	// Listen is the TCP address served (-listen; Listen).
	Listen string
	// ShutdownTimeout is how long requests in flight may run after SIGTERM
	// or SIGINT before the workers are stopped (-shutdown-timeout).
	ShutdownTimeout time.Duration
	// LimitRequestBody is the largest request body accepted, in bytes;
	// 0 means no limit (-limit-request-body; LimitRequestBody).
	LimitRequestBody int64
	// StatusAddr is the address of the statistics and profiles server; ""
	// means none (-status-addr; mod_status).
	StatusAddr string
	// GOMAXPROCS is how many CPUs the Go front may use at once; 0 means the
	// CPUs available minus one per worker process (-gomaxprocs).
	GOMAXPROCS int
}

// remoteIPConfig is the reverse proxies the command believes (package
// remoteip; Apache's mod_remoteip).
type remoteIPConfig struct {
	// TrustedProxies are CIDRs or addresses of the proxies believed
	// (-trusted-proxy; RemoteIPTrustedProxy). Empty: none, and the
	// fields below must stay at their defaults.
	TrustedProxies []string
	// Header is the forwarding header believed: "X-Forwarded-For" (with
	// X-Forwarded-Proto and X-Forwarded-Host) or "Forwarded"
	// (-remote-ip-header; RemoteIPHeader).
	Header string
	// ProxyProtocol is whether the listener reads HAProxy's PROXY
	// protocol from the trusted proxies (-proxy-protocol;
	// RemoteIPProxyProtocol).
	ProxyProtocol remoteip.ProxyProtocol
}

// profilingConfig is the Go front's profiling.
type profilingConfig struct {
	// CPUProfile is the file a CPU profile is written to, from start to
	// exit; "" means none (-cpuprofile).
	CPUProfile string
}

// vhostConfig is the virtual host the command answers for.
type vhostConfig struct {
	// Names are host names, IP addresses or "*.example.com" wildcards
	// (-vhost; ServerName, ServerAlias). Other hosts get 421. Empty means
	// any host.
	Names []string
}

// authConfig is the authentication schemes and what they share. A request
// meets the schemes in this order: Kerberos (Negotiate), Basic (htpasswd,
// then LDAP), Digest.
type authConfig struct {
	// Realm is the realm of the Basic and Digest challenges (-realm;
	// AuthName).
	Realm    string
	Basic    basicConfig
	Digest   digestConfig
	LDAP     ldapConfig
	Kerberos kerberosConfig
	// GroupFile is the Apache group file for Require group (-group-file;
	// AuthGroupFile).
	GroupFile string
	// Normalize lists the steps, comma-separated, that rewrite the
	// authenticated name: strip-domain, strip-realm, lower
	// (-normalize-user).
	Normalize string
	// NormalizeAfterRequire lets Require see the name before Normalize
	// (-normalize-after-require).
	NormalizeAfterRequire bool
	// CheckURL is the path of a credential-check endpoint: 200 for good
	// credentials, 401 otherwise; "" means none (-auth-check-url;
	// AccountManager's HttpAuthStore).
	CheckURL string
}

// basicConfig is Basic authentication against an htpasswd file.
type basicConfig struct {
	// Htpasswd is the file; "" means no htpasswd Basic (-htpasswd;
	// AuthUserFile).
	Htpasswd string
	// CacheTTL is how long a good password is cached; 0 means 5m,
	// negative no cache (-auth-cache-ttl).
	CacheTTL time.Duration
}

// digestConfig is Digest authentication against an htdigest file.
type digestConfig struct {
	// Htdigest is the file; "" means no Digest (-htdigest; AuthUserFile
	// with AuthType Digest). Needs Realm.
	Htdigest string
	// Domain lists the URIs of the protection space (-digest-domain;
	// AuthDigestDomain).
	Domain []string
	// NonceLifetime is how long a nonce is valid; 0 means 5m
	// (-digest-nonce-lifetime; AuthDigestNonceLifetime).
	NonceLifetime time.Duration
	// SecretFile holds the secret that signs nonces, shared by replicas;
	// "" means a random one per process (-auth-secret-file).
	SecretFile string
}

// ldapConfig is mod_authnz_ldap: a Basic password checker and the
// ldap-* Require kinds. URL "" means off, and then every other field must
// keep its default.
type ldapConfig struct {
	URL                 string        // -ldap-url; AuthLDAPURL
	BindDN              string        // -ldap-bind-dn; AuthLDAPBindDN
	BindPasswordFile    string        // -ldap-bind-password-file; AuthLDAPBindPassword
	RemoteUserAttribute string        // -ldap-remote-user-attribute; AuthLDAPRemoteUserAttribute
	GroupAttributes     []string      // -ldap-group-attribute; AuthLDAPGroupAttribute
	GroupAttributeIsDN  bool          // -ldap-group-attribute-is-dn; AuthLDAPGroupAttributeIsDN (default true)
	SubGroupAttributes  []string      // -ldap-subgroup-attribute; AuthLDAPSubGroupAttribute
	SubGroupClasses     []string      // -ldap-subgroup-class; AuthLDAPSubGroupClass
	MaxSubGroupDepth    int           // -ldap-max-subgroup-depth; AuthLDAPMaxSubGroupDepth (0: direct members only)
	GroupBaseDN         string        // -ldap-group-base-dn
	MemberOf            bool          // -ldap-member-of
	MatchingRuleInChain bool          // -ldap-matching-rule-in-chain
	Referrals           bool          // -ldap-referrals; AuthLDAPReferrals
	ReferralHopLimit    int           // -ldap-referral-hop-limit; AuthLDAPReferralHopLimit
	CAFile              string        // -ldap-ca-file; LDAPTrustedGlobalCert
	Timeout             time.Duration // -ldap-timeout; LDAPConnectionTimeout, LDAPTimeout
	PoolSize            int           // -ldap-pool-size
	CacheTTL            time.Duration // -ldap-cache-ttl; LDAPCacheTTL (0: no cache)
	CacheEntries        int           // -ldap-cache-entries; LDAPCacheEntries
}

// kerberosConfig is Negotiate (SPNEGO) single sign-on, with an optional
// Basic fallback checked against the KDC. Keytab "" means off, and then
// every other field must keep its default.
type kerberosConfig struct {
	Keytab         string        // -keytab; GssapiCredStore keytab:, Krb5Keytab
	SPN            string        // -spn; GssapiAcceptorName
	Basic          bool          // -kerberos-basic; SSPIOfferBasic, GssapiBasicAuth
	BasicFirst     bool          // -kerberos-basic-first; SSPIBasicPreferred
	BasicRealm     string        // -kerberos-basic-realm
	BasicCacheTTL  time.Duration // -kerberos-basic-cache-ttl
	Krb5Conf       string        // -krb5-conf
	DefaultRealm   string        // -kerberos-default-realm
	ClockSkew      time.Duration // -kerberos-clock-skew
	PAC            bool          // -kerberos-pac
	Name           string        // -kerberos-name: principal, local, down-level, down-level=DOMAIN
	Session        time.Duration // -kerberos-session; GssapiUseSessions (0: none)
	SessionKeyFile string        // -kerberos-session-key-file
}

// locationConfig is one guarded set of paths (<Location>,
// <LocationMatch>) and its Require rules.
type locationConfig struct {
	// Match is a regexp matched against the canonical path, never the
	// query string (-auth-location; <LocationMatch>).
	Match string
	// Prefix is a path, matched on whole segments (-auth-prefix;
	// <Location PATH>). Exclusive with Match; neither means every path.
	Prefix string
	// Require lists the rules, any one of which grants the request
	// (-require; Require lines in <RequireAny>). Empty means valid-user.
	Require []string
}

// staticConfig is one directory served as files (Alias).
type staticConfig struct {
	// URLPrefix is where Dir is served: an absolute path other than /.
	URLPrefix string
	// Dir is the directory.
	Dir string
	// Flag is how the user wrote it, for error messages (-static's
	// URLPREFIX=DIR); "" means URLPrefix=Dir.
	Flag string
}

// mountConfig is one WSGI script at a URL path, with its own workers
// (WSGIScriptAlias and WSGIDaemonProcess).
type mountConfig struct {
	// Path is where the script is mounted: "/" for the root (-mount;
	// WSGIScriptAlias's URL).
	Path string
	// Script is the WSGI script file (the argument; WSGIScriptAlias's
	// file).
	Script string
	// Callable is the application object's name in Script (-callable;
	// WSGICallableObject).
	Callable string
	// Environments serves each sub-directory of a parent directory as its
	// own environment under Path (TRAC_ENV_PARENT_DIR).
	Environments environmentsConfig
	Workers      workersConfig
	// Upstreams are uWSGI instances, as uwsgi://HOST:PORT, that serve the
	// mount instead of Script in local workers (-upstream, repeatable;
	// nginx's uwsgi_pass, Apache's mod_proxy_uwsgi). Of Workers, only
	// Environ, PassAuthorization, RequestTimeout, QueueTimeout and
	// QueueSize apply to them. Empty: Script runs in local workers.
	Upstreams []string
	// UpstreamMaxConns bounds the requests sent to one upstream at a time
	// (-upstream-max-conns); 0 means package uwsgi's default.
	UpstreamMaxConns int
}

// environmentsConfig is Trac's parent directory of environments.
type environmentsConfig struct {
	ParentDir        string // -env-parent-dir; "" means off
	Key              string // -env-key: the environ key naming the environment's directory
	PassIndex        bool   // -env-pass-index
	AllowSymlinksOut bool   // -env-allow-symlinks-out
}

// workersConfig is a mount's Python worker processes (WSGIDaemonProcess).
type workersConfig struct {
	Processes         int           // -processes; processes=
	Threads           int           // -threads; threads=
	Python            string        // -python; python-home= picks it
	PythonPath        []string      // -python-path; python-path=
	PythonUserSite    bool          // -python-user-site
	LazyStart         bool          // -lazy-start: serve 503 while the script does not load
	Env               []string      // -env KEY=VALUE: os.environ
	Environ           []string      // -environ KEY=VALUE: every request's WSGI environ
	PassAuthorization bool          // -pass-authorization; WSGIPassAuthorization
	XSendFilePath     []string      // -xsendfile-path; XSendFilePath
	StartTimeout      time.Duration // -start-timeout
	RequestTimeout    time.Duration // -request-timeout; request-timeout= (0: none)
	QueueTimeout      time.Duration // -queue-timeout; queue-timeout=
	QueueSize         int           // -queue-size; listen-backlog=
	MaxRequests       int           // -max-requests; maximum-requests= (0: never)
	MemoryLimit       int64         // -memory-limit; memory-limit= (0: none)
	InactivityTimeout time.Duration // -inactivity-timeout; inactivity-timeout= (0: never)
	ReloadInterval    time.Duration // -reload-interval
	Reload            bool          // -reload; WSGIScriptReloading
	GracefulTimeout   time.Duration // -graceful-timeout; graceful-timeout=
}

// defaultConfig is the configuration the flags start from, with one mount
// at the root and no script yet.
func defaultConfig() config {
	return config{
		Server: serverConfig{
			Listen:           "127.0.0.1:8000",
			ShutdownTimeout:  10 * time.Second,
			LimitRequestBody: 1 << 30,
		},
		RemoteIP: remoteIPConfig{Header: "X-Forwarded-For"},
		TLS: tlsConfig{
			HTTP2: true,
			ACME:  acmeConfig{DirectoryURL: defaultACMEDirectory},
		},
		Limits: defaultLimits(),
		DB:     dbConfig{ConnectTimeout: 10 * time.Second},
		Auth: authConfig{
			LDAP: ldapConfig{
				GroupAttributeIsDN: true,
				MaxSubGroupDepth:   10,
				ReferralHopLimit:   5,
				Timeout:            5 * time.Second,
				PoolSize:           8,
				CacheTTL:           10 * time.Minute,
				CacheEntries:       1024,
			},
			Kerberos: kerberosConfig{Name: "principal"},
		},
		Mounts: []mountConfig{defaultMount()},
		Log:    logConfig{AccessLogFormat: "combined", Level: "info", Format: "text"},
	}
}

// defaultMount is a mount at the root with the flags' defaults.
func defaultMount() mountConfig {
	return mountConfig{
		Path:         "/",
		Callable:     "application",
		Environments: environmentsConfig{Key: "trac.env_path"},
		Workers: workersConfig{
			Processes:       1,
			Threads:         1,
			Python:          "python3",
			StartTimeout:    60 * time.Second,
			QueueTimeout:    30 * time.Second,
			QueueSize:       1024,
			ReloadInterval:  time.Second,
			Reload:          true,
			GracefulTimeout: 30 * time.Second,
		},
	}
}
