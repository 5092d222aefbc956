package apacheconf

import (
	"strconv"
	"strings"
)

// authTypes maps AuthType's values (case-insensitive) to their spelling
// in [Effective].
var authTypes = map[string]string{
	"basic": "Basic", "digest": "Digest", "gssapi": "GSSAPI",
	"kerberos": "Kerberos", "sspi": "SSPI", "none": "",
}

// perDir checks a per-directory directive and adds its effect to the
// section (or the server's defaults) being read.
func (c *checker) perDir(d *Directive, s *spec, f frame) {
	sec := f.sec
	add := func(apply func(e *Effective, st *mergeState)) {
		sec.ops = append(sec.ops, op{d: d, apply: apply})
	}
	str := func(set func(e *Effective, v string)) {
		v := d.Args[0]
		add(func(e *Effective, _ *mergeState) { set(e, v) })
	}
	flag := func(set func(e *Effective, v bool)) {
		v, err := onOff(d.Args[0])
		if err != nil {
			c.errorf(d, "%v", err)
			return
		}
		add(func(e *Effective, _ *mergeState) { set(e, v) })
	}
	boolp := func(b bool) *bool { return &b }
	a0 := d.Args[0]
	switch s.name {
	case "LimitRequestBody":
		n, err := strconv.ParseInt(a0, 10, 64)
		if err != nil || n < 0 || n > 1<<31 {
			c.errorf(d, "%q is not a number of bytes from 0 to 2147483648 (no K/M/G suffix, as in Apache)", a0)
			return
		}
		add(func(e *Effective, _ *mergeState) { e.LimitRequestBody = n })
	case "WSGIProcessGroup":
		if err := checkProcessGroup(a0); err != nil {
			c.errorf(d, "%v", err)
			return
		}
		if a0 == "%{GLOBAL}" {
			c.warnf(d, "gowsgi has no embedded mode: %%{GLOBAL} runs in the default process group")
		}
		c.groups = append(c.groups, groupRef{d, f.server, a0})
		str(func(e *Effective, v string) { e.ProcessGroup = v })
	case "WSGIApplicationGroup":
		if err := checkApplicationGroup(a0); err != nil {
			c.errorf(d, "%v", err)
			return
		}
		str(func(e *Effective, v string) { e.ApplicationGroup = v })
	case "WSGIPassAuthorization":
		flag(func(e *Effective, v bool) { e.PassAuthorization = v })
	case "WSGIScriptReloading":
		flag(func(e *Effective, v bool) { e.ScriptReloading = v })
	case "WSGICallableObject":
		str(func(e *Effective, v string) { e.CallableObject = v })
	case "SetEnv":
		k, v := a0, ""
		if len(d.Args) == 2 {
			v = d.Args[1]
		}
		add(func(e *Effective, _ *mergeState) {
			if e.Env == nil {
				e.Env = map[string]string{}
			}
			e.Env[k] = v
		})
	case "AuthType":
		t, ok := authTypes[strings.ToLower(a0)]
		if !ok {
			c.errorf(d, "%q is not implemented by gowsgi (Basic, Digest, GSSAPI, Kerberos, SSPI or None)", a0)
			return
		}
		add(func(e *Effective, _ *mergeState) { e.AuthType = t })
	case "AuthName":
		str(func(e *Effective, v string) { e.AuthName = v })
	case "AuthUserFile":
		p := c.abs(a0)
		add(func(e *Effective, _ *mergeState) { e.AuthUserFile = p })
	case "AuthGroupFile":
		p := c.abs(a0)
		add(func(e *Effective, _ *mergeState) { e.AuthGroupFile = p })
	case "AuthBasicProvider":
		var ps []string
		for _, p := range d.Args {
			p = strings.ToLower(p)
			if p != "file" && p != "ldap" {
				c.errorf(d, "provider %q is not implemented by gowsgi (file or ldap)", p)
				return
			}
			ps = append(ps, p)
		}
		add(func(e *Effective, st *mergeState) { st.list("AuthBasicProvider", &e.AuthBasicProvider, ps...) })
	case "AuthDigestDomain":
		vs := d.Args
		add(func(e *Effective, st *mergeState) { st.list("AuthDigestDomain", &e.AuthDigestDomain, vs...) })
	case "AuthDigestNonceLifetime":
		t, err := seconds(a0)
		if err != nil {
			c.errorf(d, "%v", err)
			return
		}
		add(func(e *Effective, _ *mergeState) { e.AuthDigestNonceLifetime = t })
	case "Require":
		r, err := parseRequire(d, f.limit)
		if err != nil {
			c.add(err)
			return
		}
		c.addRequire(sec, r)
	case "Order":
		o := strings.ToLower(a0)
		if o != "deny,allow" && o != "allow,deny" && o != "mutual-failure" {
			c.errorf(d, "unknown order %q (Deny,Allow, Allow,Deny or Mutual-failure)", a0)
			return
		}
		limit := f.limit
		add(func(e *Effective, st *mergeState) {
			st.accessSection(e)
			if limit.Applies(st.method) { // mod_access_compat keeps an order per method
				e.access.order = o
			}
		})
	case "Allow", "Deny":
		if !strings.EqualFold(a0, "from") {
			c.errorf(d, "must be followed by 'from'")
			return
		}
		rule := HostRule{Pos: d.Pos, Limit: f.limit}
		for _, a := range d.Args[1:] {
			if strings.EqualFold(a, "all") {
				rule.All = true
				continue
			}
			if strings.HasPrefix(strings.ToLower(a), "env=") {
				c.errorf(d, "%s: environment variable rules are not implemented by gowsgi", a)
				return
			}
			p, err := parseIPSpec(a)
			if err != nil {
				c.errorf(d, "%v", err)
				return
			}
			rule.Prefixes = append(rule.Prefixes, p)
		}
		allow := s.name == "Allow"
		add(func(e *Effective, st *mergeState) {
			st.accessSection(e)
			if allow {
				e.access.allow = append(e.access.allow, rule)
			} else {
				e.access.deny = append(e.access.deny, rule)
			}
		})
	case "Satisfy":
		v := strings.ToLower(a0)
		if v != "all" && v != "any" {
			c.errorf(d, "must be All or Any")
			return
		}
		v = strings.ToUpper(v[:1]) + v[1:]
		limit := f.limit
		add(func(e *Effective, st *mergeState) {
			st.accessSection(e)
			if limit.Applies(st.method) { // Satisfy is per method too
				e.Satisfy = v
			}
		})

	case "AuthLDAPURL":
		sec := ""
		if len(d.Args) == 2 {
			sec = strings.ToUpper(d.Args[1])
			if sec != "NONE" && sec != "SSL" && sec != "TLS" && sec != "STARTTLS" {
				c.errorf(d, "second argument must be NONE, SSL, TLS or STARTTLS, not %q", d.Args[1])
				return
			}
		}
		if !strings.HasPrefix(strings.ToLower(a0), "ldap://") && !strings.HasPrefix(strings.ToLower(a0), "ldaps://") {
			c.errorf(d, "%q is not an ldap:// or ldaps:// URL", a0)
			return
		}
		add(func(e *Effective, _ *mergeState) { e.LDAP.URL, e.LDAP.Security = a0, sec })
	case "AuthLDAPBindDN":
		str(func(e *Effective, v string) { e.LDAP.BindDN = v })
	case "AuthLDAPBindPassword":
		if strings.HasPrefix(a0, "exec:") {
			c.errorf(d, "exec: is not supported: write the password, or keep it out of the file with Define and ${VAR}")
			return
		}
		str(func(e *Effective, v string) { e.LDAP.BindPassword = v })
	case "AuthLDAPRemoteUserAttribute":
		str(func(e *Effective, v string) { e.LDAP.RemoteUserAttribute = v })
	case "AuthLDAPGroupAttribute":
		add(func(e *Effective, st *mergeState) { st.list(s.name, &e.LDAP.GroupAttributes, a0) })
	case "AuthLDAPSubGroupAttribute":
		add(func(e *Effective, st *mergeState) { st.list(s.name, &e.LDAP.SubGroupAttributes, a0) })
	case "AuthLDAPSubGroupClass":
		add(func(e *Effective, st *mergeState) { st.list(s.name, &e.LDAP.SubGroupClasses, a0) })
	case "AuthLDAPGroupAttributeIsDN":
		flag(func(e *Effective, v bool) { e.LDAP.GroupAttributeIsDN = boolp(v) })
	case "AuthLDAPMaxSubGroupDepth", "LDAPReferralHopLimit":
		n, err := strconv.Atoi(a0)
		if err != nil || n < 0 || n > 1000 {
			c.errorf(d, "%q is not a number from 0 to 1000", a0)
			return
		}
		if s.name == "LDAPReferralHopLimit" {
			add(func(e *Effective, _ *mergeState) { e.LDAP.ReferralHopLimit = n })
		} else {
			add(func(e *Effective, _ *mergeState) { e.LDAP.MaxSubGroupDepth = &n })
		}
	case "LDAPReferrals":
		v := strings.ToLower(a0)
		if v != "on" && v != "off" && v != "default" {
			c.errorf(d, "must be On, Off or default")
			return
		}
		add(func(e *Effective, _ *mergeState) { e.LDAP.Referrals = v })

	case "GssapiCredStore":
		k, v, ok := strings.Cut(a0, ":")
		if !ok || k != "keytab" {
			c.errorf(d, "only keytab:FILE is supported, not %q", a0)
			return
		}
		p := c.abs(v)
		add(func(e *Effective, _ *mergeState) { e.Kerberos.Keytab = p })
	case "Krb5Keytab":
		p := c.abs(a0)
		add(func(e *Effective, _ *mergeState) { e.Kerberos.Keytab = p })
	case "GssapiAcceptorName", "KrbServiceName":
		str(func(e *Effective, v string) { e.Kerberos.ServiceName = v })
	case "KrbMethodNegotiate", "SSPIOfferSSPI":
		flag(func(e *Effective, v bool) { e.Kerberos.Negotiate = boolp(v) })
	case "GssapiBasicAuth", "KrbMethodK5Passwd", "SSPIOfferBasic":
		flag(func(e *Effective, v bool) { e.Kerberos.Basic = boolp(v) })
	case "SSPIBasicPreferred":
		flag(func(e *Effective, v bool) { e.Kerberos.BasicPreferred = boolp(v) })
	case "GssapiLocalName", "KrbLocalUserMapping", "SSPIOmitDomain":
		flag(func(e *Effective, v bool) { e.Kerberos.LocalName = boolp(v) })
	case "GssapiUseSessions":
		flag(func(e *Effective, v bool) { e.Kerberos.Sessions = boolp(v) })
	case "SSPIAuth":
		flag(func(e *Effective, v bool) { e.Kerberos.SSPIAuth = boolp(v) })
	case "SSPIAuthoritative":
		// Whether another module may try after a failure: gowsgi has no
		// other module behind SSPI. Checked, with no effect.
		flag(func(*Effective, bool) {})
	case "SSPIDomain":
		str(func(e *Effective, v string) { e.Kerberos.Domain = v })
	case "KrbAuthRealms":
		vs := d.Args
		add(func(e *Effective, st *mergeState) { st.list(s.name, &e.Kerberos.Realms, vs...) })
	case "SSPIUsernameCase":
		v := strings.ToLower(a0)
		if v != "lower" && v != "upper" {
			c.errorf(d, "must be lower or upper")
			return
		}
		add(func(e *Effective, _ *mergeState) { e.Kerberos.UsernameCase = v })
	default:
		c.errorf(d, "directive not implemented by gowsgi in %s", f.ctx)
	}
}
