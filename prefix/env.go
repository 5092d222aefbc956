package prefix

import (
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// EnvConfig configures [NewEnvironments].
type EnvConfig struct {
	// Mount is where the environments are mounted, cleaned by
	// [CleanPrefix]: "/trac" (or "/trac/") serves /trac/alpha/... from
	// ParentDir/alpha. "" or "/" means the root.
	Mount string
	// ParentDir is the directory whose sub-directories are the
	// environments (TRAC_ENV_PARENT_DIR). Required; it must exist. Its
	// entries are looked up on every request, so environments appear and
	// disappear without a restart.
	ParentDir string
	// Key is the per-request WSGI environ entry that names the chosen
	// environment's directory. "" means "trac.env_path".
	Key string
	// PassIndex hands requests for the mount point itself (Mount and
	// Mount + "/") to the application, with SCRIPT_NAME = Mount, and
	// ParentKey set to ParentDir so that Trac renders its own project
	// index. False (the default) answers them with a plain HTML list of the
	// environments.
	PassIndex bool
	// ParentKey is the environ entry set on index requests passed to the
	// application when PassIndex is true. "" means "trac.env_parent_dir".
	ParentKey string
	// AllowSymlinksOut lets an environment be a symbolic link that
	// resolves outside ParentDir. False (the default) answers 404 for one;
	// links that stay inside ParentDir are always followed.
	AllowSymlinksOut bool
	// Logger receives the reason for refused environments. nil means
	// slog.Default().
	Logger *slog.Logger
}

type environments struct {
	cfg    EnvConfig
	parent string // ParentDir, absolute and with symlinks resolved
	log    *slog.Logger
}

// NewEnvironments returns middleware that serves every sub-directory of
// cfg.ParentDir as its own environment under cfg.Mount, as mod_wsgi with
// Trac's TRAC_ENV_PARENT_DIR does, but decided here rather than in the
// application: a request for Mount/alpha/x reaches the next handler with
// SCRIPT_NAME = Mount/alpha, PATH_INFO = /x and the environ entry cfg.Key =
// ParentDir/alpha, recorded in the request's [reqinfo.Record] for package
// wsgi (read them there with [reqinfo.Record.Mount] and
// [reqinfo.Record.LookupEnviron]).
//
// An environment name must be the name of a directory in ParentDir that
// does not start with "." (so no "..", no hidden directories) and, unless
// AllowSymlinksOut, does not resolve outside ParentDir; anything else gets
// 404, as does a request outside Mount. Paths are canonical (see
// [Canonicalize]) before the name is taken, so "/trac/./alpha" and
// "/trac//alpha" choose alpha, and "/trac/%2e%2e" is refused.
func NewEnvironments(cfg EnvConfig) (func(http.Handler) http.Handler, error) {
	m, err := CleanPrefix(cfg.Mount)
	if err != nil {
		return nil, err
	}
	cfg.Mount = m
	if cfg.ParentDir == "" {
		return nil, errors.New("prefix: environments: ParentDir is required")
	}
	abs, err := filepath.Abs(cfg.ParentDir)
	if err != nil {
		return nil, fmt.Errorf("prefix: environments: %w", err)
	}
	parent, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("prefix: environments: %w", err)
	}
	if fi, err := os.Stat(parent); err != nil {
		return nil, fmt.Errorf("prefix: environments: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("prefix: environments: %s is not a directory", cfg.ParentDir)
	}
	if cfg.Key == "" {
		cfg.Key = "trac.env_path"
	}
	if cfg.ParentKey == "" {
		cfg.ParentKey = "trac.env_parent_dir"
	}
	cfg.ParentDir = abs
	e := &environments{cfg: cfg, parent: parent, log: reqctx.Logger(cfg.Logger)}
	return e.wrap, nil
}

func (e *environments) wrap(next http.Handler) http.Handler {
	return canonical(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := splitMount(r.URL.Path, e.cfg.Mount)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if rest == "" || rest == "/" {
			if !e.cfg.PassIndex {
				e.index(w, r)
				return
			}
			r, rec := reqinfo.Ensure(r)
			rec.SetMount(reqinfo.Mount{ScriptName: e.cfg.Mount, PathInfo: rest})
			rec.SetEnviron(e.cfg.ParentKey, e.cfg.ParentDir)
			next.ServeHTTP(w, r)
			return
		}
		name, tail, slash := strings.Cut(rest[1:], "/")
		dir, err := e.lookup(name)
		if err != nil {
			e.log.Info("prefix: no such environment", append(reqctx.LogAttrs(r), slog.Any("err", err))...)
			http.NotFound(w, r)
			return
		}
		if slash {
			tail = "/" + tail
		}
		r, rec := reqinfo.Ensure(r)
		rec.SetMount(reqinfo.Mount{ScriptName: e.cfg.Mount + "/" + name, PathInfo: tail})
		rec.SetEnviron(e.cfg.Key, dir)
		next.ServeHTTP(w, r)
	})
}

// lookup returns the directory of environment name, or why it is not one.
func (e *environments) lookup(name string) (string, error) {
	if name == "" || name[0] == '.' || strings.ContainsAny(name, "/\\\x00") {
		return "", fmt.Errorf("prefix: environment name %q refused", name)
	}
	dir := filepath.Join(e.cfg.ParentDir, name)
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("prefix: environment %q: %w", name, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return "", fmt.Errorf("prefix: environment %q: %w", name, err)
		}
		if !e.cfg.AllowSymlinksOut && !strings.HasPrefix(target, e.parent+string(filepath.Separator)) {
			return "", fmt.Errorf("prefix: environment %q links to %s, outside %s", name, target, e.parent)
		}
		if fi, err = os.Stat(target); err != nil {
			return "", fmt.Errorf("prefix: environment %q: %w", name, err)
		}
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("prefix: environment %q is not a directory", name)
	}
	return dir, nil
}

// Names returns the environments that [NewEnvironments] would serve now,
// sorted: the directories of parentDir that are not hidden and, unless
// allowSymlinksOut, do not resolve outside it.
func Names(parentDir string, allowSymlinksOut bool) ([]string, error) {
	abs, err := filepath.Abs(parentDir)
	if err != nil {
		return nil, fmt.Errorf("prefix: environments: %w", err)
	}
	parent, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("prefix: environments: %w", err)
	}
	e := &environments{cfg: EnvConfig{ParentDir: abs, AllowSymlinksOut: allowSymlinksOut}, parent: parent}
	return e.names()
}

func (e *environments) names() ([]string, error) {
	ents, err := os.ReadDir(e.cfg.ParentDir)
	if err != nil {
		return nil, fmt.Errorf("prefix: environments: %w", err)
	}
	var out []string
	for _, ent := range ents {
		if _, err := e.lookup(ent.Name()); err == nil {
			out = append(out, ent.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// index answers the mount point with the list of environments.
func (e *environments) index(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	names, err := e.names()
	if err != nil {
		e.log.Error("prefix: listing environments", append(reqctx.LogAttrs(r), slog.Any("err", err))...)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Available Projects</title></head>\n<body><h1>Available Projects</h1>\n<ul>\n")
	for _, n := range names {
		href := (&url.URL{Path: e.cfg.Mount + "/" + n + "/"}).EscapedPath()
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(href), html.EscapeString(n))
	}
	b.WriteString("</ul>\n</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(b.String()))
}
