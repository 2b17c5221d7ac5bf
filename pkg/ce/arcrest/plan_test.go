package arcrest

import (
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
)

// planClient is a client for a CE nothing listens for: a plan sends nothing.
func planClient(t *testing.T, withToken bool) *Client {
	t.Helper()
	cfg := ce.Config{Address: ce.Address{Flavour: ce.ARC, Host: "ce.invalid", Port: 443, Path: "/arex"}}
	if withToken {
		cfg.Token = &token.Static{Found: &token.Found{Token: "tok-secret", Source: "test"}}
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func showPlan(rs []ce.Request) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Method + " " + r.URL + "\n" + strings.Join(r.Header, "\n") + "\n# " + r.Note + "\n" + r.Body + "\n")
	}
	return b.String()
}

// TestPlanDelegate: ARC REST's dry run of a delegation shows its own REST
// requests at the remembered version (or after the version discovery), with
// the token redacted; token delegation needs 1.1.
func TestPlanDelegate(t *testing.T) {
	c := planClient(t, true)
	rs, err := c.PlanDelegate(ce.DelegateX509)
	if err != nil {
		t.Fatal(err)
	}
	got := showPlan(rs)
	for _, want := range []string{"GET https://ce.invalid:443/arex/rest\n", "POST https://ce.invalid:443/arex/rest/1.0/delegations?action=new\n",
		"PUT https://ce.invalid:443/arex/rest/1.0/delegations/<delegation-id>\n", "Authorization: Bearer [REDACTED]"} {
		if !strings.Contains(got, want) {
			t.Errorf("x509 plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "tok-secret") {
		t.Errorf("the token is shown:\n%s", got)
	}
	c.SetVersion("1.1")
	rs, err = c.PlanDelegate(ce.DelegateToken)
	if err != nil {
		t.Fatal(err)
	}
	if got := showPlan(rs); len(rs) != 1 || !strings.Contains(got, "POST https://ce.invalid:443/arex/rest/1.1/delegations?action=new&type=jwt") ||
		!strings.Contains(got, "X-Token-Delegation: [REDACTED]") || strings.Contains(got, "tok-secret") {
		t.Errorf("token plan at 1.1:\n%s", got)
	}
	c.SetVersion("1.0")
	if _, err := c.PlanDelegate(ce.DelegateToken); err == nil || !strings.Contains(err.Error(), "1.1") {
		t.Errorf("token delegation at REST 1.0: %v", err)
	}
	if _, err := planClient(t, false).PlanDelegate(ce.DelegateToken); err == nil {
		t.Error("token delegation without a token was planned")
	}
}

// TestPlanDiscoveryOnce: with the version unknown, the discovery request
// the delegation and the submission plans both show is kept once.
func TestPlanDiscoveryOnce(t *testing.T) {
	c := planClient(t, false)
	d, err := c.PlanDelegate(ce.DelegateX509)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.PlanSubmit(nil, ce.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := ce.OncePerCommand(append(d, s...))
	if n := strings.Count(showPlan(all), "GET https://ce.invalid:443/arex/rest\n"); n != 1 || all[0].Method != "GET" {
		t.Errorf("discovery shown %d times (want once, first):\n%s", n, showPlan(all))
	}
	if len(all) != len(d)+len(s)-1 {
		t.Errorf("%d requests kept of %d+%d", len(all), len(d), len(s))
	}
}
