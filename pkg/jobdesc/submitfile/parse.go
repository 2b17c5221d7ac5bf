// Package submitfile reads HTCondor submit description files: `key = value`
// (case-insensitive keys), `#` comments, `\` continuations, `@=tag` blocks,
// lazy macros `$(name)` and `$(name:default)` with HTCondor's built-ins and
// functions ($ENV, $INT, $REAL, $F[pdnxqba], $RANDOM_CHOICE, $CHOICE,
// $SUBSTR…), `if/elif/else/endif`, `include : file` and `include : cmd |`,
// and every `queue` form (count, `in`, `matching`, `from` file/inline/command,
// slices). It produces, per proc, the job ClassAd condor_submit would send for
// the attributes a CE needs (see ad.go).
package submitfile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// Pos is a place in a submit file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a syntax or semantic error at a position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Options control reading.
type Options struct {
	// Dir is where relative paths (include, queue from, matching) resolve;
	// default: the submit file's directory.
	Dir string
	// Env is the environment for $ENV(); default os.Getenv.
	Env func(string) string
	// Vars are command-line assignments (condor_submit NAME=value), applied first.
	Vars map[string]string
	// AllowCommands permits `include : cmd |` and `queue … from cmd |`.
	AllowCommands bool
	// SkipCommands, when commands are not allowed, skips them with a warning
	// (an include adds nothing, a queue from a command queues nothing)
	// instead of failing: for inspecting a file without running anything.
	SkipCommands bool
	// CommandTimeout bounds those commands (default 30 s).
	CommandTimeout time.Duration
	// Now is the submit time (default time.Now).
	Now time.Time
	// Stdin feeds `queue … from -` (condor_submit reads item data from standard input).
	Stdin io.Reader
	// Templates are the submit templates `use template :` may name
	// (ReadCondorConfig reads a site's).
	Templates Templates
	// CheckFiles makes the checks condor_submit makes of the submitting
	// machine's files: the executable (when transferred), initialdir and
	// x509userproxy must exist. For submitting, not for describing.
	CheckFiles bool
}

// Statement is one assignment or queue, in file order.
type statement struct {
	pos   Pos
	key   string // as written; "" for queue
	value string
	queue *queueSpec
}

type reader struct {
	opts    Options
	stmts   []statement
	vars    *macros // for if-conditions and includes, evaluated eagerly at read time
	stack   []string
	warns   []Warning
	maxLine int
	// templateDepth counts the templates being read inside each other
	templateDepth int
}

// Warning is something accepted with doubt.
type Warning struct {
	Pos Pos
	Msg string
}

func (w Warning) String() string { return w.Pos.String() + ": warning: " + w.Msg }

// maxIncludeDepth bounds include nesting.
const maxIncludeDepth = 20

// rawLine is a logical line with its position.
type rawLine struct {
	pos   Pos
	text  string
	block bool // from key @=tag … @tag: the value keeps its newlines
}

// logicalLines joins continuations and drops comments and blank lines.
func logicalLines(file string, src []byte) ([]rawLine, error) {
	if err := checkBytes(file, src); err != nil {
		return nil, err
	}
	out := make([]rawLine, 0, bytes.Count(src, []byte{'\n'})+1)
	n := 0
	var cur strings.Builder
	var start Pos
	cont := false
	var block struct {
		tag  string
		line rawLine
	}
	for rest := string(src); rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		n++
		line = strings.TrimRight(line, "\r")
		if block.tag != "" { // inside key @=tag … @tag
			if strings.TrimSpace(line) == "@"+block.tag {
				block.line.text = strings.TrimSuffix(block.line.text, "\n")
				out = append(out, block.line)
				block.tag = ""
				continue
			}
			block.line.text += line + "\n"
			continue
		}
		trimmed := strings.TrimSpace(line)
		if !cont {
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			start = Pos{File: file, Line: n, Col: len(line) - len(strings.TrimLeft(line, " \t")) + 1}
		} else if strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued line is skipped
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cont = true
			continue
		}
		text := line // (a line not continued is not copied)
		if cont {
			cur.WriteString(line)
			text = cur.String()
			cur.Reset()
		}
		cont = false
		if i := strings.Index(text, "@="); i > 0 && !strings.Contains(text[:i], "=") {
			tag := strings.TrimSpace(text[i+2:])
			if tag != "" && !strings.ContainsAny(tag, " \t") {
				block.tag = tag
				block.line = rawLine{pos: start, text: strings.TrimSpace(text[:i]) + " = ", block: true}
				continue
			}
		}
		out = append(out, rawLine{pos: start, text: strings.TrimSpace(text)})
	}
	if block.tag != "" {
		return nil, &Error{Pos: block.line.pos, Msg: fmt.Sprintf("block %q is not closed by @%s", block.tag, block.tag)}
	}
	if cont {
		return nil, &Error{Pos: start, Msg: "the last line ends with '\\' but nothing follows"}
	}
	return out, nil
}

