package wsgi

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// TestRecord checks the handler's side of the request record with real
// Python workers: REMOTE_USER, AUTH_TYPE, SCRIPT_NAME, PATH_INFO and the
// extra entries come from the record, and the pid of the worker that
// served the request is recorded there for a layer around the handler (an
// access log), under concurrent requests (run with -race).
func TestRecord(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 2, Threads: 2})
	type seen struct {
		info reqinfo.Info
		user string
	}
	results := make(chan seen, 64)
	// outer stands for the layers in front: it makes the record, fills
	// it as auth and prefix would, and reads it once the handler returned.
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := reqinfo.Ensure(r)
		user := r.URL.Query().Get("u")
		rec.SetUser(&reqinfo.User{Name: user, AuthType: "Basic"})
		rec.SetMount(reqinfo.Mount{ScriptName: "/trac", PathInfo: r.URL.Path[len("/trac"):]})
		rec.SetEnviron("trac.env_path", "/srv/"+user)
		h.ServeHTTP(w, r)
		results <- seen{rec.Info(), user}
	})
	srv := serve(t, outer)

	t.Run("environ", func(t *testing.T) {
		code, body := get(t, srv.URL+"/trac/env?u=alice")
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		env := decodeEnv(t, []byte(body))
		for k, want := range map[string]string{"REMOTE_USER": "alice", "AUTH_TYPE": "Basic", "SCRIPT_NAME": "/trac", "PATH_INFO": "/env", "trac.env_path": "/srv/alice"} {
			if env[k] != want {
				t.Errorf("%s = %q, want %q", k, env[k], want)
			}
		}
		if s := <-results; s.info.PID == 0 {
			t.Error("no pid recorded")
		}
	})

	t.Run("pid under concurrency", func(t *testing.T) {
		const clients, each = 8, 5
		var wg sync.WaitGroup
		errs := make(chan error, clients*each)
		type served struct {
			user string
			pid  int
		}
		pids := make(chan served, clients*each)
		for c := range clients {
			wg.Go(func() {
				for i := range each {
					user := fmt.Sprintf("u%d-%d", c, i)
					resp, err := http.Get(srv.URL + "/trac/pid?u=" + user)
					if err != nil {
						errs <- err
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					pid, perr := strconv.Atoi(string(b))
					if err != nil || perr != nil || resp.StatusCode != 200 {
						errs <- fmt.Errorf("status %d body %q: %v %v", resp.StatusCode, b, err, perr)
						return
					}
					pids <- served{user, pid}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		close(pids)
		want := map[string]int{} // user: the pid the app said served it
		for s := range pids {
			want[s.user] = s.pid
		}
		workers := map[int]bool{}
		for range clients * each {
			s := <-results
			if s.info.User == nil || s.info.User.Name != s.user {
				t.Errorf("record's user %v, want %s", s.info.User, s.user)
			}
			if s.info.PID != want[s.user] {
				t.Errorf("%s: pid recorded %d, the worker that answered is %d", s.user, s.info.PID, want[s.user])
			}
			workers[s.info.PID] = true
		}
		t.Logf("%d requests served by %d workers", clients*each, len(workers))
	})
}
