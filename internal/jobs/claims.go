package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
)

// ClaimTTL is how long a claim holds when its process dies without giving
// it back: the job is left to the fleet's other processes after that.
const ClaimTTL = time.Hour

// Claims hands a job to one process at a time, for work that must be done
// once across the hosts sharing a job list (get downloads a job's outputs
// and cleans it: two hosts doing it at once would each get a part).
type Claims struct {
	Store *jobstore.Store
	Owner string        // the claiming process (jobstore.Self().String())
	TTL   time.Duration // ClaimTTL when 0
}

// NewClaims are this process's claims on store.
func NewClaims(store *jobstore.Store) *Claims {
	return &Claims{Store: store, Owner: jobstore.Self().String(), TTL: ClaimTTL}
}

// TakenError is a job another process is working on, or one that is no
// longer on the list (another process finished it).
type TakenError struct {
	ID    string
	By    string // the claiming process (host:pid:start); "" when the job is gone
	Until time.Time
}

// Fetched says that the job's outputs were downloaded (by By) and only its
// clean failed: it is not to be downloaded again, only cleaned.
func (e *TakenError) Fetched() bool { return strings.HasPrefix(e.By, jobstore.FetchedPrefix) }

func (e *TakenError) Error() string {
	switch {
	case e.By == "":
		return "no longer on the job list (another cesub fetched or removed it)"
	case e.Fetched():
		return "downloaded already (" + strings.TrimPrefix(e.By, jobstore.FetchedPrefix) + "), not yet cleaned from the CE"
	}
	return fmt.Sprintf("being fetched by another cesub (%s, claim until %s)", e.By, e.Until.UTC().Format(time.RFC3339))
}

// Take claims job j for this process (nil), or says who has it (a
// *TakenError), or that the job list failed.
func (c *Claims) Take(ctx context.Context, j jobstore.Job) error {
	ttl := c.TTL
	if ttl == 0 {
		ttl = ClaimTTL
	}
	got, err := c.Store.Claim(ctx, c.Owner, ttl, j.ID)
	if err != nil {
		return err
	}
	if len(got) == 1 {
		return nil
	}
	by, until, _ := c.Store.Claimant(ctx, j.ID)
	return &TakenError{ID: j.ID, By: by, Until: until}
}

// Fetched marks job j as downloaded: if its clean failed, no process
// downloads it again (see TakenError.Fetched).
func (c *Claims) Fetched(ctx context.Context, j jobstore.Job) {
	_ = c.Store.MarkFetched(context.WithoutCancel(ctx), c.Owner, j.ID)
}

// Give gives job j back (its work failed, or it stays on the list): another
// process may take it now. A failure is not reported: the claim runs out.
func (c *Claims) Give(ctx context.Context, j jobstore.Job) {
	_ = c.Store.Release(context.WithoutCancel(ctx), c.Owner, j.ID)
}
