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
	arexhttp.Mark(prepared, "<key of this submission>") // as Submit sends them
	auth := c.planHeader()
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

// PlanDelegate implements ce.Planner: EMI-ES delegation is two SOAP calls
// to the endpoint, InitDelegation (the CE answers a delegation id and a
// certificate request) and PutDelegation (the proxy signed from it).
// EMI-ES has no token delegation.
func (c *Client) PlanDelegate(kind string) ([]ce.Request, error) {
	if kind != ce.DelegateX509 {
		return nil, fmt.Errorf("EMI-ES delegates X.509 proxies only (token delegation needs ARC REST 1.1)")
	}
	auth := c.planHeader()
	return []ce.Request{
		{Method: "POST", URL: c.endpoint, Header: auth, Body: string(initDelegation("")),
			Note: "EMI-ES InitDelegation: the CE answers a delegation id and a certificate request"},
		{Method: "POST", URL: c.endpoint, Header: auth,
			Note: "EMI-ES PutDelegation for <delegation-id>: a proxy signed by the local proxy from that request, with its chain"},
	}, nil
}

// planHeader is the header of every EMI-ES call a plan shows.
func (c *Client) planHeader() []string {
	h := []string{"Content-Type: text/xml; charset=utf-8"}
	if c.h.UsesToken() {
		h = append(h, ce.RedactedBearer)
	}
	return h
}
