package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

const flaskApp = `from flask import Flask, request, redirect, url_for
app = Flask(__name__)

@app.route('/')
def index():
    return 'Flask index at ' + request.script_root

@app.route('/form', methods=['GET', 'POST'])
def form():
    if request.method == 'POST':
        return 'Hello, ' + request.form['name'] + '!'
    return '<form method="post"><input name="name"></form>'

@app.route('/go')
def go():
    return redirect(url_for('index'))

application = app
`

const djangoApp = `from django.conf import settings
settings.configure(DEBUG=False, ALLOWED_HOSTS=['*'], ROOT_URLCONF=__name__,
                   SECRET_KEY='test-' + 'x' * 50, MIDDLEWARE=[], USE_TZ=True)
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

def index(request):
    return HttpResponse('Django index at ' + request.META['SCRIPT_NAME'])

def form(request):
    if request.method == 'POST':
        return HttpResponse('Hello, ' + request.POST['name'] + '!')
    return HttpResponse('<form method="post"><input name="name"></form>')

def go(request):
    return HttpResponseRedirect(reverse('index'))

urlpatterns = [path('', index, name='index'), path('form', form), path('go', go)]

from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
`

// TestRealApplications runs a Flask and a Django application from Debian's
// packages through the command: pages, a form POST and a redirect, mounted
// under a prefix.
func TestRealApplications(t *testing.T) {
	py := testenv.Python(t)
	apps := []struct{ name, module, pkg, src string }{
		{"Flask", "flask", "python3-flask", flaskApp},
		{"Django", "django", "python3-django", djangoApp},
	}
	for _, a := range apps {
		t.Run(a.name, func(t *testing.T) {
			testenv.PythonModule(t, py, a.module, a.pkg)
			script := testenv.WriteFile(t, "", "app.wsgi", a.src)
			addr := startChild(t, childOpts{}, "-mount", "/app", "-python", py, "-processes", "2", "-threads", "2", script).addr
			base := "http://" + addr
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			resp, body := do(t, client, "GET", base+"/app/", "")
			if resp.StatusCode != 200 || body != a.name+" index at /app" {
				t.Errorf("index: %d %q", resp.StatusCode, body)
			}
			resp, body = do(t, client, "GET", base+"/app/form", "")
			if resp.StatusCode != 200 || !strings.Contains(body, `<form method="post">`) {
				t.Errorf("form page: %d %q", resp.StatusCode, body)
			}
			resp, body = do(t, client, "POST", base+"/app/form", url.Values{"name": {"Zoë & co"}}.Encode())
			if resp.StatusCode != 200 || body != "Hello, Zoë & co!" {
				t.Errorf("form POST: %d %q", resp.StatusCode, body)
			}
			resp, _ = do(t, client, "GET", base+"/app/go", "")
			if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || (loc != "/app/" && loc != base+"/app/") {
				t.Errorf("redirect: %d Location %q", resp.StatusCode, loc)
			}
			resp, _ = do(t, client, "GET", base+"/elsewhere", "")
			if resp.StatusCode != 404 {
				t.Errorf("outside the mount: %d", resp.StatusCode)
			}
		})
	}
}

func do(t *testing.T, c *http.Client, method, u, form string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return resp, string(b)
}

