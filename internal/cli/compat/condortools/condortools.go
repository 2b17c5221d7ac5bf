// Package condortools emulates HTCondor's remote tools (condor_submit,
// condor_q, condor_rm, condor_hold, condor_release, condor_ping,
// condor_transfer_data, condor_history): their options, output and exit
// codes, over cesub's job lifecycle (internal/jobs).
package condortools

import "github.com/cesub/cesub/internal/cli/compat/tool"

// Tools lists the HTCondor commands cesub answers to.
func Tools() []tool.Tool { return nil }
