package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// tokenScheme is a Scheme of its own name accepting one token.
type tokenScheme struct{ name, good string }

func (s tokenScheme) Name() string                             { return s.name }
func (s tokenScheme) Challenge(h http.Header, r *http.Request) { h.Add("WWW-Authenticate", s.name) }
func (s tokenScheme) Verify(w http.ResponseWriter, r *http.Request, token string) (Result, error) {
	if token == s.good {
		w.Header().Set("WWW-Authenticate", s.name+" reply")
		return Result{Outcome: Authenticated, User: &User{Name: "tok", AuthType: s.name}}, nil
	}
	return Result{Outcome: BadCredentials}, nil
}

// TestFlow: one flow, several schemes, one header handling.
func TestFlow(t *testing.T) {
	basic, err := NewBasic(BasicConfig{Realm: "r", Users: staticUsers{"alice": "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFlow(FlowConfig{Schemes: []Scheme{tokenScheme{"Token", "t0k"}, basic}, Normalize: Lower()})
	if err != nil {
		t.Fatal(err)
	}
	h := f.Wrap(MustRequire(ValidUser())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := FromContext(r.Context())
		w.Write([]byte(u.Name + " " + u.AuthType))
	})))
	both := []string{"Token", `Basic realm="r", charset="UTF-8"`}
	tests := []struct {
		name   string
		hdrs   []string
		status int
		body   string
		chall  []string
	}{
		{"anonymous", nil, 401, "", both},
		{"token", []string{"token  t0k "}, 200, "tok Token", []string{"Token reply"}},
		{"basic", []string{basicHeader("Alice", "pw")}, 200, "alice Basic", nil},
		{"bad token", []string{"Token nope"}, 401, "", both},
		{"bad basic", []string{basicHeader("alice", "x")}, 401, "", both},
		{"other scheme", []string{"Bearer x"}, 401, "", both},
		{"repeated", []string{"Token t0k", basicHeader("alice", "pw")}, 400, "", nil},
		{"repeated, foreign first", []string{"Bearer x", "Token t0k"}, 400, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.hdrs != nil {
				r.Header["Authorization"] = tt.hdrs
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || (tt.body != "" && w.Body.String() != tt.body) {
				t.Fatalf("%d %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
			if got := w.Header().Values("WWW-Authenticate"); !slices.Equal(got, tt.chall) {
				t.Errorf("challenges %q, want %q", got, tt.chall)
			}
		})
	}
	for name, cfg := range map[string]FlowConfig{
		"none":       {},
		"nil":        {Schemes: []Scheme{nil}},
		"twice":      {Schemes: []Scheme{basic, tokenScheme{"basic", ""}}},
		"bad name":   {Schemes: []Scheme{tokenScheme{"To ken", ""}}},
		"empty name": {Schemes: []Scheme{tokenScheme{"", ""}}},
	} {
		if _, err := NewFlow(cfg); err == nil || !strings.HasPrefix(err.Error(), "auth: ") {
			t.Errorf("NewFlow %s: %v, want an auth error", name, err)
		}
	}
}

type staticUsers map[string]string

func (s staticUsers) CheckPassword(_ context.Context, user, pw string) (*User, bool, error) {
	if p, ok := s[user]; ok && p == pw {
		return &User{Name: user, AuthType: "Basic"}, true, nil
	}
	// the name as typed may differ in case from the file's
	if p, ok := s[strings.ToLower(user)]; ok && p == pw {
		return &User{Name: user, AuthType: "Basic"}, true, nil
	}
	return nil, false, nil
}

type countingChecker struct {
	n atomic.Int64
	staticUsers
}

func (c *countingChecker) CheckPassword(ctx context.Context, user, pw string) (*User, bool, error) {
	c.n.Add(1)
	return c.staticUsers.CheckPassword(ctx, user, pw)
}

func TestNewCache(t *testing.T) {
	c := &countingChecker{staticUsers: staticUsers{"alice": "pw"}}
	cc, err := NewCache(c, CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, ok, err := cc.CheckPassword(ctx, "alice", "pw"); !ok || err != nil {
			t.Fatalf("good: %v %v", ok, err)
		}
	}
	for range 2 {
		if _, ok, _ := cc.CheckPassword(ctx, "alice", "x"); ok {
			t.Fatal("wrong password accepted")
		}
	}
	if n := c.n.Load(); n != 3 {
		t.Errorf("%d checks behind the cache, want 3 (one good, cached; two bad, never cached)", n)
	}
	off, _ := NewCache(c, CacheConfig{TTL: -1})
	off.CheckPassword(ctx, "alice", "pw")
	off.CheckPassword(ctx, "alice", "pw")
	if n := c.n.Load(); n != 5 {
		t.Errorf("cache off: %d checks, want 5", n)
	}
	if _, err := NewCache(nil, CacheConfig{}); err == nil {
		t.Error("NewCache(nil) accepted")
	}
}