// MaxLine is the longest line a submit file may have (continued lines are
// joined after this check).
const MaxLine = 16 << 20

// checkBytes refuses a line longer than MaxLine and a NUL byte (ClassAd
// strings on the wire end at NUL: "/bin/ec\0ho" would run /bin/ec), at the
// position of the line or the byte.
func checkBytes(file string, src []byte) error {
	for line, rest := 1, src; len(rest) > 0; line++ {
		text, after, _ := bytes.Cut(rest, []byte{'\n'})
		if len(text) > MaxLine {
			return &Error{Pos: Pos{File: file, Line: line, Col: 1},
				Msg: fmt.Sprintf("line longer than %d MiB (the limit): refused", MaxLine>>20)}
		}
		if i := bytes.IndexByte(text, 0); i >= 0 {
			return &Error{Pos: Pos{File: file, Line: line, Col: i + 1}, Msg: "a NUL byte: refused (it would cut the value short in the job ad)"}
		}
		rest = after
	}
	return nil
}

// read processes a file's statements into r.stmts.
func (r *reader) read(file string, src []byte) error {
	leave, err := r.enter(file)
	if err != nil {
		return err
	}
	defer leave()
	lines, err := logicalLines(file, src)
	if err != nil {
		return err
	}
	r.stmts = slices.Grow(r.stmts, len(lines))
	var cs conds
	for li := 0; li < len(lines); li++ {
		l := lines[li]
		word, rest := firstWord(l.text)
		lw := r.vars.lower(word)
		if ok, err := r.conditional(&cs, l.pos, lw, rest); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if !cs.active() {
			continue
		}
		if li, err = r.statement(lines, li, word, lw, rest); err != nil {
			return err
		}
	}
	if len(cs) > 0 {
		return &Error{Pos: cs[len(cs)-1].pos, Msg: "'if' without 'endif'"}
	}
	return nil
}

// enter puts file on the stack of files being read (refusing an include
// loop and too deep a nesting); leave takes it off again.
func (r *reader) enter(file string) (leave func(), err error) {
	key := file
	if !filepath.IsAbs(key) && !strings.Contains(key, "(include command)") {
		key = filepath.Join(r.opts.Dir, key)
	}
	for _, s := range r.stack {
		if s == key {
			return nil, fmt.Errorf("include loop: %s includes itself again", file)
		}
	}
	if len(r.stack) >= maxIncludeDepth {
		return nil, fmt.Errorf("includes nested deeper than %d", maxIncludeDepth)
	}
	r.stack = append(r.stack, key)
	return func() { r.stack = r.stack[:len(r.stack)-1] }, nil
}

// cond is one level of if/elif/else.
type cond struct {
	active, taken, sawElse bool
	pos                    Pos
}

// conds are the levels of if/elif/else around a line, outermost first.
type conds []cond

// activeUpTo says whether all levels below n are active.
func (cs conds) activeUpTo(n int) bool {
	for _, c := range cs[:n] {
		if !c.active {
			return false
		}
	}
	return true
}

// active says whether lines are read here.
func (cs conds) active() bool { return cs.activeUpTo(len(cs)) }

// conditional reads an if, elif, else or endif line (lw, its first word
// in lower case); ok is false for any other line.
func (r *reader) conditional(cs *conds, pos Pos, lw, rest string) (ok bool, err error) {
	switch lw {
	case "if":
		parent := cs.active()
		v, err := r.condition(pos, rest, parent)
		if err != nil {
			return true, err
		}
		*cs = append(*cs, cond{active: parent && v, taken: v || !parent, pos: pos})
		return true, nil
	case "elif", "else", "endif":
	default:
		return false, nil
	}
	if len(*cs) == 0 {
		return true, &Error{Pos: pos, Msg: fmt.Sprintf("'%s' without 'if'", lw)}
	}
	c := &(*cs)[len(*cs)-1]
	parent := cs.activeUpTo(len(*cs) - 1)
	switch {
	case lw == "endif":
		*cs = (*cs)[:len(*cs)-1]
	case c.sawElse && lw == "elif":
		return true, &Error{Pos: pos, Msg: "'elif' after 'else'"}
	case c.sawElse:
		return true, &Error{Pos: pos, Msg: "second 'else' for the same 'if'"}
	case lw == "else":
		c.sawElse = true
		c.active = !c.taken && parent
		c.taken = true
	default: // elif
		v := false
		if !c.taken && parent {
			if v, err = r.condition(pos, rest, true); err != nil {
				return true, err
			}
		}
		c.active = !c.taken && v
		c.taken = c.taken || v
	}
	return true, nil
}

