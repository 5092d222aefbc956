package accesslog

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
)

// Format is how an entry becomes a line.
type Format uint8

const (
	// Combined is Apache's combined log format, the zero value:
	//
	//	%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
	//
	// %h is the client's address without its port (the record's client,
	// which a trusted-proxy layer may have set), %l always "-", %u the
	// authenticated user or "-", %t the time the request arrived, %r the
	// request line as the client sent it, %>s the final status, %b the
	// body bytes or "-" for none. As in Apache, a quote, a backslash and
	// any byte that is not printable ASCII in %u, %r and the headers are
	// escaped (\", \\, \xhh), so that a line can neither be split nor
	// forged by a client.
	Combined Format = iota
	// JSON is one JSON object per line with the fields time (RFC 3339,
	// milliseconds), remote, user ("" when anonymous), method, uri,
	// proto, status, bytes, duration (seconds), request_id, worker_pid
	// (0 when no worker took the request) and mount (SCRIPT_NAME; "/" for
	// a mount at the root, "" when no mount took the request).
	JSON
)

// ParseFormat returns the Format named "combined" or "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "combined":
		return Combined, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("accesslog: unknown format %q: want combined or json", s)
}

// String returns "combined" or "json".
func (f Format) String() string {
	if f == JSON {
		return "json"
	}
	return "combined"
}

// AppendLine appends e as one line in format f, with its newline.
func (f Format) AppendLine(b []byte, e *Entry) []byte {
	if f == JSON {
		return appendJSON(b, e)
	}
	return appendCombined(b, e)
}

func host(client string) string {
	if h, _, err := net.SplitHostPort(client); err == nil {
		return h
	}
	return client
}

func userName(e *Entry) string {
	if e.User == nil {
		return ""
	}
	return e.User.Name
}

func appendCombined(b []byte, e *Entry) []byte {
	b = appendEscaped(b, host(e.Client), "-")
	b = append(b, " - "...)
	b = appendEscaped(b, userName(e), "-")
	b = append(b, " ["...)
	b = e.Start.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = appendEscaped(b, e.Method, "")
	b = append(b, ' ')
	b = appendEscaped(b, e.Target, "")
	b = append(b, ' ')
	b = appendEscaped(b, e.Proto, "")
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, ' ')
	if e.Bytes == 0 {
		b = append(b, '-')
	} else {
		b = strconv.AppendInt(b, e.Bytes, 10)
	}
	b = append(b, " \""...)
	b = appendEscaped(b, e.Referer, "-")
	b = append(b, "\" \""...)
	b = appendEscaped(b, e.UserAgent, "-")
	return append(b, "\"\n"...)
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends s as Apache's ap_escape_logitem does, or empty
// when s is "".
func appendEscaped(b []byte, s, empty string) []byte {
	if s == "" {
		return append(b, empty...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

// jsonLine is the JSON form's object, in this field order.
type jsonLine struct {
	Time      string  `json:"time"`
	Remote    string  `json:"remote"`
	User      string  `json:"user"`
	Method    string  `json:"method"`
	URI       string  `json:"uri"`
	Proto     string  `json:"proto"`
	Status    int     `json:"status"`
	Bytes     int64   `json:"bytes"`
	Duration  float64 `json:"duration"`
	RequestID string  `json:"request_id"`
	WorkerPID int     `json:"worker_pid"`
	Mount     string  `json:"mount"`
}

func appendJSON(b []byte, e *Entry) []byte {
	l := jsonLine{
		Time:      e.Start.Format("2006-01-02T15:04:05.000Z07:00"),
		Remote:    host(e.Client),
		User:      userName(e),
		Method:    e.Method,
		URI:       e.Target,
		Proto:     e.Proto,
		Status:    e.Status,
		Bytes:     e.Bytes,
		Duration:  e.Duration.Seconds(),
		RequestID: e.ID,
		WorkerPID: e.PID,
	}
	if e.Mounted {
		l.Mount = e.Mount.ScriptName
		if l.Mount == "" {
			l.Mount = "/"
		}
	}
	js, err := json.Marshal(&l)
	if err != nil { // cannot happen: strings and numbers only
		return append(b, "{}\n"...)
	}
	b = append(b, js...)
	return append(b, '\n')
}
