package main

import (
	"flag"
	"net/http"
	"strings"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// Minimal mount until package prefix provides it: whole-segment prefix
// match, SCRIPT_NAME/PATH_INFO through the context, 404 elsewhere.
func init() {
	var mount string
	register(layer{
		name:  "mount",
		order: orderMount,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&mount, "mount", "/", "URL `prefix` the script is mounted at (WSGIScriptAlias)")
		},
		build: func(b *builder) (func(http.Handler) http.Handler, error) {
			m := strings.TrimRight(mount, "/")
			b.mount = m
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					p := r.URL.Path
					if m != "" && p != m && !strings.HasPrefix(p, m+"/") {
						http.NotFound(w, r)
						return
					}
					ctx := reqctx.WithMount(r.Context(), reqctx.Mount{ScriptName: m, PathInfo: p[len(m):]})
					next.ServeHTTP(w, r.WithContext(ctx))
				})
			}, nil
		},
	})
}
