package ldapauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestNestedGroupsAsApache: with the users' base at ou=people
// and the groups elsewhere (at the suffix, in ou=teams and in ou=projects),
// Require ldap-group follows nested groups as mod_authnz_ldap does, by
// reading each group's members and probing them, with no base DN to set;
// a cycle ends, member DNs that do not exist are skipped, and
// MaxSubGroupDepth counts levels as AuthLDAPMaxSubGroupDepth does. Every
// case is also asked of Apache's mod_authnz_ldap on the same slapd, which
// must decide the same.
func TestNestedGroupsAsApache(t *testing.T) {
	s := startDirectory(t)
	const url = "/ou=people,dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)"
	const tracUsers = "cn=Trac Users,dc=example,dc=com"
	tests := []struct {
		name  string
		user  string
		group string
		depth int // -ldap-max-subgroup-depth: 0 is direct members only
		want  bool
	}{
		{"sub-group in another OU", "carol", tracUsers, 10, true},
		{"two levels, two OUs", "alice", tracUsers, 10, true},
		{"two levels beyond depth 1", "alice", tracUsers, 1, false},
		{"one level within depth 1", "carol", tracUsers, 1, true},
		{"nesting off", "carol", tracUsers, 0, false},
		{"nesting off, direct member", "carol", "cn=Devs,ou=teams,dc=example,dc=com", 0, true},
		{"through a cycle", "dave", tracUsers, 10, true},
		{"cycle and missing members end", "bob", tracUsers, 10, false},
		{"cycle alone ends", "bob", "cn=Loop A,ou=teams,dc=example,dc=com", 10, false},
		{"member of the cycle", "dave", "cn=Loop A,ou=teams,dc=example,dc=com", 10, true},
		{"not in the cycle", "carol", "cn=Loop B,ou=projects,dc=example,dc=com", 10, false},
	}

	// Apache: one Location per case, all on the same slapd.
	var conf strings.Builder
	for i, tt := range tests {
		fmt.Fprintf(&conf, `<Location "/c%d">
    AuthType Basic
    AuthName test
    AuthBasicProvider ldap
    AuthLDAPURL "%s%s"
    AuthLDAPBindDN %s
    AuthLDAPBindPassword %s
    AuthLDAPMaxSubGroupDepth %d
    Require ldap-group %s
</Location>
`, i, s.URL, url, readerDN, readerPW, tt.depth, tt.group)
	}
	apache := testenv.StartHttpd(t, []string{"auth_basic", "ldap", "authnz_ldap"}, conf.String())

	passwords := map[string]string{"alice": "alicepw", "bob": "bobpw", "carol": "carolpw", "dave": "davepw"}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			depth := tt.depth
			if depth == 0 {
				depth = -1 // Config's direct-members-only, the flag's 0
			}
			d := newDirectory(t, Config{
				URL: s.URL + url, BindDN: readerDN, BindPassword: readerPW,
				MaxSubGroupDepth: depth,
			})
			u, ok, err := d.CheckPassword(context.Background(), tt.user, passwords[tt.user])
			if err != nil || !ok {
				t.Fatalf("CheckPassword(%s) = %v, %v", tt.user, ok, err)
			}
			rule, err := d.RequireGroup(tt.group)
			if err != nil {
				t.Fatal(err)
			}
			// Twice: the second answer comes from the caches.
			for round := 0; round < 2; round++ {
				got, err := rule.Allow(httptest.NewRequest("GET", "/", nil), u)
				if err != nil {
					t.Fatalf("Allow: %v", err)
				}
				if (got == auth.Granted) != tt.want {
					t.Errorf("round %d: %s in %s at depth %d: %v, want granted=%v", round, tt.user, tt.group, tt.depth, got, tt.want)
				}
			}

			// Apache grants with 404 (the document root is empty) and
			// refuses an authenticated user with 401.
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/c%d", apache.URL, i), nil)
			req.SetBasicAuth(tt.user, passwords[tt.user])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			apacheGrants := resp.StatusCode == http.StatusNotFound
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("Apache answered %d:\n%s", resp.StatusCode, apache.ErrorLog())
			}
			if apacheGrants != tt.want {
				t.Errorf("Apache mod_authnz_ldap: granted=%v, this test wants %v (status %d)", apacheGrants, tt.want, resp.StatusCode)
			}
		})
	}
}

// TestGroupBaseDN: GroupBaseDN no longer decides where sub-groups are found
// (they are probed wherever their DNs point); it confines them to a
// subtree, a limit Apache does not have.
func TestGroupBaseDN(t *testing.T) {
	s := startDirectory(t)
	d := newDirectory(t, Config{
		URL:    s.URL + "/ou=people,dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN: readerDN, BindPassword: readerPW,
		GroupBaseDN: "ou=teams,dc=example,dc=com",
	})
	rule, err := d.RequireGroup("cn=Trac Users,dc=example,dc=com")
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]auth.Decision{
		"carol": auth.Granted, // through cn=Devs,ou=teams
		"alice": auth.Denied,  // only through cn=Ops,ou=projects: outside
		"dave":  auth.Denied,  // only through cn=Loop B,ou=projects
	} {
		u, ok, err := d.CheckPassword(context.Background(), user, user+"pw")
		if err != nil || !ok {
			t.Fatalf("CheckPassword(%s) = %v, %v", user, ok, err)
		}
		got, err := rule.Allow(httptest.NewRequest("GET", "/", nil), u)
		if err != nil || got != want {
			t.Errorf("%s: %v, %v; want %v", user, got, err, want)
		}
	}
}
