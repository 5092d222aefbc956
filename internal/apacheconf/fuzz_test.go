package apacheconf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// guideSnippets are the Apache configuration snippets of Trac's mod_wsgi
// guide exactly as its page shows them: with the closing tags, host names
// and addresses the page lost.
var guideSnippets = []string{
	"WSGIScriptAlias /trac /usr/local/trac/mysite/apache/mysite.wsgi\n\n<Directory /usr/local/trac/mysite/apache>\n    WSGIApplicationGroup %{GLOBAL}\n    Order deny,allow\n    Allow from all\n",
	"WSGIScriptAlias /trac /usr/share/trac/cgi-bin/trac.wsgi\n\n<Directory /usr/share/trac/cgi-bin>\n    WSGIApplicationGroup %{GLOBAL}\n    Order deny,allow\n    Allow from all\n",
	"<Location \"/trac/login\">\n  AuthType Basic\n  AuthName \"Trac\"\n  AuthUserFile /somewhere/trac.htpasswd\n  Require valid-user\n",
	"<LocationMatch \"/trac/[^/]+/login\">\n  AuthType Basic\n  AuthName \"Trac\"\n  AuthUserFile /somewhere/trac.htpasswd\n  Require valid-user\n",
	"<Location \"/trac/login\">\n\n    AuthType Digest\n    AuthName \"trac\"\n    AuthDigestDomain /trac\n    AuthUserFile /somewhere/trac.htpasswd\n    Require valid-user\n",
	"    LoadModule auth_digest_module /usr/lib/apache2/modules/\n",
	"    LoadModule ldap_module modules/\n    LoadModule authnz_ldap_module modules/\n",
	"<Location /trac/>\n  # (if you're using it, mod_python specific settings go here)\n  Order deny,allow\n  Deny from all\n  Allow from\n  AuthType Basic\n  AuthName \"Trac\"\n  AuthBasicProvider \"ldap\"\n  AuthLDAPURL \"ldap://,dc=co,dc=ke?uid?sub?(objectClass=inetOrgPerson)\"\n  authzldapauthoritative Off\n  Require valid-user\n",
	"    AuthLDAPURL \"ldap://,DC=com?sAMAccountName?sub?(objectClass=user)\"\n",
	"    AuthLDAPBindPassword \"password\"\n",
	"<Location /trac/>\n  # (if you're using it, mod_python specific settings go here)\n  Order deny,allow\n  Deny from all\n  Allow from\n  AuthType Basic\n  AuthName \"Trac\"\n  AuthBasicProvider \"ldap\"\n  AuthLDAPURL \"ldap://,DC=com?sAMAccountName?sub?(objectClass=user)\"\n  AuthLDAPBindPassword \"the_password\"\n  authzldapauthoritative Off\n  # require valid-user\n  require ldap-group CN=Trac Users,CN=Users,DC=company,DC=com\n",
	"    Require ldap-group CN=Trac Users,CN=Users,DC=example,DC=com\n",
	"    <Location /trac/login>\n        AuthType SSPI\n        AuthName \"Trac Login\"\n        SSPIAuth On\n        SSPIAuthoritative On\n        SSPIDomain MyLocalDomain\n        SSPIOfferBasic On\n        SSPIOmitDomain Off\n        SSPIBasicPreferred On\n        Require valid-user\n",
	"<Location /authFile>\n   …HTTP authentication configuration…\n   Require valid-user\n",
	"<Directory /home/trac-for-my-proj/the-deploy/cgi-bin/trac.wsgi>\n  WSGIApplicationGroup %{GLOBAL}\n  Order deny,allow\n  Allow from all\n\n<VirtualHost *:80>\n  DocumentRoot /home/trac-for-my-proj/the-env/htdocs/\n  WSGIScriptAlias / /home/trac-for-my-proj/the-deploy/cgi-bin/trac.wsgi\n  <Location '/'>\n    AuthType Basic\n    AuthName \"Trac\"\n    AuthUserFile /home/trac-for-my-proj/the-env/htpasswd\n    Require valid-user\n",
}

