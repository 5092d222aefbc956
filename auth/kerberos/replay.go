package kerberos

import (
	"crypto/sha256"
	"sync"
	"time"
)

// replayCache remembers the authenticators it has accepted until they can no
// longer pass the clock skew check, so that a captured Authorization header
// cannot be presented twice. It is keyed by a hash of the encrypted
// authenticator, which is unique for every AP-REQ a client makes (it holds
// the client's time to the microsecond and, with MIT and Windows clients, a
// fresh subkey), like MIT's own replay cache.
type replayCache struct {
	mu      sync.Mutex
	seen    map[[sha256.Size]byte]time.Time // expiry
	ttl     time.Duration
	inserts int
}

func newReplayCache(skew time.Duration) *replayCache {
	return &replayCache{seen: map[[sha256.Size]byte]time.Time{}, ttl: 2 * skew}
}

// fresh records cipher, the encrypted authenticator of an AP-REQ, and
// reports whether it was not seen before. Checking and recording are one
// step, so two concurrent requests carrying the same token cannot both pass.
func (c *replayCache) fresh(cipher []byte, now time.Time) bool {
	k := sha256.Sum256(cipher)
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[k]; ok && now.Before(exp) {
		return false
	}
	c.seen[k] = now.Add(c.ttl)
	c.inserts++
	if c.inserts >= 1024 {
		c.inserts = 0
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
	}
	return true
}
