package apacheconf

import (
	"regexp"
	"time"
)

// Config is a checked configuration: what [Load] makes of a file.
type Config struct {
	// ServerRoot is the directory relative paths were resolved against.
	ServerRoot string
	// Listen lists the Listen directives in file order.
	Listen []Listen
	// Main is the main server: every directive outside <VirtualHost>.
	Main *Server
	// VirtualHosts lists the <VirtualHost> sections in file order.
	VirtualHosts []*Server
	// Daemons lists the WSGIDaemonProcess groups in file order.
	Daemons []*Daemon
	// LDAP is mod_ldap's server-wide configuration; nil when the file
	// has none of its directives.
	LDAP *LDAPServer
	// TLS is HTTPS (SSLEngine on, its certificate, Protocols); nil for
	// plain HTTP.
	TLS *TLS
	// ServerWide holds the timeouts, limits and logs of the listener.
	ServerWide ServerWide
	// User and Group are the server's User and Group ("": not set); a
	// WSGIDaemonProcess user= or group= must name them.
	User, Group string
	// Warnings are the warnings of reading and checking the file.
	Warnings []Warning
}

// Listen is one Listen directive.
type Listen struct {
	Pos Pos
	// Addr is as written: "80", "127.0.0.1:8080", "[::1]:443".
	Addr string
	// Protocol is the optional second argument ("http", "https").
	Protocol string
}

// Server is the main server or one <VirtualHost>.
type Server struct {
	Pos Pos
	// Addrs are the <VirtualHost> addresses ("*:80", "10.0.0.1:443",
	// "_default_:80"); nil for the main server.
	Addrs []string
	// Name is ServerName, without a scheme; a virtual host without one
	// has the main server's, as in Apache; "" when none is set.
	Name string
	// Aliases are the ServerAlias names (wildcards * and ? allowed).
	Aliases []string
	// Mounts are the WSGIScriptAlias lines, in file order.
	Mounts []*Mount
	// Statics are the Alias lines, in file order.
	Statics []*Alias
	// Sections are the <Directory>, <DirectoryMatch>, <Files>,
	// <FilesMatch>, <Location> and <LocationMatch> sections, in file
	// order.
	Sections []*Section

	// defaults are the per-directory directives written at server level.
	defaults *Section
	// tls is the server's mod_ssl directives (tls.go).
	tls *serverTLS
	// Redirect is the virtual host's Redirect to HTTPS; nil for none.
	Redirect *Redirect
}

// IsMain reports whether s is the main server rather than a virtual host.
func (s *Server) IsMain() bool { return s.Addrs == nil }

// Mount is one WSGIScriptAlias.
type Mount struct {
	Pos Pos
	// URL is the URL prefix ("/trac", "/").
	URL string
	// Script is the absolute path of the WSGI script.
	Script string
	// ProcessGroup, ApplicationGroup and CallableObject are the
	// process-group=, application-group= and callable-object= options;
	// "" when not given (the directives then decide).
	ProcessGroup     string
	ApplicationGroup string
	CallableObject   string
	// PassAuthorization is the pass-authorization= option; nil when not
	// given.
	PassAuthorization *bool
}

// Alias is one Alias line: the files of Dir served at URL.
type Alias struct {
	Pos Pos
	URL string
	Dir string
}

// Daemon is one WSGIDaemonProcess group. A zero field means the option
// was not given (mod_wsgi's default applies: 1 process, 15 threads, no
// timeouts).
type Daemon struct {
	Pos  Pos
	Name string
	// Server is the virtual host the group was defined in, nil for the
	// main server: as in mod_wsgi, a group defined in a virtual host
	// serves that virtual host only.
	Server            *Server
	Processes         int
	Threads           int
	PythonPath        []string
	PythonHome        string
	DisplayName       string
	RequestTimeout    time.Duration
	QueueTimeout      time.Duration
	InactivityTimeout time.Duration
	GracefulTimeout   time.Duration
	StartupTimeout    time.Duration
	MaximumRequests   int
	// MemoryLimit is in bytes.
	MemoryLimit   int64
	ListenBacklog int
	User, Group   string
}

// Section is one <Directory>, <DirectoryMatch>, <Files>, <FilesMatch>,
// <Location> or <LocationMatch> section.
type Section struct {
	Pos Pos
	// Kind is the section's name as Apache spells it ("Location", ...).
	Kind string
	// Pattern is the path, wildcard pattern or regular expression.
	Pattern string
	// Regexp is set for the *Match forms and for "~" patterns.
	Regexp bool
	// Directives are the section's directives as written, <Limit>
	// sections included.
	Directives []*Directive
	// Files are the <Files> sections nested in a <Directory>.
	Files []*Section

	re  *regexp.Regexp
	ops []op
	// require is the authorization of the section: nil when it has no
	// Require line (the enclosing ones then apply).
	require *Require
}

// op applies one directive of a section to the settings being merged.
type op struct {
	d     *Directive
	apply func(e *Effective, s *mergeState)
}
