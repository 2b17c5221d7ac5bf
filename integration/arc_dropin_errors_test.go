package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/testbed"
)

// TestArcDropInRefusals: what the real ARC client and cesub's emulation
// print and return for bad invocations, the same arguments to each (paths
// as each sees them): the messages scripts see and the exit codes.
func TestArcDropInRefusals(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	for _, s := range arcSides(t, tb) {
		t.Run(s.name, func(t *testing.T) {
			// an existing, empty job list (the table only)
			empty := filepath.Join(s.work, "empty.dat")
			ctx := context.Background()
			job := arcjoblist.Job{ID: s.url + "/rest/1.0/jobs/x0", IDFromEndpoint: "x0", Interface: arcjoblist.InterfaceREST, ServiceURL: s.url}
			if err := arcjoblist.Add(ctx, empty, job); err != nil || arcjoblist.Remove(ctx, empty, job.ID) != nil {
				t.Fatal(err)
			}
			_ = os.Chmod(empty, 0o644)
			for _, c := range []struct {
				tool string
				args func(real bool) []string
				want string // in stdout+stderr, after {list} is replaced by the list's path as that client sees it
			}{
				{"arcstat", none, "ERROR: No jobs given"},
				{"arcget", none, "ERROR: No jobs given"},
				{"arckill", none, "ERROR: No jobs given"},
				{"arcclean", none, "ERROR: No jobs given"},
				{"arccat", none, "ERROR: No jobs given"},
				{"arcsub", none, "ERROR: No job description input specified"},
				{"arcstat", func(real bool) []string { return []string{"-j", s.path(real, "none.dat"), "-a"} }, "ERROR: Job list file ({none}) doesn't exist"},
				{"arcstat", withList(s, "nothere"), "Warning: Job not found in job list: nothere\nNo jobs found, try later"},
				{"arcget", withList(s, "nothere"), "Warning: Job not found in job list: nothere\nNo jobs"},
				{"arckill", withList(s, "nothere"), "Warning: Job not found in job list: nothere\nNo jobs"},
				{"arccat", withList(s, "nothere"), "Warning: Job not found in job list: nothere\nNo jobs"},
				{"arcstat", fixed("--bogus"), "Unknown option --bogus"},
				{"arcstat", fixed("-S", "size", "-a"), `Jobs cannot be sorted by "size", the following orderings are supported:`},
				{"arcsub", fixed("-C", s.url, "nofile.xrsl"), "ERROR: Can not open job description file: nofile.xrsl"},
				{"arcsub", fixed("-C", s.url, "-e", "&(executable="), "ERROR: Invalid JobDescription:"},
			} {
				for _, real := range []bool{true, false} {
					r := s.run(t, real, c.tool, c.args(real)...)
					want := strings.ReplaceAll(c.want, "{none}", s.path(real, "none.dat"))
					if r.code != 1 || !strings.Contains(r.out+r.err, want) {
						t.Errorf("%s %v (real=%v): %d out %q err %q, want exit 1 and %q", c.tool, c.args(real), real, r.code, r.out, r.err, want)
					}
				}
			}
		})
	}
}

func none(bool) []string { return nil }

func fixed(args ...string) func(bool) []string { return func(bool) []string { return args } }

// withList names the empty job list, then the arguments.
func withList(s *arcSide, args ...string) func(bool) []string {
	return func(real bool) []string { return append([]string{"-j", s.path(real, "empty.dat")}, args...) }
}
