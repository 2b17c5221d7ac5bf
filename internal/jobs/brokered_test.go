package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/broker"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// brokerCE is a fake CE at host whose one queue has w waiting jobs (of
// 10 slots, none free) and the runtime environments rtes.
func (w *world) brokerCE(t *testing.T, host string, waiting int, rtes ...string) (BrokerCE, *cetest.Fake) {
	t.Helper()
	fake := cetest.NewFake("jobstest://"+host+":7777", "jobstest")
	fake.InfoFunc = func(context.Context) (*ce.Info, error) {
		return &ce.Info{GLUE2: true, HealthState: "ok", RuntimeEnvironments: rtes, Queues: []ce.Queue{{Name: "q", WaitingJobs: waiting,
			TotalSlots: 10, Published: ce.CountWaiting | ce.CountTotalSlots | ce.CountFreeSlots}}}, nil
	}
	sub := &Submitter{Addr: ce.Address{Flavour: "jobstest", Host: host, Port: 7777}, Backend: fake, Store: w.store,
		Delegations: &Delegations{Store: w.store, Now: time.Now}}
	return BrokerCE{Label: host, Sub: sub}, fake
}

// TestBrokeredOneCEEach: each job goes to one CE, the one FastestQueue
// ranks first; a CE that refuses passes the job to the next; a job no CE
// fits is sent nowhere, with each CE's reason.
func TestBrokeredOneCEEach(t *testing.T) {
	w := newWorld(t)
	busy, busyFake := w.brokerCE(t, "busy", 50, "ENV/PROXY")
	idle, idleFake := w.brokerCE(t, "idle", 1)
	fq, _ := broker.New(broker.FastestQueue, nil)
	var retried []string
	b := &Brokered{Broker: fq, CEs: []BrokerCE{busy, idle, {Label: "down", Err: errors.New("no token")}},
		Retry: func(job, from string, err error) { retried = append(retried, job+"@"+from) }}
	proxyJob := someJobs("needs-proxy")[0]
	proxyJob.Resources.RuntimeEnvironments = []jobdesc.Software{{Name: "ENV/PROXY"}}
	noneJob := someJobs("needs-atlas")[0]
	noneJob.Resources.RuntimeEnvironments = []jobdesc.Software{{Name: "APPS/ATLAS"}}
	res := b.Submit(context.Background(), []Batch{{Jobs: append(someJobs("plain"), proxyJob, noneJob)}})
	if res.OK != 2 || res.Failed != 1 || len(res.Jobs) != 3 {
		t.Fatalf("%+v", res)
	}
	if got := res.Jobs[0]; got.CE != "idle" || got.Result.Job == nil || len(busyFake.Jobs()) != 1 || len(idleFake.Jobs()) != 1 {
		t.Errorf("plain went to %q (busy has %d, idle %d)", got.CE, len(busyFake.Jobs()), len(idleFake.Jobs()))
	}
	if got := res.Jobs[1]; got.CE != "busy" || len(got.Dropped) != 2 || got.Dropped[1].CE != "idle" || !strings.Contains(got.Dropped[1].Reason, "publishes none") {
		t.Errorf("needs-proxy: %+v", got)
	}
	if got := res.Jobs[2]; !errors.Is(got.Result.Err, ErrNoTarget) || len(got.Dropped) != 3 || got.CE != "" {
		t.Errorf("needs-atlas: %+v", got)
	}
	if listed, _ := w.store.List(context.Background(), jobstore.Filter{}); len(listed) != 2 {
		t.Errorf("%d jobs on the job list, want 2", len(listed))
	}

	// the first-ranked CE refuses: the job goes to the next, and says so
	idleFake.SubmitFunc = func(context.Context, []jobdesc.Job, ce.SubmitOptions) ([]ce.Result, error) {
		return nil, errors.New("queue full")
	}
	res = b.Submit(context.Background(), []Batch{{Jobs: someJobs("second")}})
	if got := res.Jobs[0]; res.OK != 1 || got.CE != "busy" || len(got.Refused) != 1 || got.Refused[0].CE != "idle" ||
		strings.Join(retried, ",") != "second@idle" {
		t.Errorf("refused by idle: %+v, retried %v", got, retried)
	}

	// an answer lost: the job may be on that CE, so it is not sent again
	idleFake.SubmitFunc = func(context.Context, []jobdesc.Job, ce.SubmitOptions) ([]ce.Result, error) {
		return nil, &ce.MaybeCreatedError{CE: "idle", Err: errors.New("connection reset")}
	}
	before := len(busyFake.Jobs())
	res = b.Submit(context.Background(), []Batch{{Jobs: someJobs("third")}})
	if res.Failed != 1 || len(busyFake.Jobs()) != before {
		t.Errorf("maybe created on idle, then sent to busy too: %+v", res.Jobs[0])
	}
}

// TestBrokeredCEByCE: arcsub's way: the CEs in the order given whatever
// their queues, the jobs the first does not take going on to the next;
// a CE without information stops it, and a later CE is not asked once
// no job is left.
func TestBrokeredCEByCE(t *testing.T) {
	w := newWorld(t)
	busy, busyFake := w.brokerCE(t, "busy", 50)
	proxy, proxyFake := w.brokerCE(t, "proxy", 0, "ENV/PROXY")
	rb, _ := broker.New(broker.Random, nil)
	b := &Brokered{Broker: rb, CEs: []BrokerCE{busy, proxy, {Label: "down", Err: errors.New("unreachable")}}}
	proxyJob := someJobs("needs-proxy")[0]
	proxyJob.Resources.RuntimeEnvironments = []jobdesc.Software{{Name: "ENV/PROXY"}}
	var after []string
	res := b.CEByCE(context.Background(), []Batch{{Jobs: append(someJobs("a", "b"), proxyJob)}}, func(ce string, left int) {
		after = append(after, ce+":"+string(rune('0'+left)))
	})
	if res.OK != 3 || res.NoInfo || len(busyFake.Jobs()) != 2 || len(proxyFake.Jobs()) != 1 || res.Jobs[2].CE != "proxy" ||
		strings.Join(after, ",") != "busy:1,proxy:0" {
		t.Fatalf("%+v, after each CE %v", res, after)
	}
	// the down CE is reached with a job no one fits: stop there
	none := someJobs("needs-atlas")[0]
	none.Resources.RuntimeEnvironments = []jobdesc.Software{{Name: "APPS/ATLAS"}}
	res = b.CEByCE(context.Background(), []Batch{{Jobs: []jobdesc.Job{none}}}, nil)
	if !res.NoInfo || !errors.Is(res.Jobs[0].Result.Err, ErrNoInfo) || res.Failed != 1 {
		t.Errorf("%+v", res)
	}
}
