package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// whoami answers "user authtype original" from the context, or "-" when
// anonymous, as REMOTE_USER reaches the WSGI environ.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u := reqinfo.FromContext(r.Context()).User()
	if u == nil {
		w.Write([]byte("-"))
		return
	}
	w.Write([]byte(u.Name + " " + u.AuthType + " " + u.Original))
})

func basicHeader(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

type failingChecker struct{}

func (failingChecker) CheckPassword(context.Context, string, string) (*User, bool, error) {
	return nil, false, errors.New("directory down")
}

func TestBasicMiddleware(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "pw", "-B", "-C", "4")
	testenv.Htpasswd(t, path, `EXAMPLE\Bob`, "bobpw")
	users, err := HtpasswdFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	protected := MustBasic(BasicConfig{Realm: `Trac "main"`, Users: users, Logger: logger})(MustRequire(ValidUser())(whoami))
	open := MustBasic(BasicConfig{Realm: "Trac", Users: users})(whoami)
	normalized := MustBasic(BasicConfig{Users: users, Normalize: Chain(StripDomain(), Lower())})(whoami)
	failing := MustBasic(BasicConfig{Users: failingChecker{}, Logger: logger})(whoami)

	tests := []struct {
		name      string
		h         http.Handler
		auth      []string
		setHeader map[string]string
		status    int
		body      string
		challenge string
	}{
		{"anonymous-protected", protected, nil, nil, 401, "Unauthorized\n", `Basic realm="Trac \"main\"", charset="UTF-8"`},
		{"anonymous-open", open, nil, nil, 200, "-", ""},
		{"good", protected, []string{basicHeader("alice", "pw")}, nil, 200, "alice Basic ", ""},
		{"good-lowercase-scheme", protected, []string{"basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))}, nil, 200, "alice Basic ", ""},
		{"wrong-password", open, []string{basicHeader("alice", "nope")}, nil, 401, "Unauthorized\n", `Basic realm="Trac", charset="UTF-8"`},
		{"unknown-user", open, []string{basicHeader("mallory", "pw")}, nil, 401, "Unauthorized\n", `Basic realm="Trac", charset="UTF-8"`},
		{"bad-base64", open, []string{"Basic !!!"}, nil, 401, "Unauthorized\n", `Basic realm="Trac", charset="UTF-8"`},
		{"no-colon", open, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice"))}, nil, 401, "Unauthorized\n", `Basic realm="Trac", charset="UTF-8"`},
		{"two-headers", open, []string{basicHeader("alice", "pw"), basicHeader("alice", "pw")}, nil, 400, "Bad Request\n", ""},
		{"other-scheme-passes", open, []string{"Negotiate YIIB"}, nil, 200, "-", ""},
		{"spoofed-remote-user-header", open, nil, map[string]string{"Remote-User": "admin", "X-Remote-User": "admin"}, 200, "-", ""},
		{"normalized", normalized, []string{basicHeader(`EXAMPLE\Bob`, "bobpw")}, nil, 200, `bob Basic EXAMPLE\Bob`, ""},
		{"checker-error", failing, []string{basicHeader("alice", "pw")}, nil, 503, "Service Unavailable\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/login", nil)
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			for k, v := range tt.setHeader {
				r.Header.Set(k, v)
			}
			before := r.Header.Clone()
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.status, tt.body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("challenge %q, want %q", got, tt.challenge)
			}
			if len(r.Header) != len(before) || r.Header.Get("Authorization") != before.Get("Authorization") {
				t.Error("the incoming request was modified")
			}
		})
	}
	if !strings.Contains(logs.String(), "directory down") {
		t.Errorf("checker failure not logged: %s", logs.String())
	}
}

func TestNewBasicErrors(t *testing.T) {
	if _, err := NewBasic(BasicConfig{}); err == nil {
		t.Error("nil Users accepted")
	}
	if _, err := NewBasic(BasicConfig{Users: failingChecker{}, Realm: "a\nb"}); err == nil {
		t.Error("realm with a newline accepted")
	}
}

func TestParseBasic(t *testing.T) {
	tests := []struct {
		in          string
		user, pw    string
		isBasic, ok bool
	}{
		{basicHeader("a", "b:c"), "a", "b:c", true, true},
		{basicHeader("a", ""), "a", "", true, true},
		{"BASIC  " + base64.StdEncoding.EncodeToString([]byte("a:b")) + " ", "a", "b", true, true},
		{basicHeader("", "b"), "", "", true, false},
		{basicHeader("a\x00", "b"), "", "", true, false},
		{"Basic", "", "", true, false},
		{"Basic !!!!", "", "", true, false},
		// Longer than the decoding buffer on the stack.
		{basicHeader("alice", strings.Repeat("p", 500)), "alice", strings.Repeat("p", 500), true, true},
		{basicHeader(strings.Repeat("u", 300), "b"), strings.Repeat("u", 300), "b", true, true},
		{"Basic " + strings.Repeat("QUJD", 100) + "!", "", "", true, false},
		{"Bearer x", "", "", false, false},
		{"", "", "", false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.40s", tt.in), func(t *testing.T) {
			u, p, isBasic, ok := parseBasic(tt.in)
			if u != tt.user || p != tt.pw || isBasic != tt.isBasic || ok != tt.ok {
				t.Errorf("parseBasic(%q) = %q %q %v %v", tt.in, u, p, isBasic, ok)
			}
		})
	}
}

type funcChallenger func(h http.Header)

func (f funcChallenger) Challenge(h http.Header, r *http.Request) { f(h) }

// TestChallengesOnce checks that each scheme challenges once, that a
// challenger of an incomparable type does not panic, and that registration
// order is kept.
func TestChallengesOnce(t *testing.T) {
	b, err := NewBasic(BasicConfig{Realm: "r", Users: failingChecker{}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r = WithChallenger(r, staticChallenger("Negotiate"))
	r = WithChallenger(r, b)
	r = WithChallenger(r, funcChallenger(func(h http.Header) { h.Add("WWW-Authenticate", "Bearer") }))
	r = WithChallenger(r, nil)
	w := httptest.NewRecorder()
	WriteUnauthorized(w, r, b)
	got := strings.Join(w.Header().Values("WWW-Authenticate"), "|")
	if want := `Negotiate|Bearer|Basic realm="r", charset="UTF-8"`; got != want || w.Code != 401 {
		t.Errorf("%d %q, want 401 %q", w.Code, got, want)
	}
}

// withUser returns r carrying u in its record, as an authentication
// middleware leaves it.
func withUser(r *http.Request, u *User) *http.Request {
	r, rec := reqinfo.Ensure(r)
	rec.SetUser(u)
	return r
}

// TestFromContext checks that FromContext reads the user of the request's
// record, whoever recorded it, and the latest one.
func TestFromContext(t *testing.T) {
	alice := &User{Name: "alice", AuthType: "Basic", Original: `EXAMPLE\alice`}
	carol := &User{Name: "carol", AuthType: "Digest"}
	base := httptest.NewRequest("GET", "/", nil)
	withAlice := withUser(base, alice)
	tests := []struct {
		name string
		r    *http.Request
		user *User // nil: anonymous
	}{
		{"no record", base, nil},
		{"record without user", func() *http.Request { r, _ := reqinfo.Ensure(base); return r }(), nil},
		{"authenticated", withAlice, alice},
		{"authenticated-again", withUser(withUser(base, alice), carol), carol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if u, ok := FromContext(tt.r.Context()); u != tt.user || ok != (tt.user != nil) {
				t.Errorf("FromContext = %p, %v; want %p", u, ok, tt.user)
			}
		})
	}
}