// TestHelloExample is the README's promise: the command serves
// examples/hello.wsgi.
func TestHelloExample(t *testing.T) {
	statusAddr := testenv.Addr(testenv.FreePort(t))
	addr := startChild(t, childOpts{}, "-python", testenv.Python(t), "-status-addr", statusAddr, "../../examples/hello.wsgi").addr
	_, body := do(t, http.DefaultClient, "GET", "http://"+addr+"/", "")
	if body != "Hello, World!\n" {
		t.Fatalf("got %q", body)
	}
	testenv.WaitTCP(t, statusAddr, 10*time.Second)
	_, js := do(t, http.DefaultClient, "GET", "http://"+statusAddr+"/", "")
	var st struct {
		Processes int   `json:"processes"`
		Served    int64 `json:"served"`
	}
	if err := json.Unmarshal([]byte(js), &st); err != nil || st.Processes != 1 || st.Served < 1 {
		t.Errorf("status: %q (%v)", js, err)
	}
	_, vars := do(t, http.DefaultClient, "GET", "http://"+statusAddr+"/debug/vars", "")
	if !strings.Contains(vars, `"gowsgi"`) || !strings.Contains(vars, `"served"`) {
		t.Errorf("expvar: %.300q", vars)
	}
	// The heap after a forced collection, on the status address only: on
	// the public one, /debug/pprof/ is the application's path.
	resp, heap := do(t, http.DefaultClient, "GET", "http://"+statusAddr+"/debug/pprof/heap?gc=1&debug=1", "")
	if resp.StatusCode != 200 || !strings.Contains(heap, "HeapInuse") {
		t.Errorf("status pprof heap: %d %.200q", resp.StatusCode, heap)
	}
	if _, body := do(t, http.DefaultClient, "GET", "http://"+addr+"/debug/pprof/", ""); body != "Hello, World!\n" {
		t.Errorf("the public address served %.100q at /debug/pprof/, not the application", body)
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no script", nil, 2},
		{"bad memory limit", []string{"-memory-limit", "lots", "x.wsgi"}, 2},
		{"bad env", []string{"-env", "NOEQUALS", "x.wsgi"}, 1},
		{"missing script", []string{"/nonexistent/app.wsgi"}, 1},
		// A single-value flag given twice is refused, not
		// last-wins (which left /uid unprotected here).
		{"auth-location twice", []string{"-htpasswd", "/dev/null", "-auth-location", "^/uid$", "-auth-location", "^/env$", "x.wsgi"}, 2},
		{"htpasswd twice", []string{"-htpasswd", "a", "-htpasswd", "b", "x.wsgi"}, 2},
		{"realm twice", []string{"-realm", "a", "-realm", "a", "x.wsgi"}, 2},
		{"bool twice", []string{"-pass-authorization", "-pass-authorization=false", "x.wsgi"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if code := run(tc.args, &out); code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, out.String())
			}
			if strings.HasSuffix(tc.name, " twice") && !strings.Contains(out.String(), "given twice") {
				t.Errorf("no reason given: %s", out.String())
			}
		})
	}
}

const pidApp = `import os
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(os.getpid()).encode()]
`

// TestSIGHUPReloads: SIGHUP replaces the workers.
func TestSIGHUPReloads(t *testing.T) {
	script := testenv.WriteFile(t, "", "pid.wsgi", pidApp)
	c := startChild(t, childOpts{}, "-python", testenv.Python(t), "-reload=false", script)
	addr := c.addr
	_, before := do(t, http.DefaultClient, "GET", "http://"+addr+"/", "")
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, now := do(t, http.DefaultClient, "GET", "http://"+addr+"/", "")
		if now != before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not replace the worker")
		}
	}
}

// TestNoOrphans kills the command with SIGKILL: its Python workers must
// notice and exit (parent-death signal, EOF on their sockets).
func TestNoOrphans(t *testing.T) {
	script := testenv.WriteFile(t, "", "pid.wsgi", pidApp)
	c := startChild(t, childOpts{}, "-python", testenv.Python(t), "-processes", "2", script)
	addr := c.addr
	pids := map[string]bool{}
	for i := 0; i < 20 && len(pids) < 2; i++ {
		_, body := do(t, http.DefaultClient, "GET", "http://"+addr+"/", "")
		pids[body] = true
	}
	if len(pids) != 2 {
		t.Fatalf("want 2 worker pids, got %v", pids)
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	for pid := range pids {
		gone := false
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			b, err := os.ReadFile("/proc/" + pid + "/stat")
			if err != nil || strings.Fields(string(b))[2] == "Z" {
				gone = true
				break
			}
		}
		if !gone {
			t.Errorf("worker %s outlived the killed command", pid)
		}
	}
}
