package submitfile

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/classad"
)

// macros is the submit language's table of (lazy) assignments.
type macros struct {
	vals   map[string]string // lower-case name -> raw value
	getenv func(string) string
	dir    string
	rnd    *rand.Rand
	// work counts the bytes one expand call has produced at every level,
	// bounded by maxExpandWork
	work int
	// lookups and draws count the macro lookups and random draws made so
	// far: an expansion that made neither gives the same text every time
	// (its value can be kept for the next proc)
	lookups, draws int
	// lowered maps names as written ($(Cluster)) to lower case, made once
	lowered map[string]string
	warnBuf []string // the warnings of the expansion under way
}

// maxExpandWork bounds the bytes one expansion produces at all levels of
// its recursion together (a value within MaxExpanded can still take
// exponential time to make when macros double each other).
const maxExpandWork = 4 * MaxExpanded

func newMacros(getenv func(string) string, dir string) *macros {
	return &macros{vals: map[string]string{}, getenv: getenv, dir: dir, rnd: rand.New(rand.NewSource(1))}
}

func (m *macros) set(name, value string) { m.setLower(name, strings.ToLower(name), value) }

// setLower is set of name, whose lower case is key.
func (m *macros) setLower(name, key, value string) {
	// a self-reference refers to the previous value: X = $(X) more appends
	if old, ok := m.vals[key]; ok {
		value = replaceSelf(value, name, old)
	} else {
		value = replaceSelf(value, name, "")
	}
	m.vals[key] = value
}

func replaceSelf(value, name, old string) string {
	if strings.IndexByte(value, '$') < 0 {
		return value
	}
	pat := "$(" + name + ")"
	if indexFoldASCII(value, pat) < 0 {
		return value
	}
	var b strings.Builder
	for {
		i := indexFoldASCII(value, pat)
		if i < 0 {
			b.WriteString(value)
			return b.String()
		}
		b.WriteString(value[:i] + old)
		value = value[i+len(pat):]
	}
}

