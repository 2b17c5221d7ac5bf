package cli

// Security regressions through the whole command, against a FAKE A-REX
// (httptest): answers no real A-REX gives.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/faultproxy"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testissuer"
)

// hostileAREX answers every job request with the ids given, and serves a
// session with one file for any job.
func hostileAREX(t *testing.T, ids ...string) (*httptest.Server, string) {
	t.Helper()
	return fakeAREX(t, nil, ids...)
}

// fakeAREX is hostileAREX with wrap (if set) around its handler, to see
// the requests.
func fakeAREX(t *testing.T, wrap func(http.Handler) http.Handler, ids ...string) (*httptest.Server, string) {
	t.Helper()
	entries := func(code string) string {
		var b strings.Builder
		for i, id := range ids {
			if i > 0 {
				b.WriteString(",")
			}
			js, _ := json.Marshal(id)
			b.WriteString(`{"status-code":"` + code + `","reason":"OK","id":` + string(js) + `,"state":"FINISHED"}`)
		}
		return `{"job":[` + b.String() + `]}`
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/arex/rest":
			_, _ = io.WriteString(w, `{"version":["1.0"]}`)
		case r.URL.Path == "/arex/rest/1.0/jobs" && r.URL.Query().Get("action") == "new":
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, entries("201"))
		case r.URL.Path == "/arex/rest/1.0/jobs" && r.URL.Query().Get("action") != "":
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, entries("200"))
		case r.URL.Path == "/arex/rest/1.0/jobs":
			_, _ = io.WriteString(w, entries("200"))
		case strings.HasSuffix(r.URL.Path, "/session/"):
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, `<ActivityInfo><file size="5">out.txt</file></ActivityInfo>`)
		case strings.HasSuffix(r.URL.Path, "/session/out.txt"):
			_, _ = io.WriteString(w, "owned")
		default:
			http.NotFound(w, r)
		}
	})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	caDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(caDir, "test.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caDir
}

// TestHostileJobIDs: ids a CE returns that are not A-REX ids ("../../x",
// "a?b=c", spaces) are never recorded, and a download never leaves -D,
// even for such an id already on the job list.
func TestHostileJobIDs(t *testing.T) {
	hostile := []string{"../../escape", "a?b=c", "with space", "okJob1"}
	srv, caDir := hostileAREX(t, hostile...)
	k := mintKey(t)
	tok := mint(t, k, testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.create compute.read compute.modify compute.cancel", Lifetime: time.Hour})
	work := t.TempDir()
	list := filepath.Join(work, "jobs.db")
	desc := filepath.Join(work, "job.xrsl")
	if err := os.WriteFile(desc, []byte("+"+strings.Repeat("(&(executable=/bin/true))", len(hostile))), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"BEARER_TOKEN": tok}
	ceURL := srv.URL + "/arex"
	common := []string{"-j", list, "--ca-dir", caDir, "-C", ceURL}

	r := run(t, vars, append([]string{"submit", "-f", desc}, common...)...)
	if r.code != 3 || !strings.Contains(r.out, "/okJob1") || strings.Contains(r.out, "escape") {
		t.Fatalf("submit with hostile ids: exit %d\nout: %s\nerr: %s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.err, `unusable job id "../../escape"`) {
		t.Errorf("submit does not say which id it refused: %s", r.err)
	}
	ids := func() []string {
		st, err := jobstore.Open(context.Background(), list)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		jobs, err := st.List(context.Background(), jobstore.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range jobs {
			out = append(out, j.LocalID)
		}
		return out
	}
	if got := ids(); len(got) != 1 || got[0] != "okJob1" {
		t.Fatalf("job list after submit: %q, want only okJob1", got)
	}

	r = run(t, vars, append([]string{"sync"}, common...)...)
	if got := ids(); len(got) != 1 || got[0] != "okJob1" || !strings.Contains(r.err, "not added") {
		t.Fatalf("job list after sync: %q (stderr %s)", got, r.err)
	}

	// a list written before ids were checked
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Add(context.Background(), jobstore.Job{ID: ceURL + "/rest/1.0/jobs/../../escape", LocalID: "../../escape", CE: ceURL, Flavour: "arc", Submitted: time.Now()})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(work, "a", "b", "dl")
	r = run(t, vars, "get", "-a", "-D", dl, "-j", list, "--ca-dir", caDir)
	if _, err := os.Stat(filepath.Join(work, "a", "escape")); err == nil {
		t.Fatalf("get wrote outside -D (%s): %s", dl, r.err)
	}
	if !strings.Contains(r.err, "not downloaded") {
		t.Errorf("get does not say why the job was skipped: %s", r.err)
	}
	if b, err := os.ReadFile(filepath.Join(dl, "okJob1", "out.txt")); err != nil || string(b) != "owned" {
		t.Errorf("the valid job was not downloaded: %v %q (stderr %s)", err, b, r.err)
	}
}

// TestMistypedSubcommandAndBadTimeoutExit2: a mistyped subcommand of a
// group exits 2 with a suggestion (it printed help and exited 0), and a
// timeout that is zero, negative or not a duration is a usage error from
// any source; a bare number is seconds.
func TestMistypedSubcommandAndBadTimeoutExit2(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"token", "shw"}, "Did you mean this?\n\tshow"},
		{nil, []string{"proxy", "inti"}, `unknown command "inti" for "cesub proxy"`},
		{nil, []string{"docs", "mna", "x"}, `unknown command "mna"`},
		{nil, []string{"--timeout", "0", "version"}, "more than zero"},
		{nil, []string{"--timeout", "-3s", "version"}, "more than zero"},
		{nil, []string{"--timeout", "soon", "version"}, "not a duration"},
		{map[string]string{"CESUB_TIMEOUT": "0"}, []string{"version"}, "timeout (from CESUB_TIMEOUT)"},
	} {
		r := run(t, tc.env, tc.args...)
		if r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 and %q", tc.env, tc.args, r.code, r.err, tc.want)
		}
	}
	if r := run(t, map[string]string{"CESUB_TIMEOUT": "30"}, "version", "--debug"); r.code != 0 {
		t.Errorf("CESUB_TIMEOUT=30: exit %d %s", r.code, r.err)
	}
	if r := run(t, nil, "token"); r.code != 0 || !strings.Contains(r.out, "Available Commands") {
		t.Errorf("a bare group shows its help: exit %d", r.code)
	}
}

