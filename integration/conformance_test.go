package integration

import (
	"crypto/tls"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
	"github.com/cesub/cesub/pkg/token"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// backendFor builds, through the registry as the CLI does, the backend of
// a testbed CE with the token in tokenFile.
func backendFor(t *testing.T, tb *testbed.Env, address, tokenFile string) (ce.Backend, ce.Address) {
	t.Helper()
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	pool, _, err := x509proxy.CertPool(tb.Get(t, "X509_CERT_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := ce.ParseAddress(address, "")
	if err != nil {
		t.Fatal(err)
	}
	tlsFor := func(host string) *tls.Config { return &tls.Config{RootCAs: pool, ServerName: host} }
	b, err := ce.Backends.New(ce.Config{Address: addr, Timeout: time.Minute,
		Token:      &token.Static{Found: &token.Found{Token: token.Token(strings.TrimSpace(string(raw))), Source: "test"}},
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, TLSFor: tlsFor})
	if err != nil {
		t.Fatal(err)
	}
	return b, addr
}

// TestBackendConformance: every flavour's backend keeps the common contract
// (cetest.Conformance) against the real servers: A-REX 6.17 over REST and
// EMI-ES, ARC 7 (7.0 and 7.2) over REST, HTCondor (23.9.6 and 25.x).
func TestBackendConformance(t *testing.T) {
	tb := testbed.Require(t)
	jobs, err := xrsl.Parse("conformance.xrsl", []byte(`+(&(executable="/bin/sleep")(arguments="120")(jobname="conf-a"))(&(executable="/bin/sleep")(arguments="120")(jobname="conf-b"))`))
	if err != nil {
		t.Fatal(err)
	}
	arcUnknown := "NoSuchJobAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	run := func(t *testing.T, address, tokenFile, unknown string) {
		b, addr := backendFor(t, tb, address, tokenFile)
		cetest.Conformance(t, cetest.Harness{Backend: b, Flavour: addr.Flavour, Jobs: jobs, UnknownID: unknown})
	}
	t.Run("arc-rest-6.17", func(t *testing.T) {
		run(t, tb.Get(t, "CESUB_TESTBED_AREX_URL"), tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"), arcUnknown)
	})
	t.Run("emies-6.17", func(t *testing.T) {
		run(t, "emies://"+strings.TrimPrefix(tb.Get(t, "CESUB_TESTBED_AREX_URL"), "https://"), tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"), arcUnknown)
	})
	t.Run("arc7", func(t *testing.T) {
		testbed.EachVersion(t, tb, "ARC7", func(t *testing.T, tb *testbed.Env) {
			run(t, tb.Get(t, "CESUB_TESTBED_ARC7_URL"), tb.Get(t, "CESUB_TESTBED_ARC7_TOKEN_FILE"), arcUnknown)
		})
	})
	t.Run("htcondor", func(t *testing.T) {
		testbed.EachVersion(t, tb, "CONDOR", func(t *testing.T, tb *testbed.Env) {
			run(t, tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "999999.0")
		})
	})
}
