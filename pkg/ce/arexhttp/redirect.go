package arexhttp

import (
	"fmt"
	"net/http"
	"net/url"
)

// RedirectError is a CE answering with a redirect. cesub follows none: A-REX
// never redirects its REST or EMI-ES requests, and following one would send
// the bearer token (or a delegated credential) to wherever the answer points
// — plain http or another port of the host included.
type RedirectError struct {
	From, To string
	Code     int
}

func (e *RedirectError) Error() string {
	s := fmt.Sprintf("the CE redirected %s to %s", e.From, e.To)
	if e.Code != 0 {
		s = fmt.Sprintf("the CE answered %d and redirected %s to %s", e.Code, e.From, e.To)
	}
	return s + "; cesub follows no redirect from a CE (the token would go with it): use the URL the CE names in -C if it is the CE's"
}

// refuseRedirect is the CheckRedirect of every A-REX client: nothing is
// followed, and nothing (the Authorization header included) is sent to the
// redirect's target.
func refuseRedirect(req *http.Request, via []*http.Request) error {
	e := &RedirectError{To: redacted(req.URL)}
	if len(via) > 0 {
		e.From = redacted(via[len(via)-1].URL)
	}
	if req.Response != nil {
		e.Code = req.Response.StatusCode
	}
	return e
}

// redacted is a URL without user info or a long query (a pre-signed URL).
func redacted(u *url.URL) string {
	if u == nil {
		return ""
	}
	return ShortURL(u.Redacted())
}

// noRedirects is a copy of hc that follows no redirect (the transport is
// shared, so the connection pool is too).
func noRedirects(hc *http.Client) *http.Client {
	cp := *hc
	cp.CheckRedirect = refuseRedirect
	return &cp
}
