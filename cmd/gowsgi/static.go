package main

import (
	"flag"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gowsgi/gowsgi/filewrap"
)

// -static URLPREFIX=DIR serves DIR at URLPREFIX ahead of the application,
// like Apache's "Alias /trac/chrome/site /srv/trac/htdocs". It sits inside
// the auth layer (its files obey -require like the rest) and in front of the
// mount.
func init() {
	var statics listFlag
	register(layer{
		name:  "static",
		order: orderMount - 1,
		flags: func(fs *flag.FlagSet) {
			statics = nil
			fs.Var(&statics, "static", "`URLPREFIX=DIR`: serve the files of DIR at URLPREFIX instead of the app (Alias); repeatable; no listings, no dot files, no symlinks leaving DIR")
		},
		build: func(b *builder) (func(http.Handler) http.Handler, error) {
			if len(statics) == 0 {
				return nil, nil
			}
			type mountedStatic struct {
				prefix string
				h      *filewrap.Static
			}
			var ms []mountedStatic
			for _, v := range statics {
				prefix, dir, err := splitKV("static", v)
				if err != nil {
					return nil, err
				}
				prefix = strings.TrimRight(prefix, "/")
				if !strings.HasPrefix(v, "/") || prefix == "" {
					return nil, fmt.Errorf("-static %q: URLPREFIX must be an absolute path other than /", v)
				}
				for _, m := range ms {
					if m.prefix == prefix {
						return nil, fmt.Errorf("-static %q: %s is already served", v, prefix)
					}
				}
				h, err := filewrap.NewStatic(filewrap.StaticConfig{Root: dir, Prefix: prefix, Logger: b.logger})
				if err != nil {
					return nil, fmt.Errorf("-static %q: %w", v, err)
				}
				b.closers = append(b.closers, h.Close)
				ms = append(ms, mountedStatic{prefix, h})
			}
			// Longest prefix first, so /a/b wins over /a.
			sort.Slice(ms, func(i, j int) bool { return len(ms[i].prefix) > len(ms[j].prefix) })
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					p := r.URL.Path
					for _, m := range ms {
						if rest, ok := strings.CutPrefix(p, m.prefix); ok && (rest == "" || rest[0] == '/') {
							m.h.ServeHTTP(w, r)
							return
						}
					}
					next.ServeHTTP(w, r)
				})
			}, nil
		},
	})
}
