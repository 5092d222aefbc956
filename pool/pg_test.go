package pool_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/pool"
)

// pgDrivers builds a connector for each real driver, with
// application_name set so that pg_stat_activity tells our backends apart.
//
// pgx's stdlib is added by pgx_test.go (build tag pgxstdlib until go.sum
// lists github.com/jackc/puddle/v2).
var pgDrivers = []struct {
	name    string
	connect func(t testing.TB, dsn, app string) driver.Connector
}{
	{"pq", pqConnector},
}

func pqConnector(t testing.TB, dsn, app string) driver.Connector {
	c, err := pq.NewConnector(dsn + "&application_name=" + url.QueryEscape(app))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// adminDB is a plain lib/pq pool outside any governor.
func adminDB(t testing.TB, dsn string) *sql.DB {
	db := sql.OpenDB(pqConnector(t, dsn, "gowsgi-admin"))
	t.Cleanup(func() { db.Close() })
	return db
}

// terminate ends the backend serving c from the server side and waits
// until it is gone.
func terminate(t *testing.T, admin *sql.DB, c *sql.Conn) {
	t.Helper()
	ctx := context.Background()
	var pid int
	if err := c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := admin.QueryRowContext(ctx, "SELECT pg_terminate_backend($1, 5000)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating backend %d: %v %v", pid, ok, err)
	}
}

