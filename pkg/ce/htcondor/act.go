package htcondor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// jobAction is the JobAction of an ACT_ON_JOBS request (JobAction in enum_utils.h).
type jobAction int64

const (
	jaHold    jobAction = 1
	jaRelease jobAction = 2
	jaRemove  jobAction = 3
)

// actionResult is the schedd's answer for one job (action_result_t in dc_schedd.h).
type actionResult int64

const (
	arError actionResult = iota
	arSuccess
	arNotFound
	arBadStatus
	arAlreadyDone
	arPermissionDenied
)

// Kill implements ce.Backend: condor_rm.
func (c *Client) Kill(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.act(ctx, jaRemove, "RemoveReason", "removed with cesub kill", ids)
}

// Clean implements ce.Backend: removes jobs from the queue (completed jobs
// stay there until then, so that their output can be fetched).
// A job the queue no longer has is cleaned already: the queue is the
// schedd's whole queue, not one identity's view of it (unlike A-REX).
func (c *Client) Clean(ctx context.Context, ids []string) ([]ce.Result, error) {
	res, err := c.act(ctx, jaRemove, "RemoveReason", "cleaned with cesub", ids)
	for i := range res {
		if errors.Is(res[i].Err, ce.ErrNotFound) {
			c.debugf("%s: no longer in the schedd's queue: cleaned already", res[i].ID)
			res[i].Err = nil
		}
	}
	return res, err
}

// Restart implements ce.Backend: condor_release of held jobs.
func (c *Client) Restart(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.act(ctx, jaRelease, "ReleaseReason", "released with cesub resume", ids)
}

// Hold implements ce.Holder: condor_hold.
func (c *Client) Hold(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.act(ctx, jaHold, "HoldReason", "held with cesub hold", ids)
}

// Release implements ce.Holder: condor_release.
func (c *Client) Release(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.act(ctx, jaRelease, "ReleaseReason", "released with cesub release", ids)
}

// act runs ACT_ON_JOBS for ids, 1000 at a time.
func (c *Client) act(ctx context.Context, action jobAction, reasonAttr, reason string, ids []string) ([]ce.Result, error) {
	if err := c.checkToken(ctx, "cancel"); err != nil {
		return nil, err
	}
	var out []ce.Result
	for start := 0; start < len(ids); start += 1000 {
		chunk := ids[start:min(start+1000, len(ids))]
		res, err := c.actChunk(ctx, action, reasonAttr, reason, chunk)
		if err != nil {
			if start == 0 {
				return nil, err
			}
			for _, id := range chunk {
				out = append(out, ce.Result{ID: c.JobID(id), Err: err})
			}
			continue
		}
		out = append(out, res...)
	}
	return out, nil
}

func (c *Client) actChunk(ctx context.Context, action jobAction, reasonAttr, reason string, ids []string) ([]ce.Result, error) {
	for _, id := range ids {
		if _, _, err := parseProcID(id); err != nil {
			return nil, err
		}
	}
	req := &classad.Ad{}
	req.SetInt("JobAction", int64(action))
	req.SetInt("ActionResultType", 1) // per job
	req.SetString("ActionIds", strings.Join(ids, ","))
	req.SetString(reasonAttr, reason)
	res, err := c.actRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	out := make([]ce.Result, len(ids))
	for i, id := range ids {
		key := "job_" + strings.Replace(id, ".", "_", 1)
		n, ok := res.Int(key)
		code := actionResult(n)
		var err error
		switch {
		case !ok:
			err = fmt.Errorf("the schedd did not answer for %s", id)
		case code == arSuccess || code == arAlreadyDone:
		case code == arNotFound:
			err = fmt.Errorf("%s: %w in the schedd's queue", c.JobID(id), ce.ErrNotFound)
		case code == arBadStatus:
			err = fmt.Errorf("%s: not possible in the job's state", c.JobID(id))
		case code == arPermissionDenied:
			err = &cedar.AuthError{Stage: "authorization", Msg: fmt.Sprintf("the schedd does not let this identity act on %s", c.JobID(id))}
		default:
			err = fmt.Errorf("%s: the schedd failed the action (result %d)", c.JobID(id), code)
		}
		out[i] = ce.Result{ID: c.JobID(id), Err: err}
	}
	return out, nil
}

// actRequest sends one ACT_ON_JOBS request and confirms it when the schedd
// asks (it does when the action succeeded for some job); the answer ad has
// the per-job results (job_C_P).
func (c *Client) actRequest(ctx context.Context, req *classad.Ad) (*classad.Ad, error) {
	ctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	conn, _, err := c.scheddConn(ctx, cedar.CmdActOnJobs)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.PutAd(req)
	if err := conn.EndMessage(); err != nil {
		return nil, err
	}
	res, err := conn.GetAd()
	if err != nil {
		return nil, fmt.Errorf("job action: %w", err)
	}
	if err := conn.FinishMessage(); err != nil {
		return nil, err
	}
	if r, _ := res.Int("ActionResult"); r == 1 {
		conn.PutInt(1)
		if err := conn.EndMessage(); err != nil {
			return nil, err
		}
		reply, err := conn.GetInt()
		if err != nil {
			return nil, fmt.Errorf("job action confirmation: %w", err)
		}
		if err := conn.FinishMessage(); err != nil {
			return nil, err
		}
		if reply != 1 {
			return nil, fmt.Errorf("the schedd did not commit the job action (reply %d)", reply)
		}
	}
	return res, nil
}
