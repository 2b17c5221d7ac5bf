package cli

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/token"
)

// TestJobCommandsFetchTokensPerCE: with --client-credentials, job commands
// fetch a token per CE audience (two A-REXes, two audiences), and fetch a
// new one when the last has less than a minute left (30 s tokens: every
// request runs on a fresh one, none on an expired one). With a fixed token
// that has only seconds left, the command stops before any request with a
// message saying so.
func TestJobCommandsFetchTokensPerCE(t *testing.T) {
	k := mintKey(t)
	iss := &testissuer.Server{Key: k, Clients: []testissuer.Client{{ID: "pilot", Secret: "s3cret"}}, Lifetime: 30 * time.Second}
	its := httptest.NewTLSServer(iss.Handler())
	defer its.Close()
	iss.Issuer = its.URL

	var mu sync.Mutex
	seen := map[string][]string{} // CE host:port -> audiences of the tokens it got
	jtis := map[string]bool{}
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			j, err := token.Decode(raw)
			if err != nil {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			if j.Claims.Expiry == nil || time.Until(j.Claims.Expiry.Time) <= 0 {
				http.Error(w, "expired token", http.StatusUnauthorized)
				return
			}
			mu.Lock()
			seen[r.Host] = append(seen[r.Host], strings.Join(j.Claims.Audience.Values, " "))
			jtis[j.Claims.ID] = true
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	ce1, _ := fakeAREX(t, record, "job1")
	ce2, _ := fakeAREX(t, record, "job2")
	caDir := t.TempDir()
	for _, srv := range []*httptest.Server{its, ce1, ce2} {
		name := filepath.Join(caDir, strings.NewReplacer(":", "_", "/", "_").Replace(srv.URL)+".pem")
		if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	secret := filepath.Join(work, "secret")
	_ = os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	list := filepath.Join(work, "jobs.db")
	cc := []string{"-j", list, "--ca-dir", caDir, "--client-credentials", "--issuer", its.URL, "--client-id", "pilot", "--client-secret-file", secret}
	for _, srv := range []*httptest.Server{ce1, ce2} {
		r := run(t, map[string]string{}, append([]string{"submit", "-C", srv.URL + "/arex", "-e", "&(executable=/bin/true)"}, cc...)...)
		if r.code != 0 {
			t.Fatalf("submit to %s: %d %s %s", srv.URL, r.code, r.out, r.err)
		}
	}
	r := run(t, map[string]string{}, append([]string{"status", "-a", "-o", "json"}, cc...)...)
	if r.code != 0 || !strings.Contains(r.out, "job1") || !strings.Contains(r.out, "job2") {
		t.Fatalf("status -a: %d %s %s", r.code, r.out, r.err)
	}
	mu.Lock()
	for _, srv := range []*httptest.Server{ce1, ce2} {
		host := strings.TrimPrefix(srv.URL, "https://")
		if len(seen[host]) < 2 {
			t.Errorf("%s got %d requests", host, len(seen[host]))
		}
		for _, aud := range seen[host] {
			if aud != srv.URL {
				t.Errorf("%s got a token for audience %q, want its own %q", host, aud, srv.URL)
			}
		}
	}
	// 30 s tokens, a minute wanted: each request had its own fresh token
	if n := len(seen[strings.TrimPrefix(ce1.URL, "https://")]) + len(seen[strings.TrimPrefix(ce2.URL, "https://")]); len(jtis) < n || iss.TokenRequests() < int64(n) {
		t.Errorf("%d requests ran on %d tokens from %d token requests: a short-lived token was not refreshed", n, len(jtis), iss.TokenRequests())
	}
	mu.Unlock()

	// a fixed token with 20 s left cannot be refreshed: stopped before any request, said why
	mu.Lock()
	before := len(seen[strings.TrimPrefix(ce1.URL, "https://")])
	mu.Unlock()
	short := mint(t, k, testissuer.Claims{Issuer: its.URL, Audience: []string{ce1.URL}, Lifetime: 20 * time.Second,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	r = run(t, map[string]string{"BEARER_TOKEN": short}, "status", "-a", "-j", list, "--ca-dir", caDir)
	if r.code == 0 || !strings.Contains(r.err, "expires too soon") || !strings.Contains(r.err, "cannot refresh") {
		t.Errorf("a token with 20 s left: exit %d, want a failure saying it expires too soon: %s", r.code, r.err)
	}
	mu.Lock()
	if after := len(seen[strings.TrimPrefix(ce1.URL, "https://")]); after != before {
		t.Errorf("%d requests were sent with a token about to expire", after-before)
	}
	mu.Unlock()

	// settings that do not go together are usage errors
	for _, args := range [][]string{
		{"status", "-a", "-j", list, "--oidc-agent", "a", "--client-credentials"},
		{"status", "-a", "-j", list, "--oidc-agent", "a", "--token-file", secret},
		{"status", "-a", "-j", list, "--client-credentials"},
	} {
		if r := run(t, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.err)
		}
	}
}

// TestSubmitToEndpointFile: `submit -E FILE` submits to the file's CEs (not
// those marked skip), each with the token source the file gives it — here
// client credentials for one, a token file for another — and the job
// commands given the same file (-E or CESUB_ENDPOINTS) use the same tokens
// for those CEs. --endpoint picks endpoints by name; mistakes are usage errors.
func TestSubmitToEndpointFile(t *testing.T) {
	w := newEndpointWorld(t)
	ceA, ceB, ceC := w.ces[0], w.ces[1], w.ces[2]
	r := run(t, w.other, append([]string{"submit", "-E", w.eps, "-e", "&(executable=/bin/true)", "-o", "json"}, w.common...)...)
	if r.code != 0 || !strings.Contains(r.out, "jobA") || !strings.Contains(r.out, "jobB") || strings.Contains(r.out, "jobC") {
		t.Fatalf("submit -E: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if n := len(w.requests(ceC)); n != 0 {
		t.Errorf("the endpoint marked skip got %d requests", n)
	}
	vars := map[string]string{"CESUB_ENDPOINTS": w.eps, "BEARER_TOKEN": w.other["BEARER_TOKEN"]}
	if r := run(t, vars, append([]string{"status", "-a", "-o", "json"}, w.common...)...); r.code != 0 || strings.Count(r.out, `"state": "FINISHED"`) != 2 {
		t.Fatalf("status -a with CESUB_ENDPOINTS: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	for srv, want := range map[*httptest.Server]string{ceA: "factory-sub " + ceA.URL, ceB: "file-sub " + ceB.URL} {
		got := w.requests(srv)
		if len(got) < 2 {
			t.Errorf("%s: %d requests, want the submission and the status", srv.URL, len(got))
		}
		for _, g := range got {
			if g != want {
				t.Errorf("%s got a token %q, want %q", srv.URL, g, want)
			}
		}
	}
	checkEndpointFilePingInfo(t, w)
	checkEndpointSelection(t, w)
}

// endpointWorld: a token issuer, three fake A-REXes that record the
// subject and audience of each request's token, and an endpoint file
// naming them (client credentials for the first, a token file for the
// second, the third marked skip).
type endpointWorld struct {
	ces    []*httptest.Server
	work   string
	eps    string            // the endpoint file
	common []string          // the job list and CA flags of every command
	other  map[string]string // a discovered token that is wrong for every CE
	mu     sync.Mutex
	seen   map[string][]string // CE host:port -> "sub aud" of each request's token
}

func newEndpointWorld(t *testing.T) *endpointWorld {
	k := mintKey(t)
	iss := &testissuer.Server{Key: k, Clients: []testissuer.Client{{ID: "factory", Secret: "s3cret", Subject: "factory-sub"}}}
	its := httptest.NewTLSServer(iss.Handler())
	t.Cleanup(its.Close)
	iss.Issuer = its.URL
	w := &endpointWorld{seen: map[string][]string{}, work: t.TempDir()}
	for _, job := range []string{"jobA", "jobB", "jobC"} {
		srv, _ := fakeAREX(t, w.record, job)
		w.ces = append(w.ces, srv)
	}
	caDir := t.TempDir()
	for _, srv := range append([]*httptest.Server{its}, w.ces...) {
		name := filepath.Join(caDir, strings.NewReplacer(":", "_", "/", "_").Replace(srv.URL)+".pem")
		if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(w.work, "secret"), []byte("s3cret\n"), 0o600)
	scope := "compute.create compute.read compute.modify compute.cancel"
	_ = os.WriteFile(filepath.Join(w.work, "b.token"), []byte(mint(t, k, testissuer.Claims{Issuer: its.URL, Subject: "file-sub",
		Audience: []string{w.ces[1].URL}, Scope: scope, Lifetime: time.Hour})), 0o600)
	w.eps = filepath.Join(w.work, "factory.yaml")
	_ = os.WriteFile(w.eps, []byte(`endpoints:
  - name: site-a
    ce: `+w.ces[0].URL+`/arex
    token: {source: client-credentials, issuer: `+its.URL+`, client-id: factory, secret-file: secret}
  - name: site-b
    ce: `+w.ces[1].URL+`/arex
    token: {source: file, file: b.token}
  - name: site-c
    ce: `+w.ces[2].URL+`/arex
    skip: true
`), 0o644)
	w.common = []string{"-j", filepath.Join(w.work, "jobs.db"), "--ca-dir", caDir}
	// a token found by discovery would be wrong for both: the file's sources must win
	w.other = map[string]string{"BEARER_TOKEN": mint(t, k, testissuer.Claims{Issuer: its.URL, Subject: "discovered", Audience: []string{"https://elsewhere"}, Scope: scope, Lifetime: time.Hour})}
	return w
}

// record notes each request's token, then serves it.
func (w *endpointWorld) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		j, err := token.Decode(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil {
			http.Error(rw, "no token", http.StatusUnauthorized)
			return
		}
		w.mu.Lock()
		w.seen[r.Host] = append(w.seen[r.Host], j.Claims.Subject+" "+strings.Join(j.Claims.Audience.Values, " "))
		w.mu.Unlock()
		next.ServeHTTP(rw, r)
	})
}

// requests are the tokens srv saw, as "sub aud".
func (w *endpointWorld) requests(srv *httptest.Server) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen[strings.TrimPrefix(srv.URL, "https://")]...)
}

// checkEndpointFilePingInfo: ping and info without -C go to the file's CEs
// (not the skipped one), with its tokens.
func checkEndpointFilePingInfo(t *testing.T, w *endpointWorld) {
	ceA, ceB, ceC := w.ces[0], w.ces[1], w.ces[2]
	w.mu.Lock()
	w.seen = map[string][]string{}
	w.mu.Unlock()
	for _, cmd := range []string{"ping", "info"} { // (the fake A-REX has no info document: info's answers are 404s)
		r := run(t, w.other, append([]string{cmd, "-E", w.eps, "-o", "json"}, w.common...)...)
		if r.code != 0 && cmd == "ping" || !strings.Contains(r.out, ceA.URL) || !strings.Contains(r.out, ceB.URL) || strings.Contains(r.out, ceC.URL) {
			t.Errorf("%s -E: exit %d\n%s\n%s", cmd, r.code, r.out, r.err)
		}
	}
	if len(w.requests(ceC)) != 0 || len(w.requests(ceA)) == 0 {
		t.Errorf("ping/info -E: requests to the skipped CE %v, to site-a %v", w.requests(ceC), w.requests(ceA))
	}
	for _, got := range w.requests(ceA) {
		if got != "factory-sub "+ceA.URL {
			t.Errorf("ping/info -E: %s got a token %q", ceA.URL, got)
		}
	}
}

// checkEndpointSelection: --endpoint picks one, even one marked skip;
// mistakes in the selection or the file are usage errors.
func checkEndpointSelection(t *testing.T, w *endpointWorld) {
	ceA := w.ces[0]
	if r := run(t, w.other, append([]string{"submit", "-E", w.eps, "--endpoint", "site-c", "-e", "&(executable=/bin/true)"}, w.common...)...); r.code != 0 || !strings.Contains(r.out, "jobC") {
		t.Errorf("--endpoint site-c: exit %d %s %s", r.code, r.out, r.err)
	}
	bad := filepath.Join(w.work, "bad.yaml")
	_ = os.WriteFile(bad, []byte("endpoints:\n  - ce: "+ceA.URL+"/arex\n    tokne: {source: file}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"submit", "-E", w.eps, "--endpoint", "site-x", "-e", "&(executable=/bin/true)"}, "no endpoint named site-x (it has site-a, site-b, site-c)"},
		{[]string{"submit", "-E", w.eps, "--endpoint", "site-a", "-C", ceA.URL + "/arex", "-e", "&(executable=/bin/true)"}, "does not go with -C"},
		{[]string{"submit", "-e", "&(executable=/bin/true)"}, "give the CE with -C/--ce, or an endpoint file with -E"},
		{[]string{"submit", "-E", bad, "-e", "&(executable=/bin/true)"}, "bad.yaml:3:5"},
		{[]string{"status", "-a", "-E", bad}, "bad.yaml:3:5"},
		{[]string{"ping"}, "give the CE with -C/--ce, or an endpoint file with -E"},
		{[]string{"ping", "-E", w.eps, "--flavour", "arc"}, "--flavour goes with -C"},
	} {
		r := run(t, w.other, append(tc.args, w.common...)...)
		if r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q: %s", tc.args, r.code, tc.want, r.err)
		}
	}
}
