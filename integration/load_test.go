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
	cmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = env
		return c
	}
	t0 := time.Now()
	ids := make([]string, n)
	errs := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := cmd("submit", "-C", arex, "-e", fmt.Sprintf(`&(executable="/bin/true")(jobname="load-%03d")`, i)).Output()
			ids[i] = strings.TrimSpace(string(out))
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				errs[i] = fmt.Sprintf("submit: %v %s %s", err, out, stderr)
				return
			}
			if out, err := cmd("status", "-a", "-o", "json").CombinedOutput(); err != nil {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 { // 3: a job another process is cleaning... none here
					errs[i] = fmt.Sprintf("status: %v %.300s", err, out)
				}
			}
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
	ctx := context.Background()
	check := func(when string) []jobstore.Job {
		st, err := jobstore.Open(ctx, joblist)
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
		for _, id := range ids {
			if id != "" && seen[id] != 1 {
				t.Errorf("%s: job %s is on the list %d times, want 1", when, id, seen[id])
			}
		}
		if len(jobs) != len(seen) {
			t.Errorf("%s: %d rows for %d jobs", when, len(jobs), len(seen))
		}
		return jobs
	}
	jobs := check("after the load")
	t.Logf("%d processes: %d jobs submitted and listed in %s (%d failed); %d rows", n, n-failed, took.Round(time.Millisecond), failed, len(jobs))

	// SIGKILL while writing: each process updates every row's state (one
	// transaction) again and again; kill them at random moments
	var kills sync.WaitGroup
	killed := 0
	var mu sync.Mutex
	for i := 0; i < 10; i++ {
		kills.Add(1)
		go func() {
			defer kills.Done()
			for k := 0; k < 3; k++ {
				c := cmd("status", "-a", "--watch", "--interval", "1s")
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
	after := check("after SIGKILL")
	if len(after) != len(jobs) {
		t.Errorf("%d rows after the kills, %d before", len(after), len(jobs))
	}
	t.Logf("%d processes killed with SIGKILL while updating the list: %d rows, integrity ok", killed, len(after))
	if out, err := cmd("clean", "-a").CombinedOutput(); err != nil {
		t.Logf("clean -a: %v %.300s", err, out)
	}
}
