package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
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
	// CacheTTL is how long a successful check is remembered, or up to a
	// sixteenth longer (at most a second: the cache reads the clock no
	// more often). Zero means 5 minutes; a negative value turns the cache
	// off (every request pays the full hash, as Apache does). The cache
	// is emptied whenever the file changes.
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
	// time as known ones: the entry of the file whose hash costs most to
	// verify (see hashCost), so of the same scheme and cost.
	dummy htpasswdEntry
}

// Htpasswd is a [PasswordChecker] over an Apache htpasswd file. It reloads
// the file when it changes and caches successful checks. It is safe for
// concurrent use.
type Htpasswd struct {
	file   *watched[*htpasswdData]
	logger *slog.Logger
	key    [16]byte // secret key of the cache's hash; random per process
	group  singleflight.Group

	// cache maps the keyed hash of good credentials to the user they
	// authenticate, with the generation of the file they were checked
	// against.
	cache *ttlcache.Cache[cacheKey, login]

	// onVerify, for tests, is called with each hash verified: the user's
	// own, or the dummy for an unknown user.
	onVerify func(hash string)
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
	ttl, size := cfg.CacheTTL, cfg.CacheSize
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	if size <= 0 {
		size = 10000
	}
	h.cache = ttlcache.New[cacheKey, login](ttl, size)
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
		if d.dummy.kind == 0 || hashCost(e.kind, e.hash) > hashCost(d.dummy.kind, d.dummy.hash) {
			d.dummy = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// cacheKey is a keyed hash of the credentials (see keyOf): the password
// itself is never kept.
type cacheKey [sha256.Size]byte

// login is a cached successful check: the user handed out for each request
// with the same credentials (never modified, see [User]), and the
// generation of the file it was checked against.
type login struct {
	user *User
	gen  uint64
}

func (h *Htpasswd) cacheKey(user, password string) cacheKey {
	return keyOf(&h.key, user, password)
}

// keyRoom is the room keyOf's reused buffer has for its input: the key, the
// user name's length, and credentials of up to 108 bytes.
const keyRoom = 128

// keyOf returns the cache key of credentials given as strings or as bytes:
// SHA-256 over the process's secret key, the length of the user name (so
// that no two pairs of user and password give the same input), the user
// name and the password. It has to be unpredictable without the key, so
// that the cache holds nothing to test password guesses against, and free
// of collisions. The keys never leave the process, so HMAC's defence
// against length extension buys nothing here, while one pass costs half of
// HMAC's two: a single SHA-256 block for credentials of up to 35 bytes.
//
// It allocates nothing: the input is built in a [keyer] taken from a pool
// (crypto/sha256.Sum256 allocates its state once the compiler inlines it
// into a caller, as profile-guided builds do), and both the input and the
// state's copy of it are wiped before the keyer goes back.
func keyOf[T string | []byte](secret *[16]byte, user, password T) cacheKey {
	k := keyers.Get().(*keyer)
	buf := k.buf[:0]
	if n := len(secret) + 4 + len(user) + len(password); n > len(k.buf) {
		buf = make([]byte, 0, n)
	}
	buf = append(buf, secret[:]...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(user)))
	buf = append(buf, user...)
	buf = append(buf, password...)
	k.h.Reset()
	k.h.Write(buf)
	var key cacheKey
	copy(key[:], k.h.Sum(k.sum[:0]))
	clear(buf)
	k.wipe()
	keyers.Put(k)
	return key
}

// A keyer is keyOf's reusable state.
type keyer struct {
	h   hash.Hash // SHA-256
	buf [keyRoom]byte
	sum [sha256.Size]byte
}

var keyers = sync.Pool{New: func() any { return &keyer{h: sha256.New()} }}

// wipe overwrites what the state keeps of the last input: Reset does not
// clear the buffer in which SHA-256 holds the input's last partial block
// (at most 63 bytes, from its start), and writing 63 zero bytes after a
// Reset does, without hashing a block.
func (k *keyer) wipe() {
	k.h.Reset()
	k.h.Write(zeroBlock[:sha256.BlockSize-1])
	clear(k.sum[:])
}

var zeroBlock [sha256.BlockSize]byte

// cached returns the user of a cached successful check of the credentials
// whose key is key, made against generation gen of the file, for the user
// name user. A cached user that does not look exactly as CheckPassword
// made it (an application modified it despite [User]'s rule) is not
// handed out again: the caller gets a fresh copy.
func cached[T string | []byte](h *Htpasswd, key cacheKey, gen uint64, user T) (*User, bool) {
	l, ok := h.cache.Get(key)
	if !ok || l.gen != gen {
		return nil, false
	}
	u := l.user
	if u.Name != string(user) || u.AuthType != "Basic" || u.Original != "" || u.Groups != nil || u.Attributes != nil {
		return &User{Name: string(user), AuthType: "Basic"}, true
	}
	return u, true
}

// CheckPassword implements [PasswordChecker]. An unknown user costs one hash
// verification like a known one. A file that cannot be read or parsed any
// more is an error (fail closed).
//
// Successful checks are cached: the same credentials then get the same
// *User, which must not be modified (see [User]).
func (h *Htpasswd) CheckPassword(ctx context.Context, user, password string) (*User, bool, error) {
	data, gen, err := h.file.get()
	if err != nil {
		return nil, false, err
	}
	key := h.cacheKey(user, password)
	if u, ok := cached(h, key, gen, user); ok {
		return u, true, nil
	}
	return h.check(data, gen, key, user, password)
}

// checkPasswordBytes is CheckPassword for credentials still in the
// caller's buffer ([BasicAuth]'s, on its stack): a cache hit neither
// allocates nor copies the password to the heap. Neither slice is kept.
func (h *Htpasswd) checkPasswordBytes(ctx context.Context, user, password []byte) (*User, bool, error) {
	data, gen, err := h.file.get()
	if err != nil {
		return nil, false, err
	}
	key := keyOf(&h.key, user, password)
	if u, ok := cached(h, key, gen, user); ok {
		return u, true, nil
	}
	return h.check(data, gen, key, string(user), string(password))
}

// check verifies credentials that missed the cache, once for concurrent
// identical checks, and caches a success.
func (h *Htpasswd) check(data *htpasswdData, gen uint64, key cacheKey, user, password string) (*User, bool, error) {
	v, _, _ := h.group.Do(strconv.FormatUint(gen, 10)+"/"+hex.EncodeToString(key[:]), func() (any, error) {
		return h.verify(data, user, password), nil
	})
	if !v.(bool) {
		return nil, false, nil
	}
	u := &User{Name: user, AuthType: "Basic"}
	h.remember(key, login{user: u, gen: gen})
	return u, true, nil
}

func (h *Htpasswd) verify(data *htpasswdData, user, password string) bool {
	e, ok := data.users[user]
	if !ok {
		// An unknown user: the same work as for the costliest known one,
		// and a refusal whatever the dummy check says.
		if data.dummy.kind != 0 {
			if h.onVerify != nil {
				h.onVerify(data.dummy.hash)
			}
			verifyHash(data.dummy.kind, data.dummy.hash, password)
		}
		return false
	}
	if h.onVerify != nil {
		h.onVerify(e.hash)
	}
	return verifyHash(e.kind, e.hash, password)
}

func (h *Htpasswd) remember(key cacheKey, l login) {
	// Remember only credentials checked against the current file: one
	// checked against a file replaced meanwhile would be ignored by
	// CheckPassword anyway (its generation differs), so this just keeps
	// stale entries out.
	if h.file.peekGen() != l.gen {
		return
	}
	h.cache.Put(key, l)
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
