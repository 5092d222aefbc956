package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

const childArgsEnv = "GOWSGI_TEST_RUN_ARGS"

// TestRunHelperProcess is not a test: it is the gowsgi command, run by
// startChild as a child process (as net/http/cgi's tests do), so that the
// command is exercised through run with its real flags, signals and exit
// status.
func TestRunHelperProcess(t *testing.T) {
	args := os.Getenv(childArgsEnv)
	if args == "" {
		return
	}
	var a []string
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		os.Exit(3)
	}
	os.Exit(run(a, os.Stderr))
}

// child is the command running in a child process.
type child struct {
	cmd    *exec.Cmd
	addr   string // what it listens on; "" with childOpts.noListen
	pgid   int    // its process group, with childOpts.group; else 0
	exited chan struct{}
	out    testenv.LogBuffer // its standard output and error, as it writes them
}

// childOpts are the ways startChild can run the command.
type childOpts struct {
	// group makes the child the leader of a new process group, as a shell
	// runs a job, so that a signal can reach its Python workers too.
	group bool
	// noListen gives no -listen and does not wait for the child to listen:
	// for a command line expected to end on its own (see child.wait).
	noListen bool
	// dir is the child's working directory; "" means the test's.
	dir string
	// env is added to the child's environment, after what startChild
	// sets.
	env []string
	// asRoot leaves out the -allow-root that startChild otherwise gives
	// a child started as root (see privileges.go), for tests of -user and
	// of the refusal.
	asRoot bool
	// activate, an address, runs the child under systemd-socket-activate
	// listening there (instead of -listen), with the child's
	// environment; c.addr is that address.
	activate string
	// addr, when not empty, is the address given with -listen instead
	// of a free port: a child started again where one was.
	addr string
}

// startChild runs the command with args in a child process (the test
// binary, see TestRunHelperProcess), with TMPDIR in a temporary directory
// (a child killed with SIGKILL leaves its adapter file there). Unless
// o.noListen, it listens on a free port given with -listen, and startChild
// returns once it accepts connections, failing the test with the child's
// output if it exits first.
//
// At cleanup, a child still running gets SIGTERM and must exit with status
// 0 within 30 seconds, or the test fails; the rest of its process group,
// if any, is then killed.
func startChild(t *testing.T, o childOpts, args ...string) *child {
	t.Helper()
	c := &child{exited: make(chan struct{})}
	if os.Geteuid() == 0 && !o.asRoot {
		args = append([]string{"-allow-root"}, args...)
	}
	switch {
	case o.activate != "":
		c.addr = o.activate
	case !o.noListen:
		c.addr = o.addr
		if c.addr == "" {
			c.addr = testenv.Addr(testenv.FreePort(t))
		}
		args = append([]string{"-listen", c.addr}, args...)
	}
	js, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable() // os.Args[0] may be relative, and dir elsewhere
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(exe, "-test.run=^TestRunHelperProcess$")
	c.cmd.Env = append(os.Environ(), childArgsEnv+"="+string(js), "TMPDIR="+t.TempDir())
	c.cmd.Env = append(c.cmd.Env, o.env...)
	if o.activate != "" {
		// It passes on only the variables named with -E.
		sa := []string{"-l", o.activate}
		for _, kv := range c.cmd.Env {
			sa = append(sa, "-E", kv)
		}
		env := c.cmd.Env
		c.cmd = exec.Command(testenv.LookPath(t, "systemd-socket-activate", "systemd"), append(sa, c.cmd.Args...)...)
		c.cmd.Env = env
	}
	c.cmd.Dir = o.dir
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = &c.out
	if o.group {
		c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if o.group {
		c.pgid = c.cmd.Process.Pid
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.stop(t) })
	if !o.noListen || o.activate != "" {
		c.waitListening(t, 60*time.Second)
	}
	return c
}

// waitListening waits until the child accepts connections on c.addr.
func (c *child) waitListening(t *testing.T, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		select {
		case <-c.exited:
			t.Fatalf("gowsgi exited before serving: %v\n%s", c.cmd.ProcessState, c.output())
		case <-time.After(50 * time.Millisecond):
		}
		if conn, err := net.DialTimeout("tcp", c.addr, 200*time.Millisecond); err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gowsgi does not listen on %s after %v\n%s", c.addr, timeout, c.output())
		}
	}
}

// wait waits for the child to exit on its own and returns its exit status
// and output; a child still running after timeout gets SIGTERM and the
// test fails.
func (c *child) wait(t *testing.T, timeout time.Duration) (int, string) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(timeout):
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		<-c.exited
		t.Fatalf("gowsgi still running after %v:\n%s", timeout, c.output())
	}
	return c.cmd.ProcessState.ExitCode(), c.out.String()
}

// stop ends the child at cleanup (see startChild).
func (c *child) stop(t *testing.T) {
	select {
	case <-c.exited:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
			if !c.cmd.ProcessState.Success() {
				t.Errorf("gowsgi did not stop cleanly on SIGTERM: %v\n%s", c.cmd.ProcessState, c.output())
			}
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
			t.Errorf("gowsgi did not stop on SIGTERM\n%s", c.output())
		}
	}
	if c.pgid != 0 {
		_ = syscall.Kill(-c.pgid, syscall.SIGKILL)
	}
}

// output is the end of what the child wrote, for failure messages.
func (c *child) output() string {
	s := c.out.String()
	if len(s) > 8000 {
		s = "...\n" + s[len(s)-8000:]
	}
	return s
}
