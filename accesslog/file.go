package accesslog

import (
	"fmt"
	"os"
	"sync"
)

// File is a log file that can be reopened at the same path, after a
// rotation moved it away (logrotate's postrotate, which signals the server
// as it does nginx with SIGUSR1). Its methods are safe for concurrent use.
type File struct {
	path string
	mode os.FileMode

	mu sync.Mutex
	f  *os.File
}

// OpenFile opens path for appending, creating it with mode perm if needed.
func OpenFile(path string, perm os.FileMode) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, perm)
	if err != nil {
		return nil, fmt.Errorf("accesslog: %w", err)
	}
	return &File{path: path, mode: perm, f: f}, nil
}

// Write appends p to the file.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return 0, os.ErrClosed
	}
	return f.f.Write(p)
}

// Reopen opens the path again and writes there from now on, closing the
// file it wrote before. If the path cannot be opened, the old file is
// kept and the error returned.
func (f *File) Reopen() error {
	nf, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, f.mode)
	if err != nil {
		return fmt.Errorf("accesslog: reopening: %w", err)
	}
	f.mu.Lock()
	old := f.f
	f.f = nf
	f.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// Close closes the file.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return os.ErrClosed
	}
	err := f.f.Close()
	f.f = nil
	return err
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }
