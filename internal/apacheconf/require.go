package apacheconf

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// RequireOp is the kind of a [Require] node.
type RequireOp int

const (
	// RequireLine is one Require directive: a provider and its arguments.
	RequireLine RequireOp = iota
	// RequireAll succeeds when no child fails and at least one succeeds
	// (<RequireAll>).
	RequireAll
	// RequireAny succeeds when one child does (<RequireAny>, and the
	// implicit container of several Require lines).
	RequireAny
	// RequireNone fails when one child succeeds and never grants access
	// by itself (<RequireNone>).
	RequireNone
)

func (o RequireOp) String() string {
	switch o {
	case RequireAll:
		return "RequireAll"
	case RequireAny:
		return "RequireAny"
	case RequireNone:
		return "RequireNone"
	}
	return "Require"
}

// Require is an authorization rule as mod_authz_core reads it: a tree
// of Require lines under <RequireAll>, <RequireAny> and <RequireNone>.
type Require struct {
	Pos Pos
	Op  RequireOp
	// Not is set for "Require not ...".
	Not bool
	// Provider is the line's kind: "all", "valid-user", "user", "group",
	// "ip", "method", "ldap-user", "ldap-group", "ldap-dn",
	// "ldap-attribute", "ldap-filter".
	Provider string
	// Args are the provider's arguments ("granted", user names, ...).
	Args []string
	// Limit is the <Limit>/<LimitExcept> the node was written in, nil
	// when it applies to every method.
	Limit *Limit
	// Children are the nodes of a RequireAll, RequireAny or RequireNone.
	Children []*Require
}

// Limit is a <Limit METHOD...> or <LimitExcept METHOD...> section.
type Limit struct {
	Pos     Pos
	Methods []string
	Except  bool
}

// Applies reports whether the section covers method. As in Apache, a
// <Limit GET> covers HEAD too.
func (l *Limit) Applies(method string) bool {
	if l == nil {
		return true
	}
	if method == "HEAD" {
		method = "GET"
	}
	return slices.Contains(l.Methods, method) != l.Except
}

func (l *Limit) String() string {
	name := "Limit"
	if l.Except {
		name = "LimitExcept"
	}
	return name + " " + strings.Join(l.Methods, " ")
}

func (r *Require) String() string {
	var b strings.Builder
	r.write(&b)
	return b.String()
}

func (r *Require) write(b *strings.Builder) {
	if r.Op == RequireLine {
		b.WriteString("Require")
		if r.Not {
			b.WriteString(" not")
		}
		b.WriteString(" " + r.Provider)
		for _, a := range r.Args {
			b.WriteString(" " + quote(a))
		}
	} else {
		b.WriteString(r.Op.String() + "(")
		for i, c := range r.Children {
			if i > 0 {
				b.WriteString(", ")
			}
			c.write(b)
		}
		b.WriteString(")")
	}
	if r.Limit != nil {
		b.WriteString(" [" + r.Limit.String() + "]")
	}
}

// ForMethod returns the rules that apply to method, as mod_authz_core
// evaluates them: a node written in a <Limit> that does not cover the
// method is neutral, which drops it from its container, and a container
// left empty is neutral too. nil means no rule applies: the request needs
// no authorization (Apache grants it).
func (r *Require) ForMethod(method string) *Require {
	if r == nil || !r.Limit.Applies(method) {
		return nil
	}
	if r.Op == RequireLine {
		c := *r
		c.Limit = nil
		return &c
	}
	var kids []*Require
	for _, k := range r.Children {
		if f := k.ForMethod(method); f != nil {
			kids = append(kids, f)
		}
	}
	if len(kids) == 0 {
		return nil
	}
	if len(kids) == 1 && (r.Op == RequireAny || r.Op == RequireAll) {
		return kids[0] // the same decision, written simply
	}
	c := *r
	c.Limit = nil
	c.Children = kids
	return &c
}

// requireProviders are the Require kinds gowsgi implements, with their
// argument rule (minimum count).
var requireProviders = map[string]int{
	"all":            1,
	"valid-user":     0,
	"user":           1,
	"group":          1,
	"ip":             1,
	"method":         1,
	"ldap-user":      1,
	"ldap-group":     1,
	"ldap-dn":        1,
	"ldap-attribute": 1,
	"ldap-filter":    1,
}

