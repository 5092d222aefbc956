// Package rw holds what the module's http.ResponseWriter wrappers share.
//
// [WriterOnly] hides every method of an [io.Writer] but Write, so that
// [io.Copy] into it does not take a ReadFrom shortcut: a wrapper that
// changes the body (compression, a filter), or a copy that must go through
// Write (a fallback when sendfile is not available), uses it.
//
// It is internal: the public packages each expose only what their users need.
package rw
