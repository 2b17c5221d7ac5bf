package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/htcondor"
	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
	"github.com/cesub/cesub/pkg/token"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// condorToken mints a token for the testbed's HTCondor-CE into a 0600 file.
func condorToken(t *testing.T, tb *testbed.Env, c testissuer.Claims) string {
	t.Helper()
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer == "" {
		c.Issuer = tb.Get(t, "CESUB_TESTBED_ISSUER")
	}
	if c.Subject == "" {
		c.Subject = "cesub-test-user"
	}
	if c.Audience == nil {
		c.Audience = []string{tb.Get(t, "CESUB_TESTBED_CONDOR_HOST") + ":9619"}
	}
	if c.Scope == "" {
		c.Scope = "compute.create compute.read compute.modify compute.cancel"
	}
	c.Lifetime = time.Hour
	tok, err := key.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// condorQ runs the real condor_q in the chroot: cluster.proc -> JobStatus.
func condorQ(t *testing.T, tb *testbed.Env) map[string]int {
	t.Helper()
	out, err := exec.Command("chroot", tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT"), "condor_q", "-allusers", "-af", "ClusterId", "ProcId", "JobStatus").CombinedOutput()
	if err != nil {
		t.Fatalf("condor_q: %v %s", err, out)
	}
	m := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			st, _ := strconv.Atoi(f[2])
			m[f[0]+"."+f[1]] = st
		}
	}
	return m
}

// TestHTCondorPing: a full WLCG token may READ and WRITE; compute.read only
// may READ, WRITE is denied (authorization, exit 4); a wrong audience and an
// unmapped subject fail authentication (exit 4), each said so.
func TestHTCondorPing(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		ceAddr := tb.Get(t, "CESUB_TESTBED_CONDOR_CE")
		host := tb.Get(t, "CESUB_TESTBED_CONDOR_HOST")
		for _, tc := range []struct {
			name   string
			claims testissuer.Claims
			code   int
			auth   map[string]string
			want   []string
			ce     string // default: the testbed's HTCondor-CE
		}{
			{"full token", testissuer.Claims{}, 0, map[string]string{"READ": "ALLOW", "WRITE": "ALLOW"}, []string{`"user": "pilot@users.htcondor.org"`, `"admitted": true`}, ""},
			{"compute.read only", testissuer.Claims{Scope: "compute.read"}, 4, map[string]string{"READ": "ALLOW", "WRITE": "DENIED"},
				[]string{"authorization failed: WRITE denied for pilot@users.htcondor.org", "missing compute.create"}, ""},
			{"wrong audience", testissuer.Claims{Audience: []string{"other.example.org:9619"}}, 4, nil,
				[]string{"authentication failed (SCITOKENS)", `seen \"other.example.org:9619\"`, host + ":9619"}, ""},
			{"unmapped subject", testissuer.Claims{Subject: "stranger"}, 4, nil,
				[]string{"authentication failed (SCITOKENS)", "maps to no user"}, ""},
			{"CE down", testissuer.Claims{Audience: []string{host + ":9618"}}, 1, nil,
				[]string{`"reachable": false`, "nothing listens"}, "condor://" + host + ":9618"},
			{"not a CEDAR port (the A-REX)", testissuer.Claims{Audience: []string{"localhost:8444"}}, 1, nil,
				[]string{`"unsupported": true`, "not an HTCondor daemon"}, "condor://localhost:8444"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				env := map[string]string{"BEARER_TOKEN_FILE": condorToken(t, tb, tc.claims), "CESUB_JOBLIST": filepath.Join(t.TempDir(), "j.db")}
				target := ceAddr
				if tc.ce != "" {
					target = tc.ce
				}
				r := cesub(t, tb, env, "ping", "-C", target, "-o", "json")
				if r.code != tc.code {
					t.Fatalf("exit %d, want %d: %s %s", r.code, tc.code, r.out, r.err)
				}
				var p struct {
					Authorizations map[string]string
					Reachable      bool
				}
				if err := json.Unmarshal([]byte(r.out), &p); err != nil || p.Reachable == (tc.name == "CE down") {
					t.Fatalf("JSON: %v %s", err, r.out)
				}
				for lv, v := range tc.auth {
					if p.Authorizations[lv] != v {
						t.Errorf("%s: %s, want %s", lv, p.Authorizations[lv], v)
					}
				}
				for _, w := range tc.want {
					if !strings.Contains(r.out, w) {
						t.Errorf("want %q in %s", w, r.out)
					}
				}
			})
		}
	})
}

// TestHTCondorSpooledJob: a 2-proc spooled job with an input file runs to
// completion; cesub status agrees with condor_q along the way; get brings
// back the outputs (compared) and removes the jobs; an xRSL job goes the
// same way, translated; kill removes a running job.
func TestHTCondorSpooledJob(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		ceAddr := tb.Get(t, "CESUB_TESTBED_CONDOR_CE")
		dir := t.TempDir()
		env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
		s := &spooledJob{tb: tb, ceAddr: ceAddr, dir: dir, env: env}
		ids, cluster := s.submitTwoProcs(t)
		s.followStatusWithCondorQ(t)
		s.getOutputs(t, ids, cluster)
		s.xrslJob(t)
		kid, local := s.killRunning(t)
		s.waitLeftQueue(t, local)
		s.afterLeftQueue(t, kid, local)
	})
}

// spooledJob holds what the steps of TestHTCondorSpooledJob share: one
// testbed version, its HTCondor-CE, the job directory and cesub's environment.
type spooledJob struct {
	tb     *testbed.Env
	ceAddr string
	dir    string
	env    map[string]string
}

