package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// shutdownApp answers / at once, /slow?SECONDS after sleeping (it first
// leaves a file in MARK_DIR so that the test knows a worker runs it) and
// /stream with an endless streamed body. With IGNORE_SIGTERM set, its
// workers ignore SIGTERM, as a worker blocked in C code (a database call, a
// lock) does: Python runs its signal handlers between bytecodes only.
const shutdownApp = `import os, signal, time
if os.environ.get('IGNORE_SIGTERM'):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/slow':
        open(os.path.join(os.environ['MARK_DIR'], 'slow-%d' % os.getpid()), 'w').close()
        time.sleep(float(environ.get('QUERY_STRING') or '3600'))
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'slow done']
    if path == '/stream':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        def gen():
            while True:
                yield b'x' * 99 + b'\n'
                time.sleep(0.05)
        return gen()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(os.getpid()).encode()]
`

// shutdownTimeout is the -shutdown-timeout of TestShutdown; the workers'
// -graceful-timeout and -start-timeout are far longer, so that a shutdown
// waiting for either is caught by the bound below.
const shutdownTimeout = 3 * time.Second

// shutdownBound is how long after SIGTERM the command must have exited:
// its shutdown timeout, the grace it gives the workers after it, and a
// margin for a loaded machine. The other timeouts (60 s) are far beyond.
const shutdownBound = shutdownTimeout + shutdownGrace + 10*time.Second

// TestShutdown stops the command with SIGTERM, sent to the command alone (as
// a service manager or bench/lib.sh does) or to its whole process group (as
// a terminal's Ctrl-C or `kill -- -PGID` does: the Python workers get it at
// the same instant), with requests in flight: keep-alive clients, a slow
// request, an endless streamed response, workers that die on SIGTERM or
// ignore it. The command must exit within its -shutdown-timeout (plus the
// grace it gives the workers), leave no Python process behind, let a
// request that finishes within the timeout finish, and never make a cut
// response look complete.
func TestShutdown(t *testing.T) {
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "app.wsgi", shutdownApp)
	tests := []struct {
		name        string
		group       bool // the signal goes to the process group, else to the command only
		sig         syscall.Signal
		twice       bool   // the signal is sent again during the shutdown: exit at once
		ignoreTERM  bool   // the workers ignore SIGTERM
		load        bool   // keep-alive clients request / in a loop
		slow        string // "" or the seconds /slow sleeps
		stream      bool   // a client reads /stream
		wantSlow200 bool   // /slow must be answered 200 (it ends within the timeout)
	}{
		{name: "group/keep-alive load", group: true, load: true},
		{name: "group/load, slow, stream", group: true, load: true, slow: "3600", stream: true},
		{name: "group/workers ignore SIGTERM", group: true, ignoreTERM: true, load: true, slow: "3600", stream: true},
		{name: "command/load, slow, stream", load: true, slow: "3600", stream: true},
		{name: "command/slow request finishes", load: true, slow: "1", wantSlow200: true},
		// Ctrl-C in a terminal: the workers ignore SIGINT, the command
		// shuts down gracefully.
		{name: "group SIGINT/slow request finishes", group: true, sig: syscall.SIGINT, load: true, slow: "1", wantSlow200: true},
		{name: "command/second SIGTERM", twice: true, load: true, slow: "3600", stream: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marks := t.TempDir()
			args := []string{"-python", py, "-processes", "2", "-threads", "2",
				"-shutdown-timeout", shutdownTimeout.String(),
				"-graceful-timeout", "60s", "-start-timeout", "60s",
				"-env", "MARK_DIR=" + marks}
			if tt.ignoreTERM {
				args = append(args, "-env", "IGNORE_SIGTERM=1")
			}
			g := startChild(t, childOpts{group: true}, append(args, script)...)
			base := "http://" + g.addr
			client := &http.Client{Timeout: 2 * shutdownBound}

			var wg sync.WaitGroup
			defer wg.Wait()
			stopLoad := make(chan struct{})
			var stopOnce sync.Once
			stop := func() { stopOnce.Do(func() { close(stopLoad) }) }
			defer stop()
			var loadMu sync.Mutex
			loadStatus := map[int]int{}
			if tt.load {
				for i := 0; i < 8; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							select {
							case <-stopLoad:
								return
							default:
							}
							resp, err := client.Get(base + "/")
							if err != nil {
								// Refused or closed once the command stops.
								time.Sleep(10 * time.Millisecond)
								continue
							}
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							loadMu.Lock()
							loadStatus[resp.StatusCode]++
							loadMu.Unlock()
						}
					}()
				}
			}

			type result struct {
				status int
				body   string
				err    error
			}
			slowc := make(chan result, 1)
			if tt.slow != "" {
				go func() {
					resp, err := client.Get(base + "/slow?" + tt.slow)
					if err != nil {
						slowc <- result{err: err}
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					slowc <- result{status: resp.StatusCode, body: string(b), err: err}
				}()
				waitFile(t, marks, "slow-")
			}
			streamc := make(chan result, 1)
			if tt.stream {
				resp, err := client.Get(base + "/stream")
				if err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(resp.Body)
				if _, err := br.ReadString('\n'); err != nil {
					t.Fatalf("stream: %v", err)
				}
				go func() {
					n, err := io.Copy(io.Discard, br)
					resp.Body.Close()
					streamc <- result{status: resp.StatusCode, body: strconv.FormatInt(n, 10), err: err}
				}()
			}
			if tt.load {
				// The load is being served before the signal.
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					loadMu.Lock()
					n := loadStatus[http.StatusOK]
					loadMu.Unlock()
					if n >= 20 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("load not served before the signal: %v\n%s", loadStatus, g.output())
					}
				}
			}

			sig := tt.sig
			if sig == 0 {
				sig = syscall.SIGTERM
			}
			took, err := g.terminate(tt.group, sig, tt.twice)
			if err != nil {
				t.Fatalf("%v\n%s", err, g.output())
			}
			t.Logf("exited %v after %v", took.Round(time.Millisecond), sig)
			ws := g.cmd.ProcessState.Sys().(syscall.WaitStatus)
			switch {
			case tt.twice && !(ws.Signaled() && ws.Signal() == sig):
				t.Errorf("after a second %v: exit status %v, want killed by it\n%s", sig, g.cmd.ProcessState, g.output())
			case !tt.twice && ws.ExitStatus() != 0:
				t.Errorf("exit status %v, want 0\n%s", g.cmd.ProcessState, g.output())
			}
			if left := g.waitGroupGone(10 * time.Second); len(left) > 0 {
				t.Errorf("processes left in the group after the command exited: %v\n%s", left, g.output())
			}

			if tt.slow != "" {
				r := <-slowc
				switch {
				case tt.wantSlow200:
					if r.err != nil || r.status != http.StatusOK || r.body != "slow done" {
						t.Errorf("slow request that ends within the timeout: %d %q %v, want 200 %q", r.status, r.body, r.err, "slow done")
					}
				case r.err == nil && r.status != http.StatusBadGateway:
					t.Errorf("slow request cut short: %d %q, want 502 or a cut connection", r.status, r.body)
				}
			}
			if tt.stream {
				r := <-streamc
				if r.err == nil {
					t.Errorf("endless stream ended cleanly after %s bytes: a cut response must not look complete", r.body)
				}
			}
			stop()
			wg.Wait()
			loadMu.Lock()
			defer loadMu.Unlock()
			for code, n := range loadStatus {
				switch code {
				case http.StatusOK, http.StatusBadGateway, http.StatusServiceUnavailable:
					// 502: a request running on a worker killed by the
					// group's SIGTERM; 503: none left to serve it.
				default:
					t.Errorf("%d load responses with status %d", n, code)
				}
			}
		})
	}
}

