package testenv

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStartPostgres(t *testing.T) {
	p := StartPostgres(t, PostgresConfig{MaxConnections: 7})
	psql := filepath.Join(PostgresBinDir, "psql")
	out, err := exec.Command(psql, "-XAtq", "-d", p.DSN, "-c", "SHOW max_connections").CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Itoa(7) {
		t.Errorf("max_connections = %q, want 7", got)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(psql, "-XAtq", "-d", p.DSN, "-c", "SELECT 1").CombinedOutput(); err == nil {
		t.Errorf("server still answers after Stop: %s", out)
	}
}
