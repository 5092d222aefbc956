package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Htpasswd adds (or replaces) user with password in the htpasswd file at
// path using Debian's htpasswd (apache2-utils) in batch mode, creating the
// file when it does not exist. flags select the hash: "-B" (with "-C",
// "10" for a cost), "-m" (the default, $apr1$), "-s", "-d", "-2", "-5".
func Htpasswd(t testing.TB, path, user, password string, flags ...string) {
	t.Helper()
	bin := LookPath(t, "htpasswd", "apache2-utils")
	args := []string{"-b"}
	if _, err := os.Stat(path); os.IsNotExist(err) {
		args = append(args, "-c")
	}
	args = append(args, flags...)
	args = append(args, path, user, password)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: htpasswd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// HtpasswdLine returns the line Debian's htpasswd would write for user and
// password with flags, without touching any file (htpasswd -nb).
func HtpasswdLine(t testing.TB, user, password string, flags ...string) string {
	t.Helper()
	bin := LookPath(t, "htpasswd", "apache2-utils")
	args := append(append([]string{"-nb"}, flags...), user, password)
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("testenv: htpasswd %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// Htdigest adds (or replaces) user of realm with password in the htdigest
// file at path using Debian's htdigest, which reads the password twice from
// its prompt (here, from stdin). The file is created when missing.
func Htdigest(t testing.TB, path, realm, user, password string) {
	t.Helper()
	bin := LookPath(t, "htdigest", "apache2-utils")
	args := []string{path, realm, user}
	if _, err := os.Stat(path); os.IsNotExist(err) {
		args = append([]string{"-c"}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(password + "\n" + password + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("testenv: htdigest %s: %v\n%s", strings.Join(args, " "), err, out.Bytes())
	}
}
