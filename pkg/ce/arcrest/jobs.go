package arcrest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/adl"
)

// Submit implements ce.Backend: the jobs go as one ADL document (bulk
// ActivityDescriptions for several), then their inputs are uploaded with
// bounded concurrency. A job the CE accepted is returned even if its upload
// failed, so that it is recorded and never submitted twice.
func (c *Client) Submit(ctx context.Context, jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Result, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	prepared, uploads, err := arexhttp.Prepare(jobs, opts.DelegationID, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	key := arexhttp.KeyOf(opts)
	arexhttp.Mark(prepared, key)
	doc, _, err := adl.Write(prepared...)
	if err != nil {
		return nil, err
	}
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	req := c.rc.R().SetContext(ctx).SetHeader("Content-Type", "application/xml").SetBody(doc).SetQueryParam("action", "new")
	if opts.Instances > 1 {
		if v := c.KnownVersion(); v != "1.1" {
			return nil, fmt.Errorf("--instances needs ARC REST 1.1 (ARC 7); %s speaks %s", c.endpoint, v)
		}
		req.SetQueryParam("instances", strconv.Itoa(opts.Instances))
	}
	want := len(jobs)
	if opts.Instances > 1 {
		want = len(jobs) * opts.Instances
	}
	resp, body, err := c.h.Post(req, base+"/jobs", "submit", http.StatusCreated, http.StatusOK)
	var entries []jobEntry
	if err != nil {
		if resp == nil || resp.RawResponse == nil {
			err = ce.MayExist(c.addr.Arg(), err)
		} else {
			// A-REX answers 201; a 200 (a proxy in between, another version)
			// that carries ids is read the same way: those jobs exist
			return nil, err
		}
	} else if entries, err = c.readJobs("submit answer", body); err != nil {
		err = ce.MayExist(c.addr.Arg(), fmt.Errorf("submit: cannot read A-REX's answer: %w", err))
	} else if len(entries) > want {
		entries, err = nil, ce.MayExist(c.addr.Arg(), fmt.Errorf("submit: A-REX answered %d entries for %d jobs", len(entries), want))
	}
	var mc *ce.MaybeCreatedError
	if errors.As(err, &mc) || err == nil && len(entries) < want {
		// the answer was lost or is short: the jobs this submission made
		// carry its mark, so the CE's own list tells which exist
		if err == nil {
			err = ce.MayExist(c.addr.Arg(), fmt.Errorf("submit: A-REX answered %d entries for %d jobs", len(entries), want))
			errors.As(err, &mc)
		}
		lctx, cancel := ce.LookupContext(ctx)
		found, ferr := c.findMarked(lctx, key, want, opts)
		cancel()
		if ferr != nil {
			c.debugf("finding the jobs of submission %s: %v", key, ferr)
			if len(entries) == 0 {
				return nil, err
			}
		}
		entries = fillEntries(entries, found, want, opts.Instances)
		n := 0
		for _, e := range entries {
			if e.ID != "" {
				n++
			}
		}
		if opts.Warn != nil && ferr == nil {
			opts.Warn(fmt.Sprintf("the submission's answer was lost or short (%v); %d of %d jobs found on the CE by their submission mark", mc.Err, n, want))
		}
		if n == 0 && ferr == nil {
			return nil, ce.MayExist(c.addr.Arg(), fmt.Errorf("%w; the CE's job list has no job of this submission yet", mc.Err))
		}
	}
	now := time.Now().UTC()
	results := make([]ce.Result, want)
	for i := len(entries); i < want; i++ {
		results[i] = ce.Result{Err: err}
	}
	var work []arexhttp.Upload
	for i, e := range entries {
		if e.StatusCode == 0 && e.ID == "" {
			results[i] = ce.Result{Err: err} // lost, and not found on the CE
			continue
		}
		if e.StatusCode != http.StatusCreated || e.ID == "" {
			results[i] = ce.Result{Err: fmt.Errorf("A-REX refused job %d: %d %s", i+1, e.StatusCode, e.Reason)}
			continue
		}
		if err := ce.Backends.CheckLocalID(ce.ARC, e.ID); err != nil {
			results[i] = ce.Result{Err: fmt.Errorf("job %d: %w", i+1, err)}
			continue
		}
		jobIndex := i
		if opts.Instances > 1 {
			jobIndex = i / opts.Instances
		}
		results[i] = ce.Result{ID: c.JobID(e.ID), Job: &ce.Job{ID: c.JobID(e.ID), LocalID: e.ID, CE: c.endpoint,
			Flavour: ce.ARC, Name: jobs[jobIndex].Name, State: mapState(e.State), RawState: e.State, Submitted: &now}}
		for _, u := range uploads[jobIndex] {
			u.Job = e.ID
			work = append(work, u)
		}
	}
	announced := opts.Announce(results)
	defer announced()
	sessionURL := func(job, name string) string { return base + "/jobs/" + job + "/session/" + escapePath(name) }
	if errs := c.h.UploadAll(ctx, work, sessionURL, opts.Progress); len(errs) > 0 {
		for i := range results {
			if results[i].Job != nil {
				if err := errs[results[i].Job.LocalID]; err != nil {
					results[i].Err = fmt.Errorf("job %s was created but an input upload failed (it will fail at the CE; clean it with `cesub clean`): %w", results[i].ID, err)
				}
			}
		}
	}
	return results, nil
}

// mapState maps A-REX REST states to the common ones.
func mapState(s string) ce.State {
	switch strings.ToUpper(s) {
	case "ACCEPTING", "ACCEPTED":
		return ce.StateAccepted
	case "PREPARING", "PREPARED":
		return ce.StatePreparing
	case "SUBMITTING", "QUEUING":
		return ce.StateQueuing
	case "RUNNING", "EXITINGLRMS", "EXECUTED":
		return ce.StateRunning
	case "FINISHING":
		return ce.StateFinishing
	case "FINISHED":
		return ce.StateFinished
	case "FAILED":
		return ce.StateFailed
	case "KILLING":
		return ce.StateRunning
	case "KILLED":
		return ce.StateKilled
	case "WIPED", "DELETED":
		return ce.StateDeleted
	case "HELD":
		return ce.StateHeld
	}
	return ce.StateUnknown
}

// mapGMState maps the grid manager's raw state (diagnose/status).
func mapGMState(s string) ce.State {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ACCEPTED":
		return ce.StateAccepted
	case "PREPARING":
		return ce.StatePreparing
	case "SUBMIT":
		return ce.StateQueuing
	case "INLRMS", "CANCELING":
		return ce.StateRunning
	case "FINISHING":
		return ce.StateFinishing
	case "FINISHED":
		return ce.StateFinished
	case "DELETED":
		return ce.StateDeleted
	}
	return ce.StateUnknown
}

