package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
)

// crashCE is a CE the crash tests submit to: its address, the xRSL job,
// how a run gets its credential, and the jobs the CE holds for a run.
type crashCE struct {
	url   string
	count int // jobs per submit, in batches of batch
	batch int
	// settleDelay: how long after a kill the CE may still create jobs of
	// the request in flight (A-REX works through a request it has read)
	settleDelay time.Duration
	// token returns the token file of run (A-REX: a subject of its own, so
	// the CE's listing for it is exactly that run's jobs)
	token func(t *testing.T, run string) string
	// onCE returns the ids the CE holds for a run, as the job list writes them
	onCE func(t *testing.T, run *crashRun) map[string]bool
}

// crashRun is one submit that is killed, with its own job list.
type crashRun struct {
	name, dir, token, list, keys string
}

func (c *crashCE) newRun(t *testing.T, name string) *crashRun {
	dir := t.TempDir()
	return &crashRun{name: name, dir: dir, token: c.token(t, name), list: filepath.Join(dir, "jobs.db"), keys: filepath.Join(dir, "keys")}
}

func (r *crashRun) env(extra ...string) []string {
	return append(append(os.Environ(), "BEARER_TOKEN_FILE="+r.token, "CESUB_JOBLIST="+r.list, "CESUB_TEST_KEYS="+r.keys,
		"XDG_RUNTIME_DIR="+r.dir, "XDG_CONFIG_HOME="+r.dir), extra...)
}

