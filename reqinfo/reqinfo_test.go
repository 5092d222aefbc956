package reqinfo

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type otherKey struct{}

func TestEnsure(t *testing.T) {
	r := httptest.NewRequest("POST", "/trac/login?x=1", nil)
	r.RemoteAddr = "192.0.2.7:4242"
	r2, rec := Ensure(r)
	if rec == nil || r2 == r {
		t.Fatal("Ensure made no record, or returned the request unchanged")
	}
	if FromContext(r.Context()) != nil {
		t.Fatal("Ensure modified the caller's request")
	}
	if FromContext(r2.Context()) != rec {
		t.Fatal("the new request does not carry the record")
	}
	if r3, again := Ensure(r2); r3 != r2 || again != rec {
		t.Fatal("Ensure made a second record for a request that had one")
	}
	// A context derived further in still finds the record.
	inner := r2.WithContext(context.WithValue(r2.Context(), otherKey{}, 1))
	if FromContext(inner.Context()) != rec {
		t.Fatal("a derived context lost the record")
	}
	info := rec.Info()
	if info.Method != "POST" || info.Target != "/trac/login?x=1" || info.Client != "192.0.2.7:4242" || info.Start.IsZero() {
		t.Errorf("Info = %+v", info)
	}
	if info.User != nil || info.AuthOutcome != AuthNone || info.Mounted || info.PID != 0 || info.Environ != nil {
		t.Errorf("a new record is not empty: %+v", info)
	}
}

func TestRecordCancellation(t *testing.T) {
	parent, stop := context.WithCancel(context.Background())
	r, _ := Ensure(httptest.NewRequest("GET", "/", nil).WithContext(parent))
	child, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop()
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("cancelling the request's context did not reach a context under the record")
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		_, rec := Ensure(httptest.NewRequest("GET", "/", nil))
		id := rec.ID()
		if len(id) < 9 || strings.Trim(id, "0123456789abcdef") != "" || !ValidID(id) {
			t.Fatalf("request id %q, want hex digits", id)
		}
		if rec.ID() != id {
			t.Fatal("ID changed between two calls")
		}
		if seen[id] {
			t.Fatalf("two records got the id %q", id)
		}
		seen[id] = true
	}
	_, rec := Ensure(httptest.NewRequest("GET", "/", nil))
	rec.SetID("from-proxy")
	if rec.ID() != "from-proxy" || rec.Info().ID != "from-proxy" {
		t.Errorf("ID after SetID = %q", rec.ID())
	}
}

func TestSetters(t *testing.T) {
	_, rec := Ensure(httptest.NewRequest("GET", "/", nil))
	alice := &User{Name: "alice", AuthType: "Basic"}
	tests := []struct {
		name    string
		do      func()
		user    *User
		scheme  string
		outcome AuthOutcome
	}{
		{"login", func() { rec.SetUser(alice) }, alice, "basic", AuthOK},
		{"refused after login", func() { rec.SetAuth("", AuthDenied) }, alice, "basic", AuthDenied},
		{"another scheme fails", func() { rec.SetAuth("Negotiate", AuthFailed) }, alice, "negotiate", AuthFailed},
		{"cleared", func() { rec.SetUser(nil) }, nil, "", AuthNone},
		{"custom scheme", func() { rec.SetUser(&User{Name: "bob", AuthType: "Bearer"}) }, nil, "bearer", AuthOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			u := rec.User()
			if tt.user != nil && u != tt.user || tt.name == "cleared" && u != nil {
				t.Errorf("User = %v, want %v", u, tt.user)
			}
			if s, o := rec.Auth(); s != tt.scheme || o != tt.outcome {
				t.Errorf("Auth = %q %v, want %q %v", s, o, tt.scheme, tt.outcome)
			}
		})
	}

	rec.SetMount(Mount{ScriptName: "/trac/alpha", PathInfo: "/wiki"})
	if m, ok := rec.Mount(); !ok || m.ScriptName != "/trac/alpha" || m.PathInfo != "/wiki" {
		t.Errorf("Mount = %+v, %v", m, ok)
	}
	rec.SetClient("203.0.113.9:1")
	rec.SetPID(4321)
	if rec.Client() != "203.0.113.9:1" || rec.PID() != 4321 {
		t.Errorf("Client %q PID %d", rec.Client(), rec.PID())
	}
	rec.SetForwarded("198.51.100.4:0", "10.0.0.1:5555", "https")
	if peer, scheme := rec.Forwarded(); rec.Client() != "198.51.100.4:0" || peer != "10.0.0.1:5555" || scheme != "https" {
		t.Errorf("after SetForwarded: Client %q, Forwarded %q %q", rec.Client(), peer, scheme)
	}
	if info := rec.Info(); info.Peer != "10.0.0.1:5555" || info.URLScheme != "https" {
		t.Errorf("Info: Peer %q URLScheme %q", info.Peer, info.URLScheme)
	}

	rec.SetEnviron("trac.env_path", "/srv/a")
	rec.SetEnviron("other", "x")
	handed := rec.Environ()
	rec.SetEnviron("trac.env_path", "/srv/b") // replaces, never writes the slice handed out
	rec.SetEnviron("third", "y")
	if got := fmt.Sprint(handed); got != "[{trac.env_path /srv/a} {other x}]" {
		t.Errorf("a slice handed out changed: %s", got)
	}
	if got := fmt.Sprint(rec.Environ()); got != "[{trac.env_path /srv/b} {other x} {third y}]" {
		t.Errorf("Environ = %s", got)
	}
	if v, ok := rec.LookupEnviron("trac.env_path"); !ok || v != "/srv/b" {
		t.Errorf("LookupEnviron = %q, %v", v, ok)
	}
	if _, ok := rec.LookupEnviron("missing"); ok {
		t.Error("LookupEnviron found a missing entry")
	}
}

