package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gowsgi/gowsgi/internal/ttlcache"
)

// CacheConfig configures [NewCache].
type CacheConfig struct {
	// TTL is how long a successful check is remembered, or up to a
	// sixteenth longer (see [HtpasswdConfig.CacheTTL]). Zero means 5
	// minutes; a negative value turns the cache off.
	TTL time.Duration
	// Size bounds the number of remembered checks. Zero means 10000.
	Size int
}

// NewCache returns c behind the credential cache [Htpasswd] has built in,
// for checkers that have none, such as auth/kerberos's password check
// against the KDC: a successful check is remembered for TTL under a keyed
// hash of the user name and password (SHA-256 over a per-process random
// key; the password itself is never kept), and concurrent checks of the
// same credentials run once. Failed checks and errors are not cached, so
// guessing costs what the checker costs. A password changed at the source
// is still accepted for up to TTL, as with Apache's caches. The cache hands
// out the same *User for the same credentials: treat it as read-only (see
// [User]).
func NewCache(c PasswordChecker, cfg CacheConfig) (PasswordChecker, error) {
	if c == nil {
		return nil, errors.New("auth: NewCache of a nil checker")
	}
	ttl, size := cfg.TTL, cfg.Size
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	if size < 0 {
		return nil, fmt.Errorf("auth: negative cache Size %d", size)
	}
	if size == 0 {
		size = 10000
	}
	cc := &cachedChecker{c: c, cache: ttlcache.New[cacheKey, *User](ttl, size)}
	if _, err := rand.Read(cc.key[:]); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return cc, nil
}

type cachedChecker struct {
	c     PasswordChecker
	key   [16]byte
	cache *ttlcache.Cache[cacheKey, *User]
	group singleflight.Group
}

type checked struct {
	u  *User
	ok bool
}

// CheckPassword implements [PasswordChecker].
func (cc *cachedChecker) CheckPassword(ctx context.Context, user, password string) (*User, bool, error) {
	key := keyOf(&cc.key, user, password)
	if u, ok := cc.cache.Get(key); ok {
		return u, true, nil
	}
	v, err, _ := cc.group.Do(hex.EncodeToString(key[:]), func() (any, error) {
		u, ok, err := cc.c.CheckPassword(ctx, user, password)
		if err != nil {
			return checked{}, err
		}
		if ok && u != nil {
			cc.cache.Put(key, u)
		}
		return checked{u, ok && u != nil}, nil
	})
	if err != nil {
		return nil, false, err
	}
	r := v.(checked)
	return r.u, r.ok, nil
}
