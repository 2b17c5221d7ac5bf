package jobcmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/spf13/cobra"
)

// PingOptions of `cesub ping`.
type PingOptions struct {
	ceDeps
	ceFlags
}

// PingJSON is the schema of `ping -o json` (docs/json.md).
type PingJSON struct {
	Schema string `json:"schema"`
	ce.PingResult
	LatencyMS float64 `json:"latency_ms"`
}

// NewCmdPing builds `cesub ping`.
func NewCmdPing(f *cmdutil.Factory, runF func(*PingOptions) error) *cobra.Command {
	opts := &PingOptions{ceDeps: ceDepsOf(f)}
	cmd := &cobra.Command{
		Use:   "ping (-C CE… | -E ENDPOINTS)",
		Short: "Check a CE: reachability, TLS, API versions, implementation, and whether your credential is admitted",
		Long: `Check a CE step by step: can it be reached, does its TLS certificate verify,
which API versions it offers, which implementation and version it runs, and
whether it admits your credential (token or proxy). A failure names the step
and, where cesub can tell, the likely cause: an unknown CA, a certificate for
another host, nothing listening, or a token the CE's rules refuse (including
ARC 7's scope-claim pitfalls).

With several -C, the CEs are pinged in parallel, each within its own time
limit. Without -C, the CEs of the endpoint file (-E or CESUB_ENDPOINTS) are
pinged, each with the token source the file gives it. Exit: 0 admitted
(all), 4 reached but the credential refused, 1 not reached or failing
otherwise (a server error, not the flavour's protocol), 3 some admitted and
some not.`,
		Example: `  cesub ping -C ce.example.org
  cesub ping -C https://localhost:8444/arex -o json
  cesub ping -E factory.yaml`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return pingRun(c.Context(), opts)
		},
	}
	opts.add(cmd)
	return cmd
}

func pingRun(ctx context.Context, opts *PingOptions) error {
	if err := opts.resolve(opts.EndpointFile); err != nil {
		return err
	}
	results, errs, e, err := eachCE(ctx, opts.Access, opts.ceFlags, 1, func(cctx context.Context, b ce.Backend, _ ce.Address) (*ce.PingResult, error) {
		return b.Ping(cctx)
	})
	if err != nil {
		return err
	}
	defer e.store.Close()
	for i, r := range results { // remembered here: the job list is not written from the workers
		if errs[i] == nil && r.Admitted {
			if b, err := e.backend(ctx, opts.addrs[i]); err == nil {
				jobs.RememberVersion(ctx, e.store, opts.addrs[i], b)
			}
		}
	}
	if len(opts.CEs) == 1 {
		if errs[0] != nil {
			return errs[0]
		}
		return pingOne(opts.ceDeps, results[0])
	}
	return pingList(opts.ceDeps, opts.CEs, results, errs)
}

// pingOne prints one CE's ping; the exit code says how far it got.
func pingOne(d ceDeps, r *ce.PingResult) error {
	if d.Report.JSON() {
		if err := d.Report.PrintJSON(PingJSON{Schema: "cesub.ping/v1", PingResult: *r, LatencyMS: float64(r.Latency.Microseconds()) / 1000}); err != nil {
			return err
		}
	} else if err := printPing(d.IO.Out, r); err != nil {
		return err
	}
	switch {
	case r.Admitted:
		return nil
	case r.Refused:
		return cmdutil.Silent(cmdutil.ExitAuth)
	}
	return cmdutil.Silent(cmdutil.ExitError)
}

// pingList prints the pings of several CEs (a CE that failed gets its
// error as a problem); exit 0 all admitted, 3 some, 4 refused, 1 not reached.
func pingList(d ceDeps, ces []string, results []*ce.PingResult, errs []error) error {
	list := struct {
		Schema string     `json:"schema"`
		CEs    []PingJSON `json:"ces"`
	}{Schema: "cesub.ping.list/v1"}
	admitted, failed, refused := 0, 0, 0
	for i, a := range ces {
		r := results[i]
		if errs[i] != nil {
			r = &ce.PingResult{Endpoint: a, Problem: errs[i].Error(), Hint: ce.ConnectHint(errs[i], "")}
		}
		switch {
		case r.Admitted:
			admitted++
		case r.Refused:
			refused++
		default:
			failed++
		}
		list.CEs = append(list.CEs, PingJSON{Schema: "cesub.ping/v1", PingResult: *r, LatencyMS: float64(r.Latency.Microseconds()) / 1000})
	}
	if d.Report.JSON() {
		if err := d.Report.PrintJSON(list); err != nil {
			return err
		}
	} else {
		for i := range list.CEs {
			if i > 0 {
				fmt.Fprintln(d.IO.Out)
			}
			if err := printPing(d.IO.Out, &list.CEs[i].PingResult); err != nil {
				return err
			}
		}
	}
	switch {
	case failed+refused == 0:
		return nil
	case admitted > 0:
		return cmdutil.Silent(cmdutil.ExitPartial)
	case failed == 0:
		return cmdutil.Silent(cmdutil.ExitAuth)
	}
	return cmdutil.Silent(cmdutil.ExitError)
}

func printPing(out io.Writer, r *ce.PingResult) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	cell := cmdutil.OneLine // a CE's text stays in its cell
	fmt.Fprintf(w, "CE:\t%s\n", r.Endpoint)
	if r.Reachable {
		fmt.Fprintf(w, "reachable:\tyes (%s)\n", r.Latency.Round(time.Millisecond))
		fmt.Fprintf(w, "TLS:\t%s\n", r.TLS)
	} else {
		fmt.Fprintf(w, "reachable:\tNO\n")
	}
	if len(r.APIVersions) > 0 {
		fmt.Fprintf(w, "API versions:\t%v\n", cell(fmt.Sprint(r.APIVersions)))
	}
	if r.Implementation != "" {
		fmt.Fprintf(w, "implementation:\t%s\n", cell(strings.TrimSpace(r.Implementation+" "+r.Version)))
	}
	if r.Reachable {
		verdict := "ADMITTED"
		switch {
		case r.Unsupported:
			verdict = "not checked"
		case r.Refused:
			verdict = "REFUSED"
		case !r.Admitted:
			verdict = "not admitted"
		}
		fmt.Fprintf(w, "credential:\t%s: %s\n", r.Identity, verdict)
	}
	if r.User != "" {
		fmt.Fprintf(w, "mapped to:\t%s\n", cell(r.User))
	}
	if len(r.Authorizations) > 0 {
		var levels []string
		for _, lv := range []string{"READ", "WRITE"} {
			if v, ok := r.Authorizations[lv]; ok {
				levels = append(levels, lv+" "+v)
			}
		}
		fmt.Fprintf(w, "authorization:\t%s\n", cell(strings.Join(levels, ", ")))
	}
	if r.Problem != "" {
		fmt.Fprintf(w, "problem:\t%s\n", cell(r.Problem))
	}
	if r.Hint != "" {
		fmt.Fprintf(w, "hint:\t%s\n", r.Hint)
	}
	return w.Flush()
}
