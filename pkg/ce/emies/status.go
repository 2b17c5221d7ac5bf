package emies

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// esStatus is an EMI-ES ActivityStatus: a primary state and attributes.
type esStatus struct {
	Status     string
	Attributes []string
}

func parseStatus(n *node) esStatus {
	if n == nil {
		return esStatus{}
	}
	s := esStatus{Status: n.text("Status")}
	for _, a := range n.children("Attribute") {
		s.Attributes = append(s.Attributes, strings.TrimSpace(a.Text))
	}
	return s
}

func (s esStatus) has(suffix string) bool {
	for _, a := range s.Attributes {
		if strings.HasSuffix(a, suffix) {
			return true
		}
	}
	return false
}

// raw is the state as EMI-ES writes it, e.g. terminal:app-failure.
func (s esStatus) raw() string {
	if len(s.Attributes) == 0 {
		return s.Status
	}
	return s.Status + ":" + strings.Join(s.Attributes, ",")
}

// state maps EMI-ES states and attributes to the common states.
func (s esStatus) state() ce.State {
	switch s.Status {
	case "accepted":
		return ce.StateAccepted
	case "preprocessing":
		return ce.StatePreparing
	case "processing-accepting", "processing-queued":
		return ce.StateQueuing
	case "processing", "processing-running":
		return ce.StateRunning
	case "postprocessing":
		return ce.StateFinishing
	case "terminal":
		switch {
		case s.has("-cancel"):
			return ce.StateKilled
		case s.has("-failure"):
			return ce.StateFailed
		case s.has("expired"):
			return ce.StateDeleted
		}
		return ce.StateFinished
	}
	return ce.StateUnknown
}

// gmState maps the grid manager's own state (the *logs/<id>/status file,
// always current, where EMI-ES answers from a file the information system
// rewrites once a minute).
func gmState(s string, es esStatus) ce.State {
	switch s {
	case "ACCEPTED":
		return ce.StateAccepted
	case "PREPARING":
		return ce.StatePreparing
	case "SUBMIT":
		return ce.StateQueuing
	case "INLRMS":
		if es.Status == "processing-queued" {
			return ce.StateQueuing
		}
		return ce.StateRunning
	case "CANCELING":
		return ce.StateRunning
	case "FINISHING":
		return ce.StateFinishing
	case "FINISHED":
		return ce.StateFinished // failure is told apart by the failed file
	case "DELETED":
		return ce.StateDeleted
	}
	return ce.StateUnknown
}

// Status implements ce.Backend. GetActivityStatus (batchSize activities per
// call, calls in parallel) says which jobs exist and how they failed; since its
// answer can be a minute old, a job it does not call terminal is checked
// against the grid manager's current state, and a finished one gets its exit
// code and failure reason.
func (c *Client) Status(ctx context.Context, ids []string) ([]ce.Result, error) {
	results := make([]ce.Result, len(ids))
	statuses := make([]esStatus, len(ids)) // EMI-ES's view, for the refresh
	var wg sync.WaitGroup
	var mu sync.Mutex
	var authErr, callErr error
	calls := 0
	sem := make(chan struct{}, concurrency)
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		wg.Add(1)
		sem <- struct{}{}
		calls++
		go func(start int, chunk []string) {
			defer wg.Done()
			defer func() { <-sem }()
			st, errs, err := c.activityStatus(ctx, chunk)
			var ae *arexhttp.AuthError
			mu.Lock()
			if errors.As(err, &ae) {
				authErr = err
			}
			if err != nil {
				callErr = err
				calls--
			}
			mu.Unlock()
			for k, id := range chunk {
				switch {
				case err != nil:
					results[start+k] = ce.Result{ID: c.JobID(id), Err: err}
				case errs[id] != nil:
					results[start+k] = ce.Result{ID: c.JobID(id), Err: errs[id]}
				default:
					s := st[id]
					statuses[start+k] = s
					results[start+k] = ce.Result{ID: c.JobID(id), Job: &ce.Job{ID: c.JobID(id), LocalID: id, CE: c.endpoint,
						Flavour: ce.EMIES, State: s.state(), RawState: s.raw()}}
				}
			}
		}(start, chunk)
	}
	wg.Wait()
	switch {
	case authErr != nil && ce.AllFailed(results):
		return nil, authErr
	case callErr != nil && calls == 0: // no call got an answer: the call failed, not the jobs
		return nil, callErr
	}
	c.refresh(ctx, results, statuses)
	return results, nil
}

