package main

import (
	"flag"
	"log/slog"
	"net/http"
	"sort"

	"github.com/gowsgi/gowsgi/auth"
)

// The chain is made of layers, each contributed by one file of this command
// (auth.go, ldap.go, kerberos.go, mount.go, ...) through register in an init
// function. A layer adds its flags, then, after flag parsing, builds its
// middleware. Layers are built in ascending order (so a provider can hand a
// checker to the auth layer built after it) and wrapped so that the lowest
// order is the outermost: a request meets them in ascending order.
const (
	orderEdge     = 10 // canonical path, virtual hosts: before any rule looks at the path
	orderProvider = 20 // LDAP, Kerberos: contribute to the auth layer, usually no middleware of their own
	orderAuth     = 30 // authentication and Require, scoped by -auth-location
	orderMount    = 50 // SCRIPT_NAME/PATH_INFO, environments from a parent directory
)

type layer struct {
	name  string
	order int
	// flags registers the layer's flags. May be nil.
	flags func(fs *flag.FlagSet)
	// build returns the layer's middleware, or nil when its flags leave it
	// off. A configuration error stops the command before it serves.
	build func(b *builder) (func(http.Handler) http.Handler, error)
}

// builder is what layers share while the chain is built.
type builder struct {
	logger *slog.Logger
	// mount is the -mount prefix ("" for the root).
	mount string

	// Contributions to the auth layer (auth.go) from provider layers.
	passwordCheckers []auth.PasswordChecker                            // Basic providers (LDAP)
	authenticators   []func(http.Handler) http.Handler                 // schemes with their own middleware (Negotiate)
	requireParsers   map[string]func(args []string) (auth.Rule, error) // extra -require kinds ("ldap-group", ...)

	// closers run when the command shuts down, last registered first.
	closers []func() error
}

var layers []layer

func register(l layer) { layers = append(layers, l) }

func sortedLayers() []layer {
	out := append([]layer(nil), layers...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

// buildChain builds every layer around app, outermost first.
func buildChain(b *builder, app http.Handler) (http.Handler, error) {
	var mws []func(http.Handler) http.Handler
	for _, l := range sortedLayers() {
		if l.build == nil {
			continue
		}
		mw, err := l.build(b)
		if err != nil {
			return nil, err
		}
		if mw != nil {
			mws = append(mws, mw)
		}
	}
	h := app
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h, nil
}
