package apacheconf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Pos is where a directive was written: a file as it was opened and a
// 1-based line number (the first physical line of a continued line).
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Error is a configuration error: where, which directive (empty for a
// pure syntax error), and what is wrong.
type Error struct {
	Pos       Pos
	Directive string
	Msg       string
}

func (e *Error) Error() string {
	if e.Directive == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Pos, e.Directive, e.Msg)
}

// Warning is something accepted that may not do what its author expects:
// an ignored directive, an undefined variable. `gowsgi -t` prints them.
type Warning struct {
	Pos       Pos
	Directive string
	Msg       string
}

func (w Warning) String() string {
	if w.Directive == "" {
		return fmt.Sprintf("%s: %s", w.Pos, w.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", w.Pos, w.Directive, w.Msg)
}

// Directive is one directive or section of a configuration file, after
// Include, IfDefine and IfModule have been evaluated and variables
// expanded. A section (<Location /x> ... </Location>) has Section set,
// its arguments in Args and its content in Block.
type Directive struct {
	// Name is as written, without the angle brackets of a section.
	// Directive names are case-insensitive, as in Apache.
	Name string
	Args []string
	// Raw is the text after the name, variables expanded, before it was
	// cut into Args (Require's LDAP providers read it whole, as Apache).
	Raw     string
	Pos     Pos
	Section bool
	Block   []*Directive
}

func (d *Directive) String() string {
	var b strings.Builder
	if d.Section {
		b.WriteByte('<')
	}
	b.WriteString(d.Name)
	for _, a := range d.Args {
		b.WriteByte(' ')
		b.WriteString(quote(a))
	}
	if d.Section {
		b.WriteByte('>')
	}
	return b.String()
}

// quote writes a as a configuration word that reads back as a.
func quote(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\r\v\f\"'\\#>") {
		return a
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
}

// Options changes how a file is read. The zero value reads as gowsgi
// does by default.
type Options struct {
	// ServerRoot is the directory relative paths resolve against until a
	// ServerRoot directive changes it (apachectl -d). Empty means the
	// directory holding the file read.
	ServerRoot string
	// Defines are the names true for <IfDefine> before the file's own
	// Define lines (apachectl -D NAME).
	Defines []string
	// LookupEnv finds ${NAME} that no Define set, as Apache looks in its
	// environment. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)

	// noInclude makes Include an error (fuzzing reads no files).
	noInclude bool
}

// reader holds the state of reading one configuration: the variables
// and defines as they stand at the current line, in file order, as
// Apache evaluates Define, IfDefine, Include and ServerRoot while
// reading.
type reader struct {
	opts       Options
	serverRoot string
	defines    map[string]bool
	vars       map[string]string
	warnings   []Warning
	total      int64 // bytes read
	count      int   // directives kept
	stack      []string
}

// Parse reads the configuration file at path into its tree of
// directives, evaluating Include, IncludeOptional, Define, UnDefine,
// ${VAR}, <IfDefine>, <IfModule> and ServerRoot as Apache does while
// reading; it checks the syntax only. [Load] also checks each directive.
func Parse(path string, opts Options) (*File, error) {
	r := newReader(opts)
	if r.serverRoot == "" {
		abs, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return nil, fmt.Errorf("apacheconf: %w", err)
		}
		r.serverRoot = abs
	}
	src, err := r.readFile(path, Pos{})
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		r.stack = append(r.stack, abs) // so that an Include of it is seen as a cycle
	}
	return r.parse(path, src)
}

// ParseBytes is [Parse] for a file already in memory, named name in
// positions.
func ParseBytes(name string, src []byte, opts Options) (*File, error) {
	r := newReader(opts)
	if r.serverRoot == "" {
		r.serverRoot = "/"
	}
	if len(src) > MaxFileSize {
		return nil, &Error{Pos: Pos{name, 0}, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileSize)}
	}
	r.total = int64(len(src))
	return r.parse(name, src)
}

// File is a configuration as read: the tree of its directives, the
// ServerRoot in force at its end, and the warnings of reading it.
type File struct {
	Directives []*Directive
	ServerRoot string
	Warnings   []Warning
}

func newReader(opts Options) *reader {
	r := &reader{
		opts:       opts,
		serverRoot: opts.ServerRoot,
		defines:    map[string]bool{},
		vars:       map[string]string{},
	}
	for _, d := range opts.Defines {
		r.defines[d] = true
	}
	if r.opts.LookupEnv == nil {
		r.opts.LookupEnv = os.LookupEnv
	}
	return r
}

