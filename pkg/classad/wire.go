package classad

import (
	"fmt"
	"strings"
)

// ParseAttrLine reads one attribute as CEDAR and `condor_q -l` carry it:
// `Name = expr`, the expression in the old syntax.
func ParseAttrLine(line string) (string, Expr, error) {
	name, e, _, err := parseAttrLine(line, -1, nil)
	return name, e, err
}

// parseAttrLine parses with at most left tokens (-1: no limit), failing
// with over past them; used is how many it read.
func parseAttrLine(line string, left int, over error) (name string, e Expr, used int, err error) {
	name, rhs, ok := strings.Cut(line, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || !validName(name) {
		return "", nil, 0, fmt.Errorf("not an attribute assignment")
	}
	p := &eparser{s: strings.TrimSpace(rhs), syntax: Old, left: left, over: over}
	e, err = p.parse()
	return name, e, p.used, err
}

func validName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// literal strips parentheses and folds a unary minus on a number.
func literal(e Expr) Expr {
	for {
		switch x := e.(type) {
		case Paren:
			e = x.X
			continue
		case Unary:
			if x.Op == "-" {
				switch v := literal(x.X).(type) {
				case Int:
					return -v
				case Real:
					return -v
				}
			}
			if x.Op == "+" {
				return literal(x.X)
			}
		}
		return e
	}
}

// Str is a string attribute's value.
func (a *Ad) Str(name string) (string, bool) {
	e, ok := a.Get(name)
	if !ok {
		return "", false
	}
	s, ok := literal(e).(String)
	return string(s), ok
}

// Int is an integer attribute's value (a real is truncated, as HTCondor does).
func (a *Ad) Int(name string) (int64, bool) {
	e, ok := a.Get(name)
	if !ok {
		return 0, false
	}
	switch v := literal(e).(type) {
	case Int:
		return int64(v), true
	case Real:
		return int64(v), true
	case Bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// Bool is a boolean attribute's value.
func (a *Ad) Bool(name string) (bool, bool) {
	e, ok := a.Get(name)
	if !ok {
		return false, false
	}
	switch v := literal(e).(type) {
	case Bool:
		return bool(v), true
	case Int:
		return v != 0, true
	}
	return false, false
}

// SetString, SetInt and SetBool set literal attributes.
func (a *Ad) SetString(name, v string) { a.Set(name, String(v)) }

// SetInt sets an integer attribute.
func (a *Ad) SetInt(name string, v int64) { a.Set(name, Int(v)) }

// SetBool sets a boolean attribute.
func (a *Ad) SetBool(name string, v bool) { a.Set(name, Bool(v)) }
