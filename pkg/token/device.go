package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// DeviceLogin is the OAuth2 device authorization grant (RFC 8628): the
// user opens a URL on any device, enters a code and logs in; cesub polls
// the token endpoint until the issuer answers with the tokens.
type DeviceLogin struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client
	Scopes       []string
	Audiences    []string
	HTTPClient   *http.Client
	// Prompt shows the user where to log in and the code (called once,
	// before polling starts).
	Prompt func(DevicePrompt)
	// Notice tells the user of a change while waiting (the issuer asked
	// to poll more slowly); nil: nothing is said.
	Notice func(string)
}

// DevicePrompt is what the user needs to log in.
type DevicePrompt struct {
	VerificationURI         string
	VerificationURIComplete string // "" when the issuer gives none
	UserCode                string
	Expiry                  time.Time // zero when the issuer gives none
	Interval                time.Duration
}

// Login is what a device login or a refresh gave.
type Login struct {
	Issued   *Issued
	Refresh  Token // "" when the issuer gave no refresh token
	TokenURL string
}

// DeviceError is a device login's final refusal: the user denied it
// (access_denied) or did not complete it in time (expired_token).
type DeviceError struct {
	Code string // access_denied or expired_token
	Desc string // the issuer's error_description, or what cesub saw
}

func (e *DeviceError) Error() string {
	var s string
	switch e.Code {
	case "access_denied":
		s = "the login was denied at the issuer (access_denied)"
	case "expired_token":
		s = "the login code expired before the login was completed (expired_token): run `cesub token get --device` again and log in before the code expires"
	default:
		s = "device login: " + e.Code
	}
	if e.Desc != "" {
		s += ": " + e.Desc
	}
	return s
}

// Refused reports a denial (exit 4); an expired code is not one: the
// same login can simply be tried again.
func (e *DeviceError) Refused() bool { return e.Code == "access_denied" }

// deviceGrant is the RFC 8628 grant type.
const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// Run performs the login: discovery, the device authorization request,
// the prompt, then polling at the issuer's interval (slow_down adds 5 s,
// authorization_pending waits) until the tokens come or the code expires.
func (d *DeviceLogin) Run(ctx context.Context) (*Login, error) {
	conf, hc, err := d.config(ctx)
	if err != nil {
		return nil, err
	}
	watch := &pollWatch{}
	octx := context.WithValue(ctx, oauth2.HTTPClient, watch.client(hc))
	da, err := conf.DeviceAuth(octx, d.authOptions(true)...)
	if err != nil {
		return nil, fmt.Errorf("device authorization at %s: %w", conf.Endpoint.DeviceAuthURL, netError(conf.Endpoint.DeviceAuthURL, describeOAuthError(err)))
	}
	if err := checkDeviceAuth(da); err != nil {
		return nil, fmt.Errorf("device authorization at %s: %w", conf.Endpoint.DeviceAuthURL, err)
	}
	interval := time.Duration(da.Interval) * time.Second
	if da.Interval <= 0 {
		interval = 5 * time.Second
	}
	watch.onSlowDown = func() {
		interval += 5 * time.Second
		if d.Notice != nil {
			d.Notice(fmt.Sprintf("the issuer asked cesub to poll more slowly (slow_down): now every %s", interval))
		}
	}
	if d.Prompt != nil {
		d.Prompt(DevicePrompt{VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
			UserCode: da.UserCode, Expiry: da.Expiry, Interval: interval})
	}
	t, err := conf.DeviceAccessToken(octx, da, d.authOptions(false)...)
	if err != nil {
		return nil, d.pollError(ctx, conf.Endpoint.TokenURL, da, err)
	}
	return loginFrom(t, conf.Endpoint.TokenURL, "device login ("+d.ClientID+" at "+d.Issuer+")")
}

