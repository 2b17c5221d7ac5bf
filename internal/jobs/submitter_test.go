package jobs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/token"
)

// TestWhileReading: setup runs while the descriptions are read, and a
// description error wins over a setup error whichever comes first.
func TestWhileReading(t *testing.T) {
	readErr, setupErr := errors.New("bad description"), errors.New("no credentials")
	// setup fails at once, the read fails later: the read's error is returned
	_, err := WhileReading(func() (int, error) { time.Sleep(50 * time.Millisecond); return 0, readErr }, func() error { return setupErr })
	if !errors.Is(err, readErr) {
		t.Errorf("setup and read failed: %v, want the description's error", err)
	}
	v, err := WhileReading(func() (int, error) { return 7, nil }, func() error { return setupErr })
	if !errors.Is(err, setupErr) || v != 7 {
		t.Errorf("read ok, setup failed: %v %v", v, err)
	}
	if v, err = WhileReading(func() (int, error) { return 7, nil }, func() error { return nil }); err != nil || v != 7 {
		t.Errorf("both ok: %v %v", v, err)
	}
	// the read waits for setup to have started: done one after the other,
	// this would never end
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := WhileReading(func() (int, error) { <-started; return 1, nil }, func() error { close(started); return nil })
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("setup did not run while the descriptions were read")
	}
}

// TestChooseDelegation: --delegate against what each kind of flavour stores.
func TestChooseDelegation(t *testing.T) {
	tok := &token.Static{}
	rest := ce.RegInfo{Label: "ARC CE (REST)", Delegations: []string{ce.DelegateX509, ce.DelegateToken}}
	emies := ce.RegInfo{Label: "ARC CE (EMI-ES)", Delegations: []string{ce.DelegateX509}}
	condor := ce.RegInfo{Label: "HTCondor-CE"}
	for _, tc := range []struct {
		asked string
		src   token.Source
		info  ce.RegInfo
		want  Delegation
		err   bool
	}{
		{"auto", nil, rest, Delegation{Mode: ce.DelegateX509}, false},
		{"auto", tok, rest, Delegation{}, false},
		{"token", tok, rest, Delegation{Mode: ce.DelegateToken}, false},
		{"token", tok, emies, Delegation{}, true},
		{"x509", tok, emies, Delegation{Mode: ce.DelegateX509}, false},
		{"x509", tok, condor, Delegation{ProxyWithJobs: true}, false},
		{"auto", nil, condor, Delegation{}, false},
		{"token", tok, condor, Delegation{}, true},
		{"voms", tok, rest, Delegation{}, true},
	} {
		got, err := ChooseDelegation(tc.asked, tc.src, tc.info)
		var ie *InputError
		if (err != nil) != tc.err || got != tc.want || err != nil && !errors.As(err, &ie) {
			t.Errorf("%s to %s (token %v): %+v %v", tc.asked, tc.info.Label, tc.src != nil, got, err)
		}
	}
}

// submitter is a Submitter to a fake CE of w's flavour.
func (w *world) submitter(t *testing.T, fake ce.Backend) *Submitter {
	t.Helper()
	return &Submitter{Addr: ce.Address{Flavour: "jobstest", Host: "h", Port: 7777}, Backend: fake, Store: w.store,
		Delegations: &Delegations{Store: w.store, Now: time.Now}}
}

func someJobs(names ...string) []jobdesc.Job {
	var out []jobdesc.Job
	for _, n := range names {
		out = append(out, jobdesc.Job{Name: n, Executable: jobdesc.Executable{Path: "/bin/echo", Args: []string{n}}})
	}
	return out
}

// TestSubmitterSubmit: batches are cut to BatchSize, every job is on the
// job list with the delegation it was given and reported once as
// accepted, the total is told before the first request.
func TestSubmitterSubmit(t *testing.T) {
	w := newWorld(t)
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	s := w.submitter(t, fake)
	s.BatchSize, s.Delegation = 2, Delegation{Mode: ce.DelegateToken}
	var mu sync.Mutex
	accepted := map[string]int{}
	total := 0
	s.Accepted = func(j ce.Job) { mu.Lock(); accepted[j.ID]++; mu.Unlock() }
	s.Total = func(n int) { total = n }
	res, err := s.Submit(context.Background(), []Batch{{Jobs: someJobs("a", "b", "c"), Dir: t.TempDir()}})
	if err != nil || res.OK != 3 || res.Failed != 0 || len(res.Results) != 3 {
		t.Fatalf("submit: %+v %v", res, err)
	}
	if got := strings.Join(fake.Calls(), ","); got != "delegate 1,submit 2,submit 1" {
		t.Errorf("calls %s, want the delegation then two requests", got)
	}
	if total != 3 {
		t.Errorf("total %d", total)
	}
	listed, err := w.store.List(context.Background(), jobstore.Filter{})
	if err != nil || len(listed) != 3 {
		t.Fatalf("job list: %d %v", len(listed), err)
	}
	for _, j := range listed {
		if accepted[j.ID] != 1 || j.DelegationID != "deleg-token" {
			t.Errorf("%s: accepted %d times, delegation %q", j.ID, accepted[j.ID], j.DelegationID)
		}
	}
}

