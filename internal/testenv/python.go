package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// DebianPython is the interpreter that has Debian's python3-* packages
// (flask, django, requests). The python3 first on PATH may be another one
// (pyenv) without them.
const DebianPython = "/usr/bin/python3"

// Python returns the path of Debian's Python 3, skipping the test (failing
// it under CI) when it is missing.
func Python(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat(DebianPython); err == nil && !fi.IsDir() {
		return DebianPython
	}
	return LookPath(t, "python3", "python3")
}

var moduleCache sync.Map // "python\x00module" -> error string ("" when importable)

// PythonModule makes sure python can import module (from Debian package
// pkg), skipping the test (failing it under CI) when it cannot.
func PythonModule(t testing.TB, python, module, pkg string) {
	t.Helper()
	key := python + "\x00" + module
	v, ok := moduleCache.Load(key)
	if !ok {
		out, err := exec.Command(python, "-c", "import "+module).CombinedOutput()
		msg := ""
		if err != nil {
			msg = strings.TrimSpace(string(out))
			if msg == "" {
				msg = err.Error()
			}
		}
		v, _ = moduleCache.LoadOrStore(key, msg)
	}
	if msg := v.(string); msg != "" {
		Unavailable(t, "%s cannot import %s (apt-get install %s): %s", python, module, pkg, msg)
	}
}

// WriteFile writes content to name under dir (t.TempDir() when dir is ""),
// creating directories, and returns its path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return p
}
