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
