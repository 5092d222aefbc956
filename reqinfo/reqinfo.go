package reqinfo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// User is an authenticated identity: who a request's credentials proved
// the client to be. Package auth names it auth.User, the type its password
// checkers, rules and normalizers use.
//
// A *User held by a [Record] may be shared with other requests (a password
// checker's cache returns the same one for each request with the same
// credentials): treat it as read-only, and copy it to change it.
type User struct {
	// Name is the name the application sees as REMOTE_USER, after any
	// normalizer ran.
	Name string
	// AuthType is the scheme that authenticated the user: "Basic",
	// "Digest", "Negotiate". It becomes AUTH_TYPE.
	AuthType string
	// Original is the name as the client or the provider gave it, before
	// normalization ("EXAMPLE\\alice", "alice@EXAMPLE.COM"). Empty means
	// the same as Name.
	Original string
	// Groups optionally lists groups the provider already knows the user
	// to be in. Rules may consult it; nil means unknown.
	Groups []string
	// Attributes optionally carries provider data, such as an LDAP entry's
	// attributes (with the entry's DN under "dn"). Nil means none.
	Attributes map[string][]string
}

// AuthOutcome is what authentication and authorization made of a request,
// the label of a metric by outcome.
type AuthOutcome uint8

const (
	// AuthNone: no credentials for any scheme, or no authentication layer
	// ran; the request went on anonymously (the zero value).
	AuthNone AuthOutcome = iota
	// AuthOK: good credentials; the record holds the user.
	AuthOK
	// AuthFailed: wrong, unusable or malformed credentials (401 or 400).
	AuthFailed
	// AuthDenied: authorization refused the request (401 asking an
	// anonymous client for credentials, 403 for a user not allowed, or a
	// user name a normalizer refused).
	AuthDenied
	// AuthUnavailable: a technical failure decided nothing (a password
	// file that became unreadable, a directory or KDC that is down): 503.
	AuthUnavailable
)

// String returns "none", "ok", "failed", "denied" or "unavailable".
func (o AuthOutcome) String() string {
	switch o {
	case AuthOK:
		return "ok"
	case AuthFailed:
		return "failed"
	case AuthDenied:
		return "denied"
	case AuthUnavailable:
		return "unavailable"
	}
	return "none"
}

// Mount is where a request was mounted (package prefix): SCRIPT_NAME and
// PATH_INFO, both decoded (not percent-escaped). ScriptName is "" for a
// mount at the root and never "/".
type Mount struct {
	ScriptName string
	PathInfo   string
}

// Var is one extra WSGI environ entry recorded for a request, such as
// trac.env_path.
type Var struct {
	Name, Value string
}

// Record is what the layers of a server know about one request. Make it
// with [Ensure] (or the [RequestID] middleware), read it with
// [FromContext]. Its methods are safe for concurrent use, and do nothing
// (or return zero values) on a nil *Record.
type Record struct {
	// Set when the record is made, never changed.
	start  time.Time
	method string
	target string
	seq    uint64

	mu      sync.Mutex
	id      string // "" until ID formats seq, or SetID
	client  string
	user    *User
	scheme  string
	outcome AuthOutcome
	mount   Mount
	mounted bool
	environ []Var // never written in place once handed out (Environ)
	pid     int

	// What a trusted proxy said (SetForwarded); "" unless one did.
	peer, urlScheme string
}

// Info is a copy of a [Record]'s fields taken at one instant
// ([Record.Info]): what an access log line or a status page shows.
type Info struct {
	// ID is the request id ([Record.ID]).
	ID string
	// Start is when the record was made, normally when the request
	// reached the outermost layer.
	Start time.Time
	// Method and Target are the request's method and target (the
	// request-URI as the client sent it) when the record was made.
	Method, Target string
	// Client is the client's address ([Record.Client]).
	Client string
	// Peer is the address of the trusted proxy that named Client, "" when
	// none did ([Record.Forwarded]).
	Peer string
	// URLScheme is the scheme a trusted proxy forwarded ("http" or
	// "https"), "" when none did ([Record.Forwarded]).
	URLScheme string
	// User is the authenticated user; nil when anonymous.
	User *User
	// AuthScheme is the authentication scheme that decided AuthOutcome,
	// lower-cased ("basic", "digest", "negotiate"); "" when none did.
	AuthScheme  string
	AuthOutcome AuthOutcome
	// Mount is where the request was mounted, when Mounted.
	Mount   Mount
	Mounted bool
	// Environ holds the extra environ entries recorded for the request
	// (shared with the record: do not modify it).
	Environ []Var
	// PID is the worker process that served the request; 0 when no
	// worker took it.
	PID int
}

