package emies

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/adl"
)

// createRequest is the CreateActivity call for jobs; jobs with client-side
// inputs are marked ClientDataPush, as arcsub does.
func createRequest(jobs []jobdesc.Job, uploads [][]arexhttp.Upload) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<escreate:CreateActivity>")
	if _, err := adl.WriteElements(&b, jobs, func(i int) bool { return len(uploads[i]) > 0 }); err != nil {
		return nil, err
	}
	b.WriteString("</escreate:CreateActivity>")
	return envelope(b.String()), nil
}

// Submit implements ce.Backend: CreateActivity with up to 10 activities per
// call (A-REX's limit), calls in parallel; then the client-side inputs are
// uploaded to each job's StageInDirectory and the CE is notified
// (client-datapush-done). A job the CE created is returned even if a later
// step failed, so that it is recorded and never submitted twice; nothing is
// retried once a creation request may have been sent.
func (c *Client) Submit(ctx context.Context, jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Result, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if opts.Instances > 1 {
		return nil, errors.New("--instances needs ARC REST 1.1 (ARC 7); EMI-ES has no instances")
	}
	prepared, uploads, err := arexhttp.Prepare(jobs, opts.DelegationID, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	arexhttp.Mark(prepared, arexhttp.KeyOf(opts)) // found again by FindSubmission
	results := make([]ce.Result, len(jobs))
	stageIn := make([]string, len(jobs))
	now := time.Now().UTC()
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for start := 0; start < len(jobs); start += maxPerCall {
		end := min(start+maxPerCall, len(jobs))
		wg.Add(1)
		sem <- struct{}{}
		go func(start, end int) {
			defer wg.Done()
			defer func() { <-sem }()
			items, err := c.create(ctx, prepared[start:end], uploads[start:end])
			for i := start; i < end; i++ {
				if err != nil {
					results[i] = ce.Result{Err: err}
					continue
				}
				it := items[i-start]
				if it.err != nil {
					results[i] = ce.Result{Err: fmt.Errorf("the CE refused job %d: %w", i+1, it.err)}
					continue
				}
				st := it.status
				results[i] = ce.Result{ID: c.JobID(it.id), Job: &ce.Job{ID: c.JobID(it.id), LocalID: it.id, CE: c.endpoint,
					Flavour: ce.EMIES, Name: jobs[i].Name, State: st.state(), RawState: st.raw(), Submitted: &now}}
				stageIn[i] = it.stageIn
			}
		}(start, end)
	}
	wg.Wait()
	if ce.AllFailed(results) {
		return nil, results[0].Err
	}
	announced := opts.Announce(results)
	c.pushInputs(ctx, results, uploads, stageIn, opts.Progress)
	announced()
	return results, nil
}

// created is one ActivityCreationResponse.
type created struct {
	id      string
	stageIn string
	status  esStatus
	err     error
}

func (c *Client) create(ctx context.Context, jobs []jobdesc.Job, uploads [][]arexhttp.Upload) ([]created, error) {
	body, err := createRequest(jobs, uploads)
	if err != nil {
		return nil, err
	}
	resp, err := c.call(ctx, "CreateActivity", body)
	if err != nil {
		var fault *Fault
		var he *arexhttp.HTTPError
		if errors.As(err, &fault) || errors.As(err, &he) {
			return nil, err // the CE's own refusal
		}
		return nil, ce.MayExist(c.addr.Arg(), err) // no answer, or none that can be read
	}
	items := resp.children("ActivityCreationResponse")
	if len(items) > len(jobs) {
		return nil, ce.MayExist(c.addr.Arg(), fmt.Errorf("EMI-ES CreateActivity: the CE answered %d items for %d activities", len(items), len(jobs)))
	}
	out := make([]created, len(jobs))
	for i := len(items); i < len(jobs); i++ {
		// fewer items than activities: the ids it carries are recorded, the
		// rest are unknown (the CE may have made them)
		out[i].err = ce.MayExist(c.addr.Arg(), fmt.Errorf("EMI-ES CreateActivity: the CE answered %d items for %d activities, none for this one", len(items), len(jobs)))
	}
	for i, it := range items {
		if f := faultOf("CreateActivity", it); f != nil {
			out[i].err = f
			continue
		}
		out[i].id = it.text("ActivityID")
		if err := ce.Backends.CheckLocalID(ce.EMIES, out[i].id); err != nil {
			out[i].err = fmt.Errorf("EMI-ES CreateActivity: %w", err)
			continue
		}
		out[i].stageIn = it.child("StageInDirectory").text("URL")
		out[i].status = parseStatus(it.child("ActivityStatus"))
	}
	return out, nil
}

// pushInputs uploads the inputs of created jobs and tells the CE they are
// complete; a failure is recorded on the job (which stays in the results).
func (c *Client) pushInputs(ctx context.Context, results []ce.Result, uploads [][]arexhttp.Upload, stageIn []string, progress func(string, string, int64, int64)) {
	var work []arexhttp.Upload
	dirs := map[string]string{}
	var notify []string
	for i, r := range results {
		if r.Err != nil || len(uploads[i]) == 0 {
			continue
		}
		id := r.Job.LocalID
		dir := stageIn[i]
		if !strings.HasPrefix(dir, "https://") {
			dir = c.endpoint + "/" + id // what A-REX always answers; also refuses a plain-http stage-in URL
		}
		dirs[id] = strings.TrimSuffix(dir, "/")
		for _, u := range uploads[i] {
			u.Job = id
			work = append(work, u)
		}
		notify = append(notify, id)
	}
	if len(work) == 0 {
		return
	}
	urlOf := func(job, name string) string { return dirs[job] + "/" + arexhttp.EscapePath(name) }
	errs := c.h.UploadAll(ctx, work, urlOf, progress)
	var done []string
	for _, id := range notify {
		if errs[id] == nil {
			done = append(done, id)
		}
	}
	nerrs := c.notify(ctx, done)
	for i := range results {
		if results[i].Job == nil {
			continue
		}
		id := results[i].Job.LocalID
		if err := errs[id]; err != nil {
			results[i].Err = fmt.Errorf("job %s was created but an input upload failed (it will wait at the CE; clean it with `cesub clean`): %w", results[i].ID, err)
		} else if err := nerrs[id]; err != nil {
			results[i].Err = fmt.Errorf("job %s was created and its inputs uploaded, but telling the CE so failed (it will wait at the CE): %w", results[i].ID, err)
		}
	}
}

// notify sends client-datapush-done for jobs, in batches.
func (c *Client) notify(ctx context.Context, ids []string) map[string]error {
	errs := map[string]error{}
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		var b strings.Builder
		b.WriteString("<esmanag:NotifyService>")
		for _, id := range chunk {
			b.WriteString("<esmanag:NotifyRequestItem>" + elem("estypes:ActivityID", id) +
				elem("esmanag:NotifyMessage", "client-datapush-done") + "</esmanag:NotifyRequestItem>")
		}
		b.WriteString("</esmanag:NotifyService>")
		resp, err := c.call(ctx, "NotifyService", envelope(b.String()))
		if err != nil {
			for _, id := range chunk {
				errs[id] = err
			}
			continue
		}
		for id, err := range itemErrors("NotifyService", resp, "NotifyResponseItem", chunk) {
			errs[id] = err
		}
	}
	return errs
}

