package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

func startLDAPFixture(t *testing.T) *testenv.Slapd {
	t.Helper()
	td := filepath.Join("..", "..", "auth", "ldapauth", "testdata")
	return testenv.StartSlapd(t, testenv.SlapdConfig{
		Schemas: []string{filepath.Join(td, "ad.schema")},
		LDIF:    []string{filepath.Join(td, "directory.ldif")},
	})
}

// TestLDAPLayer runs the two LDAP setups of Trac's mod_wsgi guide through the whole chain
// against a real slapd: Require valid-user with an OpenLDAP URL, and
// Require ldap-group with an Active Directory shaped one.
func TestLDAPLayer(t *testing.T) {
	s := startLDAPFixture(t)
	pwFile := testenv.WriteFile(t, t.TempDir(), "bindpw", "readerpw\n")
	people := []string{
		"-ldap-url", s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		"-ldap-bind-dn", "cn=reader,dc=example,dc=com", "-ldap-bind-password-file", pwFile,
		"-realm", "Trac",
	}
	ad := []string{
		"-ldap-url", s.URL + "/DC=corp,dc=example,dc=com?sAMAccountName?sub?(objectClass=user)",
		"-ldap-bind-dn", "cn=reader,dc=example,dc=com", "-ldap-bind-password-file", pwFile,
		"-require", "ldap-group CN=Trac Users,CN=Users,DC=corp,dc=example,dc=com",
		"-ldap-remote-user-attribute", "userPrincipalName",
	}
	tests := []struct {
		name     string
		args     []string
		user, pw string
		status   int
		body     string
	}{
		{"valid-user", people, "alice", "alicepw", 200, "alice Basic"},
		{"wrong password", people, "alice", "nope", 401, ""},
		{"injection", people, "*", "alicepw", 401, ""},
		{"no credentials", people, "", "", 401, ""},
		{"ldap-group member, REMOTE_USER from userPrincipalName", ad, "asmith", "asmithpw", 200, "asmith@corp.example.com Basic"},
		{"ldap-group nested member", ad, "bjones", "bjonespw", 200, "bjones@corp.example.com Basic"},
		{"ldap-group member of nothing", append(ad[:len(ad):len(ad)], "-ldap-max-subgroup-depth", "0"), "bjones", "bjonespw", 403, ""},
		{"ldap-filter", append(people[:len(people):len(people)], "-require", "ldap-filter (employeeType=staff)"), "carol", "carolpw", 200, "carol Basic"},
		{"ldap-filter refused", append(people[:len(people):len(people)], "-require", "ldap-filter (employeeType=staff)"), "bob", "bobpw", 403, ""},
		{"ldap-user and ldap-attribute", append(people[:len(people):len(people)], "-require", "ldap-user alice", "-require", "ldap-attribute employeeType=contractor"), "bob", "bobpw", 200, "bob Basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := chainFromArgs(t, whoamiApp, tt.args...)
			if err != nil {
				t.Fatalf("chain: %v", err)
			}
			r := httptest.NewRequest("GET", "/trac/login", nil)
			if tt.user != "" {
				r.SetBasicAuth(tt.user, tt.pw)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", w.Body, tt.body)
			}
			if tt.status == 401 && !strings.Contains(w.Header().Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without a Basic challenge: %q", w.Header())
			}
		})
	}
	t.Run("stopped directory: 503", func(t *testing.T) {
		h, err := chainFromArgs(t, whoamiApp, append(people[:len(people):len(people)], "-ldap-timeout", "1s")...)
		if err != nil {
			t.Fatal(err)
		}
		s.Stop(t)
		defer s.Start(t)
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth("alice", "alicepw")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", w.Code)
		}
	})
}

func TestLDAPLayerErrors(t *testing.T) {
	pwFile := testenv.WriteFile(t, t.TempDir(), "bindpw", "x\n")
	url := "ldap://127.0.0.1:1/dc=example,dc=com"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bind DN without URL", []string{"-ldap-bind-dn", "cn=x"}, "-ldap-url"},
		{"bad URL", []string{"-ldap-url", "ldap://h/o=x??bogus"}, "bad scope"},
		{"password file without bind DN", []string{"-ldap-url", url, "-ldap-bind-password-file", pwFile}, "-ldap-bind-dn"},
		{"missing password file", []string{"-ldap-url", url, "-ldap-bind-dn", "cn=x", "-ldap-bind-password-file", "/nonexistent"}, "-ldap-bind-password-file"},
		{"bind DN without password", []string{"-ldap-url", url, "-ldap-bind-dn", "cn=x"}, "BindPassword"},
		{"negative depth", []string{"-ldap-url", url, "-ldap-max-subgroup-depth", "-1"}, "depth"},
		{"bad group DN", []string{"-ldap-url", url, "-require", "ldap-group not a dn"}, "not a DN"},
		{"bad filter", []string{"-ldap-url", url, "-require", "ldap-filter (a=b"}, "ldap-filter"},
		{"bad CA file", []string{"-ldap-url", url, "-ldap-ca-file", pwFile}, "PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := chainFromArgs(t, whoamiApp, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
