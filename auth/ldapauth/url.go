package ldapauth

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Security is how a connection to the directory is protected: the optional
// last word of Apache's AuthLDAPURL directive.
type Security int

const (
	// SecurityNone is plain LDAP (keyword NONE, the default for ldap://).
	SecurityNone Security = iota
	// SecuritySSL is LDAP over TLS from the first byte (keyword SSL, the
	// default for ldaps://).
	SecuritySSL
	// SecurityStartTLS upgrades a plain connection with the StartTLS
	// extended operation (keywords TLS and STARTTLS).
	SecurityStartTLS
)

func (s Security) String() string {
	switch s {
	case SecuritySSL:
		return "SSL"
	case SecurityStartTLS:
		return "STARTTLS"
	default:
		return "NONE"
	}
}

// URL is a parsed AuthLDAPURL: where the directory is and how users are
// found in it. [ParseURL] fills it as mod_authnz_ldap does.
type URL struct {
	// Scheme is "ldap" or "ldaps".
	Scheme string
	// Hosts are the servers as "host:port", tried in order: the second is
	// used only when a connection to the first fails (refused, or not
	// established within its share of the Timeout), and so on. A server
	// that accepts connections but does not answer is not skipped: the
	// call fails after Timeout.
	Hosts []string
	// BaseDN is where searches start; "" is the root DSE.
	BaseDN string
	// Attribute is the attribute holding the login name, matched against
	// the name the client sent: the first attribute of the URL, "uid" when
	// the URL lists none. Active Directory uses "sAMAccountName" or
	// "userPrincipalName".
	Attribute string
	// Attributes are all the attributes the URL lists; they are fetched
	// with the user's entry (Apache exports them as AUTHENTICATE_*). Nil
	// when the URL lists none.
	Attributes []string
	// Scope is ldap.ScopeWholeSubtree or ldap.ScopeSingleLevel; like
	// Apache, a URL scope of "base" (or none) searches the whole subtree.
	Scope int
	// Filter is the search filter without its outer parentheses
	// ("objectClass=user"); "" means none (the URL said "none").
	Filter string
	// Security is how connections are protected.
	Security Security
}

// URLError is returned by [ParseURL]; Part names the part of the URL that
// is wrong ("scheme", "host", "port", "dn", "attributes", "scope",
// "filter", "extensions", "mode").
type URLError struct {
	URL    string
	Part   string
	Reason string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("ldapauth: AuthLDAPURL %q: bad %s: %s", e.URL, e.Part, e.Reason)
}

// ParseURL parses the arguments of Apache's AuthLDAPURL directive: an LDAP
// URL, optionally followed by a space and one of the connection mode
// keywords NONE, SSL, TLS or STARTTLS (any case):
//
//	ldap://host1 host2:3268/DC=example,DC=com?sAMAccountName?sub?(objectClass=user) TLS
//
// It follows apr_ldap_url_parse and mod_authnz_ldap: an optional "<...>"
// enclosure and "URL:" prefix; several space-separated hosts, each with an
// optional port, the last port given being the default for the others
// (otherwise 389, or 636 for ldaps); percent-escapes in every part; the
// first listed attribute as the login attribute ("uid" by default); scope
// "one"/"onetree" for one level, anything else ("base", "sub", "subtree",
// none) for the whole subtree; a filter whose outer parentheses are dropped,
// "(objectClass=*)" by default and no filter for "none"; extensions after a
// fourth "?", ignored unless critical ("!").
//
// It is stricter than Apache where Apache would go on with garbage: a bad
// percent-escape, a NUL byte, a port that is not a number from 1 to 65535, a
// filter that does not compile, a critical extension, and the ldapi scheme
// are errors (a [*URLError] naming the part). A DN ending with a space and
// one of the mode keywords must escape that space as %20.
func ParseURL(s string) (*URL, error) {
	raw, mode := s, ""
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		switch w := s[i+1:]; strings.ToUpper(w) {
		case "NONE", "SSL", "TLS", "STARTTLS":
			raw, mode = strings.TrimRight(s[:i], " "), w
		}
	}
	u, err := parseLDAPURL(raw)
	if err != nil {
		return nil, err
	}
	switch strings.ToUpper(mode) {
	case "SSL":
		u.Security = SecuritySSL
	case "TLS", "STARTTLS":
		u.Security = SecurityStartTLS
	}
	if u.Scheme == "ldaps" {
		u.Security = SecuritySSL
	}
	return u, nil
}

