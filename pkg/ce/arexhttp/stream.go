package arexhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// IdleError is the cause of a transfer stopped because no byte moved for
// the client's time limit.
type IdleError struct{ Limit time.Duration }

func (e *IdleError) Error() string {
	return fmt.Sprintf("no data moved for %s (the time limit, --timeout)", e.Limit)
}

// Timeout marks the error as a timeout for callers that ask.
func (e *IdleError) Timeout() bool { return true }

// idleGuard cancels a context when no progress is reported for limit. The
// timer re-arms itself from its own callback, so readers only store a time.
type idleGuard struct {
	limit  time.Duration
	last   atomic.Int64 // unix nanoseconds of the last progress
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

// newIdleGuard returns a context that ends limit after the last progress
// (never, for limit <= 0) and the guard that tracks progress.
func newIdleGuard(ctx context.Context, limit time.Duration) (context.Context, *idleGuard) {
	ctx, cancel := context.WithCancelCause(ctx)
	g := &idleGuard{limit: limit, cancel: cancel}
	g.progress()
	if limit > 0 {
		g.timer = time.AfterFunc(limit, g.check)
	}
	return ctx, g
}

func (g *idleGuard) progress() { g.last.Store(time.Now().UnixNano()) }

func (g *idleGuard) check() {
	idle := time.Since(time.Unix(0, g.last.Load()))
	if idle >= g.limit {
		g.cancel(&IdleError{Limit: g.limit})
		return
	}
	g.timer.Reset(g.limit - idle)
}

// stop ends the guard and its context.
func (g *idleGuard) stop() {
	if g.timer != nil {
		g.timer.Stop()
	}
	g.cancel(nil)
}

// explain replaces a cancellation the guard caused by its cause.
func (g *idleGuard) explain(ctx context.Context, err error) error {
	var ie *IdleError
	if err != nil && errors.As(context.Cause(ctx), &ie) && !errors.As(err, &ie) {
		return fmt.Errorf("%w (%v)", ie, err)
	}
	return err
}

// guardedReader is a request body that reports progress on every read.
// The transport closes it (the file), possibly after Do has returned.
type guardedReader struct {
	r io.ReadCloser
	g *idleGuard
}

func (r guardedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.g.progress()
	}
	return n, err
}

func (r guardedReader) Close() error { return r.r.Close() }

// localError is a failure on this side (opening the file to send): never
// worth sending the request again.
type localError struct{ error }

func (e localError) Unwrap() error { return e.error }

// guardedBody is a response body that ends its guard when closed and names
// the guard's cause when a read fails because of it.
type guardedBody struct {
	body io.ReadCloser
	g    *idleGuard
	ctx  context.Context
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.g.progress()
	}
	if err != nil && err != io.EOF {
		err = b.g.explain(b.ctx, err)
	}
	return n, err
}

func (b *guardedBody) Close() error {
	err := b.body.Close()
	b.g.stop()
	return err
}

// Opener gives a fresh request body and its length for each attempt.
type Opener func() (io.ReadCloser, int64, error)

// stream sends a request whose body or answer may be large. It bypasses
// resty, which reads a request body into memory to make it replayable, and
// the client's whole-request time limit: here the limit applies to
// inactivity, so a large file on a slow link is not cut off. It retries by
// the client's rules: once for a connection that failed before the request
// was sent (or any transport error of a GET or PUT), and a refusal of the
// token A-REX did not mean (see spuriousRejection). The caller closes the
// answer's body.
func (c *Client) stream(ctx context.Context, method, url string, header http.Header, open Opener) (*http.Response, error) {
	hc := *c.RC.GetClient()
	hc.Timeout = 0
	for attempt := 1; ; attempt++ {
		resp, authz, err := c.streamOnce(ctx, &hc, method, url, header, open)
		again := false
		if err != nil {
			var ae *AuthError
			var le localError
			if errors.As(err, &ae) {
				return nil, err
			}
			if errors.As(err, &le) {
				return nil, le.error
			}
			again = retryTransport(err, attempt, idempotent(method))
		} else {
			c.noteAccepted(resp.StatusCode, authz)
			again = c.spuriousRejection(resp.Status, authz, attempt)
		}
		if !again {
			return resp, err
		}
		if err != nil {
			c.Debugf("%s %s: %v; sending it again", method, ShortURL(url), err)
		} else {
			c.debugRejection(method, url, resp.Status)
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			hc.CloseIdleConnections() // that connection is refused from now on (see spuriousRejection)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff(attempt)):
		}
	}
}

func (c *Client) streamOnce(ctx context.Context, hc *http.Client, method, url string, header http.Header, open Opener) (*http.Response, string, error) {
	authz, err := c.bearer(ctx, url)
	if err != nil {
		return nil, "", err
	}
	gctx, g := newIdleGuard(ctx, c.timeout)
	var body io.ReadCloser
	var size int64
	if open != nil {
		if body, size, err = open(); err != nil {
			g.stop()
			return nil, authz, localError{err}
		}
	}
	req, err := http.NewRequestWithContext(gctx, method, url, nil)
	if err != nil {
		if body != nil {
			body.Close()
		}
		g.stop()
		return nil, authz, err
	}
	if body != nil {
		req.ContentLength = size
		if size > 0 {
			req.Body = guardedReader{r: body, g: g}
		} else {
			body.Close()
			req.Body = http.NoBody
		}
	}
	for k, v := range c.RC.Header {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := hc.Do(req)
	if err != nil {
		err = g.explain(gctx, err)
		g.stop()
		return nil, authz, err
	}
	resp.Body = &guardedBody{body: resp.Body, g: g, ctx: gctx}
	return resp, authz, nil
}

// idempotent methods may be sent again after any transport failure: a PUT
// here always carries a whole file, so a second one leaves the same file.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodPut
}

// readAnswer reads the start of an unexpected answer for Check's messages
// and closes its body.
func readAnswer(url string, resp *http.Response) answer {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return answer{URL: url, Code: resp.StatusCode, Status: resp.Status, Body: b, ContentType: resp.Header.Get("Content-Type")}
}
