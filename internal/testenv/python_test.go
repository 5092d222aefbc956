package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestPython(t *testing.T) {
	py := Python(t)
	PythonModule(t, py, "json", "python3")
	script := WriteFile(t, "", "sub/hello.py", "import sys\nprint(sys.version_info[0])\n")
	if fi, err := os.Stat(script); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("WriteFile: %v %v", fi, err)
	}
	out, err := exec.Command(py, script).Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "3" {
		t.Fatalf("%s runs Python %q, want 3", py, out)
	}
}
