package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
)

// DefaultParallel bounds how many CEs a command works on at once.
const DefaultParallel = 8

// Runner works on jobs of the job list, CE by CE.
type Runner struct {
	Store *jobstore.Store
	// Backend gives the backend of a CE endpoint and flavour (the caller
	// keeps one per CE for the whole command).
	Backend func(ctx context.Context, endpoint, flavour string) (ce.Backend, ce.Address, error)
	// Deadline gives each CE's work its time limit (scale x --timeout).
	Deadline func(ctx context.Context, scale int) (context.Context, context.CancelFunc)
	// Answered, if set, is told about a CE that answered (to remember what
	// the backend learnt of it).
	Answered func(ctx context.Context, addr ce.Address, b ce.Backend)
	// Warnf, if set, is told what could not be recorded.
	Warnf func(format string, args ...any)
	// Parallel bounds the CEs worked on at once (default DefaultParallel).
	Parallel int
}

func (r *Runner) warnf(format string, args ...any) {
	if r.Warnf != nil {
		r.Warnf(format, args...)
	}
}

// GroupByCE groups jobs by CE endpoint and flavour (one A-REX can be
// reached over REST and EMI-ES), in first-seen order.
func GroupByCE(jobs []jobstore.Job) [][]jobstore.Job {
	// counted first, then each group allocated once (10,000 jobs of one
	// CE grown by append copied ~20 MB)
	index := map[string]int{}
	var sizes []int
	keys := make([]int, len(jobs))
	for i, j := range jobs {
		key := j.Flavour + " " + j.CE
		g, ok := index[key]
		if !ok {
			g = len(sizes)
			index[key] = g
			sizes = append(sizes, 0)
		}
		sizes[g]++
		keys[i] = g
	}
	out := make([][]jobstore.Job, len(sizes))
	for g, n := range sizes {
		out[g] = make([]jobstore.Job, 0, n)
	}
	for i, j := range jobs {
		out[keys[i]] = append(out[keys[i]], j)
	}
	return out
}

// ForEachCE runs op on the jobs of each CE, the CEs in parallel, each with
// its own deadline: a CE that hangs costs its own jobs the deadline, never
// another CE's turn. A CE that fails as a whole gives each of its jobs the
// error. Results come back in the jobs' CE order; authFailed says whether
// some CE refused the credentials.
func (r *Runner) ForEachCE(ctx context.Context, jobs []jobstore.Job, scale int, op func(context.Context, ce.Backend, []jobstore.Job) ([]ce.Result, error)) (results []ce.Result, authFailed bool) {
	groups := GroupByCE(jobs)
	per := make([][]ce.Result, len(groups))
	auth := make([]bool, len(groups))
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, group := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := r.Deadline(ctx, scale)
			defer cancel()
			b, addr, err := r.Backend(cctx, group[0].CE, group[0].Flavour)
			if err == nil {
				var res []ce.Result
				res, err = op(cctx, b, group)
				if err == nil {
					per[i] = res
					if r.Answered != nil {
						r.Answered(context.WithoutCancel(ctx), addr, b)
					}
					return
				}
			}
			auth[i] = ce.IsAuthFailure(err)
			for _, j := range group {
				per[i] = append(per[i], ce.Result{ID: j.ID, Err: err})
			}
		}()
	}
	wg.Wait()
	for i := range groups {
		results = append(results, per[i]...)
		authFailed = authFailed || auth[i]
	}
	return results, authFailed
}

// Row is one selected job and what its CE said of it.
type Row struct {
	Record jobstore.Job // as the job list has it
	ce.Result
}

// Status asks the CEs for the state of jobs (with long, the long fields
// where the flavour has them: ce.Detailer) and records the states. Every
// job gets a row: one the CE's answer left out is an error row, never
// dropped.
func (r *Runner) Status(ctx context.Context, jobs []jobstore.Job, long bool) (rows []Row, ok, failed int, authFailed bool) {
	results, authFailed := r.ForEachCE(ctx, jobs, 3, func(cctx context.Context, b ce.Backend, g []jobstore.Job) ([]ce.Result, error) {
		if d, isD := b.(ce.Detailer); isD && long {
			return d.Details(cctx, LocalIDs(g))
		}
		return b.Status(cctx, LocalIDs(g))
	})
	records := make(map[string]int, len(jobs)) // id -> index in jobs
	for i, j := range jobs {
		records[j.ID] = i
	}
	answered := make([]bool, len(jobs)) // by the index records keeps
	for _, res := range results {
		if i, ok := records[res.ID]; ok {
			answered[i] = true
		}
	}
	for _, j := range jobs {
		if k := records[j.ID]; !answered[k] {
			results = append(results, ce.Result{ID: j.ID, Err: fmt.Errorf("%s: the CE's answer did not include this job", j.ID)})
			answered[k] = true
		}
	}
	ups := make([]jobstore.StateUpdate, 0, len(results))
	rows = make([]Row, 0, len(results))
	for _, res := range results {
		var rec jobstore.Job
		var was *jobstore.Job
		if i, ok := records[res.ID]; ok {
			rec, was = jobs[i], &jobs[i]
		}
		rows = append(rows, Row{Record: rec, Result: res})
		if res.Err != nil {
			failed++
			continue
		}
		ok++
		ups = append(ups, jobstore.StateUpdate{ID: res.ID, State: string(res.Job.State), ExitCode: res.Job.ExitCode, Was: was})
	}
	if err := r.Store.UpdateStates(ctx, ups); err != nil {
		r.warnf("%v", err)
	}
	return rows, ok, failed, authFailed
}

// Actions are what Act can do.
var Actions = []string{"kill", "clean", "resume", "hold", "release"}

// ActResult is the outcome of an action on one job.
type ActResult struct {
	ID        string
	State     string // the job's state after a success (KILLING, DELETED, …), FORGOTTEN
	Err       error
	Forgotten bool // clean --forget dropped a job the CE no longer has
}

// goneFromList reports that job id is no longer on the job list (another
// process cleaned or fetched it).
func (r *Runner) goneFromList(ctx context.Context, id string) bool {
	jobs, err := r.Store.List(ctx, jobstore.Filter{IDs: []string{id}})
	return err == nil && len(jobs) == 0
}

// doneState is what a successful action leaves a job in.
func doneState(action string) string {
	switch action {
	case "clean":
		return string(ce.StateDeleted)
	case "kill":
		return "KILLING"
	case "hold":
		return string(ce.StateHeld)
	case "release":
		return string(ce.StateQueuing)
	}
	return string(ce.StateAccepted)
}

// Act kills, cleans, resumes, holds or releases jobs and records the
// outcome: a cleaned job leaves the job list, the others get their new
// state. With forget, clean also drops the jobs the CE no longer has.
func (r *Runner) Act(ctx context.Context, action string, jobs []jobstore.Job, forget bool) (out []ActResult, ok, failed int, authFailed bool) {
	results, authFailed := r.ForEachCE(ctx, jobs, 3, func(cctx context.Context, b ce.Backend, g []jobstore.Job) ([]ce.Result, error) {
		switch action {
		case "kill":
			return b.Kill(cctx, LocalIDs(g))
		case "clean":
			return b.Clean(cctx, LocalIDs(g))
		case "resume":
			return b.Restart(cctx, LocalIDs(g))
		case "hold", "release":
			h, isH := b.(ce.Holder)
			if !isH {
				return nil, fmt.Errorf("%s: %s CEs cannot hold jobs", action, g[0].Flavour)
			}
			if action == "hold" {
				return h.Hold(cctx, LocalIDs(g))
			}
			return h.Release(cctx, LocalIDs(g))
		}
		return nil, fmt.Errorf("unknown action %q", action)
	})
	done := doneState(action)
	for _, res := range results {
		ar := ActResult{ID: res.ID, Err: res.Err}
		switch {
		case res.Err != nil && forget && action == "clean" && errors.Is(res.Err, ce.ErrNotFound):
			// the CE no longer has it: --forget drops the entry
			if err := r.Store.Remove(ctx, res.ID); err == nil {
				ar = ActResult{ID: res.ID, State: "FORGOTTEN", Forgotten: true}
				ok++
			} else {
				failed++
			}
		case res.Err != nil && action == "clean" && errors.Is(res.Err, ce.ErrNotFound) && r.goneFromList(ctx, res.ID):
			// another cesub sharing the list cleaned it meanwhile: done
			ar = ActResult{ID: res.ID, State: doneState(action)}
			ok++
		case res.Err != nil:
			failed++
		default:
			ok++
			if action == "clean" {
				_ = r.Store.Cleaned(ctx, res.ID)
			} else {
				_ = r.Store.UpdateState(ctx, res.ID, done, nil)
			}
			ar.State = done
		}
		out = append(out, ar)
	}
	return out, ok, failed, authFailed
}
