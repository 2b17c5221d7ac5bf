package emies

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// Submit marks each activity with its submission's key, and FindSubmission
// finds exactly the activities of one submission by it (none of another,
// none already on the job list), with their states.
func TestFakeEMIESFindSubmission(t *testing.T) {
	f, c := newFakeEMIES(t)
	ctx := context.Background()
	jobs := func(n int) []jobdesc.Job {
		out := make([]jobdesc.Job, n)
		for i := range out {
			out[i] = jobdesc.Job{Name: "j", Executable: jobdesc.Executable{Path: "/bin/true"}}
		}
		return out
	}
	mine, other := ce.NewSubmissionKey(), ce.NewSubmissionKey()
	made, err := c.Submit(ctx, jobs(12), ce.SubmitOptions{Key: mine}) // two CreateActivity calls
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, jobs(2), ce.SubmitOptions{Key: other}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range made {
		want = append(want, r.Job.LocalID)
	}
	f.locked(func() {
		if d := f.acts[want[11]].description; !strings.Contains(d, "cesub-submission:"+mine+"/11") {
			t.Errorf("the 12th activity's description: %q", d)
		}
	})
	got, err := c.FindSubmission(ctx, mine, ce.PendingHint{Jobs: 12})
	var ids []string
	for _, j := range got {
		ids = append(ids, j.LocalID)
		if j.CE != c.endpoint || j.Flavour != ce.EMIES || j.State == "" || j.State == ce.StateUnknown {
			t.Errorf("found job: %+v", j)
		}
	}
	slices.Sort(want)
	if err != nil || !slices.Equal(ids, want) {
		t.Fatalf("find: %v %v, want %v", ids, err, want)
	}
	got, err = c.FindSubmission(ctx, mine, ce.PendingHint{Jobs: 12, Known: func(id string) bool { return id != want[0] }})
	if err != nil || len(got) != 1 || got[0].LocalID != want[0] {
		t.Fatalf("find with all but one on the job list: %+v %v", got, err)
	}
	// activities created before the submission was written ahead are not looked at
	if got, err := c.FindSubmission(ctx, mine, ce.PendingHint{Since: time.Now().Add(3 * time.Hour)}); err != nil || len(got) != 0 {
		t.Fatalf("find since later: %+v %v", got, err)
	}
	if got, err := c.FindSubmission(ctx, ce.NewSubmissionKey(), ce.PendingHint{}); err != nil || len(got) != 0 {
		t.Fatalf("a key nobody used: %+v %v", got, err)
	}
}
