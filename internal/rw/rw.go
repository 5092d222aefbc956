package rw

import "io"

// WriterOnly hides every method of an [io.Writer] but Write, so that
// [io.Copy] into it does not take a ReadFrom shortcut. A wrapper that changes
// the body uses it to keep file bodies going through its own Write.
type WriterOnly struct{ io.Writer }
