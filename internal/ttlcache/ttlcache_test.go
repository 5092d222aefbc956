package ttlcache

import (
	"testing"
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
		c := New[string, int](40*time.Millisecond, 10)
		put := time.Now()
		c.Put("k", 1)
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, ok := c.Get("k")
			if !ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("entry never expired")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if since := time.Since(put); since < 40*time.Millisecond {
			t.Errorf("entry expired after %v, before its ttl", since)
		}
		if c.Len() != 1 {
			t.Errorf("Len = %d; an expired entry stays until a Put sweeps it", c.Len())
		}
	})
}
