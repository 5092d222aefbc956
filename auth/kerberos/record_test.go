package kerberos

import (
	"net/http"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// TestRecordNegotiate checks what a Negotiate login records for a layer
// outside the Authenticator (an access log): the user, scheme "negotiate"
// and the outcome, for a good ticket and for its replay.
func TestRecordNegotiate(t *testing.T) {
	kt, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	var logs logBuffer
	a, err := New(Config{KeytabData: ktData, SPN: "HTTP/localhost@" + testRealm, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	spec := ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now.Add(-time.Minute), end: now.Add(time.Hour)}
	tkt, key := forgeTicket(t, kt, spec)
	hdr, _ := negotiateHeader(t, spec.client, spec.crealm, tkt, key, tokenOptions{})
	var got reqinfo.Info
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := reqinfo.Ensure(r)
		protected(a).ServeHTTP(w, r)
		got = rec.Info()
	})
	for _, want := range []struct {
		status  int
		user    string
		outcome reqinfo.AuthOutcome
	}{
		{200, "alice@" + testRealm, reqinfo.AuthOK},
		{401, "", reqinfo.AuthFailed}, // the same ticket again: a replay
	} {
		w := get(t, h, hdr)
		if w.Code != want.status {
			t.Fatalf("status %d, want %d; log:\n%s", w.Code, want.status, logs.String())
		}
		name := ""
		if got.User != nil {
			name = got.User.Name
		}
		if name != want.user || got.AuthScheme != "negotiate" || got.AuthOutcome != want.outcome {
			t.Errorf("record: user %q scheme %q outcome %v; want %q negotiate %v", name, got.AuthScheme, got.AuthOutcome, want.user, want.outcome)
		}
	}
}