func parseLDAPURL(in string) (*URL, error) {
	bad := func(part, format string, args ...any) error {
		return &URLError{URL: in, Part: part, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.IndexByte(in, 0) >= 0 {
		return nil, bad("url", "contains a NUL byte")
	}
	rest := in
	enclosed := strings.HasPrefix(rest, "<")
	if enclosed {
		rest = rest[1:]
	}
	if len(rest) >= 4 && strings.EqualFold(rest[:4], "URL:") {
		rest = rest[4:]
	}
	u := &URL{Scheme: "ldap", Scope: ldap.ScopeWholeSubtree}
	defPort := 389
	switch {
	case hasPrefixFold(rest, "ldap://"):
		rest = rest[len("ldap://"):]
	case hasPrefixFold(rest, "ldaps://"):
		rest = rest[len("ldaps://"):]
		u.Scheme, defPort = "ldaps", 636
	case hasPrefixFold(rest, "ldapi://"):
		return nil, bad("scheme", "ldapi (a Unix socket) is not supported; use ldap:// or ldaps://")
	default:
		return nil, bad("scheme", "want ldap:// or ldaps://")
	}
	if enclosed {
		if !strings.HasSuffix(rest, ">") {
			return nil, bad("url", "opening '<' without closing '>'")
		}
		rest = rest[:len(rest)-1]
	}

	hostport, path, hasPath := strings.Cut(rest, "/")
	if !hasPath {
		// apr's kludge for old Novell referrals: "ldap://host:389??dn".
		if c := strings.LastIndexByte(hostport, ':'); c >= 0 {
			if q := strings.IndexByte(hostport[c:], '?'); q >= 0 && strings.HasPrefix(hostport[c+q:], "??") {
				dn, err := unescape(hostport[c+q+2:])
				if err != nil {
					return nil, bad("dn", "%v", err)
				}
				u.BaseDN, hostport = dn, hostport[:c+q]
			}
		}
	}
	hosts, err := unescape(hostport)
	if err != nil {
		return nil, bad("host", "%v", err)
	}
	// The number after the last colon (outside an IPv6 literal) is the
	// default port of every host that gives none, as with ldap_init's host
	// list; apr reads it with atoi, so "h1:1000 h2" puts both on 1000.
	afterV6 := strings.LastIndexByte(hosts, ']') + 1
	if c := strings.LastIndexByte(hosts[afterV6:], ':'); c >= 0 {
		p, _, _ := strings.Cut(hosts[afterV6+c+1:], " ")
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, bad("port", "%q is not a port number", p)
		}
		defPort = n
	}
	for _, h := range strings.Fields(hosts) {
		hp, err := hostWithPort(h, defPort)
		if err != nil {
			return nil, bad("host", "%v", err)
		}
		u.Hosts = append(u.Hosts, hp)
	}
	if len(u.Hosts) == 0 {
		u.Hosts = []string{net.JoinHostPort("localhost", strconv.Itoa(defPort))}
	}

	u.Attribute = "uid"
	filter := "(objectclass=*)"
	if hasPath {
		parts := strings.Split(path, "?")
		if len(parts) > 5 {
			return nil, bad("url", "more than four '?'")
		}
		for len(parts) < 5 {
			parts = append(parts, "")
		}
		if u.BaseDN, err = unescape(parts[0]); err != nil {
			return nil, bad("dn", "%v", err)
		}
		attrs, err := unescape(parts[1])
		if err != nil {
			return nil, bad("attributes", "%v", err)
		}
		for _, a := range strings.Split(attrs, ",") {
			if a != "" {
				u.Attributes = append(u.Attributes, a)
			}
		}
		if len(u.Attributes) > 0 {
			u.Attribute = u.Attributes[0]
		}
		for _, a := range u.Attributes {
			if !validAttr(a) {
				return nil, bad("attributes", "%q is not an attribute name", a)
			}
		}
		if parts[2] != "" {
			sc, err := unescape(parts[2])
			if err != nil {
				return nil, bad("scope", "%v", err)
			}
			switch strings.ToLower(sc) {
			case "one", "onetree":
				u.Scope = ldap.ScopeSingleLevel
			case "base", "sub", "subtree":
			default:
				return nil, bad("scope", "%q: want base, one or sub", sc)
			}
		}
		if parts[3] != "" {
			if filter, err = unescape(parts[3]); err != nil {
				return nil, bad("filter", "%v", err)
			}
			if filter == "" {
				return nil, bad("filter", "empty after unescaping")
			}
		}
		if len(strings.Split(path, "?")) == 5 {
			exts, err := unescape(parts[4])
			if err != nil {
				return nil, bad("extensions", "%v", err)
			}
			n := 0
			for _, e := range strings.Split(exts, ",") {
				if e == "" {
					continue
				}
				n++
				if strings.HasPrefix(e, "!") {
					return nil, bad("extensions", "critical extension %q is not supported", e)
				}
			}
			if n == 0 {
				return nil, bad("extensions", "'?' not followed by an extension")
			}
		}
	}
	if strings.HasPrefix(filter, "(") {
		// Apache drops the first and the last character blindly.
		if len(filter) < 2 || !strings.HasSuffix(filter, ")") {
			return nil, bad("filter", "%q: '(' without a closing ')'", filter)
		}
		filter = filter[1 : len(filter)-1]
	}
	if strings.EqualFold(filter, "none") {
		filter = ""
	}
	if filter != "" {
		if _, err := ldap.CompileFilter("(" + filter + ")"); err != nil {
			return nil, bad("filter", "(%s): %v", filter, err)
		}
	}
	u.Filter = filter
	return u, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hostWithPort turns "host", "host:port", "[v6]" or "[v6]:port" into
// "host:port".
func hostWithPort(h string, defPort int) (string, error) {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", fmt.Errorf("%q: IPv6 address without closing ']'", h)
		}
		host, rest := h[1:end], h[end+1:]
		if rest == "" {
			return net.JoinHostPort(host, strconv.Itoa(defPort)), nil
		}
		p, ok := strings.CutPrefix(rest, ":")
		n, err := strconv.Atoi(p)
		if !ok || err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q: bad port", h)
		}
		return net.JoinHostPort(host, p), nil
	}
	host, p, hasPort := strings.Cut(h, ":")
	if host == "" || strings.ContainsAny(host, "[]/?") {
		return "", fmt.Errorf("%q is not a host name", h)
	}
	if !hasPort {
		return net.JoinHostPort(host, strconv.Itoa(defPort)), nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: bad port", h)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// unescape decodes %XX escapes, refusing a malformed escape and a NUL.
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape %q", s[i:])
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad escape %q", s[i:i+3])
		}
		c := byte(hi<<4 | lo)
		if c == 0 {
			return "", errors.New("escaped NUL byte")
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// validAttr reports whether a is an attribute description: a name or an
// OID, with options ("cn;lang-en").
func validAttr(a string) bool {
	if a == "" {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ';') {
			return false
		}
	}
	return true
}
