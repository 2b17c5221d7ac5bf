package submitfile

import (
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobgen"
)

// TestProcTables: a queue variable a short item line leaves out is empty
// (as condor_submit makes it, hiding the global macro of that name), not
// the previous item's value: the overlay is reused from proc to proc.
func TestProcTables(t *testing.T) {
	src := []byte("executable = /bin/true\nb = global\narguments = $(a)-$(b)\nqueue a, b from (\n one, two\n three\n)\n")
	f, err := Parse("t.sub", src, ParseOptions{Options: Options{Dir: t.TempDir(), Env: func(string) string { return "" }}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Procs) != 2 {
		t.Fatalf("%d procs", len(f.Procs))
	}
	if v, ok := f.Procs[0].Vars.Lookup("b"); !ok || v != "two" {
		t.Errorf("proc 0 b = %q, %v", v, ok)
	}
	if v, ok := f.Procs[1].Vars.Lookup("b"); !ok || v != "" {
		t.Errorf("proc 1 b = %q, %v; want empty", v, ok)
	}
	want := []string{"one-two", "three-"}
	for i, p := range f.Procs {
		if a, _ := p.Ad.Str("Args"); a != want[i] {
			t.Errorf("proc %d Args = %q, want %q", i, a, want[i])
		}
		if p.Macros.Get("arguments") != want[i] || p.Vars.Get("process") != []string{"0", "1"}[i] {
			t.Errorf("proc %d macros %v vars %v", i, p.Macros.Map(), p.Vars.Map())
		}
	}
}

// TestProcAllocations bounds the allocations per proc of a real-shaped
// file: procs share what does not change between them (the cluster's
// values, parsed expressions, the names of their tables).
func TestProcAllocations(t *testing.T) {
	src := jobgen.Submit(2000)
	o := ParseOptions{Options: Options{Dir: "/tmp", Env: func(string) string { return "" }, Now: time.Unix(0, 0)}}
	allocs := testing.AllocsPerRun(3, func() {
		if f, err := Parse("pilot.sub", src, o); err != nil || len(f.Procs) != 2000 {
			t.Fatalf("%v", err)
		}
	})
	if perProc := allocs / 2000; perProc > 50 {
		t.Errorf("%.0f allocations per proc, want at most 50", perProc)
	}
}

// TestProcsRoom: the room made for the procs of later queue statements
// stays within MaxProcs, and the procs are those of every statement.
func TestProcsRoom(t *testing.T) {
	src := "executable = x\nqueue 1\n" + strings.Repeat("queue 0\n", 1000) + "arguments = last\nqueue 1\n"
	f, err := Parse("r.sub", []byte(src), ParseOptions{MaxProcs: 10, Options: Options{Dir: "/tmp", Env: func(string) string { return "" }}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Procs) != 2 || cap(f.Procs) > 10 {
		t.Fatalf("%d procs, room for %d (MaxProcs 10)", len(f.Procs), cap(f.Procs))
	}
	if f.Procs[0].ProcID != 0 || f.Procs[1].ProcID != 1 || f.Procs[1].Macros.Get("arguments") != "last" || f.Procs[0].Macros.Get("arguments") != "" {
		t.Errorf("procs: %+v %+v", f.Procs[0].Macros.Map(), f.Procs[1].Macros.Map())
	}
}
