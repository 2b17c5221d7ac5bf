package arcrest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
)

// FindSubmission finds exactly the jobs of one submission by the mark its
// key put in their descriptions: in their order in it, none of another
// submission, none already on the job list.
func TestFakeRESTFindSubmission(t *testing.T) {
	f, c := newFakeREST(t, both)
	ctx := context.Background()
	mine, other := ce.NewSubmissionKey(), ce.NewSubmissionKey()
	ids := func(rs []ce.Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Job.LocalID)
		}
		return out
	}
	jobs := trueJobs(3)
	for i := range jobs {
		jobs[i].Stdout = "out.txt"
	}
	made, err := c.Submit(ctx, jobs, ce.SubmitOptions{Key: mine})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, trueJobs(2), ce.SubmitOptions{Key: other}); err != nil {
		t.Fatal(err)
	}
	local := func(jobs []ce.Job) []string {
		var out []string
		for _, j := range jobs {
			out = append(out, j.LocalID)
			if j.CE != c.endpoint || j.Flavour != ce.ARC || j.ID != c.JobID(j.LocalID) || j.State == "" || j.Name != "j" || j.Stdout != "out.txt" {
				t.Errorf("found job: %+v", j)
			}
		}
		return out
	}
	got, err := c.FindSubmission(ctx, mine, ce.PendingHint{Jobs: 3})
	if err != nil || !slices.Equal(local(got), ids(made)) {
		t.Fatalf("find: %v %v, want %v", local(got), err, ids(made))
	}
	known := ids(made)[0]
	got, err = c.FindSubmission(ctx, mine, ce.PendingHint{Jobs: 3, Known: func(id string) bool { return id == known }})
	if err != nil || !slices.Equal(local(got), ids(made)[1:]) {
		t.Fatalf("find with one on the job list: %v %v", local(got), err)
	}
	if got, err := c.FindSubmission(ctx, ce.NewSubmissionKey(), ce.PendingHint{Jobs: 2}); err != nil || len(got) != 0 {
		t.Fatalf("a key nobody used: %v %v", local(got), err)
	}
	// each job's description was read once however many submissions were looked for
	f.locked(func() {
		n := 0
		for _, r := range f.requests {
			if strings.Contains(r, "/diagnose/description") {
				n++
			}
		}
		if n != 5 {
			t.Errorf("%d description reads for 5 jobs", n)
		}
	})
}
