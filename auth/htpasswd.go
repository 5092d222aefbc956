package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/internal/ttlcache"
)

// HtpasswdConfig configures an [Htpasswd] password checker.
type HtpasswdConfig struct {
	// Path is the password file, as written by Apache's htpasswd
	// (AuthUserFile). Required.
	Path string
	// CacheTTL is how long a successful check is remembered. Zero means 5
	// minutes; a negative value turns the cache off (every request pays
	// the full hash, as Apache does). The cache is emptied whenever the
	// file changes.
	CacheTTL time.Duration
	// CacheSize bounds the number of remembered successful checks. Zero
	// means 10000.
	CacheSize int
	// StatInterval is how often the file is checked for changes at most.
	// Zero means one second; a negative value checks on every request.
	StatInterval time.Duration
	// Logger receives a line each time the file is reloaded. Nil means
	// slog.Default(). Failures are returned by CheckPassword.
	Logger *slog.Logger
}

// htpasswdEntry is one user of a password file.
type htpasswdEntry struct {
	hash string
	kind hashKind
}

type htpasswdData struct {
	users map[string]htpasswdEntry
	// dummy is verified for unknown users, so that they cost as much
	// time as known ones.
	dummy htpasswdEntry
}

// Htpasswd is a [PasswordChecker] over an Apache htpasswd file. It reloads
// the file when it changes and caches successful checks. It is safe for
// concurrent use.
type Htpasswd struct {
	file   *watched[*htpasswdData]
	logger *slog.Logger
	key    [32]byte // HMAC key of the cache; random per process
	group  singleflight.Group

	macs sync.Pool // of *macState, keyed HMAC-SHA256 states

	// cache maps the keyed hash of good credentials to the generation of
	// the file they were checked against.
	cache *ttlcache.Cache[cacheKey, uint64]

	onVerify func() // tests: called for each hash verification
}

var _ PasswordChecker = (*Htpasswd)(nil)

// HtpasswdFile returns a checker for the htpasswd file at path with the
// defaults of [HtpasswdConfig].
func HtpasswdFile(path string) (*Htpasswd, error) {
	return NewHtpasswd(HtpasswdConfig{Path: path})
}

// NewHtpasswd reads cfg.Path and returns its checker. A missing file, or a
// line that is not "user:hash" with a hash format htpasswd writes, is an
// error naming the line.
func NewHtpasswd(cfg HtpasswdConfig) (*Htpasswd, error) {
	h := &Htpasswd{
		logger: reqctx.Logger(cfg.Logger),
	}
	h.macs.New = func() any { return &macState{mac: hmac.New(sha256.New, h.key[:])} }
	ttl, size := cfg.CacheTTL, cfg.CacheSize
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	if size <= 0 {
		size = 10000
	}
	h.cache = ttlcache.New[cacheKey, uint64](ttl, size)
	if _, err := rand.Read(h.key[:]); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	w, err := newWatched(cfg.Path, cfg.StatInterval, parseHtpasswd)
	if err != nil {
		return nil, err
	}
	w.onReload = func() {
		h.cache.Purge()
		h.logger.Info("auth: password file reloaded", "path", cfg.Path)
	}
	h.file = w
	return h, nil
}

// parseHtpasswd parses the contents of an htpasswd file. Blank lines and
// lines starting with '#' are skipped, white space around a line (and a CR
// before its LF) is ignored; the first entry of a user wins, as in Apache.
func parseHtpasswd(data []byte) (*htpasswdData, error) {
	d := &htpasswdData{users: map[string]htpasswdEntry{}}
	err := scanLines(data, func(n int, line string) error {
		user, rest, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return fmt.Errorf("line %d: want user:hash", n)
		}
		// Apache stops the hash at the next colon; what follows is ignored.
		hash, _, _ := strings.Cut(rest, ":")
		kind, err := classifyHash(hash)
		if err != nil {
			return fmt.Errorf("line %d: user %q: %w", n, user, err)
		}
		if _, dup := d.users[user]; dup {
			return nil
		}
		e := htpasswdEntry{hash: hash, kind: kind}
		d.users[user] = e
		if d.dummy.kind == 0 || kind == hashBcrypt && d.dummy.kind != hashBcrypt {
			d.dummy = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// cacheKey is a keyed hash (HMAC-SHA256) of the credentials: the password
// itself is never kept.
type cacheKey [sha256.Size]byte

// macState is a keyed HMAC-SHA256 state with its scratch space, pooled so
// that a cache lookup, on every request, allocates nothing.
type macState struct {
	mac hash.Hash
	buf []byte // user, NUL, password; zeroed after each use
	sum [sha256.Size]byte
}

func (h *Htpasswd) cacheKey(user, password string) cacheKey {
	s := h.macs.Get().(*macState)
	s.buf = append(append(append(s.buf[:0], user...), 0), password...)
	s.mac.Reset()
	s.mac.Write(s.buf)
	var k cacheKey
	copy(k[:], s.mac.Sum(s.sum[:0]))
	clear(s.buf)
	if cap(s.buf) > 4096 {
		s.buf = nil // do not keep a huge buffer from one odd request
	}
	h.macs.Put(s)
	return k
}

// CheckPassword implements [PasswordChecker]. An unknown user costs one hash
// verification like a known one. A file that cannot be read or parsed any
// more is an error (fail closed).
func (h *Htpasswd) CheckPassword(ctx context.Context, user, password string) (*User, bool, error) {
	data, gen, err := h.file.get()
	if err != nil {
		return nil, false, err
	}
	key := h.cacheKey(user, password)
	if g, ok := h.cache.Get(key); ok && g == gen {
		return &User{Name: user, AuthType: "Basic"}, true, nil
	}
	v, _, _ := h.group.Do(strconv.FormatUint(gen, 10)+"/"+hex.EncodeToString(key[:]), func() (any, error) {
		return h.verify(data, user, password), nil
	})
	if !v.(bool) {
		return nil, false, nil
	}
	h.remember(key, gen)
	return &User{Name: user, AuthType: "Basic"}, true, nil
}

func (h *Htpasswd) verify(data *htpasswdData, user, password string) bool {
	if h.onVerify != nil {
		h.onVerify()
	}
	e, ok := data.users[user]
	if !ok {
		if data.dummy.kind != 0 {
			verifyHash(data.dummy.kind, data.dummy.hash, password)
		}
		return false
	}
	return verifyHash(e.kind, e.hash, password)
}

func (h *Htpasswd) remember(key cacheKey, gen uint64) {
	// Remember only credentials checked against the current file: one
	// checked against a file replaced meanwhile would be ignored by
	// CheckPassword anyway (its generation differs), so this just keeps
	// stale entries out.
	if h.file.peekGen() != gen {
		return
	}
	h.cache.Put(key, gen)
}

// Users returns the names in the file, for diagnostics and tests.
func (h *Htpasswd) Users() ([]string, error) {
	data, _, err := h.file.get()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(data.users))
	for u := range data.users {
		out = append(out, u)
	}
	return out, nil
}
