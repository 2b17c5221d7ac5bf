package emies

// The EMI-ES backend against the fake EMI-ES service (fake_test.go): the
// common backend contract, and each operation with what the fake received.

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/x509proxy"
)

const fakeUnknownID = "NoSuchJobAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func TestConformanceFakeEMIES(t *testing.T) {
	f, c := newFakeEMIES(t)
	jobs := parseXRSL(t, `+(&(executable="/bin/sleep")(arguments="120")(jobname="conf-a"))(&(executable="/bin/sleep")(arguments="120")(jobname="conf-b"))`)
	cetest.Conformance(t, cetest.Harness{Backend: c, Flavour: ce.EMIES, Jobs: jobs, UnknownID: fakeUnknownID, CleanWithin: 30 * time.Second})
	ops := f.opsSeen()
	for _, op := range []string{"ListActivities", "GetResourceInfo", "CreateActivity", "GetActivityStatus", "CancelActivity", "WipeActivity"} {
		if !slices.Contains(ops, op) {
			t.Errorf("the fake never received %s: %v", op, ops)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.acts) != 0 {
		t.Errorf("the suite cleaned its jobs, the fake still holds %d", len(f.acts))
	}
	if len(f.authz) != 1 || !f.authz["Bearer fake-emies-token"] {
		t.Errorf("every request carries the bearer token; the fake saw %v", f.authz)
	}
}

// Inputs go to the StageInDirectory the CE answered, then client-datapush-done.
func TestFakeEMIESSubmitUploadsAndNotifies(t *testing.T) {
	f, c := newFakeEMIES(t)
	dir := t.TempDir()
	if err := writeFile(filepath.Join(dir, "in.txt"), "input data"); err != nil {
		t.Fatal(err)
	}
	jobs := parseXRSL(t, `+(&(executable="/bin/cat")(arguments="in.txt")(inputfiles=("in.txt" ""))(jobname="with-input"))(&(executable="/bin/true")(jobname="plain"))`)
	var created []ce.Result
	res, err := c.Submit(context.Background(), jobs, ce.SubmitOptions{BaseDir: dir, DelegationID: "deleg7",
		Created: func(rs []ce.Result) { created = rs }})
	if err != nil || len(res) != 2 || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("submit: %v %+v", err, res)
	}
	if len(created) != 2 || created[0].ID != res[0].ID {
		t.Errorf("the created jobs were not announced before the uploads: %+v", created)
	}
	withInput, _ := f.activity(res[0].Job.LocalID)
	plain, _ := f.activity(res[1].Job.LocalID)
	if !withInput.dataPush || plain.dataPush || withInput.name != "with-input" || withInput.delegation != "deleg7" {
		t.Errorf("CreateActivity carried push %v/%v, name %q, delegation %q", withInput.dataPush, plain.dataPush, withInput.name, withInput.delegation)
	}
	if withInput.files["in.txt"] != "input data" || !withInput.notified || plain.notified {
		t.Errorf("uploaded %q, notified %v (plain job notified %v)", withInput.files["in.txt"], withInput.notified, plain.notified)
	}
	if res[0].ID != f.base+"/"+res[0].Job.LocalID || res[0].Job.Name != "with-input" || res[0].Job.State != ce.StatePreparing {
		t.Errorf("result: %+v", res[0].Job)
	}
}

// More than 10 jobs take several CreateActivity calls; a call the CE
// refuses as a whole fails its jobs with the fault.
func TestFakeEMIESSubmitBatchesAndFaults(t *testing.T) {
	f, c := newFakeEMIES(t)
	jobs := make([]jobdesc.Job, 12)
	for i := range jobs {
		jobs[i] = jobdesc.Job{Executable: jobdesc.Executable{Path: "/bin/true"}}
	}
	res, err := c.Submit(context.Background(), jobs, ce.SubmitOptions{})
	if err != nil || len(res) != 12 {
		t.Fatalf("%v %d", err, len(res))
	}
	n := 0
	for _, op := range f.opsSeen() {
		if op == "CreateActivity" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("12 jobs in %d CreateActivity calls, want 2", n)
	}
	f.locked(func() { f.faults["CreateActivity"] = "AccessControlFault" })
	_, err = c.Submit(context.Background(), jobs[:1], ce.SubmitOptions{})
	var ae *arexhttp.AuthError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "EMI-ES CreateActivity") {
		t.Errorf("an access control fault is an auth error naming the operation: %v", err)
	}
	if _, err := c.Submit(context.Background(), jobs[:1], ce.SubmitOptions{Instances: 2}); err == nil || !strings.Contains(err.Error(), "instances") {
		t.Errorf("--instances on EMI-ES: %v", err)
	}
}

