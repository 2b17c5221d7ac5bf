package jobcmd

import (
	"context"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/token"
)

// brokerFakes are two fake CEs, "busy" (40 waiting jobs) and "idle" (2),
// each with 10 slots, and submit options giving both with -C.
func brokerFakes(t *testing.T) (*SubmitOptions, *testReporter, map[string]*cetest.Fake) {
	t.Helper()
	fakes := map[string]*cetest.Fake{}
	for host, waiting := range map[string]int{"busy": 40, "idle": 2} {
		f := cetest.NewFake("jobcmdtest://"+host+":7777", "jobcmdtest")
		f.InfoFunc = func(context.Context) (*ce.Info, error) {
			return &ce.Info{GLUE2: true, HealthState: "ok", Queues: []ce.Queue{{Name: "main", WaitingJobs: waiting, TotalSlots: 10,
				Published: ce.CountWaiting | ce.CountTotalSlots | ce.CountFreeSlots}}}, nil
		}
		fakes[host] = f
	}
	opts, _, rep := fakeSubmitOptions(t, fakes["busy"])
	opts.Backend = func(_ context.Context, a ce.Address, _ token.Source, _ *jobstore.Store) (ce.Backend, error) {
		return fakes[a.Host], nil
	}
	opts.CEs = []string{"jobcmdtest://busy", "jobcmdtest://idle"}
	opts.Debugf = func(string, ...any) {}
	return opts, rep, fakes
}

// TestSubmitBroker: with --broker each job goes to one CE (FastestQueue:
// the shorter queue); without it every CE gets every job, as before.
func TestSubmitBroker(t *testing.T) {
	opts, rep, fakes := brokerFakes(t)
	opts.Inline = []string{`&(executable="/bin/echo")(jobname="one")`}
	if err := submitRun(context.Background(), opts); err != nil {
		t.Fatalf("without --broker: %v %v", err, rep.errors)
	}
	if len(fakes["busy"].Jobs()) != 1 || len(fakes["idle"].Jobs()) != 1 {
		t.Fatalf("without --broker: busy %d, idle %d jobs", len(fakes["busy"].Jobs()), len(fakes["idle"].Jobs()))
	}
	opts.Broker = "fastestqueue"
	opts.Count = 3
	if err := submitRun(context.Background(), opts); err != nil {
		t.Fatalf("--broker: %v %v", err, rep.errors)
	}
	if busy, idle := len(fakes["busy"].Jobs()), len(fakes["idle"].Jobs()); busy != 1 || idle != 4 {
		t.Errorf("--broker FastestQueue, 3 jobs: busy got %d, idle %d (want 0 and 3 more)", busy-1, idle-1)
	}
}

// TestSubmitBrokerNoFit: a job no CE fits is sent nowhere; the error
// names each CE's reason and the exit is 1.
func TestSubmitBrokerNoFit(t *testing.T) {
	opts, rep, fakes := brokerFakes(t)
	opts.Broker = "Random"
	opts.Inline = []string{`&(executable="/bin/echo")(runtimeenvironment="APPS/NONE-1.0")`}
	err := submitRun(context.Background(), opts)
	if cmdutil.CodeOf(err) != cmdutil.ExitError {
		t.Errorf("exit %d (%v), want 1", cmdutil.CodeOf(err), err)
	}
	msg := strings.Join(rep.errors, "\n")
	if !strings.Contains(msg, "no computing element fits the job") || strings.Count(msg, "publishes none") != 2 {
		t.Errorf("errors: %s", msg)
	}
	for host, f := range fakes {
		if len(f.Jobs()) != 0 {
			t.Errorf("%s got %d jobs", host, len(f.Jobs()))
		}
	}
	opts.Broker = "Benchmark"
	if err := submitRun(context.Background(), opts); cmdutil.CodeOf(err) != cmdutil.ExitUsage {
		t.Errorf("unknown broker: exit %d (%v)", cmdutil.CodeOf(err), err)
	}
}
