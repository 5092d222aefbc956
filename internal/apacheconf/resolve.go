package apacheconf

import (
	"net"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Sites returns the servers a request can reach, in the order they are
// tried: each <VirtualHost> in file order, then the main server.
func (c *Config) Sites() []*Server {
	return append(slices.Clone(c.VirtualHosts), c.Main)
}

// Server returns the server that answers a request for host (the Host
// header: a name with an optional :port), as Apache's name-based virtual
// hosting picks it: among the virtual hosts whose address has that port
// (or any port), the first whose ServerName or ServerAlias matches the
// name, else the first of them; the main server when no virtual host has
// the port. gowsgi does not know the local address here, so a virtual
// host's IP address is not compared.
func (c *Config) Server(host string) *Server {
	name, port := splitHostPort(host)
	var cands []*Server
	for _, v := range c.VirtualHosts {
		if port == 0 || slices.ContainsFunc(v.Addrs, func(a string) bool { return addrHasPort(a, port) }) {
			cands = append(cands, v)
		}
	}
	if len(cands) == 0 {
		return c.Main
	}
	for _, v := range cands {
		if v.matchesName(name) {
			return v
		}
	}
	return cands[0]
}

func splitHostPort(host string) (string, int) {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		return strings.ToLower(strings.TrimSuffix(host, ".")), 0
	}
	n, _ := strconv.Atoi(p)
	return strings.ToLower(strings.TrimSuffix(h, ".")), n
}

func addrHasPort(a string, port int) bool {
	i := strings.LastIndexByte(a, ':')
	if i < 0 || strings.HasSuffix(a, "]") {
		return true // no port: any
	}
	p := a[i+1:]
	return p == "*" || p == strconv.Itoa(port)
}

func (s *Server) matchesName(name string) bool {
	if s.Name != "" {
		n, _ := splitHostPort(s.Name)
		if n == name {
			return true
		}
	}
	for _, a := range s.Aliases {
		if ok, _ := path.Match(strings.ToLower(a), name); ok {
			return true
		}
	}
	return false
}

// prefixMatch reports whether the URL prefix p (of an Alias or a
// WSGIScriptAlias) covers the path u on whole segments, as mod_alias
// matches: "/trac" covers "/trac" and "/trac/x" but not "/tracx"; a
// prefix ending in "/" covers only what is below it.
func prefixMatch(p, u string) bool {
	if !strings.HasPrefix(u, p) {
		return false
	}
	return strings.HasSuffix(p, "/") || len(u) == len(p) || u[len(p)] == '/'
}

// Resolve merges the sections that apply to a request for host, the
// canonical path (percent-decoded, with no dot segments nor repeated
// slashes: what the prefix package makes of a request) and method, as
// Apache merges them: the server's own settings (the main server's, then
// the virtual host's), then the <Directory> sections matching the file
// the path maps to (shortest path first, regular expressions last),
// then <Files>, then <Location> and <LocationMatch> in file order; a
// later section wins. The main server's sections come before the virtual
// host's within each step. Requires in a section replace those of the
// sections before it (AuthMerging Off, Apache's default). Resolve only
// reads c: it is safe for concurrent use.
func (c *Config) Resolve(host, urlPath, method string) *Effective {
	return c.resolve(c.Server(host), host, urlPath, method)
}

// resolve is Resolve on a server already chosen.
func (c *Config) resolve(srv *Server, host, urlPath, method string) *Effective {
	e := &Effective{
		Server:           srv,
		ScriptReloading:  true,
		CallableObject:   "application",
		ApplicationGroup: "%{RESOURCE}",
		LimitRequestBody: 1 << 30,
		Satisfy:          "All",
	}
	servers := []*Server{c.Main}
	if srv != c.Main {
		servers = []*Server{srv, c.Main} // mod_alias: the virtual host's aliases first
	}
	for _, s := range servers {
		if e.Static != nil {
			break
		}
		for _, a := range s.Statics {
			if prefixMatch(a.URL, urlPath) {
				e.Static = a
				e.Filename = filepath.Join(a.Dir, filepath.FromSlash(strings.TrimPrefix(urlPath, a.URL)))
				break
			}
		}
	}
	if e.Static == nil {
		for _, s := range servers {
			if e.Mount != nil {
				break
			}
			for _, m := range s.Mounts {
				if prefixMatch(m.URL, urlPath) {
					e.Mount = m
					e.Filename = m.Script
					break
				}
			}
		}
	}
	slices.Reverse(servers) // merging: the main server first
	var secs []*Section
	for _, s := range servers {
		secs = append(secs, s.defaults)
	}
	secs = append(secs, c.sectionsFor(servers, e.Filename, urlPath)...)
	for _, s := range secs {
		st := &mergeState{started: map[string]bool{}, method: method}
		for _, o := range s.ops {
			o.apply(e, st)
		}
		if s.require != nil {
			e.require = s.require
		}
		if s.Kind != "server" {
			e.Sections = append(e.Sections, s)
		}
	}
	e.Require = e.require.ForMethod(method)
	if e.access.set {
		order := e.access.order
		if order == "" {
			order = "deny,allow"
		}
		e.Access = &HostAccess{Order: order, Allow: e.access.allow, Deny: e.access.deny}
	}
	if m := e.Mount; m != nil {
		if m.ProcessGroup != "" {
			e.ProcessGroup = m.ProcessGroup
		}
		if m.ApplicationGroup != "" {
			e.ApplicationGroup = m.ApplicationGroup
		}
		if m.CallableObject != "" {
			e.CallableObject = m.CallableObject
		}
		if m.PassAuthorization != nil {
			e.PassAuthorization = *m.PassAuthorization
		}
	}
	if e.ProcessGroup == "%{GLOBAL}" {
		e.ProcessGroup = ""
	}
	if e.Mount != nil {
		e.AppGroupKey = appGroupKey(e, host)
	}
	return e
}

