package jobcmd

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cesub/cesub/internal/broker"
	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/jobs"
)

// BrokerJSON is where submit --broker sent a job, and why not elsewhere.
type BrokerJSON struct {
	Name    string           `json:"name"`
	Queue   string           `json:"queue,omitempty"`
	Dropped []broker.Dropped `json:"dropped,omitempty"` // by the requirements filter or the broker
	Refused []jobs.Attempt   `json:"refused,omitempty"` // CEs that refused the job before one took it
}

// submitBrokered sends each job to ONE of the targets, the one the broker
// ranks first that takes it (jobs.Brokered).
func submitBrokered(ctx context.Context, opts *SubmitOptions, targets []target) error {
	b, err := broker.New(opts.Broker, nil)
	if err != nil {
		return cmdutil.UsageError(fmt.Errorf("--broker: %w", err))
	}
	if opts.DryRun {
		return cmdutil.UsageError(errors.New("--dry-run shows one CE's requests: it does not go with --broker"))
	}
	bs, err := readBatches(opts)
	if err != nil {
		return err
	}
	p := newSubmitPrinter(opts, 1)
	defer p.done()
	n := 0
	for _, b := range bs {
		n += len(b.Jobs)
	}
	p.startBar(n)
	ces := brokerCEs(ctx, opts, targets, p)
	defer func() {
		for _, c := range ces {
			if c.Sub != nil {
				c.Sub.Close()
			}
		}
	}()
	warnOnce(opts, ces, bs)
	br := &jobs.Brokered{Broker: b, CEs: ces, Retry: func(job, from string, err error) {
		opts.Report.Warnf("job %s: %s did not take it (%v): trying the next CE", job, from, err)
	}}
	res := br.Submit(ctx, bs)
	return p.print(brokeredJSON(opts, b.Name(), res))
}

// brokerCEs sets up a Submitter per target, --parallel at once; one that
// cannot be set up is told and left out.
func brokerCEs(ctx context.Context, opts *SubmitOptions, targets []target, p *submitPrinter) []jobs.BrokerCE {
	out := make([]jobs.BrokerCE, len(targets))
	sem := make(chan struct{}, max(1, opts.Parallel))
	var wg sync.WaitGroup
	for i, tg := range targets {
		out[i].Label = tg.label()
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i].Sub, out[i].Err = newSubmitter(ctx, opts, tg, p)
			if out[i].Sub != nil {
				out[i].Sub.Total = nil // one job a request: the bar counts the jobs
			}
		}()
	}
	wg.Wait()
	for i, c := range out {
		if c.Err != nil {
			opts.Report.PrintError(fmt.Errorf("%s: %w", targets[i].label(), c.Err))
		}
	}
	return out
}

// warnOnce prints what the descriptions lose on any of the CEs, each once.
func warnOnce(opts *SubmitOptions, ces []jobs.BrokerCE, bs []jobs.Batch) {
	seen := map[string]bool{}
	for _, c := range ces {
		if c.Sub == nil {
			continue
		}
		for _, w := range c.Sub.Warnings(bs) {
			if !seen[w] {
				seen[w] = true
				opts.Report.Warnf("%s", w)
			}
		}
	}
}

// brokeredJSON is the outcome as submit prints it; a job no CE took is an
// error naming each CE's reason, and --debug tells where each job went.
func brokeredJSON(opts *SubmitOptions, name string, res jobs.BrokeredResult) submitted {
	out := submitted{ok: res.OK, failed: res.Failed, authFailed: res.AuthFailed, badInput: res.BadInput}
	for i, bj := range res.Jobs {
		jj := JobJSON{ID: bj.Result.ID, Name: bj.Name, CE: bj.CE, Broker: &BrokerJSON{Name: name, Queue: bj.Queue, Dropped: bj.Dropped, Refused: bj.Refused}}
		if j := bj.Result.Job; j != nil {
			jj.ID, jj.Name, jj.CE, jj.State, jj.SpecificState = j.ID, j.Name, j.CE, string(j.State), j.RawState
		}
		label := fmt.Sprintf("job %d", i+1)
		if jj.Name != "" {
			label += " (" + jj.Name + ")"
		}
		if err := bj.Result.Err; err != nil {
			jj.Error = err.Error()
			if errors.Is(err, jobs.ErrNoTarget) {
				opts.Report.PrintError(fmt.Errorf("%s: %w: %s", label, err, broker.Reasons(bj.Dropped)))
			}
		}
		if bj.CE != "" {
			opts.Debugf("broker %s: %s to %s (queue %s); dropped: %s", name, label, bj.CE, bj.Queue, broker.Reasons(bj.Dropped))
		}
		out.jobs = append(out.jobs, jj)
	}
	return out
}
