package auth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// A Trac-style setup: Basic authentication from an htpasswd file, any valid
// user allowed. (The file would come from Apache's htpasswd; this example
// writes a SHA-1 entry by hand to stay self-contained.)
func Example() {
	dir, _ := os.MkdirTemp("", "auth-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "trac.htpasswd")
	// htpasswd -nbs alice pw
	os.WriteFile(path, []byte("alice:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n"), 0o600)

	users, err := auth.HtpasswdFile(path)
	if err != nil {
		panic(err)
	}
	login := auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: users})
	authz := auth.MustRequire(auth.ValidUser())
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s (%s)", u.Name, u.AuthType)
	})
	srv := httptest.NewServer(login(authz(app)))
	defer srv.Close()

	resp, _ := http.Get(srv.URL + "/login")
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	resp.Body.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/login", nil)
	req.SetBasicAuth("alice", "pw")
	resp, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 401 Basic realm="Trac", charset="UTF-8"
	// 200 hello alice (Basic)
}

// Require rules combine like Apache's: several rules mean any, All and Not
// build RequireAll and "Require not".
func ExampleMustRequire() {
	rules := auth.MustRequire(
		auth.MustIP("10.0.0.0/8", "2001:db8::/32"),
		auth.All(auth.ValidUser(), auth.Not(auth.Users("guest"))),
	)
	h := rules(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, c := range []struct {
		remote string
		user   string
	}{{"10.1.2.3:1", ""}, {"192.0.2.1:1", "alice"}, {"192.0.2.1:1", "guest"}, {"192.0.2.1:1", ""}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.user != "" {
			// What an authentication middleware records.
			var rec *reqinfo.Record
			r, rec = reqinfo.Ensure(r)
			rec.SetUser(&auth.User{Name: c.user})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(c.remote, c.user, w.Code)
	}
	// Output:
	// 10.1.2.3:1  200
	// 192.0.2.1:1 alice 200
	// 192.0.2.1:1 guest 403
	// 192.0.2.1:1  403
}

// Normalizers rewrite the name the application sees.
func ExampleChain() {
	n := auth.Chain(auth.StripDomain(), auth.StripRealm(), auth.Lower())
	fmt.Println(n(`EXAMPLE\Alice`), n("Bob@EXAMPLE.COM"))
	// Output: alice bob
}

// Anonymous reads, authenticated writes (hgweb, Subversion, WebDAV):
// Apache's <RequireAny> Require method GET HEAD OPTIONS / Require
// valid-user </RequireAny>.
func ExampleMustMethod() {
	dir, _ := os.MkdirTemp("", "auth-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "hg.htpasswd")
	os.WriteFile(path, []byte("alice:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n"), 0o600) // htpasswd -nbs alice pw
	users, err := auth.HtpasswdFile(path)
	if err != nil {
		panic(err)
	}
	h := auth.MustBasic(auth.BasicConfig{Realm: "hg", Users: users})(
		auth.MustRequire(auth.MustMethod("GET", "HEAD", "OPTIONS"), auth.ValidUser())(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				u, ok := auth.FromContext(r.Context())
				if !ok {
					fmt.Fprint(w, "anonymous")
					return
				}
				fmt.Fprint(w, u.Name)
			})))
	for _, c := range []struct{ method, user string }{{"GET", ""}, {"POST", ""}, {"POST", "alice"}} {
		r := httptest.NewRequest(c.method, "/repo?cmd=unbundle", nil)
		if c.user != "" {
			r.SetBasicAuth(c.user, "pw")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%s %d %q %s\n", c.method, w.Code, w.Header().Get("WWW-Authenticate"), strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// GET 200 "" anonymous
	// POST 401 "Basic realm=\"hg\", charset=\"UTF-8\"" Unauthorized
	// POST 200 "" alice
}
