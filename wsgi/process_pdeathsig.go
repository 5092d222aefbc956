//go:build linux || freebsd

package wsgi

import "syscall"

// socketpair makes a pair of connected Unix stream sockets, both
// close-on-exec (the child's end is passed with exec.Cmd.ExtraFiles, which
// clears the flag in the child).
func socketpair() ([2]int, error) {
	return syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
}

// workerAttr makes the workers die with the Go process: the kernel sends
// them SIGKILL when it goes (prctl PR_SET_PDEATHSIG on Linux, procctl
// PROC_PDEATHSIG_CTL on FreeBSD). The adapter also exits on EOF of its
// socket, which covers the rest.
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
