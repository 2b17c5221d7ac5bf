package classad

import (
	"strings"
)

// Ad is a ClassAd: attributes in insertion order, names case-insensitive.
type Ad struct {
	Attrs []Attr
}

// SameName reports whether two attribute names are the same: equal but for
// the case of ASCII letters, as HTCondor compares them (strcasecmp; names
// are ASCII, and no other folding applies).
func SameName(x, y string) bool {
	if len(x) != len(y) {
		return false
	}
	for i := 0; i < len(x); i++ {
		a, b := x[i], y[i]
		if a == b {
			continue
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// Set replaces or appends an attribute.
func (a *Ad) Set(name string, e Expr) {
	for i := range a.Attrs {
		if SameName(a.Attrs[i].Name, name) {
			a.Attrs[i].Expr = e
			return
		}
	}
	a.Attrs = append(a.Attrs, Attr{Name: name, Expr: e})
}

// Get returns an attribute's expression.
func (a *Ad) Get(name string) (Expr, bool) {
	for i := range a.Attrs {
		if SameName(a.Attrs[i].Name, name) {
			return a.Attrs[i].Expr, true
		}
	}
	return nil, false
}

// Delete removes an attribute.
func (a *Ad) Delete(name string) {
	for i := range a.Attrs {
		if SameName(a.Attrs[i].Name, name) {
			a.Attrs = append(a.Attrs[:i], a.Attrs[i+1:]...)
			return
		}
	}
}

// Long writes the ad in the old format, one `Name = expr` per line (as condor_q -l).
func (a *Ad) Long() string {
	var b strings.Builder
	for _, x := range a.Attrs {
		b.WriteString(x.Name)
		b.WriteString(" = ")
		b.WriteString(Unparse(x.Expr))
		b.WriteByte('\n')
	}
	return b.String()
}

// Has reports whether the ad has an attribute.
func (a *Ad) Has(name string) bool { _, ok := a.Get(name); return ok }
