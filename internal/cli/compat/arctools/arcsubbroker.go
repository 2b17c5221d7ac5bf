package arctools

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cesub/cesub/internal/broker"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/pkg/ce"
)

// submitBrokered is arcsub with several CEs (or -b): each job goes to ONE
// of them, the first the broker ranks that takes it (jobs.Brokered), as
// ARC's Submitter::BrokeredSubmit does.
func (s *session) submitBrokered(ctx context.Context, b *broker.Broker, addrs []ce.Address, batches []jobs.Batch, o subOptions) int {
	var mu sync.Mutex
	var accepted []ce.Job
	ces := make([]jobs.BrokerCE, len(addrs))
	delegated := false
	for i, addr := range addrs {
		ces[i].Label = o.ces[i]
		sub, err := s.submitter(ctx, addr, o.delegate)
		if err != nil {
			ces[i].Err = err
			continue
		}
		sub.Accepted = func(j ce.Job) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(s.f.IO.Out, "Job submitted with jobid: %s\n", j.ID)
			accepted = append(accepted, j)
		}
		sub.Failed = func(err error) { s.errorf("%v", err) }
		delegated = delegated || sub.Delegation.Mode != ""
		ces[i].Sub = sub
	}
	defer func() {
		for _, c := range ces {
			if c.Sub != nil {
				c.Sub.Store = nil // the session's, closed with it
				c.Sub.Close()
			}
		}
	}()
	br := &jobs.Brokered{Broker: b, CEs: ces,
		InfoContext: func(ctx context.Context) (context.Context, context.CancelFunc) { return s.f.Deadline(ctx, 3) }}
	res := br.Submit(ctx, batches)
	s.keep(ctx, accepted, batches, delegated, o.idFile)
	if res.NoInfo {
		for _, c := range ces {
			if c.Err != nil {
				s.f.Infof("%s: %v", c.Label, c.Err)
			}
		}
		fmt.Fprintln(s.f.IO.ErrOut, "ERROR: Job submission aborted because no resource returned any information")
		return 2
	}
	for i, j := range res.Jobs {
		if errors.Is(j.Result.Err, jobs.ErrNoTarget) {
			s.f.Infof("job %d: no computing element fits it (broker %s): %s", i+1, b.Name(), broker.Reasons(j.Dropped))
		} else if j.CE != "" {
			s.f.Debugf("job %d: broker %s chose %s (queue %s); dropped: %s", i+1, b.Name(), j.CE, j.Queue, broker.Reasons(j.Dropped))
		}
	}
	return s.summary(batches, len(accepted), res.Failed > 0)
}
