package integration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/pkg/ce"
)

// TestHTCondorHoldRelease: cesub hold and release act on the real schedd
// (condor_q shows JobStatus 5, then not 5), and an ARC job cannot be held.
func TestHTCondorHoldRelease(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		dir := t.TempDir()
		env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
		sub := filepath.Join(dir, "sleep.sub")
		writeFile(t, sub, "executable = /bin/sleep\narguments = 600\nbatch_name = it-hold\nqueue\n")
		r := cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", sub)
		if r.code != 0 {
			t.Fatalf("submit: %d %s", r.code, r.err)
		}
		id := strings.TrimSpace(r.out)
		local := id[strings.LastIndex(id, "/")+1:]
		defer cesub(t, tb, env, "clean", id)
		statusIs := func(want func(int) bool, what string) {
			t.Helper()
			for end := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
				if st, ok := condorQ(t, tb)[local]; ok && want(st) {
					return
				}
				if time.Now().After(end) {
					t.Fatalf("job %s: condor_q never showed it %s (%v)", local, what, condorQ(t, tb)[local])
				}
			}
		}
		statusIs(func(s int) bool { return s != 5 }, "released from the spool hold")
		if r := cesub(t, tb, env, "hold", local); r.code != 0 || !strings.Contains(r.err, "held") {
			t.Fatalf("hold: %d %s", r.code, r.err)
		}
		statusIs(func(s int) bool { return s == 5 }, "held (5)")
		if r := cesub(t, tb, env, "release", local); r.code != 0 {
			t.Fatalf("release: %d %s", r.code, r.err)
		}
		statusIs(func(s int) bool { return s != 5 }, "released")
	})
}

// TestCleanForget: a job the A-REX no longer has (cleaned by another
// client) makes clean fail, naming it; clean --forget drops it from the
// job list and succeeds.
func TestCleanForget(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	joblist := filepath.Join(dir, "jobs.db")
	env := jobEnv(t, tb, joblist)
	arex := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	r := cesub(t, tb, env, "submit", "-C", arex, "-e", `&(executable="/bin/true")(jobname="forget-me")`)
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.err)
	}
	id := strings.TrimSpace(r.out)
	// cleaned behind cesub's back: through the REST API, not the job list
	c := arcClient(t, tb)
	local := id[strings.LastIndex(id, "/")+1:]
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		res, err := c.Clean(context.Background(), []string{local})
		if err == nil && len(res) == 1 && res[0].Err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("clean through the API: %v %+v", err, res)
		}
	}
	// A-REX cleans in the background: wait until it no longer knows the job
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		res, err := c.Status(context.Background(), []string{local})
		if err == nil && len(res) == 1 && errors.Is(res[0].Err, ce.ErrNotFound) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("A-REX still knows the cleaned job: %v %+v", err, res)
		}
	}
	if r = cesub(t, tb, env, "clean", "forget-me"); r.code == 0 || !strings.Contains(r.err, "not found") {
		t.Fatalf("clean of a job the CE no longer has: %d %s", r.code, r.err)
	}
	if r = cesub(t, tb, env, "clean", "--forget", "forget-me", "-o", "json"); r.code != 0 || !strings.Contains(r.out, "FORGOTTEN") {
		t.Fatalf("clean --forget: %d %s %s", r.code, r.out, r.err)
	}
	st, err := jobstore.Open(context.Background(), joblist)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if jobs, _ := st.List(context.Background(), jobstore.Filter{}); len(jobs) != 0 {
		t.Fatalf("the job list still has %d jobs", len(jobs))
	}
	// ARC CEs have no hold
	if r := cesub(t, tb, env, "hold", arex+"/rest/1.0/jobs/"+local); r.code == 0 || !strings.Contains(r.err, "cannot hold") {
		t.Errorf("hold of an ARC job: %d %s", r.code, r.err)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
