package arcrest

import (
	"errors"
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
	auth := c.authHeader()
	out, base := c.planBase()
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

// PlanDelegate implements ce.Planner: the requests Delegate makes for a
// new delegation. X.509: the CE hands out a certificate request, the proxy
// signed from it goes back. Token (REST 1.1 only): the bearer token is
// stored with the X-Token-Delegation header.
func (c *Client) PlanDelegate(kind string) ([]ce.Request, error) {
	auth := c.authHeader()
	out, base := c.planBase()
	switch kind {
	case ce.DelegateX509:
		return append(out,
			ce.Request{Method: "POST", URL: base + "/delegations?action=new", Header: append(auth, "Accept: application/x-pem-file"),
				Note: "the CE answers a certificate request"},
			ce.Request{Method: "PUT", URL: base + "/delegations/<delegation-id>", Header: append(auth, "Content-Type: application/x-pem-file"),
				Note: "body: a proxy signed by the local proxy from that request, with its chain"}), nil
	case ce.DelegateToken:
		if c.src == nil {
			return nil, errors.New("token delegation needs a bearer token")
		}
		if v := c.KnownVersion(); v != "" && v != "1.1" {
			return nil, fmt.Errorf("token delegation needs ARC REST 1.1 (ARC 7); %s speaks %s", c.endpoint, v)
		}
		return append(out, ce.Request{Method: "POST", URL: c.endpoint + "/rest/1.1/delegations?action=new&type=jwt",
			Header: append(auth, "X-Token-Delegation: "+ce.Redacted), Note: "needs ARC REST 1.1 (ARC 7)"}), nil
	}
	return nil, fmt.Errorf("delegation type %q: want %s or %s", kind, ce.DelegateX509, ce.DelegateToken)
}

// planBase is the REST base URL a plan shows: the remembered version's;
// when none is, the discovery request comes first and 1.0 is assumed
// after it (the CE's answer picks 1.1 when offered).
func (c *Client) planBase() ([]ce.Request, string) {
	if v := c.KnownVersion(); v != "" {
		return nil, c.endpoint + "/rest/" + v
	}
	return []ce.Request{{Method: "GET", URL: c.endpoint + "/rest", Header: append(c.authHeader(), "Accept: application/json"),
		Note: "version discovery (the CE's answer picks 1.1 when offered; 1.0 is shown below)", Once: "version discovery"}}, c.endpoint + "/rest/1.0"
}

func (c *Client) authHeader() []string {
	if c.src != nil {
		return []string{ce.RedactedBearer}
	}
	return nil
}
