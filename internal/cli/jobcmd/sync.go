package jobcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
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
	Pending bool // --pending: resolve the submissions written ahead and never recorded
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
	// Recovered: interrupted submissions found on these CEs on the way.
	Recovered []jobs.Recovered `json:"recovered,omitempty"`
}

// SyncPendingJSON is the schema of `sync --pending -o json`: every pending
// submission looked at, and the CEs that could not be asked.
type SyncPendingJSON struct {
	Schema      string           `json:"schema"`
	Submissions []jobs.Recovered `json:"submissions"`
	CEs         []SyncCEJSON     `json:"ces,omitempty"`
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

With --pending, sync instead resolves the submissions a cesub wrote ahead and
never recorded (killed between a request and its answer): every CE with such a
submission (or those of -C) is asked for the jobs carrying its key, they are
recorded, and the submission is cleared. A submission a live cesub on this host
is still sending is left alone. Any command that talks to a CE does the same
for that CE; --pending does it for all, without waiting for submissions of
other hosts to age.

Exit: 0 all CEs answered, 3 some did not, 4/1 none did.`,
		Example: `  cesub sync -C https://ce1.example.org/arex -C ce2.example.org
  cesub sync --pending`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if len(opts.CEs) == 0 && !opts.Pending {
				return cmdutil.UsageError(errors.New("give at least one CE with -C/--ce (or --pending)"))
			}
			if runF != nil {
				return runF(opts)
			}
			if opts.Pending {
				return syncPendingRun(c.Context(), opts)
			}
			return syncRun(c.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVarP(&opts.CEs, "ce", "C", nil, "CE address (repeatable)")
	cmd.Flags().StringVar(&opts.Flavour, "flavour", "", "CE flavour (default: from the address)")
	cmd.Flags().BoolVar(&opts.Pending, "pending", false, "resolve the submissions written ahead and never recorded (all CEs, or those of -C)")
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
	out.Recovered = e.recovered()
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

// syncPendingRun is `sync --pending`.
func syncPendingRun(ctx context.Context, opts *SyncOptions) error {
	r := opts.Report
	e, err := open(ctx, opts.Access)
	if err != nil {
		return err
	}
	defer e.store.Close()
	e.recovery.NoWait = true
	out := SyncPendingJSON{Schema: "cesub.sync.pending/v1", Submissions: []jobs.Recovered{}}
	want := map[string]bool{}
	for _, c := range opts.CEs {
		addr, err := parseCE(c, opts.Flavour)
		if err != nil {
			return err
		}
		want[strings.TrimSuffix(addr.URL(), "/")] = true
	}
	failed, authFailed := 0, false
	for _, p := range jobs.PendingCEs(ctx, e.store) {
		if len(want) > 0 && !want[p[0]] {
			continue
		}
		cctx, cancel := e.Deadline(ctx, 3)
		_, _, err := e.backendOf(cctx, p[0], p[1])
		cancel()
		if err != nil {
			failed++
			authFailed = authFailed || ce.IsAuthFailure(err)
			out.CEs = append(out.CEs, SyncCEJSON{CE: p[0], Error: err.Error()})
			r.Errorf("%s: %v (its pending submissions stay)", p[0], err)
		}
	}
	out.Submissions = append(out.Submissions, e.recovery.Results()...)
	ok := 0
	for _, s := range out.Submissions {
		if s.Err != "" {
			failed++
			r.Errorf("%s", s.Err)
		} else {
			ok++
		}
	}
	if r.JSON() {
		if err := r.PrintJSON(out); err != nil {
			return err
		}
	} else {
		printPending(opts.IO.Out, out, e.store.Path())
	}
	return cmdutil.ResultCode(ok, failed, authFailed)
}

// printPending is sync --pending's text: a line per pending submission.
func printPending(w io.Writer, out SyncPendingJSON, path string) {
	if len(out.Submissions) == 0 && len(out.CEs) == 0 {
		fmt.Fprintf(w, "no pending submissions in %s\n", path)
		return
	}
	for _, s := range out.Submissions {
		what := fmt.Sprintf("%d of %d jobs found, %d new", len(s.Found), s.Asked, s.Added)
		switch {
		case s.Err != "":
			what = "not resolved (the CE could not tell)"
		case s.Left != "":
			what += "; left: " + s.Left
		case s.Cleared:
			what += "; cleared"
		}
		fmt.Fprintf(w, "%s  %s  %s\n", s.Key, s.CE, what)
	}
}