// Status takes the grid manager's current state over EMI-ES's stale one,
// and reads failure reasons and exit codes of finished jobs.
func TestFakeEMIESStatusRefresh(t *testing.T) {
	f, c := newFakeEMIES(t)
	jobs := make([]jobdesc.Job, 3)
	for i := range jobs {
		jobs[i] = jobdesc.Job{Executable: jobdesc.Executable{Path: "/bin/true"}}
	}
	ctx := context.Background()
	res, err := c.Submit(ctx, jobs, ce.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return res[i].Job.LocalID }
	f.setActivity(id(0), func(a *fakeActivity) { a.gm = "INLRMS" })
	f.setActivity(id(1), func(a *fakeActivity) {
		a.gm, a.failed, a.diag = "FINISHED", "LRMS error: (1) Job failed", "nodename=wn1\nexitcode=3\n"
	})
	f.setActivity(id(2), func(a *fakeActivity) {
		a.status = esStatus{Status: "terminal"}
		a.gm, a.diag = "FINISHED", "exitcode=0\nnodename=wn2\n"
	})
	st, err := c.Details(ctx, []string{id(0), id(1), id(2)})
	if err != nil || len(st) != 3 {
		t.Fatalf("%v %+v", err, st)
	}
	if j := st[0].Job; j.State != ce.StateRunning || j.RawState != "INLRMS" {
		t.Errorf("a job the grid manager runs: %s (%s)", j.State, j.RawState)
	}
	if j := st[1].Job; j.State != ce.StateFailed || len(j.Errors) != 1 || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("a failed job: %s %v exit %v", j.State, j.Errors, j.ExitCode)
	}
	if j := st[2].Job; j.State != ce.StateFinished || j.ExitCode == nil || *j.ExitCode != 0 || j.Details == nil ||
		!slices.Equal(j.Details.ExecutionNodes, []string{"wn2"}) || j.Details.Queue != "fakeq" || j.Details.BatchID != id(2) {
		t.Errorf("a finished job: %s exit %v details %+v", j.State, j.ExitCode, j.Details)
	}
	f.locked(func() { f.refuse = true })
	if _, err := c.Status(ctx, []string{id(0)}); !isAuth(err) {
		t.Errorf("an identity the CE cannot map: %v", err)
	}
}

func isAuth(err error) bool {
	var ae *arexhttp.AuthError
	return errors.As(err, &ae)
}

// Cancel, wipe and restart answer per activity with the CE's faults.
func TestFakeEMIESManage(t *testing.T) {
	f, c := newFakeEMIES(t)
	ctx := context.Background()
	res, err := c.Submit(ctx, []jobdesc.Job{{Executable: jobdesc.Executable{Path: "/bin/true"}}}, ce.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].Job.LocalID
	out, err := c.Clean(ctx, []string{id, fakeUnknownID})
	if err != nil || len(out) != 2 || !isFault(out[0].Err, "OperationNotAllowedFault") || !errors.Is(out[1].Err, ce.ErrNotFound) {
		t.Fatalf("wipe of a running and an unknown job: %v %+v", err, out)
	}
	if out, _ := c.Restart(ctx, []string{id}); !isFault(out[0].Err, "OperationNotAllowedFault") {
		t.Errorf("restart of a job that has not failed: %+v", out)
	}
	f.setActivity(id, func(a *fakeActivity) { a.status = esStatus{Status: "terminal", Attributes: []string{"app-failure"}} })
	if out, err := c.Restart(ctx, []string{id}); err != nil || out[0].Err != nil || out[0].ID != c.JobID(id) {
		t.Fatalf("restart of a failed job: %v %+v", err, out)
	}
	if a, _ := f.activity(id); a.gm != "INLRMS" {
		t.Errorf("the fake did not restart the job: %+v", a)
	}
	f.locked(func() { f.faults["CancelActivity"] = "InternalBaseFault" })
	if _, err := c.Kill(ctx, []string{id}); !isFault(err, "InternalBaseFault") {
		t.Errorf("a whole-call fault: %v", err)
	}
}

