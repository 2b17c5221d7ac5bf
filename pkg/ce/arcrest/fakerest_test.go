package arcrest

// A FAKE A-REX REST service with state, for the unit tests: version
// discovery, jobs (new with bulk ADL and instances, status, kill, clean,
// restart, the live listing, diagnose files, the session directory), the
// GLUE2 info document, and delegations (new, renew, PUT of the signed
// chain, list, get, delete; token delegation on 1.1). HTTPS on 127.0.0.1
// with a certificate from a test-time CA. It records what it received so
// that tests assert on it.

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
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

// fakeJob is one job the fake holds.
type fakeJob struct {
	id, name, delegation, description string
	state                             string // REST state
	gm                                string // diagnose/status
	failed, diag                      string
	unlisted                          bool // missing from the live listing (being cleaned)
	files                             map[string]string
}

// fakeDeleg is one delegation.
type fakeDeleg struct {
	typ   string // x509 or jwt
	key   crypto.Signer
	chain []byte // what the client PUT (x509) or the token (jwt)
}

// fakeREST is the fake service's state.
type fakeREST struct {
	t        *testing.T
	ca       *cetest.FakeCA
	versions string // the /rest answer
	base     string // https://127.0.0.1:port/arex

	mu          sync.Mutex
	next        int
	jobs        map[string]*fakeJob
	delegations map[string]*fakeDeleg
	requests    []string // "METHOD path?query" received, in order
	authz       map[string]bool
	putErrors   []error
	dropSubmit  bool // create the jobs of action=new, then hang up without an answer
	refuse      bool // answer 403 to everything but version discovery
	instances   []string
}

// newFakeREST starts a fake A-REX offering versions and a client of it
// with a bearer token.
func newFakeREST(t *testing.T, versions string) (*fakeREST, *Client) {
	t.Helper()
	f := &fakeREST{t: t, ca: cetest.NewFakeCA(t), versions: versions, jobs: map[string]*fakeJob{},
		delegations: map[string]*fakeDeleg{}, authz: map[string]bool{}}
	srv := f.ca.StartFakeTLS(t, f)
	f.base = srv.URL + "/arex"
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	c, err := NewClient(ce.Config{Address: ce.Address{Flavour: ce.ARC, Host: host, Port: p, Path: "/arex"},
		Token:      &token.Static{Found: &token.Found{Token: token.Token(fakeToken), Source: "test"}},
		HTTPClient: f.ca.Client(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// fakeToken is a JWT-shaped token (not checked by the fake), made at test time.
var fakeToken = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." +
	base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"fake"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte("sig"))

func (f *fakeREST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	f.authz[r.Header.Get("Authorization")] = true
	p := strings.TrimPrefix(r.URL.Path, "/arex/rest")
	if p == "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, f.versions)
		return
	}
	if f.refuse {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	v, p, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !strings.Contains(f.versions, `"`+v+`"`) {
		http.Error(w, "no such version", http.StatusNotFound)
		return
	}
	switch first, rest, _ := strings.Cut(p, "/"); first {
	case "jobs":
		f.serveJobs(w, r, rest)
	case "delegations":
		f.serveDelegations(w, r, rest, v)
	case "info":
		f.serveInfo(w, r)
	default:
		http.NotFound(w, r)
	}
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// entry is one element of a jobs answer, written as A-REX writes it
// (every value a string).
func entry(code int, reason, id, state string) map[string]string {
	e := map[string]string{"status-code": strconv.Itoa(code), "reason": reason}
	if id != "" {
		e["id"] = id
	}
	if state != "" {
		e["state"] = state
	}
	return e
}

func (f *fakeREST) serveJobs(w http.ResponseWriter, r *http.Request, rest string) {
	if rest != "" {
		f.serveJob(w, r, rest)
		return
	}
	switch action := r.URL.Query().Get("action"); {
	case r.Method == http.MethodGet:
		f.listJobs(w, r)
	case action == "new":
		f.newJobs(w, r)
	case action != "":
		f.actOnJobs(w, r, action)
	default:
		http.Error(w, "no action", http.StatusBadRequest)
	}
}

// adlDoc reads one ActivityDescription or several under ActivityDescriptions.
type adlDesc struct {
	Name       string `xml:"ActivityIdentification>Name"`
	Delegation string `xml:"DataStaging>DelegationID"`
	Inner      []byte `xml:",innerxml"`
}

func parseADL(body []byte) ([]adlDesc, error) {
	var many struct {
		XMLName xml.Name
		Descs   []adlDesc `xml:"ActivityDescription"`
	}
	if err := xml.Unmarshal(body, &many); err != nil {
		return nil, err
	}
	if many.XMLName.Local == "ActivityDescriptions" {
		return many.Descs, nil
	}
	var one adlDesc
	err := xml.Unmarshal(body, &one)
	return []adlDesc{one}, err
}

// newJobs creates a job of each description (times instances).
func (f *fakeREST) newJobs(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	descs, err := parseADL(body)
	if r.Header.Get("Content-Type") != "application/xml" || err != nil {
		http.Error(w, "Failed to parse job description", http.StatusBadRequest)
		return
	}
	n := 1
	if in := r.URL.Query().Get("instances"); in != "" {
		f.instances = append(f.instances, in)
		n, _ = strconv.Atoi(in)
	}
	var out []map[string]string
	for _, d := range descs {
		for range n {
			f.next++
			j := &fakeJob{id: fmt.Sprintf("fakeREST%04dxyz", f.next), name: d.Name, delegation: d.Delegation,
				description: `<ActivityDescription xmlns="http://www.eu-emi.eu/es/2010/12/adl">` + string(d.Inner) + `</ActivityDescription>`, state: "ACCEPTING", gm: "ACCEPTED", files: map[string]string{}}
			f.jobs[j.id] = j
			out = append(out, entry(http.StatusCreated, "Created", j.id, j.state))
		}
	}
	if f.dropSubmit {
		hangUp(w)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"job": out})
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// actOnJobs answers status, kill, clean and restart per job.
func (f *fakeREST) actOnJobs(w http.ResponseWriter, r *http.Request, action string) {
	var req idRequest
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, "ids not JSON", http.StatusBadRequest)
		return
	}
	var out []map[string]string
	for _, e := range req.Job {
		j := f.jobs[e.ID]
		if j == nil {
			out = append(out, entry(http.StatusNotFound, "Job not found", e.ID, ""))
			continue
		}
		code, reason := f.act(j, action)
		out = append(out, entry(code, reason, j.id, j.state))
	}
	writeJSON(w, http.StatusCreated, map[string]any{"job": out})
}

func (f *fakeREST) act(j *fakeJob, action string) (int, string) {
	terminal := j.state == "FINISHED" || j.state == "FAILED" || j.state == "KILLED"
	switch action {
	case "status":
		return http.StatusOK, "OK"
	case "kill":
		if !terminal {
			j.state, j.gm, j.failed = "KILLED", "FINISHED", "Job is canceled by external request"
		}
		return http.StatusAccepted, "Queued for killing"
	case "clean":
		if !terminal {
			return http.StatusConflict, "Job is not finished"
		}
		delete(f.jobs, j.id)
		return http.StatusAccepted, "Queued for cleaning"
	case "restart":
		if j.state != "FAILED" {
			return http.StatusConflict, "Job has not failed"
		}
		j.state, j.gm, j.failed = "RUNNING", "INLRMS", ""
		return http.StatusAccepted, "Queued for restarting"
	}
	return http.StatusNotImplemented, "no such action"
}

// listJobs is GET jobs?state=…: the jobs in those states.
func (f *fakeREST) listJobs(w http.ResponseWriter, r *http.Request) {
	states := strings.Split(r.URL.Query().Get("state"), ",")
	var out []map[string]string
	for _, j := range f.sortedJobs() {
		if !j.unlisted && (r.URL.Query().Get("state") == "" || slices.Contains(states, j.state)) {
			out = append(out, map[string]string{"id": j.id, "state": j.state})
		}
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusOK) // A-REX's empty list is an empty body
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"job": out})
}

