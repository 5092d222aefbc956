package main

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/reqinfo"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// buildAuthLayer reads args as the command does and builds the locations
// and the credential-check URL, as buildHandler does, with p's
// contributions (nil: the providers args configure). It returns nil when
// no path is guarded.
func buildAuthLayer(t testing.TB, p *providers, args ...string) (middleware, error) {
	t.Helper()
	cfg := parseTestArgs(t, args...)
	if p == nil {
		var err error
		p, err = newProviders(cfg.Auth, quiet)
		t.Cleanup(func() {
			for _, c := range p.closers {
				_ = c()
			}
		})
		if err != nil {
			return nil, err
		}
	}
	s, err := buildSchemes(cfg.Auth, p, quiet)
	if err != nil {
		return nil, err
	}
	var mws []middleware
	if cfg.Auth.CheckURL != "" {
		check, err := buildCheckURL(cfg.Auth, s, quiet)
		if err != nil {
			return nil, err
		}
		mws = append(mws, check)
	}
	for _, loc := range cfg.Locations {
		mw, err := buildLocation(loc, cfg.Auth, s, quiet)
		if err != nil {
			return nil, err
		}
		mws = append(mws, mw)
	}
	if len(mws) == 0 {
		return nil, nil
	}
	return func(next http.Handler) http.Handler { return nest(mws, next) }, nil
}

// whoamiApp answers "REMOTE_USER AUTH_TYPE" as the wsgi environ would get
// them, or "-" when anonymous.
var whoamiApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u := reqinfo.FromContext(r.Context()).User()
	if u == nil {
		io.WriteString(w, "-")
		return
	}
	io.WriteString(w, u.Name+" "+u.AuthType)
})

