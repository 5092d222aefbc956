// Package ttlcache is the bounded cache of expiring entries that gowsgi's
// credential checkers share (htpasswd logins, LDAP binds and group answers).
package ttlcache

import (
	"sync"
	"time"
)

// Cache is a map whose entries expire ttl after they were put, holding at
// most max entries. Lookups take a read lock only, so a cache hit on every
// request stays cheap. A Cache with ttl <= 0 is disabled: it stores nothing.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	// Now is the clock; tests replace it. New sets it to time.Now.
	Now func() time.Time

	mu sync.RWMutex
	m  map[K]entry[V]
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
	return &Cache[K, V]{ttl: ttl, max: max, Now: time.Now, m: make(map[K]entry[V])}
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
	if !ok || !c.Now().Before(e.exp) {
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
	now := c.Now()
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
