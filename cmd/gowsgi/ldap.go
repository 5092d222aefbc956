package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/ldapauth"
)

// ldapFlags are the flags of the LDAP provider layer (mod_authnz_ldap): it
// hands a password checker and the Require kinds ldap-user, ldap-dn,
// ldap-group, ldap-attribute and ldap-filter to the auth layer (auth.go).
type ldapFlags struct {
	url                 string
	bindDN              string
	bindPasswordFile    string
	remoteUserAttribute string
	groupAttributes     listFlag
	groupAttributeIsDN  bool
	subGroupAttributes  listFlag
	subGroupClasses     listFlag
	maxSubGroupDepth    int
	groupBaseDN         string
	memberOf            bool
	inChain             bool
	referrals           bool
	referralHopLimit    int
	caFile              string
	timeout             time.Duration
	poolSize            int
	cacheTTL            time.Duration
	cacheEntries        int
}

func (f *ldapFlags) register(fs *flag.FlagSet) {
	*f = ldapFlags{} // flags are registered anew for each FlagSet (tests)
	fs.StringVar(&f.url, "ldap-url", "", "AuthLDAPURL: `URL` of the directory, e.g. \"ldap://ad:3268/DC=example,DC=com?sAMAccountName?sub?(objectClass=user)\", optionally followed by NONE, SSL, TLS or STARTTLS; turns on LDAP Basic authentication and the ldap-* Require kinds")
	fs.StringVar(&f.bindDN, "ldap-bind-dn", "", "`DN` of the service account that searches the directory (AuthLDAPBindDN); default: anonymous")
	fs.StringVar(&f.bindPasswordFile, "ldap-bind-password-file", "", "`file` holding the service account's password (AuthLDAPBindPassword); a trailing newline is ignored")
	fs.StringVar(&f.remoteUserAttribute, "ldap-remote-user-attribute", "", "`attribute` of the user's entry to use as REMOTE_USER (AuthLDAPRemoteUserAttribute); default: the name as typed")
	fs.Var(&f.groupAttributes, "ldap-group-attribute", "`attribute` of a group listing its members (AuthLDAPGroupAttribute, repeatable); default: member and uniqueMember")
	fs.BoolVar(&f.groupAttributeIsDN, "ldap-group-attribute-is-dn", true, "group members are DNs; false: login names, as memberUid (AuthLDAPGroupAttributeIsDN)")
	fs.Var(&f.subGroupAttributes, "ldap-subgroup-attribute", "`attribute` of a group listing nested groups (AuthLDAPSubGroupAttribute, repeatable); default: member and uniqueMember")
	fs.Var(&f.subGroupClasses, "ldap-subgroup-class", "object `class` of nested groups (AuthLDAPSubGroupClass, repeatable); default: groupOfNames, groupOfUniqueNames, group")
	fs.IntVar(&f.maxSubGroupDepth, "ldap-max-subgroup-depth", 10, "levels of nested groups Require ldap-group follows below the named group, each found by reading a group's members and probing their objectClass against -ldap-subgroup-class; 0: direct members only (AuthLDAPMaxSubGroupDepth)")
	fs.StringVar(&f.groupBaseDN, "ldap-group-base-dn", "", "only follow nested groups whose entries lie under this `DN` (a limit Apache lacks, for directories where others can create groups); default: anywhere, as Apache: the members of each group are probed directly, no base DN involved")
	fs.BoolVar(&f.memberOf, "ldap-member-of", false, "Require ldap-group reads the user's memberOf attribute (Active Directory) instead of the groups' member lists")
	fs.BoolVar(&f.inChain, "ldap-matching-rule-in-chain", false, "Require ldap-group asks Active Directory to resolve nested groups (LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941); AD only")
	fs.BoolVar(&f.referrals, "ldap-referrals", false, "follow referrals returned by searches (AuthLDAPReferrals on)")
	fs.IntVar(&f.referralHopLimit, "ldap-referral-hop-limit", 5, "longest chain of referrals followed (AuthLDAPReferralHopLimit)")
	fs.StringVar(&f.caFile, "ldap-ca-file", "", "PEM `file` of the certificate authorities trusted for ldaps:// and STARTTLS (LDAPTrustedGlobalCert CA_BASE64); default: the system's")
	fs.DurationVar(&f.timeout, "ldap-timeout", 5*time.Second, "bound on each login or Require check against the directory; a directory that does not answer makes it fail with 503 (LDAPConnectionTimeout, LDAPTimeout)")
	fs.IntVar(&f.poolSize, "ldap-pool-size", 8, "connections kept to the directory for searches, and as many for binds")
	fs.DurationVar(&f.cacheTTL, "ldap-cache-ttl", 10*time.Minute, "how long successful logins and Require answers are cached (LDAPCacheTTL, LDAPOpCacheTTL); 0 disables the cache")
	fs.IntVar(&f.cacheEntries, "ldap-cache-entries", 1024, "entries per cache (LDAPCacheEntries)")
}

