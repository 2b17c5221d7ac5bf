package integration

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
)

// TestCondorDropInRmAll compares condor_rm's -all with the real tool
// (23.9.6 and 25.x) where that is safe on the shared CE, whose other jobs
// belong to the same user: the command lines the real tool refuses before
// it connects (-all after -constraint or a cluster, an id after -all; run
// against a pool that does not answer, so that a tool taking one acts on
// nothing), and -all followed by -constraint, which the real tool reads as
// the constraint alone: each removes its own idle job (one no machine
// matches), and a third job
// that matches neither constraint is left; and a cluster beside
// -constraint (condor_hold, each tool on its own cluster).
func TestCondorDropInRmAll(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		d := newDropIn(t, tb)
		rmAllRefusals(t, d)
		rmAllConstraint(t, d)
	})
}

// rmAllRefusals: both refuse, with the same message (or both their usage).
func rmAllRefusals(t *testing.T, d *dropIn) {
	t.Helper()
	nowhere := []string{"-pool", "127.0.0.1:1", "-name", d.host}
	for _, args := range [][]string{
		{"condor_rm", "-constraint", "false", "-all"}, {"condor_rm", "5", "-all"}, {"condor_rm", "-constraint", "false", "-a"},
		{"condor_hold", "-constraint", "false", "-all"}, {"condor_release", "5", "-all"},
		{"condor_rm", "-all", "5"}, {"condor_rm", "-all", "5.0"},
	} {
		full := append(append([]string{args[0]}, nowhere...), args[1:]...)
		real, ours := d.both("", nil, full...)
		what := strings.Join(args, " ")
		sameCode(t, what, real, ours)
		sameOut(t, what, real, ours, nil)
		if real.code != 1 || real.out != "" {
			t.Errorf("%s (real): %d %q %q", what, real.code, real.out, real.err)
		}
		if strings.HasPrefix(real.err, "Usage: ") {
			if !strings.HasPrefix(ours.err, "Usage: "+args[0]) {
				t.Errorf("%s: cesub's stderr %q, want its usage", what, ours.err)
			}
			continue
		}
		sameErr(t, what, real, ours, nil)
	}
}

// rmAllConstraint: condor_rm -all -constraint X removes X's jobs only (the
// jobs never run: requirements = false; hold = true is refused with -spool).
func rmAllConstraint(t *testing.T, d *dropIn) {
	t.Helper()
	key := fmt.Sprintf("rmall%d", time.Now().UnixNano())
	d.file("idle.sub", "executable = /bin/sleep\narguments = 600\nrequirements = false\n+CesubRmAll = \"$(key)\"\nqueue\n", 0o644)
	cluster := func(r run, who string) string {
		m := submittedRE.FindStringSubmatch(r.out)
		if r.code != 0 || m == nil {
			t.Fatalf("condor_submit (%s): %d %q %q", who, r.code, r.out, r.err)
		}
		c := m[2]
		t.Cleanup(func() { d.real(d.with("condor_rm", c)...) })
		return c
	}
	rc := cluster(d.real(d.with("condor_submit", "idle.sub", "-spool", "key="+key+"-real")...), "real")
	oc := cluster(d.ours(d.with("condor_submit", "idle.sub", "-spool", "key="+key+"-ours")...), "cesub")
	canary := cluster(d.real(d.with("condor_submit", "idle.sub", "-spool", "key="+key+"-canary")...), "canary")
	constraint := func(who string) []string {
		return []string{"-all", "-constraint", `CesubRmAll == "` + key + "-" + who + `"`}
	}
	norm := func(s string) string { return strings.NewReplacer(key+"-real", "KEY", key+"-ours", "KEY").Replace(s) }
	if !d.waitStatus(t, "1", rc, oc, canary) { // HTCondor 25 holds a -spool job until its files are in
		t.Fatalf("the jobs are not idle")
	}
	// a cluster beside -constraint: the real tools AND them into one constraint
	real := execute(d.realCmd("", nil, d.with("condor_hold", append([]string{rc}, constraint("real")[1:]...)...)))
	ours := execute(d.oursCmd("", nil, d.with("condor_hold", append([]string{oc}, constraint("ours")[1:]...)...)))
	byCluster := func(s string) string { return renumber(renumber(norm(s), rc), oc) }
	sameCode(t, "condor_hold C -constraint", real, ours)
	sameOut(t, "condor_hold C -constraint", real, ours, byCluster)
	sameErr(t, "condor_hold C -constraint", real, ours, byCluster)
	// a job id beside -constraint: the real tools warn that the constraint is ignored, then act on both
	real = execute(d.realCmd("", nil, d.with("condor_release", append([]string{rc + ".0"}, constraint("real")[1:]...)...)))
	ours = execute(d.oursCmd("", nil, d.with("condor_release", append([]string{oc + ".0"}, constraint("ours")[1:]...)...)))
	sameCode(t, "condor_release C.0 -constraint", real, ours)
	sameOut(t, "condor_release C.0 -constraint", real, ours, byCluster)
	// HTCondor 25 adds "condor_release:0:There are no jobs in the queue" when the constraint's
	// jobs are in the wrong state; cesub does not (docs/drop-in.md)
	noJobs := regexp.MustCompile(`(?m)^condor_\w+:0:There are no jobs in the queue\n?`)
	sameErr(t, "condor_release C.0 -constraint", real, ours, func(s string) string { return noJobs.ReplaceAllString(byCluster(s), "") })
	real = execute(d.realCmd("", nil, d.with("condor_rm", constraint("real")...)))
	ours = execute(d.oursCmd("", nil, d.with("condor_rm", constraint("ours")...)))
	sameCode(t, "condor_rm -all -constraint", real, ours)
	sameOut(t, "condor_rm -all -constraint", real, ours, norm)
	sameErr(t, "condor_rm -all -constraint", real, ours, norm)
	if want := `All jobs matching constraint (CesubRmAll == "KEY") have been marked for removal` + "\n"; norm(ours.out) != want {
		t.Errorf("cesub's condor_rm -all -constraint: %d %q %q, want %q", ours.code, ours.out, ours.err, want)
	}
	for _, c := range []string{rc, oc} {
		if r := d.real(d.with("condor_q", c, "-af", "JobStatus")...); strings.Trim(r.out, "3\n") != "" {
			t.Errorf("cluster %s not removed: %q %q", c, r.out, r.err)
		}
	}
	if r := d.real(d.with("condor_q", canary, "-af", "JobStatus")...); strings.TrimSpace(r.out) != "1" {
		t.Errorf("the job neither constraint names (cluster %s) was touched: %q %q", canary, r.out, r.err)
	}
}
