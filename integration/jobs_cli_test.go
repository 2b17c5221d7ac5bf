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
	runLifecycle(t, tb, dir, jobEnv(t, tb, filepath.Join(dir, "jobs.db")), "", arex6(t, tb))
}

// ceTarget is an A-REX under test: its URL and where its control files are.
type ceTarget struct {
	url     string
	control func(local, name string) string
}

func arex6(t *testing.T, tb *testbed.Env) ceTarget {
	return ceTarget{url: tb.Get(t, "CESUB_TESTBED_AREX_URL"), control: func(local, name string) string {
		return filepath.Join("/var/spool/arc/jobstatus", "job."+local+"."+name)
	}}
}

// arex7: ARC 7 keeps control files in jobs/abc/def/ghi/jkl/ of its chroot.
func arex7(t *testing.T, tb *testbed.Env) ceTarget {
	root := tb.Get(t, "CESUB_TESTBED_ARC7_ROOT")
	return ceTarget{url: tb.Get(t, "CESUB_TESTBED_ARC7_URL"), control: func(local, name string) string {
		p := filepath.Join(root, "var/spool/arc/jobstatus/jobs")
		for i := 0; i < len(local); i += 3 {
			p = filepath.Join(p, local[i:min(i+3, len(local))])
		}
		return filepath.Join(p, name)
	}}
}

// TestCLIJobLifecycleTokenAndX509Delegation: token authentication, and an
// X.509 proxy delegated to the job (A-REX writes it next to the job).
func TestCLIJobLifecycleTokenAndX509Delegation(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := jobEnv(t, tb, filepath.Join(dir, "jobs.db"))
	env["X509_USER_PROXY"] = makeProxy(t, tb, dir)
	runLifecycle(t, tb, dir, env, "x509", arex6(t, tb))
}

// TestCLIJobLifecycleProxyOnly: no token anywhere; the proxy is the TLS
// client certificate and (--delegate auto) is delegated to the job.
func TestCLIJobLifecycleProxyOnly(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := map[string]string{"CESUB_JOBLIST": filepath.Join(dir, "jobs.db"), "XDG_RUNTIME_DIR": t.TempDir(),
		"X509_USER_PROXY": makeProxy(t, tb, dir)}
	runLifecycle(t, tb, dir, env, "auto", arex6(t, tb))
}

// makeProxy makes a proxy of the testbed user with `cesub proxy init`.
func makeProxy(t *testing.T, tb *testbed.Env, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "x509up")
	r := cesub(t, tb, map[string]string{"X509_USER_PROXY": p}, "proxy", "init", "--validity", "2h",
		"--cert", tb.Get(t, "CESUB_TESTBED_USERCERT"), "--key", tb.Get(t, "CESUB_TESTBED_USERKEY"))
	if r.code != 0 {
		t.Fatalf("proxy init: %d %s", r.code, r.err)
	}
	return p
}