func (r *reader) parse(name string, src []byte) (*File, error) {
	r.stack = append(r.stack, name)
	top, err := r.parseSource(name, src, 0)
	if err != nil {
		return nil, err
	}
	return &File{Directives: top, ServerRoot: r.serverRoot, Warnings: r.warnings}, nil
}

func (r *reader) readFile(path string, at Pos) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errAt(at, "", fmt.Sprintf("cannot read %s: %v", path, unwrapPath(err)))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errAt(at, "", err.Error())
	}
	if fi.IsDir() {
		return nil, errAt(at, "", fmt.Sprintf("%s is a directory", path))
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, errAt(at, "", fmt.Sprintf("reading %s: %v", path, unwrapPath(err)))
	}
	if len(src) > MaxFileSize {
		return nil, errAt(at, "", fmt.Sprintf("%s is larger than %d bytes", path, MaxFileSize))
	}
	r.total += int64(len(src))
	if r.total > MaxTotalSize {
		return nil, errAt(at, "", fmt.Sprintf("the configuration and its includes exceed %d bytes", MaxTotalSize))
	}
	return src, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func errAt(p Pos, directive, msg string) *Error {
	return &Error{Pos: p, Directive: directive, Msg: msg}
}

// parseSource reads the lines of one file into a tree. Sections are
// matched across the file only: as in Apache, a section opened in a file
// must be closed in that same file.
func (r *reader) parseSource(name string, src []byte, depth int) ([]*Directive, error) {
	lines, err := splitLines(name, src)
	if err != nil {
		return nil, err
	}
	type open struct {
		d      *Directive
		keep   bool // false for a false <IfDefine>/<IfModule>: its content is skipped
		cond   bool // <IfDefine>/<IfModule>: transparent, its content goes to the parent
		parent *[]*Directive
	}
	var top []*Directive
	cur := &top
	var stack []open
	skipping := func() bool { return len(stack) > 0 && !stack[len(stack)-1].keep }
	for _, ln := range lines {
		text := ln.text
		if !skipping() {
			var undef []string
			text, undef, err = expand(text, r.lookup)
			if err != nil {
				return nil, errAt(ln.pos, "", err.Error())
			}
			for _, u := range undef {
				r.warn(ln.pos, "", fmt.Sprintf("Config variable ${%s} is not defined (kept as written, as Apache does)", u))
			}
		}
		name, rest, _ := getWord(text)
		if strings.HasPrefix(name, "</") {
			if len(stack) == 0 {
				return nil, errAt(ln.pos, "", fmt.Sprintf("%s without matching <%s> section", name, strings.TrimSuffix(name[2:], ">")))
			}
			o := stack[len(stack)-1]
			want := "</" + o.d.Name + ">"
			if !strings.EqualFold(name, want) || strings.TrimSpace(rest) != "" {
				return nil, errAt(ln.pos, "", fmt.Sprintf("expected %s but saw %s", want, strings.TrimSpace(text)))
			}
			stack = stack[:len(stack)-1]
			cur = o.parent
			if o.cond {
				continue
			}
			if o.keep {
				*cur = append(*cur, o.d)
			}
			continue
		}
		if strings.HasPrefix(name, "<") {
			d, err := sectionStart(ln.pos, text)
			if err != nil {
				return nil, err
			}
			if len(stack) >= MaxNesting {
				return nil, errAt(ln.pos, "<"+d.Name+">", fmt.Sprintf("sections nested deeper than %d", MaxNesting))
			}
			o := open{d: d, keep: !skipping(), parent: cur}
			r.count++
			if r.count > MaxDirectives {
				return nil, errAt(ln.pos, "", fmt.Sprintf("more than %d directives", MaxDirectives))
			}
			if o.keep {
				switch strings.ToLower(d.Name) {
				case "ifdefine":
					o.cond = true
					if len(d.Args) != 1 {
						return nil, errAt(ln.pos, "<IfDefine>", "takes one argument, [!]NAME")
					}
					arg, neg := strings.CutPrefix(d.Args[0], "!")
					o.keep = r.defines[arg] != neg
				case "ifmodule":
					o.cond = true
					if len(d.Args) != 1 {
						return nil, errAt(ln.pos, "<IfModule>", "takes one argument, [!]module")
					}
					arg, neg := strings.CutPrefix(d.Args[0], "!")
					on, known := moduleImplemented(arg)
					if !known && !strings.HasSuffix(arg, ".c") && !strings.HasSuffix(arg, "_module") {
						r.warn(ln.pos, "<IfModule>", fmt.Sprintf("%q is neither a module file name (mod_x.c) nor an identifier (x_module): false, as in Apache", arg))
					}
					o.keep = on != neg
				}
			} else {
				o.cond = true
			}
			stack = append(stack, o)
			if o.cond {
				continue // the content goes to the enclosing block, or nowhere
			}
			cur = &d.Block
			continue
		}
		if skipping() {
			continue
		}
		args := words(rest)
		d := &Directive{Name: name, Args: args, Raw: rest, Pos: ln.pos}
		handled, err := r.readTime(d, cur, depth)
		if err != nil {
			return nil, err
		}
		if handled {
			continue
		}
		r.count++
		if r.count > MaxDirectives {
			return nil, errAt(ln.pos, "", fmt.Sprintf("more than %d directives", MaxDirectives))
		}
		*cur = append(*cur, d)
	}
	if len(stack) > 0 {
		o := stack[len(stack)-1]
		return nil, errAt(o.d.Pos, "<"+o.d.Name+">", fmt.Sprintf("was not closed (expected </%s> before the end of %s)", o.d.Name, name))
	}
	return top, nil
}

