package kerberos

import (
	"strings"

	"github.com/gowsgi/gowsgi/auth"
)

// splitPrincipal splits "user@REALM" at its last "@". ok is false when there
// is no realm.
func splitPrincipal(p string) (user, realm string, ok bool) {
	i := strings.LastIndexByte(p, '@')
	if i <= 0 || i == len(p)-1 {
		return p, "", false
	}
	return p[:i], p[i+1:], true
}

// LocalName returns an [auth.Normalizer] that turns a principal of one of
// realms into the bare user name ("alice@EXAMPLE.COM" → "alice"), as
// mod_auth_gssapi's GssapiLocalName does with MIT's default mapping, or
// mod_auth_sspi's SSPIOmitDomain. A principal of any other realm keeps its
// "@REALM", so that alice of a trusted foreign realm never becomes the local
// alice. Realms compare case-sensitively, as Kerberos does. With no realms
// every realm is stripped: use that only where a single realm can reach the
// server.
func LocalName(realms ...string) auth.Normalizer {
	rs := append([]string(nil), realms...)
	return func(name string) string {
		user, realm, ok := splitPrincipal(name)
		if !ok {
			return name
		}
		if len(rs) == 0 {
			return user
		}
		for _, r := range rs {
			if r == realm {
				return user
			}
		}
		return name
	}
}

// DownLevel returns an [auth.Normalizer] that writes a principal in the
// Windows down-level form the WSGI script of Trac's mod_wsgi guide expected from
// mod_auth_sspi: "alice@EXAMPLE.COM" → `EXAMPLE\alice` for domain "EXAMPLE".
// An empty domain keeps the realm: `EXAMPLE.COM\alice`. A name without a
// realm is returned unchanged.
func DownLevel(domain string) auth.Normalizer {
	return func(name string) string {
		user, realm, ok := splitPrincipal(name)
		if !ok {
			return name
		}
		if domain != "" {
			realm = domain
		}
		return realm + `\` + user
	}
}
