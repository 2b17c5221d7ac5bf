// Package versioncmd implements `cesub version`.
package versioncmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

// commit and date are stamped by release builds (.goreleaser.yaml:
// -X github.com/cesub/cesub/internal/cli/versioncmd.commit=... and .date=...);
// both stay empty in local builds. Only the linker sets them.
var commit, date string

// Options of `cesub version`.
type Options struct {
	F *cmdutil.Factory
}

// Info is the JSON schema of `cesub version -o json` (docs/json.md).
type Info struct {
	Schema    string `json:"schema"`
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// NewCmdVersion builds the command; runF replaces the run function in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	return &cobra.Command{
		Use:   "version",
		Short: "Print cesub's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *Options) error {
	info := Info{Schema: "cesub.version/v1", Version: opts.F.Version, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Commit: commit, Date: date}
	if bi, ok := debug.ReadBuildInfo(); ok && info.Commit == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Commit = s.Value
			}
		}
	}
	if opts.F.JSON() {
		return opts.F.PrintJSON(info)
	}
	fmt.Fprint(opts.F.IO.Out, Line(info.Version))
	return nil
}

// Line is what `cesub version` and `cesub --version` print: the version, the
// commit and its date when the build stamped them, the Go release and the
// platform on one line, newline included.
func Line(version string) string {
	build := ""
	if commit != "" {
		build = fmt.Sprintf("commit %.12s, ", commit)
	}
	if date != "" {
		build += date + ", "
	}
	return fmt.Sprintf("cesub %s (%s%s, %s/%s)\n", version, build, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