// config discovers the issuer's endpoints.
func (d *DeviceLogin) config(ctx context.Context) (*oauth2.Config, *http.Client, error) {
	if d.ClientID == "" || d.Issuer == "" {
		return nil, nil, errors.New("device login: needs --issuer and --client-id")
	}
	hc := d.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	md, err := DiscoverIssuer(ctx, hc, d.Issuer)
	if err != nil {
		return nil, nil, err
	}
	if md.DeviceAuthorizationEndpoint == "" {
		return nil, nil, fmt.Errorf("issuer %s offers no device login: its discovery document has no device_authorization_endpoint", d.Issuer)
	}
	if u, err := url.Parse(md.DeviceAuthorizationEndpoint); err != nil || u.Scheme != "https" {
		return nil, nil, fmt.Errorf("issuer discovery: device_authorization_endpoint %q is not an https URL", md.DeviceAuthorizationEndpoint)
	}
	return &oauth2.Config{ClientID: d.ClientID, ClientSecret: d.ClientSecret, Scopes: d.Scopes,
		Endpoint: oauth2.Endpoint{TokenURL: md.TokenEndpoint, DeviceAuthURL: md.DeviceAuthorizationEndpoint,
			AuthStyle: authStyle(d.ClientSecret)}}, hc, nil
}

// authStyle fixes how the client authenticates: x/oauth2's default tries
// one way and, on any error, the other, which would send every poll twice
// (and a final answer, access_denied, is then followed by an unknown device
// code). A public client sends its id in the form, a confidential one HTTP
// Basic (RFC 6749 section 2.3.1).
func authStyle(secret string) oauth2.AuthStyle {
	if secret == "" {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// authOptions adds the audience; x/oauth2 sends no client secret with the
// device authorization request, so a confidential client's goes in its form.
func (d *DeviceLogin) authOptions(authRequest bool) []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	if len(d.Audiences) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("audience", strings.Join(d.Audiences, " ")))
	}
	if authRequest && d.ClientSecret != "" {
		opts = append(opts, oauth2.SetAuthURLParam("client_secret", d.ClientSecret))
	}
	return opts
}

func checkDeviceAuth(da *oauth2.DeviceAuthResponse) error {
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return errors.New("the answer lacks device_code, user_code or verification_uri")
	}
	for _, s := range []string{da.UserCode, da.VerificationURI, da.VerificationURIComplete} {
		if len(s) > 2048 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return errors.New("the answer's user code or verification URI is too long or holds control characters")
		}
	}
	return nil
}

// pollError words why polling stopped.
func (d *DeviceLogin) pollError(ctx context.Context, tokenURL string, da *oauth2.DeviceAuthResponse, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && (re.ErrorCode == "access_denied" || re.ErrorCode == "expired_token") {
		return &DeviceError{Code: re.ErrorCode, Desc: re.ErrorDescription}
	}
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && !da.Expiry.IsZero() && !time.Now().Before(da.Expiry) {
		return &DeviceError{Code: "expired_token", Desc: "the code's lifetime (expires_in) ran out while waiting"}
	}
	return fmt.Errorf("device login at %s: %w", tokenURL, netError(tokenURL, describeOAuthError(err)))
}

// loginFrom checks the token endpoint's answer.
func loginFrom(t *oauth2.Token, tokenURL, source string) (*Login, error) {
	if err := ValidB64Token(t.AccessToken); err != nil {
		return nil, fmt.Errorf("%s: returned token: %w", tokenURL, err)
	}
	if strings.ContainsFunc(t.RefreshToken, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("%s: the returned refresh token holds spaces or control characters", tokenURL)
	}
	is := &Issued{Token: Token(t.AccessToken), Source: source, Expiry: t.Expiry}
	if j, err := Decode(t.AccessToken); err == nil && j.Claims.Expiry != nil {
		is.Expiry = j.Claims.Expiry.Time
	}
	return &Login{Issued: is, Refresh: Token(t.RefreshToken), TokenURL: tokenURL}, nil
}

// pollWatch sees the token endpoint's error answers while x/oauth2 polls
// (to tell the user of slow_down); every answer is read under IssuerLimits
// and redirects stay on the token endpoint's origin.
type pollWatch struct {
	next       http.RoundTripper
	mu         sync.Mutex
	onSlowDown func()
}

func (w *pollWatch) client(hc *http.Client) *http.Client {
	c := guardRedirects(hc, true)
	w.next = budgetTransport{next: c.Transport}
	c.Transport = w
	return c
}

func (w *pollWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var oe struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &oe) == nil && oe.Error == "slow_down" {
		w.mu.Lock()
		if w.onSlowDown != nil {
			w.onSlowDown()
		}
		w.mu.Unlock()
	}
	return resp, nil
}
