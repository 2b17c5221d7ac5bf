package arcrest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// Ping implements ce.Backend: TLS and reachability (GET /rest, which also
// lists the API versions), then admission of the credential with a cheap
// authenticated request (GET jobs?state= with a state no job has), then the
// implementation and version from the GLUE2 document. A refusal comes back
// as a result with Problem and Hint set, not as an error.
func (c *Client) Ping(ctx context.Context) (*ce.PingResult, error) {
	r := &ce.PingResult{Endpoint: c.endpoint}
	t0 := time.Now()
	resp, err := c.rc.R().SetContext(ctx).Get(c.endpoint + "/rest")
	r.Latency = time.Since(t0)
	if err != nil {
		var ae *AuthError
		if errors.As(err, &ae) {
			return nil, err
		}
		r.Problem, r.Hint = err.Error(), connectHint(err, c.addr.HostPort())
		return r, nil
	}
	r.Reachable = true
	if st := resp.RawResponse.TLS; st != nil {
		r.TLS = tls.VersionName(st.Version)
		if len(st.PeerCertificates) > 0 {
			r.TLS += ", server certificate " + x509proxy.GridName(st.PeerCertificates[0].RawSubject)
		}
	}
	if c.src != nil {
		r.Identity = "bearer token from " + c.src.Name()
	} else {
		r.Identity = "X.509 (TLS client certificate)"
	}
	if resp.StatusCode() == http.StatusOK {
		var vr versionsResponse
		if err := jsonUnmarshal(resp.Body(), &vr); err == nil {
			r.APIVersions = []string(vr.Version)
		}
	}
	if _, err := c.Version(ctx); err != nil && resp.StatusCode() == http.StatusOK {
		r.Problem = err.Error()
		return r, nil
	}
	base, err := c.base(ctx)
	if err == nil {
		var probe *http.Response
		pr, perr := c.rc.R().SetContext(ctx).SetQueryParam("state", "cesub-ping").Get(base + "/jobs")
		if pr != nil {
			probe = pr.RawResponse
		}
		if err = check("admission", pr, perr, http.StatusOK); err == nil {
			r.Admitted = true
		} else if probe == nil {
			r.Problem, r.Hint = err.Error(), connectHint(err, c.addr.HostPort())
			return r, nil
		}
	}
	if !r.Admitted {
		r.Problem = err.Error()
		r.Hint = c.refusalHint(ctx, r.APIVersions)
		return r, nil
	}
	if info, err := c.Info(ctx); err == nil {
		r.Implementation, r.Version = info.Implementation, info.Version
	}
	return r, nil
}

// connectHint explains the usual network and TLS failures.
func connectHint(err error, hostPort string) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var oe *net.OpError
	switch {
	case errors.As(err, &ua):
		return "the CE's certificate is signed by a CA that is not trusted here: install the CA (the IGTF bundle " +
			"in /etc/grid-security/certificates) or point --ca-dir / X509_CERT_DIR at it"
	case errors.As(err, &he):
		return fmt.Sprintf("the CE's certificate is for %s, not for the name you used (%s): use the CE's real host name",
			strings.Join(append(he.Certificate.DNSNames, he.Certificate.Subject.CommonName), ", "), hostPort)
	case errors.As(err, &ie):
		if ie.Reason == x509.Expired {
			return "the CE's certificate has expired (or this machine's clock is wrong)"
		}
		return "the CE's certificate is not valid for TLS server use"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens on " + hostPort + ": the CE is down or the port is wrong (A-REX: 443 or 8443, HTCondor-CE: 9619)"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &oe) && oe.Timeout():
		return "no answer in time: a firewall may drop the traffic, or the CE is overloaded (raise --timeout to wait longer)"
	case strings.Contains(err.Error(), "no such host"):
		return "the host name does not resolve"
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return "the port speaks plain HTTP, not HTTPS"
	}
	return ""
}

// refusalHint explains a refusal from what cesub can see: the token's claims.
func (c *Client) refusalHint(ctx context.Context, versions []string) string {
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
	hints = append(hints, fmt.Sprintf("compare the token with the CE's rules: `cesub token check --ce %s`", c.addr.HostPort()))
	return strings.Join(hints, "; ")
}