// ListActivities answers at most listLimit ids: the backend splits the
// time window until each fits, then names the jobs from GetActivityInfo.
func TestFakeEMIESListSplitsWindows(t *testing.T) {
	f, c := newFakeEMIES(t)
	ctx := context.Background()
	jobs := []jobdesc.Job{{Name: "j2010"}, {Name: "j2015"}, {Name: "j2020"}}
	for i := range jobs {
		jobs[i].Executable.Path = "/bin/true"
	}
	res, err := c.Submit(ctx, jobs, ce.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, year := range []int{2010, 2015, 2020} {
		f.setActivity(res[i].Job.LocalID, func(a *fakeActivity) { a.created = time.Date(year, 3, 1, 0, 0, 0, 0, time.UTC) })
	}
	f.locked(func() { f.listLimit = 1 })
	list, err := c.List(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %v %+v", err, list)
	}
	for _, j := range list {
		if j.Submitted == nil || j.Name != "j"+j.Submitted.Format("2006") {
			t.Errorf("listed %s named %q submitted %v", j.LocalID, j.Name, j.Submitted)
		}
	}
	if n := strings.Count(strings.Join(f.opsSeen(), " "), "ListActivities"); n < 5 {
		t.Errorf("3 jobs, 1 per answer, listed in %d calls", n)
	}
	// two jobs in one second cannot be told apart by time
	f.setActivity(res[0].Job.LocalID, func(a *fakeActivity) { a.created = time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC) })
	if _, err := c.List(ctx); err == nil || !strings.Contains(err.Error(), "more jobs were created between") {
		t.Errorf("a window the CE cannot list: %v", err)
	}
}

// Ping and Info read GetResourceInfo; refusals and a service that is not
// EMI-ES come back as a result with a hint.
func TestFakeEMIESPingInfo(t *testing.T) {
	f, c := newFakeEMIES(t)
	ctx := context.Background()
	p, err := c.Ping(ctx)
	if err != nil || !p.Admitted || p.Implementation != "fake-arex" || p.Version != "6.17.0" || !slices.Equal(p.APIVersions, []string{"1.16"}) ||
		!strings.Contains(p.TLS, "TLS") || !strings.Contains(p.Identity, "bearer token") {
		t.Fatalf("ping: %+v %v", p, err)
	}
	in, err := c.Info(ctx)
	if err != nil || len(in.Queues) != 1 || in.Queues[0].Name != "fakeq" || in.Queues[0].MaxWallTime != 3600 || in.Endpoint != f.base {
		t.Fatalf("info: %+v %v", in, err)
	}
	f.locked(func() { f.refuse = true })
	p, err = c.Ping(ctx)
	if err != nil || p.Admitted || !p.Reachable || !strings.Contains(p.Hint, "token check") {
		t.Errorf("refused ping: %+v %v", p, err)
	}
	f.locked(func() { f.refuse = false })
	f.locked(func() { f.faults["ListActivities"] = "InternalBaseFault" })
	p, err = c.Ping(ctx)
	if err != nil || !p.Unsupported || !strings.Contains(p.Hint, "REST interface") {
		t.Errorf("ping of a service that does not serve EMI-ES: %+v %v", p, err)
	}
}

