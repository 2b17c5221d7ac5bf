// Package arexhttp is what the A-REX backends (REST and EMI-ES) share on the
// HTTP side: one keep-alive resty client that adds the bearer token (and
// starts new connections when the token changes, since A-REX binds a token's
// identity to its TLS connection), the retry rules that never duplicate a
// submission, the error types (authentication failures exit 4), and session
// directory transfers (upload, cat, recursive download with Range resume).
package arexhttp

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

// Client is a resty client for one A-REX endpoint.
type Client struct {
	RC       *resty.Client
	Endpoint string // https://host:port/arex
	Debugf   func(string, ...any)

	src      token.Source
	minValid time.Duration
	mu       sync.Mutex
	lastTok  string
}

// New builds the client for cfg.Address with the token source, TLS settings
// and timeout of cfg; accept is the default Accept header.
func New(cfg ce.Config, accept string) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	debugf := cfg.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	c := &Client{Endpoint: "https://" + cfg.Address.HostPort() + cfg.Address.Path, Debugf: debugf, src: cfg.Token, minValid: time.Minute}
	c.RC = resty.NewWithClient(hc)
	if cfg.Timeout > 0 {
		c.RC.SetTimeout(cfg.Timeout)
	}
	if accept != "" {
		c.RC.SetHeader("Accept", accept)
	}
	// One retry, only where it cannot duplicate anything: a connection that
	// failed before the request was sent (dial, TLS handshake; A-REX 6.17
	// now and then fails a handshake under load), or any transport error
	// of a GET/HEAD.
	c.RC.SetRetryCount(1).SetRetryWaitTime(200 * time.Millisecond).SetRetryMaxWaitTime(time.Second)
	c.RC.SetLogger(restyLogger{debugf})
	c.RC.AddRetryCondition(func(r *resty.Response, err error) bool {
		if err == nil || r == nil || r.Request == nil {
			return false
		}
		if Permanent(err) {
			return false
		}
		if m := r.Request.Method; m == http.MethodGet || m == http.MethodHead {
			return true
		}
		if _, isReader := r.Request.Body.(io.Reader); isReader {
			return false // a consumed file body cannot be sent again
		}
		return NotSent(err)
	})
	c.RC.OnBeforeRequest(func(_ *resty.Client, r *resty.Request) error { return c.authorize(r) })
	return c
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
	is, err := c.src.Token(r.Context(), c.minValid)
	if err != nil {
		return &AuthError{Op: "token", Err: err}
	}
	tok := is.Token.Reveal()
	c.mu.Lock()
	changed := c.lastTok != "" && c.lastTok != tok
	c.lastTok = tok
	c.mu.Unlock()
	if changed {
		c.Debugf("token changed: closing idle connections (A-REX binds a token to its connection)")
		c.RC.GetClient().CloseIdleConnections()
	}
	r.SetHeader("Authorization", "Bearer "+tok)
	return nil
}

// UsesToken reports whether requests carry a bearer token (else the X.509
// client certificate authenticates).
func (c *Client) UsesToken() bool { return c.src != nil }

// Token is the token source (nil for X.509 only).
func (c *Client) Token() token.Source { return c.src }

// Permanent reports errors a retry cannot cure: certificate verification,
// cancellation, timeouts.
func Permanent(err error) bool {
	var cv *tls.CertificateVerificationError
	return errors.As(err, &cv) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "failed to verify certificate")
}

// NotSent reports errors that happen before any byte of the request is
// written: dialing and the TLS handshake.
func NotSent(err error) bool {
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
