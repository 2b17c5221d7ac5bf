package arcrest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
)

// TestStatusChoosesByCost: status lists the CE's jobs (live, one request)
// when that costs about what posting the ids would, and posts the ids when
// the CE holds many more jobs than were asked for; a listing teaches the
// client the CE's job count, which a later command gets back (ce.Census).
func TestStatusChoosesByCost(t *testing.T) {
	f, c := newFakeREST(t, both)
	ctx := context.Background()
	res, err := c.Submit(ctx, trueJobs(30), ce.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res[:12] {
		ids = append(ids, r.Job.LocalID)
	}
	requests := func(do func()) (listings, posts int) {
		f.locked(func() { f.requests = nil })
		do()
		f.locked(func() {
			for _, r := range f.requests {
				listings += b2i(strings.HasPrefix(r, "GET ") && strings.Contains(r, "/jobs?state="))
				posts += b2i(strings.HasPrefix(r, "POST ") && strings.Contains(r, "action=status"))
			}
		})
		return
	}
	status := func() {
		if st, err := c.Status(ctx, ids); err != nil || len(st) != len(ids) || st[0].Job == nil {
			t.Fatalf("status: %v %+v", err, st)
		}
	}
	for _, tc := range []struct {
		name           string
		count          int // the CE's job count the client knows (-1: none)
		at             time.Time
		listed, posted int
	}{
		{"count unknown: a listing learns it", -1, time.Time{}, 1, 0},
		{"the CE holds about as many jobs: the listing", 30, time.Now(), 1, 0},
		{"the CE holds many more: the ids", 10_000, time.Now(), 0, 1},
		{"a count older than an hour is learnt again", 10_000, time.Now().Add(-2 * time.Hour), 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.mu.Lock()
			c.census = census{n: tc.count, at: tc.at, known: tc.count >= 0}
			c.mu.Unlock()
			if l, p := requests(status); l != tc.listed || p != tc.posted {
				t.Errorf("%d listings and %d id posts, want %d and %d", l, p, tc.listed, tc.posted)
			}
			if tc.listed > 0 {
				if n, at, ok := c.JobCount(); !ok || n != 30 || time.Since(at) > time.Minute {
					t.Errorf("after a listing the client knows %d jobs (%v, %v), want 30", n, ok, at)
				}
			}
		})
	}
	// a later count wins; an older one does not replace it
	c.SetJobCount(5, time.Now().Add(-time.Minute))
	if n, _, _ := c.JobCount(); n != 30 {
		t.Errorf("an older count replaced a newer one: %d", n)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