// TestStatusKeepsEveryJobAndStates: status shows a row for a job it could
// not query (text, JSON and --watch), --state takes any case and refuses
// unknown states, an empty selection says so, and empty JSON lists are [].
func TestStatusKeepsEveryJobAndStates(t *testing.T) {
	srv, caDir := hostileAREX(t, "okJob1") // answers for okJob1 only
	k := mintKey(t)
	tok := mint(t, k, testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.read", Lifetime: time.Hour})
	vars := map[string]string{"BEARER_TOKEN": tok}
	list := filepath.Join(t.TempDir(), "jobs.db")
	ceURL := srv.URL + "/arex"
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"okJob1", "lostJob2"} {
		if _, err := st.Add(context.Background(), jobstore.Job{ID: ceURL + "/rest/1.0/jobs/" + id, LocalID: id, CE: ceURL, Flavour: "arc", Submitted: time.Now(), State: "RUNNING"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	common := []string{"-j", list, "--ca-dir", caDir}

	r := run(t, vars, append([]string{"status", "-a"}, common...)...)
	if r.code != 3 || !strings.Contains(r.out, "lostJob2") || !strings.Contains(r.out, "okJob1") || !strings.Contains(r.out, "error:") {
		t.Errorf("status text: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	r = run(t, vars, append([]string{"status", "-a", "-o", "json"}, common...)...)
	var doc struct {
		Jobs []struct{ ID, State, Error string } `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || len(doc.Jobs) != 2 {
		t.Fatalf("status json: %v %s", err, r.out)
	}
	for _, j := range doc.Jobs {
		if strings.HasSuffix(j.ID, "lostJob2") && j.Error == "" || strings.HasSuffix(j.ID, "okJob1") && j.State != "FINISHED" {
			t.Errorf("status json row: %+v", j)
		}
	}
	r = run(t, vars, append([]string{"status", "-a", "--watch", "--interval", "1s"}, common...)...)
	if !strings.Contains(r.out, "lostJob2") || !strings.Contains(r.out, "error:") {
		t.Errorf("status --watch drops the job it could not query:\n%s", r.out)
	}

	// --state: any case; the job list now says FINISHED for okJob1
	r = run(t, vars, append([]string{"status", "-a", "--state", "finished", "-o", "json"}, common...)...)
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || len(doc.Jobs) != 1 || !strings.HasSuffix(doc.Jobs[0].ID, "okJob1") {
		t.Errorf("--state finished: %v %s %s", err, r.out, r.err)
	}
	r = run(t, vars, append([]string{"status", "-a", "--state", "DONE"}, common...)...)
	if r.code != 2 || !strings.Contains(r.err, `--state "DONE": not a state`) {
		t.Errorf("--state DONE: exit %d %s", r.code, r.err)
	}
	// nothing matched: said, and JSON lists are [] not null
	for _, cmd := range []string{"status", "kill", "clean", "resume", "get"} {
		r = run(t, vars, append([]string{cmd, "-a", "--state", "killed", "-o", "json"}, common...)...)
		if r.code != 0 || !strings.Contains(r.err, "no jobs matched (-a --state killed)") || !strings.Contains(r.out, `"jobs": []`) {
			t.Errorf("%s with nothing selected: exit %d\nout %s\nerr %s", cmd, r.code, r.out, r.err)
		}
	}
}

// TestTLSFailuresAreDistinct: an unknown CA, a certificate for another
// name and an expired certificate each get their own explanation; plain
// http is refused; --insecure warns on every run.
func TestTLSFailuresAreDistinct(t *testing.T) {
	trusted, err := faultproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := faultproxy.NewCA()
	caDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(caDir, "trusted.pem"), trusted.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	lo := []net.IP{net.ParseIP("127.0.0.1")}
	serve := func(cert tls.Certificate) string {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"version":["1.0"]}`)
		}))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL + "/arex"
	}
	mk := func(ca *faultproxy.CA, names []string, ips []net.IP, from, to time.Time) tls.Certificate {
		c, err := ca.ServerCert(names, ips, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	vars := map[string]string{"BEARER_TOKEN": mint(t, mintKey(t), testissuer.Claims{Audience: []string{"https://x"}, Scope: "compute.read", Lifetime: time.Hour})}
	for _, tc := range []struct {
		name, url, want string
	}{
		{"unknown CA", serve(mk(stranger, []string{"localhost"}, lo, time.Time{}, time.Time{})), "signed by a CA that is not trusted here"},
		{"wrong name", serve(mk(trusted, []string{"other.example"}, nil, time.Time{}, time.Time{})), "certificate is for other.example, not for the name you used (127.0.0.1)"},
		{"expired", serve(mk(trusted, []string{"localhost"}, lo, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))), "certificate has expired"},
	} {
		r := run(t, vars, "ping", "-C", tc.url, "--ca-dir", caDir)
		if r.code == 0 || !strings.Contains(r.out+r.err, tc.want) {
			t.Errorf("%s: exit %d, want %q in\n%s%s", tc.name, r.code, tc.want, r.out, r.err)
		}
	}
	ok := serve(mk(trusted, []string{"localhost"}, lo, time.Time{}, time.Time{}))
	if r := run(t, vars, "ping", "-C", strings.Replace(ok, "https://", "http://", 1)); r.code != 2 || !strings.Contains(r.err, "plain http is refused") {
		t.Errorf("plain http: exit %d %s", r.code, r.err)
	}
	for i := 0; i < 2; i++ {
		r := run(t, vars, "ping", "-C", ok, "--insecure")
		if !strings.Contains(r.err, "--insecure: TLS certificates are NOT verified") {
			t.Errorf("run %d with --insecure: no warning: %s", i+1, r.err)
		}
	}
}

// TestGetJobNamedBin: a CE names its job `bin`; `cesub get -a -D ~` must
// not write into the user's ~/bin (it replaced ~/bin/out.txt, mode kept),
// says which folder it refused, and keeps the job on the list and the CE.
func TestGetJobNamedBin(t *testing.T) {
	srv, caDir := hostileAREX(t, "bin")
	k := mintKey(t)
	tok := mint(t, k, testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.create compute.read compute.modify compute.cancel", Lifetime: time.Hour})
	work := t.TempDir()
	list := filepath.Join(work, "jobs.db")
	vars := map[string]string{"BEARER_TOKEN": tok}
	if r := run(t, vars, "submit", "-e", "&(executable=/bin/true)", "-j", list, "--ca-dir", caDir, "-C", srv.URL+"/arex"); r.code != 0 {
		t.Fatalf("submit: exit %d: %s", r.code, r.err)
	}
	home := filepath.Join(work, "home")
	mine := filepath.Join(home, "bin", "out.txt")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := run(t, vars, "get", "-a", "-D", home, "-j", list, "--ca-dir", caDir)
	if r.code == 0 || !strings.Contains(r.err, filepath.Join(home, "bin")) {
		t.Errorf("get of job bin: exit %d, stderr %s; want a failure naming the folder", r.code, r.err)
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "#!/bin/sh\n" {
		t.Errorf("~/bin/out.txt is now %q (%v)", b, err)
	}
	if r := run(t, vars, "status", "-a", "-j", list, "--ca-dir", caDir); !strings.Contains(r.out, "/bin") {
		t.Errorf("the job left the list: %s", r.out)
	}
}
