package jobs

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// dyingCE creates the jobs of a request on the fake CE and then loses the
// answer, as a process killed between the request and recording the
// answer does: the CE has the jobs, the submitter never hears of them.
type dyingCE struct {
	*cetest.Fake
	seen func(opts ce.SubmitOptions) // told what each request carried, before it is sent
}

func (d *dyingCE) Submit(ctx context.Context, jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Result, error) {
	if d.seen != nil {
		d.seen(opts)
	}
	opts.Created = nil // the answer never reaches the submitter
	if _, err := d.Fake.Submit(ctx, jobs, opts); err != nil {
		return nil, err
	}
	return nil, ce.MayExist("jobstest://h:7777", errors.New("connection reset by peer"))
}

// deadOwner is a process of this host that has ended.
func deadOwner(t *testing.T) jobstore.Owner {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	o := jobstore.Self()
	o.PID, o.Start = cmd.Process.Pid, 0
	return o
}

// orphan makes every pending row of the list look written by a process
// that died age ago.
func orphan(t *testing.T, st *jobstore.Store, age time.Duration) []jobstore.Pending {
	t.Helper()
	ctx := context.Background()
	rows, err := st.ListPending(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	dead := deadOwner(t)
	for i := range rows {
		rows[i].Owner, rows[i].Created = dead, time.Now().Add(-age)
		if err := st.AddPending(ctx, rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	return rows
}

func localIDs(t *testing.T, st *jobstore.Store) []string {
	t.Helper()
	jobs, err := st.List(context.Background(), jobstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.LocalID)
	}
	sort.Strings(ids)
	return ids
}

var fakeAddr = ce.Address{Flavour: "jobstest", Host: "h", Port: 7777}

// TestSubmitWritesAhead: the row (key, CE, job count, this process) is on
// the job list while the request is out, the request carries its key, and
// the recorded answer clears it.
func TestSubmitWritesAhead(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	var during []jobstore.Pending
	var keys []string
	b := &hookCE{Fake: fake, before: func(opts ce.SubmitOptions) {
		keys = append(keys, opts.Key)
		rows, _ := w.store.ListPending(ctx, "")
		during = append(during, rows...)
	}}
	s := w.submitter(t, fake)
	s.Backend, s.BatchSize = b, 2
	res, err := s.Submit(ctx, []Batch{{Jobs: someJobs("a", "b", "c")}})
	if err != nil || res.OK != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(during) != 2 || len(keys) != 2 || during[0].Key != keys[0] || during[1].Key != keys[1] || keys[0] == keys[1] ||
		during[0].Jobs != 2 || during[1].Jobs != 1 || during[0].CE != "jobstest://h:7777" || during[0].Flavour != "jobstest" ||
		during[0].Owner != jobstore.Self() {
		t.Fatalf("pending while the requests were out: %+v (keys %v)", during, keys)
	}
	if rows, _ := w.store.ListPending(ctx, ""); len(rows) != 0 {
		t.Fatalf("pending after the answers were recorded: %+v", rows)
	}
	if ids := localIDs(t, w.store); len(ids) != 3 {
		t.Fatalf("on record: %v", ids)
	}
}

// hookCE is the fake CE with a look at each request before it is sent.
type hookCE struct {
	*cetest.Fake
	before func(opts ce.SubmitOptions)
}

func (h *hookCE) Submit(ctx context.Context, jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Result, error) {
	h.before(opts)
	return h.Fake.Submit(ctx, jobs, opts)
}

// TestRecoverDiedSubmission: a submission whose answer never reached the
// job list leaves its pending row; the next command records exactly its
// jobs, once; a second recovery adds nothing; the jobs of other
// submissions to the same CE are not added.
func TestRecoverDiedSubmission(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	s := w.submitter(t, fake)
	s.Backend, s.Delegation = &dyingCE{Fake: fake}, Delegation{Mode: ce.DelegateToken}
	res, _ := s.Submit(ctx, []Batch{{Jobs: someJobs("a", "b", "c")}})
	if res.OK != 0 {
		t.Fatalf("the lost answer was recorded: %+v", res)
	}
	if ids := localIDs(t, w.store); len(ids) != 0 {
		t.Fatalf("on record before recovery: %v", ids)
	}
	rows := orphan(t, w.store, time.Minute)
	if len(rows) != 1 || rows[0].Jobs != 3 {
		t.Fatalf("pending after the lost answer: %+v", rows)
	}
	// another submission's jobs on the same CE, not on this job list
	if _, err := fake.Submit(ctx, someJobs("other1", "other2"), ce.SubmitOptions{Key: ce.NewSubmissionKey()}); err != nil {
		t.Fatal(err)
	}
	// and one recorded normally
	s.Backend = fake
	if res, err := s.Submit(ctx, []Batch{{Jobs: someJobs("d")}}); err != nil || res.OK != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	r := &Recovery{Store: w.store}
	got := r.CE(ctx, fakeAddr, fake)
	if len(got) != 1 || got[0].Added != 3 || !got[0].Cleared || len(got[0].Found) != 3 || got[0].Key != rows[0].Key {
		t.Fatalf("recovery: %+v", got)
	}
	if note := RecoveredNote(got); !strings.Contains(note, "recorded 3 jobs of 1 interrupted submissions") {
		t.Errorf("note %q", note)
	}
	want := []string{"job1", "job2", "job3", "job6"} // job4, job5: the other submission
	if ids := localIDs(t, w.store); !slices.Equal(ids, want) {
		t.Fatalf("on record: %v, want %v", ids, want)
	}
	listed, _ := w.store.List(ctx, jobstore.Filter{IDs: []string{fake.JobID("job2")}, WithDescription: true})
	if len(listed) != 1 || listed[0].Name != "b" || !strings.Contains(listed[0].Description, `"stdout"`) || listed[0].DelegationID != "deleg-token" {
		t.Errorf("recovered job: %+v", listed)
	}
	if again := r.CE(ctx, fakeAddr, fake); again != nil {
		t.Errorf("the same command looked twice: %+v", again)
	}
	r2 := &Recovery{Store: w.store} // the command after
	if got := r2.CE(ctx, fakeAddr, fake); len(got) != 0 {
		t.Errorf("second recovery: %+v", got)
	}
	if ids := localIDs(t, w.store); !slices.Equal(ids, want) {
		t.Fatalf("after a second recovery: %v", ids)
	}
}

// TestRecoverNothingCreated: a pending submission the CE has no job of is
// cleared (once it is older than PendingSettle); a younger one waits.
func TestRecoverNothingCreated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	dead := deadOwner(t)
	for key, age := range map[string]time.Duration{"aaaaaaaaaaaa": time.Minute, "bbbbbbbbbbbb": 0} {
		if err := w.store.AddPending(ctx, jobstore.Pending{Key: key, CE: "jobstest://h:7777", Flavour: "jobstest", Jobs: 5,
			Owner: dead, Created: time.Now().Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	got := (&Recovery{Store: w.store}).CE(ctx, fakeAddr, fake)
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	for _, g := range got {
		switch g.Key {
		case "aaaaaaaaaaaa":
			if !g.Cleared || g.Added != 0 || len(g.Found) != 0 {
				t.Errorf("old empty submission: %+v", g)
			}
		case "bbbbbbbbbbbb":
			if g.Cleared || g.Left == "" {
				t.Errorf("young empty submission: %+v", g)
			}
		}
	}
	rows, _ := w.store.ListPending(ctx, "")
	if len(rows) != 1 || rows[0].Key != "bbbbbbbbbbbb" {
		t.Fatalf("left pending: %+v", rows)
	}
}

// TestRecoverLeavesLiveOwner: a row a live process of this host owns is
// not looked up, however old, and stays.
func TestRecoverLeavesLiveOwner(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	if _, err := fake.Submit(ctx, someJobs("x"), ce.SubmitOptions{Key: "cccccccccccc"}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.AddPending(ctx, jobstore.Pending{Key: "cccccccccccc", CE: "jobstest://h:7777", Flavour: "jobstest", Jobs: 1,
		Owner: jobstore.Self(), Created: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got := (&Recovery{Store: w.store, NoWait: true}).CE(ctx, fakeAddr, fake)
	if len(got) != 1 || got[0].Cleared || got[0].Added != 0 || !strings.Contains(got[0].Left, "still submitting") {
		t.Fatalf("%+v", got)
	}
	if slices.ContainsFunc(fake.Calls(), func(c string) bool { return strings.HasPrefix(c, "find") }) {
		t.Errorf("the CE was asked: %v", fake.Calls())
	}
	if rows, _ := w.store.ListPending(ctx, ""); len(rows) != 1 {
		t.Fatalf("pending: %+v", rows)
	}
	if ids := localIDs(t, w.store); len(ids) != 0 {
		t.Fatalf("recorded: %v", ids)
	}
}

// TestRecoverOtherHost: a row of another host waits PendingRemote, unless
// sync --pending (NoWait) asks.
func TestRecoverOtherHost(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	if _, err := fake.Submit(ctx, someJobs("x", "y"), ce.SubmitOptions{Key: "dddddddddddd"}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.AddPending(ctx, jobstore.Pending{Key: "dddddddddddd", CE: "jobstest://h:7777", Flavour: "jobstest", Jobs: 2,
		Owner: jobstore.Owner{Host: "elsewhere.invalid", PID: 1}, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := (&Recovery{Store: w.store}).CE(ctx, fakeAddr, fake); len(got) != 1 || got[0].Cleared || got[0].Left == "" {
		t.Fatalf("young row of another host: %+v", got)
	}
	got := (&Recovery{Store: w.store, NoWait: true}).CE(ctx, fakeAddr, fake)
	if len(got) != 1 || !got[0].Cleared || got[0].Added != 2 {
		t.Fatalf("sync --pending: %+v", got)
	}
}

// TestRecoverLookupFails: a CE that cannot tell keeps the row.
func TestRecoverLookupFails(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	fake.FindFunc = func(context.Context, string, ce.PendingHint) ([]ce.Job, error) { return nil, errors.New("CE down") }
	if err := w.store.AddPending(ctx, jobstore.Pending{Key: "eeeeeeeeeeee", CE: "jobstest://h:7777", Flavour: "jobstest", Jobs: 2,
		Owner: deadOwner(t), Created: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got := (&Recovery{Store: w.store}).CE(ctx, fakeAddr, fake)
	if len(got) != 1 || got[0].Cleared || !strings.Contains(got[0].Err, "CE down") {
		t.Fatalf("%+v", got)
	}
	if rows, _ := w.store.ListPending(ctx, ""); len(rows) != 1 {
		t.Fatalf("pending: %+v", rows)
	}
}

// TestSubmitRefusedDropsPending: a request the CE refused outright (no
// job can exist) leaves no pending row; one whose answer was lost keeps it.
func TestSubmitRefusedDropsPending(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	fake.SubmitFunc = func(context.Context, []jobdesc.Job, ce.SubmitOptions) ([]ce.Result, error) {
		return nil, errors.New("400 bad description")
	}
	s := w.submitter(t, fake)
	if _, err := s.Submit(ctx, []Batch{{Jobs: someJobs("a")}}); err != nil {
		t.Fatal(err)
	}
	if rows, _ := w.store.ListPending(ctx, ""); len(rows) != 0 {
		t.Fatalf("pending after a refusal: %+v", rows)
	}
	fake.SubmitFunc = func(context.Context, []jobdesc.Job, ce.SubmitOptions) ([]ce.Result, error) {
		return nil, ce.MayExist("jobstest://h:7777", errors.New("EOF"))
	}
	if _, err := s.Submit(ctx, []Batch{{Jobs: someJobs("a")}}); err != nil {
		t.Fatal(err)
	}
	if rows, _ := w.store.ListPending(ctx, ""); len(rows) != 1 {
		t.Fatalf("pending after a lost answer: %+v", rows)
	}
}
