package emies

import (
	"context"
	"fmt"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
)

// Delegate implements ce.Backend with EMI-ES delegation: InitDelegation
// (RFC 3820; RenewalID to renew in place) returns the CE's certificate
// request, which is signed locally and sent back with PutDelegation. EMI-ES
// has no token delegation.
func (c *Client) Delegate(ctx context.Context, req ce.DelegateRequest) (*ce.Delegation, error) {
	if req.Type != ce.DelegateX509 {
		return nil, fmt.Errorf("EMI-ES delegates X.509 proxies only (token delegation needs ARC REST 1.1)")
	}
	if req.Sign == nil {
		return nil, fmt.Errorf("EMI-ES delegation: no signer")
	}
	resp, err := c.call(ctx, "InitDelegation", initDelegation(req.RenewID))
	if err != nil {
		return nil, err
	}
	id, csr := resp.text("DelegationID"), resp.text("CSR")
	if id == "" || csr == "" {
		return nil, fmt.Errorf("EMI-ES InitDelegation: the CE answered no delegation id or no certificate request")
	}
	if !strings.Contains(csr, "-----BEGIN") {
		csr = "-----BEGIN CERTIFICATE REQUEST-----\n" + csr + "\n-----END CERTIFICATE REQUEST-----\n"
	}
	signed, err := req.Sign([]byte(csr))
	if err != nil {
		return nil, fmt.Errorf("EMI-ES delegation %s: signing the CE's request: %w", id, err)
	}
	resp, err = c.call(ctx, "PutDelegation", putDelegation(id, string(signed)))
	if err != nil {
		return nil, err
	}
	if got := strings.TrimSpace(resp.Text); got != "SUCCESS" {
		return nil, fmt.Errorf("EMI-ES PutDelegation %s: the CE answered %q, not SUCCESS", id, got)
	}
	return &ce.Delegation{ID: id, Type: ce.DelegateX509}, nil
}

// initDelegation is the InitDelegation request: an RFC 3820 proxy, new or
// renewing renewID in place.
func initDelegation(renewID string) []byte {
	init := "<esdeleg:InitDelegation>" + elem("esdeleg:CredentialType", "RFC3820")
	if renewID != "" {
		init += elem("esdeleg:RenewalID", renewID)
	}
	return envelope(init + "</esdeleg:InitDelegation>")
}

// putDelegation is the PutDelegation request: the signed proxy chain for
// delegation id. A-REX reads DelegationId (lower-case d) in PutDelegation.
func putDelegation(id, chain string) []byte {
	return envelope("<esdeleg:PutDelegation>" + elem("esdeleg:DelegationId", id) + elem("esdeleg:Credential", chain) + "</esdeleg:PutDelegation>")
}
