package apacheconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ServerWide is what a configuration sets for gowsgi's one listener as a
// whole: the timeouts and limits of reading requests (core,
// mod_reqtimeout) and the logs (mod_log_config, LogLevel). They are
// written outside <VirtualHost>, since gowsgi applies them to every
// connection before it knows the virtual host. A nil or empty field was
// not set.
type ServerWide struct {
	Timeout               *time.Duration
	KeepAliveTimeout      *time.Duration
	RequestReadTimeout    []string // the arguments as written
	LimitRequestLine      *int
	LimitRequestFieldSize *int
	LimitRequestFields    *int
	// AccessLog is CustomLog's file (relative to ServerRoot; "-" for
	// standard output), AccessLogFormat its format: "combined" (the
	// nickname, or the format string Apache defines it as) or "json".
	AccessLog, AccessLogFormat string
	// LogLevel is the server log's level: debug, info, warn or error.
	LogLevel string
	// RemoteIPHeader is the forwarding header believed from the trusted
	// proxies: "X-Forwarded-For" or "Forwarded" (mod_remoteip).
	RemoteIPHeader string
	// RemoteIPTrustedProxy lists the addresses and CIDRs of the proxies
	// believed.
	RemoteIPTrustedProxy []string
}

// combinedFormat is the format string Apache's default configuration
// names "combined".
const combinedFormat = `%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"`

// serverWide handles the directives of ServerWide.
func (c *checker) serverWide(d *Directive, name string, srv *Server) {
	if !srv.IsMain() {
		c.errorf(d, "gowsgi applies %s to its one listener as a whole: write it outside <VirtualHost>", name)
		return
	}
	w := &c.cfg.ServerWide
	switch name {
	case "Timeout", "KeepAliveTimeout":
		t, err := seconds(d.Args[0])
		if err != nil {
			c.errorf(d, "%v", err)
			return
		}
		if name == "Timeout" {
			w.Timeout = &t
		} else {
			w.KeepAliveTimeout = &t
		}
	case "RequestReadTimeout":
		w.RequestReadTimeout = append(w.RequestReadTimeout, d.Args...)
	case "LimitRequestLine", "LimitRequestFieldSize", "LimitRequestFields":
		n, err := strconv.Atoi(d.Args[0])
		if err != nil || n < 0 {
			c.errorf(d, "%q is not a number", d.Args[0])
			return
		}
		switch name {
		case "LimitRequestLine":
			w.LimitRequestLine = &n
		case "LimitRequestFieldSize":
			w.LimitRequestFieldSize = &n
		default:
			w.LimitRequestFields = &n
		}
	case "LogFormat":
		// Only the one gowsgi writes may be defined: "combined".
		if len(d.Args) != 2 || !strings.EqualFold(d.Args[1], "combined") || d.Args[0] != combinedFormat {
			c.errorf(d, "gowsgi writes the combined format (or JSON): only LogFormat %q combined may be defined", combinedFormat)
		}
	case "CustomLog":
		if w.AccessLog != "" {
			c.errorf(d, "gowsgi writes one access log")
			return
		}
		if len(d.Args) == 3 {
			c.errorf(d, "a condition (env=) is not supported")
			return
		}
		format := d.Args[1]
		switch {
		case strings.EqualFold(format, "combined"), format == combinedFormat:
			format = "combined"
		case strings.EqualFold(format, "json"):
			format = "json"
		default:
			c.errorf(d, "format %q: gowsgi writes combined or json", d.Args[1])
			return
		}
		w.AccessLogFormat = format
		w.AccessLog = d.Args[0]
		if w.AccessLog != "-" {
			if strings.HasPrefix(w.AccessLog, "|") {
				c.errorf(d, "piped logs are not supported: write to a file and rotate it with SIGUSR1")
				return
			}
			w.AccessLog = c.abs(w.AccessLog)
		}
	case "LogLevel":
		if len(d.Args) != 1 || strings.Contains(d.Args[0], ":") {
			c.errorf(d, "per-module levels are not supported: give one level")
			return
		}
		level, ok := map[string]string{
			"emerg": "error", "alert": "error", "crit": "error", "error": "error",
			"warn": "warn", "notice": "info", "info": "info", "debug": "debug",
		}[strings.ToLower(d.Args[0])]
		if !ok && strings.HasPrefix(strings.ToLower(d.Args[0]), "trace") {
			level, ok = "debug", true
		}
		if !ok {
			c.errorf(d, "%q is not a level (emerg ... debug, trace1-8)", d.Args[0])
			return
		}
		w.LogLevel = level
	case "RemoteIPHeader":
		switch {
		case strings.EqualFold(d.Args[0], "X-Forwarded-For"):
			w.RemoteIPHeader = "X-Forwarded-For"
		case strings.EqualFold(d.Args[0], "Forwarded"):
			w.RemoteIPHeader = "Forwarded"
		default:
			c.errorf(d, "%q: gowsgi believes X-Forwarded-For (with X-Forwarded-Proto and -Host) or Forwarded", d.Args[0])
		}
	case "RemoteIPTrustedProxy":
		for _, a := range d.Args {
			if _, err := netip.ParsePrefix(a); err != nil {
				if _, err := netip.ParseAddr(a); err != nil {
					c.errorf(d, "%q is not an address or a CIDR (host names are not supported)", a)
					return
				}
			}
		}
		w.RemoteIPTrustedProxy = append(w.RemoteIPTrustedProxy, d.Args...)
	default:
		panic(fmt.Sprintf("apacheconf: serverWide: %s", name))
	}
}