// submitTwoProcs submits a 2-proc spooled job with an input file; it returns
// the two job ids and their cluster.
func (s *spooledJob) submitTwoProcs(t *testing.T) ([]string, string) {
	t.Helper()
	_ = os.WriteFile(filepath.Join(s.dir, "job.sh"), []byte("#!/bin/sh\necho \"proc $1 read $(cat in.txt)\"\necho warn >&2\n"), 0o755)
	_ = os.WriteFile(filepath.Join(s.dir, "in.txt"), []byte("payload-42"), 0o644)
	sub := filepath.Join(s.dir, "job.sub")
	_ = os.WriteFile(sub, []byte("executable = job.sh\narguments = $(Process)\ntransfer_input_files = in.txt\n"+
		"output = out.$(Cluster).$(Process)\nerror = err.$(Cluster).$(Process)\nrequest_memory = 64\nbatch_name = it-spool\nqueue 2\n"), 0o644)
	r := cesub(t, s.tb, s.env, "submit", "-C", s.ceAddr, "-f", sub, "-o", "json")
	if r.code != 0 {
		t.Fatalf("submit: %d %s %s", r.code, r.out, r.err)
	}
	var subOut struct{ Jobs []struct{ ID, Name string } }
	if err := json.Unmarshal([]byte(r.out), &subOut); err != nil || len(subOut.Jobs) != 2 {
		t.Fatalf("submit JSON: %v %s", err, r.out)
	}
	ids := []string{subOut.Jobs[0].ID, subOut.Jobs[1].ID}
	cluster := strings.Split(ids[0][strings.LastIndex(ids[0], "/")+1:], ".")[0]
	if ids[1] != strings.Replace(ids[0], ".0", ".1", 1) {
		t.Fatalf("the two procs are not one cluster: %v", ids)
	}
	return ids, cluster
}

// condorStateNames names condor_q's JobStatus values as cesub's specific
// state does.
func condorStateNames() map[int]string {
	return map[int]string{1: "Idle", 2: "Running", 3: "Removed", 4: "Completed", 5: "Held", 6: "Transferring Output", 7: "Suspended"}
}

// condorStateOrder places a condor_q JobStatus (st) or a cesub specific
// state (raw) in a job's life: Held for spooling, Idle, Running,
// Transferring Output, Completed; -1 for anything else.
func condorStateOrder(st int, raw string) int {
	switch {
	case st == 5 || strings.HasPrefix(raw, "Held"):
		return 0
	case st == 1 || raw == "Idle":
		return 1
	case st == 2 || raw == "Running":
		return 2
	case st == 6 || raw == "Transferring Output":
		return 3
	case st == 4 || raw == "Completed":
		return 4
	}
	return -1
}

// followStatusWithCondorQ polls until both procs are FINISHED. condor_q runs
// just before and just after cesub status: cesub's state must lie between
// the two in a job's life and name the state as condor_q does.
func (s *spooledJob) followStatusWithCondorQ(t *testing.T) {
	t.Helper()
	compared := 0
	deadline := time.Now().Add(3 * time.Minute)
	for {
		before := condorQ(t, s.tb)
		r := cesub(t, s.tb, s.env, "status", "-a", "-o", "json")
		after := condorQ(t, s.tb)
		var st struct {
			Jobs []struct{ ID, State, SpecificState string }
		}
		if r.code != 0 || json.Unmarshal([]byte(r.out), &st) != nil || len(st.Jobs) != 2 {
			t.Fatalf("status: %d %s %s", r.code, r.out, r.err)
		}
		done := 0
		for _, j := range st.Jobs {
			if compareWithCondorQ(t, j.ID, j.SpecificState, before, after) {
				compared++
			}
			if j.State == "FINISHED" {
				done++
			}
			if j.State == "FAILED" || j.State == "HELD" {
				t.Fatalf("job %s: %+v", j.ID[strings.LastIndex(j.ID, "/")+1:], j)
			}
		}
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not finished: %s", r.out)
		}
		time.Sleep(time.Second)
	}
	if compared == 0 {
		t.Errorf("never compared a state with condor_q")
	}
}

// compareWithCondorQ checks cesub's specific state of job id against
// condor_q's before and after; it reports whether condor_q showed the job
// both times (a comparison was made).
func compareWithCondorQ(t *testing.T, id, specific string, before, after map[string]int) bool {
	t.Helper()
	names := condorStateNames()
	local := id[strings.LastIndex(id, "/")+1:]
	b, okB := before[local]
	a, okA := after[local]
	if !okB || !okA {
		return false
	}
	o := condorStateOrder(0, specific)
	if o < condorStateOrder(b, "") || o > condorStateOrder(a, "") {
		t.Errorf("%s: cesub says %s, condor_q said %s before and %s after", local, specific, names[b], names[a])
	}
	if b == a && o != 0 && specific != names[a] {
		t.Errorf("%s: cesub says %s, condor_q %s", local, specific, names[a])
	}
	return true
}

