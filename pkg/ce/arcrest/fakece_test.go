package arcrest

// The REST backend against the fake A-REX (fakerest_test.go): the common
// backend contract on both REST versions, delegation with what the fake
// received, and the job operations.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
	"github.com/cesub/cesub/pkg/x509proxy"
)

const (
	both     = `{"version":["1.0","1.1"]}`
	only10   = `{"version":"1.0"}`
	noSuchID = "NoSuchJobAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

func parseJobs(t *testing.T, src string) []jobdesc.Job {
	t.Helper()
	jobs, err := xrsl.Parse("test.xrsl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func trueJobs(n int) []jobdesc.Job {
	jobs := make([]jobdesc.Job, n)
	for i := range jobs {
		jobs[i] = jobdesc.Job{Name: "j", Executable: jobdesc.Executable{Path: "/bin/true"}}
	}
	return jobs
}

func TestConformanceFakeREST(t *testing.T) {
	for name, versions := range map[string]string{"1.1": both, "1.0": only10} {
		t.Run(name, func(t *testing.T) {
			f, c := newFakeREST(t, versions)
			jobs := parseJobs(t, `+(&(executable="/bin/sleep")(arguments="120")(jobname="conf-a"))(&(executable="/bin/sleep")(arguments="120")(jobname="conf-b"))`)
			cetest.Conformance(t, cetest.Harness{Backend: c, Flavour: ce.ARC, Jobs: jobs, UnknownID: noSuchID, CleanWithin: 30 * time.Second})
			f.locked(func() {
				if len(f.jobs) != 0 {
					t.Errorf("the suite cleaned its jobs, the fake still holds %d", len(f.jobs))
				}
				if len(f.authz) != 1 || !f.authz["Bearer "+fakeToken] {
					t.Errorf("every request carries the bearer token; the fake saw %d kinds", len(f.authz))
				}
				if !slices.Contains(f.requests, "POST /arex/rest/"+name+"/jobs?action=new") {
					t.Errorf("jobs not submitted with REST %s: %v", name, f.requests)
				}
			})
		})
	}
}

// signer signs delegation requests as user with lifetime.
func signer(user *x509proxy.Credential, lifetime time.Duration) ce.Signer {
	return func(csr []byte) ([]byte, error) {
		return x509proxy.SignRequest(user, csr, x509proxy.Options{Lifetime: lifetime})
	}
}

// X.509 delegation on both versions: the fake receives a proxy for its
// request's key, signed by the user, with the lifetime asked; renewal keeps
// the id and stores a new chain; list, get and delete see it.
func TestFakeRESTDelegationX509(t *testing.T) {
	for _, v := range []string{"1.1", "1.0"} {
		t.Run(v, func(t *testing.T) {
			f, c := newFakeREST(t, map[string]string{"1.1": both, "1.0": only10}[v])
			ctx := context.Background()
			sign := signer(f.ca.User(t, "fake user"), 5*time.Hour)
			d, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: sign})
			if err != nil || d.ID == "" || d.Type != ce.DelegateX509 {
				t.Fatalf("delegate: %+v %v", d, err)
			}
			first := storedChain(t, f, d.ID, 5*time.Hour)
			r, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: sign, RenewID: d.ID})
			if err != nil || r.ID != d.ID {
				t.Fatalf("renew: %+v %v", r, err)
			}
			if again := storedChain(t, f, d.ID, 5*time.Hour); bytes.Equal(again, first) {
				t.Errorf("renewal stored no new chain")
			}
			f.locked(func() {
				for _, want := range []string{"POST /arex/rest/" + v + "/delegations?action=new", "PUT /arex/rest/" + v + "/delegations/" + d.ID,
					"POST /arex/rest/" + v + "/delegations/" + d.ID + "?action=renew"} {
					if !slices.Contains(f.requests, want) {
						t.Errorf("the fake did not receive %q: %v", want, f.requests)
					}
				}
			})
			list, err := c.Delegations(ctx)
			if err != nil || len(list) != 1 || list[0] != (ce.Delegation{ID: d.ID, Type: ce.DelegateX509}) {
				t.Errorf("list: %+v %v", list, err)
			}
			got, err := c.DelegationChain(ctx, d.ID)
			if err != nil || !bytes.Contains(got, []byte("BEGIN CERTIFICATE")) {
				t.Errorf("get: %d bytes, %v", len(got), err)
			}
		})
	}
}

