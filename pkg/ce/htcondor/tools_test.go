package htcondor

import (
	"testing"
)

// TestFakeScheddTools: what the drop-in tools ask — raw job ads by
// constraint, job actions by id and by constraint (condor_rm -all sends
// the constraint true), with a result per job.
func TestFakeScheddTools(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ctx := fakeCtx(t)
	ids := append(fakeSubmit(t, f, c), fakeSubmit(t, f, c)...)
	ads, err := c.QueryAds(ctx, "ProcId == 0", []string{"ClusterId", "ProcId"})
	if err != nil || len(ads) != 2 {
		t.Fatalf("QueryAds: %d ads, %v", len(ads), err)
	}
	res, err := c.Act(ctx, ActHold, ids[:1], "", "held by a test")
	if err != nil || len(res) != 1 || res[0].ID != ids[0] || res[0].Code != 1 {
		t.Fatalf("hold %s: %+v %v", ids[0], res, err)
	}
	if res, _ := c.Act(ctx, ActHold, ids[:1], "", "again"); len(res) != 1 || res[0].Code != 4 {
		t.Errorf("hold again: %+v", res)
	}
	if res, _ := c.Act(ctx, ActRelease, []string{"99.0"}, "", ""); len(res) != 1 || res[0].Code != 2 {
		t.Errorf("release of a job not there: %+v", res)
	}
	res, err = c.Act(ctx, ActRemove, nil, "true", "all")
	if err != nil || len(res) != len(ids) {
		t.Fatalf("remove all: %+v %v", res, err)
	}
	for i, r := range res {
		if r.Code != 1 || r.ID != ids[i] {
			t.Errorf("remove all: %+v, want %s done", r, ids[i])
		}
	}
	if ads, err := c.QueryAds(ctx, "", nil); err != nil || len(ads) != 0 {
		t.Errorf("after removing all: %d ads %v", len(ads), err)
	}
	// ActBulk: the schedd's count of job ads (0 now, and so condor_rm's "There are no jobs in the queue")
	if b, err := c.ActBulk(ctx, ActRemove, "ClusterId >= 0", "all"); err != nil || len(b.Jobs) != 0 || b.Done || b.TotalJobAds != 0 {
		t.Errorf("remove all on an empty queue: %+v %v", b, err)
	}
	more := fakeSubmit(t, f, c)
	if b, err := c.ActBulk(ctx, ActHold, "ClusterId < 0", ""); err != nil || len(b.Jobs) != 0 || b.Done || b.TotalJobAds != len(more) {
		t.Errorf("hold of no job with %d in the queue: %+v %v", len(more), b, err)
	}
	if b, err := c.ActBulk(ctx, ActHold, "true", ""); err != nil || !b.Done || len(b.Jobs) != len(more) {
		t.Errorf("hold of all %d jobs: %+v %v", len(more), b, err)
	}
	if _, err := c.Act(ctx, "bogus", ids, "", ""); err == nil {
		t.Error("an unknown action was sent")
	}
}

func TestProcLess(t *testing.T) {
	for _, c := range [][2]string{{"9.0", "10.0"}, {"10.2", "10.10"}, {"10", "10.0"}, {"9.9", "10"}} {
		if !procLess(c[0], c[1]) || procLess(c[1], c[0]) {
			t.Errorf("%s < %s", c[0], c[1])
		}
	}
}
