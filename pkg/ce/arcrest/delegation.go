package arcrest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// Delegate implements ce.Backend. X.509: POST delegations?action=new (or
// delegations/<id>?action=renew) hands out a CSR, which req.Sign turns into a
// proxy chain that is PUT back. Token (REST 1.1 only): the current bearer
// token is stored with POST delegations?action=new&type=jwt and the
// X-Token-Delegation header.
func (c *Client) Delegate(ctx context.Context, req ce.DelegateRequest) (*ce.Delegation, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	switch req.Type {
	case ce.DelegateX509:
		return c.delegateX509(ctx, base, req)
	case ce.DelegateToken:
		return c.delegateToken(ctx, base)
	}
	return nil, fmt.Errorf("delegation type %q: want %s or %s", req.Type, ce.DelegateX509, ce.DelegateToken)
}

func (c *Client) delegateX509(ctx context.Context, base string, req ce.DelegateRequest) (*ce.Delegation, error) {
	if req.Sign == nil {
		return nil, errors.New("X.509 delegation needs a signing credential")
	}
	var url, op string
	if req.RenewID != "" {
		op, url = "delegation renew", base+"/delegations/"+req.RenewID+"?action=renew"
	} else {
		op, url = "delegation", base+"/delegations?action=new"
	}
	// A-REX ignores the body of these POSTs unless Content-Type is JSON/XML or absent.
	resp, err := c.rc.R().SetContext(ctx).SetHeader("Accept", "application/x-pem-file").Post(url)
	if err := check(op, resp, err, http.StatusCreated, http.StatusOK); err != nil {
		return nil, err
	}
	id := req.RenewID
	if id == "" {
		id = idFromLocation(resp.Header().Get("Location"))
		if id == "" {
			return nil, fmt.Errorf("%s: %s answered %s without a usable Location header", op, url, resp.Status())
		}
	}
	csr := resp.Body()
	if !strings.Contains(string(csr), "CERTIFICATE REQUEST") {
		return nil, fmt.Errorf("%s: %s did not answer a PEM certificate request (Content-Type %q)", op, url, resp.Header().Get("Content-Type"))
	}
	chain, err := req.Sign(csr)
	if err != nil {
		return nil, fmt.Errorf("%s: signing the CE's request: %w", op, err)
	}
	put, err := c.rc.R().SetContext(ctx).SetHeader("Content-Type", "application/x-pem-file").SetBody(chain).
		Put(base + "/delegations/" + id)
	if err := check(op+" upload", put, err, http.StatusOK, http.StatusCreated, http.StatusNoContent); err != nil {
		return nil, err
	}
	c.debugf("delegation %s stored (x509)", id)
	return &ce.Delegation{ID: id, Type: ce.DelegateX509}, nil
}

func (c *Client) delegateToken(ctx context.Context, base string) (*ce.Delegation, error) {
	if !strings.HasSuffix(base, "/1.1") {
		return nil, fmt.Errorf("token delegation needs ARC REST 1.1 (ARC 7); %s speaks %s", c.endpoint, base[strings.LastIndexByte(base, '/')+1:])
	}
	if c.src == nil {
		return nil, errors.New("token delegation needs a bearer token")
	}
	is, err := c.src.Token(ctx, c.minValid)
	if err != nil {
		return nil, &AuthError{Op: "token", Err: err}
	}
	url := base + "/delegations?action=new&type=jwt"
	resp, err := c.rc.R().SetContext(ctx).SetHeader("X-Token-Delegation", is.Token.Reveal()).Post(url)
	if err := check("token delegation", resp, err, http.StatusCreated, http.StatusOK); err != nil {
		return nil, err
	}
	id := idFromLocation(resp.Header().Get("Location"))
	if id == "" {
		return nil, fmt.Errorf("token delegation: %s answered %s without a usable Location header", url, resp.Status())
	}
	c.debugf("delegation %s stored (token)", id)
	return &ce.Delegation{ID: id, Type: ce.DelegateToken}, nil
}

// idFromLocation takes the delegation id after the last '/' of a Location
// header (A-REX 6.17 writes …/delegations?action=new/<id> for origin-form
// requests).
func idFromLocation(loc string) string {
	loc = strings.TrimRight(strings.TrimSpace(loc), "/")
	i := strings.LastIndexByte(loc, '/')
	if i < 0 {
		return ""
	}
	id := loc[i+1:]
	if id == "" || strings.ContainsAny(id, "?&=") {
		return ""
	}
	return id
}

type delegationsResponse struct {
	Delegation oneOrMany[struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}] `json:"delegation"`
}

// Delegations lists the delegations of the authenticated identity.
func (c *Client) Delegations(ctx context.Context) ([]ce.Delegation, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	_, body, err := c.h.Get(c.rc.R().SetContext(ctx), base+"/delegations", "delegation list", http.StatusOK)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var dr delegationsResponse
	if err := decodeJSON(c.h.Msg("delegation list", arexhttp.SmallJSONLimits), body, &dr); err != nil {
		return nil, fmt.Errorf("delegation list: %w", err)
	}
	var out []ce.Delegation
	for _, d := range dr.Delegation {
		t := d.Type
		switch t {
		case "", "x509":
			t = ce.DelegateX509
		case "jwt":
			t = ce.DelegateToken
		}
		out = append(out, ce.Delegation{ID: d.ID, Type: t})
	}
	return out, nil
}

// DelegationChain returns what the CE stores for a delegation (PEM chain,
// or the raw token for token delegations: never print that).
func (c *Client) DelegationChain(ctx context.Context, id string) ([]byte, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.rc.R().SetContext(ctx).SetHeader("Accept", "application/x-pem-file").Post(base + "/delegations/" + id + "?action=get")
	if err := check("delegation get", resp, err, http.StatusOK); err != nil {
		return nil, err
	}
	return resp.Body(), nil
}

// DeleteDelegation removes a delegation (A-REX refuses while jobs use it).
func (c *Client) DeleteDelegation(ctx context.Context, id string) error {
	base, err := c.base(ctx)
	if err != nil {
		return err
	}
	resp, err := c.rc.R().SetContext(ctx).Post(base + "/delegations/" + id + "?action=delete")
	return check("delegation delete", resp, err, http.StatusAccepted, http.StatusOK)
}