// indexFoldASCII is strings.Index ignoring ASCII case. Byte offsets stay
// those of s (strings.ToLower would change them for invalid UTF-8).
func indexFoldASCII(s, pat string) int {
	for i := 0; i+len(pat) <= len(s); i++ {
		j := 0
		for j < len(pat) && lowerASCII(s[i+j]) == lowerASCII(pat[j]) {
			j++
		}
		if j == len(pat) {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (m *macros) lookup(name string) (string, bool) {
	v, ok := m.vals[m.lower(name)]
	return v, ok
}

// lower is name in lower case; a name with capitals is lowered once.
func (m *macros) lower(name string) string {
	if l, ok := m.lowered[name]; ok {
		return l
	}
	l := strings.ToLower(name)
	if l != name {
		if m.lowered == nil {
			m.lowered = map[string]string{}
		}
		if len(m.lowered) < 10000 {
			m.lowered[name] = l
		}
	}
	return l
}

// maxExpandDepth bounds macro recursion (a = $(b), b = $(a)).
const maxExpandDepth = 64

// MaxExpanded bounds the expansion of one value (bytes): macros that
// double at each step (A2 = $(A1)$(A1) …) would otherwise need memory
// exponential in the file's length.
const MaxExpanded = 1 << 20

// fatalExpansion is an expansion that cannot go on (too deep, too large):
// an error, where other expansion problems are warnings.
type fatalExpansion struct{ msg string }

func (e *fatalExpansion) Error() string { return e.msg }

// expand substitutes macros in s; overlay (per-proc built-ins and queue
// variables) takes precedence. $$(attr) is kept for match time. Undefined
// macros expand to "" (as condor_submit does) with a warning. The error is
// set only when the expansion had to stop (nested too deeply, larger than
// MaxExpanded).
func (m *macros) expand(s string, overlay scope) (string, []string, error) {
	if strings.IndexByte(s, '$') < 0 {
		return s, nil, nil
	}
	m.work = 0
	m.warnBuf = m.warnBuf[:0] // (one buffer: no slice header to allocate per call)
	out, err := m.expandDepth(s, overlay, 0, &m.warnBuf)
	warns := slices.Clone(m.warnBuf)
	if err != nil {
		if fe := (*fatalExpansion)(nil); errors.As(err, &fe) {
			return "", warns, fe
		}
		warns = append(warns, err.Error())
	}
	return out, warns, nil
}

// scope is what an expansion looks names up in before the macros: a
// proc's built-ins and queue variables, or the static macros.
type scope interface {
	lookup(lk string) (string, bool)
}

// mapScope is a scope of a map by lower-case name.
type mapScope map[string]string

func (s mapScope) lookup(lk string) (string, bool) { v, ok := s[lk]; return v, ok }

func (m *macros) get(name string, overlay scope) (string, bool) {
	m.lookups++
	lk := m.lower(name)
	if overlay != nil {
		if v, ok := overlay.lookup(lk); ok {
			return v, true
		}
	}
	v, ok := m.vals[lk]
	return v, ok
}

func (m *macros) expandDepth(s string, overlay scope, depth int, warns *[]string) (string, error) {
	if depth > maxExpandDepth {
		return s, &fatalExpansion{fmt.Sprintf("macro expansion nested deeper than %d (a macro refers to itself?)", maxExpandDepth)}
	}
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) + 64) // most expansions are longer than their text
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			// the text up to the next '$' as it is
			j := strings.IndexByte(s[i+1:], '$')
			if j < 0 {
				j = len(s) - i - 1
			}
			b.WriteString(s[i : i+1+j])
			i += 1 + j
			continue
		}
		// $$(attr): left for the match (job-time) substitution
		if s[i+1] == '$' && i+2 < len(s) && s[i+2] == '(' {
			end := matchParen(s, i+2)
			if end < 0 {
				b.WriteString(s[i:])
				break
			}
			b.WriteString(s[i : end+1])
			i = end + 1
			continue
		}
		if s[i+1] == '(' {
			end := matchParen(s, i+1)
			if end < 0 {
				return "", fmt.Errorf("unclosed $( in %q", clip(s[i:]))
			}
			inner, err := m.expandDepth(s[i+2:end], overlay, depth+1, warns)
			if err != nil {
				return "", err
			}
			name, def, hasDef := strings.Cut(inner, ":")
			name = strings.TrimSpace(name)
			if v, ok := m.get(name, overlay); ok {
				ev, err := m.expandDepth(v, overlay, depth+1, warns)
				if err != nil {
					return "", err
				}
				m.work += len(ev)
				if b.Len()+len(ev) > MaxExpanded || m.work > maxExpandWork {
					return "", tooLarge("$(" + name + ")")
				}
				b.WriteString(ev)
			} else if hasDef {
				b.WriteString(def)
			} else {
				*warns = append(*warns, fmt.Sprintf("macro $(%s) is not defined; it expands to nothing", name))
			}
			i = end + 1
			continue
		}
		// $FUNC(args)
		j := i + 1
		for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] == '_') {
			j++
		}
		if j > i+1 && j < len(s) && s[j] == '(' {
			end := matchParen(s, j)
			if end < 0 {
				return "", fmt.Errorf("unclosed $%s( in %q", s[i+1:j], clip(s[i:]))
			}
			v, handled, err := m.function(s[i+1:j], s[j+1:end], overlay, depth, warns)
			if err != nil {
				return "", err
			}
			if handled {
				if b.Len()+len(v) > MaxExpanded {
					return "", tooLarge("$" + s[i+1:j] + "()")
				}
				b.WriteString(v)
				i = end + 1
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), nil
}

func tooLarge(name string) error {
	return &fatalExpansion{fmt.Sprintf("macro expansion grows past %d MiB (at %s; do macros double each other?)", MaxExpanded>>20, name)}
}

// matchParen returns the index of the ')' matching the '(' at open.
func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitArgs splits function arguments at top-level commas.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// function expands $NAME(args) when NAME is one of condor_submit's macro
// functions; ok is false for any other name.
func (m *macros) function(name, args string, overlay scope, depth int, warns *[]string) (v string, ok bool, err error) {
	c := macroCall{m: m, overlay: overlay, depth: depth, warns: warns}
	switch {
	case name == "ENV":
		v, err = c.env(args)
	case name == "INT" || name == "REAL":
		v, err = c.number(name, args)
	case name == "CHOICE":
		v, err = c.choice(args)
	case name == "RANDOM_CHOICE":
		items := splitArgs(args)
		m.draws++
		v, err = c.exp(items[m.rnd.Intn(len(items))])
	case name == "RANDOM_INTEGER":
		v, err = m.randomInteger(args)
	case name == "SUBSTR":
		v, err = c.substr(args)
	case name == "BASENAME":
		v, err = c.macroArg(args)
		v = fileParts("nx", v, m.dir)
	case name == "DIRNAME":
		v, err = c.macroArg(args)
		v = fileParts("p", v, m.dir)
	case len(name) > 1 && (name[0] == 'F') && strings.Trim(strings.ToLower(name[1:]), "fpduwnxbqa") == "":
		v, err = c.macroArg(args)
		v = fileParts(strings.ToLower(name[1:]), v, m.dir)
	default:
		return "", false, nil
	}
	return v, true, err
}

