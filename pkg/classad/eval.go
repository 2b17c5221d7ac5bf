package classad

import (
	"math"
	"strings"
)

// maxEvalDepth bounds attribute indirection and nesting during evaluation,
// so that an ad whose attributes refer to each other in a cycle (A = B;
// B = A) evaluates to error rather than looping.
const maxEvalDepth = 100

// Eval evaluates e in the context of ad (MY and unscoped references; TARGET
// is undefined: there is no match candidate), as HTCondor's tools evaluate
// -constraint and -autoformat expressions. The result is a literal (Int,
// Real, String, Bool, Undefined, ErrorLit), a List or a Record.
func (a *Ad) Eval(e Expr) Expr {
	ev := &evaluator{ad: a}
	return ev.eval(e, 0)
}

// EvalAttr evaluates the named attribute of ad (undefined if it has none).
func (a *Ad) EvalAttr(name string) Expr {
	return a.Eval(AttrRef{Name: name})
}

// Matches reports whether constraint evaluates to true on ad (a
// non-boolean, undefined or error result does not match; a non-zero number
// does, as HTCondor's EvalBool takes it).
func (a *Ad) Matches(constraint Expr) bool {
	switch v := a.Eval(constraint).(type) {
	case Bool:
		return bool(v)
	case Int:
		return v != 0
	case Real:
		return v != 0
	}
	return false
}

type evaluator struct{ ad *Ad }

func (ev *evaluator) eval(e Expr, depth int) Expr {
	if depth > maxEvalDepth || e == nil {
		return ErrorLit{}
	}
	d := depth + 1
	switch x := e.(type) {
	case Int, Real, String, Bool, Undefined, ErrorLit, Record:
		return x
	case Paren:
		return ev.eval(x.X, d)
	case AttrRef:
		return ev.ref(x, d)
	case Unary:
		return unary(x.Op, ev.eval(x.X, d))
	case Binary:
		return ev.binary(x, d)
	case Cond:
		return ev.cond(x, d)
	case Call:
		return ev.call(x, d)
	case List:
		out := make(List, len(x))
		for i, y := range x {
			out[i] = ev.eval(y, d)
		}
		return out
	case Select:
		if r, ok := ev.eval(x.X, d).(Record); ok {
			for _, at := range r.Attrs {
				if SameName(at.Name, x.Name) {
					return ev.eval(at.Expr, d)
				}
			}
		}
		return Undefined{}
	case Index:
		return ev.index(x, d)
	}
	return ErrorLit{}
}

func (ev *evaluator) ref(r AttrRef, depth int) Expr {
	if strings.EqualFold(r.Scope, "TARGET") || ev.ad == nil {
		return Undefined{}
	}
	x, ok := ev.ad.Get(r.Name)
	if !ok {
		return Undefined{}
	}
	return ev.eval(x, depth)
}

func (ev *evaluator) index(x Index, depth int) Expr {
	l, ok := ev.eval(x.X, depth).(List)
	if !ok {
		return ErrorLit{}
	}
	i, ok := ev.eval(x.I, depth).(Int)
	if !ok || i < 0 || int(i) >= len(l) {
		return ErrorLit{}
	}
	return l[i]
}

func (ev *evaluator) cond(c Cond, depth int) Expr {
	v := ev.eval(c.C, depth)
	if c.A == nil { // c ?: b
		switch v.(type) {
		case Undefined, ErrorLit:
			return ev.eval(c.B, depth)
		}
		return v
	}
	switch b := truth(v).(type) {
	case Bool:
		if b {
			return ev.eval(c.A, depth)
		}
		return ev.eval(c.B, depth)
	case Undefined:
		return Undefined{}
	}
	return ErrorLit{}
}

// truth converts a value to Bool as a condition takes it (numbers: non-zero).
func truth(v Expr) Expr {
	switch x := v.(type) {
	case Bool, Undefined:
		return x
	case Int:
		return Bool(x != 0)
	case Real:
		return Bool(x != 0)
	}
	return ErrorLit{}
}

func unary(op string, v Expr) Expr {
	switch v.(type) {
	case Undefined:
		return Undefined{}
	case ErrorLit:
		return ErrorLit{}
	}
	switch op {
	case "!":
		if b, ok := truth(v).(Bool); ok {
			return !b
		}
	case "-":
		switch x := v.(type) {
		case Int:
			return -x
		case Real:
			return -x
		}
	case "+":
		switch v.(type) {
		case Int, Real:
			return v
		}
	case "~":
		if x, ok := v.(Int); ok {
			return ^x
		}
	}
	return ErrorLit{}
}

