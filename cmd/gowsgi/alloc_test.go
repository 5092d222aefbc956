//go:build !race

package main

import (
	"path/filepath"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestAuthLayerAllocations checks that a cached Basic login through the
// command's chain, as it builds it (and as this test binary is built: with
// the command's default.pgo, whose inlining once made SHA-256 allocate),
// allocates nothing beyond what the same request costs without
// authentication. The race detector, which changes allocations, is off for this
// file.
func TestAuthLayerAllocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "s3cretpassw0rd", "-B", "-C", "4")
	good := basicAuth("alice", "s3cretpassw0rd")
	allocs := func(args []string, target string) float64 {
		h, r := edgeAuthRequest(t, args, target, good)
		w := testenv.NewDiscardWriter()
		h.ServeHTTP(w, r) // the first check fills the cache
		return testing.AllocsPerRun(200, func() {
			clear(w.Header())
			h.ServeHTTP(w, r)
		})
	}
	base := allocs(nil, "/bcrypt")
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"every path", []string{"-htpasswd", path, "-require", "valid-user"}},
		{"location", []string{"-htpasswd", path, "-auth-location", "^/bcrypt(/|$)"}},
	} {
		if n := allocs(tt.args, "/bcrypt"); n != base {
			t.Errorf("%s: %v allocations, %v without authentication", tt.name, n, base)
		}
	}
}
