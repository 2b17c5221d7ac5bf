// Package xrsl reads and writes xRSL, NorduGrid's extended Globus RSL: the
// grammar (`&`, `|`, `+`, the six relations, nested lists, "…" '…' and ^X…X
// quoting with doubling, (* comments *), $(VAR) with rsl_substitution, explicit
// # and implicit concatenation), a printer whose output parses back to the
// same tree, and the mapping of xRSL attributes to the common job model in
// pkg/jobdesc (user dialect: times in minutes, memory and disk in MB).
package xrsl

import (
	"fmt"
	"strings"
)

// Pos is a 1-based line and column (in bytes) in the source.
type Pos struct{ Line, Col int }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Node is an RSL element: a *Boolean or a *Relation.
type Node interface{ Position() Pos }

// Boolean is `&(…)(…)`, `|(…)(…)` or `+(…)(…)`.
type Boolean struct {
	Op       byte // '&', '|' or '+'
	Pos      Pos
	Children []Node
}

// Relation is `(attribute op values)`.
type Relation struct {
	Attr   string // as written
	Name   string // normalised: lower case, underscores removed
	Pos    Pos    // of the attribute name
	Op     string // = != < <= > >=
	OpPos  Pos
	Values []Value
}

// Value is a *Literal, *Variable, *Concat or *Sequence.
type Value interface{ Position() Pos }

// Literal is a string, unquoted or quoted.
type Literal struct {
	Text  string
	Quote byte // 0 (bare), '"', '\'' or '^'
	Delim byte // the user delimiter with '^'
	Pos   Pos
}

// Variable is $(NAME).
type Variable struct {
	Name string
	Pos  Pos
}

// Concat joins two values: explicit `a # b` or implicit adjacency `$(A)/b`.
type Concat struct {
	Left, Right Value
	Explicit    bool
	Pos         Pos
}

// Sequence is a parenthesised list of values, e.g. one inputfiles entry.
type Sequence struct {
	Values []Value
	Pos    Pos
}

func (b *Boolean) Position() Pos  { return b.Pos }
func (r *Relation) Position() Pos { return r.Pos }
func (l *Literal) Position() Pos  { return l.Pos }
func (v *Variable) Position() Pos { return v.Pos }
func (c *Concat) Position() Pos   { return c.Pos }
func (s *Sequence) Position() Pos { return s.Pos }

// NormalizeName is how xRSL compares attribute names: case-insensitive, underscores ignored.
func NormalizeName(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// Error is a syntax or semantic error at a position of a file.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

func (e *Error) Error() string {
	f := e.File
	if f == "" {
		f = "<input>"
	}
	if e.Pos.Line == 0 {
		return f + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", f, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Errors is several errors, reported together.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}
