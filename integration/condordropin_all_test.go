package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
)

// TestCondorDropInRmAllAlone compares condor_rm, condor_hold and
// condor_release with -all alone, and C.P -all (the job, then every job),
// with the real tools (23.9.6 and 25.x), as the testbed's second user
// pilot2 (a token subject of its own, scripts/testbed/htcondor-ce): -all
// acts on every job of the user, so the real tools act on their pair of
// idle jobs first and cesub's on theirs after; then both on a queue with
// none of the user's jobs left, at the same moment. A job of the main test
// user, pilot, is there all along and is left alone.
func TestCondorDropInRmAllAlone(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		pilot := newDropIn(t, tb)
		d := asAllUser(t, tb)
		key := fmt.Sprintf("rmallalone%d", time.Now().UnixNano())
		pilotJob := submitIdle(t, pilot, key+"-pilot", 1)
		d.real(d.with("condor_rm", "-all")...) // what an interrupted run may have left
		real, rc := allSteps(t, d, key+"-real", d.real)
		ours, oc := allSteps(t, d, key+"-ours", d.ours)
		for i, what := range allStepNames {
			norm := func(s string) string { return renumber(s, rc[0], rc[1], oc[0], oc[1]) }
			byPhase := func(s string) string { return strings.NewReplacer("C3", "C1", "C4", "C2").Replace(norm(s)) }
			sameCode(t, what, real[i], ours[i])
			sameOut(t, what, real[i], ours[i], byPhase)
			sameErr(t, what, real[i], ours[i], byPhase)
			if real[i].code != 0 {
				t.Errorf("%s (real): exit %d %q %q", what, real[i].code, real[i].out, real[i].err)
			}
			if got := byPhase(ours[i].out); got != allStepOut[i] {
				t.Errorf("%s (cesub): %q, want %q", what, got, allStepOut[i])
			}
		}
		for _, args := range [][]string{{"condor_rm", "-all"}, {"condor_hold", "-all"}, {"condor_release", "-all"}, {"condor_rm", "999999999.0", "-all"}} {
			real, ours := d.both("", nil, d.with(args[0], args[1:]...)...)
			what := strings.Join(args, " ") + " (none left)"
			sameCode(t, what, real, ours)
			sameOut(t, what, real, ours, nil)
			sameErr(t, what, real, ours, nil)
			if real.out != "" {
				t.Errorf("%s (real): %q on stdout", what, real.out)
			}
			t.Logf("%s (real): exit %d, stderr %q", what, real.code, real.err)
		}
		if r := pilot.real(pilot.with("condor_q", pilotJob, "-af", "JobStatus")...); strings.TrimSpace(r.out) != "1" {
			t.Errorf("pilot's job (cluster %s) was touched: %q %q", pilotJob, r.out, r.err)
		}
	})
}

// asAllUser is a drop-in folder whose token maps to the testbed's second
// user, pilot2: minted here with the testbed issuer's key, for the CE's
// audience, with the scopes of the main token.
func asAllUser(t *testing.T, tb *testbed.Env) *dropIn {
	t.Helper()
	d := newDropIn(t, tb)
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := key.Mint(testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: tb.Get(t, "CESUB_TESTBED_CONDOR_ALL_SUB"),
		Audience: []string{d.pool}, Groups: []string{"/wlcg/pilots"}, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, "token"), []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	user := tb.Get(t, "CESUB_TESTBED_CONDOR_ALL_USER")
	if r := d.real(d.with("condor_ping", "-type", "schedd", "-table", "WRITE")...); !strings.Contains(r.out, user+"@") {
		t.Fatalf("the CE does not map the token of %s to %s (scripts/testbed/htcondor-ce up from this checkout adds the mapping): %q %q", tb.Get(t, "CESUB_TESTBED_CONDOR_ALL_SUB"), user, r.out, r.err)
	}
	return d
}

// submitIdle submits n jobs no machine matches (with the real
// condor_submit), waits until they are idle and returns their cluster.
func submitIdle(t *testing.T, d *dropIn, key string, n int) string {
	t.Helper()
	d.file("idle.sub", "executable = /bin/sleep\narguments = 600\nrequirements = false\n+CesubRmAll = \"$(key)\"\nqueue $(n)\n", 0o644)
	r := d.real(d.with("condor_submit", "idle.sub", "-spool", "key="+key, fmt.Sprintf("n=%d", n))...)
	m := submittedRE.FindStringSubmatch(r.out)
	if r.code != 0 || m == nil {
		t.Fatalf("condor_submit (%s): %d %q %q", key, r.code, r.out, r.err)
	}
	c := m[2]
	t.Cleanup(func() { d.real(d.with("condor_rm", c)...) })
	if !d.waitStatus(t, "1", c) { // HTCondor 25 holds a -spool job until its files are in
		t.Fatalf("the jobs of cluster %s are not idle", c)
	}
	return c
}

var (
	allStepNames = []string{"condor_hold -all", "condor_release -all", "condor_rm C1.0 -all", "condor_rm -all"}
	allStepOut   = []string{"All jobs have been held\n", "All jobs have been released\n",
		"Job C1.0 marked for removal\nAll jobs have been marked for removal\n", "All jobs have been marked for removal\n"}
)

// allSteps runs the steps of allStepNames with one tool (tool: d.real or
// d.ours) on two clusters of two idle jobs each, and checks that -all
// removed them; it returns each step's outcome and the clusters.
func allSteps(t *testing.T, d *dropIn, key string, tool func(args ...string) run) ([]run, []string) {
	t.Helper()
	c1 := submitIdle(t, d, key+"-1", 2)
	var out []run
	out = append(out, tool(d.with("condor_hold", "-all")...))
	out = append(out, tool(d.with("condor_release", "-all")...))
	out = append(out, tool(d.with("condor_rm", c1+".0", "-all")...))
	c2 := submitIdle(t, d, key+"-2", 2)
	out = append(out, tool(d.with("condor_rm", "-all")...))
	for _, c := range []string{c1, c2} {
		if r := d.real(d.with("condor_q", c, "-af", "JobStatus")...); strings.Trim(r.out, "3\n") != "" {
			t.Errorf("%s: cluster %s not removed: %q %q", key, c, r.out, r.err)
		}
	}
	return out, []string{c1, c2}
}
