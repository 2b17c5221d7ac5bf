package xrsl

import (
	"fmt"
	"strings"
)

// special ends an unquoted literal (ARC's RSLParser::ParseString).
const special = "+&|()=<>!\"'^#$ \t\n\v\f\r"

// isSpecial[c] is whether c is in special.
var isSpecial = func() (t [256]bool) {
	for i := 0; i < len(special); i++ {
		t[special[i]] = true
	}
	return t
}()

// invalidName are characters an attribute or variable name may not contain.
const invalidName = "+&|()=<>!\"'^#$"

type parser struct {
	file string
	s    string
	n    int
	// line starts, for positions
	lines []int
	// rel is the relation whose values are being read (for hints)
	rel *Literal
	// depth is how many '(' of conditions and lists enclose the reader
	depth int
	// literals and relations are handed out of blocks (one allocation
	// for many: a description is mostly small strings)
	lits []Literal
	rels []Relation
	// line is the index in lines of the last position asked for: the
	// parser mostly asks for positions in order, so pos starts there
	line int
}

// slab is how many literals or relations one block holds.
const slab = 64

// literal returns a pointer to a copy of l in the current block.
func (p *parser) literal(l Literal) *Literal {
	if len(p.lits) == cap(p.lits) {
		p.lits = make([]Literal, 0, slab)
	}
	p.lits = append(p.lits, l)
	return &p.lits[len(p.lits)-1]
}

// newRelation returns a zero relation of the current block.
func (p *parser) newRelation() *Relation {
	if len(p.rels) == cap(p.rels) {
		p.rels = make([]Relation, 0, slab)
	}
	p.rels = p.rels[:len(p.rels)+1]
	return &p.rels[len(p.rels)-1]
}

// MaxDepth bounds how deeply conditions and value lists nest (real
// descriptions nest a few levels): deeper input is refused with its
// position rather than exhausting the stack in the parser or evaluator.
const MaxDepth = 200

// enter counts one more level opened at off, refusing more than MaxDepth.
func (p *parser) enter(off int) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errAt(off, fmt.Sprintf("nested more than %d levels deep", MaxDepth))
	}
	return nil
}

// ParseTree parses RSL text into its tree, without evaluating variables.
// file names the source in errors.
func ParseTree(file string, src []byte) (Node, error) {
	p := newParser(file, src)
	if err := p.start(); err != nil {
		return nil, err
	}
	node, err := p.rsl(true)
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return node, nil
}

// start checks the text as a whole and reads up to its first operator.
func (p *parser) start() error {
	if i := strings.IndexByte(p.s, 0); i >= 0 {
		// a NUL would end the string on the wire (CEDAR, C code in A-REX)
		return p.errAt(i, "a NUL byte: refused (no description has one; it would cut the value short at the CE)")
	}
	if err := p.skip(); err != nil {
		return err
	}
	if p.n >= len(p.s) {
		return p.errAt(p.n, "empty description: expected '&', '|' or '+'")
	}
	if c := p.s[p.n]; c != '&' && c != '|' && c != '+' {
		return p.errAt(p.n, fmt.Sprintf("expected '&', '|' or '+' at the start of the description, found %s", p.show(p.n)))
	}
	return nil
}

// end checks that nothing but blanks and comments follows the description.
func (p *parser) end() error {
	if err := p.skip(); err != nil {
		return err
	}
	if p.n < len(p.s) {
		return p.errAt(p.n, fmt.Sprintf("junk at end of RSL: %s", p.show(p.n)))
	}
	return nil
}

func (p *parser) pos(off int) Pos {
	if l := p.line; p.lines[l] <= off {
		// forward from the last line asked for: a few steps at most
		for l+1 < len(p.lines) && p.lines[l+1] <= off && l-p.line < 8 {
			l++
		}
		if l+1 == len(p.lines) || p.lines[l+1] > off {
			p.line = l
			return Pos{Line: l + 1, Col: off - p.lines[l] + 1}
		}
	}
	lo, hi := 0, len(p.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if p.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	p.line = lo
	return Pos{Line: lo + 1, Col: off - p.lines[lo] + 1}
}

func (p *parser) errAt(off int, msg string) *Error {
	return &Error{File: p.file, Pos: p.pos(off), Msg: msg}
}

// show describes what is at off, for messages.
func (p *parser) show(off int) string {
	if off >= len(p.s) {
		return "end of input"
	}
	r := p.s[off:]
	if i := strings.IndexAny(r, "\n"); i >= 0 {
		r = r[:i]
	}
	if len(r) > 20 {
		r = r[:20] + "…"
	}
	return fmt.Sprintf("%q", r)
}

// skip passes blanks and (* comments *) (not nested).
func (p *parser) skip() error {
	for p.n < len(p.s) {
		c := p.s[p.n]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			p.n++
		case c == '(' && p.n+1 < len(p.s) && p.s[p.n+1] == '*':
			end := strings.Index(p.s[p.n+2:], "*)")
			if end < 0 {
				return p.errAt(p.n, "comment '(*' is not closed by '*)'")
			}
			p.n += 2 + end + 2
		default:
			return nil
		}
	}
	return nil
}

