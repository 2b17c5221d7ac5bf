package htcondor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/token"
)

// Ping implements ce.Backend as condor_ping does: the collector is asked
// for the schedd, then the schedd is asked (DC_SEC_QUERY) whether this
// identity may READ and WRITE. Refusals come back in the result, with the
// stage that failed (authentication or authorization) and a hint from the
// token's claims.
func (c *Client) Ping(ctx context.Context) (*ce.PingResult, error) {
	r := &ce.PingResult{Endpoint: c.Endpoint(), Implementation: "HTCondor", Authorizations: map[string]string{}}
	_, ident, err := c.authConfig(ctx)
	r.Identity = ident
	if err != nil {
		return nil, err
	}
	// A ping always asks the collector. With the schedd's address remembered
	// from an earlier command, the schedd is asked at the same time, and
	// again only if the collector names another address.
	c.mu.Lock()
	cached := c.schedd
	if !c.fromCache {
		cached = nil
	}
	c.mu.Unlock()
	t0 := time.Now()
	var early chan []answer
	if cached != nil {
		early = make(chan []answer, 1)
		go func() { early <- c.askLevels(ctx, cached) }()
	}
	s, err := c.lookupSchedd(ctx)
	r.Latency = time.Since(t0)
	if err != nil {
		return c.pingProblem(ctx, r, err), nil
	}
	c.mu.Lock()
	c.schedd, c.fromCache = s, false
	c.mu.Unlock()
	r.Reachable = true
	r.Version = s.Version
	r.TLS = "TLS inside CEDAR, AES-256-GCM session; schedd " + s.Name
	var answers []answer
	if early != nil {
		answers = <-early
		if cached.Addr.Raw != s.Addr.Raw {
			c.debugf("the schedd moved from %s to %s: asking again", cached.Addr.Raw, s.Addr.Raw)
			answers = nil
		}
	}
	if answers == nil {
		answers = c.askLevels(ctx, s)
	}
	for i, lv := range pingLevels {
		a := answers[i]
		if a.user != "" {
			r.User = a.user
		}
		if a.err != nil {
			return c.pingProblem(ctx, r, a.err), nil
		}
		r.Authorizations[lv.name] = a.verdict
	}
	r.Admitted = r.Authorizations["READ"] == "ALLOW" && r.Authorizations["WRITE"] == "ALLOW"
	if !r.Admitted {
		r.Refused = true
		var denied []string
		for _, lv := range []string{"READ", "WRITE"} {
			if r.Authorizations[lv] != "ALLOW" {
				denied = append(denied, lv)
			}
		}
		r.Problem = fmt.Sprintf("authorization failed: %s denied for %s", strings.Join(denied, " and "), orUnknown(r.User))
		r.Hint = c.tokenHint(ctx, []string{"status", "submit"})
		if r.Hint == "" {
			r.Hint = "the CE's ALLOW_WRITE / ALLOW_READ do not include this identity"
		}
	}
	return r, nil
}

// pingLevels are the permission levels a ping asks about.
var pingLevels = []struct {
	name string
	cmd  int
}{{"READ", cedar.CmdDCNopRead}, {"WRITE", cedar.CmdDCNopWrite}}

// answer is the schedd's verdict on one level.
type answer struct {
	verdict, user  string
	method, crypto string // of the session the answer came on
	err            error
}

// askLevels asks about READ and WRITE on two connections at once.
func (c *Client) askLevels(ctx context.Context, s *scheddInfo) []answer {
	out := make([]answer, len(pingLevels))
	var wg sync.WaitGroup
	for i, lv := range pingLevels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.secQuery(ctx, s, lv.cmd)
		}()
	}
	wg.Wait()
	return out
}

// secQuery asks the schedd (DC_SEC_QUERY) whether cmd's permission level is
// granted: ALLOW or DENIED, with the identity it mapped us to.
func (c *Client) secQuery(ctx context.Context, s *scheddInfo, cmd int) (out answer) {
	conn, sess, err := c.dial(ctx, s.Addr, cedar.CmdDCSecQuery, cmd)
	if sess != nil {
		out.user, out.method, out.crypto = sess.User, sess.Method, sess.Crypto
	}
	if err != nil {
		var ae *cedar.AuthError
		if errors.As(err, &ae) && ae.Stage == "authorization" {
			out.verdict = "DENIED"
			return out
		}
		out.err = err
		return out
	}
	defer conn.Close()
	ad, err := conn.GetAd()
	if err == nil {
		err = conn.FinishMessage()
	}
	if err != nil {
		out.err = err
		return out
	}
	out.verdict = "DENIED"
	if ok, _ := ad.Bool("AuthorizationSucceeded"); ok {
		out.verdict = "ALLOW"
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "this identity"
	}
	return s
}

