// Package reqctx carries what the layers of gowsgi tell each other about a
// request through its context: the authenticated user (REMOTE_USER and
// AUTH_TYPE), the mount (SCRIPT_NAME and PATH_INFO), extra environ entries
// (such as trac.env_path) and a request id for logging.
//
// Most of it travels as context values, each in a context derived for the
// next layer. The request id and the authenticated identity can also live in
// a request scope, made once by the outermost layer (see EnsureRequestID and
// SetScopeIdentity), which later layers fill in place.
//
// It is internal so that the public packages stay independent of each other:
// auth writes the user, prefix writes the mount and the extras, and wsgi reads
// them, without any of the three importing another. Each public package
// re-exports the accessors its users need.
package reqctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
)

type userKey struct{}
type mountKey struct{}
type environKey struct{}
type requestIDKey struct{}

// User is the authenticated identity of a request, as the application sees it.
type User struct {
	// Name becomes REMOTE_USER.
	Name string
	// AuthType becomes AUTH_TYPE ("Basic", "Digest", "Negotiate", ...).
	AuthType string
}

// An Identity is an authenticated user as the package that authenticated it
// represents it (package auth's *User). Stored with [WithIdentity], one
// context value serves both that package ([IdentityFrom]) and REMOTE_USER
// ([UserFrom]).
type Identity interface {
	// RemoteUser returns the user as the application sees it.
	RemoteUser() User
}

// plainUser is what [WithUser] stores: a user set without an identity (by
// package wsgi's WithRemoteUser), remembering the identity stored before it
// so that [IdentityFrom] still finds it.
type plainUser struct {
	u    User
	prev Identity
}

func (p *plainUser) RemoteUser() User { return p.u }

// WithUser returns a copy of ctx carrying u. An [Identity] stored earlier
// stays readable with [IdentityFrom].
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, &plainUser{u: u, prev: IdentityFrom(ctx)})
}

// WithIdentity returns a copy of ctx carrying id, which [UserFrom] then
// reads through id.RemoteUser. It costs one context value; id must not
// change afterwards. A nil id clears the user.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	if id == nil {
		// Not a nil value: a lookup (and SetScopeIdentity) must see that
		// the user was cleared here, not walk on past it.
		return context.WithValue(ctx, userKey{}, noUser{})
	}
	return context.WithValue(ctx, userKey{}, id)
}

// noUser is stored by WithIdentity(ctx, nil): no user from here in.
type noUser struct{}

// UserFrom returns the user stored by [WithUser] or [WithIdentity],
// whichever came last.
func UserFrom(ctx context.Context) (User, bool) {
	id, _ := ctx.Value(userKey{}).(Identity)
	if id == nil {
		return User{}, false
	}
	return id.RemoteUser(), true
}

// IdentityFrom returns the identity stored by the last [WithIdentity],
// or nil.
func IdentityFrom(ctx context.Context) Identity {
	switch v := ctx.Value(userKey{}).(type) {
	case *plainUser:
		return v.prev
	case Identity:
		return v
	}
	return nil
}

// Mount is where a request was mounted: SCRIPT_NAME and PATH_INFO, both
// decoded (not percent-escaped). ScriptName is "" for a mount at the root and
// never "/".
type Mount struct {
	ScriptName string
	PathInfo   string
}

// WithMount returns a copy of ctx carrying m.
func WithMount(ctx context.Context, m Mount) context.Context {
	return context.WithValue(ctx, mountKey{}, &m)
}

// MountFrom returns the mount stored by [WithMount].
func MountFrom(ctx context.Context) (Mount, bool) {
	m, ok := ctx.Value(mountKey{}).(*Mount)
	if !ok || m == nil {
		return Mount{}, false
	}
	return *m, true
}

// KV is one extra environ entry.
type KV struct{ Key, Value string }

type environList struct {
	parent *environList
	kv     KV
}

// WithEnviron returns a copy of ctx carrying one more environ entry. Later
// entries override earlier ones with the same key.
func WithEnviron(ctx context.Context, key, value string) context.Context {
	parent, _ := ctx.Value(environKey{}).(*environList)
	return context.WithValue(ctx, environKey{}, &environList{parent: parent, kv: KV{key, value}})
}

