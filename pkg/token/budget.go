package token

import (
	"io"
	"net/http"
	"strings"

	"github.com/cesub/cesub/pkg/budget"
)

// IssuerLimits bound an issuer's JSON answer (its discovery document, its
// token answer) and oidc-agent's reply, read as streams (package budget).
// A discovery document is a few KB with tens of members and lists of a few
// dozen scopes, claims and algorithms; a token answer is a few members and
// a token of a few KB. 1 MiB (the cap before), 20,000 values and 2,000
// entries in one list are far above that; 64 KiB bounds any one string
// (a token included).
var IssuerLimits = budget.Limits{Bytes: 1 << 20, Elements: 20_000, Entries: 2_000, Depth: 16, Text: 64 << 10}

// budgetTransport reads every answer of a token endpoint under
// IssuerLimits: a JSON answer through the JSON budget, any other (a form
// encoded answer, an error page) under its bytes. x/oauth2 reads and
// decodes the answer itself; a read past a limit fails it.
type budgetTransport struct {
	next http.RoundTripper
}

func (t budgetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	m := budget.Msg{Source: req.URL.Redacted(), What: "token answer", Limits: IssuerLimits}
	r := m.BytesReader(resp.Body)
	if strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "json") {
		r = m.JSONReader(resp.Body)
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{r, resp.Body}
	return resp, nil
}
