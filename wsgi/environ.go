package wsgi

import (
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// EnvVar is one string entry of a WSGI environ. Name and Value are native
// strings in PEP 3333's sense: raw bytes, each byte one latin-1 code point on
// the Python side (so a UTF-8 path arrives as the "bytes-as-latin-1" string
// that WSGI applications decode themselves).
type EnvVar struct {
	Name, Value string
}

// Environ returns the string entries of the PEP 3333 / CGI 1.1 environ for
// r, as cfg configures them (nil cfg means the zero Config):
//
//   - REQUEST_METHOD, QUERY_STRING (raw), REQUEST_URI (raw), SERVER_NAME,
//     SERVER_PORT, SERVER_PROTOCOL, REMOTE_ADDR, REMOTE_PORT, HTTPS ("on"
//     or "off"), wsgi.url_scheme, and CONTENT_TYPE and CONTENT_LENGTH only
//     when the request has them;
//   - SCRIPT_NAME and PATH_INFO from the mount in the request's
//     [reqinfo.Record] (package prefix records it), else cfg.ScriptName and the request's decoded path,
//     else the prefix a handler in front stripped (http.StripPrefix) and
//     the rest;
//     SCRIPT_NAME is never "/";
//   - HTTP_* for each header (repeated headers joined with ", ", Cookie
//     with "; "), except: names with characters other than letters, digits
//     and "-" are dropped (as Apache 2.4 does), Proxy is dropped (httpoxy),
//     Authorization is passed only with cfg.PassAuthorization, and
//     Content-Type/Content-Length appear only as CONTENT_*;
//   - REMOTE_USER and AUTH_TYPE only from the user in the request's
//     [reqinfo.Record] (package auth records it; an authentication
//     middleware of another module calls [reqinfo.Record.SetUser]);
//   - cfg.Environ, then the request's extra entries from its record, each
//     overriding an entry of the same name.
//
// wsgi.url_scheme (and HTTPS) is the scheme a trusted proxy forwarded, as
// package remoteip records it in the request's record, else "https" for a TLS
// connection, else "http". No request header sets it by itself: believing
// X-Forwarded-Proto, like rewriting REMOTE_ADDR and HTTP_HOST from
// forwarding headers, is remoteip's, the one layer that trusts proxies.
//
// The entries that are Python objects (wsgi.input, wsgi.errors,
// wsgi.version, wsgi.multithread, wsgi.multiprocess, wsgi.run_once,
// wsgi.input_terminated, wsgi.file_wrapper) are added by the worker.
func Environ(r *http.Request, cfg *Config) []EnvVar {
	if cfg == nil {
		cfg = &Config{}
	}
	return appendEnviron(make([]EnvVar, 0, 24+len(r.Header)), r, cfg)
}

func appendEnviron(env []EnvVar, r *http.Request, cfg *Config) []EnvVar {
	rec := reqinfo.FromContext(r.Context())
	var scriptName, pathInfo string
	if m, ok := rec.Mount(); ok {
		scriptName, pathInfo = m.ScriptName, m.PathInfo
	} else if cfg.ScriptName != "" {
		scriptName, pathInfo = cfg.ScriptName, r.URL.Path
	} else {
		scriptName, pathInfo = strippedPrefix(r)
	}
	scriptName = strings.TrimRight(scriptName, "/")
	env = append(env,
		EnvVar{"REQUEST_METHOD", r.Method},
		EnvVar{"SCRIPT_NAME", scriptName},
		EnvVar{"PATH_INFO", pathInfo},
		EnvVar{"QUERY_STRING", r.URL.RawQuery},
		EnvVar{"REQUEST_URI", requestURI(r)},
		EnvVar{"SERVER_PROTOCOL", protocol(r)},
	)

	remoteHost, remotePort := splitHostPort(r.RemoteAddr)
	scheme := "http"
	if _, s := rec.Forwarded(); s != "" {
		scheme = s
	} else if r.TLS != nil {
		scheme = "https"
	}
	serverName, serverPort := splitHostPort(r.Host)
	if serverName == "" {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			serverName, serverPort = splitHostPort(a.String())
		}
	}
	if serverPort == "" {
		serverPort = "80"
		if scheme == "https" {
			serverPort = "443"
		}
	}
	https := "off"
	if scheme == "https" {
		https = "on"
	}
	env = append(env,
		EnvVar{"SERVER_NAME", serverName},
		EnvVar{"SERVER_PORT", serverPort},
		EnvVar{"REMOTE_ADDR", remoteHost},
		EnvVar{"REMOTE_PORT", remotePort},
		EnvVar{"HTTPS", https},
		EnvVar{"wsgi.url_scheme", scheme},
	)
	if r.Host != "" {
		env = append(env, EnvVar{"HTTP_HOST", r.Host})
	}
	if ct := r.Header.Values("Content-Type"); len(ct) > 0 {
		env = append(env, EnvVar{"CONTENT_TYPE", ct[0]})
	}
	if r.ContentLength > 0 || r.ContentLength == 0 && len(r.Header["Content-Length"]) > 0 {
		env = append(env, EnvVar{"CONTENT_LENGTH", strconv.FormatInt(r.ContentLength, 10)})
	}
	for name, values := range r.Header {
		if len(values) == 0 {
			continue
		}
		key, ok := headerKey(name)
		if !ok {
			continue
		}
		switch key {
		case "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_PROXY", "HTTP_HOST":
			continue
		case "HTTP_AUTHORIZATION":
			if !cfg.PassAuthorization {
				continue
			}
		}
		sep := ", "
		if key == "HTTP_COOKIE" {
			sep = "; "
		}
		v := values[0]
		if len(values) > 1 {
			v = strings.Join(values, sep)
		}
		env = append(env, EnvVar{key, v})
	}
	if u := rec.User(); u != nil {
		env = append(env, EnvVar{"REMOTE_USER", u.Name})
		if u.AuthType != "" {
			env = append(env, EnvVar{"AUTH_TYPE", u.AuthType})
		}
	}
	for k, v := range cfg.Environ {
		env = setEnv(env, k, v)
	}
	for _, v := range rec.Environ() {
		env = setEnv(env, v.Name, v.Value)
	}
	return env
}