// submit runs the bulk submit; kill > 0 SIGKILLs it that long after its
// start. It returns how long the process lived and whether it was killed.
func (c *crashCE) submit(t *testing.T, r *crashRun, kill time.Duration, extra ...string) (time.Duration, bool) {
	t.Helper()
	cmd := exec.Command(cesubBinary(t), "submit", "-C", c.url, "--count", fmt.Sprint(c.count), "--batch-size", fmt.Sprint(c.batch),
		"-o", "jsonl", "-e", `&(executable="/bin/true")(jobname="crash-`+r.name+`")`)
	cmd.Env = r.env(extra...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if kill > 0 {
		timer := time.AfterFunc(kill, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	lived := time.Since(t0)
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return lived, true
	}
	if err != nil {
		t.Fatalf("%s: submit failed: %v\n%s", r.name, err, out.String())
	}
	return lived, false
}

// settle runs `cesub status -a` on the run's list, as the next command
// after a crash does, and then compares the job list with the CE: exactly
// the jobs the CE made for this run, each once, no pending row left, and
// none of bystander's jobs (another submission on the same CE).
func (c *crashCE) settle(t *testing.T, tb *testbed.Env, r *crashRun, bystander map[string]int) {
	t.Helper()
	time.Sleep(c.settleDelay) // a CE may still be creating the jobs of the killed request
	e := map[string]string{"BEARER_TOKEN_FILE": r.token, "CESUB_JOBLIST": r.list}
	res := cesub(t, tb, e, "status", "-a")
	if res.code != 0 && res.code != 1 && res.code != 3 {
		t.Fatalf("%s: status -a: exit %d %s", r.name, res.code, res.err)
	}
	l := listed(t, r.list)
	var ce map[string]bool
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(2 * time.Second) {
		ce = c.onCE(t, r)
		for id := range bystander { // the same identity's other submission is on the CE, not this run's
			delete(ce, id)
		}
		same := len(ce) == len(l)
		for id := range ce {
			same = same && l[id] == 1
		}
		if same || time.Now().After(end) {
			break
		}
	}
	sameSet(t, r.name, ce, l)
	for id := range bystander {
		if l[id] > 0 {
			t.Errorf("%s: a job of another submission was added: %s", r.name, id)
		}
	}
	if n := pendingRows(t, r.list); n != 0 {
		t.Errorf("%s: %d pending submissions left after status -a; it said: %s", r.name, n, res.err)
	}
}

// pendingRows counts the job list's unresolved submissions.
func pendingRows(t *testing.T, list string) int {
	t.Helper()
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.ListPending(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return len(p)
}

// arcCrashCE: an A-REX whose runs each have a token subject of their own.
func arcCrashCE(tb *testbed.Env, url, aud string, scopeArray bool) *crashCE {
	c := &crashCE{url: url, count: 40, batch: 4, settleDelay: 6 * time.Second}
	c.token = func(t *testing.T, run string) string {
		key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := key.Mint(testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: "crash-" + run + "-" + fmt.Sprint(time.Now().UnixNano()),
			Audience: []string{aud}, Groups: []string{"/wlcg/pilots"}, Lifetime: time.Hour, ScopeArray: scopeArray,
			Scope: "compute.create compute.read compute.modify compute.cancel"})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "token")
		_ = os.WriteFile(p, []byte(tok), 0o600)
		return p
	}
	c.onCE = func(t *testing.T, r *crashRun) map[string]bool {
		b, _ := backendFor(t, tb, url, r.token)
		jobs, err := b.List(context.Background())
		if err != nil {
			t.Fatalf("%s: list the CE's jobs: %v", r.name, err)
		}
		m := map[string]bool{}
		for _, j := range jobs {
			m[j.ID] = true
		}
		return m
	}
	return c
}

// condorCrashCE: the HTCondor-CE; a run's jobs are the procs (queue and
// history) carrying the submission keys it wrote.
func condorCrashCE(tb *testbed.Env) *crashCE {
	// the schedd commits before it answers, but a pending row younger than 5 s whose CE shows fewer
	// jobs than asked stays open (the owner may still be at work): wait past that
	c := &crashCE{url: tb.Vars["CESUB_TESTBED_CONDOR_CE"], count: 20, batch: 2, settleDelay: 6 * time.Second}
	tokenFile := tb.Vars["CESUB_TESTBED_CONDOR_TOKEN_FILE"]
	c.token = func(*testing.T, string) string { return tokenFile }
	c.onCE = func(t *testing.T, r *crashRun) map[string]bool {
		keys := runKeys(t, r)
		m := map[string]bool{}
		if len(keys) == 0 {
			return m
		}
		constraint := fmt.Sprintf(`member(CesubSubmission, {%s})`, `"`+strings.Join(keys, `","`)+`"`)
		for _, tool := range [][]string{{"condor_q", "-allusers"}, {"condor_history"}} {
			args := append(append([]string{tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT")}, tool...), "-constraint", constraint, "-af", "ClusterId", "ProcId")
			out, err := exec.Command("chroot", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v %s", tool[0], err, out)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if f := strings.Fields(line); len(f) == 2 {
					m[strings.TrimSuffix(c.url, "/")+"/"+f[0]+"."+f[1]] = true
				}
			}
		}
		return m
	}
	return c
}

// runKeys reads the submission keys a run wrote ahead (CESUB_TEST_KEYS).
func runKeys(t *testing.T, r *crashRun) []string {
	t.Helper()
	f, err := os.Open(r.keys)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, _, ok := strings.Cut(sc.Text(), " "); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// crashCEs are the CEs of the crash tests, by name.
func crashCEs(tb *testbed.Env) map[string]func(t *testing.T) *crashCE {
	out := map[string]func(t *testing.T) *crashCE{
		"A-REX 6.17": func(t *testing.T) *crashCE {
			url := tb.Get(t, "CESUB_TESTBED_AREX_URL")
			return arcCrashCE(tb, url, strings.TrimSuffix(url, "/arex"), false)
		},
	}
	names, envs := tb.Versions("ARC7")
	for i, e := range envs {
		out["ARC 7 "+names[i]] = func(t *testing.T) *crashCE {
			return arcCrashCE(e, e.Get(t, "CESUB_TESTBED_ARC7_URL"), e.Get(t, "CESUB_TESTBED_ARC7_AUD"), e.Vars["CESUB_TESTBED_ARC7_SCOPE_FORM"] == "array")
		}
	}
	names, envs = tb.Versions("CONDOR")
	for i, e := range envs {
		out["HTCondor-CE "+names[i]] = func(*testing.T) *crashCE { return condorCrashCE(e) }
	}
	return out
}

// inParallel runs f(i) for i < n, at most width at once.
func inParallel(n, width int, f func(i int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// TestSIGKILLAtTwentyInstants: a bulk submit (10 requests) is SIGKILLed at
// 20 instants spread over its run, measured first by an unkilled run; after
// the next `cesub status -a` the job list holds exactly the jobs the CE made
// for that command, none twice, no pending row, and none of another
// submission to the same CE (made with the same credential before the
// status). On A-REX 6.17, ARC 7 and the HTCondor-CE, each version.
func TestSIGKILLAtTwentyInstants(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	for name, mk := range crashCEs(tb) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := mk(t)
			// two unkilled runs measure the submit; the shorter one spreads the kills (one slow
			// outlier on a loaded machine would put most kills after the end)
			calib := c.newRun(t, "calibration")
			d, killed := c.submit(t, calib, 0)
			d2, killed2 := c.submit(t, calib, 0)
			if killed || killed2 {
				t.Fatal("a calibration run was killed")
			}
			d = min(d, d2)
			c.settle(t, tb, calib, nil)
			t.Logf("%s: an unkilled submit of %d jobs in %d requests takes %s", name, c.count, c.count/c.batch, d.Round(time.Millisecond))
			var mu sync.Mutex
			struck := 0
			inParallel(20, 4, func(i int) {
				r := c.newRun(t, fmt.Sprintf("kill%02d", i))
				at := time.Duration(float64(d) * (float64(i) + 0.5) / 20)
				if _, k := c.submit(t, r, at); k {
					mu.Lock()
					struck++
					mu.Unlock()
				}
				other := c.newRun(t, r.name+"-bystander")
				other.token = r.token // the same identity: its jobs are on the CE beside the run's
				c.submitOne(t, tb, other)
				c.settle(t, tb, r, listed(t, other.list))
				drainRun(t, tb, r)
				drainRun(t, tb, other)
			})
			t.Logf("%s: %d of 20 runs were killed before they ended", name, struck)
			if struck < 8 { // a loaded machine makes some runs faster or slower than the calibration
				t.Errorf("only %d of 20 kills struck a running submit", struck)
			}
			drainRun(t, tb, calib)
		})
	}
}

// submitOne submits one job to a run's own job list (a bystander submission).
func (c *crashCE) submitOne(t *testing.T, tb *testbed.Env, r *crashRun) {
	t.Helper()
	e := map[string]string{"BEARER_TOKEN_FILE": r.token, "CESUB_JOBLIST": r.list}
	if res := cesub(t, tb, e, "submit", "-C", c.url, "-e", `&(executable="/bin/true")(jobname="bystander")`); res.code != 0 {
		t.Fatalf("bystander submit: exit %d %s", res.code, res.err)
	}
}

// drainRun cleans a run's jobs (best effort: the CE may still run them).
func drainRun(t *testing.T, tb *testbed.Env, r *crashRun) {
	e := map[string]string{"BEARER_TOKEN_FILE": r.token, "CESUB_JOBLIST": r.list}
	_ = cesub(t, tb, e, "kill", "-a")
	_ = cesub(t, tb, e, "clean", "-a", "--forget")
}

// TestKilledBetweenRequestAndAnswer: the fault hook (CESUB_TEST_FAULT, test
// only) SIGKILLs the submit right after the CE answered its Nth request and
// before the answer is recorded, for every N of a 10-request submit; the
// next `cesub status -a` records exactly that run's jobs. On HTCondor, a
// kill after the cluster id was written ahead and before the commit leaves
// nothing on the CE and no pending row.
func TestKilledBetweenRequestAndAnswer(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	for name, mk := range crashCEs(tb) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := mk(t)
			inParallel(10, 5, func(i int) {
				r := c.newRun(t, fmt.Sprintf("request%02d", i+1))
				if _, killed := c.submit(t, r, 0, fmt.Sprintf("CESUB_TEST_FAULT=die-after-request:%d", i+1)); !killed {
					t.Errorf("%s: the fault hook did not kill the submit", r.name)
				}
				c.settle(t, tb, r, nil)
				drainRun(t, tb, r)
			})
			if strings.HasPrefix(name, "HTCondor") {
				r := c.newRun(t, "before-commit")
				if _, killed := c.submit(t, r, 0, "CESUB_TEST_FAULT=die-before-commit:1"); !killed {
					t.Errorf("the fault hook did not kill the submit before its commit")
				}
				c.settle(t, tb, r, nil)
				if n := len(listed(t, r.list)); n != 0 {
					t.Errorf("a transaction killed before its commit left %d jobs on the list", n)
				}
			}
		})
	}
}
