package emies

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

func TestParseJobID(t *testing.T) {
	for _, tc := range []struct {
		id, endpoint, local string
		ok                  bool
	}{
		{"https://ce.example.org:8443/arex/abcDEF123", "https://ce.example.org:8443/arex", "abcDEF123", true},
		{"https://ce.example.org/arex/x/y1", "https://ce.example.org/arex/x", "y1", true},
		{"https://ce.example.org/arex/rest/1.0/jobs/abc", "", "", false}, // REST id
		{"https://ce.example.org/abc", "", "", false},                    // no endpoint path
		{"http://ce.example.org/arex/abc", "", "", false},                // plain http
		{"https://ce.example.org/arex/", "", "", false},
		{"https://ce.example.org/arex/a.b", "", "", false},
		{"https://ce.example.org/arex/abc?x=1", "", "", false},
	} {
		e, l, ok := ParseJobID(tc.id)
		if ok != tc.ok || e != tc.endpoint || l != tc.local {
			t.Errorf("ParseJobID(%q) = %q %q %v", tc.id, e, l, ok)
		}
	}
}

func TestStateMapping(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want ce.State
	}{
		{"accepted:client-stagein-possible", ce.StateAccepted},
		{"preprocessing:client-stagein-possible,server-stagein", ce.StatePreparing},
		{"processing-accepting", ce.StateQueuing},
		{"processing-queued", ce.StateQueuing},
		{"processing-running", ce.StateRunning},
		{"postprocessing:client-stageout-possible,server-stageout", ce.StateFinishing},
		{"terminal:client-stageout-possible", ce.StateFinished},
		{"terminal:processing-cancel", ce.StateKilled},
		{"terminal:preprocessing-failure", ce.StateFailed},
		{"terminal:app-failure", ce.StateFailed},
		{"terminal:expired", ce.StateDeleted},
		{"sleeping", ce.StateUnknown},
	} {
		if got := esStatusFromRaw(tc.raw).state(); got != tc.want {
			t.Errorf("%s -> %s, want %s", tc.raw, got, tc.want)
		}
		if got := esStatusFromRaw(tc.raw).raw(); got != tc.raw {
			t.Errorf("raw round trip %q -> %q", tc.raw, got)
		}
	}
	for gm, want := range map[string]ce.State{"ACCEPTED": ce.StateAccepted, "PREPARING": ce.StatePreparing, "SUBMIT": ce.StateQueuing,
		"INLRMS": ce.StateRunning, "CANCELING": ce.StateRunning, "FINISHING": ce.StateFinishing, "FINISHED": ce.StateFinished,
		"DELETED": ce.StateDeleted, "": ce.StateUnknown} {
		if got := gmState(gm, esStatus{Status: "accepted"}); got != want {
			t.Errorf("grid manager %q -> %s, want %s", gm, got, want)
		}
	}
	if got := gmState("INLRMS", esStatus{Status: "processing-queued"}); got != ce.StateQueuing {
		t.Errorf("INLRMS while the LRMS queues: %s", got)
	}
}

func TestExitCode(t *testing.T) {
	for diag, want := range map[string]int{"nodename=vm\nexitcode=0\n": 0, "exitcode=3\nWallTime=1s\nexitcode=7\n": 7, "ExitCode = 12": 12} {
		if got, ok := exitCode(diag); !ok || got != want {
			t.Errorf("%q -> %d %v, want %d", diag, got, ok, want)
		}
	}
	if _, ok := exitCode("nodename=vm\nexitcode=\n"); ok {
		t.Errorf("an empty exitcode was read as a number")
	}
}

// The listing A-REX 6.17 writes for a session directory (get.cpp's format).
func TestParseListing(t *testing.T) {
	body := "<HTML>\r\n<HEAD>\r\n<TITLE>ARex: Job</TITLE>\r\n</HEAD>\r\n<BODY>\r\n<UL>\r\n" +
		"<LI><I>file</I> <A HREF=\"https://h/arex/j/out.txt\">out.txt</A> - 17 bytes\r\n" +
		"<LI><I>dir</I> <A HREF=\"https://h/arex/j/sub/\">sub</A>\r\n" +
		"<LI><I>file</I> <A HREF=\"https://h/arex/j/a&amp;b\">a&amp;b</A> - 0 bytes\r\n" +
		"</UL>\r\n</BODY>\r\n</HTML>"
	files, dirs, err := parseListing(body)
	if err != nil || len(files) != 2 || files[0].Path != "out.txt" || files[0].Size != 17 || files[1].Path != "a&b" ||
		len(dirs) != 1 || dirs[0] != "sub" {
		t.Fatalf("got %+v %v %v", files, dirs, err)
	}
	if _, _, err := parseListing("hello"); err == nil {
		t.Errorf("a non-listing was accepted")
	}
}

