package cli

import (
	"context"
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

// TestTestCommandWithFakeCEs: `cesub test` over in-memory CEs: one passes
// with its test job (finished by the fake as it is polled), one is down,
// one refuses the credential; two failed CEs exit 1 (not 2, a usage
// error, as the count did); the usage errors exit 2.
func TestTestCommandWithFakeCEs(t *testing.T) {
	good := cetest.NewFake("", "citest")
	cetest.Register(ce.Backends, "citest", "citest", good)
	good.AutoFinish = true
	down := cetest.NewFake("", "citestdown")
	down.PingFunc = func(context.Context) (*ce.PingResult, error) {
		return &ce.PingResult{Reachable: false, Problem: "nothing listens on h:7777"}, nil
	}
	cetest.Register(ce.Backends, "citestdown", "citestdown", down)
	refusing := cetest.NewFake("", "citestno")
	refusing.PingFunc = func(context.Context) (*ce.PingResult, error) {
		return &ce.PingResult{Reachable: true, Admitted: false, Problem: "403 the CE refused this identity"}, nil
	}
	cetest.Register(ce.Backends, "citestno", "citestno", refusing)

	k := mintKey(t)
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tok")
	_ = os.WriteFile(tokFile, []byte(mint(t, k, testissuer.Claims{Audience: []string{"https://wlcg.cern.ch/jwt/v1/any"}, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "hello.xrsl"), []byte(`&(executable=/bin/echo)(arguments=hello)(stdout=out.txt)`), 0o644)
	eps := filepath.Join(dir, "eps.yaml")
	_ = os.WriteFile(eps, []byte(`defaults:
  token: {source: file, file: tok}
endpoints:
  - {name: good, ce: "citest://good", job: {file: hello.xrsl, expect: hello, timeout: 30s}}
  - {name: down, ce: "citestdown://down"}
  - {name: refusing, ce: "citestno://no"}
  - {name: later, ce: "citest://later", skip: true}
`), 0o644)
	list := filepath.Join(dir, "jobs.db")
	r := run(t, nil, "test", "-E", eps, "-j", list, "-o", "json", "--junit", filepath.Join(dir, "out.xml"))
	var res struct {
		Passed, Failed int
		Endpoints      []struct {
			Name, Reason string
			OK, Skipped  bool
		}
	}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 1 || res.Passed != 1 || res.Failed != 2 {
		t.Fatalf("exit %d passed %d failed %d: %v\n%s\n%s", r.code, res.Passed, res.Failed, err, r.out, r.err)
	}
	for _, e := range res.Endpoints {
		want := map[string]string{"down": "reach: not reachable: nothing listens", "refusing": "auth: refused: 403"}[e.Name]
		if want != "" && !strings.HasPrefix(e.Reason, want) || e.Name == "later" && !e.Skipped {
			t.Errorf("%s: %+v", e.Name, e)
		}
	}
	if len(good.Jobs()) != 0 {
		t.Errorf("the test job was not cleaned: %v", good.Jobs())
	}
	if x, err := os.ReadFile(filepath.Join(dir, "out.xml")); err != nil || !strings.Contains(string(x), `<testsuites name="cesub test" tests="4" failures="2"`) ||
		!strings.Contains(string(x), `<skipped message=`) {
		t.Errorf("junit: %v\n%s", err, x)
	}
	r = run(t, nil, "test", "-E", eps, "-j", list)
	if r.code != 1 || !strings.Contains(r.out, "down: reach: not reachable") || !strings.Contains(r.out, "PASS") {
		t.Errorf("table: %d\n%s", r.code, r.out)
	}
	for _, args := range [][]string{{"test"}, {"test", "-E", eps, "-C", "x"}, {"test", "-E", filepath.Join(dir, "none.yaml")},
		{"status", "-a", "-o", "markdown"}} {
		if r := run(t, nil, append(args, "-j", list)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.err)
		}
	}
}

// TestTestJobFromStdin: `cesub test --job -` reads the test job from stdin
// once and runs it on every CE, as `submit -f -` does.
func TestTestJobFromStdin(t *testing.T) {
	a := cetest.NewFake("", "citestin") // both CEs: the fake serves any address
	a.AutoFinish = true
	cetest.Register(ce.Backends, "citestin", "citestin", a)
	dir := t.TempDir()
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{"https://wlcg.cern.ch/jwt/v1/any"}, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	vars := map[string]string{"BEARER_TOKEN": tok}
	r := runIn(t, vars, `&(executable=/bin/echo)(arguments=hello)(stdout=out.txt)`,
		"test", "-C", "citestin://one", "-C", "citestin://two", "--job", "-", "--expect", "hello", "-j", filepath.Join(dir, "jobs.db"), "-o", "json")
	var res struct{ Passed, Failed int }
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 0 || res.Passed != 2 {
		t.Fatalf("test --job - < xrsl: exit %d, %+v (%v)\nstdout %s\nstderr %s", r.code, res, err, r.out, r.err)
	}
}