// itemErrors reads the per-activity items of a vector answer: the fault of
// each, and an error for an id the answer left out.
func itemErrors(op string, resp *node, itemName string, ids []string) map[string]error {
	errs := map[string]error{}
	seen := map[string]bool{}
	for _, it := range resp.children(itemName) {
		id := it.text("ActivityID")
		seen[id] = true
		if f := faultOf(op, it); f != nil {
			errs[id] = f
		}
	}
	for _, id := range ids {
		if !seen[id] {
			errs[id] = fmt.Errorf("EMI-ES %s: the CE did not answer for activity %s", op, id)
		}
	}
	return errs
}

// Kill implements ce.Backend (CancelActivity).
func (c *Client) Kill(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.manage(ctx, "CancelActivity", ids)
}

// Clean implements ce.Backend (WipeActivity: only terminal jobs).
func (c *Client) Clean(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.manage(ctx, "WipeActivity", ids)
}

// Restart implements ce.Backend (RestartActivity: failed jobs resume).
func (c *Client) Restart(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.manage(ctx, "RestartActivity", ids)
}

// manage runs an activity-management operation in batches.
func (c *Client) manage(ctx context.Context, op string, ids []string) ([]ce.Result, error) {
	var out []ce.Result
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		resp, err := c.call(ctx, op, envelope(idRequest("esmanag:"+op, chunk)))
		if err != nil {
			if start == 0 {
				return nil, err
			}
			for _, id := range chunk {
				out = append(out, ce.Result{ID: c.JobID(id), Err: err})
			}
			continue
		}
		errs := itemErrors(op, resp, op+"ResponseItem", chunk)
		for _, id := range chunk {
			err := errs[id]
			var f *Fault
			if errors.As(err, &f) && f.NotFound() {
				err = fmt.Errorf("%s: %w (%s)", c.JobID(id), arexhttp.ErrNotFound, f.Message)
			}
			out = append(out, ce.Result{ID: c.JobID(id), Err: err})
		}
	}
	return out, nil
}
