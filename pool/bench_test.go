package pool_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/pool"
)

// benchQuery holds its backend for about a millisecond, like a short
// application query.
const benchQuery = "SELECT count(*) FROM (SELECT pg_sleep(0.001)) s"

// benchWarmup is how long every caller queries before the measured
// window.
const benchWarmup = 3 * time.Second

// benchWindow is how long queries are counted: $GOWSGI_POOL_BENCH_WINDOW
// (a time.Duration), else 25s. The window must hold more than one round of
// turns of the governed pools (50 pools, 20 slots: 30 wait, so about 1.5
// × the hold, up to 10 s, plus a connect), else it measures a phase of
// the rotation instead of its average.
func benchWindow() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("GOWSGI_POOL_BENCH_WINDOW")); err == nil && d > 0 {
		return d
	}
	return 25 * time.Second
}

// sampler counts the backends named app in pg_stat_activity until ctx
// ends, those whose client port is still open in this process
// (testenv.ClientPorts): a backend stays listed until its process exits,
// after the pool closed its connection, and the cap is on the connections
// the pools hold. wait returns the number of samples and the largest count.
func sampler(ctx context.Context, admin *sql.DB, pgPort int, app string) (wait func() (samples, peak int64, err error)) {
	done := make(chan error, 1)
	var n, max int64
	count := func() (int64, error) {
		rows, err := admin.QueryContext(ctx, "SELECT client_port FROM pg_stat_activity WHERE application_name = $1", app)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		var listed []int
		for rows.Next() {
			var p sql.NullInt64
			if err := rows.Scan(&p); err != nil {
				return 0, err
			}
			if p.Valid {
				listed = append(listed, int(p.Int64))
			}
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		open, err := testenv.ClientPorts(pgPort)
		if err != nil {
			return 0, err
		}
		var c int64
		for _, p := range listed {
			if open[p] {
				c++
			}
		}
		return c, nil
	}
	go func() {
		for ctx.Err() == nil {
			c, err := count()
			if err != nil {
				if ctx.Err() == nil {
					done <- err
					return
				}
				break
			}
			n++
			if c > max {
				max = c
			}
		}
		done <- nil
	}()
	return func() (int64, int64, error) {
		err := <-done
		return n, max, err
	}
}

// BenchmarkFiftyPools compares, against a real PostgreSQL 15, 50 pools
// of 3 callers each sharing 20 connections through a governor, one
// shared *sql.DB of 20 connections used by all 150 callers, and 50
// uncapped pools. It is time-based (a warm-up, then a window of
// [benchWindow]) whatever b.N: run it with -benchtime 1x and read
// queries/s; bench/pool/run.sh turns the results into ratios.
func BenchmarkFiftyPools(b *testing.B) {
	const (
		pools   = 50
		callers = 3
		maxOpen = 20
	)
	pg := testenv.StartPostgres(b, testenv.PostgresConfig{MaxConnections: pools*callers + 20})
	admin := adminDB(b, pg.DSN)
	admin.SetMaxOpenConns(1)

	governed := func(cfg pool.Config) func(b *testing.B, app string) ([]*sql.DB, func() pool.Stats) {
		return func(b *testing.B, app string) ([]*sql.DB, func() pool.Stats) {
			g, err := pool.NewGovernor(cfg)
			if err != nil {
				b.Fatal(err)
			}
			dbs := make([]*sql.DB, pools)
			for i := range dbs {
				dbs[i] = g.MustOpen(fmt.Sprintf("p%d", i), pqConnector(b, pg.DSN, app))
			}
			return dbs, g.Stats
		}
	}
	setups := []struct {
		name string
		// open returns one *sql.DB per pool, and the governor's Stats
		// (nil without a governor).
		open func(b *testing.B, app string) (dbs []*sql.DB, stats func() pool.Stats)
	}{
		// The default: the hold adapts to the measured connect cost.
		{"governor", governed(pool.Config{MaxOpen: maxOpen, PerPoolMax: 2})},
		// A fixed hold of 1 s: what the earlier default (HoldFor 100 ms,
		// at most ten times that) amounted to with connects of ~270 ms.
		{"governor-hold1s", governed(pool.Config{MaxOpen: maxOpen, PerPoolMax: 2, HoldFor: time.Second})},
		{"shared", func(b *testing.B, app string) ([]*sql.DB, func() pool.Stats) {
			db := sql.OpenDB(pqConnector(b, pg.DSN, app))
			db.SetMaxOpenConns(maxOpen)
			db.SetMaxIdleConns(maxOpen)
			dbs := make([]*sql.DB, pools)
			for i := range dbs {
				dbs[i] = db
			}
			return dbs, nil
		}},
		{"uncapped", func(b *testing.B, app string) ([]*sql.DB, func() pool.Stats) {
			dbs := make([]*sql.DB, pools)
			for i := range dbs {
				dbs[i] = sql.OpenDB(pqConnector(b, pg.DSN, app))
				dbs[i].SetMaxIdleConns(callers)
			}
			return dbs, nil
		}},
	}
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			app := "gowsgi-bench-" + s.name
			dbs, stats := s.open(b, app)
			defer func() {
				seen := map[*sql.DB]bool{}
				for _, db := range dbs {
					if !seen[db] {
						seen[db] = true
						db.Close()
					}
				}
			}()
			ctx, cancel := context.WithCancel(context.Background())
			wait := sampler(ctx, admin, pg.Port, app)
			// Every caller queries from the start; only the queries that
			// end inside the window after the warm-up count, so that
			// connecting the pools is not measured.
			// Each caller also records the latency (waiting for a slot
			// included) of its counted queries, for each pool's p99.
			var counted atomic.Int64
			var failed atomic.Pointer[error]
			var wg sync.WaitGroup
			lat := make([][][]time.Duration, len(dbs))
			b.ResetTimer()
			from := time.Now().Add(benchWarmup)
			to := from.Add(benchWindow())
			var window [2]pool.Stats // the governor's at from and to
			var snaps sync.WaitGroup
			if stats != nil {
				snaps.Add(2)
				time.AfterFunc(time.Until(from), func() { window[0] = stats(); snaps.Done() })
				time.AfterFunc(time.Until(to), func() { window[1] = stats(); snaps.Done() })
			}
			for i, db := range dbs {
				lat[i] = make([][]time.Duration, callers)
				for j := range callers {
					mine := &lat[i][j]
					wg.Go(func() {
						for {
							start := time.Now()
							var n int
							if err := db.QueryRow(benchQuery).Scan(&n); err != nil {
								failed.CompareAndSwap(nil, &err)
								return
							}
							now := time.Now()
							if now.After(to) {
								return
							}
							if now.After(from) {
								counted.Add(1)
								*mine = append(*mine, now.Sub(start))
							}
						}
					})
				}
			}
			wg.Wait()
			b.StopTimer()
			cancel()
			if stats != nil {
				snaps.Wait()
				logWindow(b, window[0], window[1])
			}
			samples, peak, err := wait()
			if err != nil {
				b.Fatalf("sampler: %v", err)
			}
			if e := failed.Load(); e != nil {
				b.Fatalf("query failed: %v", *e)
			}
			b.ReportMetric(float64(counted.Load())/benchWindow().Seconds(), "queries/s")
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(peak), "peak-backends")
			p99s, longest, idle := poolP99s(lat)
			// A pool with no query in the window is waiting for its turn
			// (the starvation check is TestFiftyPoolsAgainstPostgres).
			b.ReportMetric(float64(idle), "pools-without-query")
			if len(p99s) > 0 {
				b.ReportMetric(float64(p99s[len(p99s)/2])/1e6, "p99-ms-median-pool")
				b.ReportMetric(float64(p99s[len(p99s)-1])/1e6, "p99-ms-worst-pool")
				b.ReportMetric(float64(longest)/1e6, "max-ms")
			}
			if samples == 0 {
				b.Error("pg_stat_activity never sampled")
			}
		})
	}
}

