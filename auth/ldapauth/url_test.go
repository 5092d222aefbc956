package ldapauth

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestParseURL(t *testing.T) {
	sub, one := ldap.ScopeWholeSubtree, ldap.ScopeSingleLevel
	tests := []struct {
		in   string
		want URL
	}{
		{"ldap://ldap.example.com/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
			URL{"ldap", []string{"ldap.example.com:389"}, "dc=example,dc=com", "uid", []string{"uid"}, sub, "objectClass=inetOrgPerson", SecurityNone}},
		// The Active Directory URL of Trac's mod_wsgi guide, on the global catalog port.
		{"ldap://ad.company.com:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)",
			URL{"ldap", []string{"ad.company.com:3268"}, "DC=company,DC=com", "sAMAccountName", []string{"sAMAccountName"}, sub, "objectClass=user", SecurityNone}},
		{"ldaps://ad.company.com:3269/DC=company,DC=com?userPrincipalName,mail,displayName?sub?(objectClass=user)",
			URL{"ldaps", []string{"ad.company.com:3269"}, "DC=company,DC=com", "userPrincipalName", []string{"userPrincipalName", "mail", "displayName"}, sub, "objectClass=user", SecuritySSL}},
		// Defaults: uid, subtree (base becomes sub), (objectclass=*), port 389 / 636.
		{"ldap://h/o=x", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldaps://h/o=x??base", URL{"ldaps", []string{"h:636"}, "o=x", "uid", nil, sub, "objectclass=*", SecuritySSL}},
		{"LDAP://h/o=x??ONE", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, one, "objectclass=*", SecurityNone}},
		{"ldap://h/o=x??onetree", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, one, "objectclass=*", SecurityNone}},
		{"ldap://h/o=x??subtree?none", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "", SecurityNone}},
		{"ldap://h/o=x???NONE", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "", SecurityNone}},
		// A filter without parentheses is kept as is.
		{"ldap://h/o=x???objectClass=person", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectClass=person", SecurityNone}},
		// No host: localhost. No path at all.
		{"ldap:///o=x", URL{"ldap", []string{"localhost:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldap://h", URL{"ldap", []string{"h:389"}, "", "uid", nil, sub, "objectclass=*", SecurityNone}},
		// Failover hosts: each may have a port; the number after the last
		// colon is the default of the others (apr's atoi of "1389 h3").
		{"ldap://h1 h2:1389 h3/o=x", URL{"ldap", []string{"h1:1389", "h2:1389", "h3:1389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldap://h1 h2:1389/o=x", URL{"ldap", []string{"h1:1389", "h2:1389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldap://h1:1000 h2/o=x", URL{"ldap", []string{"h1:1000", "h2:1000"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldap://h1%20h2/o=x", URL{"ldap", []string{"h1:389", "h2:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldap://[::1]:1389/o=x", URL{"ldap", []string{"[::1]:1389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldap://[::1]/o=x", URL{"ldap", []string{"[::1]:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		// Percent escapes in the DN and the filter.
		{"ldap://h/CN=Trac%20Users,DC=x?cn??(cn=a%2Ab)", URL{"ldap", []string{"h:389"}, "CN=Trac Users,DC=x", "cn", []string{"cn"}, sub, "cn=a*b", SecurityNone}},
		// Unescaped spaces in the DN, as Apache's quoted directive allows.
		{"ldap://h/OU=My Users,DC=x", URL{"ldap", []string{"h:389"}, "OU=My Users,DC=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		// Empty attribute list entries are skipped.
		{"ldap://h/o=x?,mail,", URL{"ldap", []string{"h:389"}, "o=x", "mail", []string{"mail"}, sub, "objectclass=*", SecurityNone}},
		// The trailing mode keyword.
		{"ldap://h/o=x?uid TLS", URL{"ldap", []string{"h:389"}, "o=x", "uid", []string{"uid"}, sub, "objectclass=*", SecurityStartTLS}},
		{"ldap://h/o=x STARTTLS", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityStartTLS}},
		{"ldap://h/o=x ssl", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecuritySSL}},
		{"ldap://h/o=x NONE", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldaps://h/o=x NONE", URL{"ldaps", []string{"h:636"}, "o=x", "uid", nil, sub, "objectclass=*", SecuritySSL}},
		// Enclosure, URL: prefix, non-critical extension.
		{"<ldap://h/o=x>", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"URL:ldap://h/o=x", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		{"ldap://h/o=x????bindname=cn%3Dx", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
		// apr's kludge for old Novell referrals.
		{"ldap://h:389??o=x", URL{"ldap", []string{"h:389"}, "o=x", "uid", nil, sub, "objectclass=*", SecurityNone}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseURL\n got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		in, part string
	}{
		{"http://h/o=x", "scheme"},
		{"h/o=x", "scheme"},
		{"ldapi://%2Fvar%2Frun%2Fslapd/o=x", "scheme"},
		{"<ldap://h/o=x", "url"},
		{"ldap://h:/o=x", "port"},
		{"ldap://h:abc/o=x", "port"},
		{"ldap://h:0/o=x", "port"},
		{"ldap://h:70000/o=x", "port"},
		{"ldap://h1:x h2:389/o=x", "host"},
		{"ldap://[::1/o=x", "host"},
		{"ldap://h%zz/o=x", "host"},
		{"ldap://h/o=x%", "dn"},
		{"ldap://h/o=x%4", "dn"},
		{"ldap://h/o=%00x", "dn"},
		{"ldap://h/o=x?ui d", "attributes"},
		{"ldap://h/o=x??children", "scope"},
		{"ldap://h/o=x??sub?(objectClass=user", "filter"},
		{"ldap://h/o=x??sub?(&(a=b)(c)", "filter"},
		{"ldap://h/o=x??sub?(", "filter"},
		{"ldap://h/o=x??sub?%", "filter"},
		{"ldap://h/o=x??sub?(a=b)?!critical", "extensions"},
		{"ldap://h/o=x??sub?(a=b)?", "extensions"},
		{"ldap://h/o=x??sub?(a=b)?e?f", "url"},
		{"ldap://h/o=x\x00", "url"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseURL(tt.in)
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseURL(%q) = %v, want a *URLError", tt.in, err)
			}
			if ue.Part != tt.part {
				t.Errorf("ParseURL(%q): bad part %q, want %q (%v)", tt.in, ue.Part, tt.part, err)
			}
			if !strings.HasPrefix(err.Error(), "ldapauth: ") || !strings.Contains(err.Error(), "bad "+tt.part) {
				t.Errorf("error %q does not name the part", err)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"ldap://ldap.example.com/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		"ldap://ad:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user) TLS",
		"ldaps://h1 h2:636/o=x?a,b,c?one?none?ext",
		"<URL:ldap://[::1]:389/o=x>",
		"ldap://h:389??o=x",
		"ldap://h/%41%zz",
		"ldap://h/o=x??sub?(",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			var ue *URLError
			if !errors.As(err, &ue) || ue.Part == "" {
				t.Fatalf("ParseURL(%q): error %v is not a *URLError with a part", s, err)
			}
			return
		}
		if len(u.Hosts) == 0 || u.Attribute == "" {
			t.Fatalf("ParseURL(%q) = %+v: no host or no attribute", s, u)
		}
		if u.Scheme != "ldap" && u.Scheme != "ldaps" {
			t.Fatalf("ParseURL(%q): scheme %q", s, u.Scheme)
		}
		if u.Scope != ldap.ScopeWholeSubtree && u.Scope != ldap.ScopeSingleLevel {
			t.Fatalf("ParseURL(%q): scope %d", s, u.Scope)
		}
		if u.Filter != "" {
			if _, err := ldap.CompileFilter("(" + u.Filter + ")"); err != nil {
				t.Fatalf("ParseURL(%q): filter %q does not compile: %v", s, u.Filter, err)
			}
		}
		// A user name can never change the filter's structure.
		d := &Directory{url: u}
		if _, err := ldap.CompileFilter(d.UserFilter("*)(uid=*))(|(uid=*\x00\\")); err != nil {
			t.Fatalf("ParseURL(%q): user filter does not compile: %v", s, err)
		}
	})
}

// FuzzUserFilter checks that no user name can change the structure of the
// login search: the filter is always (&(URL filter)(uid=<the name, byte for
// byte>)), whatever the name holds.
func FuzzUserFilter(f *testing.F) {
	for _, s := range []string{"alice", "*", "al*", "alice)(uid=*", "*)(|(uid=*", `\2a`, "a\x00b", "(", ")", `\`, "é", "\xff"} {
		f.Add(s)
	}
	d := &Directory{url: &URL{Attribute: "uid", Filter: "objectClass=person"}}
	f.Fuzz(func(t *testing.T, user string) {
		p, err := ldap.CompileFilter(d.UserFilter(user))
		if err != nil {
			t.Fatalf("UserFilter(%q) = %s does not compile: %v", user, d.UserFilter(user), err)
		}
		if p.Tag != ldap.FilterAnd || len(p.Children) != 2 {
			t.Fatalf("UserFilter(%q): not an AND of two terms", user)
		}
		eq := p.Children[1]
		if eq.Tag != ldap.FilterEqualityMatch || len(eq.Children) != 2 {
			t.Fatalf("UserFilter(%q): second term is not an equality match", user)
		}
		if got := eq.Children[1].Data.String(); got != user {
			t.Fatalf("UserFilter(%q): asserted value %q", user, got)
		}
	})
}
