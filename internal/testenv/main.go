package testenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
)

// Main lets a TestMain use the helpers of this package, which take a
// [testing.TB], before m.Run: it satisfies testing.TB, writes log lines to
// stderr, and keeps the cleanups until [Main.Close], called after m.Run.
//
//	func TestMain(m *testing.M) {
//		tm := testenv.NewMain("ldap")
//		var dir *testenv.Slapd
//		reason, skipped, ok := tm.Try(func(tb testing.TB) { dir = testenv.StartSlapd(tb, cfg) })
//		if !ok {
//			... // skipped: leave out the tests that need it (fail under CI); else exit 1
//		}
//		code := m.Run()
//		tm.Close()
//		os.Exit(code)
//	}
//
// Fatal and Skip end only the function given to [Main.Try], as they end a
// test. Calling them outside Try ends the calling goroutine (and so the
// program when it is the main one, with a deadlock report): always use Try.
type Main struct {
	testing.TB // nil: every method testenv's helpers call is defined below

	name string

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	skipped  bool
	reason   string
	dirs     []string
	ctx      context.Context
	cancel   context.CancelFunc
}

var _ testing.TB = (*Main)(nil)

// NewMain returns a Main whose Name is name (used in log lines and
// temporary directory names).
func NewMain(name string) *Main {
	ctx, cancel := context.WithCancel(context.Background())
	return &Main{name: name, ctx: ctx, cancel: cancel}
}

// Try runs f with m as its testing.TB, in a goroutine of its own so that
// Fatal and Skip can end it. It returns ok when f returned normally and
// nothing reported an error; otherwise reason says what failed or why the
// peer is unavailable, and skipped tells a skip (a missing program, see
// [Unavailable]) from a failure.
func (m *Main) Try(f func(tb testing.TB)) (reason string, skipped, ok bool) {
	m.mu.Lock()
	m.failed, m.skipped, m.reason = false, false, ""
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(m)
	}()
	<-done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reason, m.skipped, !m.failed && !m.skipped
}

// Close runs the cleanups registered so far, last first, and removes the
// temporary directories.
func (m *Main) Close() {
	m.mu.Lock()
	cs := m.cleanups
	m.cleanups = nil
	dirs := m.dirs
	m.dirs = nil
	m.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
	m.cancel()
}

func (m *Main) note(failed, skipped bool, msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if failed {
		m.failed = true
	}
	if skipped {
		m.skipped = true
	}
	if m.reason == "" {
		m.reason = msg
	}
}

// Helper does nothing.
func (m *Main) Helper() {}

// Name returns the name given to NewMain.
func (m *Main) Name() string { return m.name }

// Log writes to stderr.
func (m *Main) Log(args ...any) { fmt.Fprintln(os.Stderr, append([]any{m.name + ":"}, args...)...) }

// Logf writes to stderr.
func (m *Main) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, m.name+": "+format+"\n", args...)
}

// Error logs and marks the current Try failed.
func (m *Main) Error(args ...any) { m.Log(args...); m.note(true, false, fmt.Sprint(args...)) }

// Errorf logs and marks the current Try failed.
func (m *Main) Errorf(format string, args ...any) {
	m.Logf(format, args...)
	m.note(true, false, fmt.Sprintf(format, args...))
}

// Fail marks the current Try failed.
func (m *Main) Fail() { m.note(true, false, "failed") }

// FailNow marks the current Try failed and ends it.
func (m *Main) FailNow() { m.Fail(); runtime.Goexit() }

// Failed reports whether the current Try failed.
func (m *Main) Failed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failed
}

// Fatal is Error then FailNow.
func (m *Main) Fatal(args ...any) { m.Error(args...); runtime.Goexit() }

// Fatalf is Errorf then FailNow.
func (m *Main) Fatalf(format string, args ...any) { m.Errorf(format, args...); runtime.Goexit() }

// Skip logs and ends the current Try as skipped.
func (m *Main) Skip(args ...any) { m.note(false, true, fmt.Sprint(args...)); runtime.Goexit() }

// SkipNow ends the current Try as skipped.
func (m *Main) SkipNow() { m.note(false, true, "skipped"); runtime.Goexit() }

// Skipf logs and ends the current Try as skipped.
func (m *Main) Skipf(format string, args ...any) {
	m.note(false, true, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

// Skipped reports whether the current Try was skipped.
func (m *Main) Skipped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.skipped
}

// Cleanup registers f to run at Close.
func (m *Main) Cleanup(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleanups = append(m.cleanups, f)
}

// TempDir returns a new directory removed at Close.
func (m *Main) TempDir() string {
	d, err := os.MkdirTemp("", "gowsgi-"+m.name+"-")
	if err != nil {
		m.Fatalf("testenv: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dirs = append(m.dirs, d)
	return d
}

// ArtifactDir is TempDir.
func (m *Main) ArtifactDir() string { return m.TempDir() }

// Setenv sets an environment variable and restores it at Close.
func (m *Main) Setenv(key, value string) {
	old, had := os.LookupEnv(key)
	os.Setenv(key, value)
	m.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	})
}

// Chdir changes the working directory and restores it at Close.
func (m *Main) Chdir(dir string) {
	old, err := os.Getwd()
	if err != nil {
		m.Fatalf("testenv: %v", err)
	}
	if err := os.Chdir(dir); err != nil {
		m.Fatalf("testenv: %v", err)
	}
	m.Cleanup(func() { os.Chdir(old) })
}

// Context is canceled at Close.
func (m *Main) Context() context.Context { return m.ctx }

// Output is stderr.
func (m *Main) Output() io.Writer { return os.Stderr }

// Attr logs the attribute.
func (m *Main) Attr(key, value string) { m.Logf("%s=%s", key, value) }
