package reqinfo_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// An access log written as an outer middleware: once the inner chain ran,
// it reads from the request's record who authenticated, with what outcome,
// and where the request was mounted, as Apache's %u sees the user an inner
// module set. (The password file would come from Apache's htpasswd; this
// example writes a SHA-1 entry by hand to stay self-contained.)
func Example() {
	dir, err := os.MkdirTemp("", "reqinfo-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(path, []byte("alice:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n"), 0o600); err != nil { // htpasswd -nbs alice pw
		fmt.Println(err)
		return
	}
	users, err := auth.HtpasswdFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	chain := auth.MustBasic(auth.BasicConfig{Realm: "trac", Users: users})(
		auth.MustRequire(auth.ValidUser())(
			prefix.MustMount("/trac")(app)))

	accessLog := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := reqinfo.FromContext(r.Context()) // made by RequestID, further out
			next.ServeHTTP(w, r)
			info := rec.Info()
			user := "-"
			if info.User != nil {
				user = info.User.Name
			}
			fmt.Printf("%s %s %s user=%s auth=%s/%s script=%q\n",
				info.ID, info.Method, info.Target, user, info.AuthScheme, info.AuthOutcome, info.Mount.ScriptName)
		})
	}
	h := reqinfo.RequestIDConfig{TrustIncoming: true}.Wrap(accessLog(chain))

	for _, c := range []struct{ id, user, pw string }{
		{"req-1", "alice", "pw"},
		{"req-2", "alice", "wrong"},
		{"req-3", "", ""},
	} {
		r := httptest.NewRequest("GET", "/trac/wiki", nil)
		r.Header.Set("X-Request-ID", c.id) // as a trusted proxy in front sets it
		if c.user != "" {
			r.SetBasicAuth(c.user, c.pw)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Output:
	// req-1 GET /trac/wiki user=alice auth=basic/ok script="/trac"
	// req-2 GET /trac/wiki user=- auth=basic/failed script=""
	// req-3 GET /trac/wiki user=- auth=/denied script=""
}

// The request-id middleware gives every request an id, sends it back in
// X-Request-ID and puts it on every log line written with LogAttrs (the
// packages of this module write theirs so).
func ExampleRequestIDConfig() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output for this example
			}
			return a
		},
	}))
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.Info("hello", reqinfo.LogAttrs(r)...)
	})
	// TrustIncoming: every request comes through a proxy that sets
	// X-Request-ID. Without it (reqinfo.RequestID), the id is always new.
	h := reqinfo.RequestIDConfig{TrustIncoming: true}.Wrap(app)

	r := httptest.NewRequest("GET", "/wiki", nil)
	r.Header.Set("X-Request-ID", "4bf92f3577b34da6")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Header().Get("X-Request-ID"))
	// Output:
	// level=INFO msg=hello method=GET path=/wiki request_id=4bf92f3577b34da6
	// 4bf92f3577b34da6
}
