package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/testbed"
)

// TestArcDropInMore: the options TestArcDropIn leaves out, real client and
// cesub's on the same arguments and one job list: arcsub -t -d -z and -D,
// arccat -e, arcget -k -J, arcresume of a finished job, and arcrenew (with
// the proxy the real client delegated on A-REX 6.17, and without a proxy).
func TestArcDropInMore(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	for _, s := range arcSides(t, tb) {
		t.Run(s.name, func(t *testing.T) {
			defer cleanArcJobs(t, s)
			ids := submitMore(t, s)
			compareDryRun(t, s)
			waitFinished(t, s, ids)
			checkDryRunEnded(t, s)
			for _, real := range []bool{true, false} {
				for i, id := range ids {
					r := s.run(t, real, "arccat", "-e", id)
					if want := "err-" + []string{"real", "cesub"}[i] + "\n"; r.code != 0 || r.out != want {
						t.Errorf("arccat -e (real=%v): %d %q %q, want %q", real, r.code, r.out, r.err, want)
					}
				}
			}
			compareJobLog(t, s, ids)
			compareGetKeep(t, s, ids)
			for _, real := range []bool{true, false} {
				r := s.run(t, real, "arcresume", ids[0]) // a finished job is passed over: no failure
				if r.code != 0 || r.out != "Jobs processed: 1, resumed: 0\n" {
					t.Errorf("arcresume of a finished job (real=%v): %d %q %q", real, r.code, r.out, r.err)
				}
			}
			compareRenew(t, s, ids)
			compareCleanByState(t, s)
		})
	}
}

