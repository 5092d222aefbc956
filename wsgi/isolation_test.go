package wsgi

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// isolationApp reports the worker's view of itself and writes to stdout and
// wsgi.errors in the ways the tests below need.
const isolationApp = `import json, os, sys, time
KEPT = []

def application(environ, start_response):
    path = environ['PATH_INFO']
    arg = environ.get('QUERY_STRING', '')
    if path == '/self':
        body = json.dumps({'path': sys.path, 'argv': sys.argv, 'prefix': sys.prefix,
                           'pid': os.getpid(), 'cwd': os.getcwd(),
                           'config_env': 'GOWSGI_WORKER_CONFIG' in os.environ})
    elif path == '/import':
        body = __import__(arg).VALUE
    elif path == '/print':
        print('printed ' + arg)  # no flush: stdout is a pipe
        body = 'ok'
    elif path == '/raise-partial':
        environ['wsgi.errors'].write('partial before raise ' + arg)
        raise RuntimeError('boom ' + arg)
    elif path == '/abort-partial':
        environ['wsgi.errors'].write('partial before abort ' + arg)
        write = start_response('200 OK', [('Content-Type', 'text/plain')])
        while True:
            write(b'x' * 65536)
            time.sleep(0.01)
    elif path == '/keep':
        KEPT.append(environ['wsgi.errors'])
        body = 'kept'
    elif path == '/late':
        KEPT[0].write('late line ' + arg + '\n')
        body = str(os.getpid())
    else:
        body = 'not found'
    body = body.encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
`

type workerSelf struct {
	Path      []string `json:"path"`
	Argv      []string `json:"argv"`
	Prefix    string   `json:"prefix"`
	PID       int      `json:"pid"`
	Cwd       string   `json:"cwd"`
	ConfigEnv bool     `json:"config_env"`
}

// current returns the adapter's path ("" before the first spawn).
func (a *adapterFile) current() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.path
}

func isolationScript(t *testing.T) string {
	return testenv.WriteFile(t, "", "app.wsgi", isolationApp)
}

func getSelf(t *testing.T, url string) workerSelf {
	t.Helper()
	code, body := get(t, url+"/self")
	if code != 200 {
		t.Fatalf("/self: %d %q", code, body)
	}
	var s workerSelf
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("/self %q: %v", body, err)
	}
	return s
}

// TestCurrentDirectoryNotOnPath: a json.py in the directory gowsgi was
// started from no longer replaces the adapter's own import (with python -c,
// sys.path[0] was the current directory and no worker started), and neither
// the current directory nor the adapter's directory is on sys.path.
func TestCurrentDirectoryNotOnPath(t *testing.T) {
	script := isolationScript(t)
	cwd := t.TempDir()
	testenv.WriteFile(t, cwd, "json.py", "raise ImportError('json.py from the current directory was imported')\n")
	testenv.WriteFile(t, cwd, "cwdmod.py", "VALUE = 'from the current directory'\n")
	t.Chdir(cwd)
	h, _ := newTestHandler(t, Config{Script: script, StartTimeout: 20 * time.Second})
	srv := serve(t, h)
	s := getSelf(t, srv.URL)
	real, _ := filepath.EvalSymlinks(cwd)
	for _, p := range s.Path {
		if p == "" || p == "." || p == cwd || p == real || filepath.Base(p) == filepath.Base(filepath.Dir(h.adapter.current())) {
			t.Errorf("sys.path holds %q (cwd %s): %q", p, s.Cwd, s.Path)
		}
	}
	if code, body := get(t, srv.URL+"/import?cwdmod"); code != http.StatusInternalServerError {
		t.Errorf("a module of the current directory imported: %d %q", code, body)
	}
	if s.ConfigEnv {
		t.Error("GOWSGI_WORKER_CONFIG left in os.environ")
	}
}

