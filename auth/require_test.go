package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type staticChallenger string

func (c staticChallenger) Challenge(h http.Header, r *http.Request) {
	h.Add("WWW-Authenticate", string(c))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRequire(t *testing.T) {
	groups, err := LoadGroupFile(writeFile(t, "groups", "# Apache AuthGroupFile\nadmins: alice  carol\r\n\ndevs: bob\nadmins: dave\nempty:\n"))
	if err != nil {
		t.Fatal(err)
	}
	failing := RuleFunc(func(*http.Request, *User) (Decision, error) { return Denied, errors.New("ldap down") })
	tests := []struct {
		name       string
		rules      []Rule
		user       string // "" anonymous
		userGroups []string
		remote     string
		challenger bool
		status     int
	}{
		{"valid-user-anon", []Rule{ValidUser()}, "", nil, "", true, 401},
		{"valid-user-anon-no-scheme", []Rule{ValidUser()}, "", nil, "", false, 403},
		{"valid-user", []Rule{ValidUser()}, "bob", nil, "", true, 200},
		{"user-listed", []Rule{Users("a", "bob")}, "bob", nil, "", true, 200},
		{"user-not-listed", []Rule{Users("a")}, "bob", nil, "", true, 403},
		{"user-anon", []Rule{Users("a")}, "", nil, "", true, 401},
		{"group-member", []Rule{Group(groups, "admins")}, "alice", nil, "", true, 200},
		{"group-second-line", []Rule{Group(groups, "admins")}, "dave", nil, "", true, 200},
		{"group-other", []Rule{Group(groups, "admins")}, "bob", nil, "", true, 403},
		{"group-any-of", []Rule{Group(groups, "admins", "devs")}, "bob", nil, "", true, 200},
		{"group-from-provider", []Rule{Group(nil, "staff")}, "x", []string{"staff"}, "", true, 200},
		{"group-from-provider-no", []Rule{Group(nil, "staff")}, "x", []string{"other"}, "", true, 403},
		{"ip-v4-in", []Rule{MustIP("10.0.0.0/8")}, "", nil, "10.1.2.3:5", true, 200},
		{"ip-v4-out", []Rule{MustIP("10.0.0.0/8")}, "", nil, "11.1.2.3:5", true, 403},
		{"ip-v4-mapped", []Rule{MustIP("192.0.2.1")}, "", nil, "[::ffff:192.0.2.1]:5", true, 200},
		{"ip-v6", []Rule{MustIP("2001:db8::/32")}, "", nil, "[2001:db8::1]:5", true, 200},
		{"ip-v6-out", []Rule{MustIP("2001:db8::/32")}, "", nil, "[2001:db9::1]:5", true, 403},
		{"several-lines-any", []Rule{MustIP("10.0.0.0/8"), ValidUser()}, "", nil, "11.0.0.1:1", true, 401},
		{"several-lines-any-ip", []Rule{MustIP("10.0.0.0/8"), ValidUser()}, "", nil, "10.0.0.1:1", true, 200},
		{"all-ip-and-user", []Rule{All(MustIP("10.0.0.0/8"), ValidUser())}, "", nil, "10.0.0.1:1", true, 401},
		{"all-ip-denies-first", []Rule{All(MustIP("10.0.0.0/8"), ValidUser())}, "", nil, "11.0.0.1:1", true, 403},
		{"all-ok", []Rule{All(MustIP("10.0.0.0/8"), ValidUser())}, "x", nil, "10.0.0.1:1", true, 200},
		{"not-user", []Rule{All(ValidUser(), Not(Users("bob")))}, "bob", nil, "", true, 403},
		{"not-user-other", []Rule{All(ValidUser(), Not(Users("bob")))}, "alice", nil, "", true, 200},
		{"not-anon", []Rule{Not(Users("bob"))}, "", nil, "", true, 401},
		{"any-error-but-granted", []Rule{failing, ValidUser()}, "x", nil, "", true, 200},
		{"error", []Rule{failing}, "x", nil, "", true, 503},
		{"all-error", []Rule{All(ValidUser(), failing)}, "x", nil, "", true, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/x", nil)
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			if tt.challenger {
				r = WithChallenger(r, staticChallenger(`Basic realm="x"`))
				r = WithChallenger(r, staticChallenger(`Negotiate`))
			}
			if tt.user != "" {
				r = withUser(r, &User{Name: tt.user, AuthType: "Basic", Groups: tt.userGroups})
			}
			w := httptest.NewRecorder()
			MustRequire(tt.rules...)(whoami).ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			ch := w.Header().Values("WWW-Authenticate")
			if tt.status == 401 && strings.Join(ch, "|") != `Basic realm="x"|Negotiate` {
				t.Errorf("challenges %q, want both registered schemes", ch)
			}
			if tt.status != 401 && len(ch) != 0 {
				t.Errorf("challenges %q on a %d", ch, tt.status)
			}
		})
	}
}