func (ev *evaluator) binary(b Binary, depth int) Expr {
	switch b.Op {
	case "&&", "||":
		return ev.logical(b, depth)
	}
	x, y := ev.eval(b.X, depth), ev.eval(b.Y, depth)
	switch strings.ToLower(b.Op) {
	case "=?=", "is":
		return Bool(identical(x, y))
	case "=!=", "isnt":
		return Bool(!identical(x, y))
	}
	if _, ok := x.(ErrorLit); ok {
		return ErrorLit{}
	}
	if _, ok := y.(ErrorLit); ok {
		return ErrorLit{}
	}
	if _, ok := x.(Undefined); ok {
		return Undefined{}
	}
	if _, ok := y.(Undefined); ok {
		return Undefined{}
	}
	switch b.Op {
	case "==", "!=", "<", "<=", ">", ">=":
		return compare(b.Op, x, y)
	}
	return arith(b.Op, x, y)
}

// logical is && and || with ClassAd three-valued logic: false && undefined
// is false, true || undefined is true; the right side is evaluated only
// when the left does not decide.
func (ev *evaluator) logical(b Binary, depth int) Expr {
	and := b.Op == "&&"
	l := truth(ev.eval(b.X, depth))
	if lb, ok := l.(Bool); ok && bool(lb) != and {
		return lb
	}
	if _, ok := l.(ErrorLit); ok {
		return ErrorLit{}
	}
	r := truth(ev.eval(b.Y, depth))
	switch rv := r.(type) {
	case ErrorLit:
		return ErrorLit{}
	case Bool:
		if bool(rv) != and {
			return rv
		}
		if _, ok := l.(Undefined); ok {
			return Undefined{}
		}
		return rv
	}
	return Undefined{} // r undefined, l undefined or not deciding
}

// identical is =?=: same type and value, strings compared with case.
func identical(x, y Expr) bool {
	switch a := x.(type) {
	case Undefined:
		_, ok := y.(Undefined)
		return ok
	case ErrorLit:
		_, ok := y.(ErrorLit)
		return ok
	case String:
		b, ok := y.(String)
		return ok && a == b
	case Bool:
		b, ok := y.(Bool)
		return ok && a == b
	case Int:
		b, ok := y.(Int)
		return ok && a == b
	case Real:
		b, ok := y.(Real)
		return ok && a == b
	}
	return false
}

// number reads an Int, Real or Bool (true is 1) as a float, and reports
// whether it was an integer (or bool).
func number(v Expr) (f float64, isInt, ok bool) {
	switch x := v.(type) {
	case Int:
		return float64(x), true, true
	case Real:
		return float64(x), false, true
	case Bool:
		if x {
			return 1, true, true
		}
		return 0, true, true
	}
	return 0, false, false
}

func compare(op string, x, y Expr) Expr {
	if xs, ok := x.(String); ok {
		ys, ok := y.(String)
		if !ok {
			return ErrorLit{}
		}
		c := strings.Compare(strings.ToLower(string(xs)), strings.ToLower(string(ys)))
		return cmpResult(op, c)
	}
	if xb, ok := x.(Bool); ok {
		if yb, ok := y.(Bool); ok && (op == "==" || op == "!=") {
			return Bool((xb == yb) == (op == "=="))
		}
	}
	a, _, ok1 := number(x)
	b, _, ok2 := number(y)
	if !ok1 || !ok2 {
		return ErrorLit{}
	}
	c := 0
	if a < b {
		c = -1
	} else if a > b {
		c = 1
	}
	return cmpResult(op, c)
}

func cmpResult(op string, c int) Expr {
	switch op {
	case "==":
		return Bool(c == 0)
	case "!=":
		return Bool(c != 0)
	case "<":
		return Bool(c < 0)
	case "<=":
		return Bool(c <= 0)
	case ">":
		return Bool(c > 0)
	}
	return Bool(c >= 0)
}

func arith(op string, x, y Expr) Expr {
	a, ai, ok1 := number(x)
	b, bi, ok2 := number(y)
	if !ok1 || !ok2 {
		return ErrorLit{}
	}
	if ai && bi {
		return intArith(op, int64(a), int64(b))
	}
	switch op {
	case "+":
		return Real(a + b)
	case "-":
		return Real(a - b)
	case "*":
		return Real(a * b)
	case "/":
		if b == 0 {
			return ErrorLit{}
		}
		return Real(a / b)
	case "%":
		if b == 0 {
			return ErrorLit{}
		}
		return Real(math.Mod(a, b))
	}
	return ErrorLit{}
}

func intArith(op string, a, b int64) Expr {
	switch op {
	case "+":
		return Int(a + b)
	case "-":
		return Int(a - b)
	case "*":
		return Int(a * b)
	case "/", "%":
		if b == 0 || (a == math.MinInt64 && b == -1) {
			return ErrorLit{}
		}
		if op == "/" {
			return Int(a / b)
		}
		return Int(a % b)
	case "&":
		return Int(a & b)
	case "|":
		return Int(a | b)
	case "^":
		return Int(a ^ b)
	case "<<":
		return Int(a << (uint64(b) & 63))
	case ">>":
		return Int(a >> (uint64(b) & 63))
	case ">>>":
		return Int(int64(uint64(a) >> (uint64(b) & 63)))
	}
	return ErrorLit{}
}
