package rw_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/rw"
)

// readFromRecorder is an httptest.ResponseRecorder that also notes ReadFrom
// calls, standing for net/http's writer.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFroms int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFroms++
	return io.Copy(r.ResponseRecorder, src)
}

func TestWriterRecords(t *testing.T) {
	tests := []struct {
		name       string
		handle     func(w http.ResponseWriter)
		wantStatus int
		wantBytes  int64
		wantHooks  []int
	}{
		{"nothing", func(w http.ResponseWriter) {}, 0, 0, nil},
		{"explicit", func(w http.ResponseWriter) { w.WriteHeader(404); io.WriteString(w, "gone") }, 404, 4, []int{404}},
		{"implicit-write", func(w http.ResponseWriter) { io.WriteString(w, "hello") }, 200, 5, []int{200}},
		{"implicit-readfrom", func(w http.ResponseWriter) { w.(io.ReaderFrom).ReadFrom(strings.NewReader("abc")) }, 200, 3, []int{200}},
		{"implicit-flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200, 0, []int{200}},
		{"early-hints-then-final", func(w http.ResponseWriter) { w.WriteHeader(103); w.WriteHeader(201) }, 201, 0, []int{201}},
		{"superfluous", func(w http.ResponseWriter) { w.WriteHeader(500); w.WriteHeader(200) }, 500, 0, []int{500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
			w := rw.Wrap(rec)
			var hooks []int
			w.BeforeHeader = func(h http.Header, status int) {
				hooks = append(hooks, status)
				h.Set("X-Seen", fmt.Sprint(status))
			}
			tt.handle(w)
			if w.Status() != tt.wantStatus || w.Written() != tt.wantBytes {
				t.Errorf("recorded %d, %d bytes; want %d, %d", w.Status(), w.Written(), tt.wantStatus, tt.wantBytes)
			}
			if fmt.Sprint(hooks) != fmt.Sprint(tt.wantHooks) {
				t.Errorf("BeforeHeader calls %v, want %v", hooks, tt.wantHooks)
			}
			if tt.wantStatus != 0 && rec.Header().Get("X-Seen") != fmt.Sprint(tt.wantStatus) {
				t.Errorf("hook's header edit lost: %q", rec.Header().Get("X-Seen"))
			}
		})
	}
}

func TestReadFromForwarding(t *testing.T) {
	tests := []struct {
		name      string
		wrap      func(http.ResponseWriter) io.Writer
		wantCalls int
	}{
		{"one", func(w http.ResponseWriter) io.Writer { return rw.Wrap(w) }, 1},
		{"nested", func(w http.ResponseWriter) io.Writer { return rw.Wrap(rw.Wrap(rw.Wrap(w))) }, 1},
		{"writer-only-hides", func(w http.ResponseWriter) io.Writer { return rw.WriterOnly{Writer: rw.Wrap(w)} }, 0},
		{"below-writer-only", func(w http.ResponseWriter) io.Writer { return rw.Wrap(struct{ http.ResponseWriter }{w}) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
			// A reader without WriteTo, so that io.Copy tries ReadFrom.
			n, err := io.Copy(tt.wrap(rec), struct{ io.Reader }{strings.NewReader("body bytes")})
			if err != nil || n != 10 || rec.Body.String() != "body bytes" {
				t.Fatalf("copy: %d, %v, %q", n, err, rec.Body.String())
			}
			if rec.readFroms != tt.wantCalls {
				t.Errorf("underlying ReadFrom called %d times, want %d", rec.readFroms, tt.wantCalls)
			}
		})
	}
}

// TestResponseController checks that http.ResponseController reaches the
// connection through nested Writers: deadlines, flushing and hijacking.
func TestResponseController(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := rw.Wrap(rw.Wrap(w))
		rc := http.NewResponseController(ww)
		switch r.URL.Path {
		case "/deadline":
			if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				http.Error(ww, err.Error(), 500)
				return
			}
			io.WriteString(ww, "ok")
		case "/stream":
			io.WriteString(ww, "first\n")
			if err := rc.Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
			<-release // the client has read "first" before this
			io.WriteString(ww, "second\n")
		case "/hijack":
			c, buf, err := rc.Hijack()
			if err != nil {
				http.Error(ww, err.Error(), 500)
				return
			}
			defer c.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			buf.Flush()
		}
	}))
	defer srv.Close()

	t.Run("deadline", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/deadline")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Errorf("got %q", b)
		}
	})
	t.Run("flush", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		if err != nil || line != "first\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		close(release)
		rest, _ := io.ReadAll(br)
		if string(rest) != "second\n" {
			t.Errorf("rest %q", rest)
		}
	})
	t.Run("hijack", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/hijack")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "hijacked" {
			t.Errorf("got %q", b)
		}
	})
}

func TestFlushErrorNotSupported(t *testing.T) {
	w := rw.Wrap(struct{ http.ResponseWriter }{httptest.NewRecorder()})
	if err := w.FlushError(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("FlushError = %v, want ErrNotSupported", err)
	}
	if _, _, err := w.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Hijack = %v, want ErrNotSupported", err)
	}
	var buf bytes.Buffer
	if _, err := (rw.WriterOnly{Writer: &buf}).Write([]byte("x")); err != nil || buf.String() != "x" {
		t.Errorf("WriterOnly: %v %q", err, buf.String())
	}
}

// A logging middleware built on Writer: it sees the status and size while
// file bodies keep their sendfile path.
func ExampleWrap() {
	logStatus := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := rw.Wrap(w)
			next.ServeHTTP(ww, r)
			fmt.Println(r.URL.Path, ww.Status(), ww.Written())
		})
	}
	h := logStatus(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/pot", nil))
	// Output: /pot 418 15
}
