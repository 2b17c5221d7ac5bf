package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
)

// TestJoblistMigrate: `joblist migrate` copies jobs and pending rows into a
// new list, a second run copies nothing twice, and a missing --from or the
// same list twice is a usage error.
func TestJoblistMigrate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	from, to := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	s, err := jobstore.Open(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Add(ctx, jobstore.Job{ID: "https://ce/arex/rest/1.0/jobs/a", LocalID: "a", CE: "https://ce/arex", Flavour: "arc",
		Name: "n", Submitted: time.Unix(1700000000, 0), State: "RUNNING"})
	if err == nil {
		err = s.AddPending(ctx, jobstore.Pending{Key: "k", CE: "https://ce/arex", Flavour: "arc", Jobs: 2})
	}
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "joblist", "migrate", "--from", from, "--to", to)
	if r.code != 0 || !strings.Contains(r.out, "jobs         1 rows, 1 copied") || !strings.Contains(r.out, "pending      1 rows, 1 copied") {
		t.Fatalf("migrate: %d %q %q", r.code, r.out, r.err)
	}
	b, err := jobstore.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := b.List(ctx, jobstore.Filter{})
	pend, _ := b.ListPending(ctx, "")
	b.Close()
	if len(jobs) != 1 || jobs[0].Name != "n" || jobs[0].State != "RUNNING" || len(pend) != 1 || pend[0].Jobs != 2 {
		t.Fatalf("copied %+v %+v", jobs, pend)
	}
	if r := run(t, nil, "joblist", "migrate", "--from", from, "--to", to); r.code != 0 || !strings.Contains(r.out, "1 rows, 0 copied, 1 there already") {
		t.Fatalf("second migrate: %d %q %q", r.code, r.out, r.err)
	}
	for _, args := range [][]string{{"--from", filepath.Join(dir, "none.db"), "--to", to}, {"--from", from, "--to", from}} {
		if r := run(t, nil, append([]string{"joblist", "migrate"}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, r.code, r.err)
		}
	}
}
