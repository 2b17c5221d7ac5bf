package classad

import (
	"fmt"
	"strconv"
	"strings"
)

// Syntax selects how string literals are read.
type Syntax int

const (
	// Old is the wire and condor_q -l syntax: in strings only \" is an escape.
	Old Syntax = iota
	// New is the ClassAd language: C-like escapes in strings.
	New
)

// ParseExpr parses one expression.
func ParseExpr(s string, syntax Syntax) (Expr, error) {
	p := &eparser{s: s, syntax: syntax, left: -1}
	return p.parse()
}

func (p *eparser) parse() (Expr, error) {
	p.next()
	e, err := p.ternary(0)
	if p.err != nil { // past the token budget: the input was cut short there
		return nil, p.err
	}
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errf("unexpected %s after the expression", p.tok.describe())
	}
	return e, nil
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

type tokKind int

const (
	tEOF tokKind = iota
	tInt
	tReal
	tString
	tIdent
	tOp
)

type token struct {
	kind tokKind
	text string
	s    string // decoded string value
	off  int
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "string " + strconv.Quote(t.s)
	}
	return strconv.Quote(t.text)
}

type eparser struct {
	s      string
	n      int
	tok    token
	syntax Syntax
	err    error // set past the token budget

	left int   // tokens the budget still allows (-1: no budget)
	used int   // tokens read
	over error // the error past the budget
}

func (p *eparser) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.tok.off, Msg: fmt.Sprintf(format, args...)}
}

var ops3 = []string{"=?=", "=!=", ">>>"}
var ops2 = []string{"==", "!=", "<=", ">=", "&&", "||", "<<", ">>"}

// next reads the next token into p.tok.
func (p *eparser) next() {
	for p.n < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.n]) >= 0 {
		p.n++
	}
	start := p.n
	if p.n >= len(p.s) || p.err != nil {
		p.tok = token{kind: tEOF, off: start}
		return
	}
	if p.left >= 0 && p.used >= p.left {
		// the budget ends the input here: the parse unwinds, then fails
		p.err = p.over
		p.tok = token{kind: tEOF, off: start}
		return
	}
	p.used++
	c := p.s[p.n]
	switch {
	case c >= '0' && c <= '9' || c == '.' && p.n+1 < len(p.s) && p.s[p.n+1] >= '0' && p.s[p.n+1] <= '9':
		p.number(start)
	case c == '"':
		p.quoted(start)
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		end := p.n
		for end < len(p.s) && (p.s[end] == '_' || p.s[end] >= 'a' && p.s[end] <= 'z' || p.s[end] >= 'A' && p.s[end] <= 'Z' || p.s[end] >= '0' && p.s[end] <= '9') {
			end++
		}
		p.n = end
		p.tok = token{kind: tIdent, text: p.s[start:end], off: start}
	default:
		p.operator(start)
	}
}

// number reads an integer (decimal or 0x hexadecimal) or a real.
func (p *eparser) number(start int) {
	end := p.n
	digits := func(hex bool) {
		for end < len(p.s) {
			d := p.s[end] | 0x20
			if p.s[end] >= '0' && p.s[end] <= '9' || hex && d >= 'a' && d <= 'f' {
				end++
				continue
			}
			break
		}
	}
	if strings.HasPrefix(p.s[p.n:], "0x") || strings.HasPrefix(p.s[p.n:], "0X") {
		end += 2
		digits(true)
		p.n = end
		p.tok = token{kind: tInt, text: p.s[start:end], off: start}
		return
	}
	digits(false)
	isReal := false
	if end < len(p.s) && p.s[end] == '.' {
		isReal = true
		end++
		digits(false)
	}
	if end < len(p.s) && (p.s[end]|0x20) == 'e' {
		isReal = true
		end++
		if end < len(p.s) && (p.s[end] == '+' || p.s[end] == '-') {
			end++
		}
		digits(false)
	}
	p.n = end
	if isReal {
		p.tok = token{kind: tReal, text: p.s[start:end], off: start}
	} else {
		p.tok = token{kind: tInt, text: p.s[start:end], off: start}
	}
}

