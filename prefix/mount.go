package prefix

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// CleanPrefix turns a mount point as a user writes it ("/trac", "/trac/",
// "/") into the form a mount point is kept in: canonical (see
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

// NewMount returns middleware that mounts the next handler at prefix, as
// Apache's WSGIScriptAlias: a request whose canonical path is prefix or
// below it (whole segments: "/trac" takes "/trac" and "/trac/x", not
// "/tracker") reaches the next handler with SCRIPT_NAME = prefix and
// PATH_INFO = the rest, recorded in the request's [reqinfo.Record] for
// package wsgi and any layer around (made here if no outer layer made
// one); any other request gets 404. The request's URL is not stripped (unlike
// http.StripPrefix): rules further in still see the whole path.
//
// prefix is written as a user would ("/trac", "/trac/", or "/" for the
// root, where SCRIPT_NAME is "" and PATH_INFO the whole path) and cleaned
// by [CleanPrefix]; NewMount returns CleanPrefix's error for anything that
// is not a canonical absolute path.
func NewMount(prefix string) (func(http.Handler) http.Handler, error) {
	prefix, err := CleanPrefix(prefix)
	if err != nil {
		return nil, err
	}
	return mount(prefix), nil
}

// MustMount is [NewMount] for a prefix written in the program (examples,
// tests): it panics where NewMount returns an error.
func MustMount(prefix string) func(http.Handler) http.Handler {
	return must(NewMount(prefix))
}

func mount(prefix string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return canonical(func(w http.ResponseWriter, r *http.Request) {
			rest, ok := splitMount(r.URL.Path, prefix)
			if !ok {
				http.NotFound(w, r)
				return
			}
			r, rec := reqinfo.Ensure(r)
			rec.SetMount(reqinfo.Mount{ScriptName: prefix, PathInfo: rest})
			next.ServeHTTP(w, r)
		})
	}
}