// TestSubmitterFailedRequest: a request the CE refuses fails its jobs,
// reported once, and nothing is recorded; the next batch is still sent.
func TestSubmitterFailedRequest(t *testing.T) {
	w := newWorld(t)
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	refused := errors.New("refused")
	n := 0
	fake.SubmitFunc = func(ctx context.Context, jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Result, error) {
		n++
		return nil, refused
	}
	s := w.submitter(t, fake)
	var failed []error
	s.Failed = func(err error) { failed = append(failed, err) }
	res, err := s.Submit(context.Background(), []Batch{{Jobs: someJobs("a")}, {Jobs: someJobs("b", "c")}})
	if err != nil || res.OK != 0 || res.Failed != 3 || len(failed) != 2 || n != 2 {
		t.Fatalf("%+v %v, %d failures told, %d requests", res, err, len(failed), n)
	}
	if listed, _ := w.store.List(context.Background(), jobstore.Filter{}); len(listed) != 0 {
		t.Errorf("%d jobs recorded", len(listed))
	}
}

// TestSubmitterPlan: the dry run asks the flavour for its delegation and
// submission requests and sends nothing.
func TestSubmitterPlan(t *testing.T) {
	w := newWorld(t)
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	s := w.submitter(t, fake)
	s.Delegation = Delegation{Mode: ce.DelegateToken}
	reqs, err := s.Plan(context.Background(), []Batch{{Jobs: someJobs("a", "b")}})
	if err != nil || len(reqs) != 3 || reqs[0].Method != "DELEGATE" || !strings.Contains(reqs[1].Note, `delegation "<delegation-id>"`) {
		t.Fatalf("plan: %+v %v", reqs, err)
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("a dry run called the CE: %v", calls)
	}
	s.Delegation = Delegation{}
	if reqs, err = s.Plan(context.Background(), []Batch{{Jobs: someJobs("a")}}); err != nil || len(reqs) != 1 || reqs[0].Method != "SUBMIT" {
		t.Errorf("plan without delegation: %+v %v", reqs, err)
	}
}

// translatingFake is a fake CE that translates descriptions (ce.Translator)
// and connects ahead (ce.Warmer).
type translatingFake struct {
	*cetest.Fake
	released int
}

func (f *translatingFake) TranslationWarnings(jobs []jobdesc.Job) []jobdesc.Warning {
	return []jobdesc.Warning{{File: "j.xrsl", Message: "warning: gridtime is dropped"}}
}

func (f *translatingFake) Warm(context.Context) func() { return func() { f.released++ } }

// TestSubmitterWarningsAndWarm: each warning is said once however many
// jobs carry it, the flavour's translation warnings too; Close releases
// what Warm made, once.
func TestSubmitterWarningsAndWarm(t *testing.T) {
	w := newWorld(t)
	fake := &translatingFake{Fake: cetest.NewFake("jobstest://h:7777", "jobstest")}
	s := w.submitter(t, fake.Fake)
	s.Backend = fake
	js := someJobs("a", "b")
	for i := range js {
		js[i].Warnings = []jobdesc.Warning{{File: "j.xrsl", Line: 1, Col: 2, Message: "cputime is ignored"}}
	}
	got := s.Warnings([]Batch{{Jobs: js}, {Jobs: someJobs("c")}})
	if len(got) != 2 || !strings.Contains(got[0], "cputime is ignored") || !strings.Contains(got[1], "gridtime is dropped") {
		t.Errorf("warnings %q", got)
	}
	s.Warm(context.Background())
	s.Store = nil // the world closes it
	s.Close()
	s.Close()
	if fake.released != 1 {
		t.Errorf("released %d times", fake.released)
	}
}

// TestSubmitterStopped: a stopped submission sends no further request
// and counts the jobs not sent as failed.
func TestSubmitterStopped(t *testing.T) {
	w := newWorld(t)
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	s := w.submitter(t, fake)
	ctx, cancel := context.WithCancel(context.Background())
	fake.SubmitFunc = func(context.Context, []jobdesc.Job, ce.SubmitOptions) ([]ce.Result, error) {
		cancel() // stopped while the first request is answered
		return nil, errors.New("cut")
	}
	res, err := s.Submit(ctx, []Batch{{Jobs: someJobs("a")}, {Jobs: someJobs("b", "c")}})
	if !errors.Is(err, context.Canceled) || res.Failed != 3 {
		t.Errorf("%+v %v", res, err)
	}
	if got := strings.Join(fake.Calls(), ","); got != "submit 1" {
		t.Errorf("calls %s", got)
	}
}
