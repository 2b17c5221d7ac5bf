package integration

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// TestSubmitEndpointFile: a pilot factory's run from an endpoint file. One
// `cesub submit -E FILE --count 2 -o jsonl` sends two jobs to each CE of the
// file — A-REX 6.17 with tokens from the real oidc-agent, the HTCondor-CE
// with the client-credentials grant at the testbed issuer, ARC 7 with a
// token file — and none to the endpoint marked skip (nothing listens
// there). No token is found by discovery: every CE works only with the
// source the file gives it, each asked for its own audience. `status -a`
// and `kill -a` with CESUB_ENDPOINTS reach every job with the same sources,
// and `ping` without -C asks the file's three CEs.
func TestSubmitEndpointFile(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	arex, condor, arc7 := tb.Get(t, "CESUB_TESTBED_AREX_URL"), tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), tb.Get(t, "CESUB_TESTBED_ARC7_URL")
	file := filepath.Join(dir, "factory.yaml")
	writeFile(t, file, `defaults:
  vo: wlcg
endpoints:
  - name: arex
    ce: `+arex+`
    token: {source: oidc-agent, account: `+tb.Get(t, "CESUB_TESTBED_OIDC_ACCOUNT")+`}
  - name: condor
    ce: `+condor+`
    token: {source: client-credentials, issuer: `+tb.Get(t, "CESUB_TESTBED_ISSUER")+`, client-id: `+tb.Get(t, "CESUB_TESTBED_CLIENT_ID")+`, secret-file: `+tb.Get(t, "CESUB_TESTBED_CLIENT_SECRET_FILE")+`}
  - name: arc7
    ce: `+arc7+`
    token: {source: file, file: `+tb.Get(t, "CESUB_TESTBED_ARC7_TOKEN_FILE")+`}
  - name: down
    ce: https://localhost:8499/arex
    skip: true
`)
	runtime := t.TempDir() // discovery finds nothing here
	env := map[string]string{"CESUB_JOBLIST": filepath.Join(dir, "jobs.db"), "XDG_RUNTIME_DIR": runtime,
		"BEARER_TOKEN_FILE": filepath.Join(runtime, "none")}
	r := cesub(t, tb, env, "--debug", "submit", "-E", file, "-e", `&(executable="/bin/echo")(arguments="factory")(stdout="out.txt")(jobname="factory")`,
		"--count", "2", "-o", "jsonl")
	if r.code != 0 {
		t.Fatalf("submit -E: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	perCE := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var j struct{ ID, CE string }
		if err := json.Unmarshal([]byte(line), &j); err != nil || j.ID == "" {
			t.Fatalf("jsonl line %q: %v", line, err)
		}
		perCE[j.CE]++
	}
	if len(perCE) != 3 {
		t.Errorf("jobs per CE %v: want 2 on each of the three CEs", perCE)
	}
	for c, n := range perCE {
		if n != 2 {
			t.Errorf("%s got %d jobs, want 2", c, n)
		}
		if strings.Contains(c, "8499") {
			t.Errorf("the endpoint marked skip got jobs")
		}
	}
	// each fetching source asked for its own CE's audience
	re := regexp.MustCompile(`new token from (oidc-agent account \S+|client credentials \(\S+\)) for audience (\S+) `)
	got := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(r.err, -1) {
		got[m[2]] = m[1]
	}
	arexAud, condorAud := strings.TrimSuffix(arex, "/arex"), strings.TrimPrefix(condor, "condor://")
	if !strings.HasPrefix(got[arexAud], "oidc-agent") || !strings.HasPrefix(got[condorAud], "client credentials") || len(got) != 2 {
		t.Errorf("tokens fetched per audience: %v; want oidc-agent for %s, client credentials for %s", got, arexAud, condorAud)
	}

	env["CESUB_ENDPOINTS"] = file
	r = cesub(t, tb, env, "status", "-a", "-o", "json")
	var st struct {
		Jobs []struct{ ID, State, Error string }
	}
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || r.code != 0 || len(st.Jobs) != 6 {
		t.Fatalf("status -a with CESUB_ENDPOINTS: exit %d, %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	for _, j := range st.Jobs {
		if j.Error != "" || j.State == "" {
			t.Errorf("status of %s: %q %q", j.ID, j.State, j.Error)
		}
	}
	r = cesub(t, tb, env, "ping", "-o", "json")
	var ping struct{ CEs []struct{ CE, Error string } }
	if err := json.Unmarshal([]byte(r.out), &ping); err != nil || r.code != 0 || len(ping.CEs) != 3 {
		t.Errorf("ping with CESUB_ENDPOINTS: exit %d, %v (want the three CEs, each admitting its token)\n%s\n%s", r.code, err, r.out, r.err)
	}
	if r = cesub(t, tb, env, "kill", "-a"); r.code != 0 {
		t.Errorf("kill -a with CESUB_ENDPOINTS: exit %d %s", r.code, r.err)
	}
}
