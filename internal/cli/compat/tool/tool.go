// Package tool is the shape of a tool cesub emulates when it is invoked
// under that tool's name (a link named arcsub, condor_q, …).
package tool

import (
	"context"

	"github.com/cesub/cesub/internal/cli/cmdutil"
)

// Tool is one emulated command: Run parses the tool's own command line
// (args without the program name), prints the tool's output and returns
// its exit code, over cesub's machinery (f).
type Tool struct {
	Name     string // the program name it answers to, e.g. "arcsub"
	Emulates string // what it behaves as, e.g. "ARC client 7 arcsub"
	Family   string // "arc" or "condor": the set `cesub compat install --family` makes
	Run      func(ctx context.Context, f *cmdutil.Factory, args []string) int
}
