package condortools

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/classad"
)

// autoformat is -af[:mods] ATTR…: a line per ad, the attributes' values
// (expressions evaluated) separated by a space. The modifiers are
// condor_q's: j (the job id first), l (NAME = value), h (a header line),
// r (raw: unevaluated), V (strings quoted), t (tab-separated), ","
// (comma-separated), n (a newline after each value).
type autoformat struct {
	mods  string
	attrs []string
	v24   bool // HTCondor 24+'s -af:jh id column (as wide as the ids, no indent)
}

func (af *autoformat) has(m string) bool { return strings.Contains(af.mods, m) }

// value is one attribute's text for -af.
func (af *autoformat) value(ad *classad.Ad, attr string) string {
	e, err := classad.ParseExpr(attr, classad.New)
	if err != nil {
		return "undefined"
	}
	if af.has("r") {
		if ref, ok := e.(classad.AttrRef); ok {
			if x, ok := ad.Get(ref.Name); ok {
				return classad.Unparse(x)
			}
			return "undefined"
		}
	}
	v := ad.Eval(e)
	if s, ok := v.(classad.String); ok && !af.has("V") {
		return string(s)
	}
	return classad.Unparse(v)
}

// print writes the ads in -af form.
func (af *autoformat) print(w io.Writer, ads []*classad.Ad) {
	sep := " "
	switch {
	case af.has("t"):
		sep = "\t"
	case af.has(","):
		sep = ", "
	case af.has("n"):
		sep = "\n"
	}
	rows := make([][]string, len(ads))
	for i, ad := range ads {
		for _, a := range af.attrs {
			v := af.value(ad, a)
			if af.has("l") {
				v = a + " = " + v
			}
			rows[i] = append(rows[i], v)
		}
	}
	if af.has("h") {
		af.printTable(w, ads, rows)
		return
	}
	for i, ad := range ads {
		line := strings.Join(rows[i], sep)
		if af.has("j") {
			line = jobID(ad) + " " + line
		}
		fmt.Fprintln(w, line)
	}
}

// printTable is -af:h: a header of the attribute names and the columns
// padded to their widest value.
func (af *autoformat) printTable(w io.Writer, ads []*classad.Ad, rows [][]string) {
	widths := make([]int, len(af.attrs))
	for c, a := range af.attrs {
		widths[c] = len(a)
		for _, r := range rows {
			widths[c] = max(widths[c], len(r[c]))
		}
	}
	idw := 0
	for _, ad := range ads {
		idw = max(idw, len(jobID(ad)))
	}
	line := func(id string, cells []string) {
		var b strings.Builder
		switch {
		case af.has("j") && af.v24:
			fmt.Fprintf(&b, "%-*s ", idw, id)
		case af.has("j"):
			b.WriteString(id + " ")
		}
		for c, v := range cells {
			if c > 0 {
				b.WriteByte(' ')
			}
			if c == len(cells)-1 {
				b.WriteString(v)
			} else {
				fmt.Fprintf(&b, "%-*s", widths[c], v)
			}
		}
		fmt.Fprintln(w, b.String())
	}
	if af.v24 {
		line(" ID", af.attrs)
	} else {
		line(" ID     ", af.attrs) // as wide as idCell
	}
	for i, ad := range ads {
		if af.v24 {
			line(jobID(ad), rows[i])
		} else {
			line(idCell(ad), rows[i])
		}
	}
}

func jobID(ad *classad.Ad) string {
	c, _ := ad.Int("ClusterId")
	p, _ := ad.Int("ProcId")
	return fmt.Sprintf("%d.%d", c, p)
}

// idCell is the ID column of condor_q's tables before 24: the cluster
// right-aligned in four, the proc left-aligned in three ("   7.0  ").
func idCell(ad *classad.Ad) string {
	c, _ := ad.Int("ClusterId")
	p, _ := ad.Int("ProcId")
	return fmt.Sprintf("%4d.%-3d", c, p)
}

// printLong is -long: each ad's attributes, sorted, NAME = value, and an
// empty line after each ad.
func printLong(w io.Writer, ads []*classad.Ad) {
	for _, ad := range ads {
		for _, a := range sortedAttrs(ad) {
			fmt.Fprintf(w, "%s = %s\n", a.Name, classad.Unparse(a.Expr))
		}
		fmt.Fprintln(w)
	}
}

