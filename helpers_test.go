package gowsgi_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// python is the interpreter the examples run their workers with: Debian's,
// as the wsgi package's tests use (testenv.DebianPython).
const python = "/usr/bin/python3"

// Password file lines as Apache's "htpasswd -nbm USER PASSWORD" wrote them
// (MD5 $apr1$, htpasswd's default): alice and bob with the password
// "secret", firstuser with "first". The examples write them to a file, as
// "htpasswd -c FILE USER" would have.
const (
	aliceLine     = "alice:$apr1$7OV8znKn$8R64JDP69KIxHgzc905H80\n"
	bobLine       = "bob:$apr1$qbDRdtN8$9sSW/hrvRHcJKp4gXNhOf/\n"
	firstuserLine = "firstuser:$apr1$fNhIQAvX$WvFHa.jBWDKLLahExfXhm0\n"
)

// tracLike returns the absolute path of examples/trac-like/name: WSGI
// scripts standing in for Trac (minitrac.py), and two environments under
// envs/.
func tracLike(name string) string {
	return mustAbs(filepath.Join("examples", "trac-like", name))
}

// mustAbs returns the absolute path of p, relative to the module's root
// (where go test runs the examples).
func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

// request describes one request an example sends.
type request struct {
	method, target, host string
	user, password       string // Basic credentials when user is set
	form                 url.Values
	header               http.Header
}

// do sends req to the server at base and returns the response's status code
// and body, on one line.
func do(base string, req request) string {
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if req.form != nil {
		body = strings.NewReader(req.form.Encode())
	}
	r, err := http.NewRequest(method, base+req.target, body)
	if err != nil {
		return err.Error()
	}
	// Send the target as written, not as url.URL would normalize it: the
	// examples show what raw paths such as "//" and "%6C" become.
	r.URL.Opaque = req.target
	r.URL.RawQuery = ""
	if i := strings.IndexByte(req.target, '?'); i >= 0 {
		r.URL.Opaque, r.URL.RawQuery = req.target[:i], req.target[i+1:]
	}
	if req.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range req.header {
		r.Header[k] = v
	}
	if req.host != "" {
		r.Host = req.host
	}
	if req.user != "" {
		r.SetBasicAuth(req.user, req.password)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
}

// show prints what do returns, prefixed with the request target.
func show(base string, req request) {
	who := ""
	if req.user != "" {
		who = " as " + req.user + ":" + req.password
	}
	host := ""
	if req.host != "" {
		host = " (Host " + req.host + ")"
	}
	fmt.Printf("%s%s%s -> %s\n", req.target, host, who, do(base, req))
}

// challengeParams parses the parameters of a WWW-Authenticate challenge of
// scheme, such as Digest's realm, nonce and domain. It is what a client
// needs, not a validating parser.
func challengeParams(h http.Header, scheme string) map[string]string {
	for _, v := range h.Values("WWW-Authenticate") {
		rest, ok := strings.CutPrefix(v, scheme+" ")
		if !ok {
			continue
		}
		params := map[string]string{}
		for rest != "" {
			rest = strings.TrimLeft(rest, ", ")
			name, after, ok := strings.Cut(rest, "=")
			if !ok {
				break
			}
			var val string
			if strings.HasPrefix(after, `"`) {
				end := strings.IndexByte(after[1:], '"')
				if end < 0 {
					break
				}
				val, rest = after[1:1+end], after[2+end:]
			} else {
				val, rest, _ = strings.Cut(after, ",")
			}
			params[strings.TrimSpace(name)] = val
		}
		return params
	}
	return nil
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// htdigestLine returns the line Apache's htdigest writes for user in realm.
func htdigestLine(user, realm, password string) string {
	return user + ":" + realm + ":" + md5hex(user+":"+realm+":"+password) + "\n"
}

// digestAuthorization answers a Digest challenge (RFC 7616, MD5, qop=auth)
// for a GET of target, as a browser would after the first 401.
func digestAuthorization(c map[string]string, user, password, target string) string {
	const nc, cnonce = "00000001", "0a4f113b"
	ha1 := md5hex(user + ":" + c["realm"] + ":" + password)
	ha2 := md5hex("GET:" + target)
	resp := md5hex(ha1 + ":" + c["nonce"] + ":" + nc + ":" + cnonce + ":auth:" + ha2)
	return fmt.Sprintf(`Digest username=%q, realm=%q, nonce=%q, uri=%q, qop=auth, nc=%s, cnonce=%q, response=%q, opaque=%q, algorithm=MD5`,
		user, c["realm"], c["nonce"], target, nc, cnonce, resp, c["opaque"])
}

// writeFile writes content to name in dir and returns its path; examples
// print the error and stop when it fails.
func writeFile(dir, name, content string) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, []byte(content), 0o600)
}
