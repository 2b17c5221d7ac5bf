package jobstore

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPendingLifecycle(t *testing.T) { eachStore(t, testPendingLifecycle) }

func testPendingLifecycle(t *testing.T, name string) {
	ctx := context.Background()
	s, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	self := Self()
	for _, p := range []Pending{
		{Key: "k1", CE: "https://a/arex", Flavour: "arc", Jobs: 3, Owner: self},
		{Key: "k2", CE: "condor://b:9619", Flavour: "htcondor", Jobs: 2, Owner: self, DelegationID: "d1"},
	} {
		if err := s.AddPending(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPendingCluster(ctx, "k2", "85"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPendingCluster(ctx, "k2", "86"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListPending(ctx, "condor://b:9619")
	if err != nil || len(got) != 1 || got[0].Key != "k2" || strings.Join(got[0].Clusters, ",") != "85,86" || got[0].Jobs != 2 ||
		got[0].Owner.PID != os.Getpid() || got[0].Owner.Start != self.Start || got[0].DelegationID != "d1" {
		t.Fatalf("pending of b: %v %+v", err, got)
	}
	if all, _ := s.ListPending(ctx, ""); len(all) != 2 {
		t.Fatalf("all pending: %+v", all)
	}
	// one job of k1 is on record already (announced before the process died)
	j1 := Job{ID: "https://a/arex/rest/1.0/jobs/x1", LocalID: "x1", CE: "https://a/arex", Flavour: "arc", Submitted: time.Now()}
	j2 := Job{ID: "https://a/arex/rest/1.0/jobs/x2", LocalID: "x2", CE: "https://a/arex", Flavour: "arc", Submitted: time.Now()}
	if _, err := s.Add(ctx, j1); err != nil {
		t.Fatal(err)
	}
	n, err := s.ResolvePending(ctx, "k1", j1, j2)
	if err != nil || n != 1 {
		t.Fatalf("resolve k1: %d new, %v; want 1 (x1 was on record)", n, err)
	}
	if left, _ := s.ListPending(ctx, "https://a/arex"); len(left) != 0 {
		t.Fatalf("k1 still pending: %+v", left)
	}
	if jobs, _ := s.List(ctx, Filter{CE: "https://a/arex"}); len(jobs) != 2 {
		t.Fatalf("jobs of a: %+v", jobs)
	}
	if err := s.DropPending(ctx, "k2"); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.ListPending(ctx, ""); len(all) != 0 {
		t.Fatalf("after drop: %+v", all)
	}
}

// TestResolvePendingAtomic: a job that cannot be recorded leaves the row
// pending and no job of it on the list.
func TestResolvePendingAtomic(t *testing.T) { eachStore(t, testResolvePendingAtomic) }

func testResolvePendingAtomic(t *testing.T, name string) {
	ctx := context.Background()
	s, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddPending(ctx, Pending{Key: "k", CE: "https://a/arex", Flavour: "arc", Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	good := Job{ID: "id1", LocalID: "1", CE: "https://a/arex", Flavour: "arc"}
	if _, err := s.ResolvePending(ctx, "k", good, Job{ID: "", CE: "https://a/arex"}); err == nil {
		t.Fatal("a job without an id was accepted")
	}
	if left, _ := s.ListPending(ctx, ""); len(left) != 1 {
		t.Fatalf("the failed resolve cleared the row: %+v", left)
	}
	if jobs, _ := s.List(ctx, Filter{}); len(jobs) != 0 {
		t.Fatalf("the failed resolve recorded %+v", jobs)
	}
}

// oldSchema is the job list as cesub wrote it before pending submissions.
const oldSchema = `
CREATE TABLE jobs (id TEXT PRIMARY KEY, local_id TEXT NOT NULL, ce TEXT NOT NULL, flavour TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '', submitted INTEGER NOT NULL, description TEXT NOT NULL DEFAULT '',
  delegation_id TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '', exit_code INTEGER, updated INTEGER NOT NULL);
CREATE INDEX jobs_ce ON jobs(ce);
CREATE TABLE ces (endpoint TEXT PRIMARY KEY, flavour TEXT NOT NULL, api_version TEXT NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE delegations (ce TEXT NOT NULL, identity TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
  not_after INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (ce, identity, type));
INSERT INTO jobs VALUES ('https://a/arex/rest/1.0/jobs/old', 'old', 'https://a/arex', 'arc', 'n', 1700000000, '{}', '', 'FINISHED', 0, 1700000000);
INSERT INTO ces VALUES ('https://a/arex', 'arc', '1.0', 1700000000);`

// TestMigrateOldList: a list written before the pending table existed
// opens, keeps its rows, and takes pending submissions.
func TestMigrateOldList(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "jobs.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(oldSchema); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("an old list did not open: %v", err)
	}
	defer s.Close()
	jobs, err := s.List(ctx, Filter{})
	if err != nil || len(jobs) != 1 || jobs[0].LocalID != "old" || jobs[0].State != "FINISHED" {
		t.Fatalf("old jobs: %v %+v", err, jobs)
	}
	if v, ok := s.CEVersion(ctx, "https://a/arex"); !ok || v != "1.0" {
		t.Fatalf("old CE version: %q %v", v, ok)
	}
	if err := s.AddPending(ctx, Pending{Key: "k", CE: "https://a/arex", Flavour: "arc", Jobs: 1}); err != nil {
		t.Fatalf("pending on a migrated list: %v", err)
	}
	if p, err := s.ListPending(ctx, "https://a/arex"); err != nil || len(p) != 1 {
		t.Fatalf("pending on a migrated list: %v %+v", err, p)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOwnerAlive(t *testing.T) {
	self := Self()
	if alive, ok := self.Alive(); !alive || !ok {
		t.Fatalf("this process is not alive: %v %v", alive, ok)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	dead := Owner{Host: self.Host, PID: cmd.Process.Pid}
	if alive, ok := dead.Alive(); alive || !ok {
		t.Fatalf("an ended process is alive: %v %v", alive, ok)
	}
	// killed and not yet reaped by its parent: a zombie, not alive
	zombie := exec.Command("sleep", "60")
	if err := zombie.Start(); err != nil {
		t.Skip(err)
	}
	_ = zombie.Process.Signal(syscall.SIGKILL)
	for i := 0; i < 200; i++ {
		if _, st := procStat(zombie.Process.Pid); st == "Z" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	zo := Owner{Host: self.Host, PID: zombie.Process.Pid, Start: procStart(zombie.Process.Pid)}
	if alive, ok := zo.Alive(); alive || !ok {
		t.Errorf("a killed, unreaped owner is alive: %v %v", alive, ok)
	}
	_ = zombie.Wait()
	reused := Owner{Host: self.Host, PID: self.PID, Start: self.Start + 1}
	if alive, _ := reused.Alive(); alive && self.Start != 0 {
		t.Fatal("a pid with another start time counts as the owner")
	}
	if _, ok := (Owner{Host: "elsewhere.invalid", PID: self.PID}).Alive(); ok {
		t.Fatal("a process of another host was judged")
	}
}