// EnvironFrom returns the entries stored by [WithEnviron], oldest first.
func EnvironFrom(ctx context.Context) []KV {
	l, _ := ctx.Value(environKey{}).(*environList)
	var out []KV
	for ; l != nil; l = l.parent {
		out = append(out, l.kv)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// RequestID returns the request id of the scope [EnsureRequestID] made, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// idPrefix makes request ids unique across processes; idCounter within one.
var (
	idPrefix  = randomPrefix()
	idCounter atomic.Uint64
)

func randomPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewRequestID returns a fresh request id: 8 hex digits chosen at random
// when the process starts, then a per-process sequence number in hex. It
// costs no system call, so it can run on every request.
func NewRequestID() string {
	n := idCounter.Add(1)
	buf := make([]byte, 0, 8+16)
	buf = append(buf, idPrefix...)
	buf = strconv.AppendUint(buf, n, 16)
	return string(buf)
}

// EnsureRequestID returns r unchanged when it already has a request id in its
// context, and otherwise a shallow copy carrying a new one in a new request
// scope (see [SetScopeIdentity]).
func EnsureRequestID(r *http.Request) *http.Request {
	if RequestID(r.Context()) != "" {
		return r
	}
	ctx := r.Context()
	return r.WithContext(&scopeCtx{Context: ctx, requestID: NewRequestID(), outer: ctx.Value(userKey{})})
}

// scopeCtx is a request's scope: what layers record about the request in
// place rather than in a derived context, so that recording it costs no
// copy of the *http.Request. It is made once, outermost
// ([EnsureRequestID]), and holds the request id and, once a layer
// authenticated the request, its identity ([SetScopeIdentity]). It answers
// for its keys as context values do, and a value stored further in (a
// [WithIdentity] after it) still wins: lookups walk from the innermost
// context out.
type scopeCtx struct {
	context.Context
	requestID string
	// identity points to box once SetScopeIdentity filled it: box lives in
	// the scope, so recording a user allocates nothing. claimed lets one
	// caller fill box before identity publishes it.
	claimed  atomic.Bool
	box      identityBox
	identity atomic.Pointer[identityBox]
	// outer is the user value of the contexts around the scope, looked up
	// once when it is made (they cannot change), so that a user lookup
	// stops at the scope.
	outer any
}

type identityBox struct{ id Identity }

// Value answers for the scope's keys. For the user it returns the recorded
// identity, else whatever user the contexts further out carry, else the
// scope itself: a marker that SetScopeIdentity finds in one walk (it is
// no Identity, so UserFrom and IdentityFrom read it as no user).
func (c *scopeCtx) Value(key any) any {
	switch key.(type) {
	case requestIDKey:
		return c.requestID
	case userKey:
		if b := c.identity.Load(); b != nil {
			return b.id
		}
		if c.outer != nil {
			return c.outer
		}
		return c
	}
	return c.Context.Value(key)
}

// SetScopeIdentity records id as the authenticated identity in the request
// scope of ctx and reports true. It reports false, and records nothing,
// when ctx has no scope or already carries a user (in its scope or in a
// context value, [UserFrom]); the caller then carries id in a copy of the
// request ([WithIdentity]) instead.
//
// Unlike a derived context, the scope is shared by every layer of the
// request, outer ones included: after the call they see the identity too,
// as Apache's access log sees the user an inner authentication module set.
// So only an identity established for this request, from its own
// credentials, belongs there.
func SetScopeIdentity(ctx context.Context, id Identity) bool {
	if id == nil {
		return false
	}
	// The user lookup stops at the first user, and returns the scope
	// only when there is none, in the scope or anywhere around it.
	s, ok := ctx.Value(userKey{}).(*scopeCtx)
	if !ok || !s.claimed.CompareAndSwap(false, true) {
		return false
	}
	s.box.id = id
	s.identity.Store(&s.box)
	return true
}

// LogAttrs returns the attributes every log line about r carries: method,
// path and request id.
func LogAttrs(r *http.Request) []any {
	attrs := []any{slog.String("method", r.Method), slog.String("path", r.URL.Path)}
	if id := RequestID(r.Context()); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	return attrs
}

// Logger returns l, or slog.Default() when l is nil.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
