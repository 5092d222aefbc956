// Command soakload is the load client of bench/soak.sh: a fault soak of one
// cmd/gowsgi running bench/apps/soak.py. Standard library only; it talks to
// loopback addresses only and is bounded in time (-duration, -after) and in
// requests (-max-requests).
//
// For -duration it keeps -conns keep-alive connections busy with a random
// mix of requests (hellos; chunked streams and 50 MiB downloads, most of
// them abandoned at a random byte; sized and chunked uploads whose hash the
// application returns, a quarter of them abandoned midway), and besides:
// GET /crash every -crash-every, GET /hang every -hang-every, kill -9 of a
// random worker of -pid every -kill-every, SIGHUP to -pid every -hup-every,
// and one GET /hello on a fresh connection every -probe-every. Requests are
// written by hand on raw connections so that an abandon cuts the bytes
// anywhere (in a chunk header, in a chunk, in a sized body).
//
// It prints the requests by kind and outcome; data-loss findings (a body that
// ended as if complete but is shorter than declared or expected, differs from
// what the application sends, or an upload whose hash is wrong); the failures
// that nothing explains; and the Go process's fds, threads, RSS and heap at
// the start, during and -after the load.
//
// A failure is explained when the client abandoned the request, when it is
// the expected answer of /crash (502 or a closed connection) or /hang (504),
// or when it ended within -window after a worker died (a kill -9 sent by
// this program, the answer to a /crash, or the 504 of a /hang, which kills
// its worker) while the request was in flight. Any other failure (a status
// other than 200, a reset, a cut body, a client timeout) is unexplained.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	baseURL     = flag.String("url", "", "base `URL` of gowsgi (loopback only), e.g. http://127.0.0.1:8000")
	statusURL   = flag.String("status", "", "base `URL` of gowsgi's -status-addr (loopback only)")
	pid         = flag.Int("pid", 0, "`pid` of the gowsgi process (its fds, threads, RSS; SIGHUP; its python children get kill -9)")
	duration    = flag.Duration("duration", 10*time.Minute, "how long the load runs (at most 2h)")
	after       = flag.Duration("after", time.Minute, "how long after the load the last sample is taken")
	conns       = flag.Int("conns", 12, "keep-alive connections in the closed loop")
	killEvery   = flag.Duration("kill-every", 20*time.Second, "kill -9 a random worker this often (0: never)")
	hupEvery    = flag.Duration("hup-every", 30*time.Second, "SIGHUP gowsgi this often (0: never)")
	crashEvery  = flag.Duration("crash-every", 10*time.Second, "GET /crash this often (0: never)")
	hangEvery   = flag.Duration("hang-every", 15*time.Second, "GET /hang this often (0: never)")
	probeEvery  = flag.Duration("probe-every", time.Second, "GET /hello on a fresh connection this often")
	sampleEvery = flag.Duration("sample-every", 15*time.Second, "sample the Go process this often during the load")
	reqTimeout  = flag.Duration("timeout", 30*time.Second, "client deadline of one request (a request past it is a client timeout)")
	srvTimeout  = flag.Duration("request-timeout", 5*time.Second, "gowsgi's -request-timeout: a stream or download still sending after it is cut, and its worker killed, by design")
	window      = flag.Duration("window", 2*time.Second, "a failure ending this long after a worker death it was in flight at is explained by it")
	maxRequests = flag.Int64("max-requests", 5_000_000, "stop the load after this many requests")
	seed        = flag.Uint64("seed", 0, "random seed (0: from the clock)")
	dlSize      = flag.Int("download-size", 50<<20, "bytes of a /download")
	maxUpload   = flag.Int("max-upload", 2<<20, "largest upload in bytes")
	eventsFile  = flag.String("events", "", "write the events and failures, with their times, to `file`")
)

// pattern is the body pattern of bench/apps/soak.py: byte k of a stream or
// a download is pattern[k%65536].
var pattern = func() []byte {
	p := make([]byte, 65536)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}()

const hello = "Hello, soak!\n"

// record is one finished request.
type record struct {
	kind       string // hello, stream, download, upload-sized, upload-chunked, crash, hang, probe
	start, end time.Time
	outcome    string // "200", "502", ..., "reset", "cut body", "client timeout", "abandoned", "data loss"
	detail     string
	abandoned  bool
	got        int64 // body bytes received (streams and downloads)
}

