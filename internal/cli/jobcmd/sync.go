package jobcmd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/spf13/cobra"
)

// SyncOptions of `cesub sync`: the flags, and what sync takes from the
// Factory (IO, a reporter, the job list and CEs as functions).
type SyncOptions struct {
	IO     *cmdutil.IOStreams
	Report syncReporter
	Access ceAccess

	CEs     []string
	Flavour string
}

// syncReporter is how sync tells the user what happened (cmdutil.Factory).
type syncReporter interface {
	Errorf(format string, args ...any)
	JSON() bool
	PrintJSON(v any) error
}

// SyncJSON is the schema of `sync -o json`.
type SyncJSON struct {
	Schema string       `json:"schema"`
	CEs    []SyncCEJSON `json:"ces"`
}

// SyncCEJSON is one CE's part of a sync.
type SyncCEJSON struct {
	CE    string `json:"ce"`
	Found int    `json:"found"`
	Added int    `json:"added"`
	Error string `json:"error,omitempty"`
}

// NewCmdSync builds `cesub sync`.
func NewCmdSync(f *cmdutil.Factory, runF func(*SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{IO: f.IO, Report: f, Access: accessOf(f)}
	cmd := &cobra.Command{
		Use:   "sync -C CE…",
		Short: "Add the jobs a CE has for you to the job list (like arcsync)",
		Long: `Ask each CE for the jobs of your identity (token or proxy) and add those the
job list does not have, with their current state. Jobs already listed are left
as they are; nothing is removed. Use it after losing the job list, or to see
jobs submitted from another machine.

Exit: 0 all CEs answered, 3 some did not, 4/1 none did.`,
		Example: `  cesub sync -C https://ce1.example.org/arex -C ce2.example.org`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if len(opts.CEs) == 0 {
				return cmdutil.UsageError(errors.New("give at least one CE with -C/--ce"))
			}
			if runF != nil {
				return runF(opts)
			}
			return syncRun(c.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVarP(&opts.CEs, "ce", "C", nil, "CE address (repeatable)")
	cmd.Flags().StringVar(&opts.Flavour, "flavour", "", "CE flavour (default: from the address)")
	return cmd
}

func syncRun(ctx context.Context, opts *SyncOptions) error {
	r := opts.Report
	e, err := open(ctx, opts.Access)
	if err != nil {
		return err
	}
	defer e.store.Close()
	out := SyncJSON{Schema: "cesub.sync/v1"}
	ok, failed, authFailed := 0, 0, false
	for _, addrText := range opts.CEs {
		c, err := syncOne(ctx, e, addrText, opts.Flavour)
		if err != nil {
			authFailed = authFailed || ce.IsAuthFailure(err)
			failed++
			c.Error = err.Error()
			r.Errorf("%s: %v", addrText, err)
		} else {
			ok++
		}
		out.CEs = append(out.CEs, c)
	}
	if r.JSON() {
		if err := r.PrintJSON(out); err != nil {
			return err
		}
	} else {
		for _, c := range out.CEs {
			if c.Error == "" {
				fmt.Fprintf(opts.IO.Out, "%s: %d jobs, %d new in %s\n", c.CE, c.Found, c.Added, e.store.Path())
			}
		}
	}
	return cmdutil.ResultCode(ok, failed, authFailed)
}

// syncOne adds the jobs one CE lists for this identity to the job list (a
// job whose id the flavour cannot have is left out, with a warning).
func syncOne(ctx context.Context, e *env, addrText, flavour string) (SyncCEJSON, error) {
	r := SyncCEJSON{CE: addrText}
	b, addr, err := e.backendOf(ctx, addrText, flavour)
	if err != nil {
		return r, err
	}
	r.CE = addr.URL()
	cctx, cancel := e.Deadline(ctx, 3)
	defer cancel()
	listed, err := b.List(cctx)
	if err != nil {
		return r, err
	}
	sort.Slice(listed, func(i, j int) bool { return listed[i].LocalID < listed[j].LocalID })
	rec := make([]jobstore.Job, 0, len(listed))
	for _, j := range listed {
		if err := ce.Backends.CheckLocalID(j.Flavour, j.LocalID); err != nil {
			e.Warnf("%s: %v: not added", addr.URL(), err)
			continue
		}
		sub := time.Time{}
		if j.Submitted != nil {
			sub = *j.Submitted
		}
		rec = append(rec, jobstore.Job{ID: j.ID, LocalID: j.LocalID, CE: j.CE, Flavour: string(j.Flavour), Name: j.Name,
			Submitted: sub, State: string(j.State), ExitCode: j.ExitCode})
	}
	r.Found = len(listed)
	r.Added, err = e.store.Add(ctx, rec...)
	jobs.RememberVersion(ctx, e.store, addr, b)
	return r, err
}
