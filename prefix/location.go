package prefix

import (
	"net/http"
	"regexp"
)

// LocationMatch returns middleware that applies mw only to requests whose
// path re matches anywhere (an unanchored search, as Apache's
// <LocationMatch>); other requests go straight to the next handler.
func LocationMatch(re *regexp.Regexp, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		guarded := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if re.MatchString(r.URL.Path) {
				guarded.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
