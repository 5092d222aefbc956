package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"syscall"
)

// systemd is what systemd handed the command: a listening socket (socket
// activation: LISTEN_PID and LISTEN_FDS) and a socket to report its state
// to (NOTIFY_SOCKET, sd_notify(3)). Both are taken, and their variables
// removed from the environment, before the workers start, so that the
// workers inherit neither.
type systemd struct {
	ln     net.Listener // nil without socket activation
	notify *net.UnixAddr
	logger *slog.Logger
}

// fromSystemd takes what systemd handed the command, if anything.
func fromSystemd(logger *slog.Logger) (*systemd, error) {
	sd := &systemd{logger: logger}
	if sock := os.Getenv("NOTIFY_SOCKET"); sock != "" {
		os.Unsetenv("NOTIFY_SOCKET")
		// A name starting with @ is in the abstract namespace, which
		// package net reads the same way.
		sd.notify = &net.UnixAddr{Name: sock, Net: "unixgram"}
	}
	pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if fds == "" || pid != strconv.Itoa(os.Getpid()) {
		return sd, nil // none, or meant for another process
	}
	n, err := strconv.Atoi(fds)
	switch {
	case err != nil || n < 1:
		return nil, fmt.Errorf("socket activation: LISTEN_FDS=%q: want a count of sockets", fds)
	case n > 1:
		return nil, fmt.Errorf("socket activation: systemd passed %d sockets; gowsgi serves one (one ListenStream= in the .socket unit)", n)
	}
	const fd = 3 // SD_LISTEN_FDS_START
	syscall.CloseOnExec(fd)
	f := os.NewFile(fd, "LISTEN_FDS")
	ln, err := net.FileListener(f) // a duplicate
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("socket activation: fd %d: %w", fd, err)
	}
	sd.ln = ln
	return sd, nil
}

// listen returns the socket systemd passed, or else a new one on addr.
func (sd *systemd) listen(addr string) (net.Listener, error) {
	if sd.ln != nil {
		ln := sd.ln
		sd.ln = nil
		sd.logger.Info("gowsgi: socket activation: serving the socket systemd passed; -listen is not used", "addr", ln.Addr().String())
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

// close closes the socket systemd passed if it was not used.
func (sd *systemd) close() {
	if sd.ln != nil {
		sd.ln.Close()
	}
}

// ready, reloading and stopping tell systemd the command's state
// (Type=notify units): READY=1 once it serves, RELOADING=1 when SIGHUP
// starts replacing the workers (READY=1 follows), STOPPING=1 when the
// shutdown begins. Nothing is sent without NOTIFY_SOCKET.
func (sd *systemd) ready()    { sd.send("READY=1") }
func (sd *systemd) stopping() { sd.send("STOPPING=1") }
func (sd *systemd) reloading() {
	msg := "RELOADING=1"
	if us, ok := monotonicUsec(); ok {
		msg += "\nMONOTONIC_USEC=" + strconv.FormatUint(us, 10)
	}
	sd.send(msg)
}

// send writes state to the notify socket as one datagram. A failure is
// logged: the service manager may then time the unit out, which says more
// than an error here could.
func (sd *systemd) send(state string) {
	if sd.notify == nil {
		return
	}
	c, err := net.DialUnix("unixgram", nil, sd.notify)
	if err == nil {
		_, err = c.Write([]byte(state))
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		sd.logger.Warn("gowsgi: sd_notify", "state", state, "err", err)
	}
}
