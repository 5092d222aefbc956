package apacheconf

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxErrors bounds the errors one check reports.
const maxErrors = 20

// Load reads the configuration file at path ([Parse]) and checks every
// directive ([Check]).
func Load(path string, opts Options) (*Config, error) {
	f, err := Parse(path, opts)
	if err != nil {
		return nil, err
	}
	return Check(f)
}

// Check checks each directive of f against the table of directives
// gowsgi knows (where it may be written, how many arguments it takes,
// what they may be) and builds the configuration. The error joins at most
// 20 [*Error]s, each naming the file, line and directive.
func Check(f *File) (*Config, error) {
	c := &checker{
		cfg:     &Config{ServerRoot: f.ServerRoot, Warnings: slices.Clone(f.Warnings)},
		daemons: map[string]*Daemon{},
	}
	c.cfg.Main = &Server{defaults: &Section{Kind: "server"}}
	c.walk(f.Directives, frame{ctx: inServer, server: c.cfg.Main, sec: c.cfg.Main.defaults})
	c.finish()
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return c.cfg, nil
}

type checker struct {
	cfg     *Config
	acme    ACME       // mod_md's directives (tls.go)
	mdomain *Directive // the first MDomain
	errs    []error
	daemons map[string]*Daemon
	groups  []groupRef // WSGIProcessGroup names to check once every daemon is known
}

type groupRef struct {
	d      *Directive
	server *Server
	name   string
}

// frame is where the walk is: the context, the server, the section whose
// per-directory settings directives add to, and the enclosing <Limit>.
type frame struct {
	ctx    context
	server *Server
	sec    *Section
	limit  *Limit
	dir    *Section // the enclosing <Directory>, for nested <Files>
}

func (c *checker) errorf(d *Directive, format string, args ...any) {
	name := d.Name
	if d.Section {
		name = "<" + d.Name + ">"
	}
	c.add(errAt(d.Pos, name, fmt.Sprintf(format, args...)))
}

// add records an error; after maxErrors, one "too many errors" ends the
// list.
func (c *checker) add(err error) {
	if len(c.errs) == maxErrors {
		c.errs = append(c.errs, fmt.Errorf("too many errors"))
	}
	if len(c.errs) > maxErrors {
		return
	}
	c.errs = append(c.errs, err)
}

