package xrsl

import (
	"fmt"
	"strings"
)

// Evaluate substitutes $(VAR) from rsl_substitution and joins concatenations,
// as ARC does: a definition is visible to the relations after it in the same
// `&`/`|` and inside them (each boolean gets a copy of the enclosing scope);
// each `+` sub-request starts empty. An undefined variable becomes "" (as in
// ARC) and yields a warning. The result holds only *Literal and *Sequence values.
func Evaluate(file string, n Node) (Node, []*Error, error) {
	e := &evaluator{file: file}
	var out Node
	var err error
	if b, ok := n.(*Boolean); ok && b.Op == '+' {
		nb := &Boolean{Op: '+', Pos: b.Pos}
		for _, c := range b.Children {
			ec, err := e.node(c, map[string]string{})
			if err != nil {
				return nil, e.warns, err
			}
			nb.Children = append(nb.Children, ec)
		}
		out = nb
	} else {
		out, err = e.node(n, map[string]string{})
	}
	return out, e.warns, err
}

type evaluator struct {
	file  string
	warns []*Error
}

func (e *evaluator) errf(p Pos, format string, args ...any) *Error {
	return &Error{File: e.file, Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func (e *evaluator) node(n Node, vars map[string]string) (Node, error) {
	switch n := n.(type) {
	case *Boolean:
		if n.Op == '+' {
			return nil, e.errf(n.Pos, "'+' (multi-request) is allowed only at the top level")
		}
		// only an rsl_substitution among the children writes the scope
		// (a nested boolean copies it again): without one, the enclosing
		// scope is read as it is
		scope := vars
		if definesVars(n) {
			scope = make(map[string]string, len(vars))
			for k, v := range vars {
				scope[k] = v
			}
		}
		nb := &Boolean{Op: n.Op, Pos: n.Pos, Children: make([]Node, 0, len(n.Children))}
		for _, c := range n.Children {
			ec, err := e.node(c, scope)
			if err != nil {
				return nil, err
			}
			nb.Children = append(nb.Children, ec)
		}
		return nb, nil
	case *Relation:
		if n.Name != "rslsubstitution" && evaluated(n.Values) {
			return n, nil // nothing to substitute or join: shared, never modified
		}
		nr := *n
		nr.Values = nil
		for _, v := range n.Values {
			if n.Name == "rslsubstitution" {
				seq, ok := v.(*Sequence)
				if !ok {
					return nil, e.errf(v.Position(), "rsl_substitution: expected a (NAME value) pair")
				}
				if len(seq.Values) != 2 {
					return nil, e.errf(seq.Pos, "rsl_substitution: a pair has 2 values, found %d", len(seq.Values))
				}
				name, err := e.value(seq.Values[0], vars)
				if err != nil {
					return nil, err
				}
				val, err := e.value(seq.Values[1], vars)
				if err != nil {
					return nil, err
				}
				nl, ok1 := name.(*Literal)
				vl, ok2 := val.(*Literal)
				if !ok1 || !ok2 {
					return nil, e.errf(seq.Pos, "rsl_substitution: name and value must be strings, not lists")
				}
				vars[nl.Text] = vl.Text
				nr.Values = append(nr.Values, &Sequence{Values: []Value{nl, vl}, Pos: seq.Pos})
				continue
			}
			ev, err := e.value(v, vars)
			if err != nil {
				return nil, err
			}
			nr.Values = append(nr.Values, ev)
		}
		return &nr, nil
	}
	return nil, fmt.Errorf("xrsl: unexpected node %T", n)
}

func (e *evaluator) value(v Value, vars map[string]string) (Value, error) {
	switch v := v.(type) {
	case *Literal:
		return v, nil
	case *Variable:
		val, ok := vars[v.Name]
		if !ok {
			e.warns = append(e.warns, e.errf(v.Pos, "variable $(%s) is not defined by rsl_substitution; it is empty", v.Name))
		}
		return &Literal{Text: val, Quote: '"', Pos: v.Pos}, nil
	case *Concat:
		l, err := e.value(v.Left, vars)
		if err != nil {
			return nil, err
		}
		r, err := e.value(v.Right, vars)
		if err != nil {
			return nil, err
		}
		ll, ok1 := l.(*Literal)
		rl, ok2 := r.(*Literal)
		if !ok1 || !ok2 {
			return nil, e.errf(v.Pos, "concatenation of a list: both sides of '#' must be strings")
		}
		return &Literal{Text: ll.Text + rl.Text, Quote: '"', Pos: ll.Pos}, nil
	case *Sequence:
		ns := &Sequence{Pos: v.Pos}
		for _, x := range v.Values {
			ev, err := e.value(x, vars)
			if err != nil {
				return nil, err
			}
			ns.Values = append(ns.Values, ev)
		}
		return ns, nil
	}
	return nil, fmt.Errorf("xrsl: unexpected value %T", v)
}

// Print writes a tree as xRSL that parses back to the same tree (Equal).
// Top-level relations go one per line; literals are quoted when needed.
func Print(n Node) string {
	var b strings.Builder
	printNode(&b, n, 0)
	b.WriteByte('\n')
	return b.String()
}

func printNode(b *strings.Builder, n Node, depth int) {
	switch n := n.(type) {
	case *Boolean:
		b.WriteByte(n.Op)
		for i, c := range n.Children {
			if depth == 0 && i > 0 || depth == 0 && n.Op == '+' {
				b.WriteString("\n")
				b.WriteString(strings.Repeat(" ", 1))
			}
			b.WriteByte('(')
			printNode(b, c, depth+1)
			b.WriteByte(')')
		}
	case *Relation:
		b.WriteString(quoteIfNeeded(n.Attr))
		b.WriteString(" " + n.Op + " ")
		printValues(b, n.Values)
	}
}

func printValues(b *strings.Builder, vs []Value) {
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(' ')
		}
		printValue(b, v)
	}
}

