package emies

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/token"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// arexClient is an EMI-ES client of the testbed's A-REX 6.17 with a token
// for groups (the CE admits /wlcg/pilots).
func arexClient(t *testing.T, tb *testbed.Env, groups ...string) *Client {
	t.Helper()
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := key.Mint(testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: "cesub-emies-test",
		Audience: []string{"https://localhost:8444"}, Groups: groups, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	if err != nil {
		t.Fatal(err)
	}
	pool, _, err := x509proxy.CertPool(tb.Get(t, "X509_CERT_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := ce.ParseAddress(tb.Get(t, "CESUB_TESTBED_AREX_URL"), ce.EMIES)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ce.Config{Address: addr, Timeout: time.Minute,
		Token:      &token.Static{Found: &token.Found{Token: token.Token(tok), Source: "test"}},
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAREXFaults feeds the real A-REX each bad request a client can make
// and checks the error the client turns its fault into.
func TestAREXFaults(t *testing.T) {
	tb := testbed.Require(t)
	c := arexClient(t, tb, "/wlcg/pilots")
	ctx := context.Background()
	eleven := strings.Repeat(`<ActivityDescription xmlns="http://www.eu-emi.eu/es/2010/12/adl"><Application><Executable><Path>/bin/true</Path></Executable></Application></ActivityDescription>`, 11)
	cases := []struct {
		name, op, body string
		wantType       string // fault element ("" for a plain SOAP fault)
		wantMsg        string
	}{
		{"unknown operation", "FrobnicateActivity", "<esmanag:FrobnicateActivity/>", "", "Operation not supported"},
		{"bad namespace", "ListActivities", `<x:ListActivities xmlns:x="http://www.eu-emi.eu/es/2010/12/activity/typos"/>`, "", "Operation not supported"},
		{"operation in the wrong service", "CreateActivity", "<esainfo:CreateActivity/>", "", "Operation not supported"},
		{"no activity description", "CreateActivity", "<escreate:CreateActivity/>", "InternalBaseFault", "ActivityDescription element is missing"},
		{"too many activities", "CreateActivity", "<escreate:CreateActivity>" + eleven + "</escreate:CreateActivity>", "VectorLimitExceededFault", "at most 10 per request"},
		{"bad date", "ListActivities", "<esainfo:ListActivities><esainfo:FromDate>yesterday</esainfo:FromDate></esainfo:ListActivities>", "InvalidParameterFault", "FromDate"},
		{"unsupported credential type", "InitDelegation", "<esdeleg:InitDelegation><esdeleg:CredentialType>PGP</esdeleg:CredentialType></esdeleg:InitDelegation>", "InternalServiceDelegationFault", "Unsupported credential type"},
		{"unknown delegation", "PutDelegation", "<esdeleg:PutDelegation><esdeleg:DelegationId>nosuch</esdeleg:DelegationId><esdeleg:Credential>x</esdeleg:Credential></esdeleg:PutDelegation>", "UnknownDelegationIDFault", "Failed to find identifier"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.call(ctx, tc.op, envelope(tc.body))
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("want a fault, got %v", err)
			}
			if f.Type != tc.wantType || !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), "EMI-ES "+tc.op) {
				t.Fatalf("fault %+v: message %q, want type %q and %q", f, err, tc.wantType, tc.wantMsg)
			}
		})
	}

	// Per-activity faults inside a successful answer.
	t.Run("unknown activity", func(t *testing.T) {
		res, err := c.Status(ctx, []string{"nosuchactivity"})
		if err != nil || len(res) != 1 || !errors.Is(res[0].Err, arexhttp.ErrNotFound) || !strings.Contains(res[0].Err.Error(), "Activity with specified ID not found") {
			t.Fatalf("status of an unknown activity: %v %+v", err, res)
		}
		res, err = c.Kill(ctx, []string{"nosuchactivity"})
		if err != nil || len(res) != 1 || !errors.Is(res[0].Err, arexhttp.ErrNotFound) {
			t.Fatalf("cancel of an unknown activity: %v %+v", err, res)
		}
	})
	for _, bad := range []struct{ name, adl, want string }{
		{"bad ADL", "<Resources><SlotRequirement><NumberOfSlots>many</NumberOfSlots></SlotRequirement></Resources>", "adl parsing error"},
		{"queue not allowed", "<Resources><QueueName>nosuchqueue</QueueName></Resources>", "queue nosuchqueue is not allowed"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			body := envelope(`<escreate:CreateActivity><ActivityDescription xmlns="http://www.eu-emi.eu/es/2010/12/adl"><Application><Executable><Path>/bin/true</Path></Executable></Application>` +
				bad.adl + `</ActivityDescription></escreate:CreateActivity>`)
			resp, err := c.call(ctx, "CreateActivity", body)
			if err != nil {
				t.Fatal(err)
			}
			f := faultOf("CreateActivity", resp.child("ActivityCreationResponse"))
			if f == nil || !strings.Contains(f.Error(), bad.want) || !strings.HasPrefix(f.Error(), "EMI-ES CreateActivity: InternalBaseFault: ") {
				t.Fatalf("want an item fault saying %q, got %v", bad.want, f)
			}
		})
	}
	t.Run("restart a job that has not failed", func(t *testing.T) {
		res, err := c.Submit(ctx, []jobdesc.Job{{Executable: jobdesc.Executable{Path: "/bin/sleep", Args: []string{"60"}}}}, ce.SubmitOptions{})
		if err != nil || len(res) != 1 || res[0].Err != nil {
			t.Fatalf("submit: %v %+v", err, res)
		}
		id := res[0].Job.LocalID
		defer c.Clean(ctx, []string{id})
		defer c.Kill(ctx, []string{id})
		out, err := c.Restart(ctx, []string{id})
		if err != nil || len(out) != 1 || !isFault(out[0].Err, "OperationNotAllowedFault") {
			t.Fatalf("restart of a running job: %v %+v", err, out)
		}
		t.Logf("A-REX: %v", out[0].Err)
	})
	// An identity the CE does not map: an authentication error (exit 4).
	t.Run("unmapped identity", func(t *testing.T) {
		other := arexClient(t, tb, "/other/group")
		_, err := other.Status(ctx, []string{"nosuchactivity"})
		var af interface{ AuthFailure() bool }
		if !errors.As(err, &af) || !af.AuthFailure() {
			t.Fatalf("want an auth failure, got %v", err)
		}
		t.Logf("A-REX: %v", err)
	})
}

