package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
)

// arexOwnToken mints an A-REX token for a subject of its own: A-REX shows
// each identity only its own jobs, so the CE-side count of a test is not
// disturbed by jobs other tests submit at the same time.
func arexOwnToken(t *testing.T, tb *testbed.Env, sub string) string {
	t.Helper()
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := key.Mint(testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: sub,
		Audience: []string{strings.TrimSuffix(tb.Get(t, "CESUB_TESTBED_AREX_URL"), "/arex")}, Groups: []string{"/wlcg/pilots"},
		Lifetime: time.Hour, Scope: "compute.create compute.read compute.modify compute.cancel"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(p, []byte(tok), 0o600)
	return p
}

// ceJobs lists the ids the A-REX has for the token's identity.
func ceJobs(t *testing.T, tb *testbed.Env, tokenFile string) map[string]bool {
	t.Helper()
	b, _ := backendFor(t, tb, tb.Get(t, "CESUB_TESTBED_AREX_URL"), tokenFile)
	list, err := b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, j := range list {
		out[j.ID] = true
	}
	return out
}

// listed is the job list's ids.
func listed(t *testing.T, path string) map[string]int {
	t.Helper()
	st, err := jobstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, err := st.List(context.Background(), jobstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, j := range jobs {
		out[j.ID]++
	}
	return out
}

// runUntil starts `cesub submit … -o jsonl`, sends sig once n lines were
// printed (0: never), and returns the exit code and the ids printed.
func runUntil(t *testing.T, env []string, n int, sig syscall.Signal, args ...string) (int, []string, string) {
	t.Helper()
	cmd := exec.Command(cesubBinary(t), append([]string{"submit", "-o", "jsonl"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var errb strings.Builder
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var j struct{ ID string }
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil || j.ID == "" {
			t.Errorf("jsonl line %q: %v", sc.Text(), err)
		}
		ids = append(ids, j.ID)
		if n > 0 && len(ids) == n {
			_ = cmd.Process.Signal(sig)
		}
	}
	_ = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("cesub died of %v instead of stopping cleanly:\n%s", ws.Signal(), errb.String())
	}
	return ws.ExitStatus(), ids, errb.String()
}

// settledSame compares the A-REX's jobs of the token's identity with the
// job list, asking the CE again for up to 20 s: A-REX's listing can miss a
// job for a moment while it moves between state directories.
func settledSame(t *testing.T, tb *testbed.Env, what, tokenFile, list string) (int, int) {
	t.Helper()
	l := listed(t, list)
	var onCE map[string]bool
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(2 * time.Second) {
		onCE = ceJobs(t, tb, tokenFile)
		same := len(onCE) == len(l)
		for id := range onCE {
			same = same && l[id] == 1
		}
		if same || time.Now().After(end) {
			break
		}
	}
	sameSet(t, what, onCE, l)
	return len(onCE), len(l)
}

// drain kills and cleans a test's jobs and waits until the A-REX has let
// them go, so that the tests after it do not meet an A-REX busy with them.
func drain(t *testing.T, tb *testbed.Env, tokenFile, list string) {
	t.Helper()
	e := map[string]string{"BEARER_TOKEN_FILE": tokenFile, "CESUB_JOBLIST": list}
	_ = cesub(t, tb, e, "kill", "-a")
	for end := time.Now().Add(3 * time.Minute); ; time.Sleep(3 * time.Second) {
		if r := cesub(t, tb, e, "clean", "-a", "--forget"); r.code == 0 || time.Now().After(end) {
			return
		}
	}
}

func sameSet(t *testing.T, what string, ce map[string]bool, list map[string]int) {
	t.Helper()
	var missing, extra, twice []string
	for id := range ce {
		if list[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range list {
		if !ce[id] {
			extra = append(extra, id)
		}
		if n > 1 {
			twice = append(twice, id)
		}
	}
	sort.Strings(missing)
	if len(missing)+len(extra)+len(twice) > 0 {
		t.Errorf("%s: %d CE jobs, %d on the job list; not on the list: %d %v; not on the CE: %d; twice: %d",
			what, len(ce), len(list), len(missing), missing[:min(3, len(missing))], len(extra), len(twice))
	}
}

// TestBulk1000AREX: 1,000 jobs to the A-REX from one command (--count,
// ten requests of 100), each on the job list once and on the CE; then a
// second 1,000-job run stopped with SIGTERM after 300 were printed: every
// job the CE has is on the job list, once, and the run says it stopped.
func TestBulk1000AREX(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	tok := arexOwnToken(t, tb, fmt.Sprintf("bulk-%d", time.Now().UnixNano()))
	list := filepath.Join(dir, "jobs.db")
	env := []string{"BEARER_TOKEN_FILE=" + tok, "CESUB_JOBLIST=" + list, "XDG_CONFIG_HOME=" + t.TempDir(), "X509_CERT_DIR=" + tb.Vars["X509_CERT_DIR"]}
	arex := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	desc := `&(executable="/bin/true")(jobname="bulk1000")`
	start := time.Now()
	code, ids, errText := runUntil(t, env, 0, 0, "-C", arex, "--count", "1000", "-e", desc)
	took := time.Since(start)
	if code != 0 || len(ids) != 1000 {
		t.Fatalf("exit %d, %d lines:\n%s", code, len(ids), errText)
	}
	settledSame(t, tb, "1000 jobs", tok, list)
	t.Logf("1000 jobs to A-REX 6.17 in %s (%.0f jobs/s)", took.Round(time.Millisecond), 1000/took.Seconds())
	drain(t, tb, tok, list)

	// stopped halfway
	tok2 := arexOwnToken(t, tb, fmt.Sprintf("bulk-term-%d", time.Now().UnixNano()))
	list2 := filepath.Join(dir, "term.db")
	env2 := []string{"BEARER_TOKEN_FILE=" + tok2, "CESUB_JOBLIST=" + list2, "XDG_CONFIG_HOME=" + t.TempDir(), "X509_CERT_DIR=" + tb.Vars["X509_CERT_DIR"]}
	code, ids, errText = runUntil(t, env2, 300, syscall.SIGTERM, "-C", arex, "--count", "1000", "-e", desc)
	if code != 143 || !strings.Contains(errText, "terminated: stopping") || len(ids) < 300 || len(ids) >= 1000 {
		t.Errorf("SIGTERM: exit %d, %d printed:\n%.2000s", code, len(ids), errText)
	}
	onCE, onList := settledSame(t, tb, "after SIGTERM", tok2, list2)
	t.Logf("SIGTERM after 300 printed: %d jobs on the CE, %d on the job list, %d printed", onCE, onList, len(ids))
	drain(t, tb, tok2, list2)
}

// TestBulk1000HTCondor: 1,000 procs to the schedd from one command
// (--count 1000 of a one-proc submit file: one cluster, one transaction),
// each on the job list once and in condor_q; then SIGTERM while the procs
// are spooled: the committed cluster is on the job list whole.
func TestBulk1000HTCondor(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	name := fmt.Sprintf("bulk%d", time.Now().UnixNano())
	writeFile(t, filepath.Join(dir, "in.txt"), "input\n")
	writeFile(t, filepath.Join(dir, "p.sub"), "executable = /bin/true\ntransfer_executable = false\ntransfer_input_files = in.txt\n"+
		"requirements = false\nbatch_name = "+name+"\nqueue\n")
	root := tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT")
	inQueue := func(batch string) map[string]bool {
		out, err := exec.Command("chroot", root, "condor_q", "-allusers", "-constraint", `JobBatchName == "`+batch+`"`, "-af", "ClusterId", "ProcId").Output()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				m[tb.Get(t, "CESUB_TESTBED_CONDOR_CE")+"/"+f[0]+"."+f[1]] = true
			}
		}
		return m
	}
	for i, sig := range []syscall.Signal{0, syscall.SIGTERM} {
		list := filepath.Join(dir, fmt.Sprintf("jobs%d.db", i))
		env := []string{"BEARER_TOKEN_FILE=" + tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST=" + list,
			"XDG_CONFIG_HOME=" + t.TempDir(), "X509_CERT_DIR=" + tb.Vars["X509_CERT_DIR"]}
		batch := fmt.Sprintf("%s-%d", name, i)
		writeFile(t, filepath.Join(dir, "p.sub"), "executable = /bin/true\ntransfer_executable = false\ntransfer_input_files = in.txt\n"+
			"requirements = false\nbatch_name = "+batch+"\nqueue\n")
		start := time.Now()
		n := 0
		if sig != 0 {
			n = 1 // the cluster is committed and on record when its lines come; stop while it spools
		}
		code, ids, errText := runUntil(t, env, n, sig, "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "--count", "1000", "-f", filepath.Join(dir, "p.sub"))
		took := time.Since(start)
		q, l := inQueue(batch), listed(t, list)
		if sig == 0 && (code != 0 || len(ids) != 1000 || len(q) != 1000) {
			t.Errorf("exit %d, %d printed, %d in condor_q:\n%.2000s", code, len(ids), len(q), errText)
		}
		if sig != 0 && (code != 143 || len(q) != 1000) {
			t.Errorf("SIGTERM: exit %d, %d printed, %d in condor_q:\n%.2000s", code, len(ids), len(q), errText)
		}
		sameSet(t, fmt.Sprintf("run %d", i), q, l)
		t.Logf("run %d: %d procs in %s (exit %d), %d in condor_q, %d on the job list", i, len(ids), took.Round(time.Millisecond), code, len(q), len(l))
		var cl string
		for id := range l {
			cl = strings.Split(id[strings.LastIndex(id, "/")+1:], ".")[0]
			break
		}
		if cl != "" {
			_ = exec.Command("chroot", root, "condor_rm", cl).Run()
		}
	}
}
