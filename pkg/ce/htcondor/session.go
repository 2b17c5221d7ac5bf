package htcondor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
)

// Cat implements ce.Backend. A schedd serves a job's files only as its
// whole output sandbox once it has completed, so the sandbox comes into a
// folder (made by Get) of a temporary directory and the file is copied
// from there.
func (c *Client) Cat(ctx context.Context, id, p string, w io.Writer) error {
	top, err := os.MkdirTemp("", "cesub-cat-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(top)
	tmp := filepath.Join(top, "sandbox")
	if _, err := c.Get(ctx, id, ce.GetOptions{Dir: tmp}); err != nil {
		return fmt.Errorf("cat %s: %w", p, err)
	}
	dest, err := safeJoin(tmp, strings.TrimPrefix(p, "/"))
	if err != nil {
		return err
	}
	f, err := os.Open(dest)
	if errors.Is(err, os.ErrNotExist) {
		// the schedd names stdout/stderr after their basenames
		f, err = os.Open(filepath.Join(tmp, filepath.Base(p)))
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cat: %s has no file %q in its output sandbox: %w", c.JobID(id), p, ce.ErrNotFound)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Info implements ce.Backend: the schedd's ad from the collector.
func (c *Client) Info(ctx context.Context) (*ce.Info, error) {
	ads, err := c.scheddAds(ctx, "")
	if err != nil {
		return nil, err
	}
	info := &ce.Info{Endpoint: c.Endpoint(), Implementation: "HTCondor"}
	for _, ad := range ads {
		name, _ := ad.Str("Name")
		ver, _ := ad.Str("CondorVersion")
		info.Version = versionNumber(ver)
		q := ce.Queue{Name: name, ServingState: "production"}
		if running, ok := ad.Int("TotalRunningJobs"); ok {
			q.RunningJobs, q.Published = int(running), q.Published|ce.CountRunning
		}
		if idle, ok := ad.Int("TotalIdleJobs"); ok {
			q.WaitingJobs, q.Published = int(idle), q.Published|ce.CountWaiting
		}
		info.Queues = append(info.Queues, q)
	}
	return info, nil
}

// Delegate implements ce.Backend. HTCondor has no separate delegation: a
// proxy travels with the jobs as their x509userproxy (submit --delegate x509).
func (c *Client) Delegate(ctx context.Context, req ce.DelegateRequest) (*ce.Delegation, error) {
	return nil, errNoDelegation
}

var errNoDelegation = errors.New("HTCondor-CEs take an X.509 proxy with the jobs (x509userproxy), not as a separate delegation; use `cesub submit --delegate x509`")