// activityStatus asks for a batch of activities.
func (c *Client) activityStatus(ctx context.Context, ids []string) (map[string]esStatus, map[string]error, error) {
	resp, err := c.call(ctx, "GetActivityStatus", envelope(idRequest("esainfo:GetActivityStatus", ids)))
	if err != nil {
		return nil, nil, err
	}
	errs := itemErrors("GetActivityStatus", resp, "ActivityStatusItem", ids)
	st := map[string]esStatus{}
	for _, it := range resp.children("ActivityStatusItem") {
		st[it.text("ActivityID")] = parseStatus(it.child("ActivityStatus"))
	}
	for id, err := range errs {
		var f *Fault
		if errors.As(err, &f) && f.NotFound() {
			errs[id] = fmt.Errorf("%s: %w on the CE (cleaned, or never created there): %s", c.JobID(id), arexhttp.ErrNotFound, f.Message)
		}
	}
	return st, errs, nil
}

// refresh brings the jobs' states up to date from the grid manager's files,
// in parallel.
func (c *Client) refresh(ctx context.Context, results []ce.Result, statuses []esStatus) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i := range results {
		j := results[i].Job
		if j == nil || j.State == ce.StateDeleted {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(j *ce.Job, es esStatus) {
			defer wg.Done()
			defer func() { <-sem }()
			c.refreshOne(ctx, j, es)
		}(j, statuses[i])
	}
	wg.Wait()
}

func (c *Client) refreshOne(ctx context.Context, j *ce.Job, es esStatus) {
	if !j.State.Terminal() {
		gm, err := c.logFile(ctx, j.LocalID, "status")
		if err != nil {
			c.debugf("%s: grid manager state: %v", j.LocalID, err)
			return
		}
		gm = strings.TrimSpace(gm)
		if s := gmState(gm, es); s != ce.StateUnknown {
			j.State = s
			j.RawState = gm
		}
		if j.State != ce.StateFinished {
			return
		}
	}
	if j.State != ce.StateFinished && j.State != ce.StateFailed && j.State != ce.StateKilled {
		return
	}
	if failed, err := c.logFile(ctx, j.LocalID, "failed"); err == nil && strings.TrimSpace(failed) != "" {
		reason := strings.TrimSpace(failed)
		j.Errors = append(j.Errors, reason)
		if strings.Contains(reason, "external request") {
			j.State = ce.StateKilled
		} else if j.State == ce.StateFinished {
			j.State = ce.StateFailed
		}
	}
	if diag, err := c.logFile(ctx, j.LocalID, "diag"); err == nil {
		if code, ok := exitCode(diag); ok {
			j.ExitCode = &code
		}
	}
}

// exitCode reads exitcode=N from a grid manager diag file (the last one wins).
func exitCode(diag string) (int, bool) {
	code, ok := 0, false
	for _, line := range strings.Split(diag, "\n") {
		k, v, found := strings.Cut(strings.TrimSpace(line), "=")
		if found && strings.EqualFold(strings.TrimSpace(k), "exitcode") {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				code, ok = n, true
			}
		}
	}
	return code, ok
}

// logFile reads one of the grid manager's per-job files (status, failed,
// diag, errors) through A-REX's *logs path.
func (c *Client) logFile(ctx context.Context, id, name string) (string, error) {
	return c.h.Text(ctx, c.logURL(id, name), "*/*", "job "+name, arexhttp.DiagnoseLimit)
}

