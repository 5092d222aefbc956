package prefix

import "net/url"

// escapePath escapes a decoded path as url does.
func escapePath(p string) string { return (&url.URL{Path: p}).EscapedPath() }