func basicAuth(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

type authFiles struct{ htpasswd, htdigest, groups string }

func writeAuthFiles(t *testing.T) authFiles {
	t.Helper()
	dir := t.TempDir()
	f := authFiles{
		htpasswd: filepath.Join(dir, "trac.htpasswd"),
		htdigest: filepath.Join(dir, "trac.htdigest"),
	}
	testenv.Htpasswd(t, f.htpasswd, "alice", "pw", "-B", "-C", "4")
	testenv.Htpasswd(t, f.htpasswd, `EXAMPLE\Bob`, "bobpw")
	testenv.Htdigest(t, f.htdigest, "trac", "alice", "pw")
	f.groups = testenv.WriteFile(t, dir, "groups", "admins: alice\n")
	return f
}

func TestAuthLayer(t *testing.T) {
	files := writeAuthFiles(t)
	loc := []string{"-htpasswd", files.htpasswd, "-realm", "Trac", "-auth-location", "/[^/]+/login"}
	hgRecipe := []string{"-htpasswd", files.htpasswd, "-require", "method GET HEAD OPTIONS", "-require", "valid-user"}
	tests := []struct {
		name   string
		args   []string
		path   string
		authz  string
		status int
		body   string
	}{
		{"login-anonymous", loc, "/trac/login", "", 401, "Unauthorized\n"},
		{"login-good", loc, "/trac/login", basicAuth("alice", "pw"), 200, "alice Basic"},
		{"login-bad", loc, "/trac/login", basicAuth("alice", "x"), 401, "Unauthorized\n"},
		{"outside-anonymous", loc, "/trac/wiki", "", 200, "-"},
		{"outside-with-credentials", loc, "/trac/wiki", basicAuth("alice", "pw"), 200, "-"},
		{"login-double-slash", loc, "/trac//login", "", 401, "Unauthorized\n"},
		{"login-dot-segment", loc, "/trac/./login", "", 401, "Unauthorized\n"},
		{"login-escaped", loc, "/trac/%6Cogin", "", 401, "Unauthorized\n"},
		{"login-trailing-slash", loc, "/trac/login/", "", 401, "Unauthorized\n"},
		{"every-path", []string{"-htpasswd", files.htpasswd}, "/anything", "", 401, "Unauthorized\n"},
		{"require-user-other", append(loc, "-require", "user bob"), "/t/login", basicAuth("alice", "pw"), 403, "Forbidden\n"},
		{"require-any-of-two", append(loc, "-require", "user bob", "-require", "group admins", "-group-file", files.groups), "/t/login", basicAuth("alice", "pw"), 200, "alice Basic"},
		{"require-ip-only", []string{"-require", "ip 192.0.2.0/24"}, "/x", "", 200, "-"},
		{"require-ip-only-out", []string{"-require", "ip 10.0.0.0/8"}, "/x", "", 403, "Forbidden\n"},
		{"normalize", []string{"-htpasswd", files.htpasswd, "-normalize-user", "strip-domain,lower", "-require", "user bob"}, "/x", basicAuth(`EXAMPLE\Bob`, "bobpw"), 200, "bob Basic"},
		{"normalize-after-require", []string{"-htpasswd", files.htpasswd, "-normalize-user", "strip-domain", "-normalize-after-require", "-require", `user EXAMPLE\Bob`}, "/x", basicAuth(`EXAMPLE\Bob`, "bobpw"), 200, "Bob Basic"},
		{"normalize-after-require-refused", []string{"-htpasswd", files.htpasswd, "-normalize-user", "strip-domain", "-normalize-after-require", "-require", "user Bob"}, "/x", basicAuth(`EXAMPLE\Bob`, "bobpw"), 403, "Forbidden\n"},
		{"check-url-anonymous", []string{"-htpasswd", files.htpasswd, "-auth-location", "^/trac/login$", "-auth-check-url", "/authFile"}, "/authFile", "", 401, "Unauthorized\n"},
		{"check-url-good", []string{"-htpasswd", files.htpasswd, "-auth-location", "^/trac/login$", "-auth-check-url", "/authFile"}, "/authFile", basicAuth("alice", "pw"), 200, "OK\n"},
		{"check-url-bad", []string{"-htpasswd", files.htpasswd, "-auth-location", "^/trac/login$", "-auth-check-url", "/authFile"}, "/authFile", basicAuth("alice", "no"), 401, "Unauthorized\n"},
		{"method-recipe-anonymous-read", hgRecipe, "/hg/repo?cmd=capabilities", "", 200, "-"},
		{"method-recipe-read-with-credentials", hgRecipe, "/hg/repo", basicAuth("alice", "pw"), 200, "alice Basic"},
		{"check-url-not-under", []string{"-htpasswd", files.htpasswd, "-auth-location", "^/trac/login$", "-auth-check-url", "/authFile"}, "/authFile/x", "", 200, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := buildAuthLayer(t, nil, tt.args...)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			r := httptest.NewRequest("GET", "http://example.com"+tt.path, nil)
			r.RemoteAddr = "192.0.2.7:1234"
			r.Header.Set("Remote-User", "admin") // never believed
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			w := httptest.NewRecorder()
			mw(whoamiApp).ServeHTTP(w, r)
			if w.Code == 200 && tt.status != 200 {
				t.Fatalf("got 200 %q, want %d", w.Body, tt.status)
			}
			if w.Code != tt.status || (tt.status != 400 && w.Body.String() != tt.body) {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without a challenge")
			}
		})
	}
}

