package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{basicHeader("alice", "pw"), "Basic", "Basic =", "basic YTo=", "Basic YQ==", "Negotiate x", "Basic \x00", basicHeader("a\x7f", "b")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, p, isBasic, ok := parseBasic(s)
		if ok && (!isBasic || u == "" || strings.ContainsAny(u, "\x00\r\n:")) {
			t.Fatalf("parseBasic(%q) = %q %q %v %v", s, u, p, isBasic, ok)
		}
		if !ok && (u != "" || p != "") {
			t.Fatalf("credentials returned with ok=false")
		}
		// Decoding into a buffer too short (so into one of its own) gives
		// the same answer as into the one on the stack, and the same as
		// encoding/base64 itself, which the parser is built on.
		if isBasic {
			_, token, _ := strings.Cut(s, " ")
			token = strings.Trim(token, " \t")
			cred, ok2 := decodeBasic(token, nil)
			if ok2 && (string(cred.user()) != u || string(cred.password()) != p) || ok2 != ok {
				t.Fatalf("decodeBasic(%q, nil) = %+v %v, parseBasic: %q %q %v", token, cred, ok2, u, p, ok)
			}
			if raw, err := base64.StdEncoding.DecodeString(token); ok && (err != nil || string(raw) != u+":"+p) {
				t.Fatalf("parseBasic(%q) = %q %q, encoding/base64: %q %v", s, u, p, raw, err)
			}
		}
	})
}

func FuzzParseDigest(f *testing.F) {
	c := digestClient{user: "alice", realm: "trac", pw: "pw", nonce: "n", opaque: "o"}
	for _, s := range []string{
		c.header("GET", "/login?x=1", 1, nil),
		`Digest username="a\"b", realm="r", nonce="n", uri="/", response="00000000000000000000000000000000", qop=auth, nc=00000001, cnonce="c"`,
		`Digest username=`, `Digest ,,, a=b,`, `Digest a="unterminated`, `Digest a="x\`, "Digest a=\"\x01\"", `Basic x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, isDigest, err := parseDigest(s)
		if err == nil && isDigest {
			if cr.username == "" || cr.uri == "" || cr.qop != "auth" || cr.nc == 0 || len(cr.response) != 32 {
				t.Fatalf("accepted incomplete credentials %+v from %q", cr, s)
			}
		}
		if _, ok := strings.CutPrefix(s, "Digest "); ok {
			// The parameter parser alone must not panic either; a value
			// it returns never holds a control character.
			p, err := parseAuthParams(s[7:])
			if err == nil {
				for k, v := range p {
					if k != strings.ToLower(k) || strings.ContainsAny(v, "\x00\r\n") {
						t.Fatalf("param %q=%q from %q", k, v, s)
					}
				}
			}
		}
	})
}

func FuzzHtpasswd(f *testing.F) {
	for _, s := range []string{
		"alice:$apr1$hwt7E6WR$wokKpm8wukXrkSMvMgow5/\n",
		"# c\r\n\r\nu:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\r\n",
		"u:$2y$05$2tfCpZkJB4DXwydoVjuX8ebHxt.0Ye6TR3T9pQz9TPHgL3vQG4Qy6\n",
		"u:$5$rounds=1000$QFwmBowGFl4aCm2G$yRoJ/c9u.0AXGgA/kH32XcX.ttoZfpICVYjLXNwIw2B\n",
		"u:$6$tRDpo36UefP9AKAT$lduUMEda7Ie4orK/iB7tWkH47VmBeOPPkYFxv3CNYPr/c/0obkFN/0b8gWI6QjLbbtOQWJ7yHCcfd8/FyTHTU.\n",
		"u:MDN4RjyeI3bjs\n", "\"u:x\n", "u\n", ":\n", "u:$5$rounds=99999999999$x$\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseHtpasswd([]byte(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line number: %v", err)
			}
			return
		}
		for _, e := range d.users {
			// Verifying any accepted hash must not panic; bcrypt is
			// skipped for speed (its shape was checked by bcrypt.Cost).
			if e.kind != hashBcrypt {
				verifyHash(e.kind, e.hash, "pw")
			}
		}
	})
}

func FuzzHtdigest(f *testing.F) {
	for _, s := range []string{"alice:trac:4edfa429441f34f2e408f0a49a92bab3\n", "a:b\n", "a:trac:zz\n", "a:trac:4edfa429441f34f2e408f0a49a92bab3:x\n", "# x\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseHtdigest([]byte(s), "trac")
		if err == nil {
			for u, h := range m {
				if u == "" || len(h) != 32 {
					t.Fatalf("entry %q:%q from %q", u, h, s)
				}
			}
		}
	})
}

func FuzzGroupFile(f *testing.F) {
	for _, s := range []string{"admins: alice bob\nadmins: carol\n", "g:\n", "no colon\n", ": x\n", "a b: c\n", "#x\r\ng: u\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := parseGroupFile([]byte(s))
		if err == nil {
			for name, members := range g {
				if name == "" || strings.ContainsAny(name, " \t") {
					t.Fatalf("group %q from %q", name, s)
				}
				for u := range members {
					if u == "" || strings.ContainsAny(u, " \t\r\n") {
						t.Fatalf("member %q from %q", u, s)
					}
				}
			}
		}
	})
}
