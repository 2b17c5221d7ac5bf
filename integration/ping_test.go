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
)

// TestPingAgainstAREX: admitted with the token and with a proxy, refused
// (exit 4, with a hint) with a token for another audience, and not reached
// (exit 1, with the cause) for a closed port and a name the certificate
// does not cover.
func TestPingAgainstAREX(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	arex := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	es := "emies://" + strings.TrimPrefix(arex, "https://")
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	wrongAud, err := key.Mint(testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: "cesub-test-user",
		Audience: []string{"https://other.example"}, Scope: "compute.read", Groups: []string{"/wlcg/pilots"}, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong")
	_ = os.WriteFile(wrongFile, []byte(wrongAud), 0o600)
	token := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"), "CESUB_JOBLIST": filepath.Join(dir, "j.db")}
	proxy := map[string]string{"X509_USER_PROXY": makeProxy(t, tb, dir), "CESUB_JOBLIST": filepath.Join(dir, "j.db")}
	wrong := map[string]string{"BEARER_TOKEN_FILE": wrongFile, "CESUB_JOBLIST": filepath.Join(dir, "j.db")}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		ce       string
		code     int
		admitted bool
		want     string
	}{
		{"token", token, arex, 0, true, "nordugrid-arc"},
		{"proxy", proxy, arex, 0, true, "X.509"},
		{"token for another audience", wrong, arex, 4, false, "cesub token check --ce localhost:"},
		{"closed port", token, "https://localhost:1/arex", 1, false, "nothing listens"},
		{"name not in the certificate", token, strings.Replace(arex, "localhost", "127.0.0.1", 1), 1, false, "not for the name you used"},
		{"EMI-ES token", token, es, 0, true, `"1.16"`},
		{"EMI-ES proxy", proxy, es, 0, true, "X.509"},
		{"EMI-ES token for another audience", wrong, es, 4, false, "cesub token check --ce localhost:"},
		{"EMI-ES on ARC 7 (which dropped it)", token, "emies://" + strings.TrimPrefix(tb.Get(t, "CESUB_TESTBED_ARC7_URL"), "https://"), 1, false, `"unsupported": true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cesub(t, tb, tc.env, "ping", "-C", tc.ce, "-o", "json")
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %s %s", r.code, tc.code, r.out, r.err)
			}
			var p struct {
				Schema                        string
				Admitted, Reachable           bool
				Implementation, Hint, Problem string
				Identity                      string
				APIVersions                   []string `json:"api_versions"`
			}
			if err := json.Unmarshal([]byte(r.out), &p); err != nil || p.Schema != "cesub.ping/v1" {
				t.Fatalf("JSON: %v %s", err, r.out)
			}
			if p.Admitted != tc.admitted || !strings.Contains(r.out, tc.want) {
				t.Errorf("admitted=%v, want %v; want %q in %s", p.Admitted, tc.admitted, tc.want, r.out)
			}
			if tc.admitted && (len(p.APIVersions) == 0 || p.Implementation == "") {
				t.Errorf("admitted but no versions/implementation: %s", r.out)
			}
			if !tc.admitted && p.Hint == "" {
				t.Errorf("a failure without a hint: %s", r.out)
			}
		})
	}
}

// TestSubmitDryRun: --dry-run sends nothing that changes the CE, redacts the
// token, and shows the same submit URL a real submit then uses.
func TestSubmitDryRun(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := jobEnv(t, tb, filepath.Join(dir, "jobs.db"))
	_ = os.WriteFile(filepath.Join(dir, "in.txt"), []byte("x"), 0o644)
	desc := filepath.Join(dir, "j.xrsl")
	_ = os.WriteFile(desc, []byte(`&(executable="/bin/cat")(arguments="in.txt")(inputfiles=("in.txt" ""))(jobname="dry")`), 0o644)
	arex := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	if r := cesub(t, tb, env, "ping", "-C", arex); r.code != 0 { // remember the version
		t.Fatalf("ping: %d %s", r.code, r.err)
	}
	r := cesub(t, tb, env, "--debug", "submit", "-C", arex, "-f", desc, "--dry-run", "-o", "json")
	if r.code != 0 {
		t.Fatalf("dry run: %d %s", r.code, r.err)
	}
	if strings.Contains(r.err, "> POST") || strings.Contains(r.err, "> PUT") {
		t.Fatalf("a dry run sent requests:\n%s", r.err)
	}
	tok, _ := os.ReadFile(tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"))
	if strings.Contains(r.out, strings.TrimSpace(string(tok))) {
		t.Fatal("dry run prints the token")
	}
	var plan struct {
		Schema   string
		Requests []struct{ Method, URL, Body string }
	}
	if err := json.Unmarshal([]byte(r.out), &plan); err != nil || plan.Schema != "cesub.submit.dryrun/v1" || len(plan.Requests) != 2 {
		t.Fatalf("plan: %v %s", err, r.out)
	}
	if plan.Requests[0].Method != "POST" || !strings.Contains(plan.Requests[0].Body, "<Path>/bin/cat</Path>") ||
		plan.Requests[1].Method != "PUT" || !strings.HasSuffix(plan.Requests[1].URL, "/session/in.txt") {
		t.Fatalf("plan: %+v", plan.Requests)
	}
	if r := cesub(t, tb, env, "status", "-a", "-o", "json"); !strings.Contains(r.out, `"jobs": null`) && !strings.Contains(r.out, `"jobs": []`) {
		t.Fatalf("a dry run recorded jobs: %s", r.out)
	}
	real := cesub(t, tb, env, "--debug", "submit", "-C", arex, "-f", desc)
	if real.code != 0 {
		t.Fatalf("submit: %d %s", real.code, real.err)
	}
	if !strings.Contains(real.err, "> POST "+plan.Requests[0].URL) {
		t.Errorf("the dry run showed POST %s; the submit sent:\n%s", plan.Requests[0].URL, real.err)
	}
	_ = cesub(t, tb, env, "clean", "-a")
}
