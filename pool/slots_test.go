package pool_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowsgi/gowsgi/pool"
)

// Slots share the budget with the other pools: a caller of one waits for
// a slot released by another, the onWait hooks hear of it, and a deadline
// ends the wait with the context's error.
func TestSlotsShareTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(t, pool.Config{MaxOpen: 2})
		var waits atomic.Int32
		a, err := g.Slots("a", func() { waits.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		b, err := g.Slots("b", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Slots("a", nil); err == nil {
			t.Fatal("a second pool named a was registered")
		}
		ctx := context.Background()
		if err := a.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		go func() { got <- b.Acquire(ctx) }()
		synctest.Wait()
		if n := waits.Load(); n != 1 {
			t.Fatalf("onWait called %d times for one waiter, want 1", n)
		}
		if s := g.Stats(); s.Total.Waiting != 1 || s.Total.Open != 2 {
			t.Fatalf("stats while waiting: %+v", s.Total)
		}
		a.Release()
		if err := <-got; err != nil {
			t.Fatalf("waiter: %v", err)
		}
		if s := g.Stats(); s.Pools["a"].Open != 0 || s.Pools["b"].Open != 2 {
			t.Fatalf("the slot did not move from a to b: %+v", s.Pools)
		}

		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		err = a.Acquire(dctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "pool: ") {
			t.Fatalf("Acquire past its deadline: %v", err)
		}
		b.Release()
		b.Release()
		a.Close()
		b.Close()
		if names := g.PoolNames(); len(names) != 0 {
			t.Fatalf("pools left after Close: %v", names)
		}
		lettingShedLoopExit()
	})
}

func TestSlotsReleaseWithoutAcquirePanics(t *testing.T) {
	g := newGovernor(t, pool.Config{MaxOpen: 1})
	s, err := g.Slots("a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Release without Acquire did not panic")
		}
	}()
	s.Release()
}
