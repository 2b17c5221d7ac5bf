package jobstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestAddListUpdateRemove(t *testing.T) { eachStore(t, testAddListUpdateRemove) }

func testAddListUpdateRemove(t *testing.T, name string) {
	ctx := context.Background()
	s, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	j := Job{ID: "https://ce/arex/rest/1.0/jobs/a", LocalID: "a", CE: "https://ce/arex", Flavour: "arc", Name: "n", Submitted: now, State: "ACCEPTED"}
	if n, err := s.Add(ctx, j, Job{ID: "x2", LocalID: "b", CE: "https://other", Flavour: "arc", Submitted: now}); err != nil || n != 2 {
		t.Fatalf("add: %d %v", n, err)
	}
	if n, err := s.Add(ctx, j); err != nil || n != 0 {
		t.Fatalf("second add of the same job recorded it again: %d %v", n, err)
	}
	exit := 3
	if err := s.UpdateState(ctx, j.ID, "FINISHED", &exit); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx, Filter{CE: "https://ce/arex"})
	if err != nil || len(got) != 1 || got[0].State != "FINISHED" || *got[0].ExitCode != 3 || got[0].Name != "n" {
		t.Fatalf("list: %v %+v", err, got)
	}
	if got, _ := s.List(ctx, Filter{States: []string{"FINISHED"}, IDs: []string{j.ID, "x2"}}); len(got) != 1 {
		t.Fatalf("state filter: %+v", got)
	}
	if err := s.Remove(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.List(ctx, Filter{}); len(got) != 1 {
		t.Fatalf("after remove: %+v", got)
	}
	if err := s.SetCEVersion(ctx, "https://ce/arex", "arc", "1.1"); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.CEVersion(ctx, "https://ce/arex"); !ok || v != "1.1" {
		t.Fatalf("ce version %q %v", v, ok)
	}
}

// TestConcurrentWriters: 20 writers, each with its own connection (as 20
// cesub processes would be), add jobs at once; every job is recorded once.
func TestConcurrentWriters(t *testing.T) { eachStore(t, testConcurrentWriters) }

