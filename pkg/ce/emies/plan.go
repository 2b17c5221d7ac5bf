package emies

import (
	"fmt"
	"strconv"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// PlanSubmit implements ce.Planner: the CreateActivity calls, uploads and
// notification a submission would make, nothing sent.
func (c *Client) PlanSubmit(jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Request, error) {
	prepared, uploads, err := arexhttp.Prepare(jobs, opts.DelegationID, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	auth := []string{"Content-Type: text/xml; charset=utf-8"}
	if c.h.UsesToken() {
		auth = append(auth, "Authorization: Bearer <redacted>")
	}
	var out []ce.Request
	var notify int
	for start := 0; start < len(jobs); start += maxPerCall {
		end := min(start+maxPerCall, len(jobs))
		body, err := createRequest(prepared[start:end], uploads[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, ce.Request{Method: "POST", URL: c.endpoint, Header: auth, Body: string(body),
			Note: fmt.Sprintf("EMI-ES CreateActivity for jobs %d-%d", start+1, end)})
	}
	for i, us := range uploads {
		if len(us) > 0 {
			notify++
		}
		for _, u := range us {
			out = append(out, ce.Request{Method: "PUT", URL: c.endpoint + "/<id of job " + strconv.Itoa(i+1) + ">/" + arexhttp.EscapePath(u.Name),
				Note: fmt.Sprintf("upload %s (%d bytes) to the StageInDirectory the CE returns", u.Path, u.Size)})
		}
	}
	if notify > 0 {
		out = append(out, ce.Request{Method: "POST", URL: c.endpoint, Header: auth,
			Note: fmt.Sprintf("EMI-ES NotifyService client-datapush-done for the %d jobs with uploaded inputs", notify)})
	}
	return out, nil
}
