package condortools

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/ce/htcondor"
	"github.com/cesub/cesub/pkg/classad"
)

func TestParseSubmitArgs(t *testing.T) {
	o, err := parseSubmitArgs([]string{"-r", "ce.example.org", "-pool", "ce.example.org:9619", "-spool", "-terse", "-a", "request_cpus = 2",
		"-batch-name", "b", "foo=bar", "job.sub", "-queue", "3", "in", "(a b)"})
	if err != nil {
		t.Fatal(err)
	}
	if o.name != "ce.example.org" || o.pool != "ce.example.org:9619" || !o.terse || o.file != "job.sub" || o.vars["foo"] != "bar" ||
		o.queue != "3 in (a b)" || o.batchName != "b" || len(o.appends) != 1 {
		t.Errorf("%+v", o)
	}
	for _, bad := range [][]string{{"-bogus"}, {"a.sub", "b.sub"}, {"-dry-run"}} {
		if _, err := parseSubmitArgs(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestIsOpt(t *testing.T) {
	for _, c := range []struct {
		arg, name string
		min       int
		want      bool
	}{{"-af", "af", 2, true}, {"-af:jh", "af", 2, true}, {"--constraint", "constraint", 2, true}, {"-const", "constraint", 2, true},
		{"-c", "constraint", 2, false}, {"-nob", "nobatch", 3, true}, {"-no", "nobatch", 3, false}, {"-", "name", 1, false}, {"-namex", "name", 1, false}} {
		if got := isOpt(c.arg, c.name, c.min); got != c.want {
			t.Errorf("isOpt(%q, %q) = %v", c.arg, c.name, got)
		}
	}
}

func TestWithAppends(t *testing.T) {
	o := &submitOpts{appends: []string{"request_cpus = 2"}, batchName: "b"}
	got := withAppends("executable = x\nQueue 2\nexecutable = y\nqueue\n", o)
	want := "executable = x\nrequest_cpus = 2\nbatch_name = b\nQueue 2\nexecutable = y\nqueue\n"
	if got != want {
		t.Errorf("got %q", got)
	}
	if got := withAppends("executable = x", o); got != "executable = x\nrequest_cpus = 2\nbatch_name = b\n" {
		t.Errorf("no queue: %q", got)
	}
}

func TestInlineStdinItems(t *testing.T) {
	got, err := inlineStdinItems("executable = x\nqueue a,b from -\n", strings.NewReader("1 2\n3 4\n"))
	if err != nil || got != "executable = x\nqueue a,b from (\n1 2\n3 4\n)\n" {
		t.Errorf("%q %v", got, err)
	}
	if got, _ := inlineStdinItems("queue a from items.txt\n", strings.NewReader("x")); got != "queue a from items.txt\n" {
		t.Errorf("file source changed: %q", got)
	}
}

func TestAcceptance(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	none := env(nil)
	if !skipFileCheck(env(map[string]string{"_CONDOR_SUBMIT_SKIP_FILECHECK": "True"}), "", nil) ||
		!skipFileCheck(none, "SUBMIT_SKIP_FILECHECK = yes\n", nil) || !skipFileCheck(none, "", map[string]string{"submit_skip_filecheck": "1"}) ||
		skipFileCheck(none, "SUBMIT_SKIP_FILECHECK = false\n", nil) {
		t.Error("SUBMIT_SKIP_FILECHECK")
	}
	for _, text := range []string{"use_oauth_services = box\n", "USE_OAUTH_SERVICES = box, gdrive\nbox_oauth_permissions = read\n"} {
		if refuseRemote(text, nil) == nil {
			t.Errorf("%q accepted", text)
		}
	}
	if refuseRemote("", map[string]string{"use_oauth_services": "box"}) == nil {
		t.Error("use_oauth_services=box on the command line accepted")
	}
	for _, text := range []string{"executable = oauth_helper\n", "box_oauth_permissions = read\n", "use_oauth_services =\n"} {
		if refuseRemote(text, nil) != nil { // condor_submit accepts these
			t.Errorf("%q refused", text)
		}
	}
	if !matchTimeExecutable("executable = $$(OpSys).sh\n") || matchTimeExecutable("executable = job.sh\narguments = $$(Memory)\n") {
		t.Error("$$() executable")
	}
}

func ad(t *testing.T, kv ...string) *classad.Ad {
	t.Helper()
	a := &classad.Ad{}
	for i := 0; i < len(kv); i += 2 {
		e, err := classad.ParseExpr(kv[i+1], classad.Old)
		if err != nil {
			t.Fatal(err)
		}
		a.Set(kv[i], e)
	}
	return a
}

func sampleAds(t *testing.T) []*classad.Ad {
	return []*classad.Ad{
		ad(t, "ClusterId", "7", "ProcId", "0", "Owner", `"pilot"`, "JobStatus", "1", "QDate", "0", "Cmd", `"/x/job.sh"`, "Arguments", `"a"`,
			"RequestMemory", "ifthenelse(MemoryUsage =!= undefined, MemoryUsage, 1)", "ImageSize", "2048"),
		ad(t, "ClusterId", "7", "ProcId", "1", "Owner", `"pilot"`, "JobStatus", "5", "QDate", "0", "Cmd", `"/x/job.sh"`),
	}
}

func TestAutoformat(t *testing.T) {
	for _, c := range []struct {
		mods  string
		attrs []string
		want  string
	}{
		{"", []string{"ProcId", "Owner", "Nope"}, "0 pilot undefined\n1 pilot undefined\n"},
		{"j", []string{"Owner"}, "7.0 pilot\n7.1 pilot\n"},
		{",", []string{"ClusterId", "ProcId"}, "7, 0\n7, 1\n"},
		{"l", []string{"ProcId"}, "ProcId = 0\nProcId = 1\n"},
		{"V", []string{"Owner"}, "\"pilot\"\n\"pilot\"\n"},
		{"r", []string{"RequestMemory"}, "ifthenelse(MemoryUsage =!= undefined,MemoryUsage,1)\nundefined\n"},
		{"", []string{"JobStatus == 5", "ImageSize / 1024"}, "false 2\ntrue undefined\n"},
		{"jh", []string{"ProcId", "Owner"}, " ID      ProcId Owner\n   7.0   0      pilot\n   7.1   1      pilot\n"},
	} {
		var b bytes.Buffer
		(&autoformat{mods: c.mods, attrs: c.attrs}).print(&b, sampleAds(t))
		if b.String() != c.want {
			t.Errorf("-af:%s %v:\n%q\nwant\n%q", c.mods, c.attrs, b.String(), c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	var b bytes.Buffer
	printFormats(&b, sampleAds(t), []formatPair{{"%d.", "ClusterId"}, {"%d ", "ProcId"}, {"%s", "Owner"}, {"[%5.1f]\n", "ImageSize"}})
	if want := "7.0 pilot[2048.0]\n7.1 pilot[undefined]\n"; b.String() != want {
		t.Errorf("%q", b.String())
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	printJSON(&b, sampleAds(t)[:1], true)
	want := "[\n{\n  \"Arguments\": \"a\",\n  \"ClusterId\": 7,\n  \"Cmd\": \"/x/job.sh\",\n  \"ImageSize\": 2048,\n  \"JobStatus\": 1,\n" +
		"  \"Owner\": \"pilot\",\n  \"ProcId\": 0,\n  \"QDate\": 0,\n" +
		"  \"RequestMemory\": \"\\/Expr(ifthenelse(MemoryUsage isnt undefined,MemoryUsage,1))\\/\"\n}\n]\n"
	if b.String() != want {
		t.Errorf("%s", b.String())
	}
}

func TestBatchTable(t *testing.T) {
	var b bytes.Buffer
	printBatch(&b, sampleAds(t))
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "OWNER BATCH_NAME    SUBMITTED   DONE   RUN    IDLE   HOLD  TOTAL JOB_IDS" {
		t.Errorf("header %q", lines[0])
	}
	if f := strings.Fields(lines[1]); strings.Join(f[:3], " ") != "pilot ID: 7" || strings.Join(f[5:], " ") != "_ _ 1 1 2 7.0-1" {
		t.Errorf("row %q", lines[1])
	}
	if got := countLine(sampleAds(t)); got != "2 jobs; 0 completed, 0 removed, 1 idle, 0 running, 1 held, 0 suspended" {
		t.Error(got)
	}
}

func TestProcDiff(t *testing.T) {
	first := "ClusterId=1\nCmd=\"x\"\nOut=\"out.1.0\"\nProcId=0\nJobStatus=1\n"
	got := procDiff(first, "ClusterId=1\nCmd=\"x\"\nOut=\"out.1.1\"\nProcId=1\nJobStatus=1\n")
	if got != "ProcId=1\nJobStatus=1\nOut=\"out.1.1\"\n" {
		t.Errorf("%q", got)
	}
}

func TestQConstraint(t *testing.T) {
	o := &qOpts{ids: []string{"7", "8.1"}, constraint: []string{"JobStatus == 1"}}
	if got := o.constraintExpr("pilot"); got != "(ClusterId == 7 || (ClusterId == 8 && ProcId == 1)) && (JobStatus == 1)" {
		t.Error(got)
	}
	if got := (&qOpts{}).constraintExpr("pilot"); got != `(Owner == "pilot")` {
		t.Error(got)
	}
	if got := (&qOpts{allUsers: true}).constraintExpr("pilot"); got != "true" {
		t.Error(got)
	}
}

func TestIDCellAlignsAsCondorQ(t *testing.T) {
	for _, c := range []struct{ cluster, proc, want string }{
		{"7", "0", "   7.0  "},
		{"2220", "1", "2220.1  "},
		{"123456", "0", "123456.0  "},
		{"12", "1500", "  12.1500"},
	} {
		if got := idCell(ad(t, "ClusterId", c.cluster, "ProcId", c.proc)); got != c.want {
			t.Errorf("idCell(%s.%s) = %q, want %q", c.cluster, c.proc, got, c.want)
		}
	}
}

// TestParseActArgsAll: -all beside other selections as the real
// condor_rm/hold/release (23.9.6 and 25.x) take it: refused after a
// constraint or a cluster, usage after it for an id, replaced by a later
// -constraint; several -constraint are ANDed.
func TestParseActArgsAll(t *testing.T) {
	for _, c := range []struct {
		args       []string
		msg        string // the refusal, "" when taken
		usage      bool
		constraint string
		all        bool
	}{
		{args: []string{"-constraint", "X", "-all"}, msg: "condor_rm: can't mix -all with other constraints"},
		{args: []string{"5", "-all"}, msg: "condor_rm: can't mix -all with other constraints"},
		{args: []string{"-all", "5"}, usage: true},
		{args: []string{"-all", "5.0"}, usage: true},
		{args: []string{"5.0", "-all"}, all: true},
		{args: []string{"-all", "-constraint", "X"}, constraint: "X"},
		{args: []string{"-constraint", "A", "-constraint", "B", "-constraint", "C"}, constraint: "(A) && (B) && (C)"},
		{args: []string{"-all"}, all: true},
		{args: []string{"-constraint", "X", "-a"}, msg: "condor_rm: can't mix -all with other constraints"},
	} {
		o, err := parseActArgs(rmTool, c.args)
		if c.msg != "" || c.usage {
			ae, ok := err.(argError)
			if !ok || ae.msg != c.msg || ae.usage != c.usage {
				t.Errorf("%q: %#v, want the refusal %q (usage %v)", c.args, err, c.msg, c.usage)
			}
			continue
		}
		if err != nil || o.constraint != c.constraint || o.all != c.all {
			t.Errorf("%q: %+v %v, want constraint %q all %v", c.args, o, err, c.constraint, c.all)
		}
	}
}

// TestPrintBulkResult: the lines of condor_rm/hold/release for -all, a
// cluster and a constraint as the real tools print them (rm.cpp's
// handleConstraints): "All jobs have been …" for -all, when the schedd did
// it on some job (-all also selects other users' jobs, which it refuses); when nothing was
// acted on and the schedd holds no job ads at all (TotalJobAds 0, as
// HTCondor 25's schedd answers with an empty queue), its "There are no jobs
// in the queue" line and no failure; otherwise an empty line and
// "Couldn't find/…", which also follows the no-jobs line after an earlier
// failure.
func TestPrintBulkResult(t *testing.T) {
	done := []htcondor.ActResult{{ID: "7.0", Code: 1}, {ID: "7.1", Code: 1}}
	others := []htcondor.ActResult{{ID: "3.0", Code: 5}, {ID: "7.0", Code: 1}} // -all also selects other users' jobs
	for _, c := range []struct {
		k        actKind
		what     string
		b        htcondor.Bulk
		failed   bool
		ok       bool
		out, err string
	}{
		{rmTool, "", htcondor.Bulk{Jobs: others, Done: true, TotalJobAds: 9}, false, true, "All jobs have been marked for removal\n", ""},
		{holdTool, "", htcondor.Bulk{Jobs: done, Done: true, TotalJobAds: 9}, false, true, "All jobs have been held\n", ""},
		{releaseTool, " in cluster 7", htcondor.Bulk{Jobs: done, Done: true}, false, true, "All jobs in cluster 7 have been released\n", ""},
		{holdTool, " in cluster 7", htcondor.Bulk{Jobs: []htcondor.ActResult{{ID: "7.0", Code: 4}}, TotalJobAds: 9}, false, false, "",
			"\nCouldn't find/hold all jobs in cluster 7\n"},
		{rmTool, "", htcondor.Bulk{TotalJobAds: 0}, false, true, "", "condor_rm:0:There are no jobs in the queue\n"},
		{holdTool, "", htcondor.Bulk{TotalJobAds: 3}, false, false, "", "\nCouldn't find/hold all jobs\n"},
		{rmTool, "", htcondor.Bulk{TotalJobAds: -1}, false, false, "", "\nCouldn't find/remove all jobs\n"},
		{releaseTool, " matching constraint (X)", htcondor.Bulk{TotalJobAds: 0}, true, true, "",
			"condor_release:0:There are no jobs in the queue\nCouldn't find/release all jobs matching constraint (X)\n"},
		{rmTool, " in cluster 7", htcondor.Bulk{Jobs: []htcondor.ActResult{{ID: "7.0", Code: 3}}, TotalJobAds: 4}, false, false, "",
			"\nCouldn't find/remove all jobs in cluster 7\n"},
	} {
		var out, errb bytes.Buffer
		f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}}
		ok := printBulkResult(f, c.k, c.what, c.b, c.failed)
		if ok != c.ok || out.String() != c.out || errb.String() != c.err {
			t.Errorf("%s%s %+v failed=%v: %v %q %q, want %v %q %q", c.k.tool, c.what, c.b, c.failed, ok, out.String(), errb.String(), c.ok, c.out, c.err)
		}
	}
}