// getOutputs: cat shows proc 1's output; get brings back both procs'
// outputs (compared) and removes the jobs from the queue.
func (s *spooledJob) getOutputs(t *testing.T, ids []string, cluster string) {
	t.Helper()
	if r := cesub(t, s.tb, s.env, "cat", ids[1]); r.code != 0 || strings.TrimSpace(r.out) != "proc 1 read payload-42" {
		t.Fatalf("cat: %d %q %s", r.code, r.out, r.err)
	}
	dl := filepath.Join(s.dir, "dl")
	if r := cesub(t, s.tb, s.env, "get", "-a", "-D", dl); r.code != 0 {
		t.Fatalf("get: %d %s %s", r.code, r.out, r.err)
	}
	for p := 0; p < 2; p++ {
		id := fmt.Sprintf("%s.%d", cluster, p)
		b, err := os.ReadFile(filepath.Join(dl, id, fmt.Sprintf("out.%s", id)))
		if err != nil || strings.TrimSpace(string(b)) != fmt.Sprintf("proc %d read payload-42", p) {
			t.Errorf("proc %d output: %v %q", p, err, b)
		}
		if b, err := os.ReadFile(filepath.Join(dl, id, fmt.Sprintf("err.%s", id))); err != nil || strings.TrimSpace(string(b)) != "warn" {
			t.Errorf("proc %d stderr: %v %q", p, err, b)
		}
	}
	if q := condorQ(t, s.tb); q[cluster+".0"] != 0 && q[cluster+".0"] != 3 {
		t.Errorf("job still in the queue after get: %v", q)
	}
}

// xrslJob: an xRSL description, translated to ClassAds, runs to completion;
// the node and the batch id status -l shows are condor_q's.
func (s *spooledJob) xrslJob(t *testing.T) {
	t.Helper()
	x := filepath.Join(s.dir, "job.xrsl")
	_ = os.WriteFile(x, []byte(`&(executable="/bin/sh")(arguments="-c" "cat in.txt; echo ok")(inputfiles=("in.txt" ""))(stdout="out.txt")(jobname="it-xrsl")`), 0o644)
	r := cesub(t, s.tb, s.env, "submit", "-C", s.ceAddr, "-f", x)
	if r.code != 0 {
		t.Fatalf("xRSL submit: %d %s", r.code, r.err)
	}
	xid := strings.TrimSpace(r.out)
	waitState(t, s.tb, s.env, xid, "FINISHED", 3*time.Minute)
	if r = cesub(t, s.tb, s.env, "cat", xid); r.code != 0 || r.out != "payload-42ok\n" {
		t.Fatalf("xRSL job output: %d %q %s", r.code, r.out, r.err)
	}
	checkStatusLong(t, s.tb, s.env, xid, "")
	// the node and the batch id are condor_q's
	xlocal := xid[strings.LastIndex(xid, "/")+1:]
	qout, _ := exec.Command("chroot", s.tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT"), "condor_q", "-allusers", xlocal, "-af", "LastRemoteHost").CombinedOutput()
	if r = cesub(t, s.tb, s.env, "status", "-l", xid); !strings.Contains(r.out, "Batch id:        "+xlocal) ||
		!strings.Contains(r.out, "Node:            "+strings.TrimSpace(string(qout))) {
		t.Errorf("status -l disagrees with condor_q (LastRemoteHost %q):\n%s", qout, r.out)
	}
	_ = cesub(t, s.tb, s.env, "clean", xid)
}

// killRunning: kill removes a running job. It returns the job's id and its
// cluster.proc.
func (s *spooledJob) killRunning(t *testing.T) (string, string) {
	t.Helper()
	k := filepath.Join(s.dir, "sleep.sub")
	_ = os.WriteFile(k, []byte("executable = /bin/sleep\narguments = 300\ntransfer_executable = false\nqueue\n"), 0o644)
	r := cesub(t, s.tb, s.env, "submit", "-C", s.ceAddr, "-f", k)
	if r.code != 0 {
		t.Fatalf("submit sleep: %d %s", r.code, r.err)
	}
	kid := strings.TrimSpace(r.out)
	waitState(t, s.tb, s.env, kid, "RUNNING", 2*time.Minute)
	local := kid[strings.LastIndex(kid, "/")+1:]
	if q := condorQ(t, s.tb); q[local] != 2 {
		t.Fatalf("condor_q does not show %s running: %v", local, q)
	}
	if r = cesub(t, s.tb, s.env, "kill", kid); r.code != 0 {
		t.Fatalf("kill: %d %s", r.code, r.err)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		if st, ok := condorQ(t, s.tb)[local]; !ok || st == 3 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("job %s still in the queue after kill", local)
		}
	}
	return kid, local
}

// waitLeftQueue waits for the removed job to leave the queue.
func (s *spooledJob) waitLeftQueue(t *testing.T, local string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		if _, ok := condorQ(t, s.tb)[local]; !ok {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("removed job %s still in the queue", local)
		}
	}
}

