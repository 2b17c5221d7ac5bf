package classad

import (
	"strings"
	"testing"
)

// Golden unparse forms are the right-hand sides condor_submit -dry-run prints
// (HTCondor's regression expectations, see the shared corpus).
func TestParseUnparse(t *testing.T) {
	tests := []struct{ in, out string }{
		{"99/Bottles || Beer", "99 / Bottles || Beer"},
		{"max({ TARGET.TotalCpus - 1, 3 })", "max({ TARGET.TotalCpus - 1,3 })"},
		{"IfThenElse((time() - QDate) > 3600, 92, 93)", "IfThenElse((time() - QDate) > 3600,92,93)"},
		{"(time() - QDate) > 3600 || MemoryUsage > RequestMemory", "(time() - QDate) > 3600 || MemoryUsage > RequestMemory"},
		{"NumJobCompletions > JobMaxRetries || ExitCode =?= 0", "NumJobCompletions > JobMaxRetries || ExitCode =?= 0"},
		{"{2048, 8192}", "{ 2048,8192 }"},
		{"20.0", "20.0"},
		{"1000.0 * 0", "1000.0 * 0"},
		{"6.4", "6.4"},
		{"1e3", "1000.0"},
		{`"Ipso Lorem"`, `"Ipso Lorem"`},
		{`"say \"hi\""`, `"say \"hi\""`},
		{`"C:\path"`, `"C:\path"`},
		{"MY.Foo =!= undefined && TARGET.Bar is true", "MY.Foo =!= undefined && TARGET.Bar is true"},
		{"a ? b : c", "a ? b : c"},
		// the Elvis operator, as HTCondor 25 writes LeaveJobInQueue for spooled jobs
		{"JobStatus == 4 && (time() - (CompletionDate ?: time())) < 864000 && (StageOutFinish ?: 0) < EnteredCurrentStatus",
			"JobStatus == 4 && (time() - (CompletionDate ?: time())) < 864000 && (StageOutFinish ?: 0) < EnteredCurrentStatus"},
		{"a ?: b ? c : d", "a ?: b ? c : d"},
		{"-1", "-1"},
		{"!x", "!x"},
		{"[ a = 1; b = \"x\" ]", `[ a = 1; b = "x" ]`},
		{"x.y[2]", "x.y[2]"},
		{"0x1F", "31"},
		{"Capability > 7.5 && GlobalMemoryMb >= GPUsMinMemory", "Capability > 7.5 && GlobalMemoryMb >= GPUsMinMemory"},
		{"a + b * c", "a + b * c"},
	}
	for _, tt := range tests {
		e, err := ParseExpr(tt.in, Old)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tt.in, err)
			continue
		}
		if got := Unparse(e); got != tt.out {
			t.Errorf("Unparse(%q) = %q, want %q", tt.in, got, tt.out)
		}
		again, err := ParseExpr(Unparse(e), Old)
		if err != nil || Unparse(again) != Unparse(e) {
			t.Errorf("re-parse of %q: %v", Unparse(e), err)
		}
	}
}

func TestPrecedence(t *testing.T) {
	e, _ := ParseExpr("a || b && c == d + e * f", Old)
	// || at the top, && below it, == below that, + below ==, * innermost
	or, ok := e.(Binary)
	if !ok || or.Op != "||" {
		t.Fatalf("top %#v", e)
	}
	and := or.Y.(Binary)
	eq := and.Y.(Binary)
	add := eq.Y.(Binary)
	mul := add.Y.(Binary)
	if and.Op != "&&" || eq.Op != "==" || add.Op != "+" || mul.Op != "*" {
		t.Fatalf("precedence wrong: %s", Unparse(e))
	}
}

func TestStringSyntaxes(t *testing.T) {
	e, _ := ParseExpr(`"a\nb\"c"`, New)
	if string(e.(String)) != "a\nb\"c" {
		t.Errorf("new syntax: %q", e)
	}
	e, _ = ParseExpr(`"a\nb\"c"`, Old)
	if string(e.(String)) != `a\nb"c` {
		t.Errorf("old syntax keeps backslash-n: %q", e)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for in, want := range map[string]string{
		`"abc`:   "unterminated string",
		"a +":    "expected a value",
		"f(a b)": "expected ',' or ')'",
		"{1,2":   "expected ',' or '}'",
		"(a":     "expected ')'",
		"a ? b":  "expected ':'",
		"a b":    "unexpected",
		strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500): "nested too deeply",
	} {
		if _, err := ParseExpr(in, Old); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseExpr(%.20q) = %v, want %q", in, err, want)
		}
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"99/Bottles || Beer", "max({ TARGET.TotalCpus - 1,3 })", `[a=1;b="x"]`, `"q\"q"`, "a ? b : c", "x.y[1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s, Old)
		if err != nil {
			return
		}
		u := Unparse(e)
		again, err := ParseExpr(u, Old)
		if err != nil {
			t.Fatalf("unparse of %q gives %q which does not parse: %v", s, u, err)
		}
		if Unparse(again) != u {
			t.Fatalf("unparse not stable: %q -> %q -> %q", s, u, Unparse(again))
		}
	})
}

func TestSameName(t *testing.T) {
	for _, c := range []struct {
		x, y string
		want bool
	}{
		{"RequestMemory", "requestmemory", true},
		{"REQUESTMEMORY", "RequestMemory", true},
		{"Request_Memory", "request_memory", true},
		{"RequestMemory", "RequestMemor", false},
		{"Owner", "Ownex", false},
		{"a[", "A{", false},      // '[' and '{' differ by the case bit but are not letters
		{"Kx", "\u212ax", false}, // the Kelvin sign folds to k in Unicode, not in HTCondor
		{"", "", true},
	} {
		if got := SameName(c.x, c.y); got != c.want {
			t.Errorf("SameName(%q, %q) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	ad := &Ad{}
	ad.Set("JobStatus", Int(1))
	ad.Set("jobstatus", Int(2))
	if len(ad.Attrs) != 1 || ad.Attrs[0].Name != "JobStatus" {
		t.Fatalf("Set kept %v", ad.Attrs)
	}
	if v, _ := ad.Int("JOBSTATUS"); v != 2 {
		t.Fatalf("Get: %v", v)
	}
}

// TestDeepNestingIsRefused: a million levels of parentheses, unary
// operators or lists end in a positioned error, not a stack overflow.
func TestDeepNestingIsRefused(t *testing.T) {
	const n = 1_000_000
	for _, src := range []string{strings.Repeat("(", n) + "1" + strings.Repeat(")", n), strings.Repeat("-", n) + "1",
		strings.Repeat("{", n) + strings.Repeat("}", n), strings.Repeat("[a=", n) + "1" + strings.Repeat("]", n),
		strings.Repeat("f(", n) + strings.Repeat(")", n), strings.Repeat("a?", n) + "1" + strings.Repeat(":2", n)} {
		_, err := ParseExpr(src, New)
		if err == nil || !strings.Contains(err.Error(), "nested too deeply") || !strings.Contains(err.Error(), "offset") {
			t.Errorf("%.10s…: %v", src, err)
		}
	}
}
