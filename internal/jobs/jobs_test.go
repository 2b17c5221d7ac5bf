package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// world is a job list and fake CEs registered as flavour "jobstest".
type world struct {
	store *jobstore.Store
	fakes map[string]*cetest.Fake // by endpoint
	mu    sync.Mutex
	hang  map[string]bool // endpoints whose backend waits for the deadline
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := jobstore.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cetest.Register(ce.Backends, "jobstest", "jobstest", cetest.NewFake("", "jobstest"))
	return &world{store: st, fakes: map[string]*cetest.Fake{}, hang: map[string]bool{}}
}

func (w *world) runner() *Runner {
	return &Runner{Store: w.store,
		Backend: func(ctx context.Context, endpoint, flavour string) (ce.Backend, ce.Address, error) {
			w.mu.Lock()
			f, ok := w.fakes[endpoint]
			hang := w.hang[endpoint]
			w.mu.Unlock()
			if hang {
				<-ctx.Done()
				return nil, ce.Address{}, ctx.Err()
			}
			if !ok {
				return nil, ce.Address{}, errors.New("no such CE")
			}
			return f, ce.Address{Flavour: ce.Flavour(flavour), Host: "h", Port: 7777}, nil
		},
		Deadline: func(ctx context.Context, scale int) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, time.Duration(scale)*200*time.Millisecond)
		}}
}

// submit makes n jobs on a fake CE at endpoint and records them.
func (w *world) submit(t *testing.T, endpoint string, names ...string) []ce.Result {
	t.Helper()
	w.mu.Lock()
	f, ok := w.fakes[endpoint]
	if !ok {
		f = cetest.NewFake(endpoint, "jobstest")
		w.fakes[endpoint] = f
	}
	w.mu.Unlock()
	var descs []jobdesc.Job
	for _, n := range names {
		descs = append(descs, jobdesc.Job{Name: n, Executable: jobdesc.Executable{Path: "/bin/true"}})
	}
	ctx := context.Background()
	rec := &Recorder{Ctx: ctx, Store: w.store, Jobs: descs}
	rs, err := f.Submit(ctx, descs, ce.SubmitOptions{Created: rec.Announced})
	if err != nil {
		t.Fatal(err)
	}
	if lost, err := rec.Record(rs); err != nil || lost != nil {
		t.Fatal(lost, err)
	}
	return rs
}

func TestSelectionResolve(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.submit(t, "jobstest://ce1:7777", "alpha", "beta")
	b := w.submit(t, "jobstest://ce2:7777", "alpha")
	idFile := filepath.Join(t.TempDir(), "ids")
	_ = os.WriteFile(idFile, []byte("# mine\n"+a[1].ID+"\n\n"), 0o644)
	for _, tc := range []struct {
		name string
		sel  Selection
		want []string
		err  string
	}{
		{"all", Selection{All: true}, []string{a[0].ID, a[1].ID, b[0].ID}, ""},
		{"one CE", Selection{All: true, CEs: []string{"jobstest://ce2"}}, []string{b[0].ID}, ""},
		{"two CEs", Selection{All: true, CEs: []string{"jobstest://ce2", "jobstest://ce1"}}, []string{a[0].ID, a[1].ID, b[0].ID}, ""},
		{"by name, every job of it", Selection{IDs: []string{"alpha"}}, []string{a[0].ID, b[0].ID}, ""},
		{"full id", Selection{IDs: []string{a[1].ID}}, []string{a[1].ID}, ""},
		{"a bare id two CEs have", Selection{IDs: []string{"job1"}}, nil, "is the id of 2 jobs"},
		{"id file", Selection{IDFile: idFile}, []string{a[1].ID}, ""},
		{"state", Selection{All: true, States: []string{"queuing"}}, []string{a[0].ID, a[1].ID, b[0].ID}, ""},
		{"bad state", Selection{All: true, States: []string{"done"}}, nil, "not a state"},
		{"nothing", Selection{}, nil, "give job ids"},
		{"unknown", Selection{IDs: []string{"nosuch"}}, nil, "not in the job list"},
		{"a job id URL not listed", Selection{IDs: []string{"jobstest://ce9:7777/jobs/job5"}}, []string{"jobstest://ce9:7777/jobs/job5"}, ""},
		{"empty id file", Selection{IDFile: os.DevNull}, nil, "no job references"},
		{"bad CE", Selection{All: true, CEs: []string{"http://x"}}, nil, "plain http"},
	} {
		got, err := tc.sel.Resolve(ctx, w.store)
		if tc.err != "" {
			var ie *InputError
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &ie) {
				t.Errorf("%s: %v, want an input error with %q", tc.name, err, tc.err)
			}
			continue
		}
		var ids []string
		for _, j := range got {
			ids = append(ids, j.ID)
		}
		if err != nil || strings.Join(ids, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: %v %v, want %v", tc.name, ids, err, tc.want)
		}
	}
	if d := (Selection{All: true, CEs: []string{"x"}, States: []string{"a", "b"}}).Describe(); d != "-a -C x --state a,b" {
		t.Errorf("Describe: %q", d)
	}
}

