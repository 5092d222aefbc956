package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// hgwebScript serves the repository REPO with Mercurial's own hgweb (from
// Debian's mercurial package) and appends "METHOD QUERY REMOTE_USER" for
// each request to LOG, so the test sees what reached the application.
const hgwebScript = `
from mercurial.hgweb import hgweb

_hg = hgweb(b"REPO", b"repo")

def application(environ, start_response):
    with open("LOG", "a") as f:
        f.write("%s %s %s\n" % (environ["REQUEST_METHOD"], environ.get("QUERY_STRING", ""),
                                environ.get("REMOTE_USER", "-")))
    return _hg(environ, start_response)
`

// TestHgwebCloneAnonymousPushAuthenticated is the recipe with
// Mercurial's own client: cmd/gowsgi serves hgweb with
// -require 'method GET HEAD OPTIONS' -require valid-user. An anonymous
// hg clone works; an anonymous hg push is refused with a challenge hg acts
// on ("authorization required") and never reaches hgweb; hg push with
// credentials lands, and hgweb sees the user as REMOTE_USER.
func TestHgwebCloneAnonymousPushAuthenticated(t *testing.T) {
	hgBin := testenv.LookPath(t, "hg", "mercurial")
	py := testenv.Python(t)
	testenv.PythonModule(t, py, "mercurial.hgweb", "mercurial")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	hg := func(wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(hgBin, append([]string{"--noninteractive", "--config", "ui.username=tester <t@example.com>"}, args...)...)
		cmd.Dir = dir
		// No user or system configuration: only what the test sets.
		cmd.Env = append(os.Environ(), "HGRCPATH=", "HGPLAIN=1", "HOME="+home, "http_proxy=", "HTTP_PROXY=", "no_proxy=*")
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("hg %s: %v, want success %v:\n%s", strings.Join(args, " "), err, wantOK, out)
		}
		return string(out)
	}

	repo := filepath.Join(dir, "repo")
	hg(true, "init", repo)
	testenv.WriteFile(t, repo, "README", "first\n")
	hg(true, "-R", repo, "commit", "-A", "-m", "first")
	// hgweb's own rules: push over plain HTTP (the test's loopback), by
	// alice only; gowsgi must keep anonymous pushes from reaching it.
	testenv.WriteFile(t, filepath.Join(repo, ".hg"), "hgrc", "[web]\npush_ssl = false\nallow-push = alice\n")

	logPath := filepath.Join(dir, "requests.log")
	script := strings.NewReplacer("REPO", repo, "LOG", logPath).Replace(hgwebScript)
	scriptPath := testenv.WriteFile(t, dir, "hgweb.wsgi", script)
	htpasswd := filepath.Join(dir, "htpasswd")
	testenv.Htpasswd(t, htpasswd, "alice", "alice-pw", "-B", "-C", "4")
	addr := startChild(t, childOpts{}, "-python", py, "-htpasswd", htpasswd, "-realm", "hg",
		"-require", "method GET HEAD OPTIONS", "-require", "valid-user", scriptPath).addr
	url := "http://" + addr + "/"

	clone := filepath.Join(dir, "clone")
	hg(true, "clone", url, clone)
	if b, err := os.ReadFile(filepath.Join(clone, "README")); err != nil || string(b) != "first\n" {
		t.Fatalf("anonymous clone: README %q %v", b, err)
	}

	testenv.WriteFile(t, clone, "README", "second\n")
	hg(true, "-R", clone, "commit", "-m", "second")
	out := hg(false, "-R", clone, "push", url)
	t.Logf("anonymous hg push:\n%s", out)
	if !strings.Contains(out, "authorization required") {
		t.Errorf("anonymous push: hg did not act on a challenge:\n%s", out)
	}
	if log, _ := os.ReadFile(logPath); strings.Contains(string(log), "POST") {
		t.Errorf("an anonymous POST reached hgweb:\n%s", log)
	}

	hg(false, "-R", clone, "push", "http://alice:wrong@"+addr+"/")
	withCreds := "http://alice:alice-pw@" + addr + "/"
	hg(true, "-R", clone, "push", withCreds)
	if got := hg(true, "-R", repo, "log", "-r", "tip", "-T", "{desc}"); got != "second" {
		t.Errorf("the push did not land: tip is %q", got)
	}
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "POST cmd=unbundle alice\n") {
		t.Errorf("hgweb did not see alice push (REMOTE_USER):\n%s", log)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		if strings.HasPrefix(l, "POST") && !strings.HasSuffix(l, " alice") {
			t.Errorf("a POST reached hgweb without the user: %q", l)
		}
	}
}
