package emies

// A FAKE EMI-ES service (A-REX 6's SOAP interface) for the unit tests: the
// operations cesub sends (CreateActivity, GetActivityStatus/Info,
// ListActivities, Cancel/Wipe/RestartActivity, NotifyService,
// GetResourceInfo, InitDelegation/PutDelegation), the session directory
// (PUT uploads, HTML listings, downloads) and the grid manager's *logs
// files, over HTTPS on 127.0.0.1 with a certificate from a test-time CA.
// It records what it received so that tests assert on it.

import (
	"crypto"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/token"
)

// fakeActivity is one activity the fake holds.
type fakeActivity struct {
	id, name, delegation string
	status               esStatus
	gm                   string // the grid manager's state (*logs/<id>/status)
	failed, diag         string // *logs/<id>/failed, diag
	description          string // *logs/<id>/description: here only its annotations, one a line
	created              time.Time
	dataPush, notified   bool
	files                map[string]string // session directory
}

// fakeDelegation is a delegation the fake handed out a request for.
type fakeDelegation struct {
	key   crypto.Signer
	proxy []byte // the chain PutDelegation stored (nil until then)
}

// fakeService is the fake EMI-ES service's state.
type fakeService struct {
	t    *testing.T
	ca   *cetest.FakeCA
	base string // https://127.0.0.1:port/arex

	mu          sync.Mutex
	next        int
	acts        map[string]*fakeActivity
	delegations map[string]*fakeDelegation
	ops         []string // SOAP operations received, in order
	authz       map[string]bool
	putErrors   []error // chains PutDelegation refused, and why
	listLimit   int     // ListActivities answers at most this many (then truncated)
	refuse      bool    // answer every operation with A-REX's unmapped-identity fault
	uploaded    map[string]string
	// faults makes an operation answer a SOAP fault (fault element name).
	faults map[string]string
}

