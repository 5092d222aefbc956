package reqinfo

import "net/http"

// RequestIDHeader is the header that carries a request id, in the response
// and, from a trusted proxy, in the request.
const RequestIDHeader = "X-Request-ID"

// RequestIDConfig configures the request-id middleware
// ([RequestIDConfig.Wrap]). The zero value is [RequestID]'s.
type RequestIDConfig struct {
	// TrustIncoming takes the request's id from its X-Request-ID header
	// when it has exactly one and it is valid ([ValidID]), as set by a
	// proxy in front that assigns ids. False ignores the header: a client
	// could otherwise choose the id its requests are logged under. Set it
	// only when every request comes through such a proxy.
	TrustIncoming bool
}

// Wrap returns the request-id middleware: it makes the request's [Record]
// ([Ensure]) unless an outer layer did, gives it the incoming id if
// TrustIncoming allows, sets the X-Request-ID response header to the id
// and calls next. Every log line of this module about the request then
// carries the id ([LogAttrs]). Put it outermost, so that every layer and
// every log line shares the record.
func (cfg RequestIDConfig) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := Ensure(r)
		if cfg.TrustIncoming {
			if v := r.Header.Values(RequestIDHeader); len(v) == 1 && ValidID(v[0]) {
				rec.SetID(v[0])
			}
		}
		w.Header().Set(RequestIDHeader, rec.ID())
		next.ServeHTTP(w, r)
	})
}

// RequestID is the request-id middleware with the zero [RequestIDConfig]:
// a new id for every request, any incoming X-Request-ID ignored.
func RequestID(next http.Handler) http.Handler {
	return RequestIDConfig{}.Wrap(next)
}

// MaxIDLen is the longest incoming request id [ValidID] accepts.
const MaxIDLen = 128

// ValidID reports whether id is acceptable as a request id from a
// trusted proxy: 1 to [MaxIDLen] bytes of ASCII letters, digits and
// "-_.:+/=@" (enough for UUIDs, base64 and the ids of common proxies),
// so that it can go into a log line or a response header as it is.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '/', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}