func TestAuthLayerConfig(t *testing.T) {
	files := writeAuthFiles(t)
	t.Run("off-without-flags", func(t *testing.T) {
		mw, err := buildAuthLayer(t, nil)
		if err != nil || mw != nil {
			t.Errorf("mw=%v err=%v, want off", mw != nil, err)
		}
	})
	bad := []struct {
		name   string
		args   []string
		reason string // a part of the error
	}{
		{"digest-without-realm", []string{"-htdigest", files.htdigest}, "needs -realm"},
		{"missing-htpasswd", []string{"-htpasswd", files.htpasswd + ".nope"}, "-htpasswd"},
		{"bad-regexp", []string{"-htpasswd", files.htpasswd, "-auth-location", "("}, "-auth-location"},
		{"unknown-require", []string{"-htpasswd", files.htpasswd, "-require", "frob"}, "unknown kind"},
		{"unknown-normalizer", []string{"-htpasswd", files.htpasswd, "-normalize-user", "upper"}, "unknown step"},
		{"location-without-scheme", []string{"-auth-location", "/login"}, "need an authentication scheme"},
		{"relative-check-url", []string{"-htpasswd", files.htpasswd, "-auth-check-url", "authFile"}, "absolute path"},
		{"missing-secret", []string{"-htdigest", files.htdigest, "-realm", "trac", "-auth-secret-file", files.htdigest + ".nope"}, "-auth-secret-file"},
		// Configurations that used to start and fail open or
		// never grant anyone.
		{"valid-user-without-scheme", []string{"-require", "valid-user"}, "needs an authenticated user"},
		{"user-without-scheme", []string{"-require", "user alice"}, "needs an authenticated user"},
		{"group-without-scheme", []string{"-group-file", files.groups, "-require", "group admins"}, "needs an authenticated user"},
		{"not-user-without-scheme", []string{"-require", "not user bob"}, "needs an authenticated user"},
		{"user-beside-ip-without-scheme", []string{"-require", "ip 10.0.0.0/8", "-require", "valid-user"}, "needs an authenticated user"},
		{"ldap-kind-without-ldap-url", []string{"-htpasswd", files.htpasswd, "-require", "ldap-group cn=x,dc=example,dc=com"}, "need -ldap-url"},
		{"unregistered-kind", []string{"-htpasswd", files.htpasswd, "-require", "env FOO"}, "unknown kind"},
		{"digest-realm-matches-no-line", []string{"-htdigest", files.htdigest, "-realm", "Trac"}, `has the realm "Trac" (it has "trac")`},
		{"check-url-without-scheme", []string{"-require", "ip 10.0.0.0/8", "-auth-check-url", "/authFile"}, "needs an authentication scheme"},
		{"location-query-literal", []string{"-htpasswd", files.htpasswd, "-auth-location", "/hg?cmd=unbundle"}, "never the query string"},
		{"location-query-escaped", []string{"-htpasswd", files.htpasswd, "-auth-location", `^/hg/repo\?cmd=unbundle`}, "never the query string"},
		{"method-lowercase", []string{"-htpasswd", files.htpasswd, "-require", "method get"}, "not an HTTP method"},
		{"method-without-methods", []string{"-htpasswd", files.htpasswd, "-require", "method"}, "without methods"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildAuthLayer(t, nil, tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
	good := []struct {
		name string
		args []string
	}{
		{"ip-alone", []string{"-require", "ip 10.0.0.0/8"}},
		{"all-granted-alone", []string{"-require", "all granted"}},
		{"method-alone", []string{"-require", "method GET HEAD"}},
		{"location-optional-slash", []string{"-htpasswd", files.htpasswd, "-auth-location", "^/trac/?$"}},
		{"location-flags-group", []string{"-htpasswd", files.htpasswd, "-auth-location", "(?i)^/login"}},
		{"location-lazy", []string{"-htpasswd", files.htpasswd, "-auth-location", "^/a.+?/login"}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := buildAuthLayer(t, nil, tt.args...); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
	t.Run("provider-contributions", func(t *testing.T) {
		// What LDAP and Kerberos hand over as providers.
		p := &providers{
			checkers: []auth.PasswordChecker{staticChecker{"carol", "cpw"}},
			requireKinds: map[string]func([]string) (auth.Rule, error){
				"ldap-group": func(args []string) (auth.Rule, error) { return auth.Users("carol"), nil },
			},
		}
		mw, err := buildAuthLayer(t, p, "-htpasswd", files.htpasswd, "-require", "ldap-group cn=staff")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			authz  string
			status int
		}{{basicAuth("carol", "cpw"), 200}, {basicAuth("alice", "pw"), 403}, {basicAuth("carol", "x"), 401}} {
			r := httptest.NewRequest("GET", "/x", nil)
			r.Header.Set("Authorization", c.authz)
			w := httptest.NewRecorder()
			mw(whoamiApp).ServeHTTP(w, r)
			if w.Code != c.status {
				t.Errorf("%s: %d, want %d", c.authz, w.Code, c.status)
			}
		}
	})
}

type staticChecker struct{ user, pw string }

func (c staticChecker) CheckPassword(_ context.Context, user, pw string) (*auth.User, bool, error) {
	if user == c.user && pw == c.pw {
		return &auth.User{Name: user, AuthType: "Basic"}, true, nil
	}
	return nil, false, nil
}

// TestCheckURLWithURLLib is Trac AccountManager's HttpAuthStore: Python's
// urllib handlers (which send credentials only after a challenge) against
// -auth-check-url, for Basic and Digest.
func TestCheckURLWithURLLib(t *testing.T) {
	files := writeAuthFiles(t)
	py := testenv.Python(t)
	const script = `
import sys, urllib.request, urllib.error
url, kind, user, pw = sys.argv[1:5]
pm = urllib.request.HTTPPasswordMgrWithDefaultRealm()
pm.add_password(None, url, user, pw)
h = urllib.request.HTTPDigestAuthHandler(pm) if kind == "digest" else urllib.request.HTTPBasicAuthHandler(pm)
try:
    r = urllib.request.build_opener(h).open(url)
    print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code)
`
	for _, kind := range []string{"basic", "digest"} {
		t.Run(kind, func(t *testing.T) {
			args := []string{"-htpasswd", files.htpasswd, "-realm", "trac", "-auth-check-url", "/authFile", "-auth-location", "^/login$"}
			if kind == "digest" {
				args = []string{"-htdigest", files.htdigest, "-realm", "trac", "-auth-check-url", "/authFile", "-auth-location", "^/login$"}
			}
			mw, err := buildAuthLayer(t, nil, args...)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(mw(whoamiApp))
			defer srv.Close()
			for _, c := range []struct{ pw, want string }{{"pw", "200 OK"}, {"wrong", "401"}} {
				out, err := exec.Command(py, "-c", script, srv.URL+"/authFile", kind, "alice", c.pw).Output()
				if err != nil {
					t.Fatalf("python: %v", err)
				}
				if got := strings.TrimSpace(string(out)); got != c.want {
					t.Errorf("%s password %q: %q, want %q", kind, c.pw, got, c.want)
				}
			}
		})
	}
}

// TestAuthEndToEndWSGI is the Trac flow through the command itself: a WSGI
// app mounted at /trac reading REMOTE_USER at /login, with
// -htpasswd FILE -auth-location '/[^/]+/login', in front of real Python
// workers. A client's Remote-User header reaches the app only as
// HTTP_REMOTE_USER.
func TestAuthEndToEndWSGI(t *testing.T) {
	files := writeAuthFiles(t)
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "app.wsgi", `
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    body = "%s|%s|%s|%s|%s" % (environ.get("SCRIPT_NAME"), environ.get("PATH_INFO"), environ.get("REMOTE_USER", "-"),
                               environ.get("AUTH_TYPE", "-"), environ.get("HTTP_REMOTE_USER", "-"))
    return [body.encode()]
`)
	addr := startChild(t, childOpts{}, "-python", py, "-mount", "/trac", "-htpasswd", files.htpasswd, "-realm", "Trac",
		"-auth-location", "/[^/]+/login", script).addr
	tests := []struct {
		path, authz string
		status      int
		body        string
	}{
		{"/trac/login", basicAuth("alice", "pw"), 200, "/trac|/login|alice|Basic|spoof"},
		{"/trac/login", "", 401, ""},
		{"/trac/login", basicAuth("alice", "bad"), 401, ""},
		{"/trac//login", "", 401, ""},
		{"/trac/%6Cogin", "", 401, ""},
		{"/trac/wiki", "", 200, "/trac|/wiki|-|-|spoof"},
	}
	for _, tt := range tests {
		t.Run(tt.path+tt.authz, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+addr+tt.path, nil)
			req.URL.RawPath = tt.path
			req.URL.Opaque = tt.path // send the target as written
			req.Header.Set("Remote-User", "spoof")
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || (tt.status == 200 && string(body) != tt.body) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="Trac", charset="UTF-8"` {
				t.Errorf("challenge %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// BenchmarkAuthLayer measures what authentication, built from the flags as
// the command builds it, adds to a hello-world handler per request (CPU and
// allocations), with a bcrypt cost-10 htpasswd written by Debian's htpasswd
// and the cache on, in the command's whole chain: the in-process part of
// bench/auth-basic.sh's protected ÷ unprotected. The location cases are Trac's setup (only /PROJECT/login protected), for a
// request inside and outside the location. Run:
// go test -run '^$' -bench AuthLayer -benchmem ./cmd/gowsgi/
func BenchmarkAuthLayer(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.htpasswd")
	testenv.Htpasswd(b, path, "alice", "s3cretpassw0rd", "-B", "-C", "10")
	good := basicAuth("alice", "s3cretpassw0rd")
	tests := []struct {
		name   string
		args   []string // nil: no authentication
		target string
		authz  string
	}{
		{"unprotected", nil, "/", ""},
		{"unprotected-with-header", nil, "/", good},
		{"htpasswd-valid-user", []string{"-htpasswd", path, "-realm", "bench", "-require", "valid-user"}, "/", good},
		{"location-inside", []string{"-htpasswd", path, "-auth-location", "/[^/]+/login"}, "/trac/login", good},
		{"location-outside", []string{"-htpasswd", path, "-auth-location", "/[^/]+/login"}, "/trac/wiki", ""},
		// bench/auth-basic.sh's protected path: a Location-shaped pattern.
		{"location-prefix-inside", []string{"-htpasswd", path, "-auth-location", "^/bcrypt(/|$)"}, "/bcrypt", good},
		{"location-prefix-outside", []string{"-htpasswd", path, "-auth-location", "^/bcrypt(/|$)"}, "/open", ""},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			h, r := edgeAuthRequest(b, tt.args, tt.target, tt.authz)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

// edgeAuthRequest returns a hello-world handler behind the chain the
// command builds from args (none: no authentication): a request id, the
// canonical path, the locations, the mount; and a request for target with
// authz as its Authorization header (none if empty).
func edgeAuthRequest(tb testing.TB, args []string, target, authz string) (http.Handler, *http.Request) {
	tb.Helper()
	h, err := chainFromArgs(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!\n")
	}), args...)
	if err != nil {
		tb.Fatal(err)
	}
	r := httptest.NewRequest("GET", target, nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return h, r
}

// TestMethodRecipe is the hgweb, Subversion and WebDAV setup,
// Apache's <RequireAny> Require method GET HEAD OPTIONS / Require
// valid-user </RequireAny>: reads go through anonymously, writes from an
// anonymous client get 401 with the challenge, writes with credentials go
// through as the user, and wrong credentials are refused on reads too.
func TestMethodRecipe(t *testing.T) {
	files := writeAuthFiles(t)
	mw, err := buildAuthLayer(t, nil, "-htpasswd", files.htpasswd, "-realm", "hg",
		"-require", "method GET HEAD OPTIONS", "-require", "valid-user")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, authz string
		status        int
		body          string
	}{
		{"GET", "", 200, "-"},
		{"HEAD", "", 200, ""},
		{"OPTIONS", "", 200, "-"},
		{"POST", "", 401, "Unauthorized\n"},
		{"PUT", "", 401, "Unauthorized\n"},
		{"DELETE", "", 401, "Unauthorized\n"},
		{"POST", basicAuth("alice", "pw"), 200, "alice Basic"},
		{"POST", basicAuth("alice", "wrong"), 401, "Unauthorized\n"},
		{"GET", basicAuth("alice", "wrong"), 401, "Unauthorized\n"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.authz, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/hg/repo?cmd=unbundle", nil)
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			w := httptest.NewRecorder()
			mw(whoamiApp).ServeHTTP(w, r)
			if w.Code != tt.status || (tt.method != "HEAD" && w.Body.String() != tt.body) {
				t.Fatalf("%d %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") != `Basic realm="hg", charset="UTF-8"` {
				t.Errorf("challenge %q", w.Header().Values("WWW-Authenticate"))
			}
		})
	}
}
