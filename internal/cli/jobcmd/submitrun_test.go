package jobcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/endpoints"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/token"
)

// testReporter collects what submit tells the user.
type testReporter struct{ warnings, errors []string }

func (r *testReporter) Warnf(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}
func (r *testReporter) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *testReporter) PrintError(err error)                      { r.errors = append(r.errors, err.Error()) }
func (r *testReporter) Hint(error)                                {}
func (r *testReporter) JSON() bool                                { return false }
func (r *testReporter) PrintJSON(any) error                       { return nil }
func (r *testReporter) NewBar(string, int) *cmdutil.Bar           { return nil }
func (r *testReporter) NewProgress(string, int) *cmdutil.Progress { return nil }

// fakeSubmitOptions submits to fake, registered as flavour jobcmdtest,
// with a job list in a temporary folder; no Factory is involved.
func fakeSubmitOptions(t *testing.T, fake *cetest.Fake) (*SubmitOptions, *bytes.Buffer, *testReporter) {
	t.Helper()
	cetest.Register(ce.Backends, "jobcmdtest", "jobcmdtest", fake)
	var out bytes.Buffer
	rep := &testReporter{}
	list := filepath.Join(t.TempDir(), "jobs.db")
	opts := &SubmitOptions{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &out}, Report: rep, Output: func() string { return "" },
		Tokens:       func() (*cmdutil.Tokens, error) { return nil, nil },
		EndpointFile: func() (*endpoints.File, error) { return nil, nil },
		ProxyFile:    func() (string, error) { return "", errors.New("no proxy") },
		JobList:      func(ctx context.Context) (*jobstore.Store, error) { return jobstore.Open(ctx, list) },
		Backend: func(context.Context, ce.Address, token.Source, *jobstore.Store) (ce.Backend, error) {
			return fake, nil
		},
		Delegations: func(st *jobstore.Store) *jobs.Delegations { return &jobs.Delegations{Store: st} },
		CEs:         []string{"jobcmdtest://ce.example"}, Count: 1, BatchSize: 100, Delegate: "none", Parallel: 1}
	return opts, &out, rep
}

// TestSubmitRunWithoutFactory: submit runs on what its options give it
// (the narrow dependencies): the job is sent, on the job list, printed.
func TestSubmitRunWithoutFactory(t *testing.T) {
	fake := cetest.NewFake("jobcmdtest://ce.example:7777", "jobcmdtest")
	opts, out, rep := fakeSubmitOptions(t, fake)
	opts.Inline = []string{`&(executable="/bin/echo")(arguments="hi")`}
	if err := submitRun(context.Background(), opts); err != nil {
		t.Fatalf("submit: %v (%v)", err, rep.errors)
	}
	if got := strings.Join(fake.Calls(), ","); got != "submit 1" {
		t.Errorf("calls %s", got)
	}
	if !strings.HasPrefix(out.String(), "jobcmdtest://ce.example:7777/jobs/job1\n") {
		t.Errorf("printed %q", out.String())
	}
	opts.DryRun = true
	out.Reset()
	if err := submitRun(context.Background(), opts); err != nil || !strings.Contains(out.String(), "SUBMIT jobcmdtest://ce.example:7777/jobs") {
		t.Errorf("dry run: %v %q", err, out.String())
	}
	if got := strings.Join(fake.Calls(), ","); got != "submit 1" {
		t.Errorf("the dry run called the CE: %s", got)
	}
}

