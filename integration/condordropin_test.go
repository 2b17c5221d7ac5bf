package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
)

const dropInJob = "#!/bin/sh\necho hi $1\n"

// TestCondorDropInDiff runs each HTCondor tool cesub emulates and the real
// one (23.9.6, and 25.x from sid) with the same arguments at the same
// moment against the testbed's HTCondor-CE, and compares what scripts read:
// the lines they parse, the exit codes, -json documents (ids and values;
// times by shape). Every job submitted is removed.
func TestCondorDropInDiff(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		d := newDropIn(t, tb)
		d.file("job.sh", dropInJob, 0o755)
		d.file("job.sub", "executable = job.sh\narguments = $(Process)\noutput = out.$(Cluster).$(Process)\nerror = err.$(Cluster).$(Process)\n"+
			"should_transfer_files = YES\nwhen_to_transfer_output = ON_EXIT\nqueue 2\n", 0o644)
		d.file("noqueue.sub", "executable = job.sh\narguments = $(foo)\nrequirements = false\n", 0o644)
		real, ours, rc1, oc1 := d.submitBoth("job.sub", "-spool") // spooled, as -remote: the CE writes the output to its spool
		sameCode(t, "condor_submit", real, ours)
		sameOut(t, "condor_submit", real, ours, func(s string) string { return renumber(renumber(s, rc1), oc1) })
		real, ours, rc, oc := d.submitBoth("noqueue.sub", "-terse", "-a", "request_cpus = 1", "-batch-name", "dropin", "foo=bar", "-queue", "2")
		sameCode(t, "condor_submit -terse -a -batch-name NAME=VALUE -queue", real, ours)
		sameOut(t, "condor_submit -terse", real, ours, func(s string) string { return renumber(renumber(s, rc), oc) })
		t.Run("condor_q", func(t *testing.T) { dropInQ(t, d, rc) })
		t.Run("condor_ping", func(t *testing.T) { dropInPing(t, d) })
		t.Run("hold_release_rm", func(t *testing.T) { dropInAct(t, d, rc, oc) })
		t.Run("transfer_data", func(t *testing.T) { dropInTransfer(t, d, rc1, oc1) })
		t.Run("history", func(t *testing.T) { dropInHistory(t, d, rc, oc) })
	})
}

// dropInQ compares condor_q's outputs on the same cluster.
func dropInQ(t *testing.T, d *dropIn, c string) {
	for _, args := range [][]string{
		{c, "-af", "ClusterId", "ProcId", "Args", "JobBatchName", "Owner", "RequestCpus"},
		{c, "-af:j", "Cmd"}, {c, "-af:h", "ProcId", "Owner"}, {c, "-af:jh", "ProcId", "Owner"}, {c, "-af:l", "ProcId"},
		{c, "-af:,", "ClusterId", "ProcId"}, {c, "-af:t", "ProcId", "Cmd"}, {c, "-af:r", "RequestMemory"}, {c, "-af:V", "Cmd"},
		{c, "-autoformat", "ProcId", "JobStatus =?= 1 || JobStatus =?= 5", "strcat(Owner, \"-\", ProcId)"},
		{c, "-format", "%d.", "ClusterId", "-format", "%d\\n", "ProcId"},
		{c + ".1", "-af", "ProcId"}, {c, "-constraint", "ProcId == 1", "-af", "ProcId"},
		{"-constraint", "ClusterId == " + c + " && Args == \"bar\"", "-af", "ProcId"},
		{"-allusers", "-constraint", "ClusterId == " + c, "-af", "ProcId"},
		{"999999999", "-af", "ProcId"},
	} {
		real, ours := d.both("", nil, d.with("condor_q", args...)...)
		sameCode(t, strings.Join(args, " "), real, ours)
		sameOut(t, strings.Join(args, " "), real, ours, nil)
	}
	for _, args := range [][]string{{c}, {c, "-nobatch"}, {c, "-totals"}, {"-constraint", "ClusterId == " + c}} {
		real, ours := d.both("", nil, d.with("condor_q", args...)...)
		sameCode(t, strings.Join(args, " "), real, ours)
		sameOut(t, strings.Join(args, " "), real, ours, tableLines)
	}
	real, ours := d.both("", nil, d.with("condor_q", c, "-json")...)
	sameCode(t, "-json", real, ours)
	sameJSON(t, "condor_q -json", real.out, ours.out)
	real, ours = d.both("", nil, d.with("condor_q", c+".0", "-long")...)
	sameCode(t, "-long", real, ours)
	sameOut(t, "-long (names)", real, ours, attrNames)
}

