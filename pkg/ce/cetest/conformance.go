package cetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// Harness is what Conformance needs of a flavour under test.
type Harness struct {
	Backend ce.Backend
	Flavour ce.Flavour
	// Jobs are submitted in one call (two short jobs are enough).
	Jobs []jobdesc.Job
	// UnknownID is a job id in the flavour's syntax that the CE does not have.
	UnknownID string
	// Registry checks job ids and parses them back (default ce.Backends).
	Registry *ce.Registry
	// CleanWithin bounds how long a killed job may take to become cleanable.
	CleanWithin time.Duration
}

// Conformance checks the contract every ce.Backend keeps, whatever its
// protocol: one call submits all jobs and answers per job, in order; job
// ids are safe and in the flavour's syntax and its JobID/ParseJobID go
// both ways; status answers per job in the order asked, with a job the CE
// does not have as an error wrapping ce.ErrNotFound (never a call error,
// never dropped); an empty list asks nothing; kill and clean answer per
// job; ping admits the credential; info names the endpoint; a cancelled
// context ends a call at once; a flavour that implements
// ce.SubmissionFinder finds exactly a submission's jobs by its key.
func Conformance(t *testing.T, h Harness) {
	t.Helper()
	reg := h.Registry
	if reg == nil {
		reg = ce.Backends
	}
	if h.CleanWithin == 0 {
		h.CleanWithin = 2 * time.Minute
	}
	info, registered := reg.Info(h.Flavour)
	if !registered {
		t.Fatalf("flavour %q is not registered", h.Flavour)
	}
	ctx := context.Background()
	checkCalls(ctx, t, h)
	key := ce.NewSubmissionKey()
	ids := checkSubmit(ctx, t, h, reg, info, key)
	checkFind(ctx, t, h, key, ids)
	checkStatus(ctx, t, h, ids)
	checkKillClean(ctx, t, h, ids)
}