// List implements ce.Backend. ListActivities answers at most 10000 ids (and
// then says truncated), so a truncated answer is split by creation time
// until every window fits; a one-second window that still holds too many is
// an error naming how far the listing got.
func (c *Client) List(ctx context.Context) ([]ce.Job, error) {
	seen := map[string]bool{}
	var ids []string
	var walk func(from, to time.Time, depth int) error
	walk = func(from, to time.Time, depth int) error {
		got, truncated, err := c.listActivities(ctx, from, to)
		if err != nil {
			return err
		}
		if !truncated {
			for _, id := range got {
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
			return nil
		}
		if to.Sub(from) < 2*time.Second || depth > 64 {
			return fmt.Errorf("EMI-ES ListActivities: more jobs were created between %s and %s than the CE lists at a time (found %d jobs so far)",
				from.Format(time.RFC3339), to.Format(time.RFC3339), len(ids))
		}
		mid := from.Add(to.Sub(from) / 2).Truncate(time.Second)
		if err := walk(from, mid, depth+1); err != nil {
			return err
		}
		return walk(mid.Add(time.Second), to, depth+1)
	}
	// A-REX started in 2008; a day ahead covers clock skew.
	if err := walk(time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().UTC().Add(24*time.Hour).Truncate(time.Second), 0); err != nil {
		return nil, err
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	res, err := c.Status(ctx, ids)
	if err != nil {
		return nil, err
	}
	// names and submission times come from the jobs' GLUE2 documents
	info, err := c.activityInfo(ctx, ids)
	if err != nil {
		c.debugf("EMI-ES GetActivityInfo: %v (jobs listed without names)", err)
	}
	out := make([]ce.Job, 0, len(res))
	for _, r := range res {
		if r.Job == nil {
			continue
		}
		j := *r.Job
		if a, ok := info[j.LocalID]; ok {
			j.Name, j.Submitted = a.Name, a.Submitted
			if j.ExitCode == nil {
				j.ExitCode = a.ExitCode
			}
			if len(j.Errors) == 0 {
				j.Errors = a.Errors
			}
		}
		out = append(out, j)
	}
	return out, nil
}

func (c *Client) listActivities(ctx context.Context, from, to time.Time) ([]string, bool, error) {
	op := "<esainfo:ListActivities>" + elem("esainfo:FromDate", from.UTC().Format("2006-01-02T15:04:05Z")) +
		elem("esainfo:ToDate", to.UTC().Format("2006-01-02T15:04:05Z")) + "</esainfo:ListActivities>"
	resp, err := c.call(ctx, "ListActivities", envelope(op))
	if err != nil {
		return nil, false, err
	}
	var ids []string
	for _, n := range resp.children("ActivityID") {
		ids = append(ids, strings.TrimSpace(n.Text))
	}
	return ids, resp.attr("truncated") == "true", nil
}

// activity is what GetActivityInfo's GLUE2 ComputingActivity says of a job.
type activity struct {
	Name      string
	Submitted *time.Time
	ExitCode  *int
	Errors    []string
}

// activityInfo runs GetActivityInfo for ids (batchSize per call): the GLUE2
// document A-REX keeps for each job (name, submission time, exit code,
// errors), which ListActivities and GetActivityStatus do not carry.
func (c *Client) activityInfo(ctx context.Context, ids []string) (map[string]activity, error) {
	out := map[string]activity{}
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		resp, err := c.call(ctx, "GetActivityInfo", envelope(idRequest("esainfo:GetActivityInfo", chunk)))
		if err != nil {
			return out, err
		}
		for _, it := range resp.children("ActivityInfoItem") {
			doc := it.child("ActivityInfoDocument")
			if doc == nil {
				continue
			}
			var a activity
			a.Name = doc.text("Name")
			// SubmissionTime once the information system has seen the job;
			// before that the document's CreationTime is the job's
			for _, v := range []string{doc.text("SubmissionTime"), doc.attr("CreationTime")} {
				if t, err := time.Parse(time.RFC3339, v); err == nil {
					t = t.UTC()
					a.Submitted = &t
					break
				}
			}
			if n, err := strconv.Atoi(doc.text("ExitCode")); err == nil {
				a.ExitCode = &n
			}
			for _, e := range doc.children("Error") {
				if msg := strings.TrimSpace(e.Text); msg != "" {
					a.Errors = append(a.Errors, msg)
				}
			}
			out[it.text("ActivityID")] = a
		}
	}
	return out, nil
}

// Details implements ce.Detailer: Status, then each job's "local" and "diag"
// control files through A-REX's *logs interface (queue, batch id, node,
// wall and CPU time, memory).
func (c *Client) Details(ctx context.Context, ids []string) ([]ce.Result, error) {
	results, err := c.Status(ctx, ids)
	if err != nil {
		return results, err
	}
	arexhttp.FetchDetails(ctx, results, c.logFile)
	return results, nil
}
