package arcrest

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// How Status asks A-REX for the states of k jobs. There are two requests:
//   - the listing GET jobs?state=…: live states, but of every job the CE
//     holds for the identity (n), so its cost grows with n;
//   - POST jobs?action=status with the ids: cost grows with k, but A-REX
//     reads the state its information provider last wrote, up to about a
//     minute old (arcstat shows the same).
//
// The listing is chosen when it costs about what the ids would: the CE
// holds at most listingFactor times the jobs asked for. n is learnt from
// each listing and remembered by the job list between commands
// (ce.Census); while it is unknown (or older than censusTTL) a status of
// listingFirst or more jobs lists, which learns it. Otherwise the ids are
// posted, and a few jobs the answer shows unfinished (at most liveChecks)
// are read live one by one (GET jobs/ID/diagnose/status): all of them when
// fewer than listingFirst jobs were asked for.
const (
	listingFirst  = 10
	listingFactor = 4
	liveChecks    = listingFirst
	censusTTL     = time.Hour
)

// census is what the client knows of the CE's job count.
type census struct {
	n     int
	at    time.Time
	known bool
}

// JobCount implements ce.Census.
func (c *Client) JobCount() (int, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.census.n, c.census.at, c.census.known
}

// SetJobCount implements ce.Census (the newer count wins).
func (c *Client) SetJobCount(n int, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.census.known || !at.Before(c.census.at) {
		c.census = census{n: n, at: at, known: true}
	}
}

// listingPays says whether the live listing is the cheaper way to learn
// the states of k jobs.
func (c *Client) listingPays(k int) bool {
	n, at, ok := c.JobCount()
	if !ok || time.Since(at) > censusTTL {
		return k >= listingFirst
	}
	return n <= listingFactor*k
}

// Status implements ce.Backend: by the listing or by the ids, whichever
// costs less (see listingFirst).
func (c *Client) Status(ctx context.Context, ids []string) ([]ce.Result, error) {
	if c.listingPays(len(ids)) {
		c.debugf("status of %d jobs: one live listing (the CE holds about as many)", len(ids))
		return c.statusByListing(ctx, ids)
	}
	c.debugf("status of %d jobs: by their ids (the CE holds many more jobs; states may be up to a minute old)", len(ids))
	results, err := c.act(ctx, "status", ids, http.StatusOK)
	if err != nil {
		return results, err
	}
	var pending []int
	for i, r := range results {
		if r.Job != nil && !r.Job.State.Terminal() {
			pending = append(pending, i)
		}
	}
	if len(pending) <= liveChecks {
		base, err := c.base(ctx)
		inParallel(len(pending), liveParallel, func(k int) { // on their own connections: no round trip waits for another
			r := &results[pending[k]]
			c.liveOrGone(ctx, r)
			if r.Job != nil && r.Job.State == ce.StateFinished && err == nil {
				c.settleFinished(ctx, base, r.Job)
			}
		})
	}
	c.explainFailed(ctx, results)
	return results, nil
}

// liveParallel bounds the live reads of one status call in flight at once.
const liveParallel = 8

// inParallel runs f(0) … f(n-1), at most width at a time, and waits for them.
func inParallel(n, width int, f func(int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// settleFinished: the grid manager says FINISHED for a job that ended well,
// failed or was killed alike; diagnose/failed, missing for a job that ended
// well, tells them apart. A job with a reason is FAILED, which explainFailed
// refines (a kill by request is KILLED).
func (c *Client) settleFinished(ctx context.Context, base string, j *ce.Job) {
	reason, err := c.h.Text(ctx, base+"/jobs/"+j.LocalID+"/diagnose/failed", "text/plain", "diagnose/failed", arexhttp.DiagnoseLimit)
	if err == nil && strings.TrimSpace(reason) != "" {
		j.State = ce.StateFailed
	}
}

// statusByListing answers from one live listing; the jobs missing from it
// are asked for by id (which says "not found" per job).
func (c *Client) statusByListing(ctx context.Context, ids []string) ([]ce.Result, error) {
	live, err := c.listStates(ctx, allStates)
	if err != nil {
		c.debugf("live state listing failed (%v); asking with action=status", err)
		live = nil
	}
	results := make([]ce.Result, len(ids))
	var missing []string
	where := map[string]int{}
	for i, id := range ids {
		if st, ok := live[id]; ok && st != "" {
			jid := c.JobID(id)
			results[i] = ce.Result{ID: jid, Job: &ce.Job{ID: jid, LocalID: id, CE: c.endpoint, Flavour: ce.ARC,
				State: mapState(st), RawState: st}}
			continue
		}
		missing = append(missing, id)
		where[id] = i
	}
	if len(missing) > 0 {
		rest, err := c.act(ctx, "status", missing, http.StatusOK)
		if err != nil {
			return nil, err
		}
		for _, r := range rest {
			_, local, _ := ParseJobID(r.ID)
			if live != nil && r.Job != nil && !r.Job.State.Terminal() {
				c.liveOrGone(ctx, &r) // listed by action=status but not live: stale
			}
			results[where[local]] = r
		}
	}
	c.explainFailed(ctx, results)
	return results, nil
}
