// Governors of several processes behind PgBouncer's transaction mode.

package pool_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/pool"
)

// bouncerSample is one look at PostgreSQL and PgBouncer.
type bouncerSample struct {
	backends int // PostgreSQL's client backends on the database, ours aside
	servers  int // PgBouncer's SHOW SERVERS rows for the database
	waiting  int // PgBouncer's SHOW POOLS cl_waiting for the database
}

// countRows counts the rows of an admin-console command (simple protocol:
// lib/pq without arguments) whose column col is "postgres", and sums
// column sum over them when sum is not empty.
func countRows(ctx context.Context, db *sql.DB, cmd, col, sum string) (rows, total int, err error) {
	rs, err := db.QueryContext(ctx, cmd)
	if err != nil {
		return 0, 0, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return 0, 0, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return 0, 0, err
		}
		for i, c := range cols {
			if c == col && vals[i].String == "postgres" {
				rows++
				for j, c := range cols {
					if c == sum {
						n, _ := strconv.Atoi(vals[j].String)
						total += n
					}
				}
			}
		}
	}
	return rows, total, rs.Err()
}

// TestGovernorsThroughPgBouncer runs three governors of 10 connections
// each (three gowsgi processes), with lib/pq and pgx pools, and psycopg2
// next to them, through PgBouncer in transaction mode with
// max_db_connections = 20: PostgreSQL never has more than 20 backends on
// the database in any 20 ms sample (nor PgBouncer more than 20 servers),
// and no query fails.
func TestGovernorsThroughPgBouncer(t *testing.T) {
	const (
		budget  = 10
		maxDB   = 20
		callers = 15 // per governor: more than its budget
		run     = 4 * time.Second
	)
	pg := testenv.StartPostgres(t, testenv.PostgresConfig{MaxConnections: 60})
	b := testenv.StartPgBouncer(t, pg, testenv.PgBouncerConfig{MaxDBConnections: maxDB})
	admin := adminDB(t, pg.DSN)
	admin.SetMaxOpenConns(1)
	if _, err := admin.Exec("CREATE TABLE hits (v int)"); err != nil {
		t.Fatal(err)
	}
	console := adminDB(t, b.AdminDSN)
	console.SetMaxOpenConns(1)

	// What works through transaction mode (see the package doc).
	governors := []struct {
		name string
		conn driver.Connector
	}{
		{"pq binary_parameters", pqConnector(t, b.DSN+"&binary_parameters=yes", "gowsgi-bouncer")},
		{"pgx simple_protocol", pgxConnector(t, b.DSN+"&default_query_exec_mode=simple_protocol", "gowsgi-bouncer")},
		{"pgx exec", pgxConnector(t, b.DSN+"&default_query_exec_mode=exec", "gowsgi-bouncer")},
	}
	var dbs []*sql.DB
	for _, gv := range governors {
		db := newGovernor(t, pool.Config{MaxOpen: budget}).MustOpen(gv.name, gv.conn)
		defer db.Close()
		dbs = append(dbs, db)
	}

	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()

	var (
		samples []bouncerSample
		sampErr error
		sampled = make(chan struct{})
	)
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var s bouncerSample
			err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = 'postgres'
				AND backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&s.backends)
			if err == nil {
				s.servers, _, err = countRows(context.Background(), console, "SHOW SERVERS", "database", "")
			}
			if err == nil {
				_, s.waiting, err = countRows(context.Background(), console, "SHOW POOLS", "database", "cl_waiting")
			}
			if err != nil {
				sampErr = err
				return
			}
			samples = append(samples, s)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	// psycopg2 next to the Go processes: its own connections, with
	// parameters (interpolated on the client: the simple protocol) and
	// transactions.
	py := exec.CommandContext(context.Background(), "/usr/bin/python3", "-c", `
import sys, threading, time, psycopg2
dsn, secs = sys.argv[1], float(sys.argv[2])
counts, errors = [0] * 4, []
def work(k):
    try:
        conn = psycopg2.connect(dsn)
        end = time.time() + secs
        while time.time() < end:
            with conn.cursor() as cur:
                cur.execute("SELECT %s::int + 1 FROM pg_sleep(0.002)", (k,))
                assert cur.fetchone()[0] == k + 1
                cur.execute("INSERT INTO hits VALUES (%s)", (k,))
            conn.commit()
            counts[k] += 1
        conn.close()
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print(sum(counts), len(errors), errors[:1])
`, b.DSN, strconv.FormatFloat((run-time.Second).Seconds(), 'f', 1, 64))
	testenv.PythonModule(t, "/usr/bin/python3", "psycopg2", "python3-psycopg2")
	var pyOut []byte
	var pyErr error
	var wg sync.WaitGroup
	wg.Go(func() { pyOut, pyErr = py.CombinedOutput() })

	type result struct {
		queries int
		err     error
	}
	results := make([][]result, len(dbs))
	for i, db := range dbs {
		results[i] = make([]result, callers)
		for j := range callers {
			r := &results[i][j]
			wg.Go(func() {
				for ctx.Err() == nil {
					// A parameterized query holding its backend ~2 ms, then
					// a transaction.
					var n int
					if err := db.QueryRow("SELECT $1::int + 1 FROM pg_sleep(0.002)", j).Scan(&n); err != nil || n != j+1 {
						r.err = fmt.Errorf("query: %d, %v", n, err)
						return
					}
					tx, err := db.Begin()
					if err == nil {
						_, err = tx.Exec("INSERT INTO hits VALUES ($1)", j)
						if err == nil {
							err = tx.QueryRow("SELECT count(*) FROM hits WHERE v = $1", j).Scan(&n)
						}
						if err == nil {
							err = tx.Commit()
						} else {
							_ = tx.Rollback()
						}
					}
					if err != nil {
						r.err = fmt.Errorf("transaction: %w", err)
						return
					}
					r.queries++
				}
			})
		}
	}
	wg.Wait()
	<-sampled
	if sampErr != nil {
		t.Fatalf("sampler: %v", sampErr)
	}

	for i, rs := range results {
		n := 0
		for _, r := range rs {
			if r.err != nil {
				t.Errorf("%s: %v", governors[i].name, r.err)
			}
			n += r.queries
		}
		t.Logf("%s: %d rounds (a query and a transaction)", governors[i].name, n)
		if n == 0 {
			t.Errorf("%s made no progress", governors[i].name)
		}
	}
	if pyErr != nil {
		t.Errorf("psycopg2: %v\n%s", pyErr, pyOut)
	} else if f := strings.Fields(string(pyOut)); len(f) < 2 || f[1] != "0" || f[0] == "0" {
		t.Errorf("psycopg2: transactions, errors, first error: %s", pyOut)
	} else {
		t.Logf("psycopg2: %s transactions, 0 errors", f[0])
	}

	var peak, peakServers, peakWaiting int
	for _, s := range samples {
		peak, peakServers, peakWaiting = max(peak, s.backends), max(peakServers, s.servers), max(peakWaiting, s.waiting)
	}
	t.Logf("%d samples: PostgreSQL backends peak %d, PgBouncer servers peak %d, clients waiting in PgBouncer peak %d (max_db_connections %d, 3 governors of %d)",
		len(samples), peak, peakServers, peakWaiting, maxDB, budget)
	if peak > maxDB || peakServers > maxDB {
		t.Errorf("peak of %d backends, %d PgBouncer servers: above max_db_connections %d", peak, peakServers, maxDB)
	}
	if peak <= budget {
		t.Errorf("peak of %d backends: the test did not load PostgreSQL beyond one governor's budget", peak)
	}
	if len(samples) < int(run/(20*time.Millisecond))/4 {
		t.Errorf("only %d samples in %v", len(samples), run)
	}
}

// TestPgxCacheStatementThroughPgBouncer shows why the package doc asks for
// another query mode through transaction mode: pgx's default,
// cache_statement, prepares named statements on one server connection and
// uses them on whichever PgBouncer gives next.
func TestPgxCacheStatementThroughPgBouncer(t *testing.T) {
	pg := testenv.StartPostgres(t, testenv.PostgresConfig{})
	b := testenv.StartPgBouncer(t, pg, testenv.PgBouncerConfig{MaxDBConnections: 4})
	db := sql.OpenDB(pgxConnector(t, b.DSN, "gowsgi-bouncer"))
	defer db.Close()
	db.SetMaxOpenConns(12)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for j := range 12 {
		wg.Go(func() {
			for range 50 {
				var v int
				if err := db.QueryRow("SELECT $1::int + 1 FROM pg_sleep(0.001)", j).Scan(&v); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d of 600 queries failed, first: %v", len(errs), errs[0:min(len(errs), 1)])
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "prepared statement") {
		t.Errorf("pgx's cache_statement mode worked through transaction mode: the package doc is wrong")
	}
}
