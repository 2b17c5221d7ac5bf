package submitfile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTableMakerKeepsEachProcsValues makes tables from one reused buffer
// of values (as the parser does): each table must keep the values it was
// made of, whatever the buffer and the later tables hold, whether it
// shares its base with the previous tables or not.
func TestTableMakerKeepsEachProcsValues(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f"}
	rows := [][]string{
		{"1", "2", "3", "4", "5", "6"},
		{"1", "2", "3", "4", "5", "7"}, // one differs: shares the base
		{"1", "2", "3", "4", "5", "6"}, // the same as the base
		{"x", "y", "z", "w", "5", "6"}, // most differ: a new base
		{"x", "y", "z", "w", "5", "6"}, // the new base
		{"x", "", "z", "w", "q", "6"},  // empty values
		{strings.Repeat("long", 10), "y", "z", "w", "5", "6"},
	}
	var m tableMaker
	buf := make([]string, len(names))
	var tables []Table
	for _, r := range rows {
		copy(buf, r)
		tables = append(tables, m.make(names, buf, nil))
		for i := range buf {
			buf[i] = "overwritten"
		}
	}
	for i, tb := range tables {
		for j, n := range names {
			if v, ok := tb.Lookup(n); !ok || v != rows[i][j] {
				t.Errorf("table %d: %s = %q, %v; want %q", i, n, v, ok, rows[i][j])
			}
		}
		var got []string
		tb.Each(func(k, v string) { got = append(got, k+"="+v) })
		var want []string
		for j, n := range names {
			want = append(want, n+"="+rows[i][j])
		}
		if !slices.Equal(got, want) {
			t.Errorf("table %d: Each gives %v, want %v", i, got, want)
		}
	}
	if tables[1].sh != tables[0].sh || tables[3].sh == tables[0].sh {
		t.Errorf("bases: a proc with one different value should share the base, one with most different should not")
	}
}

// TestTableMakerHas: a name with no value is absent from Lookup, Each and
// Map, and tables that differ in which names have values do not share them.
func TestTableMakerHas(t *testing.T) {
	names := []string{"a", "b", "c"}
	var m tableMaker
	has := []bool{true, false, true}
	t1 := m.make(names, []string{"1", "", "3"}, has)
	has[1] = true // the caller's slice is reused
	t2 := m.make(names, []string{"1", "2", "3"}, has)
	t3 := m.make(names, []string{"1", "2", "4"}, nil)
	if _, ok := t1.Lookup("b"); ok {
		t.Errorf("t1 has b")
	}
	if v, ok := t2.Lookup("b"); !ok || v != "2" {
		t.Errorf("t2: b = %q, %v", v, ok)
	}
	if got := fmt.Sprint(t1.Map(), t2.Map(), t3.Map()); got != "map[a:1 c:3] map[a:1 b:2 c:3] map[a:1 b:2 c:4]" {
		t.Errorf("maps: %s", got)
	}
	var zero Table
	if _, ok := zero.Lookup("a"); ok || len(zero.Map()) != 0 {
		t.Errorf("the zero table has values")
	}
}

// TestProcTablesOwnValues parses procs whose queue variables and commands
// change from proc to proc (a few, then most, then with missing values):
// every proc has its own values, none of its neighbours'.
func TestProcTablesOwnValues(t *testing.T) {
	src := `executable = x
arguments = $(a) $(b)
output = $(a).out
+Tag = "$(b)"
queue a, b, c, d from (
  1, 2, 3, 4
  1, 2, 3, 5
  5, 6, 7, 8
  5, 6
  9, 10, 11, 12
)
`
	f, err := Parse("t.sub", []byte(src), ParseOptions{Options: Options{Dir: "/tmp", Env: func(string) string { return "" }, Now: time.Unix(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]string{{"1", "2", "3", "4"}, {"1", "2", "3", "5"}, {"5", "6", "7", "8"}, {"5", "6"}, {"9", "10", "11", "12"}}
	for i, p := range f.Procs {
		r := rows[i]
		for j, n := range []string{"a", "b", "c", "d"} {
			want := "" // a row's missing values are empty, as condor_submit's
			if j < len(r) {
				want = r[j]
			}
			if v, ok := p.Vars.Lookup(n); !ok || v != want {
				t.Errorf("proc %d: %s = %q, %v; want %q", i, n, v, ok, want)
			}
		}
		if got, want := p.Macros.Get("arguments"), r[0]+" "+r[1]; got != want {
			t.Errorf("proc %d: arguments %q, want %q", i, got, want)
		}
		if got, want := p.Macros.Get("+Tag"), `"`+r[1]+`"`; got != want {
			t.Errorf("proc %d: +Tag %q, want %q", i, got, want)
		}
		if got := p.Vars.Get("process"); got != fmt.Sprint(i) {
			t.Errorf("proc %d: process %q", i, got)
		}
	}
}
