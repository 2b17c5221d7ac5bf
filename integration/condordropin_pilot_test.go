package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// TestCondorDropInPilotScript runs examples/condor-pilot.sh, written for
// HTCondor's own tools, unchanged: with the real tools in the HTCondor
// chroot, and on the host (where no HTCondor client is installed) with
// cesub's links first on PATH. Both must submit, follow, fetch and remove
// the job.
func TestCondorDropInPilotScript(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	d := newDropIn(t, tb)
	src, err := os.ReadFile(filepath.Join(tb.Root, "examples", "condor-pilot.sh"))
	if err != nil {
		t.Fatal(err)
	}
	d.file("condor-pilot.sh", string(src), 0o755)
	env := []string{"PILOT_WAIT=240", "TMPDIR=" + d.inside}
	if _, err := exec.LookPath("condor_submit"); err == nil {
		t.Log("note: an HTCondor client is installed on the host; the links still come first on PATH")
	}
	t.Run("real", func(t *testing.T) {
		r := execute(d.asPilot(d.realCmd("", env, []string{"sh", "./condor-pilot.sh", d.pool})))
		checkPilot(t, r)
	})
	t.Run("cesub", func(t *testing.T) {
		r := execute(d.oursCmd("", []string{"PILOT_WAIT=240", "TMPDIR=" + d.dir}, []string{"sh", filepath.Join(d.dir, "condor-pilot.sh"), d.pool}))
		checkPilot(t, r)
	})
}

func checkPilot(t *testing.T, r run) {
	t.Helper()
	if r.code != 0 && strings.Contains(r.err, "not done after") {
		t.Skipf("the CE did not run the job in time (its queue is shared): %s", r.err)
	}
	if r.code != 0 || !strings.Contains(r.out, "pilot OK") || !strings.Contains(r.out, "says: hello from the pilot script") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}
