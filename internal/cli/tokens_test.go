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
	k := mintKey(t)
	iss := &testissuer.Server{Key: k, Clients: []testissuer.Client{{ID: "factory", Secret: "s3cret", Subject: "factory-sub"}}}
	its := httptest.NewTLSServer(iss.Handler())
	defer its.Close()
	iss.Issuer = its.URL

	var mu sync.Mutex
	seen := map[string][]string{} // CE host:port -> "sub aud" of each request's token
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			j, err := token.Decode(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			if err != nil {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			mu.Lock()
			seen[r.Host] = append(seen[r.Host], j.Claims.Subject+" "+strings.Join(j.Claims.Audience.Values, " "))
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	ceA, _ := fakeAREX(t, record, "jobA")
	ceB, _ := fakeAREX(t, record, "jobB")
	ceC, _ := fakeAREX(t, record, "jobC")
	host := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "https://") }
	caDir := t.TempDir()
	for _, srv := range []*httptest.Server{its, ceA, ceB, ceC} {
		name := filepath.Join(caDir, strings.NewReplacer(":", "_", "/", "_").Replace(srv.URL)+".pem")
		if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	_ = os.WriteFile(filepath.Join(work, "secret"), []byte("s3cret\n"), 0o600)
	scope := "compute.create compute.read compute.modify compute.cancel"
	_ = os.WriteFile(filepath.Join(work, "b.token"), []byte(mint(t, k, testissuer.Claims{Issuer: its.URL, Subject: "file-sub",
		Audience: []string{ceB.URL}, Scope: scope, Lifetime: time.Hour})), 0o600)
	eps := filepath.Join(work, "factory.yaml")
	_ = os.WriteFile(eps, []byte(`endpoints:
  - name: site-a
    ce: `+ceA.URL+`/arex
    token: {source: client-credentials, issuer: `+its.URL+`, client-id: factory, secret-file: secret}
  - name: site-b
    ce: `+ceB.URL+`/arex
    token: {source: file, file: b.token}
  - name: site-c
    ce: `+ceC.URL+`/arex
    skip: true
`), 0o644)
	list := filepath.Join(work, "jobs.db")
	common := []string{"-j", list, "--ca-dir", caDir}
	// a token found by discovery would be wrong for both: the file's sources must win
	other := map[string]string{"BEARER_TOKEN": mint(t, k, testissuer.Claims{Issuer: its.URL, Subject: "discovered", Audience: []string{"https://elsewhere"}, Scope: scope, Lifetime: time.Hour})}

	r := run(t, other, append([]string{"submit", "-E", eps, "-e", "&(executable=/bin/true)", "-o", "json"}, common...)...)
	if r.code != 0 || !strings.Contains(r.out, "jobA") || !strings.Contains(r.out, "jobB") || strings.Contains(r.out, "jobC") {
		t.Fatalf("submit -E: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	mu.Lock()
	if len(seen[host(ceC)]) != 0 {
		t.Errorf("the endpoint marked skip got %d requests", len(seen[host(ceC)]))
	}
	mu.Unlock()
	vars := map[string]string{"CESUB_ENDPOINTS": eps, "BEARER_TOKEN": other["BEARER_TOKEN"]}
	if r := run(t, vars, append([]string{"status", "-a", "-o", "json"}, common...)...); r.code != 0 || strings.Count(r.out, `"state": "FINISHED"`) != 2 {
		t.Fatalf("status -a with CESUB_ENDPOINTS: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	mu.Lock()
	for srv, want := range map[*httptest.Server]string{ceA: "factory-sub " + ceA.URL, ceB: "file-sub " + ceB.URL} {
		if len(seen[host(srv)]) < 2 {
			t.Errorf("%s: %d requests, want the submission and the status", host(srv), len(seen[host(srv)]))
		}
		for _, got := range seen[host(srv)] {
			if got != want {
				t.Errorf("%s got a token %q, want %q", host(srv), got, want)
			}
		}
	}
	mu.Unlock()

	// ping and info without -C: the file's CEs (not the skipped one), with its tokens
	mu.Lock()
	seen = map[string][]string{}
	mu.Unlock()
	for _, cmd := range []string{"ping", "info"} { // (the fake A-REX has no info document: info's answers are 404s)
		r := run(t, other, append([]string{cmd, "-E", eps, "-o", "json"}, common...)...)
		if r.code != 0 && cmd == "ping" || !strings.Contains(r.out, ceA.URL) || !strings.Contains(r.out, ceB.URL) || strings.Contains(r.out, ceC.URL) {
			t.Errorf("%s -E: exit %d\n%s\n%s", cmd, r.code, r.out, r.err)
		}
	}
	mu.Lock()
	if len(seen[host(ceC)]) != 0 || len(seen[host(ceA)]) == 0 {
		t.Errorf("ping/info -E: requests %v", seen)
	}
	for _, got := range seen[host(ceA)] {
		if got != "factory-sub "+ceA.URL {
			t.Errorf("ping/info -E: %s got a token %q", host(ceA), got)
		}
	}
	mu.Unlock()

	// --endpoint picks one, even one marked skip
	if r := run(t, other, append([]string{"submit", "-E", eps, "--endpoint", "site-c", "-e", "&(executable=/bin/true)"}, common...)...); r.code != 0 || !strings.Contains(r.out, "jobC") {
		t.Errorf("--endpoint site-c: exit %d %s %s", r.code, r.out, r.err)
	}
	bad := filepath.Join(work, "bad.yaml")
	_ = os.WriteFile(bad, []byte("endpoints:\n  - ce: "+ceA.URL+"/arex\n    tokne: {source: file}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"submit", "-E", eps, "--endpoint", "site-x", "-e", "&(executable=/bin/true)"}, "no endpoint named site-x (it has site-a, site-b, site-c)"},
		{[]string{"submit", "-E", eps, "--endpoint", "site-a", "-C", ceA.URL + "/arex", "-e", "&(executable=/bin/true)"}, "does not go with -C"},
		{[]string{"submit", "-e", "&(executable=/bin/true)"}, "give the CE with -C/--ce, or an endpoint file with -E"},
		{[]string{"submit", "-E", bad, "-e", "&(executable=/bin/true)"}, "bad.yaml:3:5"},
		{[]string{"status", "-a", "-E", bad}, "bad.yaml:3:5"},
		{[]string{"ping"}, "give the CE with -C/--ce, or an endpoint file with -E"},
		{[]string{"ping", "-E", eps, "--flavour", "arc"}, "--flavour goes with -C"},
	} {
		r := run(t, other, append(tc.args, common...)...)
		if r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q: %s", tc.args, r.code, tc.want, r.err)
		}
	}
}
