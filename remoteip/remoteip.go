package remoteip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/reqinfo"
	"golang.org/x/net/http/httpguts"
)

// Config configures a [RemoteIP].
type Config struct {
	// TrustedProxies lists the peers whose forwarding headers and PROXY
	// protocol headers are believed (mod_remoteip's RemoteIPTrustedProxy).
	// It must not be empty: a RemoteIP that trusts nobody would do
	// nothing, which is taken for a mistake. An IPv4-mapped IPv6 prefix
	// is the IPv4 prefix.
	TrustedProxies []netip.Prefix
	// Header names the header that carries the client chain
	// (mod_remoteip's RemoteIPHeader): "X-Forwarded-For" (the default when
	// empty), read with X-Forwarded-Proto and X-Forwarded-Host, or
	// "Forwarded" (RFC 7239), read with its proto= and host=. Only the
	// configured family is believed; the other is passed to the
	// application as it came. See the package documentation.
	Header string
	// ProxyProtocol says whether [RemoteIP.Listener] expects HAProxy's
	// PROXY protocol (v1 or v2) from trusted peers (mod_remoteip's
	// RemoteIPProxyProtocol). The zero value, [ProxyProtocolOff], leaves
	// the listener as it is.
	ProxyProtocol ProxyProtocol
	// ProxyHeaderTimeout bounds how long a connection's first read waits
	// for its PROXY header. Zero means 5 seconds.
	ProxyHeaderTimeout time.Duration
	// Logger receives a line for each connection closed for its PROXY
	// header and each forwarding header that names no usable value. nil
	// means slog.Default().
	Logger *slog.Logger
}

// A RemoteIP believes what trusted reverse proxies say about the client:
// its address, scheme and host, from forwarding headers ([RemoteIP.Wrap])
// or from the PROXY protocol ([RemoteIP.Listener]). Make one with [New].
type RemoteIP struct {
	trusted   []netip.Prefix
	forwarded bool // Header is "Forwarded"
	pp        ProxyProtocol
	ppTimeout time.Duration
	logger    *slog.Logger
}

// New checks cfg and returns a RemoteIP. It fails on an empty or invalid
// TrustedProxies, an unknown Header or ProxyProtocol, or a negative
// ProxyHeaderTimeout.
func New(cfg Config) (*RemoteIP, error) {
	if len(cfg.TrustedProxies) == 0 {
		return nil, errors.New("remoteip: no TrustedProxies: a RemoteIP that trusts no proxy would believe nothing")
	}
	ri := &RemoteIP{pp: cfg.ProxyProtocol, ppTimeout: cfg.ProxyHeaderTimeout, logger: cfg.Logger}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("remoteip: invalid trusted proxy prefix %v", p)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		ri.trusted = append(ri.trusted, p.Masked())
	}
	switch {
	case cfg.Header == "" || strings.EqualFold(cfg.Header, "X-Forwarded-For"):
	case strings.EqualFold(cfg.Header, "Forwarded"):
		ri.forwarded = true
	default:
		return nil, fmt.Errorf("remoteip: Header %q: want X-Forwarded-For or Forwarded", cfg.Header)
	}
	switch cfg.ProxyProtocol {
	case ProxyProtocolOff, ProxyProtocolRequired, ProxyProtocolOptional:
	default:
		return nil, fmt.Errorf("remoteip: unknown ProxyProtocol %d", cfg.ProxyProtocol)
	}
	if ri.ppTimeout < 0 {
		return nil, fmt.Errorf("remoteip: negative ProxyHeaderTimeout %v", ri.ppTimeout)
	}
	if ri.ppTimeout == 0 {
		ri.ppTimeout = 5 * time.Second
	}
	if ri.logger == nil {
		ri.logger = slog.Default()
	}
	return ri, nil
}

// Trusted reports whether addr (an IP address, or "host:port" as
// http.Request.RemoteAddr has it) is in TrustedProxies.
func (ri *RemoteIP) Trusted(addr string) bool {
	a, ok := parseAddr(addr)
	return ok && ri.trustedIP(a)
}

func (ri *RemoteIP) trustedIP(a netip.Addr) bool {
	for _, p := range ri.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (ri *RemoteIP) trustedNode(n node) bool {
	return n.ip.IsValid() && ri.trustedIP(n.ip)
}

// parseAddr returns the IP address of "host:port" or of a bare address,
// unmapped and without its zone.
func parseAddr(s string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// Wrap returns a handler that, for a request whose peer (RemoteAddr) is a
// trusted proxy, believes the configured forwarding header and calls next
// with a copy of the request where:
//
//   - RemoteAddr is the client's address, "ip:port" (port 0 when the header
//     gave none): the right-most address of the chain that is not a trusted
//     proxy, or the left-most when all are, as mod_remoteip chooses; a
//     chain whose chosen hop is no address (RFC 7239's "unknown", an
//     obfuscated "_name", garbage) gives "unknown:0" or "_name:0", which no
//     IP rule matches;
//   - Host is the forwarded host, when it is a valid Host header value;
//   - the forwarded scheme ("http" or "https"; anything else is ignored) is
//     recorded for [Scheme] and package wsgi (wsgi.url_scheme, HTTPS).
//
// The original peer address is kept for [Peer]. A request from any other
// peer, or from a trusted one without the header, goes to next unchanged:
// nothing believes its forwarding headers. The headers themselves are
// passed on as they came in either case.
func (ri *RemoteIP) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := parseAddr(r.RemoteAddr)
		if !ok || !ri.trustedIP(peer) {
			next.ServeHTTP(w, r)
			return
		}
		var hp hop
		var found bool
		if ri.forwarded {
			hp, found = ri.fromForwarded(r.Header)
		} else {
			hp, found = ri.fromXForwarded(r.Header)
		}
		scheme := ""
		switch {
		case strings.EqualFold(hp.proto, "https"):
			scheme = "https"
		case strings.EqualFold(hp.proto, "http"):
			scheme = "http"
		}
		host := ""
		if hp.host != "" && httpguts.ValidHostHeader(hp.host) {
			host = hp.host
		}
		if !found && scheme == "" && host == "" {
			next.ServeHTTP(w, r)
			return
		}
		// The record (made here if no layer outside did) tells every
		// layer, outer ones included, what the proxy said; the copy of
		// the request carries the client and the host.
		r1, rec := reqinfo.Ensure(r)
		r2 := r1.WithContext(r1.Context())
		if found {
			r2.RemoteAddr = hp.from.remoteAddr()
			if !hp.from.ip.IsValid() {
				ri.logger.Debug("remoteip: the forwarding header names no client address", "peer", r.RemoteAddr, "client", hp.from.name)
			}
		}
		if host != "" {
			r2.Host = host
		}
		rec.SetForwarded(r2.RemoteAddr, r.RemoteAddr, scheme)
		next.ServeHTTP(w, r2)
	})
}

// Scheme returns the scheme the client used, as far as this server can
// tell: the scheme a trusted proxy forwarded (through [RemoteIP.Wrap]),
// else "https" over TLS, else "http". A forwarded scheme wins over the
// connection's own: a proxy that received plain HTTP and forwards it over
// TLS still says "http".
func Scheme(r *http.Request) string {
	if _, s := reqinfo.FromContext(r.Context()).Forwarded(); s != "" {
		return s
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// Peer returns the address of the connection's peer, RemoteAddr before
// [RemoteIP.Wrap] rewrote it (the proxy's), or r.RemoteAddr when no
// RemoteIP did.
func Peer(r *http.Request) string {
	if p, _ := reqinfo.FromContext(r.Context()).Forwarded(); p != "" {
		return p
	}
	return r.RemoteAddr
}
