package reqctx

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
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

// TestScope: the scope EnsureRequestID makes holds the request id and,
// once set, the identity, for the request and every context derived from
// it; a user carried by a context value wins, and blocks the scope.
func TestScope(t *testing.T) {
	alice := &richUser{"alice", "Basic", ""}
	bob := &richUser{"bob", "Digest", ""}
	r := EnsureRequestID(httptest.NewRequest("GET", "/p", nil))
	outer := r.Context()
	inner, cancel := context.WithCancel(context.WithValue(outer, mountKey{}, &Mount{ScriptName: "/trac"}))
	defer cancel()
	if _, ok := UserFrom(inner); ok {
		t.Fatal("a new scope has a user")
	}
	if !SetScopeIdentity(inner, alice) {
		t.Fatal("SetScopeIdentity into an empty scope failed")
	}
	for name, ctx := range map[string]context.Context{"inner": inner, "outer": outer} {
		if u, ok := UserFrom(ctx); !ok || u.Name != "alice" {
			t.Errorf("%s: UserFrom = %+v, %v; want alice", name, u, ok)
		}
		if IdentityFrom(ctx) != alice {
			t.Errorf("%s: IdentityFrom = %v", name, IdentityFrom(ctx))
		}
		if RequestID(ctx) == "" {
			t.Errorf("%s: no request id", name)
		}
	}
	if m, ok := MountFrom(inner); !ok || m.ScriptName != "/trac" {
		t.Errorf("a value under the scope got lost: %+v %v", m, ok)
	}
	if SetScopeIdentity(inner, bob) {
		t.Error("SetScopeIdentity replaced the identity of the scope")
	}
	if id := IdentityFrom(WithIdentity(inner, bob)); id != bob {
		t.Errorf("a WithIdentity further in: IdentityFrom = %v, want bob", id)
	}

	// Cancellation goes through the scope.
	parent, stop := context.WithCancel(context.Background())
	scoped := EnsureRequestID(httptest.NewRequest("GET", "/", nil).WithContext(parent)).Context()
	child, cancelChild := context.WithCancel(scoped)
	defer cancelChild()
	stop()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the request's context did not reach a context under the scope")
	}

	// No scope, or a user already carried: nothing is recorded.
	for name, ctx := range map[string]context.Context{
		"no scope":          context.Background(),
		"user outside":      EnsureRequestID(httptest.NewRequest("GET", "/", nil).WithContext(WithIdentity(context.Background(), bob))).Context(),
		"user inside":       WithUser(EnsureRequestID(httptest.NewRequest("GET", "/", nil)).Context(), User{Name: "carol"}),
		"user cleared here": WithIdentity(EnsureRequestID(httptest.NewRequest("GET", "/", nil)).Context(), nil),
	} {
		if SetScopeIdentity(ctx, alice) {
			t.Errorf("%s: SetScopeIdentity recorded the identity", name)
		}
		if id := IdentityFrom(ctx); id == alice {
			t.Errorf("%s: IdentityFrom = alice", name)
		}
	}
	// A user outside an empty scope is seen through it.
	withBob := EnsureRequestID(httptest.NewRequest("GET", "/", nil).WithContext(WithIdentity(context.Background(), bob))).Context()
	if u, ok := UserFrom(withBob); !ok || u.Name != "bob" {
		t.Errorf("user outside the scope: UserFrom = %+v, %v", u, ok)
	}

	// Concurrent setters: exactly one records its identity, and every
	// reader sees that one (run with -race).
	ctx := EnsureRequestID(httptest.NewRequest("GET", "/", nil)).Context()
	ids := []Identity{alice, bob, &richUser{"carol", "Basic", ""}, &richUser{"dave", "Basic", ""}}
	won := make(chan Identity, len(ids))
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if SetScopeIdentity(ctx, id) {
				won <- id
			}
		}()
		go func() {
			defer wg.Done()
			if got := IdentityFrom(ctx); got != nil && !slices.Contains(ids, got) {
				t.Errorf("a reader saw %v", got)
			}
		}()
	}
	wg.Wait()
	close(won)
	if len(won) != 1 {
		t.Fatalf("%d setters won", len(won))
	}
	if w := <-won; IdentityFrom(ctx) != w {
		t.Errorf("IdentityFrom = %v, the winner was %v", IdentityFrom(ctx), w)
	}
}
