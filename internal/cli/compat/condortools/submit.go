package condortools

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/format"
)

// runSubmit is condor_submit: exit 0 when the jobs are submitted (or the
// dry run went through), 1 otherwise, as the real tool.
func runSubmit(ctx context.Context, f *cmdutil.Factory, list []string) int {
	o, err := parseSubmitArgs(list)
	if err != nil {
		errorf(f, "%v", err)
		return 1
	}
	js, dir, err := readSubmit(f, o)
	if err != nil {
		errorf(f, "%v", err)
		return 1
	}
	if o.dryRun != "" {
		return dryRun(f, o, js, dir)
	}
	return submitJobs(ctx, f, o, js, dir)
}

// readSubmit reads the submit file (or stdin) with the -append lines, the
// NAME=VALUE assignments and -queue, and decides acceptance as
// condor_submit 25 does (see accept.go).
func readSubmit(f *cmdutil.Factory, o *submitOpts) ([]jobdesc.Job, string, error) {
	if !o.hasFile && o.dryRun != "" && o.dryRun != "-" {
		return nil, "", fmt.Errorf("No submit filename was provided, and '%s' was given as the output filename for -dry-run: give the submit file, or - to read it from stdin", o.dryRun)
	}
	name, src, err := submitSource(f, o)
	if err != nil {
		return nil, "", err
	}
	text := withAppends(string(src), o)
	if err := refuseRemote(text, o.vars); err != nil {
		return nil, "", err
	}
	dir := "."
	if o.file != "" && o.file != "-" {
		dir = filepath.Dir(o.file)
	}
	if name != cmdutil.Stdin {
		if text, err = inlineStdinItems(text, f.IO.In); err != nil {
			return nil, "", err
		}
	}
	skip := skipFileCheck(f.Env.Getenv, text, o.vars)
	opts := format.Options{Vars: o.vars, Queue: o.queue, CheckFiles: !skip && !matchTimeExecutable(text)}
	js, err := format.Read(format.Submit, name, []byte(text), opts)
	if err == nil && skip {
		err = checkExecutables(js, dir)
	}
	if err != nil {
		return nil, "", err
	}
	return js, dir, nil
}

func submitSource(f *cmdutil.Factory, o *submitOpts) (string, []byte, error) {
	if o.file == "" || o.file == "-" {
		src, err := io.ReadAll(f.IO.In)
		return cmdutil.Stdin, src, err
	}
	src, err := os.ReadFile(o.file)
	if err != nil {
		return "", nil, fmt.Errorf("Failed to open command file (%s) (%w)", o.file, unwrapPath(err))
	}
	return o.file, src, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// procIDs formats the -terse line: the first and last job ids.
func procIDs(cluster string, procs []string) string {
	if len(procs) == 0 {
		return ""
	}
	return cluster + "." + procs[0] + " - " + cluster + "." + procs[len(procs)-1]
}

// submitJobs sends the jobs through jobs.Submitter (recorded on cesub's
// job list) and prints what condor_submit prints.
func submitJobs(ctx context.Context, f *cmdutil.Factory, o *submitOpts, js []jobdesc.Job, dir string) int {
	s, ok := connect(ctx, f, o.target)
	if !ok {
		return 1
	}
	defer s.close()
	info, _ := ce.Backends.Info(s.addr.Flavour)
	d, err := jobs.ChooseDelegation("auto", s.src, info)
	if err != nil {
		errorf(f, "%v", err)
		return 1
	}
	sub := &jobs.Submitter{Addr: s.addr, Backend: s.c, Token: s.src, Store: s.store, Delegations: f.Delegations(s.store), Delegation: d,
		Warnf:  func(format string, a ...any) { fmt.Fprintf(f.IO.ErrOut, "WARNING: "+format+"\n", a...) },
		Failed: func(err error) { errorf(f, "%v", err) }}
	if !o.terse {
		fmt.Fprint(f.IO.Out, "Submitting job(s)")
	}
	res, err := sub.Submit(ctx, []jobs.Batch{{Jobs: js, Dir: dir}})
	if err != nil {
		errorf(f, "%v", err)
		return 1
	}
	return printSubmitted(f, o, res)
}

// printSubmitted prints the dots, the summary line (or -terse's ids) of the
// jobs the schedd accepted.
func printSubmitted(f *cmdutil.Factory, o *submitOpts, res jobs.Submitted) int {
	var cluster string
	var procs []string
	for _, r := range res.Results {
		if r.Err != nil || r.Job == nil {
			continue
		}
		c, p, _ := strings.Cut(r.Job.LocalID, ".")
		cluster = c
		procs = append(procs, p)
	}
	switch {
	case o.terse:
		if len(procs) > 0 {
			fmt.Fprintln(f.IO.Out, procIDs(cluster, procs))
		}
	default:
		fmt.Fprintln(f.IO.Out, strings.Repeat(".", len(procs)))
		if len(procs) > 0 {
			fmt.Fprintf(f.IO.Out, "%d job(s) submitted to cluster %s.\n", len(procs), cluster)
		}
	}
	if res.Failed > 0 || len(procs) == 0 {
		return 1
	}
	return 0
}