func (c *checker) warnf(d *Directive, format string, args ...any) {
	name := d.Name
	if d.Section {
		name = "<" + d.Name + ">"
	}
	c.cfg.Warnings = append(c.cfg.Warnings, Warning{Pos: d.Pos, Directive: name, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) walk(ds []*Directive, f frame) {
	for _, d := range ds {
		if d.Section {
			c.section(d, f)
		} else {
			c.directive(d, f)
		}
	}
}

func (c *checker) section(d *Directive, f frame) {
	ss := sectionTable[strings.ToLower(d.Name)]
	if ss == nil {
		c.errorf(d, "section not implemented by gowsgi")
		return
	}
	if f.limit != nil && !strings.HasPrefix(ss.name, "Require") {
		c.errorf(d, "cannot occur within <%s>", f.limit.String())
		return
	}
	if f.ctx&ss.parent == 0 {
		c.errorf(d, "cannot occur within %s", f.ctx)
		return
	}
	if len(d.Args) < ss.min || (ss.max >= 0 && len(d.Args) > ss.max) {
		if ss.min > 0 && len(d.Args) == 0 {
			c.errorf(d, "directive requires additional arguments")
		} else {
			c.errorf(d, "wrong number of arguments (%d)", len(d.Args))
		}
		return
	}
	switch ss.name {
	case "VirtualHost":
		for _, a := range d.Args {
			if err := checkVHostAddr(a); err != nil {
				c.errorf(d, "%v", err)
				return
			}
		}
		s := &Server{Pos: d.Pos, Addrs: d.Args, defaults: &Section{Kind: "server", Pos: d.Pos}}
		c.cfg.VirtualHosts = append(c.cfg.VirtualHosts, s)
		c.walk(d.Block, frame{ctx: inVHost, server: s, sec: s.defaults})
	case "Directory", "DirectoryMatch", "Files", "FilesMatch", "Location", "LocationMatch":
		sec := &Section{Pos: d.Pos, Kind: ss.name, Pattern: d.Args[0], Directives: d.Block}
		if len(d.Args) == 2 {
			if d.Args[0] != "~" || strings.HasSuffix(ss.name, "Match") {
				c.errorf(d, "takes one argument, or ~ and a regular expression")
				return
			}
			sec.Pattern = d.Args[1]
			sec.Regexp = true
		}
		if strings.HasSuffix(ss.name, "Match") {
			sec.Regexp = true
		}
		if sec.Regexp {
			re, err := regexp.Compile(sec.Pattern)
			if err != nil {
				c.errorf(d, "bad regular expression (gowsgi uses Go's RE2 syntax, without back-references or look-around): %v", err)
				return
			}
			sec.re = re
		} else if _, err := path.Match(sec.Pattern, ""); err != nil {
			c.errorf(d, "bad wildcard pattern %q", sec.Pattern)
			return
		}
		var ctx context
		switch ss.name {
		case "Directory", "DirectoryMatch":
			ctx = inDirectory
			if !sec.Regexp && !strings.HasPrefix(sec.Pattern, "/") {
				c.errorf(d, "%q is not an absolute path", sec.Pattern)
				return
			}
			if fi, err := os.Stat(sec.Pattern); !sec.Regexp && err == nil && !fi.IsDir() {
				c.warnf(d, "%s is a file: a <Directory> section applies to the files under a directory, so this one applies to nothing, as in Apache (use <Files> inside the directory's section)", sec.Pattern)
			}
		case "Files", "FilesMatch":
			ctx = inFiles
		default:
			ctx = inLocation
			if !sec.Regexp && !strings.HasPrefix(sec.Pattern, "/") {
				c.errorf(d, "%q does not start with /", sec.Pattern)
				return
			}
		}
		if ctx == inFiles && f.dir != nil {
			f.dir.Files = append(f.dir.Files, sec)
		} else {
			f.server.Sections = append(f.server.Sections, sec)
		}
		nf := frame{ctx: ctx, server: f.server, sec: sec}
		if ctx == inDirectory {
			nf.dir = sec
		}
		c.walk(d.Block, nf)
		c.closeRequire(sec)
	case "Limit", "LimitExcept":
		l, err := newLimit(d)
		if err != nil {
			c.add(err)
			return
		}
		nf := f
		nf.limit = l
		c.walk(d.Block, nf)
	case "RequireAll", "RequireAny", "RequireNone":
		op := map[string]RequireOp{"RequireAll": RequireAll, "RequireAny": RequireAny, "RequireNone": RequireNone}[ss.name]
		r := &Require{Pos: d.Pos, Op: op, Limit: f.limit}
		c.requireBlock(d.Block, r, nil, f)
		if len(r.Children) == 0 {
			c.errorf(d, "contains no authorization directives")
			return
		}
		c.addRequire(f.sec, r)
	}
}

// requireBlock reads the content of a <RequireAll|Any|None> into r; limit
// is the <Limit> written inside it that ds are in, if any. Other
// directives inside it apply to the enclosing section, as in Apache.
func (c *checker) requireBlock(ds []*Directive, r *Require, limit *Limit, f frame) {
	for _, d := range ds {
		name := strings.ToLower(d.Name)
		switch {
		case d.Section && (name == "limit" || name == "limitexcept"):
			if limit != nil {
				c.errorf(d, "cannot occur within <%s>", limit)
				continue
			}
			l, err := newLimit(d)
			if err != nil {
				c.add(err)
				continue
			}
			c.requireBlock(d.Block, r, l, f)
			continue
		case !d.Section && name == "require":
			line, err := parseRequire(d, limit)
			if err != nil {
				c.add(err)
				continue
			}
			r.Children = append(r.Children, line)
		case d.Section && (name == "requireall" || name == "requireany" || name == "requirenone"):
			if len(d.Args) != 0 {
				c.errorf(d, "takes no argument")
				continue
			}
			op := map[string]RequireOp{"requireall": RequireAll, "requireany": RequireAny, "requirenone": RequireNone}[name]
			k := &Require{Pos: d.Pos, Op: op, Limit: limit}
			c.requireBlock(d.Block, k, nil, f)
			if len(k.Children) == 0 {
				c.errorf(d, "contains no authorization directives")
				continue
			}
			r.Children = append(r.Children, k)
		case d.Section:
			c.errorf(d, "cannot occur within <%s>", r.Op)
		default:
			inner := f
			if limit != nil {
				inner.limit = limit
			}
			c.directive(d, inner)
		}
	}
	c.checkNegation(r)
}

func newLimit(d *Directive) (*Limit, error) {
	l := &Limit{Pos: d.Pos, Except: strings.EqualFold(d.Name, "LimitExcept")}
	if len(d.Args) == 0 {
		return nil, errAt(d.Pos, "<"+d.Name+">", "directive requires additional arguments")
	}
	for _, m := range d.Args {
		if !validMethod(m) {
			return nil, errAt(d.Pos, "<"+d.Name+">", fmt.Sprintf("%q is not a method (methods are upper case)", m))
		}
		l.Methods = append(l.Methods, m)
	}
	return l, nil
}

// checkNegation refuses what mod_authz_core refuses at startup: a
// negated rule directly in a <RequireAny> (it could only ever be
// neutral), and a <RequireAll> or <RequireNone> holding negated rules
// only.
func (c *checker) checkNegation(r *Require) {
	negative := func(k *Require) bool { return k.Not || k.Op == RequireNone }
	switch r.Op {
	case RequireAny:
		for _, k := range r.Children {
			if negative(k) {
				c.add(errAt(k.Pos, "Require", "negative Require directive has no effect in <RequireAny> directive (nor among plain Require lines, which act as one)"))
			}
		}
	case RequireNone:
		for _, k := range r.Children {
			if k.Not {
				c.add(errAt(k.Pos, "Require", "negative Require directive has no effect in <RequireNone> directive"))
			}
		}
		fallthrough
	case RequireAll:
		all := true
		for _, k := range r.Children {
			if !negative(k) {
				all = false
			}
		}
		if all && r.Op == RequireAll {
			c.add(errAt(r.Pos, "<RequireAll>", "contains only negative authorization directives"))
		}
	}
}

// addRequire adds a Require line or container to the section's implicit
// <RequireAny>.
func (c *checker) addRequire(sec *Section, r *Require) {
	if sec.require == nil {
		sec.require = &Require{Pos: sec.Pos, Op: RequireAny}
	}
	sec.require.Children = append(sec.require.Children, r)
}

// closeRequire checks the section's implicit <RequireAny> once the
// section is read.
func (c *checker) closeRequire(sec *Section) {
	if sec.require != nil {
		c.checkNegation(sec.require)
	}
}

func (c *checker) directive(d *Directive, f frame) {
	s := table[strings.ToLower(d.Name)]
	if s == nil {
		if strings.HasPrefix(d.Name, "<") || strings.HasPrefix(d.Name, "</") {
			c.errorf(d, "bad section tag")
			return
		}
		c.errorf(d, "directive not implemented by gowsgi (see the list of supported directives in `go doc %s`)", "github.com/gowsgi/gowsgi/internal/apacheconf")
		return
	}
	if f.ctx&s.where == 0 {
		if s.name == "ServerAlias" && f.ctx == inServer {
			c.errorf(d, "only used in <VirtualHost>")
		} else {
			c.errorf(d, "not allowed in %s", f.ctx)
		}
		return
	}
	if len(d.Args) < s.min || (s.max >= 0 && len(d.Args) > s.max) {
		c.errorf(d, "%s (%d given)", argsWanted(s), len(d.Args))
		return
	}
	switch s.status {
	case ignored:
		if s.name == "LoadModule" {
			c.loadModule(d)
			return
		}
		c.warnf(d, "ignored: %s", s.usage)
		return
	case notYet:
		c.errorf(d, "not supported yet: gowsgi does not have %s yet", s.usage)
		return
	}
	scoped := s.name == "Require" || s.name == "Allow" || s.name == "Deny" || s.name == "Order" || s.name == "Satisfy"
	if f.limit != nil && !scoped {
		c.warnf(d, "applies to every method, not only those of <%s>, as in Apache", f.limit)
	}
	if f.ctx&rsrc != 0 && c.server(d, s, f) {
		return
	}
	c.perDir(d, s, f)
}

func argsWanted(s *spec) string {
	switch {
	case s.min == s.max && s.min == 1:
		return "takes one argument, " + s.usage
	case s.min == s.max:
		return fmt.Sprintf("takes %d arguments, %s", s.min, s.usage)
	case s.max < 0:
		return fmt.Sprintf("takes at least %d argument(s), %s", s.min, s.usage)
	}
	return fmt.Sprintf("takes %d to %d arguments, %s", s.min, s.max, s.usage)
}

func (c *checker) loadModule(d *Directive) {
	m := findModule(d.Args[0])
	switch {
	case m == nil:
		c.errorf(d, "gowsgi does not implement %s", d.Args[0])
	case !m.implemented:
		c.errorf(d, "not supported yet: %s", m.note)
	default:
		c.warnf(d, "ignored: gowsgi implements %s itself (%s)", m.id, m.note)
	}
}

// server handles the directives that configure a server rather than a
// directory; it reports whether d was one.
func (c *checker) server(d *Directive, s *spec, f frame) bool {
	srv := f.server
	switch s.name {
	case "Listen":
		if err := checkListen(d.Args[0]); err != nil {
			c.errorf(d, "%v", err)
			return true
		}
		l := Listen{Pos: d.Pos, Addr: d.Args[0]}
		if len(d.Args) == 2 {
			l.Protocol = strings.ToLower(d.Args[1])
			if l.Protocol != "http" && l.Protocol != "https" {
				c.errorf(d, "not supported: protocol %s (http, https)", d.Args[1])
				return true
			}
		}
		for _, o := range c.cfg.Listen {
			if o.Addr == l.Addr {
				c.errorf(d, "cannot define multiple Listeners on the same IP:port (%s, at %s)", l.Addr, o.Pos)
				return true
			}
		}
		c.cfg.Listen = append(c.cfg.Listen, l)
	case "ServerName":
		name := d.Args[0]
		if i := strings.Index(name, "://"); i >= 0 {
			name = name[i+3:]
		}
		if name == "" || strings.ContainsAny(name, "/ ") {
			c.errorf(d, "%q is not a host name", d.Args[0])
			return true
		}
		srv.Name = name
	case "ServerAlias":
		srv.Aliases = append(srv.Aliases, d.Args...)
	case "Timeout", "KeepAliveTimeout", "RequestReadTimeout", "LimitRequestLine", "LimitRequestFieldSize",
		"LimitRequestFields", "LogFormat", "CustomLog", "LogLevel", "RemoteIPHeader", "RemoteIPTrustedProxy":
		c.serverWide(d, s.name, srv)
	case "Redirect":
		c.redirect(d, srv)
	case "SSLEngine", "SSLCertificateFile", "SSLCertificateKeyFile", "Protocols", "Header",
		"MDomain", "MDContactEmail", "MDCertificateAuthority":
		c.tlsDirective(d, s.name, srv)
	case "User":
		c.cfg.User = d.Args[0]
	case "Group":
		c.cfg.Group = d.Args[0]
	case "ServerRoot":
		// read while parsing
	case "WSGIScriptAlias":
		c.scriptAlias(d, srv)
	case "WSGIDaemonProcess":
		c.daemon(d, srv)
	case "Alias":
		if !strings.HasPrefix(d.Args[0], "/") {
			c.errorf(d, "%q does not start with /", d.Args[0])
			return true
		}
		if !filepath.IsAbs(d.Args[1]) {
			c.errorf(d, "%q is not an absolute path", d.Args[1])
			return true
		}
		for _, o := range srv.Statics {
			if prefixMatch(o.URL, d.Args[0]) {
				c.warnf(d, "never used: the Alias %s at %s matches %s first (the first match wins, as in mod_alias: write the longer URL first)", o.URL, o.Pos, d.Args[0])
				break
			}
		}
		srv.Statics = append(srv.Statics, &Alias{Pos: d.Pos, URL: d.Args[0], Dir: filepath.Clean(d.Args[1])})
	case "LDAPTrustedGlobalCert":
		if !strings.EqualFold(d.Args[0], "CA_BASE64") {
			c.errorf(d, "only CA_BASE64 (a PEM file) is supported")
			return true
		}
		c.ldapServer().CAFile = c.abs(d.Args[1])
	case "LDAPConnectionTimeout", "LDAPTimeout", "LDAPCacheTTL", "LDAPOpCacheTTL":
		n, err := seconds(d.Args[0])
		if err != nil {
			c.errorf(d, "%v", err)
			return true
		}
		l := c.ldapServer()
		*map[string]*time.Duration{"LDAPConnectionTimeout": &l.ConnectionTimeout, "LDAPTimeout": &l.Timeout, "LDAPCacheTTL": &l.CacheTTL, "LDAPOpCacheTTL": &l.OpCacheTTL}[s.name] = n
	case "LDAPCacheEntries":
		n, err := strconv.Atoi(d.Args[0])
		if err != nil || n < -1 {
			c.errorf(d, "%q is not a number", d.Args[0])
			return true
		}
		c.ldapServer().CacheEntries = n
	default:
		return false
	}
	return true
}

func (c *checker) ldapServer() *LDAPServer {
	if c.cfg.LDAP == nil {
		c.cfg.LDAP = &LDAPServer{}
	}
	return c.cfg.LDAP
}

// abs resolves p against ServerRoot, as Apache's ap_server_root_relative.
func (c *checker) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.cfg.ServerRoot, p)
}

