package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// TestRejectedDescription: of two jobs in one request, A-REX refuses one
// (a queue that does not exist): the other is submitted and recorded, the
// refusal names A-REX's reason, exit 3.
func TestRejectedDescription(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := jobEnv(t, tb, filepath.Join(dir, "jobs.db"))
	desc := filepath.Join(dir, "two.xrsl")
	_ = os.WriteFile(desc, []byte(`+(&(executable="/bin/true")(jobname="good"))(&(executable="/bin/true")(queue="nosuchqueue")(jobname="bad"))`), 0o644)
	r := cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), "-f", desc, "-o", "json")
	if r.code != 3 || !strings.Contains(r.err, "nosuchqueue") {
		t.Fatalf("exit %d, want 3 with A-REX's reason: %s", r.code, r.err)
	}
	var sub struct{ Jobs []struct{ ID, Error string } }
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 2 || sub.Jobs[0].ID == "" || sub.Jobs[1].Error == "" {
		t.Fatalf("JSON: %v %s", err, r.out)
	}
	r = cesub(t, tb, env, "status", "-a", "-o", "json")
	var st struct{ Jobs []struct{ ID string } }
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || len(st.Jobs) != 1 || st.Jobs[0].ID != sub.Jobs[0].ID {
		t.Fatalf("job list should hold exactly the accepted job: %v %s", err, r.out)
	}
	cleanEventually(t, tb, env)
}

// TestExpiredCredentials: an expired proxy or token stops the command before
// it talks to the CE, exit 4, saying what expired and what to do.
func TestExpiredCredentials(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	user, err := x509proxy.LoadUserCredential(tb.Get(t, "CESUB_TESTBED_USERCERT"), tb.Get(t, "CESUB_TESTBED_USERKEY"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// a proxy that ended a moment ago (signed when the user certificate began, which on a fresh
	// testbed may be seconds ago)
	at := user.Cert.NotBefore.Add(time.Second)
	if t0 := time.Now().Add(-30 * time.Minute); t0.After(at) {
		at = t0
	}
	old, err := x509proxy.NewProxy(user, x509proxy.Options{Lifetime: 2 * time.Second, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if wait := time.Until(old.Cert.NotAfter.Add(time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	proxy := filepath.Join(dir, "expired-proxy")
	if err := x509proxy.WriteFile(proxy, old); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"X509_USER_PROXY": proxy, "CESUB_JOBLIST": filepath.Join(dir, "j.db")}
	r := cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), "-e", `&(executable="/bin/true")`)
	if r.code != 4 || !strings.Contains(r.err, "expired") || !strings.Contains(r.err, "cesub proxy init") {
		t.Errorf("expired proxy: exit %d: %s", r.code, r.err)
	}
	if r = cesub(t, tb, env, "proxy", "info", "--exists"); r.code != 4 {
		t.Errorf("proxy info --exists on an expired proxy: exit %d", r.code)
	}

	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := key.Mint(testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: "cesub-test-user",
		Audience: []string{"https://localhost:8444"}, Scope: "compute.create compute.read", Groups: []string{"/wlcg/pilots"},
		Lifetime: -time.Minute, NotBefore: -time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "expired-token")
	_ = os.WriteFile(tf, []byte(tok), 0o600)
	env = map[string]string{"BEARER_TOKEN_FILE": tf, "CESUB_JOBLIST": filepath.Join(dir, "j.db")}
	r = cesub(t, tb, env, "--debug", "submit", "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), "-e", `&(executable="/bin/true")`)
	if r.code != 4 || !strings.Contains(r.err, "expired") {
		t.Errorf("expired token: exit %d: %s", r.code, r.err)
	}
	if strings.Contains(r.err, "> POST") {
		t.Errorf("an expired token was sent to the CE")
	}
}
