package accesslog_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// FuzzLine checks that whatever a client sends (request target, user
// name, headers), a combined line is one line of printable ASCII with its
// six quotes in place, and a JSON line is one valid object.
func FuzzLine(f *testing.F) {
	f.Add("/trac/wiki", "alice", "curl/8", "http://x/")
	f.Add("/a\"b\\c", "ev\"il\nuser", "ua\r\nforged 200 -", "\x00\xff")
	f.Add("/\u00e9t\u00e9", "", "", "")
	f.Fuzz(func(t *testing.T, target, user, ua, referer string) {
		e := &accesslog.Entry{
			Info:      reqinfo.Info{Start: time.Unix(0, 0).UTC(), Method: "GET", Target: target, Client: "192.0.2.1:1"},
			Proto:     "HTTP/1.1",
			UserAgent: ua,
			Referer:   referer,
			Status:    200,
		}
		if user != "" {
			e.User = &reqinfo.User{Name: user}
		}
		line := accesslog.Combined.AppendLine(nil, e)
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("not one line: %q", line)
		}
		quotes := 0
		for i, c := range line[:len(line)-1] {
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("byte %#x at %d: %q", c, i, line)
			}
			if c == '"' {
				backslashes := 0
				for j := i - 1; j >= 0 && line[j] == '\\'; j-- {
					backslashes++
				}
				if backslashes%2 == 0 {
					quotes++
				}
			}
		}
		if quotes != 6 {
			t.Fatalf("%d unescaped quotes, want 6: %q", quotes, line)
		}
		js := accesslog.JSON.AppendLine(nil, e)
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil || bytes.IndexByte(js, '\n') != len(js)-1 {
			t.Fatalf("JSON line %q: %v", js, err)
		}
	})
}
