package ldapauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// TestRecordLDAP checks what a Basic login against a real slapd records
// for a layer outside the chain (an access log): the user and scheme
// "basic" with outcome ok, failed for a wrong password, denied for a user
// outside the required group, and unavailable once the directory is down.
func TestRecordLDAP(t *testing.T) {
	s := startDirectory(t)
	d := newDirectory(t, Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
		Timeout:      2 * time.Second,
	})
	group, err := d.RequireGroup("cn=trac-users,ou=groups,dc=example,dc=com")
	if err != nil {
		t.Fatal(err)
	}
	chain := auth.MustBasic(auth.BasicConfig{Realm: "trac", Users: d})(auth.MustRequire(group)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	var got reqinfo.Info
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := reqinfo.Ensure(r)
		chain.ServeHTTP(w, r)
		got = rec.Info()
	})
	check := func(t *testing.T, user, pw string, status int, wantUser string, outcome reqinfo.AuthOutcome) {
		t.Helper()
		r := httptest.NewRequest("GET", "/login", nil)
		r.SetBasicAuth(user, pw)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != status {
			t.Fatalf("%s: status %d, want %d", user, w.Code, status)
		}
		name := ""
		if got.User != nil {
			name = got.User.Name
		}
		if name != wantUser || got.AuthScheme != "basic" || got.AuthOutcome != outcome {
			t.Errorf("%s: record: user %q scheme %q outcome %v; want %q basic %v", user, name, got.AuthScheme, got.AuthOutcome, wantUser, outcome)
		}
	}
	check(t, "alice", "alicepw", 200, "alice", reqinfo.AuthOK)
	check(t, "alice", "wrong", 401, "", reqinfo.AuthFailed)
	check(t, "bob", "bobpw", 403, "bob", reqinfo.AuthDenied)
	s.Stop(t)
	check(t, "alice", "alicepw", 503, "", reqinfo.AuthUnavailable)
}
