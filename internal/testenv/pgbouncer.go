package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PgBouncerConfig describes the PgBouncer started by [StartPgBouncer].
type PgBouncerConfig struct {
	// PoolMode is "session", "transaction" or "statement". Empty means
	// "transaction".
	PoolMode string
	// MaxDBConnections is max_db_connections, the most server
	// connections to one database across its pools. Zero means 20.
	MaxDBConnections int
	// Settings are more "name = value" lines for the [pgbouncer]
	// section. Nil means none.
	Settings []string
}

// PgBouncer is Debian's PgBouncer on loopback in front of a [Postgres],
// started by [StartPgBouncer]. It trusts every user, like the server.
type PgBouncer struct {
	// DSN is a URL for the user "postgres" on the database "postgres"
	// through PgBouncer, understood by pgx, lib/pq and libpq:
	// "postgres://postgres@127.0.0.1:<Port>/postgres?sslmode=disable".
	DSN string
	// AdminDSN is the same for PgBouncer's admin console (the database
	// "pgbouncer": SHOW POOLS, SHOW SERVERS...), which speaks only the
	// simple query protocol.
	AdminDSN string
	// Port is its TCP port on 127.0.0.1.
	Port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartPgBouncer starts PgBouncer in front of pg, with pg's "postgres"
// database, and stops it (SIGINT, then SIGKILL after 10s) with t.Cleanup.
// PgBouncer refuses to run as root: then it runs as the system user
// "postgres", as [StartPostgres] does. A missing pgbouncer skips the test
// (fails it under CI).
func StartPgBouncer(t testing.TB, pg *Postgres, cfg PgBouncerConfig) *PgBouncer {
	t.Helper()
	bin := LookPath(t, "pgbouncer", "pgbouncer")
	if cfg.PoolMode == "" {
		cfg.PoolMode = "transaction"
	}
	if cfg.MaxDBConnections == 0 {
		cfg.MaxDBConnections = 20
	}
	// Not under t.TempDir, which the user postgres cannot enter.
	dir, err := os.MkdirTemp("", "gowsgi-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b := &PgBouncer{Port: FreePort(t), dir: dir, done: make(chan struct{})}
	b.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", b.Port)
	b.AdminDSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/pgbouncer?sslmode=disable", b.Port)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		c, err := postgresCredential()
		if err != nil {
			t.Fatal(err)
		}
		cred = c
		if err := os.Chown(b.dir, int(c.Uid), int(c.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`[databases]
postgres = host=127.0.0.1 port=%d dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
admin_users = postgres
stats_users = postgres
pool_mode = %s
max_db_connections = %d
default_pool_size = %d
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
logfile = %s
`, pg.Port, b.Port, filepath.Join(b.dir, "users.txt"), cfg.PoolMode, cfg.MaxDBConnections, cfg.MaxDBConnections,
		filepath.Join(b.dir, "pgbouncer.log"))
	conf += strings.Join(cfg.Settings, "\n") + "\n"
	path := filepath.Join(b.dir, "pgbouncer.ini")
	for name, data := range map[string]string{path: conf, filepath.Join(b.dir, "users.txt"): `"postgres" ""` + "\n"} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.cmd = exec.Command(bin, path)
	b.cmd.Dir = b.dir
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("testenv: starting pgbouncer: %v", err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		_ = b.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
			t.Errorf("testenv: pgbouncer did not stop on SIGINT within 10s:\n%s", b.Log())
		}
	})
	waitListening(t, "pgbouncer", Addr(b.Port), b.done, b.Log)
	return b
}

// Log returns what PgBouncer logged so far.
func (b *PgBouncer) Log() string {
	data, _ := os.ReadFile(filepath.Join(b.dir, "pgbouncer.log"))
	return string(data)
}

// Psql runs Debian's psql with sql on dsn (unaligned, tuples only) and
// returns its output, failing the test on an error. It speaks the simple
// query protocol, which PgBouncer's admin console needs.
func Psql(t testing.TB, dsn, sql string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(PostgresBinDir, "psql"), "-XAtq", "-F", "|", "-d", dsn, "-c", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: psql %q: %v\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

// ServerConnections returns how many server connections PgBouncer holds
// to the database "postgres" (the rows of SHOW SERVERS).
func (b *PgBouncer) ServerConnections(t testing.TB) int {
	t.Helper()
	n := 0
	for _, l := range strings.Split(Psql(t, b.AdminDSN, "SHOW SERVERS"), "\n") {
		f := strings.Split(l, "|")
		if len(f) > 2 && f[2] == "postgres" {
			n++
		}
	}
	return n
}
