package main

import (
	"fmt"
	"html/template"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/wsgi"
)

// statusPage is what /server-status shows: the server, then each mount's
// worker processes, their threads with the requests they run, and the
// queue.
type statusPage struct {
	Now      time.Time
	Uptime   time.Duration
	PID      int
	RSS      int64
	Version  string
	Draining bool
	Refresh  int
	Served   int64
	Busy     int
	Idle     int
	Queued   int
	Restarts int64
	// AccessLog is nil without -access-log.
	AccessLog *struct{ Written, Dropped uint64 }
	Mounts    []statusMount
}

type statusMount struct {
	Path, Script string
	Stats        wsgi.Stats
	Workers      []statusWorker
	Queue        []statusRequest
	Scoreboard   string
}

type statusWorker struct {
	wsgi.WorkerStatus
	Uptime  time.Duration
	Threads []statusThread
}

type statusThread struct {
	N       int
	State   string // idle, busy
	Running *statusRequest
	Queued  int
}

type statusRequest struct {
	wsgi.RequestStatus
	For  time.Duration
	User string
}

// serverStatus serves the status page, in HTML, or with ?auto in
// mod_status's machine-readable form.
func (op *operator) serverStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := op.snapshot()
	w.Header().Set("Cache-Control", "no-store")
	if _, ok := q["auto"]; ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeAuto(w, page)
		return
	}
	if v := q.Get("refresh"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3600 {
			http.Error(w, "refresh: want a number of seconds from 1 to 3600", http.StatusBadRequest)
			return
		}
		page.Refresh = n
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusTemplate.Execute(w, page); err != nil {
		// Only a write to a gone client can fail here.
		return
	}
}

// snapshot reads the status of every pool.
func (op *operator) snapshot() *statusPage {
	now := time.Now()
	page := &statusPage{Now: now, Uptime: now.Sub(op.started), PID: os.Getpid(), RSS: selfRSS(), Version: moduleVersion(), Draining: op.draining.Load()}
	if op.alog != nil {
		page.AccessLog = &struct{ Written, Dropped uint64 }{op.alog.Written(), op.alog.Dropped()}
	}
	for _, mp := range op.currentPools() {
		p := mp.pool
		m := statusMount{Path: mp.mount.Path, Script: mp.mount.Script, Stats: p.Stats()}
		page.Served += m.Stats.Served
		page.Busy += m.Stats.Busy
		page.Idle += m.Stats.Idle
		page.Queued += m.Stats.Queued
		for _, n := range m.Stats.Restarts {
			page.Restarts += n
		}
		var board strings.Builder
		for _, ws := range p.Workers() {
			sw := statusWorker{WorkerStatus: ws, Uptime: now.Sub(ws.Started)}
			for j, th := range ws.Threads {
				st := statusThread{N: j + 1, State: "idle", Queued: len(th.Queued)}
				if th.Running != nil {
					st.State = "busy"
					st.Running = newStatusRequest(*th.Running, now)
				}
				sw.Threads = append(sw.Threads, st)
				board.WriteByte(scoreboardKey(ws.State, th.Running != nil))
			}
			m.Workers = append(m.Workers, sw)
		}
		for _, rs := range p.Waiting() {
			m.Queue = append(m.Queue, *newStatusRequest(rs, now))
		}
		m.Scoreboard = board.String()
		page.Mounts = append(page.Mounts, m)
	}
	return page
}

func newStatusRequest(rs wsgi.RequestStatus, now time.Time) *statusRequest {
	sr := &statusRequest{RequestStatus: rs, For: now.Sub(rs.Since)}
	if rs.Info.User != nil {
		sr.User = rs.Info.User.Name
	}
	return sr
}

// scoreboardKey is a thread's letter in mod_status's scoreboard: "S"
// starting, "_" waiting for a request, "W" running one, "G" finishing
// gracefully (a worker retiring or stopping).
func scoreboardKey(procState string, busy bool) byte {
	switch {
	case procState == "starting":
		return 'S'
	case procState == "stopping":
		return 'G'
	case busy:
		return 'W'
	}
	return '_'
}