// statement reads the active line lines[li] (word its first word, lw in
// lower case): use, error or warning, include, queue, or an assignment. It
// returns the index of the last line it read (a queue list spans several).
func (r *reader) statement(lines []rawLine, li int, word, lw, rest string) (int, error) {
	l := lines[li]
	switch {
	case lw == "use" && strings.Contains(rest, ":"):
		return li, r.use(l.pos, rest)
	case (lw == "error" || lw == "warning") && strings.HasPrefix(rest, ":") || strings.HasPrefix(lw, "error:") || strings.HasPrefix(lw, "warning:"):
		return li, r.message(l, lw)
	case lw == "include" && strings.HasPrefix(strings.TrimSpace(rest), ":") || strings.HasPrefix(lw, "include:"):
		spec := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(l.text, word)), ":"))
		if strings.HasPrefix(lw, "include:") {
			spec = strings.TrimSpace(l.text[len("include:"):])
		}
		return li, r.include(l.pos, spec)
	case lw == "queue":
		return r.queue(lines, li, rest)
	}
	key, value, ok := splitAssign(l.text)
	if !ok {
		return li, &Error{Pos: l.pos, Msg: fmt.Sprintf("expected 'name = value', 'queue …', 'if …' or 'include : …', found %q", clip(l.text))}
	}
	if l.block {
		value = l.text[strings.Index(l.text, "=")+2:]
	}
	r.stmts = append(r.stmts, statement{pos: l.pos, key: key, value: value})
	r.vars.setLower(key, r.vars.lower(key), value)
	return li, nil
}

// message reads `error : message`, which stops reading (templates check
// their arguments with it), and `warning : message`, which only says it.
func (r *reader) message(l rawLine, lw string) error {
	msg := strings.TrimSpace(l.text[strings.Index(l.text, ":")+1:])
	if m, _, err := r.vars.expand(msg, nil); err == nil {
		msg = m
	}
	if strings.HasPrefix(lw, "error") {
		return &Error{Pos: l.pos, Msg: msg}
	}
	r.warns = append(r.warns, Warning{Pos: l.pos, Msg: msg})
	return nil
}

