package htcondor

// The HTCondor backend against the FAKE schedd (fakeschedd_test.go) for a
// submission whose process died between the request and recording the
// answer: every proc's ad carries the submission key, the cluster id is
// told before the commit, and FindSubmission finds exactly those procs.

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
)

// fakeSubmitKeyed submits fakeSub's two procs with key, collecting the
// cluster ids told and whether the queue held any proc of them then.
func fakeSubmitKeyed(t *testing.T, f *fakeScheddServer, c *Client, key string, assigned *[]string) ([]ce.Result, error) {
	t.Helper()
	dir := t.TempDir()
	jobs := fakeSubmitFile(t, dir, map[string]string{"job.sub": fakeSub, "job.sh": "#!/bin/sh\n", "data.txt": "d", "inputs/a.txt": "a"})
	return c.Submit(fakeCtx(t), jobs, ce.SubmitOptions{BaseDir: dir, Key: key, Assigned: func(id string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, ad := range f.queue {
			if cl, _ := ad.Int("ClusterId"); id == strconv.FormatInt(cl, 10) {
				t.Errorf("cluster %s told after its procs were committed", id)
			}
		}
		*assigned = append(*assigned, id)
		return nil
	}})
}

func localIDsOf(jobs []ce.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.LocalID)
	}
	return out
}

// TestFakeScheddFindSubmission: the procs carry the key and their index;
// FindSubmission finds exactly a submission's procs, by cluster and key or
// by key alone, in the queue and in the history, and none of another.
func TestFakeScheddFindSubmission(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ctx := fakeCtx(t)
	mine, other := ce.NewSubmissionKey(), ce.NewSubmissionKey()
	var assigned, assignedOther []string
	if rs, err := fakeSubmitKeyed(t, f, c, mine, &assigned); err != nil || ce.AllFailed(rs) {
		t.Fatalf("submit: %v", err)
	}
	if _, err := fakeSubmitKeyed(t, f, c, other, &assignedOther); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(assigned, []string{"1"}) || !slices.Equal(assignedOther, []string{"2"}) {
		t.Fatalf("clusters told: %v %v", assigned, assignedOther)
	}
	for k, id := range []string{"1.0", "1.1"} {
		ad := f.job(id)
		key, _ := ad.Str(attrSubmission)
		idx, ok := ad.Int(attrSubmissionIndex)
		if key != mine || !ok || idx != int64(k) {
			t.Errorf("%s: %s = %q, %s = %d %v", id, attrSubmission, key, attrSubmissionIndex, idx, ok)
		}
	}
	for _, hint := range []ce.PendingHint{{Jobs: 2, Clusters: assigned}, {Jobs: 2}} {
		got, err := c.FindSubmission(ctx, mine, hint)
		if err != nil || !slices.Equal(localIDsOf(got), []string{"1.0", "1.1"}) {
			t.Fatalf("find %+v: %v %v", hint, localIDsOf(got), err)
		}
		if got[0].CE != c.Endpoint() || got[0].Flavour != ce.HTCondor || got[0].Stdout != "out.txt" || got[0].Name != "fakebatch" {
			t.Errorf("found job: %+v", got[0])
		}
	}
	if got, err := c.FindSubmission(ctx, other, ce.PendingHint{Clusters: assigned}); err != nil || len(got) != 0 {
		t.Errorf("another key in this cluster: %v %v", localIDsOf(got), err)
	}
	if got, err := c.FindSubmission(ctx, ce.NewSubmissionKey(), ce.PendingHint{}); err != nil || len(got) != 0 {
		t.Errorf("a key nobody used: %v %v", localIDsOf(got), err)
	}
	// a proc that ended and left the queue is found in the history
	f.mu.Lock()
	for i, ad := range f.queue {
		if fakeJobID(ad) == "1.1" {
			ad.SetInt("JobStatus", 4)
			f.history = append(f.history, ad)
			f.queue = slices.Delete(f.queue, i, i+1)
			break
		}
	}
	f.mu.Unlock()
	got, err := c.FindSubmission(ctx, mine, ce.PendingHint{Jobs: 2, Clusters: assigned})
	if err != nil || !slices.Equal(localIDsOf(got), []string{"1.0", "1.1"}) || got[1].State != ce.StateFinished {
		t.Fatalf("find with a proc in the history: %+v %v", got, err)
	}
	if _, err := c.FindSubmission(ctx, `x" || true || "`, ce.PendingHint{}); err == nil {
		t.Error("a key that is not one cesub makes went into a constraint")
	}
}

// TestFakeScheddDiedBeforeCommit: the cluster id was written ahead, the
// transaction never committed: nothing is found (the row is cleared).
func TestFakeScheddDiedBeforeCommit(t *testing.T) {
	f := newFakeSchedd(t)
	f.hangUp = fakeHangUpNotCommitted
	c := f.client(t)
	key := ce.NewSubmissionKey()
	var assigned []string
	if _, err := fakeSubmitKeyed(t, f, c, key, &assigned); err == nil {
		t.Fatal("the lost transaction succeeded")
	}
	if len(assigned) != 1 {
		t.Fatalf("clusters told: %v", assigned)
	}
	got, err := c.FindSubmission(fakeCtx(t), key, ce.PendingHint{Jobs: 2, Clusters: assigned})
	if err != nil || len(got) != 0 {
		t.Fatalf("find: %v %v", localIDsOf(got), err)
	}
}

// TestFakeScheddAssignedFails: a cluster id that cannot be written ahead
// abandons the transaction before any proc is sent.
func TestFakeScheddAssignedFails(t *testing.T) {
	f := newFakeSchedd(t)
	dir := t.TempDir()
	jobs := fakeSubmitFile(t, dir, map[string]string{"job.sub": fakeSub, "job.sh": "#!/bin/sh\n", "data.txt": "d", "inputs/a.txt": "a"})
	_, err := f.client(t).Submit(fakeCtx(t), jobs, ce.SubmitOptions{BaseDir: dir, Key: ce.NewSubmissionKey(),
		Assigned: func(string) error { return errors.New("job list is read-only") }})
	if err == nil || !strings.Contains(err.Error(), "job list is read-only") || !strings.Contains(err.Error(), "nothing was created") {
		t.Fatalf("submit: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) != 0 {
		t.Fatalf("%d procs committed", len(f.queue))
	}
}
