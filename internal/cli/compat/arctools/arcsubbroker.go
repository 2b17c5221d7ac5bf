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

// submitBrokered is arcsub with several CEs (or -b), as ARC 6 and 7 run
// it (jobs.Brokered.CEByCE): the CEs in the order given, the broker
// ranking each one's queues; the jobs a CE does not take go on to the
// next, with ARC's error line after each CE that left some; a CE that
// does not answer with its information stops arcsub (exit 1).
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
	left := 0
	res := br.CEByCE(ctx, batches, func(_ string, n int) {
		if left = n; n > 0 {
			fmt.Fprintln(s.f.IO.ErrOut, "ERROR: One or multiple job descriptions was not submitted.")
		}
	})
	s.keep(ctx, accepted, batches, delegated, o.idFile)
	s.explain(b, res)
	if res.NoInfo {
		fmt.Fprintln(s.f.IO.ErrOut, "ERROR: Job submission aborted because no resource returned any information")
		return 1
	}
	total := 0
	for _, b := range batches {
		total += len(b.Jobs)
	}
	if total > 1 {
		fmt.Fprintf(s.f.IO.Out, "\nJob submission summary:\n-----------------------\n%d of %d jobs were submitted\n", len(accepted), total)
	}
	if left > 0 {
		return 1
	}
	return 0
}

// explain says why jobs went where they did: the CEs without information
// as errors, the rest at -d INFO and DEBUG.
func (s *session) explain(b *broker.Broker, res jobs.BrokeredResult) {
	for i, j := range res.Jobs {
		switch {
		case errors.Is(j.Result.Err, jobs.ErrNoInfo):
			for _, d := range j.Dropped {
				if d.Queue == "" {
					s.errorf("%s: %s", d.CE, d.Reason)
				}
			}
			return
		case j.Result.Err != nil:
			s.f.Infof("job %d: not submitted (broker %s): %s", i+1, b.Name(), broker.Reasons(j.Dropped))
		default:
			s.f.Debugf("job %d: broker %s chose %s (queue %s); dropped: %s", i+1, b.Name(), j.CE, j.Queue, broker.Reasons(j.Dropped))
		}
	}
}