func sortedAttrs(ad *classad.Ad) []classad.Attr {
	out := append([]classad.Attr(nil), ad.Attrs...)
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// printJSON is -json: an array of objects (condor_q sorts the attributes,
// condor_history keeps the ads' order), as HTCondor writes them (literals
// as JSON values, undefined as null, other expressions as "\/Expr(…)\/"
// strings).
func printJSON(w io.Writer, ads []*classad.Ad, sorted bool) {
	fmt.Fprint(w, "[\n")
	for i, ad := range ads {
		if i > 0 {
			fmt.Fprint(w, ",\n")
		}
		fmt.Fprint(w, "{\n")
		attrs := ad.Attrs
		if sorted {
			attrs = sortedAttrs(ad)
		}
		for k, a := range attrs {
			name, _ := json.Marshal(a.Name)
			end := ",\n"
			if k == len(attrs)-1 {
				end = "\n"
			}
			fmt.Fprintf(w, "  %s: %s%s", name, jsonValue(a.Expr), end)
		}
		fmt.Fprint(w, "}\n")
	}
	fmt.Fprint(w, "]\n")
}

func jsonValue(e classad.Expr) string {
	switch v := e.(type) {
	case classad.String:
		return jsonString(string(v))
	case classad.Int:
		return strconv.FormatInt(int64(v), 10)
	case classad.Real:
		f := float64(v)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return "null"
		}
		return classad.Unparse(v)
	case classad.Bool:
		return classad.Unparse(v)
	case classad.Undefined:
		return "null"
	}
	// HTCondor's JSON writer unparses in the new syntax: =?= and =!= as is and isnt
	x := strings.NewReplacer(" =?= ", " is ", " =!= ", " isnt ").Replace(classad.Unparse(e))
	return strings.ReplaceAll(jsonString(`\/Expr(`+x+`)\/`), `\\/`, `\/`)
}

// jsonString quotes s for JSON without Go's HTML escapes.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// printFormats is -format FMT ATTR…: each pair's printf-style format
// applied to the attribute's value, for each ad (no newline unless the
// formats have one).
func printFormats(w io.Writer, ads []*classad.Ad, pairs []formatPair) {
	for _, ad := range ads {
		for _, p := range pairs {
			fmt.Fprint(w, formatOne(p.fmt, ad, p.attr))
		}
	}
}

// formatOne applies the first %-directive of f to the attribute's value
// (d/i integers, f/e/g reals, s/v text), the rest of f as is.
func formatOne(f string, ad *classad.Ad, attr string) string {
	i := strings.IndexByte(f, '%')
	for i >= 0 && i+1 < len(f) && f[i+1] == '%' {
		j := strings.IndexByte(f[i+2:], '%')
		if j < 0 {
			i = -1
			break
		}
		i += 2 + j
	}
	if i < 0 {
		return strings.ReplaceAll(f, "%%", "%")
	}
	j := i + 1
	for j < len(f) && strings.IndexByte("-+ #0123456789.l", f[j]) >= 0 {
		j++
	}
	if j >= len(f) {
		return f
	}
	spec := strings.ReplaceAll(f[i:j], "l", "")
	e, err := classad.ParseExpr(attr, classad.New)
	v := classad.Expr(classad.Undefined{})
	if err == nil {
		v = ad.Eval(e)
	}
	return f[:i] + formatValue(spec, f[j], v) + f[j+1:]
}

func formatValue(spec string, verb byte, v classad.Expr) string {
	switch verb {
	case 'd', 'i', 'x', 'X', 'o', 'c':
		n, ok := toNumber(v)
		if !ok {
			return "undefined"
		}
		if verb == 'i' {
			verb = 'd'
		}
		return fmt.Sprintf(spec+string(verb), int64(n))
	case 'f', 'e', 'g', 'E', 'G':
		n, ok := toNumber(v)
		if !ok {
			return "undefined"
		}
		return fmt.Sprintf(spec+string(verb), n)
	}
	return fmt.Sprintf(spec+"s", classad.Text(v))
}

func toNumber(v classad.Expr) (float64, bool) {
	switch x := v.(type) {
	case classad.Int:
		return float64(x), true
	case classad.Real:
		return float64(x), true
	case classad.Bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