// afterLeftQueue: once the removed job has left the queue, status reads it
// from the schedd's history (as condor_history does) and reports its final
// state instead of "not found"; kill says which job it could not find;
// clean succeeds (the job is gone) and forgets it.
func (s *spooledJob) afterLeftQueue(t *testing.T, kid, local string) {
	t.Helper()
	r := cesub(t, s.tb, s.env, "status", "-l", kid, "-o", "json")
	var hist struct {
		Jobs []struct{ State, SpecificState, LocalIDFromManager string }
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &hist) != nil || len(hist.Jobs) != 1 || hist.Jobs[0].State != "KILLED" ||
		!strings.Contains(hist.Jobs[0].SpecificState, "history") || hist.Jobs[0].LocalIDFromManager != local {
		t.Errorf("status of a removed job that left the queue: %d %s %s", r.code, r.out, r.err)
	}
	hout, _ := exec.Command("chroot", s.tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT"), "condor_history", local, "-af", "JobStatus").CombinedOutput()
	if strings.TrimSpace(string(hout)) != "3" {
		t.Errorf("condor_history shows %q for %s, want 3 (Removed)", hout, local)
	}
	if r = cesub(t, s.tb, s.env, "kill", kid); r.code != 1 || !strings.Contains(r.err, kid+": not found in the schedd's queue") {
		t.Errorf("kill of a job that left the queue: %d %s", r.code, r.err)
	}
	if r = cesub(t, s.tb, s.env, "clean", kid); r.code != 0 || !strings.Contains(r.err, kid+": deleted") {
		t.Errorf("clean of a job that left the queue: %d %s", r.code, r.err)
	}
	if r = cesub(t, s.tb, s.env, "status", "-a", "-o", "json"); strings.Contains(r.out, kid+`"`) {
		t.Errorf("a cleaned job is still on the job list: %s", r.out)
	}
}

func waitState(t *testing.T, tb *testbed.Env, env map[string]string, id, want string, limit time.Duration) {
	t.Helper()
	for end := time.Now().Add(limit); ; time.Sleep(time.Second) {
		r := cesub(t, tb, env, "status", id, "-o", "json")
		var st struct{ Jobs []struct{ State string } }
		if r.code == 0 && json.Unmarshal([]byte(r.out), &st) == nil && len(st.Jobs) == 1 {
			if st.Jobs[0].State == want {
				return
			}
			if st.Jobs[0].State == "FAILED" || st.Jobs[0].State == "HELD" {
				t.Fatalf("%s: %s", id, r.out)
			}
		}
		if time.Now().After(end) {
			t.Fatalf("%s not %s in %s: %s %s", id, want, limit, r.out, r.err)
		}
	}
}

// TestHTCondorAdsMatchCondorSubmit: for the same submit file, the job ads
// cesub would send equal what condor_submit -dry-run -spool sets in the
// chroot, attribute by attribute, for the supported subset.
func TestHTCondorAdsMatchCondorSubmit(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		root := tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT")
		dir := dryRunFiles(t, root)
		out, theirs := condorSubmitDryRun(t, root, dir)
		env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": filepath.Join(t.TempDir(), "j.db")}
		ours := cesubDryRunAds(t, tb, env, dir)
		if len(ours) != 2 || len(theirs) != 2 {
			t.Fatalf("procs: cesub %d, condor_submit %d\n%s", len(ours), len(theirs), out)
		}
		subset := append([]string{"MyCustom", "Rank2", "MyType", "TargetType", "JobPrio", "MinHosts", "MaxHosts", "NumCkpts",
			"NumRestarts", "ExitStatus", "JobLeaseDuration", "TransferIn", "JobNotification", "LeaveJobInQueue",
			"MemoryUsage"}, submitfile.Subset...) // MemoryUsage: condor_submit leaves it to the starter
		compareDryRunAds(t, ours, theirs, subset)
		sort.Strings(subset)

		// What the schedd holds after a real submission of the same file equals
		// the ads above: each proc sends only what differs from the cluster ad
		// (the first proc's), the schedd merges them. Paths it rewrites to the
		// spool keep the submitted value as SUBMIT_<name>; values with the
		// cluster id are compared with the real one.
		queued, cluster := submitAndReadQueue(t, tb, env, root, dir)
		compareQueuedAds(t, ours, queued, cluster, subset)
	})
}

// dryRunFiles writes the job and its files under a new directory with the
// same absolute path on the host and in the chroot, so that Iwd and Cmd
// agree; it returns that path.
func dryRunFiles(t *testing.T, root string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "cesub-dryrun-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir); os.RemoveAll(root + dir) })
	files := map[string]string{
		"run.sh":  "#!/bin/sh\necho hi\n",
		"in1.txt": "a", "in2.txt": "b",
		"job.sub": `universe = vanilla
	executable = run.sh
	arguments = "-n $(Process) 'two words'"
	environment = "A=1 B='x y'"
	transfer_input_files = in1.txt, in2.txt
	output = out.$(Cluster).$(Process)
	error = err.$(Cluster).$(Process)
	log = job.log
	should_transfer_files = YES
	when_to_transfer_output = ON_EXIT
	request_cpus = 2
	request_memory = 2 GB
	request_disk = 1000000
	batch_name = dry-$(Cluster)
	+MyCustom = "hello"
	+Rank2 = 3 + 4
	requirements = (Memory > 100)
	queue 2
	`}
	for _, d := range []string{dir, root + dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, c := range files {
			_ = os.WriteFile(filepath.Join(d, n), []byte(c), 0o755)
		}
	}
	return dir
}

// condorSubmitDryRun runs condor_submit -spool -dry-run on dir's job.sub in
// the chroot; it returns the output and the procs' ads read from it.
func condorSubmitDryRun(t *testing.T, root, dir string) ([]byte, []map[string]string) {
	t.Helper()
	// with -spool a dry run ends failing to spool (there is nothing to spool
	// to), after printing the ads
	out, err := exec.Command("chroot", root, "sh", "-c", "cd "+dir+" && condor_submit -spool -dry-run - job.sub").CombinedOutput()
	if !strings.Contains(string(out), "job(s) dry-run to cluster") {
		t.Fatalf("condor_submit -dry-run: %v\n%s", err, out)
	}
	return out, parseDryRun(t, string(out))
}