func testConcurrentWriters(t *testing.T, name string) {
	ctx := context.Background()
	path := name
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for w := 0; w < 20; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s, err := Open(ctx, path)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for i := 0; i < 25; i++ {
				id := fmt.Sprintf("job-%d-%d", w, i)
				// each job twice: a retry must not record it again
				for k := 0; k < 2; k++ {
					if _, err := s.Add(ctx, Job{ID: id, LocalID: id, CE: "https://ce", Flavour: "arc", Submitted: time.Now()}); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.List(ctx, Filter{})
	if err != nil || len(got) != 500 {
		t.Fatalf("%d jobs recorded, want 500 (%v)", len(got), err)
	}
}

func TestDelegationsRemembered(t *testing.T) { eachStore(t, testDelegationsRemembered) }

func testDelegationsRemembered(t *testing.T, name string) {
	ctx := context.Background()
	path := name
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Delegation(ctx, "https://ce/arex", "me", "x509"); ok {
		t.Fatal("a delegation in an empty list")
	}
	end := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := s.SetDelegation(ctx, Delegation{CE: "https://ce/arex", Identity: "me", Type: "x509", ID: "d1", NotAfter: end}); err != nil {
		t.Fatal(err)
	}
	// replaced, not added: one per CE, identity and type
	if err := s.SetDelegation(ctx, Delegation{CE: "https://ce/arex", Identity: "me", Type: "x509", ID: "d2", NotAfter: end.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_ = s.SetDelegation(ctx, Delegation{CE: "https://ce/arex", Identity: "other", Type: "x509", ID: "o1", NotAfter: end})
	s.Close()
	s, err = Open(ctx, path) // survives reopening
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, ok := s.Delegation(ctx, "https://ce/arex", "me", "x509")
	if !ok || d.ID != "d2" || !d.NotAfter.Equal(end.Add(time.Hour)) {
		t.Fatalf("got %+v %v", d, ok)
	}
	if d, ok := s.Delegation(ctx, "https://ce/arex", "other", "x509"); !ok || d.ID != "o1" {
		t.Fatalf("other identity: %+v %v", d, ok)
	}
	if err := s.ForgetDelegation(ctx, "https://ce/arex", "me", "x509"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Delegation(ctx, "https://ce/arex", "me", "x509"); ok {
		t.Fatal("forgotten delegation still there")
	}
}

func TestUpdateStatesInOneTransaction(t *testing.T) { eachStore(t, testUpdateStatesInOneTransaction) }

func testUpdateStatesInOneTransaction(t *testing.T, name string) {
	ctx := context.Background()
	s, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var jobs []Job
	for _, id := range []string{"a", "b", "c"} {
		jobs = append(jobs, Job{ID: id, LocalID: id, CE: "https://ce/arex", Flavour: "arc", Submitted: time.Now(), State: "ACCEPTED"})
	}
	if _, err := s.Add(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	one := 1
	if err := s.UpdateStates(ctx, []StateUpdate{{ID: "a", State: "FINISHED"}, {ID: "b", State: "FAILED", ExitCode: &one}, {ID: "nosuch", State: "RUNNING"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.List(ctx, Filter{})
	states := map[string]string{}
	for _, j := range got {
		states[j.ID] = j.State
		if j.ID == "b" && (j.ExitCode == nil || *j.ExitCode != 1) {
			t.Errorf("exit code of b: %v", j.ExitCode)
		}
	}
	if states["a"] != "FINISHED" || states["b"] != "FAILED" || states["c"] != "ACCEPTED" || len(got) != 3 {
		t.Fatalf("states %v (%d jobs)", states, len(got))
	}
}

// TestUpdateStatesSkipsWhatTheCallerKnows: an update equal to the job as
// the caller read it (Was) is not sent; one that differs from it is
// written, exit code included. The proof that nothing was sent: the row,
// changed behind the caller's back, keeps its value.
func TestUpdateStatesSkipsWhatTheCallerKnows(t *testing.T) {
	eachStore(t, testUpdateStatesSkipsWhatTheCallerKnows)
}

func testUpdateStatesSkipsWhatTheCallerKnows(t *testing.T, name string) {
	ctx := context.Background()
	s, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	zero, two := 0, 2
	read := map[string]Job{}
	for _, id := range []string{"same", "moved", "exit", "sameexit"} {
		j := Job{ID: id, LocalID: id, CE: "https://ce/arex", Flavour: "arc", Submitted: time.Now(), State: "RUNNING"}
		if id == "sameexit" {
			j.State, j.ExitCode = "FAILED", &two
		}
		read[id] = j
		if _, err := s.Add(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	// another process writes "same" and "sameexit" after this one read them
	must(t, s.UpdateState(ctx, "same", "KILLING", nil))
	must(t, s.UpdateState(ctx, "sameexit", "KILLED", nil))
	was := func(id string) *Job { j := read[id]; return &j }
	must(t, s.UpdateStates(ctx, []StateUpdate{
		{ID: "same", State: "RUNNING", Was: was("same")},
		{ID: "moved", State: "FINISHED", Was: was("moved")},
		{ID: "exit", State: "RUNNING", ExitCode: &zero, Was: was("exit")},
		{ID: "sameexit", State: "FAILED", ExitCode: &two, Was: was("sameexit")},
	}))
	got, _ := s.List(ctx, Filter{})
	states := map[string]string{}
	for _, j := range got {
		states[j.ID] = j.State
		if j.ID == "exit" && (j.ExitCode == nil || *j.ExitCode != 0) {
			t.Errorf("exit: exit code %v, want 0 (a new exit code is an update)", j.ExitCode)
		}
	}
	want := map[string]string{"same": "KILLING", "moved": "FINISHED", "exit": "RUNNING", "sameexit": "KILLED"}
	for id, w := range want {
		if states[id] != w {
			t.Errorf("%s: %s, want %s (all: %v)", id, states[id], w, states)
		}
	}
}

// TestFilesArePrivate: a new job list and its -wal and -shm files are 0600
// whatever the umask (they were 0644: SQLite copies the database's mode).
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Add(context.Background(), Job{ID: "x", LocalID: "x", CE: "c", Flavour: "arc", Submitted: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v (WAL mode should have made it)", p, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

// TestForeignFilesAreLeftAlone: -j pointed at the ARC client's jobs.dat
// (SQLite or Berkeley DB) or another file is refused with what it is, and
// the file is not changed (no cesub table added to it).
func TestForeignFilesAreLeftAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	arc := filepath.Join(dir, "jobs.dat")
	db, err := sql.Open("sqlite", arc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, idfromendpoint TEXT, name TEXT, statusinterface TEXT, statusurl TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(arc)
	bdb := filepath.Join(dir, "jobs-bdb.dat")
	_ = os.WriteFile(bdb, append(make([]byte, 12), 0x62, 0x31, 0x05, 0x00, 0, 0, 0, 0), 0o600)
	xml := filepath.Join(dir, "jobs.xml")
	_ = os.WriteFile(xml, []byte(`<?xml version="1.0"?><ArcJobs/>`), 0o600)
	for path, want := range map[string]string{arc: "the ARC client's job list", bdb: "Berkeley DB", xml: "XML"} {
		_, err := Open(ctx, path)
		var fe *ForeignError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a ForeignError saying %q", filepath.Base(path), err, want)
		}
	}
	if !strings.Contains(func() string { _, err := Open(ctx, arc); return err.Error() }(), "cesub sync -C CE") {
		t.Errorf("the ARC list's error does not suggest sync")
	}
	if after, _ := os.ReadFile(arc); string(after) != string(before) {
		t.Errorf("ARC's jobs.dat was changed")
	}
	// a new file and cesub's own list open
	s, err := Open(ctx, filepath.Join(dir, "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, filepath.Join(dir, "new.db")); err != nil {
		t.Fatalf("reopening cesub's own list: %v", err)
	}
	s.Close()
}

// TestCEJobCountRemembered: a CE's job count survives the process (another
// Open sees it), a newer count replaces it and an older one does not.
func TestCEJobCountRemembered(t *testing.T) { eachStore(t, testCEJobCountRemembered) }

func testCEJobCountRemembered(t *testing.T, name string) {
	ctx := context.Background()
	path := name
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.CEJobCount(ctx, "https://ce/arex"); ok {
		t.Fatal("a count for a CE never counted")
	}
	now := time.Now().Truncate(time.Second)
	for _, c := range []struct {
		n  int
		at time.Time
	}{{100, now}, {7, now.Add(-time.Minute)}} {
		if err := s.SetCEJobCount(ctx, "https://ce/arex", c.n, c.at); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, at, ok := s.CEJobCount(ctx, "https://ce/arex"); !ok || n != 100 || !at.Equal(now) {
		t.Errorf("count %d at %v (%v), want 100 at %v", n, at, ok, now)
	}
	_ = s.SetCEJobCount(ctx, "https://ce/arex", 3, now.Add(time.Minute))
	if n, _, _ := s.CEJobCount(ctx, "https://ce/arex"); n != 3 {
		t.Errorf("a newer count did not replace the old one: %d", n)
	}
}