// checkCalls: ping admits, info names the endpoint, an empty list asks
// nothing, a cancelled context ends a call at once.
func checkCalls(ctx context.Context, t *testing.T, h Harness) {
	b := h.Backend
	t.Run("ping", func(t *testing.T) {
		p, err := b.Ping(ctx)
		if err != nil || p == nil || !p.Reachable || !p.Admitted {
			t.Fatalf("ping: %+v %v", p, err)
		}
	})
	t.Run("info", func(t *testing.T) {
		in, err := b.Info(ctx)
		if err != nil || in == nil || in.Endpoint == "" {
			t.Fatalf("info: %+v %v", in, err)
		}
	})
	t.Run("empty lists ask nothing", func(t *testing.T) {
		rs, err := b.Status(ctx, nil)
		if err != nil || len(rs) != 0 {
			t.Fatalf("Status(nil): %v %v", rs, err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		if _, err := b.Status(cctx, []string{h.UnknownID}); err == nil {
			t.Errorf("Status with a cancelled context succeeded")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a cancelled call took %s", d)
		}
	})
}

// checkSubmit submits h.Jobs in one call: one result per job, in order,
// with safe ids in the flavour's syntax that JobID and ParseJobID map both
// ways. It returns the local ids.
func checkSubmit(ctx context.Context, t *testing.T, h Harness, reg *ce.Registry, info ce.RegInfo, key string) []string {
	t.Helper()
	b := h.Backend
	rs, err := b.Submit(ctx, h.Jobs, ce.SubmitOptions{Key: key})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if len(rs) != len(h.Jobs) {
		t.Fatalf("submit of %d jobs answered %d results", len(h.Jobs), len(rs))
	}
	var ids []string
	seen := map[string]bool{}
	for i, r := range rs {
		if r.Err != nil || r.Job == nil {
			t.Fatalf("job %d not submitted: %v", i, r.Err)
		}
		j := r.Job
		if j.Flavour != h.Flavour || seen[j.LocalID] {
			t.Errorf("job %d: flavour %q (want %q), id %q seen before: %v", i, j.Flavour, h.Flavour, j.LocalID, seen[j.LocalID])
		}
		seen[j.LocalID] = true
		if err := reg.CheckLocalID(h.Flavour, j.LocalID); err != nil {
			t.Errorf("job %d: %v", i, err)
		}
		if j.ID != b.JobID(j.LocalID) || r.ID != j.ID {
			t.Errorf("job %d: id %q, result id %q, JobID(local) %q", i, j.ID, r.ID, b.JobID(j.LocalID))
		}
		if info.ParseJobID != nil {
			if _, local, ok := info.ParseJobID(j.ID); !ok || local != j.LocalID {
				t.Errorf("job %d: ParseJobID(%q) = %q %v, want %q", i, j.ID, local, ok, j.LocalID)
			}
		}
		ids = append(ids, j.LocalID)
	}
	return ids
}

// checkFind: a flavour that finds submissions by key (ce.SubmissionFinder)
// finds exactly the jobs the submission with key made, and none for a key
// no submission had.
func checkFind(ctx context.Context, t *testing.T, h Harness, key string, ids []string) {
	f, ok := h.Backend.(ce.SubmissionFinder)
	if !ok {
		return
	}
	t.Run("find a submission by its key", func(t *testing.T) {
		got, err := f.FindSubmission(ctx, key, ce.PendingHint{Jobs: len(ids), Since: time.Now().Add(-time.Minute)})
		var found []string
		for _, j := range got {
			found = append(found, j.LocalID)
		}
		slices.Sort(found)
		want := slices.Sorted(slices.Values(ids))
		if err != nil || !slices.Equal(found, want) {
			t.Fatalf("FindSubmission: %v %v, want %v", found, err, want)
		}
		if got, err := f.FindSubmission(ctx, ce.NewSubmissionKey(), ce.PendingHint{Jobs: len(ids)}); err != nil || len(got) != 0 {
			t.Fatalf("FindSubmission of a key nobody used: %+v %v", got, err)
		}
	})
}

// checkStatus: status answers per job in the order asked, a job the CE
// does not have as an error wrapping ce.ErrNotFound.
func checkStatus(ctx context.Context, t *testing.T, h Harness, ids []string) {
	b := h.Backend
	t.Run("status per job in order", func(t *testing.T) {
		ask := append(append([]string(nil), ids...), h.UnknownID)
		rs, err := b.Status(ctx, ask)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		if len(rs) != len(ask) {
			t.Fatalf("status of %d jobs answered %d", len(ask), len(rs))
		}
		for i, r := range rs[:len(ids)] {
			if r.Err != nil || r.Job == nil || r.Job.LocalID != ids[i] || r.ID != b.JobID(ids[i]) {
				t.Errorf("status %d: %+v %v", i, r.Job, r.Err)
				continue
			}
			if !slices.Contains(ce.States, r.Job.State) || r.Job.RawState == "" {
				t.Errorf("status %d: state %q (CE's %q)", i, r.Job.State, r.Job.RawState)
			}
		}
		last := rs[len(rs)-1]
		if last.Job != nil || !errors.Is(last.Err, ce.ErrNotFound) || last.ID != b.JobID(h.UnknownID) {
			t.Errorf("a job the CE does not have: %+v %v (want an error wrapping ce.ErrNotFound)", last.Job, last.Err)
		}
	})
}

// checkKillClean: kill and clean answer per job; killed jobs become
// cleanable within h.CleanWithin.
func checkKillClean(ctx context.Context, t *testing.T, h Harness, ids []string) {
	b := h.Backend
	t.Run("kill and clean per job", func(t *testing.T) {
		rs, err := b.Kill(ctx, ids)
		if err != nil || len(rs) != len(ids) {
			t.Fatalf("kill: %v %v", rs, err)
		}
		for i, r := range rs {
			if r.Err != nil && !errors.Is(r.Err, ce.ErrNotFound) { // a job may have ended already
				t.Errorf("kill %s: %v", ids[i], r.Err)
			}
		}
		left := ids
		for end := time.Now().Add(h.CleanWithin); len(left) > 0; {
			rs, err := b.Clean(ctx, left)
			if err != nil || len(rs) != len(left) {
				t.Fatalf("clean: %v %v", rs, err)
			}
			var again []string
			for i, r := range rs {
				if r.Err != nil && !errors.Is(r.Err, ce.ErrNotFound) {
					again = append(again, left[i])
				}
			}
			left = again
			if len(left) > 0 && time.Now().After(end) {
				t.Fatalf("jobs %v not cleanable within %s: %v", left, h.CleanWithin, rs)
			}
			if len(left) > 0 {
				time.Sleep(2 * time.Second) // a killed job is cleanable once the CE has stopped it
			}
		}
	})
}
