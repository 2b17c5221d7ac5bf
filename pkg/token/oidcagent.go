package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/budget"
)

// AgentRequest is an oidc-agent access_token request. Exactly one of
// Account and Issuer is set.
type AgentRequest struct {
	Account         string
	Issuer          string
	MinValid        time.Duration
	Scopes          []string
	Audiences       []string
	ApplicationHint string
}

// AgentError is a failure reply from oidc-agent, with its help text.
type AgentError struct {
	Message string
	Info    string
}

func (e *AgentError) Error() string {
	if e.Info != "" {
		return "oidc-agent: " + e.Message + "\n" + strings.TrimSpace(e.Info)
	}
	return "oidc-agent: " + e.Message
}

// AgentClient talks plain JSON to an oidc-agent over its UNIX socket: one
// request per connection, written in one write (the agent reads only what is
// waiting), reply read to EOF.
type AgentClient struct {
	Socket string // $OIDC_SOCK
}

type agentReply struct {
	Status      string          `json:"status"`
	AccessToken string          `json:"access_token"`
	Issuer      string          `json:"issuer"`
	ExpiresAt   int64           `json:"expires_at"`
	Error       string          `json:"error"`
	Info        json.RawMessage `json:"info"`
}

// agentLimits bound a reply read from the socket: IssuerLimits (the reply
// is a token answer with a little more: an account list, an error text).
var agentLimits = IssuerLimits

// Do sends one raw request object and decodes the reply.
func (c *AgentClient) do(ctx context.Context, req map[string]any) (*agentReply, error) {
	if c.Socket == "" {
		return nil, errors.New("oidc-agent: OIDC_SOCK is not set (start oidc-agent, or pass --oidc-sock)")
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return nil, fmt.Errorf("oidc-agent: cannot connect to %s: %w", c.Socket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(payload); err != nil {
		return nil, fmt.Errorf("oidc-agent: send request: %w", ctxErr(ctx, err))
	}
	var r agentReply
	m := budget.Msg{Source: "oidc-agent at " + c.Socket, What: "reply", Limits: agentLimits}
	switch err := m.DecodeJSON(conn, &r); {
	case err == io.EOF:
		return nil, fmt.Errorf("oidc-agent: %s closed the connection without a reply", c.Socket)
	case budget.IsError(err):
		return nil, fmt.Errorf("oidc-agent: %w", err)
	case errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil:
		return nil, fmt.Errorf("oidc-agent: read reply from %s: %w", c.Socket, ctxErr(ctx, err))
	case err != nil:
		return nil, fmt.Errorf("oidc-agent: reply from %s is not JSON (is it an oidc-agent socket?): %v", c.Socket, err)
	}
	return &r, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (timed out waiting for the agent)", ctx.Err())
	}
	if os.IsTimeout(err) {
		return fmt.Errorf("%w (timed out waiting for the agent)", context.DeadlineExceeded)
	}
	return err
}

// AccessToken asks the agent for a token.
func (c *AgentClient) AccessToken(ctx context.Context, r AgentRequest) (*Issued, error) {
	if (r.Account == "") == (r.Issuer == "") {
		return nil, errors.New("oidc-agent: give an account short name or an issuer URL (one of them)")
	}
	req := map[string]any{"request": "access_token", "min_valid_period": int64(r.MinValid / time.Second)}
	label := "oidc-agent account " + r.Account
	if r.Account != "" {
		req["account"] = r.Account
	} else {
		req["issuer"] = r.Issuer
		label = "oidc-agent issuer " + r.Issuer
	}
	if len(r.Scopes) > 0 {
		req["scope"] = strings.Join(r.Scopes, " ")
	}
	if len(r.Audiences) > 0 {
		req["audience"] = strings.Join(r.Audiences, " ")
	}
	if r.ApplicationHint != "" {
		req["application_hint"] = r.ApplicationHint
	}
	rep, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	if rep.Status != "success" {
		msg := rep.Error
		if msg == "" {
			msg = "request failed with status " + fmt.Sprintf("%q", rep.Status)
		}
		var info string
		_ = json.Unmarshal(rep.Info, &info)
		return nil, &AgentError{Message: msg, Info: info}
	}
	if rep.AccessToken == "" {
		return nil, errors.New("oidc-agent: success reply without an access_token")
	}
	if err := ValidB64Token(rep.AccessToken); err != nil {
		return nil, fmt.Errorf("oidc-agent: returned token: %w", err)
	}
	is := &Issued{Token: Token(rep.AccessToken), Source: label}
	// The reply's expires_at is wrong for scoped requests (it is the default
	// token's); the JWT's exp is the truth.
	if j, err := Decode(rep.AccessToken); err == nil && j.Claims.Expiry != nil {
		is.Expiry = j.Claims.Expiry.Time
	} else if rep.ExpiresAt > 0 {
		is.Expiry = time.Unix(rep.ExpiresAt, 0)
	}
	return is, nil
}

// LoadedAccounts lists the accounts loaded in the agent.
func (c *AgentClient) LoadedAccounts(ctx context.Context) ([]string, error) {
	rep, err := c.do(ctx, map[string]any{"request": "loaded_accounts"})
	if err != nil {
		return nil, err
	}
	if rep.Status != "success" {
		return nil, &AgentError{Message: rep.Error}
	}
	var acc []string
	if err := json.Unmarshal(rep.Info, &acc); err != nil {
		return nil, fmt.Errorf("oidc-agent: loaded_accounts reply: %v", err)
	}
	return acc, nil
}

// NewAgentSource is a refreshing Source backed by the agent.
func NewAgentSource(c *AgentClient, r AgentRequest) *Caching {
	label := "oidc-agent account " + r.Account
	if r.Account == "" {
		label = "oidc-agent issuer " + r.Issuer
	}
	return &Caching{Label: label, Fetch: func(ctx context.Context, minValid time.Duration) (*Issued, error) {
		rr := r
		if minValid > rr.MinValid {
			rr.MinValid = minValid
		}
		return c.AccessToken(ctx, rr)
	}}
}