// setEnv replaces the entry named k, or appends one.
func setEnv(env []EnvVar, k, v string) []EnvVar {
	for i := range env {
		if env[i].Name == k {
			env[i].Value = v
			return env
		}
	}
	return append(env, EnvVar{k, v})
}

// commonKeys caches the HTTP_ keys of frequent header names.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language",
		"Cache-Control", "Connection", "Cookie", "Dnt", "If-Modified-Since", "If-None-Match",
		"Origin", "Pragma", "Referer", "Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site",
		"Upgrade-Insecure-Requests", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto",
		"X-Requested-With", "Keep-Alive", "Te", "Authorization", "Content-Type", "Content-Length", "Proxy"} {
		k, _ := slowHeaderKey(n)
		m[n] = k
	}
	return m
}()

// headerKey turns a header name into its HTTP_ key, reporting false for a
// name with anything but ASCII letters, digits and "-".
func headerKey(name string) (string, bool) {
	if k, ok := commonKeys[name]; ok {
		return k, true
	}
	return slowHeaderKey(name)
}

func slowHeaderKey(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	b := make([]byte, 5+len(name))
	copy(b, "HTTP_")
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-':
			c = '_'
		default:
			return "", false
		}
		b[5+i] = c
	}
	return string(b), true
}

// strippedPrefix returns SCRIPT_NAME and PATH_INFO for a request that no
// mount describes: when a handler in front (http.StripPrefix)
// removed a prefix from URL.Path, SCRIPT_NAME is that prefix, found by
// comparing URL.Path with the path the client sent (RequestURI, which
// net/http and StripPrefix leave as received), so that the application
// builds its URLs under the prefix without Config.ScriptName. Otherwise
// (the paths are equal, or URL.Path was rewritten into something that is
// not a tail of the original) SCRIPT_NAME is "" and PATH_INFO URL.Path.
func strippedPrefix(r *http.Request) (scriptName, pathInfo string) {
	p := r.URL.Path
	raw := r.RequestURI
	if !strings.HasPrefix(raw, "/") { // absolute form, "*", or not from a server
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return "", p
		}
		raw = u.EscapedPath()
	} else if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if len(raw) <= len(p) {
		return "", p
	}
	orig, err := url.PathUnescape(raw)
	if err != nil || len(orig) <= len(p) || !strings.HasSuffix(orig, p) {
		return "", p
	}
	sn := orig[:len(orig)-len(p)]
	switch {
	case p != "" && p[0] != '/':
		// StripPrefix("/app/") leaves "x" of "/app/x": the slash belongs
		// to PATH_INFO, which always starts with one when not empty.
		if !strings.HasSuffix(sn, "/") {
			return "", r.URL.Path
		}
		sn, p = sn[:len(sn)-1], "/"+p
	case p == "" && len(sn) > 1 && strings.HasSuffix(sn, "/"):
		sn, p = sn[:len(sn)-1], "/" // "/app/" under StripPrefix("/app/")
	default:
		sn = strings.TrimRight(sn, "/") // "/app//x" under StripPrefix("/app")
	}
	// The prefix must be a clean absolute path: a tail left by a rewrite
	// ("/x/../b" made "/b") is not a prefix that was stripped.
	if sn == "" || sn[0] != '/' || path.Clean(sn) != sn {
		return "", r.URL.Path
	}
	return sn, p
}

func requestURI(r *http.Request) string {
	// The raw target, unless the client sent the absolute form.
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

func protocol(r *http.Request) string {
	if r.Proto != "" {
		return r.Proto
	}
	return "HTTP/1.1"
}

func splitHostPort(hp string) (host, port string) {
	if hp == "" {
		return "", ""
	}
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return strings.Trim(hp, "[]"), ""
	}
	return h, p
}