// appGroupKey resolves the application group as mod_wsgi names its
// interpreters.
func appGroupKey(e *Effective, host string) string {
	server := e.Server.Name
	if server == "" {
		server = host
	}
	name, port := splitHostPort(server)
	if port != 0 && port != 80 && port != 443 {
		name += ":" + strconv.Itoa(port)
	}
	switch e.ApplicationGroup {
	case "%{GLOBAL}":
		return ""
	case "%{SERVER}":
		return name
	case "%{RESOURCE}":
		script := ""
		if e.Mount != nil {
			script = strings.TrimSuffix(e.Mount.URL, "/")
		}
		return name + "|" + script
	}
	return e.ApplicationGroup
}

// sectionsFor lists the sections that apply, in the order Apache merges
// them.
func (c *Config) sectionsFor(servers []*Server, filename, urlPath string) []*Section {
	var dirs, files, locs []*Section
	for _, s := range servers {
		for _, sec := range s.Sections {
			switch sec.Kind {
			case "Directory", "DirectoryMatch":
				dirs = append(dirs, sec)
			case "Files", "FilesMatch":
				files = append(files, sec)
			default:
				locs = append(locs, sec)
			}
		}
	}
	// Apache sorts <Directory> sections: plain paths by their number of
	// components, shortest first (file order among equals), then the
	// regular expressions in file order.
	slices.SortStableFunc(dirs, func(a, b *Section) int {
		ka, kb := dirKey(a), dirKey(b)
		return ka - kb
	})
	var out []*Section
	if filename != "" {
		for _, d := range dirs {
			if d.matchDir(filename) {
				out = append(out, d)
				files = append(files, d.Files...)
			}
		}
		base := filepath.Base(filename)
		for _, f := range files {
			if f.matchFile(base) {
				out = append(out, f)
			}
		}
	}
	for _, l := range locs {
		if l.matchLocation(urlPath) {
			out = append(out, l)
		}
	}
	return out
}

func dirKey(s *Section) int {
	if s.Regexp {
		return 1 << 20
	}
	return strings.Count(strings.TrimSuffix(s.Pattern, "/"), "/")
}

// matchDir reports whether a <Directory> section covers the file: its
// path is the directory holding the file or one above it (compared
// component by component, each component a wildcard pattern). As in
// Apache, a <Directory> naming the file itself does not apply to it (the
// virtual-host example of Trac's mod_wsgi guide has one: Apache ignores
// it). A regular expression is matched against the file's whole path,
// as Apache 2.4 with mod_wsgi does (TestDirectoryApache).
func (s *Section) matchDir(filename string) bool {
	if s.Regexp {
		return s.re.MatchString(filename)
	}
	dir := filepath.Dir(filename)
	if s.Pattern == "/" {
		return true
	}
	pat := strings.Split(strings.Trim(s.Pattern, "/"), "/")
	comp := strings.Split(strings.Trim(dir, "/"), "/")
	if len(pat) > len(comp) {
		return false
	}
	for i, p := range pat {
		if ok, _ := path.Match(p, comp[i]); !ok {
			return false
		}
	}
	return true
}

func (s *Section) matchFile(base string) bool {
	if s.Regexp {
		return s.re.MatchString(base)
	}
	ok, _ := path.Match(s.Pattern, base)
	return ok
}

// matchLocation matches the canonical path as Apache's location walk:
// a regular expression anywhere in it; a wildcard pattern against the
// whole path; a plain path as a prefix ending at a segment boundary
// unless the pattern ends in "/".
func (s *Section) matchLocation(u string) bool {
	if s.Regexp {
		return s.re.MatchString(u)
	}
	if hasMeta(s.Pattern) {
		ok, _ := path.Match(s.Pattern, u)
		return ok
	}
	return prefixMatch(s.Pattern, u)
}