// tableLines keeps the lines scripts read from condor_q's tables: the
// column headers, the rows (times by shape; RUN_TIME and ST change as the
// job runs) and the "Total for query" line.
func tableLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "-- Schedd:"), l == "", strings.HasPrefix(l, "Total for all users"):
			// the schedd line (its time) and the whole queue (other users' jobs move) are not compared
		case strings.HasPrefix(l, " ID") || strings.HasPrefix(l, "OWNER"):
			out = append(out, l)
		case strings.HasPrefix(l, "Total for ") && !strings.HasPrefix(l, "Total for query"):
			out = append(out, regexp.MustCompile(`\d+`).ReplaceAllString(l, "N")) // the user's other jobs move
		default:
			out = append(out, byShape(regexp.MustCompile(`\d+\+\d\d:\d\d:\d\d [IRHC<>XS] `).ReplaceAllString(l, "RUNTIME ST ")))
		}
	}
	return strings.Join(out, "\n")
}

// attrNames keeps the attribute names of -long output, sorted.
func attrNames(s string) string {
	var names []string
	for _, l := range strings.Split(s, "\n") {
		if n, _, ok := strings.Cut(l, " = "); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return strings.Join(names, "\n")
}

// sameJSON compares two -json documents: the same ads, each with the same
// attribute names, and the same values but for those that change with time.
func sameJSON(t *testing.T, what, real, ours string) {
	t.Helper()
	var r, o []map[string]any
	if err := json.Unmarshal([]byte(real), &r); err != nil {
		t.Fatalf("%s: real: %v\n%s", what, err, real)
	}
	if err := json.Unmarshal([]byte(ours), &o); err != nil {
		t.Fatalf("%s: cesub: %v\n%s", what, err, ours)
	}
	if len(r) != len(o) {
		t.Fatalf("%s: %d ads (real) vs %d (cesub)", what, len(r), len(o))
	}
	changing := regexp.MustCompile(`(?i)date|time|status|count|usage|size|starts|slot|wallclock|cpu|host|update|lastjob|numjob|Release|hold`)
	for i := range r {
		for k, v := range r[i] {
			ov, ok := o[i][k]
			if !ok {
				t.Errorf("%s: ad %d: cesub lacks %s", what, i, k)
				continue
			}
			if !changing.MatchString(k) && !equalJSON(v, ov) {
				t.Errorf("%s: ad %d: %s = %v (real) vs %v (cesub)", what, i, k, v, ov)
			}
		}
		for k := range o[i] {
			if _, ok := r[i][k]; !ok {
				t.Errorf("%s: ad %d: cesub has %s, the real tool not", what, i, k)
			}
		}
	}
}

// equalJSON compares two values; reals inside expressions are compared by
// value (HTCondor 25 writes 1.25 as 1.250000000000000E+00; docs/drop-in.md).
func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return realsByValue(string(x)) == realsByValue(string(y))
}

var realRE = regexp.MustCompile(`\d+\.\d+(E[+-]\d+)?`)

func realsByValue(s string) string {
	return realRE.ReplaceAllStringFunc(s, func(r string) string {
		f, err := strconv.ParseFloat(r, 64)
		if err != nil {
			return r
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	})
}

func dropInPing(t *testing.T, d *dropIn) {
	for _, args := range [][]string{{"-table", "READ", "WRITE", "ADMINISTRATOR"}, {"WRITE"}, {"READ"}, {"ADMINISTRATOR"}, {"-type", "schedd", "-table", "WRITE"}} {
		real, ours := d.both("", nil, d.with("condor_ping", args...)...)
		sameCode(t, "condor_ping "+strings.Join(args, " "), real, ours)
		sameOut(t, "condor_ping "+strings.Join(args, " "), real, ours, nil)
	}
}

// dropInAct compares condor_hold, condor_release and condor_rm: each tool
// acts on its own cluster (the same jobs in the same states), one after
// the other in the same order; ids that do not exist are asked of both
// at once.
func dropInAct(t *testing.T, d *dropIn, rc, oc string) {
	norm := func(s string) string { return renumber(renumber(s, rc), oc) }
	for _, args := range [][]string{
		{"condor_hold", "C.0"}, {"condor_hold", "C"}, {"condor_release", "C.1"}, {"condor_release", "C.1"}, {"condor_release", "C"},
		{"condor_hold", "-constraint", "ClusterId == C"}, {"condor_release", "-constraint", "ClusterId == C && ProcId == 0"},
		{"condor_release", "-constraint", "ClusterId == C"},
	} {
		real := execute(d.realCmd("", nil, d.with(args[0], withCluster(args[1:], rc)...)))
		ours := execute(d.oursCmd("", nil, d.with(args[0], withCluster(args[1:], oc)...)))
		what := strings.Join(args, " ")
		sameCode(t, what, real, ours)
		sameOut(t, what, real, ours, norm)
		sameErr(t, what, real, ours, norm)
	}
	for _, args := range [][]string{
		{"condor_rm", "999999999.0"}, {"condor_rm", "999999999"}, {"condor_rm", "-constraint", "ClusterId == 999999999"},
		{"condor_hold", "999999999.3"}, {"condor_release", "999999999"}, {"condor_rm"}, {"condor_rm", "-bogus"},
	} {
		real, ours := d.both("", nil, d.with(args[0], args[1:]...)...)
		what := strings.Join(args, " ")
		sameCode(t, what, real, ours)
		sameOut(t, what, real, ours, nil)
		if len(args) > 1 && args[1] != "-bogus" {
			sameErr(t, what, real, ours, nil)
		}
	}
}

// withCluster puts cluster c where args say C.
func withCluster(args []string, c string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = regexp.MustCompile(`\bC\b`).ReplaceAllString(a, c)
	}
	return out
}

