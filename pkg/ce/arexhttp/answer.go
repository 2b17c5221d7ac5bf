package arexhttp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/cesub/cesub/pkg/budget"
	"github.com/go-resty/resty/v2"
)

// The limits A-REX answers are decoded under (package budget). They are
// checked while the answer streams in, so a hostile CE's answer costs
// about what they allow, not what it sends. Each is generous for a real
// A-REX; Text (the bytes of one string, tag or text) is far above any id,
// state, reason or file name A-REX sends.
var (
	// JobListLimits: a job list (status, kill, clean, restart and submit
	// answers, the live job listing). An action answers at most one entry
	// per job asked for (500 per request), a listing every job of the
	// identity: 100,000 entries of 5 strings (~10 MB of JSON) is a very
	// large CE's whole queue.
	JobListLimits = budget.Limits{Bytes: 32 << 20, Elements: 700_000, Entries: 100_000, Depth: 8, Text: 64 << 10}
	// SmallJSONLimits: the REST version list and the delegation list (a
	// few entries each; 10,000 delegations is far more than an identity
	// keeps).
	SmallJSONLimits = budget.Limits{Bytes: 4 << 20, Elements: 50_000, Entries: 10_000, Depth: 8, Text: 64 << 10}
	// InfoLimits: the GLUE2 document (REST info, EMI-ES GetResourceInfo).
	// A-REX's is ~3 KB with no jobs; shares, benchmarks, runtime
	// environments and an activity per job make it grow, and 500,000
	// elements is a CE with tens of thousands of jobs. It is decoded into
	// the few fields cesub summarises; skipped elements cost nothing kept.
	InfoLimits = budget.Limits{Bytes: 32 << 20, Elements: 500_000, Entries: 100_000, Attrs: 64, Depth: 32, Text: 1 << 20}
	// SOAPLimits: any other EMI-ES answer, kept whole as a tree of nodes.
	// The largest is GetActivityInfo for a batch of jobs (~50 elements per
	// job) or ListActivities (at most 10,000 ids): 200,000 elements is far
	// above either, and the tree stays below ~60 MB.
	SOAPLimits = budget.Limits{Bytes: 32 << 20, Elements: 200_000, Entries: 100_000, Attrs: 64, Depth: 32, Text: 1 << 20}
	// ListingLimits: one session directory listing (XML or A-REX's HTML):
	// at most MaxSessionEntries entries, as the whole walk is.
	ListingLimits = budget.Limits{Bytes: 16 << 20, Elements: MaxSessionEntries + 2, Entries: MaxSessionEntries, Attrs: 8, Depth: 4, Text: 64 << 10}
)

// errBodyLimit bounds what is read of an answer that is an error (its
// first 300 characters are shown).
const errBodyLimit = 64 << 10

// Stream sends req as method to url without reading the answer into
// memory. An answer with a status in ok returns its body, for the caller
// to decode as a stream (package budget) and close; any other answer, or
// a transport error (then the response is nil), is an error as Check makes
// it, from at most the first 64 KiB of the body.
func (c *Client) Stream(req *resty.Request, method, url, op string, ok ...int) (*resty.Response, io.ReadCloser, error) {
	resp, err := req.SetDoNotParseResponse(true).Execute(method, url)
	if err != nil { // no answer (transport, token): no response either
		closeBody(resp)
		return nil, nil, Check(op, resp, err)
	}
	body := resp.RawBody()
	c.noteAccepted(resp.StatusCode(), resp.Request.Header.Get("Authorization"))
	for _, code := range ok {
		if resp.StatusCode() == code {
			return resp, body, nil
		}
	}
	defer body.Close()
	b, _ := io.ReadAll(io.LimitReader(body, errBodyLimit))
	return resp, nil, CheckBody(op, resp, b, ok...)
}

// Decode is Stream followed by decode of the body (closed afterwards). An
// idempotent request (idempotentRequest) whose answer breaks off while it is
// read, a reset or a truncated body, is sent once more, as one that fails in
// transport before its answer is: resty's retry cannot see a body it does
// not read. A timeout, a budget refusal or a malformed answer is final.
func (c *Client) Decode(req *resty.Request, method, url, op string, decode func(io.Reader) error, ok ...int) (*resty.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, body, err := c.Stream(req, method, url, op, ok...)
		if err != nil {
			return resp, err
		}
		err = decode(body)
		_ = body.Close()
		if err == nil || attempt > 1 || !idempotentRequest(req) || !brokenOff(err) || req.Context().Err() != nil {
			return resp, err
		}
		c.Debugf("%s: the answer broke off (%v): asking once more", op, err)
		select {
		case <-req.Context().Done():
			return resp, err
		case <-time.After(backoff(attempt)):
		}
	}
}

// brokenOff reports whether err, met while an answer was read, is the
// connection breaking off rather than the answer being wrong.
func brokenOff(err error) bool {
	var ne net.Error
	var se *xml.SyntaxError
	switch {
	case budget.IsError(err), Permanent(err):
		return false
	case errors.As(err, &ne):
		return !ne.Timeout()
	case errors.As(err, &se):
		return se.Msg == "unexpected EOF"
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// closeBody closes the body of an answer that is not read (no-op when
// resty read it already: closing twice is harmless).
func closeBody(r *resty.Response) {
	if r != nil && r.RawResponse != nil && r.RawResponse.Body != nil {
		_ = r.RawResponse.Body.Close()
	}
}

// Get is Stream for a GET.
func (c *Client) Get(req *resty.Request, url, op string, ok ...int) (*resty.Response, io.ReadCloser, error) {
	return c.Stream(req, http.MethodGet, url, op, ok...)
}

// Post is Stream for a POST.
func (c *Client) Post(req *resty.Request, url, op string, ok ...int) (*resty.Response, io.ReadCloser, error) {
	return c.Stream(req, http.MethodPost, url, op, ok...)
}

// Msg names an answer of this CE for the budget's errors.
func (c *Client) Msg(what string, lim budget.Limits) budget.Msg {
	return budget.Msg{Source: c.Endpoint, What: what, Limits: lim}
}

// DiagnoseLimit bounds one of the grid manager's per-job files that is read
// whole (diagnose/status, failed, diag, local, description; EMI-ES's *logs
// files): a few lines each, or the job's description (an ADL document:
// KBs, 4 MiB is one with tens of thousands of files). Up to 8 are read at
// once (failure reasons, details), so 64 MiB each could be half a GB.
const DiagnoseLimit = 4 << 20

// Text reads a plain text answer whole (GET url with Accept accept), at
// most limit bytes; more is refused, naming the CE and the limit.
func (c *Client) Text(ctx context.Context, url, accept, op string, limit int64) (string, error) {
	var b []byte
	_, err := c.Decode(c.RC.R().SetContext(ctx).SetHeader("Accept", accept), http.MethodGet, url, op, func(r io.Reader) (err error) {
		if b, err = c.Msg(op+" answer", budget.Limits{Bytes: limit}).ReadAll(r); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	}, http.StatusOK)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// CopyText streams a plain text answer (GET url) to w: a job's log, which
// is not held in memory.
func (c *Client) CopyText(ctx context.Context, url, accept, op string, w io.Writer) error {
	_, body, err := c.Get(c.RC.R().SetContext(ctx).SetHeader("Accept", accept), url, op, http.StatusOK)
	if err != nil {
		return err
	}
	defer body.Close()
	if _, err := io.Copy(w, body); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