func (c *checker) scriptAlias(d *Directive, srv *Server) {
	m := &Mount{Pos: d.Pos, URL: d.Args[0], Script: d.Args[1]}
	if !strings.HasPrefix(m.URL, "/") {
		c.errorf(d, "%q does not start with /", m.URL)
		return
	}
	if !filepath.IsAbs(m.Script) {
		c.errorf(d, "%q is not an absolute path", m.Script)
		return
	}
	m.Script = filepath.Clean(m.Script)
	for _, o := range d.Args[2:] {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			c.errorf(d, "option %q is not name=value", o)
			return
		}
		switch k {
		case "process-group":
			if err := checkProcessGroup(v); err != nil {
				c.errorf(d, "process-group=%s: %v", v, err)
				return
			}
			m.ProcessGroup = v
			c.groups = append(c.groups, groupRef{d, srv, v})
		case "application-group":
			if err := checkApplicationGroup(v); err != nil {
				c.errorf(d, "application-group=%s: %v", v, err)
				return
			}
			m.ApplicationGroup = v
		case "callable-object":
			m.CallableObject = v
		case "pass-authorization":
			b, err := onOff(v)
			if err != nil {
				c.errorf(d, "pass-authorization=%s: %v", v, err)
				return
			}
			m.PassAuthorization = &b
		default:
			c.errorf(d, "unknown option %q (gowsgi knows process-group, application-group, callable-object, pass-authorization)", k)
			return
		}
	}
	for _, o := range srv.Mounts {
		if prefixMatch(o.URL, m.URL) {
			c.warnf(d, "never used: the WSGIScriptAlias %s at %s matches %s first (the first match wins, as in mod_wsgi: write the longer URL first)", o.URL, o.Pos, m.URL)
			break
		}
	}
	srv.Mounts = append(srv.Mounts, m)
}