// TestAdapterFile: the adapter runs from a private file that tracebacks
// name, sys.argv[0] is that file, ps shows the script and the worker's
// number, top a name of its own, and Close removes the file.
func TestAdapterFile(t *testing.T) {
	script := isolationScript(t)
	h, logs := newTestHandler(t, Config{Script: script, Processes: 2})
	srv := serve(t, h)

	if code, _ := get(t, srv.URL+"/raise-partial?x"); code != http.StatusInternalServerError {
		t.Fatalf("/raise-partial: %d", code)
	}
	if l := logs.String(); !strings.Contains(l, adapterName+`\", line `) || strings.Contains(l, `<string>`) {
		t.Errorf("the traceback does not name %s:\n%s", adapterName, l)
	}

	path := h.adapter.current()
	if filepath.Base(path) != adapterName {
		t.Fatalf("adapter at %q", path)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Dir(path), os.ModeDir | 0o700}, {path, 0o400}} {
		if fi, err := os.Lstat(p.path); err != nil {
			t.Error(err)
		} else if fi.Mode() != p.mode {
			t.Errorf("%s: mode %v, want %v", p.path, fi.Mode(), p.mode)
		}
	}
	if s := getSelf(t, srv.URL); len(s.Argv) != 3 || s.Argv[0] != path || s.Argv[1] != script {
		t.Errorf("sys.argv %q, want [%s %s #N]", s.Argv, path, script)
	}

	var numbers []string
	for _, pid := range h.pids() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		n := len(args)
		if len(b) > 1024 || n < 4 || args[n-3] != path || args[n-2] != script || !strings.HasPrefix(args[n-1], "#") {
			t.Errorf("worker %d command line %q, want [python ... %s %s #N]", pid, args, path, script)
			continue
		}
		numbers = append(numbers, args[n-1])
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if want := "wsgi:app " + args[n-1]; err != nil || strings.TrimSpace(string(comm)) != want {
			t.Errorf("worker %d is named %q (%v) in top, want %q", pid, comm, err, want)
		}
	}
	slices.Sort(numbers)
	if !slices.Equal(numbers, []string{"#1", "#2"}) {
		t.Errorf("worker numbers %q, want #1 and #2", numbers)
	}

	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("adapter directory left after Close: %v", err)
	}
}

// TestAdapterFileRemoved: a temp cleaner that removed the adapter's file
// does not stop workers from starting: the next one gets a new directory.
func TestAdapterFileRemoved(t *testing.T) {
	h, _ := newTestHandler(t, Config{Script: isolationScript(t)})
	srv := serve(t, h)
	old := h.adapter.current()
	pid := getSelf(t, srv.URL).PID
	if err := os.RemoveAll(filepath.Dir(old)); err != nil {
		t.Fatal(err)
	}
	h.Reload()
	if !waitFor(func() bool { p := h.pids(); return len(p) == 1 && p[0] != pid }) {
		t.Fatalf("no new worker: %+v", h.Stats())
	}
	if s := getSelf(t, srv.URL); s.Argv[0] == old || s.Argv[0] != h.adapter.current() {
		t.Errorf("new worker runs %q; old adapter %q", s.Argv[0], old)
	}
}

// TestUserSite: the user site directory is on sys.path only with
// PythonUserSite.
func TestUserSite(t *testing.T) {
	py := pythonForTest(t)
	env := []string{"PYTHONUSERBASE=" + t.TempDir()}
	cmd := exec.Command(py, "-c", "import site; print(site.getusersitepackages())")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	userSite := strings.TrimSpace(string(out))
	testenv.WriteFile(t, userSite, "usersitemod.py", "VALUE = 'from the user site'\n")
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint("PythonUserSite=", on), func(t *testing.T) {
			h, _ := newTestHandler(t, Config{Script: isolationScript(t), Env: env, PythonUserSite: on})
			srv := serve(t, h)
			s := getSelf(t, srv.URL)
			if got := slices.Contains(s.Path, userSite); got != on {
				t.Errorf("%s on sys.path: %v, want %v: %q", userSite, got, on, s.Path)
			}
			code, body := get(t, srv.URL+"/import?usersitemod")
			if (code == 200 && body == "from the user site") != on {
				t.Errorf("import from the user site: %d %q", code, body)
			}
		})
	}
}

