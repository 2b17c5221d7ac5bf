package emies

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/budget"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// fakeEMIES answers every SOAP call with status and body (a FAKE A-REX).
func fakeEMIES(t *testing.T, status int, body string) *Client {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	addr, err := ce.ParseAddress("emies://"+strings.TrimPrefix(srv.URL, "https://")+"/arex", ce.EMIES)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ce.Config{Address: addr, Timeout: 30 * time.Second, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const testEnv = `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">`

// TestStreamedSOAPAnswers: the streamed reading of an envelope keeps what
// the whole-body reading did: a Header is passed over, a SOAP fault with a
// 500 is a *Fault (an access control fault an auth error), a 500 that is
// not SOAP an HTTP error, and too many elements a refusal naming the CE.
func TestStreamedSOAPAnswers(t *testing.T) {
	ctx := context.Background()
	c := fakeEMIES(t, http.StatusOK, testEnv+`<soap-env:Header><x/></soap-env:Header><soap-env:Body><ListActivitiesResponse><ActivityID>a1</ActivityID></ListActivitiesResponse></soap-env:Body></soap-env:Envelope>`)
	n, err := c.call(ctx, "ListActivities", envelope("<esainfo:ListActivities/>"))
	if err != nil || n.XMLName.Local != "ListActivitiesResponse" || n.text("ActivityID") != "a1" {
		t.Fatalf("an answer after a Header: %+v, %v", n, err)
	}
	fault := testEnv + `<soap-env:Body><soap-env:Fault><faultcode>soap-env:Receiver</faultcode><faultstring>f</faultstring><detail><%s><estypes:Message>m</estypes:Message></%s></detail></soap-env:Fault></soap-env:Body></soap-env:Envelope>`
	var f *Fault
	if _, err := fakeEMIES(t, 500, strings.ReplaceAll(fault, "%s", "InternalBaseFault")).call(ctx, "Op", envelope("<x/>")); !errors.As(err, &f) || f.Type != "InternalBaseFault" {
		t.Errorf("a SOAP fault with a 500: %v", err)
	}
	// A-REX 6.17 answers PutDelegation of an unknown id with a 200 holding an
	// empty response element and then the Fault
	later := testEnv + `<soap-env:Body><PutDelegationResponse/><soap-env:Fault><faultcode>soap-env:Server</faultcode><faultstring>unknown</faultstring><detail><UnknownDelegationIDFault><Message>Failed to find identifier</Message></UnknownDelegationIDFault></detail></soap-env:Fault></soap-env:Body></soap-env:Envelope>`
	if _, err := fakeEMIES(t, http.StatusOK, later).call(ctx, "PutDelegation", envelope("<x/>")); !errors.As(err, &f) || f.Type != "UnknownDelegationIDFault" {
		t.Errorf("a Fault after the response element in a 200: %v", err)
	}
	var ae *arexhttp.AuthError
	if _, err := fakeEMIES(t, 500, strings.ReplaceAll(fault, "%s", "AccessControlFault")).call(ctx, "Op", envelope("<x/>")); !errors.As(err, &ae) {
		t.Errorf("an access control fault: %v", err)
	}
	var he *arexhttp.HTTPError
	if _, err := fakeEMIES(t, 500, "<html>oops</html>").call(ctx, "Op", envelope("<x/>")); !errors.As(err, &he) || he.Code != 500 {
		t.Errorf("a 500 that is not SOAP: %v", err)
	}
	c = fakeEMIES(t, http.StatusOK, testEnv+`<soap-env:Body><OpResponse>`+strings.Repeat("<a/>", 200_001)+`</OpResponse></soap-env:Body></soap-env:Envelope>`)
	if _, err := c.call(ctx, "Op", envelope("<x/>")); !budget.IsError(err) || !strings.Contains(err.Error(), c.endpoint+": the EMI-ES Op answer has more than") {
		t.Errorf("200,001 elements: %v", err)
	}
}
