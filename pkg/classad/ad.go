package classad

import (
	"strings"
)

// Ad is a ClassAd: attributes in insertion order, names case-insensitive.
type Ad struct {
	Attrs []Attr
}

// Set replaces or appends an attribute.
func (a *Ad) Set(name string, e Expr) {
	for i := range a.Attrs {
		if strings.EqualFold(a.Attrs[i].Name, name) {
			a.Attrs[i].Expr = e
			return
		}
	}
	a.Attrs = append(a.Attrs, Attr{Name: name, Expr: e})
}

// Get returns an attribute's expression.
func (a *Ad) Get(name string) (Expr, bool) {
	for _, x := range a.Attrs {
		if strings.EqualFold(x.Name, name) {
			return x.Expr, true
		}
	}
	return nil, false
}

// Delete removes an attribute.
func (a *Ad) Delete(name string) {
	for i := range a.Attrs {
		if strings.EqualFold(a.Attrs[i].Name, name) {
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
