package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/cli"
	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/ownfile"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/token"
)

// codeWatch is cesub's stderr during a device login: it hands on the user
// code as soon as cesub prints it.
type codeWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	code chan string
	sent bool
}

var userCodeRe = regexp.MustCompile(`enter the code (\S+)\n`)

func (w *codeWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, _ := w.buf.Write(p)
	if m := userCodeRe.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.code <- m[1]
	}
	return n, nil
}

func (w *codeWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// issuerAdmin is an HTTPS client trusting the testbed CA, with the
// issuer's admin secret: it plays the user at the browser.
func issuerAdmin(t *testing.T, tb *testbed.Env) (*http.Client, string) {
	t.Helper()
	pem, err := os.ReadFile(tb.Get(t, "CESUB_TESTBED_CA_PEM"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	secret, err := os.ReadFile(tb.Get(t, "CESUB_TESTBED_ISSUER_ADMIN_SECRET_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		strings.TrimSpace(string(secret))
}

// deviceLogin runs `cesub token get --device` (plus args) with the testbed
// issuer; when it prints the code, the user's answer is state.
func deviceLogin(t *testing.T, tb *testbed.Env, env map[string]string, client, state string, args ...string) result {
	t.Helper()
	vars := map[string]string{"X509_CERT_DIR": tb.Vars["X509_CERT_DIR"]}
	for k, v := range env {
		vars[k] = v
	}
	w := &codeWatch{code: make(chan string, 1)}
	var out bytes.Buffer
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: w},
		Env:     token.Env{Getenv: func(k string) string { return vars[k] }, ReadFile: ownfile.ReadFile, EUID: os.Geteuid()},
		Version: "integration"}
	hc, secret := issuerAdmin(t, tb)
	issuer := tb.Get(t, "CESUB_TESTBED_ISSUER")
	go func() {
		select {
		case code := <-w.code:
			if err := testissuer.SetDeviceStateAt(context.Background(), hc, issuer, secret, code, state); err != nil {
				t.Errorf("the user's answer %s: %v", state, err)
			}
		case <-time.After(time.Minute):
		}
	}()
	argv := append([]string{"token", "get", "--device", "--issuer", issuer, "--client-id", client}, args...)
	code := cli.Run(context.Background(), f, argv)
	return result{out.String(), w.String(), code}
}

// deviceEnv is a laptop user's: a runtime folder where the token goes, a
// config folder for the refresh token, a job list.
func deviceEnv(t *testing.T) map[string]string {
	dir := t.TempDir()
	return map[string]string{"XDG_RUNTIME_DIR": filepath.Join(dir, "run"), "XDG_CONFIG_HOME": filepath.Join(dir, "cfg"),
		"CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
}

// audiences: A-REX compares only the first element of an aud array.
func deviceAudiences(t *testing.T, tb *testbed.Env) []string {
	arexAud := strings.TrimSuffix(tb.Get(t, "CESUB_TESTBED_AREX_URL"), "/arex")
	condorAud := strings.TrimPrefix(tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "condor://")
	return []string{"--audience", arexAud, "--audience", condorAud}
}

// TestDeviceLoginThenSubmit: `token get --device` prints the URL and a
// code; once the user approves it, the token is where discovery finds it
// and the refresh token in the config folder (both 0600); submits to
// A-REX 6.17 and to the HTCondor-CE work with it. A revoked refresh token
// then gives exit 4 and is removed; a denied login gives exit 4.
func TestDeviceLoginThenSubmit(t *testing.T) {
	tb := testbed.Require(t)
	env := deviceEnv(t)
	_ = os.MkdirAll(env["XDG_RUNTIME_DIR"], 0o700)
	client := tb.Get(t, "CESUB_TESTBED_DEVICE_CLIENT_ID")
	r := deviceLogin(t, tb, env, client, testissuer.DeviceApproved, deviceAudiences(t, tb)...)
	if r.code != 0 || !strings.Contains(r.err, "/device and enter the code") || !strings.Contains(r.err, "refresh token stored in") {
		t.Fatalf("token get --device: %d %s", r.code, r.err)
	}
	bt := filepath.Join(env["XDG_RUNTIME_DIR"], "bt_u0")
	rtFile := filepath.Join(env["XDG_CONFIG_HOME"], "cesub", token.RefreshTokenFile)
	for _, p := range []string{bt, rtFile} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want 0600", p, err, fi)
		}
	}
	if r := cesub(t, tb, env, "token", "show", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"client_id": "`+client+`"`) {
		t.Errorf("token show does not find the device login's token: %d %s %s", r.code, r.out, r.err)
	}
	r = cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), "-e", `&(executable="/bin/true")(jobname="device")`)
	if r.code != 0 {
		t.Errorf("submit to A-REX with the device login's token: %d %s", r.code, r.err)
	}
	sub := filepath.Join(t.TempDir(), "job.sub")
	writeFile(t, sub, "executable = /bin/true\ntransfer_executable = false\nqueue\n")
	if r = cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", sub); r.code != 0 {
		t.Errorf("submit to the HTCondor-CE with the device login's token: %d %s", r.code, r.err)
	}
	_ = cesub(t, tb, env, "clean", "-a")
	revokeAtIssuer(t, tb, client, rtFile)
	r = cesub(t, tb, env, "token", "get", "--refresh")
	if r.code != 4 || !strings.Contains(r.err, "log in again with `cesub token get --device`") {
		t.Errorf("a revoked refresh token: %d %s", r.code, r.err)
	}
	if _, err := os.Stat(rtFile); !os.IsNotExist(err) {
		t.Errorf("the rejected refresh token was not removed: %v", err)
	}
	if r = deviceLogin(t, tb, env, client, testissuer.DeviceDenied); r.code != 4 || !strings.Contains(r.err, "access_denied") {
		t.Errorf("a denied login: %d %s", r.code, r.err)
	}
}

// revokeAtIssuer revokes the stored refresh token at the issuer (RFC 7009).
func revokeAtIssuer(t *testing.T, tb *testbed.Env, client, rtFile string) {
	t.Helper()
	rt, err := os.ReadFile(rtFile)
	if err != nil {
		t.Fatal(err)
	}
	hc, _ := issuerAdmin(t, tb)
	resp, err := hc.PostForm(tb.Get(t, "CESUB_TESTBED_ISSUER")+"/revoke", url.Values{"client_id": {client}, "token": {strings.TrimSpace(string(rt))}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %s", resp.Status)
	}
}

// TestDeviceLoginWatchRenews: with the short device client (2-minute
// tokens), `status --watch` over jobs on A-REX and the HTCondor-CE that
// run about 5 minutes keeps working: the discovered token is renewed with
// the refresh token and rewritten as it runs low.
func TestDeviceLoginWatchRenews(t *testing.T) {
	t.Parallel()
	tb := testbed.Require(t)
	env := deviceEnv(t)
	_ = os.MkdirAll(env["XDG_RUNTIME_DIR"], 0o700)
	if r := deviceLogin(t, tb, env, tb.Get(t, "CESUB_TESTBED_DEVICE_SHORT_CLIENT_ID"), testissuer.DeviceApproved, deviceAudiences(t, tb)...); r.code != 0 {
		t.Fatalf("token get --device: %d %s", r.code, r.err)
	}
	bt := filepath.Join(env["XDG_RUNTIME_DIR"], "bt_u0")
	first, _ := os.ReadFile(bt)
	r := cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), "-e",
		`&(executable="/bin/sh")(arguments="-c" "sleep 285; echo arex")(stdout="out.txt")(jobname="device-watch")`)
	if r.code != 0 {
		t.Fatalf("submit to A-REX: %d %s", r.code, r.err)
	}
	sub := filepath.Join(t.TempDir(), "job.sub")
	writeFile(t, sub, "executable = /bin/sh\narguments = \"-c 'sleep 285; echo condor'\"\noutput = out.txt\ntransfer_executable = false\nqueue\n")
	if r = cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", sub); r.code != 0 {
		t.Fatalf("submit to the HTCondor-CE: %d %s", r.code, r.err)
	}
	start := time.Now()
	r = cesub(t, tb, env, "--debug", "status", "-a", "--watch", "--interval", "10s", "-o", "json")
	took := time.Since(start)
	var st struct {
		Jobs []struct{ State, Error string }
	}
	if err := json.Unmarshal([]byte(r.out), &st); r.code != 0 || err != nil || len(st.Jobs) != 2 {
		t.Fatalf("status --watch: %d %v %s %s", r.code, err, r.out, lastLines(r.err, 20))
	}
	for _, j := range st.Jobs {
		if j.State != "FINISHED" {
			t.Errorf("job ended %s %s", j.State, j.Error)
		}
	}
	renewals := strings.Count(r.err, "new token from device login refresh")
	last, _ := os.ReadFile(bt)
	if took < 4*time.Minute || renewals < 2 || bytes.Equal(first, last) {
		t.Errorf("the watch ran %s on 2-minute tokens with %d renewals (token file rewritten: %v)", took.Round(time.Second), renewals, !bytes.Equal(first, last))
	}
	t.Logf("status --watch ran %s; %d renewals by the refresh token", took.Round(time.Second), renewals)
	_ = cesub(t, tb, env, "clean", "-a")
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
