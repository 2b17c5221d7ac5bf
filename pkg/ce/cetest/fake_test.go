package cetest

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// TestFakeConforms: the fake keeps the contract every flavour keeps.
func TestFakeConforms(t *testing.T) {
	reg := &ce.Registry{}
	fake := NewFake("fake://ce.example:7777", "fake")
	Register(reg, "fake", "fake", fake)
	jobs := []jobdesc.Job{{Name: "a", Executable: jobdesc.Executable{Path: "/bin/echo", Args: []string{"1"}}},
		{Name: "b", Executable: jobdesc.Executable{Path: "/bin/echo", Args: []string{"2"}}}}
	Conformance(t, Harness{Backend: fake, Flavour: "fake", Jobs: jobs, UnknownID: "job999", Registry: reg})
	if got := strings.Join(fake.Calls(), ","); !strings.Contains(got, "submit 2") || !strings.Contains(got, "kill 2") {
		t.Errorf("calls: %s", got)
	}
}

func TestFakeBehaviour(t *testing.T) {
	ctx := context.Background()
	fake := NewFake("fake://h:1", "fake")
	rs, err := fake.Submit(ctx, []jobdesc.Job{{Executable: jobdesc.Executable{Args: []string{"hi", "there"}}, Stdout: "out.txt"}}, ce.SubmitOptions{Instances: 2})
	if err != nil || len(rs) != 2 {
		t.Fatalf("instances: %v %v", rs, err)
	}
	var buf bytes.Buffer
	if err := fake.Cat(ctx, "job1", "out.txt", &buf); err != nil || buf.String() != "hi there\n" {
		t.Errorf("cat: %q %v", buf.String(), err)
	}
	if err := fake.Cat(ctx, "job1", "nope", &buf); !errors.Is(err, ce.ErrNotFound) {
		t.Errorf("cat of a missing file: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "d")
	if g, err := fake.Get(ctx, "job2", ce.GetOptions{Dir: dir}); err != nil || g.Files != 1 {
		t.Errorf("get: %+v %v", g, err)
	}
	fake.SetState("job1", ce.StateFinished, nil)
	if rs, _ := fake.Details(ctx, []string{"job1"}); rs[0].Job.State != ce.StateFinished || rs[0].Job.Details.BatchID != "b-job1" {
		t.Errorf("details: %+v", rs[0].Job)
	}
	if rs, _ := fake.Hold(ctx, []string{"job2"}); rs[0].Job.State != ce.StateHeld {
		t.Errorf("hold: %+v", rs[0].Job)
	}
	fake.StatusFunc = func(context.Context, []string) ([]ce.Result, error) { return nil, errors.New("down") }
	if _, err := fake.Status(ctx, []string{"job1"}); err == nil {
		t.Error("StatusFunc not used")
	}
	if e, l, ok := ParseJobID(fake.JobID("job1")); !ok || e != "fake://h:1" || l != "job1" {
		t.Errorf("ParseJobID: %s %s %v", e, l, ok)
	}
}