// pingProblem fills in a failure: unreachable, or reached but not authenticated.
func (c *Client) pingProblem(ctx context.Context, r *ce.PingResult, err error) *ce.PingResult {
	r.Problem = err.Error()
	var ae *cedar.AuthError
	var pe *cedar.ProtocolError
	var le *cedar.LimitError
	switch {
	case errors.As(err, &le):
		r.Reachable = true
		r.Hint = "the CE sent more than cesub accepts (a broken or hostile server, or before authentication anyone on the path)"
	case errors.As(err, &ae) && ae.Err != nil && ce.ConnectHint(ae.Err, "") != "":
		// the TLS handshake inside CEDAR: the daemon's certificate, not the credential
		r.Reachable = true
		r.Hint = ce.ConnectHint(ae.Err, c.addr.HostPort())
	case errors.As(err, &ae) && ae.Declined:
		r.Reachable = true
		r.Hint = "an HTCondor daemon fails the negotiation rather than decline authentication to a client that requires it: " +
			"what answered is broken, or something on the path answered for it (cesub presented no credential and sent nothing more)"
	case errors.As(err, &ae):
		r.Reachable, r.Refused = true, true
		r.Hint = c.tokenHint(ctx, []string{"status"})
		if r.Hint == "" && c.src != nil {
			r.Hint = "the token's claims look right for this CE: its issuer may not be trusted there, or its subject maps to no user (CERTIFICATE_MAPFILE)"
		} else if c.src == nil {
			r.Hint = "the CE did not accept the proxy over SSL: its subject must be in the CE's mapfile"
		}
	case errors.As(err, &pe):
		r.Reachable = true
		r.Unsupported = true
		r.Hint = "the port does not speak CEDAR as HTCondor 9 or later does (is it an HTCondor-CE?)"
	case errors.Is(err, cedar.ErrClosed) && strings.Contains(err.Error(), "security negotiation"):
		r.Reachable = true
		r.Unsupported = true
		r.Hint = "the server hung up at the first CEDAR message: it is not an HTCondor daemon (an HTTPS server such as an ARC CE? then use https://), or it does not take this command"
	default:
		r.Hint = ce.ConnectHint(err, c.addr.HostPort())
	}
	return r
}

// tokenHint lists what the token's claims lack for ops on this CE ("" if
// nothing or no token).
func (c *Client) tokenHint(ctx context.Context, ops []string) string {
	checks, err := c.preflight(ctx, ops)
	if err != nil || checks == nil {
		return ""
	}
	var bad []string
	for _, ch := range checks {
		if !ch.OK && !ch.Advisory {
			bad = append(bad, ch.Line())
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return "the token does not fit this CE: " + strings.Join(bad, "; ")
}

// preflight checks the token's claims for ops on this CE (nil without a token).
func (c *Client) preflight(ctx context.Context, ops []string) ([]token.Check, error) {
	if c.src == nil {
		return nil, nil
	}
	is, err := c.src.Token(ctx, 0)
	if err != nil {
		return nil, err
	}
	j, err := token.Decode(is.Token.Reveal())
	if err != nil {
		return nil, err
	}
	needs, err := ce.Backends.ScopeNeeds(ce.HTCondor, ops)
	if err != nil {
		return nil, err
	}
	auds := append(c.addr.Audiences(), token.WLCGAnyAudience, token.SciTokensAnyAudience)
	return token.Preflight(&j.Claims, token.Requirements{Now: c.now(), Skew: time.Minute, MinValid: time.Minute,
		Audiences: auds, Scopes: needs}), nil
}

// checkToken runs the pre-flight before an operation: a token that cannot
// work is refused before the CE is contacted.
func (c *Client) checkToken(ctx context.Context, ops ...string) error {
	checks, err := c.preflight(ctx, ops)
	if err != nil || checks == nil {
		return nil // not a JWT we can read: let the CE decide
	}
	var bad []string
	for _, ch := range checks {
		if !ch.OK && !ch.Advisory {
			bad = append(bad, ch.Line())
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &cedar.AuthError{Stage: "authentication", Method: "SCITOKENS",
		Msg: "the token cannot work for this CE (nothing was sent): " + strings.Join(bad, "; ")}
}
