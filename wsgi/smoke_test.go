package wsgi

import "testing"

func TestSmoke(t *testing.T) {
	h, _ := newTestHandler(t, Config{})
	srv := serve(t, h)
	code, body := get(t, srv.URL+"/hello")
	if code != 200 || body != "Hello, World!\n" {
		t.Fatalf("got %d %q", code, body)
	}
}
