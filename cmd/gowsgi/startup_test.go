package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

const brokenApp = "import os\nvalue = 1 / 0  # a script that cannot load\n"

// runToExit runs the command with args in a child process (see
// TestRunHelperProcess) and returns its exit code and output; a command
// still running after timeout is killed and the test fails.
func runToExit(t *testing.T, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	js, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunHelperProcess$")
	// TMPDIR: a child killed with SIGKILL leaves the adapter's file there.
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(js), "TMPDIR="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(timeout):
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		t.Fatalf("gowsgi %q still running after %v:\n%s", args, timeout, out.String())
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestScriptFailsToLoad: a script whose import fails ends the command at
// startup, non-zero, with the traceback and the interpreter it used.
func TestScriptFailsToLoad(t *testing.T) {
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "broken.wsgi", brokenApp)
	addr := testenv.Addr(testenv.FreePort(t))
	code, out := runToExit(t, 60*time.Second, "-listen", addr, "-python", py, "-processes", "2", script)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"\nTraceback (most recent call last):\n", // as Python wrote it
		"ZeroDivisionError: division by zero\n",
		"did not load with " + py,
		"-lazy-start",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestLazyStart: -lazy-start serves anyway, 503 while the script cannot
// load.
func TestLazyStart(t *testing.T) {
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "broken.wsgi", brokenApp)
	addr := startGowsgi(t, "-lazy-start", "-python", py, script)
	resp, _ := do(t, http.DefaultClient, "GET", "http://"+addr+"/", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("got %d, want 503", resp.StatusCode)
	}
}

// TestPythonUserSiteFlag: -python-user-site reaches wsgi.Config.
func TestPythonUserSiteFlag(t *testing.T) {
	for _, on := range []bool{false, true} {
		var args []string
		if on {
			args = append(args, "-python-user-site")
		}
		cfg := parseTestArgs(t, args...)
		wc, err := wsgiConfig(cfg.Mounts[0], cfg.Server, nil)
		if err != nil || wc.PythonUserSite != on {
			t.Errorf("%q: PythonUserSite %v (%v), want %v", args, wc.PythonUserSite, err, on)
		}
	}
}