// sectionStart reads "<Name args...>" as Apache's section handlers do:
// the arguments end at the last '>' of the line.
func sectionStart(p Pos, text string) (*Directive, error) {
	body := text[1:]
	name := body
	if i := strings.IndexFunc(body, func(c rune) bool { return c < 128 && isSpace(byte(c)) }); i >= 0 {
		name = body[:i]
	}
	name = strings.TrimSuffix(name, ">")
	if name == "" {
		return nil, errAt(p, "", fmt.Sprintf("bad section start %q", text))
	}
	rest := body[len(name):]
	end := strings.LastIndexByte(rest, '>')
	if end < 0 {
		return nil, errAt(p, "<"+name+">", "directive missing closing '>'")
	}
	if strings.TrimSpace(rest[end+1:]) != "" {
		return nil, errAt(p, "<"+name+">", fmt.Sprintf("text after the closing '>': %q", strings.TrimSpace(rest[end+1:])))
	}
	return &Directive{Name: name, Args: words(rest[:end]), Pos: p, Section: true}, nil
}

func (r *reader) lookup(name string) (string, bool) {
	if v, ok := r.vars[name]; ok {
		return v, true
	}
	return r.opts.LookupEnv(name)
}

func (r *reader) warn(p Pos, directive, msg string) {
	r.warnings = append(r.warnings, Warning{Pos: p, Directive: directive, Msg: msg})
}

// readTime evaluates the directives Apache runs while reading (Define,
// UnDefine, Include, IncludeOptional, ServerRoot). Include's content is
// appended to cur in place of the directive; ServerRoot is also kept in
// the tree so that [Load] can check its context.
func (r *reader) readTime(d *Directive, cur *[]*Directive, depth int) (bool, error) {
	switch strings.ToLower(d.Name) {
	case "define":
		if len(d.Args) < 1 || len(d.Args) > 2 {
			return true, errAt(d.Pos, d.Name, "takes one or two arguments, NAME [VALUE]")
		}
		if strings.Contains(d.Args[0], ":") {
			return true, errAt(d.Pos, d.Name, "variable name must not contain ':'")
		}
		r.defines[d.Args[0]] = true
		if len(d.Args) == 2 {
			r.vars[d.Args[0]] = d.Args[1]
		}
		return true, nil
	case "undefine":
		if len(d.Args) != 1 {
			return true, errAt(d.Pos, d.Name, "takes one argument, NAME")
		}
		delete(r.defines, d.Args[0])
		delete(r.vars, d.Args[0])
		return true, nil
	case "serverroot":
		if len(d.Args) != 1 {
			return true, errAt(d.Pos, d.Name, "takes one argument, a directory")
		}
		root := d.Args[0]
		if !filepath.IsAbs(root) {
			return true, errAt(d.Pos, d.Name, fmt.Sprintf("%q is not an absolute path", root))
		}
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			return true, errAt(d.Pos, d.Name, fmt.Sprintf("%s is not a directory", root))
		}
		r.serverRoot = filepath.Clean(root)
		return false, nil
	case "include", "includeoptional":
		optional := strings.EqualFold(d.Name, "includeoptional")
		if len(d.Args) != 1 {
			return true, errAt(d.Pos, d.Name, "takes one argument, a file, directory or wildcard pattern")
		}
		if r.opts.noInclude {
			return true, errAt(d.Pos, d.Name, "includes are off")
		}
		if depth+1 > MaxIncludeDepth {
			return true, errAt(d.Pos, d.Name, fmt.Sprintf("includes nested deeper than %d (a recursion?)", MaxIncludeDepth))
		}
		files, err := r.includeFiles(d, optional)
		if err != nil {
			return true, err
		}
		for _, f := range files {
			if slices.Contains(r.stack, f) {
				return true, errAt(d.Pos, d.Name, fmt.Sprintf("%s includes itself (through %s)", f, strings.Join(r.stack, " -> ")))
			}
			src, err := r.readFile(f, d.Pos)
			if err != nil {
				return true, err
			}
			r.stack = append(r.stack, f)
			sub, err := r.parseSource(f, src, depth+1)
			r.stack = r.stack[:len(r.stack)-1]
			if err != nil {
				return true, err
			}
			*cur = append(*cur, sub...)
		}
		return true, nil
	}
	return false, nil
}

