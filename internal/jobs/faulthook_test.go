package jobs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
)

// TestFaultHookDiesAfterRequest: with CESUB_TEST_FAULT=die-after-request:2
// the process is SIGKILLed once the CE answered the second request, before
// that answer is recorded: the first batch is on the job list, the second
// only as its pending row, owned by a process that is gone.
func TestFaultHookDiesAfterRequest(t *testing.T) {
	if path := os.Getenv("CESUB_FAULTHOOK_CHILD"); path != "" {
		faultChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultHookDiesAfterRequest$")
	keys := filepath.Join(t.TempDir(), "keys")
	cmd.Env = append(os.Environ(), "CESUB_FAULTHOOK_CHILD="+path, "CESUB_TEST_FAULT=die-after-request:2", "CESUB_TEST_KEYS="+keys)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not SIGKILLed: %v\n%s", err, out)
	}
	ctx := context.Background()
	st, err := jobstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ids := localIDs(t, st); len(ids) != 2 {
		t.Fatalf("on record: %v, want the first batch's 2 jobs", ids)
	}
	rows, err := st.ListPending(ctx, "")
	if err != nil || len(rows) != 1 || rows[0].Jobs != 2 || rows[0].Owner.PID != cmd.Process.Pid {
		t.Fatalf("pending: %+v %v", rows, err)
	}
	if alive, ok := rows[0].Owner.Alive(); alive || !ok {
		t.Fatalf("the killed owner counts as alive: %v %v", alive, ok)
	}
	logged, err := os.ReadFile(keys)
	lines := strings.Split(strings.TrimSpace(string(logged)), "\n")
	if err != nil || len(lines) != 2 || lines[1] != rows[0].Key+" jobstest://h:7777" {
		t.Fatalf("CESUB_TEST_KEYS: %q %v (want the two requests sent, the second %s)", logged, err, rows[0].Key)
	}
}

// faultChild submits three batches of two jobs to a fake CE (the hook
// kills it at the second).
func faultChild(t *testing.T, path string) {
	ctx := context.Background()
	st, err := jobstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	cetest.Register(ce.Backends, "jobstest", "jobstest", cetest.NewFake("", "jobstest"))
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	s := &Submitter{Addr: fakeAddr, Backend: fake, Store: st, BatchSize: 2}
	_, _ = s.Submit(ctx, []Batch{{Jobs: someJobs("a", "b", "c", "d", "e", "f")}})
	t.Fatal("the fault hook did not kill the process")
}

func TestLoadFaultHook(t *testing.T) {
	t.Setenv("CESUB_TEST_FAULT", "die-before-commit:3")
	t.Setenv("CESUB_TEST_NO_PENDING", "1")
	h := loadFaultHook()
	if h.beforeCommit != 3 || h.afterRequest != 0 || !h.noPending {
		t.Fatalf("%+v", h)
	}
	t.Setenv("CESUB_TEST_FAULT", "die-after-request:x")
	t.Setenv("CESUB_TEST_NO_PENDING", "")
	if h := loadFaultHook(); h.afterRequest != 0 || h.noPending {
		t.Fatalf("%+v", h)
	}
}

// TestNoPendingSwitch: CESUB_TEST_NO_PENDING=1 writes nothing ahead.
func TestNoPendingSwitch(t *testing.T) {
	t.Setenv("CESUB_TEST_NO_PENDING", "1")
	w := newWorld(t)
	ctx := context.Background()
	fake := cetest.NewFake("jobstest://h:7777", "jobstest")
	var seen int
	s := w.submitter(t, &hookCE{Fake: fake, before: func(ce.SubmitOptions) {
		rows, _ := w.store.ListPending(ctx, "")
		seen += len(rows)
	}})
	if res, err := s.Submit(ctx, []Batch{{Jobs: someJobs("a")}}); err != nil || res.OK != 1 || seen != 0 {
		t.Fatalf("%+v %v, %d rows seen", res, err, seen)
	}
}