// Fault bodies as A-REX 6.17 writes them (faults.cpp, DelegationInterface.cpp).
func TestFaultParsing(t *testing.T) {
	for _, tc := range []struct{ body, want, typ string }{
		{`<soap-env:Fault><soap-env:faultcode>soap-env:Client</soap-env:faultcode><soap-env:faultstring>Operation not supported</soap-env:faultstring></soap-env:Fault>`,
			"EMI-ES Op: Operation not supported", ""},
		{`<soap-env:Fault><faultcode>soap-env:Client</faultcode><faultstring></faultstring><detail><estypes:VectorLimitExceededFault><estypes:Message>Too many activity descriptions</estypes:Message><estypes:Timestamp>x</estypes:Timestamp><estypes:ServerLimit>10</estypes:ServerLimit></estypes:VectorLimitExceededFault></detail></soap-env:Fault>`,
			"EMI-ES Op: VectorLimitExceededFault: Too many activity descriptions: the CE takes at most 10 per request", "VectorLimitExceededFault"},
		{`<soap-env:Fault><faultcode>soap-env:Receiver</faultcode><soap-env:Detail><InternalServiceDelegationFault><estypes:Message>Unsupported credential type requested</estypes:Message><estypes:Description>d</estypes:Description><estypes:FailureCode>5</estypes:FailureCode></InternalServiceDelegationFault></soap-env:Detail></soap-env:Fault>`,
			"EMI-ES Op: InternalServiceDelegationFault: Unsupported credential type requested: d: failure code 5", "InternalServiceDelegationFault"},
	} {
		var n node
		if err := xml.Unmarshal([]byte(strings.ReplaceAll(tc.body, "soap-env:", "")), &n); err != nil {
			t.Fatal(err)
		}
		f := soapFault("Op", &n)
		if f.Error() != tc.want || f.Type != tc.typ {
			t.Errorf("got %q (%s), want %q", f.Error(), f.Type, tc.want)
		}
	}
	auth := &Fault{Op: "GetActivityStatus", String: "User can't be assigned configuration"}
	if !auth.AuthFailure() || (&Fault{Type: "AccessControlFault"}).AuthFailure() != true || (&Fault{Type: "InternalBaseFault"}).AuthFailure() {
		t.Errorf("auth classification wrong")
	}
}

// The CreateActivity body: bare ActivityDescriptions, ClientDataPush only
// for jobs with client-side inputs, values escaped.
func TestCreateRequest(t *testing.T) {
	dir := t.TempDir()
	_ = writeFile(dir+"/in.txt", "x")
	jobs, uploads, err := arexhttp.Prepare(parseXRSL(t, `+(&(executable="/bin/echo")(arguments="a<b&c")(inputfiles=("in.txt" "")))(&(executable="/bin/true"))`),
		"deleg1", dir)
	if err != nil {
		t.Fatal(err)
	}
	body, err := createRequest(jobs, uploads)
	if err != nil {
		t.Fatal(err)
	}
	var env node
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatalf("not XML: %v\n%s", err, body)
	}
	op := env.child("Body").child("CreateActivity")
	if op == nil || op.XMLName.Space != nsCreate {
		t.Fatalf("no escreate:CreateActivity in %s", body)
	}
	ads := op.children("ActivityDescription")
	if len(ads) != 2 {
		t.Fatalf("%d descriptions", len(ads))
	}
	if ads[0].child("DataStaging").text("ClientDataPush") != "true" || ads[1].child("DataStaging").text("ClientDataPush") != "" {
		t.Errorf("ClientDataPush must be set exactly for the job with a local input: %s", body)
	}
	if got := ads[0].child("Application").child("Executable").children("Argument"); len(got) != 1 || got[0].Text != "a<b&c" {
		t.Errorf("argument not escaped/round-tripped: %+v", got)
	}
	if ads[1].child("DataStaging").text("DelegationID") != "deleg1" {
		t.Errorf("delegation id not attached: %s", body)
	}
}