// includeFiles lists the files an Include names, as Apache does
// (TestIncludeApache checks it against Apache): a path relative to
// ServerRoot; a directory includes every file under it, dot files too,
// each directory's entries in sorted order and a sub-directory where it
// sorts; a wildcard pattern is expanded by [reader.glob]. A missing file
// or directory is an error for Include, not for IncludeOptional.
func (r *reader) includeFiles(d *Directive, optional bool) ([]string, error) {
	pattern := d.Args[0]
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(r.serverRoot, pattern)
	}
	if !hasMeta(pattern) {
		fi, err := os.Stat(pattern)
		if err != nil {
			if optional {
				return nil, nil
			}
			return nil, errAt(d.Pos, d.Name, fmt.Sprintf("cannot read %s: %v", pattern, unwrapPath(err)))
		}
		if fi.IsDir() {
			return r.walkDir(d, pattern)
		}
		return []string{pattern}, nil
	}
	files, err := r.glob(d, "/", strings.Split(strings.TrimPrefix(filepath.ToSlash(pattern), "/"), "/"), optional)
	if err != nil {
		return nil, err
	}
	return files, nil
}

// glob expands a wildcard pattern as Apache does, component by
// component from dir: a component without a wildcard is taken as it is;
// one with a wildcard is matched against the directory's entries in
// sorted order (a wildcard never matching a leading dot, as fnmatch's
// FNM_PERIOD), the directories among them when more components follow.
// For Include (not IncludeOptional), a wildcard component matching
// nothing in a directory is an error, as in Apache.
func (r *reader) glob(d *Directive, dir string, comps []string, optional bool) ([]string, error) {
	for len(comps) > 0 && !hasMeta(comps[0]) {
		dir = filepath.Join(dir, comps[0])
		comps = comps[1:]
	}
	if len(comps) == 0 {
		fi, err := os.Stat(dir)
		if err != nil {
			if optional {
				return nil, nil
			}
			return nil, errAt(d.Pos, d.Name, fmt.Sprintf("cannot read %s: %v", dir, unwrapPath(err)))
		}
		if fi.IsDir() {
			return r.walkDir(d, dir)
		}
		return []string{dir}, nil
	}
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		if optional {
			return nil, nil
		}
		return nil, errAt(d.Pos, d.Name, fmt.Sprintf("cannot open directory %s: %v", dir, unwrapPath(err)))
	}
	var files []string
	matched := false
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") && !strings.HasPrefix(comps[0], ".") {
			continue
		}
		ok, err := filepath.Match(comps[0], name)
		if err != nil {
			return nil, errAt(d.Pos, d.Name, fmt.Sprintf("bad pattern %q: %v", comps[0], err))
		}
		if !ok {
			continue
		}
		p := filepath.Join(dir, name)
		if len(comps) > 1 {
			if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
				continue
			}
		}
		matched = true
		sub, err := r.glob(d, p, comps[1:], optional)
		if err != nil {
			return nil, err
		}
		files = append(files, sub...)
		if len(files) > MaxDirectives {
			return nil, errAt(d.Pos, d.Name, "too many files")
		}
	}
	if !matched && !optional {
		return nil, errAt(d.Pos, d.Name, fmt.Sprintf("no file matches %q in %s (IncludeOptional accepts that)", comps[0], dir))
	}
	return files, nil
}

// walkDir lists every file under dir, as Apache includes a directory:
// each directory's entries sorted, dot files included.
func (r *reader) walkDir(d *Directive, dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			files = append(files, p)
			if len(files) > MaxDirectives {
				return errors.New("too many files")
			}
		}
		return nil
	})
	if err != nil {
		return nil, errAt(d.Pos, d.Name, fmt.Sprintf("reading directory %s: %v", dir, unwrapPath(err)))
	}
	return files, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }
