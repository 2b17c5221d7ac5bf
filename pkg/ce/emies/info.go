package emies

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// resourceInfo is the GetResourceInfo answer: GLUE2 services.
type resourceInfo struct {
	Services []arexhttp.GLUE2Service `xml:"Services>ComputingService"`
}

// Info implements ce.Backend: a summary of GetResourceInfo's GLUE2.
func (c *Client) Info(ctx context.Context) (*ce.Info, error) {
	var ri resourceInfo
	if _, err := c.postInto(ctx, "GetResourceInfo", envelope("<esrinfo:GetResourceInfo/>"), &ri, arexhttp.InfoLimits); err != nil {
		return nil, err
	}
	info := arexhttp.SummariseGLUE2(c.endpoint, ri.Services, "org.ogf.glue.emies.activitycreation")
	for _, s := range ri.Services {
		for _, e := range s.Endpoints {
			if e.InterfaceName == "org.ogf.glue.emies.activitycreation" {
				info.APIVersions = append(info.APIVersions, e.InterfaceVersion...)
			}
		}
	}
	return info, nil
}

// Ping implements ce.Backend: TLS and the SOAP service (an empty
// ListActivities window, which needs an identity the CE maps, so it also
// tells whether the credential is admitted), then the implementation from
// GetResourceInfo. A refusal is a result with Problem and Hint set.
func (c *Client) Ping(ctx context.Context) (*ce.PingResult, error) {
	r := &ce.PingResult{Endpoint: c.endpoint, Identity: "X.509 (TLS client certificate)"}
	if c.h.UsesToken() {
		r.Identity = "bearer token from " + c.h.Token().Name()
	}
	t0 := time.Now()
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	op := "<esainfo:ListActivities>" + elem("esainfo:FromDate", epoch.Format("2006-01-02T15:04:05Z")) +
		elem("esainfo:ToDate", epoch.Format("2006-01-02T15:04:05Z")) + elem("esainfo:Limit", "1") + "</esainfo:ListActivities>"
	resp, _, err := c.post(ctx, "ListActivities", envelope(op))
	r.Latency = time.Since(t0)
	if resp == nil { // no answer at all
		return arexhttp.Unanswered(r, err, c.addr.HostPort())
	}
	r.Reachable = true
	r.TLS = arexhttp.TLSSummary(resp.RawResponse.TLS)
	if err != nil {
		var ae *arexhttp.AuthError
		r.Problem = err.Error()
		if errors.As(err, &ae) {
			r.Refused = true
			r.Hint = fmt.Sprintf("compare the credential with the CE's rules: `cesub token check --ce %s` (tokens) or ask the site to admit the proxy's subject", c.addr.HostPort())
		} else if isFault(err, "") || resp.StatusCode() == http.StatusInternalServerError || resp.StatusCode() == http.StatusNotFound {
			r.Unsupported = true
			r.Hint = "the endpoint does not serve EMI-ES (ARC 7 dropped it): use the REST interface (-C https://" + c.addr.HostPort() + c.addr.Path + ")"
		}
		return r, nil
	}
	r.Admitted = true
	if info, err := c.Info(ctx); err == nil {
		r.Implementation, r.Version, r.APIVersions = info.Implementation, info.Version, info.APIVersions
	}
	return r, nil
}
