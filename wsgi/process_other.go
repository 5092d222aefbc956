//go:build unix && !linux && !freebsd

package wsgi

import "syscall"

// socketpair makes a pair of connected Unix stream sockets, both
// close-on-exec. Without SOCK_CLOEXEC (macOS, OpenBSD, ...) the flag is set
// under syscall.ForkLock, as package net does, so that no exec in between
// inherits them.
func socketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return fds, err
	}
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	return fds, nil
}

// workerAttr is nil: these systems have no parent-death signal Go can set.
// A worker notices the Go process's death by EOF on its socket, the next
// time it reads one (between requests, or when its request reads the body
// or writes the response).
func workerAttr() *syscall.SysProcAttr { return nil }
