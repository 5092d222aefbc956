package filewrap

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/internal/rw"
)

// Errors returned by [Send] and [ServeFile]; test them with [errors.Is].
var (
	// ErrIncomplete means the status line and header were sent but not the
	// whole body: the client must not take the response for complete, so
	// the caller has to abort it (see [Fail]).
	ErrIncomplete = errors.New("filewrap: response body incomplete")
	// ErrNotRegular means the file is not a regular file (a pipe, a
	// directory, a device). Nothing was written.
	ErrNotRegular = errors.New("filewrap: not a regular file")
	// ErrShortFile means the file holds fewer bytes than asked for.
	// Nothing was written.
	ErrShortFile = errors.New("filewrap: file shorter than the requested section")
)

// sendfileMin is the body size from which Send flushes the header on its own
// and hands the body to the writer's ReadFrom (sendfile(2) on a plain TCP
// connection). Below it the body is copied through net/http's buffers with
// the header: a copy of a few kilobytes costs no more than the separate
// header write that sendfile needs.
const sendfileMin = 16 << 10

// sniffLen is how many bytes net/http (and Send) look at to guess a
// Content-Type.
const sniffLen = 512

// Send sends length bytes of f, starting at offset, as the body of a response
// with status. A length of -1 means up to the end of f (nothing when offset is
// past it). f must be a regular file; Send moves its offset.
//
// Header fields already in w.Header() are kept (an application may have set
// Content-Type, ETag, Last-Modified, Cache-Control); Content-Length is always
// set to the number of body bytes that follow, and Transfer-Encoding is
// removed. Without a Content-Type field, one is chosen from the file name's
// extension or, failing that, by sniffing the first bytes of the section; to
// send none, set w.Header()["Content-Type"] = nil.
//
// When status is 200, the method GET or HEAD and the header does not say
// "Accept-Ranges: none", Send answers a Range request with a single range
// (relative to the section) with 206 and Content-Range, and an unsatisfiable
// one with 416, unless an If-Range field fails to match the ETag or
// Last-Modified in w.Header(); a request with several ranges or a malformed
// Range field gets the whole section with 200. A HEAD request gets the header
// only. Statuses that forbid a body (204, 304) are sent without one;
// informational ones (1xx) are refused.
//
// On a plain HTTP/1.x connection the body goes from the file to the socket
// with sendfile(2) through the writer's [io.ReaderFrom] (which the wrappers of
// this module keep); elsewhere (TLS, HTTP/2, a writer without ReadFrom) it is
// copied.
//
// An error wrapping [ErrNotRegular] or [ErrShortFile], or another error
// without [ErrIncomplete], means nothing was written: the caller can still
// answer with an error status. An error wrapping [ErrIncomplete] (the client
// went away, or the file shrank while it was being sent) means the header was
// sent with a Content-Length the body did not reach; the caller must then
// abort the response with panic([http.ErrAbortHandler]) so that no client
// and no proxy takes it for complete. [Fail] does both and logs.
func Send(w http.ResponseWriter, r *http.Request, status int, f *os.File, offset, length int64) error {
	if f == nil {
		return errors.New("filewrap: Send with a nil file")
	}
	if offset < 0 || length < -1 {
		return fmt.Errorf("filewrap: Send: invalid section offset %d length %d", offset, length)
	}
	if status < 200 || status > 999 {
		return fmt.Errorf("filewrap: Send: invalid final status %d", status)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("filewrap: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s (%s)", ErrNotRegular, f.Name(), fi.Mode().Type())
	}
	size := fi.Size()
	switch {
	case length == -1:
		length = max(size-offset, 0)
	case offset > size || length > size-offset:
		return fmt.Errorf("%w: %s has %d bytes, asked for %d from %d", ErrShortFile, f.Name(), size, length, offset)
	}

	h := w.Header()
	h.Del("Transfer-Encoding")
	if !bodyAllowed(status) {
		h.Del("Content-Length")
		w.WriteHeader(status)
		return nil
	}

	start, n := offset, length
	if status == http.StatusOK && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !strings.EqualFold(h.Get("Accept-Ranges"), "none") {
		if h.Get("Accept-Ranges") == "" {
			h.Set("Accept-Ranges", "bytes")
		}
		if spec := r.Header.Get("Range"); spec != "" && length > 0 && ifRangeMatches(r, h) {
			rg, err := parseRange(spec, length)
			switch {
			case errors.Is(err, errUnsatisfiable):
				h.Set("Content-Range", "bytes */"+strconv.FormatInt(length, 10))
				for _, k := range []string{"Content-Encoding", "Etag", "Last-Modified", "Content-Disposition"} {
					h.Del(k)
				}
				writePlain(w, r, http.StatusRequestedRangeNotSatisfiable)
				return nil
			case err == nil:
				start += rg.start
				n = rg.length
				status = http.StatusPartialContent
				h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rg.start, rg.start+rg.length-1, length))
			}
		}
	}

	if _, ok := h["Content-Type"]; !ok {
		h.Set("Content-Type", contentType(f, offset, length))
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead || n == 0 {
		return nil
	}
	sent, err := copyBody(w, f, start, n)
	if err != nil {
		return fmt.Errorf("%w: sent %d of %d bytes of %s: %w", ErrIncomplete, sent, n, f.Name(), err)
	}
	if sent < n {
		return fmt.Errorf("%w: %s ended after %d of %d bytes (it shrank while being sent)", ErrIncomplete, f.Name(), sent, n)
	}
	return nil
}