// macroCall is one macro function being expanded.
type macroCall struct {
	m       *macros
	overlay scope
	depth   int
	warns   *[]string
}

// exp expands s one level deeper.
func (c macroCall) exp(s string) (string, error) {
	return c.m.expandDepth(s, c.overlay, c.depth+1, c.warns)
}

// valueOf is the value of a macro name, or the text itself, expanded.
func (c macroCall) valueOf(s string) (string, error) {
	if v, ok := c.m.get(strings.TrimSpace(s), c.overlay); ok {
		return c.exp(v)
	}
	return c.exp(s)
}

// macroArg: the argument names a macro; an undefined one is empty
// ($Fn(undefined) is "").
func (c macroCall) macroArg(s string) (string, error) {
	name := strings.TrimSpace(s)
	if v, ok := c.m.get(name, c.overlay); ok {
		return c.exp(v)
	}
	if isIdent(name) {
		return "", nil
	}
	return c.exp(s)
}

// env is $ENV(NAME[:default]).
func (c macroCall) env(args string) (string, error) {
	a, err := c.exp(args)
	if err != nil {
		return "", err
	}
	vname, def, hasDef := strings.Cut(a, ":")
	v := c.m.getenv(strings.TrimSpace(vname))
	if v == "" && hasDef {
		v = def
	}
	return v, nil
}

// number is $INT(expr[, format]) and $REAL(expr[, format]).
func (c macroCall) number(name, args string) (string, error) {
	parts := splitArgs(args)
	v, err := c.valueOf(parts[0])
	if err != nil {
		return "", err
	}
	f, err := evalArith(v)
	if err != nil {
		return "", fmt.Errorf("$%s(%s): %v", name, args, err)
	}
	format := "%d"
	if name == "REAL" {
		format = "%16G"
	}
	if len(parts) > 1 && parts[1] != "" {
		format = parts[1]
	}
	if name == "INT" || strings.ContainsAny(format[len(format)-1:], "dxXoc") {
		return cFormat(format, int64(f)), nil
	}
	return strings.TrimSpace(cFormat(format, f)), nil
}

// choice is $CHOICE(index, item, item…) or $CHOICE(index, macro-with-a-list).
func (c macroCall) choice(args string) (string, error) {
	parts := splitArgs(args)
	idxS, err := c.valueOf(parts[0])
	if err != nil {
		return "", err
	}
	idx, err := strconv.Atoi(strings.TrimSpace(idxS))
	if err != nil {
		return "", fmt.Errorf("$CHOICE: index %q is not an integer", idxS)
	}
	items := parts[1:]
	if len(items) == 1 {
		if v, ok := c.m.get(items[0], c.overlay); ok {
			ev, _ := c.exp(v)
			items = splitArgs(ev)
		}
	}
	if idx < 0 || idx >= len(items) {
		return "", fmt.Errorf("$CHOICE: index %d is out of range (0..%d)", idx, len(items)-1)
	}
	return c.exp(items[idx])
}

// randomInteger is $RANDOM_INTEGER(lo, hi[, step]).
func (m *macros) randomInteger(args string) (string, error) {
	p := splitArgs(args)
	var lo, hi, step int
	lo, _ = strconv.Atoi(p[0])
	if len(p) > 1 {
		hi, _ = strconv.Atoi(p[1])
	}
	step = 1
	if len(p) > 2 {
		step, _ = strconv.Atoi(p[2])
	}
	if hi < lo || step < 1 {
		return "", fmt.Errorf("$RANDOM_INTEGER(%s): bad range", args)
	}
	m.draws++
	return strconv.Itoa(lo + step*m.rnd.Intn((hi-lo)/step+1)), nil
}

