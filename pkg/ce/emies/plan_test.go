package emies

import (
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
)

// TestPlanDelegate: EMI-ES's dry run of a delegation shows its own SOAP
// calls (InitDelegation, PutDelegation) to the endpoint, never ARC REST's
// delegations URL, the token redacted as everywhere ([REDACTED]); EMI-ES
// has no token delegation.
func TestPlanDelegate(t *testing.T) {
	c, err := NewClient(ce.Config{Address: ce.Address{Flavour: ce.EMIES, Host: "ce.invalid", Port: 443, Path: "/arex"},
		Token: &token.Static{Found: &token.Found{Token: "tok-secret", Source: "test"}}})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.PlanDelegate(ce.DelegateX509)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, r := range rs {
		all.WriteString(r.Method + " " + r.URL + "\n" + strings.Join(r.Header, "\n") + "\n" + r.Note + "\n" + r.Body + "\n")
		if r.Method != "POST" || r.URL != "https://ce.invalid:443/arex" {
			t.Errorf("%s %s: want POST to the EMI-ES endpoint", r.Method, r.URL)
		}
	}
	got := all.String()
	for _, want := range []string{"<esdeleg:InitDelegation><esdeleg:CredentialType>RFC3820</esdeleg:CredentialType></esdeleg:InitDelegation>",
		"PutDelegation", "Authorization: Bearer [REDACTED]"} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"/rest/", "delegations", "tok-secret", "<redacted>"} {
		if strings.Contains(got, bad) {
			t.Errorf("plan shows %q:\n%s", bad, got)
		}
	}
	if _, err := c.PlanDelegate(ce.DelegateToken); err == nil {
		t.Error("EMI-ES token delegation was planned")
	}
	sub, err := c.PlanSubmit(parseXRSL(t, `&(executable="/bin/true")`), ce.SubmitOptions{DelegationID: "<delegation-id>"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sub {
		if h := strings.Join(r.Header, "\n"); strings.Contains(h, "<redacted>") || r.Method == "POST" && !strings.Contains(h, "Bearer [REDACTED]") {
			t.Errorf("CreateActivity header: %q", h)
		}
	}
}