// pastTimeout: a stream or download that was sending its body when the
// server's request timeout cut it (and killed its worker), as configured.
func (r record) pastTimeout() bool {
	return (r.kind == "stream" || r.kind == "download") && r.got > 0 && r.outcome == "cut body" &&
		r.end.Sub(r.start) >= *srvTimeout-100*time.Millisecond
}

func (r record) ok() bool {
	switch r.kind {
	case "crash":
		return r.outcome == "502" || r.outcome == "reset"
	case "hang":
		return r.outcome == "504"
	}
	return r.outcome == "200" || r.abandoned
}

type event struct {
	t     time.Time
	what  string
	death bool
}

type state struct {
	mu       sync.Mutex
	counts   map[string]map[string]int64 // kind -> outcome -> n
	failures []record                    // not ok, not abandoned
	dataLoss []record
	events   []event
	probeMax time.Duration
	total    atomic.Int64
	randBuf  []byte
}

func (s *state) add(r record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.counts[r.kind]
	if m == nil {
		m = map[string]int64{}
		s.counts[r.kind] = m
	}
	m[r.outcome]++
	if r.outcome == "data loss" {
		s.dataLoss = append(s.dataLoss, r)
	}
	if !r.ok() {
		s.failures = append(s.failures, r)
	}
	switch {
	case r.kind == "crash" && r.ok():
		s.events = append(s.events, event{r.end, "/crash answered " + r.outcome, true})
	case r.kind == "hang" && r.outcome == "504":
		s.events = append(s.events, event{r.end, "/hang answered 504", true})
	case r.pastTimeout():
		s.events = append(s.events, event{r.end, r.kind + " cut at the request timeout", true})
	}
	if r.kind == "probe" && r.outcome == "200" {
		if d := r.end.Sub(r.start); d > s.probeMax {
			s.probeMax = d
		}
	}
}

func (s *state) event(what string, death bool) {
	s.mu.Lock()
	s.events = append(s.events, event{time.Now(), what, death})
	s.mu.Unlock()
}

// client is one connection, redialled when the previous one was closed.
type client struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
}

func (cl *client) close() {
	if cl.c != nil {
		cl.c.Close()
		cl.c, cl.br = nil, nil
	}
}

func (cl *client) conn(fresh bool) error {
	if fresh {
		cl.close()
	}
	if cl.c != nil {
		// Reuse only a connection the server has not closed meanwhile.
		cl.c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := cl.br.Peek(1)
		var ne net.Error
		if err == nil || !(errors.As(err, &ne) && ne.Timeout()) {
			cl.close() // closed by the server (or unexpected bytes)
		}
	}
	if cl.c == nil {
		c, err := net.DialTimeout("tcp", cl.addr, 5*time.Second)
		if err != nil {
			return err
		}
		cl.c, cl.br = c, bufio.NewReaderSize(c, 64<<10)
	}
	return nil
}

func classify(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "client timeout"
	}
	return "reset"
}

// do sends one request: head, then the body written by writeBody
// concurrently with reading the response (as net/http does), and checks the
// response with check. When abandonUpload, writeBody writes only part of the
// body and the connection is closed without reading a response.
func (s *state) do(cl *client, kind string, fresh bool, head string, writeBody func(w *bufio.Writer) error, abandonUpload bool, got *int64, check func(resp *http.Response) (outcome, detail string)) record {
	r := record{kind: kind, start: time.Now()}
	defer func() {
		r.end = time.Now()
		if got != nil {
			r.got = *got
		}
		s.total.Add(1)
		s.add(r)
	}()
	if err := cl.conn(fresh); err != nil {
		r.outcome, r.detail = "reset", "dial: "+err.Error()
		return r
	}
	cl.c.SetDeadline(r.start.Add(*reqTimeout))
	werr := make(chan error, 1)
	go func(c net.Conn) {
		bw := bufio.NewWriterSize(c, 64<<10)
		_, err := bw.WriteString(head)
		if err == nil && writeBody != nil {
			err = writeBody(bw)
		}
		if err == nil {
			err = bw.Flush()
		}
		werr <- err
	}(cl.c)
	if abandonUpload {
		<-werr
		cl.close()
		r.outcome, r.abandoned = "abandoned", true
		return r
	}
	resp, err := http.ReadResponse(cl.br, nil)
	if err != nil {
		cl.close()
		<-werr
		r.outcome, r.detail = classify(err), err.Error()
		return r
	}
	r.outcome, r.detail = check(resp)
	if r.outcome == "abandoned" {
		r.abandoned = true
	}
	if r.outcome != "200" || resp.Close {
		cl.close() // also ends a body write still blocked
	}
	if err := <-werr; err != nil {
		// The response came but the body did not all go: the server
		// answered early. Keep the answer, drop the connection.
		cl.close()
	}
	return r
}