// queue reads the queue statement at lines[li]; a list in '(' runs on until
// a line starting with ')'. It returns the index of the last line read.
func (r *reader) queue(lines []rawLine, li int, rest string) (int, error) {
	l := lines[li]
	q, err := parseQueue(l.pos, rest)
	if err != nil {
		return li, err
	}
	if q.multiline {
		closed := false
		for li+1 < len(lines) {
			li++
			t := lines[li].text
			if strings.HasPrefix(t, ")") {
				closed = true
				break
			}
			q.inline = append(q.inline, listItems(t, q.mode)...)
		}
		if !closed {
			return li, &Error{Pos: l.pos, Msg: "queue list '(' is not closed by ')'"}
		}
	}
	r.stmts = append(r.stmts, statement{pos: l.pos, queue: q})
	return li, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func firstWord(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// splitAssign splits `key = value` (also `+Key = v`, `MY.Key = v`).
func splitAssign(s string) (string, string, bool) {
	i := strings.IndexByte(s, '=')
	if i <= 0 {
		return "", "", false
	}
	key := strings.TrimSpace(s[:i])
	if key == "" || strings.ContainsAny(key, " \t") {
		return "", "", false
	}
	return key, strings.TrimSpace(s[i+1:]), true
}

// condition evaluates an if/elif expression: `defined NAME`, `version OP x.y[.z]`,
// true/false/yes/no, numbers, `$(macro)` (empty = false), with `!` negation.
func (r *reader) condition(pos Pos, expr string, eval bool) (bool, error) {
	if !eval {
		return false, nil
	}
	e := strings.TrimSpace(expr)
	neg := false
	for strings.HasPrefix(e, "!") {
		neg = !neg
		e = strings.TrimSpace(e[1:])
	}
	w, rest := firstWord(e)
	var v bool
	switch strings.ToLower(w) {
	case "":
		return false, &Error{Pos: pos, Msg: "'if' needs a condition"}
	case "defined":
		name, extra := firstWord(rest)
		if name == "" || extra != "" {
			return false, &Error{Pos: pos, Msg: fmt.Sprintf("'defined' takes one name, found %q", rest)}
		}
		if strings.Contains(name, "$") {
			// defined $(x): true when the expansion is not empty
			exp, _, err := r.vars.expand(name, nil)
			if err != nil {
				return false, &Error{Pos: pos, Msg: err.Error()}
			}
			v = strings.TrimSpace(exp) != ""
		} else {
			_, v = r.vars.lookup(name)
		}
	case "version":
		rest, warns, err := r.vars.expand(rest, nil)
		if err != nil {
			return false, &Error{Pos: pos, Msg: err.Error()}
		}
		for _, w := range warns {
			r.warns = append(r.warns, Warning{Pos: pos, Msg: w})
		}
		ok, err := versionCompare(rest)
		if err != nil {
			return false, &Error{Pos: pos, Msg: err.Error()}
		}
		v = ok
	default:
		exp, warn, err := r.vars.expand(e, nil)
		if err != nil {
			return false, &Error{Pos: pos, Msg: err.Error()}
		}
		for _, w := range warn {
			r.warns = append(r.warns, Warning{Pos: pos, Msg: w})
		}
		b, ok := truth(exp)
		if !ok {
			return false, &Error{Pos: pos, Msg: fmt.Sprintf("condition %q is not true/false/yes/no, a number, 'defined NAME' or 'version OP X.Y'", expr)}
		}
		v = b
	}
	return v != neg, nil
}

func truth(s string) (bool, bool) {
	s = strings.TrimSpace(s)
	same := classad.SameName // ASCII case: what ToLower gave, without a copy for every proc's True
	switch {
	case s == "" || same(s, "false") || same(s, "no"):
		return false, true
	case same(s, "true") || same(s, "yes"):
		return true, true
	}
	var f float64
	if _, err := fmt.Sscan(s, &f); err == nil && fmt.Sprint(f) != "" {
		if _, err2 := fmt.Sscanf(s, "%g", &f); err2 == nil {
			return f != 0, true
		}
	}
	return false, false
}

// Version is the HTCondor version cesub's submit language follows, for `if version`.
const Version = "24.0.0"

func versionCompare(s string) (bool, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return false, fmt.Errorf("'version' wants an operator and a version, e.g. 'version >= 9.0', found %q", s)
	}
	parse := func(v string) ([3]int, int, error) {
		var out [3]int
		parts := strings.Split(v, ".")
		if len(parts) < 2 || len(parts) > 3 {
			return out, 0, fmt.Errorf("version %q: want x.y or x.y.z", v)
		}
		for i, p := range parts {
			if _, err := fmt.Sscan(p, &out[i]); err != nil {
				return out, 0, fmt.Errorf("version %q: %q is not a number", v, p)
			}
		}
		return out, len(parts), nil
	}
	mine, _, _ := parse(Version)
	want, n, err := parse(f[1])
	if err != nil {
		return false, err
	}
	cmp := 0
	for i := 0; i < n && cmp == 0; i++ {
		switch {
		case mine[i] < want[i]:
			cmp = -1
		case mine[i] > want[i]:
			cmp = 1
		}
	}
	switch f[0] {
	case "==":
		return cmp == 0, nil
	case "!=":
		return cmp != 0, nil
	case "<":
		return cmp < 0, nil
	case "<=":
		return cmp <= 0, nil
	case ">":
		return cmp > 0, nil
	case ">=":
		return cmp >= 0, nil
	}
	return false, fmt.Errorf("'version' operator %q is not one of == != < <= > >=", f[0])
}

func (r *reader) include(pos Pos, spec string) error {
	spec, warns, err := r.vars.expand(spec, nil)
	if err != nil {
		return &Error{Pos: pos, Msg: err.Error()}
	}
	for _, w := range warns {
		r.warns = append(r.warns, Warning{Pos: pos, Msg: w})
	}
	if spec == "" {
		return &Error{Pos: pos, Msg: "include needs a file name or a command ending in '|'"}
	}
	if strings.HasSuffix(spec, "|") {
		out, err := r.runCommand(pos, strings.TrimSpace(strings.TrimSuffix(spec, "|")))
		if err != nil {
			return err
		}
		return r.read(pos.String()+" (include command)", out)
	}
	path := spec
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.opts.Dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return &Error{Pos: pos, Msg: fmt.Sprintf("include: %v", err)}
	}
	if err := r.read(path, b); err != nil {
		if _, ok := err.(*Error); ok {
			return err
		}
		return &Error{Pos: pos, Msg: err.Error()}
	}
	return nil
}

func (r *reader) runCommand(pos Pos, cmd string) ([]byte, error) {
	if !r.opts.AllowCommands && r.opts.SkipCommands {
		r.warns = append(r.warns, Warning{Pos: pos, Msg: fmt.Sprintf("command %q not run (commands are not allowed); it contributes nothing", cmd)})
		return nil, nil
	}
	if !r.opts.AllowCommands {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("running %q is not allowed (pass --allow-commands to run commands named in the submit file)", cmd)}
	}
	t := r.opts.CommandTimeout
	if t == 0 {
		t = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), t)
	defer cancel()
	c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	c.Dir = r.opts.Dir
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("command %q failed: %v %s", cmd, err, strings.TrimSpace(stderr.String()))}
	}
	return out, nil
}
