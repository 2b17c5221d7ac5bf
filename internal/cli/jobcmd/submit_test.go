package jobcmd

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// The flags and arguments reach the options the run function gets.
func TestSubmitArguments(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		files []string
		ce    string
		err   bool
	}{
		{[]string{"-C", "emies://ce/arex", "a.xrsl", "b.xrsl"}, []string{"a.xrsl", "b.xrsl"}, "emies://ce/arex", false},
		{[]string{"-C", "ce", "-f", "a.xrsl", "b.sub"}, []string{"a.xrsl", "b.sub"}, "ce", false},
		{[]string{"a.xrsl"}, nil, "", true},   // no CE
		{[]string{"-C", "ce"}, nil, "", true}, // no description
	} {
		var got *SubmitOptions
		cmd := NewCmdSubmit(&cmdutil.Factory{}, func(o *SubmitOptions) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		if (err != nil) != tc.err {
			t.Errorf("%v: err %v", tc.args, err)
			continue
		}
		if err == nil && (!reflect.DeepEqual(got.Files, tc.files) || got.CE != tc.ce) {
			t.Errorf("%v: files %v ce %q", tc.args, got.Files, got.CE)
		}
	}
}

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
	rec := &recorder{ctx: ctx, store: store, jobs: []jobdesc.Job{{Name: "a"}, {Name: "b"}, {Name: "c"}}, done: map[string]bool{}}
	rs := []ce.Result{{Job: job("7.0")}, {Job: job("7.1")}, {Err: errors.New("refused")}}
	wait := ce.SubmitOptions{Created: rec.announced}.Announce(rs[:2])
	wait()
	if got, _ := store.List(ctx, jobstore.Filter{}); len(got) != 2 {
		t.Fatalf("announced: %d on record, want 2", len(got))
	}
	rs = append(rs, ce.Result{Job: job("8.0")})
	rec.jobs = append(rec.jobs, jobdesc.Job{Name: "d"})
	if lost, err := rec.record(rs); err != nil || lost != nil {
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
