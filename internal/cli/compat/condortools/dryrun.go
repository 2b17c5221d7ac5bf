package condortools

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// dryRun is condor_submit -dry-run FILE: each proc's job ad (NAME=VALUE
// lines, after an empty line) to FILE or, for -, to stdout; "Dry-Run
// job(s)" and a dot per proc, and the summary, on stdout. Nothing is sent
// and no credential is needed: the ads are cesub's plan (ce.Planner), for
// cluster 1 as condor_submit shows them.
func dryRun(f *cmdutil.Factory, o *submitOpts, js []jobdesc.Job, dir string) int {
	ads, err := planAds(f, o, js, dir)
	if err != nil {
		errorf(f, "%v", err)
		return 1
	}
	sink, closeSink, err := dryRunSink(f, o.dryRun)
	if err != nil {
		errorf(f, "%v", err)
		return 1
	}
	if !o.terse {
		fmt.Fprint(f.IO.Out, "Dry-Run job(s)")
	}
	for i, ad := range ads {
		if i > 0 {
			ad = procDiff(ads[0], ad)
		}
		fmt.Fprint(sink, "\n"+ad)
		if !o.terse {
			fmt.Fprint(f.IO.Out, ".")
		}
	}
	if err := closeSink(); err != nil {
		errorf(f, "%v", err)
		return 1
	}
	procs := make([]string, len(ads))
	for i := range ads {
		procs[i] = strconv.Itoa(i)
	}
	if o.terse {
		fmt.Fprintln(f.IO.Out, procIDs("1", procs))
	} else {
		fmt.Fprintf(f.IO.Out, "\n%d job(s) dry-run to cluster 1.\n", len(ads))
	}
	return 0
}

// planAds are the job ads the backend would send, in condor_submit
// -dry-run's NAME=VALUE form.
func planAds(f *cmdutil.Factory, o *submitOpts, js []jobdesc.Job, dir string) ([]string, error) {
	if err := loadConfig(f); err != nil {
		return nil, err
	}
	addr, err := o.target.address(f.Env.Getenv)
	if err != nil {
		addr, _ = ce.ParseAddress("condor://localhost", ce.HTCondor) // a dry run needs no schedd
	}
	tlsFor, err := f.TLSFor(nil)
	if err != nil {
		return nil, err
	}
	b, err := ce.Backends.New(ce.Config{Address: addr, TLSFor: tlsFor, Debugf: f.Debugf})
	if err != nil {
		return nil, err
	}
	reqs, err := b.PlanSubmit(js, ce.SubmitOptions{BaseDir: dir})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range reqs {
		if r.Method != "QMGMT" {
			continue
		}
		var sb strings.Builder
		for _, l := range strings.SplitAfter(r.Body, "\n") {
			sb.WriteString(strings.Replace(l, " = ", "=", 1))
		}
		out = append(out, sb.String())
	}
	return out, nil
}

func dryRunSink(f *cmdutil.Factory, name string) (io.Writer, func() error, error) {
	if name == "-" {
		return f.IO.Out, func() error { return nil }, nil
	}
	fh, err := os.Create(name)
	if err != nil {
		return nil, nil, fmt.Errorf("-dry-run %s: %w", name, err)
	}
	return fh, fh.Close, nil
}

// procDiff is how condor_submit -dry-run shows a proc after the first:
// ProcId and JobStatus, then only the attributes whose value differs from
// the first proc's.
func procDiff(first, ad string) string {
	seen := map[string]bool{}
	for _, l := range strings.Split(first, "\n") {
		seen[l] = true
	}
	var head, rest strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(ad, "\n"), "\n") {
		name, _, _ := strings.Cut(l, "=")
		switch {
		case name == "ProcId" || name == "JobStatus":
			head.WriteString(l + "\n")
		case !seen[l]:
			rest.WriteString(l + "\n")
		}
	}
	return head.String() + rest.String()
}
