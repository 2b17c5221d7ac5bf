package xrsl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGrammar(t *testing.T) {
	tests := []struct {
		name, in string
		args     []string // expected arguments of the (first) job, nil: don't check
		err      string   // substring of the error, with its position
	}{
		{"bare literal", `&(executable=/bin/echo)(arguments=a b)`, []string{"a", "b"}, ""},
		{"double quotes with doubling", `&(arguments="say ""hi""")`, []string{`say "hi"`}, ""},
		{"single quotes with doubling", `&(arguments='it''s')`, []string{"it's"}, ""},
		{"empty strings", `&(arguments="" '')`, []string{"", ""}, ""},
		{"user delimiter", `&(arguments=^#say "it's"#)`, []string{`say "it's"`}, ""},
		{"user delimiter doubled", `&(arguments=^%50%% off%)`, []string{"50% off"}, ""},
		{"comment anywhere", "&(* c1 *)(arguments(* c2 *)=(* c3\nmulti *)x)(* end *)", []string{"x"}, ""},
		{"explicit concatenation", `&(arguments=a # "b c" # d)`, []string{"ab cd"}, ""},
		{"implicit concatenation after a variable", `&(rsl_substitution=(D /data))(arguments=$(D)/f1 $(D)"/f 2")`, []string{"/data/f1", "/data/f 2"}, ""},
		{"substitution chain", `&(rsl_substitution=(A x)(B $(A)y))(arguments=$(B))`, []string{"xy"}, ""},
		{"substitution scoped to later relations", `&(arguments=$(A))(rsl_substitution=(A x))`, []string{""}, ""},
		{"quoted variable stays literal", `&(rsl_substitution=(A x))(arguments='$(A)')`, []string{"$(A)"}, ""},
		{"names case-insensitive, underscores ignored", `&(ARGU_MENTS=x)(Job_Name=n)`, []string{"x"}, ""},
		{"quoted attribute name", `&("arguments"=x)`, []string{"x"}, ""},
		{"nested boolean", `&(&(&(arguments=x)))`, []string{"x"}, ""},
		{"unterminated double quote", "&(arguments=\"abc)", nil, "1:13: unterminated double-quoted string"},
		{"unterminated single quote", "&(executable=x)\n(arguments='abc)", nil, "2:12: unterminated single-quoted string"},
		{"unterminated user delimiter", `&(arguments=^#abc)`, nil, `1:13: unterminated ^#-delimited string`},
		{"unclosed comment", "&(executable=x)(* oops", nil, "1:16: comment '(*' is not closed"},
		{"unbalanced parenthesis", "&(executable=x", nil, "1:15: expected ')' to close the '(' at 1:2"},
		{"extra parenthesis", "&(executable=x))", nil, "1:16: junk at end of RSL"},
		{"relation not closed before the next", "&(executable=x)\n(stdout=\"o\"\n(jobname=\"j\")", nil,
			`3:9: expected ')' to close the list opened at 3:1, found "=\"j\")"; is the ')' that ends "stdout" (2:2) missing?`},
		{"a list that is a list", "&(executable=x)(arguments=(a b)", nil, "1:32: expected ')' to close the '(' at 1:16"},
		{"unknown relation", "&(executable ~ x)", nil, "1:14: expected a relation"},
		{"bang alone", "&(executable ! x)", nil, "1:14: expected a relation"},
		{"no value", "&(executable=)", nil, `attribute "executable" has no value`},
		{"no leading operator", "(executable=x)", nil, "1:1: expected '&', '|' or '+'"},
		{"plus below top level", "&(+(&(executable=x)))", nil, "1:3: '+' (multi-request) is allowed only at the top level"},
		{"dangling concatenation", "&(arguments=a #)", nil, "'#' has no right operand"},
		{"empty input", "   ", nil, "empty description"},
		{"bad attribute character", `&(a"b=1)`, nil, "expected a relation"},
		{"multiply defined", "&(executable=a)\n(executable=b)", nil, `2:2: attribute "executable" multiply defined (first at 1:3)`},
		{"bad unit", "&(executable=a)(walltime=\"10 parsecs\")", nil, `1:26: attribute "walltime": time "10 parsecs" does not parse`},
		{"memory with a unit", "&(executable=a)(memory=2GB)", nil, `"memory": "2GB" is not a whole number of megabytes`},
		{"inputfiles entry too short", `&(executable=a)(inputfiles=("x"))`, nil, "needs at least two values"},
		{"action in user dialect", `&(action=request)`, nil, `"action" is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := Parse("t.xrsl", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), "t.xrsl:"+strings.SplitN(tt.err, ": ", 2)[0]) && !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) || !rePos.MatchString(err.Error()) {
					t.Fatalf("error %v, want %q with file:line:col", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.args != nil && strings.Join(jobs[0].Executable.Args, "|") != strings.Join(tt.args, "|") {
				t.Fatalf("args %q, want %q", jobs[0].Executable.Args, tt.args)
			}
		})
	}
}

func TestAttributesAndUnits(t *testing.T) {
	jobs, err := Parse("u.xrsl", []byte(`&(executable=run.sh)(jobname=j)(cputime=90)(walltime="1h 30m")(lifetime=P2D)
	 (memory=2000)(disk=500)(count=8)(countpernode=4)(exclusiveexecution=yes)(queue=short)(queue!=long)
	 (runtimeenvironment>="APPS/ATLAS-1.0" opt1)(opsys="linux")(architecture=x86_64)(nodeaccess=outbound)
	 (inputfiles=("in" "https://se.example.org/in" "threads=2" "location=https://other/in")("local" ""))
	 (outputfiles=("out" "")("res" "srm://se.example.org/res" "overwrite=yes"))(executables=local)
	 (environment=("A" "1")("B" "two words"))(stdout=o)(join=yes)(gmlog=log)(priority=150)(rerun=2)
	 (notify="bq a@b.c")(delegationid=d1)(frobnicate=1)`))
	if err != nil {
		t.Fatal(err)
	}
	j := jobs[0]
	r := j.Resources
	switch {
	case r.CPUTime != 90*time.Minute, r.WallTime != 90*time.Minute, j.Lifetime != 48*time.Hour:
		t.Errorf("times %v %v %v", r.CPUTime, r.WallTime, j.Lifetime)
	case r.MemoryMB != 2000 || r.DiskMB != 500 || r.Slots != 8 || r.SlotsPerHost != 4 || !*r.Exclusive:
		t.Errorf("resources %+v", r)
	case r.Queue != "short" || r.RejectQueues[0] != "long":
		t.Errorf("queues %+v", r)
	case r.RuntimeEnvironments[0].Name != "APPS/ATLAS-1.0" || r.RuntimeEnvironments[0].Relation != ">=" || r.RuntimeEnvironments[0].Options[0] != "opt1":
		t.Errorf("rte %+v", r.RuntimeEnvironments)
	case j.Inputs[0].Sources[0].Option("threads") != "2" || j.Inputs[0].Sources[0].Locations[0].URL != "https://other/in":
		t.Errorf("input locations %+v", j.Inputs[0])
	case !j.Inputs[1].IsExecutable || len(j.Inputs[1].Sources) != 0:
		t.Errorf("local input %+v", j.Inputs[1])
	case len(j.Outputs[0].Targets) != 0 || j.Outputs[1].Targets[0].Option("overwrite") != "yes":
		t.Errorf("outputs %+v", j.Outputs)
	case j.Environment[1].Value != "two words" || j.Stderr != "o" || !j.Join || j.Priority != 100 || j.Rerun != 2:
		t.Errorf("app %+v", j)
	case len(j.Notifications) != 1 || strings.Join(j.Notifications[0].States, ",") != "PREPARING,INLRMS":
		t.Errorf("notify %+v", j.Notifications)
	}
	var warned []string
	for _, w := range j.Warnings {
		warned = append(warned, w.Attribute)
		if w.Line == 0 || w.File != "u.xrsl" {
			t.Errorf("warning without position: %+v", w)
		}
	}
	if strings.Join(warned, ",") != "priority,frobnicate" {
		t.Errorf("warnings for %v, want priority (clamped) and frobnicate (unknown)", warned)
	}
	// the writer's output reads back to the same job
	text, _ := Write(j)
	again, err := Parse("again", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	a := again[0]
	if a.Resources.WallTime != r.WallTime || a.Resources.MemoryMB != r.MemoryMB || len(a.Inputs) != 2 || a.Inputs[0].Sources[0].Locations[0].URL != "https://other/in" ||
		!a.Join || a.Stdout != "o" || len(a.Outputs) != 2 || a.Lifetime != j.Lifetime || a.Notifications[0].Email != "a@b.c" {
		t.Errorf("round trip through Write lost something:\n%s", text)
	}
}

func TestPeriod(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90": 90 * time.Minute, "1h": time.Hour, "1h 30": 90 * time.Minute, "2d": 48 * time.Hour, "1w": 7 * 24 * time.Hour,
		"600s": 600 * time.Second, "PT1H30M": 90 * time.Minute, "P1DT2H": 26 * time.Hour, "2 weeks": 14 * 24 * time.Hour,
		"1 hour, 30 minutes": 90 * time.Minute, "PT45S": 45 * time.Second,
	} {
		got, err := ParsePeriod(in, time.Minute)
		if err != nil || got != want {
			t.Errorf("ParsePeriod(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "10 parsecs", "P", "PT", "P1H", "h1", "1x"} {
		if _, err := ParsePeriod(bad, time.Minute); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", bad)
		}
	}
	if got, _ := ParsePeriod("90", time.Second); got != 90*time.Second {
		t.Errorf("GM dialect base: %v", got)
	}
}

// TestCorpusFilesAndRoundTrip: every real xRSL file in the corpus parses, and
// every tree in the corpus prints to text that parses back to the same tree.
func TestCorpusFilesAndRoundTrip(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "xrsl", "*"))
	cases, _ := filepath.Glob(filepath.Join(dir, "xrsl-cases", "*.xrsl"))
	if len(files) < 10 {
		t.Fatalf("%d files", len(files))
	}
	trees := 0
	for _, f := range append(files, cases...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		if strings.Contains(f, "/xrsl/") {
			_, err := Parse(name, src)
			// arctest's templates hold %d placeholders that arctest fills before parsing
			template := strings.Contains(string(src), "%d")
			if err != nil && !(template && rePos.MatchString(err.Error())) {
				t.Errorf("%s: %v", name, err)
			}
		}
		tree, err := ParseTree(name, src)
		if err != nil {
			continue // fragments and stated-invalid cases
		}
		text := Print(tree)
		again, err := ParseTree(name, []byte(text))
		if err != nil || !Equal(tree, again) {
			t.Errorf("%s: print does not round-trip: %v\n%s", name, err, text)
		}
		trees++
	}
	t.Logf("%d trees round-tripped", trees)
}

func FuzzParse(f *testing.F) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "corpus", "xrsl-cases")
	seeds, _ := filepath.Glob(filepath.Join(dir, "*.xrsl"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`&(executable=a)(|(queue=x)(queue=y))(arguments=^#a#)(* c *)`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := ParseTree("f", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error without file: %v", err)
			}
			return
		}
		if strings.IndexByte(Print(tree), 0) >= 0 {
			t.Fatalf("a NUL byte got through: %q", b)
		}
		again, err := ParseTree("f", []byte(Print(tree)))
		if err != nil || !Equal(tree, again) {
			t.Fatalf("round trip: %v\n%q\n%s", err, b, Print(tree))
		}
		_, _ = Decode("f", tree)
	})
}

// TestDeepNesting: nesting a million levels deep (conditions or value
// lists) is refused with a position, not a stack overflow.
func TestDeepNesting(t *testing.T) {
	const n = 1_000_000
	for name, src := range map[string]string{
		"conditions": "+" + strings.Repeat("(&", n) + "(executable=x)" + strings.Repeat(")", n),
		"lists":      "&(executable=x)(arguments=" + strings.Repeat("(", n) + "a" + strings.Repeat(")", n) + ")",
	} {
		_, err := Parse("deep.xrsl", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "deep.xrsl:1:") || !strings.Contains(err.Error(), "nested more than") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// as deep as allowed still parses
	ok := "+" + strings.Repeat("(&", MaxDepth-1) + "(executable=x)" + strings.Repeat(")", MaxDepth-1)
	if _, err := Parse("ok.xrsl", []byte(ok)); err != nil {
		t.Errorf("%d levels: %v", MaxDepth-1, err)
	}
}
