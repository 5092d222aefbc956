package apacheconf

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGetWord(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`"a b" c`, []string{"a b", "c"}},
		{`'a b' "c"`, []string{"a b", "c"}},
		{`"a \" b"`, []string{`a " b`}},
		{`'a \' b'`, []string{`a ' b`}},
		{`"a \' b"`, []string{`a \' b`}},
		{`"a \\ b"`, []string{`a \ b`}},
		{`a\\b a\b`, []string{`a\b`, `a\b`}},
		{`"unterminated b`, []string{"unterminated b"}},
		{`"a"b`, []string{"a", "b"}},
		{`a"b c"`, []string{`a"b`, `c"`}},
		{`""`, []string{""}},
		{"\t x \t", []string{"x"}},
		{``, nil},
	}
	for _, tt := range tests {
		if got := words(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitLines(t *testing.T) {
	src := "A 1\r\n  # comment\n\nB \\\n  2\n# comment \\\nswallowed\nC 3\\\\\nD 4 \\ \nE"
	lines, err := splitLines("f", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, fmt.Sprintf("%d:%s", l.pos.Line, l.text))
	}
	want := []string{"1:A 1", "4:B   2", `8:C 3\\`, `9:D 4 \`, "10:E"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x y", "B": "${A}"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	tests := []struct{ in, out, undef string }{
		{"a ${A} b", "a x y b", ""},
		{"${B}", "${A}", ""}, // not expanded again
		{"${C}/x", "${C}/x", "C"},
		{"${}", "${}", ""},
		{"${A", "${A", ""},
		{"$A {A}", "$A {A}", ""},
	}
	for _, tt := range tests {
		out, undef, err := expand(tt.in, lookup)
		if err != nil || out != tt.out || strings.Join(undef, ",") != tt.undef {
			t.Errorf("expand(%q) = %q, %q, %v; want %q, %q", tt.in, out, undef, err, tt.out, tt.undef)
		}
	}
	vars["BIG"] = strings.Repeat("x", MaxLineLength/2)
	if _, _, err := expand("${BIG}${BIG}${BIG}", lookup); err == nil {
		t.Error("an expansion past MaxLineLength was accepted")
	}
}

// write creates the files of tree (name -> content) under a new
// directory and returns it.
func write(t *testing.T, tree map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range tree {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// names lists the directives of ds, depth first, as "Name args".
func names(ds []*Directive) []string {
	var out []string
	for _, d := range ds {
		out = append(out, strings.TrimSpace(d.Name+" "+strings.Join(d.Args, " ")))
		out = append(out, names(d.Block)...)
	}
	return out
}

func TestInclude(t *testing.T) {
	dir := write(t, map[string]string{
		"main.conf":        "ServerName main\nInclude conf.d/*.conf\nIncludeOptional nothing/*.conf\nIncludeOptional missing.conf\nInclude sites\nServerAdmin last\n",
		"conf.d/b.conf":    "SetEnv B 1\n",
		"conf.d/a.conf":    "SetEnv A 1\n",
		"conf.d/.hidden":   "Bogus\n",
		"conf.d/c.txt":     "Bogus\n",
		"sites/x/1.conf":   "SetEnv X1 1\n",
		"sites/0.conf":     "SetEnv S0 1\n",
		"sites/.git/x":     "SetEnv GIT 1\n",
		"loop.conf":        "Include loop2.conf\n",
		"self.conf":        "Include self.conf\n",
		"loop2.conf":       "Include loop.conf\n",
		"unclosed.conf":    "Include open.conf\n</Location>\n",
		"open.conf":        "<Location /x>\n",
		"broken.conf":      "Include nosuch.conf\n",
		"missingglob.conf": "Include nosuch/*.conf\n",
		"rel.conf":         "ServerRoot " + "/" + "\nInclude etc-nonexistent-x.conf\n",
	})
	f, err := Parse(filepath.Join(dir, "main.conf"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := names(f.Directives)
	// A directory includes its dot files too, as Apache; "*.conf" skips
	// them.
	want := []string{"ServerName main", "SetEnv A 1", "SetEnv B 1", "SetEnv GIT 1", "SetEnv S0 1", "SetEnv X1 1", "ServerAdmin last"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if p := f.Directives[1].Pos; p.File != filepath.Join(dir, "conf.d/a.conf") || p.Line != 1 {
		t.Errorf("position of an included directive: %v", p)
	}
	for file, want := range map[string]string{
		"loop.conf":        "loop.conf includes itself",
		"self.conf":        "self.conf:1: Include: " + filepath.Join(dir, "self.conf") + " includes itself",
		"unclosed.conf":    "open.conf:1: <Location>: was not closed",
		"broken.conf":      "broken.conf:1: Include: cannot read " + filepath.Join(dir, "nosuch.conf"),
		"missingglob.conf": "missingglob.conf:1: Include: cannot open directory",
		"rel.conf":         "rel.conf:2: Include: cannot read /etc-nonexistent-x.conf",
	} {
		_, err := Parse(filepath.Join(dir, file), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", file, err, want)
		}
	}
}

func TestIncludeDepth(t *testing.T) {
	tree := map[string]string{}
	for i := range MaxIncludeDepth + 2 {
		tree[fmt.Sprintf("%d.conf", i)] = fmt.Sprintf("Include %d.conf\n", i+1)
	}
	dir := write(t, tree)
	_, err := Parse(filepath.Join(dir, "0.conf"), Options{})
	if err == nil || !strings.Contains(err.Error(), "includes nested deeper than") {
		t.Errorf("got %v", err)
	}
}

func TestConditionals(t *testing.T) {
	src := `Define WITH_AUTH
Define ROOT /srv/trac
<IfDefine WITH_AUTH>
  SetEnv auth on
  <IfDefine !NOPE>
    SetEnv nested ${ROOT}
  </IfDefine>
</IfDefine>
<IfDefine !WITH_AUTH>
  Bogus directive
  <Location /x>
  </Location>
</IfDefine>
<IfDefine CLI>
  SetEnv cli yes
</IfDefine>
<IfModule mod_wsgi.c>
  SetEnv wsgi yes
</IfModule>
<IfModule ssl_module>
  SetEnv ssl yes
</IfModule>
<IfModule !mod_ssl.c>
  SetEnv nossl yes
</IfModule>
<IfModule mod_headers.c>
  SetEnv headers yes
</IfModule>
UnDefine WITH_AUTH
<IfDefine WITH_AUTH>
  Bogus
</IfDefine>
SetEnv root "${ROOT}"
`
	f, err := ParseBytes("t.conf", []byte(src), Options{Defines: []string{"CLI"}})
	if err != nil {
		t.Fatal(err)
	}
	got := names(f.Directives)
	want := []string{"SetEnv auth on", "SetEnv nested /srv/trac", "SetEnv cli yes", "SetEnv wsgi yes", "SetEnv ssl yes", "SetEnv root /srv/trac"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	f, err = ParseBytes("t.conf", []byte("<IfModule mod_wsgi>\nBogus\n</IfModule>\nSetEnv ${NOPE}\n"), Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	var ws []string
	for _, w := range f.Warnings {
		ws = append(ws, w.String())
	}
	if len(ws) != 2 || !strings.Contains(ws[0], "t.conf:1: <IfModule>: \"mod_wsgi\" is neither") || !strings.Contains(ws[1], "t.conf:4: Config variable ${NOPE} is not defined") {
		t.Errorf("warnings %q", ws)
	}
	if names(f.Directives)[0] != "SetEnv ${NOPE}" {
		t.Errorf("an undefined variable is not kept as written: %q", names(f.Directives))
	}
}

func TestEnvironmentVariables(t *testing.T) {
	t.Setenv("APACHECONF_TEST_DIR", "/srv/x")
	f, err := ParseBytes("t.conf", []byte("Define D 1\nSetEnv a ${APACHECONF_TEST_DIR}/${D}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(f.Directives); !slices.Equal(got, []string{"SetEnv a /srv/x/1"}) {
		t.Errorf("got %q", got)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"<Location /a>\nRequire all granted\n", "t.conf:1: <Location>: was not closed"},
		{"<Location /a>\n</Directory>\n", "t.conf:2: expected </Location> but saw </Directory>"},
		{"</Location>\n", "t.conf:1: </Location> without matching <Location> section"},
		{"<Location /a\n</Location>\n", "t.conf:1: <Location>: directive missing closing '>'"},
		{"<Location /a> x\n</Location>\n", "text after the closing '>'"},
		{"<>\n", "t.conf:1: bad section start"},
		{"<IfDefine>\n</IfDefine>\n", "<IfDefine>: takes one argument"},
		{"<IfModule a b>\n</IfModule>\n", "<IfModule>: takes one argument"},
		{"Define\n", "Define: takes one or two arguments"},
		{"Define a:b\n", "must not contain ':'"},
		{"UnDefine\n", "UnDefine: takes one argument"},
		{"Include\n", "Include: takes one argument"},
		{"Include a b\n", "Include: takes one argument"},
		{"ServerRoot\n", "ServerRoot: takes one argument"},
		{"\n\n" + strings.Repeat("x", MaxLineLength+1) + "\n", "t.conf:3: line longer than"},
		{"a \\\n" + strings.Repeat("x", MaxLineLength) + "\n", "t.conf:1: line longer than"},
		{strings.Repeat("<Location /a>\n", MaxNesting+1), "sections nested deeper than"},
		{"Include x.conf\n", "includes are off"},
	}
	for _, tt := range tests {
		_, err := ParseBytes("t.conf", []byte(tt.src), Options{noInclude: true})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.40q: got %v, want %q", tt.src, err, tt.want)
		}
	}
	if _, err := ParseBytes("t.conf", make([]byte, MaxFileSize+1), Options{}); err == nil {
		t.Error("a file larger than MaxFileSize was read")
	}
	big := strings.Repeat("A\n", MaxDirectives+1)
	if _, err := ParseBytes("t.conf", []byte(big), Options{}); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("MaxDirectives: %v", err)
	}
}

func TestFileSizeLimits(t *testing.T) {
	dir := write(t, map[string]string{"big.conf": strings.Repeat("#", MaxFileSize+1)})
	if err := os.WriteFile(filepath.Join(dir, "main.conf"), []byte("Include big.conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Parse(filepath.Join(dir, "main.conf"), Options{})
	if err == nil || !strings.Contains(err.Error(), "main.conf:1: ") || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v", err)
	}
	// 20 files of 1 MiB each exceed MaxTotalSize.
	tree := map[string]string{}
	for i := range 20 {
		tree[fmt.Sprintf("d/%02d.conf", i)] = strings.Repeat("# a comment\n", MaxFileSize/12)
	}
	dir = write(t, tree)
	if err := os.WriteFile(filepath.Join(dir, "main.conf"), []byte("Include d/*.conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Parse(filepath.Join(dir, "main.conf"), Options{})
	if err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("got %v", err)
	}
}
