package emies

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/jobdesc/adl"
)

// maxFind bounds how many jobs not on the job list FindSubmission reads
// the description of (one request each).
const maxFind = 2000

// FindSubmission implements ce.SubmissionFinder: among the activities
// created since the submission was written ahead (an hour earlier for the
// clocks' skew; the last day when not known) that are not on the job
// list, those whose description (A-REX keeps it as sent, under
// *logs/ID/description) carries the mark of submission key.
func (c *Client) FindSubmission(ctx context.Context, key string, hint ce.PendingHint) ([]ce.Job, error) {
	now := time.Now().UTC()
	from := now.Add(-24 * time.Hour)
	if !hint.Since.IsZero() {
		from = hint.Since.UTC().Add(-time.Hour)
	}
	ids, truncated, err := c.listActivities(ctx, from.Truncate(time.Second), now.Add(24*time.Hour).Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	if truncated {
		return nil, fmt.Errorf("EMI-ES ListActivities: too many jobs since the submission to look for submission %s (run `cesub sync`)", key)
	}
	var cands []string
	for _, id := range ids {
		if hint.Known == nil || !hint.Known(id) {
			cands = append(cands, id)
		}
	}
	if len(cands) > maxFind {
		return nil, fmt.Errorf("%d jobs on the CE are not on the job list: too many to search for submission %s (run `cesub sync`)", len(cands), key)
	}
	mine, descs, err := c.marked(ctx, cands, key)
	if err != nil {
		return nil, err // cannot tell: the pending row stays
	}
	jobs, err := c.jobsOf(ctx, mine)
	for i := range jobs {
		if d, err := adl.Parse("description of "+jobs[i].LocalID, []byte(descs[jobs[i].LocalID])); err == nil && len(d) == 1 {
			jobs[i].Name, jobs[i].Stdout, jobs[i].Stderr = d[0].Name, d[0].Stdout, d[0].Stderr // what cat needs
		}
	}
	return jobs, err
}

// marked reads the descriptions of ids and returns those carrying the
// mark of submission key, with their descriptions.
func (c *Client) marked(ctx context.Context, ids []string, key string) ([]string, map[string]string, error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	var mine []string
	descs := map[string]string{}
	sem := make(chan struct{}, concurrency)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			desc, err := c.logFile(ctx, id, "description")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case arexhttp.IsNotFound(err):
				// wiped meanwhile, or not a job of this identity
			case err != nil && firstErr == nil:
				firstErr = fmt.Errorf("job %s: reading its description: %w", id, err)
			case err == nil:
				if _, ok := arexhttp.MarkIn(desc, key); ok {
					mine = append(mine, id)
					descs[id] = desc
				}
			}
		}()
	}
	wg.Wait()
	return mine, descs, firstErr
}

// jobsOf is the jobs of ids with their states.
func (c *Client) jobsOf(ctx context.Context, ids []string) ([]ce.Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	sort.Strings(ids)
	res, err := c.Status(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]*ce.Job{}
	for _, r := range res {
		if r.Job != nil {
			byID[r.Job.LocalID] = r.Job
		}
	}
	out := make([]ce.Job, 0, len(ids))
	for _, id := range ids {
		j := ce.Job{ID: c.JobID(id), LocalID: id, CE: c.endpoint, Flavour: ce.EMIES, State: ce.StateUnknown}
		if sj := byID[id]; sj != nil {
			j = *sj
		}
		out = append(out, j)
	}
	return out, nil
}
