package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// How long a pending submission waits before another command resolves it.
const (
	// PendingSettle: a row younger than this whose CE shows fewer new jobs
	// than the request asked for is left for later (the CE may still be
	// creating them); the jobs found are recorded meanwhile. (Jobs of the
	// row recorded before the process died are not counted: such a row is
	// cleared once this old.)
	PendingSettle = 5 * time.Second
	// PendingRemote: a row written on another host (a shared job list),
	// whose process cannot be asked, is resolved once this old (sync
	// --pending does not wait).
	PendingRemote = 30 * time.Second
)

// Recovered is what resolving one pending submission came to.
type Recovered struct {
	Key     string   `json:"key"`
	CE      string   `json:"ce"`
	Flavour string   `json:"flavour"`
	Asked   int      `json:"asked"`           // jobs the request asked for
	Found   []string `json:"found"`           // ids of the jobs the CE has of it
	Added   int      `json:"added"`           // of them, new on the job list
	Cleared bool     `json:"cleared"`         // the pending row is gone
	Left    string   `json:"left,omitempty"`  // why the row was left as it is
	Err     string   `json:"error,omitempty"` // the CE could not tell
}

// Recovery resolves the pending submissions of the CEs a command talks to,
// each CE once per command: the jobs the CE has of a submission whose
// process died before recording the answer are recorded (once each), and
// the row cleared. A row a live process of this host owns is never
// touched.
type Recovery struct {
	Store *jobstore.Store
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// NoWait resolves rows of other hosts without waiting PendingRemote
	// (sync --pending).
	NoWait bool

	mu   sync.Mutex
	done map[string]bool
	all  []Recovered
}

// Results are the rows looked at so far.
func (r *Recovery) Results() []Recovered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recovered(nil), r.all...)
}

// CE resolves the pending submissions of the CE at addr with its backend
// b, the first time it is asked for that CE; it returns what it did.
func (r *Recovery) CE(ctx context.Context, addr ce.Address, b ce.Backend) []Recovered {
	if r == nil || r.Store == nil {
		return nil
	}
	endpoint := strings.TrimSuffix(addr.URL(), "/")
	key := string(addr.Flavour) + " " + endpoint
	r.mu.Lock()
	if r.done[key] {
		r.mu.Unlock()
		return nil
	}
	if r.done == nil {
		r.done = map[string]bool{}
	}
	r.done[key] = true
	r.mu.Unlock()
	rows, err := r.Store.ListPending(ctx, endpoint)
	if err != nil || len(rows) == 0 {
		return nil
	}
	finder, _ := b.(ce.SubmissionFinder)
	known := KnownIDs(ctx, r.Store, addr)
	var out []Recovered
	for _, p := range rows {
		if p.Flavour != string(addr.Flavour) {
			continue
		}
		out = append(out, r.resolve(ctx, p, finder, known))
	}
	r.mu.Lock()
	r.all = append(r.all, out...)
	r.mu.Unlock()
	return out
}

// resolve looks for the jobs of one pending row, unless it must wait.
func (r *Recovery) resolve(ctx context.Context, p jobstore.Pending, finder ce.SubmissionFinder, known func(string) bool) Recovered {
	rec := Recovered{Key: p.Key, CE: p.CE, Flavour: p.Flavour, Asked: p.Jobs, Found: []string{}}
	if why := r.wait(p); why != "" {
		rec.Left = why
		return rec
	}
	if finder == nil {
		rec.Left = "flavour " + p.Flavour + " cannot look a submission up"
		return rec
	}
	found, err := finder.FindSubmission(ctx, p.Key, ce.PendingHint{Jobs: p.Jobs, Clusters: p.Clusters, Since: p.Created, Known: known})
	if err != nil {
		rec.Err = fmt.Sprintf("looking for submission %s on %s: %v", p.Key, p.CE, err)
		return rec
	}
	jobs := recoveredJobs(found, p)
	for _, j := range jobs {
		rec.Found = append(rec.Found, j.ID)
	}
	settling := len(jobs) < p.Jobs && r.now().Sub(p.Created) < PendingSettle
	if settling {
		rec.Left = "the CE may still be creating jobs of it"
		rec.Added, err = r.Store.Add(ctx, jobs...)
	} else {
		rec.Added, err = r.Store.ResolvePending(ctx, p.Key, jobs...)
		rec.Cleared = err == nil
	}
	if err != nil {
		rec.Err = err.Error()
	}
	return rec
}

// wait says why a row is not to be resolved now ("" when it is).
func (r *Recovery) wait(p jobstore.Pending) string {
	alive, local := p.Owner.Alive()
	switch {
	case local && alive:
		return fmt.Sprintf("process %d on this host is still submitting it", p.Owner.PID)
	case !local && !r.NoWait && r.now().Sub(p.Created) < PendingRemote:
		return fmt.Sprintf("written by process %d on %s less than %s ago", p.Owner.PID, p.Owner.Host, PendingRemote)
	}
	return ""
}

func (r *Recovery) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// recoveredJobs are the jobs a CE has of pending submission p, as the job
// list keeps them: the description is what the CE told (name, stdout and
// stderr names); a job of another CE or with an id the flavour cannot have
// is dropped.
func recoveredJobs(found []ce.Job, p jobstore.Pending) []jobstore.Job {
	seen := map[string]bool{}
	var out []jobstore.Job
	for _, j := range found {
		if seen[j.ID] || strings.TrimSuffix(j.CE, "/") != p.CE || string(j.Flavour) != p.Flavour ||
			ce.Backends.CheckLocalID(j.Flavour, j.LocalID) != nil {
			continue
		}
		seen[j.ID] = true
		desc, _ := json.Marshal(jobdesc.Job{Name: j.Name, Stdout: j.Stdout, Stderr: j.Stderr})
		rec := jobstore.Job{ID: j.ID, LocalID: j.LocalID, CE: p.CE, Flavour: p.Flavour, Name: j.Name,
			Description: string(desc), State: string(j.State), Submitted: p.Created, DelegationID: p.DelegationID}
		if j.Submitted != nil {
			rec.Submitted = *j.Submitted
		}
		out = append(out, rec)
	}
	return out
}

// PendingCEs are the CEs (endpoint and flavour) with pending submissions,
// for a command that works on all jobs (-a) to look at before it selects.
func PendingCEs(ctx context.Context, store *jobstore.Store) [][2]string {
	rows, err := store.ListPending(ctx, "")
	if err != nil {
		return nil
	}
	seen := map[[2]string]bool{}
	var out [][2]string
	for _, p := range rows {
		k := [2]string{p.CE, p.Flavour}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// RecoveredNote is the one line a command prints when it recorded jobs of
// pending submissions ("" when none).
func RecoveredNote(rs []Recovered) string {
	added, subs := 0, 0
	ces := map[string]bool{}
	for _, r := range rs {
		if r.Added > 0 {
			added += r.Added
			subs++
			ces[r.CE] = true
		}
	}
	if added == 0 {
		return ""
	}
	return fmt.Sprintf("recorded %d jobs of %d interrupted submissions found on %d CEs (written ahead by a cesub that did not record the answer)",
		added, subs, len(ces))
}
