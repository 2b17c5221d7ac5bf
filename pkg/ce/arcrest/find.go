package arcrest

import (
	"context"
	"sync"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/jobdesc/adl"
)

// FindSubmission implements ce.SubmissionFinder: the jobs not on the job
// list whose description carries the mark of submission key (as a lost
// answer is recovered, see findMarked).
func (c *Client) FindSubmission(ctx context.Context, key string, hint ce.PendingHint) ([]ce.Job, error) {
	want := hint.Jobs
	if want <= 0 {
		want = maxMarkSearch
	}
	found, err := c.findMarked(ctx, key, want, ce.SubmitOptions{Known: hint.Known})
	if err != nil {
		return nil, err
	}
	var out []ce.Job
	for i := 0; i < want; i++ {
		for _, e := range found[i] {
			j := ce.Job{ID: c.JobID(e.ID), LocalID: e.ID, CE: c.endpoint, Flavour: ce.ARC, State: mapState(e.State), RawState: e.State}
			if d, err := adl.Parse("description of "+e.ID, []byte(e.desc)); err == nil && len(d) == 1 {
				j.Name, j.Stdout, j.Stderr = d[0].Name, d[0].Stdout, d[0].Stderr // what cat needs
			}
			out = append(out, j)
		}
	}
	return out, nil
}

// descCache keeps the descriptions read while looking for submissions
// (a job's description never changes): resolving several pending
// submissions to one CE reads each job's once, not once per submission.
type descCache struct {
	mu sync.Mutex
	m  map[string]string
}

// maxCachedDescs bounds the cache (descriptions are a few kB).
const maxCachedDescs = 2 * maxMarkSearch

// description is job id's description (diagnose/description), read once.
func (c *Client) description(ctx context.Context, base, id string) (string, error) {
	c.descs.mu.Lock()
	d, ok := c.descs.m[id]
	c.descs.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := c.h.Text(ctx, base+"/jobs/"+id+"/diagnose/description", "text/plain", "description", arexhttp.DiagnoseLimit)
	if err != nil {
		return "", err
	}
	c.descs.mu.Lock()
	defer c.descs.mu.Unlock()
	if c.descs.m == nil {
		c.descs.m = map[string]string{}
	}
	if len(c.descs.m) < maxCachedDescs {
		c.descs.m[id] = d
	}
	return d, nil
}
