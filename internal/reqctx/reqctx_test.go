package reqctx

import (
	"context"
	"net/http/httptest"
	"testing"
)

func TestUserAndMount(t *testing.T) {
	ctx := context.Background()
	if _, ok := UserFrom(ctx); ok {
		t.Fatal("empty context has a user")
	}
	ctx = WithUser(ctx, User{Name: "alice", AuthType: "Basic"})
	u, ok := UserFrom(ctx)
	if !ok || u.Name != "alice" || u.AuthType != "Basic" {
		t.Fatalf("UserFrom = %+v, %v", u, ok)
	}
	if _, ok := MountFrom(ctx); ok {
		t.Fatal("mount without WithMount")
	}
	ctx = WithMount(ctx, Mount{ScriptName: "/trac", PathInfo: "/x"})
	m, ok := MountFrom(ctx)
	if !ok || m.ScriptName != "/trac" || m.PathInfo != "/x" {
		t.Fatalf("MountFrom = %+v, %v", m, ok)
	}
}

func TestEnvironOrder(t *testing.T) {
	base := WithEnviron(context.Background(), "a", "1")
	left := WithEnviron(base, "b", "2")
	right := WithEnviron(base, "b", "3")
	for _, tc := range []struct {
		ctx  context.Context
		want []KV
	}{
		{context.Background(), nil},
		{base, []KV{{"a", "1"}}},
		{left, []KV{{"a", "1"}, {"b", "2"}}},
		{right, []KV{{"a", "1"}, {"b", "3"}}},
	} {
		got := EnvironFrom(tc.ctx)
		if len(got) != len(tc.want) {
			t.Fatalf("EnvironFrom = %v, want %v", got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("EnvironFrom = %v, want %v", got, tc.want)
			}
		}
	}
}

func TestRequestID(t *testing.T) {
	r := httptest.NewRequest("GET", "/p", nil)
	r2 := EnsureRequestID(r)
	id := RequestID(r2.Context())
	if len(id) < 9 {
		t.Fatalf("request id %q", id)
	}
	if other := NewRequestID(); other == id {
		t.Fatalf("two requests got the same id %q", id)
	}
	if RequestID(r.Context()) != "" {
		t.Fatal("EnsureRequestID mutated the original request")
	}
	if EnsureRequestID(r2) != r2 {
		t.Fatal("EnsureRequestID replaced an existing id")
	}
	attrs := LogAttrs(r2)
	if len(attrs) != 3 {
		t.Fatalf("LogAttrs = %v", attrs)
	}
}

// richUser is an Identity as package auth stores one.
type richUser struct{ name, authType, extra string }

func (u *richUser) RemoteUser() User { return User{Name: u.name, AuthType: u.authType} }

func TestIdentity(t *testing.T) {
	alice := &richUser{"alice", "Basic", "x"}
	base := context.Background()
	withID := WithIdentity(base, alice)
	// package wsgi's WithRemoteUser after authentication: REMOTE_USER
	// changes, the identity stays.
	overridden := WithUser(withID, User{Name: "bob", AuthType: "Custom"})
	// authentication after WithUser: the identity wins.
	reauth := WithIdentity(WithUser(base, User{Name: "bob"}), alice)
	tests := []struct {
		name     string
		ctx      context.Context
		want     User
		wantOK   bool
		identity Identity
	}{
		{"none", base, User{}, false, nil},
		{"identity", withID, User{"alice", "Basic"}, true, alice},
		{"user-after-identity", overridden, User{"bob", "Custom"}, true, alice},
		{"identity-after-user", reauth, User{"alice", "Basic"}, true, alice},
		{"plain-user", WithUser(base, User{Name: "carol"}), User{Name: "carol"}, true, nil},
		{"cleared", WithIdentity(withID, nil), User{}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := UserFrom(tt.ctx)
			if u != tt.want || ok != tt.wantOK {
				t.Errorf("UserFrom = %+v, %v; want %+v, %v", u, ok, tt.want, tt.wantOK)
			}
			if id := IdentityFrom(tt.ctx); id != tt.identity {
				t.Errorf("IdentityFrom = %v, want %v", id, tt.identity)
			}
		})
	}
}
