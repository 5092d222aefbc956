// Command mixedload is the load generator of bench/mixed.sh: a closed loop
// of -conns connections against one server for -duration, in which every
// -slow-every-th request of each connection is GET /slow (the application
// sleeps 500 ms) and the others GET /fast (it answers at once). It prints the
// latency percentiles of each path separately, which wrk does not.
//
// Standard library only; it talks to loopback addresses only and is bounded
// in time (-duration) and in requests (-max-requests). Each connection is its
// own http.Transport with one keep-alive connection; a server that closes
// the connection after every response (uWSGI --http-socket) costs a new one
// per request, which is part of its latency, as for any client.
//
// The last line is machine-readable:
//
//	result fast_n=... fast_p50_ms=... fast_p99_ms=... slow_n=... slow_p50_ms=... errors=... rps=... client_cpu_s=... conns_opened=...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	baseURL     = flag.String("url", "", "base `URL` of the server (loopback only), e.g. http://127.0.0.1:8000")
	conns       = flag.Int("conns", 16, "connections in the closed loop")
	duration    = flag.Duration("duration", 30*time.Second, "how long the measured run lasts (at most 10m)")
	warmup      = flag.Duration("warmup", 2*time.Second, "a run of the same mix before, not measured")
	slowEvery   = flag.Int("slow-every", 4, "every n-th request of a connection is /slow")
	reqTimeout  = flag.Duration("timeout", 30*time.Second, "client timeout of one request (counted as an error)")
	maxRequests = flag.Int64("max-requests", 10_000_000, "stop after this many requests")
)

type result struct {
	fast, slow []time.Duration
	errs       map[string]int
	opened     int64
}

func run(base string, d time.Duration) result {
	var (
		mu     sync.Mutex
		res    = result{errs: map[string]int{}}
		total  atomic.Int64
		opened atomic.Int64
		wg     sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	for i := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: *reqTimeout}
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
				if !info.Reused {
					opened.Add(1)
				}
			}}
			ctx := httptrace.WithClientTrace(context.Background(), trace)
			// A random phase, so that the connections' slow requests do
			// not come in step.
			n := rand.IntN(*slowEvery)
			var fast, slow []time.Duration
			errs := map[string]int{}
			for time.Now().Before(deadline) && total.Add(1) <= *maxRequests {
				n++
				isSlow := n%*slowEvery == 0
				path, want := "/fast", "fast\n"
				if isSlow {
					path, want = "/slow", "slow\n"
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(io.LimitReader(resp.Body, 4096))
					resp.Body.Close()
					if err == nil && (resp.StatusCode != 200 || string(b) != want) {
						err = fmt.Errorf("status %d, body %.40q", resp.StatusCode, b)
					}
				}
				el := time.Since(t0)
				if err != nil {
					errs[errKind(err)]++
					continue
				}
				if isSlow {
					slow = append(slow, el)
				} else {
					fast = append(fast, el)
				}
			}
			mu.Lock()
			res.fast = append(res.fast, fast...)
			res.slow = append(res.slow, slow...)
			for k, v := range errs {
				res.errs[k] += v
			}
			mu.Unlock()
		}()
		_ = i
	}
	wg.Wait()
	res.opened = opened.Load()
	return res
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// pct is the p-th percentile (nearest rank) of sorted d, in ms.
func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d))*p/100+0.5) - 1
	i = max(0, min(i, len(d)-1))
	return float64(d[i]) / float64(time.Millisecond)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func main() {
	flag.Parse()
	u, err := url.Parse(*baseURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		fmt.Fprintf(os.Stderr, "mixedload: -url %q: want http://127.0.0.1:PORT\n", *baseURL)
		os.Exit(2)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(os.Stderr, "mixedload: %q is not a loopback address\n", *baseURL)
		os.Exit(2)
	}
	if *conns < 1 || *conns > 1024 || *duration <= 0 || *duration > 10*time.Minute || *warmup < 0 || *warmup > time.Minute || *slowEvery < 1 {
		fmt.Fprintln(os.Stderr, "mixedload: need 1 ≤ -conns ≤ 1024, 0 < -duration ≤ 10m, 0 ≤ -warmup ≤ 1m, -slow-every ≥ 1")
		os.Exit(2)
	}
	base := u.Scheme + "://" + u.Host
	if *warmup > 0 {
		run(base, *warmup)
		// Let what the warm-up left running finish.
		time.Sleep(600 * time.Millisecond)
	}
	c0 := cpuSeconds()
	t0 := time.Now()
	r := run(base, *duration)
	el := time.Since(t0).Seconds()
	cpu := cpuSeconds() - c0
	slices.Sort(r.fast)
	slices.Sort(r.slow)
	nerr := 0
	for _, v := range r.errs {
		nerr += v
	}
	fmt.Printf("%-6s %8s %9s %9s %9s %9s\n", "path", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for _, x := range []struct {
		name string
		d    []time.Duration
	}{{"/fast", r.fast}, {"/slow", r.slow}} {
		fmt.Printf("%-6s %8d %9.1f %9.1f %9.1f %9.1f\n", x.name, len(x.d), pct(x.d, 50), pct(x.d, 90), pct(x.d, 99), pct(x.d, 100))
	}
	for k, v := range r.errs {
		fmt.Printf("errors: %d %s\n", v, k)
	}
	fmt.Printf("result fast_n=%d fast_p50_ms=%.2f fast_p90_ms=%.2f fast_p99_ms=%.2f fast_max_ms=%.2f slow_n=%d slow_p50_ms=%.2f slow_p99_ms=%.2f errors=%d rps=%.1f client_cpu_s=%.2f elapsed_s=%.2f conns_opened=%d\n",
		len(r.fast), pct(r.fast, 50), pct(r.fast, 90), pct(r.fast, 99), pct(r.fast, 100), len(r.slow), pct(r.slow, 50), pct(r.slow, 99),
		nerr, float64(len(r.fast)+len(r.slow))/el, cpu, el, r.opened)
}
