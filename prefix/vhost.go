package prefix

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// ErrInvalidHost reports a Host header or a configured name that is not a
// host name or IP address.
var ErrInvalidHost = errors.New("prefix: invalid host")

// CanonicalHost returns the canonical form of a Host header value: the
// port dropped, lower case, one trailing dot dropped, IPv6 brackets
// removed. "" (HTTP/1.0 without Host) stays "". It returns
// [ErrInvalidHost] for a value with characters no host name or address has.
func CanonicalHost(host string) (string, error) {
	h := host
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 || end+1 < len(h) && (h[end+1] != ':' || !allDigits(h[end+2:])) {
			return "", fmt.Errorf("%w: %q", ErrInvalidHost, host)
		}
		h = h[1:end]
		if net.ParseIP(h) == nil {
			return "", fmt.Errorf("%w: %q", ErrInvalidHost, host)
		}
		return strings.ToLower(h), nil
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if !allDigits(h[i+1:]) {
			return "", fmt.Errorf("%w: %q", ErrInvalidHost, host)
		}
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", fmt.Errorf("%w: %q", ErrInvalidHost, host)
		}
	}
	if strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return "", fmt.Errorf("%w: %q", ErrInvalidHost, host)
	}
	return h, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// VHost is one virtual host: the names it answers to and its handler.
type VHost struct {
	// Names are exact host names ("trac.example.com"), IP addresses, or
	// wildcards "*.example.com", which match any name ending in
	// ".example.com" (one label or more) but not "example.com" itself.
	// Ports are ignored and case does not matter (ServerName,
	// ServerAlias). At least one is required.
	Names []string
	// Handler serves the virtual host. nil means the next handler, the one
	// the middleware wraps (a server with one site listed by name).
	Handler http.Handler
}

// VHostConfig configures [NewVHosts].
type VHostConfig struct {
	// Hosts are the virtual hosts. A name may appear only once.
	Hosts []VHost
	// Default serves requests whose Host matches no name, including
	// requests without a Host. nil means 421 Misdirected Request (Apache
	// would use its first virtual host instead: list it here to get that).
	Default http.Handler
	// Logger receives refused hosts. nil means slog.Default().
	Logger *slog.Logger
}

type vhosts struct {
	exact    map[string]http.Handler
	wildcard []wildcard // longest suffix first
	def      http.Handler
	log      *slog.Logger
}

type wildcard struct {
	suffix string // ".example.com"
	h      http.Handler
}

// NewVHosts returns middleware that routes each request by its Host
// header, as Apache's name-based <VirtualHost>s do: an exact name wins over
// a wildcard, a longer wildcard over a shorter one, and the Default takes
// the rest. A host whose Handler is nil is served by the next handler. A
// Host that is not a valid host name gets 400. The configuration is checked
// once, here: the middleware may wrap any number of handlers.
func NewVHosts(cfg VHostConfig) (func(http.Handler) http.Handler, error) {
	v, err := newVHosts(cfg)
	if err != nil {
		return nil, err
	}
	return v.wrap, nil
}

// nextHandler stands for the wrapped handler in a vhosts table. Its type is
// a pointer, so comparing it with any handler (even a non-comparable
// http.HandlerFunc, whose dynamic type differs) never panics.
var nextHandler http.Handler = &nextMarker{}

type nextMarker struct{}

func (*nextMarker) ServeHTTP(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }

func newVHosts(cfg VHostConfig) (*vhosts, error) {
	v := &vhosts{exact: map[string]http.Handler{}, def: cfg.Default, log: reqctx.Logger(cfg.Logger)}
	seen := map[string]bool{}
	for i, vh := range cfg.Hosts {
		if len(vh.Names) == 0 {
			return nil, fmt.Errorf("prefix: virtual host %d: want at least one name", i)
		}
		if vh.Handler == nil {
			vh.Handler = nextHandler
		}
		for _, n := range vh.Names {
			rest, wild := strings.CutPrefix(n, "*.")
			c, err := CanonicalHost(rest)
			if err != nil || c == "" || strings.Contains(n, ":") && !strings.HasPrefix(n, "[") {
				return nil, fmt.Errorf("prefix: virtual host name %q: %w", n, ErrInvalidHost)
			}
			key := c
			if wild {
				key = "*." + c
			}
			if seen[key] {
				return nil, fmt.Errorf("prefix: virtual host name %q given twice", n)
			}
			seen[key] = true
			if wild {
				v.wildcard = append(v.wildcard, wildcard{"." + c, vh.Handler})
			} else {
				v.exact[c] = vh.Handler
			}
		}
	}
	// Longest suffix first, stable for equal lengths.
	for i := 1; i < len(v.wildcard); i++ {
		for j := i; j > 0 && len(v.wildcard[j].suffix) > len(v.wildcard[j-1].suffix); j-- {
			v.wildcard[j], v.wildcard[j-1] = v.wildcard[j-1], v.wildcard[j]
		}
	}
	return v, nil
}

// match returns the handler for the canonical host h, or nil.
func (v *vhosts) match(h string) http.Handler {
	if x, ok := v.exact[h]; ok {
		return x
	}
	for _, w := range v.wildcard {
		if len(h) > len(w.suffix) && strings.HasSuffix(h, w.suffix) {
			return w.h
		}
	}
	return v.def
}

func (v *vhosts) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := CanonicalHost(r.Host)
		if err != nil {
			v.log.Info("prefix: refused host", append(reqctx.LogAttrs(r), slog.String("host", r.Host))...)
			http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
			return
		}
		site := v.match(h)
		switch site {
		case nil:
			http.Error(w, http.StatusText(http.StatusMisdirectedRequest), http.StatusMisdirectedRequest)
		case nextHandler:
			next.ServeHTTP(w, r)
		default:
			site.ServeHTTP(w, r)
		}
	})
}
