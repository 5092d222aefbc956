package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/ldapauth"
)

// addLDAP builds the directory l configures (mod_authnz_ldap), if any,
// and hands its password checker and the Require kinds ldap-user, ldap-dn,
// ldap-group, ldap-attribute and ldap-filter to the schemes.
func (p *providers) addLDAP(l ldapConfig, logger *slog.Logger) error {
	if l.URL == "" {
		if l.BindDN != "" || l.BindPasswordFile != "" || l.RemoteUserAttribute != "" || len(l.GroupAttributes) > 0 || l.MemberOf || l.MatchingRuleInChain ||
			len(l.SubGroupAttributes) > 0 || len(l.SubGroupClasses) > 0 || l.GroupBaseDN != "" || l.Referrals || l.CAFile != "" {
			return errors.New("the -ldap-* flags need -ldap-url")
		}
		return nil
	}
	cfg := ldapauth.Config{
		URL:                  l.URL,
		BindDN:               l.BindDN,
		RemoteUserAttribute:  l.RemoteUserAttribute,
		GroupAttributes:      l.GroupAttributes,
		GroupMembersAreNames: !l.GroupAttributeIsDN,
		SubGroupAttributes:   l.SubGroupAttributes,
		SubGroupClasses:      l.SubGroupClasses,
		MaxSubGroupDepth:     l.MaxSubGroupDepth,
		GroupBaseDN:          l.GroupBaseDN,
		MemberOf:             l.MemberOf,
		MatchingRuleInChain:  l.MatchingRuleInChain,
		ChaseReferrals:       l.Referrals,
		ReferralHopLimit:     l.ReferralHopLimit,
		Timeout:              l.Timeout,
		PoolSize:             l.PoolSize,
		CacheTTL:             l.CacheTTL,
		CacheEntries:         l.CacheEntries,
		Logger:               logger,
	}
	switch {
	case l.MaxSubGroupDepth < 0:
		return fmt.Errorf("-ldap-max-subgroup-depth %d: want 0 or more", l.MaxSubGroupDepth)
	case l.MaxSubGroupDepth == 0:
		cfg.MaxSubGroupDepth = -1 // the flag's 0 is Apache's: no nesting
	}
	switch {
	case l.CacheTTL < 0:
		return fmt.Errorf("-ldap-cache-ttl %v: want 0 or more", l.CacheTTL)
	case l.CacheTTL == 0:
		cfg.CacheTTL = -1
	}
	if l.Timeout <= 0 {
		return fmt.Errorf("-ldap-timeout %v: want a positive duration", l.Timeout)
	}
	if l.PoolSize <= 0 {
		return fmt.Errorf("-ldap-pool-size %d: want 1 or more", l.PoolSize)
	}
	if l.ReferralHopLimit <= 0 {
		return fmt.Errorf("-ldap-referral-hop-limit %d: want 1 or more", l.ReferralHopLimit)
	}
	if l.BindPasswordFile != "" {
		if l.BindDN == "" {
			return errors.New("-ldap-bind-password-file needs -ldap-bind-dn")
		}
		pw, err := os.ReadFile(l.BindPasswordFile)
		if err != nil {
			return fmt.Errorf("-ldap-bind-password-file: %w", err)
		}
		cfg.BindPassword = strings.TrimRight(string(pw), "\r\n")
	}
	if l.CAFile != "" {
		pem, err := os.ReadFile(l.CAFile)
		if err != nil {
			return fmt.Errorf("-ldap-ca-file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-ldap-ca-file %s: no PEM certificate", l.CAFile)
		}
		cfg.TLSConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	d, err := ldapauth.New(cfg)
	if err != nil {
		return err
	}
	p.closers = append(p.closers, d.Close)
	p.checkers = append(p.checkers, d)
	for _, kind := range ldapauth.RequireKinds {
		p.requireKinds[kind] = func(args []string) (auth.Rule, error) { return d.Require(kind, args) }
	}
	return nil
}