// TestPythonPathAndEnv: PythonPath and PYTHONPATH from Env reach sys.path;
// -s does not take them away.
func TestPythonPathAndEnv(t *testing.T) {
	envDir := t.TempDir()
	cfgDir := t.TempDir()
	testenv.WriteFile(t, envDir, "envmod.py", "VALUE = 'from PYTHONPATH'\n")
	testenv.WriteFile(t, cfgDir, "cfgmod.py", "VALUE = 'from PythonPath'\n")
	h, _ := newTestHandler(t, Config{Script: isolationScript(t), Env: []string{"PYTHONPATH=" + envDir}, PythonPath: []string{cfgDir}})
	srv := serve(t, h)
	for mod, want := range map[string]string{"envmod": "from PYTHONPATH", "cfgmod": "from PythonPath"} {
		if code, body := get(t, srv.URL+"/import?"+mod); code != 200 || body != want {
			t.Errorf("import %s: %d %q, want %q", mod, code, body, want)
		}
	}
	if p := getSelf(t, srv.URL).Path; len(p) == 0 || p[0] != cfgDir {
		t.Errorf("PythonPath not first on sys.path: %q", p)
	}
}

// TestVirtualEnvironment: a virtual environment's interpreter runs the
// workers in that environment, its site-packages included.
func TestVirtualEnvironment(t *testing.T) {
	py := pythonForTest(t)
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(py, "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		testenv.Unavailable(t, "%s -m venv (apt-get install python3-venv): %v\n%s", py, err, out)
	}
	vpy := filepath.Join(venv, "bin", "python")
	out, err := exec.Command(vpy, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").Output()
	if err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, strings.TrimSpace(string(out)), "venvmod.py", "VALUE = 'from the venv'\n")
	h, _ := newTestHandler(t, Config{Script: isolationScript(t), Python: vpy})
	srv := serve(t, h)
	if s := getSelf(t, srv.URL); s.Prefix != venv {
		t.Errorf("sys.prefix %q, want %q", s.Prefix, venv)
	}
	if code, body := get(t, srv.URL+"/import?venvmod"); code != 200 || body != "from the venv" {
		t.Errorf("import from the venv: %d %q", code, body)
	}
}

// TestStdoutUnbuffered: what the application prints reaches the log while
// the worker lives, not when a block-sized buffer fills or it exits.
func TestStdoutUnbuffered(t *testing.T) {
	t.Setenv("PYTHONUNBUFFERED", "") // empty is unset, for Python
	h, logs := newTestHandler(t, Config{Script: isolationScript(t)})
	srv := serve(t, h)
	if code, _ := get(t, srv.URL+"/print?hello-stdout"); code != 200 {
		t.Fatalf("/print: %d", code)
	}
	if !waitFor(func() bool { return strings.Contains(logs.String(), "printed hello-stdout") }) {
		t.Errorf("print() did not reach the log:\n%s", logs.String())
	}
}

// TestErrorsPartialLine: a wsgi.errors line without its newline is logged
// when the application raises and when the client leaves.
func TestErrorsPartialLine(t *testing.T) {
	h, logs := newTestHandler(t, Config{Script: isolationScript(t)})
	srv := serve(t, h)
	if code, _ := get(t, srv.URL+"/raise-partial?r1"); code != http.StatusInternalServerError {
		t.Fatalf("/raise-partial: %d", code)
	}
	if l := logs.String(); !strings.Contains(l, "partial before raise r1") {
		t.Errorf("partial line lost when the app raised:\n%s", l)
	}

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /abort-partial?a1 HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !waitFor(func() bool { return strings.Contains(logs.String(), "partial before abort a1") }) {
		t.Errorf("partial line lost when the client left:\n%s", logs.String())
	}
}

