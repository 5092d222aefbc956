package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PostgresBinDir is where Debian's postgresql-15 package installs initdb,
// pg_ctl and postgres.
const PostgresBinDir = "/usr/lib/postgresql/15/bin"

// PostgresConfig describes a throwaway cluster started by [StartPostgres].
type PostgresConfig struct {
	// MaxConnections is the server's max_connections. Zero means 40, low
	// on purpose: a test that opens too many connections fails loudly.
	MaxConnections int
	// Settings are extra "name=value" server settings passed as -c
	// options. Nil means none.
	Settings []string
}

// Postgres is a running PostgreSQL cluster started by [StartPostgres] or
// [StartPostgresServer]. It trusts every connection from loopback and from
// its Unix socket, so any user name works without a password.
type Postgres struct {
	// DSN is a URL for the superuser "postgres" on the database
	// "postgres" over TCP, understood by pgx and lib/pq:
	// "postgres://postgres@127.0.0.1:<Port>/postgres?sslmode=disable".
	DSN string
	// Port is the TCP port the server listens on, on 127.0.0.1.
	Port int
	// Dir holds the data directory (data/), the Unix socket and the
	// server's log (postgres.log). It is removed by Stop.
	Dir string
	// MaxConnections is the server's max_connections.
	MaxConnections int

	bin  string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
	err  error
}

// StartPostgres starts Debian's PostgreSQL 15 as a child of the test in a
// fresh temporary cluster and stops it (pg_ctl stop -m immediate) when the
// test ends. When the test runs as root the server runs as the system user
// "postgres", since PostgreSQL refuses to run as root. It skips the test
// (fails it under CI) when postgresql-15 is missing.
func StartPostgres(t testing.TB, cfg PostgresConfig) *Postgres {
	t.Helper()
	for _, b := range []string{"initdb", "pg_ctl", "postgres", "pg_isready"} {
		if _, err := os.Stat(filepath.Join(PostgresBinDir, b)); err != nil {
			Unavailable(t, "%s not found in %s (apt-get install postgresql-15)", b, PostgresBinDir)
		}
	}
	p, err := StartPostgresServer(cfg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return p
}

// StartPostgresServer is [StartPostgres] for programs outside tests, such
// as benchmarks: the caller must call [Postgres.Stop].
func StartPostgresServer(cfg PostgresConfig) (*Postgres, error) {
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 40
	}
	if cfg.MaxConnections < 0 {
		return nil, fmt.Errorf("testenv: postgres: MaxConnections %d is negative", cfg.MaxConnections)
	}
	dir, err := os.MkdirTemp("", "gowsgi-pg-")
	if err != nil {
		return nil, fmt.Errorf("testenv: postgres: %w", err)
	}
	p := &Postgres{Dir: dir, bin: PostgresBinDir, MaxConnections: cfg.MaxConnections, done: make(chan struct{})}
	fail := func(err error) (*Postgres, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if os.Geteuid() == 0 {
		cred, err := postgresCredential()
		if err != nil {
			return fail(err)
		}
		p.cred = cred
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("testenv: postgres: %w", err))
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := p.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return fail(fmt.Errorf("testenv: postgres: initdb: %w\n%s", err, out))
	}
	p.Port, err = freePort()
	if err != nil {
		return fail(err)
	}
	args := []string{
		"-D", data,
		"-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + dir,
		"-c", "max_connections=" + strconv.Itoa(cfg.MaxConnections),
		"-c", "shared_buffers=32MB",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "logging_collector=off",
	}
	for _, s := range cfg.Settings {
		args = append(args, "-c", s)
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return fail(fmt.Errorf("testenv: postgres: %w", err))
	}
	defer logf.Close()
	p.cmd = exec.Command(filepath.Join(p.bin, "postgres"), args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fail(fmt.Errorf("testenv: postgres: starting postgres: %w", err))
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := p.run("pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", "postgres", "-d", "postgres")
		if err == nil {
			return p, nil
		}
		select {
		case <-p.done:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("testenv: postgres exited during startup:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			_ = p.Stop()
			return nil, fmt.Errorf("testenv: postgres not ready after 30s: %w\n%s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server with "pg_ctl stop -m immediate", waits for it to
// exit and removes [Postgres.Dir]. Calling it again returns the first
// result.
func (p *Postgres) Stop() error {
	p.once.Do(func() {
		data := filepath.Join(p.Dir, "data")
		out, err := p.run("pg_ctl", "stop", "-D", data, "-m", "immediate", "-w", "-t", "20")
		if err != nil {
			p.err = fmt.Errorf("testenv: postgres: pg_ctl stop: %w\n%s", err, out)
			_ = p.cmd.Process.Kill()
		}
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if err := os.RemoveAll(p.Dir); err != nil && p.err == nil {
			p.err = fmt.Errorf("testenv: postgres: %w", err)
		}
	})
	return p.err
}

// Log returns what the server has written to its log so far.
func (p *Postgres) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "postgres.log"))
	return string(b)
}

// run runs one of PostgreSQL's programs as the server's user and returns
// its combined output.
func (p *Postgres) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = p.Dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	err := cmd.Run()
	return bytes.TrimSpace(out.Bytes()), err
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("testenv: postgres: running as root needs the system user postgres (apt-get install postgresql-15): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("testenv: postgres: user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
