package compat

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

// InstallOptions of `cesub compat install`.
type InstallOptions struct {
	Out    io.Writer
	Dir    string
	Family string
	Force  bool
	// Executable is the binary the links point to (os.Executable).
	Executable func() (string, error)
}

// NewCmdCompat builds `cesub compat`: list the emulated tools, install
// links named like them.
func NewCmdCompat(f *cmdutil.Factory, runF func(*InstallOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compat",
		Short: "Run as arcsub, condor_q, … (drop-in mode): list the tools, install their links",
		Long: `Invoked under the name of a tool it emulates (a link named arcsub or condor_q
first on PATH), cesub parses that tool's command line and prints that tool's
output, so that scripts written for the ARC client or HTCondor's remote tools
run unchanged. See docs/drop-in.md.`,
	}
	cmd.AddCommand(newCmdList(f), newCmdInstall(f, runF))
	return cmd
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the tools cesub emulates",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, t := range Tools() {
				fmt.Fprintf(f.IO.Out, "%-22s %-7s %s\n", t.Name, t.Family, t.Emulates)
			}
			return nil
		},
	}
}

func newCmdInstall(f *cmdutil.Factory, runF func(*InstallOptions) error) *cobra.Command {
	opts := &InstallOptions{Out: f.IO.Out, Executable: os.Executable}
	cmd := &cobra.Command{
		Use:   "install DIR",
		Short: "Make links named like the emulated tools to this cesub in DIR",
		Long: `Make, in DIR, a symbolic link to this cesub binary for each emulated tool
(arcsub, arcstat, …, condor_submit, condor_q, …; --family chooses one set).
Put DIR first on PATH to switch scripts to cesub. A file of that name that is
not already such a link is left alone unless --force.`,
		Example: "  cesub compat install ~/.local/cesub-compat --family arc\n  PATH=~/.local/cesub-compat:$PATH arcsub -C ce.example.org job.xrsl",
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if runF != nil {
				return runF(opts)
			}
			return installRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Family, "family", "", "only this family's tools: arc or condor (default both)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace files of those names that are not links to cesub")
	return cmd
}

// installRun makes the links.
func installRun(opts *InstallOptions) error {
	if opts.Family != "" && opts.Family != "arc" && opts.Family != "condor" {
		return cmdutil.UsageError(fmt.Errorf("--family %q: want arc or condor", opts.Family))
	}
	exe, err := opts.Executable()
	if err != nil {
		return fmt.Errorf("find the cesub binary: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("compat install: %w", err)
	}
	var refused []string
	for _, t := range Tools() {
		if opts.Family != "" && t.Family != opts.Family {
			continue
		}
		made, err := link(exe, filepath.Join(opts.Dir, t.Name), opts.Force)
		if err != nil {
			return err
		}
		if !made {
			refused = append(refused, t.Name)
			continue
		}
		fmt.Fprintf(opts.Out, "%s -> %s\n", filepath.Join(opts.Dir, t.Name), exe)
	}
	if len(refused) > 0 {
		return fmt.Errorf("compat install: %s in %s exist and are not links to cesub; left alone (--force replaces them)", joinNames(refused), opts.Dir)
	}
	return nil
}

// link makes path a symbolic link to exe. An existing link to exe is
// kept; anything else there is replaced only with force (made false).
func link(exe, path string, force bool) (bool, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("compat install: %w", err)
	case fi.Mode()&os.ModeSymlink != 0 && pointsTo(path, exe):
		return true, nil
	case !force:
		return false, nil
	default:
		if fi.IsDir() {
			return false, fmt.Errorf("compat install: %s is a directory", path)
		}
		if err := os.Remove(path); err != nil {
			return false, fmt.Errorf("compat install: %w", err)
		}
	}
	if err := os.Symlink(exe, path); err != nil {
		return false, fmt.Errorf("compat install: %w", err)
	}
	return true, nil
}

// pointsTo says whether the link at path leads to exe (or to a binary
// that is the same file).
func pointsTo(path, exe string) bool {
	target, err := os.Readlink(path)
	if err != nil {
		return false
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(path), target)
	}
	if filepath.Clean(target) == filepath.Clean(exe) {
		return true
	}
	a, errA := os.Stat(target)
	b, errB := os.Stat(exe)
	return errA == nil && errB == nil && os.SameFile(a, b)
}

func joinNames(names []string) string {
	slices.Sort(names)
	return strings.Join(names, ", ")
}
