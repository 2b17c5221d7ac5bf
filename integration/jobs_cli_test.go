package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testbed"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// cesubBinary builds cmd/cesub once for tests that need real processes.
func cesubBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cesub-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "cesub")
		root, _ := testbed.RepoRoot()
		out, err := exec.Command("go", "build", "-o", binPath, filepath.Join(root, "cmd", "cesub")).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func jobEnv(t *testing.T, tb *testbed.Env, joblist string) map[string]string {
	return map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"), "CESUB_JOBLIST": joblist,
		"XDG_RUNTIME_DIR": t.TempDir()}
}

func TestCLIJobLifecycle(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := jobEnv(t, tb, filepath.Join(dir, "jobs.db"))
	_ = os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho \"hi $(cat in.txt)\"\necho oops >&2\nmkdir -p sub && echo s > sub/f\n"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "in.txt"), []byte("there"), 0o644)
	desc := filepath.Join(dir, "job.xrsl")
	_ = os.WriteFile(desc, []byte(`&(executable="run.sh")(stdout="out.txt")(stderr="err.txt")(inputfiles=("in.txt" ""))(outputfiles=("sub/" ""))(jobname="cli-it")`), 0o644)
	r := cesub(t, tb, env, "--debug", "submit", "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), "-f", desc, "-o", "json")
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.err)
	}
	tok, _ := os.ReadFile(tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"))
	if strings.Contains(r.out+r.err, strings.TrimSpace(string(tok))) || !strings.Contains(r.err, "Authorization: Bearer [REDACTED]") {
		t.Fatalf("--debug output leaks the token or does not show the redacted header")
	}
	var sub struct{ Jobs []struct{ ID, Name, Error string } }
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 1 || sub.Jobs[0].ID == "" {
		t.Fatalf("submit JSON: %v %s", err, r.out)
	}
	id := sub.Jobs[0].ID
	deadline := time.Now().Add(3 * time.Minute)
	for {
		r = cesub(t, tb, env, "status", id, "-o", "json")
		var st struct{ Jobs []struct{ State, SpecificState string } }
		if r.code != 0 || json.Unmarshal([]byte(r.out), &st) != nil || len(st.Jobs) != 1 {
			t.Fatalf("status: %d %s %s", r.code, r.out, r.err)
		}
		if st.Jobs[0].State == "FINISHED" {
			break
		}
		if st.Jobs[0].State == "FAILED" || time.Now().After(deadline) {
			t.Fatalf("job state %+v", st.Jobs[0])
		}
		time.Sleep(2 * time.Second)
	}
	if r = cesub(t, tb, env, "cat", id); r.code != 0 || strings.TrimSpace(r.out) != "hi there" {
		t.Fatalf("cat: %d %q %s", r.code, r.out, r.err)
	}
	if r = cesub(t, tb, env, "cat", "--stderr", id); r.code != 0 || strings.TrimSpace(r.out) != "oops" {
		t.Fatalf("cat --stderr: %d %q %s", r.code, r.out, r.err)
	}
	dl := filepath.Join(dir, "dl")
	if r = cesub(t, tb, env, "get", id, "-D", dl, "-o", "json"); r.code != 0 {
		t.Fatalf("get: %d %s", r.code, r.err)
	}
	local := id[strings.LastIndex(id, "/")+1:]
	for f, want := range map[string]string{"out.txt": "hi there\n", "err.txt": "oops\n", "sub/f": "s\n"} {
		if b, err := os.ReadFile(filepath.Join(dl, local, f)); err != nil || string(b) != want {
			t.Errorf("%s: %v %q", f, err, b)
		}
	}
	if r = cesub(t, tb, env, "status", "-a", "-o", "json"); !strings.Contains(r.out, `"jobs": null`) && !strings.Contains(r.out, `"jobs": []`) {
		t.Errorf("job list not empty after get: %s", r.out)
	}
	// an unknown job on the CE: per-job error, exit 1
	if r = cesub(t, tb, env, "status", strings.Replace(id, local, "nosuchjob", 1)); r.code != 1 || !strings.Contains(r.err, "not found") {
		t.Errorf("unknown job: %d %s", r.code, r.err)
	}
}

// TestConcurrentSubmitProcesses: 20 cesub processes submit at once into one
// job list; every job is recorded exactly once.
func TestConcurrentSubmitProcesses(t *testing.T) {
	tb := testbed.Require(t)
	bin := cesubBinary(t)
	dir := t.TempDir()
	joblist := filepath.Join(dir, "jobs.db")
	var wg sync.WaitGroup
	ids := make([]string, 20)
	errs := make([]string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(bin, "submit", "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), "-e",
				fmt.Sprintf(`&(executable="/bin/true")(jobname="par-%02d")`, i))
			cmd.Env = append(os.Environ(), "BEARER_TOKEN_FILE="+tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"), "CESUB_JOBLIST="+joblist,
				"X509_CERT_DIR="+tb.Get(t, "X509_CERT_DIR"), "XDG_CONFIG_HOME="+dir)
			out, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Sprintf("%v %s", err, out)
			}
			ids[i] = strings.TrimSpace(string(out))
		}(i)
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("process %d: %s", i, e)
		}
	}
	store, err := jobstore.Open(t.Context(), joblist)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	jobs, err := store.List(t.Context(), jobstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, j := range jobs {
		seen[j.ID]++
	}
	if len(jobs) != 20 || len(seen) != 20 {
		t.Fatalf("job list has %d rows, %d distinct, want 20", len(jobs), len(seen))
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("printed id %q recorded %d times", id, seen[id])
		}
	}
	r := cesub(t, tb, jobEnv(t, tb, joblist), "clean", "-a")
	if r.code != 0 {
		t.Errorf("clean -a: %d %s", r.code, r.err)
	}
}