// storedChain checks what the fake stored for delegation id: a proxy for
// its key, signed by a user of the CA, ending after lifetime.
func storedChain(t *testing.T, f *fakeREST, id string, lifetime time.Duration) []byte {
	t.Helper()
	var d fakeDeleg
	f.locked(func() { d = *f.delegations[id] })
	if d.chain == nil {
		t.Fatalf("the fake stored no chain for %s", id)
	}
	proxy, err := f.ca.CheckDelegated(d.chain, d.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(proxy.NotAfter); left < lifetime-5*time.Minute || left > lifetime+time.Minute {
		t.Errorf("the proxy lives %s, %s asked", left, lifetime)
	}
	return d.chain
}

// Delegations the CE refuses, or that cannot be made, are errors naming
// the step; a delegation a job uses is not deleted.
func TestFakeRESTDelegationRefusals(t *testing.T) {
	f, c := newFakeREST(t, both)
	ctx := context.Background()
	stranger := cetest.NewFakeCA(t).User(t, "stranger")
	_, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: signer(stranger, time.Hour)})
	var refused []error
	f.locked(func() { refused = f.putErrors })
	if err == nil || !strings.Contains(err.Error(), "delegation upload") || len(refused) != 1 || !strings.Contains(refused[0].Error(), "not from the CA") {
		t.Errorf("a proxy of another CA's user: %v (fake: %v)", err, refused)
	}
	if _, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: signer(f.ca.User(t, "u"), time.Hour), RenewID: "nosuch"}); err == nil ||
		!strings.Contains(err.Error(), "delegation renew") {
		t.Errorf("renewal of an unknown delegation: %v", err)
	}
	if _, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509}); err == nil {
		t.Errorf("X.509 delegation without a signer succeeded")
	}
	if _, err := c.Delegate(ctx, ce.DelegateRequest{Type: "pgp"}); err == nil || !strings.Contains(err.Error(), `"pgp"`) {
		t.Errorf("an unknown delegation type: %v", err)
	}
	d, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: signer(f.ca.User(t, "u"), time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Submit(ctx, trueJobs(1), ce.SubmitOptions{DelegationID: d.ID})
	if err != nil || res[0].Err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	if err := c.DeleteDelegation(ctx, d.ID); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("delete of a delegation a job uses: %v", err)
	}
	if _, err := c.Kill(ctx, []string{res[0].Job.LocalID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Clean(ctx, []string{res[0].Job.LocalID}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDelegation(ctx, d.ID); err != nil {
		t.Errorf("delete: %v", err)
	}
	f.locked(func() {
		if _, ok := f.delegations[d.ID]; ok {
			t.Errorf("the fake still holds %s", d.ID)
		}
	})
}

// Token delegation stores the current token on REST 1.1 and is refused,
// without a request, on 1.0.
func TestFakeRESTTokenDelegation(t *testing.T) {
	f, c := newFakeREST(t, both)
	d, err := c.Delegate(context.Background(), ce.DelegateRequest{Type: ce.DelegateToken})
	if err != nil || d.Type != ce.DelegateToken {
		t.Fatalf("%+v %v", d, err)
	}
	f.locked(func() {
		if got := f.delegations[d.ID]; got == nil || got.typ != "jwt" || string(got.chain) != fakeToken {
			t.Errorf("the fake stored %+v", got)
		}
	})
	if list, err := c.Delegations(context.Background()); err != nil || len(list) != 1 || list[0].Type != ce.DelegateToken {
		t.Errorf("list: %+v %v", list, err)
	}
	f10, c10 := newFakeREST(t, only10)
	if _, err := c10.Delegate(context.Background(), ce.DelegateRequest{Type: ce.DelegateToken}); err == nil || !strings.Contains(err.Error(), "needs ARC REST 1.1") {
		t.Errorf("token delegation on 1.0: %v", err)
	}
	f10.locked(func() {
		for _, r := range f10.requests {
			if strings.Contains(r, "delegations") {
				t.Errorf("the fake received %s", r)
			}
		}
	})
}

// The submission's answer is lost: the jobs are found by their mark.
func TestFakeRESTLostSubmitAnswer(t *testing.T) {
	f, c := newFakeREST(t, both)
	f.locked(func() { f.dropSubmit = true })
	var warned []string
	res, err := c.Submit(context.Background(), trueJobs(2), ce.SubmitOptions{Warn: func(m string) { warned = append(warned, m) }})
	if err != nil || len(res) != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	f.locked(func() {
		for i, r := range res {
			if r.Err != nil || r.Job == nil || f.jobs[r.Job.LocalID] == nil {
				t.Errorf("job %d: %+v", i, r)
			}
		}
	})
	if res[0].Job.LocalID == res[1].Job.LocalID || len(warned) != 1 || !strings.Contains(warned[0], "2 of 2 jobs found") {
		t.Errorf("ids %s %s, warnings %q", res[0].Job.LocalID, res[1].Job.LocalID, warned)
	}
}

// Status: failure reasons and exit codes, kills seen before the info
// system, a job missing from the live listing, and many jobs by listing.
func TestFakeRESTStatus(t *testing.T) {
	f, c := newFakeREST(t, both)
	ctx := context.Background()
	res, err := c.Submit(ctx, trueJobs(12), ce.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return res[i].Job.LocalID }
	f.locked(func() {
		f.jobs[id(0)].state, f.jobs[id(0)].failed = "FAILED", "LRMS error: (1) Job finished with wrong exit code - 3 != 0"
		f.jobs[id(1)].state, f.jobs[id(1)].failed = "FAILED", "Job is canceled by external request"
		f.jobs[id(2)].state, f.jobs[id(2)].gm = "QUEUING", "INLRMS"
		f.jobs[id(3)].state, f.jobs[id(3)].gm = "RUNNING", "INLRMS"
		delete(f.jobs, id(4))
		f.jobs[id(6)].unlisted, f.jobs[id(6)].gm = true, "INLRMS"
		f.jobs[id(7)].unlisted, f.jobs[id(7)].gm = true, ""
	})
	check := func(st []ce.Result) {
		t.Helper()
		if j := st[0].Job; j == nil || j.State != ce.StateFailed || j.ExitCode == nil || *j.ExitCode != 3 || len(j.Errors) != 1 {
			t.Errorf("failed job: %+v", j)
		}
		if j := st[1].Job; j == nil || j.State != ce.StateKilled {
			t.Errorf("killed job: %+v", j)
		}
		if j := st[3].Job; j == nil || j.State != ce.StateRunning {
			t.Errorf("running job: %+v", j)
		}
		if !errors.Is(st[4].Err, ce.ErrNotFound) {
			t.Errorf("a cleaned job: %+v", st[4])
		}
		// missing from the live listing: the grid manager's own state, or gone
		if j := st[6].Job; j == nil || j.State != ce.StateRunning || j.RawState != "INLRMS" {
			t.Errorf("a job the listing misses: %+v", j)
		}
		if st[7].Job != nil || st[7].Err == nil || !strings.Contains(st[7].Err.Error(), "not found") {
			t.Errorf("a job being cleaned: %+v", st[7])
		}
	}
	few, err := c.Status(ctx, []string{id(0), id(1), id(2), id(3), id(4), id(5), id(6), id(7)})
	if err != nil {
		t.Fatal(err)
	}
	check(few)
	var all []string
	for i := range res {
		all = append(all, id(i))
	}
	many, err := c.Details(ctx, all)
	if err != nil || len(many) != 12 {
		t.Fatalf("%v %d", err, len(many))
	}
	check(many)
	if d := many[5].Job.Details; d == nil || d.Queue != "fakeq" || d.BatchID != id(5) {
		t.Errorf("details: %+v", d)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 9 {
		t.Errorf("list: %d %v", len(list), err)
	}
}

// Kill, clean and restart answer per job with A-REX's codes.
func TestFakeRESTManage(t *testing.T) {
	f, c := newFakeREST(t, both)
	ctx := context.Background()
	res, err := c.Submit(ctx, trueJobs(1), ce.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].Job.LocalID
	out, err := c.Clean(ctx, []string{id, noSuchID})
	if err != nil || len(out) != 2 || out[0].Err == nil || !strings.Contains(out[0].Err.Error(), "409 Job is not finished") ||
		!errors.Is(out[1].Err, ce.ErrNotFound) {
		t.Fatalf("clean of a running and an unknown job: %v %+v", err, out)
	}
	if out, _ := c.Restart(ctx, []string{id}); out[0].Err == nil {
		t.Errorf("restart of a job that has not failed: %+v", out)
	}
	f.locked(func() { f.jobs[id].state = "FAILED" })
	if out, err := c.Restart(ctx, []string{id}); err != nil || out[0].Err != nil || out[0].Job.State != ce.StateRunning {
		t.Errorf("restart of a failed job: %v %+v", err, out)
	}
}

// Instances need REST 1.1; the CE is asked for them.
func TestFakeRESTInstances(t *testing.T) {
	f, c := newFakeREST(t, both)
	res, err := c.Submit(context.Background(), trueJobs(2), ce.SubmitOptions{Instances: 3})
	if err != nil || len(res) != 6 {
		t.Fatalf("%v %d", err, len(res))
	}
	f.locked(func() {
		if !slices.Equal(f.instances, []string{"3"}) || len(f.jobs) != 6 {
			t.Errorf("the fake was asked for instances %v and holds %d jobs", f.instances, len(f.jobs))
		}
	})
	_, c10 := newFakeREST(t, only10)
	if _, err := c10.Submit(context.Background(), trueJobs(1), ce.SubmitOptions{Instances: 2}); err == nil || !strings.Contains(err.Error(), "needs ARC REST 1.1") {
		t.Errorf("instances on 1.0: %v", err)
	}
}

// Inputs are uploaded into the session; cat, the job log and a whole
// download read it back.
func TestFakeRESTSession(t *testing.T) {
	f, c := newFakeREST(t, both)
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("input data"), 0o600); err != nil {
		t.Fatal(err)
	}
	jobs := parseJobs(t, `&(executable="/bin/cat")(arguments="in.txt")(inputfiles=("in.txt" ""))`)
	res, err := c.Submit(ctx, jobs, ce.SubmitOptions{BaseDir: dir})
	if err != nil || res[0].Err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	id := res[0].Job.LocalID
	f.locked(func() {
		if got := f.jobs[id].files["in.txt"]; got != "input data" {
			t.Errorf("uploaded %q", got)
		}
		f.jobs[id].files["sub/out.txt"] = "output"
	})
	var b bytes.Buffer
	if err := c.Cat(ctx, id, "sub/out.txt", &b); err != nil || b.String() != "output" {
		t.Errorf("cat: %q %v", b.String(), err)
	}
	if err := c.Cat(ctx, id, "nosuch", &b); !errors.Is(err, ce.ErrNotFound) {
		t.Errorf("cat of a missing file: %v", err)
	}
	b.Reset()
	if err := c.JobLog(ctx, id, &b); err != nil || !strings.Contains(b.String(), id) {
		t.Errorf("job log: %q %v", b.String(), err)
	}
	out := filepath.Join(t.TempDir(), "job")
	got, err := c.Get(ctx, id, ce.GetOptions{Dir: out})
	if err != nil || got.Files != 2 || got.Bytes != int64(len("input data")+len("output")) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if data, err := os.ReadFile(filepath.Join(out, "sub", "out.txt")); err != nil || string(data) != "output" {
		t.Errorf("downloaded %q %v", data, err)
	}
}

func TestFakeRESTPingInfo(t *testing.T) {
	f, c := newFakeREST(t, both)
	p, err := c.Ping(context.Background())
	if err != nil || !p.Admitted || p.Implementation != "fake-arex" || p.Version != "7.1.0" || !slices.Equal(p.APIVersions, []string{"1.0", "1.1"}) {
		t.Fatalf("ping: %+v %v", p, err)
	}
	in, err := c.Info(context.Background())
	if err != nil || in.Endpoint != f.base || len(in.Queues) != 1 || in.Queues[0].Name != "fakeq" || !slices.Equal(in.APIVersions, []string{"1.1"}) {
		t.Errorf("info: %+v %v", in, err)
	}
	f.locked(func() { f.refuse = true })
	p, err = c.Ping(context.Background())
	if err != nil || !p.Reachable || p.Admitted || !strings.Contains(p.Problem, "403") || !strings.Contains(p.Hint, "token check") {
		t.Errorf("a refused ping: %+v %v", p, err)
	}
	if _, err := c.Status(context.Background(), []string{noSuchID}); !errors.As(err, new(*AuthError)) {
		t.Errorf("a refusal is an auth error: %v", err)
	}
}
