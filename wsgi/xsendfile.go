package wsgi

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gowsgi/gowsgi/filewrap"
	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// The fields of an application's response header that are meant for the
// server, not the client: the hop-by-hop fields and Connection: close, and
// X-Sendfile (Apache's mod_xsendfile, lighttpd; Trac's [trac]
// use_xsendfile, Flask's USE_X_SENDFILE, django-sendfile). parseHead
// separates them from the header; this file acts on them.

// xsendfileDirs checks Config.XSendFilePath and returns the directories
// absolute and with their symbolic links resolved, as the paths from the
// application are compared with them.
func xsendfileDirs(dirs []string) ([]string, error) {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("wsgi: XSendFilePath %q: %w", d, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("wsgi: XSendFilePath %q: %w", d, err)
		}
		fi, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("wsgi: XSendFilePath %q: %w", d, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("wsgi: XSendFilePath %q is not a directory", d)
		}
		out = append(out, real)
	}
	return out, nil
}

// headFacts acts on what parseHead took out of the application's header:
// it logs the dropped fields, notes Connection: close, and keeps the
// X-Sendfile path when Config.XSendFilePath allows X-Sendfile.
func (ex *exchange) headFacts(rh *responseHead) {
	h := ex.h
	ex.closeConn = rh.close
	if rh.dropped != "" && !h.hopLogged.Load() && h.hopLogged.CompareAndSwap(false, true) {
		h.log.Debug("wsgi: hop-by-hop header from the application dropped (logged once)", append(reqctx.LogAttrs(ex.r), "header", rh.dropped)...)
	}
	ex.xsendfile = ""
	switch {
	case rh.xsendfile != "" && len(h.cfg.XSendFilePath) == 0:
		h.log.Warn("wsgi: X-Sendfile from the application dropped: no XSendFilePath configured", append(reqctx.LogAttrs(ex.r), "file", rh.xsendfile)...)
	case rh.xsendfile != "":
		ex.xsendfile = rh.xsendfile
		// The application's Content-Length was for the file, or for
		// the body it sends and that is dropped: filewrap sets its own.
		ex.contentLen = -1
	}
	if rh.internal != "" {
		h.log.Warn("wsgi: server-internal header from the application dropped", append(reqctx.LogAttrs(ex.r), "header", rh.internal)...)
	}
}

// sendXFile answers with the file named by the application's X-Sendfile in
// place of the body the application sent, with the application's status
// and header (but its Content-Length). A status 200 goes through
// filewrap.ServeFile (conditional requests, ranges, ETag), another status
// through filewrap.Send. A path outside XSendFilePath is answered 403, a
// missing file 404, each with a log line.
func (ex *exchange) sendXFile() {
	f, status, err := openXFile(ex.h.cfg.XSendFilePath, ex.xsendfile)
	if err != nil {
		level := slog.LevelWarn
		if status == http.StatusForbidden {
			level = slog.LevelError
		}
		ex.h.stats.fail("xsendfile")
		ex.h.log.Log(ex.r.Context(), level, "wsgi: X-Sendfile refused: "+errString(err), append(reqctx.LogAttrs(ex.r), "file", ex.xsendfile)...)
		if ex.closeConn {
			ex.w.Header().Set("Connection", "close")
		}
		ex.failStatus(status, fmt.Errorf("%w: %w", ErrXSendFile, err))
		return
	}
	defer f.Close()
	ex.wroteHeader = true
	ex.applyHeader()
	ex.w.Header().Del("Content-Length")
	if ex.status == http.StatusOK {
		err = filewrap.ServeFile(ex.w, ex.r, f)
	} else {
		err = filewrap.Send(ex.w, ex.r, ex.status, f, 0, -1)
	}
	if err != nil {
		filewrap.Fail(ex.w, ex.r, ex.h.log, err)
	}
}

// errOutside is a path from the application outside every XSendFilePath
// directory.
var errOutside = errors.New("wsgi: path outside XSendFilePath")

// openXFile opens p, an X-Sendfile path, if after filepath.Clean and with
// its symbolic links resolved it names a regular file under one of dirs
// (resolved by xsendfileDirs). It returns the status to answer otherwise:
// 403 for a relative path, a path outside dirs or a file that is not
// regular, 404 for a missing file.
//
// The file is opened through an os.Root of its directory, so that a
// symbolic link changed after the check cannot lead out of it either.
func openXFile(dirs []string, p string) (*os.File, int, error) {
	if !filepath.IsAbs(p) {
		return nil, http.StatusForbidden, fmt.Errorf("%w: %q is not absolute", errOutside, p)
	}
	clean := filepath.Clean(p)
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		status := openStatus(err)
		if underAny(dirs, clean) == "" {
			// No existence oracle outside the directories.
			status = http.StatusForbidden
		}
		return nil, status, fmt.Errorf("wsgi: %w", err)
	}
	if dir := underAny(dirs, real); dir != "" {
		rel, _ := filepath.Rel(dir, real)
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, openStatus(err), fmt.Errorf("wsgi: %w", err)
		}
		// O_NONBLOCK: opening a FIFO must not wait for a writer.
		f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		root.Close()
		if err != nil {
			return nil, openStatus(err), fmt.Errorf("wsgi: %w", err)
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			f.Close()
			return nil, http.StatusForbidden, fmt.Errorf("wsgi: %s is not a regular file", real)
		}
		return f, 0, nil
	}
	return nil, http.StatusForbidden, fmt.Errorf("%w: %s", errOutside, real)
}

// underAny returns the directory of dirs that p lies under, or "".
func underAny(dirs []string, p string) string {
	for _, dir := range dirs {
		if rel, err := filepath.Rel(dir, p); err == nil && filepath.IsLocal(rel) {
			return dir
		}
	}
	return ""
}

// openStatus is the status for a file that could not be resolved or
// opened: 404 when it does not exist, 403 otherwise (permissions, a link
// leading out of its directory).
func openStatus(err error) int {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return http.StatusNotFound
	}
	return http.StatusForbidden
}
