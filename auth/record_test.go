package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// accessLog is what an access log written as an outer middleware does: it
// makes the record before the chain and reads it once the chain returned.
func accessLog(next http.Handler, got *reqinfo.Info) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := reqinfo.Ensure(r)
		next.ServeHTTP(w, r)
		*got = rec.Info()
	})
}

// TestRecordFilled checks what the Flow (Basic, Digest), Require and
// Normalize record for an outer layer: the user, the scheme and the
// outcome of each way a request can end.
func TestRecordFilled(t *testing.T) {
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	testenv.Htpasswd(t, htpasswd, "alice", "pw", "-B", "-C", "4")
	testenv.Htpasswd(t, htpasswd, "eve", "pw", "-B", "-C", "4")
	users, err := HtpasswdFile(htpasswd)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := NewDigest(DigestConfig{Realm: "trac", File: newDigestFile(t)})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	basic := MustBasic(BasicConfig{Realm: "t", Users: users})
	failingRule := RuleFunc(func(*http.Request, *User) (Decision, error) { return Denied, errors.New("directory down") })
	chains := map[string]http.Handler{
		"basic":          basic(MustRequire(ValidUser())(ok)),
		"basic-alice":    basic(MustRequire(Users("alice"))(ok)),
		"basic-norm":     basic(MustRequire(ValidUser())(Normalize(Map(map[string]string{"eve": ""}), nil)(ok))),
		"basic-failing":  MustBasic(BasicConfig{Realm: "t", Users: failingChecker{}})(MustRequire(ValidUser())(ok)),
		"basic-rule-err": basic(MustRequire(failingRule)(ok)),
		"digest":         digest.Wrap(MustRequire(ValidUser())(ok)),
	}
	// A nonce for the Digest cases.
	w := httptest.NewRecorder()
	chains["digest"].ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
	ch := challengeParams(t, w.Header())
	alice := digestClient{user: "alice", realm: "trac", pw: "pw", nonce: ch["nonce"], opaque: ch["opaque"]}
	wrong := alice
	wrong.pw = "nope"

	tests := []struct {
		name    string
		chain   string
		authz   []string
		status  int
		user    string // "" for none
		scheme  string
		outcome reqinfo.AuthOutcome
	}{
		{"basic ok", "basic", []string{basicHeader("alice", "pw")}, 200, "alice", "basic", reqinfo.AuthOK},
		{"basic wrong password", "basic", []string{basicHeader("alice", "nope")}, 401, "", "basic", reqinfo.AuthFailed},
		{"basic malformed", "basic", []string{"Basic !!!"}, 401, "", "basic", reqinfo.AuthFailed},
		{"two headers", "basic", []string{basicHeader("alice", "pw"), basicHeader("alice", "pw")}, 400, "", "", reqinfo.AuthFailed},
		{"anonymous asked for credentials", "basic", nil, 401, "", "", reqinfo.AuthDenied},
		{"other scheme", "basic", []string{"Bearer x"}, 401, "", "", reqinfo.AuthDenied},
		{"user not allowed", "basic-alice", []string{basicHeader("eve", "pw")}, 403, "eve", "basic", reqinfo.AuthDenied},
		{"user allowed", "basic-alice", []string{basicHeader("alice", "pw")}, 200, "alice", "basic", reqinfo.AuthOK},
		{"normalizer refuses", "basic-norm", []string{basicHeader("eve", "pw")}, 403, "eve", "basic", reqinfo.AuthDenied},
		{"checker down", "basic-failing", []string{basicHeader("alice", "pw")}, 503, "", "basic", reqinfo.AuthUnavailable},
		{"rule fails", "basic-rule-err", []string{basicHeader("alice", "pw")}, 503, "alice", "basic", reqinfo.AuthUnavailable},
		{"digest ok", "digest", []string{alice.header("GET", "/login", 1, nil)}, 200, "alice", "digest", reqinfo.AuthOK},
		{"digest wrong password", "digest", []string{wrong.header("GET", "/login", 2, nil)}, 401, "", "digest", reqinfo.AuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got reqinfo.Info
			r := httptest.NewRequest("GET", "/login", nil)
			for _, a := range tt.authz {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			accessLog(chains[tt.chain], &got).ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			name := ""
			if got.User != nil {
				name = got.User.Name
			}
			if name != tt.user || got.AuthScheme != tt.scheme || got.AuthOutcome != tt.outcome {
				t.Errorf("record: user %q scheme %q outcome %v; want %q %q %v", name, got.AuthScheme, got.AuthOutcome, tt.user, tt.scheme, tt.outcome)
			}
		})
	}
}

// TestRecordOnDemand: with a record made further out, a login is recorded
// there, so the next handler gets the caller's request itself and the
// caller sees the user once the call returns; bad credentials record no
// user. Without one, the Flow makes a record for the layers after it: the
// next handler gets a copy and the caller's request stays without one.
func TestRecordOnDemand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "pw", "-B", "-C", "4")
	users, err := HtpasswdFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got *http.Request
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		whoami(w, r)
	})
	mw := MustBasic(BasicConfig{Realm: "t", Users: users})(MustRequire(ValidUser())(app))
	for _, tc := range []struct {
		name      string
		outer     bool // an outer layer made the record
		pw        string
		status    int
		body      string
		sameReq   bool // the next handler got the caller's request
		outerSees bool // the caller's request carries the user afterwards
	}{
		{"outer record", true, "pw", 200, "alice Basic ", true, true},
		{"outer record, wrong password", true, "nope", 401, "", false, false},
		{"no record", false, "pw", 200, "alice Basic ", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest("GET", "/", nil)
			if tc.outer {
				r, _ = reqinfo.Ensure(r)
			}
			r.Header.Set("Authorization", basicHeader("alice", tc.pw))
			w := httptest.NewRecorder()
			mw.ServeHTTP(w, r)
			if w.Code != tc.status || tc.status == 200 && w.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), tc.status, tc.body)
			}
			if (got == r) != tc.sameReq {
				t.Errorf("next handler got the caller's request: %v, want %v", got == r, tc.sameReq)
			}
			if _, ok := FromContext(r.Context()); ok != tc.outerSees {
				t.Errorf("caller's request carries a user afterwards: %v, want %v", ok, tc.outerSees)
			}
			if !tc.outer && reqinfo.FromContext(r.Context()) != nil {
				t.Error("the caller's request got a record")
			}
		})
	}
}
