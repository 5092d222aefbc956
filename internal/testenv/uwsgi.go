package testenv

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// UWSGIConfig describes a uWSGI instance started by [StartUWSGI].
type UWSGIConfig struct {
	// Script is the WSGI file (--wsgi-file). Required.
	Script string
	// Processes and Threads are uWSGI's --processes and --threads. 0
	// means 1.
	Processes, Threads int
	// Port is the loopback port of its uwsgi socket. 0 means a free one;
	// a fixed one lets a test start an instance again where one was.
	Port int
	// Args are more uWSGI options. Nil means none.
	Args []string
}

// UWSGI is a uWSGI instance speaking the uwsgi protocol (--socket) on
// loopback, Debian's uwsgi with its python3 plugin, started by
// [StartUWSGI]. Its master and workers form one process group.
type UWSGI struct {
	// Addr is the HOST:PORT of its uwsgi socket.
	Addr string
	cmd  *exec.Cmd
	log  LogBuffer
	done chan struct{}
}

// StartUWSGI starts uWSGI with Debian's python3 plugin ("uwsgi --plugin
// python3 --socket ADDR --master ..."), waits until its socket accepts
// connections, and stops it with t.Cleanup. A missing uwsgi or plugin
// skips the test (fails it under CI).
func StartUWSGI(t testing.TB, cfg UWSGIConfig) *UWSGI {
	t.Helper()
	bin := LookPath(t, "uwsgi", "uwsgi")
	if _, err := os.Stat("/usr/lib/uwsgi/plugins/python3_plugin.so"); err != nil {
		Unavailable(t, "uWSGI's python3 plugin not found (apt-get install uwsgi-plugin-python3)")
	}
	port := cfg.Port
	if port == 0 {
		port = FreePort(t)
	}
	u := &UWSGI{Addr: Addr(port), done: make(chan struct{})}
	args := []string{"--plugin", "python3", "--socket", u.Addr, "--master",
		"--processes", strconv.Itoa(max(cfg.Processes, 1)), "--threads", strconv.Itoa(max(cfg.Threads, 1)),
		"--wsgi-file", cfg.Script, "--need-app", "--die-on-term", "--buffer-size", "32768",
		"--listen", "128", "--chdir", t.TempDir()}
	u.cmd = exec.Command(bin, append(args, cfg.Args...)...)
	u.cmd.Stdout, u.cmd.Stderr = &u.log, &u.log
	u.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := u.cmd.Start(); err != nil {
		t.Fatalf("testenv: starting uwsgi: %v", err)
	}
	go func() {
		_ = u.cmd.Wait()
		close(u.done)
	}()
	t.Cleanup(u.Kill)
	deadline := time.Now().Add(30 * time.Second)
	for !dialOK(u.Addr) {
		select {
		case <-u.done:
			t.Fatalf("testenv: uwsgi exited at startup:\n%s", u.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: uwsgi does not listen on %s after 30s:\n%s", u.Addr, u.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return u
}

// Kill sends SIGKILL to the instance's master and workers at once (its
// socket closes: new connects are refused) and waits for the master.
func (u *UWSGI) Kill() {
	err := syscall.Kill(-u.cmd.Process.Pid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = u.cmd.Process.Kill()
	}
	<-u.done
	// The workers (the master's children) die with it: wait until the
	// socket they share is closed.
	for i := 0; i < 500 && dialOK(u.Addr); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// Log returns what uWSGI wrote so far.
func (u *UWSGI) Log() string { return u.log.String() }
