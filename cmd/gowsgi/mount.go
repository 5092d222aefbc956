package main

import (
	"flag"
	"fmt"
	"net/http"

	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// The routing layers, built on package prefix:
//
//   - edge (orderEdge): -vhost, a request id for the logs, then the
//     canonical path (prefix.Canonical), so that every later rule
//     (-auth-location, the mount, the choice of environment) and the
//     application see the same path. It also sets builder.mount for the
//     layers built after it.
//   - mount (orderMount): -mount (WSGIScriptAlias), or with -env-parent-dir
//     one mount serving every environment of a parent directory
//     (TRAC_ENV_PARENT_DIR), each request carrying its own -env-key.
func init() {
	var (
		mount        string
		envParent    string
		envKey       string
		envPassIndex bool
		envSymlinks  bool
		vhosts       listFlag
	)
	register(layer{
		name:  "edge",
		order: orderEdge,
		flags: func(fs *flag.FlagSet) {
			vhosts = nil // flags are registered anew for each FlagSet (tests)
			fs.StringVar(&mount, "mount", "/", "URL `prefix` the script is mounted at (WSGIScriptAlias)")
			fs.StringVar(&envParent, "env-parent-dir", "", "serve each sub-directory of `DIR` as its own environment under -mount (TRAC_ENV_PARENT_DIR)")
			fs.StringVar(&envKey, "env-key", "trac.env_path", "WSGI environ `key` naming the environment's directory, with -env-parent-dir")
			fs.BoolVar(&envPassIndex, "env-pass-index", false, "with -env-parent-dir, pass the mount point itself to the app (with trac.env_parent_dir) instead of listing the environments")
			fs.BoolVar(&envSymlinks, "env-allow-symlinks-out", false, "with -env-parent-dir, follow environment symlinks that lead outside DIR")
			fs.Var(&vhosts, "vhost", "host `name` to answer for (ServerName/ServerAlias; *.example.com wildcards; repeatable); other hosts get 421. Default: any")
		},
		build: func(b *builder) (func(http.Handler) http.Handler, error) {
			m, err := prefix.CleanPrefix(mount)
			if err != nil {
				return nil, fmt.Errorf("-mount: %w", err)
			}
			b.mount = m
			canon := prefix.CanonicalConfig{Logger: b.logger}.Wrap
			// A request id first, so that every later log line carries it.
			canonical := func(next http.Handler) http.Handler {
				h := canon(next)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					r, _ = reqinfo.Ensure(r)
					h.ServeHTTP(w, r)
				})
			}
			if len(vhosts) == 0 {
				return canonical, nil
			}
			vh, err := prefix.NewVHosts(prefix.VHostConfig{Hosts: []prefix.VHost{{Names: vhosts}}, Logger: b.logger})
			if err != nil {
				return nil, fmt.Errorf("-vhost: %w", err)
			}
			return func(next http.Handler) http.Handler { return vh(canonical(next)) }, nil
		},
	})
	register(layer{
		name:  "mount",
		order: orderMount,
		build: func(b *builder) (func(http.Handler) http.Handler, error) {
			if envParent == "" {
				mw, err := prefix.NewMount(b.mount)
				if err != nil {
					return nil, fmt.Errorf("-mount: %w", err)
				}
				return mw, nil
			}
			mw, err := prefix.NewEnvironments(prefix.EnvConfig{
				Mount:            b.mount,
				ParentDir:        envParent,
				Key:              envKey,
				PassIndex:        envPassIndex,
				AllowSymlinksOut: envSymlinks,
				Logger:           b.logger,
			})
			if err != nil {
				return nil, fmt.Errorf("-env-parent-dir: %w", err)
			}
			return mw, nil
		},
	})
}