// copyBody sends n bytes of f from start through w, whose header has been
// written.
func copyBody(w http.ResponseWriter, f *os.File, start, n int64) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok && n >= sendfileMin {
		// Without the header on the wire, net/http copies the first 512
		// bytes through user space to sniff a Content-Type it will not
		// need; flushing first sends the whole body by ReadFrom.
		if err := http.NewResponseController(w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return 0, err
		}
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return 0, err
		}
		// net/http's ReadFrom hands an *io.LimitedReader around an
		// *os.File to the TCP connection, which sends it with sendfile(2).
		return rf.ReadFrom(&io.LimitedReader{R: f, N: n})
	}
	return io.Copy(rw.WriterOnly{Writer: w}, io.NewSectionReader(f, start, n))
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// contentType guesses the type of the section from the file name, then from
// its first bytes.
func contentType(f *os.File, offset, length int64) string {
	if t := mime.TypeByExtension(filepath.Ext(f.Name())); t != "" {
		return t
	}
	buf := make([]byte, min(length, sniffLen))
	k, _ := io.ReadFull(io.NewSectionReader(f, offset, int64(len(buf))), buf)
	return http.DetectContentType(buf[:k])
}

// writePlain answers with status and its text as a plain-text body.
func writePlain(w http.ResponseWriter, r *http.Request, status int) {
	msg := http.StatusText(status) + "\n"
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, msg)
	}
}

// Fail finishes a response after [Send] or [ServeFile] returned err, and logs
// err with the request's attributes to logger (nil means slog.Default()).
// When err wraps [ErrIncomplete] the header is already out, so Fail aborts
// the response by panicking with [http.ErrAbortHandler]: net/http then closes
// the HTTP/1.x connection (or resets the HTTP/2 stream) without logging a
// stack, and the client sees a truncated body as an error. Otherwise nothing
// was written and Fail answers 500 Internal Server Error. Fail does nothing
// when err is nil.
func Fail(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	if err == nil {
		return
	}
	log := reqctx.Logger(logger)
	attrs := append(reqctx.LogAttrs(r), slog.Any("err", err))
	if errors.Is(err, ErrIncomplete) {
		if clientGone(r, err) {
			log.Info("filewrap: client went away during the body", attrs...)
		} else {
			log.Error("filewrap: aborting an incomplete response", attrs...)
		}
		panic(http.ErrAbortHandler)
	}
	log.Error("filewrap: cannot send file", attrs...)
	h := w.Header()
	for _, k := range []string{"Content-Encoding", "Content-Range", "Etag", "Last-Modified", "Accept-Ranges", "Content-Disposition"} {
		h.Del(k)
	}
	writePlain(w, r, http.StatusInternalServerError)
}

func clientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
