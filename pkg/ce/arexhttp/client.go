// Package arexhttp is what the A-REX backends (REST and EMI-ES) share on the
// HTTP side: one keep-alive resty client that adds the bearer token (and
// starts new connections when the token changes, since A-REX binds a token's
// identity to its TLS connection), the retry rules that never duplicate a
// submission (including A-REX 6's occasional refusal of a token it accepted
// a moment before), the error types (authentication failures exit 4), and
// session directory transfers (streamed uploads, cat, recursive download with
// Range resume).
package arexhttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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
	timeout  time.Duration // for streamed transfers: the longest time without progress
	mu       sync.Mutex
	lastTok  string
	// okTok is the last token this endpoint answered with a success: a
	// later "can't be assigned configuration" for the same token is A-REX
	// failing to check it, not refusing it (see spuriousRejection).
	okTok string
}

// MaxAnswer bounds an answer read into memory (64 MiB: a listing of
// 100,000 jobs is ~8 MB); session files stream and are not bounded by it.
const MaxAnswer = 64 << 20

// RejectionRetries is how many times a request is sent again when the CE
// refuses a token it accepted earlier in this process.
const RejectionRetries = 4

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
	c.RC = resty.NewWithClient(noRedirects(hc))
	if cfg.Timeout > 0 {
		c.RC.SetTimeout(cfg.Timeout)
		c.timeout = cfg.Timeout
	}
	if accept != "" {
		c.RC.SetHeader("Accept", accept)
	}
	// Retries only where they cannot duplicate anything:
	//   - once, a connection that failed before the request was sent (dial,
	//     TLS handshake; A-REX 6.17 now and then fails a handshake under
	//     load), or any transport error of a GET/HEAD;
	//   - a refusal of the token A-REX did not mean: up to RejectionRetries
	//     times for a token the endpoint accepted before, once for another
	//     (A-REX refuses before it does anything; see spuriousRejection).
	// Transfers do not go through resty (it reads a body into memory to
	// make it replayable); they stream and retry by the same rules (stream).
	c.RC.SetResponseBodyLimit(MaxAnswer)
	c.RC.SetRetryCount(RejectionRetries).SetRetryWaitTime(retryWait).SetRetryMaxWaitTime(retryMaxWait)
	c.RC.SetLogger(restyLogger{debugf})
	c.RC.AddRetryCondition(func(r *resty.Response, err error) bool {
		if r == nil || r.Request == nil {
			return false
		}
		if _, isReader := r.Request.Body.(io.Reader); isReader {
			return false // a consumed file body cannot be sent again
		}
		if err == nil {
			return c.spuriousRejection(r.Status(), r.Request.Header.Get("Authorization"), r.Request.Attempt)
		}
		return retryTransport(err, r.Request.Attempt, idempotentRequest(r.Request))
	})
	c.RC.AddRetryHook(func(r *resty.Response, err error) {
		if err == nil && r != nil {
			closeBody(r) // an answer left unread (Stream) is not read now
			c.debugRejection(r.Request.Method, r.Request.URL, r.Status())
			// A-REX keeps the failed check with the connection: every
			// request sent again on it is refused the same way (its log
			// shows one failure to create the token's security attributes,
			// then refusals on that one connection only). The retry goes
			// out on a new connection.
			c.RC.GetClient().CloseIdleConnections()
		}
	})
	c.RC.OnAfterResponse(func(_ *resty.Client, r *resty.Response) error {
		c.noteAccepted(r.StatusCode(), r.Request.Header.Get("Authorization"))
		return nil
	})
	c.RC.OnBeforeRequest(func(_ *resty.Client, r *resty.Request) error { return c.authorize(r) })
	return c
}

// authorize adds the bearer token.
func (c *Client) authorize(r *resty.Request) error {
	authz, err := c.bearer(r.Context(), r.URL)
	if authz != "" {
		r.SetHeader("Authorization", authz)
	}
	return err
}