// TestErrorsAfterRequest: wsgi.errors kept past its request (a logging
// handler set up on the first request) writes to the worker's stderr, which
// is logged, and the worker keeps serving.
func TestErrorsAfterRequest(t *testing.T) {
	h, logs := newTestHandler(t, Config{Script: isolationScript(t)})
	srv := serve(t, h)
	if code, _ := get(t, srv.URL+"/keep"); code != 200 {
		t.Fatalf("/keep: %d", code)
	}
	pid := getSelf(t, srv.URL).PID
	code, body := get(t, srv.URL+"/late?l1")
	if code != 200 || body != strconv.Itoa(pid) {
		t.Errorf("/late: %d %q, want 200 from worker %d", code, body, pid)
	}
	if !waitFor(func() bool { return strings.Contains(logs.String(), "late line l1") }) {
		t.Errorf("late line not logged:\n%s", logs.String())
	}
	if s := getSelf(t, srv.URL); s.PID != pid || len(h.Stats().Restarts) != 0 {
		t.Errorf("worker replaced after a late wsgi.errors write: %d -> %d, %+v", pid, s.PID, h.Stats())
	}
}

// TestStartErrorNamesInterpreter: a script that cannot load is reported by
// Ready with the traceback and the interpreter; Stats and the log name the
// interpreter too.
func TestStartErrorNamesInterpreter(t *testing.T) {
	script := testenv.WriteFile(t, "", "bad.wsgi", "value = 1 / 0\n")
	h, logs := newTestHandler(t, Config{Script: script})
	err := h.Ready()
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("Ready: %v, want a *StartError", err)
	}
	py := h.python
	if se.Python != py || !strings.Contains(se.Output, "ZeroDivisionError") || !strings.Contains(se.Output, "did not load in Python 3.") {
		t.Errorf("StartError %+v", se)
	}
	if !strings.Contains(err.Error(), "python "+py) {
		t.Errorf("error %q does not name %s", err, py)
	}
	if !strings.Contains(logs.String(), "python "+py) {
		t.Errorf("log does not name %s:\n%s", py, logs.String())
	}
	if s := h.Stats(); s.Python != py {
		t.Errorf("Stats().Python %q, want %q", s.Python, py)
	}
	good, _ := newTestHandler(t, Config{Script: isolationScript(t)})
	if err := good.Ready(); err != nil {
		t.Errorf("Ready of a good script: %v", err)
	}
}

// TestReloadBrokenScript: a script that breaks on reload (its modification
// time, or Reload as SIGHUP does) leaves the old workers serving and logs
// the traceback, as gunicorn and mod_wsgi do.
func TestReloadBrokenScript(t *testing.T) {
	script := copyScript(t)
	h, logs := newTestHandler(t, Config{Script: script, Processes: 2, ReloadInterval: 20 * time.Millisecond})
	srv := serve(t, h)
	old := h.pids()
	if err := os.WriteFile(script, []byte("import os\nvalue = 1 / 0  # broken on reload\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(script, future, future); err != nil {
		t.Fatal(err)
	}
	for i, reload := range []func(){func() {}, h.Reload} {
		reload()
		if !waitFor(func() bool { return h.Stats().Restarts["startup_failure"] >= int64(2*(i+1)) }) {
			t.Fatalf("reload %d not attempted: %+v", i, h.Stats())
		}
		if l := logs.String(); !strings.Contains(l, "the old one keeps serving") || !strings.Contains(l, "ZeroDivisionError") {
			t.Errorf("traceback not logged:\n%s", l)
		}
		for j := 0; j < 4; j++ {
			if pid := getPID(t, srv.URL); !slices.Contains(old, pid) {
				t.Fatalf("served by %d, not by the old workers %v", pid, old)
			}
		}
		if cur := h.pids(); !slices.Equal(cur, old) {
			t.Errorf("workers %v, want the old ones %v", cur, old)
		}
	}
	if runtime.GOOS == "linux" {
		for _, pid := range old {
			if !alive(pid) {
				t.Errorf("old worker %d died", pid)
			}
		}
	}
}
