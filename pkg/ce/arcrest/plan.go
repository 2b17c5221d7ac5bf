package arcrest

import (
	"fmt"
	"strconv"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/adl"
)

// PlanSubmit implements ce.Planner: the exact requests Submit would send, in
// order, with credentials redacted, and nothing sent. Local inputs are
// checked as in Submit. The version is the remembered one; when none is, the
// discovery request comes first and 1.0 is assumed after it.
func (c *Client) PlanSubmit(jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Request, error) {
	var out []ce.Request
	auth := c.authHeader()
	v := c.version
	if v == "" {
		out = append(out, ce.Request{Method: "GET", URL: c.endpoint + "/rest", Header: append(auth, "Accept: application/json"),
			Note: "version discovery (the CE's answer picks 1.1 when offered; 1.0 is shown below)"})
		v = "1.0"
	}
	base := c.endpoint + "/rest/" + v
	prepared, perJob, err := arexhttp.Prepare(jobs, opts.DelegationID, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	var uploads []arexhttp.Upload
	for i, u := range perJob {
		for k := range u {
			u[k].Job = fmt.Sprintf("<id of job %d>", i+1)
		}
		uploads = append(uploads, u...)
	}
	arexhttp.Mark(prepared, "<key of this submission>")
	doc, _, err := adl.Write(prepared...)
	if err != nil {
		return nil, err
	}
	url := base + "/jobs?action=new"
	if opts.Instances > 1 {
		url += "&instances=" + strconv.Itoa(opts.Instances)
	}
	out = append(out, ce.Request{Method: "POST", URL: url,
		Header: append(auth, "Content-Type: application/xml", "Accept: application/json"), Body: string(doc)})
	for _, u := range uploads {
		out = append(out, ce.Request{Method: "PUT", URL: base + "/jobs/" + u.Job + "/session/" + escapePath(u.Name),
			Header: append(auth, "Content-Type: application/octet-stream", "Content-Length: "+strconv.FormatInt(u.Size, 10)),
			Note:   "body: " + u.Path})
	}
	return out, nil
}

func (c *Client) authHeader() []string {
	if c.src != nil {
		return []string{"Authorization: Bearer [REDACTED]"}
	}
	return nil
}
