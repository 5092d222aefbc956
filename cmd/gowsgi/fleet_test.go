package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

const fleetApp = `import os
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%s|%s|%s|%s|%d' % (environ['SCRIPT_NAME'], environ['PATH_INFO'],
             environ.get('REMOTE_USER', '-'), environ.get('trac.env_path', '-'), os.getpid())).encode()]
`

// TestUpstreamFleet: -upstream serves a mount from two uWSGI instances,
// behind the command's mount and Basic authentication, and -status-addr
// shows them.
func TestUpstreamFleet(t *testing.T) {
	dir := t.TempDir()
	script := testenv.WriteFile(t, dir, "app.py", fleetApp)
	a := testenv.StartUWSGI(t, testenv.UWSGIConfig{Script: script})
	b := testenv.StartUWSGI(t, testenv.UWSGIConfig{Script: script})
	htpasswd := filepath.Join(dir, "htpasswd")
	testenv.Htpasswd(t, htpasswd, "alice", "secret", "-B")
	statusAddr := testenv.Addr(testenv.FreePort(t))
	addr := startChild(t, childOpts{}, "-mount", "/app", "-htpasswd", htpasswd, "-auth-prefix", "/app/private",
		"-environ", "trac.env_path=/srv/trac", "-status-addr", statusAddr,
		"-upstream", "uwsgi://"+a.Addr, "-upstream", "uwsgi://"+b.Addr, "-upstream-max-conns", "1").addr

	pids := map[string]bool{}
	for range 4 {
		resp, body := do(t, http.DefaultClient, "GET", "http://"+addr+"/app/wiki/Start", "")
		f := strings.Split(body, "|")
		if resp.StatusCode != 200 || len(f) != 5 || f[0] != "/app" || f[1] != "/wiki/Start" || f[2] != "-" || f[3] != "/srv/trac" {
			t.Fatalf("status %d, body %q: want /app|/wiki/Start|-|/srv/trac|PID", resp.StatusCode, body)
		}
		pids[f[4]] = true
	}
	if len(pids) != 2 {
		t.Errorf("requests reached %d instances, want both", len(pids))
	}
	if resp, _ := do(t, http.DefaultClient, "GET", "http://"+addr+"/app/private/x", ""); resp.StatusCode != 401 {
		t.Errorf("private without credentials: status %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/app/private/x", nil)
	req.SetBasicAuth("alice", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if f := strings.Split(string(body), "|"); resp.StatusCode != 200 || len(f) != 5 || f[1] != "/private/x" || f[2] != "alice" {
		t.Errorf("private with credentials: status %d, body %q: want REMOTE_USER alice", resp.StatusCode, body)
	}

	testenv.WaitTCP(t, statusAddr, 10*time.Second)
	_, js := do(t, http.DefaultClient, "GET", "http://"+statusAddr+"/", "")
	var st []struct {
		Addr     string
		Requests int64
		Down     bool
	}
	if err := json.Unmarshal([]byte(js), &st); err != nil || len(st) != 2 || st[0].Addr != a.Addr || st[0].Requests+st[1].Requests != 5 {
		t.Errorf("status %s (%v): want both upstreams and 5 requests", js, err)
	}
}

// TestUpstreamFlagErrors: what -upstream refuses.
func TestUpstreamFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"and a script", []string{"-upstream", "uwsgi://127.0.0.1:3031", "x.wsgi"}, 2, "give no script"},
		{"and worker flags", []string{"-upstream", "uwsgi://127.0.0.1:3031", "-processes", "2", "-python", "py"}, 2, "-processes, -python: for local workers"},
		{"not uwsgi://", []string{"-upstream", "http://127.0.0.1:3031"}, 1, "want uwsgi://HOST:PORT"},
		{"no port", []string{"-upstream", "uwsgi://127.0.0.1"}, 1, "want HOST:PORT"},
		{"negative max conns", []string{"-upstream", "uwsgi://127.0.0.1:3031", "-upstream-max-conns", "-1"}, 1, "-upstream-max-conns -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if code := run(append([]string{"-listen", "127.0.0.1:0"}, tc.args...), &out); code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, out.String())
			}
			if !strings.Contains(out.String(), tc.msg) {
				t.Errorf("output lacks %q: %s", tc.msg, out.String())
			}
		})
	}
}
