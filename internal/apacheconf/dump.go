package apacheconf

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Dump writes the text form of the configuration that `gowsgi -dump`
// prints; the package documentation describes it.
func (c *Config) Dump(w io.Writer) error {
	d := &dumper{cfg: c, w: w}
	d.line(0, Pos{}, "serverroot %s", quote(c.ServerRoot))
	for _, l := range c.Listen {
		if l.Protocol != "" {
			d.line(0, l.Pos, "listen %s %s", l.Addr, l.Protocol)
		} else {
			d.line(0, l.Pos, "listen %s", l.Addr)
		}
	}
	if t := c.TLS; t != nil {
		protos := "h2,http/1.1"
		if !t.HTTP2 {
			protos = "http/1.1"
		}
		key := t.KeyFile
		if key == "" {
			key = "-"
		}
		hsts := ""
		if t.HSTS > 0 {
			hsts = fmt.Sprintf(" hsts=%d", int64(t.HSTS.Seconds()))
		}
		if t.CertFile == "" {
			a := t.ACME
			extra := ""
			if a.Email != "" {
				extra += " email=" + quote(a.Email)
			}
			if a.DirectoryURL != "" {
				extra += " ca=" + quote(a.DirectoryURL)
			}
			d.line(0, t.Pos, "tls acme=%s%s protocols=%s%s", strings.Join(a.Domains, ","), extra, protos, hsts)
		} else {
			d.line(0, t.Pos, "tls %s %s protocols=%s%s", quote(t.CertFile), quote(key), protos, hsts)
		}
	}
	for _, g := range c.Daemons {
		d.line(0, g.Pos, "daemon %s", g.options())
	}
	for _, s := range c.Sites() {
		d.site(s)
	}
	return d.err
}

type dumper struct {
	cfg *Config
	w   io.Writer
	err error
}

func (d *dumper) line(indent int, p Pos, format string, args ...any) {
	if d.err != nil {
		return
	}
	s := strings.Repeat("  ", indent) + fmt.Sprintf(format, args...)
	if p.File != "" {
		s += "  # " + p.String()
	}
	_, d.err = io.WriteString(d.w, s+"\n")
}

