package ttlcache

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := New[string, int](time.Minute, 10)
	c.Now = func() time.Time { return now }
	for i := 0; i < 25; i++ {
		c.Put(string(rune('a'+i)), i)
		if n := c.Len(); n > 10 {
			t.Fatalf("cache holds %d entries, bound is 10", n)
		}
	}
	c.Put("k", 1)
	if v, ok := c.Get("k"); !ok || v != 1 {
		t.Fatalf("get after put = %v, %v", v, ok)
	}
	now = now.Add(time.Minute)
	if _, ok := c.Get("k"); ok {
		t.Fatal("entry outlived its TTL")
	}
	c.Put("k", 2)
	c.Purge()
	if _, ok := c.Get("k"); ok || c.Len() != 0 {
		t.Fatal("entry survived Purge")
	}
	off := New[string, int](-1, 10)
	off.Put("k", 1)
	if _, ok := off.Get("k"); ok {
		t.Fatal("a disabled cache answered")
	}
}

// TestCoarseClock checks the real clock (Now nil): entries are found while
// fresh, expire after their ttl without any Put, and the clock resolution
// stays within a sixteenth of the ttl.
func TestCoarseClock(t *testing.T) {
	tests := []struct {
		ttl     time.Duration
		wantRes time.Duration
	}{
		{time.Hour, time.Second},
		{8 * time.Second, time.Second / 2},
		{40 * time.Millisecond, 40 * time.Millisecond / 16},
		{time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.ttl.String(), func(t *testing.T) {
			c := New[string, int](tt.ttl, 10)
			if c.res != tt.wantRes {
				t.Errorf("resolution %v, want %v", c.res, tt.wantRes)
			}
			if tt.ttl < time.Second {
				return
			}
			c.Put("k", 1)
			if v, ok := c.Get("k"); !ok || v != 1 {
				t.Fatalf("fresh entry: %v, %v", v, ok)
			}
		})
	}
	t.Run("expires", func(t *testing.T) {
		// The bubble's clock moves only when every goroutine in it waits,
		// so the coarse clock's timer fires exactly on schedule.
		synctest.Test(t, func(t *testing.T) {
			const ttl = 40 * time.Millisecond
			c := New[string, int](ttl, 10)
			c.Put("k", 1)
			time.Sleep(ttl - time.Millisecond)
			synctest.Wait()
			if _, ok := c.Get("k"); !ok {
				t.Fatal("entry expired before its ttl")
			}
			time.Sleep(time.Millisecond + 2*c.res) // the ttl, and the clock's next tick
			synctest.Wait()
			if _, ok := c.Get("k"); ok {
				t.Fatalf("entry alive %v after its ttl (resolution %v)", 2*c.res, c.res)
			}
			if c.Len() != 1 {
				t.Errorf("Len = %d; an expired entry stays until a Put sweeps it", c.Len())
			}
		})
	})
}
