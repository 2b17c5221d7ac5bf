package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/testbed"
)

// TestArcDropInOptions: the options of arcsub and arcstat that need no
// finished job, and arckill -k, with the real client and cesub's on the
// same arguments and one job list.
func TestArcDropInOptions(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	for _, s := range arcSides(t, tb) {
		t.Run(s.name, func(t *testing.T) {
			defer cleanArcJobs(t, s)
			compareDump(t, s)
			compareInfoSync(t, s)
			compareForce(t, s)
			var ids []string
			for i, real := range []bool{true, false} {
				name := []string{"opt-b", "opt-a"}[i] // real's sorts last by name, first by id order of submission
				r := s.run(t, real, "arcsub", "-C", s.url, "-T", "arcrest", "-o", s.path(real, "ids.txt"),
					"-e", `&(executable="/bin/sleep")(arguments="600")(jobname="`+name+`")`)
				if r.code != 0 {
					t.Fatalf("arcsub (real=%v): %d %q %q", real, r.code, r.out, r.err)
				}
				ids = append(ids, strings.TrimSpace(strings.TrimPrefix(r.out, "Job submitted with jobid: ")))
			}
			compareStatOptions(t, s, ids)
			for i, real := range []bool{false, true} { // each kills the other's, keeping it on the CE
				r := s.run(t, real, "arckill", "-k", ids[i])
				if r.code != 0 || r.out != "Jobs processed: 1, successfully killed: 1\n" {
					t.Errorf("arckill -k (real=%v): %d %q %q", real, r.code, r.out, r.err)
				}
			}
		})
	}
}

// compareDump: -x prints the description to be sent and submits nothing.
func compareDump(t *testing.T, s *arcSide) {
	t.Helper()
	head := regexp.MustCompile(`^Job description to be sent to \S+:\n`)
	for _, real := range []bool{true, false} {
		r := s.run(t, real, "arcsub", "-C", s.url, "-T", "arcrest", "-x", "-e", `&(executable="/bin/true")(jobname="dump")`)
		if r.code != 0 || !head.MatchString(r.out) || !strings.Contains(r.out, "/bin/true") {
			t.Errorf("arcsub -x (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.work, ".arc", "jobs.dat")); err == nil {
		if r := s.run(t, false, "arcstat", "-a"); r.code != 1 {
			t.Errorf("arcsub -x recorded a job: %q", r.out)
		}
	}
}

// compareStatOptions: -p, -S/-R, -s, -C (-c in 6.17), -i, -l, -l -J give the same lines.
func compareStatOptions(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	local := ids[0][strings.LastIndex(ids[0], "/")+1:]
	for _, real := range []bool{true, false} {
		check := func(what string, r result, ok bool) {
			if !ok {
				t.Errorf("arcstat %s (real=%v): %d %q %q", what, real, r.code, r.out, r.err)
			}
		}
		summary := "Status of 2 jobs was queried, 2 jobs returned information\n"
		r := s.run(t, real, "arcstat", "-p", "-a")
		check("-p -a", r, r.code == 0 && strings.Contains(r.out, ids[0]+"\n") && strings.Contains(r.out, ids[1]+"\n") &&
			!strings.Contains(r.out, "State:") && strings.HasSuffix(r.out, summary))
		r = s.run(t, real, "arcstat", "-S", "jobname", "-a")
		check("-S jobname", r, r.code == 0 && strings.Index(r.out, ids[1]) < strings.Index(r.out, ids[0]))
		r = s.run(t, real, "arcstat", "-R", "jobname", "-a")
		check("-R jobname", r, r.code == 0 && strings.Index(r.out, ids[0]) < strings.Index(r.out, ids[1]))
		r = s.run(t, real, "arcstat", "-s", "Finished", "-a")
		check("-s Finished", r, r.code == 0 && r.out == "Status of 2 jobs was queried, 0 jobs returned information\n")
		ceFlag := "-C" // ARC 7; ARC 6.17's arcstat has only -c/--cluster
		if s.name == "ARC-6.17" {
			ceFlag = "-c"
		}
		r = s.run(t, real, "arcstat", ceFlag, s.url)
		check(ceFlag, r, r.code == 0 && strings.HasSuffix(r.out, summary))
		r = s.run(t, real, "arcstat", "-i", s.path(real, "ids.txt"))
		check("-i", r, r.code == 0 && strings.HasSuffix(r.out, summary))
		r = s.run(t, real, "arcstat", "-l", ids[0])
		check("-l", r, r.code == 0 && strings.Contains(r.out, "\n Specific state: ") && strings.Contains(r.out, "\n ID on service: "+local+"\n") &&
			strings.Contains(r.out, "\n Job management URL: "+s.url+" (org.nordugrid.arcrest)\n"))
		r = s.run(t, real, "arcstat", "-l", "-J", ids[0])
		doc := r.out
		if strings.HasPrefix(doc, `"jobs"`) {
			doc = "{" + doc + "}"
		}
		var js struct{ Jobs []map[string]any }
		err := json.Unmarshal([]byte(doc), &js)
		check("-l -J", r, err == nil && len(js.Jobs) == 1 && js.Jobs[0]["specificState"] != nil && js.Jobs[0]["serviceId"] == local &&
			js.Jobs[0]["jobManagementURL"] == s.url)
	}
}

// compareInfoSync: arcinfo's line, and arcsync's lines by shape, on a job
// list of their own (the CE holds other tests' jobs of the same identity:
// they must not reach the list the test cleans).
func compareInfoSync(t *testing.T, s *arcSide) {
	t.Helper()
	ceFlag := "-C"
	if s.name == "ARC-6.17" {
		ceFlag = "-c"
	}
	total := regexp.MustCompile(`(?m)^Total number of new jobs found: \d+\n\z`)
	for _, real := range []bool{true, false} {
		r := s.run(t, real, "arcinfo", ceFlag, s.url)
		if r.code != 0 || r.out != "Computing service: localhost (production)\n" {
			t.Errorf("arcinfo (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		list := s.path(real, "sync.dat")
		r = s.run(t, real, "arcsync", "-f", "-j", list, ceFlag, s.url)
		if r.code != 0 || !total.MatchString(r.out) {
			t.Errorf("arcsync (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		_ = os.Remove(filepath.Join(s.work, "sync.dat"))
	}
}

// compareForce: arcclean -f drops a job its CE does not know.
func compareForce(t *testing.T, s *arcSide) {
	t.Helper()
	for _, real := range []bool{true, false} {
		list := filepath.Join(s.work, "gone.dat")
		job := arcjoblist.Job{ID: s.url + "/rest/1.0/jobs/gone0", IDFromEndpoint: "gone0", Name: "gone", Interface: arcjoblist.InterfaceREST,
			ServiceURL: s.url}
		if err := arcjoblist.Add(context.Background(), list, job); err != nil {
			t.Fatal(err)
		}
		r := s.run(t, real, "arcclean", "-f", "-j", s.path(real, "gone.dat"), "gone")
		if r.code != 0 || r.out != "Jobs processed: 1, deleted: 1\n" {
			t.Errorf("arcclean -f (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		if left, _ := arcjoblist.Read(context.Background(), list); len(left) != 0 {
			t.Errorf("arcclean -f (real=%v) left %v", real, left)
		}
	}
}