// readBody reads resp's body, comparing it with the pattern from offset 0
// when pat, and stops after abandonAt bytes (abandonAt < 0: read it all).
// It returns the outcome: "200" (complete and as expected), "abandoned",
// "cut body" (ended visibly incomplete), "data loss" or the status.
func readBody(resp *http.Response, want int64, pat bool, abandonAt int64, got *int64) (string, string) {
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return strconv.Itoa(resp.StatusCode), ""
	}
	if resp.ContentLength >= 0 && resp.ContentLength != want {
		return "data loss", fmt.Sprintf("Content-Length %d, want %d", resp.ContentLength, want)
	}
	buf := make([]byte, 32<<10)
	var off int64
	defer func() { *got = off }()
	for {
		n, err := resp.Body.Read(buf)
		if pat {
			for i := 0; i < n; i++ {
				if buf[i] != pattern[(off+int64(i))%65536] {
					return "data loss", wrongBytes(resp, buf[i:n], off+int64(i), want, framing(resp))
				}
			}
		}
		off += int64(n)
		if abandonAt >= 0 && off >= abandonAt {
			return "abandoned", ""
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return "cut body", fmt.Sprintf("%d of %d bytes, %s", off, want, framing(resp))
			}
			return classify(err) + " in body", fmt.Sprintf("%d of %d bytes: %v", off, want, err)
		}
	}
	if off != want {
		return "data loss", fmt.Sprintf("body ended as complete after %d of %d bytes (%s)", off, want, framing(resp))
	}
	return "200", ""
}

// wrongBytes describes a body whose bytes differ from the pattern from
// offset at: what came instead, and how the body ended (read on, bounded).
func wrongBytes(resp *http.Response, rest []byte, at, want int64, fr string) string {
	bad := rest[:min(len(rest), 32)]
	total := at + int64(len(rest))
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, want+(1<<20)))
	total += n
	end := "then ended as complete"
	if err != nil {
		end = "then cut: " + err.Error()
	}
	return fmt.Sprintf("byte %d of %d differs: got %q; %d bytes in all, %s (%s)", at, want, bad, total, end, fr)
}

func framing(resp *http.Response) string {
	switch {
	case len(resp.TransferEncoding) > 0:
		return "chunked"
	case resp.ContentLength >= 0:
		return "Content-Length"
	}
	return "close-delimited"
}

func (s *state) loop(id int, host string, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(*seed, uint64(id)))
	cl := &client{addr: host}
	defer cl.close()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if s.total.Load() >= *maxRequests {
			return
		}
		switch p := rng.IntN(100); {
		case p < 45:
			s.get(cl, "hello", false, "/hello", int64(len(hello)), false, -1)
		case p < 60:
			n, size := 1+rng.IntN(64), 1+rng.IntN(32<<10)
			ab := int64(-1)
			if rng.IntN(2) == 0 {
				ab = rng.Int64N(int64(n * size))
			}
			s.get(cl, "stream", false, fmt.Sprintf("/stream?n=%d&size=%d&delay=%d", n, size, rng.IntN(20)), int64(n*size), true, ab)
		case p < 65:
			ab := int64(-1)
			if rng.IntN(5) != 0 {
				ab = rng.Int64N(int64(*dlSize))
			}
			s.get(cl, "download", false, fmt.Sprintf("/download?size=%d", *dlSize), int64(*dlSize), true, ab)
		default:
			s.upload(cl, rng, p < 80)
		}
	}
}

// get sends GET path and checks the body (want bytes; the pattern when pat;
// "Hello, soak!" otherwise).
func (s *state) get(cl *client, kind string, fresh bool, path string, want int64, pat bool, abandonAt int64) {
	head := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, cl.addr)
	var got int64
	s.do(cl, kind, fresh, head, nil, false, &got, func(resp *http.Response) (string, string) {
		if pat || resp.StatusCode != 200 {
			return readBody(resp, want, pat, abandonAt, &got)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return "cut body", err.Error()
			}
			return classify(err) + " in body", err.Error()
		}
		if string(b) != hello {
			return "data loss", fmt.Sprintf("body %q (%s)", b, framing(resp))
		}
		return "200", ""
	})
}