// addSeeds adds the guide's snippets, the files of examples/conf and the
// oracle's cases to f's corpus.
func addSeeds(f *testing.F) {
	for _, s := range guideSnippets {
		f.Add(s)
	}
	files, _ := filepath.Glob("../../examples/conf/*.conf")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, c := range oracleCases {
		f.Add(c.src)
	}
}

// FuzzParse feeds arbitrary files to the reader, the checker, the merge
// and the dump: none may panic or hang, and what the checker accepts
// resolves and dumps.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		file, err := ParseBytes("f.conf", []byte(src), Options{noInclude: true, LookupEnv: func(string) (string, bool) { return "", false }})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Pos.File != "f.conf" {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		c, err := Check(file)
		if err != nil {
			if !strings.Contains(err.Error(), "f.conf:") {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		for _, s := range c.Sites() {
			for _, m := range s.Mounts {
				for _, method := range []string{"GET", "POST"} {
					e := c.Resolve(s.Name, m.URL, method)
					if e.Mount == nil && e.Static == nil {
						t.Fatalf("the mount %s does not map its own URL", m.URL)
					}
				}
			}
		}
		c.Resolve("example.com", "/", "GET")
		var b bytes.Buffer
		if err := c.Dump(&b); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzWords checks the word splitter: a word written with quote reads
// back as itself, alone and among others.
func FuzzWords(f *testing.F) {
	for _, s := range []string{"", "a", "a b", `"a\"b"`, `'\'`, `\\`, "#x", "a\\", "\"", "x>"} {
		f.Add(s, "next")
	}
	for _, s := range guideSnippets {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := words(quote(a) + " " + quote(b))
		if !slices.Equal(got, []string{a, b}) {
			t.Fatalf("words(%q) = %q, want %q", quote(a)+" "+quote(b), got, []string{a, b})
		}
		// Any line splits into words no longer than itself.
		n := 0
		for _, w := range words(a) {
			n += len(w)
		}
		if n > len(a) {
			t.Fatalf("words(%q) grew the line", a)
		}
	})
}

// writeTree writes ds back as configuration text.
func writeTree(b *strings.Builder, ds []*Directive) {
	for _, d := range ds {
		b.WriteString(d.String() + "\n")
		if d.Section {
			writeTree(b, d.Block)
			b.WriteString("</" + d.Name + ">\n")
		}
	}
}

// plainNames reports whether every directive name of ds reads back as
// itself (names are written as they are, not quoted).
func plainNames(ds []*Directive) bool {
	for _, d := range ds {
		if d.Name == "" || strings.ContainsAny(d.Name, " \t\n\r\v\f\"'\\#<>$") {
			return false
		}
		if !plainNames(d.Block) {
			return false
		}
	}
	return true
}

// FuzzRoundTrip reads a file, writes its tree back with
// [Directive.String] and reads that again: the two trees must be equal,
// so that the words the reader cuts and the quoting -dump writes agree.
func FuzzRoundTrip(f *testing.F) {
	addSeeds(f)
	none := func(string) (string, bool) { return "", false }
	f.Fuzz(func(t *testing.T, src string) {
		a, err := ParseBytes("f.conf", []byte(src), Options{noInclude: true, LookupEnv: none})
		if err != nil || !plainNames(a.Directives) {
			return
		}
		var b strings.Builder
		writeTree(&b, a.Directives)
		again, err := ParseBytes("g.conf", []byte(b.String()), Options{noInclude: true, LookupEnv: none})
		if err != nil {
			t.Fatalf("the written tree does not read back: %v\n%s", err, b.String())
		}
		if got, want := names(again.Directives), names(a.Directives); !slices.Equal(got, want) {
			t.Fatalf("read back %q, want %q\n%s", got, want, b.String())
		}
	})
}