func printValue(b *strings.Builder, v Value) {
	switch v := v.(type) {
	case *Literal:
		b.WriteString(quoteIfNeeded(v.Text))
	case *Variable:
		b.WriteString("$(" + quoteIfNeeded(v.Name) + ")")
	case *Concat:
		printValue(b, v.Left)
		b.WriteString(" # ")
		printValue(b, v.Right)
	case *Sequence:
		b.WriteByte('(')
		printValues(b, v.Values)
		b.WriteByte(')')
	}
}

// Quote returns s as a double-quoted xRSL string ("" escapes a quote).
func Quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteIfNeeded(s string) string {
	// a leading '*' would follow a '(' and open a comment
	if s == "" || strings.ContainsAny(s, special) || strings.HasPrefix(s, "*") {
		return Quote(s)
	}
	return s
}

// Equal compares two trees by structure and text, ignoring positions,
// quoting style and how concatenation was written.
func Equal(a, b Node) bool {
	switch a := a.(type) {
	case *Boolean:
		bb, ok := b.(*Boolean)
		if !ok || a.Op != bb.Op || len(a.Children) != len(bb.Children) {
			return false
		}
		for i := range a.Children {
			if !Equal(a.Children[i], bb.Children[i]) {
				return false
			}
		}
		return true
	case *Relation:
		br, ok := b.(*Relation)
		return ok && a.Attr == br.Attr && a.Op == br.Op && valuesEqual(a.Values, br.Values)
	}
	return false
}

func valuesEqual(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !valueEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func valueEqual(a, b Value) bool {
	switch a := a.(type) {
	case *Literal:
		bl, ok := b.(*Literal)
		return ok && a.Text == bl.Text
	case *Variable:
		bv, ok := b.(*Variable)
		return ok && a.Name == bv.Name
	case *Concat:
		bc, ok := b.(*Concat)
		return ok && valueEqual(a.Left, bc.Left) && valueEqual(a.Right, bc.Right)
	case *Sequence:
		bs, ok := b.(*Sequence)
		return ok && valuesEqual(a.Values, bs.Values)
	}
	return false
}

// definesVars reports whether a direct child of b is an rsl_substitution.
func definesVars(b *Boolean) bool {
	for _, c := range b.Children {
		if r, ok := c.(*Relation); ok && r.Name == "rslsubstitution" {
			return true
		}
	}
	return false
}

// evaluated reports whether vs hold only literals and sequences of them,
// which evaluation leaves as they are.
func evaluated(vs []Value) bool {
	for _, v := range vs {
		switch v := v.(type) {
		case *Literal:
		case *Sequence:
			if !evaluated(v.Values) {
				return false
			}
		default:
			return false
		}
	}
	return true
}
