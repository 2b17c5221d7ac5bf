package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
)

// TestClaimsOneAtATime: a job one process took is refused to another (who
// is told who has it) until given back; a job removed by its taker is
// refused as gone.
func TestClaimsOneAtATime(t *testing.T) {
	ctx := context.Background()
	s, err := jobstore.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j := jobstore.Job{ID: "https://ce/arex/rest/1.0/jobs/a", LocalID: "a", CE: "https://ce/arex", Flavour: "arc", Submitted: time.Now()}
	if _, err := s.Add(ctx, j); err != nil {
		t.Fatal(err)
	}
	a := &Claims{Store: s, Owner: "hostA:1:1"}
	b := &Claims{Store: s, Owner: "hostB:2:2"}
	if err := a.Take(ctx, j); err != nil {
		t.Fatal(err)
	}
	var taken *TakenError
	if err := b.Take(ctx, j); !errors.As(err, &taken) || taken.By != "hostA:1:1" {
		t.Fatalf("B took A's job: %v", err)
	}
	a.Give(ctx, j)
	if err := b.Take(ctx, j); err != nil {
		t.Fatalf("B could not take a given-back job: %v", err)
	}
	_ = s.Remove(ctx, j.ID)
	if err := a.Take(ctx, j); !errors.As(err, &taken) || taken.By != "" {
		t.Fatalf("a removed job: %v", err)
	}
}
