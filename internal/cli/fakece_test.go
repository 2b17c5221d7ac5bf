package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
)

// TestTestOnlyFlavour: a CE flavour registered only here, in a test (the
// in-memory cetest.Fake, addressed as testce://host), works with every job
// command, token check and completion: adding a flavour needs its own
// package and a registration, nothing in the CLI, the address parser or the
// token checks. It also runs each job command's success and failure paths
// without a real CE.
func TestTestOnlyFlavour(t *testing.T) {
	fake := cetest.NewFake("", "testce")
	cetest.Register(ce.Backends, "testce", "testce", fake)
	k := mintKey(t)
	tok := mint(t, k, testissuer.Claims{Audience: []string{"testce://ce.example:7777"}, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	work := t.TempDir()
	vars := map[string]string{"BEARER_TOKEN": tok}
	list := filepath.Join(work, "jobs.db")
	ceArg := "testce://ce.example"
	do := func(want int, args ...string) result {
		t.Helper()
		r := run(t, vars, append(args, "-j", list)...)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, r.code, want, r.out, r.err)
		}
		return r
	}
	r := do(0, "submit", "-C", ceArg, "-o", "json", "-e", `+(&(executable="/bin/echo")(arguments="one")(jobname="a"))(&(executable="/bin/echo")(arguments="two")(jobname="b"))`)
	var sub struct{ Jobs []struct{ ID, Name string } }
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 2 || !strings.HasPrefix(sub.Jobs[0].ID, "testce://ce.example:7777/jobs/") {
		t.Fatalf("submit: %v %s", err, r.out)
	}
	a, b := sub.Jobs[0].ID, sub.Jobs[1].ID
	if got := strings.Join(fake.Calls(), ","); !strings.Contains(got, "submit 2") {
		t.Errorf("not one submission of both jobs: %s", got)
	}
	r = do(0, "status", "-a")
	if !strings.Contains(r.out, "QUEUING") || !strings.Contains(r.out, "fake:QUEUING") {
		t.Errorf("status: %s", r.out)
	}
	fake.SetState("job1", ce.StateFinished, new(int))
	r = do(0, "status", "-l", "a") // by name
	for _, w := range []string{"Job: " + a, "FINISHED", "Batch id:        b-job1", "Node:            node1", "Wall time:       7s"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("status -l lacks %q:\n%s", w, r.out)
		}
	}
	do(0, "status", "-a", "--state", "finished", "-o", "json")
	if r = do(0, "cat", "job1"); r.out != "one\n" { // by bare id
		t.Errorf("cat: %q", r.out)
	}
	dl := filepath.Join(work, "dl")
	do(0, "get", a, "-D", dl, "-k")
	if got, err := os.ReadFile(filepath.Join(dl, "job1", "stdout")); err != nil || string(got) != "one\n" {
		t.Errorf("get: %q %v", got, err)
	}
	do(0, "hold", b)
	if r = do(0, "status", b, "-o", "json"); !strings.Contains(r.out, `"state": "HELD"`) {
		t.Errorf("after hold: %s", r.out)
	}
	do(0, "release", b)
	do(0, "kill", b)
	do(0, "resume", b)
	do(0, "info", "-C", ceArg)
	if r = do(0, "ping", "-C", ceArg, "-o", "json"); !strings.Contains(r.out, `"admitted": true`) {
		t.Errorf("ping: %s", r.out)
	}
	// the token check reads the audience and scopes the flavour registered
	if r = do(0, "token", "check", "--ce", ceArg, "-o", "json"); !strings.Contains(r.out, `"flavour": "testce"`) {
		t.Errorf("token check: %s", r.out)
	}
	wrong := mint(t, k, testissuer.Claims{Audience: []string{"https://elsewhere"}, Lifetime: time.Hour, Scope: "compute.read"})
	if r = run(t, map[string]string{"BEARER_TOKEN": wrong}, "token", "check", "--ce", ceArg); r.code != 4 || !strings.Contains(r.out+r.err, "testce://ce.example:7777") {
		t.Errorf("token check with the wrong audience: %d %s %s", r.code, r.out, r.err)
	}
	// sync into a fresh list finds both jobs once
	fresh := filepath.Join(work, "fresh.db")
	for i := 0; i < 2; i++ {
		r = run(t, vars, "sync", "-C", ceArg, "-j", fresh, "-o", "json")
		if r.code != 0 || !strings.Contains(r.out, `"found": 2`) {
			t.Fatalf("sync %d: %d %s %s", i, r.code, r.out, r.err)
		}
	}
	do(0, "clean", "-a")
	if len(fake.Jobs()) != 0 {
		t.Errorf("clean -a left %d jobs on the CE", len(fake.Jobs()))
	}
	// a CE that no longer has the jobs: status names them, exit 1
	do(0, "submit", "-C", ceArg, "-e", `&(executable="/bin/true")`)
	for id := range fake.Jobs() {
		_, _ = fake.Clean(t.Context(), []string{id})
	}
	if r = do(1, "status", "-a"); !strings.Contains(r.err, "not found") {
		t.Errorf("status of jobs the CE lost: %s", r.err)
	}
	do(0, "clean", "-a", "--forget")
	// completion offers the registered flavours
	if r = run(t, nil, "__complete", "submit", "--flavour", ""); !strings.Contains(r.out, "testce") || !strings.Contains(r.out, "htcondor") {
		t.Errorf("flavour completion: %s", r.out)
	}
}
