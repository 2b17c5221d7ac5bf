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
