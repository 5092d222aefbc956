package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"github.com/gowsgi/gowsgi/wsgi"
)

// privilegesConfig is the user the command runs as once its ports are
// bound (Apache's User and Group).
//
// Started as root with User, the command binds its listening socket,
// opens what it needs as root (everything [serve] opens before its call to
// [dropPrivileges]), starts the Python workers as User, then switches
// itself to User for good: the Go process, which parses every request
// from the network, keeps no root rights. What it opens later, it opens
// as User: the workers it starts afterwards (reloads, recycling) run as
// User because it does; files it reopens (certificates, logs) must be
// readable or writable by User. The -status-addr listener is bound after
// the drop: give it a port above 1023.
type privilegesConfig struct {
	// User is the user name, or #UID, to run as (-user; User). "" means
	// the current user.
	User string
	// Group is the group name, or #GID (-group; Group). "" means User's
	// primary group. The supplementary groups are User's, as initgroups
	// gives them.
	Group string
	// AllowRoot lets the workers run as root: without it, a command
	// started as root needs a User other than root, as Apache refuses to
	// run as root (-allow-root).
	AllowRoot bool
}

// privilegesFlags registers the flags of p on fs.
func privilegesFlags(fs *flag.FlagSet, p *privilegesConfig) {
	fs.StringVar(&p.User, "user", p.User, "when started as root: the `user` (name or #UID) to run the Python workers and, once the ports are bound and the files opened, the server as (User)")
	fs.StringVar(&p.Group, "group", p.Group, "with -user: the `group` (name or #GID) to run as; default: the user's primary group (Group)")
	fs.BoolVar(&p.AllowRoot, "allow-root", p.AllowRoot, "let the Python workers run as root when started as root without -user (refused otherwise, as Apache refuses User root)")
}

// account is a resolved -user and -group.
type account struct {
	name     string
	uid, gid int
	groups   []int
	home     string
}

// lookupAccount resolves p's user and group; nil when p has no User.
func lookupAccount(p privilegesConfig) (*account, error) {
	if p.User == "" {
		if p.Group != "" {
			return nil, errors.New("-group needs -user")
		}
		return nil, nil
	}
	var u *user.User
	var err error
	if id, ok := numericID(p.User); ok {
		u, err = user.LookupId(id)
	} else {
		u, err = user.Lookup(p.User)
	}
	if err != nil {
		return nil, fmt.Errorf("-user %q: %w", p.User, err)
	}
	a := &account{name: u.Username, home: u.HomeDir}
	if a.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("-user %q: uid %q: %w", p.User, u.Uid, err)
	}
	gid := u.Gid
	if p.Group != "" {
		var g *user.Group
		if id, ok := numericID(p.Group); ok {
			g, err = user.LookupGroupId(id)
		} else {
			g, err = user.LookupGroup(p.Group)
		}
		if err != nil {
			return nil, fmt.Errorf("-group %q: %w", p.Group, err)
		}
		gid = g.Gid
	}
	if a.gid, err = strconv.Atoi(gid); err != nil {
		return nil, fmt.Errorf("-group %q: gid %q: %w", p.Group, gid, err)
	}
	a.groups = []int{a.gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil && n != a.gid {
				a.groups = append(a.groups, n)
			}
		}
	}
	return a, nil
}

// numericID reads Apache's #ID form.
func numericID(s string) (string, bool) {
	if len(s) > 1 && s[0] == '#' {
		if _, err := strconv.ParseUint(s[1:], 10, 32); err == nil {
			return s[1:], true
		}
	}
	return "", false
}

// checkPrivileges refuses, before anything starts, a command that would
// run its workers as root without -allow-root, or a -user it cannot
// become.
func checkPrivileges(p privilegesConfig) error {
	a, err := lookupAccount(p)
	if err != nil {
		return err
	}
	euid := os.Geteuid()
	switch {
	case a == nil && euid == 0 && !p.AllowRoot:
		return errors.New("started as root without -user: the Python workers would run as root. " +
			"Give -user NAME (Apache's User; -group for Group) to run them, and the server once its ports are bound, as that user, or -allow-root to run as root anyway")
	case a != nil && a.uid == 0 && !p.AllowRoot:
		return fmt.Errorf("-user %q is root: the Python workers would run as root; give another user, or -allow-root", p.User)
	case a != nil && euid != 0 && euid != a.uid:
		return fmt.Errorf("-user %q: only root can run as another user (running as uid %d)", p.User, euid)
	}
	return nil
}

// workerCredential is what the workers run as, and the environment that
// goes with it (HOME, USER and LOGNAME, as mod_wsgi sets them for
// WSGIDaemonProcess user=), for p; nil when p has no User.
func workerCredential(p privilegesConfig) (*syscall.Credential, []string, error) {
	a, err := lookupAccount(p)
	if a == nil || err != nil {
		return nil, nil, err
	}
	cred := &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}
	for _, g := range a.groups {
		cred.Groups = append(cred.Groups, uint32(g))
	}
	env := []string{"HOME=" + a.home, "USER=" + a.name, "LOGNAME=" + a.name}
	return cred, env, nil
}

// dropPrivileges switches the whole process, every thread, to p's user,
// group and supplementary groups, for good: afterwards it cannot become
// root again. Nothing happens when p has no User or the process already
// runs as that user.
func dropPrivileges(p privilegesConfig, logger *slog.Logger) error {
	a, err := lookupAccount(p)
	if a == nil || err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil // checkPrivileges made sure it is the user already
	}
	// Groups first: once the uid is not root, they cannot change. On
	// Linux, Go applies each call to every thread of the process.
	if err := syscall.Setgroups(a.groups); err != nil {
		return fmt.Errorf("-user: setgroups: %w", err)
	}
	if err := syscall.Setgid(a.gid); err != nil {
		return fmt.Errorf("-group: setgid(%d): %w", a.gid, err)
	}
	if err := syscall.Setuid(a.uid); err != nil {
		return fmt.Errorf("-user: setuid(%d): %w", a.uid, err)
	}
	if os.Getuid() != a.uid || os.Geteuid() != a.uid || os.Getegid() != a.gid || a.uid != 0 && syscall.Setuid(0) == nil {
		return fmt.Errorf("-user %q: the process still has other rights after setuid", p.User)
	}
	logger.Info("gowsgi: running as", "user", a.name, "uid", a.uid, "gid", a.gid)
	return nil
}

// workerUser makes wc's workers run as p's user, with HOME, USER and
// LOGNAME set for it (the mount's -env settings override them).
func workerUser(wc *wsgi.Config, p privilegesConfig) error {
	cred, env, err := workerCredential(p)
	if cred == nil || err != nil {
		return err
	}
	wc.Credential = cred
	wc.Env = append(env, wc.Env...)
	return nil
}
