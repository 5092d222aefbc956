package ldapauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// inChainOID is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN.
const inChainOID = "1.2.840.113556.1.4.1941"

// RequireKinds lists the Require kinds [Directory.Require] understands.
var RequireKinds = []string{"ldap-user", "ldap-dn", "ldap-group", "ldap-attribute", "ldap-filter"}

// Require returns the rule of the Require line "kind args...", as
// mod_authnz_ldap reads it:
//
//	ldap-user name...         the user's entry has one of the names in the URL's attribute
//	ldap-dn DN                the user's entry is DN
//	ldap-group DN             the user is a member of group DN, directly or nested
//	ldap-attribute a=v...     the user's entry has attribute a with value v (any pair)
//	ldap-filter filter        the user's entry matches the LDAP filter
//
// For ldap-dn, ldap-group and ldap-filter the arguments are joined with
// spaces, so a DN with spaces needs no quoting. Arguments are checked here:
// a bad DN or filter is an error now, not at request time.
func (d *Directory) Require(kind string, args []string) (auth.Rule, error) {
	switch kind {
	case "ldap-user":
		if len(args) == 0 {
			return nil, errors.New("ldapauth: Require ldap-user: no name")
		}
		return d.RequireUser(args...), nil
	case "ldap-dn":
		return d.RequireDN(joinArgs(args))
	case "ldap-group":
		return d.RequireGroup(joinArgs(args))
	case "ldap-attribute":
		return d.RequireAttribute(args...)
	case "ldap-filter":
		return d.RequireFilter(joinArgs(args))
	}
	return nil, fmt.Errorf("ldapauth: unknown Require kind %q (want one of %s)", kind, strings.Join(RequireKinds, ", "))
}

// rule adapts a check on the user's DN to [auth.Rule]: anonymous requests
// get [auth.DeniedNoUser], failures to reach the directory an error (which
// [auth.MustRequire] logs and answers with 503).
func (d *Directory) rule(name string, check func(ctx context.Context, u *auth.User, dn string) (bool, error)) auth.Rule {
	return auth.UserRule(func(r *http.Request, u *auth.User) (auth.Decision, error) {
		if u == nil {
			return auth.DeniedNoUser, nil
		}
		ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
		defer cancel()
		dn, err := d.userDN(ctx, u)
		if err != nil {
			return auth.Denied, fmt.Errorf("ldapauth: Require %s: %w", name, err)
		}
		if dn == "" {
			d.logger.InfoContext(ctx, "ldapauth: Require "+name+": user has no entry in the directory",
				append(reqctx.LogAttrs(r), slog.String("user", u.Name))...)
			return auth.Denied, nil
		}
		ok, err := check(ctx, u, dn)
		if err != nil {
			return auth.Denied, fmt.Errorf("ldapauth: Require %s: %w", name, err)
		}
		if ok {
			return auth.Granted, nil
		}
		return auth.Denied, nil
	})
}

// userDN returns the DN of u's entry: the one found at login, or, for a
// user authenticated otherwise (Kerberos), the entry whose URL attribute is
// u's name. "" means no entry.
func (d *Directory) userDN(ctx context.Context, u *auth.User) (string, error) {
	if dns := u.Attributes["dn"]; len(dns) > 0 && dns[0] != "" {
		return dns[0], nil
	}
	if dn, ok := d.dns.Get(u.Name); ok {
		return dn, nil
	}
	req := ldap.NewSearchRequest(d.url.BaseDN, d.url.Scope, ldap.DerefAlways,
		2, 0, false, d.UserFilter(u.Name), []string{"1.1"}, nil)
	entries, err := d.search(ctx, req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return "", err
	}
	dn := ""
	if len(entries) == 1 && err == nil {
		dn = entries[0].DN
	}
	d.dns.Put(u.Name, dn)
	return dn, nil
}

// cached returns the cached answer for key, or computes and caches it.
func (d *Directory) cached(key string, f func() (bool, error)) (bool, error) {
	if v, ok := d.answers.Get(key); ok {
		return v, nil
	}
	v, err := f()
	if err != nil {
		return false, err
	}
	d.answers.Put(key, v)
	return v, nil
}

// compare runs an LDAP compare with the service account. An entry or
// attribute that does not exist is a false answer, not an error.
func (d *Directory) compare(ctx context.Context, dn, attr, value string) (bool, error) {
	return d.cached("cmp\x00"+dn+"\x00"+attr+"\x00"+value, func() (bool, error) {
		var ok bool
		err := d.service.do(ctx, func(c *ldap.Conn) error {
			var err error
			ok, err = c.Compare(dn, attr, value)
			return err
		})
		if err != nil && !IsUnavailable(err) {
			if ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject, ldap.LDAPResultNoSuchAttribute,
				ldap.LDAPResultUndefinedAttributeType, ldap.LDAPResultInappropriateMatching,
				ldap.LDAPResultInsufficientAccessRights) {
				d.logger.LogAttrs(ctx, slog.LevelDebug, "ldapauth: compare refused", slog.String("dn", dn), slog.String("attribute", attr), slog.Any("err", err))
				return false, nil
			}
			return false, fmt.Errorf("compare %s on %q: %w", attr, dn, err)
		}
		return ok, err
	})
}