// cesubDryRunAds returns the job ads cesub submit --dry-run would send for
// dir's job.sub, one per proc.
func cesubDryRunAds(t *testing.T, tb *testbed.Env, env map[string]string, dir string) []map[string]string {
	t.Helper()
	// a ping remembers the schedd and its version: the dry run then builds
	// the ads as that version's condor_submit does (23.9.6, or 25.x on sid)
	if r := cesub(t, tb, env, "ping", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE")); r.code != 0 {
		t.Fatalf("ping: %d %s", r.code, r.err)
	}
	r := cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", filepath.Join(dir, "job.sub"), "--dry-run", "-o", "json")
	if r.code != 0 {
		t.Fatalf("cesub --dry-run: %d %s", r.code, r.err)
	}
	var plan struct {
		Requests []struct{ Method, Body string }
	}
	if err := json.Unmarshal([]byte(r.out), &plan); err != nil {
		t.Fatal(err)
	}
	var ours []map[string]string
	for _, q := range plan.Requests {
		if q.Method == "QMGMT" {
			ours = append(ours, parseLong(t, q.Body))
		}
	}
	return ours
}

// compareDryRunAds compares cesub's and condor_submit's ads attribute by
// attribute over subset.
func compareDryRunAds(t *testing.T, ours, theirs []map[string]string, subset []string) {
	t.Helper()
	compared := 0
	for p := range ours {
		for _, a := range subset {
			o, okO := ours[p][strings.ToLower(a)]
			c, okC := theirs[p][strings.ToLower(a)]
			if !okO && !okC {
				continue
			}
			if o != c {
				t.Errorf("proc %d %s: cesub %q, condor_submit %q", p, a, o, c)
			}
			compared++
		}
	}
	t.Logf("%d attribute values compared equal over 2 procs", compared)
	if compared < 40 {
		t.Errorf("only %d attributes compared", compared)
	}
}

// submitAndReadQueue submits dir's job.sub for real and returns the procs'
// ads as condor_q -l shows them, sorted by ProcId, and the cluster.
func submitAndReadQueue(t *testing.T, tb *testbed.Env, env map[string]string, root, dir string) ([]map[string]string, string) {
	t.Helper()
	r := cesub(t, tb, env, "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", filepath.Join(dir, "job.sub"), "-o", "json")
	if r.code != 0 {
		t.Fatalf("cesub submit: %d %s", r.code, r.err)
	}
	var sub struct{ Jobs []struct{ ID string } }
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 2 {
		t.Fatalf("submit: %v %s", err, r.out)
	}
	cluster := strings.Split(path.Base(sub.Jobs[0].ID), ".")[0]
	t.Cleanup(func() { _ = exec.Command("chroot", root, "condor_rm", cluster).Run() })
	out, err := exec.Command("chroot", root, "condor_q", "-allusers", "-l", cluster).CombinedOutput()
	if err != nil {
		t.Fatalf("condor_q -l: %v %s", err, out)
	}
	var queued []map[string]string
	for _, block := range strings.Split(strings.TrimSpace(string(out)), "\n\n") {
		queued = append(queued, parseLong(t, block))
	}
	sort.Slice(queued, func(i, j int) bool { return queued[i]["procid"] < queued[j]["procid"] })
	if len(queued) != 2 {
		t.Fatalf("condor_q shows %d procs of cluster %s", len(queued), cluster)
	}
	return queued, cluster
}

// compareQueuedAds compares the ads cesub built with what the schedd holds,
// attribute by attribute over subset, the dry run's cluster id replaced by
// the real one.
func compareQueuedAds(t *testing.T, ours, queued []map[string]string, cluster string, subset []string) {
	t.Helper()
	withCluster := func(v string) string { // the dry run numbered the cluster 1
		for _, pat := range []string{"out.%s.", "err.%s.", "dry-%s"} {
			v = strings.ReplaceAll(v, fmt.Sprintf(pat, "1"), fmt.Sprintf(pat, cluster))
		}
		return v
	}
	compared := 0
	for p := range ours {
		for _, a := range subset {
			switch strings.ToLower(a) {
			case "jobstatus", "holdreason", "holdreasoncode", "clusterid":
				continue // the schedd's to change: spooling done, running
			}
			o, okO := ours[p][strings.ToLower(a)]
			q, okQ := queued[p]["submit_"+strings.ToLower(a)]
			if !okQ {
				q, okQ = queued[p][strings.ToLower(a)]
			}
			if !okO && !okQ {
				continue
			}
			if withCluster(o) != q {
				t.Errorf("proc %d %s: cesub sent %q, the schedd has %q", p, a, withCluster(o), q)
			}
			compared++
		}
	}
	t.Logf("%d attribute values in the schedd's queue equal what cesub built", compared)
	if compared < 40 {
		t.Errorf("only %d attributes compared with the queue", compared)
	}
}

// parseDryRun reads condor_submit -dry-run output: the first proc's full ad,
// then each further proc's differing attributes (inherit the rest).
func parseDryRun(t *testing.T, s string) []map[string]string {
	t.Helper()
	var procs []map[string]string
	cur := map[string]string{}
	started := false
	for _, line := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(line, "Dry-Run"):
			started = true
		case !started:
		case line == ".":
			procs = append(procs, cur)
			next := map[string]string{}
			for k, v := range cur {
				next[k] = v
			}
			cur = next
		default:
			if k, e, err := classad.ParseAttrLine(line); err == nil {
				cur[strings.ToLower(k)] = classad.Unparse(e)
			}
		}
	}
	return procs
}

func parseLong(t *testing.T, s string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		k, e, err := classad.ParseAttrLine(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		m[strings.ToLower(k)] = classad.Unparse(e)
	}
	return m
}

