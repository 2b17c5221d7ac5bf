package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cesub/cesub/internal/broker"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// BrokerCE is one CE a brokered submission may use: its Submitter, or
// why it could not be set up (then it is dropped for every job).
type BrokerCE struct {
	Label string
	Sub   *Submitter
	Err   error
}

// Brokered sends each job to ONE of several CEs, as arcsub does: the
// CEs' information is read first, the broker ranks the queues that fit
// each job (broker.Session), and the job goes to the first; a CE that
// refuses it passes it to the next (ARC's Submitter tries every ranked
// target). A job whose request may have been created on a CE although
// its answer was lost is not sent elsewhere (it would run twice): the
// pending row stays for the next command to resolve.
type Brokered struct {
	Broker *broker.Broker
	CEs    []BrokerCE
	// InfoContext bounds the information request to one CE (nil: ctx).
	InfoContext func(ctx context.Context) (context.Context, context.CancelFunc)
	// Retry is told that a CE refused a job that is now offered to the
	// next candidate (may be nil).
	Retry func(job string, from string, err error)
}

// BrokeredJob is what became of one job.
type BrokeredJob struct {
	Name    string // the job's name in its description
	Result  ce.Result
	CE      string           // the CE it went to (as given), "" if none took it
	Queue   string           // the queue chosen there
	Dropped []broker.Dropped // the queues the filter and the broker left out for it
	Refused []Attempt        // the CEs that refused it, in the order tried
}

// Attempt is a CE that refused a job.
type Attempt struct {
	CE    string `json:"ce"`
	Error string `json:"error"`
}

// BrokeredResult is a brokered submission's outcome, a BrokeredJob per
// job in the order of the descriptions.
type BrokeredResult struct {
	Jobs       []BrokeredJob
	OK, Failed int
	AuthFailed bool
	BadInput   bool
	NoInfo     bool // no CE answered with its information: nothing was sent
}

// ErrNoTarget is a job that no CE fits; ErrNoInfo one left when a CE
// that had to be asked did not answer with its information (CEByCE).
var (
	ErrNoTarget = errors.New("no computing element fits the job")
	ErrNoInfo   = errors.New("job submission aborted: no information from the computing element")
)

// Submit reads the CEs' information and sends each job of batches to
// the CE the broker chooses.
func (b *Brokered) Submit(ctx context.Context, batches []Batch) BrokeredResult {
	infos := b.infos(ctx)
	s := b.Broker.NewSession(infos)
	out := BrokeredResult{NoInfo: true}
	for _, in := range infos {
		if in.Err == nil && in.Info != nil {
			out.NoInfo = false
		}
	}
	for _, batch := range batches {
		for _, j := range batch.Jobs {
			if ctx.Err() != nil {
				out.add(BrokeredJob{Name: j.Name, Result: ce.Result{Err: ctx.Err()}})
				continue
			}
			out.add(b.one(ctx, s, j, batch.Dir))
		}
	}
	return out
}

// infos asks every CE set up for its information, in parallel.
func (b *Brokered) infos(ctx context.Context) []broker.CE {
	out := make([]broker.CE, len(b.CEs))
	var wg sync.WaitGroup
	for i, c := range b.CEs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = b.infoOf(ctx, c)
		}()
	}
	wg.Wait()
	return out
}

// one sends j to its candidates in rank order until one takes it.
func (b *Brokered) one(ctx context.Context, s *broker.Session, j jobdesc.Job, dir string) BrokeredJob {
	return b.oneOf(ctx, s, j, dir, func(t *broker.Target) *Submitter { return b.CEs[t.CE].Sub })
}

// oneOf is one with subOf giving the Submitter of a target.
func (b *Brokered) oneOf(ctx context.Context, s *broker.Session, j jobdesc.Job, dir string, subOf func(*broker.Target) *Submitter) BrokeredJob {
	order, dropped := s.Choose(j, nil)
	res := BrokeredJob{Name: j.Name, Dropped: dropped}
	if len(order) == 0 {
		res.Result.Err = ErrNoTarget
		return res
	}
	for _, t := range order {
		sub := subOf(t)
		r, err := sendOne(ctx, sub, broker.Prepare(j, t), dir)
		if err == nil {
			s.Register(t, j)
			res.Result, res.CE, res.Queue = r, t.Label, t.Queue.Name
			return res
		}
		res.Result = ce.Result{Err: err}
		res.Refused = append(res.Refused, Attempt{CE: t.Label, Error: err.Error()})
		var mc *ce.MaybeCreatedError
		if errors.As(err, &mc) || ctx.Err() != nil {
			return res // it may be on that CE: not sent again
		}
		if b.Retry != nil && t != order[len(order)-1] {
			b.Retry(j.Name, t.Label, err)
		}
	}
	return res
}

