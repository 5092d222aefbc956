package testenv

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlapdStartStopStart(t *testing.T) {
	s := StartSlapd(t, SlapdConfig{
		Schemas: []string{filepath.Join("..", "..", "auth", "ldapauth", "testdata", "ad.schema")},
		LDIF:    []string{filepath.Join("..", "..", "auth", "ldapauth", "testdata", "directory.ldif")},
	})
	search := func() (string, error) {
		out, err := exec.Command("ldapsearch", "-x", "-LLL", "-H", s.URL, "-b", s.Suffix, "(uid=alice)", "mail").CombinedOutput()
		return string(out), err
	}
	if out, err := search(); err != nil || !strings.Contains(out, "mail: alice@example.com") {
		t.Fatalf("search after start: %v\n%s", err, out)
	}
	s.Stop(t)
	if out, err := search(); err == nil {
		t.Fatalf("search succeeded against a stopped slapd:\n%s", out)
	}
	s.Start(t)
	if out, err := search(); err != nil || !strings.Contains(out, "mail: alice@example.com") {
		t.Fatalf("search after restart (data must persist): %v\n%s", err, out)
	}
	s.Pause(t)
	// timeout(1) bounds the client: a paused slapd accepts but never answers.
	out, err := exec.Command("timeout", "2", "ldapsearch", "-x", "-LLL", "-H", s.URL, "-b", s.Suffix, "(uid=alice)").CombinedOutput()
	if err == nil {
		t.Fatalf("search answered by a paused slapd:\n%s", out)
	}
	s.Resume(t)
	if out, err := search(); err != nil {
		t.Fatalf("search after resume: %v\n%s", err, out)
	}
}