// TestHTCondorProxy: SSL with an X.509 proxy instead of a token (the CE
// admits the proxy's subject), and --delegate x509 sending the proxy with
// the job as its x509userproxy.
func TestHTCondorProxy(t *testing.T) {
	tb := testbed.Require(t)
	ceAddr := tb.Get(t, "CESUB_TESTBED_CONDOR_CE")
	dir := t.TempDir()
	env := map[string]string{"X509_USER_PROXY": makeProxy(t, tb, dir), "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	r := cesub(t, tb, env, "--auth", "x509", "ping", "-C", ceAddr, "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"user": "pilot@users.htcondor.org"`) || !strings.Contains(r.out, "X.509 proxy (SSL)") {
		t.Fatalf("ping with a proxy: %d %s %s", r.code, r.out, r.err)
	}
	_ = os.WriteFile(filepath.Join(dir, "px.sh"), []byte("#!/bin/sh\nopenssl x509 -in \"$X509_USER_PROXY\" -noout -subject\n"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "px.sub"), []byte("executable = px.sh\noutput = px.out\nqueue\n"), 0o644)
	r = cesub(t, tb, env, "--auth", "x509", "submit", "-C", ceAddr, "-f", filepath.Join(dir, "px.sub"), "--delegate", "x509")
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.err)
	}
	id := strings.TrimSpace(r.out)
	waitState(t, tb, env, id, "FINISHED", 3*time.Minute)
	r = cesub(t, tb, env, "--auth", "x509", "cat", id)
	if r.code != 0 || !strings.Contains(r.out, "cesub user") {
		t.Fatalf("the job did not get the proxy: %d %q %s", r.code, r.out, r.err)
	}
	_ = cesub(t, tb, env, "--auth", "x509", "clean", id)
}

// TestHTCondorRefusals: a commit the schedd refuses (its site policy)
// leaves nothing behind and shows the schedd's ErrorReason; a submit file
// that does not parse, and a missing input file, stop before anything is
// sent; a token without WRITE scopes is refused before contacting the CE.
func TestHTCondorRefusals(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		ceAddr := tb.Get(t, "CESUB_TESTBED_CONDOR_CE")
		dir := t.TempDir()
		env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
		before := len(condorQ(t, tb))
		write := func(name, text string) string {
			p := filepath.Join(dir, name)
			_ = os.WriteFile(p, []byte(text), 0o644)
			return p
		}
		for _, tc := range []struct {
			name, file string
			code       int
			want       string
		}{
			{"policy refuses the commit", write("big.sub", "executable = /bin/true\ntransfer_executable = false\nrequest_memory = 200 GB\nqueue 3\n"),
				1, "the schedd refused the submission (nothing was created): cesub testbed policy: request_memory must stay below 100000 MB"},
			{"does not parse", write("bad.sub", "executable = /bin/true\nqueue 3 foo bar\n"), 2, "bad.sub:2:1: queue"},
			{"missing input", write("in.sub", "executable = /bin/true\ntransfer_executable = false\ntransfer_input_files = nope.txt\nqueue\n"),
				2, "nothing was submitted"}, // bad input: docs/exit-codes.md
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := cesub(t, tb, env, "submit", "-C", ceAddr, "-f", tc.file)
				if r.code != tc.code || !strings.Contains(r.err, tc.want) {
					t.Fatalf("exit %d, want %d and %q: %s", r.code, tc.code, tc.want, r.err)
				}
			})
		}
		if after := len(condorQ(t, tb)); after != before {
			t.Errorf("the queue went from %d to %d jobs", before, after)
		}
		// a policy that only warns: the job is accepted and the warning shown
		r := cesub(t, tb, env, "submit", "-C", ceAddr, "-f", write("warn.sub", "executable = /bin/true\ntransfer_executable = false\n"+
			"request_memory = 60 GB\nrequirements = false\nqueue\n"))
		if r.code != 0 || !strings.Contains(r.err, "warning: "+ceAddr+": the schedd says: cesub testbed policy: request_memory above 50000 MB will wait long for a slot") {
			t.Errorf("warning policy: exit %d: %s", r.code, r.err)
		}
		_ = cesub(t, tb, env, "kill", "-a")
		_ = cesub(t, tb, env, "clean", "-a")
		ro := map[string]string{"BEARER_TOKEN_FILE": condorToken(t, tb, testissuer.Claims{Scope: "compute.read"}), "CESUB_JOBLIST": filepath.Join(dir, "jobs2.db")}
		r = cesub(t, tb, ro, "submit", "-C", ceAddr, "-f", write("ok.sub", "executable = /bin/true\ntransfer_executable = false\nqueue\n"))
		if r.code != 4 || !strings.Contains(r.err, "nothing was sent") || !strings.Contains(r.err, "compute.create") {
			t.Fatalf("read-only token: %d %s", r.code, r.err)
		}
	})
}

// TestHTCondorDebugNeverPrintsToken: --debug shows the CEDAR exchange, never the token.
func TestHTCondorDebugNeverPrintsToken(t *testing.T) {
	tb := testbed.Require(t)
	tokFile := tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE")
	tok, _ := os.ReadFile(tokFile)
	env := map[string]string{"BEARER_TOKEN_FILE": tokFile, "CESUB_JOBLIST": filepath.Join(t.TempDir(), "j.db")}
	for _, args := range [][]string{{"ping"}, {"info"}, {"sync"}} {
		r := cesub(t, tb, env, append([]string{"--debug"}, append(args, "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"))...)...)
		if r.code != 0 || !strings.Contains(r.err, "s CEDAR ") {
			t.Fatalf("%v: %d %s", args, r.code, r.err)
		}
		if sig := strings.TrimSpace(string(tok)); strings.Contains(r.out+r.err, sig[len(sig)-40:]) {
			t.Fatalf("%v: --debug output contains the token", args)
		}
	}
}

// TestHTCondorManyClusters: a 5-job xRSL file becomes 5 clusters, each its
// own transaction, over one QMGMT connection (BeginTransaction after the
// first commit), and one spool connection that resumes its security session.
func TestHTCondorManyClusters(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	var b strings.Builder
	b.WriteString("+")
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&b, `(&(executable="/bin/echo")(arguments="%d")(stdout="o")(jobname="many-%d")(cputime="60"))`, i, i)
	}
	x := filepath.Join(dir, "many.xrsl")
	_ = os.WriteFile(x, []byte(b.String()), 0o644)
	r := cesub(t, tb, env, "--debug", "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", x, "-o", "json")
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.err)
	}
	var sub struct{ Jobs []struct{ ID, Error string } }
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 5 {
		t.Fatalf("submit JSON: %v %s", err, r.out)
	}
	clusters := map[string]bool{}
	for _, j := range sub.Jobs {
		if j.Error != "" || j.ID == "" {
			t.Fatalf("job: %+v", j)
		}
		clusters[strings.Split(j.ID[strings.LastIndex(j.ID, "/")+1:], ".")[0]] = true
	}
	if len(clusters) != 5 {
		t.Errorf("%d clusters, want 5", len(clusters))
	}
	if n := strings.Count(r.err, "QMGMT transaction:"); n != 5 {
		t.Errorf("%d transactions, want 5", n)
	}
	// what the translation into a submit description drops is said, once
	if n := strings.Count(r.err, "many.xrsl: HTCondor-CE has no CPU-time limit; not translated"); n != 1 {
		t.Errorf("the dropped cputime is warned about %d times, want 1:\n%s", n, r.err)
	}
	// one full handshake with the schedd (and one with the collector, which
	// a fresh job list asks): the spool connection resumes the QMGMT
	// connection's security session, as condor_submit does
	if n := strings.Count(r.err, "authenticated as"); n > 2 {
		t.Errorf("%d full handshakes, want at most 2 (collector, schedd)", n)
	}
	if n := strings.Count(r.err, "resumed session"); n != 1 {
		t.Errorf("%d resumed sessions, want 1 (the spool connection)", n)
	}
	_ = cesub(t, tb, env, "clean", "-a")
}

// TestHTCondorKilledWhileSpooling: jobs are on the job list as soon as the
// schedd has committed them, before their input files are sent: a cesub
// killed (SIGKILL) in the middle of spooling a large input leaves the job
// recorded, so that it can be found and cleaned, never lost.
func TestHTCondorKilledWhileSpooling(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	if f, err := os.Create(big); err != nil {
		t.Fatal(err)
	} else {
		_ = f.Truncate(512 << 20) // sparse: quick to read, long enough to send
		f.Close()
	}
	_ = os.WriteFile(filepath.Join(dir, "job.sh"), []byte("#!/bin/sh\nls -l big.bin\n"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "job.sub"), []byte("executable = job.sh\ntransfer_input_files = big.bin\noutput = out\nqueue\n"), 0o644)
	joblist := filepath.Join(dir, "jobs.db")
	cmd := exec.Command(cesubBinary(t), "--debug", "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", filepath.Join(dir, "job.sub"))
	cmd.Env = append(os.Environ(), "BEARER_TOKEN_FILE="+tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST="+joblist,
		"XDG_CONFIG_HOME="+t.TempDir(), "X509_CERT_DIR="+tb.Vars["X509_CERT_DIR"])
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	committed := false
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "committed with") {
			committed = true
			if f := strings.Fields(line[strings.Index(line, "cluster "):]); len(f) > 1 {
				root := tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT")
				t.Cleanup(func() { _ = exec.Command("chroot", root, "condor_rm", f[1]).Run() })
			}
			break
		}
	}
	time.Sleep(150 * time.Millisecond) // well inside the 512 MiB upload
	_ = cmd.Process.Kill()
	go io.Copy(io.Discard, stderr)
	werr := cmd.Wait()
	if !committed {
		t.Fatalf("never saw the commit: %v", werr)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("cesub ended before it was killed (%v): the upload was too quick to test this", werr)
	}
	env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": joblist}
	r := cesub(t, tb, env, "status", "-a", "-o", "json")
	var st struct{ Jobs []struct{ ID, State string } }
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || len(st.Jobs) != 1 {
		t.Fatalf("the killed submission's job is not on record: %v %s %s", err, r.out, r.err)
	}
	t.Logf("recorded: %s (%s)", st.Jobs[0].ID, st.Jobs[0].State)
	if r := cesub(t, tb, env, "clean", st.Jobs[0].ID); r.code != 0 {
		t.Errorf("clean: %d %s", r.code, r.err)
	}
}

// TestHTCondorScheddRestart: a client that outlives its schedd (a long
// `get -a`, a CE restarted meanwhile) authenticates again: the restarted
// schedd keeps its shared-port address but no longer knows the security
// session, answers SID_NOT_FOUND to the resume, and a new handshake
// follows. The schedd is restarted for real.
func TestHTCondorScheddRestart(t *testing.T) {
	tb := testbed.Require(t)
	root := tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT")
	raw, err := os.ReadFile(tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	pool, _, err := x509proxy.CertPool(tb.Get(t, "X509_CERT_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := ce.ParseAddress(tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log strings.Builder
	c, err := htcondor.NewClient(ce.Config{Address: addr, Timeout: time.Minute,
		Token:  &token.Static{Found: &token.Found{Token: token.Token(strings.TrimSpace(string(raw))), Source: "test"}},
		TLSFor: func(host string) *tls.Config { return &tls.Config{RootCAs: pool, ServerName: host} },
		Debugf: func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&log, f+"\n", a...); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// two connections: the second resumes the first one's session
	for i := 0; i < 2; i++ {
		if _, err := c.List(ctx); err != nil {
			t.Fatalf("before the restart: %v", err)
		}
	}
	pid := func() string {
		out, _ := exec.Command("pgrep", "-x", "condor_schedd").Output()
		return strings.TrimSpace(string(out))
	}
	before := pid()
	if out, err := exec.Command("chroot", root, "condor_restart", "-daemon", "schedd").CombinedOutput(); err != nil {
		t.Fatalf("condor_restart: %v %s", err, out)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if p := pid(); p != "" && p != before && exec.Command("chroot", root, "condor_q", "-totals").Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the schedd did not come back within 90 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
	if _, err := c.List(ctx); err != nil {
		t.Fatalf("after the restart: %v\n%s", err, log.String())
	}
	mu.Lock()
	defer mu.Unlock()
	l := log.String()
	if !strings.Contains(l, "resumed session") || !strings.Contains(l, "no longer known; authenticating again") {
		t.Errorf("expected a resumed session before the restart and a new handshake after it:\n%s", l)
	}
}

// TestHTCondorConcurrentSubmitProcesses: a pilot factory's pattern, many
// cesub processes at once on one job list and one schedd. Every cluster
// arrives whole (3 procs each, none twice), every job is recorded once, and
// the spooled input reaches every proc.
func TestHTCondorConcurrentSubmitProcesses(t *testing.T) {
	tb := testbed.Require(t)
	bin := cesubBinary(t)
	dir := t.TempDir()
	joblist := filepath.Join(dir, "jobs.db")
	_ = os.WriteFile(filepath.Join(dir, "job.sh"), []byte("#!/bin/sh\ncat in.txt\n"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "in.txt"), []byte("shared input"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "job.sub"), []byte("executable = job.sh\ntransfer_input_files = in.txt\n"+
		"output = out.$(Cluster).$(Process)\nrequirements = false\nqueue 3\n"), 0o644)
	const procs = 8
	var wg sync.WaitGroup
	outs := make([]string, procs)
	errs := make([]string, procs)
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(bin, "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", "job.sub", "-o", "json")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "BEARER_TOKEN_FILE="+tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST="+joblist,
				"X509_CERT_DIR="+tb.Get(t, "X509_CERT_DIR"), "XDG_CONFIG_HOME="+dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			outs[i] = string(out)
			if err != nil {
				errs[i] = fmt.Sprintf("%v: %s", err, stderr.String())
			}
		}(i)
	}
	wg.Wait()
	clusters := map[string]int{}
	for i := range outs {
		if errs[i] != "" {
			t.Errorf("process %d: %s", i, errs[i])
			continue
		}
		var sub struct{ Jobs []struct{ ID, Error string } }
		if err := json.Unmarshal([]byte(outs[i]), &sub); err != nil || len(sub.Jobs) != 3 {
			t.Errorf("process %d: %v %s", i, err, outs[i])
			continue
		}
		for _, j := range sub.Jobs {
			clusters[strings.Split(j.ID[strings.LastIndex(j.ID, "/")+1:], ".")[0]]++
		}
	}
	if len(clusters) != procs {
		t.Errorf("%d clusters, want %d: %v", len(clusters), procs, clusters)
	}
	queue := condorQ(t, tb)
	for c, n := range clusters {
		inQueue := 0
		for id := range queue {
			if strings.HasPrefix(id, c+".") {
				inQueue++
			}
		}
		if n != 3 || inQueue != 3 {
			t.Errorf("cluster %s: %d procs reported, %d in the schedd's queue; want 3 and 3", c, n, inQueue)
		}
	}
	store, err := jobstore.Open(t.Context(), joblist)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := store.List(t.Context(), jobstore.Filter{})
	store.Close()
	if err != nil || len(jobs) != 3*procs {
		t.Errorf("job list: %v, %d jobs, want %d", err, len(jobs), 3*procs)
	}
	// the input reached each proc's spool: the schedd released them (no
	// longer held for spooling), and they stay idle (requirements = false)
	deadline := time.Now().Add(time.Minute)
	for {
		held := 0
		queue = condorQ(t, tb)
		for c := range clusters {
			for p := 0; p < 3; p++ {
				if queue[fmt.Sprintf("%s.%d", c, p)] == 5 {
					held++
				}
			}
		}
		if held == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d procs still held for spooling after a minute", held)
		}
		time.Sleep(time.Second)
	}
	env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": joblist}
	// more than 20 jobs are confirmed with a count, not a line each
	if r := cesub(t, tb, env, "kill", "-a"); r.code != 0 || strings.TrimSpace(r.err) != fmt.Sprintf("%d jobs: killing", 3*procs) {
		t.Errorf("kill -a: %d %s", r.code, r.err)
	}
	_ = cesub(t, tb, env, "clean", "-a")
}