// substr is $SUBSTR(macro, start[, length]); negative numbers count from
// the end.
func (c macroCall) substr(args string) (string, error) {
	p := splitArgs(args)
	v, err := c.macroArg(p[0])
	if err != nil {
		return "", err
	}
	start, _ := strconv.Atoi(p[1%len(p)])
	if start < 0 {
		start = max(len(v)+start, 0)
	}
	if start > len(v) {
		return "", nil
	}
	v = v[start:]
	if len(p) > 2 {
		n, _ := strconv.Atoi(p[2])
		if n < 0 {
			n = len(v) + n
		}
		if n < 0 {
			n = 0
		}
		if n < len(v) {
			v = v[:n]
		}
	}
	return v, nil
}

// fileParts implements $F[fpduwnxbqa](path).
func fileParts(letters, path, cwd string) string {
	has := func(c byte) bool { return strings.IndexByte(letters, c) >= 0 }
	p := path
	if has('f') && !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
		if strings.HasSuffix(path, "/") {
			p += "/"
		}
	}
	if has('w') {
		p = strings.ReplaceAll(p, "/", "\\")
	}
	if has('u') {
		p = strings.ReplaceAll(p, "\\", "/")
	}
	sep := "/"
	if strings.Contains(p, "\\") && !strings.Contains(p, "/") {
		sep = "\\"
	}
	dir, file := "", p
	if i := strings.LastIndexAny(p, "/\\"); i >= 0 {
		dir, file = p[:i+1], p[i+1:]
	}
	if !strings.ContainsAny(letters, "pdnx") {
		return quoteIf(letters, p)
	}
	var out string
	if has('p') {
		out += dir
	} else if has('d') {
		d := strings.TrimRight(dir, "/\\")
		if i := strings.LastIndexAny(d, "/\\"); i >= 0 {
			d = d[i+1:]
		}
		if d != "" {
			out += d
			if !has('b') {
				out += sep
			}
		}
	}
	base, ext := file, ""
	if i := strings.LastIndexByte(file, '.'); i > 0 {
		base, ext = file[:i], file[i:]
	}
	if has('n') {
		out += base
	}
	if has('x') {
		if has('b') && !has('d') {
			ext = strings.TrimPrefix(ext, ".")
		}
		out += ext
	}
	return quoteIf(letters, out)
}

func quoteIf(letters, s string) string {
	if strings.IndexByte(letters, 'q') < 0 {
		return s
	}
	if strings.IndexByte(letters, 'a') >= 0 {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}

// evalArith evaluates a numeric ClassAd expression (+ - * / % and parentheses).
func evalArith(s string) (float64, error) {
	e, err := classad.ParseExpr(strings.TrimSpace(s), classad.Old)
	if err != nil {
		return 0, fmt.Errorf("%q is not an arithmetic expression: %v", s, err)
	}
	return arith(e)
}

func arith(e classad.Expr) (float64, error) {
	switch x := e.(type) {
	case classad.Int:
		return float64(x), nil
	case classad.Real:
		return float64(x), nil
	case classad.Bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case classad.Paren:
		return arith(x.X)
	case classad.Unary:
		v, err := arith(x.X)
		if err != nil {
			return 0, err
		}
		switch x.Op {
		case "-":
			return -v, nil
		case "+":
			return v, nil
		}
	case classad.Binary:
		a, err := arith(x.X)
		if err != nil {
			return 0, err
		}
		b, err := arith(x.Y)
		if err != nil {
			return 0, err
		}
		switch x.Op {
		case "+":
			return a + b, nil
		case "-":
			return a - b, nil
		case "*":
			return a * b, nil
		case "/":
			if b == 0 {
				return 0, fmt.Errorf("division by zero")
			}
			return a / b, nil
		case "%":
			if b == 0 {
				return 0, fmt.Errorf("division by zero")
			}
			return math.Mod(a, b), nil
		}
	}
	return 0, fmt.Errorf("%q is not arithmetic", classad.Unparse(e))
}

// cFormat applies a C printf format with one argument (%i and length
// modifiers such as %ld are accepted as C allows them).
func cFormat(format string, v any) string {
	f := strings.NewReplacer("%i", "%d", "%ld", "%d", "%lld", "%d", "%lf", "%f", "%lg", "%g", "%lG", "%G").Replace(format)
	return fmt.Sprintf(f, v)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
