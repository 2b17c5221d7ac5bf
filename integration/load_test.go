package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testbed"
)

// TestJobListUnderLoad: CESUB_SOAK_PROCS (default 50) cesub processes at
// once submit a job each to the real A-REX and then update the states of the
// whole list, all on one job list: every accepted job is on it once, no row
// is lost or damaged. Then processes writing the list are killed with
// SIGKILL at random moments, and the list is still whole and readable.
func TestJobListUnderLoad(t *testing.T) {
	tb := testbed.Require(t)
	bin := cesubBinary(t)
	n := 50
	if s := os.Getenv("CESUB_SOAK_PROCS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	dir := t.TempDir()
	joblist := filepath.Join(dir, "jobs.db")
	env := append(os.Environ(), "BEARER_TOKEN_FILE="+tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"), "CESUB_JOBLIST="+joblist,
		"X509_CERT_DIR="+tb.Get(t, "X509_CERT_DIR"), "XDG_CONFIG_HOME="+dir, "CESUB_TIMEOUT=60s")
	arex := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	l := &loadRun{bin: bin, env: env, joblist: joblist, arex: arex}
	failed, took := l.submitAll(t, n)
	jobs := l.check(t, "after the load")
	t.Logf("%d processes: %d jobs submitted and listed in %s (%d failed); %d rows", n, n-failed, took.Round(time.Millisecond), failed, len(jobs))

	killed := l.killWhileWriting(t)
	after := l.check(t, "after SIGKILL")
	if len(after) != len(jobs) {
		t.Errorf("%d rows after the kills, %d before", len(after), len(jobs))
	}
	t.Logf("%d processes killed with SIGKILL while updating the list: %d rows, integrity ok", killed, len(after))
	if out, err := l.cmd("clean", "-a").CombinedOutput(); err != nil {
		t.Logf("clean -a: %v %.300s", err, out)
	}
}

// loadRun holds what the steps of TestJobListUnderLoad share: the cesub
// binary and its environment, the job list, the A-REX, and the ids of the
// jobs submitted ("" for a failed submission).
type loadRun struct {
	bin     string
	env     []string
	joblist string
	arex    string
	ids     []string
}

// cmd is the cesub binary with args, in the run's environment.
func (l *loadRun) cmd(args ...string) *exec.Cmd {
	c := exec.Command(l.bin, args...)
	c.Env = l.env
	return c
}

// submitAll runs n cesub processes at once, each submitting a job and then
// updating the whole list's states; it reports each process's error and
// returns how many failed and how long they all took.
func (l *loadRun) submitAll(t *testing.T, n int) (int, time.Duration) {
	t.Helper()
	t0 := time.Now()
	l.ids = make([]string, n)
	errs := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = l.submitOne(i)
		}(i)
	}
	wg.Wait()
	took := time.Since(t0)
	failed := 0
	for i, e := range errs {
		if e != "" {
			failed++
			t.Errorf("process %d: %s", i, e)
		}
	}
	return failed, took
}

// submitOne is process i of submitAll: it records the job's id in l.ids[i]
// and returns what went wrong, "" if nothing.
func (l *loadRun) submitOne(i int) string {
	out, err := l.cmd("submit", "-C", l.arex, "-e", fmt.Sprintf(`&(executable="/bin/true")(jobname="load-%03d")`, i)).Output()
	l.ids[i] = strings.TrimSpace(string(out))
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		return fmt.Sprintf("submit: %v %s %s", err, out, stderr)
	}
	if out, err := l.cmd("status", "-a", "-o", "json").CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 { // 3: a job another process is cleaning... none here
			return fmt.Sprintf("status: %v %.300s", err, out)
		}
	}
	return ""
}

// check opens the job list, checks its integrity and that every submitted
// job is on it once with a complete row; it returns the rows.
func (l *loadRun) check(t *testing.T, when string) []jobstore.Job {
	t.Helper()
	ctx := context.Background()
	st, err := jobstore.Open(ctx, l.joblist)
	if err != nil {
		t.Fatalf("%s: open: %v", when, err)
	}
	defer st.Close()
	if err := st.Check(ctx); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	jobs, err := st.List(ctx, jobstore.Filter{})
	if err != nil {
		t.Fatalf("%s: list: %v", when, err)
	}
	seen := map[string]int{}
	for _, j := range jobs {
		seen[j.ID]++
		if j.LocalID == "" || j.CE == "" || j.State == "" || j.Submitted.IsZero() {
			t.Errorf("%s: incomplete row %+v", when, j)
		}
	}
	for _, id := range l.ids {
		if id != "" && seen[id] != 1 {
			t.Errorf("%s: job %s is on the list %d times, want 1", when, id, seen[id])
		}
	}
	if len(jobs) != len(seen) {
		t.Errorf("%s: %d rows for %d jobs", when, len(jobs), len(seen))
	}
	return jobs
}

// killWhileWriting: SIGKILL while writing. 10 goroutines 3 times each start
// a process that updates every row's state (one transaction) again and
// again, and kill it at a random moment; it returns how many were killed.
func (l *loadRun) killWhileWriting(t *testing.T) int {
	t.Helper()
	var kills sync.WaitGroup
	killed := 0
	var mu sync.Mutex
	for i := 0; i < 10; i++ {
		kills.Add(1)
		go func() {
			defer kills.Done()
			for k := 0; k < 3; k++ {
				c := l.cmd("status", "-a", "--watch", "--interval", "1s")
				if err := c.Start(); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Duration(50+rand.IntN(700)) * time.Millisecond)
				_ = c.Process.Signal(syscall.SIGKILL)
				_ = c.Wait()
				mu.Lock()
				killed++
				mu.Unlock()
			}
		}()
	}
	kills.Wait()
	return killed
}