// daemonOptions are the WSGIDaemonProcess options gowsgi reads.
var daemonOptions = []string{"processes", "threads", "python-path", "python-home", "display-name",
	"request-timeout", "queue-timeout", "maximum-requests", "memory-limit", "inactivity-timeout",
	"graceful-timeout", "startup-timeout", "listen-backlog", "user", "group"}

func (c *checker) daemon(d *Directive, srv *Server) {
	name := d.Args[0]
	if name == "" || strings.HasPrefix(name, "%{") || strings.Contains(name, "=") {
		c.errorf(d, "%q is not a process group name", name)
		return
	}
	if o := c.daemons[name]; o != nil {
		c.errorf(d, "name %q duplicates the group defined at %s", name, o.Pos)
		return
	}
	g := &Daemon{Pos: d.Pos, Name: name}
	if !srv.IsMain() {
		g.Server = srv
	}
	for _, o := range d.Args[1:] {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			c.errorf(d, "option %q is not name=value", o)
			return
		}
		var err error
		switch k {
		case "processes", "threads", "maximum-requests", "listen-backlog":
			var n int
			n, err = strconv.Atoi(v)
			if err == nil && (n < 0 || (n == 0 && (k == "processes" || k == "threads"))) {
				err = fmt.Errorf("out of range")
			}
			switch k {
			case "processes":
				g.Processes = n
			case "threads":
				g.Threads = n
			case "maximum-requests":
				g.MaximumRequests = n
			default:
				g.ListenBacklog = n
			}
		case "request-timeout", "queue-timeout", "inactivity-timeout", "graceful-timeout", "startup-timeout":
			var t time.Duration
			t, err = seconds(v)
			*map[string]*time.Duration{"request-timeout": &g.RequestTimeout, "queue-timeout": &g.QueueTimeout,
				"inactivity-timeout": &g.InactivityTimeout, "graceful-timeout": &g.GracefulTimeout,
				"startup-timeout": &g.StartupTimeout}[k] = t
		case "memory-limit":
			g.MemoryLimit, err = strconv.ParseInt(v, 10, 64)
			if err == nil && g.MemoryLimit < 0 {
				err = fmt.Errorf("out of range")
			}
		case "python-path":
			for _, p := range strings.Split(v, ":") {
				if p != "" {
					g.PythonPath = append(g.PythonPath, p)
				}
			}
		case "python-home":
			g.PythonHome = v
		case "display-name":
			// mod_wsgi rewrites the daemon's argv[0]; gowsgi's workers
			// keep the interpreter's (a virtual environment is found
			// from it), so ps shows python and gowsgi_worker.py.
			g.DisplayName = v
			c.warnf(d, "display-name=%s has no effect: ps shows the workers as the interpreter running gowsgi_worker.py", v)
		case "user":
			g.User = v
		case "group":
			g.Group = v
		default:
			c.errorf(d, "unknown or unsupported option %q (gowsgi knows %s)", k, strings.Join(daemonOptions, ", "))
			return
		}
		if err != nil {
			c.errorf(d, "%s=%s: not a valid number: %v", k, v, unwrapNum(err))
			return
		}
	}
	c.daemons[name] = g
	c.cfg.Daemons = append(c.cfg.Daemons, g)
}

