package kerberos

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// BenchmarkWrap measures one request through the Authenticator and
// Require: with a fresh Kerberos token (decrypting the ticket and the
// authenticator, the replay check, the mutual-authentication reply), with
// the session cookie instead, and without credentials (the 401).
func BenchmarkWrap(b *testing.B) {
	kt, ktData := testKeytab(b, "HTTP/localhost", testRealm)
	a, err := New(Config{KeytabData: ktData, SPN: "HTTP/localhost", SessionKey: []byte("0123456789abcdef0123456789abcdef"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	h := protected(a)
	now := time.Now()
	tkt, key := forgeTicket(b, kt, ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now, end: now.Add(time.Hour)})

	b.Run("ticket", func(b *testing.B) {
		hdrs := make([]string, b.N) // a token is good once
		for i := range hdrs {
			hdrs[i], _ = negotiateHeader(b, "alice", testRealm, tkt, key, tokenOptions{mutual: true})
		}
		b.ResetTimer()
		for i := range b.N {
			if w := get(b, h, hdrs[i]); w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	b.Run("session cookie", func(b *testing.B) {
		hdr, _ := negotiateHeader(b, "alice", testRealm, tkt, key, tokenOptions{})
		w := get(b, h, hdr)
		cs := w.Result().Cookies()
		if w.Code != 200 || len(cs) != 1 {
			b.Fatalf("login: %d %v", w.Code, cs)
		}
		b.ResetTimer()
		for range b.N {
			if w := get(b, h, "", cs[0]); w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	b.Run("anonymous", func(b *testing.B) {
		for range b.N {
			if w := get(b, h, ""); w.Code != http.StatusUnauthorized {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
