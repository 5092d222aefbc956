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
