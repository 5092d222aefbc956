package auth

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// GroupChecker tells whether a user belongs to a group, for [Group]. A
// non-nil error is a technical failure: the request is refused (503).
type GroupChecker interface {
	InGroup(ctx context.Context, user, group string) (bool, error)
}

// GroupFile is a [GroupChecker] over an Apache AuthGroupFile: lines of
// "group: user user ...", where a group may span several lines. It reloads
// the file when it changes; a file that stops parsing is an error for every
// check (fail closed). It is safe for concurrent use.
type GroupFile struct {
	file *watched[map[string]map[string]bool]
}

var _ GroupChecker = (*GroupFile)(nil)

// GroupFileConfig configures [NewGroupFile].
type GroupFileConfig struct {
	// Path is the group file (AuthGroupFile). Required.
	Path string
	// StatInterval is how often the file is checked for changes at most.
	// Zero means one second; negative means on every check.
	StatInterval time.Duration
}

// LoadGroupFile reads the group file at path with the defaults of
// [GroupFileConfig].
func LoadGroupFile(path string) (*GroupFile, error) {
	return NewGroupFile(GroupFileConfig{Path: path})
}

// NewGroupFile reads cfg.Path. A missing file or a line without "group:"
// is an error naming the line.
func NewGroupFile(cfg GroupFileConfig) (*GroupFile, error) {
	w, err := newWatched(cfg.Path, cfg.StatInterval, parseGroupFile)
	if err != nil {
		return nil, err
	}
	return &GroupFile{file: w}, nil
}

// InGroup implements [GroupChecker].
func (g *GroupFile) InGroup(ctx context.Context, user, group string) (bool, error) {
	groups, _, err := g.file.get()
	if err != nil {
		return false, err
	}
	return groups[group][user], nil
}

// Members returns the members of group, in no particular order.
func (g *GroupFile) Members(group string) ([]string, error) {
	groups, _, err := g.file.get()
	if err != nil {
		return nil, err
	}
	var out []string
	for u := range groups[group] {
		out = append(out, u)
	}
	return out, nil
}

func parseGroupFile(data []byte) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	err := scanLines(data, func(n int, line string) error {
		name, members, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("line %d: want \"group: user user\"", n)
		}
		set := out[name]
		if set == nil {
			set = map[string]bool{}
			out[name] = set
		}
		for _, u := range strings.Fields(members) {
			set[u] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
