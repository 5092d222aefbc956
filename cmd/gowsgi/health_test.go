package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestStatusEndpoints checks -status-addr's /healthz, /readyz, /metrics
// (each metric named in the documentation, counted from real requests:
// an authenticated one, a refused one, a static file sent with sendfile),
// and that the JSON and expvar views stay.
func TestStatusEndpoints(t *testing.T) {
	static := t.TempDir()
	if err := os.WriteFile(filepath.Join(static, "big.bin"), bytes.Repeat([]byte("z"), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	statusAddr := testenv.Addr(testenv.FreePort(t))
	c := logChild(t, "-status-addr", statusAddr, "-static", "/s="+static, "-access-log", filepath.Join(t.TempDir(), "a.log"))
	testenv.WaitTCP(t, statusAddr, 30*time.Second) // it listens after the server does
	base, status := "http://"+c.addr, "http://"+statusAddr
	for _, r := range []struct {
		path, user string
		code       int
	}{
		{"/app/private/a", "alice", 200},
		{"/app/private/a", "", 401},
		{"/app/private/a", "bob", 401},
		{"/s/big.bin", "", 200},
	} {
		if code, body := request(t, base+r.path, r.user, "secret"); code != r.code {
			t.Fatalf("GET %s as %q: %d %s", r.path, r.user, code, body)
		}
	}
	if code, body := request(t, status+"/healthz", "", ""); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := request(t, status+"/readyz", "", ""); code != 200 || body != "ok\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	// The request metrics are counted once a response ended: the last
	// one may still be ending when its client got the body.
	var metrics string
	waitFor(t, 10*time.Second, "the static file in the metrics", func() bool {
		_, metrics = request(t, status+"/metrics", "", "")
		return strings.Contains(metrics, `gowsgi_http_requests_total{code="200",method="GET",mount=""} 1`)
	})
	for _, want := range []string{
		`gowsgi_http_requests_total{code="200",method="GET",mount="/app"} 1`,
		`gowsgi_http_requests_total{code="401",method="GET",mount=""} 2`,
		`gowsgi_http_request_duration_seconds_bucket{mount="/app",le="+Inf"} 1`,
		`gowsgi_http_request_duration_seconds_count{mount=""} 3`,
		`gowsgi_queue_wait_seconds_count{mount="/app"} 1`,
		`gowsgi_workers{mount="/app",state="idle"} 1`,
		`gowsgi_workers{mount="/app",state="busy"} 0`,
		`gowsgi_worker_processes{mount="/app"} 1`,
		`gowsgi_worker_restarts_total{cause="crash",mount="/app"} 0`,
		`gowsgi_sendfile_bytes_total 100000`,
		`gowsgi_auth_total{outcome="ok",scheme="basic"} 1`,
		`gowsgi_auth_total{outcome="failed",scheme="basic"} 1`,
		`gowsgi_auth_total{outcome="denied",scheme=""} 1`,
		`gowsgi_access_log_dropped_total 0`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(metrics, "gowsgi_"))
	}

	code, body := request(t, status+"/", "", "")
	var stats map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &stats) != nil || stats["served"] != 1.0 {
		t.Errorf("JSON statistics: %d %s", code, body)
	}
	code, body = request(t, status+"/debug/vars", "", "")
	var vars map[string]json.RawMessage
	if code != 200 || json.Unmarshal([]byte(body), &vars) != nil || vars["gowsgi"] == nil || !strings.Contains(string(vars["gowsgi_access_log"]), `"dropped":0`) {
		t.Errorf("expvar: %d %.500s", code, body)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHealthzNoWorker: with -lazy-start and a script that does not load,
// the command serves, but /healthz says no worker is ready.
func TestHealthzNoWorker(t *testing.T) {
	script := testenv.WriteFile(t, "", "broken.wsgi", "raise ImportError('no such module')\n")
	statusAddr := testenv.Addr(testenv.FreePort(t))
	startChild(t, childOpts{}, "-python", testenv.Python(t), "-lazy-start", "-status-addr", statusAddr, script)
	testenv.WaitTCP(t, statusAddr, 30*time.Second) // it listens after the server does
	if code, body := request(t, "http://"+statusAddr+"/healthz", "", ""); code != 503 || !strings.Contains(body, "no worker ready") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _ := request(t, "http://"+statusAddr+"/readyz", "", ""); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
}

// TestShutdownDelay: after SIGTERM, /readyz answers 503 at once while the
// server still serves requests for -shutdown-delay; then it exits.
func TestShutdownDelay(t *testing.T) {
	statusAddr := testenv.Addr(testenv.FreePort(t))
	c := logChild(t, "-status-addr", statusAddr, "-shutdown-delay", "8s")
	testenv.WaitTCP(t, statusAddr, 30*time.Second) // it listens after the server does
	status := "http://" + statusAddr
	if code, _ := request(t, status+"/readyz", "", ""); code != 200 {
		t.Fatalf("/readyz before: %d", code)
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "/readyz 503", func() bool {
		code, _ := request(t, status+"/readyz", "", "")
		return code == 503
	})
	if code, body := request(t, "http://"+c.addr+"/app/x", "", ""); code != 200 {
		t.Errorf("during the delay: %d %s", code, body)
	}
	if code, _ := c.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d:\n%s", code, c.output())
	}
}