// batchSize bounds the ids sent in one action request.
const batchSize = 500

// act posts an action for ids in batches and returns per-job results in order.
func (c *Client) act(ctx context.Context, action string, ids []string, okCodes ...int) ([]ce.Result, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	var results []ce.Result
	for start := 0; start < len(ids); start += batchSize {
		end := min(start+batchSize, len(ids))
		body := idRequest{}
		for _, id := range ids[start:end] {
			body.Job = append(body.Job, idEntry{ID: id})
		}
		req := c.rc.R().SetContext(ctx).SetHeader("Content-Type", "application/json").SetBody(body).SetQueryParam("action", action)
		var entries []jobEntry
		_, err := c.h.Decode(req, http.MethodPost, base+"/jobs", action, func(r io.Reader) (err error) {
			if entries, err = decodeJobs(c.h.Msg(action+" answer", arexhttp.JobListLimits), r); err != nil {
				return fmt.Errorf("%s: cannot read A-REX's answer: %w", action, err)
			}
			return nil
		}, http.StatusCreated, http.StatusOK)
		if err != nil {
			return results, err
		}
		byID := map[string]jobEntry{}
		for _, e := range entries {
			byID[e.ID] = e
		}
		for _, id := range ids[start:end] {
			e, ok := byID[id]
			r := ce.Result{ID: c.JobID(id)}
			switch {
			case !ok:
				r.Err = fmt.Errorf("%s: A-REX did not answer for job %s", action, id)
			case e.StatusCode == http.StatusNotFound:
				r.Err = fmt.Errorf("job %s %w on %s (cleaned already, or submitted with another credential: A-REX shows each identity only its own jobs)", id, ce.ErrNotFound, c.endpoint)
			case !slices.Contains(okCodes, int(e.StatusCode)):
				r.Err = fmt.Errorf("%s of job %s: %d %s", action, id, e.StatusCode, e.Reason)
			default:
				r.Job = &ce.Job{ID: c.JobID(id), LocalID: id, CE: c.endpoint, Flavour: ce.ARC, State: mapState(e.State), RawState: e.State}
			}
			results = append(results, r)
		}
	}
	return results, nil
}

