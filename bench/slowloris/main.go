// Command slowloris is the load program of bench/slowloris.sh: it holds -n
// connections to one server, each sending a request head one byte every
// -interval (the slowloris attack: the head never ends), opening a new one
// whenever the server closes one, and meanwhile a normal client (a new
// connection, GET -path, the whole response read) measures how long its
// page takes, once every -probe-every for -duration.
//
// Standard library only; it refuses any address but loopback, and it is
// bounded in time (-duration after the ramp-up) and in connections (-n, at
// most 10,000). It needs -n file descriptors and more (ulimit -n).
//
// The last line is machine-readable:
//
//	result n=... open=... reopened=... dial_errors=... probes=... probe_failures=... probe_over=... probe_p50_ms=... probe_max_ms=... withstood=0|1
//
// open is how many slow connections were open at the end, reopened how
// many the server closed and were opened again, probe_over how many probes
// took longer than -limit, withstood 1 when every probe got its page
// within -limit.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "", "`host:port` of the server, on loopback")
	n := flag.Int("n", 2000, "slow connections to hold (at most 10000)")
	interval := flag.Duration("interval", 10*time.Second, "time between two bytes of a slow head")
	path := flag.String("path", "/", "the page the normal client gets")
	duration := flag.Duration("duration", 30*time.Second, "how long to probe, after the ramp-up")
	every := flag.Duration("probe-every", 500*time.Millisecond, "time between two probes")
	limit := flag.Duration("limit", time.Second, "a probe slower than this fails the run")
	ramp := flag.Duration("ramp", 5*time.Second, "time over which the slow connections are opened")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintln(os.Stderr, "slowloris: -addr must be a loopback address with a port")
		os.Exit(2)
	}
	if *n < 0 || *n > 10000 {
		fmt.Fprintln(os.Stderr, "slowloris: -n must be between 0 and 10000")
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *ramp+*duration+5*time.Second)
	defer cancel()
	var open, reopened, dialErrors atomic.Int64
	var wg sync.WaitGroup
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the opening over the ramp-up.
			select {
			case <-time.After(time.Duration(i) * *ramp / time.Duration(max(*n, 1))):
			case <-ctx.Done():
				return
			}
			for first := true; ctx.Err() == nil; first = false {
				if !first {
					reopened.Add(1)
				}
				if !slowConn(ctx, *addr, *interval, &open) {
					dialErrors.Add(1)
					select {
					case <-time.After(100 * time.Millisecond):
					case <-ctx.Done():
					}
				}
			}
		}()
	}

	// The normal client, once the slow connections are (being) held.
	select {
	case <-time.After(*ramp):
	case <-ctx.Done():
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	var times []time.Duration
	failures := 0
	tick := time.NewTicker(*every)
	end := time.After(*duration)
probing:
	for {
		select {
		case <-end:
			break probing
		case <-tick.C:
		}
		start := time.Now()
		resp, err := client.Get("http://" + *addr + *path)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		if err != nil {
			failures++
			fmt.Fprintf(os.Stderr, "slowloris: probe: %v\n", err)
			continue
		}
		times = append(times, time.Since(start))
	}
	tick.Stop()
	stillOpen := open.Load()
	cancel()
	wg.Wait()

	slices.Sort(times)
	over := 0
	for _, d := range times {
		if d > *limit {
			over++
		}
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
	p50, worst := time.Duration(0), time.Duration(0)
	if len(times) > 0 {
		p50, worst = times[len(times)/2], times[len(times)-1]
	}
	withstood := 0
	if failures == 0 && over == 0 && len(times) > 0 {
		withstood = 1
	}
	fmt.Printf("result n=%d open=%d reopened=%d dial_errors=%d probes=%d probe_failures=%d probe_over=%d probe_p50_ms=%s probe_max_ms=%s withstood=%d\n",
		*n, stillOpen, reopened.Load(), dialErrors.Load(), len(times)+failures, failures, over, ms(p50), ms(worst), withstood)
}

// slowConn opens one connection and sends a head that never ends, a byte
// every interval, until the server closes it or ctx is done. It reports
// whether the connection could be opened.
func slowConn(ctx context.Context, addr string, interval time.Duration, open *atomic.Int64) bool {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	open.Add(1)
	defer open.Add(-1)
	// The server's answer, if any (a 408, a close), ends the connection.
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(c))
		close(closed)
	}()
	head := []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	if _, err := c.Write(head); err != nil {
		return true
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-closed:
			return true
		case <-tick.C:
			if _, err := c.Write([]byte("a")); err != nil {
				return true
			}
		}
	}
}