func unwrapNum(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return ne.Err
	}
	return err
}

// seconds reads a whole number of seconds, as mod_wsgi and mod_ldap do.
func seconds(s string) (time.Duration, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1<<31 {
		return 0, fmt.Errorf("%q is not a number of seconds", s)
	}
	return time.Duration(n) * time.Second, nil
}

func onOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("must be On or Off, not %q", s)
}

func checkProcessGroup(v string) error {
	if strings.HasPrefix(v, "%{") && v != "%{GLOBAL}" {
		return fmt.Errorf("only a group name or %%{GLOBAL} is supported")
	}
	return nil
}

func checkApplicationGroup(v string) error {
	if strings.HasPrefix(v, "%{") && v != "%{GLOBAL}" && v != "%{SERVER}" && v != "%{RESOURCE}" {
		return fmt.Errorf("only a name, %%{GLOBAL}, %%{SERVER} or %%{RESOURCE} is supported")
	}
	return nil
}

// checkListen checks a Listen address: a port, or an address and a port.
func checkListen(a string) error {
	port := a
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host := a[:i]
		port = a[i+1:]
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
		if _, err := netip.ParseAddr(host); err != nil && host != "*" && host != "0.0.0.0" {
			return fmt.Errorf("%q: %q is not an IP address", a, host)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: %q is not a port", a, port)
	}
	return nil
}