// newFakeEMIES starts a fake EMI-ES service and a client of it with a bearer token.
func newFakeEMIES(t *testing.T) (*fakeService, *Client) {
	t.Helper()
	f := &fakeService{t: t, ca: cetest.NewFakeCA(t), acts: map[string]*fakeActivity{}, delegations: map[string]*fakeDelegation{},
		authz: map[string]bool{}, uploaded: map[string]string{}, faults: map[string]string{}, listLimit: 10000}
	srv := f.ca.StartFakeTLS(t, f)
	f.base = srv.URL + "/arex"
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	c, err := NewClient(ce.Config{Address: ce.Address{Flavour: ce.EMIES, Host: host, Port: p, Path: "/arex"},
		Token:      &token.Static{Found: &token.Found{Token: token.Token("fake-emies-token"), Source: "test"}},
		HTTPClient: f.ca.Client(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.authz[r.Header.Get("Authorization")] = true
	f.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/arex")
	switch {
	case p == "" && r.Method == http.MethodPost:
		f.soap(w, r)
	case strings.HasPrefix(p, "/*logs/"):
		f.logs(w, strings.TrimPrefix(p, "/*logs/"))
	case r.Method == http.MethodPut:
		f.upload(w, r, strings.TrimPrefix(p, "/"))
	case r.Method == http.MethodGet:
		f.session(w, r, strings.TrimPrefix(p, "/"))
	default:
		http.Error(w, "not served by the fake", http.StatusNotFound)
	}
}

// ops the fake answers, by the Body's first element.
func (f *fakeService) handler(op string) func(*node) (string, *fakeFault) {
	return map[string]func(*node) (string, *fakeFault){
		"CreateActivity": f.create, "GetActivityStatus": f.status, "GetActivityInfo": f.info,
		"ListActivities": f.list, "CancelActivity": f.cancel, "WipeActivity": f.wipe, "RestartActivity": f.restart,
		"NotifyService": f.notify, "GetResourceInfo": f.resourceInfo, "InitDelegation": f.initDelegation,
		"PutDelegation": f.putDelegation,
	}[op]
}

// fakeFault is a whole-call SOAP fault: a plain one (typ "") or one with an
// EMI-ES fault element in its detail.
type fakeFault struct{ typ, msg string }

func (f *fakeService) soap(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "text/xml; charset=utf-8" {
		f.t.Errorf("SOAP request sent as %q", r.Header.Get("Content-Type"))
	}
	var env node
	if err := xml.NewDecoder(r.Body).Decode(&env); err != nil {
		f.t.Errorf("a SOAP request that is not XML: %v", err)
		http.Error(w, "bad XML", http.StatusBadRequest)
		return
	}
	body := env.child("Body")
	if env.XMLName.Space != nsSOAP || body == nil || len(body.Kids) != 1 {
		f.t.Errorf("not a SOAP 1.1 envelope with one operation: %+v", env.XMLName)
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	op := &body.Kids[0]
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op.XMLName.Local)
	h := f.handler(op.XMLName.Local)
	var out string
	var fault *fakeFault
	switch {
	case f.refuse:
		fault = &fakeFault{msg: "User can't be assigned configuration"}
	case f.faults[op.XMLName.Local] != "":
		fault = &fakeFault{typ: f.faults[op.XMLName.Local], msg: "injected by the test"}
	case h == nil:
		fault = &fakeFault{msg: "Operation not supported"}
	default:
		out, fault = h(op)
	}
	w.Header().Set("Content-Type", "text/xml")
	if fault != nil {
		w.WriteHeader(http.StatusInternalServerError)
		out = fault.xml()
	}
	_, _ = io.WriteString(w, `<?xml version="1.0"?><soap-env:Envelope `+envelopeNS+`><soap-env:Header/><soap-env:Body>`+out+`</soap-env:Body></soap-env:Envelope>`)
}

func (ff *fakeFault) xml() string {
	if ff.typ == "" {
		return "<soap-env:Fault><faultcode>soap-env:Client</faultcode><faultstring>" + esc(ff.msg) + "</faultstring></soap-env:Fault>"
	}
	return "<soap-env:Fault><faultcode>soap-env:Receiver</faultcode><faultstring></faultstring><detail>" +
		itemFault(ff.typ, ff.msg) + "</detail></soap-env:Fault>"
}

// itemFault is an EMI-ES fault element (also inside a vector answer's item).
func itemFault(typ, msg string) string {
	return "<estypes:" + typ + ">" + elem("estypes:Message", msg) + elem("estypes:Timestamp", time.Now().UTC().Format(time.RFC3339)) +
		"</estypes:" + typ + ">"
}

func statusXML(s esStatus) string {
	out := "<estypes:ActivityStatus>" + elem("estypes:Status", s.Status)
	for _, a := range s.Attributes {
		out += elem("estypes:Attribute", a)
	}
	out += elem("estypes:Timestamp", time.Now().UTC().Format(time.RFC3339))
	return out + "</estypes:ActivityStatus>"
}

// create makes an activity of each ActivityDescription (at most 10, as A-REX).
func (f *fakeService) create(op *node) (string, *fakeFault) {
	ads := op.children("ActivityDescription")
	if len(ads) == 0 {
		return "", &fakeFault{"InternalBaseFault", "ActivityDescription element is missing"}
	}
	if len(ads) > maxPerCall {
		return "", &fakeFault{"VectorLimitExceededFault", "Too many activity descriptions"}
	}
	out := "<escreate:CreateActivityResponse>"
	for _, ad := range ads {
		f.next++
		a := &fakeActivity{id: fmt.Sprintf("fakeEMIES%04dxyz", f.next), name: ad.child("ActivityIdentification").text("Name"),
			delegation: ad.child("DataStaging").text("DelegationID"), dataPush: ad.child("DataStaging").text("ClientDataPush") == "true",
			status: esStatus{Status: "accepted", Attributes: []string{"client-stagein-possible"}}, gm: "ACCEPTED",
			created: time.Now().UTC(), files: map[string]string{}}
		if a.dataPush {
			a.status.Status = "preprocessing"
		}
		if id := ad.child("ActivityIdentification"); id != nil {
			for _, an := range id.children("Annotation") {
				a.description += "<Annotation>" + strings.TrimSpace(an.Text) + "</Annotation>\n"
			}
		}
		f.acts[a.id] = a
		out += "<escreate:ActivityCreationResponse>" + elem("estypes:ActivityID", a.id) +
			elem("escreate:ActivityMgmtEndpointURL", f.base) + elem("escreate:ResourceInfoEndpointURL", f.base) +
			"<escreate:StageInDirectory>" + elem("escreate:URL", f.base+"/"+a.id) + "</escreate:StageInDirectory>" +
			"<escreate:SessionDirectory>" + elem("escreate:URL", f.base+"/"+a.id) + "</escreate:SessionDirectory>" +
			statusXML(a.status) + "</escreate:ActivityCreationResponse>"
	}
	return out + "</escreate:CreateActivityResponse>", nil
}

// activityIDs reads the ActivityID children of a vector operation.
func activityIDs(op *node) []string {
	var out []string
	for _, n := range op.children("ActivityID") {
		out = append(out, strings.TrimSpace(n.Text))
	}
	return out
}

// perActivity answers a vector operation item by item; do returns the
// item's content or a fault element.
func (f *fakeService) perActivity(op *node, resp, item string, do func(a *fakeActivity) (string, string)) (string, *fakeFault) {
	out := "<" + resp + ">"
	for _, id := range activityIDs(op) {
		out += "<" + item + ">" + elem("estypes:ActivityID", id)
		a := f.acts[id]
		if a == nil {
			out += itemFault("UnknownActivityIDFault", "Activity with specified ID not found")
		} else if content, fault := do(a); fault != "" {
			out += itemFault(fault, content)
		} else {
			out += content
		}
		out += "</" + item + ">"
	}
	return out + "</" + resp + ">", nil
}

func (f *fakeService) status(op *node) (string, *fakeFault) {
	return f.perActivity(op, "esainfo:GetActivityStatusResponse", "esainfo:ActivityStatusItem", func(a *fakeActivity) (string, string) {
		return statusXML(a.status), ""
	})
}

func (f *fakeService) info(op *node) (string, *fakeFault) {
	return f.perActivity(op, "esainfo:GetActivityInfoResponse", "esainfo:ActivityInfoItem", func(a *fakeActivity) (string, string) {
		doc := `<esainfo:ActivityInfoDocument CreationTime="` + a.created.Format(time.RFC3339) + `">` + elem("glue:Name", a.name)
		if code, ok := exitCode(a.diag); ok {
			doc += elem("glue:ExitCode", strconv.Itoa(code))
		}
		if a.failed != "" {
			doc += elem("glue:Error", a.failed)
		}
		return doc + "</esainfo:ActivityInfoDocument>", ""
	})
}

// list answers the ids created between FromDate and ToDate, at most listLimit.
func (f *fakeService) list(op *node) (string, *fakeFault) {
	from, err1 := time.Parse(time.RFC3339, op.text("FromDate"))
	to, err2 := time.Parse(time.RFC3339, op.text("ToDate"))
	if err1 != nil || err2 != nil {
		return "", &fakeFault{"InvalidParameterFault", "FromDate or ToDate is not a date"}
	}
	var found []string
	for id, a := range f.acts {
		if c := a.created.Truncate(time.Second); !c.Before(from) && !c.After(to) {
			found = append(found, id)
		}
	}
	sort.Strings(found)
	limit := f.listLimit
	if n, err := strconv.Atoi(op.text("Limit")); err == nil && n < limit {
		limit = n
	}
	attr := ""
	if len(found) > limit {
		found, attr = found[:limit], ` truncated="true"`
	}
	out := "<esainfo:ListActivitiesResponse" + attr + ">"
	for _, id := range found {
		out += elem("esainfo:ActivityID", id)
	}
	return out + "</esainfo:ListActivitiesResponse>", nil
}

func (f *fakeService) cancel(op *node) (string, *fakeFault) {
	return f.perActivity(op, "esmanag:CancelActivityResponse", "esmanag:CancelActivityResponseItem", func(a *fakeActivity) (string, string) {
		if a.status.Status == "terminal" {
			return "the activity has ended", "OperationNotAllowedFault"
		}
		a.status = esStatus{Status: "terminal", Attributes: []string{"processing-cancel"}}
		a.gm, a.failed = "FINISHED", "Job is canceled by external request"
		return "", ""
	})
}

func (f *fakeService) wipe(op *node) (string, *fakeFault) {
	return f.perActivity(op, "esmanag:WipeActivityResponse", "esmanag:WipeActivityResponseItem", func(a *fakeActivity) (string, string) {
		if a.status.Status != "terminal" {
			return "the activity is not in a terminal state", "OperationNotAllowedFault"
		}
		delete(f.acts, a.id)
		return "", ""
	})
}

func (f *fakeService) restart(op *node) (string, *fakeFault) {
	return f.perActivity(op, "esmanag:RestartActivityResponse", "esmanag:RestartActivityResponseItem", func(a *fakeActivity) (string, string) {
		if !a.status.has("-failure") {
			return "the activity has not failed", "OperationNotAllowedFault"
		}
		a.status, a.gm, a.failed = esStatus{Status: "processing-running"}, "INLRMS", ""
		return "", ""
	})
}

func (f *fakeService) notify(op *node) (string, *fakeFault) {
	out := "<esmanag:NotifyServiceResponse>"
	for _, it := range op.children("NotifyRequestItem") {
		id := it.text("ActivityID")
		out += "<esmanag:NotifyResponseItem>" + elem("estypes:ActivityID", id)
		switch a := f.acts[id]; {
		case a == nil:
			out += itemFault("UnknownActivityIDFault", "Activity with specified ID not found")
		case it.text("NotifyMessage") != "client-datapush-done":
			out += itemFault("InvalidParameterFault", "unknown notification")
		default:
			a.notified = true
			a.status = esStatus{Status: "processing-queued"}
		}
		out += "</esmanag:NotifyResponseItem>"
	}
	return out + "</esmanag:NotifyServiceResponse>", nil
}

func (f *fakeService) resourceInfo(*node) (string, *fakeFault) {
	return `<esrinfo:GetResourceInfoResponse><esrinfo:Services><glue:ComputingService xmlns:glue="http://schemas.ogf.org/glue/2009/03/spec_2.0_r1">` +
		`<glue:ComputingEndpoint><glue:InterfaceName>org.ogf.glue.emies.activitycreation</glue:InterfaceName>` +
		`<glue:InterfaceVersion>1.16</glue:InterfaceVersion><glue:ImplementationName>fake-arex</glue:ImplementationName>` +
		`<glue:ImplementationVersion>6.17.0</glue:ImplementationVersion></glue:ComputingEndpoint>` +
		`<glue:ComputingShare><glue:MappingQueue>fakeq</glue:MappingQueue><glue:MaxWallTime>3600</glue:MaxWallTime>` +
		`<glue:RunningJobs>2</glue:RunningJobs><glue:ServingState>production</glue:ServingState></glue:ComputingShare>` +
		`</glue:ComputingService></esrinfo:Services></esrinfo:GetResourceInfoResponse>`, nil
}

// initDelegation hands out a certificate request as base64 DER (no PEM
// armour, as A-REX writes it); RenewalID renews an existing delegation.
func (f *fakeService) initDelegation(op *node) (string, *fakeFault) {
	if op.text("CredentialType") != "RFC3820" {
		return "", &fakeFault{"InternalServiceDelegationFault", "Unsupported credential type requested"}
	}
	id := op.text("RenewalID")
	if id == "" {
		f.next++
		id = fmt.Sprintf("fakedeleg%d", f.next)
	} else if f.delegations[id] == nil {
		return "", &fakeFault{"UnknownDelegationIDFault", "Failed to find identifier"}
	}
	key, csr := cetest.NewCSR(f.t)
	f.delegations[id] = &fakeDelegation{key: key}
	blk, _ := pem.Decode(csr)
	return "<esdeleg:InitDelegationResponse>" + elem("esdeleg:DelegationID", id) +
		elem("esdeleg:CSR", base64.StdEncoding.EncodeToString(blk.Bytes)) + "</esdeleg:InitDelegationResponse>", nil
}

// putDelegation stores a chain once it is a proxy for the request's key
// signed by a user of the CA.
func (f *fakeService) putDelegation(op *node) (string, *fakeFault) {
	d := f.delegations[op.text("DelegationId")]
	if d == nil {
		return "", &fakeFault{"UnknownDelegationIDFault", "Failed to find identifier"}
	}
	chain := []byte(op.text("Credential"))
	if _, err := f.ca.CheckDelegated(chain, d.key.Public()); err != nil {
		f.putErrors = append(f.putErrors, err)
		return "", &fakeFault{"InternalServiceDelegationFault", "Failed to store delegated credentials: " + err.Error()}
	}
	d.proxy = chain
	return "<esdeleg:PutDelegationResponse>SUCCESS</esdeleg:PutDelegationResponse>", nil
}

// logs serves *logs/<id>/<name>: the grid manager's files.
func (f *fakeService) logs(w http.ResponseWriter, p string) {
	id, name, _ := strings.Cut(p, "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.acts[id]
	if a == nil {
		http.NotFound(w, nil)
		return
	}
	content, ok := map[string]string{"status": a.gm + "\n", "failed": a.failed, "diag": a.diag, "local": "queue=fakeq\nlocalid=" + a.id + "\n", "errors": "job " + id + " accepted\n",
		"description": a.description}[name]
	if !ok || content == "" {
		http.NotFound(w, nil)
		return
	}
	_, _ = io.WriteString(w, content)
}

// upload stores a PUT into a session directory.
func (f *fakeService) upload(w http.ResponseWriter, r *http.Request, p string) {
	id, name, _ := strings.Cut(p, "/")
	data, err := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.acts[id]
	if a == nil || err != nil || name == "" {
		http.NotFound(w, r)
		return
	}
	a.files[name] = string(data)
	f.uploaded[id+"/"+name] = string(data)
	w.WriteHeader(http.StatusCreated)
}

// session serves a session directory: an HTML listing (A-REX's format)
// for a path ending in /, else the file.
func (f *fakeService) session(w http.ResponseWriter, r *http.Request, p string) {
	id, name, _ := strings.Cut(p, "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.acts[id]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	if name == "" || strings.HasSuffix(name, "/") {
		f.listing(w, a, name)
		return
	}
	content, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, name, time.Time{}, strings.NewReader(content))
}

func (f *fakeService) listing(w http.ResponseWriter, a *fakeActivity, dir string) {
	var b strings.Builder
	b.WriteString("<HTML>\r\n<HEAD>\r\n<TITLE>ARex: Job</TITLE>\r\n</HEAD>\r\n<BODY>\r\n<UL>\r\n")
	dirs := map[string]bool{}
	var names []string
	for n := range a.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, dir)
		if !ok {
			continue
		}
		if sub, _, isDir := strings.Cut(rest, "/"); isDir {
			if !dirs[sub] {
				dirs[sub] = true
				fmt.Fprintf(&b, "<LI><I>dir</I> <A HREF=\"%s/%s/%s%s/\">%s</A>\r\n", f.base, a.id, dir, sub, html.EscapeString(sub))
			}
			continue
		}
		fmt.Fprintf(&b, "<LI><I>file</I> <A HREF=\"%s/%s/%s%s\">%s</A> - %d bytes\r\n", f.base, a.id, dir, rest, html.EscapeString(rest), len(a.files[n]))
	}
	b.WriteString("</UL>\r\n</BODY>\r\n</HTML>")
	w.Header().Set("Content-Type", "text/html")
	_, _ = io.WriteString(w, b.String())
}

// opsSeen returns the operations received so far.
func (f *fakeService) opsSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...)
}

// activity returns a copy of an activity's state (ok false when gone).
func (f *fakeService) activity(id string) (fakeActivity, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.acts[id]
	if a == nil {
		return fakeActivity{}, false
	}
	return *a, true
}

// setActivity changes an activity under the lock.
func (f *fakeService) setActivity(id string, change func(a *fakeActivity)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f.acts[id])
}

// locked runs change with the fake's state locked.
func (f *fakeService) locked(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}
