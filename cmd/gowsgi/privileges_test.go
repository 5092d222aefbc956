package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// uidApp answers the worker's uid, gid and pid.
const uidApp = `import os
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%d %d %d %s' % (os.getuid(), os.getgid(), os.getpid(), os.environ.get('HOME', ''))).encode()]
`

// needRoot skips a test that must start the command as root, or fails it
// under CI, which runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "needs root (to start gowsgi as root and drop to another user)")
	}
}

// sharedDir makes a directory under /tmp that every user may enter, for
// what the workers of another user must read (t.TempDir is root's alone).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "gowsgi-priv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// statusUid is the real, effective, saved and file-system uids of process
// pid, from /proc.
func statusUid(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return ""
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}

// TestPrivilegeDrop: started as root with -user nobody -group nogroup, the
// workers run as nobody, the Go process too once serving, and workers
// started after the drop (SIGHUP) still run, as nobody.
func TestPrivilegeDrop(t *testing.T) {
	needRoot(t)
	dir := sharedDir(t)
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(tmp, 0o1777) // past the umask
	script := testenv.WriteFile(t, dir, "uid.wsgi", uidApp)
	c := startChild(t, childOpts{asRoot: true, env: []string{"TMPDIR=" + tmp}},
		"-python", testenv.Python(t), "-reload=false", "-user", "nobody", "-group", "nogroup", script)
	const nobody = "65534 65534 65534 65534"
	check := func() (pid string) {
		f := strings.Fields(getBody(t, "http://"+c.addr+"/"))
		if len(f) != 4 || f[0] != "65534" || f[1] != "65534" || f[3] != "/nonexistent" {
			t.Fatalf("worker uid, gid, pid, HOME: %q; want nobody's (65534 65534 PID /nonexistent)", f)
		}
		return f[2]
	}
	first := check()
	if got := statusUid(t, c.cmd.Process.Pid); got != nobody {
		t.Errorf("the Go process's uids are %q, want %q", got, nobody)
	}
	if !strings.Contains(c.out.String(), "running as") {
		t.Errorf("no log line about the drop:\n%s", c.output())
	}
	// New workers, started by the unprivileged process.
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if pid := check(); pid != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not replace the worker after the drop:\n%s", c.output())
		}
		time.Sleep(100 * time.Millisecond) // polling, with a deadline
	}
}

// TestRootRefused: started as root without -user, the command refuses to
// run its workers as root unless -allow-root; -user root is refused too.
func TestRootRefused(t *testing.T) {
	needRoot(t)
	script := testenv.WriteFile(t, "", "uid.wsgi", uidApp)
	for _, args := range [][]string{
		{script},
		{"-user", "root", script},
		{"-user", "#0", script},
	} {
		c := startChild(t, childOpts{asRoot: true, noListen: true}, append([]string{"-listen", testenv.Addr(testenv.FreePort(t)), "-python", testenv.Python(t)}, args...)...)
		code, out := c.wait(t, 60*time.Second)
		if code != 1 || !strings.Contains(out, "-allow-root") || strings.Contains(out, "serving") {
			t.Errorf("%q: exit %d, want 1 and a message naming -allow-root:\n%s", args, code, out)
		}
	}
	// -allow-root runs as root, as asked.
	c := startChild(t, childOpts{asRoot: true}, "-allow-root", "-python", testenv.Python(t), script)
	if f := strings.Fields(getBody(t, "http://"+c.addr+"/")); len(f) < 1 || f[0] != "0" {
		t.Errorf("with -allow-root: worker %q, want uid 0", f)
	}
}

// TestUserErrors: a user or group that does not exist, -group alone, and a
// -user that a non-root process cannot become, are refused at startup.
func TestUserErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-user", "no-such-user-gowsgi"}, "-user"},
		{[]string{"-user", "nobody", "-group", "no-such-group-gowsgi"}, "-group"},
		{[]string{"-group", "nogroup"}, "-group needs -user"},
	}
	for _, tc := range tests {
		var out strings.Builder
		if code := run(append(tc.args, "x.wsgi"), &out); code != 1 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%q: exit %d, want 1 naming %s: %s", tc.args, code, tc.want, out.String())
		}
	}
	if err := checkPrivileges(privilegesConfig{User: "nobody"}); os.Geteuid() != 0 && os.Geteuid() != 65534 && (err == nil || !strings.Contains(err.Error(), "only root")) {
		t.Errorf("-user nobody as uid %d: %v", os.Geteuid(), err)
	}
}

// TestPrivilegesFlags: the flags fill the configuration.
func TestPrivilegesFlags(t *testing.T) {
	cfg := parseTestArgs(t, "-user", "www-data", "-group", "#33", "-allow-root")
	if want := (privilegesConfig{User: "www-data", Group: "#33", AllowRoot: true}); cfg.Privileges != want {
		t.Errorf("%+v, want %+v", cfg.Privileges, want)
	}
	a, err := lookupAccount(privilegesConfig{User: "#65534", Group: "nogroup"})
	if err != nil || a.uid != 65534 || a.gid != 65534 || a.name != "nobody" {
		t.Errorf("#65534, nogroup: %+v, %v", a, err)
	}
}
