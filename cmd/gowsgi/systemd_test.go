package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// envApp answers the workers' view of systemd's variables: they must not
// inherit them.
const envApp = `import os
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('notify=%s fds=%s' % (os.environ.get('NOTIFY_SOCKET', ''), os.environ.get('LISTEN_FDS', ''))).encode()]
`

// TestSocketActivation: under systemd-socket-activate, the command serves
// the socket it was passed (LISTEN_FDS), not -listen.
func TestSocketActivation(t *testing.T) {
	script := testenv.WriteFile(t, "", "env.wsgi", envApp)
	addr := testenv.Addr(testenv.FreePort(t))
	c := startChild(t, childOpts{activate: addr}, "-python", testenv.Python(t), "-listen", "127.0.0.1:1", script)
	if got := getBody(t, "http://"+addr+"/"); got != "notify= fds=" {
		t.Errorf("the workers see %q, want no systemd variables", got)
	}
	if !strings.Contains(c.out.String(), "socket activation") {
		t.Errorf("no log line about socket activation:\n%s", c.output())
	}
}

// TestSdNotify: with NOTIFY_SOCKET, the command sends READY=1 once it
// serves, RELOADING=1 with MONOTONIC_USEC then READY=1 on SIGHUP, and
// STOPPING=1 on SIGTERM, each as one datagram.
func TestSdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	next := func(want string) string {
		t.Helper()
		buf := make([]byte, 4096)
		pc.SetReadDeadline(time.Now().Add(60 * time.Second))
		n, err := pc.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if got := string(buf[:n]); !strings.HasPrefix(got, want) {
			t.Fatalf("got %q, want %s", got, want)
		}
		return string(buf[:n])
	}
	script := testenv.WriteFile(t, "", "env.wsgi", envApp)
	c := startChild(t, childOpts{env: []string{"NOTIFY_SOCKET=" + sock}}, "-python", testenv.Python(t), script)
	next("READY=1")
	if got := getBody(t, "http://"+c.addr+"/"); got != "notify= fds=" {
		t.Errorf("the workers see %q, want no systemd variables", got)
	}
	before, _ := monotonicUsec()
	c.cmd.Process.Signal(syscall.SIGHUP)
	msg := next("RELOADING=1\nMONOTONIC_USEC=")
	var usec uint64
	if _, err := fmt.Sscan(strings.TrimPrefix(msg, "RELOADING=1\nMONOTONIC_USEC="), &usec); err != nil || usec < before || usec > before+60e6 {
		t.Errorf("%q: MONOTONIC_USEC not the monotonic clock's (%d before SIGHUP)", msg, before)
	}
	next("READY=1")
	c.cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	if code, out := c.wait(t, 60*time.Second); code != 0 {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// TestVersionAndHelp: -version prints the module version and the Go
// version; -h exits 0.
func TestVersionAndHelp(t *testing.T) {
	c := startChild(t, childOpts{noListen: true}, "-version")
	code, out := c.wait(t, 60*time.Second)
	if code != 0 || !strings.HasPrefix(out, "gowsgi ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("-version: exit %d, %q", code, out)
	}
	var stderr strings.Builder
	if code := run([]string{"-h"}, &stderr); code != 0 || !strings.Contains(stderr.String(), "-user") {
		t.Errorf("-h: exit %d:\n%s", code, stderr.String())
	}
}

// TestSystemdUnit checks examples/systemd with systemd-analyze verify,
// which warns on stderr (and still exits 0) for what it does not accept.
// ExecStart's /usr/local/bin/gowsgi, which must exist for it, stands for
// this test's binary.
func TestSystemdUnit(t *testing.T) {
	sa := testenv.LookPath(t, "systemd-analyze", "systemd")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"gowsgi.service", "gowsgi.socket"} {
		b, err := os.ReadFile(filepath.Join("../../examples/systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		unit := strings.ReplaceAll(string(b), "/usr/local/bin/gowsgi", exe)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"gowsgi.service", "gowsgi.socket"} {
		out, err := exec.Command(sa, "verify", filepath.Join(dir, name)).CombinedOutput()
		var warnings []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, name) {
				warnings = append(warnings, l)
			}
		}
		if err != nil || len(warnings) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
	}
	b, _ := os.ReadFile("../../examples/systemd/gowsgi.service")
	for _, want := range []string{"Type=notify", "KillMode=mixed", "ExecReload=/bin/kill -HUP $MAINPID", "-user www-data"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("gowsgi.service lacks %q", want)
		}
	}
}
