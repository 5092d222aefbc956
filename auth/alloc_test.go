//go:build !race

package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// TestCachedLoginAllocations checks the allocations of a cached Basic login
// (the race detector, which changes them, is off for this file): none for
// the check, and for the whole of Basic + Require valid-user only the
// request copy and the record made on demand that carry the user.
func TestCachedLoginAllocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "s3cretpassw0rd", "-B", "-C", "4")
	h, err := NewHtpasswd(HtpasswdConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	user, pw := []byte("alice"), []byte("s3cretpassw0rd")
	ctx := context.Background()
	if _, ok, _ := h.checkPasswordBytes(ctx, user, pw); !ok {
		t.Fatal("refused")
	}
	var seen string
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := FromContext(r.Context())
		seen = u.Name
	})
	mw := MustBasic(BasicConfig{Users: h})(MustRequire(ValidUser())(app))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", basicHeader("alice", "s3cretpassw0rd"))
	w := testenv.NewDiscardWriter()
	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{"check", 0, func() { h.checkPasswordBytes(ctx, user, pw) }},
		{"basic-require", 2, func() { mw.ServeHTTP(w, r) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tt.fn); n > tt.max {
				t.Errorf("%v allocations, want at most %v", n, tt.max)
			}
		})
	}
	// With a record made further out (command gowsgi's edge makes one per
	// request) the user is recorded there, in place: no allocation beyond
	// making the record, instead of the request copy and the record made
	// on demand.
	t.Run("basic-require-in-scope", func(t *testing.T) {
		scope := func() *http.Request { r, _ := reqinfo.Ensure(r); return r }
		base := testing.AllocsPerRun(200, func() { _ = scope() })
		n := testing.AllocsPerRun(200, func() { mw.ServeHTTP(w, scope()) })
		if seen != "alice" {
			t.Fatalf("the application saw %q", seen)
		}
		if n-base > 0 {
			t.Errorf("%v allocations beyond the %v of the record, want none", n-base, base)
		}
	})
	if seen != "alice" {
		t.Errorf("the application saw %q", seen)
	}
}