// TestRunnerStatusAndAct: every selected job gets a row (a CE that lost a
// job, one that cannot be reached and one that hangs each give their jobs
// an error), states are recorded, a hung CE costs only its own deadline,
// and actions record their outcome (clean removes, --forget drops lost
// jobs, hold needs a flavour that holds).
func TestRunnerStatusAndAct(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.submit(t, "jobstest://ce1:7777", "a1", "a2")
	w.submit(t, "jobstest://ce2:7777", "b1")
	w.submit(t, "jobstest://ce3:7777", "c1")
	w.fakes["jobstest://ce1:7777"].SetState("job1", ce.StateFinished, new(int))
	_, _ = w.fakes["jobstest://ce1:7777"].Clean(ctx, []string{"job2"}) // lost on the CE
	delete(w.fakes, "jobstest://ce2:7777")                             // unreachable
	w.hang["jobstest://ce3:7777"] = true
	all, _ := Selection{All: true}.Resolve(ctx, w.store)
	start := time.Now()
	rows, ok, failed, _ := w.runner().Status(ctx, all, true)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a hanging CE held the others: %s", took)
	}
	if len(rows) != 4 || ok != 1 || failed != 3 {
		t.Fatalf("rows %d ok %d failed %d", len(rows), ok, failed)
	}
	for _, r := range rows {
		switch r.Record.Name {
		case "a1":
			if r.Err != nil || r.Job.State != ce.StateFinished || r.Job.Details == nil {
				t.Errorf("a1: %+v %v", r.Job, r.Err)
			}
		case "a2":
			if !errors.Is(r.Err, ce.ErrNotFound) {
				t.Errorf("a2: %v", r.Err)
			}
		default:
			if r.Err == nil {
				t.Errorf("%s: no error", r.Record.Name)
			}
		}
	}
	if got, _ := w.store.List(ctx, jobstore.Filter{States: []string{"FINISHED"}}); len(got) != 1 || got[0].ID != a[0].ID {
		t.Errorf("the state was not recorded: %v", got)
	}
	ce1, _ := Selection{All: true, CEs: []string{"jobstest://ce1"}}.Resolve(ctx, w.store)
	res, ok, failed, _ := w.runner().Act(ctx, "clean", ce1, true)
	if ok != 2 || failed != 0 || !res[1].Forgotten || res[0].State != string(ce.StateDeleted) {
		t.Errorf("clean --forget: %+v ok %d failed %d", res, ok, failed)
	}
	if left, _ := w.store.List(ctx, jobstore.Filter{CE: "jobstest://ce1:7777"}); len(left) != 0 {
		t.Errorf("clean left %d jobs on the list", len(left))
	}
	w.fakes["jobstest://ce2:7777"] = cetest.NewFake("jobstest://ce2:7777", "jobstest")
	ce2, _ := Selection{All: true, CEs: []string{"jobstest://ce2"}}.Resolve(ctx, w.store)
	for _, action := range []string{"kill", "resume", "hold", "release", "clean"} {
		res, _, failed, _ := w.runner().Act(ctx, action, ce2, false)
		if failed != 1 || !errors.Is(res[0].Err, ce.ErrNotFound) { // the new fake CE never had it
			t.Errorf("%s on a CE without the job: %+v", action, res)
		}
	}
	if _, _, failed, _ := w.runner().Act(ctx, "frobnicate", ce2, false); failed != 1 {
		t.Error("an unknown action did not fail")
	}
	w.submit(t, "jobstest://ce4:7777", "b2")
	ce2, _ = Selection{IDs: []string{"b2"}}.Resolve(ctx, w.store)
	if res, ok, _, _ := w.runner().Act(ctx, "hold", ce2, false); ok != 1 || res[0].State != string(ce.StateHeld) {
		t.Errorf("hold: %+v", res)
	}
	if got, _ := w.store.List(ctx, jobstore.Filter{States: []string{"HELD"}}); len(got) != 1 {
		t.Errorf("hold not recorded: %v", got)
	}
}

func TestDelegationsWithoutProxy(t *testing.T) {
	w := newWorld(t)
	fake := cetest.NewFake("jobstest://ce1:7777", "jobstest")
	d := &Delegations{Store: w.store, Now: time.Now}
	addr := ce.Address{Flavour: "jobstest", Host: "ce1", Port: 7777}
	ctx := context.Background()
	if id, err := d.Ensure(ctx, addr, fake, "none", nil); id != "" || err != nil {
		t.Errorf("none: %q %v", id, err)
	}
	if id, err := d.Ensure(ctx, addr, fake, ce.DelegateToken, nil); id != "deleg-token" || err != nil {
		t.Errorf("token: %q %v", id, err)
	}
	d.Proxy = func() (*x509proxy.Credential, error) { return nil, errors.New("no proxy at /tmp/x509up_u0") }
	if _, err := d.Ensure(ctx, addr, fake, ce.DelegateX509, nil); err == nil || !strings.Contains(err.Error(), "X.509 delegation: no proxy") {
		t.Errorf("x509 without a proxy: %v", err)
	}
	if _, ok := d.Reusable(ctx, addr, nil); ok {
		t.Error("a delegation without a proxy is reusable")
	}
}

// TestCleanTwiceFromTwoProcesses: two processes sharing the list selected
// the same job; the second clean finds it gone from the CE and from the
// list (the first cleaned it) and counts it as done, not failed.
func TestCleanTwiceFromTwoProcesses(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.submit(t, "jobstest://ce1:7777", "a1")
	sel, _ := Selection{All: true}.Resolve(ctx, w.store)
	if _, ok, failed, _ := w.runner().Act(ctx, "clean", sel, false); ok != 1 || failed != 0 {
		t.Fatalf("first clean: ok %d failed %d", ok, failed)
	}
	res, ok, failed, _ := w.runner().Act(ctx, "clean", sel, false)
	if ok != 1 || failed != 0 || res[0].State != string(ce.StateDeleted) {
		t.Fatalf("second clean of the same selection: %+v ok %d failed %d", res, ok, failed)
	}
}
