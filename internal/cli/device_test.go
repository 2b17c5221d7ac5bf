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

// deviceWorld is an in-process issuer with a public device client whose
// tokens live 30 s, a fake A-REX recording the tokens it gets, and the
// folders cesub keeps its files in.
type deviceWorld struct {
	iss          *testissuer.Server
	its, ce      *httptest.Server
	caDir, run   string
	vars         map[string]string
	mu           sync.Mutex
	state        string // what the "user" does with the next login
	tokensSeen   map[string]bool
	cfg, btFile  string
	refreshToken string
}

func newDeviceWorld(t *testing.T) *deviceWorld {
	t.Helper()
	w := &deviceWorld{state: testissuer.DeviceApproved, tokensSeen: map[string]bool{}}
	w.iss = &testissuer.Server{Key: mintKey(t), DeviceInterval: time.Second,
		Clients: []testissuer.Client{{ID: "laptop", Lifetime: 30 * time.Second}}}
	w.iss.OnDeviceAuthorization = func(code string) {
		w.mu.Lock()
		st := w.state
		w.mu.Unlock()
		go func() { _, _ = w.iss.SetDeviceState(code, st) }()
	}
	w.its = httptest.NewTLSServer(w.iss.Handler())
	t.Cleanup(w.its.Close)
	w.iss.Issuer = w.its.URL
	w.ce, _ = fakeAREX(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			w.mu.Lock()
			w.tokensSeen[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] = true
			w.mu.Unlock()
			next.ServeHTTP(rw, r)
		})
	}, "job1")
	w.caDir = t.TempDir()
	for _, srv := range []*httptest.Server{w.its, w.ce} {
		name := filepath.Join(w.caDir, strings.NewReplacer(":", "_", "/", "_").Replace(srv.URL)+".pem")
		if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.run, w.cfg = t.TempDir(), t.TempDir()
	w.vars = map[string]string{"XDG_RUNTIME_DIR": w.run, "XDG_CONFIG_HOME": w.cfg, "CESUB_CA_DIR": w.caDir}
	w.btFile = filepath.Join(w.run, "bt_u4242")
	return w
}

func (w *deviceWorld) login(t *testing.T, state string) result {
	t.Helper()
	w.mu.Lock()
	w.state = state
	w.mu.Unlock()
	return run(t, w.vars, "token", "get", "--device", "--issuer", w.its.URL, "--client-id", "laptop", "--audience", w.ce.URL)
}

// secretsIn reports whether text holds the refresh token or the token file's token.
func (w *deviceWorld) secretsIn(text string) bool {
	b, _ := os.ReadFile(w.btFile)
	at := strings.TrimSpace(string(b))
	return (w.refreshToken != "" && strings.Contains(text, w.refreshToken)) || (at != "" && strings.Contains(text, at))
}

