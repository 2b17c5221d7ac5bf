// Package compat finds the tool cesub emulates when it is invoked under
// another program name (drop-in mode: a link named arcsub or condor_q first
// on PATH), and owns `cesub compat` (list, install the links).
package compat

import (
	"path/filepath"

	"github.com/cesub/cesub/internal/cli/compat/arctools"
	"github.com/cesub/cesub/internal/cli/compat/condortools"
	"github.com/cesub/cesub/internal/cli/compat/tool"
)

// Tools lists every emulated tool, ARC's then HTCondor's.
func Tools() []tool.Tool {
	return append(arctools.Tools(), condortools.Tools()...)
}

// Lookup finds the tool a program name (argv[0], any directory) stands for.
func Lookup(argv0 string) (tool.Tool, bool) {
	name := filepath.Base(argv0)
	for _, t := range Tools() {
		if t.Name == name {
			return t, true
		}
	}
	return tool.Tool{}, false
}
