package jobs

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// KnownIDs reports whether a job id of the CE at addr is on the job list
// (read once, when first asked: only a submission whose answer was lost
// asks).
func KnownIDs(ctx context.Context, store *jobstore.Store, addr ce.Address) func(string) bool {
	var once sync.Once
	set := map[string]bool{}
	return func(id string) bool {
		once.Do(func() {
			jobs, err := store.List(ctx, jobstore.Filter{CE: strings.TrimSuffix(addr.URL(), "/")})
			if err != nil {
				return
			}
			for _, j := range jobs {
				set[j.LocalID] = true
			}
		})
		return set[id]
	}
}

// Recorder puts the jobs a CE created on the job list, once each: as the
// backend announces them (ce.SubmitOptions.Created, before their inputs
// are sent) and after Submit. Its context should outlive a cancelled
// command (context.WithoutCancel): what the CE created must be on record.
type Recorder struct {
	Ctx          context.Context
	Store        *jobstore.Store
	Jobs         []jobdesc.Job // as submitted; with Instances, each made Instances times
	Instances    int
	DelegationID string

	mu   sync.Mutex
	done map[string]bool
}

// Announced is Record for ce.SubmitOptions.Created: what fails to be
// recorded there is tried again after Submit.
func (r *Recorder) Announced(rs []ce.Result) { _, _ = r.Record(rs) }

// Record adds the created jobs not yet on record; on failure it returns
// their ids. A job whose id the flavour would refuse is never recorded
// (the caller reports it as an error).
func (r *Recorder) Record(rs []ce.Result) ([]string, error) {
	return r.record(rs, "")
}

// Resolve is Record for the answer of pending submission key: the jobs
// not yet on record and the end of the pending row go in one transaction.
func (r *Recorder) Resolve(rs []ce.Result, key string) ([]string, error) {
	return r.record(rs, key)
}

func (r *Recorder) record(rs []ce.Result, key string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		r.done = map[string]bool{}
	}
	rec := r.newJobs(rs)
	if len(rec) == 0 && key == "" {
		return nil, nil
	}
	var err error
	if key != "" {
		_, err = r.Store.ResolvePending(r.Ctx, key, rec...)
	} else {
		_, err = r.Store.Add(r.Ctx, rec...)
	}
	if err != nil {
		var lost []string
		for _, j := range rec {
			lost = append(lost, j.ID)
		}
		return lost, err
	}
	for _, j := range rec {
		r.done[j.ID] = true
	}
	return nil, nil
}

// newJobs are the jobs of rs not on record yet, as the job list keeps them.
func (r *Recorder) newJobs(rs []ce.Result) []jobstore.Job {
	var rec []jobstore.Job
	for i, res := range rs {
		if res.Job == nil || r.done[res.Job.ID] {
			continue // not created, or on record already
		}
		if ce.Backends.CheckLocalID(res.Job.Flavour, res.Job.LocalID) != nil {
			continue
		}
		jd := r.Jobs[min(i/max(1, r.Instances), len(r.Jobs)-1)]
		if res.Job.Stdout != "" || res.Job.Stderr != "" { // the CE's names for them (HTCondor's $(Cluster))
			jd.Stdout, jd.Stderr = res.Job.Stdout, res.Job.Stderr
		}
		desc, _ := json.Marshal(jd)
		j := jobstore.Job{ID: res.Job.ID, LocalID: res.Job.LocalID, CE: res.Job.CE, Flavour: string(res.Job.Flavour),
			Name: res.Job.Name, Description: string(desc), State: string(res.Job.State), DelegationID: r.DelegationID}
		if res.Job.Submitted != nil {
			j.Submitted = *res.Job.Submitted
		}
		rec = append(rec, j)
	}
	return rec
}
