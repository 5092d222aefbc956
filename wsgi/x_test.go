package wsgi

import (
	"net"
	"net/http"
	"os/exec"
	"testing"
	"path/filepath"
)

func TestXWrk(t *testing.T) {
	s, _ := filepath.Abs("../examples/hello.wsgi")
	h, _ := newTestHandler(t, Config{Processes: 2, Script: s})
	ln, _ := net.Listen("tcp", "127.0.0.1:18003")
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	out, _ := exec.Command("wrk", "-t2", "-c32", "-d5s", "http://127.0.0.1:18003/").CombinedOutput()
	t.Log(string(out))
}
