package accesslog_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// An access log around a chain: the record made by RequestID just inside
// it carries the user an inner authentication layer set (here the
// application stands in for one), which the line shows as %u.
func Example() {
	var buf bytes.Buffer // a file from accesslog.OpenFile in a server
	alog, err := accesslog.New(accesslog.Config{Writer: &buf})
	if err != nil {
		fmt.Println(err)
		return
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqinfo.FromContext(r.Context()).SetUser(&reqinfo.User{Name: "alice", AuthType: "Basic"})
		fmt.Fprintln(w, "hello")
	})
	h := alog.Wrap(reqinfo.RequestID(app))

	r := httptest.NewRequest("GET", "/trac/wiki?version=2", nil)
	r.RemoteAddr = "192.0.2.1:40000"
	r.Header.Set("User-Agent", "curl/8.0")
	h.ServeHTTP(httptest.NewRecorder(), r)
	alog.Close() // writes what is queued

	// The time varies: show it as [TIME].
	fmt.Print(regexp.MustCompile(`\[[^]]+\]`).ReplaceAllString(buf.String(), "[TIME]"))
	// Output:
	// 192.0.2.1 - alice [TIME] "GET /trac/wiki?version=2 HTTP/1.1" 200 6 "-" "curl/8.0"
}

// The two formats of one entry.
func ExampleFormat_AppendLine() {
	e := &accesslog.Entry{
		Info: reqinfo.Info{
			ID:      "4bf92f35",
			Start:   time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC),
			Method:  "POST",
			Target:  "/trac/login",
			Client:  "192.0.2.1:40000",
			User:    &reqinfo.User{Name: "alice"},
			Mount:   reqinfo.Mount{ScriptName: "/trac", PathInfo: "/login"},
			Mounted: true,
			PID:     4242,
		},
		Proto:     "HTTP/1.1",
		UserAgent: `Mozilla/5.0 "quoted"`,
		Status:    303,
		Duration:  12 * time.Millisecond,
	}
	fmt.Print(string(accesslog.Combined.AppendLine(nil, e)))
	fmt.Print(string(accesslog.JSON.AppendLine(nil, e)))
	// Output:
	// 192.0.2.1 - alice [07/Dec/2026:10:30:00 +0000] "POST /trac/login HTTP/1.1" 303 - "-" "Mozilla/5.0 \"quoted\""
	// {"time":"2026-12-07T10:30:00.000Z","remote":"192.0.2.1","user":"alice","method":"POST","uri":"/trac/login","proto":"HTTP/1.1","status":303,"bytes":0,"duration":0.012,"request_id":"4bf92f35","worker_pid":4242,"mount":"/trac"}
}
