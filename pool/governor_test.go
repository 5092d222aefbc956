package pool_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowsgi/gowsgi/pool"
)

func newGovernor(t *testing.T, cfg pool.Config) *pool.Governor {
	t.Helper()
	g, err := pool.NewGovernor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// lettingShedLoopExit ends a test run in a synctest bubble: the governor's
// loop closing idle connections for waiters polls until no caller waits,
// and the bubble ends only when it has exited, so let its next poll pass
// on the bubble's clock (this takes no real time).
func lettingShedLoopExit() { time.Sleep(time.Second) }

func TestNewGovernorValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  pool.Config
		want string // "" for valid
	}{
		{"zero", pool.Config{}, "MaxOpen must be positive"},
		{"negative max", pool.Config{MaxOpen: -1}, "MaxOpen must be positive"},
		{"minimal", pool.Config{MaxOpen: 1}, ""},
		{"per-pool above max", pool.Config{MaxOpen: 2, PerPoolMax: 3}, "PerPoolMax"},
		{"per-pool negative", pool.Config{MaxOpen: 2, PerPoolMax: -1}, "PerPoolMax"},
		{"reserved negative", pool.Config{MaxOpen: 2, ReservedMin: -1}, "ReservedMin"},
		{"reserved above per-pool", pool.Config{MaxOpen: 4, PerPoolMax: 2, ReservedMin: 3}, "ReservedMin"},
		{"reserved above max", pool.Config{MaxOpen: 2, ReservedMin: 3}, "ReservedMin"},
		{"shed negative", pool.Config{MaxOpen: 2, ShedIdleAfter: -1}, "ShedIdleAfter"},
		{"max hold negative", pool.Config{MaxOpen: 2, MaxHoldFor: -1}, "MaxHoldFor"},
		{"everything", pool.Config{MaxOpen: 20, PerPoolMax: 4, ReservedMin: 1, MaxIdle: -1, HoldFor: -1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := pool.NewGovernor(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted %+v", tc.cfg)
			case tc.want != "" && (!strings.HasPrefix(err.Error(), "pool: ") || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %q, want pool: ...%s...", err, tc.want)
			case tc.want == "" && g == nil:
				t.Fatal("nil governor without error")
			}
		})
	}
}

func TestGovernRefusesBadName(t *testing.T) {
	g := newGovernor(t, pool.Config{MaxOpen: 1})
	g.MustGovern("a", &fakeConnector{})
	for _, tc := range []struct {
		name string
		c    driver.Connector
	}{{"", &fakeConnector{}}, {"a", &fakeConnector{}}, {"nil", nil}} {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			if c, err := g.Govern(tc.name, tc.c); err == nil || c != nil || !strings.HasPrefix(err.Error(), "pool: ") {
				t.Fatalf("Govern(%q) = %v, %v; want a pool: error", tc.name, c, err)
			}
			if db, err := g.Open(tc.name, tc.c); err == nil || db != nil {
				t.Fatalf("Open(%q) = %v, %v; want an error", tc.name, db, err)
			}
			defer func() {
				if recover() == nil {
					t.Errorf("MustGovern(%q) did not panic", tc.name)
				}
			}()
			g.MustGovern(tc.name, tc.c)
		})
	}
	t.Run("name free again after Close", func(t *testing.T) {
		g := newGovernor(t, pool.Config{MaxOpen: 1})
		db := sql.OpenDB(g.MustGovern("b", &fakeConnector{}))
		db.Close()
		if _, err := g.Govern("b", &fakeConnector{}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCapAcrossPools runs many pools, each with more callers than the
// whole budget, and checks the driver never had more connections open
// than MaxOpen, with and without a per-pool maximum and reservations.
func TestCapAcrossPools(t *testing.T) {
	for _, cfg := range []pool.Config{
		{MaxOpen: 3},
		{MaxOpen: 5, PerPoolMax: 2},
		{MaxOpen: 6, PerPoolMax: 3, ReservedMin: 1},
		{MaxOpen: 4, HoldFor: -1, MaxIdle: -1},
	} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			g := newGovernor(t, cfg)
			c := &fakeConnector{kind: full} // one driver, many pools: one count
			var dbs []*sql.DB
			for i := range 8 {
				db := g.MustOpen(fmt.Sprintf("p%d", i), c)
				defer db.Close()
				dbs = append(dbs, db)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for _, db := range dbs {
				for range 4 {
					wg.Go(func() {
						for range 30 {
							var s string
							if err := db.QueryRow("q", 1).Scan(&s); err != nil {
								errs <- err
								return
							}
						}
					})
				}
			}
			stop := make(chan struct{})
			go func() {
				select {
				case <-stop:
				case <-time.After(20 * time.Second):
					for _, db := range dbs {
						t.Logf("database/sql: %+v", db.Stats())
					}
					t.Errorf("callers still waiting after 20s: %+v", g.Stats())
				}
			}()
			wg.Wait()
			close(stop)
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if m := c.maxOpen.Load(); m > int64(cfg.MaxOpen) {
				t.Errorf("driver had %d connections open at once, cap %d", m, cfg.MaxOpen)
			}
			st := g.Stats()
			// A background open may be between its slot and the driver.
			if st.Total.Open > cfg.MaxOpen || int64(st.Total.Open) < c.open.Load() {
				t.Errorf("Stats open %d, driver open %d, cap %d", st.Total.Open, c.open.Load(), cfg.MaxOpen)
			}
			if len(st.Pools) != 8 {
				t.Errorf("Stats lists %d pools, want 8", len(st.Pools))
			}
		})
	}
}

func TestFailedConnectGivesSlotBack(t *testing.T) {
	g := newGovernor(t, pool.Config{MaxOpen: 2})
	c := &fakeConnector{kind: full}
	db := g.MustOpen("a", c)
	defer db.Close()
	c.fail.Store(true)
	for range 5 {
		if err := db.Ping(); err == nil {
			t.Fatal("Ping succeeded with a failing driver")
		}
	}
	st := g.Stats().Pools["a"]
	if st.Open != 0 || st.ConnectErrors != 5 {
		t.Errorf("after 5 failed connects: %+v", st)
	}
	c.fail.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c1, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("second slot lost to failed connects: %v", err)
	}
	defer c2.Close()
}

func TestDeadlineWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(t, pool.Config{MaxOpen: 1})
		a := g.MustOpen("a", &fakeConnector{kind: full})
		b := g.MustOpen("b", &fakeConnector{kind: full})
		defer a.Close()
		defer b.Close()
		held, err := a.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err = b.PingContext(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want one wrapping context.DeadlineExceeded", err)
		}
		if !strings.HasPrefix(err.Error(), "pool: b: ") {
			t.Errorf("err = %q, want a pool: b: prefix", err)
		}
		st := g.Stats().Pools["b"]
		if st.WaitCount != 1 || st.Waiting != 0 || st.Open != 0 {
			t.Errorf("b after a timed-out wait: %+v", st)
		}
		lettingShedLoopExit()
	})
}

// TestFIFOAcrossPools queues callers of three pools behind a held slot and
// checks they get it in arrival order.
func TestFIFOAcrossPools(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(t, pool.Config{MaxOpen: 1})
		ws := make([]*pool.Connector, 4)
		for i := range ws {
			ws[i] = g.MustGovern(fmt.Sprintf("p%d", i), &fakeConnector{kind: full})
		}
		first, err := ws[0].Connect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		order := make(chan string, 3)
		for i := 1; i <= 3; i++ {
			go func() {
				c, err := ws[i].Connect(context.Background())
				if err != nil {
					order <- err.Error()
					return
				}
				order <- ws[i].Name()
				c.Close()
			}()
			// Wait until this caller queues before starting the next.
			synctest.Wait()
			if n := g.Stats().Total.Waiting; n != i {
				t.Fatalf("%d callers waiting, want %d", n, i)
			}
		}
		first.Close()
		for _, want := range []string{"p1", "p2", "p3"} {
			if got := <-order; got != want {
				t.Errorf("slot went to %s, want %s", got, want)
			}
		}
		lettingShedLoopExit()
	})
}

