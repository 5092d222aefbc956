package apacheconf_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/gowsgi/gowsgi/internal/apacheconf"
)

const hgConf = `Listen 127.0.0.1:8000
WSGIDaemonProcess hg processes=2 threads=4
WSGIScriptAlias /hg /srv/hg/hgweb.wsgi process-group=hg
<Location /hg>
    AuthType Basic
    AuthName "Mercurial"
    AuthUserFile hg.htpasswd
    <LimitExcept GET HEAD>
        Require valid-user
    </LimitExcept>
    Order deny,allow
    Deny from all
    Allow from 10.0.0.0/8
</Location>
`

func load(src string) *apacheconf.Config {
	dir, err := os.MkdirTemp("", "apacheconf")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "hg.conf")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		panic(err)
	}
	c, err := apacheconf.Load(path, apacheconf.Options{ServerRoot: "/etc/gowsgi"})
	if err != nil {
		panic(err)
	}
	return c
}

// Resolve gives the settings of one request: hgweb serves anonymous
// clones and authenticated pushes.
func ExampleConfig_Resolve() {
	c := load(hgConf)
	for _, method := range []string{"GET", "POST"} {
		e := c.Resolve("hg.example.com", "/hg/repo", method)
		fmt.Println(method, e.Mount.Script, e.ProcessGroup, e.AuthType, e.AuthUserFile, e.Require)
	}
	e := c.Resolve("hg.example.com", "/hg/repo", "GET")
	fmt.Println(e.Access.Allows(netip.MustParseAddr("10.1.2.3"), "GET"), e.Access.Allows(netip.MustParseAddr("192.0.2.1"), "GET"))
	// Output:
	// GET /srv/hg/hgweb.wsgi hg Basic /etc/gowsgi/hg.htpasswd <nil>
	// POST /srv/hg/hgweb.wsgi hg Basic /etc/gowsgi/hg.htpasswd Require valid-user
	// true false
}

// Dump writes what gowsgi -dump prints.
func ExampleConfig_Dump() {
	c := load(hgConf)
	// Positions name the file; this example drops them.
	var b dropPositions
	_ = c.Dump(&b)
	// Output:
	// serverroot /etc/gowsgi
	// listen 127.0.0.1:8000
	// daemon hg processes=2 threads=4
	// site main -
	//   mount /hg /srv/hg/hgweb.wsgi process-group=hg pool=hg,*|/hg
	//   location /hg
	//     set AuthType Basic
	//     set AuthName Mercurial
	//     set AuthUserFile hg.htpasswd
	//     limitexcept GET HEAD
	//       require valid-user
	//     access Order deny,allow
	//     access Deny from all
	//     access Allow from 10.0.0.0/8
}

// dropPositions writes to stdout without the "  # file:line" ends.
type dropPositions struct{}

func (dropPositions) Write(p []byte) (int, error) {
	s := string(p)
	if i := indexComment(s); i >= 0 {
		s = s[:i] + "\n"
	}
	fmt.Print(s)
	return len(p), nil
}

func indexComment(s string) int {
	for i := 0; i+3 < len(s); i++ {
		if s[i:i+4] == "  # " {
			return i
		}
	}
	return -1
}
