// Package broker chooses, for each job, the one CE (and queue) it goes to
// among several, as ARC's client does with arcsub -b: every broker first
// drops the queues the job cannot run in (Match, ARC's matchmaking), then
// ranks the rest (Random, ARC's default, or FastestQueue). It works on the
// CEs' information (ce.Info) and the job model, and sends nothing: the
// job lifecycle (internal/jobs) submits to the targets in the order given
// and tries the next when a CE refuses a job.
package broker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// Broker names, as arcsub -b takes them.
const (
	Random       = "Random"
	FastestQueue = "FastestQueue"
)

// Names are the brokers cesub has.
func Names() []string { return []string{Random, FastestQueue} }

// Target is one queue of one CE a job may go to.
type Target struct {
	CE    int    // the CE's index among those given
	Label string // the CE as given (-C)
	Info  *ce.Info
	Queue ce.Queue // the queue's figures, updated as jobs are sent to it (Register)
}

// Name is the target as messages show it.
func (t *Target) Name() string {
	if t.Queue.Name == "" {
		return t.Label
	}
	return t.Label + " (queue " + t.Queue.Name + ")"
}

// Dropped is a CE or queue a job cannot go to, and why.
type Dropped struct {
	CE     string `json:"ce"`
	Queue  string `json:"queue,omitempty"`
	Reason string `json:"reason"`
}

// Reasons lists the CEs and queues a job could not go to, and why, on
// one line.
func Reasons(ds []Dropped) string {
	if len(ds) == 0 {
		return "none"
	}
	var parts []string
	for _, d := range ds {
		where := d.CE
		if d.Queue != "" {
			where += " (queue " + d.Queue + ")"
		}
		parts = append(parts, where+": "+d.Reason)
	}
	return strings.Join(parts, "; ")
}

// ranker is what tells brokers apart: a check of its own after Match
// ("" keeps the target) and the order of the targets that fit.
type ranker interface {
	accept(t *Target) string
	rank(ts []*Target) []*Target
}

// Broker ranks the targets of each job.
type Broker struct {
	name string
	r    ranker
}

// New makes the broker name (any case); rnd drives Random (nil: seeded
// from the runtime's random source), so tests can fix its choices.
func New(name string, rnd *rand.Rand) (*Broker, error) {
	switch strings.ToLower(name) {
	case strings.ToLower(Random), "":
		if rnd == nil {
			rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		}
		return &Broker{name: Random, r: randomRanker{rnd}}, nil
	case strings.ToLower(FastestQueue):
		return &Broker{name: FastestQueue, r: fastestQueue{}}, nil
	}
	return nil, fmt.Errorf("broker %q: cesub has %s", name, strings.Join(Names(), " and "))
}

// Name is the broker's name as ARC spells it.
func (b *Broker) Name() string { return b.name }

// CE is one CE's information, or why it could not be read.
type CE struct {
	Label string
	Info  *ce.Info
	Err   error
}

// Session brokers one command's jobs among the queues of its CEs.
type Session struct {
	b       *Broker
	targets []*Target
	noInfo  []Dropped // CEs whose information could not be read, or that publish no queue
}

// NewSession lists the queues of ces as targets (in the order given).
func (b *Broker) NewSession(ces []CE) *Session {
	s := &Session{b: b}
	for i, c := range ces {
		switch {
		case c.Err != nil:
			s.noInfo = append(s.noInfo, Dropped{CE: c.Label, Reason: "no information from the CE: " + c.Err.Error()})
		case c.Info == nil || len(c.Info.Queues) == 0:
			s.noInfo = append(s.noInfo, Dropped{CE: c.Label, Reason: "the CE publishes no queue"})
		default:
			for _, q := range c.Info.Queues {
				s.targets = append(s.targets, &Target{CE: i, Label: c.Label, Info: c.Info, Queue: q})
			}
		}
	}
	return s
}

// NoInfo are the CEs the session has no queue of, with the reasons.
func (s *Session) NoInfo() []Dropped { return slices.Clone(s.noInfo) }

// Choose returns the targets j may go to, best first, and the queues and
// CEs it may not, with the reasons (skip: targets already tried for j).
func (s *Session) Choose(j jobdesc.Job, skip func(*Target) bool) (order []*Target, dropped []Dropped) {
	dropped = append(dropped, s.noInfo...)
	for _, t := range s.targets {
		if skip != nil && skip(t) {
			continue
		}
		why := Match(j, t)
		if why == "" {
			why = s.b.r.accept(t)
		}
		if why != "" {
			dropped = append(dropped, Dropped{CE: t.Label, Queue: t.Queue.Name, Reason: why})
			continue
		}
		order = append(order, t)
	}
	return s.b.r.rank(order), dropped
}

// Register counts j as sent to t, as ARC's client does before it ranks
// the next job: the job takes free slots if there are enough, else it
// waits in the queue.
func (s *Session) Register(t *Target, j jobdesc.Job) {
	n := max(1, j.Resources.Slots)
	q := &t.Queue
	switch {
	case q.Published.Has(ce.CountFreeSlots) && q.FreeSlots >= n:
		q.FreeSlots -= n
	case q.Published.Has(ce.CountWaiting):
		q.WaitingJobs += n
	}
}

// Prepare is j as it goes to t: a CE with several queues is told the
// chosen one (ARC's client sets the queue of every brokered job).
func Prepare(j jobdesc.Job, t *Target) jobdesc.Job {
	if j.Resources.Queue == "" && t.Info.GLUE2 && len(t.Info.Queues) > 1 && t.Queue.Name != "" {
		j.Resources.Queue = t.Queue.Name
	}
	return j
}

// randomRanker is ARC's Random broker: the fitting targets in a random
// order, drawn anew for each job. (ARC inserts each target after a coin
// flip per place, which is not uniform; cesub shuffles uniformly.)
type randomRanker struct{ rnd *rand.Rand }

func (randomRanker) accept(*Target) string { return "" }

func (r randomRanker) rank(ts []*Target) []*Target {
	out := slices.Clone(ts)
	r.rnd.Shuffle(len(out), func(i, k int) { out[i], out[k] = out[k], out[i] })
	return out
}