// checkVHostAddr checks a <VirtualHost> address: *, _default_, or an IP
// address, each with an optional :port or :*.
func checkVHostAddr(a string) error {
	host, port := a, ""
	if strings.HasPrefix(a, "[") {
		i := strings.IndexByte(a, ']')
		if i < 0 {
			return fmt.Errorf("%q: unclosed [", a)
		}
		host, port = a[1:i], strings.TrimPrefix(a[i+1:], ":")
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, port = a[:i], a[i+1:]
	}
	if host != "*" && host != "_default_" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q: %q is not *, _default_ or an IP address (gowsgi does not resolve host names here)", a, host)
		}
	}
	if port != "" && port != "*" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: %q is not a port", a, port)
		}
	}
	return nil
}

// finish runs the checks that need the whole file.
func (c *checker) finish() {
	c.finishTLS()
	for _, v := range c.cfg.VirtualHosts {
		if v.Name == "" {
			v.Name = c.cfg.Main.Name // as Apache: a virtual host inherits ServerName
		}
	}
	for _, v := range c.cfg.VirtualHosts {
		if len(c.cfg.Listen) == 0 {
			break
		}
		for _, a := range v.Addrs {
			if p := vhostPort(a); p != "" && !slices.ContainsFunc(c.cfg.Listen, func(l Listen) bool { return listenPort(l.Addr) == p }) {
				c.cfg.Warnings = append(c.cfg.Warnings, Warning{Pos: v.Pos, Directive: "<VirtualHost>",
					Msg: fmt.Sprintf("%s: no Listen line has port %s, so no request reaches it there", a, p)})
			}
		}
	}
	for _, r := range c.groups {
		if r.name == "%{GLOBAL}" {
			continue
		}
		g := c.daemons[r.name]
		if g == nil {
			c.errorf(r.d, "no WSGIDaemonProcess %q is defined", r.name)
			continue
		}
		if g.Server != nil && g.Server != r.server {
			c.errorf(r.d, "WSGIDaemonProcess %q is defined in the <VirtualHost> at %s and serves that virtual host only", r.name, g.Server.Pos)
		}
	}
	for _, g := range c.cfg.Daemons {
		if g.User != "" && g.User != c.cfg.User {
			c.add(errAt(g.Pos, "WSGIDaemonProcess", fmt.Sprintf("user=%s: gowsgi runs every worker as the server's User (%q): the Go process drops its privileges, so it cannot start workers as another user", g.User, c.cfg.User)))
		}
		if g.Group != "" && g.Group != c.cfg.Group {
			c.add(errAt(g.Pos, "WSGIDaemonProcess", fmt.Sprintf("group=%s: gowsgi runs every worker as the server's Group (%q): the Go process drops its privileges, so it cannot start workers as another group", g.Group, c.cfg.Group)))
		}
	}
}

func sortStrings(s []string) []string { slices.Sort(s); return s }

// vhostPort is the port of a <VirtualHost> address, "" for any.
func vhostPort(a string) string {
	if strings.HasPrefix(a, "[") {
		_, p, _ := strings.Cut(a[strings.IndexByte(a, ']')+1:], ":")
		if p == "*" {
			return ""
		}
		return p
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 || a[i+1:] == "*" {
		return ""
	}
	return a[i+1:]
}

// listenPort is the port of a Listen address.
func listenPort(a string) string {
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		return a[i+1:]
	}
	return a
}
