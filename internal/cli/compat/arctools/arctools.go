// Package arctools emulates the ARC client's commands (arcsub, arcstat,
// arcget, arckill, arcclean, arccat, arcsync, arcinfo, arcresume,
// arcrenew, arcproxy): their options, output and exit codes, over cesub's
// job lifecycle (internal/jobs).
package arctools

import "github.com/cesub/cesub/internal/cli/compat/tool"

// Tools lists the ARC commands cesub answers to.
func Tools() []tool.Tool { return nil }
