package wsgi

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRequestPathModel drives random interleavings of what clients,
// applications and the machine do to the request path — plain requests,
// streams the client abandons, uploads (sized, chunked, broken, abandoned
// midway), requests whose context a middleware cancels, late wsgi.errors
// writes and worker deaths — a few at a time, and checks after each round
// that:
//   - every client that waited for a response got exactly one, complete
//     (the body it should have, or a whole error page) or visibly
//     incomplete (its read fails): never a short body read as whole;
//   - no worker connection is left with a request (Busy and Queued return
//     to 0) and every process slot is filled;
//   - the descriptors of the Go process return to their baseline.
//
// GOWSGI_MODEL_SEED picks the sequence (default: a fixed seed, so that a
// failure reproduces); GOWSGI_MODEL_ROUNDS its length.
func TestRequestPathModel(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode")
	}
	seed := uint64(20261207)
	if s := os.Getenv("GOWSGI_MODEL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rounds := 25
	if s := os.Getenv("GOWSGI_MODEL_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.Logf("seed %d, %d rounds", seed, rounds)

	const procs, threads = 2, 2
	h, logs := newTestHandler(t, Config{Processes: procs, Threads: threads, RequestTimeout: 20 * time.Second})
	// A middleware cancels the context of requests that ask for it, as a
	// context.WithTimeout middleware does.
	mw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ms, err := strconv.Atoi(r.Header.Get("X-Cancel-After-Ms")); err == nil {
			ctx, cancel := context.WithTimeout(r.Context(), time.Duration(ms)*time.Millisecond)
			defer cancel()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
	// The server's connections are tracked so that a round settles only
	// once the server has finished with every connection its clients made:
	// a client that wrote a request and hung up returns before the server
	// has even read it, and that request would start after the check.
	var (
		connMu sync.Mutex
		conns  = map[string]bool{} // by client address: open, or closed
	)
	srv := httptest.NewUnstartedServer(mw)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		connMu.Lock()
		defer connMu.Unlock()
		switch s {
		case http.StateNew:
			conns[c.RemoteAddr().String()] = true
		case http.StateClosed, http.StateHijacked:
			conns[c.RemoteAddr().String()] = false
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	serverOpen := func() bool {
		connMu.Lock()
		defer connMu.Unlock()
		for _, open := range conns {
			if open {
				return true
			}
		}
		return false
	}
	// serverDone reports whether the server accepted the client's
	// connection and has closed it, and forgets it if so.
	serverDone := func(client string) bool {
		connMu.Lock()
		defer connMu.Unlock()
		open, seen := conns[client]
		if seen && !open {
			delete(conns, client)
			return true
		}
		return false
	}
	addr := strings.TrimPrefix(srv.URL, "http://")
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	client := &http.Client{Transport: tr}
	if resp, err := client.Get(srv.URL + "/keep-errors"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/keep-errors failed: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	settle := func(round int) {
		t.Helper()
		tr.CloseIdleConnections()
		// Workers killed soon after they started are replaced with the
		// crash-loop backoff, up to 10 s: wait longer than waitFor does.
		deadline := time.Now().Add(30 * time.Second)
		for !func() bool {
			st := h.Stats()
			return st.Busy == 0 && st.Queued == 0 && len(h.pids()) == procs && !serverOpen()
		}() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if serverOpen() {
			t.Fatalf("round %d: the server still holds a client connection", round)
		}
		if st := h.Stats(); st.Busy != 0 || st.Queued != 0 || len(h.pids()) != procs {
			t.Fatalf("round %d: a worker connection is left with a request: %+v, pids %v\n%s", round, h.Stats(), h.pids(), logs.String())
		}
	}
	settle(-1)
	baseline := fdCount(t)

	type step struct {
		name string
		run  func() error // nil: the client's view is as it must be
	}
	payload := func(n int) (string, string) {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		sum := sha256.Sum256(b)
		return string(b), fmt.Sprintf("%d %s", n, hex.EncodeToString(sum[:]))
	}
	// expect checks a response read through net/http's client: a complete
	// body must be the one wanted; an error status is a whole page; a
	// failed read is a visibly incomplete response.
	expect := func(resp *http.Response, err error, want string, allow ...int) error {
		if err != nil {
			return nil // no response, or visibly cut before the header
		}
		defer resp.Body.Close()
		b, rerr := io.ReadAll(resp.Body)
		if rerr != nil {
			return nil // visibly incomplete
		}
		if resp.StatusCode == 200 {
			if string(b) != want {
				return fmt.Errorf("complete-looking 200 with the wrong body: %d bytes, want %d", len(b), len(want))
			}
			return nil
		}
		for _, s := range allow {
			if resp.StatusCode == s {
				return nil
			}
		}
		return fmt.Errorf("status %d (%q)", resp.StatusCode, b)
	}
	steps := []func() step{
		func() step {
			return step{"hello", func() error {
				resp, err := client.Get(srv.URL + "/hello")
				return expect(resp, err, "Hello, World!\n", 502)
			}}
		},
		func() step {
			n, size := 1+rng.IntN(40), 8*(1+rng.IntN(4096))
			return step{"stream", func() error {
				resp, err := client.Get(fmt.Sprintf("%s/stream?n=%d&size=%d", srv.URL, n, size))
				var want strings.Builder
				for i := 0; i < n; i++ {
					want.WriteString(strings.Repeat(fmt.Sprintf("%08d", i), size/8))
				}
				return expect(resp, err, want.String(), 502)
			}}
		},
		func() step {
			cut := rng.IntN(100000)
			return step{"stream abandoned", func() error {
				resp, err := client.Get(srv.URL + "/stream?n=200&size=65536&delay=0.002")
				if err != nil {
					return nil
				}
				io.CopyN(io.Discard, resp.Body, int64(cut))
				resp.Body.Close()
				return nil
			}}
		},
		func() step {
			body, want := payload(rng.IntN(300000))
			chunked := rng.IntN(2) == 0
			return step{"upload", func() error {
				var r io.Reader = strings.NewReader(body)
				if chunked {
					r = io.MultiReader(r) // unknown length: chunked
				}
				resp, err := client.Post(srv.URL+"/upload?chunk=7000", "application/octet-stream", r)
				return expect(resp, err, want, 502)
			}}
		},
		func() step {
			bad := []string{
				"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
				"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n3\r\nab",
				"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + strings.Repeat("q", 70000),
				"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("q", 100),
			}[rng.IntN(4)]
			return step{"broken body", func() error {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					return err
				}
				defer c.Close()
				io.WriteString(c, bad)
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(15 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					return fmt.Errorf("no response to a broken body: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != 400 && resp.StatusCode != 502 {
					return fmt.Errorf("broken body: status %d, want 400", resp.StatusCode)
				}
				return nil
			}}
		},
		func() step {
			sent := rng.IntN(200000)
			return step{"upload abandoned", func() error {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					return err
				}
				fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n%s", strings.Repeat("z", sent))
				// The server may not have accepted the connection yet when
				// it is closed here: wait until it has seen it and let it go.
				local := c.LocalAddr().String()
				c.Close()
				if !waitFor(func() bool { return serverDone(local) }) {
					return fmt.Errorf("the server did not finish with the abandoned upload's connection")
				}
				return nil
			}}
		},
		func() step {
			ms := rng.IntN(150)
			return step{"context cancelled", func() error {
				req, _ := http.NewRequest("GET", srv.URL+"/stream?n=30&size=64&delay=0.01", nil)
				req.Header.Set("X-Cancel-After-Ms", strconv.Itoa(ms))
				resp, err := client.Do(req)
				var want strings.Builder
				for i := 0; i < 30; i++ {
					want.WriteString(strings.Repeat(fmt.Sprintf("%08d", i), 8))
				}
				return expect(resp, err, want.String(), 502, 503, 504)
			}}
		},
		func() step {
			return step{"late wsgi.errors", func() error {
				resp, err := client.Get(srv.URL + "/late-log")
				return expect(resp, err, "late logged", 502)
			}}
		},
		func() step {
			k := rng.IntN(1 << 20)
			return step{"worker killed", func() error {
				pids := h.pids()
				if len(pids) == 0 {
					return nil
				}
				pid := pids[k%len(pids)]
				syscall.Kill(pid, syscall.SIGKILL)
				// Until the supervisor has seen the death, the process
				// still counts as a slot filled: wait for it.
				if !waitFor(func() bool { return !slices.Contains(h.pids(), pid) }) {
					return fmt.Errorf("killed worker %d still listed", pid)
				}
				return nil
			}}
		},
	}
	for round := 0; round < rounds; round++ {
		n := 2 + rng.IntN(5)
		batch := make([]step, n)
		names := make([]string, n)
		for i := range batch {
			batch[i] = steps[rng.IntN(len(steps))]()
			names[i] = batch[i].name
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, s := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.run()
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d %v: %s: %v", round, names, batch[i].name, err)
			}
		}
		settle(round)
		if !waitFor(func() bool { return fdCount(t) <= baseline }) {
			t.Fatalf("round %d %v: %d descriptors, baseline %d", round, names, fdCount(t), baseline)
		}
		if t.Failed() {
			t.Fatalf("log:\n%s", logs.String())
		}
	}
}