// TestSubmitDescriptionErrorWins: when both the descriptions and the
// setup (here the job list) fail, the description's error is the one
// reported, whichever finished first; nothing is sent.
func TestSubmitDescriptionErrorWins(t *testing.T) {
	fake := cetest.NewFake("jobcmdtest://ce.example:7777", "jobcmdtest")
	opts, _, _ := fakeSubmitOptions(t, fake)
	bad := filepath.Join(t.TempDir(), "bad.xrsl")
	if err := os.WriteFile(bad, []byte(`&(executable=`), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Files = []string{bad}
	listErr := errors.New("job list locked")
	opts.JobList = func(context.Context) (*jobstore.Store, error) { return nil, listErr }
	err := submitRun(context.Background(), opts)
	if err == nil || errors.Is(err, listErr) || !strings.Contains(err.Error(), "bad.xrsl") || cmdutil.CodeOf(err) != cmdutil.ExitUsage {
		t.Errorf("got %v (exit %d), want the description's error (exit 2)", err, cmdutil.CodeOf(err))
	}
	opts.Files = nil
	opts.Inline = []string{`&(executable="/bin/true")`}
	if err := submitRun(context.Background(), opts); !errors.Is(err, listErr) {
		t.Errorf("good description, job list failing: %v", err)
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("sent: %v", calls)
	}
}

// TestSyncWithoutFactory: sync runs on what its options give it: the jobs
// the CE lists are added to the job list once, a second sync adds none.
func TestSyncWithoutFactory(t *testing.T) {
	fake := cetest.NewFake("jobcmdtest://ce.example:7777", "jobcmdtest")
	sub, _, _ := fakeSubmitOptions(t, fake)
	if _, err := fake.Submit(context.Background(), []jobdesc.Job{{Name: "a"}, {Name: "b"}}, ce.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep := &testReporter{}
	opts := &SyncOptions{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &out}, Report: rep, CEs: []string{"jobcmdtest://ce.example"},
		Access: ceAccess{JobList: sub.JobList, Tokens: sub.Tokens, Backend: sub.Backend, Warnf: rep.Warnf,
			Deadline: func(ctx context.Context, _ int) (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }}}
	if err := syncRun(context.Background(), opts); err != nil || !strings.Contains(out.String(), ": 2 jobs, 2 new in ") {
		t.Fatalf("sync: %v %q %v", err, out.String(), rep.errors)
	}
	out.Reset()
	if err := syncRun(context.Background(), opts); err != nil || !strings.Contains(out.String(), ": 2 jobs, 0 new in ") {
		t.Errorf("second sync: %v %q", err, out.String())
	}
	// status and kill work on the same narrow dependencies
	deps := jobDeps{IO: opts.IO, Report: rep, Access: opts.Access, Now: time.Now, Infof: rep.Warnf}
	out.Reset()
	if err := statusRun(context.Background(), &StatusOptions{jobDeps: deps, Sel: Selection{All: true}}); err != nil ||
		strings.Count(out.String(), "fake:QUEUING") != 2 {
		t.Errorf("status: %v %q", err, out.String())
	}
	out.Reset()
	if err := actionRun(context.Background(), &ActionOptions{jobDeps: deps, Action: "kill", Sel: Selection{IDs: []string{"job1"}}}); err != nil ||
		!strings.Contains(out.String(), "/jobs/job1: killing") {
		t.Errorf("kill: %v %q", err, out.String())
	}
}

// TestPingEndpointFileAddresses: ping (without -C) works on the endpoint
// file's parsed addresses as they are, never written back to text and
// parsed again (which would drop this one's path: the flavour has none),
// and skips the endpoints marked skip; no Factory is involved.
func TestPingEndpointFileAddresses(t *testing.T) {
	fake := cetest.NewFake("jobcmdtest://ce.example:7777", "jobcmdtest")
	sub, _, _ := fakeSubmitOptions(t, fake)
	addr := ce.Address{Flavour: "jobcmdtest", Host: "ce.example", Port: 7777, Path: "/as-given"}
	file := &endpoints.File{Path: "eps.yaml", Endpoints: []endpoints.Endpoint{{Name: "a", Address: addr},
		{Name: "b", Skip: true, Address: ce.Address{Flavour: "jobcmdtest", Host: "skipped", Port: 7777}}}}
	var mu sync.Mutex
	var got []ce.Address
	var out bytes.Buffer
	rep := &testReporter{}
	opts := &PingOptions{ceDeps: ceDeps{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &out}, Report: rep,
		EndpointFile: func() (*endpoints.File, error) { return file, nil },
		Access: ceAccess{JobList: sub.JobList, Tokens: sub.Tokens, Warnf: rep.Warnf,
			Backend: func(_ context.Context, a ce.Address, _ token.Source, _ *jobstore.Store) (ce.Backend, error) {
				mu.Lock()
				got = append(got, a)
				mu.Unlock()
				return fake, nil
			},
			Deadline: func(ctx context.Context, _ int) (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }}}}
	if err := pingRun(context.Background(), opts); err != nil {
		t.Fatalf("ping: %v %v\n%s", err, rep.errors, out.String())
	}
	if len(got) != 1 || got[0] != addr {
		t.Errorf("backends made for %+v, want only %+v", got, addr)
	}
}
