// Package condortools emulates HTCondor's remote tools (condor_submit,
// condor_q, condor_rm, condor_hold, condor_release, condor_ping,
// condor_transfer_data, condor_history): their options, output and exit
// codes, over cesub's job lifecycle (internal/jobs) and the HTCondor-CE
// backend (pkg/ce/htcondor). The CE is the one -pool (the collector) or
// -name/-remote (the schedd) names, as condor://host:9619.
package condortools

import (
	"context"
	"fmt"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/cli/compat/tool"
)

// Tools lists the HTCondor commands cesub answers to.
func Tools() []tool.Tool {
	return []tool.Tool{
		condor("condor_submit", runSubmit),
		condor("condor_q", runQ),
		condor("condor_rm", actTool(rmTool)),
		condor("condor_hold", actTool(holdTool)),
		condor("condor_release", actTool(releaseTool)),
		condor("condor_ping", runPing),
		condor("condor_transfer_data", runTransfer),
		condor("condor_history", runHistory),
	}
}

func condor(name string, run func(context.Context, *cmdutil.Factory, []string) int) tool.Tool {
	emulates := "HTCondor " + name + " (remote use: -name/-pool an HTCondor-CE)"
	return tool.Tool{Name: name, Emulates: emulates, Family: "condor",
		Run: func(ctx context.Context, f *cmdutil.Factory, args []string) int {
			if versionAsked(args) {
				printVersion(f, name)
				return 0
			}
			return run(ctx, f, args)
		}}
}

// versionAsked: -version/--version anywhere (HTCondor's tools take -v… abbreviations of it too,
// but -v is verbose for some; only the spelt-out forms are taken here).
func versionAsked(args []string) bool {
	for _, a := range args {
		if a == "-version" || a == "--version" {
			return true
		}
	}
	return false
}

// printVersion says it is cesub and what it emulates; it does not imitate
// HTCondor's $CondorVersion$ line.
func printVersion(f *cmdutil.Factory, name string) {
	v := f.Version
	if v == "" {
		v = "dev"
	}
	fmt.Fprintf(f.IO.Out, "cesub %s emulating HTCondor %s (not HTCondor: cesub's drop-in mode for HTCondor-CEs)\n", v, name)
}