// sameErr compares the messages on stderr (HTCondor's security layer's
// own lines, such as SECMAN's, left out).
func sameErr(t *testing.T, what string, real, ours run, norm func(string) string) {
	t.Helper()
	clean := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if l != "" && !strings.HasPrefix(l, "SECMAN:") && !strings.HasPrefix(l, "WARNING: Missing daemon") {
				keep = append(keep, l)
			}
		}
		out := strings.Join(keep, "\n")
		if norm != nil {
			out = norm(out)
		}
		return out
	}
	if r, o := clean(real.err), clean(ours.err); r != o {
		t.Errorf("%s: stderr differs\nreal:  %q\ncesub: %q", what, r, o)
	}
}

// dropInTransfer waits for the first clusters to complete and fetches
// each with its own tool.
func dropInTransfer(t *testing.T, d *dropIn, rc, oc string) {
	if !d.waitStatus(t, "4", rc, oc) {
		t.Skip("the CE did not run the jobs within the wait (its queue is shared): transfer_data not compared")
	}
	real := execute(d.asPilot(d.realCmd("", nil, d.with("condor_transfer_data", rc))))
	ours := execute(d.oursCmd("", nil, d.with("condor_transfer_data", oc)))
	sameCode(t, "condor_transfer_data", real, ours)
	sameOut(t, "condor_transfer_data", real, ours, nil)
	for _, c := range []string{rc, oc} {
		for _, p := range []string{"0", "1"} {
			b, err := os.ReadFile(filepath.Join(d.dir, "out."+c+"."+p))
			if err != nil || string(b) != "hi "+p+"\n" {
				t.Errorf("out.%s.%s: %q %v", c, p, b, err)
			}
		}
	}
	real, ours = d.both("", nil, d.with("condor_transfer_data", "999999999")...)
	sameCode(t, "condor_transfer_data of no job", real, ours)
	real = execute(d.realCmd("", nil, d.with("condor_rm", rc)))
	ours = execute(d.oursCmd("", nil, d.with("condor_rm", oc)))
	sameCode(t, "condor_rm cluster", real, ours)
	sameOut(t, "condor_rm cluster", real, ours, func(s string) string { return renumber(renumber(s, rc), oc) })
	real, ours = d.both("", nil, d.with("condor_rm", "999999998", "999999999")...)
	sameCode(t, "condor_rm of two clusters not there", real, ours)
	sameOut(t, "condor_rm of two clusters not there", real, ours, nil)
	sameErr(t, "condor_rm of two clusters not there", real, ours, nil)
}

// dropInHistory removes the second clusters (by constraint) and compares
// condor_history on them once they have left the queue.
func dropInHistory(t *testing.T, d *dropIn, rc, oc string) {
	real := execute(d.realCmd("", nil, d.with("condor_rm", "-constraint", "ClusterId == "+rc)))
	ours := execute(d.oursCmd("", nil, d.with("condor_rm", "-constraint", "ClusterId == "+oc)))
	sameCode(t, "condor_rm -constraint", real, ours)
	sameOut(t, "condor_rm -constraint", real, ours, func(s string) string { return renumber(renumber(s, rc), oc) })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && len(strings.Fields(d.real(d.with("condor_history", rc, "-af", "ProcId")...).out)) < 2 {
		time.Sleep(time.Second)
	}
	for _, args := range [][]string{{rc, "-af", "ClusterId", "ProcId", "JobStatus", "Args"}, {rc, "-limit", "1", "-af", "ProcId"},
		{"-constraint", "ClusterId == " + rc, "-af", "ProcId"}} {
		real, ours := d.both("", nil, d.with("condor_history", args...)...)
		sameCode(t, "condor_history "+strings.Join(args, " "), real, ours)
		sameOut(t, "condor_history "+strings.Join(args, " "), real, ours, nil)
	}
	real, ours = d.both("", nil, d.with("condor_history", rc)...)
	sameOut(t, "condor_history table", real, ours, byShape)
	real, ours = d.both("", nil, d.with("condor_history", rc, "-json")...)
	sameJSON(t, "condor_history -json", real.out, ours.out)
}

// TestCondorDropInVersion: -version in each tool says it is cesub and
// which tool it emulates, and does not pass for HTCondor's own line.
func TestCondorDropInVersion(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	d := newDropIn(t, tb)
	for _, tool := range condorTools {
		for _, flag := range []string{"-version", "--version"} {
			r := d.ours(tool, flag)
			if r.code != 0 || !strings.Contains(r.out, "cesub") || !strings.Contains(r.out, tool) || strings.Contains(r.out, "$CondorVersion") {
				t.Errorf("%s %s: exit %d %q", tool, flag, r.code, r.out)
			}
		}
	}
}
