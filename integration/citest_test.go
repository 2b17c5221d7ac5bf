package integration

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// TestCesubTest: `cesub test -E FILE --junit out.xml` over the testbed's
// A-REX 6.17 (with a test job whose output is checked), the HTCondor-CE,
// ARC 7, an endpoint that is down and one whose token has the wrong
// audience. Exactly the last two fail, each with its reason; the exit code
// is the number of failures; out.xml validates against the JUnit schema
// (docs/junit.xsd) and names the same two; -o markdown prints the
// testbed table.
func TestCesubTest(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hello.xrsl"), `&(executable="/bin/echo")(arguments="hello" "from" "cesub" "test")(stdout="hello.out")(jobname="cesub-test")`)
	file := filepath.Join(dir, "testbed.yaml")
	writeFile(t, file, `defaults:
  site: LOCAL
  vo: wlcg
  group: /wlcg/pilots
  token: {source: oidc-agent, account: `+tb.Get(t, "CESUB_TESTBED_OIDC_ACCOUNT")+`}
endpoints:
  - name: arex
    ce: `+tb.Get(t, "CESUB_TESTBED_AREX_URL")+`
    job: {file: hello.xrsl, expect: hello from cesub test, timeout: 4m}
  - name: condor
    ce: `+tb.Get(t, "CESUB_TESTBED_CONDOR_CE")+`
  - name: arc7
    ce: `+tb.Get(t, "CESUB_TESTBED_ARC7_URL")+`
    token: {source: file, file: `+tb.Get(t, "CESUB_TESTBED_ARC7_TOKEN_FILE")+`}
  - name: down
    ce: https://localhost:8499/arex
  - name: wrong-audience
    ce: `+tb.Get(t, "CESUB_TESTBED_AREX_URL")+`
    audience: https://elsewhere.example:443
`)
	env := map[string]string{"CESUB_JOBLIST": filepath.Join(dir, "jobs.db"), "XDG_RUNTIME_DIR": t.TempDir()}
	junit := filepath.Join(dir, "out.xml")
	r := cesub(t, tb, env, "--timeout", "10s", "test", "-E", file, "--junit", junit, "-o", "json")
	var res struct {
		Schema         string
		Passed, Failed int
		Endpoints      []struct {
			Name, Reason  string
			OK            bool
			TokenAccepted *bool `json:"token_accepted"`
			JobRan        *bool `json:"job_ran"`
			Steps         []struct {
				Name   string
				OK     bool
				Detail string
			}
		}
	}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("JSON: %v\n%s\n%s", err, r.out, r.err)
	}
	if r.code != 1 || res.Passed != 3 || res.Failed != 2 {
		t.Errorf("exit %d, passed %d, failed %d; want exit 1 (CEs failed), 3 passed", r.code, res.Passed, res.Failed)
	}
	for _, e := range res.Endpoints {
		switch e.Name {
		case "down":
			if e.OK || !strings.HasPrefix(e.Reason, "reach:") || !strings.Contains(e.Reason, "nothing listens") {
				t.Errorf("down: %+v", e)
			}
		case "wrong-audience":
			if e.OK || !strings.HasPrefix(e.Reason, "token:") || !strings.Contains(e.Reason, "aud") || e.TokenAccepted == nil || *e.TokenAccepted {
				t.Errorf("wrong audience: %+v", e)
			}
		default:
			if !e.OK {
				t.Errorf("%s failed: %s", e.Name, e.Reason)
			}
		}
		if e.Name == "arex" {
			last := e.Steps[len(e.Steps)-1]
			if last.Name != "job" || !last.OK || !strings.Contains(last.Detail, "output checked") {
				t.Errorf("the test job on the A-REX: %+v", last)
			}
		}
	}
	// the JUnit file: valid against the schema, the same two failures
	root, _ := testbed.RepoRoot()
	if out, err := exec.Command("xmllint", "--noout", "--schema", filepath.Join(root, "docs", "junit.xsd"), junit).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(junit)
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil || doc.Tests != 5 || doc.Failures != 2 {
		t.Fatalf("JUnit: %v tests %d failures %d\n%s", err, doc.Tests, doc.Failures, raw)
	}
	var failed []string
	for _, c := range doc.Suites[0].Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name)
		}
	}
	if strings.Join(failed, ",") != "down,wrong-audience" {
		t.Errorf("JUnit failures: %v", failed)
	}
	// the testbed page's table
	r = cesub(t, tb, env, "--timeout", "10s", "test", "-E", file, "-o", "markdown")
	if !strings.Contains(r.out, "| Site | Host | Flavour | VO | Audience | Group | Token accepted | Job ran |") ||
		!strings.Contains(r.out, "| LOCAL | localhost | arc | wlcg | https://elsewhere.example:443 | /wlcg/pilots | no |") {
		t.Errorf("markdown:\n%s", r.out)
	}
	if r = cesub(t, tb, env, "status", "-a", "-o", "json"); strings.Contains(r.out, "cesub-test") {
		t.Errorf("the test job was left on the job list: %s", r.out)
	}
}
