package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
)

// emies6 is the testbed's A-REX 6.17 addressed over EMI-ES.
func emies6(t *testing.T, tb *testbed.Env) ceTarget {
	target := arex6(t, tb)
	target.url = "emies://" + strings.TrimPrefix(target.url, "https://")
	return target
}

// TestEMIESLifecycleToken: the whole lifecycle over EMI-ES with a token only.
func TestEMIESLifecycleToken(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	runLifecycle(t, tb, dir, jobEnv(t, tb, filepath.Join(dir, "jobs.db")), "", emies6(t, tb))
}

// TestEMIESLifecycleProxyOnly: no token; the proxy authenticates and is
// delegated with EMI-ES InitDelegation/PutDelegation.
func TestEMIESLifecycleProxyOnly(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := map[string]string{"CESUB_JOBLIST": filepath.Join(dir, "jobs.db"), "XDG_RUNTIME_DIR": t.TempDir(),
		"X509_USER_PROXY": makeProxy(t, tb, dir)}
	runLifecycle(t, tb, dir, env, "auto", emies6(t, tb))
}

// TestEMIESBulkKillAndREST: 12 jobs in CreateActivity calls of at most 10
// (A-REX's limit); the running one is killed and reaches KILLED; a job
// submitted over EMI-ES is the same job over REST (same identity); clean -a
// wipes them all.
func TestEMIESBulkKillAndREST(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := jobEnv(t, tb, filepath.Join(dir, "jobs.db"))
	target := emies6(t, tb)
	s := &esBulk{tb: tb, dir: dir, env: env, target: target}
	jobs, seen := s.submit(t)
	sleeper, echo := jobs[0].ID, jobs[1].ID
	s.killAndCompareREST(t, sleeper, echo)
	env2 := s.syncFreshList(t, jobs, seen, sleeper)
	s.cleanAll(t, env2, sleeper)
}

// esBulk holds what the steps of TestEMIESBulkKillAndREST share.
type esBulk struct {
	tb     *testbed.Env
	dir    string
	env    map[string]string
	target ceTarget
}

// esJob is a job as cesub's JSON output lists it.
type esJob struct{ ID, Name string }

// emiesRESTID is the REST id of the A-REX job with EMI-ES id id.
func emiesRESTID(id string) string {
	return strings.Replace(id, "/arex/", "/arex/rest/1.0/jobs/", 1)
}

// submit submits 12 jobs (a sleeper, then 11 echoes) in one description:
// two CreateActivity requests (10 + 2); it returns the jobs in order and
// the set of their ids.
func (s *esBulk) submit(t *testing.T) ([]esJob, map[string]bool) {
	t.Helper()
	var b strings.Builder
	b.WriteString("+")
	fmt.Fprintf(&b, `(&(executable="/bin/sleep")(arguments="300")(jobname="es-00"))`)
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, `(&(executable="/bin/echo")(arguments="%d")(stdout="out")(jobname="es-%02d"))`, i, i)
	}
	desc := filepath.Join(s.dir, "bulk.xrsl")
	_ = os.WriteFile(desc, []byte(b.String()), 0o644)

	r := cesub(t, s.tb, s.env, "--debug", "submit", "-C", s.target.url, "-f", desc, "-o", "json")
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.err)
	}
	if n := len(regexp.MustCompile(`> POST https://localhost:8444/arex\s`).FindAllString(r.err, -1)); n != 2 {
		t.Errorf("12 jobs took %d CreateActivity requests, want 2 (10 + 2)", n)
	}
	var sub struct{ Jobs []esJob }
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 12 {
		t.Fatalf("submit JSON: %v, %d jobs: %s", err, len(sub.Jobs), r.out)
	}
	seen := map[string]bool{}
	for i, j := range sub.Jobs {
		if !strings.HasPrefix(j.ID, "https://localhost:8444/arex/") || seen[j.ID] || j.Name != fmt.Sprintf("es-%02d", i) {
			t.Fatalf("job %d: %+v (bad id, duplicate or out of order)", i, j)
		}
		seen[j.ID] = true
	}
	return sub.Jobs, seen
}