// TestRealDriversPassThrough checks, against PostgreSQL 15, that the
// optional interfaces of pgx's and lib/pq's connections reach the driver
// through the governor: each check fails if the wrapper answered itself.
func TestRealDriversPassThrough(t *testing.T) {
	pg := testenv.StartPostgres(t, testenv.PostgresConfig{})
	admin := adminDB(t, pg.DSN)
	ctx := context.Background()
	for _, d := range pgDrivers {
		t.Run(d.name, func(t *testing.T) {
			c := d.connect(t, pg.DSN, "gowsgi-passthrough")
			g := newGovernor(t, pool.Config{MaxOpen: 4})
			db := g.MustOpen(d.name, c)
			defer db.Close()

			t.Run("NamedValueChecker", func(t *testing.T) {
				// database/sql's default converter refuses a []int64; both
				// drivers' checkers turn it into an array.
				var n int
				if err := db.QueryRowContext(ctx, "SELECT array_length($1::int8[], 1)", []int64{4, 5, 6}).Scan(&n); err != nil || n != 3 {
					t.Errorf("array_length = %d, %v; want 3", n, err)
				}
			})
			t.Run("ConnBeginTx", func(t *testing.T) {
				for _, tc := range []struct {
					opts       sql.TxOptions
					show, want string
				}{
					{sql.TxOptions{ReadOnly: true}, "transaction_read_only", "on"},
					{sql.TxOptions{Isolation: sql.LevelSerializable}, "transaction_isolation", "serializable"},
					{sql.TxOptions{Isolation: sql.LevelRepeatableRead}, "transaction_isolation", "repeatable read"},
				} {
					tx, err := db.BeginTx(ctx, &tc.opts)
					if err != nil {
						t.Fatalf("BeginTx(%+v): %v", tc.opts, err)
					}
					var got string
					err = tx.QueryRowContext(ctx, "SHOW "+tc.show).Scan(&got)
					tx.Rollback()
					if err != nil || got != tc.want {
						t.Errorf("BeginTx(%+v): %s = %q, %v; want %q", tc.opts, tc.show, got, err, tc.want)
					}
				}
			})
			t.Run("QueryerContext ExecerContext ConnPrepareContext", func(t *testing.T) {
				sc, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer sc.Close()
				err = sc.Raw(func(dc any) error {
					inner := pool.Unwrap(dc)
					for _, probe := range []struct {
						name       string
						inner, own bool
					}{
						{"QueryerContext", is[driver.QueryerContext](inner), is[driver.QueryerContext](dc)},
						{"ExecerContext", is[driver.ExecerContext](inner), is[driver.ExecerContext](dc)},
						{"ConnPrepareContext", is[driver.ConnPrepareContext](inner), is[driver.ConnPrepareContext](dc)},
					} {
						if !probe.inner || !probe.own {
							return fmt.Errorf("%s: driver has it %v, wrapper %v", probe.name, probe.inner, probe.own)
						}
					}
					rows, err := dc.(driver.QueryerContext).QueryContext(ctx, "SELECT 41 + 1", nil)
					if err != nil {
						return fmt.Errorf("QueryContext: %w", err)
					}
					vals := make([]driver.Value, 1)
					err = rows.Next(vals)
					rows.Close()
					if err != nil || fmt.Sprint(vals[0]) != "42" {
						return fmt.Errorf("QueryContext row: %v, %v", vals[0], err)
					}
					if _, err := dc.(driver.ExecerContext).ExecContext(ctx, "SET application_name = 'renamed'", nil); err != nil {
						return fmt.Errorf("ExecContext: %w", err)
					}
					st, err := dc.(driver.ConnPrepareContext).PrepareContext(ctx, "SELECT $1::int")
					if err != nil {
						return fmt.Errorf("PrepareContext: %w", err)
					}
					if n := st.NumInput(); n != 1 && n != -1 {
						return fmt.Errorf("prepared statement has %d inputs", n)
					}
					return st.Close()
				})
				if err != nil {
					t.Fatal(err)
				}
				var app string
				if err := sc.QueryRowContext(ctx, "SHOW application_name").Scan(&app); err != nil || app != "renamed" {
					t.Errorf("ExecContext did not reach the server: application_name %q, %v", app, err)
				}
			})
			t.Run("Pinger", func(t *testing.T) {
				sc, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer sc.Close()
				terminate(t, admin, sc)
				if err := sc.PingContext(ctx); err == nil {
					t.Error("Ping of a terminated backend succeeded: the driver's Pinger was not called")
				}
			})
			t.Run("SessionResetter Validator", func(t *testing.T) {
				sc, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer sc.Close()
				terminate(t, admin, sc)
				err = sc.Raw(func(dc any) error {
					if _, err := dc.(driver.QueryerContext).QueryContext(ctx, "SELECT 1", nil); err == nil {
						return errors.New("query on a terminated backend succeeded")
					}
					if err := dc.(driver.SessionResetter).ResetSession(ctx); !errors.Is(err, driver.ErrBadConn) {
						return fmt.Errorf("ResetSession after the backend died = %v, want driver.ErrBadConn", err)
					}
					if is[driver.Validator](pool.Unwrap(dc)) && dc.(driver.Validator).IsValid() {
						return errors.New("IsValid after the backend died = true")
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		})
	}
}

func is[I any](v any) bool {
	_, ok := v.(I)
	return ok
}

// TestFiftyPoolsAgainstPostgres is the proof: 50 pools (spread
// over the real drivers: lib/pq, and pgx with the pgxstdlib tag), 3
// callers each, against a PostgreSQL with
// max_connections=40, under a governor of 20 with the adaptive hold,
// bounded to 3 s to keep the test short. A sampler counts our backends in
// pg_stat_activity throughout. The run is long enough for every pool to
// get a turn: 50 pools × 2 connections queue for 20 slots, 80 waiting, so
// the last in the queue waits four rounds of holds and connects (one more
// round of margin).
func TestFiftyPoolsAgainstPostgres(t *testing.T) {
	const (
		pools   = 50
		callers = 3
		maxOpen = 20
		maxHold = 3 * time.Second
		run     = 5*maxHold + 6*time.Second
		app     = "gowsgi-fifty"
	)
	pg := testenv.StartPostgres(t, testenv.PostgresConfig{MaxConnections: 40})
	admin := adminDB(t, pg.DSN)
	admin.SetMaxOpenConns(1)
	g := newGovernor(t, pool.Config{MaxOpen: maxOpen, PerPoolMax: 2, MaxHoldFor: maxHold})

	dbs := make([]*sql.DB, pools)
	for i := range dbs {
		d := pgDrivers[i%len(pgDrivers)]
		dbs[i] = g.MustOpen(fmt.Sprintf("%s-%02d", d.name, i), d.connect(t, pg.DSN, app))
		defer dbs[i].Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()

	wait := sampler(ctx, admin, pg.Port, app)

	type result struct {
		queries int
		waits   []time.Duration
		err     error
	}
	results := make([][]result, pools)
	var wg sync.WaitGroup
	for i, db := range dbs {
		results[i] = make([]result, callers)
		for j := range callers {
			r := &results[i][j]
			wg.Go(func() {
				for ctx.Err() == nil {
					start := time.Now()
					var n int
					// A short query that holds its backend for ~1 ms.
					err := db.QueryRow("SELECT count(*) FROM (SELECT pg_sleep(0.001)) s").Scan(&n)
					if err != nil {
						if ctx.Err() == nil {
							r.err = err
						}
						return
					}
					r.queries++
					r.waits = append(r.waits, time.Since(start))
				}
			})
		}
	}
	wg.Wait()
	samples, peak, err := wait()
	if err != nil {
		t.Fatalf("sampler: %v", err)
	}

	total := 0
	var p99s, longest []time.Duration
	var line strings.Builder
	for i, rs := range results {
		var waits []time.Duration
		n := 0
		for _, r := range rs {
			if r.err != nil {
				t.Errorf("pool %d: query failed: %v", i, r.err)
			}
			n += r.queries
			waits = append(waits, r.waits...)
		}
		total += n
		if n == 0 {
			t.Errorf("pool %d made no progress", i)
			continue
		}
		slices.Sort(waits)
		p99 := waits[len(waits)*99/100]
		p99s = append(p99s, p99)
		longest = append(longest, waits[len(waits)-1])
		fmt.Fprintf(&line, " %d:%dq/p99=%v/max=%v", i, n, p99.Round(time.Millisecond), waits[len(waits)-1].Round(time.Millisecond))
	}
	st := g.Stats()
	t.Logf("%d queries in %v over %d pools (%.0f/s); %d samples of pg_stat_activity, peak %d backends (cap %d)",
		total, run, pools, float64(total)/run.Seconds(), samples, peak, maxOpen)
	t.Logf("governor: waits %d, max wait %v, closed for a waiter %d, connect errors %d, average connect %v, hold %v",
		st.Total.WaitCount, st.Total.MaxWait, st.Total.ClosedForWaiter, st.Total.ConnectErrors, st.ConnectAvg, st.HoldFor)
	if len(p99s) > 0 {
		slices.Sort(p99s)
		slices.Sort(longest)
		t.Logf("per-pool p99 query latency (includes waiting for a slot): min %v, median %v, max %v",
			p99s[0], p99s[len(p99s)/2], p99s[len(p99s)-1])
		t.Logf("per-pool longest query latency (a wait for a turn): min %v, median %v, max %v",
			longest[0], longest[len(longest)/2], longest[len(longest)-1])
	}
	t.Logf("per pool:%s", line.String())
	if samples < 10 {
		t.Errorf("only %d samples of pg_stat_activity", samples)
	}
	if peak > maxOpen {
		t.Errorf("pg_stat_activity showed %d of our backends at once, cap %d", peak, maxOpen)
	}
	if peak == 0 {
		t.Error("the sampler never saw one of our backends")
	}
}
