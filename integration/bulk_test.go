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

// TestBulk50: 50 jobs go to A-REX in one submit request; status --all of
// all of them is one request (the live listing); the
// running one, killed, reaches KILLED; clean -a is one request.
func TestBulk50(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := jobEnv(t, tb, filepath.Join(dir, "jobs.db"))
	var b strings.Builder
	b.WriteString("+")
	fmt.Fprintf(&b, `(&(executable="/bin/sleep")(arguments="300")(jobname="bulk-00"))`)
	for i := 1; i < 50; i++ {
		fmt.Fprintf(&b, `(&(executable="/bin/echo")(arguments="%d")(stdout="out")(jobname="bulk-%02d"))`, i, i)
	}
	desc := filepath.Join(dir, "bulk.xrsl")
	_ = os.WriteFile(desc, []byte(b.String()), 0o644)
	count := func(debug, re string) int { return len(regexp.MustCompile(re).FindAllString(debug, -1)) }

	r := cesub(t, tb, env, "--debug", "submit", "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), "-f", desc, "-o", "json")
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.err)
	}
	if n := count(r.err, `> POST \S+/jobs\?action=new`); n != 1 {
		t.Errorf("50 jobs took %d submit requests, want 1", n)
	}
	var sub struct{ Jobs []struct{ ID, Name string } }
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 50 {
		t.Fatalf("submit JSON: %v, %d jobs", err, len(sub.Jobs))
	}
	seen := map[string]bool{}
	for i, j := range sub.Jobs {
		if j.ID == "" || seen[j.ID] || j.Name != fmt.Sprintf("bulk-%02d", i) {
			t.Fatalf("job %d: %+v (duplicate or out of order)", i, j)
		}
		seen[j.ID] = true
	}
	sleeper := sub.Jobs[0].ID

	type st struct {
		Jobs []struct{ ID, State, SpecificState string }
	}
	wait := func(id, want string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			r := cesub(t, tb, env, "status", id, "-o", "json")
			var s st
			if r.code != 0 || json.Unmarshal([]byte(r.out), &s) != nil || len(s.Jobs) != 1 {
				t.Fatalf("status: %d %s %s", r.code, r.out, r.err)
			}
			if s.Jobs[0].State == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is %s/%s after %s, want %s", id, s.Jobs[0].State, s.Jobs[0].SpecificState, limit, want)
			}
			time.Sleep(2 * time.Second)
		}
	}
	wait(sleeper, "RUNNING", 5*time.Minute) // A-REX works through the other 49 first; 97 s seen on an idle machine
	// get refuses a running job (and so does not clean it away)
	if r = cesub(t, tb, env, "get", sleeper, "-D", t.TempDir()); r.code != 1 || !strings.Contains(r.err, "get fetches finished jobs") {
		t.Errorf("get of a running job: %d %s", r.code, r.err)
	}
	wait(sleeper, "RUNNING", time.Minute)
	if r = cesub(t, tb, env, "kill", sleeper); r.code != 0 {
		t.Fatalf("kill: %d %s", r.code, r.err)
	}
	wait(sleeper, "KILLED", 2*time.Minute)

	r = cesub(t, tb, env, "--debug", "status", "--all", "-o", "json")
	if r.code != 0 {
		t.Fatalf("status --all: %d %s", r.code, r.err)
	}
	// one live listing answers all 50 (plus one diagnose/failed for the killed job, which the
	// listing calls FAILED); no per-batch action=status is needed when every job is listed
	if n := count(r.err, `> GET \S+/jobs\?state=`) + count(r.err, `> POST \S+/jobs\?action=status`); n != 1 {
		t.Errorf("status of 50 jobs took %d listing/status requests, want 1:\n%s", n, r.err)
	}
	if n := count(r.err, `> (GET|POST) `); n > 2 {
		t.Errorf("status of 50 jobs took %d requests in all:\n%s", n, r.err)
	}
	var all st
	if err := json.Unmarshal([]byte(r.out), &all); err != nil || len(all.Jobs) != 50 {
		t.Fatalf("status --all JSON: %v, %d jobs", err, len(all.Jobs))
	}
	r = cesub(t, tb, env, "--debug", "clean", "-a", "-o", "json")
	if r.code != 0 {
		t.Fatalf("clean -a: %d %s", r.code, r.err)
	}
	if n := count(r.err, `> POST \S+/jobs\?action=clean`); n != 1 {
		t.Errorf("clean of 50 jobs took %d requests, want 1", n)
	}
}