// submitMore submits a job writing stdout and stderr with each client,
// with -t, -d and -z (an empty client.conf); it returns the ids, real's first.
func submitMore(t *testing.T, s *arcSide) []string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.work, "empty.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// with -z the real client does not make ~/.arc: it would submit, say "Job list file cannot be
	// created" and exit 0 (cesub makes the folder and records the job: docs/drop-in.md)
	if err := os.MkdirAll(filepath.Join(s.work, ".arc"), 0o700); err != nil {
		t.Fatal(err)
	}
	idRe := regexp.MustCompile(`^Job submitted with jobid: (` + regexp.QuoteMeta(s.url) + `/rest/1\.[01]/jobs/[A-Za-z0-9]+)\n$`)
	var ids []string
	for i, real := range []bool{true, false} {
		who := []string{"real", "cesub"}[i]
		desc := `&(executable="/bin/sh")(arguments="-c" "echo out-` + who + `; echo err-` + who + ` >&2")` +
			`(stdout="out.txt")(stderr="err.txt")(jobname="more-` + who + `")`
		r := s.submitRetry(t, real, "-t", "60", "-d", "ERROR", "-z", s.path(real, "empty.conf"), "-C", s.url, "-T", "arcrest", "-e", desc)
		m := idRe.FindStringSubmatch(r.out)
		if r.code != 0 || m == nil {
			t.Fatalf("arcsub -t -d -z (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		ids = append(ids, m[1])
	}
	return ids
}

// submitRetry runs arcsub with args, again when the CE did not take the
// job (see runSettled).
func (s *arcSide) submitRetry(t *testing.T, real bool, args ...string) result {
	t.Helper()
	return s.runSettled(t, real, "the CE did not take the job",
		func(r result) bool { return r.code == 0 || !strings.Contains(r.out+r.err, "not submitted") }, "arcsub", args...)
}

// compareDryRun: arcsub -D submits a job the CE accepts and does not run
// (xRSL dryrun); both clients record it.
func compareDryRun(t *testing.T, s *arcSide) {
	t.Helper()
	for _, real := range []bool{true, false} {
		r := s.submitRetry(t, real, "-D", "-C", s.url, "-T", "arcrest", "-e", `&(executable="/bin/true")(jobname="more-dry")`)
		if r.code != 0 || !strings.HasPrefix(r.out, "Job submitted with jobid: "+s.url+"/rest/") {
			t.Errorf("arcsub -D (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
	jobs, err := arcjoblist.Read(context.Background(), filepath.Join(s.work, ".arc", "jobs.dat"))
	n := 0
	for _, j := range jobs {
		if j.Name == "more-dry" {
			n++
		}
	}
	if err != nil || n != 2 {
		t.Errorf("the job list holds %d dry-run jobs, want 2 (%v)", n, err)
	}
}

// checkDryRunEnded: the CE ended both dry-run jobs with its dry-run error.
func checkDryRunEnded(t *testing.T, s *arcSide) {
	t.Helper()
	want := " Name: more-dry\n State: Failed\n Job Error: Job has dryrun requested. Job skipped.\n"
	var r result
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(3 * time.Second) {
		if r = s.run(t, false, "arcstat", "-a"); strings.Count(r.out, want) == 2 {
			return
		}
	}
	t.Errorf("arcstat does not show both dry-run jobs ended:\n%s", r.out)
}

// compareJobLog: arccat -l prints the same job log with both clients.
func compareJobLog(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	var logs []string
	for _, real := range []bool{true, false} {
		r := s.run(t, real, "arccat", "-l", ids[0])
		if r.code != 0 || !strings.Contains(r.out, "Job state change") {
			t.Errorf("arccat -l (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		logs = append(logs, r.out)
	}
	if logs[0] != logs[1] {
		t.Errorf("arccat -l differs:\nreal:\n%s\ncesub:\n%s", logs[0], logs[1])
	}
}

// compareCleanByState: arcclean -s Failed, each client on its own dry-run
// job (which the CE ended as Failed), removes it from the CE and the list.
func compareCleanByState(t *testing.T, s *arcSide) {
	t.Helper()
	jobs, err := arcjoblist.Read(context.Background(), filepath.Join(s.work, ".arc", "jobs.dat"))
	var dry []string
	for _, j := range jobs {
		if j.Name == "more-dry" {
			dry = append(dry, j.ID)
		}
	}
	if err != nil || len(dry) != 2 {
		t.Fatalf("dry-run jobs on the list: %v %v", dry, err)
	}
	for i, real := range []bool{true, false} {
		r := s.run(t, real, "arcclean", "-s", "Failed", dry[i])
		if r.code != 0 || r.out != "Jobs processed: 1, deleted: 1\n" {
			t.Errorf("arcclean -s Failed (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
	if r := s.run(t, false, "arcstat", dry...); r.code != 1 {
		t.Errorf("the cleaned jobs are still listed: %d %q", r.code, r.out)
	}
}

// compareGetKeep: arcget -k -J -s Finished: each client fetches the other's
// job into a folder named by the job name and leaves the job on the CE.
func compareGetKeep(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	for i, real := range []bool{false, true} { // cesub gets ids[0] (real's), real gets ids[1]
		who := []string{"real", "cesub"}[i]
		dir := []string{"keep-cesub", "keep-real"}[i]
		if err := os.MkdirAll(filepath.Join(s.work, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		r := s.run(t, real, "arcget", "-k", "-J", "-s", "Finished", "-D", s.path(real, dir), ids[i])
		want := "Results stored at: " + dir + "/more-" + who + "\nJobs processed: 1, successfully retrieved: 1\n"
		if r.code != 0 || r.out != want {
			t.Errorf("arcget -k -J (real=%v): %d %q %q, want %q", real, r.code, r.out, r.err, want)
		}
		for f, want := range map[string]string{"out.txt": "out-" + who + "\n", "err.txt": "err-" + who + "\n"} {
			if b, err := os.ReadFile(filepath.Join(s.work, dir, "more-"+who, f)); err != nil || string(b) != want {
				t.Errorf("arcget -k -J (real=%v) %s: %q %v", real, f, b, err)
			}
		}
	}
	for _, real := range []bool{true, false} { // kept: still on the CE and on the list
		if r := s.run(t, real, "arcstat", ids[0], ids[1]); !strings.HasSuffix(r.out, "2 jobs returned information\n") {
			t.Errorf("after arcget -k (real=%v): %d %q", real, r.code, r.out)
		}
	}
}

// compareRenew: a finished job is passed over by both (renewed: 0, exit
// 0); on A-REX 6.17, whose real client delegates its proxy with each job,
// both renew a running job's delegation, and cesub without a proxy says so
// (exit 1).
func compareRenew(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	for _, real := range []bool{true, false} {
		if r := s.run(t, real, "arcrenew", ids[0]); r.code != 0 || r.out != "Jobs processed: 1, renewed: 0\n" {
			t.Errorf("arcrenew of a finished job (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
	proxy := ""
	for _, e := range s.realEnv {
		if v, ok := strings.CutPrefix(e, "X509_USER_PROXY="); ok {
			proxy = v
		}
	}
	if proxy == "" {
		return // ARC 7's client here submits with the token alone: no delegation to renew
	}
	r := s.run(t, true, "arcsub", "-C", s.url, "-T", "arcrest", "-e", `&(executable="/bin/sleep")(arguments="600")(jobname="more-renew")`)
	id := strings.TrimSpace(strings.TrimPrefix(r.out, "Job submitted with jobid: "))
	if r.code != 0 || !strings.HasPrefix(id, s.url) {
		t.Fatalf("arcsub of a long job: %d %q %q", r.code, r.out, r.err)
	}
	defer s.run(t, false, "arckill", id)
	withProxy := s.withEnv("X509_USER_PROXY=" + proxy)
	for _, real := range []bool{true, false} {
		if r := withProxy.run(t, real, "arcrenew", id); r.code != 0 || r.out != "Jobs processed: 1, renewed: 1\n" {
			t.Errorf("arcrenew of a running job (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
	bare := s.withEnv("X509_USER_PROXY=" + filepath.Join(s.work, "no-proxy"))
	if r := bare.run(t, false, "arcrenew", id); r.code != 1 || strings.Contains(r.out, "renewed") {
		t.Errorf("cesub's arcrenew without a proxy: %d %q %q", r.code, r.out, r.err)
	}
}

// withEnv is s with extra variables (NAME=VALUE, replacing) for both
// clients; the real ARC 7 client in its chroot keeps its own environment.
func (s *arcSide) withEnv(extra ...string) *arcSide {
	c := *s
	set := func(env []string) []string {
		out := slices.Clone(env)
		for _, kv := range extra {
			name := kv[:strings.IndexByte(kv, '=')+1]
			out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, name) })
			out = append(out, kv)
		}
		return out
	}
	c.cesubEnv = set(s.cesubEnv)
	if s.realEnv != nil {
		c.realEnv = set(s.realEnv)
		c.realCmd = func(tool string, args ...string) *exec.Cmd {
			cmd := s.realCmd(tool, args...)
			cmd.Env = c.realEnv
			return cmd
		}
	}
	return &c
}