// quoted reads a double-quoted string: old ClassAds escape only \", new
// ones also \n, \t, \r, \\ and \'. An unterminated string is an operator
// token the parser refuses.
func (p *eparser) quoted(start int) {
	if j := strings.IndexAny(p.s[p.n+1:], `"\`); j >= 0 && p.s[p.n+1+j] == '"' {
		// no escape: the value is the text itself, not a copy
		end := p.n + 1 + j
		p.tok = token{kind: tString, text: p.s[start : end+1], s: p.s[p.n+1 : end], off: start}
		p.n = end + 1
		return
	}
	var b strings.Builder
	i := p.n + 1
	for {
		if i >= len(p.s) {
			p.tok = token{kind: tOp, text: "\x00unterminated", off: start}
			p.n = len(p.s)
			return
		}
		d := p.s[i]
		if d == '"' {
			i++
			break
		}
		if d == '\\' && i+1 < len(p.s) {
			i += p.escape(&b, i)
			continue
		}
		b.WriteByte(d)
		i++
	}
	p.n = i
	p.tok = token{kind: tString, text: p.s[start:i], s: b.String(), off: start}
}

// escape writes the escape at p.s[i] (a backslash) to b and returns the
// bytes it took.
func (p *eparser) escape(b *strings.Builder, i int) int {
	if p.syntax == Old {
		if p.s[i+1] == '"' {
			b.WriteByte('"')
			return 2
		}
		b.WriteByte('\\')
		return 1
	}
	switch esc := p.s[i+1]; esc {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case '\\', '"', '\'':
		b.WriteByte(esc)
	default:
		b.WriteByte('\\')
		b.WriteByte(esc)
	}
	return 2
}

// operator reads a three-, two- or one-character operator.
func (p *eparser) operator(start int) {
	for _, o := range ops3 {
		if strings.HasPrefix(p.s[p.n:], o) {
			p.n += 3
			p.tok = token{kind: tOp, text: o, off: start}
			return
		}
	}
	for _, o := range ops2 {
		if strings.HasPrefix(p.s[p.n:], o) {
			p.n += 2
			p.tok = token{kind: tOp, text: o, off: start}
			return
		}
	}
	p.tok = token{kind: tOp, text: string(p.s[p.n]), off: start}
	p.n++
}

func (p *eparser) isOp(s string) bool { return p.tok.kind == tOp && p.tok.text == s }

func (p *eparser) isWord(s string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, s)
}

// binary operator levels, lowest first
var levels = [][]string{
	{"||"}, {"&&"}, {"|"}, {"^"}, {"&"},
	{"==", "!=", "=?=", "=!=", "is", "isnt"},
	{"<", "<=", ">", ">="},
	{"<<", ">>", ">>>"},
	{"+", "-"},
	{"*", "/", "%"},
}

func (p *eparser) ternary(depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, p.errf("expression nested too deeply")
	}
	c, err := p.binary(0, depth)
	if err != nil {
		return nil, err
	}
	if !p.isOp("?") {
		return c, nil
	}
	p.next()
	if p.isOp(":") { // c ?: b, the "Elvis" operator
		p.next()
		b, err := p.ternary(depth + 1)
		if err != nil {
			return nil, err
		}
		return Cond{C: c, B: b}, nil
	}
	a, err := p.ternary(depth + 1)
	if err != nil {
		return nil, err
	}
	if !p.isOp(":") {
		return nil, p.errf("expected ':' in ?: expression, found %s", p.tok.describe())
	}
	p.next()
	b, err := p.ternary(depth + 1)
	if err != nil {
		return nil, err
	}
	return Cond{c, a, b}, nil
}

func (p *eparser) binary(level, depth int) (Expr, error) {
	if level == len(levels) {
		return p.unary(depth)
	}
	x, err := p.binary(level+1, depth)
	if err != nil {
		return nil, err
	}
	for {
		op := ""
		for _, o := range levels[level] {
			if p.isOp(o) || (o == "is" || o == "isnt") && p.isWord(o) {
				op = o
			}
		}
		if op == "" {
			return x, nil
		}
		p.next()
		y, err := p.binary(level+1, depth)
		if err != nil {
			return nil, err
		}
		x = Binary{Op: op, X: x, Y: y}
	}
}

func (p *eparser) unary(depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, p.errf("expression nested too deeply")
	}
	for _, o := range []string{"-", "+", "!", "~"} {
		if p.isOp(o) {
			p.next()
			x, err := p.unary(depth + 1)
			if err != nil {
				return nil, err
			}
			return Unary{Op: o, X: x}, nil
		}
	}
	return p.postfix(depth)
}

func (p *eparser) postfix(depth int) (Expr, error) {
	x, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			if p.tok.kind != tIdent {
				return nil, p.errf("expected an attribute name after '.', found %s", p.tok.describe())
			}
			name := p.tok.text
			p.next()
			if ref, ok := x.(AttrRef); ok && ref.Scope == "" && (strings.EqualFold(ref.Name, "MY") || strings.EqualFold(ref.Name, "TARGET")) {
				x = AttrRef{Scope: ref.Name, Name: name}
			} else {
				x = Select{X: x, Name: name}
			}
		case p.isOp("["):
			p.next()
			i, err := p.ternary(depth + 1)
			if err != nil {
				return nil, err
			}
			if !p.isOp("]") {
				return nil, p.errf("expected ']', found %s", p.tok.describe())
			}
			p.next()
			x = Index{X: x, I: i}
		default:
			return x, nil
		}
	}
}

func (p *eparser) primary(depth int) (Expr, error) {
	t := p.tok
	switch t.kind {
	case tInt:
		p.next()
		n, err := strconv.ParseInt(t.text, 0, 64)
		if err != nil {
			return nil, &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("bad integer %q", t.text)}
		}
		return Int(n), nil
	case tReal:
		p.next()
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("bad real %q", t.text)}
		}
		return Real(f), nil
	case tString:
		p.next()
		return String(t.s), nil
	case tIdent:
		p.next()
		return p.identifier(t.text, depth)
	case tOp:
		switch t.text {
		case "(":
			p.next()
			x, err := p.ternary(depth + 1)
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, p.errf("expected ')', found %s", p.tok.describe())
			}
			p.next()
			return Paren{X: x}, nil
		case "{":
			p.next()
			return p.list(depth)
		case "[":
			p.next()
			return p.record(depth)
		case "\x00unterminated":
			return nil, &SyntaxError{Offset: t.off, Msg: "unterminated string"}
		}
	}
	return nil, p.errf("expected a value, found %s", t.describe())
}

// identifier is a literal (true, false, undefined, error), a function call
// or an attribute reference, after the name.
func (p *eparser) identifier(name string, depth int) (Expr, error) {
	switch strings.ToLower(name) {
	case "true":
		return Bool(true), nil
	case "false":
		return Bool(false), nil
	case "undefined":
		return Undefined{}, nil
	case "error":
		return ErrorLit{}, nil
	}
	if !p.isOp("(") {
		return AttrRef{Name: name}, nil
	}
	p.next()
	var args []Expr
	for !p.isOp(")") {
		a, err := p.ternary(depth + 1)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.isOp(",") {
			p.next()
			continue
		}
		if !p.isOp(")") {
			return nil, p.errf("expected ',' or ')' in the arguments of %s(), found %s", name, p.tok.describe())
		}
	}
	p.next()
	return Call{Name: name, Args: args}, nil
}

// list reads { x, y, … } after the '{'.
func (p *eparser) list(depth int) (Expr, error) {
	var l List
	for !p.isOp("}") {
		x, err := p.ternary(depth + 1)
		if err != nil {
			return nil, err
		}
		l = append(l, x)
		if p.isOp(",") {
			p.next()
			continue
		}
		if !p.isOp("}") {
			return nil, p.errf("expected ',' or '}' in a list, found %s", p.tok.describe())
		}
	}
	p.next()
	if l == nil {
		l = List{}
	}
	return l, nil
}

// record reads a nested ad [ a = x; b = y; … ] after the '['.
func (p *eparser) record(depth int) (Expr, error) {
	var r Record
	for !p.isOp("]") {
		if p.tok.kind != tIdent {
			return nil, p.errf("expected an attribute name in a nested ad, found %s", p.tok.describe())
		}
		name := p.tok.text
		p.next()
		if !p.isOp("=") {
			return nil, p.errf("expected '=' after %s, found %s", name, p.tok.describe())
		}
		p.next()
		x, err := p.ternary(depth + 1)
		if err != nil {
			return nil, err
		}
		r.Attrs = append(r.Attrs, Attr{Name: name, Expr: x})
		if p.isOp(";") {
			p.next()
			continue
		}
		if !p.isOp("]") {
			return nil, p.errf("expected ';' or ']' in a nested ad, found %s", p.tok.describe())
		}
	}
	p.next()
	return r, nil
}
