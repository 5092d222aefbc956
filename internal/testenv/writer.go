package testenv

import "net/http"

// DiscardWriter is an http.ResponseWriter that keeps the header map it is
// given and discards everything else, allocating nothing: for tests that
// count a handler's allocations. A zero DiscardWriter has a nil header
// map, which a handler cannot set headers in; make one with
// NewDiscardWriter.
type DiscardWriter struct{ h http.Header }

// NewDiscardWriter returns a DiscardWriter with an empty header map.
func NewDiscardWriter() DiscardWriter { return DiscardWriter{http.Header{}} }

// Header returns the header map, which the caller may clear between calls.
func (w DiscardWriter) Header() http.Header { return w.h }

// Write discards b.
func (w DiscardWriter) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader discards the status.
func (w DiscardWriter) WriteHeader(int) {}
