// Package rw wraps an [http.ResponseWriter] for middleware that needs to see
// what a handler answers (its status, the size of its body) or to adjust the
// header just before it is sent, without losing the fast paths of the writer
// underneath.
//
// A [Writer] forwards [io.ReaderFrom] (so a file body still reaches
// sendfile(2) through net/http), [http.Flusher] and the error-returning
// FlushError, and has Unwrap so that [http.NewResponseController] reaches the
// connection's deadlines, full duplex and Hijack through any number of
// Writers. It never changes the body: that is what makes forwarding ReadFrom
// correct. A wrapper that does change the body (compression, a filter) must
// not forward ReadFrom; [WriterOnly] hides it.
//
// Use it from any middleware of this module that needs the status or the
// size of a response:
//
//	ww := rw.Wrap(w)
//	next.ServeHTTP(ww, r)
//	log(ww.Status(), ww.Written())
//
// It is internal: the public packages each expose only what their users need.
package rw
