package wsgi

import (
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

type sample struct {
	at      time.Time
	latency time.Duration
	status  int
}

// load runs n clients against url until stop closes, collecting samples.
func load(t *testing.T, client *http.Client, url string, n int, stop <-chan struct{}) []sample {
	var mu sync.Mutex
	var out []sample
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				st := time.Now()
				resp, err := client.Get(url)
				s := sample{at: st}
				if err != nil {
					s.status = -1
				} else {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					s.status = resp.StatusCode
					if err != nil {
						s.status = -2
					}
				}
				s.latency = time.Since(st)
				mu.Lock()
				out = append(out, s)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

func p99(ss []sample) time.Duration {
	if len(ss) == 0 {
		return 0
	}
	l := make([]time.Duration, len(ss))
	for i, s := range ss {
		l[i] = s.latency
	}
	slices.Sort(l)
	return l[len(l)*99/100]
}

// TestSoak runs concurrent load while a random worker is killed five
// times and every worker is reloaded twice, each step paced by requests
// served rather than by the clock. Every request must get 200, or 502 when
// it was running on a killed worker; afterwards no goroutine, descriptor or
// Python process is left over.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	const (
		procs   = 3
		threads = 2
		kills   = 5
		// between is how many requests are served between two steps.
		between = 200
	)
	script := copyScript(t)
	goroutinesBefore := runtime.NumGoroutine()
	fdsBefore := fdCount(t)

	logs := &logBuf{}
	h, err := New(Config{Script: script, Python: pythonForTest(t), Processes: procs, Threads: threads, Logger: newLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(h)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	client := &http.Client{Transport: tr}

	seen := map[int]bool{}
	record := func() {
		for _, p := range h.pids() {
			seen[p] = true
		}
	}
	record()

	stop := make(chan struct{})
	var samples []sample
	done := make(chan struct{})
	go func() {
		samples = load(t, client, srv.URL+"/slow?ms=2", 8, stop)
		close(done)
	}()
	// served waits until n more requests were answered.
	served := func(n int64) {
		t.Helper()
		target := h.Stats().Served + n
		if !waitFor(func() bool { return h.Stats().Served >= target }) {
			t.Fatalf("load stalled: %+v", h.Stats())
		}
	}
	reloads := 0
	for k := 0; k < kills; k++ {
		served(between)
		record()
		pids := h.pids()
		victim := pids[rand.IntN(len(pids))]
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", victim, err)
		}
		// Recovery: full capacity again, without the victim.
		if !waitFor(func() bool { p := h.pids(); return len(p) == procs && !slices.Contains(p, victim) }) {
			t.Fatalf("kill %d: not replaced: %v", k, h.pids())
		}
		record()
		if k == 1 || k == 3 {
			served(between)
			before := h.Stats().Restarts["reload"]
			h.Reload()
			reloads++
			if !waitFor(func() bool { return h.Stats().Restarts["reload"] >= before+procs && len(h.pids()) == procs }) {
				t.Fatalf("reload %d: restarts %v, pids %v", reloads, h.Stats().Restarts, h.pids())
			}
			record()
		}
	}
	served(between)
	close(stop)
	<-done
	record()

	counts := map[int]int{}
	for _, s := range samples {
		counts[s.status]++
	}
	lost := counts[502]
	t.Logf("soak: %d requests, statuses %v, %d kills, %d reloads; lost per kill %.2f (in flight at most %d); p99 %v",
		len(samples), counts, kills, reloads, float64(lost)/float64(kills), threads, p99(samples))
	for status, n := range counts {
		if status != 200 && status != 502 {
			t.Errorf("%d requests got %d", n, status)
		}
	}
	if lost > kills*threads {
		t.Errorf("%d requests lost for %d kills: more than were in flight", lost, kills)
	}
	if st := h.Stats(); st.Restarts["crash"] != kills || st.Restarts["reload"] < int64(reloads*procs) {
		t.Errorf("restarts %v, want %d crashes and at least %d reloads", st.Restarts, kills, reloads*procs)
	}

	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	srv.Close()
	tr.CloseIdleConnections()
	for pid := range seen {
		if alive(pid) {
			t.Errorf("python worker %d left after Close", pid)
		}
	}
	if !waitFor(func() bool { return runtime.NumGoroutine() <= goroutinesBefore }) {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after:\n%s", goroutinesBefore, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	}
	if !waitFor(func() bool { return fdCount(t) <= fdsBefore }) {
		t.Errorf("file descriptors: %d before, %d after", fdsBefore, fdCount(t))
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs.String())
	}
}

// TestReloadLatency compares the p99 latency of steady load with the p99
// while the workers are reloaded every half second. It asserts only that
// every request succeeds; the figures are logged (see the package notes).
func TestReloadLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode")
	}
	h, _ := newTestHandler(t, Config{Processes: 2, Threads: 2})
	srv := serve(t, h)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	phase := func(reload bool) []sample {
		stop := make(chan struct{})
		go func() {
			for i := 0; i < 4; i++ {
				time.Sleep(500 * time.Millisecond)
				if reload {
					h.Reload()
				}
			}
			close(stop)
		}()
		return load(t, client, srv.URL+"/slow?ms=2", 8, stop)
	}
	steady := phase(false)
	reloading := phase(true)
	for _, ss := range [][]sample{steady, reloading} {
		for _, s := range ss {
			if s.status != 200 {
				t.Fatalf("status %d", s.status)
			}
		}
	}
	t.Logf("p99 steady %v (%d requests), p99 during reloads %v (%d requests, %d reloads)",
		p99(steady), len(steady), p99(reloading), len(reloading), h.Stats().Restarts["reload"])
}
