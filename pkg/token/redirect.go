package token

import (
	"fmt"
	"net/http"
	"net/url"
)

// RedirectError is an issuer redirecting a request where cesub will not
// send it: to plain http, or — for a token request, which carries the
// client secret — to another scheme, host or port.
type RedirectError struct {
	From, To string
	Why      string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s redirected to %s: refused (%s)", e.From, e.To, e.Why)
}

// guardRedirects is a copy of hc (same transport) whose redirects must stay
// on https; with sameOrigin, also on the first request's host and port. The
// standard library would follow a redirect to http:// and, for 307/308,
// send the body (the client secret) again.
func guardRedirects(hc *http.Client, sameOrigin bool) *http.Client {
	cp := *hc
	next := hc.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first, prev := via[0].URL, via[len(via)-1].URL
		e := &RedirectError{From: prev.Redacted(), To: req.URL.Redacted()}
		switch {
		case req.URL.Scheme != "https":
			e.Why = "client secrets and tokens never go over plain http"
			return e
		case sameOrigin && !sameHostPort(first, req.URL):
			e.Why = "a token request carries the client secret; it is sent to the token endpoint's host and port only"
			return e
		case len(via) >= 5:
			return fmt.Errorf("%s: more than 5 redirects", via[0].URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &cp
}

func sameHostPort(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && a.Hostname() == b.Hostname() && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}
