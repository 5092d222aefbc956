package filewrap

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// StaticConfig configures a [Static] handler.
type StaticConfig struct {
	// Root is the directory served. Required; it must exist when
	// [NewStatic] is called.
	Root string

	// Prefix is the URL path under which Root is served, such as
	// "/trac/chrome/site": it is removed from the request path before the
	// lookup, and a request outside it gets 404. "" (or "/") means the
	// handler sees paths relative to Root already (for example behind
	// [http.StripPrefix]).
	Prefix string

	// FollowSymlinks lets symbolic links point anywhere. False (the default)
	// follows a link only while it stays inside Root; one that leaves it is
	// answered 404.
	FollowSymlinks bool

	// ServeHidden serves files and directories whose name starts with a dot.
	// False (the default) answers 404 for any path with such a segment
	// (.htaccess, .git, .env).
	ServeHidden bool

	// Index lists the file names tried, in order, for a request naming a
	// directory (Apache's DirectoryIndex). Nil means none.
	Index []string

	// Listing answers a request for a directory without an index file with
	// an HTML list of its entries (hidden ones left out unless
	// ServeHidden). False (the default) answers 403 Forbidden.
	Listing bool

	// CacheControl, when not "", is sent as the Cache-Control field of
	// every file served. "" sends none.
	CacheControl string

	// Logger receives the errors met while serving (not 404s).
	// Nil means slog.Default().
	Logger *slog.Logger
}

// Static serves the files of a directory: GET and HEAD only, with
// conditional requests, single ranges and sendfile(2) as [ServeFile], and
// without ever leaving its root (see the package's Security section). Build
// it with [NewStatic]; close it with Close when done.
type Static struct {
	cfg    StaticConfig
	root   *os.Root
	prefix string
	log    *slog.Logger
}

var _ http.Handler = (*Static)(nil)

// NewStatic checks cfg and opens its Root.
func NewStatic(cfg StaticConfig) (*Static, error) {
	if cfg.Root == "" {
		return nil, errors.New("filewrap: StaticConfig.Root is empty")
	}
	prefix := strings.TrimRight(cfg.Prefix, "/")
	if cfg.Prefix != "" && !strings.HasPrefix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("filewrap: StaticConfig.Prefix %q does not start with /", cfg.Prefix)
	}
	for _, name := range cfg.Index {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return nil, fmt.Errorf("filewrap: StaticConfig.Index: bad file name %q", name)
		}
	}
	abs, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("filewrap: StaticConfig.Root: %w", err)
	}
	cfg.Root = abs
	root, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("filewrap: StaticConfig.Root: %w", err)
	}
	fi, err := root.Stat(".")
	if err != nil || !fi.IsDir() {
		root.Close()
		return nil, fmt.Errorf("filewrap: StaticConfig.Root %s is not a directory", cfg.Root)
	}
	cfg.Index = slices.Clone(cfg.Index)
	return &Static{cfg: cfg, root: root, prefix: prefix, log: reqctx.Logger(cfg.Logger)}, nil
}

// Close releases the root directory.
func (s *Static) Close() error { return s.root.Close() }

// ServeHTTP serves the file r names.
func (s *Static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writePlain(w, r, http.StatusMethodNotAllowed)
		return
	}
	name, dirSlash, ok := s.resolve(r)
	if !ok {
		writePlain(w, r, http.StatusNotFound)
		return
	}
	f, err := s.open(name)
	if err != nil {
		s.openFailed(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.log.Error("filewrap: static", append(reqctx.LogAttrs(r), slog.Any("err", err))...)
		writePlain(w, r, http.StatusInternalServerError)
		return
	}
	switch {
	case fi.Mode().IsRegular():
		if dirSlash {
			// "file.css/" names no file (Apache answers 404 too).
			writePlain(w, r, http.StatusNotFound)
			return
		}
		s.serveFile(w, r, f)
	case fi.IsDir():
		s.serveDir(w, r, f, name, dirSlash)
	default:
		// Devices, sockets, FIFOs: never.
		writePlain(w, r, http.StatusForbidden)
	}
}