// upload POSTs a slice of the random buffer, sized or chunked, abandoned
// midway one time in four, and checks the hash the application returns.
func (s *state) upload(cl *client, rng *rand.Rand, sized bool) {
	n := rng.IntN(*maxUpload + 1)
	if rng.IntN(3) == 0 {
		n = rng.IntN(4096) // many small ones
	}
	off := rng.IntN(len(s.randBuf) - n + 1)
	body := s.randBuf[off : off+n]
	abandon := n > 0 && rng.IntN(4) == 0
	kind := "upload-chunked"
	var enc []byte
	head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\n", cl.addr)
	if sized {
		kind = "upload-sized"
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", n)
		enc = body
	} else {
		head += "Transfer-Encoding: chunked\r\n\r\n"
		var b bytes.Buffer
		for rest := body; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(64<<10))
			fmt.Fprintf(&b, "%x\r\n", k)
			b.Write(rest[:k])
			b.WriteString("\r\n")
			rest = rest[k:]
		}
		b.WriteString("0\r\n\r\n")
		enc = b.Bytes()
	}
	cut := len(enc)
	var pause time.Duration
	if abandon {
		cut = rng.IntN(len(enc))
		pause = time.Duration(rng.IntN(100)) * time.Millisecond
	}
	sum := sha256.Sum256(body)
	want := fmt.Sprintf("%d %s\n", n, hex.EncodeToString(sum[:]))
	s.do(cl, kind, false, head, func(w *bufio.Writer) error {
		if _, err := w.Write(enc[:cut]); err != nil {
			return err
		}
		if abandon {
			w.Flush()
			time.Sleep(pause) // the client stalls, then goes away
		}
		return nil
	}, abandon, nil, func(resp *http.Response) (string, string) {
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != 200 {
			return strconv.Itoa(resp.StatusCode), ""
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return "cut body", err.Error()
			}
			return classify(err) + " in body", err.Error()
		}
		if string(b) != want {
			return "data loss", fmt.Sprintf("upload of %d bytes: app saw %q", n, strings.TrimSpace(string(b)))
		}
		return "200", ""
	})
}

// every runs f every d until stop, from a random phase in [0, d) on, so
// that faults of different periods do not all fall on the same instants.
func every(d time.Duration, stop <-chan struct{}, wg *sync.WaitGroup, f func()) {
	if d <= 0 {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-stop:
			return
		case <-time.After(rand.N(d)):
		}
		f()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				f()
			}
		}
	}()
}

// workers lists the python children of pid.
func workers(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			c, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c))
			if bytes.Contains(cmd, []byte("python")) {
				out = append(out, c)
			}
		}
	}
	sort.Ints(out)
	return out
}

type sample struct {
	label                string
	fds, threads         int
	rssKiB               int64
	heapInuse, heapAlloc uint64
	numGC                uint32
	workers              int
	busy, queued         int
	forcedGC             bool
}