// poolP99s returns the p99 query latency of each pool that completed a
// query (lat[pool][caller] lists latencies), sorted, the longest latency
// of all, and the number of pools that completed none.
func poolP99s(lat [][][]time.Duration) (p99s []time.Duration, longest time.Duration, idle int) {
	for _, callers := range lat {
		var all []time.Duration
		for _, l := range callers {
			all = append(all, l...)
		}
		if len(all) == 0 {
			idle++
			continue
		}
		slices.Sort(all)
		p99s = append(p99s, all[len(all)*99/100])
		longest = max(longest, all[len(all)-1])
	}
	slices.Sort(p99s)
	return p99s, longest, idle
}

// logWindow logs what the governor did between two snapshots.
func logWindow(b *testing.B, s0, s1 pool.Stats) {
	moved := s1.Total.ClosedForWaiter - s0.Total.ClosedForWaiter
	waits := s1.Total.WaitCount - s0.Total.WaitCount
	mean := (s1.Total.WaitDuration - s0.Total.WaitDuration) / time.Duration(max(1, waits))
	b.Logf("governor in the window: connect avg %v, close avg %v, hold %v; %d connections closed for a waiter; %d waits ended (mean %v); longest wait so far %v",
		s1.ConnectAvg.Round(time.Millisecond), s1.CloseAvg.Round(time.Microsecond), s1.HoldFor.Round(time.Millisecond),
		moved, waits, mean.Round(time.Millisecond), s1.Total.MaxWait.Round(time.Millisecond))
}
