package submitfile

import (
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
)

func parseText(t *testing.T, text string) *File {
	t.Helper()
	f, err := Parse("t.sub", []byte(text), ParseOptions{Options: Options{Dir: t.TempDir(), Env: func(string) string { return "" }, Now: time.Unix(1700000000, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSubmitToJob(t *testing.T) {
	f := parseText(t, `executable = run.sh
arguments = "-n 'two words' x"
environment = "A=1 B='x y'"
output = out.$(Process)
error = out.$(Process)
log = job.log
transfer_input_files = data.txt, https://se.example.org/big.dat
transfer_output_files = result.tar
request_cpus = 4
request_memory = 2GB
request_disk = 1GB
+maxWallTime = 90
+ProjectName = "atlas"
requirements = OpSysMajorVer == 9
queue 2`)
	if len(f.Procs) != 2 {
		t.Fatalf("%d procs", len(f.Procs))
	}
	j := ToJob(f.Procs[1])
	switch {
	case j.Executable.Path != "run.sh" || strings.Join(j.Executable.Args, "|") != "-n|two words|x":
		t.Errorf("executable %+v", j.Executable)
	case len(j.Environment) != 2 || j.Environment[1].Value != "x y":
		t.Errorf("env %+v", j.Environment)
	case j.Stdout != "out.1" || !j.Join:
		t.Errorf("stdio %q %q %v", j.Stdout, j.Stderr, j.Join)
	case j.Resources.Slots != 4 || j.Resources.MemoryMB != 2048 || j.Resources.DiskMB != 1024 || j.Resources.WallTime != 90*time.Minute:
		t.Errorf("resources %+v", j.Resources)
	}
	var inputs []string
	for _, in := range j.Inputs {
		inputs = append(inputs, in.Name)
	}
	if strings.Join(inputs, ",") != "run.sh,data.txt,big.dat" || !j.Inputs[0].IsExecutable || j.Inputs[2].Sources[0].URL != "https://se.example.org/big.dat" {
		t.Errorf("inputs %+v", j.Inputs)
	}
	warned := map[string]bool{}
	for _, w := range j.Warnings {
		warned[w.Attribute] = true
	}
	for _, a := range []string{"log", "requirements", "+ProjectName"} {
		if !warned[a] {
			t.Errorf("no warning naming %s (warnings %+v)", a, j.Warnings)
		}
	}
	// and on to xRSL, which must parse
	text, err := xrsl.Write(jobdesc.PrepareForARC(j))
	if err != nil {
		t.Fatal(err)
	}
	back, err := xrsl.Parse("x", []byte(text))
	if err != nil || back[0].Resources.WallTime != 90*time.Minute || back[0].Resources.MemoryMB != 2048 {
		t.Fatalf("xRSL from a submit file: %v\n%s", err, text)
	}
}

func TestJobToClassAd(t *testing.T) {
	jobs, err := xrsl.Parse("j.xrsl", []byte(`&(executable=run.sh)(arguments="a b" c)(stdout=out)(join=yes)(count=8)(memory=2000)
	  (walltime="2h")(cputime=10)(inputfiles=("in" "")("remote" "https://se/remote"))(outputfiles=("res" "srm://se/res"))
	  (environment=("X" "1"))(runtimeenvironment="APPS/X")(jobname="pilot")(queue=long)`))
	if err != nil {
		t.Fatal(err)
	}
	text, warns := FromJob(jobs[0])
	f := parseText(t, text)
	ad := f.Procs[0].Ad
	want := map[string]string{
		"Arguments": `"a' 'b c"`, "Out": `"out"`, "Err": `"out"`, "RequestCpus": "8", "RequestMemory": "2000",
		"maxWallTime": "120", "xcount": "8", "queue": `"long"`, "TransferInput": `"in,https://se/remote"`,
		"TransferOutput": `"res"`, "Environment": `"X=1"`, "JobBatchName": `"pilot"`,
	}
	for attr, w := range want {
		got, ok := ad.Get(attr)
		if !ok || classad.Unparse(got) != w {
			t.Errorf("%s = %v, want %s\n%s", attr, got, w, text)
		}
	}
	warned := map[string]bool{}
	for _, w := range warns {
		warned[w.Attribute] = true
	}
	for _, a := range []string{"cputime", "runtimeenvironment", "outputfiles"} {
		if !warned[a] {
			t.Errorf("no warning for %s: %+v", a, warns)
		}
	}
}

// An upload target on the file that is also stdout is dropped by the
// translation too, and must be said.
func TestJobToClassAdWarnsStdoutUpload(t *testing.T) {
	jobs, err := xrsl.Parse("j.xrsl", []byte(`&(executable=/bin/echo)(stdout=o)(outputfiles=("o" "gsiftp://se/o"))`))
	if err != nil {
		t.Fatal(err)
	}
	_, warns := FromJob(jobs[0])
	for _, w := range warns {
		if w.Attribute == "outputfiles" && strings.Contains(w.Message, "gsiftp://se/o") {
			return
		}
	}
	t.Fatalf("no warning for the upload of stdout: %+v", warns)
}

func TestSubmitErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"executable = x\nqueue 3 foo bar\n", "2:1: queue"},
		{"executable = x\nif true\nqueue\n", "2:1: 'if' without 'endif'"},
		{"executable = x\nendif\n", "2:1: 'endif' without 'if'"},
		{"executable = x\nelse\n", "'else' without 'if'"},
		{"executable = x\nif bogus words\nendif\nqueue\n", "2:1: condition"},
		{"executable = x\nthis is not a command\n", "2:1: expected 'name = value'"},
		{"executable = x\nqueue v in (a b\n", "2:1: queue list '(' is not closed"},
		{"executable = x\nqueue v from missing.txt\n", "2:1: queue … from"},
		{"executable = x\nrequest_memory = lots of\nqueue\n", "3:1: request_memory"},
		{"executable = x\n+Bad = 1 +\nqueue\n", "not a ClassAd expression"},
		{"executable = x\narguments = \"unbalanced 'quote\"\nqueue\n", "unbalanced single quote"},
		{"executable = x\ninclude : self.sub\nqueue\n", "include loop"},
		{"executable = x\nqueue $(N)\n", "queue count"},
		{"executable = x\nqueue v in [1:2:0] (a b)\n", "step cannot be 0"},
		{"executable = x\nx = y \\\n", "ends with '\\'"},
		{"queue\n", "no executable"},
		{"executable = x\n", "no 'queue' statement"},
		{"a @=end\nline\n", "block \"end\" is not closed"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		src := []byte(tt.in)
		writeFile(t, dir+"/self.sub", tt.in)
		_, err := Parse("self.sub", src, ParseOptions{Options: Options{Dir: dir, Env: func(string) string { return "" }}})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "self.sub") && !strings.HasPrefix(err.Error(), "--queue") {
			t.Errorf("%q: got %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestMacrosAndQueueForms(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.dat", "b.dat", "c.txt", "sub/x.dat"} {
		writeFile(t, dir+"/"+n, "")
	}
	writeFile(t, dir+"/items.txt", "1, alpha\n2, beta gamma\n")
	src := `executable = /bin/echo
Values = $(Process) * 10
base = x
base = $(base)y
arguments = "$INT(Values,%03d) $Fnx(Item) $(base) $(undefined:dflt) $SUBSTR(base,1) $ENV(HOME:nohome) $$(Memory)"
queue Item matching files *.dat
queue 2 Item in [1:] (skip, p, q)
queue n, word from items.txt
queue 1 n, word from (
   3 delta
   4 epsilon
)`
	f, err := Parse("m.sub", []byte(src), ParseOptions{Options: Options{Dir: dir, Env: func(string) string { return "" }}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range f.Procs {
		got = append(got, argsOf(p))
	}
	want := []string{
		"000 a.dat xy dflt y nohome $$(Memory)", "010 b.dat xy dflt y nohome $$(Memory)",
		"020 p xy dflt y nohome $$(Memory)", "030 p xy dflt y nohome $$(Memory)", "040 q xy dflt y nohome $$(Memory)", "050 q xy dflt y nohome $$(Memory)",
		"060 xy dflt y nohome $$(Memory)", "070 xy dflt y nohome $$(Memory)", "080 xy dflt y nohome $$(Memory)", "090 xy dflt y nohome $$(Memory)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("args:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f.Procs[7].Vars.Get("word") != "beta gamma" || f.Procs[9].Vars.Get("n") != "4" || f.Procs[3].Vars.Get("step") != "1" {
		t.Errorf("queue variables: %v %v %v", f.Procs[7].Vars.Map(), f.Procs[9].Vars.Map(), f.Procs[3].Vars.Map())
	}
	if f.Procs[2].ClusterID != 1 || f.Procs[9].ProcID != 9 {
		t.Errorf("ids")
	}
}

func TestUndefinedMacro(t *testing.T) {
	src := []byte("executable = x\narguments = a $(nosuch) b\nqueue 3\n")
	f, err := Parse("u.sub", src, ParseOptions{Options: Options{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || f.Warnings[0].String() != "u.sub:2:1: warning: macro $(nosuch) is not defined; it expands to nothing" {
		t.Errorf("warnings: %v", f.Warnings)
	}
	_, err = Parse("u.sub", src, ParseOptions{Options: Options{Dir: t.TempDir()}, StrictMacros: true})
	if err == nil || err.Error() != "u.sub:2:1: arguments: macro $(nosuch) is not defined; it expands to nothing" {
		t.Errorf("strict: %v", err)
	}
}

func TestApplySlice(t *testing.T) {
	items := []string{"This", "is", "a", "Test"}
	for slice, want := range map[string]string{"[1::2]": "is,Test", "[-1::]": "Test", "[1:-1:]": "is,a", "[:100:]": "This,is,a,Test",
		"[5::]": "", "[1:1:2]": "", "[::-1]": "Test,a,is,This", "[2]": "a", "[:2]": "This,is"} {
		got, err := applySlice(Pos{}, slice, items)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("%s = %v %v, want %s", slice, got, err, want)
		}
	}
}
