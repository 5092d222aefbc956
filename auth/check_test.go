package auth

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gowsgi/gowsgi/reqinfo"
)

type mapChecker map[string]string

func (m mapChecker) CheckPassword(_ context.Context, user, pw string) (*User, bool, error) {
	if p, ok := m[user]; ok && p == pw {
		return &User{Name: user}, true, nil
	}
	return nil, false, nil
}

func TestCheckers(t *testing.T) {
	tests := []struct {
		name      string
		c         PasswordChecker
		user, pw  string
		ok, isErr bool
	}{
		{"first", Checkers(mapChecker{"a": "1"}, mapChecker{"b": "2"}), "a", "1", true, false},
		{"second", Checkers(mapChecker{"a": "1"}, mapChecker{"b": "2"}), "b", "2", true, false},
		{"none", Checkers(mapChecker{"a": "1"}, mapChecker{"b": "2"}), "b", "1", false, false},
		{"error-stops", Checkers(failingChecker{}, mapChecker{"b": "2"}), "b", "2", false, true},
		{"empty", Checkers(), "b", "2", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok, err := tt.c.CheckPassword(context.Background(), tt.user, tt.pw)
			if ok != tt.ok || (err != nil) != tt.isErr || (ok && u.Name != tt.user) {
				t.Errorf("got %v %v %v", u, ok, err)
			}
		})
	}
}

func TestCheckHandler(t *testing.T) {
	h := MustBasic(BasicConfig{Realm: "r", Users: mapChecker{"a": "1"}})(CheckHandler())
	tests := []struct {
		name, authz string
		status      int
		outcome     reqinfo.AuthOutcome // what an outer layer's record holds
	}{
		{"anonymous", "", 401, reqinfo.AuthDenied},
		{"good", basicHeader("a", "1"), 200, reqinfo.AuthOK},
		{"bad", basicHeader("a", "2"), 401, reqinfo.AuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/authFile", nil)
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			r, rec := reqinfo.Ensure(r)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if _, o := rec.Auth(); o != tt.outcome {
				t.Errorf("outcome %v, want %v", o, tt.outcome)
			}
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without a challenge")
			}
		})
	}
}