// GetActivityInfo against the real A-REX: the job's name and submission
// time from its GLUE2 document, and a fault for an unknown activity.
func TestAREXActivityInfo(t *testing.T) {
	tb := testbed.Require(t)
	c := arexClient(t, tb, "/wlcg/pilots")
	ctx := context.Background()
	res, err := c.Submit(ctx, []jobdesc.Job{{Name: "info-probe", Executable: jobdesc.Executable{Path: "/bin/true"}}}, ce.SubmitOptions{})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("submit: %v %+v", err, res)
	}
	id := res[0].Job.LocalID
	defer c.Clean(ctx, []string{id})
	// until the grid manager has written the job's GLUE2 document, A-REX
	// answers a template without the name
	var info map[string]activity
	var a activity
	var ok bool
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		info, err = c.activityInfo(ctx, []string{id, "nosuchactivity"})
		if err != nil {
			t.Fatal(err)
		}
		a, ok = info[id]
		if !ok || a.Submitted == nil || time.Since(*a.Submitted) > time.Hour {
			t.Fatalf("GetActivityInfo: %+v (ok %v)", a, ok)
		}
		if a.Name == "info-probe" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetActivityInfo: no name after 60 s: %+v", a)
		}
	}
	if _, ok := info["nosuchactivity"]; ok {
		t.Errorf("an unknown activity got a document")
	}
}
