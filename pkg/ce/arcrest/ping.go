package arcrest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/token"
)

// Ping implements ce.Backend: TLS and reachability (GET /rest, which also
// lists the API versions), then admission of the credential with a cheap
// authenticated request (the status of a job id that cannot exist: A-REX
// answers it without reading its jobs, where a listing, even one that
// matches nothing, reads every job of the user), then the
// implementation and version from the GLUE2 document. A refusal comes back
// as a result with Problem and Hint set, not as an error.
func (c *Client) Ping(ctx context.Context) (*ce.PingResult, error) {
	r := &ce.PingResult{Endpoint: c.endpoint}
	t0 := time.Now()
	resp, body, err := c.h.Get(c.rc.R().SetContext(ctx), c.endpoint+"/rest", "version discovery", http.StatusOK)
	r.Latency = time.Since(t0)
	if resp == nil || resp.RawResponse == nil {
		return arexhttp.Unanswered(r, err, c.addr.HostPort())
	}
	r.Reachable = true
	r.TLS = arexhttp.TLSSummary(resp.RawResponse.TLS)
	if c.src != nil {
		r.Identity = "bearer token from " + c.src.Name()
	} else {
		r.Identity = "X.509 (TLS client certificate)"
	}
	if body != nil {
		vr, err := c.readVersions(body)
		if err != nil {
			r.Problem = fmt.Sprintf("version discovery: %v", err)
			return r, nil
		}
		r.APIVersions = []string(vr.Version)
	}
	if _, err := c.Version(ctx); err != nil && resp.StatusCode() == http.StatusOK {
		r.Problem = err.Error()
		return r, nil
	}
	base, err := c.base(ctx)
	if err == nil {
		var probe *http.Response
		req := c.rc.R().SetContext(ctx).SetHeader("Content-Type", "application/json").
			SetBody([]byte(`{"job":[{"id":"cesub-ping"}]}`)).SetQueryParam("action", "status")
		pr, answer, perr := c.h.Post(req, base+"/jobs", "admission", http.StatusOK, http.StatusCreated)
		if pr != nil {
			probe = pr.RawResponse
		}
		if err = perr; err == nil {
			answer.Close() // only its status matters
			r.Admitted = true
		} else if probe == nil {
			r.Problem, r.Hint = err.Error(), ce.ConnectHint(err, c.addr.HostPort())
			return r, nil
		}
	}
	if !r.Admitted {
		r.Problem = err.Error()
		r.Refused = ce.IsAuthFailure(err)
		var ae *arexhttp.AuthError
		if errors.As(err, &ae) {
			r.Problem = ae.Refusal() // its hint is the one below
		}
		r.Hint = c.refusalHint(ctx, r.APIVersions, arexhttp.Unassigned(err.Error()))
		return r, nil
	}
	if info, err := c.Info(ctx); err == nil {
		r.Implementation, r.Version = info.Implementation, info.Version
	}
	return r, nil
}

// refusalHint explains a refusal from what cesub can see: the token's claims.
// unassigned: the CE answered "User can't be assigned configuration".
func (c *Client) refusalHint(ctx context.Context, versions []string, unassigned bool) string {
	if c.src == nil {
		return "the CE refused the X.509 proxy: its subject must be in an authgroup of the CE (ask the site), " +
			"and the proxy must be valid (`cesub proxy info`)"
	}
	is, err := c.src.Token(ctx, 0)
	if err != nil {
		return err.Error()
	}
	j, err := token.Decode(is.Token.Reveal())
	if err != nil {
		return "the token is not a JWT: " + err.Error()
	}
	arc7 := false
	for _, v := range versions {
		arc7 = arc7 || v == "1.1"
	}
	scopes := j.Claims.Scopes()
	var hints []string
	if arc7 && len(scopes) > 1 {
		if j.Claims.Scope.IsArray {
			hints = append(hints, "the token's scope claim is a JSON array: ARC 7.2 with tokenscopes=wlcg honours only its first element ("+
				scopes[0]+"); ARC 7.0 needs the array")
		} else {
			hints = append(hints, "the token's scope claim is a space-separated string: ARC 7.0 with tokenscopes=wlcg honours only an "+
				"array-valued scope claim (7.2 the string); ask for a token with one scope or the other form")
		}
	}
	if unassigned {
		return strings.Join(append(hints, arexhttp.UnassignedHint(j.Claims.Issuer, c.addr.HostPort())), "; ")
	}
	hints = append(hints, fmt.Sprintf("compare the token with the CE's rules: `cesub token check --ce %s`", c.addr.HostPort()))
	return strings.Join(hints, "; ")
}