func TestParseRequire(t *testing.T) {
	groups, err := LoadGroupFile(writeFile(t, "groups", "admins: alice\n"))
	if err != nil {
		t.Fatal(err)
	}
	extra := map[string]func([]string) (Rule, error){
		"ldap-group": func(args []string) (Rule, error) {
			if len(args) == 0 {
				return nil, errors.New("want a DN")
			}
			return Users("ldapuser"), nil
		},
	}
	tests := []struct {
		line    string
		user    string
		want    Decision
		wantErr bool
	}{
		{"valid-user", "x", Granted, false},
		{"valid-user", "", DeniedNoUser, false},
		{"user a  b", "b", Granted, false},
		{"user a b", "c", Denied, false},
		{"group admins", "alice", Granted, false},
		{"group admins", "bob", Denied, false},
		{"ip 127.0.0.1 ::1", "", Granted, false},
		{"ip 10.0.0.0/8", "", Denied, false},
		{"not user bob", "bob", Denied, false},
		{"not user bob", "alice", Granted, false},
		{"all granted", "", Granted, false},
		{"ldap-group cn=x,dc=example", "ldapuser", Granted, false},
		{"ldap-group", "", 0, true},
		{"valid-user extra", "", 0, true},
		{"user", "", 0, true},
		{"group", "", 0, true},
		{"ip", "", 0, true},
		{"ip 10.0.0.0/33", "", 0, true},
		{"ip not-an-ip", "", 0, true},
		{"frobnicate x", "", 0, true},
		{"", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.line+"/"+tt.user, func(t *testing.T) {
			rule, err := ParseRequire(tt.line, groups, extra)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.HasPrefix(err.Error(), "auth: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var u *User
			if tt.user != "" {
				u = &User{Name: tt.user}
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "127.0.0.1:1234"
			d, err := rule.Allow(r, u)
			if err != nil || d != tt.want {
				t.Errorf("Allow = %v, %v; want %v", d, err, tt.want)
			}
		})
	}
}

func TestGroupFile(t *testing.T) {
	path := writeFile(t, "groups", "admins: alice\n")
	g, err := NewGroupFile(GroupFileConfig{Path: path, StatInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if in, err := g.InGroup(ctx, "alice", "admins"); !in || err != nil {
		t.Fatalf("alice: %v %v", in, err)
	}
	if err := os.WriteFile(path, []byte("admins: bob\nusers: alice bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if in, _ := g.InGroup(ctx, "alice", "admins"); in {
		t.Error("alice still admin after reload")
	}
	if m, _ := g.Members("users"); len(m) != 2 {
		t.Errorf("members %v", m)
	}
	if err := os.WriteFile(path, []byte("admins bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := g.InGroup(ctx, "bob", "admins"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("broken file: %v", err)
	}
	for _, bad := range []string{"no colon\n", ": alice\n", "two words: x\n"} {
		if _, err := LoadGroupFile(writeFile(t, "g", bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNormalizers(t *testing.T) {
	tests := []struct {
		name string
		n    Normalizer
		in   string
		want string
	}{
		{"strip-domain", StripDomain(), `EXAMPLE\alice`, "alice"},
		{"strip-domain-first", StripDomain(), `A\B\c`, `B\c`},
		{"strip-domain-none", StripDomain(), "alice", "alice"},
		{"strip-realm", StripRealm(), "alice@EXAMPLE.COM", "alice"},
		{"strip-realm-last", StripRealm(), "a@b@EXAMPLE.COM", "a@b"},
		{"strip-realm-none", StripRealm(), "alice", "alice"},
		{"lower", Lower(), "ÄLICE", "älice"},
		{"map", Map(map[string]string{"root": "admin"}), "root", "admin"},
		{"map-other", Map(map[string]string{"root": "admin"}), "bob", "bob"},
		{"map-refuse", Map(map[string]string{"guest": ""}), "guest", ""},
		{"chain", Chain(StripRealm(), Lower(), Map(map[string]string{"alice": "al"})), "Alice@EXAMPLE.COM", "al"},
		{"chain-refuse-stops", Chain(Map(map[string]string{"x": ""}), Map(map[string]string{"": "y"})), "x", ""},
		{"chain-nil", Chain(nil, Lower()), "A", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n(tt.in); got != tt.want {
				t.Errorf("%q → %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNormalizeAfterRequire is the SSPI fix of Trac's mod_wsgi guide: Require sees
// "EXAMPLE\alice", the application "alice".
func TestNormalizeAfterRequire(t *testing.T) {
	chain := MustRequire(Users(`EXAMPLE\alice`))(Normalize(StripDomain(), nil)(whoami))
	tests := []struct {
		user   string
		status int
		body   string
	}{
		{`EXAMPLE\alice`, 200, `alice Negotiate EXAMPLE\alice`},
		{`alice`, 403, "Forbidden\n"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			r := withUser(httptest.NewRequest("GET", "/", nil), &User{Name: tt.user, AuthType: "Negotiate"})
			w := httptest.NewRecorder()
			chain.ServeHTTP(w, r)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Errorf("%d %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
		})
	}
	refuse := Normalize(Map(map[string]string{"guest": ""}), nil)(whoami)
	w := httptest.NewRecorder()
	refuse.ServeHTTP(w, withUser(httptest.NewRequest("GET", "/", nil), &User{Name: "guest"}))
	if w.Code != 403 {
		t.Errorf("refused name: %d", w.Code)
	}
}

func TestMethodRule(t *testing.T) {
	rule := Any(MustMethod("GET", "OPTIONS"), ValidUser())
	tests := []struct {
		method string
		user   *User
		want   Decision
	}{
		{"GET", nil, Granted},
		{"HEAD", nil, Granted}, // HEAD is a GET, as in Apache
		{"OPTIONS", nil, Granted},
		{"POST", nil, DeniedNoUser},
		{"POST", &User{Name: "alice"}, Granted},
	}
	for _, tt := range tests {
		d, err := rule.Allow(httptest.NewRequest(tt.method, "/", nil), tt.user)
		if err != nil || d != tt.want {
			t.Errorf("%s %v: %v %v, want %v", tt.method, tt.user, d, err, tt.want)
		}
	}
	if d, _ := MustMethod("GET").Allow(httptest.NewRequest("PUT", "/", nil), nil); d != Denied {
		t.Errorf("method alone, PUT: %v, want denied (403: no user would help)", d)
	}
	for _, bad := range [][]string{nil, {"get"}, {"GET HEAD"}, {""}} {
		if _, err := NewMethod(bad...); err == nil || !strings.HasPrefix(err.Error(), "auth: ") {
			t.Errorf("NewMethod(%q) = %v, want an auth error", bad, err)
		}
	}
}

func TestNeedsUser(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"valid-user", true},
		{"user alice", true},
		{"group admins", true},
		{"not user bob", true},
		{"ip 10.0.0.0/8", false},
		{"all granted", false},
		{"method GET HEAD", false},
		{"not ip 10.0.0.0/8", false},
	}
	for _, tt := range tests {
		r, err := ParseRequire(tt.line, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := NeedsUser(r); got != tt.want {
			t.Errorf("NeedsUser(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
	if !NeedsUser(All(MustIP("10.0.0.0/8"), ValidUser())) || NeedsUser(Any(MustIP("::1"), MustMethod("GET"))) {
		t.Error("composites: wrong answer")
	}
	if !NeedsUser(UserRule(func(*http.Request, *User) (Decision, error) { return DeniedNoUser, nil })) {
		t.Error("UserRule does not need a user")
	}
}
