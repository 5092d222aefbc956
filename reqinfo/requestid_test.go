package reqinfo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

func TestRequestID(t *testing.T) {
	long := strings.Repeat("a", MaxIDLen)
	tests := []struct {
		name     string
		trust    bool
		incoming []string
		outer    string // an id an outer layer's record has; "" for none
		want     string // "" for a fresh id
	}{
		{"fresh", false, nil, "", ""},
		{"incoming ignored", false, []string{"abc-123"}, "", ""},
		{"incoming trusted", true, []string{"abc-123"}, "", "abc-123"},
		{"uuid", true, []string{"0f8fad5b-d9cb-469f-a165-70867728950e"}, "", "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{"longest", true, []string{long}, "", long},
		{"too long", true, []string{long + "a"}, "", ""},
		{"space", true, []string{"a b"}, "", ""},
		{"control", true, []string{"a\x01b"}, "", ""},
		{"log injection", true, []string{"a\" level=ERROR msg=\"forged"}, "", ""},
		{"non-ascii", true, []string{"ï"}, "", ""},
		{"empty", true, []string{""}, "", ""},
		{"two headers", true, []string{"a", "b"}, "", ""},
		{"outer record kept", false, []string{"abc"}, "outer-1", "outer-1"},
		{"outer record, trusted", true, []string{"abc"}, "outer-1", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen *Record
			h := RequestIDConfig{TrustIncoming: tt.trust}.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = FromContext(r.Context())
			}))
			r := httptest.NewRequest("GET", "/", nil)
			for _, v := range tt.incoming {
				r.Header.Add("X-Request-ID", v)
			}
			var outer *Record
			if tt.outer != "" {
				r, outer = Ensure(r)
				outer.SetID(tt.outer)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if seen == nil {
				t.Fatal("the next handler got no record")
			}
			if outer != nil && seen != outer {
				t.Fatal("the middleware replaced the outer layer's record")
			}
			id := seen.ID()
			if got := w.Header().Values("X-Request-ID"); len(got) != 1 || got[0] != id {
				t.Errorf("response X-Request-ID %q, want [%s]", got, id)
			}
			if tt.want != "" && id != tt.want {
				t.Errorf("id %q, want %q", id, tt.want)
			}
			if tt.want == "" && (strings.Trim(id, "0123456789abcdef") != "" || len(id) < 9) {
				t.Errorf("id %q, want a fresh one", id)
			}
		})
	}
	if RequestID(http.NotFoundHandler()) == nil {
		t.Fatal("RequestID returned nil")
	}
}

// TestRequestIDInLogs: concurrent requests through the middleware over a
// real server each get their own id, in their response header and in the
// log lines written about them (run with -race).
func TestRequestIDInLogs(t *testing.T) {
	var logs testenv.LogBuffer
	logger := logs.Logger()
	srv := httptest.NewServer(RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.Info("served", LogAttrs(r)...)
	})))
	defer srv.Close()
	const n = 20
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := http.Get(srv.URL + "/x")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			ids <- resp.Header.Get("X-Request-ID")
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("id %q empty or given twice", id)
		}
		seen[id] = true
		if !strings.Contains(logs.String(), "request_id="+id+"\n") {
			t.Errorf("no log line carries request_id=%s:\n%s", id, logs.String())
		}
	}
	if len(seen) != n {
		t.Errorf("%d ids for %d requests", len(seen), n)
	}
}

// FuzzValidID: an id ValidID accepts can go into a log line and a header
// as it is: at most MaxIDLen printable ASCII bytes, no blank, quote or
// backslash.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "", "a b", "a\"b", "a\\b", "ï", "a\r\nb", strings.Repeat("z", MaxIDLen+1), "Zm9v+/=", "host:1@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidID(id) {
			return
		}
		if id == "" || len(id) > MaxIDLen {
			t.Fatalf("accepted %q (length %d)", id, len(id))
		}
		for i := 0; i < len(id); i++ {
			if c := id[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == ',' || c == ';' {
				t.Fatalf("accepted %q with byte %q", id, c)
			}
		}
	})
}
