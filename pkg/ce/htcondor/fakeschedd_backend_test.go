package htcondor

// The HTCondor backend end to end against the FAKE schedd
// (fakeschedd_test.go) on 127.0.0.1: what the schedd received, what cesub
// made of its answers, and its refusals.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
)

// fakeCtx bounds one test's calls generously (a loaded 2-core machine).
func fakeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestFakeScheddConformance: the backend keeps the contract every flavour
// keeps (cetest.Conformance), against the fake schedd as against the real
// one in integration/; the fake saw the minted token and reached the
// schedd through its shared-port endpoint.
func TestFakeScheddConformance(t *testing.T) {
	f := newFakeSchedd(t)
	jobs, err := xrsl.Parse("conformance.xrsl", []byte(`+(&(executable="/bin/sleep")(arguments="120")(jobname="conf-a"))(&(executable="/bin/sleep")(arguments="120")(jobname="conf-b"))`))
	if err != nil {
		t.Fatal(err)
	}
	c := f.client(t)
	cetest.Conformance(t, cetest.Harness{Backend: c, Flavour: ce.HTCondor, Jobs: jobs, UnknownID: "999999.0"})
	for _, cmd := range []string{"DC_SEC_QUERY", "QUERY_SCHEDD_ADS", "QMGMT_WRITE", "QUERY_JOB_ADS", "ACT_ON_JOBS"} {
		if !slices.Contains(f.seen(&f.commands), cmd) {
			t.Errorf("the fake schedd got no %s: %v", cmd, f.seen(&f.commands))
		}
	}
	want, _ := c.src.Token(context.Background(), 0)
	for _, tok := range f.seen(&f.tokens) {
		if tok != want.Token.Reveal() {
			t.Errorf("the fake got token %.20q…, not the client's", tok)
		}
	}
	if len(f.seen(&f.socks)) == 0 {
		t.Error("the schedd was not reached through its shared-port endpoint")
	}
}

