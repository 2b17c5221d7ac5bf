// Package joblistcmd implements `cesub joblist migrate`: copying a job list
// between an SQLite file and a PostgreSQL server (either way).
package joblistcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/spf13/cobra"
)

// NewCmdJoblist builds the `joblist` group.
func NewCmdJoblist(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "joblist",
		Short: "Work on job lists themselves (copy one to a PostgreSQL server and back)",
	}
	cmd.AddCommand(NewCmdMigrate(f, nil))
	return cmd
}

// MigrateOptions of `cesub joblist migrate`.
type MigrateOptions struct {
	F        *cmdutil.Factory
	From, To string
}

// NewCmdMigrate builds `cesub joblist migrate`.
func NewCmdMigrate(f *cmdutil.Factory, runF func(*MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{F: f}
	cmd := &cobra.Command{
		Use:   "migrate --from LIST --to LIST",
		Short: "Copy a job list (every job, pending submission, CE and delegation) into another",
		Long: `Copy every row of the job list --from into the job list --to, every field as it
is: jobs, pending submissions, remembered CE versions and job counts, and
delegations. Each is an SQLite file or a PostgreSQL server (postgres://… or
libpq keywords), so this moves a host's list to a server shared by a fleet, and
back. The copy is one transaction of --to: all or nothing. A row --to has
already (same job id, same pending key) is left as --to has it, so running it
again copies nothing twice. --from is only read.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return migrateRun(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "the job list to copy (a file that exists, or a PostgreSQL URL)")
	cmd.Flags().StringVar(&opts.To, "to", "", "the job list to copy into (created if new)")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func migrateRun(ctx context.Context, opts *MigrateOptions) error {
	f := opts.F
	if opts.From == opts.To {
		return cmdutil.UsageError(errors.New("--from and --to are the same job list"))
	}
	if !jobstore.IsPostgres(opts.From) {
		if _, err := os.Stat(opts.From); errors.Is(err, fs.ErrNotExist) {
			return cmdutil.UsageError(fmt.Errorf("--from %s: no such job list", opts.From))
		}
	}
	from, err := f.OpenJobList(ctx, opts.From)
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := f.OpenJobList(ctx, opts.To)
	if err != nil {
		return err
	}
	defer to.Close()
	copied, err := jobstore.Copy(ctx, from, to)
	if err != nil {
		return err
	}
	return report(f, from.Path(), to.Path(), copied)
}

// MigrateJSON is `cesub joblist migrate -o json`.
type MigrateJSON struct {
	Schema string            `json:"schema"`
	From   string            `json:"from"`
	To     string            `json:"to"`
	Tables []jobstore.Copied `json:"tables"`
}

func report(f *cmdutil.Factory, from, to string, copied []jobstore.Copied) error {
	if f.JSON() {
		return f.PrintJSON(MigrateJSON{Schema: "cesub.joblist-migrate/v1", From: from, To: to, Tables: copied})
	}
	fmt.Fprintf(f.IO.Out, "%s → %s\n", from, to)
	for _, c := range copied {
		fmt.Fprintf(f.IO.Out, "  %-12s %d rows, %d copied, %d there already\n", c.Table, c.Rows, c.Copied, c.Rows-c.Copied)
	}
	return nil
}