// The session directory: uploads, cat, the job log and a whole download.
func TestFakeEMIESSessionFiles(t *testing.T) {
	f, c := newFakeEMIES(t)
	ctx := context.Background()
	res, err := c.Submit(ctx, []jobdesc.Job{{Executable: jobdesc.Executable{Path: "/bin/true"}}}, ce.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].Job.LocalID
	f.setActivity(id, func(a *fakeActivity) {
		a.files["out.txt"], a.files["sub/data.bin"], a.files["a&b"] = "hello\n", strings.Repeat("x", 5000), "amp"
	})
	var b bytes.Buffer
	if err := c.Cat(ctx, id, "out.txt", &b); err != nil || b.String() != "hello\n" {
		t.Errorf("cat: %q %v", b.String(), err)
	}
	if err := c.Cat(ctx, id, "nosuch", &b); !errors.Is(err, ce.ErrNotFound) {
		t.Errorf("cat of a missing file: %v", err)
	}
	b.Reset()
	if err := c.JobLog(ctx, id, &b); err != nil || !strings.Contains(b.String(), id) {
		t.Errorf("job log: %q %v", b.String(), err)
	}
	if err := c.JobLog(ctx, fakeUnknownID, &b); !errors.Is(err, ce.ErrNotFound) {
		t.Errorf("job log of an unknown job: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "job")
	got, err := c.Get(ctx, id, ce.GetOptions{Dir: dir})
	if err != nil || got.Files != 3 || got.Bytes != 5009 {
		t.Fatalf("get: %+v %v", got, err)
	}
	for name, want := range map[string]string{"out.txt": "hello\n", "sub/data.bin": strings.Repeat("x", 5000), "a&b": "amp"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(data) != want {
			t.Errorf("%s: %d bytes, %v", name, len(data), err)
		}
	}
	if _, err := c.Get(ctx, fakeUnknownID, ce.GetOptions{Dir: filepath.Join(t.TempDir(), "gone")}); !errors.Is(err, ce.ErrNotFound) {
		t.Errorf("get of an unknown job: %v", err)
	}
}

// Delegation: the fake receives a proxy for its request's key, signed by
// the user, with the lifetime asked; renewal keeps the id.
func TestFakeEMIESDelegation(t *testing.T) {
	f, c := newFakeEMIES(t)
	ctx := context.Background()
	user := f.ca.User(t, "fake user")
	sign := func(csr []byte) ([]byte, error) {
		return x509proxy.SignRequest(user, csr, x509proxy.Options{Lifetime: 3 * time.Hour})
	}
	d, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: sign})
	if err != nil || d.Type != ce.DelegateX509 || d.ID == "" {
		t.Fatalf("delegate: %+v %v", d, err)
	}
	proxy := storedProxy(t, f, d.ID)
	if left := time.Until(proxy.NotAfter); left < 3*time.Hour-5*time.Minute || left > 3*time.Hour+time.Minute {
		t.Errorf("the proxy lives %s, 3h asked", left)
	}
	stored := func() (p []byte) {
		f.locked(func() { p = f.delegations[d.ID].proxy })
		return p
	}
	first := stored()
	r, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: sign, RenewID: d.ID})
	if err != nil || r.ID != d.ID || bytes.Equal(stored(), first) {
		t.Fatalf("renew: %+v %v (a new chain stored: %v)", r, err, !bytes.Equal(stored(), first))
	}
	if _, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: sign, RenewID: "nosuch"}); !isFault(err, "UnknownDelegationIDFault") {
		t.Errorf("renewal of an unknown delegation: %v", err)
	}
	other := cetest.NewFakeCA(t).User(t, "stranger")
	_, err = c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: func(csr []byte) ([]byte, error) {
		return x509proxy.SignRequest(other, csr, x509proxy.Options{})
	}})
	var refused []error
	f.locked(func() { refused = f.putErrors })
	if !isFault(err, "InternalServiceDelegationFault") || len(refused) != 1 || !strings.Contains(refused[0].Error(), "not from the CA") {
		t.Errorf("a proxy of a user of another CA: %v (fake: %v)", err, refused)
	}
	if _, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateToken}); err == nil || !strings.Contains(err.Error(), "X.509 proxies only") {
		t.Errorf("token delegation over EMI-ES: %v", err)
	}
	if _, err := c.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509}); err == nil {
		t.Errorf("X.509 delegation without a signer succeeded")
	}
}

// storedProxy checks again what the fake stored for delegation id.
func storedProxy(t *testing.T, f *fakeService, id string) *x509.Certificate {
	t.Helper()
	f.mu.Lock()
	d := f.delegations[id]
	f.mu.Unlock()
	if d == nil || d.proxy == nil {
		t.Fatalf("the fake stored no proxy for %s", id)
	}
	p, err := f.ca.CheckDelegated(d.proxy, d.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