// fakeSubmitFile writes files into dir and reads the submit file job.sub
// among them as `cesub submit` does.
func fakeSubmitFile(t *testing.T, dir string, files map[string]string) []jobdesc.Job {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	name := filepath.Join(dir, "job.sub")
	src := []byte(files["job.sub"])
	jobs, err := submitfile.Jobs(name, src, submitfile.ParseOptions{Options: submitfile.Options{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		jobs[i].Origin = &jobdesc.Origin{Format: "submit", File: name, Dir: dir, Text: src, Index: i, Count: len(jobs)}
	}
	return jobs
}

const fakeSub = `executable = job.sh
arguments = run $(Process)
transfer_input_files = data.txt, inputs
output = out.txt
error = err.txt
batch_name = fakebatch
queue 2
`

// fakeSubmit submits fakeSub's two procs to f and returns their local ids.
func fakeSubmit(t *testing.T, f *fakeScheddServer, c *Client) []string {
	t.Helper()
	dir := t.TempDir()
	jobs := fakeSubmitFile(t, dir, map[string]string{"job.sub": fakeSub, "job.sh": "#!/bin/sh\necho $*\n",
		"data.txt": "some data\n", "inputs/a.txt": "A\n", "inputs/empty": ""})
	rs, err := c.Submit(fakeCtx(t), jobs, ce.SubmitOptions{BaseDir: dir})
	if err != nil || len(rs) != 2 {
		t.Fatalf("submit: %v %v", rs, err)
	}
	var ids []string
	for i, r := range rs {
		if r.Err != nil || r.Job == nil {
			t.Fatalf("job %d: %v", i, r.Err)
		}
		ids = append(ids, r.Job.LocalID)
	}
	return ids
}

// TestFakeScheddSubmitSpoolsInputs: one transaction makes a cluster of two
// procs whose ads carry the submit file's commands, held for their input
// files; the spool step sends each proc's executable, input file and
// folder (contents, modes), after which the schedd releases them. Later
// connections resume the first one's security session.
func TestFakeScheddSubmitSpoolsInputs(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ids := fakeSubmit(t, f, c)
	if !slices.Equal(ids, []string{"1.0", "1.1"}) {
		t.Fatalf("ids %v, want 1.0 and 1.1", ids)
	}
	f.mu.Lock()
	committed := f.committed
	f.mu.Unlock()
	if len(committed) != 2 {
		t.Fatalf("the schedd committed %d jobs, want 2", len(committed))
	}
	for k, ad := range committed {
		fakeWantAttrs(t, ad, map[string]string{"ClusterId": "1", "ProcId": strconv.Itoa(k), "JobStatus": "5",
			"HoldReasonCode": "16", "Args": `"run ` + strconv.Itoa(k) + `"`, "JobBatchName": `"fakebatch"`,
			"Out": `"out.txt"`, "Err": `"err.txt"`})
		if cmd, _ := ad.Str("Cmd"); filepath.Base(cmd) != "job.sh" {
			t.Errorf("proc %d: Cmd %q", k, cmd)
		}
	}
	for _, id := range ids {
		box := f.sandbox(id)
		want := map[string]fakeSpooled{"job.sh": {body: "#!/bin/sh\necho $*\n", mode: 0o755}, "data.txt": {body: "some data\n", mode: 0o755},
			"inputs": {dir: true, mode: 0o755}, "inputs/a.txt": {body: "A\n", mode: 0o755}, "inputs/empty": {mode: 0o755}}
		if len(box) != len(want) {
			t.Errorf("job %s: spooled %v, want %v", id, box, want)
		}
		for name, w := range want {
			if got, ok := box[name]; !ok || got != w {
				t.Errorf("job %s: spooled %s = %+v (there: %v), want %+v", id, name, got, ok, w)
			}
		}
		if st, _ := f.job(id).Int("JobStatus"); st != 1 {
			t.Errorf("job %s: status %d after spooling, want 1 (idle)", id, st)
		}
	}
	f.mu.Lock()
	handshakes, resumes := f.handshakes, f.resumes
	f.mu.Unlock()
	if resumes == 0 || handshakes > 2 { // the collector's and the schedd's
		t.Errorf("%d handshakes, %d resumed sessions: later connections should resume", handshakes, resumes)
	}
}

// fakeWantAttrs checks attributes of ad as HTCondor prints them.
func fakeWantAttrs(t *testing.T, ad *classad.Ad, want map[string]string) {
	t.Helper()
	for name, w := range want {
		e, ok := ad.Get(name)
		if !ok || classad.Unparse(e) != w {
			t.Errorf("%s %s = %v (set: %v), want %s", fakeJobID(ad), name, e, ok, w)
		}
	}
}

// TestFakeScheddRefusedSubmit: a commit the schedd refuses is an error
// with its reason, and nothing is created or spooled.
func TestFakeScheddRefusedSubmit(t *testing.T) {
	f := newFakeSchedd(t)
	f.refuse = "SUBMIT_REQUIREMENT_NoLongJobs: jobs may not ask for 3 days"
	c := f.client(t)
	jobs := fakeSubmitFile(t, t.TempDir(), map[string]string{"job.sub": "executable = /bin/true\ntransfer_executable = false\nqueue\n"})
	rs, err := c.Submit(fakeCtx(t), jobs, ce.SubmitOptions{})
	if err == nil {
		t.Fatalf("a refused submission succeeded: %+v", rs)
	}
	for _, w := range []string{"refused the submission", "nothing was created", f.refuse} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q: %v", w, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) != 0 || len(f.spooled) != 0 {
		t.Errorf("a refused cluster is in the queue (%d jobs) or was spooled (%v)", len(f.queue), f.spooled)
	}
}

// TestFakeScheddStatusDetailsHistory: status reads the queue (a completed
// job's exit code; a job the schedd never had is ErrNotFound), details add
// the long fields, and a removed job that left the queue comes from the
// history in its final state, with why it was removed.
func TestFakeScheddStatusDetailsHistory(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ctx := fakeCtx(t)
	ids := fakeSubmit(t, f, c)
	f.complete(ids[0], 3, nil)
	if rs, err := c.Kill(ctx, ids[1:]); err != nil || rs[0].Err != nil {
		t.Fatalf("kill: %v %v", rs, err)
	}
	rs, err := c.Details(ctx, append(ids, "7.0"))
	if err != nil || len(rs) != 3 {
		t.Fatalf("details: %v %v", rs, err)
	}
	done, killed := rs[0].Job, rs[1].Job
	if done == nil || done.State != ce.StateFinished || done.ExitCode == nil || *done.ExitCode != 3 || done.Name != "fakebatch" {
		t.Errorf("the completed job: %+v", done)
	} else if done.Details == nil || done.Details.Owner != "pilot" || done.Details.BatchID != ids[0] || done.Details.Ended == nil {
		t.Errorf("the completed job's details: %+v", done.Details)
	}
	if killed == nil || killed.State != ce.StateKilled || !strings.Contains(killed.RawState, "in the history") ||
		!slices.Contains(killed.Errors, "removed with cesub kill") {
		t.Errorf("the removed job: %+v (err %v)", killed, rs[1].Err)
	}
	if rs[2].Job != nil || !errors.Is(rs[2].Err, ce.ErrNotFound) {
		t.Errorf("a job the schedd never had: %+v %v", rs[2].Job, rs[2].Err)
	}
	if !slices.Contains(f.seen(&f.commands), "QUERY_SCHEDD_HISTORY") {
		t.Error("the history was not asked")
	}
}

// TestFakeScheddHoldRelease: hold and release change the job in the
// schedd's queue with cesub's reason; a second hold is done already, a
// release of a job not held is refused for its state, and an action on a
// job the schedd does not have is ErrNotFound.
func TestFakeScheddHoldRelease(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ctx := fakeCtx(t)
	id := fakeSubmit(t, f, c)[0]
	for _, step := range []struct {
		name    string
		act     func(context.Context, []string) ([]ce.Result, error)
		status  int64
		wantErr string
	}{
		{"hold", c.Hold, 5, ""},
		{"hold again", c.Hold, 5, ""},
		{"release", c.Release, 1, ""},
		{"release again", c.Release, 1, "not possible in the job's state"},
		{"hold for a resume", c.Hold, 5, ""},
		{"resume", c.Restart, 1, ""},
	} {
		rs, err := step.act(ctx, []string{id})
		if err != nil || len(rs) != 1 || rs[0].ID != c.JobID(id) {
			t.Fatalf("%s: %v %v", step.name, rs, err)
		}
		if got := errString(rs[0].Err); step.wantErr == "" && got != "" || !strings.Contains(got, step.wantErr) {
			t.Errorf("%s: %q, want %q", step.name, got, step.wantErr)
		}
		if st, _ := f.job(id).Int("JobStatus"); st != step.status {
			t.Errorf("%s: the job's status is %d, want %d", step.name, st, step.status)
		}
	}
	f.mu.Lock()
	first := f.actions[0]
	f.mu.Unlock()
	fakeWantAttrs(t, first, map[string]string{"JobAction": "1", "ActionIds": `"` + id + `"`, "HoldReason": `"held with cesub hold"`})
	rs, err := c.Kill(ctx, []string{"99.0"})
	if err != nil || len(rs) != 1 || !errors.Is(rs[0].Err, ce.ErrNotFound) {
		t.Errorf("kill of a job the schedd does not have: %v %v", rs, err)
	}
	if rs, err := c.Clean(ctx, []string{"99.0"}); err != nil || rs[0].Err != nil {
		t.Errorf("clean of a job the schedd no longer has (cleaned already): %v %v", rs, err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestFakeScheddGetAndCat: a completed job's output sandbox comes into
// the folder Get makes (files, a folder, modes), cat copies one file of
// it, and a job whose output is not ready is ErrNotFound.
func TestFakeScheddGetAndCat(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ctx := fakeCtx(t)
	ids := fakeSubmit(t, f, c)
	f.complete(ids[0], 0, []fakeFile{{name: "out.txt", body: "run 0\n", mode: 0o644}, {name: "res", mkdir: true, mode: 0o755},
		{name: "res/tool", body: "#!/bin/sh\n", mode: 0o755}, {name: "err.txt", mode: 0o644}})
	dir := filepath.Join(t.TempDir(), "out")
	var names []string
	g, err := c.Get(ctx, ids[0], ce.GetOptions{Dir: dir, Progress: func(name string, _ int64) { names = append(names, name) }})
	if err != nil || g.Files != 3 || g.Bytes != int64(len("run 0\n#!/bin/sh\n")) {
		t.Fatalf("get: %+v %v", g, err)
	}
	for name, want := range map[string]string{"out.txt": "run 0\n", "res/tool": "#!/bin/sh\n", "err.txt": ""} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", name, b, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "res/tool")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("res/tool: %v %v, want mode 0755", fi, err)
	}
	var buf bytes.Buffer
	if err := c.Cat(ctx, ids[0], "out.txt", &buf); err != nil || buf.String() != "run 0\n" {
		t.Errorf("cat: %q %v", buf.String(), err)
	}
	if err := c.Cat(ctx, ids[0], "nope.txt", &buf); !errors.Is(err, ce.ErrNotFound) {
		t.Errorf("cat of a file the sandbox lacks: %v", err)
	}
	if _, err := c.Get(ctx, ids[1], ce.GetOptions{Dir: filepath.Join(t.TempDir(), "x")}); !errors.Is(err, ce.ErrNotFound) {
		t.Errorf("get of a job still idle: %v, want ErrNotFound", err)
	}
}

// TestFakeScheddListInfoPing: list asks for the jobs of the identity the
// schedd mapped the token to; info and ping report the schedd.
func TestFakeScheddListInfoPing(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ctx := fakeCtx(t)
	ids := fakeSubmit(t, f, c)
	jobs, err := c.List(ctx)
	if err != nil || len(jobs) != 2 || jobs[0].LocalID != ids[0] || jobs[1].LocalID != ids[1] {
		t.Errorf("list: %+v %v", jobs, err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Version != "23.9.6" || len(info.Queues) != 1 || info.Queues[0].WaitingJobs != 2 ||
		!info.Queues[0].Published.Has(ce.CountWaiting|ce.CountRunning) || info.Queues[0].Published.Has(ce.CountFreeSlots) {
		t.Errorf("info: %+v %v", info, err)
	}
	p, err := c.Ping(ctx)
	if err != nil || !p.Admitted || p.User != fakeScheddUser || p.Version != "23.9.6" {
		t.Errorf("ping: %+v %v", p, err)
	}
}

// TestFakeScheddForgetsSessions: a schedd that no longer knows the
// session (restarted) is answered with a new handshake; a remembered
// schedd address that leads nowhere is looked up again at the collector.
func TestFakeScheddForgetsSessions(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ctx := fakeCtx(t)
	ids := fakeSubmit(t, f, c)
	f.mu.Lock()
	f.sessions = map[string][]byte{}
	before := f.handshakes
	f.mu.Unlock()
	if rs, err := c.Status(ctx, ids); err != nil || rs[0].Err != nil {
		t.Fatalf("status after the schedd forgot the session: %v %v", rs, err)
	}
	f.mu.Lock()
	after := f.handshakes
	f.mu.Unlock()
	if after <= before {
		t.Errorf("%d handshakes before, %d after: want a new one", before, after)
	}
	moved := f.client(t)
	moved.SetVersion("schedd 23.9.6 old <127.0.0.1:1?sock=gone>")
	if rs, err := moved.Status(ctx, ids); err != nil || rs[0].Err != nil {
		t.Fatalf("status with a stale schedd address: %v %v", rs, err)
	}
	if v := moved.KnownVersion(); !strings.Contains(v, f.addr) {
		t.Errorf("the schedd's address is now %q, want the fake's %s", v, f.addr)
	}
}

// TestFakeScheddKillInChunks: an action on 1,001 jobs goes to the schedd
// as two requests (1,000 ids at most each), and the answers come back per
// job, in the order asked.
func TestFakeScheddKillInChunks(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ids := make([]string, 1001)
	for i := range ids {
		ids[i] = strconv.Itoa(100+i) + ".0"
	}
	rs, err := c.Kill(fakeCtx(t), ids)
	if err != nil || len(rs) != len(ids) {
		t.Fatalf("kill: %d results, %v", len(rs), err)
	}
	for i, r := range rs {
		if r.ID != c.JobID(ids[i]) || !errors.Is(r.Err, ce.ErrNotFound) {
			t.Fatalf("result %d: %s %v, want %s not found", i, r.ID, r.Err, ids[i])
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var sizes []int
	for _, a := range f.actions {
		list, _ := a.Str("ActionIds")
		sizes = append(sizes, len(strings.Split(list, ",")))
	}
	if !slices.Equal(sizes, []int{1000, 1}) {
		t.Errorf("ACT_ON_JOBS requests of %v ids, want 1000 and 1", sizes)
	}
}