// TestTokenGetDeviceAndRenewal: `token get --device` prints the URL and the
// code, writes the token where discovery finds it (0600) and keeps the
// refresh token (0600) in $XDG_CONFIG_HOME/cesub; a job command renews the
// 30 s token (it wants a minute) and rewrites the file; `--refresh` renews
// it now; no output holds either token, --debug included.
func TestTokenGetDeviceAndRenewal(t *testing.T) {
	w := newDeviceWorld(t)
	r := w.login(t, testissuer.DeviceApproved)
	if r.code != 0 || r.out != "" || !strings.Contains(r.err, "To log in, open "+w.its.URL+"/device and enter the code ") ||
		!strings.Contains(r.err, "(or open "+w.its.URL+"/device?user_code=") || !strings.Contains(r.err, "written to "+w.btFile) {
		t.Fatalf("token get --device: %d out=%q err=%s", r.code, r.out, r.err)
	}
	rtPath := filepath.Join(w.cfg, "cesub", token.RefreshTokenFile)
	for _, p := range []string{w.btFile, rtPath, filepath.Join(w.cfg, "cesub", token.LoginStateFile)} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", p, err, fi)
		}
	}
	rt, _ := os.ReadFile(rtPath)
	w.refreshToken = strings.TrimSpace(string(rt))
	if w.secretsIn(r.out + r.err) {
		t.Fatal("token get --device printed a token")
	}
	first, _ := os.ReadFile(w.btFile)
	r = run(t, w.vars, "--debug", "submit", "-C", w.ce.URL+"/arex", "-e", "&(executable=/bin/true)", "-j", filepath.Join(w.run, "jobs.db"))
	if r.code != 0 || !strings.Contains(r.err, "came from the device login") || w.secretsIn(r.out+r.err) {
		t.Fatalf("submit with the device login's token: %d %s", r.code, r.err)
	}
	renewed, _ := os.ReadFile(w.btFile)
	w.mu.Lock()
	seenRenewed := w.tokensSeen[strings.TrimSpace(string(renewed))]
	w.mu.Unlock()
	if string(renewed) == string(first) || !seenRenewed {
		t.Errorf("the 30 s token was not renewed for the submit (the CE saw the renewed one: %v)", seenRenewed)
	}
	r = run(t, w.vars, "token", "get", "--refresh")
	again, _ := os.ReadFile(w.btFile)
	if r.code != 0 || string(again) == string(renewed) || !strings.Contains(r.err, "written to "+w.btFile) || w.secretsIn(r.out+r.err) {
		t.Errorf("token get --refresh: %d %s", r.code, r.err)
	}
	r = run(t, w.vars, "token", "get", "--refresh", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"path": "`+w.btFile+`"`) || strings.Contains(r.out, `"token"`) || w.secretsIn(r.out+r.err) {
		t.Errorf("token get --refresh -o json: %d %s %s", r.code, r.out, r.err)
	}
}

// TestTokenGetDeviceFailures: a denied login (exit 4), an expired code
// (exit 1), a revoked refresh token (exit 4, removed, "log in again"), a
// refresh token readable by others (exit 4, refused) and --refresh without
// a login (exit 4) each say what happened.
func TestTokenGetDeviceFailures(t *testing.T) {
	w := newDeviceWorld(t)
	if r := w.login(t, testissuer.DeviceDenied); r.code != 4 || !strings.Contains(r.err, "the login was denied at the issuer (access_denied)") {
		t.Errorf("denied: %d %s", r.code, r.err)
	}
	if r := w.login(t, testissuer.DeviceExpired); r.code != 1 || !strings.Contains(r.err, "the login code expired before the login was completed (expired_token)") {
		t.Errorf("expired: %d %s", r.code, r.err)
	}
	if r := run(t, w.vars, "token", "get", "--refresh"); r.code != 4 || !strings.Contains(r.err, "no stored refresh token") {
		t.Errorf("--refresh without a login: %d %s", r.code, r.err)
	}
	if r := w.login(t, testissuer.DeviceApproved); r.code != 0 {
		t.Fatalf("login: %d %s", r.code, r.err)
	}
	rtPath := filepath.Join(w.cfg, "cesub", token.RefreshTokenFile)
	_ = os.Chmod(rtPath, 0o644)
	if r := run(t, w.vars, "token", "get", "--refresh"); r.code != 4 || !strings.Contains(r.err, "has mode 0644") || !strings.Contains(r.err, "refused") {
		t.Errorf("a refresh token readable by others: %d %s", r.code, r.err)
	}
	_ = os.Chmod(rtPath, 0o600)
	rt, _ := os.ReadFile(rtPath)
	w.iss.RevokeRefreshToken(strings.TrimSpace(string(rt)))
	r := run(t, w.vars, "token", "get", "--refresh")
	if r.code != 4 || !strings.Contains(r.err, "rejected the stored refresh token (invalid_grant") || !strings.Contains(r.err, "log in again with `cesub token get --device`") {
		t.Errorf("revoked: %d %s", r.code, r.err)
	}
	if _, err := os.Stat(rtPath); !os.IsNotExist(err) {
		t.Errorf("the rejected refresh token is still there: %v", err)
	}
	if r := run(t, w.vars, "token", "get", "--device", "--client-id", "laptop"); r.code != 2 || !strings.Contains(r.err, "--device needs --issuer") {
		t.Errorf("--device without --issuer: %d %s", r.code, r.err)
	}
}

// TestEndpointSourceDevice: an endpoint file's `token: {source: device}`
// gives that CE the device login's token (renewed like a discovered one);
// without a login it is an authentication error saying how to log in.
func TestEndpointSourceDevice(t *testing.T) {
	w := newDeviceWorld(t)
	eps := filepath.Join(w.run, "eps.yaml")
	if err := os.WriteFile(eps, []byte("endpoints:\n  - ce: "+w.ce.URL+"/arex\n    token: {source: device}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"submit", "-E", eps, "-e", "&(executable=/bin/true)", "-j", filepath.Join(w.run, "jobs.db")}
	if r := run(t, w.vars, args...); r.code != 4 || !strings.Contains(r.err, "no device login stored") {
		t.Errorf("source device without a login: %d %s", r.code, r.err)
	}
	if r := w.login(t, testissuer.DeviceApproved); r.code != 0 {
		t.Fatalf("login: %d %s", r.code, r.err)
	}
	first, _ := os.ReadFile(w.btFile)
	vars := map[string]string{"XDG_CONFIG_HOME": w.cfg, "CESUB_CA_DIR": w.caDir, "BEARER_TOKEN": "unused-by-this-endpoint"}
	if r := run(t, vars, args...); r.code != 0 {
		t.Fatalf("submit -E with source device: %d %s", r.code, r.err)
	}
	renewed, _ := os.ReadFile(w.btFile)
	w.mu.Lock()
	defer w.mu.Unlock()
	if string(renewed) == string(first) || !w.tokensSeen[strings.TrimSpace(string(renewed))] {
		t.Error("the endpoint did not get the device login's renewed token")
	}
}
