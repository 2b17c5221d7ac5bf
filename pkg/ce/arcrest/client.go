// Package arcrest is the ARC CE (A-REX) REST backend: version discovery
// (1.1 when offered, else 1.0), submission of ADL (bulk in one request),
// upload of client-side inputs, status, kill, clean, restart, listing, session
// file access and recursive download. One keep-alive client per CE; since
// A-REX binds a token's identity to the TLS connection, a changed token gets
// a fresh connection. It registers itself as flavour "arc".
package arcrest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
	"github.com/go-resty/resty/v2"
)

func init() { ce.Backends.Register(ce.ARC, New) }

// Client talks to one A-REX.
type Client struct {
	addr     ce.Address
	endpoint string // https://host:port/arex
	rc       *resty.Client
	src      token.Source
	debugf   func(string, ...any)

	mu       sync.Mutex
	version  string // negotiated REST version
	lastTok  string
	minValid time.Duration
}

// New builds a client for cfg.Address (flavour arc).
func New(cfg ce.Config) (ce.Backend, error) { return NewClient(cfg) }

// NewClient is New with the concrete type.
func NewClient(cfg ce.Config) (*Client, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	debugf := cfg.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	c := &Client{addr: cfg.Address, endpoint: "https://" + cfg.Address.HostPort() + cfg.Address.Path, src: cfg.Token,
		debugf: debugf, minValid: time.Minute}
	c.rc = resty.NewWithClient(hc)
	if cfg.Timeout > 0 {
		c.rc.SetTimeout(cfg.Timeout)
	}
	c.rc.SetHeader("Accept", "application/json")
	// One retry, only where it cannot duplicate anything: a connection that
	// failed before the request was sent (dial, TLS handshake; A-REX 6.17
	// now and then fails a handshake under load), or any transport error
	// of a GET/HEAD.
	c.rc.SetRetryCount(1).SetRetryWaitTime(200 * time.Millisecond).SetRetryMaxWaitTime(time.Second)
	c.rc.SetLogger(restyLogger{debugf})
	c.rc.AddRetryCondition(func(r *resty.Response, err error) bool {
		if err == nil || r == nil || r.Request == nil {
			return false
		}
		if permanent(err) {
			return false
		}
		if m := r.Request.Method; m == http.MethodGet || m == http.MethodHead {
			return true
		}
		if _, isReader := r.Request.Body.(io.Reader); isReader {
			return false // a consumed file body cannot be sent again
		}
		return notSent(err)
	})
	c.rc.OnBeforeRequest(func(_ *resty.Client, r *resty.Request) error { return c.authorize(r) })
	return c, nil
}

// authorize adds the bearer token. A-REX binds the first token's identity to
// a keep-alive connection, so a new token must not reuse an old connection.
func (c *Client) authorize(r *resty.Request) error {
	if !strings.HasPrefix(r.URL, "https://") {
		return fmt.Errorf("refusing to send a request to %s: only https is allowed", r.URL)
	}
	if c.src == nil {
		return nil
	}
	ctx := r.Context()
	is, err := c.src.Token(ctx, c.minValid)
	if err != nil {
		return &AuthError{Op: "token", Err: err}
	}
	tok := is.Token.Reveal()
	c.mu.Lock()
	changed := c.lastTok != "" && c.lastTok != tok
	c.lastTok = tok
	c.mu.Unlock()
	if changed {
		c.debugf("token changed: closing idle connections (A-REX binds a token to its connection)")
		c.rc.GetClient().CloseIdleConnections()
	}
	r.SetHeader("Authorization", "Bearer "+tok)
	return nil
}

// permanent reports errors a retry cannot cure: certificate verification,
// cancellation, timeouts.
func permanent(err error) bool {
	var cv *tls.CertificateVerificationError
	return errors.As(err, &cv) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "failed to verify certificate")
}

// notSent reports errors that happen before any byte of the request is
// written: dialing and the TLS handshake.
func notSent(err error) bool {
	var rh tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &rh):
		return true
	case errors.As(err, &op) && op.Op == "dial":
		return true
	case strings.Contains(err.Error(), "tls: handshake failure"), strings.Contains(err.Error(), "remote error: tls"):
		return true
	}
	return false
}

// restyLogger sends resty's own messages (retries) to the debug output.
type restyLogger struct{ debugf func(string, ...any) }

func (l restyLogger) Errorf(format string, v ...any) { l.debugf("resty: "+format, v...) }
func (l restyLogger) Warnf(format string, v ...any)  { l.debugf("resty: "+format, v...) }
func (l restyLogger) Debugf(format string, v ...any) { l.debugf("resty: "+format, v...) }

