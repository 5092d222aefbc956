package ldapauth

import (
	"context"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestReferrals puts a referral to a second slapd (another server of the
// same naming context, as the domain controllers of a forest) inside the
// search scope of the first.
func TestReferrals(t *testing.T) {
	s := startDirectory(t)
	other := testenv.StartSlapd(t, testenv.SlapdConfig{})
	other.LDAPAdd(t, `dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: cn=reader,dc=example,dc=com
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: readerpw

dn: ou=remote,dc=example,dc=com
objectClass: organizationalUnit
ou: remote

dn: uid=remote,ou=remote,dc=example,dc=com
objectClass: inetOrgPerson
uid: remote
cn: Remote User
sn: User
userPassword: remotepw
`)
	s.LDAPAdd(t, `dn: ou=remote,dc=example,dc=com
objectClass: referral
objectClass: extensibleObject
ou: remote
ref: `+other.URL+`/ou=remote,dc=example,dc=com
`)
	base := Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
	}
	chase := base
	chase.ChaseReferrals = true

	tests := []struct {
		name     string
		cfg      Config
		user, pw string
		ok       bool
		dn       string
	}{
		{"off: a referral in scope does not break a login", base, "alice", "alicepw", true, aliceDN},
		{"off: a user behind a referral is not found", base, "remote", "remotepw", false, ""},
		{"on: the user behind the referral logs in", chase, "remote", "remotepw", true, "uid=remote,ou=remote,dc=example,dc=com"},
		{"on: bound on the referred server", chase, "remote", "wrong", false, ""},
		{"on: local users still log in", chase, "alice", "alicepw", true, aliceDN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDirectory(t, tt.cfg)
			u, ok, err := d.CheckPassword(context.Background(), tt.user, tt.pw)
			if err != nil || ok != tt.ok {
				t.Fatalf("CheckPassword(%q) = %v, %v; want %v", tt.user, ok, err, tt.ok)
			}
			if ok && !strings.EqualFold(u.Attributes["dn"][0], tt.dn) {
				t.Errorf("dn %q, want %q", u.Attributes["dn"], tt.dn)
			}
		})
	}
	t.Run("on: the referred server down is an error", func(t *testing.T) {
		d := newDirectory(t, chase)
		other.Stop(t)
		defer other.Start(t)
		_, ok, err := d.CheckPassword(context.Background(), "remote", "remotepw")
		if ok || !IsUnavailable(err) {
			t.Fatalf("CheckPassword = %v, %v; want an unavailable error", ok, err)
		}
	})
}
