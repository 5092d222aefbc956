package filewrap

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"time"
)

// ETag returns the entity tag ServeFile gives a file: a strong tag made of
// its size and modification time, as Apache's default "FileETag MTime Size".
// It changes whenever the file is rewritten (with a new size or time).
func ETag(fi fs.FileInfo) string {
	return `"` + strconv.FormatInt(fi.Size(), 16) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 16) + `"`
}

// ServeFile answers r with the whole of f, a regular file, the way
// [http.ServeContent] does, but through [Send] (sendfile(2), Content-Length
// always, ranges).
//
// Unless w.Header() already has them, it sets Last-Modified from the file's
// modification time, ETag from [ETag] and Content-Type from the name's
// extension or the first bytes. It then evaluates the preconditions of
// RFC 9110 section 13.2.2 against those fields: If-Match and
// If-Unmodified-Since (412 Precondition Failed), If-None-Match and
// If-Modified-Since (304 Not Modified for GET and HEAD), and lets Send handle
// Range and If-Range.
//
// Its errors are those of Send; pass them to [Fail].
func ServeFile(w http.ResponseWriter, r *http.Request, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("filewrap: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s (%s)", ErrNotRegular, f.Name(), fi.Mode().Type())
	}
	h := w.Header()
	if mt := fi.ModTime(); h.Get("Last-Modified") == "" && mt.Unix() > 0 {
		h.Set("Last-Modified", mt.UTC().Format(http.TimeFormat))
	}
	if _, ok := h["Etag"]; !ok {
		h.Set("Etag", ETag(fi))
	}
	switch status := preconditions(r, h); status {
	case http.StatusPreconditionFailed:
		writePlain(w, r, status)
		return nil
	case http.StatusNotModified:
		h.Del("Content-Type")
		h.Del("Content-Length")
		h.Del("Content-Encoding")
		w.WriteHeader(status)
		return nil
	}
	return Send(w, r, http.StatusOK, f, 0, -1)
}

// preconditions evaluates the conditional request fields of r against the
// validators in h, in the order of RFC 9110 section 13.2.2, and returns 412,
// 304 or 0 (go on).
func preconditions(r *http.Request, h http.Header) int {
	etag := h.Get("Etag")
	lastMod := h.Get("Last-Modified")
	getOrHead := r.Method == http.MethodGet || r.Method == http.MethodHead
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagListMatches(im, etag, strongMatch) {
			return http.StatusPreconditionFailed
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if mod, ok := modifiedSince(lastMod, ius); ok && mod {
			return http.StatusPreconditionFailed
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagListMatches(inm, etag, weakMatch) {
			if getOrHead {
				return http.StatusNotModified
			}
			return http.StatusPreconditionFailed
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" && getOrHead {
		if mod, ok := modifiedSince(lastMod, ims); ok && !mod {
			return http.StatusNotModified
		}
	}
	return 0
}

// modifiedSince reports whether the Last-Modified value lastMod is later than
// the date in a condition field. ok is false when either is missing or
// unparsable: RFC 9110 says to ignore the condition then.
func modifiedSince(lastMod, date string) (modified, ok bool) {
	t, err := http.ParseTime(date)
	if err != nil {
		return false, false
	}
	lm, err := http.ParseTime(lastMod)
	if err != nil {
		return false, false
	}
	return lm.Truncate(time.Second).After(t), true
}
