package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// heldRequest is a POST whose body the test holds open: the application
// reads it to the end, so the request runs until release.
type heldRequest struct {
	pw   *io.PipeWriter
	done chan int
}

func holdRequest(t *testing.T, url, user, pw string) *heldRequest {
	t.Helper()
	pr, w := io.Pipe()
	h := &heldRequest{pw: w, done: make(chan int, 1)}
	req, err := http.NewRequest("POST", url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pw)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			h.done <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		h.done <- resp.StatusCode
	}()
	t.Cleanup(func() { w.Close() })
	return h
}

func (h *heldRequest) release() int {
	h.pw.Close()
	return <-h.done
}

// TestServerStatusPage loads /server-status in headless Chromium while two
// slow requests run on the two worker processes and a third waits for
// one, and checks that the page shows each with its path and user, and the
// queue; ?auto gives the same in mod_status's form. With
// GOWSGI_SCREENSHOT=FILE it also saves the page as a PNG there (how
// docs/server-status.png was made).
func TestServerStatusPage(t *testing.T) {
	statusAddr := testenv.Addr(testenv.FreePort(t))
	c := logChild(t, "-status-addr", statusAddr, "-processes", "2", "-threads", "1")
	testenv.WaitTCP(t, statusAddr, 30*time.Second) // it listens after the server does
	base, status := "http://"+c.addr, "http://"+statusAddr
	for _, p := range []string{"/app/", "/app/wiki/WikiStart", "/app/private/login"} {
		if code, body := request(t, base+p, "alice", "secret"); code != 200 {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
	}
	running := []*heldRequest{
		holdRequest(t, base+"/app/private/ticket/42/hold", "alice", "secret"),
		holdRequest(t, base+"/app/private/wiki/Upload/hold?action=new", "alice", "secret"),
	}
	waitFor(t, 20*time.Second, "two busy workers", func() bool {
		_, auto := request(t, status+"/server-status?auto", "", "")
		return strings.Contains(auto, "BusyWorkers: 2\n")
	})
	queued := holdRequest(t, base+"/app/private/timeline/hold", "alice", "secret")
	waitFor(t, 20*time.Second, "a queued request", func() bool {
		_, auto := request(t, status+"/server-status?auto", "", "")
		return strings.Contains(auto, "QueuedRequests: 1\n")
	})

	_, auto := request(t, status+"/server-status?auto", "", "")
	for _, re := range []string{`(?m)^Total Accesses: 3$`, `(?m)^Processes: 2$`, `(?m)^IdleWorkers: 0$`, `(?m)^Scoreboard: WW$`, `(?m)^ServerUptimeSeconds: \d+$`} {
		if !regexp.MustCompile(re).MatchString(auto) {
			t.Errorf("?auto lacks %s:\n%s", re, auto)
		}
	}

	dom := testenv.ChromiumDOM(t, status+"/server-status?refresh=5")
	for _, want := range []string{
		`<meta http-equiv="refresh" content="5">`,
		`<td>POST</td><td>/app/private/ticket/42/hold</td><td>127.0.0.1:`,
		`<td>/app/private/wiki/Upload/hold?action=new</td>`,
		`<h3>Queue: 1 waiting for a worker</h3>`,
		`<td>/app/private/timeline/hold</td>`,
		`<td>alice</td>`,
		`Scoreboard: <code>WW</code>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// Each process row has its pid, a state and an RSS read from /proc.
	if n := len(regexp.MustCompile(`<tr class="proc"><td>\d+</td><td></td><td>ready</td><td class="n">\d+</td><td class="n">[\d.]+ MiB</td>`).FindAllString(dom, -1)); n != 2 {
		t.Errorf("%d process rows with pid, state and RSS, want 2", n)
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
	shot := filepath.Join(t.TempDir(), "server-status.png")
	if p := os.Getenv("GOWSGI_SCREENSHOT"); p != "" {
		shot = p
	}
	testenv.ChromiumScreenshot(t, status+"/server-status", shot, 1440, 540)
	if b, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("screenshot: %v", err)
	}

	for _, h := range append(running, queued) {
		if code := h.release(); code != 200 {
			t.Errorf("held request: %d", code)
		}
	}
	if code, _ := request(t, status+"/server-status?refresh=0", "", ""); code != 400 {
		t.Errorf("?refresh=0: %d, want 400", code)
	}
}