type recordKey struct{}

// recordCtx is the context Ensure makes: the record lives in it, so that
// making a record costs one allocation, not a record and a context value.
type recordCtx struct {
	context.Context
	rec Record
}

func (c *recordCtx) Value(key any) any {
	if _, ok := key.(recordKey); ok {
		return &c.rec
	}
	return c.Context.Value(key)
}

// FromContext returns the record [Ensure] stored in ctx, or nil.
func FromContext(ctx context.Context) *Record {
	rec, _ := ctx.Value(recordKey{}).(*Record)
	return rec
}

// Ensure returns r and its record when r's context has one, and otherwise
// a shallow copy of r whose context carries a new record, and that record.
// r itself is never modified. The new record takes a fresh id (see
// [Record.ID]), the start time, r's method and target, and r.RemoteAddr as
// the client.
//
// The outermost layer calls it (the [RequestID] middleware does) so that
// every layer, outer ones included, shares one record; a layer further in
// calls it before recording something, so that it works without one.
func Ensure(r *http.Request) (*http.Request, *Record) {
	ctx := r.Context()
	if rec := FromContext(ctx); rec != nil {
		return r, rec
	}
	c := &recordCtx{Context: ctx}
	rec := &c.rec
	rec.start = time.Now()
	rec.method = r.Method
	rec.target = r.RequestURI
	if rec.target == "" && r.URL != nil {
		rec.target = r.URL.RequestURI()
	}
	rec.client = r.RemoteAddr
	rec.seq = idCounter.Add(1)
	return r.WithContext(c), rec
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

// ID returns the request id: the one [Record.SetID] set, else one made when
// the record was: 8 hex digits chosen at random when the process started,
// then a per-process sequence number in hex, unique across processes
// without a system call per request.
func (rec *Record) ID() string {
	if rec == nil {
		return ""
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.idLocked()
}

func (rec *Record) idLocked() string {
	if rec.id == "" {
		buf := make([]byte, 0, len(idPrefix)+16)
		buf = append(buf, idPrefix...)
		rec.id = string(strconv.AppendUint(buf, rec.seq, 16))
	}
	return rec.id
}

// SetID replaces the request id, with one a trusted proxy in front
// assigned ([RequestIDConfig.TrustIncoming]). It should satisfy [ValidID].
func (rec *Record) SetID(id string) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	rec.id = id
	rec.mu.Unlock()
}

// Client returns the client's address: the request's RemoteAddr when the
// record was made, or what [Record.SetClient] set.
func (rec *Record) Client() string {
	if rec == nil {
		return ""
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.client
}

// SetClient records the client's address, as a layer that rewrites
// RemoteAddr from a header sent by a trusted proxy learns it.
func (rec *Record) SetClient(addr string) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	rec.client = addr
	rec.mu.Unlock()
}

// Forwarded returns what [Record.SetForwarded] recorded: the address of
// the trusted proxy that named the client, and the scheme it forwarded
// ("" when it named none); peer is "" when no proxy was believed.
func (rec *Record) Forwarded() (peer, urlScheme string) {
	if rec == nil {
		return "", ""
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.peer, rec.urlScheme
}

// SetForwarded records what a layer that believes a trusted reverse proxy
// (package remoteip) learnt from it: the client's address (as
// [Record.SetClient]), the proxy's own address, and the scheme the client
// used ("http", "https", or "" when the proxy did not say), which package
// wsgi takes for wsgi.url_scheme and HTTPS.
func (rec *Record) SetForwarded(client, peer, urlScheme string) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	rec.client, rec.peer, rec.urlScheme = client, peer, urlScheme
	rec.mu.Unlock()
}

// User returns the authenticated user, or nil when the request is
// anonymous. The user is shared: do not modify it.
func (rec *Record) User() *User {
	if rec == nil {
		return nil
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.user
}

// SetUser records u as the request's authenticated user, the outcome
// [AuthOK] and u.AuthType as the scheme. It is for an authentication layer
// that checked credentials: the user becomes REMOTE_USER. u is kept, not
// copied, and must not change afterwards. A nil u makes the request
// anonymous again (outcome [AuthNone]).
func (rec *Record) SetUser(u *User) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.user = u
	if u == nil {
		rec.scheme, rec.outcome = "", AuthNone
		return
	}
	rec.scheme, rec.outcome = lowerScheme(u.AuthType), AuthOK
}

// Auth returns the authentication outcome and the scheme, lower-cased,
// that decided it ("" when none did).
func (rec *Record) Auth() (scheme string, outcome AuthOutcome) {
	if rec == nil {
		return "", AuthNone
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.scheme, rec.outcome
}

// SetAuth records an authentication or authorization outcome other than a
// login (which [Record.SetUser] records): bad credentials, a refusal, a
// technical failure. The user is left as it is; scheme "" keeps the scheme
// recorded before.
func (rec *Record) SetAuth(scheme string, outcome AuthOutcome) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if scheme != "" {
		rec.scheme = lowerScheme(scheme)
	}
	rec.outcome = outcome
}

// lowerScheme lower-cases a scheme name, without allocating for the
// schemes of this module.
func lowerScheme(s string) string {
	switch s {
	case "Basic", "basic":
		return "basic"
	case "Digest", "digest":
		return "digest"
	case "Negotiate", "negotiate":
		return "negotiate"
	}
	return strings.ToLower(s)
}

// Mount returns where the request was mounted, and whether a layer
// recorded it.
func (rec *Record) Mount() (Mount, bool) {
	if rec == nil {
		return Mount{}, false
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.mount, rec.mounted
}

// SetMount records where the request was mounted: package wsgi makes
// SCRIPT_NAME and PATH_INFO of it.
func (rec *Record) SetMount(m Mount) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	rec.mount, rec.mounted = m, true
	rec.mu.Unlock()
}

// Environ returns the extra environ entries recorded for the request, in
// the order they were first set. The slice is shared: do not modify it.
func (rec *Record) Environ() []Var {
	if rec == nil {
		return nil
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.environ
}

// LookupEnviron returns the value of the extra environ entry name, and
// whether one is recorded.
func (rec *Record) LookupEnviron(name string) (string, bool) {
	if rec == nil {
		return "", false
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, v := range rec.environ {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// SetEnviron records an extra environ entry for the request (package wsgi
// adds it to the environ, over an entry of the same name from its
// configuration), replacing one of the same name.
func (rec *Record) SetEnviron(name, value string) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	// A slice handed out by Environ is never written: replace it.
	if i := slices.IndexFunc(rec.environ, func(v Var) bool { return v.Name == name }); i >= 0 {
		env := slices.Clone(rec.environ)
		env[i].Value = value
		rec.environ = env
		return
	}
	rec.environ = append(slices.Clip(rec.environ), Var{name, value})
}

// PID returns the process id of the worker that took the request, 0 when
// none did.
func (rec *Record) PID() int {
	if rec == nil {
		return 0
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.pid
}

// SetPID records the worker process that took the request (package wsgi;
// again if the request moves to another worker before it starts).
func (rec *Record) SetPID(pid int) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	rec.pid = pid
	rec.mu.Unlock()
}

// Info returns a copy of every field, taken at once. The zero Info for a
// nil record.
func (rec *Record) Info() Info {
	if rec == nil {
		return Info{}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return Info{
		ID:          rec.idLocked(),
		Start:       rec.start,
		Method:      rec.method,
		Target:      rec.target,
		Client:      rec.client,
		Peer:        rec.peer,
		URLScheme:   rec.urlScheme,
		User:        rec.user,
		AuthScheme:  rec.scheme,
		AuthOutcome: rec.outcome,
		Mount:       rec.mount,
		Mounted:     rec.mounted,
		Environ:     rec.environ,
		PID:         rec.pid,
	}
}

// LogAttrs returns the attributes every log line of this module about r
// carries: method, path and, when r has a record, request_id. A server's
// own log lines get the same with logger.Info(msg, reqinfo.LogAttrs(r)...).
func LogAttrs(r *http.Request) []any {
	attrs := []any{slog.String("method", r.Method), slog.String("path", r.URL.Path)}
	if rec := FromContext(r.Context()); rec != nil {
		attrs = append(attrs, slog.String("request_id", rec.ID()))
	}
	return attrs
}
