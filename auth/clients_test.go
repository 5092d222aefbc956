package auth

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// debianPython returns Debian's Python (the python3 first on PATH may lack
// Debian's modules) after checking it can import modules.
func debianPython(t *testing.T, modules ...string) string {
	t.Helper()
	py := testenv.Python(t)
	for _, m := range modules {
		testenv.PythonModule(t, py, m, "python3-"+m)
	}
	return py
}

// runPython runs script with args and returns its trimmed standard output.
func runPython(t *testing.T, py, script string, args ...string) string {
	t.Helper()
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("python: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// urllibScript fetches argv[1] with urllib's handler for argv[2] ("basic"
// or "digest") and credentials argv[3]/argv[4], printing "status body".
// urllib sends credentials only after a 401 challenge.
const urllibScript = `
import sys, urllib.request, urllib.error
url, kind, user, pw = sys.argv[1:5]
pm = urllib.request.HTTPPasswordMgrWithDefaultRealm()
pm.add_password(None, url, user, pw)
h = urllib.request.HTTPDigestAuthHandler(pm) if kind == "digest" else urllib.request.HTTPBasicAuthHandler(pm)
opener = urllib.request.build_opener(h)
try:
    r = opener.open(url)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
`

// requestsScript fetches each URL of argv[3:] in one session with
// requests.auth.HTTPDigestAuth(argv[1], argv[2]), so that later requests
// reuse the nonce with increasing nonce counts; prints one "status body"
// line per URL.
const requestsScript = `
import sys, requests
from requests.auth import HTTPDigestAuth
user, pw = sys.argv[1:3]
auth = HTTPDigestAuth(user, pw)
s = requests.Session()
for url in sys.argv[3:]:
    r = s.get(url, auth=auth)
    print(r.status_code, r.text.strip())
`

// curlDigest fetches url with curl --digest and returns "status body".
func curlDigest(t *testing.T, url, user, pw string) string {
	t.Helper()
	curl := testenv.LookPath(t, "curl", "curl")
	out, err := exec.Command(curl, "-sS", "--digest", "-u", user+":"+pw, "-w", " %{http_code}", url).Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	s := strings.TrimSpace(string(out))
	i := strings.LastIndexByte(s, ' ')
	return s[i+1:] + " " + strings.TrimSpace(s[:i])
}