// writeAuto writes the page in mod_status's ?auto form: "Key: value"
// lines. The keys Apache has keep its names where the meaning is the
// same (Total Accesses, Uptime, ServerUptimeSeconds, BusyWorkers,
// IdleWorkers, Processes, Scoreboard); the others are gowsgi's own
// (QueuedRequests, WorkerRestarts, AccessLogDropped, Draining).
func writeAuto(w http.ResponseWriter, p *statusPage) {
	procs := 0
	var board strings.Builder
	for _, m := range p.Mounts {
		procs += len(m.Workers)
		board.WriteString(m.Scoreboard)
	}
	up := int64(p.Uptime / time.Second)
	fmt.Fprintf(w, "ServerVersion: gowsgi/%s\n", p.Version)
	fmt.Fprintf(w, "CurrentTime: %s\n", p.Now.Format(time.RFC3339))
	fmt.Fprintf(w, "ServerUptimeSeconds: %d\n", up)
	fmt.Fprintf(w, "Uptime: %d\n", up)
	fmt.Fprintf(w, "Total Accesses: %d\n", p.Served)
	if up > 0 {
		fmt.Fprintf(w, "ReqPerSec: %g\n", float64(p.Served)/float64(up))
	}
	fmt.Fprintf(w, "BusyWorkers: %d\n", p.Busy)
	fmt.Fprintf(w, "IdleWorkers: %d\n", p.Idle)
	fmt.Fprintf(w, "Processes: %d\n", procs)
	fmt.Fprintf(w, "QueuedRequests: %d\n", p.Queued)
	fmt.Fprintf(w, "WorkerRestarts: %d\n", p.Restarts)
	if p.AccessLog != nil {
		fmt.Fprintf(w, "AccessLogDropped: %d\n", p.AccessLog.Dropped)
	}
	draining := 0
	if p.Draining {
		draining = 1
	}
	fmt.Fprintf(w, "Draining: %d\n", draining)
	fmt.Fprintf(w, "Scoreboard: %s\n", board.String())
}

// selfRSS is the Go process's resident set size in bytes, 0 where /proc
// cannot tell.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// moduleVersion is the command's module version as built ("(devel)" from a
// checkout).
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// ago formats a duration for the page: 1.2s, 3m04s, 2h05m.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// mib formats a byte count in MiB.
func mib(n int64) string {
	if n <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{"ago": ago, "mib": mib}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
{{- if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>gowsgi server status</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #bbb;padding:.2em .6em;text-align:left;font-size:.92em}
th{background:#eee}
td.n{text-align:right;white-space:nowrap}
td{white-space:nowrap}
tr.busy td{background:#fff3cd}
tr.proc td{background:#e8eef7;font-weight:bold}
code{font-size:1.05em}
.k{color:#555}
</style></head>
<body>
<h1>gowsgi server status</h1>
<p><span class="k">Current time:</span> {{.Now.Format "2006-01-02 15:04:05 MST"}} &middot;
<span class="k">up</span> {{ago .Uptime}} &middot;
<span class="k">version</span> {{.Version}} &middot;
<span class="k">Go process</span> pid {{.PID}}, RSS {{mib .RSS}}
{{- if .Draining}} &middot; <strong>shutting down</strong>{{end}}</p>
<p><span class="k">requests served:</span> {{.Served}} &middot;
<span class="k">worker threads:</span> {{.Busy}} busy, {{.Idle}} idle &middot;
<span class="k">queued:</span> {{.Queued}} &middot;
<span class="k">worker restarts:</span> {{.Restarts}}
{{- with .AccessLog}} &middot; <span class="k">access log:</span> {{.Written}} lines written, {{.Dropped}} dropped{{end}}</p>
{{range .Mounts}}
<h2>Mount <code>{{.Path}}</code>: {{.Script}}</h2>
<p>Scoreboard: <code>{{.Scoreboard}}</code> (<code>_</code> idle, <code>W</code> running a request, <code>S</code> starting, <code>G</code> finishing before it stops)</p>
<table>
<tr><th>PID</th><th>Thread</th><th>State</th><th>Served</th><th>RSS</th><th>Up</th><th>Running for</th><th>Method</th><th>Request</th><th>Client</th><th>User</th><th>Request id</th><th>Queued behind</th></tr>
{{- range .Workers}}
<tr class="proc"><td>{{.PID}}</td><td></td><td>{{.State}}</td><td class="n">{{.Served}}</td><td class="n">{{mib .RSS}}</td><td>{{ago .Uptime}}</td><td colspan="7"></td></tr>
{{- $pid := .PID}}
{{- range .Threads}}
<tr{{if .Running}} class="busy"{{end}}><td>{{$pid}}</td><td>{{.N}}</td><td>{{.State}}</td><td></td><td></td><td></td>
{{- with .Running}}<td>{{ago .For}}</td><td>{{.Info.Method}}</td><td>{{.Info.Target}}</td><td>{{.Info.Client}}</td><td>{{.User}}</td><td>{{.Info.ID}}</td>{{else}}<td colspan="6"></td>{{end}}<td class="n">{{.Queued}}</td></tr>
{{- end}}
{{- else}}
<tr><td colspan="13">no worker process</td></tr>
{{- end}}
</table>
<h3>Queue: {{len .Queue}} waiting for a worker</h3>
{{- if .Queue}}
<table>
<tr><th>Waiting for</th><th>Method</th><th>Request</th><th>Client</th><th>User</th><th>Request id</th></tr>
{{- range .Queue}}
<tr><td>{{ago .For}}</td><td>{{.Info.Method}}</td><td>{{.Info.Target}}</td><td>{{.Info.Client}}</td><td>{{.User}}</td><td>{{.Info.ID}}</td></tr>
{{- end}}
</table>
{{- end}}
{{end}}
</body></html>
`))
