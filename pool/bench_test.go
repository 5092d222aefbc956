package pool_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
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
// (a time.Duration), else 10s.
func benchWindow() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("GOWSGI_POOL_BENCH_WINDOW")); err == nil && d > 0 {
		return d
	}
	return 10 * time.Second
}

// sampler counts the backends named app in pg_stat_activity until ctx
// ends; wait returns the number of samples and the largest count.
func sampler(ctx context.Context, admin *sql.DB, app string) (wait func() (samples, peak int64, err error)) {
	done := make(chan error, 1)
	var n, max int64
	go func() {
		for ctx.Err() == nil {
			var c int64
			err := admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&c)
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

	governed := func(cfg pool.Config) func(b *testing.B, app string) ([]*sql.DB, func()) {
		return func(b *testing.B, app string) ([]*sql.DB, func()) {
			g, err := pool.NewGovernor(cfg)
			if err != nil {
				b.Fatal(err)
			}
			dbs := make([]*sql.DB, pools)
			for i := range dbs {
				dbs[i] = g.Open(fmt.Sprintf("p%d", i), pqConnector(b, pg.DSN, app))
			}
			return dbs, func() {
				st := g.Stats()
				b.Logf("governor: connect avg %v, hold %v, closed for a waiter %d, waits %d (mean %v, max %v)",
					st.ConnectAvg.Round(time.Millisecond), st.HoldFor.Round(time.Millisecond), st.Total.ClosedForWaiter,
					st.Total.WaitCount, (st.Total.WaitDuration / time.Duration(max(1, st.Total.WaitCount))).Round(time.Millisecond),
					st.Total.MaxWait.Round(time.Millisecond))
			}
		}
	}
	setups := []struct {
		name string
		open func(b *testing.B, app string) (dbs []*sql.DB, report func()) // one *sql.DB per pool
	}{
		{"governor", governed(pool.Config{MaxOpen: maxOpen, PerPoolMax: 2})},
		// Longer turns: fewer reconnects, longer waits.
		{"governor-hold1s", governed(pool.Config{MaxOpen: maxOpen, PerPoolMax: 2, HoldFor: time.Second})},
		{"shared", func(b *testing.B, app string) ([]*sql.DB, func()) {
			db := sql.OpenDB(pqConnector(b, pg.DSN, app))
			db.SetMaxOpenConns(maxOpen)
			db.SetMaxIdleConns(maxOpen)
			dbs := make([]*sql.DB, pools)
			for i := range dbs {
				dbs[i] = db
			}
			return dbs, func() {}
		}},
		{"uncapped", func(b *testing.B, app string) ([]*sql.DB, func()) {
			dbs := make([]*sql.DB, pools)
			for i := range dbs {
				dbs[i] = sql.OpenDB(pqConnector(b, pg.DSN, app))
				dbs[i].SetMaxIdleConns(callers)
			}
			return dbs, func() {}
		}},
	}
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			app := "gowsgi-bench-" + s.name
			dbs, report := s.open(b, app)
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
			wait := sampler(ctx, admin, app)
			// Every caller queries from the start; only the queries that
			// end inside the window after the warm-up count, so that
			// connecting the pools is not measured.
			var counted atomic.Int64
			var failed atomic.Pointer[error]
			var wg sync.WaitGroup
			b.ResetTimer()
			from := time.Now().Add(benchWarmup)
			to := from.Add(benchWindow())
			for _, db := range dbs {
				for range callers {
					wg.Go(func() {
						for {
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
							}
						}
					})
				}
			}
			wg.Wait()
			b.StopTimer()
			cancel()
			report()
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
			if samples == 0 {
				b.Error("pg_stat_activity never sampled")
			}
		})
	}
}