// state is the job's state and specific state as cesub status shows them.
func (s *esBulk) state(t *testing.T, id string) (string, string) {
	t.Helper()
	r := cesub(t, s.tb, s.env, "status", id, "-o", "json")
	var st struct {
		Jobs []struct{ State, SpecificState string }
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &st) != nil || len(st.Jobs) != 1 {
		t.Fatalf("status %s: %d %s %s", id, r.code, r.out, r.err)
	}
	return st.Jobs[0].State, st.Jobs[0].SpecificState
}

// wait polls the job's state until it is want, for at most limit.
func (s *esBulk) wait(t *testing.T, id, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got, raw := s.state(t, id)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %s (%s), want %s", id, got, raw, want)
		}
		time.Sleep(2 * time.Second)
	}
}

// killAndCompareREST: the sleeper runs and the echo finishes; the echo is
// the same job over REST; the killed sleeper reaches KILLED, over REST too.
func (s *esBulk) killAndCompareREST(t *testing.T, sleeper, echo string) {
	t.Helper()
	s.wait(t, sleeper, "RUNNING", 90*time.Second)
	s.wait(t, echo, "FINISHED", 90*time.Second)
	// The same job over REST (an id not in the job list is used as given).
	if got, _ := s.state(t, emiesRESTID(echo)); got != "FINISHED" {
		t.Errorf("the EMI-ES job over REST: %s, want FINISHED", got)
	}
	if r := cesub(t, s.tb, s.env, "kill", sleeper); r.code != 0 {
		t.Fatalf("kill: %d %s", r.code, r.err)
	}
	s.wait(t, sleeper, "KILLED", 90*time.Second)
	if got, _ := s.state(t, emiesRESTID(sleeper)); got != "KILLED" {
		t.Errorf("the killed EMI-ES job over REST: %s, want KILLED", got)
	}
}

// syncFreshList: a fresh job list learns the jobs from the CE
// (ListActivities) with their names (GetActivityInfo). It returns the
// fresh list's environment.
func (s *esBulk) syncFreshList(t *testing.T, jobs []esJob, seen map[string]bool, sleeper string) map[string]string {
	t.Helper()
	env2 := jobEnv(t, s.tb, filepath.Join(s.dir, "jobs2.db"))
	if r := cesub(t, s.tb, env2, "sync", "-C", s.target.url, "-o", "json"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.err)
	}
	r := cesub(t, s.tb, env2, "status", "-a", "-o", "json")
	for id := range seen {
		if !strings.Contains(r.out, `"`+id+`"`) {
			t.Errorf("sync did not find %s", id)
		}
	}
	var synced struct{ Jobs []esJob }
	_ = json.Unmarshal([]byte(r.out), &synced)
	want := map[string]string{}
	for i, j := range jobs {
		want[j.ID] = fmt.Sprintf("es-%02d", i)
	}
	named := 0
	for _, j := range synced.Jobs {
		if _, ours := want[j.ID]; !ours {
			continue // the identity's other jobs at this CE
		}
		switch {
		case j.Name == want[j.ID]:
			named++
		case j.Name == "" && j.ID == sleeper:
			// the job killed a moment ago came back without a name once in
			// CI (A-REX 6.17 answers GetActivityInfo from the info
			// provider's job XML, which follows the job with a delay)
			t.Logf("the killed job has no name in GetActivityInfo yet")
		default:
			t.Errorf("sync (GetActivityInfo) named %s %q, want %s", j.ID, j.Name, want[j.ID])
		}
	}
	if named < len(jobs)-1 {
		t.Errorf("sync named %d of %d jobs", named, len(jobs))
	}
	return env2
}

// cleanAll: clean -a wipes the 12 jobs in one WipeActivity request; the
// sleeper then leaves the CE (as the fresh job list sees it).
func (s *esBulk) cleanAll(t *testing.T, env2 map[string]string, sleeper string) {
	t.Helper()
	r := cesub(t, s.tb, s.env, "--debug", "clean", "-a")
	if r.code != 0 {
		t.Fatalf("clean -a: %d %s", r.code, r.err)
	}
	if n := len(regexp.MustCompile(`> POST https://localhost:8444/arex\s`).FindAllString(r.err, -1)); n != 1 {
		t.Errorf("clean of 12 jobs took %d WipeActivity requests, want 1", n)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(2 * time.Second) {
		r = cesub(t, s.tb, env2, "status", sleeper)
		if r.code == 1 && strings.Contains(r.err, "not found") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still on the CE 60 s after clean: %d %s %s", r.code, r.out, r.err)
		}
	}
}