// parseRequire checks one Require line.
func parseRequire(d *Directive, limit *Limit) (*Require, error) {
	args := d.Args
	r := &Require{Pos: d.Pos, Op: RequireLine, Limit: limit}
	if len(args) > 0 && strings.EqualFold(args[0], "not") {
		r.Not = true
		args = args[1:]
	}
	if len(args) == 0 {
		return nil, errAt(d.Pos, d.Name, "needs a provider (valid-user, user, group, ip, method, all, ldap-group, ...)")
	}
	r.Provider = strings.ToLower(args[0])
	r.Args = args[1:]
	if strings.HasPrefix(r.Provider, "ldap-") && r.Provider != "ldap-user" && len(r.Args) > 0 {
		// mod_authnz_ldap reads a DN, filter or attribute=value list
		// from the rest of the line as written, spaces included.
		r.Args = []string{rawRest(d.Raw, len(args)-len(r.Args))}
	}
	min, ok := requireProviders[r.Provider]
	if !ok {
		return nil, errAt(d.Pos, d.Name, fmt.Sprintf("provider %q is not implemented by gowsgi", args[0]))
	}
	if len(r.Args) < min {
		return nil, errAt(d.Pos, d.Name, fmt.Sprintf("%s needs an argument", r.Provider))
	}
	switch r.Provider {
	case "all":
		if len(r.Args) != 1 || (r.Args[0] != "granted" && r.Args[0] != "denied") {
			return nil, errAt(d.Pos, d.Name, "all takes granted or denied")
		}
	case "valid-user":
		if len(r.Args) != 0 {
			return nil, errAt(d.Pos, d.Name, "valid-user takes no argument")
		}
	case "ip":
		for _, a := range r.Args {
			if _, err := parseIPSpec(a); err != nil {
				return nil, errAt(d.Pos, d.Name, err.Error())
			}
		}
	case "method":
		for _, m := range r.Args {
			if !validMethod(m) {
				return nil, errAt(d.Pos, d.Name, fmt.Sprintf("%q is not a method", m))
			}
		}
	}
	return r, nil
}

// validMethod reports whether m is an HTTP method token in upper case, as
// Apache's <Limit> and Require method expect them.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseIPSpec reads an address as mod_authz_host and mod_access_compat
// do: a full address, a CIDR prefix, an address/netmask, or the leading
// octets of an IPv4 address ("10.1" is 10.1.0.0/16). Host names are not
// supported (Apache would look them up in the DNS on every request).
func parseIPSpec(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if addr, mask, ok := strings.Cut(s, "/"); ok {
		a, err1 := netip.ParseAddr(addr)
		m, err2 := netip.ParseAddr(mask)
		if err1 == nil && err2 == nil && a.Is4() && m.Is4() {
			mb := m.As4()
			v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
			ones := 0
			for v&(1<<31) != 0 {
				ones++
				v <<= 1
			}
			if v == 0 {
				return netip.PrefixFrom(a, ones).Masked(), nil
			}
		}
		return netip.Prefix{}, fmt.Errorf("%q is not an address, a CIDR prefix or an address/netmask", s)
	}
	parts := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(parts) >= 1 && len(parts) < 4 {
		var b [4]byte
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > 255 || p == "" {
				return netip.Prefix{}, fmt.Errorf("%q is not an address (host names are not supported: write addresses)", s)
			}
			b[i] = byte(n)
		}
		return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts)), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is not an address (host names are not supported: write addresses)", s)
}

// rawRest returns raw without its first n words; a rest that is one
// quoted word is unquoted.
func rawRest(raw string, n int) string {
	for range n {
		_, raw, _ = getWord(raw)
	}
	raw = strings.TrimSpace(raw)
	if w, rest, ok := getWord(raw); ok && rest == "" && len(raw) > 0 && (raw[0] == '"' || raw[0] == '\'') {
		return w
	}
	return raw
}
