package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/faultproxy"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// faultTimeout is --timeout in the fault matrix; limit is the longest a
// command may take under any fault (several requests, each bounded by it).
const (
	faultTimeout = 3 * time.Second
	faultLimit   = 5 * faultTimeout
)

// arexJobs reads the real A-REX's job list of the testbed identity and the
// job names in their descriptions (cached: a description never changes).
type arexJobs struct {
	t    *testing.T
	base string
	hc   *http.Client
	tok  string
	mu   sync.Mutex
	desc map[string]string
}

func newArexJobs(t *testing.T, tb *testbed.Env) *arexJobs {
	pool, _, err := x509proxy.CertPool(tb.Get(t, "X509_CERT_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	return &arexJobs{t: t, base: tb.Get(t, "CESUB_TESTBED_AREX_URL") + "/rest/1.0", tok: strings.TrimSpace(string(tok)),
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, desc: map[string]string{}}
}

func (a *arexJobs) get(path, accept string) ([]byte, int) {
	req, _ := http.NewRequest(http.MethodGet, a.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.tok)
	req.Header.Set("Accept", accept)
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("A-REX %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b, resp.StatusCode
}

// named lists the ids of the CE's jobs whose description names the job name.
func (a *arexJobs) named(name string) []string {
	b, code := a.get("/jobs", "application/json")
	if code != http.StatusOK {
		a.t.Fatalf("A-REX job list: %d %s", code, b)
	}
	ids := regexp.MustCompile(`"id":"([A-Za-z0-9]+)"`).FindAllStringSubmatch(string(b), -1)
	var out []string
	for _, m := range ids {
		id := m[1]
		a.mu.Lock()
		d, ok := a.desc[id]
		a.mu.Unlock()
		if !ok {
			body, code := a.get("/jobs/"+id+"/diagnose/description", "text/plain")
			if code != http.StatusOK {
				continue
			}
			d = string(body)
			a.mu.Lock()
			a.desc[id] = d
			a.mu.Unlock()
		}
		if strings.Contains(d, ">"+name+"<") {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// faultCase is one cell of the matrix.
type faultCase struct {
	fault faultproxy.Fault
	op    string
}

// faultOutcome is what the matrix records of a cell.
type faultOutcome struct {
	exit              int
	created, recorded int  // jobs on the CE of this cell, and how many of them are on the job list
	warned            bool // a warning line on stderr
	took              time.Duration
}

// TestFaultMatrix puts a fault-injecting proxy between cesub and the REAL
// A-REX 6.17 and runs submit, bulk submit, status, get and kill through each
// fault. For every cell: no job the CE created is missing from the job list,
// none was created twice, the exit code and message say what happened, and
// the command ends within faultLimit. Its outcome table must be the one in
// docs/reliability.md (CESUB_WRITE_DOCS=1 writes it there).
func TestFaultMatrix(t *testing.T) {
	w := newArexFaults(t)
	faults := []faultproxy.Fault{faultproxy.Refused, faultproxy.ResetOnAccept, faultproxy.NoTLS, faultproxy.ResetAfterRequest,
		faultproxy.TruncateReply, faultproxy.DelayReply}
	w.prepare(t, faults)
	ops := []string{"submit", "bulk submit", "status", "get", "kill"}
	m := &faultMatrix{marker: "fault-matrix", intro: "Checked by `TestFaultMatrix` (integration/faultmatrix_test.go) against the real A-REX 6.17",
		faults: faults, ops: ops}
	for _, f := range faults {
		for _, op := range ops {
			name := "fm-" + slug(f) + "-" + strings.ReplaceAll(op, " ", "-")
			t.Run(name, func(t *testing.T) {
				r, o := w.cell(t, f, op, name)
				checkFaultOutcome(t, f, r, o)
				m.record(t, faultCase{f, op}, o)
			})
		}
	}
	for _, id := range w.sleepers {
		w.clean(t, id)
	}
	w.clean(t, w.finished)
	m.finish(t)
}

// arexFaults is TestFaultMatrix's world: the real A-REX behind
// fault-injecting proxies, one job list, and the jobs the status, get and
// kill cells work on, submitted through a proxy without faults (so the
// job list names that proxy's address).
type arexFaults struct {
	tb       *testbed.Env
	dir      string
	joblist  string
	env      map[string]string
	cert     tls.Certificate
	pool     *x509.CertPool
	upstream string
	ceJobs   *arexJobs
	passCE   string
	finished string                      // a job that ran /bin/echo hello into out.txt
	sleepers map[faultproxy.Fault]string // a running job for each fault's kill cell
}

func newArexFaults(t *testing.T) *arexFaults {
	tb := testbed.Require(t)
	w := &arexFaults{tb: tb, dir: t.TempDir(), sleepers: map[faultproxy.Fault]string{}}
	ca, err := faultproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if w.cert, err = ca.ServerCert([]string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	caDir := filepath.Join(w.dir, "ca")
	_ = os.MkdirAll(caDir, 0o755)
	if err := os.WriteFile(filepath.Join(caDir, "faultproxy-ca.pem"), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if w.pool, _, err = x509proxy.CertPool(tb.Get(t, "X509_CERT_DIR")); err != nil {
		t.Fatal(err)
	}
	arexURL := tb.Get(t, "CESUB_TESTBED_AREX_URL") // https://localhost:8444/arex
	w.upstream = strings.TrimPrefix(strings.TrimSuffix(arexURL, "/arex"), "https://")
	w.joblist = filepath.Join(w.dir, "jobs.db")
	w.env = jobEnv(t, tb, w.joblist)
	w.env["X509_CERT_DIR"] = caDir
	w.env["CESUB_TIMEOUT"] = faultTimeout.String()
	w.ceJobs = newArexJobs(t, tb)
	return w
}

// newProxy starts a proxy to the A-REX striking with f at the requests
// match picks (every request: nil); t's end stops it.
func (w *arexFaults) newProxy(t *testing.T, f faultproxy.Fault, match func(*http.Request) bool) *faultproxy.Proxy {
	p := &faultproxy.Proxy{Upstream: w.upstream, UpstreamTLS: &tls.Config{RootCAs: w.pool, ServerName: "localhost"},
		Cert: w.cert, Fault: f, Match: match, Once: f != faultproxy.Refused && f != faultproxy.NoTLS, Delay: 2 * faultTimeout}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// run runs cesub with the CE behind proxy p, and says how long it took.
func (w *arexFaults) run(t *testing.T, p *faultproxy.Proxy, args ...string) (result, time.Duration) {
	return w.runJobs(t, append(args, "-C", "https://"+p.Addr()+"/arex")...)
}

// runJobs runs a job command (the CE comes from the job list).
func (w *arexFaults) runJobs(t *testing.T, args ...string) (result, time.Duration) {
	t0 := time.Now()
	r := cesub(t, w.tb, w.env, args...)
	return r, time.Since(t0)
}

func (w *arexFaults) clean(t *testing.T, ids ...string) {
	if len(ids) > 0 {
		_ = cesub(t, w.tb, w.env, append([]string{"clean"}, ids...)...)
	}
}

// prepare submits, through a proxy without faults, the finished job the
// status and get cells read and a sleeping job for each fault's kill cell.
func (w *arexFaults) prepare(t *testing.T, faults []faultproxy.Fault) {
	pass := w.newProxy(t, faultproxy.None, nil)
	w.passCE = "https://" + pass.Addr() + "/arex"
	submitOne := func(name, exe, args string) string {
		r, _ := w.run(t, pass, "submit", "-e", fmt.Sprintf(`&(executable=%q)(arguments=%q)(jobname=%q)(stdout="out.txt")`, exe, args, name))
		if r.code != 0 {
			t.Fatalf("submit %s: %d %s", name, r.code, r.err)
		}
		return strings.TrimSpace(r.out)
	}
	w.finished = submitOne("fm-finished", "/bin/echo", "hello")
	for _, f := range faults {
		w.sleepers[f] = submitOne("fm-sleep-"+slug(f), "/bin/sleep", "600")
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		r, _ := w.runJobs(t, "status", w.finished, "-o", "json")
		if strings.Contains(r.out, `"state": "FINISHED"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job for get did not finish: %s %s", r.out, r.err)
		}
		time.Sleep(2 * time.Second)
	}
}

// repoint: every job's address is the pass-through proxy; a cell points
// the job list at its own proxy by adding the jobs it uses with that CE.
func (w *arexFaults) repoint(t *testing.T, p *faultproxy.Proxy, ids ...string) []string {
	st, err := jobstore.Open(context.Background(), w.joblist)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []string
	for _, id := range ids {
		jobs, err := st.List(context.Background(), jobstore.Filter{IDs: []string{id}})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("job %s on the list: %v %d", id, err, len(jobs))
		}
		j := jobs[0]
		newCE := "https://" + p.Addr() + "/arex"
		nj := j
		nj.CE, nj.ID = newCE, strings.Replace(j.ID, w.passCE, newCE, 1)
		if _, err := st.Add(context.Background(), nj); err != nil {
			t.Fatal(err)
		}
		out = append(out, nj.ID)
	}
	return out
}

func isAction(a string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.URL.Query().Get("action") == a }
}

// cell runs op through a proxy striking with f at the request op depends on.
func (w *arexFaults) cell(t *testing.T, f faultproxy.Fault, op, name string) (result, faultOutcome) {
	var o faultOutcome
	var r result
	switch op {
	case "submit", "bulk submit":
		r, o = w.submitCell(t, f, op, name)
	case "status":
		p := w.newProxy(t, f, func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/jobs") })
		id := w.repoint(t, p, w.finished)[0]
		r, o.took = w.runJobs(t, "status", id)
		if r.code == 0 && !strings.Contains(r.out, "FINISHED") {
			t.Errorf("status exit 0 without the state: %s", r.out)
		}
		if !strings.Contains(r.out, strings.TrimPrefix(id, "https://")) {
			t.Errorf("status dropped the job: %s", r.out)
		}
	case "get":
		p := w.newProxy(t, f, func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/session") })
		id := w.repoint(t, p, w.finished)[0]
		out := filepath.Join(w.dir, name)
		r, o.took = w.runJobs(t, "get", "--keep", "-D", out, id)
		files, _ := filepath.Glob(filepath.Join(out, "*", "out.txt"))
		if r.code == 0 {
			if len(files) != 1 {
				t.Errorf("get exit 0 without out.txt")
			} else if b, _ := os.ReadFile(files[0]); strings.TrimSpace(string(b)) != "hello" {
				t.Errorf("get exit 0 with out.txt = %q", b)
			}
		}
	case "kill":
		p := w.newProxy(t, f, isAction("kill"))
		id := w.repoint(t, p, w.sleepers[f])[0]
		r, o.took = w.runJobs(t, "kill", id)
	}
	o.exit = r.code
	o.warned = warned(r.err)
	return r, o
}

// submitCell submits one job (bulk: five in one request) through a proxy
// striking at the submission: every job the CE created is on the job list,
// none twice, and exit 0 means all were created. The jobs are cleaned.
func (w *arexFaults) submitCell(t *testing.T, f faultproxy.Fault, op, name string) (result, faultOutcome) {
	var o faultOutcome
	n := 1
	if op == "bulk submit" {
		n = 5
	}
	p := w.newProxy(t, f, isAction("new"))
	desc := filepath.Join(w.dir, name+".xrsl")
	var b strings.Builder
	b.WriteString("+")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `(&(executable="/bin/true")(jobname=%q))`, name)
	}
	_ = os.WriteFile(desc, []byte(b.String()), 0o644)
	r, took := w.run(t, p, "submit", "-f", desc)
	o.took = took
	created := w.ceJobs.named(name)
	o.created = len(created)
	st, err := jobstore.Open(context.Background(), w.joblist)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	jobs, _ := st.List(context.Background(), jobstore.Filter{})
	st.Close()
	for _, j := range jobs {
		recorded[j.LocalID] = true
	}
	var cleanIDs []string
	for _, id := range created {
		if recorded[id] {
			o.recorded++
		} else {
			t.Errorf("job %s was created on the CE but is not on the job list\nstderr: %s", id, r.err)
		}
		cleanIDs = append(cleanIDs, w.passCE+"/rest/1.0/jobs/"+id) // through the pass-through proxy
	}
	if o.created > n {
		t.Errorf("%d jobs created for %d descriptions: submitted twice", o.created, n)
	}
	if r.code == 0 && o.created != n {
		t.Errorf("exit 0 but %d of %d jobs exist", o.created, n)
	}
	w.clean(t, cleanIDs...)
	return r, o
}

// checkFaultOutcome: within faultLimit; exit 0, 1 or 3, a failure with a
// `cesub:` line; a refused connection fails saying so; a CE that never
// answers TLS is no success.
func checkFaultOutcome(t *testing.T, f faultproxy.Fault, r result, o faultOutcome) {
	if o.took > faultLimit {
		t.Errorf("took %s, more than %s", o.took.Round(time.Millisecond), faultLimit)
	}
	if r.code != 0 && !strings.Contains(r.err, "cesub: ") {
		t.Errorf("exit %d without an error line: %q", r.code, r.err)
	}
	if r.code != 0 && r.code != 1 && r.code != 3 {
		t.Errorf("exit %d: want 0, 1 or 3", r.code)
	}
	switch f {
	case faultproxy.Refused:
		if r.code != 1 || !strings.Contains(r.err, "refused") {
			t.Errorf("refused: exit %d %q", r.code, r.err)
		}
	case faultproxy.NoTLS:
		if r.code == 0 {
			t.Errorf("a CE that never answers TLS: exit 0")
		}
	}
}

// TestFaultMatrixHTCondor: the faults an HTCondor-CE's front door can show
// (nothing listening, a reset at once, a port that accepts and never
// answers) for submit, status and kill against the real schedd's flavour:
// a failure within faultLimit, exit 1 with the reason, nothing recorded.
// (Faults inside a CEDAR conversation are the fake peer's, in pkg/cedar:
// the schedd's later connections go to the address its collector ad gives,
// which a proxy in front of the CE does not see.)
func TestFaultMatrixHTCondor(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	joblist := filepath.Join(dir, "jobs.db")
	sub := filepath.Join(dir, "job.sub")
	_ = os.WriteFile(sub, []byte("executable = /bin/true\nqueue 3\n"), 0o644)
	faults := []faultproxy.Fault{faultproxy.Refused, faultproxy.ResetOnAccept, faultproxy.NoTLS}
	ops := []string{"submit", "status", "kill"}
	m := &faultMatrix{marker: "fault-matrix-htcondor", intro: "Checked by `TestFaultMatrixHTCondor` (integration/faultmatrix_test.go), HTCondor flavour, the fault at the CE's address",
		faults: faults, ops: ops}
	for _, f := range faults {
		p := &faultproxy.Proxy{Fault: f}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		ceAddr := "condor://" + p.Addr()
		// a token for the address used, so the pre-flight lets the request go
		env := map[string]string{"BEARER_TOKEN_FILE": condorToken(t, tb, testissuer.Claims{Audience: []string{p.Addr()}}),
			"CESUB_JOBLIST": joblist, "CESUB_TIMEOUT": faultTimeout.String()}
		for _, op := range ops {
			t.Run("condor-"+slug(f)+"-"+op, func(t *testing.T) {
				var args []string
				switch op {
				case "submit":
					args = []string{"submit", "-C", ceAddr, "-f", sub}
				case "status":
					args = []string{"status", ceAddr + "/12.0"}
				case "kill":
					args = []string{"kill", ceAddr + "/12.0"}
				}
				t0 := time.Now()
				r := cesub(t, tb, env, args...)
				o := faultOutcome{exit: r.code, warned: warned(r.err), took: time.Since(t0)}
				if o.took > faultLimit {
					t.Errorf("took %s, more than %s", o.took.Round(time.Millisecond), faultLimit)
				}
				if r.code != 1 && r.code != 3 || !strings.Contains(r.err, "cesub: ") {
					t.Errorf("exit %d, stderr %q: want a failure saying why", r.code, r.err)
				}
				if op == "submit" {
					st, err := jobstore.Open(context.Background(), joblist)
					if err != nil {
						t.Fatal(err)
					}
					jobs, _ := st.List(context.Background(), jobstore.Filter{})
					st.Close()
					if len(jobs) != 0 {
						t.Errorf("a failed submission recorded %d jobs", len(jobs))
					}
				}
				m.record(t, faultCase{f, op}, o)
			})
		}
		p.Close()
	}
	m.finish(t)
}

func slug(f faultproxy.Fault) string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(string(f)), "-"), "-")
}

// warned says whether cesub printed a warning line.
func warned(stderr string) bool {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "warning: ") {
			return true
		}
	}
	return false
}

// class is a cell's outcome as the document records it, the same every run
// (no error wording, addresses or ids): the exit code, a warning on
// success, and for a submission the jobs on the CE / on the job list.
func (o faultOutcome) class(op string) string {
	s := fmt.Sprintf("exit %d", o.exit)
	if o.exit == 0 && o.warned {
		s += " with a warning"
	}
	if strings.Contains(op, "submit") {
		s += fmt.Sprintf(", %d / %d jobs", o.created, o.recorded)
	}
	return s
}

// faultMatrix is one table of docs/reliability.md: the cells a test ran and
// their outcomes.
type faultMatrix struct {
	marker, intro string
	faults        []faultproxy.Fault
	ops           []string
	// timing: the cells whose outcome depends on timing, with every outcome
	// each can have (each checked safe by the cell like any other outcome);
	// the document lists them all instead of the one a run saw.
	timing   map[faultCase][]string
	mu       sync.Mutex
	outcomes map[faultCase]faultOutcome
}

// record keeps a cell's outcome; a timing-dependent cell must have one of
// its declared outcomes.
func (m *faultMatrix) record(t *testing.T, c faultCase, o faultOutcome) {
	t.Helper()
	if want, ok := m.timing[c]; ok && !slices.Contains(want, o.class(c.op)) {
		t.Errorf("outcome %q is none of the declared outcomes %q of this timing-dependent cell: check that it is safe and add it", o.class(c.op), want)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.outcomes == nil {
		m.outcomes = map[faultCase]faultOutcome{}
	}
	m.outcomes[c] = o
}

// table renders the matrix: deterministic for a given set of outcome classes.
func (m *faultMatrix) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, `--timeout %s`.\n\n", m.intro, faultTimeout)
	b.WriteString("| fault | operation | outcome (exit code; for a submission, jobs on the CE / on the job list) |\n|---|---|---|\n")
	for _, f := range m.faults {
		for _, op := range m.ops {
			c := faultCase{f, op}
			o, ok := m.outcomes[c]
			if !ok {
				continue
			}
			cell := o.class(op)
			if all, ok := m.timing[c]; ok {
				cell = strings.Join(all, " **or** ") + " (depends on timing)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", f, op, cell)
		}
	}
	return b.String()
}

// writeDocsEnv set to 1 makes the fault-matrix tests write their tables
// into docs/reliability.md (`make fault-docs`); unset, they check that the
// document holds the table they measured.
const writeDocsEnv = "CESUB_WRITE_DOCS"

// finish compares the table with its section of docs/reliability.md, or
// with CESUB_WRITE_DOCS=1 writes it there. A failed run leaves the document
// alone: its table would miss cells.
func (m *faultMatrix) finish(t *testing.T) {
	t.Helper()
	var js []map[string]any
	for c, o := range m.outcomes {
		js = append(js, map[string]any{"fault": c.fault, "op": c.op, "exit": o.exit, "took_ms": o.took.Milliseconds()})
	}
	jb, _ := json.Marshal(js)
	t.Logf("fault matrix timings: %s", jb)
	if t.Failed() {
		return
	}
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "docs", "reliability.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+m.marker+":begin -->\n", "<!-- "+m.marker+":end -->"
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s markers", path, m.marker)
	}
	have, want := string(doc[i+len(begin):j]), m.table()
	if os.Getenv(writeDocsEnv) != "1" {
		if have != want {
			t.Errorf("%s is stale between the %s markers: run `make fault-docs` (%s=1) after checking the new outcomes are right; measured:\n%s", path, m.marker, writeDocsEnv, want)
		}
		return
	}
	out := string(doc[:i+len(begin)]) + want + string(doc[j:])
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