// TestIdleClosedForWaiter: pool a has idle connections using the whole
// budget; a caller of pool b gets a slot without a's idle timeout.
func TestIdleClosedForWaiter(t *testing.T) {
	g := newGovernor(t, pool.Config{MaxOpen: 2, MaxIdle: 5})
	ca := &fakeConnector{kind: full}
	a := g.MustOpen("a", ca)
	b := g.MustOpen("b", &fakeConnector{kind: full})
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	c1, _ := a.Conn(ctx)
	c2, err := a.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c1.Close()
	c2.Close()
	if st := g.Stats().Pools["a"]; st.Idle != 2 {
		t.Fatalf("a: %+v, want 2 idle", st)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.PingContext(ctx); err != nil {
		t.Fatalf("b never got a slot: %v", err)
	}
	st := g.Stats()
	if st.Pools["a"].ClosedForWaiter < 1 || ca.closed.Load() < 1 {
		t.Errorf("a closed nothing for b: %+v", st.Pools["a"])
	}
	if st.Total.Open > 2 {
		t.Errorf("open %d > 2", st.Total.Open)
	}
}

// TestReturnedConnectionClosedForWaiter: a pool that the governor only
// knows as a connector (Wrap, not Open) gives a connection up when it is
// returned while another pool waits.
func TestReturnedConnectionClosedForWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(t, pool.Config{MaxOpen: 1, HoldFor: -1})
		a := sql.OpenDB(g.MustGovern("a", &fakeConnector{kind: minimal}))
		b := sql.OpenDB(g.MustGovern("b", &fakeConnector{kind: minimal}))
		defer a.Close()
		defer b.Close()
		ctx := context.Background()
		held, err := a.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- b.PingContext(ctx) }()
		synctest.Wait()
		if n := g.Stats().Total.Waiting; n != 1 {
			t.Fatalf("%d callers waiting, want 1", n)
		}
		held.Close() // back to a's pool: IsValid gives it up
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := g.Stats().Pools["a"]; st.ClosedForWaiter != 1 || st.Open != 0 {
			t.Errorf("a: %+v, want its connection closed for b", st)
		}
		// Without a waiter, a returned connection stays. (b's idle connection
		// would keep the only slot: the governor cannot close idle connections
		// of a pool it knows only by its connector.)
		b.Close()
		if err := a.Ping(); err != nil {
			t.Fatal(err)
		}
		if st := g.Stats().Pools["a"]; st.ClosedForWaiter != 1 || st.Idle != 1 {
			t.Errorf("a: %+v, want one idle connection kept", st)
		}
		lettingShedLoopExit()
	})
}

func TestReservedMin(t *testing.T) {
	g := newGovernor(t, pool.Config{MaxOpen: 3, ReservedMin: 1, HoldFor: time.Hour})
	busy := g.MustOpen("busy", &fakeConnector{kind: full})
	quiet := g.MustOpen("quiet", &fakeConnector{kind: full})
	defer busy.Close()
	defer quiet.Close()
	ctx := context.Background()
	// busy takes its reserved slot and the one free slot.
	b1, err := busy.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b1.Close()
	b2, err := busy.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if st := g.Stats(); st.Pools["quiet"].Reserved != 1 || st.Total.Open != 2 {
		t.Fatalf("stats %+v", st)
	}
	// A third connection for busy would eat quiet's reservation: it waits.
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := busy.Conn(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("busy got a third slot: %v", err)
	}
	// quiet gets its slot at once, and keeps it after closing.
	q, err := quiet.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	quiet.SetMaxIdleConns(-1) // close the idle connection
	if st := g.Stats().Pools["quiet"]; st.Open != 0 || st.Reserved != 1 {
		t.Errorf("quiet after closing its connection: %+v", st)
	}
	// Closing the DB gives the reservation back.
	quiet.Close()
	b3, err := busy.Conn(ctx)
	if err != nil {
		t.Fatalf("quiet's reservation not given back: %v", err)
	}
	b3.Close()
}

func TestCloseIdleAfter(t *testing.T) {
	c := &fakeConnector{kind: full}
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxIdleConns(4)
	h := pool.CloseIdleAfter(4, db)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Three transactions open at once, so three connections, which
		// go idle when they commit.
		var wg, begun sync.WaitGroup
		begun.Add(3)
		for range 3 {
			wg.Go(func() {
				tx, err := db.Begin()
				begun.Done()
				begun.Wait()
				if err == nil {
					tx.Commit()
				}
			})
		}
		wg.Wait()
		if n := db.Stats().Idle; n == 0 {
			http.Error(w, "no idle connection inside the request", 500)
		}
	}))
	for i := range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != 200 {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
		if st := db.Stats(); st.Idle != 0 || st.OpenConnections != 0 || c.open.Load() != 0 {
			t.Errorf("after request %d: %+v, driver open %d", i, st, c.open.Load())
		}
	}
}

func TestPublish(t *testing.T) {
	g := newGovernor(t, pool.Config{MaxOpen: 1})
	name := fmt.Sprintf("pool-test-%d", time.Now().UnixNano())
	if err := g.Publish(name); err != nil {
		t.Fatal(err)
	}
	db := g.MustOpen("published", &fakeConnector{kind: full})
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	v := expvar.Get(name)
	if v == nil {
		t.Fatalf("expvar %q missing", name)
	}
	var got pool.Stats
	if err := json.Unmarshal([]byte(v.String()), &got); err != nil {
		t.Fatalf("expvar %q is not JSON Stats: %v\n%s", name, err, v.String())
	}
	if got.MaxOpen != 1 || got.Pools["published"].Open != 1 || got.Total.Idle != 1 {
		t.Errorf("expvar %q = %s", name, v.String())
	}
	err := g.Publish(name)
	if !errors.Is(err, pool.ErrPublished) {
		t.Fatalf("second Publish: %v, want ErrPublished", err)
	}
}