func (g *Daemon) options() string {
	parts := []string{quote(g.Name)}
	add := func(k string, v any, set bool) {
		if set {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	add("processes", g.Processes, g.Processes != 0)
	add("threads", g.Threads, g.Threads != 0)
	add("python-path", strings.Join(g.PythonPath, ":"), len(g.PythonPath) > 0)
	add("python-home", g.PythonHome, g.PythonHome != "")
	add("display-name", g.DisplayName, g.DisplayName != "")
	add("request-timeout", int(g.RequestTimeout.Seconds()), g.RequestTimeout != 0)
	add("queue-timeout", int(g.QueueTimeout.Seconds()), g.QueueTimeout != 0)
	add("inactivity-timeout", int(g.InactivityTimeout.Seconds()), g.InactivityTimeout != 0)
	add("graceful-timeout", int(g.GracefulTimeout.Seconds()), g.GracefulTimeout != 0)
	add("startup-timeout", int(g.StartupTimeout.Seconds()), g.StartupTimeout != 0)
	add("maximum-requests", g.MaximumRequests, g.MaximumRequests != 0)
	add("memory-limit", g.MemoryLimit, g.MemoryLimit != 0)
	add("listen-backlog", g.ListenBacklog, g.ListenBacklog != 0)
	add("user", g.User, g.User != "")
	add("group", g.Group, g.Group != "")
	if g.Server != nil {
		parts = append(parts, "vhost="+strings.Join(g.Server.Addrs, ","))
	}
	return strings.Join(parts, " ")
}

func (d *dumper) site(s *Server) {
	addr := "main"
	if !s.IsMain() {
		addr = strings.Join(s.Addrs, ",")
	}
	name := s.Name
	if name == "" {
		name = "-"
	}
	line := fmt.Sprintf("site %s %s", addr, name)
	if len(s.Aliases) > 0 {
		line += " alias=" + strings.Join(s.Aliases, ",")
	}
	d.line(0, s.Pos, "%s", line)
	for _, a := range s.Statics {
		d.line(1, a.Pos, "alias %s %s", a.URL, quote(a.Dir))
	}
	for _, m := range s.Mounts {
		line := fmt.Sprintf("mount %s %s", m.URL, quote(m.Script))
		if m.ProcessGroup != "" {
			line += " process-group=" + m.ProcessGroup
		}
		if m.ApplicationGroup != "" {
			line += " application-group=" + m.ApplicationGroup
		}
		if m.CallableObject != "" {
			line += " callable-object=" + m.CallableObject
		}
		if m.PassAuthorization != nil {
			line += fmt.Sprintf(" pass-authorization=%s", map[bool]string{true: "On", false: "Off"}[*m.PassAuthorization])
		}
		// The pool the mount's own URL runs in: its process group and
		// resolved application group (sections for paths below it may
		// choose others).
		host := s.Name
		if host == "" {
			host = "*" // mod_wsgi names it after each request's host
		}
		e := d.cfg.resolve(s, host, m.URL, "GET")
		group := e.ProcessGroup
		if group == "" {
			group = "-"
		}
		line += fmt.Sprintf(" pool=%s,%s", group, quote(e.AppGroupKey))
		d.line(1, m.Pos, "%s", line)
	}
	d.body(1, opDirectives(s.defaults), s.defaults)
	secs := slices.Clone(s.Sections)
	order := map[string]int{"Directory": 0, "DirectoryMatch": 0, "Files": 1, "FilesMatch": 1, "Location": 2, "LocationMatch": 2}
	slices.SortStableFunc(secs, func(a, b *Section) int {
		if oa, ob := order[a.Kind], order[b.Kind]; oa != ob {
			return oa - ob
		}
		if order[a.Kind] == 0 {
			return dirKey(a) - dirKey(b)
		}
		return 0
	})
	for _, sec := range secs {
		d.section(1, sec)
	}
}

func (d *dumper) section(indent int, sec *Section) {
	kind := strings.ToLower(sec.Kind)
	pat := sec.Pattern
	if sec.Regexp && !strings.HasSuffix(sec.Kind, "Match") {
		pat = "~ " + quote(pat)
	} else {
		pat = quote(pat)
	}
	d.line(indent, sec.Pos, "%s %s", kind, pat)
	d.body(indent+1, sec.Directives, sec)
	for _, f := range sec.Files {
		d.section(indent+1, f)
	}
}

// body writes the settings of a section in file order: "set" for a
// directive, "require" for an authorization rule, "access" for
// Order/Allow/Deny/Satisfy, "limit" for a <Limit> section.
func (d *dumper) body(indent int, ds []*Directive, sec *Section) {
	for _, x := range ds {
		lname := strings.ToLower(x.Name)
		switch {
		case x.Section && (lname == "limit" || lname == "limitexcept"):
			d.line(indent, x.Pos, "%s %s", lname, strings.Join(x.Args, " "))
			d.body(indent+1, x.Block, sec)
		case x.Section && strings.HasPrefix(lname, "require"):
			if r := findRequire(sec.require, x.Pos); r != nil {
				r2 := *r
				r2.Limit = nil
				d.line(indent, x.Pos, "require %s", r2.String())
			}
		case x.Section:
			// nested <Files>: written after the body
		case lname == "require":
			d.line(indent, x.Pos, "require %s", x.String()[len("Require "):])
		case lname == "order" || lname == "allow" || lname == "deny" || lname == "satisfy":
			d.line(indent, x.Pos, "access %s", x.String())
		default:
			if sp := table[lname]; sp != nil && sp.status == supported && sp.where&dirs != 0 {
				d.line(indent, x.Pos, "set %s", x.String())
			}
		}
	}
}

func findRequire(r *Require, p Pos) *Require {
	if r == nil {
		return nil
	}
	if r.Pos == p && r.Op != RequireLine {
		return r
	}
	for _, k := range r.Children {
		if f := findRequire(k, p); f != nil {
			return f
		}
	}
	return nil
}

// opDirectives returns the directives of a section's settings (for a
// server's defaults, which are not a section of the file).
func opDirectives(s *Section) []*Directive {
	var ds []*Directive
	for _, o := range s.ops {
		ds = append(ds, o.d)
	}
	return ds
}