// waitFile waits until a file named prefix* exists in dir.
func waitFile(t *testing.T, dir, prefix string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m, _ := filepath.Glob(filepath.Join(dir, prefix+"*"))
		if len(m) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s* file in %s: the request did not reach a worker", prefix, dir)
		}
	}
}

// terminate sends sig to the group (or to the command only) and waits for
// the command to exit, at most shutdownBound; it reports how long that took.
// With twice, sig is sent to the command again once it logged that it is
// shutting down.
func (g *child) terminate(group bool, sig syscall.Signal, twice bool) (time.Duration, error) {
	pid := g.pgid
	if group {
		pid = -g.pgid
	}
	start := time.Now()
	if err := syscall.Kill(pid, sig); err != nil {
		return 0, err
	}
	if twice {
		for !strings.Contains(g.output(), "gowsgi: shutting down") {
			select {
			case <-g.exited:
				return 0, fmt.Errorf("exited before the second %v", sig)
			case <-time.After(10 * time.Millisecond):
			}
			if time.Since(start) > shutdownBound {
				return 0, fmt.Errorf("no shutdown logged %v after %v", shutdownBound, sig)
			}
		}
		if err := syscall.Kill(g.pgid, sig); err != nil {
			return 0, err
		}
	}
	t := time.NewTimer(shutdownBound)
	defer t.Stop()
	select {
	case <-g.exited:
		return time.Since(start), nil
	case <-t.C:
		return 0, fmt.Errorf("still running %v after %v (-shutdown-timeout %v)", shutdownBound, sig, shutdownTimeout)
	}
}

// waitGroupGone waits until no live (non-zombie) process is left in the
// group and returns those still there after d.
func (g *child) waitGroupGone(d time.Duration) []string {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		left := groupMembers(g.pgid)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
	}
}

// groupMembers lists the live processes of process group pgid as
// "pid command", from /proc (zombies are left out: they are dead, waiting
// for an init that may not reap them).
func groupMembers(pgid int) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		out = append(out, e.Name()+" "+s[strings.IndexByte(s, '(')+1:i])
	}
	return out
}
