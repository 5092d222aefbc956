package wsgi

import (
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// TestWorkers checks the snapshot a status page shows: each process with
// its pid, RSS and count of requests served, and the request a thread runs
// with its record (path, user), while it runs; then the thread idle again.
// The request blocks reading a body the test holds open, so nothing here
// depends on timing. Run with -race: the snapshot reads the connection
// state the relays write.
func TestWorkers(t *testing.T) {
	var waits atomic.Int64
	h, _ := newTestHandler(t, Config{Processes: 2, Threads: 2, ObserveQueueWait: func(r *http.Request, d time.Duration) {
		if d < 0 {
			t.Errorf("negative queue wait %v", d)
		}
		waits.Add(1)
	}})
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := reqinfo.Ensure(r)
		rec.SetUser(&reqinfo.User{Name: "alice", AuthType: "Basic"})
		h.ServeHTTP(w, r)
	})
	srv := serve(t, outer)
	if code, _ := get(t, srv.URL+"/hello"); code != 200 {
		t.Fatalf("hello: %d", code)
	}

	pr, pw := io.Pipe()
	done := make(chan string, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/echo?who=me", "text/plain", pr)
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()
	if _, err := pw.Write([]byte("partial ")); err != nil {
		t.Fatal(err)
	}

	var found *RequestStatus
	var ws []WorkerStatus
	deadline := time.Now().Add(20 * time.Second)
	for found == nil && time.Now().Before(deadline) {
		ws = h.Workers()
		for _, w := range ws {
			for _, th := range w.Threads {
				if th.Running != nil && strings.HasPrefix(th.Running.Info.Target, "/echo") {
					found = th.Running
				}
			}
		}
		if found == nil {
			time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising
		}
	}
	if found == nil {
		t.Fatalf("the running request never showed: %+v", ws)
	}
	if found.Info.Method != "POST" || found.Info.Target != "/echo?who=me" || found.Info.User == nil || found.Info.User.Name != "alice" || found.Info.PID == 0 {
		t.Errorf("running request shows %+v", found.Info)
	}
	if found.Since.IsZero() || time.Since(found.Since) < 0 {
		t.Errorf("running since %v", found.Since)
	}
	if len(ws) != 2 {
		t.Fatalf("%d processes, want 2", len(ws))
	}
	served := 0
	for _, w := range ws {
		if w.PID == 0 || w.State != "ready" || len(w.Threads) != 2 || w.Started.IsZero() {
			t.Errorf("worker %+v", w)
		}
		if _, err := os.Stat("/proc/self/statm"); err == nil && w.RSS <= 0 {
			t.Errorf("worker %d: RSS %d", w.PID, w.RSS)
		}
		served += w.Served
	}
	if served != 1 {
		t.Errorf("served %d, want 1 (the hello)", served)
	}
	if q := h.Waiting(); len(q) != 0 {
		t.Errorf("queue %+v, want empty", q)
	}

	pw.Close()
	if body := <-done; body != "partial " {
		t.Fatalf("echo: %q", body)
	}
	// Once answered, no thread runs anything.
	deadline = time.Now().Add(20 * time.Second)
	for {
		busy := 0
		for _, w := range h.Workers() {
			for _, th := range w.Threads {
				if th.Running != nil {
					busy++
				}
			}
		}
		if busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d threads still busy", busy)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := waits.Load(); n != 2 {
		t.Errorf("ObserveQueueWait called %d times, want 2", n)
	}
}

// TestWaiting checks that a request waiting for a worker shows in the queue
// with its record.
func TestWaiting(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, Threads: 1})
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, _ = reqinfo.Ensure(r)
		h.ServeHTTP(w, r)
	})
	srv := serve(t, outer)
	pr, pw := io.Pipe()
	first := make(chan string, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/echo", "text/plain", pr)
		if err != nil {
			first <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		first <- string(b)
	}()
	pw.Write([]byte("x"))
	// The second request must find the thread taken: wait until the
	// first one runs.
	if !waitFor(func() bool { return h.Stats().Busy == 1 }) {
		t.Fatalf("the first request never ran: %+v", h.Stats())
	}
	second := make(chan int, 1)
	go func() { code, _ := tryPost(srv.URL + "/hello?queued=1"); second <- code }()
	deadline := time.Now().Add(20 * time.Second)
	var q []RequestStatus
	for time.Now().Before(deadline) {
		if q = h.Waiting(); len(q) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(q) != 1 || q[0].Info.Target != "/hello?queued=1" || q[0].Since.IsZero() {
		t.Errorf("queue %+v, want the second request", q)
	}
	pw.Close()
	<-first
	if code := <-second; code != 200 {
		t.Errorf("queued request: %d", code)
	}
}

// TestWorkersConcurrent takes snapshots without pause while requests come
// and go on every thread and queue up: run with -race, it checks that the
// snapshot reads the connections' state under their locks, and that what
// it shows is consistent (a running request has a record and a start).
func TestWorkersConcurrent(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 2, Threads: 2})
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, _ = reqinfo.Ensure(r)
		h.ServeHTTP(w, r)
	})
	srv := serve(t, outer)
	done := make(chan struct{})
	snaps := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				snaps <- n
				return
			default:
			}
			for _, w := range h.Workers() {
				for _, th := range w.Threads {
					if r := th.Running; r != nil && (r.Since.IsZero() || r.Info.Method == "") {
						t.Errorf("running request without its record: %+v", r)
					}
				}
			}
			h.Waiting()
			n++
		}
	}()
	errs := make(chan int, 64)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 15; i++ {
				code, _ := tryGet(srv.URL + "/slow?ms=2")
				if code != 200 {
					errs <- code
					return
				}
				code, _ = tryPost(srv.URL + "/hello")
				if code != 200 {
					errs <- code
					return
				}
			}
			errs <- 200
		}()
	}
	for g := 0; g < 8; g++ {
		if code := <-errs; code != 200 {
			t.Errorf("request: %d", code)
		}
	}
	close(done)
	if n := <-snaps; n == 0 {
		t.Error("no snapshot taken")
	}
}