func (f *fakeREST) sortedJobs() []*fakeJob {
	var out []*fakeJob
	for _, j := range f.jobs {
		out = append(out, j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].id < out[b].id })
	return out
}

// serveJob serves jobs/<id>/diagnose/<name> and jobs/<id>/session/….
func (f *fakeREST) serveJob(w http.ResponseWriter, r *http.Request, rest string) {
	id, rest, _ := strings.Cut(rest, "/")
	kind, name, _ := strings.Cut(rest, "/")
	j := f.jobs[id]
	if j == nil {
		http.NotFound(w, r)
		return
	}
	switch {
	case kind == "diagnose" && r.Method == http.MethodGet:
		text := map[string]string{"status": j.gm, "failed": j.failed, "diag": j.diag, "description": j.description,
			"errors": "job " + id + " accepted\n", "local": "queue=fakeq\nlocalid=" + id + "\n"}[name]
		if text == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, text)
	case kind == "session" && r.Method == http.MethodPut:
		data, _ := io.ReadAll(r.Body)
		j.files[name] = string(data)
		w.WriteHeader(http.StatusCreated)
	case kind == "session" && r.Method == http.MethodGet:
		f.serveSession(w, r, j, name)
	default:
		http.NotFound(w, r)
	}
}

// serveSession answers a file, or A-REX's XML listing for a directory.
func (f *fakeREST) serveSession(w http.ResponseWriter, r *http.Request, j *fakeJob, name string) {
	if content, ok := j.files[name]; ok {
		http.ServeContent(w, r, name, time.Time{}, strings.NewReader(content))
		return
	}
	if name != "" && !strings.HasSuffix(name, "/") {
		http.NotFound(w, r)
		return
	}
	var b strings.Builder
	b.WriteString("<ListFilesResponse>")
	dirs := map[string]bool{}
	for n, content := range j.files {
		rest, ok := strings.CutPrefix(n, name)
		if !ok {
			continue
		}
		if sub, _, isDir := strings.Cut(rest, "/"); isDir {
			if !dirs[sub] {
				dirs[sub] = true
				b.WriteString("<dir>" + xmlEscape(sub) + "</dir>")
			}
			continue
		}
		fmt.Fprintf(&b, `<file size="%d">%s</file>`, len(content), xmlEscape(rest))
	}
	b.WriteString("</ListFilesResponse>")
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, b.String())
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (f *fakeREST) serveInfo(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("schema") != "glue2" {
		http.Error(w, "schema", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, `<InfoRoot><Domains><AdminDomain><Services><ComputingService>`+
		`<ComputingEndpoint><InterfaceName>org.nordugrid.arcrest</InterfaceName><ImplementationName>fake-arex</ImplementationName>`+
		`<ImplementationVersion>7.1.0</ImplementationVersion></ComputingEndpoint>`+
		`<ComputingShare><MappingQueue>fakeq</MappingQueue><RunningJobs>1</RunningJobs></ComputingShare>`+
		`</ComputingService></Services></AdminDomain></Domains></InfoRoot>`)
}

// snapshot runs read with the fake's state locked.
func (f *fakeREST) locked(read func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	read()
}
