package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// CheckHandler is the credential-check endpoint of Trac AccountManager's
// HttpAuthStore (its authentication_url): put it behind the authentication
// middlewares. It answers 200 "OK" to an authenticated request and 401 with
// every registered challenge to an anonymous one; bad credentials never
// reach it (the middleware answered 401 already). Clients such as Python's
// urllib handlers send credentials only after a challenge, which is why
// the anonymous case must challenge.
func CheckHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			reqinfo.FromContext(r.Context()).SetAuth("", reqinfo.AuthDenied)
			writeUnauthorized(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "OK")
	})
}

// Checkers combines password checkers as a list of AuthBasicProvider: the
// first that accepts the credentials wins. Unlike Apache, which moves to the
// next provider only when a user is unknown to the previous one, a wrong
// password also moves on ([PasswordChecker] does not tell the two apart).
// An error stops the search and is returned (fail closed), even if a later
// checker would accept.
func Checkers(cs ...PasswordChecker) PasswordChecker {
	cs = append([]PasswordChecker(nil), cs...)
	return checkerList(cs)
}

type checkerList []PasswordChecker

func (l checkerList) CheckPassword(ctx context.Context, user, password string) (*User, bool, error) {
	if len(l) == 0 {
		return nil, false, errors.New("auth: no password checker")
	}
	for _, c := range l {
		u, ok, err := c.CheckPassword(ctx, user, password)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return u, true, nil
		}
	}
	return nil, false, nil
}
