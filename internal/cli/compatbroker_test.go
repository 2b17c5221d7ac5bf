package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
)

// TestArcsubBrokers: arcsub given two CEs sends each job to one of them,
// as ARC 6 and 7 do: CE by CE in the order given (Random shuffles a CE's
// queues, not the CEs), a job the first does not fit going on to the
// next: a job needing a runtime environment only the second has goes
// there, after ARC's error line for the first; one no CE has is sent
// nowhere, exit 1, ARC's line once per CE (the reasons at -d INFO); jobs
// both fit all go to the first; an unknown broker is ARC's error, exit 1.
func TestArcsubBrokers(t *testing.T) {
	// two flavours, one fake each: "a" without runtime environments, "b" with ENV/PROXY
	fakes := map[string]*cetest.Fake{}
	for _, n := range []string{"a", "b"} {
		f := cetest.NewFake("", ce.Flavour("broker"+n))
		cetest.Register(ce.Backends, ce.Flavour("broker"+n), "broker"+n, f)
		in := &ce.Info{GLUE2: true, HealthState: "ok", Queues: []ce.Queue{{Name: "q"}}}
		if n == "b" {
			in.RuntimeEnvironments = []string{"ENV/PROXY"}
		}
		f.InfoFunc = func(context.Context) (*ce.Info, error) { return in, nil }
		fakes[n] = f
	}
	vars, home := arcVars(t)
	k := mintKey(t)
	vars["BEARER_TOKEN"] = mint(t, k, testissuer.Claims{Audience: []string{"brokera://ce:7777", "brokerb://ce:7777"}, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	args := []string{"-C", "brokera://ce", "-C", "brokerb://ce"}
	// a job only b fits: one submission, one id
	r := runTool(t, vars, "arcsub", append(args, "-d", "DEBUG", "-e", `&(executable="/bin/true")(runtimeenvironment="ENV/PROXY")`)...)
	if r.code != 0 || strings.Count(r.out, "Job submitted with jobid: ") != 1 || strings.Count(r.err, "ERROR: One or multiple job descriptions was not submitted.") != 1 || len(fakes["b"].Jobs()) != 1 || len(fakes["a"].Jobs()) != 0 ||
		!strings.Contains(r.err, "chose brokerb://ce") || !strings.Contains(r.err, "brokera://ce (queue q): the job requires runtime environment ENV/PROXY") {
		t.Fatalf("arcsub: %d out %q err %q", r.code, r.out, r.err)
	}
	if jobs, _ := arcjoblist.Read(context.Background(), arcjoblist.DefaultPath(home)); len(jobs) != 1 {
		t.Errorf("ARC's job list has %d jobs", len(jobs))
	}
	// no CE fits
	r = runTool(t, vars, "arcsub", append(args, "-d", "INFO", "-e", `&(executable="/bin/true")(runtimeenvironment="APPS/NONE-1.0")`)...)
	if r.code != 1 || strings.Contains(r.out, "Job submitted") || len(fakes["a"].Jobs())+len(fakes["b"].Jobs()) != 1 ||
		strings.Count(r.err, "ERROR: One or multiple job descriptions was not submitted.") != 2 || !strings.Contains(r.err, "not submitted (broker Random)") {
		t.Errorf("no CE fits: %d out %q err %q", r.code, r.out, r.err)
	}
	for range 5 {
		if r = runTool(t, vars, "arcsub", append(args, "-e", `&(executable="/bin/true")`)...); r.code != 0 {
			t.Fatalf("plain job: %d %q", r.code, r.err)
		}
	}
	if a, b := len(fakes["a"].Jobs()), len(fakes["b"].Jobs()); a != 5 || b != 1 {
		t.Errorf("5 jobs both CEs fit: %d to the first -C, %d more to the second", a, b-1)
	}
	r = runTool(t, vars, "arcsub", append(args, "-b", "Nope", "-e", `&(executable="/bin/true")`)...)
	if r.code != 1 || !strings.Contains(r.err, "ERROR: Unable to load broker Nope") {
		t.Errorf("-b Nope: %d %q", r.code, r.err)
	}
}
