package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// readmeRecipe returns the command lines of the first code block after the
// heading in the repository's README.md, a line continued with a trailing
// backslash joined with the next.
func readmeRecipe(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q", heading)
	}
	_, after, ok = strings.Cut(after, "\n```\n")
	if !ok {
		t.Fatalf("README.md: no code block after %q", heading)
	}
	block, _, _ := strings.Cut(after, "\n```\n")
	var lines []string
	cont := false
	for _, l := range strings.Split(block, "\n") {
		switch {
		case cont:
			lines[len(lines)-1] += " " + strings.TrimSpace(l)
		case strings.TrimSpace(l) != "":
			lines = append(lines, l)
		default:
			continue
		}
		last := &lines[len(lines)-1]
		if cont = strings.HasSuffix(*last, `\`); cont {
			*last = strings.TrimSuffix(*last, `\`)
		}
	}
	return lines
}

// expectComment is a recipe line's comment: what its output shows.
var expectComment = regexp.MustCompile(`\s{2,}# (.*)$`)

// runRecipe runs the README's recipe under heading as a reader would, from
// a directory of its own holding a link to the repository's examples
// (the recipes' relative paths are the repository root's): the gowsgi line
// starts the command (startChild, with its arguments as sh expands them, on
// a free port that replaces 127.0.0.1:8000 in the lines after it); every
// other line runs with sh. A line's "# EXPECTED" comment must appear in
// its output (fragments separated by " ... " in order; a final
// parenthesis explains, and is not compared); a line without one must
// succeed.
func runRecipe(t *testing.T, heading string, env ...string) {
	t.Helper()
	testenv.LookPath(t, "curl", "curl")
	lines := readmeRecipe(t, heading)
	dir := t.TempDir()
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(examples, filepath.Join(dir, "examples")); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(append(os.Environ(), "HOME="+home, "PWD="+dir, "http_proxy=", "HTTP_PROXY=", "no_proxy=*", "NO_PROXY=*"), env...)
	sh := func(script string) (string, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	addr := ""
	for _, line := range lines {
		if addr != "" {
			line = strings.ReplaceAll(line, "127.0.0.1:8000", addr)
		}
		cmdline, want := line, ""
		if m := expectComment.FindStringSubmatchIndex(line); m != nil {
			cmdline, want = line[:m[0]], line[m[2]:m[3]]
		}
		if rest, ok := strings.CutPrefix(cmdline, "gowsgi "); ok {
			out, err := sh(`gowsgi() { for a; do printf '%s\0' "$a"; done; }; gowsgi ` + rest)
			if err != nil {
				t.Fatalf("%s: %v\n%s", cmdline, err, out)
			}
			args := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
			addr = startChild(t, childOpts{dir: dir}, args...).addr
			continue
		}
		out, err := sh(cmdline)
		t.Logf("$ %s\n%s", cmdline, out)
		if want == "" {
			if err != nil {
				t.Fatalf("%s: %v\n%s", cmdline, err, out)
			}
			continue
		}
		if i := strings.LastIndex(want, " ("); i >= 0 && strings.HasSuffix(want, ")") {
			want = want[:i]
		}
		rest := out
		for _, frag := range strings.Split(want, " ... ") {
			i := strings.Index(rest, strings.TrimSpace(frag))
			if i < 0 {
				t.Fatalf("%s: output lacks %q (of %q):\n%s", cmdline, frag, want, out)
			}
			rest = rest[i+len(frag):]
		}
	}
	if addr == "" {
		t.Fatalf("the recipe under %q starts no gowsgi", heading)
	}
}

// TestReadmeFlask runs the README's Flask recipe.
func TestReadmeFlask(t *testing.T) {
	testenv.PythonModule(t, testenv.Python(t), "flask", "python3-flask")
	runRecipe(t, "### Flask")
}

// TestReadmeDjango runs the README's Django recipe: -python-path finds the
// project, -static serves its files.
func TestReadmeDjango(t *testing.T) {
	testenv.PythonModule(t, testenv.Python(t), "django", "python3-django")
	runRecipe(t, "### Django")
}

// TestReadmeDulwich runs the README's git server recipe with the real git
// client: an anonymous clone works, an anonymous push is refused with a
// challenge, a push with credentials lands and a new clone sees it.
func TestReadmeDulwich(t *testing.T) {
	testenv.PythonModule(t, testenv.Python(t), "dulwich.web", "python3-dulwich")
	testenv.LookPath(t, "git", "git")
	testenv.LookPath(t, "htpasswd", "apache2-utils")
	runRecipe(t, "### A git server (dulwich)",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com")
}

// TestReadmeRecipeParsing checks the reading of recipes: comments, and a
// command continued over several lines.
func TestReadmeRecipeParsing(t *testing.T) {
	got := expectComment.FindStringSubmatch("curl http://x/#frag   # 200 ok (why)")
	if got == nil || got[1] != "200 ok (why)" {
		t.Errorf("comment: %q", got)
	}
	if expectComment.MatchString("curl http://x/#frag") {
		t.Error("a '#' in a URL read as a comment")
	}
	lines := readmeRecipe(t, "### Django")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "gowsgi ") || strings.Contains(lines[0], `\`) || !strings.Contains(lines[0], " -static ") {
		t.Errorf("Django recipe, continuation lines not joined: %q", lines)
	}
}