func (p *parser) rsl(top bool) (Node, error) {
	if err := p.skip(); err != nil {
		return nil, err
	}
	start := p.n
	if p.n < len(p.s) && (p.s[p.n] == '&' || p.s[p.n] == '|' || p.s[p.n] == '+') {
		op := p.s[p.n]
		if op == '+' && !top {
			return nil, p.errAt(start, "'+' (multi-request) is allowed only at the top level")
		}
		p.n++
		b := &Boolean{Op: op, Pos: p.pos(start)}
		if err := p.skip(); err != nil {
			return nil, err
		}
		for {
			if p.n >= len(p.s) || p.s[p.n] != '(' {
				if len(b.Children) > 0 {
					break
				}
				return nil, p.errAt(p.n, fmt.Sprintf("expected '(' after '%c', found %s", op, p.show(p.n)))
			}
			child, err := p.child()
			if err != nil {
				return nil, err
			}
			b.Children = append(b.Children, child)
		}
		return b, nil
	}
	return p.relation()
}

// child reads `(…)` at p.n, a condition of a boolean, and the blanks after it.
func (p *parser) child() (Node, error) {
	open := p.n
	p.n++
	if err := p.enter(open); err != nil {
		return nil, err
	}
	child, err := p.rsl(false)
	if err != nil {
		return nil, err
	}
	p.depth--
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.n >= len(p.s) || p.s[p.n] != ')' {
		return nil, p.errAt(p.n, fmt.Sprintf("expected ')' to close the '(' at %s, found %s", p.pos(open), p.show(p.n)))
	}
	p.n++
	if err := p.skip(); err != nil {
		return nil, err
	}
	return child, nil
}

