package cli

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// TestPendingRecoveredByNextCommand: a submission a killed cesub wrote
// ahead (the CE made its jobs, the job list has only the pending row) is
// recorded by the next `status -a`, which says so on stderr and in -o
// json, even though no job of that CE was on the list; the jobs of
// another submission to the CE are not; `sync --pending` resolves the rest.
func TestPendingRecoveredByNextCommand(t *testing.T) {
	fake := cetest.NewFake("pendce://ce.example:7777", "pendce")
	cetest.Register(ce.Backends, "pendce", "pendce", fake)
	k := mintKey(t)
	tok := mint(t, k, testissuer.Claims{Audience: []string{"pendce://ce.example:7777"}, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	vars := map[string]string{"BEARER_TOKEN": tok}
	list := filepath.Join(t.TempDir(), "jobs.db")
	ctx := context.Background()
	st, err := jobstore.Open(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip(err)
	}
	owner := jobstore.Self()
	owner.PID, owner.Start = dead.Process.Pid, 0
	// what the killed submit left: jobs on the CE, a row on the list
	lost, other, later := "0123456789abcdef01", "fedcba987654321001", "001122334455667788"
	for key, n := range map[string]int{lost: 2, other: 3, later: 1} {
		if _, err := fake.Submit(ctx, make([]jobdesc.Job, n), ce.SubmitOptions{Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{lost} {
		if err := st.AddPending(ctx, jobstore.Pending{Key: key, CE: "pendce://ce.example:7777", Flavour: "pendce", Jobs: 2,
			Owner: owner, Created: time.Now().Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	r := run(t, vars, "status", "-a", "-o", "json", "-j", list)
	if r.code != 0 || !strings.Contains(r.err, "recorded 2 jobs of 1 interrupted submissions") {
		t.Fatalf("status -a: %d\n%s\n%s", r.code, r.out, r.err)
	}
	var out struct {
		Jobs      []struct{ ID string }
		Recovered []struct {
			Key     string
			Added   int
			Cleared bool
		}
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil || len(out.Jobs) != 2 || len(out.Recovered) != 1 ||
		out.Recovered[0].Key != lost || out.Recovered[0].Added != 2 || !out.Recovered[0].Cleared {
		t.Fatalf("status -a -o json: %v %s", err, r.out)
	}
	r = run(t, vars, "status", "-a", "-o", "json", "-j", list)
	if r.code != 0 || strings.Contains(r.out, "recovered") || strings.Contains(r.err, "interrupted") || strings.Count(r.out, `"id"`) != 2 {
		t.Fatalf("second status -a: %d\n%s\n%s", r.code, r.out, r.err)
	}
	// sync --pending: another row, resolved without any job command
	st, err = jobstore.Open(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddPending(ctx, jobstore.Pending{Key: later, CE: "pendce://ce.example:7777", Flavour: "pendce", Jobs: 1,
		Owner: owner, Created: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	r = run(t, vars, "sync", "--pending", "-o", "json", "-j", list)
	var sp struct {
		Schema      string
		Submissions []struct {
			Key     string
			Found   []string
			Added   int
			Cleared bool
		}
	}
	if err := json.Unmarshal([]byte(r.out), &sp); r.code != 0 || err != nil || sp.Schema != "cesub.sync.pending/v1" || len(sp.Submissions) != 1 ||
		sp.Submissions[0].Key != later || sp.Submissions[0].Added != 1 || !sp.Submissions[0].Cleared {
		t.Fatalf("sync --pending: %d %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	r = run(t, vars, "sync", "--pending", "-j", list)
	if r.code != 0 || !strings.Contains(r.out, "no pending submissions") {
		t.Fatalf("sync --pending with nothing pending: %d\n%s\n%s", r.code, r.out, r.err)
	}
	r = run(t, vars, "status", "-a", "-o", "json", "-j", list)
	if strings.Count(r.out, `"id"`) != 3 {
		t.Fatalf("on the list: %s (want the 3 jobs of the two pending submissions, not the other submission's)", r.out)
	}
}
