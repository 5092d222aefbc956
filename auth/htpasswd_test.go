package auth

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// writeHtpasswd writes a file with Debian's htpasswd: one user per format.
func writeHtpasswd(t *testing.T, users map[string][]string, password func(user string) string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "htpasswd")
	for u, flags := range users {
		testenv.Htpasswd(t, path, u, password(u), flags...)
	}
	return path
}

func TestHtpasswdFileAllFormats(t *testing.T) {
	users := map[string][]string{
		"bcrypt": {"-B", "-C", "4"}, "apr1": nil, "sha": {"-s"}, "crypt": {"-d"},
		"sha256": {"-2"}, "sha512": {"-5"},
	}
	pw := func(u string) string { return "pw-" + u[:2] }
	path := writeHtpasswd(t, users, pw)
	// Add what htpasswd never writes but people do: comments, blank lines,
	// CRLF, indentation.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mangled := "# a comment\r\n\r\n   \n" + strings.ReplaceAll(string(data), "\n", "\r\n") + "  # trailing comment\n"
	if err := os.WriteFile(path, []byte(mangled), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := NewHtpasswd(HtpasswdConfig{Path: path, CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for u := range users {
		t.Run(u, func(t *testing.T) {
			got, ok, err := h.CheckPassword(ctx, u, pw(u))
			if err != nil || !ok || got.Name != u || got.AuthType != "Basic" {
				t.Errorf("right password: %+v %v %v", got, ok, err)
			}
			if _, ok, err := h.CheckPassword(ctx, u, pw(u)+"!"); ok || err != nil {
				t.Errorf("wrong password: %v %v", ok, err)
			}
		})
	}
	if _, ok, err := h.CheckPassword(ctx, "nobody", "pw-no"); ok || err != nil {
		t.Errorf("unknown user: %v %v", ok, err)
	}
}

func TestHtpasswdLoadErrors(t *testing.T) {
	good := "alice:$apr1$hwt7E6WR$wokKpm8wukXrkSMvMgow5/\n"
	tests := []struct {
		name, content, wantErr string
	}{
		{"no-colon", good + "bob\n", "line 2"},
		{"empty-user", good + ":$apr1$hwt7E6WR$wokKpm8wukXrkSMvMgow5/\n", "line 2"},
		{"plaintext", "# c\n\nbob:secret\n", "line 3"},
		{"stray-quote", good + "\"bob:x\n", "line 2"},
		{"truncated-bcrypt", "bob:$2y$05$2tfCpZkJB4DXw\n", "line 1"},
		{"long-line", good + strings.Repeat("x", maxLineLen+10) + "\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "htpasswd")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := HtpasswdFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "auth: ") {
				t.Errorf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := HtpasswdFile(filepath.Join(t.TempDir(), "nope"))
		if !os.IsNotExist(errorsUnwrapAll(err)) {
			t.Errorf("err = %v, want not-exist", err)
		}
	})
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func TestHtpasswdReloadAndCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "old", "-B", "-C", "4")
	h, err := NewHtpasswd(HtpasswdConfig{Path: path, StatInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var verifies atomic.Int64
	h.onVerify = func(string) { verifies.Add(1) }
	ctx := context.Background()
	check := func(user, pw string) bool {
		t.Helper()
		_, ok, err := h.CheckPassword(ctx, user, pw)
		if err != nil {
			t.Fatalf("CheckPassword: %v", err)
		}
		return ok
	}
	// Twice: the second check must come from the cache.
	for i := 0; i < 2; i++ {
		if !check("alice", "old") {
			t.Fatalf("alice/old refused (check %d)", i+1)
		}
	}
	if n := verifies.Load(); n != 1 {
		t.Errorf("two good checks cost %d verifications, want 1 (cached)", n)
	}
	if _, ok := h.cache.Get(h.cacheKey("alice", "old")); !ok || h.cache.Len() != 1 {
		t.Errorf("cache holds %d entries, want one under the keyed hash", h.cache.Len())
	}
	verifies.Store(0)
	check("alice", "bad")
	check("alice", "bad")
	if n := verifies.Load(); n != 2 {
		t.Errorf("two bad checks cost %d verifications, want 2 (failures are not cached)", n)
	}

	// A changed password invalidates the cache at once.
	testenv.Htpasswd(t, path, "alice", "new", "-B", "-C", "4")
	testenv.Htpasswd(t, path, "bob", "bobpw", "-5")
	if check("alice", "old") {
		t.Error("old password still accepted after the file changed")
	}
	if !check("alice", "new") || !check("bob", "bobpw") {
		t.Error("new entries refused after reload")
	}

	// A removed file fails closed, and recovers when it is back.
	data, _ := os.ReadFile(path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := h.CheckPassword(ctx, "alice", "new"); err == nil || ok {
		t.Errorf("missing file: ok=%v err=%v, want an error", ok, err)
	}
	if err := os.WriteFile(path, append(data, []byte("broken line\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := h.CheckPassword(ctx, "alice", "new"); err == nil || ok || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("broken file: ok=%v err=%v, want an error naming line 3", ok, err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !check("alice", "new") {
		t.Error("refused after the file was fixed")
	}
}

func TestHtpasswdCacheTTL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "pw", "-s")
	h, err := NewHtpasswd(HtpasswdConfig{Path: path, CacheTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	var verifies atomic.Int64
	h.onVerify = func(string) { verifies.Add(1) }
	for range 3 {
		if _, ok, _ := h.CheckPassword(context.Background(), "alice", "pw"); !ok {
			t.Fatal("refused")
		}
		time.Sleep(time.Millisecond)
	}
	if n := verifies.Load(); n != 3 {
		t.Errorf("%d verifications, want 3 (entries expired)", n)
	}
}

func TestHtpasswdCacheBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "pw", "-s")
	h, err := NewHtpasswd(HtpasswdConfig{Path: path, CacheSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Same user, many distinct "passwords" cannot all succeed; fill the
	// cache through distinct keys by calling remember directly.
	_, gen, _ := h.file.get()
	for i := range 100 {
		h.remember(h.cacheKey("alice", strings.Repeat("x", i)), login{user: &User{Name: "alice", AuthType: "Basic"}, gen: gen})
	}
	if n := h.cache.Len(); n > 10 {
		t.Errorf("cache holds %d entries, limit 10", n)
	}
}

func TestHtpasswdSingleflight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "pw", "-B", "-C", "8")
	h, err := NewHtpasswd(HtpasswdConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var verifies atomic.Int64
	h.onVerify = func(string) { verifies.Add(1) }
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 16 {
		wg.Go(func() {
			<-start
			if _, ok, err := h.CheckPassword(context.Background(), "alice", "pw"); !ok || err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	// 16 concurrent checks of the same credentials: a bcrypt-8 check
	// lasts long enough that they overlap; at worst a late goroutine
	// finds the cache filled. Either way, far fewer than 16.
	if n := verifies.Load(); n > 2 {
		t.Errorf("%d verifications for 16 concurrent identical checks", n)
	}
}

// TestHtpasswdUnknownUserCostsAVerification checks structurally that an
// unknown user's password is verified against the dummy hash, and that the
// dummy is the file's costliest entry: same scheme and same cost, wherever
// it sits in the file (a bcrypt of cost 6 after one of cost 4 was missed
// once: the first bcrypt entry was taken whatever its cost).
func TestHtpasswdUnknownUserCostsAVerification(t *testing.T) {
	tests := []struct {
		name  string
		users [][]string // user, htpasswd flags...
		want  string     // the user whose hash must be the dummy
	}{
		{"bcrypt over SHA", [][]string{{"fast", "-s"}, {"slow", "-B", "-C", "4"}}, "slow"},
		{"higher bcrypt cost last", [][]string{{"cheap", "-B", "-C", "4"}, {"dear", "-B", "-C", "6"}, {"md5", "-m"}}, "dear"},
		{"higher bcrypt cost first", [][]string{{"dear", "-B", "-C", "6"}, {"cheap", "-B", "-C", "4"}}, "dear"},
		{"SHA-512 crypt over MD5", [][]string{{"md5", "-m"}, {"sha", "-5"}, {"des", "-d"}}, "sha"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "htpasswd")
			for _, u := range tt.users {
				testenv.Htpasswd(t, path, u[0], "pw", u[1:]...)
			}
			h, err := NewHtpasswd(HtpasswdConfig{Path: path, CacheTTL: -1})
			if err != nil {
				t.Fatal(err)
			}
			data, _, _ := h.file.get()
			want := data.users[tt.want]
			if data.dummy != want {
				t.Fatalf("dummy hash %q (%v), want %s's %q (%v)", data.dummy.hash, data.dummy.kind, tt.want, want.hash, want.kind)
			}
			var verified []string
			h.onVerify = func(hash string) { verified = append(verified, hash) }
			if _, ok, _ := h.CheckPassword(context.Background(), "ghost", "pw"); ok {
				t.Fatal("unknown user accepted")
			}
			if len(verified) != 1 || verified[0] != want.hash {
				t.Errorf("unknown user: verified %q, want exactly the dummy %q", verified, want.hash)
			}
			// An unknown user is refused even with the dummy's own password.
			if _, ok, _ := h.CheckPassword(context.Background(), "ghost", "pw"); ok {
				t.Fatal("unknown user accepted with the dummy's password")
			}
		})
	}
}

// TestHtpasswdStatInterval: with a positive StatInterval the file is not
// stat'ed on every check (no clock is read on the fast path), yet a change
// is seen once the interval has passed, and then again after the next one.
func TestHtpasswdStatInterval(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "htpasswd")
	testenv.Htpasswd(t, path, "alice", "one", "-B", "-C", "4")
	const interval = 20 * time.Millisecond
	h, err := NewHtpasswd(HtpasswdConfig{Path: path, StatInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// replace writes a new file with alice's password pw and renames it
	// over path (a new inode, as an editor or htpasswd does).
	replace := func(pw string) {
		t.Helper()
		tmp := filepath.Join(dir, "new")
		testenv.Htpasswd(t, tmp, "alice", pw, "-B", "-C", "4")
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	// waitFor checks until pw is accepted, for at most 500 intervals.
	waitFor := func(pw string) {
		t.Helper()
		for i := 0; i < 500; i++ {
			if _, ok, err := h.CheckPassword(ctx, "alice", pw); err != nil {
				t.Fatal(err)
			} else if ok {
				return
			}
			time.Sleep(interval / 2)
		}
		t.Fatalf("password %q never accepted after the file changed", pw)
	}
	for _, pw := range []string{"two", "three"} {
		replace(pw)
		waitFor(pw)
		if _, ok, _ := h.CheckPassword(ctx, "alice", "one"); ok {
			t.Fatalf("the first password still works after the file changed to %q", pw)
		}
	}
}

// TestHtpasswdCachedUser checks what a cache hit hands out: the same user
// for the same credentials (by the string and the byte paths alike), never
// changed by a normalization made for one request, and not handed out
// again once an application modified it.
func TestHtpasswdCachedUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, `EXAMPLE\Bob`, "bobpw", "-B", "-C", "4")
	h, err := NewHtpasswd(HtpasswdConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var verifies atomic.Int64
	h.onVerify = func(string) { verifies.Add(1) }
	ctx := context.Background()
	check := func() *User {
		t.Helper()
		u, ok, err := h.CheckPassword(ctx, `EXAMPLE\Bob`, "bobpw")
		if !ok || err != nil {
			t.Fatalf("refused: %v", err)
		}
		return u
	}
	first, second := check(), check()
	u, ok, err := h.checkPasswordBytes(ctx, []byte(`EXAMPLE\Bob`), []byte("bobpw"))
	if !ok || err != nil || first != second || u != first {
		t.Errorf("three hits gave %p %p %p (ok=%v err=%v), want one shared user", first, second, u, ok, err)
	}
	if n := verifies.Load(); n != 1 {
		t.Errorf("%d verifications, want 1", n)
	}

	// Requests through a normalizing Basic and a plain one share the
	// checker: the first's rewrite must not reach the second.
	normalizing := MustBasic(BasicConfig{Users: h, Normalize: Chain(StripDomain(), Lower())})(whoami)
	plain := MustBasic(BasicConfig{Users: h})(Normalize(StripDomain(), nil)(whoami))
	tests := []struct {
		name string
		h    http.Handler
		want string
	}{
		{"normalizing", normalizing, `bob Basic EXAMPLE\Bob`},
		{"normalize-middleware", plain, `Bob Basic EXAMPLE\Bob`},
		{"normalizing-again", normalizing, `bob Basic EXAMPLE\Bob`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", basicHeader(`EXAMPLE\Bob`, "bobpw"))
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			if w.Body.String() != tt.want {
				t.Errorf("got %q, want %q", w.Body, tt.want)
			}
			if u := check(); u != first || u.Name != `EXAMPLE\Bob` || u.AuthType != "Basic" || u.Original != "" {
				t.Errorf("cached user is now %+v", *u)
			}
		})
	}

	// An application that modifies the user despite the rule: the next
	// request still gets the right name.
	first.Name = "admin"
	if u := check(); u == first || u.Name != `EXAMPLE\Bob` || u.AuthType != "Basic" {
		t.Errorf("after a modification, a hit gave %+v (shared: %v)", *u, u == first)
	}
	if n := verifies.Load(); n != 1 {
		t.Errorf("%d verifications, want still 1 (a modified user is replaced by a copy, not re-verified)", n)
	}
}

// TestCacheKey: the cache key is one for one pair of user and password
// (where the user name ends is part of the input), the same for strings
// and bytes, long credentials included, and depends on the per-checker
// secret key.
func TestCacheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, path, "alice", "pw")
	h1, err := HtpasswdFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HtpasswdFile(path)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("p", 300)
	pairs := [][2]string{
		{"ab", "c"}, {"a", "bc"}, {"a\x00b", "c"}, {"a", "b\x00c"}, {"", "abc"}, {"abc", ""},
		{"alice", long}, {"alice", long + "q"},
	}
	seen := map[cacheKey][2]string{}
	for _, p := range pairs {
		k := keyOf(&h1.key, p[0], p[1])
		if prev, dup := seen[k]; dup {
			t.Errorf("%q and %q have the same key", prev, p)
		}
		seen[k] = p
		if kb := keyOf(&h1.key, []byte(p[0]), []byte(p[1])); kb != k {
			t.Errorf("%q: the key of the bytes differs from the key of the strings", p)
		}
		if keyOf(&h2.key, p[0], p[1]) == k {
			t.Errorf("%q: two checkers with their own secret keys gave the same key", p)
		}
		// The key is SHA-256 of exactly that input, however often the
		// reused state served before.
		in := append(append(binary.BigEndian.AppendUint32(append([]byte(nil), h1.key[:]...), uint32(len(p[0]))), p[0]...), p[1]...)
		if want := cacheKey(sha256.Sum256(in)); k != want {
			t.Errorf("%q: key %x, want SHA-256 of key, length, user, password: %x", p, k, want)
		}
	}
}

// TestKeyerWipe checks that a keyer going back to the pool keeps nothing of
// the credentials it hashed: its input buffer, its sum, and the partial
// block SHA-256 buffers (read through reflection; the test skips if the
// standard library's state no longer has that buffer).
func TestKeyerWipe(t *testing.T) {
	k := &keyer{h: sha256.New()}
	secret := []byte("0123456789abcdef\x00\x00\x00\x05alices3cretpassw0rd-and-more-than-a-block-of-it-0123456789")
	buf := append(k.buf[:0], secret...)
	k.h.Write(buf)
	k.h.Sum(k.sum[:0])
	clear(buf)
	k.wipe()
	state := reflect.ValueOf(k.h)
	for state.Kind() == reflect.Pointer || state.Kind() == reflect.Interface {
		state = state.Elem()
	}
	x := state.FieldByName("x")
	if !x.IsValid() || x.Kind() != reflect.Array {
		t.Skipf("SHA-256 state %s has no buffer x", state.Type())
	}
	for i := 0; i < x.Len(); i++ {
		if x.Index(i).Uint() != 0 {
			t.Fatalf("the SHA-256 state still holds input bytes: byte %d is %#x", i, x.Index(i).Uint())
		}
	}
	if k.sum != [sha256.Size]byte{} || k.buf != [keyRoom]byte{} {
		t.Error("the keyer's sum or buffer is not cleared")
	}
}