func (p *parser) relation() (Node, error) {
	start := p.n
	name, err := p.str()
	if err != nil {
		return nil, err
	}
	if name == nil {
		return nil, p.errAt(start, fmt.Sprintf("expected an attribute name, found %s", p.show(start)))
	}
	if strings.ContainsAny(name.Text, invalidName) {
		return nil, p.errAt(start, fmt.Sprintf("attribute name %q contains a character of %q", name.Text, invalidName))
	}
	if name.Text == "" {
		return nil, p.errAt(start, "empty attribute name")
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	opStart := p.n
	op := p.relop()
	if op == "" {
		return nil, p.errAt(opStart, fmt.Sprintf("expected a relation (=, !=, <, <=, >, >=) after %q, found %s", name.Text, p.show(opStart)))
	}
	outer := p.rel
	p.rel = name
	vals, err := p.list()
	p.rel = outer
	if err != nil {
		return nil, err
	}
	if len(vals) == 0 {
		return nil, p.errAt(p.n, fmt.Sprintf("attribute %q has no value", name.Text))
	}
	r := p.newRelation()
	*r = Relation{Attr: name.Text, Name: NormalizeName(name.Text), Pos: p.pos(start), Op: op, OpPos: p.pos(opStart), Values: vals}
	return r, nil
}

func (p *parser) relop() string {
	if p.n >= len(p.s) {
		return ""
	}
	two := ""
	if p.n+1 < len(p.s) {
		two = p.s[p.n : p.n+2]
	}
	switch {
	case two == "!=" || two == "<=" || two == ">=":
		p.n += 2
		return two
	case p.s[p.n] == '=' || p.s[p.n] == '<' || p.s[p.n] == '>':
		p.n++
		return p.s[p.n-1 : p.n]
	}
	return ""
}

// str reads one string: quoted, ^-delimited, or bare; nil when none is here.
func (p *parser) str() (*Literal, error) {
	if p.n >= len(p.s) {
		return nil, nil
	}
	start := p.n
	c := p.s[p.n]
	switch c {
	case '"', '\'':
		text, err := p.quoted(c, start)
		if err != nil {
			return nil, err
		}
		return p.literal(Literal{Text: text, Quote: c, Pos: p.pos(start)}), nil
	case '^':
		if p.n+1 >= len(p.s) {
			return nil, p.errAt(start, "'^' must be followed by a delimiter character")
		}
		d := p.s[p.n+1]
		p.n++
		text, err := p.quoted(d, start)
		if err != nil {
			return nil, err
		}
		return p.literal(Literal{Text: text, Quote: '^', Delim: d, Pos: p.pos(start)}), nil
	}
	end := p.n
	for end < len(p.s) && !isSpecial[p.s[end]] {
		end++
	}
	if end == p.n {
		return nil, nil
	}
	p.n = end
	return p.literal(Literal{Text: p.s[start:end], Pos: p.pos(start)}), nil
}

// quoted reads from the delimiter at p.n to its closing twin; a doubled delimiter is a literal one.
func (p *parser) quoted(d byte, start int) (string, error) {
	// the usual string has no doubled delimiter: it is a slice of the text
	if i := strings.IndexByte(p.s[p.n+1:], d); i >= 0 {
		if end := p.n + 1 + i + 1; end >= len(p.s) || p.s[end] != d {
			text := p.s[p.n+1 : p.n+1+i]
			p.n = end
			return text, nil
		}
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(p.s[p.n+1:], d)
		if i < 0 {
			what := "double-quoted"
			switch {
			case d == '\'' && p.s[start] != '^':
				what = "single-quoted"
			case p.s[start] == '^':
				what = fmt.Sprintf("^%c-delimited", d)
			}
			return "", p.errAt(start, fmt.Sprintf("unterminated %s string", what))
		}
		b.WriteString(p.s[p.n+1 : p.n+1+i])
		p.n += 1 + i + 1
		if p.n < len(p.s) && p.s[p.n] == d {
			b.WriteByte(d)
			continue
		}
		return b.String(), nil
	}
}

// concatKind is how the value read next joins the one before it.
type concatKind int

const (
	noConcat       concatKind = iota // a value of its own
	explicitConcat                   // after '#'
	implicitConcat                   // adjacent: a value right after a variable, or the reverse
)

// list reads values until ')' (ARC's RSLParser::ParseList, including its
// concatenation rules: `#` is explicit; a value directly after a variable, or
// a variable directly after a value, with no blank between, is implicit).
func (p *parser) list() ([]Value, error) {
	var out []Value
	var left Value
	concat := noConcat
	var concatPos int
	for {
		save := p.n
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.n != save {
			concat = noConcat
		}
		if p.n < len(p.s) && p.s[p.n] == '#' {
			concatPos = p.n
			p.n++
			if err := p.skip(); err != nil {
				return nil, err
			}
			concat = explicitConcat
		} else if concat == implicitConcat {
			concatPos = p.n
		}
		right, next, err := p.listValue()
		if err != nil {
			return nil, err
		}
		switch concat {
		case noConcat:
			if left != nil {
				out = append(out, left)
			}
			left = right
		case explicitConcat:
			if left == nil {
				return nil, p.errAt(concatPos, "'#' has no left operand")
			}
			if right == nil {
				return nil, p.errAt(concatPos, "'#' has no right operand")
			}
			left = &Concat{Left: left, Right: right, Explicit: true, Pos: p.pos(concatPos)}
		case implicitConcat:
			if left != nil && right != nil {
				left = &Concat{Left: left, Right: right, Pos: p.pos(concatPos)}
			} else if left == nil {
				left = right
			}
		}
		concat = next
		if left == nil && right == nil {
			return out, nil
		}
	}
}

// listValue reads one value of a list: a sequence, a variable or a string
// (nil when none is here), and how a value right after it would join it.
func (p *parser) listValue() (Value, concatKind, error) {
	switch {
	case p.n < len(p.s) && p.s[p.n] == '(':
		seq, err := p.sequence()
		return seq, noConcat, err
	case p.n < len(p.s) && p.s[p.n] == '$':
		v, err := p.variable()
		return v, implicitConcat, err
	}
	lit, err := p.str()
	if err != nil || lit == nil {
		return nil, noConcat, err
	}
	return lit, implicitConcat, nil
}

// sequence reads a parenthesised list at p.n.
func (p *parser) sequence() (Value, error) {
	open := p.n
	p.n++
	if err := p.enter(open); err != nil {
		return nil, err
	}
	seq, err := p.list()
	if err != nil {
		return nil, err
	}
	p.depth--
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.n >= len(p.s) || p.s[p.n] != ')' {
		msg := fmt.Sprintf("expected ')' to close the list opened at %s, found %s", p.pos(open), p.show(p.n))
		if at := p.n; p.rel != nil && p.relop() != "" {
			// "(a" then a relation operator: a relation read as a value,
			// so the relation before it was not closed
			p.n = at
			msg += fmt.Sprintf("; is the ')' that ends %q (%s) missing?", p.rel.Text, p.rel.Pos)
		}
		return nil, p.errAt(p.n, msg)
	}
	p.n++
	return &Sequence{Values: seq, Pos: p.pos(open)}, nil
}

// variable reads $(NAME) at p.n.
func (p *parser) variable() (Value, error) {
	dollar := p.n
	p.n++
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.n >= len(p.s) || p.s[p.n] != '(' {
		return nil, p.errAt(p.n, fmt.Sprintf("expected '(' after '$', found %s", p.show(p.n)))
	}
	p.n++
	if err := p.skip(); err != nil {
		return nil, err
	}
	name, err := p.str()
	if err != nil {
		return nil, err
	}
	if name == nil || name.Text == "" {
		return nil, p.errAt(p.n, "expected a variable name in $( )")
	}
	if strings.ContainsAny(name.Text, invalidName) {
		return nil, p.errAt(dollar, fmt.Sprintf("variable name %q contains a character of %q", name.Text, invalidName))
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.n >= len(p.s) || p.s[p.n] != ')' {
		return nil, p.errAt(p.n, fmt.Sprintf("expected ')' to close $( at %s, found %s", p.pos(dollar), p.show(p.n)))
	}
	p.n++
	return &Variable{Name: name.Text, Pos: p.pos(dollar)}, nil
}
