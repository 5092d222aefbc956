package reqctx

import "context"

type forwardedKey struct{}

// Forwarded is what a trusted reverse proxy said about a request, as
// package remoteip believed it: the scheme the client used and the address
// of the peer that said so. The client's address and the host travel in
// the request itself (RemoteAddr and Host), rewritten by that layer.
type Forwarded struct {
	// Scheme is "http" or "https", or "" when the proxy did not say.
	Scheme string
	// Peer is the connection's own remote address (the proxy's),
	// http.Request.RemoteAddr as it was before the rewrite.
	Peer string
}

// WithForwarded returns a copy of ctx carrying f.
func WithForwarded(ctx context.Context, f Forwarded) context.Context {
	return context.WithValue(ctx, forwardedKey{}, &f)
}

// ForwardedFrom returns what [WithForwarded] stored.
func ForwardedFrom(ctx context.Context) (Forwarded, bool) {
	f, ok := ctx.Value(forwardedKey{}).(*Forwarded)
	if !ok || f == nil {
		return Forwarded{}, false
	}
	return *f, true
}
