package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// logApp answers with the user it sees, raises at /boom, and at /hold
// reads its body until the client ends it (a request that runs as long as
// the test wants).
const logApp = `def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/boom':
        raise RuntimeError('boom')
    if path.endswith('/hold'):
        environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('hello %s' % environ.get('REMOTE_USER', '-')).encode()]
`

// logChild starts the command serving logApp at /app, with Basic on
// /app/private (alice:secret), and extra flags.
func logChild(t *testing.T, extra ...string) *child {
	t.Helper()
	dir := t.TempDir()
	script := testenv.WriteFile(t, dir, "app.wsgi", logApp)
	htpasswd := filepath.Join(dir, "htpasswd")
	testenv.Htpasswd(t, htpasswd, "alice", "secret", "-s")
	args := append([]string{"-python", testenv.Python(t), "-mount", "/app", "-htpasswd", htpasswd, "-realm", "app",
		"-auth-prefix", "/app/private"}, extra...)
	return startChild(t, childOpts{}, append(args, script)...)
}

func request(t *testing.T, url, user, pw string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readLines(path string) []string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestAccessLog runs the command with -access-log and checks the combined
// lines of a 401, a 200 with the user who logged in, a 500 and a 404; then
// rotates the file as logrotate does (rename, SIGUSR1) and checks that the
// next line goes to a new file at the path.
func TestAccessLog(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "access.log")
	c := logChild(t, "-access-log", logPath)
	base := "http://" + c.addr
	for _, r := range []struct {
		path, user string
		status     int
	}{
		{"/app/private/x", "", 401},
		{"/app/private/x?q=1", "alice", 200},
		{"/app/boom", "", 500},
		{"/nowhere", "", 404},
	} {
		code, body := request(t, base+r.path, r.user, "secret", "User-Agent", "tester/1.0", "Referer", "http://example.com/")
		if code != r.status {
			t.Fatalf("GET %s: %d %s", r.path, code, body)
		}
	}
	waitFor(t, 10*time.Second, "4 access log lines", func() bool { return len(readLines(logPath)) >= 4 })
	lines := readLines(logPath)
	const tail = ` "http://example\.com/" "tester/1\.0"$`
	want := []string{
		`^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /app/private/x HTTP/1\.1" 401 \d+` + tail,
		`^127\.0\.0\.1 - alice \[[^]]+\] "GET /app/private/x\?q=1 HTTP/1\.1" 200 11` + tail,
		`^127\.0\.0\.1 - - \[[^]]+\] "GET /app/boom HTTP/1\.1" 500 \d+` + tail,
		`^127\.0\.0\.1 - - \[[^]]+\] "GET /nowhere HTTP/1\.1" 404 \d+` + tail,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], re)
		}
	}

	// logrotate: rename, then postrotate's kill -USR1.
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the reopen", func() bool { return strings.Contains(c.out.String(), "reopened the access log") })
	if code, _ := request(t, base+"/app/after", "", ""); code != 200 {
		t.Fatalf("after rotation: %d", code)
	}
	waitFor(t, 10*time.Second, "a line in the new file", func() bool { return len(readLines(logPath)) == 1 })
	if l := readLines(logPath)[0]; !strings.Contains(l, `"GET /app/after HTTP/1.1" 200`) {
		t.Errorf("new file: %s", l)
	}
	if old := readLines(logPath + ".1"); len(old) != 4 {
		t.Errorf("rotated file has %d lines, want 4", len(old))
	}
}

// TestAccessLogJSON runs the command with the access log on standard
// output as JSON and the server's log as JSON: both are JSON lines, and
// the access log's carry the worker's pid and the mount.
func TestAccessLogJSON(t *testing.T) {
	c := logChild(t, "-access-log", "-", "-access-log-format", "json", "-log-format", "json")
	if code, _ := request(t, "http://"+c.addr+"/app/private/y", "alice", "secret"); code != 200 {
		t.Fatalf("status %d", code)
	}
	var entry map[string]any
	waitFor(t, 10*time.Second, "the access log line", func() bool {
		for _, l := range strings.Split(c.out.String(), "\n") {
			if strings.Contains(l, `"uri":"/app/private/y"`) {
				return json.Unmarshal([]byte(l), &entry) == nil
			}
		}
		return false
	})
	if entry["user"] != "alice" || entry["mount"] != "/app" || entry["status"] != 200.0 || entry["method"] != "GET" {
		t.Errorf("entry %v", entry)
	}
	if pid, _ := entry["worker_pid"].(float64); pid <= 0 {
		t.Errorf("worker_pid %v", entry["worker_pid"])
	}
	if id, _ := entry["request_id"].(string); id == "" {
		t.Errorf("request_id %v", entry["request_id"])
	}
	serving := false
	for _, l := range strings.Split(c.out.String(), "\n") {
		if strings.Contains(l, "gowsgi: serving") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || m["level"] != "INFO" {
				t.Errorf("server log line is not JSON: %s", l)
			}
			serving = true
		}
	}
	if !serving {
		t.Errorf("no serving line:\n%s", c.output())
	}
}

// TestLogLevel: -log-level warn leaves out the info lines.
func TestLogLevel(t *testing.T) {
	c := logChild(t, "-log-level", "warn")
	if code, _ := request(t, "http://"+c.addr+"/app/x", "", ""); code != 200 {
		t.Fatalf("status %d", code)
	}
	if out := c.out.String(); strings.Contains(out, "level=INFO") {
		t.Errorf("info lines at -log-level warn:\n%s", out)
	}
}

// TestLogFlagsRefused: bad values are refused naming the flag.
func TestLogFlagsRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-log-level", "loud", "x.wsgi"}, 2, "-log-level"},
		{[]string{"-log-format", "xml", "x.wsgi"}, 2, "-log-format"},
		{[]string{"-access-log", filepath.Join(t.TempDir(), "a.log"), "-access-log-format", "common", "x.wsgi"}, 1, "-access-log-format"},
		{[]string{"-access-log", "/nonexistent/dir/a.log", "x.wsgi"}, 1, "-access-log"},
	} {
		var out bytes.Buffer
		if code := run(c.args, &out); code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("%v: exit %d, want %d naming %s:\n%s", c.args, code, c.code, c.want, out.String())
		}
	}
}
