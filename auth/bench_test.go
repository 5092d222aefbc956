package auth

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("Hello, World!\n"))
})

func benchServe(b *testing.B, h http.Handler, authz string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/login", nil)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

// BenchmarkBasic compares a hello-world handler without protection and
// behind Basic over a bcrypt cost-10 htpasswd file written by Debian's
// htpasswd, with the cache (the default) and without (what Apache does on
// every request). Run: go test -run '^$' -bench Basic -benchmem -benchtime 2s ./auth/
func BenchmarkBasic(b *testing.B) {
	path := filepath.Join(b.TempDir(), "htpasswd")
	testenv.Htpasswd(b, path, "alice", "s3cret", "-B", "-C", "10")
	cached, err := NewHtpasswd(HtpasswdConfig{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	uncached, err := NewHtpasswd(HtpasswdConfig{Path: path, CacheTTL: -1})
	if err != nil {
		b.Fatal(err)
	}
	authz := basicHeader("alice", "s3cret")
	b.Run("unprotected", func(b *testing.B) { benchServe(b, hello, "") })
	b.Run("bcrypt10-cached", func(b *testing.B) {
		benchServe(b, MustBasic(BasicConfig{Realm: "Trac", Users: cached})(MustRequire(ValidUser())(hello)), authz)
	})
	b.Run("bcrypt10-uncached", func(b *testing.B) {
		benchServe(b, MustBasic(BasicConfig{Realm: "Trac", Users: uncached})(MustRequire(ValidUser())(hello)), authz)
	})
}

// BenchmarkCheckPasswordUnknownUser shows that an unknown user costs as
// much as a known one with a wrong password (one bcrypt verification), so
// response times do not reveal which names exist. Run:
// go test -run '^$' -bench CheckPassword ./auth/
func BenchmarkCheckPasswordUnknownUser(b *testing.B) {
	path := filepath.Join(b.TempDir(), "htpasswd")
	testenv.Htpasswd(b, path, "alice", "s3cret", "-B", "-C", "6")
	h, err := NewHtpasswd(HtpasswdConfig{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	for _, user := range []string{"alice", "nobody"} {
		b.Run(map[string]string{"alice": "known-wrong-password", "nobody": "unknown-user"}[user], func(b *testing.B) {
			for b.Loop() {
				if _, ok, _ := h.CheckPassword(b.Context(), user, "wrong"); ok {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkDecodeBasic measures the parsing of a Basic Authorization
// header, which every protected request pays before the cache. Run:
// go test -run '^$' -bench DecodeBasic ./auth/
func BenchmarkDecodeBasic(b *testing.B) {
	h := strings.TrimPrefix(basicHeader("alice", "s3cretpassw0rd"), "Basic ")
	var buf [basicStackLen]byte
	for b.Loop() {
		c, ok := decodeBasic(h, buf[:])
		if !ok || c.colon != len("alice") {
			b.Fatal("refused")
		}
	}
}
