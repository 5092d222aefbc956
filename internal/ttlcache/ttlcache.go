// Package ttlcache is the bounded cache of expiring entries that gowsgi's
// credential checkers share (htpasswd logins, LDAP binds and group answers).
package ttlcache

import (
	"sync"
	"sync/atomic"
	"time"
)

// Cache is a map whose entries expire ttl after they were put, holding at
// most max entries. Lookups take a read lock only and do not read the clock
// (see [Cache.Now]), so a cache hit on every request stays cheap. A Cache
// with ttl <= 0 is disabled: it stores nothing.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	// Now is the clock; tests replace it, and [Cache.Get] then calls it
	// on every lookup. Nil, as [New] leaves it, means the real clock,
	// which Get reads at most once per resolution (a sixteenth of the
	// ttl, at most a second; every time for a ttl under 16ms): an entry
	// may thus outlive its ttl by up to one resolution, never expire
	// early.
	Now func() time.Time

	mu sync.RWMutex
	m  map[K]entry[V]

	// The coarse clock: the time of the last reading, and a flag that a
	// timer sets one resolution after it. The first Get that finds the
	// flag set reads the clock and arms the timer again, so an idle cache
	// has no timer pending (the same scheme as auth's watched files).
	res   time.Duration
	clock atomic.Pointer[time.Time]
	stale atomic.Bool
	timer *time.Timer
}

type entry[V any] struct {
	v   V
	exp time.Time
}

// New returns a cache whose entries live ttl and which holds at most max
// entries (max < 1 means 1).
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	if max < 1 {
		max = 1
	}
	c := &Cache[K, V]{ttl: ttl, max: max, m: make(map[K]entry[V])}
	if ttl > 0 {
		c.res = min(ttl/16, time.Second)
		if c.res < time.Millisecond {
			c.res = 0 // too fine for a timer: read the clock each time
		}
	}
	if c.res > 0 {
		now := time.Now()
		c.clock.Store(&now)
		c.timer = time.AfterFunc(c.res, func() { c.stale.Store(true) })
	}
	return c
}

// now returns the time for a lookup: Now's if set, else the coarse clock.
func (c *Cache[K, V]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	if c.res <= 0 {
		return time.Now()
	}
	if c.stale.Load() && c.stale.CompareAndSwap(true, false) {
		now := time.Now()
		c.clock.Store(&now)
		c.timer.Reset(c.res)
	}
	return *c.clock.Load()
}

// exactNow returns the time for storing an entry: Now's if set, else the
// real clock, read now (a Put costs far more than a clock reading anyway).
func (c *Cache[K, V]) exactNow() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns the value stored under key, unless it expired.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.exp) {
		return zero, false
	}
	return e.v, true
}

// Put stores v under key for the cache's ttl. When the cache is full it
// first drops expired entries, then about a tenth of the rest (in map
// order: random enough for entries that all live the same time).
func (c *Cache[K, V]) Put(key K, v V) {
	if c.ttl <= 0 {
		return
	}
	now := c.exactNow()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max-c.max/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = entry[V]{v: v, exp: now.Add(c.ttl)}
}

// Purge drops every entry.
func (c *Cache[K, V]) Purge() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// Len returns the number of entries held, expired or not.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Range calls fn for each entry, expired or not, until fn returns false. fn
// must not call the cache's other methods.
func (c *Cache[K, V]) Range(fn func(key K, v V) bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for k, e := range c.m {
		if !fn(k, e.v) {
			return
		}
	}
}
