package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

const brokenApp = "import os\nvalue = 1 / 0  # a script that cannot load\n"

// TestScriptFailsToLoad: a script whose import fails ends the command at
// startup, non-zero, with the traceback and the interpreter it used.
func TestScriptFailsToLoad(t *testing.T) {
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "broken.wsgi", brokenApp)
	addr := testenv.Addr(testenv.FreePort(t))
	code, out := startChild(t, childOpts{noListen: true}, "-listen", addr, "-python", py, "-processes", "2", script).wait(t, 60*time.Second)
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
	addr := startChild(t, childOpts{}, "-lazy-start", "-python", py, script).addr
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
