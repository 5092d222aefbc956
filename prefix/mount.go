package prefix

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// CleanPrefix turns a mount point as a user writes it ("/trac", "/trac/",
// "/") into the form [Mount] and [Environments] take: canonical (see
// [Canonicalize]), without a trailing slash, and "" for the root. It
// returns an error for anything else: a relative path, "..", "//", escapes.
func CleanPrefix(p string) (string, error) {
	if p == "" || p == "/" {
		return "", nil
	}
	t := strings.TrimSuffix(p, "/")
	c, err := Canonicalize(t)
	if err != nil {
		return "", fmt.Errorf("prefix: mount point %q: %w", p, err)
	}
	if c != t || strings.HasSuffix(t, "/") {
		return "", fmt.Errorf("prefix: mount point %q: %w: not in canonical form (want %q)", p, ErrInvalidPath, c)
	}
	return t, nil
}

// splitMount reports whether the canonical path p is under the mount point
// m (whole segments; "" is the root) and returns the rest, PATH_INFO.
func splitMount(p, m string) (string, bool) {
	if !strings.HasPrefix(p, m) || len(p) > len(m) && p[len(m)] != '/' {
		return "", false
	}
	return p[len(m):], true
}

// Mount returns middleware that mounts the next handler at prefix, as
// Apache's WSGIScriptAlias: a request whose canonical path is prefix or
// below it (whole segments: "/trac" takes "/trac" and "/trac/x", not
// "/tracker") reaches the next handler with SCRIPT_NAME = prefix and
// PATH_INFO = the rest, recorded in the request context for package wsgi;
// any other request gets 404. The request's URL is not stripped (unlike
// http.StripPrefix): rules further in still see the whole path.
//
// prefix is as [CleanPrefix] returns it ("" mounts at the root, where
// SCRIPT_NAME is "" and PATH_INFO the whole path). Mount panics on any
// other prefix; run user input through CleanPrefix first.
func Mount(prefix string) func(http.Handler) http.Handler {
	if c, err := CleanPrefix(prefix); err != nil || c != prefix {
		panic(fmt.Sprintf("prefix: Mount %q: not as CleanPrefix returns it", prefix))
	}
	return func(next http.Handler) http.Handler {
		return canonical(func(w http.ResponseWriter, r *http.Request) {
			rest, ok := splitMount(r.URL.Path, prefix)
			if !ok {
				http.NotFound(w, r)
				return
			}
			ctx := reqctx.WithMount(r.Context(), reqctx.Mount{ScriptName: prefix, PathInfo: rest})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// MountFrom returns the SCRIPT_NAME and PATH_INFO that [Mount] or
// [Environments] recorded for the request, and whether one did.
func MountFrom(r *http.Request) (scriptName, pathInfo string, ok bool) {
	m, ok := reqctx.MountFrom(r.Context())
	return m.ScriptName, m.PathInfo, ok
}

// EnvironFrom returns the per-request WSGI environ entries recorded for
// the request (such as trac.env_path from [Environments]), a later entry
// overriding an earlier one with the same key; nil when there are none.
func EnvironFrom(r *http.Request) map[string]string {
	kvs := reqctx.EnvironFrom(r.Context())
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}