// statusClient asks the status server without keeping its connection open
// (it would be one more fd of the Go process in the next sample).
var statusClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func takeSample(label string) sample {
	s := sample{label: label}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", *pid))
	s.fds = len(ents)
	st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", *pid))
	for _, l := range strings.Split(string(st), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Threads:":
			s.threads, _ = strconv.Atoi(f[1])
		case "VmRSS:":
			s.rssKiB, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	s.workers = len(workers(*pid))
	if *statusURL != "" {
		// A GET of net/http/pprof's heap profile with gc=1 runs a GC first,
		// where the status server offers it.
		if resp, err := statusClient.Get(*statusURL + "/debug/pprof/heap?gc=1"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			s.forcedGC = resp.StatusCode == 200
		}
		var v struct {
			Memstats struct {
				HeapInuse, HeapAlloc uint64
				NumGC                uint32
			} `json:"memstats"`
			Gowsgi struct {
				Busy, Queued int
			} `json:"gowsgi"`
		}
		if resp, err := statusClient.Get(*statusURL + "/debug/vars"); err == nil {
			json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
		}
		s.heapInuse, s.heapAlloc, s.numGC = v.Memstats.HeapInuse, v.Memstats.HeapAlloc, v.Memstats.NumGC
		s.busy, s.queued = v.Gowsgi.Busy, v.Gowsgi.Queued
	}
	return s
}

func mib(b uint64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func loopback(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("soakload: %q: want http://127.0.0.1:PORT", raw)
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("soakload: %q is not a loopback address", raw)
	}
	return u.Host, nil
}

func main() {
	flag.Parse()
	host, err := loopback(*baseURL)
	if err == nil && *statusURL != "" {
		_, err = loopback(*statusURL)
	}
	if err == nil && (*pid <= 0 || *duration <= 0 || *duration > 2*time.Hour || *after < 0 || *after > time.Hour || *conns < 1 || *conns > 256 || *dlSize < 1 || *maxUpload < 0 || *maxUpload > 1<<30) {
		err = errors.New("soakload: need -pid, 0 < -duration ≤ 2h, 0 ≤ -after ≤ 1h, 1 ≤ -conns ≤ 256, -download-size ≥ 1, 0 ≤ -max-upload ≤ 1 GiB")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	s := &state{counts: map[string]map[string]int64{}}
	s.randBuf = make([]byte, 2**maxUpload+4096)
	rb := rand.New(rand.NewChaCha8([32]byte{byte(*seed), byte(*seed >> 8)}))
	for i := range s.randBuf {
		s.randBuf[i] = byte(rb.Uint32())
	}

	// Ctrl-C ends the load early; the report is still printed.
	intr := make(chan os.Signal, 1)
	signal.Notify(intr, os.Interrupt, syscall.SIGTERM)

	startWorkers := workers(*pid)
	samples := []sample{takeSample("start (idle)")}
	fmt.Fprintf(os.Stderr, "soakload: %d workers %v, load for %s (seed %d)\n", len(startWorkers), startWorkers, *duration, *seed)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range *conns {
		wg.Add(1)
		go func() { defer wg.Done(); s.loop(i, host, stop) }()
	}
	rng := rand.New(rand.NewPCG(*seed, 1<<32))
	var rmu sync.Mutex
	every(*crashEvery, stop, &wg, func() {
		cl := &client{addr: host}
		s.get(cl, "crash", true, "/crash", 0, false, -1)
		cl.close()
	})
	var hangs sync.WaitGroup
	every(*hangEvery, stop, &wg, func() {
		hangs.Add(1)
		go func() { // it takes the request timeout
			defer hangs.Done()
			cl := &client{addr: host}
			s.get(cl, "hang", true, "/hang", 0, false, -1)
			cl.close()
		}()
	})
	every(*killEvery, stop, &wg, func() {
		ws := workers(*pid)
		if len(ws) == 0 {
			return
		}
		rmu.Lock()
		w := ws[rng.IntN(len(ws))]
		rmu.Unlock()
		s.event(fmt.Sprintf("kill -9 worker %d", w), true)
		syscall.Kill(w, syscall.SIGKILL)
	})
	every(*hupEvery, stop, &wg, func() {
		s.event("SIGHUP", false)
		syscall.Kill(*pid, syscall.SIGHUP)
	})
	every(*probeEvery, stop, &wg, func() {
		cl := &client{addr: host}
		s.get(cl, "probe", true, "/hello", int64(len(hello)), false, -1)
		cl.close()
	})
	var during []sample
	every(*sampleEvery, stop, &wg, func() {
		x := takeSample("during")
		s.mu.Lock()
		during = append(during, x)
		s.mu.Unlock()
	})
	select {
	case <-time.After(*duration):
	case <-intr:
		fmt.Fprintln(os.Stderr, "soakload: interrupted; stopping the load")
	}
	close(stop)
	wg.Wait()
	hangs.Wait() // they end at the request timeout, or the client's
	elapsed := time.Since(t0)
	samples = append(samples, takeSample("end of load"))
	if *after > 0 {
		fmt.Fprintf(os.Stderr, "soakload: load done; sampling again in %s\n", *after)
		select {
		case <-time.After(*after):
		case <-intr:
		}
	}
	samples = append(samples, takeSample(fmt.Sprintf("%s after the load", *after)))
	endWorkers := workers(*pid)

	// --- report ---
	s.mu.Lock()
	defer s.mu.Unlock()
	var total int64
	kinds := []string{"hello", "stream", "download", "upload-sized", "upload-chunked", "crash", "hang", "probe"}
	outcomes := map[string]bool{}
	for _, m := range s.counts {
		for o, n := range m {
			outcomes[o] = true
			total += n
		}
	}
	var ocols []string
	for o := range outcomes {
		ocols = append(ocols, o)
	}
	sort.Strings(ocols)
	fmt.Printf("\nRequests by outcome (%d in %.0f s, %.0f/s; %d connections; abandoned = the client went away on purpose):\n", total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), *conns)
	fmt.Printf("%-15s", "kind")
	for _, o := range ocols {
		fmt.Printf(" %14s", o)
	}
	fmt.Println()
	for _, k := range kinds {
		if s.counts[k] == nil {
			continue
		}
		fmt.Printf("%-15s", k)
		for _, o := range ocols {
			fmt.Printf(" %14d", s.counts[k][o])
		}
		fmt.Println()
	}
	var kills, deaths, hups int
	for _, e := range s.events {
		switch {
		case strings.HasPrefix(e.what, "kill"):
			kills++
		case e.what == "SIGHUP":
			hups++
		}
		if e.death {
			deaths++
		}
	}
	fmt.Printf("events: %d kill -9, %d SIGHUP, %d worker deaths in all (kill -9, /crash, /hang timeout); probe (fresh connection) slowest success %s\n",
		kills, hups, deaths, s.probeMax.Round(time.Millisecond))

	fmt.Printf("\ndata-loss findings (a body complete in its framing but short or wrong, a wrong upload hash): %d\n", len(s.dataLoss))
	for i, r := range s.dataLoss {
		if i == 10 {
			fmt.Printf("  ... and %d more\n", len(s.dataLoss)-10)
			break
		}
		fmt.Printf("  %7.3fs %-15s %s\n", r.start.Sub(t0).Seconds(), r.kind, r.detail)
	}

	if *eventsFile != "" {
		if f, err := os.Create(*eventsFile); err == nil {
			for _, e := range s.events {
				fmt.Fprintf(f, "%.3f %s\n", e.t.Sub(t0).Seconds(), e.what)
			}
			for _, r := range s.failures {
				fmt.Fprintf(f, "%.3f-%.3f failure %s %s %s\n", r.start.Sub(t0).Seconds(), r.end.Sub(t0).Seconds(), r.kind, r.outcome, r.detail)
			}
			f.Close()
		}
	}
	var unexplained []record
	explainedBy := map[string]int{}
	for _, r := range s.failures {
		found := ""
		if r.outcome == "504" && r.kind != "hang" {
			// It waited the whole request timeout (behind a hung or
			// wedged request): never explained.
			unexplained = append(unexplained, r)
			continue
		}
		if r.pastTimeout() {
			found = "a stream or download still sending at the request timeout (cut, its worker killed)"
		}
		for _, e := range s.events {
			if found != "" || r.outcome == "data loss" {
				break
			}
			if !e.death {
				continue
			}
			during := !r.start.After(e.t.Add(200*time.Millisecond)) && !r.end.Before(e.t.Add(-200*time.Millisecond))
			switch {
			case during && !r.end.After(e.t.Add(*window)):
				found = e.what
			case during && r.outcome == "503":
				found = "503 while a dead worker was being replaced"
			}
		}
		if found == "" {
			unexplained = append(unexplained, r)
			continue
		}
		switch {
		case strings.HasPrefix(found, "kill"):
			found = "kill -9"
		case strings.HasSuffix(found, "cut at the request timeout"):
			found = "the worker killed at the request timeout of a stream or download"
		}
		explainedBy[found]++
	}
	fmt.Printf("\nexplained failures (other than the expected answers of /crash and /hang): %d\n", len(s.failures)-len(unexplained))
	var causes []string
	for k := range explainedBy {
		causes = append(causes, k)
	}
	sort.Strings(causes)
	for _, k := range causes {
		fmt.Printf("  %6d %s\n", explainedBy[k], k)
	}
	fmt.Printf("unexplained failures: %d\n", len(unexplained))
	if len(unexplained) > 0 {
		by := map[string]int{}
		for _, r := range unexplained {
			by[r.kind+" "+r.outcome]++
		}
		var keys []string
		for k := range by {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return by[keys[i]] > by[keys[j]] || by[keys[i]] == by[keys[j]] && keys[i] < keys[j]
		})
		fmt.Print("  by kind and outcome:")
		for _, k := range keys {
			fmt.Printf(" %d %s;", by[k], k)
		}
		fmt.Println()
	}
	for i, r := range unexplained {
		if i == 20 {
			fmt.Printf("  ... and %d more\n", len(unexplained)-20)
			break
		}
		near := ""
		var best time.Duration = -1
		for _, e := range s.events {
			d := r.end.Sub(e.t).Abs()
			if best < 0 || d < best {
				best, near = d, fmt.Sprintf("; nearest event %s at %.3fs", e.what, e.t.Sub(t0).Seconds())
			}
		}
		fmt.Printf("  %7.3fs +%-7s %-15s %-14s %s%s\n", r.start.Sub(t0).Seconds(), r.end.Sub(r.start).Round(time.Millisecond), r.kind, r.outcome, r.detail, near)
	}

	gcNote := "after a forced GC (/debug/pprof/heap?gc=1 at -status-addr)"
	if !samples[0].forcedGC {
		gcNote = "no forced GC: -status-addr has no /debug/pprof/heap?gc=1, so HeapInuse is what the last automatic GC left plus what was allocated since"
	}
	fmt.Printf("\nGo process %d (heap from expvar memstats, %s):\n", *pid, gcNote)
	if len(during) > 0 {
		mx := during[0]
		mx.label = "during (max of each)"
		for _, x := range during {
			mx.fds, mx.threads = max(mx.fds, x.fds), max(mx.threads, x.threads)
			mx.rssKiB, mx.heapInuse, mx.heapAlloc = max(mx.rssKiB, x.rssKiB), max(mx.heapInuse, x.heapInuse), max(mx.heapAlloc, x.heapAlloc)
			mx.workers, mx.numGC = max(mx.workers, x.workers), max(mx.numGC, x.numGC)
		}
		last := during[len(during)-1]
		last.label = "during (last sample)"
		samples = append(samples[:1], append([]sample{mx, last}, samples[1:]...)...)
	}
	fmt.Printf("%-28s %6s %8s %9s %14s %14s %6s %8s\n", "when", "fds", "threads", "RSS MiB", "HeapInuse MiB", "HeapAlloc MiB", "GCs", "workers")
	for _, x := range samples {
		fmt.Printf("%-28s %6d %8d %9.1f %14s %14s %6d %8d\n", x.label, x.fds, x.threads, float64(x.rssKiB)/1024, mib(x.heapInuse), mib(x.heapAlloc), x.numGC, x.workers)
	}
	replaced := 0
	for _, w := range startWorkers {
		found := false
		for _, e := range endWorkers {
			found = found || e == w
		}
		if !found {
			replaced++
		}
	}
	fmt.Printf("workers at start %v, at the end %v: %d of %d replaced\n", startWorkers, endWorkers, replaced, len(startWorkers))
	if *statusURL != "" {
		if resp, err := statusClient.Get(*statusURL + "/"); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			fmt.Printf("gowsgi's statistics: %s", b)
		}
	}

	first, last := samples[0], samples[len(samples)-1]
	verdict := func(ok bool) string {
		if ok {
			return "MET"
		}
		return "NOT MET"
	}
	fmt.Printf("\ntarget no data loss: %d findings: %s\n", len(s.dataLoss), verdict(len(s.dataLoss) == 0))
	fmt.Printf("target no request that ran on a live worker fails: %d unexplained failures: %s\n", len(unexplained), verdict(len(unexplained) == 0))
	fmt.Printf("target fds back to baseline: %d at start, %d %s after: %s\n", first.fds, last.fds, *after, verdict(last.fds <= first.fds))
	if first.heapInuse > 0 {
		how := "after a forced GC"
		if !last.forcedGC {
			end := samples[len(samples)-2]
			how = fmt.Sprintf("no forced GC; %d automatic GCs since the end of the load", last.numGC-end.numGC)
		}
		fmt.Printf("target heap in use within 2x its idle baseline: %s MiB at start, %s MiB %s after (%.2fx; %s): %s\n",
			mib(first.heapInuse), mib(last.heapInuse), *after, float64(last.heapInuse)/float64(first.heapInuse), how, verdict(last.heapInuse <= 2*first.heapInuse))
	}
}
