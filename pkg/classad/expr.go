// Package classad holds HTCondor ClassAd values and expressions: a parser for
// the expression language (literals, attribute references with MY./TARGET.,
// operators with HTCondor's precedence, ?:, function calls, lists, nested
// records), an unparser that writes expressions the way HTCondor prints them
// in the old (wire, condor_q -l) format, and the old-syntax string rule
// (only \" is an escape). Expressions such as Requirements are carried intact.
// A Budget bounds what decoding a peer's ads may cost (attributes, text,
// expression tokens per ad and per answer).
package classad

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Expr is a ClassAd expression node.
type Expr interface{ unparse(b *strings.Builder) }

// Literal values.
type (
	Int       int64
	Real      float64
	String    string
	Bool      bool
	Undefined struct{}
	ErrorLit  struct{}
)

// AttrRef is a reference to an attribute, optionally scoped (MY, TARGET).
type AttrRef struct {
	Scope string // "", "MY", "TARGET" (as written)
	Name  string
}

// Unary is -x, +x, !x, ~x.
type Unary struct {
	Op string
	X  Expr
}

// Binary is x op y.
type Binary struct {
	Op   string
	X, Y Expr
}

// Cond is c ? a : b; with A nil it is c ?: b (the "Elvis" operator: c
// unless it is undefined or an error, else b).
type Cond struct{ C, A, B Expr }

// Paren keeps parentheses the author wrote (HTCondor prints them back).
type Paren struct{ X Expr }

// Call is f(args).
type Call struct {
	Name string
	Args []Expr
}

// List is { a, b }.
type List []Expr

// Record is a nested ad [ a = 1; b = 2 ].
type Record struct{ Attrs []Attr }

// Select is x.name.
type Select struct {
	X    Expr
	Name string
}

// Index is x[i].
type Index struct{ X, I Expr }

// Attr is one attribute of an ad.
type Attr struct {
	Name string
	Expr Expr
}

// Unparse returns the HTCondor old-format text of an expression.
func Unparse(e Expr) string {
	var b strings.Builder
	e.unparse(&b)
	return b.String()
}

func (v Int) unparse(b *strings.Builder) { b.WriteString(strconv.FormatInt(int64(v), 10)) }
func (v Real) unparse(b *strings.Builder) {
	f := float64(v)
	switch {
	case math.IsInf(f, 1):
		b.WriteString("real(\"INF\")")
	case math.IsInf(f, -1):
		b.WriteString("real(\"-INF\")")
	case math.IsNaN(f):
		b.WriteString("real(\"NaN\")")
	default:
		s := strconv.FormatFloat(f, 'G', -1, 64) // shortest exact: stable through re-parsing
		if !strings.ContainsAny(s, ".EN") {
			s += ".0"
		}
		b.WriteString(s)
	}
}
func (v String) unparse(b *strings.Builder) { b.WriteString(QuoteOld(string(v))) }
func (v Bool) unparse(b *strings.Builder) {
	if v {
		b.WriteString("true")
	} else {
		b.WriteString("false")
	}
}
func (Undefined) unparse(b *strings.Builder) { b.WriteString("undefined") }
func (ErrorLit) unparse(b *strings.Builder)  { b.WriteString("error") }
func (a AttrRef) unparse(b *strings.Builder) {
	if a.Scope != "" {
		b.WriteString(a.Scope + ".")
	}
	b.WriteString(a.Name)
}
func (u Unary) unparse(b *strings.Builder) {
	b.WriteString(u.Op)
	u.X.unparse(b)
}
func (x Binary) unparse(b *strings.Builder) {
	x.X.unparse(b)
	b.WriteString(" " + x.Op + " ")
	x.Y.unparse(b)
}
func (c Cond) unparse(b *strings.Builder) {
	c.C.unparse(b)
	if c.A == nil {
		b.WriteString(" ?: ")
		c.B.unparse(b)
		return
	}
	b.WriteString(" ? ")
	c.A.unparse(b)
	b.WriteString(" : ")
	c.B.unparse(b)
}
func (p Paren) unparse(b *strings.Builder) {
	b.WriteByte('(')
	p.X.unparse(b)
	b.WriteByte(')')
}
func (c Call) unparse(b *strings.Builder) {
	b.WriteString(c.Name + "(")
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(',')
		}
		a.unparse(b)
	}
	b.WriteByte(')')
}
func (l List) unparse(b *strings.Builder) {
	b.WriteString("{ ")
	for i, a := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		a.unparse(b)
	}
	b.WriteString(" }")
}
func (r Record) unparse(b *strings.Builder) {
	b.WriteString("[ ")
	for i, a := range r.Attrs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.Name + " = ")
		a.Expr.unparse(b)
	}
	b.WriteString(" ]")
}
func (s Select) unparse(b *strings.Builder) {
	switch s.X.(type) {
	case Int, Real: // 10.A would read back as the real 10.
		Paren{s.X}.unparse(b)
	default:
		s.X.unparse(b)
	}
	b.WriteString("." + s.Name)
}
func (x Index) unparse(b *strings.Builder) {
	x.X.unparse(b)
	b.WriteByte('[')
	x.I.unparse(b)
	b.WriteByte(']')
}

// QuoteOld writes a string literal in the old ClassAd syntax: in that syntax
// only \" is an escape, so quotes are backslashed and nothing else changes.
func QuoteOld(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// SyntaxError is a parse error at a byte offset of the expression.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }
