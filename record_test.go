package gowsgi_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
	"github.com/gowsgi/gowsgi/wsgi"
)

// TestRecordThroughTheChain runs the multi-project deployment of Trac's
// mod_wsgi guide (environments under /trac, Basic on each login) behind
// reqinfo.RequestID and an access log that reads each request's record
// once the whole chain returned, with real Python workers and concurrent
// requests (run with -race): the record holds the id sent back in
// X-Request-ID, the user and authentication outcome, the environment's
// mount and the pid of the worker that answered.
func TestRecordThroughTheChain(t *testing.T) {
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(aliceLine), 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := auth.HtpasswdFile(htpasswd)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	app, err := wsgi.New(wsgi.Config{Script: tracLike("trac.wsgi"), Python: testenv.Python(t), Processes: 2, Threads: 2, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	envs, err := prefix.NewEnvironments(prefix.EnvConfig{Mount: "/trac", ParentDir: tracLike("envs"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	require, err := auth.NewRequire(auth.RequireConfig{Rules: []auth.Rule{auth.ValidUser()}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	login := prefix.MustLocationMatch(regexp.MustCompile(`^/trac/[^/]+/login$`), func(next http.Handler) http.Handler {
		return auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: users, Logger: quiet})(require(next))
	})
	infos := make(chan reqinfo.Info, 100)
	accessLog := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := reqinfo.FromContext(r.Context())
			next.ServeHTTP(w, r)
			infos <- rec.Info()
		})
	}
	srv := httptest.NewServer(reqinfo.RequestID(accessLog(prefix.Canonical(login(envs(app))))))
	defer srv.Close()

	type want struct {
		status          int
		body            string // a prefix of the body
		user            string
		scheme          string
		outcome         reqinfo.AuthOutcome
		script, envPath string
		worker          bool // a worker served it: a pid recorded
	}
	cases := []struct {
		target, user, pw string
		want             want
	}{
		{"/trac/alpha/wiki", "", "", want{200, "Alpha: /trac/alpha/wiki user=-", "", "", reqinfo.AuthNone, "/trac/alpha", "alpha", true}},
		{"/trac/beta//./login", "alice", "secret", want{200, "Beta: logged in as alice (Basic)", "alice", "basic", reqinfo.AuthOK, "/trac/beta", "beta", true}},
		{"/trac/alpha/login", "", "", want{401, "Unauthorized", "", "", reqinfo.AuthDenied, "", "", false}},
		{"/trac/alpha/%6Cogin", "alice", "wrong", want{401, "Unauthorized", "", "basic", reqinfo.AuthFailed, "", "", false}},
	}
	const rounds = 10
	type got struct {
		c      int
		status int
		body   string
	}
	byID := make(chan map[string]got, 1)
	byID <- map[string]got{}
	var wg sync.WaitGroup
	for range rounds {
		for i, c := range cases {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", srv.URL, nil)
				req.URL.Opaque = c.target // sent as written
				if c.user != "" {
					req.SetBasicAuth(c.user, c.pw)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				m := <-byID
				m[resp.Header.Get("X-Request-ID")] = got{i, resp.StatusCode, string(body)}
				byID <- m
			})
		}
	}
	wg.Wait()
	responses := <-byID
	if len(responses) != rounds*len(cases) {
		t.Fatalf("%d distinct request ids for %d requests", len(responses), rounds*len(cases))
	}
	for range rounds * len(cases) {
		info := <-infos
		r, ok := responses[info.ID]
		if !ok {
			t.Fatalf("the record's id %q is no response's X-Request-ID", info.ID)
		}
		c := cases[r.c]
		w := c.want
		if r.status != w.status || !strings.HasPrefix(r.body, w.body) {
			t.Errorf("%s: %d %q, want %d %q", c.target, r.status, r.body, w.status, w.body)
		}
		name := ""
		if info.User != nil {
			name = info.User.Name
		}
		envPath, _ := lookup(info.Environ, "trac.env_path")
		if name != w.user || info.AuthScheme != w.scheme || info.AuthOutcome != w.outcome ||
			info.Mount.ScriptName != w.script || filepath.Base(envPath) != filepath.Base(w.envPath) && w.envPath != "" ||
			(info.PID != 0) != w.worker || info.Target != c.target || info.Method != "GET" {
			t.Errorf("%s: record %s, want %+v", c.target, fmt.Sprintf("user=%q scheme=%q outcome=%v script=%q env=%q pid=%d target=%q",
				name, info.AuthScheme, info.AuthOutcome, info.Mount.ScriptName, envPath, info.PID, info.Target), w)
		}
	}
}

func lookup(env []reqinfo.Var, name string) (string, bool) {
	for _, v := range env {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}
