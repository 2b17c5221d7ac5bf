package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/budget"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// IssuerMetadata is the part of an OpenID discovery document cesub uses.
type IssuerMetadata struct {
	Issuer          string   `json:"issuer"`
	TokenEndpoint   string   `json:"token_endpoint"`
	JWKSURI         string   `json:"jwks_uri"`
	ScopesSupported []string `json:"scopes_supported"`
	// DeviceAuthorizationEndpoint is RFC 8628's (RFC 8414 metadata); "" when the issuer has none.
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
}

// HTTPError is a non-success answer from an issuer, with its status line and
// a short, printable excerpt of the body.
type HTTPError struct {
	URL     string
	Code    int
	Status  string
	Excerpt string
}

// Refused reports an answer that rejects the credentials or the request
// (400, 401, 403), as opposed to an unavailable issuer (404, 5xx).
func (e *HTTPError) Refused() bool { return e.Code == 400 || e.Code == 401 || e.Code == 403 }

func (e *HTTPError) Error() string {
	s := e.URL + ": " + e.Status
	if e.Excerpt != "" {
		s += ": " + e.Excerpt
	}
	return s
}

// DiscoverIssuer fetches <issuer>/.well-known/openid-configuration.
func DiscoverIssuer(ctx context.Context, hc *http.Client, issuer string) (*IssuerMetadata, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("issuer %q is not a URL", issuer)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("issuer %q: only https issuers are allowed (client secrets and tokens never go over plain http)", issuer)
	}
	wk := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wk, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := guardRedirects(hc, false).Do(req)
	if err != nil {
		return nil, fmt.Errorf("issuer discovery: %w", netError(wk, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, fmt.Errorf("issuer discovery: read %s: %w", wk, err)
		}
		return nil, fmt.Errorf("issuer discovery: %w", &HTTPError{URL: wk, Code: resp.StatusCode, Status: resp.Status, Excerpt: excerpt(resp.Header, body)})
	}
	var md IssuerMetadata
	if err := (budget.Msg{Source: wk, What: "discovery document", Limits: IssuerLimits}).DecodeJSON(resp.Body, &md); budget.IsError(err) {
		return nil, fmt.Errorf("issuer discovery: %w", err)
	} else if err != nil && ctx.Err() != nil { // the answer broke off because time ran out
		return nil, fmt.Errorf("issuer discovery: %w", netError(wk, ctx.Err()))
	} else if err != nil {
		return nil, fmt.Errorf("issuer discovery: %s did not return JSON (%s): %v", wk, contentType(resp.Header), err)
	}
	if md.TokenEndpoint == "" {
		return nil, fmt.Errorf("issuer discovery: %s has no token_endpoint", wk)
	}
	if tu, err := url.Parse(md.TokenEndpoint); err != nil || tu.Scheme != "https" {
		return nil, fmt.Errorf("issuer discovery: token_endpoint %q is not an https URL", md.TokenEndpoint)
	}
	return &md, nil
}

func contentType(h http.Header) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt == "" {
		return "no content type"
	}
	return mt
}

// excerpt turns an error body into one short printable line; HTML is named, not shown.
func excerpt(h http.Header, body []byte) string {
	if strings.Contains(contentType(h), "html") || strings.HasPrefix(strings.TrimSpace(string(body)), "<") {
		return "the server answered with an HTML page"
	}
	var oe struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
		if oe.Desc != "" {
			return oe.Error + ": " + oe.Desc
		}
		return oe.Error
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// ClientCredentials describes an OAuth2 client-credentials grant.
type ClientCredentials struct {
	Issuer       string // discovery base; or set TokenURL
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	Audiences    []string
	HTTPClient   *http.Client
}

// Fetch runs the grant once.
func (cc *ClientCredentials) Fetch(ctx context.Context) (*Issued, error) {
	if cc.ClientID == "" {
		return nil, errors.New("client credentials: no client id (--client-id)")
	}
	hc := cc.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	tokenURL := cc.TokenURL
	if tokenURL == "" {
		if cc.Issuer == "" {
			return nil, errors.New("client credentials: no issuer (--issuer)")
		}
		md, err := DiscoverIssuer(ctx, hc, cc.Issuer)
		if err != nil {
			return nil, err
		}
		tokenURL = md.TokenEndpoint
	} else if u, err := url.Parse(tokenURL); err != nil || u.Scheme != "https" {
		return nil, fmt.Errorf("token endpoint %q: only https is allowed", tokenURL)
	}
	conf := clientcredentials.Config{ClientID: cc.ClientID, ClientSecret: cc.ClientSecret, TokenURL: tokenURL,
		Scopes: cc.Scopes, EndpointParams: url.Values{}}
	if len(cc.Audiences) > 0 {
		conf.EndpointParams.Set("audience", strings.Join(cc.Audiences, " "))
	}
	guarded := guardRedirects(hc, true)
	guarded.Transport = budgetTransport{next: guarded.Transport}
	t, err := conf.Token(context.WithValue(ctx, oauth2.HTTPClient, guarded))
	if err != nil {
		return nil, fmt.Errorf("client credentials grant at %s: %w", tokenURL, netError(tokenURL, describeOAuthError(err)))
	}
	if err := ValidB64Token(t.AccessToken); err != nil {
		return nil, fmt.Errorf("client credentials grant at %s: returned token: %w", tokenURL, err)
	}
	is := &Issued{Token: Token(t.AccessToken), Source: "client credentials (" + cc.ClientID + " at " + cc.Issuer + ")", Expiry: t.Expiry}
	if j, err := Decode(t.AccessToken); err == nil && j.Claims.Expiry != nil {
		is.Expiry = j.Claims.Expiry.Time
	}
	return is, nil
}

// netError words a timeout for a person; other errors pass through.
func netError(url string, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s did not answer in time (raise --timeout?): %w", url, context.DeadlineExceeded)
	}
	return err
}

func describeOAuthError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return &HTTPError{URL: re.Response.Request.URL.String(), Code: re.Response.StatusCode, Status: re.Response.Status, Excerpt: excerpt(re.Response.Header, re.Body)}
	}
	return err
}

// NewClientCredentialsSource is a refreshing Source running the grant.
func NewClientCredentialsSource(cc *ClientCredentials) *Caching {
	return &Caching{Label: "client credentials (" + cc.ClientID + ")", Fetch: func(ctx context.Context, _ time.Duration) (*Issued, error) {
		return cc.Fetch(ctx)
	}}
}
