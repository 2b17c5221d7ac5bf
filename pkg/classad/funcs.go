package classad

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// call evaluates the built-in functions job constraints use; an unknown
// function is an error, as in HTCondor.
func (ev *evaluator) call(c Call, depth int) Expr {
	name := strings.ToLower(c.Name)
	switch name {
	case "ifthenelse":
		if len(c.Args) != 3 {
			return ErrorLit{}
		}
		return ev.cond(Cond{C: c.Args[0], A: c.Args[1], B: c.Args[2]}, depth)
	case "isundefined", "iserror":
		if len(c.Args) != 1 {
			return ErrorLit{}
		}
		v := ev.eval(c.Args[0], depth)
		if name == "isundefined" {
			_, ok := v.(Undefined)
			return Bool(ok)
		}
		_, ok := v.(ErrorLit)
		return Bool(ok)
	}
	args := make([]Expr, len(c.Args))
	for i, a := range c.Args {
		args[i] = ev.eval(a, depth)
	}
	if f, ok := typeTests[name]; ok && len(args) == 1 {
		return Bool(f(args[0]))
	}
	if f, ok := builtins[name]; ok {
		return f(args)
	}
	return ErrorLit{}
}

var typeTests = map[string]func(Expr) bool{
	"isstring":  func(v Expr) bool { _, ok := v.(String); return ok },
	"isinteger": func(v Expr) bool { _, ok := v.(Int); return ok },
	"isreal":    func(v Expr) bool { _, ok := v.(Real); return ok },
	"isboolean": func(v Expr) bool { _, ok := v.(Bool); return ok },
	"islist":    func(v Expr) bool { _, ok := v.(List); return ok },
	"isclassad": func(v Expr) bool { _, ok := v.(Record); return ok },
}

// builtins take their arguments evaluated.
var builtins = map[string]func([]Expr) Expr{
	"int":              toInt,
	"real":             toReal,
	"string":           toStringFn,
	"strcat":           strcat,
	"toupper":          strMap(strings.ToUpper),
	"tolower":          strMap(strings.ToLower),
	"size":             size,
	"length":           size,
	"substr":           substr,
	"regexp":           regexpFn,
	"stringlistmember": stringListMember,
	"member":           member,
	"time":             func(a []Expr) Expr { return nullary(a, Int(time.Now().Unix())) },
	"floor":            rounding(math.Floor),
	"ceiling":          rounding(math.Ceil),
	"round":            rounding(math.Round),
}

func nullary(a []Expr, v Expr) Expr {
	if len(a) != 0 {
		return ErrorLit{}
	}
	return v
}

// one checks a one-argument call: the argument, or the undefined/error
// result that a strict function returns for it.
func one(a []Expr) (Expr, Expr) {
	if len(a) != 1 {
		return nil, ErrorLit{}
	}
	switch a[0].(type) {
	case Undefined:
		return nil, Undefined{}
	case ErrorLit:
		return nil, ErrorLit{}
	}
	return a[0], nil
}

func toInt(a []Expr) Expr {
	v, bad := one(a)
	if bad != nil {
		return bad
	}
	switch x := v.(type) {
	case Int:
		return x
	case Real:
		return Int(int64(x))
	case Bool:
		if x {
			return Int(1)
		}
		return Int(0)
	case String:
		if n, err := strconv.ParseFloat(strings.TrimSpace(string(x)), 64); err == nil {
			return Int(int64(n))
		}
	}
	return ErrorLit{}
}

func toReal(a []Expr) Expr {
	v, bad := one(a)
	if bad != nil {
		return bad
	}
	if s, ok := v.(String); ok {
		if n, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64); err == nil {
			return Real(n)
		}
		return ErrorLit{}
	}
	if f, _, ok := number(v); ok {
		return Real(f)
	}
	return ErrorLit{}
}

func toStringFn(a []Expr) Expr {
	v, bad := one(a)
	if bad != nil {
		return bad
	}
	return String(Text(v))
}

// Text is a value as text: a string's characters, anything else unparsed
// (as condor_q -af prints values).
func Text(v Expr) string {
	if s, ok := v.(String); ok {
		return string(s)
	}
	return Unparse(v)
}

func strcat(a []Expr) Expr {
	var b strings.Builder
	for _, v := range a {
		switch v.(type) {
		case Undefined:
			return Undefined{}
		case ErrorLit:
			return ErrorLit{}
		}
		b.WriteString(Text(v))
	}
	return String(b.String())
}

func strMap(f func(string) string) func([]Expr) Expr {
	return func(a []Expr) Expr {
		v, bad := one(a)
		if bad != nil {
			return bad
		}
		return String(f(Text(v)))
	}
}

func size(a []Expr) Expr {
	v, bad := one(a)
	if bad != nil {
		return bad
	}
	switch x := v.(type) {
	case String:
		return Int(len(x))
	case List:
		return Int(len(x))
	case Record:
		return Int(len(x.Attrs))
	}
	return ErrorLit{}
}

func substr(a []Expr) Expr {
	if len(a) < 2 || len(a) > 3 {
		return ErrorLit{}
	}
	s, ok := a[0].(String)
	o, ok2 := a[1].(Int)
	if !ok || !ok2 {
		return ErrorLit{}
	}
	n, off := int64(len(s)), int64(o)
	if off < 0 {
		off = max(0, n+off)
	}
	off = min(off, n)
	end := n
	if len(a) == 3 {
		li, ok := a[2].(Int)
		if !ok {
			return ErrorLit{}
		}
		if l := int64(li); l < 0 {
			end = max(off, n+max(l, -n))
		} else {
			end = off + min(l, n-off)
		}
	}
	return s[off:end]
}

func regexpFn(a []Expr) Expr {
	if len(a) < 2 || len(a) > 3 {
		return ErrorLit{}
	}
	pat, ok := a[0].(String)
	s, ok2 := a[1].(String)
	if !ok || !ok2 {
		return ErrorLit{}
	}
	p := string(pat)
	if len(a) == 3 {
		if opt, ok := a[2].(String); ok && strings.ContainsAny(string(opt), "iI") {
			p = "(?i)" + p
		}
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return ErrorLit{}
	}
	return Bool(re.MatchString(string(s)))
}

func stringListMember(a []Expr) Expr {
	if len(a) < 2 || len(a) > 3 {
		return ErrorLit{}
	}
	x, ok := a[0].(String)
	l, ok2 := a[1].(String)
	if !ok || !ok2 {
		return ErrorLit{}
	}
	seps := ", "
	if len(a) == 3 {
		if d, ok := a[2].(String); ok {
			seps = string(d)
		}
	}
	for _, it := range strings.FieldsFunc(string(l), func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if it == string(x) {
			return Bool(true)
		}
	}
	return Bool(false)
}

func member(a []Expr) Expr {
	if len(a) != 2 {
		return ErrorLit{}
	}
	l, ok := a[1].(List)
	if !ok {
		return ErrorLit{}
	}
	for _, v := range l {
		if c, ok := compare("==", a[0], v).(Bool); ok && bool(c) {
			return Bool(true)
		}
	}
	return Bool(false)
}

func rounding(f func(float64) float64) func([]Expr) Expr {
	return func(a []Expr) Expr {
		v, bad := one(a)
		if bad != nil {
			return bad
		}
		if i, ok := v.(Int); ok {
			return i
		}
		n, _, ok := number(v)
		if !ok {
			return ErrorLit{}
		}
		return Int(int64(f(n)))
	}
}
