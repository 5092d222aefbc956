package ldapauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/testenv"
)

const (
	readerDN = "cn=reader,dc=example,dc=com"
	readerPW = "readerpw"
	aliceDN  = "uid=alice,ou=people,dc=example,dc=com"
)

// startDirectory starts a real slapd loaded with testdata/directory.ldif.
func startDirectory(t testing.TB) *testenv.Slapd {
	t.Helper()
	return testenv.StartSlapd(t, testenv.SlapdConfig{
		Schemas: []string{"testdata/ad.schema"},
		LDIF:    []string{"testdata/directory.ldif"},
	})
}

func newDirectory(t testing.TB, cfg Config) *Directory {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestCheckPassword(t *testing.T) {
	s := startDirectory(t)
	people := Config{
		URL:          s.URL + "/dc=example,dc=com?uid,mail?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
	}
	ad := Config{
		URL:          s.URL + "/DC=corp,dc=example,dc=com?sAMAccountName,userPrincipalName?sub?(objectClass=user)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		MemberOf:     true,
		CacheTTL:     -1,
	}
	upn := ad
	upn.URL = s.URL + "/DC=corp,dc=example,dc=com?userPrincipalName?sub?(objectClass=user)"
	anonymous := people
	anonymous.BindDN, anonymous.BindPassword = "", ""
	anonymousAD := ad
	anonymousAD.BindDN, anonymousAD.BindPassword = "", ""
	remoteUser := people
	remoteUser.RemoteUserAttribute = "mail"
	noFilter := people
	noFilter.URL = s.URL + "/dc=example,dc=com?uid??none"

	tests := []struct {
		name     string
		cfg      Config
		user, pw string
		ok       bool
		wantName string
		wantDN   string
	}{
		{"good password", people, "alice", "alicepw", true, "alice", aliceDN},
		{"bad password", people, "alice", "wrong", false, "", ""},
		{"other user's password", people, "alice", "bobpw", false, "", ""},
		{"unknown user", people, "nobody", "alicepw", false, "", ""},
		{"two entries for one name", people, "dup", "duppw", false, "", ""},
		{"empty password", people, "alice", "", false, "", ""},
		{"empty user", people, "", "alicepw", false, "", ""},
		{"overlong user", people, strings.Repeat("a", 1025), "alicepw", false, "", ""},
		{"case-insensitive uid", people, "ALICE", "alicepw", true, "ALICE", aliceDN},
		{"special characters log in as themselves", people, `x*y(z)\w`, "specialpw", true, `x*y(z)\w`, `uid=x*y(z)\5Cw,ou=people,dc=example,dc=com`},
		// Filter injection: none of these may match alice (or anyone).
		{"injection star", people, "*", "alicepw", false, "", ""},
		{"injection prefix star", people, "al*", "alicepw", false, "", ""},
		{"injection close paren", people, "alice)(uid=*", "alicepw", false, "", ""},
		{"injection or", people, "*)(|(uid=*", "alicepw", false, "", ""},
		{"injection open paren", people, "(alice", "alicepw", false, "", ""},
		{"injection backslash", people, `alice\`, "alicepw", false, "", ""},
		{"injection escaped star", people, `\2a`, "alicepw", false, "", ""},
		{"injection NUL", people, "alice\x00", "alicepw", false, "", ""},
		{"injection NUL star", people, "*\x00", "alicepw", false, "", ""},
		{"special user's password with a star", people, "x*", "specialpw", false, "", ""},
		{"anonymous search", anonymous, "bob", "bobpw", true, "bob", "uid=bob,ou=people,dc=example,dc=com"},
		{"no filter", noFilter, "bob", "bobpw", true, "bob", "uid=bob,ou=people,dc=example,dc=com"},
		{"remote user attribute", remoteUser, "alice", "alicepw", true, "alice@example.com", aliceDN},
		{"AD sAMAccountName", ad, "asmith", "asmithpw", true, "asmith", "CN=Alice Smith,CN=Users,DC=corp,dc=example,dc=com"},
		{"AD bad password", ad, "asmith", "alicepw", false, "", ""},
		{"AD filter keeps people out", ad, "alice", "alicepw", false, "", ""},
		{"AD userPrincipalName", upn, "asmith@corp.example.com", "asmithpw", true, "asmith@corp.example.com", "CN=Alice Smith,CN=Users,DC=corp,dc=example,dc=com"},
	}
	dirs := map[string]*Directory{}
	parent := t
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dirs[tt.cfg.URL+tt.cfg.BindDN+tt.cfg.RemoteUserAttribute]
			if d == nil {
				d = newDirectory(parent, tt.cfg)
				dirs[tt.cfg.URL+tt.cfg.BindDN+tt.cfg.RemoteUserAttribute] = d
			}
			u, ok, err := d.CheckPassword(context.Background(), tt.user, tt.pw)
			if err != nil {
				t.Fatalf("CheckPassword: %v", err)
			}
			if ok != tt.ok {
				t.Fatalf("CheckPassword(%q, %q) = %v, want %v", tt.user, tt.pw, ok, tt.ok)
			}
			if !ok {
				if u != nil {
					t.Errorf("refused login returned a user %+v", u)
				}
				return
			}
			if u.Name != tt.wantName {
				t.Errorf("Name = %q, want %q", u.Name, tt.wantName)
			}
			if got := u.Attributes["dn"]; len(got) != 1 || !sameDN(got[0], tt.wantDN) {
				t.Errorf("dn = %q, want %q", got, tt.wantDN)
			}
		})
	}
	t.Run("AD refuses anonymous search: an error, not a refusal", func(t *testing.T) {
		// Like Active Directory, the test directory hides its AD part from
		// anonymous searches (slapd answers noSuchObject, AD
		// operationsError): a misconfiguration the log must show, and a
		// 503 rather than a silent 401.
		d := newDirectory(t, anonymousAD)
		_, ok, err := d.CheckPassword(context.Background(), "asmith", "asmithpw")
		if ok || err == nil || IsUnavailable(err) {
			t.Fatalf("CheckPassword = %v, %v; want a search error", ok, err)
		}
	})
	t.Run("attributes", func(t *testing.T) {
		d := newDirectory(t, remoteUser)
		u, ok, err := d.CheckPassword(context.Background(), "alice", "alicepw")
		if err != nil || !ok {
			t.Fatalf("CheckPassword = %v, %v", ok, err)
		}
		if got := u.Attributes["mail"]; len(got) != 1 || got[0] != "alice@example.com" {
			t.Errorf("mail = %q", got)
		}
		if got := u.Attributes["uid"]; len(got) != 1 || got[0] != "alice" {
			t.Errorf("uid = %q", got)
		}
		if u.Original != "alice" {
			t.Errorf("Original = %q, want the typed name", u.Original)
		}
		if _, ok := u.Attributes["userPassword"]; ok {
			t.Error("the password attribute was fetched")
		}
	})
	t.Run("AD memberOf", func(t *testing.T) {
		d := newDirectory(t, ad)
		u, ok, err := d.CheckPassword(context.Background(), "bjones", "bjonespw")
		if err != nil || !ok {
			t.Fatalf("CheckPassword = %v, %v", ok, err)
		}
		if len(u.Groups) != 1 || !strings.EqualFold(u.Groups[0], "CN=Engineers,CN=Users,DC=corp,dc=example,dc=com") {
			t.Errorf("Groups = %q", u.Groups)
		}
	})
}

func sameDN(a, b string) bool {
	da, err1 := ldap.ParseDN(a)
	db, err2 := ldap.ParseDN(b)
	return err1 == nil && err2 == nil && da.EqualFold(db)
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no URL", Config{}},
		{"bad URL", Config{URL: "http://h/"}},
		{"bind DN without password", Config{URL: "ldap://h/o=x", BindDN: "cn=x,o=x"}},
		{"bad bind DN", Config{URL: "ldap://h/o=x", BindDN: "not a dn", BindPassword: "x"}},
		{"bad group attribute", Config{URL: "ldap://h/o=x", GroupAttributes: []string{"mem ber"}}},
		{"negative timeout", Config{URL: "ldap://h/o=x", Timeout: -time.Second}},
		{"negative pool", Config{URL: "ldap://h/o=x", PoolSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), "ldapauth: ") {
				t.Fatalf("New = %v, want an ldapauth error", err)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	s := startDirectory(t)
	base := Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
	}
	depth1 := base
	depth1.MaxSubGroupDepth = 1
	direct := base
	direct.MaxSubGroupDepth = -1
	plain := base
	plain.GroupAttributes = []string{"memberUid"}
	plain.GroupMembersAreNames = true
	ad := Config{
		URL:          s.URL + "/DC=corp,dc=example,dc=com?sAMAccountName?sub?(objectClass=user)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
	}
	adMemberOf := ad
	adMemberOf.MemberOf = true
	adMemberOfDirect := adMemberOf
	adMemberOfDirect.MaxSubGroupDepth = -1
	adInChain := ad
	adInChain.MatchingRuleInChain = true

	const groups = "ou=groups,dc=example,dc=com"
	const adGroups = "CN=Users,DC=corp,dc=example,dc=com"
	tests := []struct {
		name     string
		cfg      Config
		user, pw string
		require  string
		want     auth.Decision
	}{
		{"group direct member", base, "alice", "alicepw", "ldap-group cn=trac-users," + groups, auth.Granted},
		{"group nested through uniqueMember", base, "carol", "carolpw", "ldap-group cn=trac-users," + groups, auth.Granted},
		{"group uniqueMember direct", base, "carol", "carolpw", "ldap-group cn=devs," + groups, auth.Granted},
		{"group not a member", base, "bob", "bobpw", "ldap-group cn=trac-users," + groups, auth.Denied},
		{"group DN with other spacing and case", base, "alice", "alicepw", "ldap-group CN=Trac-Users, OU=Groups, DC=Example, DC=Com", auth.Granted},
		{"group quoted", base, "alice", "alicepw", `ldap-group "cn=trac-users,` + groups + `"`, auth.Granted},
		{"nested depth 2 with default depth", base, "dave", "davepw", "ldap-group cn=level1," + groups, auth.Granted},
		{"nested depth 2 beyond depth 1", depth1, "dave", "davepw", "ldap-group cn=level1," + groups, auth.Denied},
		{"nested depth 1 within depth 1", depth1, "dave", "davepw", "ldap-group cn=level2," + groups, auth.Granted},
		{"nesting off", direct, "dave", "davepw", "ldap-group cn=level2," + groups, auth.Denied},
		{"nesting off, direct member", direct, "dave", "davepw", "ldap-group cn=level3," + groups, auth.Granted},
		{"group cycle terminates", base, "dave", "davepw", "ldap-group cn=cycle-a," + groups, auth.Denied},
		{"missing group", base, "alice", "alicepw", "ldap-group cn=nope," + groups, auth.Denied},
		{"plain member names", plain, "bob", "bobpw", "ldap-group cn=posix-devs," + groups, auth.Granted},
		{"plain member names, not a member", plain, "alice", "alicepw", "ldap-group cn=posix-devs," + groups, auth.Denied},
		{"user listed", base, "alice", "alicepw", "ldap-user bob alice", auth.Granted},
		{"user listed in other case", base, "alice", "alicepw", "ldap-user ALICE", auth.Granted},
		{"user not listed", base, "alice", "alicepw", "ldap-user bob carol", auth.Denied},
		{"dn", base, "alice", "alicepw", "ldap-dn UID=alice, ou=people,dc=example,dc=com", auth.Granted},
		{"other dn", base, "bob", "bobpw", "ldap-dn " + aliceDN, auth.Denied},
		{"attribute", base, "carol", "carolpw", "ldap-attribute employeeType=staff", auth.Granted},
		{"attribute quoted, second pair", base, "bob", "bobpw", `ldap-attribute employeeType=staff employeeType="contractor"`, auth.Granted},
		{"attribute mismatch", base, "bob", "bobpw", "ldap-attribute employeeType=staff", auth.Denied},
		{"attribute absent", base, "alice", "alicepw", "ldap-attribute employeeType=staff", auth.Denied},
		{"filter", base, "alice", "alicepw", "ldap-filter (&(objectClass=inetOrgPerson)(mail=*@example.com))", auth.Granted},
		{"filter without parens", base, "alice", "alicepw", "ldap-filter mail=alice@example.com", auth.Granted},
		{"filter mismatch", base, "carol", "carolpw", "ldap-filter (mail=*)", auth.Denied},
		{"AD group by member", ad, "asmith", "asmithpw", "ldap-group CN=Trac Users," + adGroups, auth.Granted},
		{"AD nested group by member", ad, "bjones", "bjonespw", "ldap-group CN=Trac Users," + adGroups, auth.Granted},
		{"AD group by memberOf", adMemberOf, "asmith", "asmithpw", "ldap-group CN=Trac Users," + adGroups, auth.Granted},
		{"AD nested group by memberOf", adMemberOf, "bjones", "bjonespw", "ldap-group CN=Trac Users," + adGroups, auth.Granted},
		{"AD nested group by memberOf, nesting off", adMemberOfDirect, "bjones", "bjonespw", "ldap-group CN=Trac Users," + adGroups, auth.Denied},
		{"AD not in group by memberOf", adMemberOf, "asmith", "asmithpw", "ldap-group CN=Engineers," + adGroups, auth.Denied},
		// slapd does not implement LDAP_MATCHING_RULE_IN_CHAIN: the
		// filter it cannot evaluate matches nothing. Only Active Directory
		// grants here; see TestInChainFilter for the request's shape.
		{"AD in-chain rule on slapd", adInChain, "asmith", "asmithpw", "ldap-group CN=Trac Users," + adGroups, auth.Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDirectory(t, tt.cfg)
			u, ok, err := d.CheckPassword(context.Background(), tt.user, tt.pw)
			if err != nil || !ok {
				t.Fatalf("CheckPassword(%q) = %v, %v", tt.user, ok, err)
			}
			kind, rest, _ := strings.Cut(tt.require, " ")
			rule, err := d.Require(kind, strings.Fields(rest))
			if err != nil {
				t.Fatalf("Require(%q): %v", tt.require, err)
			}
			r := httptest.NewRequest("GET", "/trac/login", nil)
			got, err := rule.Allow(r, u)
			if err != nil {
				t.Fatalf("Allow: %v", err)
			}
			if got != tt.want {
				t.Errorf("Require %s for %s = %v, want %v", tt.require, tt.user, got, tt.want)
			}
			if got, _ := rule.Allow(r, nil); got != auth.DeniedNoUser {
				t.Errorf("anonymous request: %v, want %v", got, auth.DeniedNoUser)
			}
		})
	}

	t.Run("user authenticated elsewhere is looked up by name", func(t *testing.T) {
		d := newDirectory(t, base)
		rule, err := d.RequireGroup("cn=trac-users," + groups)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		for name, want := range map[string]auth.Decision{"carol": auth.Granted, "bob": auth.Denied, "ghost": auth.Denied, "*": auth.Denied} {
			got, err := rule.Allow(r, &auth.User{Name: name, AuthType: "Negotiate"})
			if err != nil || got != want {
				t.Errorf("%s: Allow = %v, %v; want %v", name, got, err, want)
			}
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		d := newDirectory(t, base)
		for _, line := range []string{"ldap-group", "ldap-group not-a-dn", "ldap-dn", "ldap-user", "ldap-attribute", "ldap-attribute novalue", "ldap-filter (a=b", "ldap-nope x"} {
			kind, rest, _ := strings.Cut(line, " ")
			if _, err := d.Require(kind, strings.Fields(rest)); err == nil || !strings.HasPrefix(err.Error(), "ldapauth: ") {
				t.Errorf("Require(%q) = %v, want an error", line, err)
			}
		}
	})
}

func TestInChainFilter(t *testing.T) {
	d := newDirectory(t, Config{URL: "ldap://ad.example.com:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)", MatchingRuleInChain: true})
	tests := []struct{ group, want string }{
		{"CN=Trac Users,CN=Users,DC=company,DC=com", "(memberOf:1.2.840.113556.1.4.1941:=CN=Trac Users,CN=Users,DC=company,DC=com)"},
		{`CN=a\2a(b),DC=c`, `(memberOf:1.2.840.113556.1.4.1941:=CN=a\5c2a\28b\29,DC=c)`},
	}
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			if got := d.InChainFilter(tt.group); got != tt.want {
				t.Errorf("InChainFilter = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCache(t *testing.T) {
	s := startDirectory(t)
	d := newDirectory(t, Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     time.Hour,
	})
	ctx := context.Background()
	if _, ok, err := d.CheckPassword(ctx, "alice", "alicepw"); err != nil || !ok {
		t.Fatalf("first login: %v, %v", ok, err)
	}
	rule, err := d.RequireGroup("cn=trac-users,ou=groups,dc=example,dc=com")
	if err != nil {
		t.Fatal(err)
	}
	u, _, _ := d.CheckPassword(ctx, "alice", "alicepw")
	r := httptest.NewRequest("GET", "/", nil)
	if got, err := rule.Allow(r, u); err != nil || got != auth.Granted {
		t.Fatalf("group: %v, %v", got, err)
	}
	t.Run("no password in the cache", func(t *testing.T) {
		if n := d.logins.Len(); n != 1 {
			t.Fatalf("%d cached logins, want 1", n)
		}
		d.logins.Range(func(k string, v *auth.User) bool {
			if strings.Contains(k, "alicepw") || len(k) != 32 {
				t.Errorf("cache key %q holds the password or is not a 32-byte hash", k)
			}
			if strings.Contains(strings.Join(v.Attributes["userPassword"], ""), "alicepw") {
				t.Error("cached user holds the password")
			}
			return true
		})
	})

	s.Stop(t)
	t.Run("cached login and group answer survive the directory", func(t *testing.T) {
		u, ok, err := d.CheckPassword(ctx, "alice", "alicepw")
		if err != nil || !ok {
			t.Fatalf("cached login with slapd stopped: %v, %v", ok, err)
		}
		u.Attributes["dn"][0] = "tampered"
		if got, err := rule.Allow(r, mustLogin(t, d, "alice", "alicepw")); err != nil || got != auth.Granted {
			t.Fatalf("cached group answer: %v, %v", got, err)
		}
	})
	t.Run("a wrong password is never answered from the cache", func(t *testing.T) {
		_, ok, err := d.CheckPassword(ctx, "alice", "alicepw2")
		if ok || err == nil || !IsUnavailable(err) {
			t.Fatalf("wrong password with slapd stopped = %v, %v; want an unavailable error", ok, err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		later := time.Now().Add(2 * time.Hour)
		d.logins.Now = func() time.Time { return later }
		d.answers.Now = d.logins.Now
		_, ok, err := d.CheckPassword(ctx, "alice", "alicepw")
		if ok || !IsUnavailable(err) {
			t.Fatalf("expired login with slapd stopped = %v, %v; want an unavailable error", ok, err)
		}
		s.Start(t)
		if _, ok, err := d.CheckPassword(ctx, "alice", "alicepw"); err != nil || !ok {
			t.Fatalf("login after restart: %v, %v", ok, err)
		}
	})
}

func mustLogin(t *testing.T, d *Directory, user, pw string) *auth.User {
	t.Helper()
	u, ok, err := d.CheckPassword(context.Background(), user, pw)
	if err != nil || !ok {
		t.Fatalf("CheckPassword(%q) = %v, %v", user, ok, err)
	}
	return u
}

func TestUnavailable(t *testing.T) {
	s := startDirectory(t)
	const timeout = 500 * time.Millisecond
	d := newDirectory(t, Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
		Timeout:      timeout,
	})
	rule, err := d.RequireGroup("cn=trac-users,ou=groups,dc=example,dc=com")
	if err != nil {
		t.Fatal(err)
	}
	alice := mustLogin(t, d, "alice", "alicepw") // leaves pooled connections

	// check fails the test if the call does not return: a hang guard, far
	// above Timeout, not a speed assertion.
	check := func(t *testing.T, f func() error) {
		t.Helper()
		errc := make(chan error, 1)
		start := time.Now()
		go func() { errc <- f() }()
		select {
		case err := <-errc:
			if !IsUnavailable(err) {
				t.Fatalf("got %v, want an unavailable error", err)
			}
			t.Logf("failed after %v (Timeout %v): %v", time.Since(start).Round(time.Millisecond), timeout, err)
		case <-time.After(20 * timeout):
			t.Fatal("the call hangs past its Timeout")
		}
	}
	login := func() error {
		_, ok, err := d.CheckPassword(context.Background(), "bob", "bobpw")
		if ok {
			return errors.New("login succeeded")
		}
		return err
	}
	group := func() error {
		d.PurgeCache()
		_, err := rule.Allow(httptest.NewRequest("GET", "/", nil), alice)
		return err
	}

	t.Run("hung server", func(t *testing.T) {
		s.Pause(t)
		defer s.Resume(t)
		check(t, login)
		check(t, group)
	})
	t.Run("stopped server", func(t *testing.T) {
		s.Stop(t)
		defer s.Start(t)
		check(t, login)
		check(t, group)
	})
	t.Run("failover to the second host", func(t *testing.T) {
		dead := testenv.FreePort(t)
		d2 := newDirectory(t, Config{
			URL:          "ldap://127.0.0.1:" + strconv.Itoa(dead) + " " + strings.TrimPrefix(s.URL, "ldap://") + "/dc=example,dc=com",
			BindDN:       readerDN,
			BindPassword: readerPW,
			CacheTTL:     -1,
		})
		mustLogin(t, d2, "bob", "bobpw")
	})
	t.Run("through auth.MustBasic: 503, then 200 once slapd is back", func(t *testing.T) {
		h := auth.MustBasic(auth.BasicConfig{Users: d, Realm: "Trac"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, _ := auth.FromContext(r.Context())
			w.Write([]byte(u.Name))
		}))
		get := func(user, pw string) *httptest.ResponseRecorder {
			r := httptest.NewRequest("GET", "/trac/login", nil)
			r.SetBasicAuth(user, pw)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		if w := get("alice", "alicepw"); w.Code != 200 || w.Body.String() != "alice" {
			t.Fatalf("good login: %d %q", w.Code, w.Body)
		}
		if w := get("alice", "bad"); w.Code != 401 {
			t.Fatalf("bad password: %d", w.Code)
		}
		if w := get("*", "alicepw"); w.Code != 401 {
			t.Fatalf("injection: %d", w.Code)
		}
		s.Stop(t)
		if w := get("alice", "alicepw"); w.Code != 503 || strings.Contains(w.Body.String(), "127.0.0.1") {
			t.Fatalf("stopped slapd: %d %q, want a plain 503", w.Code, w.Body)
		}
		s.Start(t)
		if w := get("alice", "alicepw"); w.Code != 200 {
			t.Fatalf("after restart: %d", w.Code)
		}
	})
}

// TestRestartMidLoad restarts slapd while logins run: during the outage a
// login fails with an unavailable error (never as a wrong password), and
// every login succeeds again once slapd is back, on reconnected pools.
func TestRestartMidLoad(t *testing.T) {
	s := startDirectory(t)
	var logs testenv.LogBuffer
	d := newDirectory(t, Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
		PoolSize:     4,
		Timeout:      2 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
	})
	var ok, unavailable, wrong atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, good, err := d.CheckPassword(context.Background(), "alice", "alicepw")
				switch {
				case good:
					ok.Add(1)
				case IsUnavailable(err):
					unavailable.Add(1)
				default:
					wrong.Add(1)
					t.Errorf("good credentials refused without an unavailable error: %v", err)
				}
			}
		}()
	}
	waitFor := func(c *atomic.Int64, n int64) {
		for start := c.Load(); c.Load() < start+n; {
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(&ok, 50)
	s.Stop(t)
	waitFor(&unavailable, 8)
	s.Start(t)
	waitFor(&ok, 200)
	close(stop)
	wg.Wait()
	t.Logf("logins: %d ok, %d unavailable during the outage, %d wrongly refused", ok.Load(), unavailable.Load(), wrong.Load())
	// After the restart, every login succeeds.
	for i := 0; i < 20; i++ {
		mustLogin(t, d, "alice", "alicepw")
	}
	if n := d.service.idleCount(); n > 4 {
		t.Errorf("%d idle service connections, pool is bounded to 4", n)
	}
}

func BenchmarkLoginCached(b *testing.B) {
	s := startDirectory(b)
	d := newDirectory(b, Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		Logger:       slog.New(slog.DiscardHandler),
	})
	rule, err := d.RequireGroup("cn=trac-users,ou=groups,dc=example,dc=com")
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u, ok, err := d.CheckPassword(context.Background(), "carol", "carolpw")
			if err != nil || !ok {
				b.Errorf("login: %v %v", ok, err)
				return
			}
			if dec, err := rule.Allow(r, u); err != nil || dec != auth.Granted {
				b.Errorf("group: %v %v", dec, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

func BenchmarkLoginUncached(b *testing.B) {
	s := startDirectory(b)
	d := newDirectory(b, Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
		Logger:       slog.New(slog.DiscardHandler),
	})
	rule, err := d.RequireGroup("cn=trac-users,ou=groups,dc=example,dc=com")
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u, ok, err := d.CheckPassword(context.Background(), "carol", "carolpw")
			if err != nil || !ok {
				b.Errorf("login: %v %v", ok, err)
				return
			}
			if dec, err := rule.Allow(r, u); err != nil || dec != auth.Granted {
				b.Errorf("group: %v %v", dec, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkBasicLDAPGroup is the request path of the LDAP setup of Trac's mod_wsgi guide:
// Basic authentication against the directory and Require ldap-group on a
// nested group, with the cache on (Apache's default).
func BenchmarkBasicLDAPGroup(b *testing.B) {
	s := startDirectory(b)
	d := newDirectory(b, Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		Logger:       slog.New(slog.DiscardHandler),
	})
	rule, err := d.RequireGroup("cn=trac-users,ou=groups,dc=example,dc=com")
	if err != nil {
		b.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := auth.MustBasic(auth.BasicConfig{Users: d, Logger: slog.New(slog.DiscardHandler)})(auth.MustRequire(rule)(ok))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/trac/login", nil)
		r.SetBasicAuth("carol", "carolpw")
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
