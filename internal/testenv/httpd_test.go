package testenv

import (
	"net/http"
	"testing"
)

func TestStartHttpd(t *testing.T) {
	h := StartHttpd(t, nil, "<Location /closed>\n    Require all denied\n</Location>\n")
	for path, want := range map[string]int{"/open": http.StatusNotFound, "/closed": http.StatusForbidden} {
		resp, err := http.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d\n%s", path, resp.StatusCode, want, h.ErrorLog())
		}
	}
}
