package integration

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
)

// TestTokenRefreshInJobCommands: job commands take their tokens from the
// real oidc-agent (an account whose tokens the issuer gives 2 minutes) with
// one token per CE audience: a job on A-REX 6.17 and one on the
// HTCondor-CE, then `status --watch` over both while they run, longer than
// the first token lives. Every poll succeeds, each CE gets tokens for its
// own audience, and the watch fetches fresh tokens for A-REX as the old
// ones near their end.
// get then downloads with the same kind of source.
func TestTokenRefreshInJobCommands(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := map[string]string{"CESUB_JOBLIST": filepath.Join(dir, "jobs.db"), "XDG_RUNTIME_DIR": t.TempDir(),
		"CESUB_OIDC_AGENT": tb.Get(t, "CESUB_TESTBED_OIDC_SHORT_ACCOUNT")}
	arex := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	condor := tb.Get(t, "CESUB_TESTBED_CONDOR_CE")
	r := cesub(t, tb, env, "submit", "-C", arex, "-e", `&(executable="/bin/sh")(arguments="-c" "sleep 135; echo arex")(stdout="out.txt")(jobname="refresh")`)
	if r.code != 0 {
		t.Fatalf("submit to A-REX with an oidc-agent token: %d %s", r.code, r.err)
	}
	sub := filepath.Join(dir, "job.sub")
	writeFile(t, sub, "executable = /bin/sh\narguments = \"-c 'sleep 135; echo condor'\"\noutput = out.txt\ntransfer_executable = false\nqueue\n")
	if r = cesub(t, tb, env, "submit", "-C", condor, "-f", sub); r.code != 0 {
		t.Fatalf("submit to the HTCondor-CE with an oidc-agent token: %d %s", r.code, r.err)
	}
	start := time.Now()
	r = cesub(t, tb, env, "--debug", "status", "-a", "--watch", "--interval", "5s", "-o", "json")
	if r.code != 0 {
		t.Fatalf("status --watch: %d %s %s", r.code, r.out, r.err)
	}
	var st struct {
		Jobs []struct{ State, Error string }
	}
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || len(st.Jobs) != 2 {
		t.Fatalf("status JSON: %v %s", err, r.out)
	}
	for _, j := range st.Jobs {
		if j.State != "FINISHED" {
			t.Errorf("job ended %s %s", j.State, j.Error)
		}
	}
	// "new token from oidc-agent account cesub-short for audience AUD (valid until T)"
	re := regexp.MustCompile(`new token from oidc-agent account \S+ for audience (\S+) \(valid until (\S+)\)`)
	fetched := map[string]map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(r.err, -1) {
		if fetched[m[1]] == nil {
			fetched[m[1]] = map[string]bool{}
		}
		fetched[m[1]][m[2]] = true
	}
	arexAud := strings.TrimSuffix(arex, "/arex")
	condorAud := strings.TrimPrefix(condor, "condor://")
	if len(fetched) != 2 || fetched[arexAud] == nil || fetched[condorAud] == nil {
		t.Fatalf("tokens were not fetched per CE audience (%s, %s): %v\n%s", arexAud, condorAud, fetched, r.err)
	}
	took := time.Since(start)
	life, _ := time.ParseDuration(tb.Get(t, "CESUB_TESTBED_SHORT_LIFETIME"))
	// A-REX sees the token on every request: a token is renewed with less
	// than a minute left. (The schedd authenticates once and the CEDAR
	// session is resumed: a token is fetched again only when a new session
	// is needed.)
	if took < life {
		t.Errorf("the watch ran %s, less than a token's %s: it proves nothing", took.Round(time.Second), life)
	}
	if len(fetched[arexAud]) < 2 {
		t.Errorf("the watch ran %s on one token for %s: never refreshed", took.Round(time.Second), arexAud)
	}
	t.Logf("status --watch ran %s; tokens fetched per audience: %d (A-REX), %d (HTCondor)", took.Round(time.Second), len(fetched[arexAud]), len(fetched[condorAud]))
	if r = cesub(t, tb, env, "get", "-a", "-D", filepath.Join(dir, "dl")); r.code != 0 {
		t.Errorf("get with oidc-agent tokens: %d %s", r.code, r.err)
	}
}