// liveOrGone replaces a stale answer by the grid manager's own state, or by
// "not found" when the job no longer exists.
func (c *Client) liveOrGone(ctx context.Context, r *ce.Result) {
	st, raw, err := c.LiveState(ctx, r.Job.LocalID)
	switch {
	case err == nil && raw != "":
		r.Job.State, r.Job.RawState = st, raw
	case isNotFound(err):
		r.Err, r.Job = fmt.Errorf("job %s not found on %s", r.Job.LocalID, c.endpoint), nil
	}
}

const allStates = "ACCEPTING,ACCEPTED,PREPARING,PREPARED,SUBMITTING,QUEUING,RUNNING,HELD,EXITINGLRMS,OTHER,EXECUTED,FINISHING,FINISHED,FAILED,KILLING,KILLED,WIPED"

// explainFailed reads the reasons of FAILED jobs that have none yet.
func (c *Client) explainFailed(ctx context.Context, results []ce.Result) {
	var failed []*ce.Job
	for i := range results {
		if j := results[i].Job; j != nil && j.State == ce.StateFailed && len(j.Errors) == 0 && len(failed) < maxExplain {
			failed = append(failed, j)
		}
	}
	c.explainFailures(ctx, failed)
}

// maxExplain bounds the diagnose/failed requests of one status call.
const maxExplain = 200

// explainFailures reads diagnose/failed of jobs the live listing calls
// FAILED: a job killed by request is FAILED there until the info provider
// runs (up to a minute), so "canceled by external request" makes it KILLED
// at once; any other reason becomes the job's error.
func (c *Client) explainFailures(ctx context.Context, jobs []*ce.Job) {
	base, err := c.base(ctx)
	if err != nil || len(jobs) == 0 {
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, j := range jobs {
		wg.Add(1)
		go func(j *ce.Job) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			reason, err := c.h.Text(ctx, base+"/jobs/"+j.LocalID+"/diagnose/failed", "text/plain", "diagnose/failed", arexhttp.DiagnoseLimit)
			if err != nil {
				return
			}
			reason = strings.TrimSpace(reason)
			low := strings.ToLower(reason)
			if strings.Contains(low, "canceled by external request") || strings.Contains(low, "cancelled by external request") {
				j.State, j.RawState = ce.StateKilled, "KILLED"
				return
			}
			if reason != "" && !slices.Contains(j.Errors, reason) {
				j.Errors = append(j.Errors, reason)
			}
			if j.ExitCode == nil {
				if code, ok := exitFromReason(reason); ok {
					j.ExitCode = &code
				}
			}
		}(j)
	}
	wg.Wait()
}