// resolve turns the request path into a name relative to the root, or
// reports that it must be refused. dirSlash reports a trailing slash.
func (s *Static) resolve(r *http.Request) (name string, dirSlash, ok bool) {
	p := r.URL.Path
	if s.prefix != "" {
		rest, found := strings.CutPrefix(p, s.prefix)
		if !found || rest != "" && rest[0] != '/' {
			return "", false, false
		}
		p = rest
	}
	if p == "" {
		p = "/"
	}
	// An escaped slash or backslash would look like a separator once
	// decoded; NUL ends a C string.
	raw := strings.ToLower(r.URL.RawPath)
	if p[0] != '/' || strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.ContainsAny(p, "\\\x00") {
		return "", false, false
	}
	dirSlash = strings.HasSuffix(p, "/")
	p = strings.TrimSuffix(p[1:], "/")
	if p == "" {
		return ".", dirSlash, true
	}
	for seg := range strings.SplitSeq(p, "/") {
		// "" is "//"; "." and ".." (also when sent as %2e) never reach
		// the file system.
		if seg == "" || seg == "." || seg == ".." || seg[0] == '.' && !s.cfg.ServeHidden {
			return "", false, false
		}
	}
	return p, dirSlash, true
}

// open opens name for reading without blocking on a FIFO. (For a regular
// file, package os clears O_NONBLOCK again when the descriptor turns out not
// to be pollable, so reads and sendfile block on the disk as usual.)
func (s *Static) open(name string) (*os.File, error) {
	const flags = os.O_RDONLY | syscall.O_NONBLOCK
	if s.cfg.FollowSymlinks {
		return os.OpenFile(filepath.Join(s.cfg.Root, filepath.FromSlash(name)), flags, 0)
	}
	return s.root.OpenFile(name, flags, 0)
}

func (s *Static) openFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ELOOP):
		writePlain(w, r, http.StatusNotFound)
	case errors.Is(err, fs.ErrPermission):
		writePlain(w, r, http.StatusForbidden)
	default:
		// Includes os.Root's "path escapes from parent" for a symlink
		// leaving the root: logged, answered as if absent.
		s.log.Warn("filewrap: static: refused", append(reqctx.LogAttrs(r), slog.Any("err", err))...)
		writePlain(w, r, http.StatusNotFound)
	}
}

func (s *Static) serveFile(w http.ResponseWriter, r *http.Request, f *os.File) {
	if s.cfg.CacheControl != "" {
		w.Header().Set("Cache-Control", s.cfg.CacheControl)
	}
	Fail(w, r, s.log, ServeFile(w, r, f))
}

func (s *Static) serveDir(w http.ResponseWriter, r *http.Request, dir *os.File, name string, dirSlash bool) {
	if len(s.cfg.Index) == 0 && !s.cfg.Listing {
		writePlain(w, r, http.StatusForbidden)
		return
	}
	if !dirSlash {
		// Relative links in an index page need the slash (mod_dir's
		// DirectorySlash).
		u := *r.URL
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
		http.Redirect(w, r, (&url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String(), http.StatusMovedPermanently)
		return
	}
	for _, idx := range s.cfg.Index {
		f, err := s.open(path.Join(name, idx))
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err == nil && fi.Mode().IsRegular() {
			defer f.Close()
			s.serveFile(w, r, f)
			return
		}
		f.Close()
	}
	if !s.cfg.Listing {
		writePlain(w, r, http.StatusForbidden)
		return
	}
	s.list(w, r, dir)
}

// list writes an HTML list of the entries of dir.
func (s *Static) list(w http.ResponseWriter, r *http.Request, dir *os.File) {
	entries, err := dir.ReadDir(-1)
	if err != nil {
		s.log.Error("filewrap: static: listing", append(reqctx.LogAttrs(r), slog.Any("err", err))...)
		writePlain(w, r, http.StatusInternalServerError)
		return
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	var b strings.Builder
	title := html.EscapeString(r.URL.Path)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of %s</title></head>\n<body><h1>Index of %s</h1>\n<ul>\n", title, title)
	for _, e := range entries {
		n := e.Name()
		if n[0] == '.' && !s.cfg.ServeHidden {
			continue
		}
		if e.IsDir() {
			n += "/"
		}
		href := (&url.URL{Path: "./" + n}).String()
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(href), html.EscapeString(n))
	}
	b.WriteString("</ul></body></html>\n")
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", fmt.Sprint(b.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, b.String())
	}
}