// TestNilRecord: every method of a nil *Record is a no-op returning zero
// values, so that layers need not check for a record.
func TestNilRecord(t *testing.T) {
	var rec *Record
	rec.SetID("x")
	rec.SetClient("x")
	rec.SetUser(&User{Name: "x"})
	rec.SetAuth("basic", AuthFailed)
	rec.SetMount(Mount{ScriptName: "/x"})
	rec.SetEnviron("k", "v")
	rec.SetPID(1)
	rec.SetForwarded("x", "y", "https")
	if peer, scheme := rec.Forwarded(); peer != "" || scheme != "" {
		t.Error("a nil record returned something from Forwarded")
	}
	_, mounted := rec.Mount()
	_, found := rec.LookupEnviron("k")
	scheme, outcome := rec.Auth()
	if rec.ID() != "" || rec.Client() != "" || rec.User() != nil || scheme != "" || outcome != AuthNone ||
		mounted || rec.Environ() != nil || found || rec.PID() != 0 || rec.Info().ID != "" {
		t.Error("a nil record returned something")
	}
	if FromContext(context.Background()) != nil {
		t.Error("FromContext found a record in an empty context")
	}
}

func TestAuthOutcomeString(t *testing.T) {
	for o, want := range map[AuthOutcome]string{AuthNone: "none", AuthOK: "ok", AuthFailed: "failed", AuthDenied: "denied", AuthUnavailable: "unavailable", 99: "none"} {
		if o.String() != want {
			t.Errorf("%d: %q, want %q", o, o.String(), want)
		}
	}
}

// TestConcurrentUse runs writers and readers of one record at once, as a
// handler, wsgi's relays and a status page do (run with -race).
func TestConcurrentUse(t *testing.T) {
	_, rec := Ensure(httptest.NewRequest("GET", "/", nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				switch (i + j) % 6 {
				case 0:
					rec.SetUser(&User{Name: fmt.Sprint("u", i), AuthType: "Basic"})
				case 1:
					rec.SetEnviron(fmt.Sprint("k", j%3), fmt.Sprint(i))
				case 2:
					rec.SetPID(i*1000 + j)
				case 3:
					rec.SetMount(Mount{ScriptName: "/m", PathInfo: fmt.Sprint("/", j)})
				case 4:
					info := rec.Info()
					for range info.Environ {
					}
					if info.ID == "" {
						t.Error("empty id")
					}
				case 5:
					_ = rec.ID()
					_, _ = rec.Auth()
					for range rec.Environ() {
					}
				}
			}
		})
	}
	wg.Wait()
	if len(rec.Environ()) != 3 {
		t.Errorf("Environ = %v, want 3 entries", rec.Environ())
	}
}

// TestLogAttrs: a log line about a request with a record carries its id.
func TestLogAttrs(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/p", nil)
	if got := fmt.Sprint(LogAttrs(r)); got != "[method=GET path=/p]" {
		t.Errorf("without a record: %s", got)
	}
	r, rec := Ensure(r)
	rec.SetID("abc")
	if got := fmt.Sprint(LogAttrs(r)); got != "[method=GET path=/p request_id=abc]" {
		t.Errorf("with a record: %s", got)
	}
}