// bearer is the Authorization header for a request to url ("" when X.509
// alone authenticates). Only https URLs get one. A-REX binds the first
// token's identity to a keep-alive connection, so a new token must not
// reuse an old connection.
func (c *Client) bearer(ctx context.Context, url string) (string, error) {
	if !strings.HasPrefix(url, "https://") {
		return "", fmt.Errorf("refusing to send a request to %s: only https is allowed", url)
	}
	if c.src == nil {
		return "", nil
	}
	is, err := c.src.Token(ctx, c.minValid)
	if err != nil {
		return "", &AuthError{Op: "token", Err: err}
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
	return "Bearer " + tok, nil
}

// spuriousRejection reports whether a refusal of the token ("User can't be
// assigned configuration": 403 from A-REX 6, 500 from ARC 7) is worth
// sending again. A-REX 6.17 fetches the issuer's keys for every request,
// and when requests arrive together some of those fetches fail (the issuer
// sees garbled TLS records), so a valid token is refused now and then.
// A-REX refuses before it acts on a request, so sending it again duplicates
// nothing. A refused token is tried up to RejectionRetries more times, also
// in a fresh process whose token this endpoint has not accepted yet (a real
// refusal then costs a few requests and short pauses, but a pilot factory's
// process does not lose its work to refusals that were not meant: under
// load, fresh processes met three such refusals in a row).
func (c *Client) spuriousRejection(status, authz string, attempt int) bool {
	if !strings.Contains(status, "can't be assigned configuration") {
		return false
	}
	tok := bearerToken(authz)
	return tok != "" && attempt <= RejectionRetries
}

func (c *Client) debugRejection(method, url, status string) {
	c.Debugf("%s %s answered %s: A-REX 6 refuses valid tokens now and then when requests arrive together (its fetch of the issuer's keys fails); sending it again",
		method, ShortURL(url), status)
}

// idempotentRequest: a GET or HEAD, or an A-REX REST action whose repeat
// changes nothing more than the first did (status and info read; kill and
// clean of a job being killed or cleaned already are the same request).
// A submission (action=new), a restart or a delegation is never repeated.
func idempotentRequest(r *resty.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		switch r.QueryParam.Get("action") {
		case "status", "info", "kill", "clean":
			return true
		}
	}
	return false
}

// retryTransport reports whether a request that failed in transport is
// sent again: once, when it is idempotent or was never sent (dial, TLS
// handshake; A-REX 6.17 now and then fails a handshake under load).
func retryTransport(err error, attempt int, idempotent bool) bool {
	return attempt == 1 && !Permanent(err) && (idempotent || NotSent(err))
}

// bearerToken is the token of an Authorization header ("" for none).
func bearerToken(authz string) string {
	tok, _ := strings.CutPrefix(authz, "Bearer ")
	if tok == authz {
		return ""
	}
	return tok
}

// noteAccepted remembers the token of a request the endpoint answered below
// 400 (it passed A-REX's authorization).
func (c *Client) noteAccepted(code int, authz string) {
	if code == 0 || code >= 400 {
		return
	}
	if tok := bearerToken(authz); tok != "" {
		c.mu.Lock()
		c.okTok = tok
		c.mu.Unlock()
	}
}

// retryWait and retryMaxWait bound the pauses between attempts: they
// double from retryWait, with jitter (resty's backoff, and backoff below).
const (
	retryWait    = 250 * time.Millisecond
	retryMaxWait = 2 * time.Second
)

// backoff is the pause before attempt+1: retryWait doubled per attempt,
// capped at retryMaxWait, with up to half of it as random jitter so that
// requests refused together do not come back together.
func backoff(attempt int) time.Duration {
	d := retryWait << (attempt - 1)
	if d > retryMaxWait || d <= 0 {
		d = retryMaxWait
	}
	return d/2 + rand.N(d/2+1)
}

// Timeout is the per-request time limit (--timeout).
func (c *Client) Timeout() time.Duration { return c.timeout }

// UsesToken reports whether requests carry a bearer token (else the X.509
// client certificate authenticates).
func (c *Client) UsesToken() bool { return c.src != nil }

// Token is the token source (nil for X.509 only).
func (c *Client) Token() token.Source { return c.src }

// Permanent reports errors a retry cannot cure: certificate verification,
// a redirect, cancellation, timeouts (a request or transfer that used up
// --timeout is not given a second --timeout).
func Permanent(err error) bool {
	var cv *tls.CertificateVerificationError
	var re *RedirectError
	var ie *IdleError
	var ne net.Error
	return errors.As(err, &cv) || errors.As(err, &re) || errors.Is(err, resty.ErrResponseBodyTooLarge) || errors.As(err, &ie) || errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "failed to verify certificate")
}

// NotSent reports errors that happen before any byte of the request is
// written: dialing and the TLS handshake.
func NotSent(err error) bool { return ce.NotSent(err) }

// restyLogger sends resty's own messages (retries) to the debug output.
type restyLogger struct{ debugf func(string, ...any) }

func (l restyLogger) Errorf(format string, v ...any) { l.debugf("resty: "+format, v...) }
func (l restyLogger) Warnf(format string, v ...any)  { l.debugf("resty: "+format, v...) }
func (l restyLogger) Debugf(format string, v ...any) { l.debugf("resty: "+format, v...) }
