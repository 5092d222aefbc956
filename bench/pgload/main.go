// Command pgload is the load generator of bench/pgcap.sh: -clients
// browser-like clients, each a closed loop over the -paths in turn (from a
// position of its own) with one keep-alive connection, against one server
// for -duration, while PostgreSQL's backends for the -databases are
// counted in pg_stat_activity every -sample (client backends only, not
// autovacuum workers). It prints the latency
// percentiles, the errors (any status but 200, or a failed request), the
// peak number of backends, the number -after the load stopped, and how
// many backends PostgreSQL started meanwhile (its "connection authorized"
// lines for those databases in -pglog: log_connections must be on).
//
// It talks to loopback addresses only and is bounded in time (-duration,
// at most 10m) and requests (-max-requests). The last line is
// machine-readable:
//
//	result n=... rps=... p50_ms=... p90_ms=... p99_ms=... errors=... peak=... after=... started=...
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

var (
	baseURL     = flag.String("url", "", "base `URL` of the server (loopback only)")
	paths       = flag.String("paths", "/", "comma-separated `paths` each client requests in turn")
	clients     = flag.Int("clients", 24, "concurrent clients")
	duration    = flag.Duration("duration", 30*time.Second, "how long the load lasts (at most 10m)")
	warmup      = flag.Duration("warmup", 0, "a run of the same load before, not measured")
	after       = flag.Duration("after", 10*time.Second, "when, after the load, the backends are counted again")
	sample      = flag.Duration("sample", 20*time.Millisecond, "how often the backends are counted")
	pgDSN       = flag.String("pg", "", "`DSN` of the PostgreSQL server to watch (loopback only)")
	databases   = flag.String("databases", "", "comma-separated `names` of the databases whose backends count")
	pgLog       = flag.String("pglog", "", "the server's log `file`, for the backends started")
	reqTimeout  = flag.Duration("timeout", 60*time.Second, "client timeout of one request (counted as an error)")
	maxRequests = flag.Int64("max-requests", 10_000_000, "stop after this many requests")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgload:", err)
		os.Exit(1)
	}
}

func loopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "" {
		host = u.Query().Get("host")
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s: not a loopback address", rawURL)
	}
	return nil
}

func run() error {
	if *duration <= 0 || *duration > 10*time.Minute || *clients <= 0 || *sample <= 0 {
		return errors.New("-duration must be in (0, 10m], -clients and -sample positive")
	}
	if err := loopback(*baseURL); err != nil {
		return err
	}
	if err := loopback(*pgDSN); err != nil {
		return err
	}
	dbs := strings.Split(*databases, ",")
	mon, err := sql.Open("postgres", *pgDSN)
	if err != nil {
		return err
	}
	defer mon.Close()
	mon.SetMaxOpenConns(1)
	count := func() (int, error) {
		var n int
		err := mon.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = ANY($1) AND backend_type = 'client backend' AND pid <> pg_backend_pid()`, pq.Array(dbs)).Scan(&n)
		return n, err
	}
	if _, err := count(); err != nil {
		return fmt.Errorf("counting backends: %w", err)
	}
	ps := strings.Split(*paths, ",")
	if *warmup > 0 {
		load(ps, *warmup)
	}
	started0 := authorized(dbs)
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(*sample)
		defer t.Stop()
		for {
			if n, err := count(); err == nil && int64(n) > peak.Load() {
				peak.Store(int64(n))
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	lat, errs, elapsed := load(ps, *duration)
	close(stop)
	<-sampled
	started := authorized(dbs) - started0
	time.Sleep(*after)
	afterN, err := count()
	if err != nil {
		return err
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6
	}
	nerr := 0
	for msg, n := range errs {
		nerr += n
		fmt.Fprintf(os.Stderr, "pgload: %d× %s\n", n, msg)
	}
	fmt.Printf("result n=%d rps=%.1f p50_ms=%.0f p90_ms=%.0f p99_ms=%.0f errors=%d peak=%d after=%d started=%d\n",
		len(lat), float64(len(lat))/elapsed.Seconds(), pct(0.50), pct(0.90), pct(0.99), nerr, peak.Load(), afterN, started)
	return nil
}

// authorized counts the sessions PostgreSQL authorized on the databases so
// far, from its log; -1 without -pglog.
func authorized(dbs []string) int {
	if *pgLog == "" {
		return -1
	}
	b, err := os.ReadFile(*pgLog)
	if err != nil {
		return -1
	}
	n := 0
	for _, db := range dbs {
		n += strings.Count(string(b), "connection authorized: user=postgres database="+db+" ")
		n += strings.Count(string(b), "connection authorized: user=postgres database="+db+"\n")
	}
	return n
}

// load runs the clients for d and returns the latencies of the requests
// answered 200, the errors by kind, and the time it took.
func load(ps []string, d time.Duration) ([]time.Duration, map[string]int, time.Duration) {
	var (
		mu    sync.Mutex
		lat   []time.Duration
		errs  = map[string]int{}
		total atomic.Int64
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	for i := range *clients {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: *reqTimeout,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			var mine []time.Duration
			mineErr := map[string]int{}
			for j := i; ctx.Err() == nil && total.Add(1) <= *maxRequests; j++ {
				t0 := time.Now()
				resp, err := c.Get(*baseURL + ps[j%len(ps)])
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						mineErr[err.Error()]++
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range mineErr {
				errs[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return lat, errs, time.Since(start)
}