// sendOne submits one job through sub: its result, or why it failed.
func sendOne(ctx context.Context, sub *Submitter, j jobdesc.Job, dir string) (ce.Result, error) {
	got, err := sub.Submit(ctx, []Batch{{Jobs: []jobdesc.Job{j}, Dir: dir}})
	if err != nil {
		return ce.Result{}, err
	}
	for _, r := range got.Results {
		if r.Err != nil {
			return ce.Result{}, r.Err
		}
	}
	if len(got.Results) == 0 || got.OK == 0 {
		return ce.Result{}, fmt.Errorf("%s: the CE answered with no job", sub.Addr.URL())
	}
	return got.Results[0], nil
}

func (o *BrokeredResult) add(j BrokeredJob) {
	o.Jobs = append(o.Jobs, j)
	o.count(j)
}

// count adds j's outcome to the tallies.
func (o *BrokeredResult) count(j BrokeredJob) {
	if j.Result.Err == nil {
		o.OK++
		return
	}
	o.Failed++
	o.AuthFailed = o.AuthFailed || ce.IsAuthFailure(j.Result.Err)
	o.BadInput = o.BadInput || ce.IsInputError(j.Result.Err)
}

// CEByCE is how ARC's arcsub (6 and 7) uses its broker with several -C:
// the CEs in the order given, one at a time, each asked for its
// information only when jobs are left for it; the broker ranks that
// CE's queues for each job left, and the jobs it does not take go on to
// the next CE. A CE that does not answer with its information stops the
// submission (the jobs left fail with ErrNoInfo, NoInfo is set). done is
// told after each CE how many jobs are still left (may be nil).
func (b *Brokered) CEByCE(ctx context.Context, batches []Batch, done func(ce string, left int)) BrokeredResult {
	type pending struct {
		j   jobdesc.Job
		dir string
		at  int // index in out.Jobs
	}
	var out BrokeredResult
	var left []pending
	for _, batch := range batches {
		for _, j := range batch.Jobs {
			left = append(left, pending{j, batch.Dir, len(out.Jobs)})
			out.Jobs = append(out.Jobs, BrokeredJob{Name: j.Name, Result: ce.Result{Err: ErrNoTarget}})
		}
	}
	for _, c := range b.CEs {
		if len(left) == 0 || ctx.Err() != nil {
			break
		}
		info := b.infoOf(ctx, c)
		if info.Err != nil || info.Info == nil {
			out.NoInfo = true
			for _, p := range left {
				out.Jobs[p.at].Result.Err = ErrNoInfo
				out.Jobs[p.at].Dropped = append(out.Jobs[p.at].Dropped, b.Broker.NewSession([]broker.CE{info}).NoInfo()...)
			}
			break
		}
		s := b.Broker.NewSession([]broker.CE{info})
		var still []pending
		for _, p := range left {
			r := b.oneOf(ctx, s, p.j, p.dir, func(*broker.Target) *Submitter { return c.Sub })
			prev := out.Jobs[p.at]
			r.Dropped = append(prev.Dropped, r.Dropped...)
			r.Refused = append(prev.Refused, r.Refused...)
			out.Jobs[p.at] = r
			if r.Result.Err != nil {
				still = append(still, p)
			}
		}
		left = still
		if done != nil {
			done(c.Label, len(left))
		}
	}
	for _, j := range out.Jobs {
		out.count(j)
	}
	return out
}

// infoOf asks one CE for its information.
func (b *Brokered) infoOf(ctx context.Context, c BrokerCE) broker.CE {
	out := broker.CE{Label: c.Label, Err: c.Err}
	if c.Err != nil || c.Sub == nil {
		return out
	}
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if b.InfoContext != nil {
		cctx, cancel = b.InfoContext(ctx)
	}
	defer cancel()
	out.Info, out.Err = c.Sub.Backend.Info(cctx)
	return out
}