// matches reports whether the entry dn matches filter (a base search).
func (d *Directory) matches(ctx context.Context, dn, filter string) (bool, error) {
	return d.cached("flt\x00"+dn+"\x00"+filter, func() (bool, error) {
		req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, 0, false, filter, []string{"1.1"}, nil)
		entries, err := d.search(ctx, req)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return len(entries) > 0, nil
	})
}

// RequireUser returns the rule Require ldap-user: the user's entry holds
// one of names in the URL's attribute (compared by the server, so with the
// attribute's matching rule, usually case-insensitive).
func (d *Directory) RequireUser(names ...string) auth.Rule {
	names = append([]string(nil), names...)
	return d.rule("ldap-user", func(ctx context.Context, u *auth.User, dn string) (bool, error) {
		for _, n := range names {
			ok, err := d.compare(ctx, dn, d.url.Attribute, n)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	})
}

// RequireDN returns the rule Require ldap-dn: the user's entry is dn,
// compared as DNs (attribute names and values case-insensitively, spaces
// around separators ignored).
func (d *Directory) RequireDN(dn string) (auth.Rule, error) {
	want, err := ldap.ParseDN(dn)
	if err != nil || dn == "" {
		return nil, fmt.Errorf("ldapauth: Require ldap-dn %q: not a DN: %v", dn, err)
	}
	return d.rule("ldap-dn", func(ctx context.Context, u *auth.User, dn string) (bool, error) {
		got, err := ldap.ParseDN(dn)
		if err != nil {
			return false, nil
		}
		return got.EqualFold(want), nil
	}), nil
}

// RequireAttribute returns the rule Require ldap-attribute: the user's
// entry has one of the attribute=value pairs. A value may be quoted with
// double quotes.
func (d *Directory) RequireAttribute(pairs ...string) (auth.Rule, error) {
	type av struct{ a, v string }
	var list []av
	for _, p := range pairs {
		a, v, ok := strings.Cut(p, "=")
		if !ok || !validAttr(a) {
			return nil, fmt.Errorf("ldapauth: Require ldap-attribute %q: want attribute=value", p)
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		list = append(list, av{a, v})
	}
	if len(list) == 0 {
		return nil, errors.New("ldapauth: Require ldap-attribute: no attribute=value")
	}
	return d.rule("ldap-attribute", func(ctx context.Context, u *auth.User, dn string) (bool, error) {
		for _, p := range list {
			ok, err := d.compare(ctx, dn, p.a, p.v)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}), nil
}

// RequireFilter returns the rule Require ldap-filter: the user's entry
// matches filter, with or without its outer parentheses.
func (d *Directory) RequireFilter(filter string) (auth.Rule, error) {
	if !strings.HasPrefix(filter, "(") {
		filter = "(" + filter + ")"
	}
	if _, err := ldap.CompileFilter(filter); err != nil {
		return nil, fmt.Errorf("ldapauth: Require ldap-filter %q: %w", filter, err)
	}
	return d.rule("ldap-filter", func(ctx context.Context, u *auth.User, dn string) (bool, error) {
		return d.matches(ctx, dn, filter)
	}), nil
}

// RequireGroup returns the rule Require ldap-group: the user is a member of
// the group dn. How membership is found depends on the Config:
//
//   - by default, as mod_authnz_ldap: the group's GroupAttributes hold the
//     user's DN (or login name, with GroupMembersAreNames), checked by LDAP
//     compares; failing that, nested groups are searched upwards from the
//     user, one search per level, up to MaxSubGroupDepth levels;
//   - with MemberOf, the user's memberOf values, then the groups' own
//     memberOf for nested groups;
//   - with MatchingRuleInChain, one search that Active Directory resolves
//     (see [Directory.InChainFilter]).
func (d *Directory) RequireGroup(dn string) (auth.Rule, error) {
	group, err := ldap.ParseDN(dn)
	if err != nil || dn == "" {
		return nil, fmt.Errorf("ldapauth: Require ldap-group %q: not a DN: %v", dn, err)
	}
	return d.rule("ldap-group", func(ctx context.Context, u *auth.User, userDN string) (bool, error) {
		return d.cached("grp\x00"+userDN+"\x00"+dn, func() (bool, error) {
			switch {
			case d.cfg.MatchingRuleInChain:
				return d.matches(ctx, userDN, d.InChainFilter(dn))
			case d.cfg.MemberOf:
				return d.inGroupMemberOf(ctx, userDN, group)
			default:
				return d.inGroup(ctx, u, userDN, dn, group)
			}
		})
	}), nil
}

// InChainFilter returns the filter that [Config.MatchingRuleInChain] sends
// in a base search of the user's entry: true on Active Directory when the
// user is a member of groupDN at any depth.
func (d *Directory) InChainFilter(groupDN string) string {
	return "(memberOf:" + inChainOID + ":=" + ldap.EscapeFilter(groupDN) + ")"
}

func (d *Directory) inGroup(ctx context.Context, u *auth.User, userDN, groupDN string, group *ldap.DN) (bool, error) {
	member := userDN
	if d.cfg.GroupMembersAreNames {
		member = u.Name
	}
	ok, err := d.memberOf(ctx, groupDN, member)
	if err != nil || ok || d.depth < 0 {
		return ok, err
	}
	visited := map[string]bool{normDN(groupDN): true}
	return d.inSubGroups(ctx, groupDN, member, 0, visited)
}

// memberOf reports whether one of the group's GroupAttributes holds member,
// by LDAP compares (cached).
func (d *Directory) memberOf(ctx context.Context, groupDN, member string) (bool, error) {
	for _, a := range d.groupAttrs {
		ok, err := d.compare(ctx, groupDN, a, member)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// inSubGroups looks for member in the groups nested in groupDN, as
// mod_authnz_ldap's uldap_cache_check_subgroups does: no base DN is
// involved; the group's own entry lists its sub-groups (see
// [Directory.subGroups]), each is asked for member by compares, and those
// without it are searched in turn, down to MaxSubGroupDepth levels below
// the named group. Unlike Apache, a group already visited on this check is
// not visited again, so that a cycle ends at once rather than at the depth
// limit.
func (d *Directory) inSubGroups(ctx context.Context, groupDN, member string, level int, visited map[string]bool) (bool, error) {
	if level >= d.depth {
		return false, nil
	}
	subs, err := d.subGroups(ctx, groupDN)
	if err != nil {
		return false, err
	}
	for _, sg := range subs {
		key := normDN(sg)
		if visited[key] {
			continue
		}
		visited[key] = true
		ok, err := d.memberOf(ctx, sg, member)
		if err != nil || ok {
			return ok, err
		}
		if ok, err := d.inSubGroups(ctx, sg, member, level+1, visited); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// subGroups returns the DNs among groupDN's SubGroupAttributes values
// whose entries are of one of the SubGroupClasses (Apache's sub-group
// list, which it keeps in the operation cache as sgl_processed): one
// base-scope read of the group, then, for each value, compares of its
// objectClass, each cached. Values that are no DN, entries that do not
// exist (a deleted user still listed) or that are no group, and, with
// GroupBaseDN, entries outside it, are left out. An entry that is not a
// group itself has no sub-groups.
func (d *Directory) subGroups(ctx context.Context, groupDN string) ([]string, error) {
	key := normDN(groupDN)
	if subs, ok := d.subgroups.Get(key); ok {
		return subs, nil
	}
	isGroup, err := d.isSubGroup(ctx, groupDN)
	if err != nil || !isGroup {
		return nil, err
	}
	req := ldap.NewSearchRequest(groupDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", d.subAttrs, nil)
	entries, err := d.search(ctx, req)
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject, ldap.LDAPResultInsufficientAccessRights) {
		entries, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the members of %q: %w", groupDN, err)
	}
	var subs []string
	seen := map[string]bool{}
	for _, e := range entries {
		for _, a := range d.subAttrs {
			for _, v := range e.GetEqualFoldAttributeValues(a) {
				dn, err := ldap.ParseDN(v)
				k := normDN(v)
				if err != nil || len(dn.RDNs) == 0 || seen[k] {
					continue
				}
				seen[k] = true
				if d.groupBaseDN != nil && !d.groupBaseDN.AncestorOfFold(dn) && !d.groupBaseDN.EqualFold(dn) {
					continue
				}
				ok, err := d.isSubGroup(ctx, v)
				if err != nil {
					return nil, err
				}
				if ok {
					subs = append(subs, v)
				}
			}
		}
	}
	d.subgroups.Put(key, subs)
	return subs, nil
}

// isSubGroup reports whether the entry dn is of one of the SubGroupClasses,
// by compares of its objectClass (cached); an entry that does not exist is
// not.
func (d *Directory) isSubGroup(ctx context.Context, dn string) (bool, error) {
	for _, c := range d.subClasses {
		ok, err := d.compare(ctx, dn, "objectClass", c)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// normDN is the key of a DN in caches and visited sets: parsed and printed
// back lower-cased when it parses, else lower-cased as it is.
func normDN(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(dn)
}

func (d *Directory) inGroupMemberOf(ctx context.Context, userDN string, group *ldap.DN) (bool, error) {
	visited := map[string]bool{}
	frontier := []string{userDN}
	for level := 0; level <= max(d.depth, 0) && len(frontier) > 0; level++ {
		var next []string
		for _, dn := range frontier {
			req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
				1, 0, false, "(objectClass=*)", []string{"memberOf"}, nil)
			entries, err := d.search(ctx, req)
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				continue
			}
			if err != nil {
				return false, err
			}
			for _, e := range entries {
				for _, g := range e.GetEqualFoldAttributeValues("memberOf") {
					key := strings.ToLower(g)
					if visited[key] {
						continue
					}
					visited[key] = true
					if p, err := ldap.ParseDN(g); err == nil && p.EqualFold(group) {
						return true, nil
					}
					next = append(next, g)
				}
			}
		}
		frontier = next
	}
	return false, nil
}