// exitFromReason reads the exit code from A-REX's "LRMS error: (1) Job
// finished with wrong exit code - 1 != 0".
func exitFromReason(reason string) (int, bool) {
	const marker = "wrong exit code - "
	i := strings.Index(reason, marker)
	if i < 0 {
		return 0, false
	}
	rest := reason[i+len(marker):]
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

func (c *Client) listStates(ctx context.Context, states string) (map[string]string, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	req := c.rc.R().SetContext(ctx)
	if states != "" {
		req.SetQueryParam("state", states)
	}
	var entries []jobEntry
	_, err = c.h.Decode(req, http.MethodGet, base+"/jobs", "list jobs", func(r io.Reader) (err error) {
		if entries, err = decodeJobs(c.h.Msg("job listing", arexhttp.JobListLimits), r); err != nil {
			return fmt.Errorf("list jobs: cannot read A-REX's answer: %w", err)
		}
		return nil
	}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		out[e.ID] = e.State
	}
	if states == allStates {
		c.SetJobCount(len(out), time.Now())
	}
	return out, nil
}

// LiveState reads the grid manager's current state of one job (diagnose/status).
func (c *Client) LiveState(ctx context.Context, id string) (ce.State, string, error) {
	base, err := c.base(ctx)
	if err != nil {
		return ce.StateUnknown, "", err
	}
	raw, err := c.h.Text(ctx, base+"/jobs/"+id+"/diagnose/status", "text/plain", "live status", arexhttp.DiagnoseLimit)
	if err != nil {
		return ce.StateUnknown, "", err
	}
	raw = strings.TrimSpace(raw)
	return mapGMState(raw), raw, nil
}

// Kill implements ce.Backend.
func (c *Client) Kill(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.act(ctx, "kill", ids, http.StatusAccepted, http.StatusOK)
}

// Clean implements ce.Backend.
func (c *Client) Clean(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.act(ctx, "clean", ids, http.StatusAccepted, http.StatusOK)
}

// Restart implements ce.Backend.
func (c *Client) Restart(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.act(ctx, "restart", ids, http.StatusAccepted, http.StatusOK)
}

// List implements ce.Backend (with live states).
func (c *Client) List(ctx context.Context) ([]ce.Job, error) {
	m, err := c.listStates(ctx, allStates)
	if err != nil {
		return nil, err
	}
	var out []ce.Job
	for id, s := range m {
		out = append(out, ce.Job{ID: c.JobID(id), LocalID: id, CE: c.endpoint, Flavour: ce.ARC, State: mapState(s), RawState: s})
	}
	return out, nil
}

// maxMarkSearch bounds how many unknown jobs a lost submission answer is
// looked for among (one description request each).
const maxMarkSearch = 2000

// findMarked looks for the jobs of submission key among the CE's jobs that
// are not on the job list: the index in the submission of each found, with
// its ids (several for --instances) and live states.
func (c *Client) findMarked(ctx context.Context, key string, want int, opts ce.SubmitOptions) (map[int][]jobEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*max(c.h.Timeout(), 10*time.Second))
	defer cancel()
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	found := map[int][]jobEntry{}
	looked := map[string]bool{} // ids whose description was read
	total := 0
	var lastErr error
	// two rounds: a description A-REX failed to give (it refuses valid
	// tokens now and then under parallel requests) is asked for again, and
	// a job the first listing did not show yet is looked for in a second
	for round := 0; round < 2 && total < want; round++ {
		if round > 0 {
			select {
			case <-ctx.Done():
				return found, ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
		live, err := c.listStates(ctx, allStates)
		if err != nil {
			return found, err
		}
		var cands []string
		for id := range live {
			if !looked[id] && (opts.Known == nil || !opts.Known(id)) {
				cands = append(cands, id)
			}
		}
		if len(cands) > maxMarkSearch {
			return found, fmt.Errorf("%d jobs on the CE are not on the job list: too many to search for the submission's (run `cesub sync`)", len(cands))
		}
		c.debugf("looking for submission %s among %d jobs not on the job list (round %d)", key, len(cands), round+1)
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for _, id := range cands {
			wg.Add(1)
			sem <- struct{}{}
			go func(id string) {
				defer wg.Done()
				defer func() { <-sem }()
				desc, err := c.description(ctx, base, id)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if isNotFound(err) {
						looked[id] = true // gone, or not a job of this identity
					} else {
						lastErr = err
					}
					return
				}
				looked[id] = true
				if i, ok := arexhttp.MarkIn(desc, key); ok && i < want {
					found[i] = append(found[i], jobEntry{StatusCode: http.StatusCreated, ID: id, State: live[id], desc: desc})
					total++
				}
			}(id)
		}
		wg.Wait()
	}
	if total == 0 && lastErr != nil {
		return nil, lastErr
	}
	return found, nil
}

// fillEntries completes the entries a submit answer carried (job i at index
// i; with instances, job i's copies at i*instances…) with the jobs found by
// their mark; what is neither stays an empty entry.
func fillEntries(entries []jobEntry, found map[int][]jobEntry, want, instances int) []jobEntry {
	out := make([]jobEntry, want)
	copy(out, entries)
	used := map[string]bool{}
	for _, e := range entries {
		used[e.ID] = true
	}
	per := max(1, instances)
	for i := len(entries); i < want; i++ {
		for _, e := range found[i/per] {
			if !used[e.ID] {
				used[e.ID] = true
				out[i] = e
				break
			}
		}
	}
	return out
}

// Details implements ce.Detailer: Status, then each job's diagnose/local and
// diagnose/diag (queue, batch id, node, wall and CPU time, memory), which
// the grid manager writes itself and so are current where action=info's
// GLUE2 document waits for the information system.
func (c *Client) Details(ctx context.Context, ids []string) ([]ce.Result, error) {
	results, err := c.Status(ctx, ids)
	if err != nil {
		return results, err
	}
	base, err := c.base(ctx)
	if err != nil {
		return results, err
	}
	arexhttp.FetchDetails(ctx, results, func(ctx context.Context, id, name string) (string, error) {
		return c.h.Text(ctx, base+"/jobs/"+id+"/diagnose/"+name, "text/plain", "diagnose/"+name, arexhttp.DiagnoseLimit)
	})
	return results, nil
}

// readJobs decodes and closes a job list answer under
// arexhttp.JobListLimits.
func (c *Client) readJobs(what string, body io.ReadCloser) ([]jobEntry, error) {
	defer body.Close()
	return decodeJobs(c.h.Msg(what, arexhttp.JobListLimits), body)
}