// runLifecycle: submit with an uploaded input -> FINISHED -> cat stdout and
// stderr -> get (outputs with a subdirectory; get cleans) -> gone from the
// list. delegate "" means none is expected; otherwise the job must have a
// delegated proxy on the CE that verifies against the test CA.
func runLifecycle(t *testing.T, tb *testbed.Env, dir string, env map[string]string, delegate string, target ceTarget) {
	t.Helper()
	_ = os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho \"hi $(cat in.txt)\"\necho oops >&2\nmkdir -p sub && echo s > sub/f\n"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "in.txt"), []byte("there"), 0o644)
	desc := filepath.Join(dir, "job.xrsl")
	_ = os.WriteFile(desc, []byte(`&(executable="run.sh")(stdout="out.txt")(stderr="err.txt")(inputfiles=("in.txt" ""))(outputfiles=("sub/" ""))(jobname="cli-it")`), 0o644)
	args := []string{"--debug", "submit", "-C", target.url, "-f", desc, "-o", "json"}
	if delegate != "" {
		args = append(args, "--delegate", delegate)
	}
	r := cesub(t, tb, env, args...)
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.err)
	}
	if env["BEARER_TOKEN_FILE"] != "" {
		tok, _ := os.ReadFile(env["BEARER_TOKEN_FILE"])
		if strings.Contains(r.out+r.err, strings.TrimSpace(string(tok))) || !strings.Contains(r.err, "Authorization: Bearer [REDACTED]") {
			t.Fatalf("--debug output leaks the token or does not show the redacted header")
		}
	} else if strings.Contains(r.err, "Authorization:") {
		t.Fatalf("proxy-only submit sent an Authorization header: %s", r.err)
	}
	if p := env["X509_USER_PROXY"]; p != "" {
		key, _ := os.ReadFile(p)
		if i := strings.Index(string(key), "PRIVATE KEY-----\n"); i > 0 && strings.Contains(r.out+r.err, string(key[i+17:i+80])) {
			t.Fatalf("--debug output leaks the proxy key")
		}
	}
	var sub struct {
		Jobs []struct{ ID, Name, Error string }
	}
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 1 || sub.Jobs[0].ID == "" {
		t.Fatalf("submit JSON: %v %s", err, r.out)
	}
	id := sub.Jobs[0].ID
	local := id[strings.LastIndex(id, "/")+1:]
	proxyFile := target.control(local, "proxy")
	// A-REX writes the job's control files as it takes the job in: under
	// load that can come a moment after the submission's answer
	var localFile []byte
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		localFile, _ = os.ReadFile(target.control(local, "local"))
		if strings.Contains(string(localFile), "globalid=") || time.Now().After(end) {
			break
		}
	}
	switch delegate {
	case "":
		if _, err := os.Stat(proxyFile); err == nil {
			t.Errorf("a job submitted without delegation has a proxy on the CE")
		}
		if strings.Contains(string(localFile), "delegationid=") {
			t.Errorf("a job submitted without delegation has a delegation id")
		}
	case "token":
		if !strings.Contains(string(localFile), "delegationid=") {
			t.Errorf("the token-delegated job has no delegation id on the CE: %q", localFile)
		}
	default:
		out, err := exec.Command("openssl", "verify", "-allow_proxy_certs", "-CApath", tb.Get(t, "X509_CERT_DIR"),
			"-untrusted", proxyFile, proxyFile).CombinedOutput()
		if err != nil {
			t.Fatalf("the delegated proxy A-REX stored does not verify: %v %s", err, out)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		r = cesub(t, tb, env, "status", id, "-o", "json")
		var st struct {
			Jobs []struct{ State, SpecificState string }
		}
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
	checkStatusLong(t, tb, env, id, "fork")
	if r = cesub(t, tb, env, "cat", id); r.code != 0 || strings.TrimSpace(r.out) != "hi there" {
		t.Fatalf("cat: %d %q %s", r.code, r.out, r.err)
	}
	if r = cesub(t, tb, env, "cat", "--stderr", id); r.code != 0 || strings.TrimSpace(r.out) != "oops" {
		t.Fatalf("cat --stderr: %d %q %s", r.code, r.out, r.err)
	}
	if r = cesub(t, tb, env, "cat", "--log", id); r.code != 0 || !strings.Contains(r.out, "Job state change") {
		t.Errorf("cat --log: %d %.200q %s", r.code, r.out, r.err)
	}
	dl := filepath.Join(dir, "dl")
	if r = cesub(t, tb, env, "get", id, "-D", dl, "-o", "json"); r.code != 0 {
		t.Fatalf("get: %d %s", r.code, r.err)
	}
	for f, want := range map[string]string{"out.txt": "hi there\n", "err.txt": "oops\n", "sub/f": "s\n"} {
		if b, err := os.ReadFile(filepath.Join(dl, local, f)); err != nil || string(b) != want {
			t.Errorf("%s: %v %q", f, err, b)
		}
	}
	if r = cesub(t, tb, env, "status", "-a", "-o", "json"); !strings.Contains(r.out, `"jobs": null`) && !strings.Contains(r.out, `"jobs": []`) {
		t.Errorf("job list not empty after get: %s", r.out)
	}
	// get cleaned the job on the CE too (the grid manager wipes it on its next pass)
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(2 * time.Second) {
		r = cesub(t, tb, env, "status", id)
		if r.code == 1 && strings.Contains(r.err, "not found") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("job still on the CE 45 s after get: %d %s %s", r.code, r.out, r.err)
			break
		}
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

// checkStatusLong: status -l of a finished job reports where and how long it
// ran, in JSON (arcstat -l's names) and as text.
func checkStatusLong(t *testing.T, tb *testbed.Env, env map[string]string, id, queue string) {
	t.Helper()
	r := cesub(t, tb, env, "status", "-l", id, "-o", "json")
	var st struct {
		Jobs []struct {
			State, Queue, LocalIDFromManager string
			ExecutionNode                    []string
			UsedTotalWallTime                *int64
			UsedMainMemory                   *int64
			EndTime                          string
		}
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &st) != nil || len(st.Jobs) != 1 {
		t.Fatalf("status -l: %d %s %s", r.code, r.out, r.err)
	}
	j := st.Jobs[0]
	if j.LocalIDFromManager == "" || len(j.ExecutionNode) == 0 || j.UsedTotalWallTime == nil || j.EndTime == "" ||
		(queue != "" && j.Queue != queue) {
		t.Errorf("status -l of a finished job lacks long fields: %s", r.out)
	}
	r = cesub(t, tb, env, "status", "-l", id)
	for _, w := range []string{"Job: " + id, "Batch id:", "Node:", "Wall time:", "Ended:"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("status -l text lacks %q:\n%s", w, r.out)
		}
	}
}

// TestMain removes the cesub binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
