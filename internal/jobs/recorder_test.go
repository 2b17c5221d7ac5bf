package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// Jobs are on record as soon as a backend announces them (before uploads)
// and once each however often they are announced; the ones it did not
// announce are recorded after Submit; a job the CE did not create is not.
func TestRecorder(t *testing.T) {
	ctx := context.Background()
	store, err := jobstore.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	job := func(id string) *ce.Job {
		return &ce.Job{ID: "condor://ce:9619/" + id, LocalID: id, CE: "condor://ce:9619", Flavour: ce.HTCondor, State: ce.StateAccepted, Submitted: &now}
	}
	rec := &Recorder{Ctx: ctx, Store: store, Jobs: []jobdesc.Job{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
	rs := []ce.Result{{Job: job("7.0")}, {Job: job("7.1")}, {Err: errors.New("refused")}}
	wait := ce.SubmitOptions{Created: rec.Announced}.Announce(rs[:2])
	wait()
	if got, _ := store.List(ctx, jobstore.Filter{}); len(got) != 2 {
		t.Fatalf("announced: %d on record, want 2", len(got))
	}
	rs = append(rs, ce.Result{Job: job("8.0")})
	rec.Jobs = append(rec.Jobs, jobdesc.Job{Name: "d"})
	if lost, err := rec.Record(rs); err != nil || lost != nil {
		t.Fatalf("record: %v %v", lost, err)
	}
	got, err := store.List(ctx, jobstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range got {
		ids = append(ids, j.LocalID)
	}
	sort.Strings(ids)
	if strings.Join(ids, " ") != "7.0 7.1 8.0" {
		t.Fatalf("on record: %v", ids)
	}
}
