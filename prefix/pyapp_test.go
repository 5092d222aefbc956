package prefix

import (
	"net/http"
	"net/http/cgi"
	"path/filepath"
	"testing"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/internal/testenv"
)

// routeApp returns testdata/routeapp.py, a real Python WSGI application that
// routes as Trac does and answers with JSON naming what it routed on.
func routeApp(t *testing.T) http.Handler {
	t.Helper()
	python := testenv.LookPath(t, "python3", "python3")
	script, err := filepath.Abs("testdata/routeapp.py")
	if err != nil {
		t.Fatal(err)
	}
	// Interim gateway until wsgi.New works: the application run as CGI, one
	// Python process per request, SCRIPT_NAME and extra environ entries
	// taken from the mount the prefix package recorded.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sn, _, ok := MountFrom(r)
		if !ok {
			http.Error(w, "no mount recorded", http.StatusInternalServerError)
			return
		}
		h := &cgi.Handler{Path: python, Args: []string{script}, Root: sn}
		for k, v := range EnvironFrom(r) {
			h.Env = append(h.Env, k+"="+v)
		}
		if u, ok := reqctx.UserFrom(r.Context()); ok {
			h.Env = append(h.Env, "REMOTE_USER="+u.Name, "AUTH_TYPE="+u.AuthType)
		}
		h.ServeHTTP(w, r)
	})
}
