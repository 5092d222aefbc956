package pool_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowsgi/gowsgi/pool"
)

// fakeClock is a clock that moves only when told, for the governor's
// timing logic without timing the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1e9, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// slowConnector is a fake connector whose connects and closes take the
// given fake times on clock; connect returns the durations one by one,
// repeating the last.
func slowConnector(clock *fakeClock, close time.Duration, connect ...time.Duration) *fakeConnector {
	var mu sync.Mutex
	return &fakeConnector{
		kind: full,
		onConnect: func() {
			mu.Lock()
			d := connect[0]
			if len(connect) > 1 {
				connect = connect[1:]
			}
			mu.Unlock()
			clock.advance(d)
		},
		onClose: func() { clock.advance(close) },
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestAdaptiveHoldFollowsConnectCost opens and closes connections whose
// connect and close take known (fake) times and checks the hold the
// governor derives from them.
func TestAdaptiveHoldFollowsConnectCost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		holdFor time.Duration // Config.HoldFor
		maxHold time.Duration // Config.MaxHoldFor
		close   time.Duration
		connect []time.Duration
		// want is the hold expected; zero means computed from the
		// reported averages, and the averages are then checked against
		// lo..hi.
		want   time.Duration
		lo, hi time.Duration
	}{
		{name: "100ms connects", connect: repeat(100*time.Millisecond, 4), want: pool.HoldCostFactor * 100 * time.Millisecond},
		{name: "connect and close", close: 20 * time.Millisecond, connect: repeat(100*time.Millisecond, 4), want: pool.HoldCostFactor * 120 * time.Millisecond},
		{name: "fast connects: MinHoldFor", connect: repeat(100*time.Microsecond, 4), want: pool.MinHoldFor},
		{name: "slow connects: DefaultMaxHoldFor", connect: repeat(time.Second, 4), want: pool.DefaultMaxHoldFor},
		{name: "slow connects: MaxHoldFor", maxHold: 3 * time.Second, connect: repeat(time.Second, 4), want: 3 * time.Second},
		{name: "MaxHoldFor below MinHoldFor", maxHold: time.Millisecond, connect: repeat(time.Second, 4), want: pool.MinHoldFor},
		{name: "connects slow down", connect: append(repeat(30*time.Millisecond, 4), repeat(300*time.Millisecond, 6)...),
			lo: 30 * time.Millisecond, hi: 300 * time.Millisecond},
		{name: "connects speed up", connect: append(repeat(300*time.Millisecond, 4), repeat(30*time.Millisecond, 6)...),
			lo: 30 * time.Millisecond, hi: 300 * time.Millisecond},
		{name: "fixed HoldFor", holdFor: 700 * time.Millisecond, connect: repeat(time.Second, 4), want: 700 * time.Millisecond},
		{name: "negative HoldFor", holdFor: -1, connect: repeat(time.Second, 4), want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGovernor(t, pool.Config{MaxOpen: 2, HoldFor: tc.holdFor, MaxHoldFor: tc.maxHold})
			clock := newFakeClock()
			pool.SetClock(g, clock.now)
			w := g.MustGovern("a", slowConnector(clock, tc.close, tc.connect...))
			defer w.Close()
			var prev time.Duration
			for i := range tc.connect {
				c, err := w.Connect(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
				avg := g.Stats().ConnectAvg
				if i > 0 && tc.connect[i] != tc.connect[i-1] && avg == prev {
					t.Errorf("connect %d took %v, average stayed %v", i, tc.connect[i], avg)
				}
				prev = avg
			}
			st := g.Stats()
			if tc.want == 0 && tc.holdFor == 0 {
				if st.ConnectAvg <= tc.lo || st.ConnectAvg >= tc.hi {
					t.Errorf("ConnectAvg %v outside (%v, %v)", st.ConnectAvg, tc.lo, tc.hi)
				}
				tc.want = min(pool.HoldCostFactor*(st.ConnectAvg+st.CloseAvg), pool.DefaultMaxHoldFor)
			}
			if st.HoldFor != tc.want {
				t.Errorf("HoldFor %v, want %v (connect avg %v, close avg %v)", st.HoldFor, tc.want, st.ConnectAvg, st.CloseAvg)
			}
			if last := tc.connect[len(tc.connect)-1]; tc.holdFor == 0 && tc.lo == 0 && st.ConnectAvg != last {
				t.Errorf("ConnectAvg %v after steady %v connects", st.ConnectAvg, last)
			}
		})
	}
}

// TestHeldConnectionYieldsAfterAdaptiveHold: with the budget used by
// pool a and a caller of b waiting, a keeps reusing its connection until
// it has served a for the adaptive hold (19 × 200 ms connects), then gives
// it up at its next return.
func TestHeldConnectionYieldsAfterAdaptiveHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const connect = 200 * time.Millisecond
		hold := pool.HoldCostFactor * connect
		g := newGovernor(t, pool.Config{MaxOpen: 1})
		clock := newFakeClock()
		pool.SetClock(g, clock.now)
		// Wrap, not Open: the governor cannot close a's idle connection
		// behind the test's back, only at its return.
		a := sql.OpenDB(g.MustGovern("a", slowConnector(clock, 0, connect)))
		b := sql.OpenDB(g.MustGovern("b", slowConnector(clock, 0, connect)))
		defer a.Close()
		defer b.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		use := func(advance time.Duration) {
			t.Helper()
			c, err := a.Conn(ctx)
			if err != nil {
				t.Fatalf("a lost its connection: %v (%+v)", err, g.Stats().Pools["a"])
			}
			clock.advance(advance)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
		use(0)
		if got := g.Stats().HoldFor; got != hold {
			t.Fatalf("HoldFor %v after one %v connect, want %v", got, connect, hold)
		}
		done := make(chan error, 1)
		go func() { done <- b.PingContext(ctx) }()
		synctest.Wait()
		if n := g.Stats().Pools["b"].Waiting; n != 1 {
			t.Fatalf("%d callers of b waiting, want 1", n)
		}
		// Returned before the hold is over: kept, b still waits.
		use(hold / 2)
		use(hold/2 - time.Millisecond)
		if st := g.Stats(); st.Pools["a"].ClosedForWaiter != 0 || st.Pools["a"].Idle != 1 || st.Pools["b"].Waiting != 1 {
			t.Fatalf("connection given up before the hold: a %+v, b %+v", st.Pools["a"], st.Pools["b"])
		}
		// Returned once the hold is over: closed, b gets the slot.
		use(time.Millisecond)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := g.Stats().Pools["a"]; st.ClosedForWaiter != 1 || st.Open != 0 {
			t.Errorf("a after the hold: %+v, want its connection closed for b", st)
		}
		lettingShedLoopExit()
	})
}