// AuthError is a refusal by the CE (or a token that cannot be had): exit 4.
type AuthError struct {
	Op  string
	Err error
}

func (e *AuthError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }

// AuthFailure marks the error as an authentication/authorization failure.
func (e *AuthError) AuthFailure() bool { return true }

// HTTPError is an unexpected answer, with A-REX's reason phrase.
type HTTPError struct {
	Op     string
	URL    string
	Code   int
	Status string
	Body   string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: %s answered %s", e.Op, e.URL, e.Status)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// check turns a non-success response into an error.
func check(op string, resp *resty.Response, err error, ok ...int) error {
	if err != nil {
		var ae *AuthError
		if errors.As(err, &ae) {
			return err
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, code := range ok {
		if resp.StatusCode() == code {
			return nil
		}
	}
	body := strings.TrimSpace(string(resp.Body()))
	url := shortURL(resp.Request.URL)
	if strings.HasPrefix(body, "<") && strings.Contains(strings.ToLower(resp.Header().Get("Content-Type")), "html") {
		body = "(an HTML page)"
	}
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	he := &HTTPError{Op: op, URL: url, Code: resp.StatusCode(), Status: resp.Status(), Body: body}
	// ARC 7 answers an identity it cannot map with 500 "User can't be assigned configuration".
	if resp.StatusCode() == http.StatusInternalServerError && strings.Contains(resp.Status()+body, "can't be assigned configuration") {
		return &AuthError{Op: op, Err: fmt.Errorf("%s answered %s (the CE does not admit this identity; check `cesub token check --ce %s`)", url, resp.Status(), hostOf(url))}
	}
	if resp.StatusCode() == http.StatusForbidden && strings.Contains(body, "scopes do not match") {
		return &AuthError{Op: op, Err: fmt.Errorf("%s answered %s: %s (the token lacks the scope this operation needs)", url, resp.Status(), body)}
	}
	if resp.StatusCode() == http.StatusForbidden || resp.StatusCode() == http.StatusUnauthorized {
		return &AuthError{Op: op, Err: fmt.Errorf("%s answered %s (the CE refused this identity; check `cesub token check --ce %s`)", url, resp.Status(), hostOf(url))}
	}
	return he
}

// shortURL drops a long query string from a URL shown in a message.
func shortURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 && len(u)-i > 40 {
		return u[:i] + "?…"
	}
	return u
}

func hostOf(u string) string {
	rest := strings.TrimPrefix(u, "https://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// Version returns the REST version to use: 1.1 when offered, else 1.0.
func (c *Client) Version(ctx context.Context) (string, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != "" {
		return v, nil
	}
	resp, err := c.rc.R().SetContext(ctx).Get(c.endpoint + "/rest")
	if err := check("version discovery", resp, err, http.StatusOK); err != nil {
		return "", err
	}
	var vr versionsResponse
	if err := jsonUnmarshal(resp.Body(), &vr); err != nil {
		return "", fmt.Errorf("version discovery: %s did not answer JSON: %w", c.endpoint+"/rest", err)
	}
	v = ""
	for _, x := range vr.Version {
		if x == "1.1" || x == "1.0" && v == "" {
			v = x
		}
	}
	if v == "" {
		return "", fmt.Errorf("version discovery: %s offers %v; cesub speaks 1.0 and 1.1", c.endpoint, []string(vr.Version))
	}
	c.SetVersion(v)
	return v, nil
}

// SetVersion records a known version (remembered per CE), saving a request.
func (c *Client) SetVersion(v string) {
	c.mu.Lock()
	c.version = v
	c.mu.Unlock()
}

func (c *Client) base(ctx context.Context) (string, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	return c.endpoint + "/rest/" + v, nil
}

// JobID implements ce.Backend: ARC's REST job id URL.
func (c *Client) JobID(localID string) string {
	v := c.version
	if v == "" {
		v = "1.0"
	}
	return c.endpoint + "/rest/" + v + "/jobs/" + localID
}

// ParseJobID splits an ARC REST job id URL into CE endpoint and local id.
func ParseJobID(id string) (endpoint, local string, ok bool) {
	i := strings.Index(id, "/rest/")
	if i < 0 || !strings.HasPrefix(id, "https://") {
		return "", "", false
	}
	rest := id[i+len("/rest/"):]
	_, after, found := strings.Cut(rest, "/jobs/")
	if !found || after == "" || strings.Contains(after, "/") {
		return "", "", false
	}
	return id[:i], after, true
}