func init() {
	var f ldapFlags
	register(layer{
		name:  "ldap",
		order: orderProvider,
		flags: f.register,
		build: f.build,
	})
}

// build makes the directory and hands its checker and Require kinds to the
// auth layer. The layer has no middleware of its own.
func (f *ldapFlags) build(b *builder) (func(http.Handler) http.Handler, error) {
	if f.url == "" {
		if f.bindDN != "" || f.bindPasswordFile != "" || f.remoteUserAttribute != "" || len(f.groupAttributes) > 0 || f.memberOf || f.inChain ||
			len(f.subGroupAttributes) > 0 || len(f.subGroupClasses) > 0 || f.groupBaseDN != "" || f.referrals || f.caFile != "" {
			return nil, errors.New("the -ldap-* flags need -ldap-url")
		}
		return nil, nil
	}
	cfg := ldapauth.Config{
		URL:                  f.url,
		BindDN:               f.bindDN,
		RemoteUserAttribute:  f.remoteUserAttribute,
		GroupAttributes:      f.groupAttributes,
		GroupMembersAreNames: !f.groupAttributeIsDN,
		SubGroupAttributes:   f.subGroupAttributes,
		SubGroupClasses:      f.subGroupClasses,
		MaxSubGroupDepth:     f.maxSubGroupDepth,
		GroupBaseDN:          f.groupBaseDN,
		MemberOf:             f.memberOf,
		MatchingRuleInChain:  f.inChain,
		ChaseReferrals:       f.referrals,
		ReferralHopLimit:     f.referralHopLimit,
		Timeout:              f.timeout,
		PoolSize:             f.poolSize,
		CacheTTL:             f.cacheTTL,
		CacheEntries:         f.cacheEntries,
		Logger:               b.logger,
	}
	switch {
	case f.maxSubGroupDepth < 0:
		return nil, fmt.Errorf("-ldap-max-subgroup-depth %d: want 0 or more", f.maxSubGroupDepth)
	case f.maxSubGroupDepth == 0:
		cfg.MaxSubGroupDepth = -1 // the flag's 0 is Apache's: no nesting
	}
	switch {
	case f.cacheTTL < 0:
		return nil, fmt.Errorf("-ldap-cache-ttl %v: want 0 or more", f.cacheTTL)
	case f.cacheTTL == 0:
		cfg.CacheTTL = -1
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("-ldap-timeout %v: want a positive duration", f.timeout)
	}
	if f.poolSize <= 0 {
		return nil, fmt.Errorf("-ldap-pool-size %d: want 1 or more", f.poolSize)
	}
	if f.referralHopLimit <= 0 {
		return nil, fmt.Errorf("-ldap-referral-hop-limit %d: want 1 or more", f.referralHopLimit)
	}
	if f.bindPasswordFile != "" {
		if f.bindDN == "" {
			return nil, errors.New("-ldap-bind-password-file needs -ldap-bind-dn")
		}
		pw, err := os.ReadFile(f.bindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("-ldap-bind-password-file: %w", err)
		}
		cfg.BindPassword = strings.TrimRight(string(pw), "\r\n")
	}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("-ldap-ca-file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ldap-ca-file %s: no PEM certificate", f.caFile)
		}
		cfg.TLSConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	d, err := ldapauth.New(cfg)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, d.Close)
	b.passwordCheckers = append(b.passwordCheckers, d)
	if b.requireParsers == nil {
		b.requireParsers = map[string]func([]string) (auth.Rule, error){}
	}
	for _, kind := range ldapauth.RequireKinds {
		b.requireParsers[kind] = func(args []string) (auth.Rule, error) { return d.Require(kind, args) }
	}
	return nil, nil
}
