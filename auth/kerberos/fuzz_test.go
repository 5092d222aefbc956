package kerberos

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds returns Negotiate token texts: valid SPNEGO and raw tokens
// forged with kt, NTLM, and some junk.
func fuzzSeeds(t testing.TB) []string {
	kt, _ := testKeytab(t, "HTTP/localhost", testRealm)
	now := time.Now()
	tkt, key := forgeTicket(t, kt, ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now, end: now.Add(24 * time.Hour)})
	var seeds []string
	for _, o := range []tokenOptions{{}, {mutual: true}, {raw: true}, {legacy: true}} {
		h, _ := negotiateHeader(t, "alice", testRealm, tkt, key, o)
		seeds = append(seeds, strings.TrimPrefix(h, "Negotiate "))
	}
	return append(seeds,
		"TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
		"oQcwBaADCgEC", // a NegTokenResp (reject)
		"YAo=", "", "!!!", "YIIBAAYGKwYBBQUCoA==",
	)
}

// FuzzParseGSS feeds any bytes to the GSS-API token parser, without the
// recover that guards it in production, so that a panic in the ASN.1
// decoders shows up here.
func FuzzParseGSS(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		b, _ := base64.StdEncoding.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		tok, err := parseGSS(b)
		if (tok == nil) == (err == nil) {
			t.Fatalf("parseGSS: token %v and error %v", tok, err)
		}
	})
}

// FuzzNegotiate sends any Authorization: Negotiate value through the whole
// middleware: it must answer 200 (a valid token, once) or 401, never panic.
func FuzzNegotiate(f *testing.F) {
	_, ktData := testKeytab(f, "HTTP/localhost", testRealm)
	a, err := New(Config{KeytabData: ktData, SPN: "HTTP/localhost", Logger: (&logBuffer{}).logger()})
	if err != nil {
		f.Fatal(err)
	}
	h := protected(a)
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{"Negotiate " + text}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 401 {
			t.Fatalf("status %d", w.Code)
		}
	})
}
