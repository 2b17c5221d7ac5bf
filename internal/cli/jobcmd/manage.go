package jobcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/endpoints"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/cobra"
)

// Selection says which jobs a command works on (internal/jobs resolves it).
type Selection = jobs.Selection

// addSelection adds the selection flags: -a, -C (repeatable), --state, -i.
func addSelection(cmd *cobra.Command, s *Selection) {
	fl := cmd.Flags()
	fl.BoolVarP(&s.All, "all", "a", false, "all jobs in the job list (narrowed by -C and --state)")
	fl.StringArrayVarP(&s.CEs, "ce", "C", nil, "only jobs on this CE (repeatable; the CEs are worked on in parallel)")
	fl.StringSliceVar(&s.States, "state", nil, "only jobs in these last known states, any case (e.g. finished,FAILED)")
	fl.StringVarP(&s.IDFile, "ids-from", "i", "", "read job references from this file, one per line (as arcstat -i)")
	_ = cmd.RegisterFlagCompletionFunc("state", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var names []string
		for _, st := range ce.States {
			names = append(names, string(st))
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}

// ceAccess is what the job commands take from the Factory to reach the
// job list and the CEs: functions, so that a test can replace each.
type ceAccess struct {
	JobList  func(context.Context) (*jobstore.Store, error)
	Tokens   func() (*cmdutil.Tokens, error)
	Backend  func(context.Context, ce.Address, token.Source, *jobstore.Store) (ce.Backend, error)
	Deadline func(ctx context.Context, scale int) (context.Context, context.CancelFunc) // scale x --timeout
	Warnf    func(format string, args ...any)
	Notef    func(format string, args ...any) // a one-line note on stderr ("cesub: …")
}

// accessOf is the Factory's ceAccess.
func accessOf(f *cmdutil.Factory) ceAccess {
	return ceAccess{JobList: f.JobList, Tokens: f.Tokens, Backend: f.Backend, Deadline: f.Deadline, Warnf: f.Warnf, Notef: f.Errorf}
}

// env is what the job commands share while they run.
type env struct {
	ceAccess
	store    *jobstore.Store
	tokens   *cmdutil.Tokens       // a token source per CE (audience)
	backends map[string]ce.Backend // one per CE for the whole command (keep-alive, one TLS setup)
	mu       sync.Mutex            // guards backends (CEs are worked on in parallel)
	recovery *jobs.Recovery        // pending submissions of the CEs this command talks to
}

// jobDeps is what the commands that work on jobs of the job list (status,
// cat, get, kill, clean, resume, hold, release) take from the Factory.
type jobDeps struct {
	IO     *cmdutil.IOStreams
	Report jobReporter
	Access ceAccess
	Now    func() time.Time
	Infof  func(format string, args ...any) // with -v
}

// jobReporter is how the job commands report (cmdutil.Factory).
type jobReporter interface {
	ceReporter
	PrintError(err error)
	NewProgress(label string, total int) *cmdutil.Progress
}

// jobDepsOf is the Factory's jobDeps. Now and Infof are read when called:
// the root command sets them once the flags are parsed.
func jobDepsOf(f *cmdutil.Factory) jobDeps {
	return jobDeps{IO: f.IO, Report: f, Access: accessOf(f), Now: func() time.Time { return f.Now() },
		Infof: func(format string, args ...any) { f.Infof(format, args...) }}
}

// ceFlags are -C/--ce (repeatable) and --flavour of the commands that
// address CEs rather than jobs (ping, info).
type ceFlags struct {
	CEs     []string
	Flavour string
	addrs   []ce.Address // the CEs, parsed once (resolve)
}

// parseCE reads a CE address as -C and --flavour give it, or as the job
// list has it; a bad one is a usage error.
func parseCE(s, flavour string) (ce.Address, error) {
	addr, err := ce.ParseAddress(s, ce.Flavour(flavour))
	if err != nil {
		return addr, cmdutil.UsageError(err)
	}
	return addr, nil
}

func (c *ceFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&c.CEs, "ce", "C", nil, "CE address (repeatable: the CEs are asked in parallel, each within its own time limit)")
	cmd.Flags().StringVar(&c.Flavour, "flavour", "", "CE flavour (default: from the address)")
	_ = cmd.RegisterFlagCompletionFunc("flavour", cmdutil.CompleteFlavours)
}

// ceDeps is what the commands that address CEs rather than jobs (ping,
// info) take from the Factory: IO, a reporter, the job list and CEs, the
// endpoint file.
type ceDeps struct {
	IO           *cmdutil.IOStreams
	Report       ceReporter
	Access       ceAccess
	EndpointFile func() (*endpoints.File, error) // -E
}

// ceReporter is how ping and info report (cmdutil.Factory).
type ceReporter interface {
	Errorf(format string, args ...any)
	Hint(err error)
	JSON() bool
	PrintJSON(v any) error
}

// ceDepsOf is the Factory's ceDeps.
func ceDepsOf(f *cmdutil.Factory) ceDeps {
	return ceDeps{IO: f.IO, Report: f, Access: accessOf(f), EndpointFile: f.Endpoints}
}

// resolve makes the CEs those of -C, or else those of the endpoint file
// (-E or CESUB_ENDPOINTS: every endpoint not marked skip, each with the
// flavour and, through the token settings, the token source it gives).
func (c *ceFlags) resolve(endpointFile func() (*endpoints.File, error)) error {
	if len(c.CEs) > 0 {
		for _, a := range c.CEs { // a bad address is a usage error before anything is sent
			addr, err := parseCE(a, c.Flavour)
			if err != nil {
				return err
			}
			c.addrs = append(c.addrs, addr)
		}
		return nil
	}
	file, err := endpointFile()
	if err != nil {
		return err
	}
	if file == nil {
		return cmdutil.UsageError(errors.New("give the CE with -C/--ce, or an endpoint file with -E"))
	}
	if c.Flavour != "" {
		return cmdutil.UsageError(errors.New("--flavour goes with -C: the endpoint file gives each CE's flavour"))
	}
	for _, ep := range file.Endpoints {
		if !ep.Skip {
			c.CEs = append(c.CEs, ep.Address.Arg())
			c.addrs = append(c.addrs, ep.Address)
		}
	}
	if len(c.CEs) == 0 {
		return cmdutil.UsageError(fmt.Errorf("%s: every endpoint is marked skip", file.Path))
	}
	return nil
}

// eachCE opens the job list and runs op for each CE of c (resolved), in parallel (at
// most ceParallel at once), each with its own deadline of scale x
// --timeout; the results are in the order the CEs were given. A CE whose
// backend cannot be made gets err set and op is not called for it.
func eachCE[T any](ctx context.Context, acc ceAccess, c ceFlags, scale int, op func(ctx context.Context, b ce.Backend, addr ce.Address) (T, error)) ([]T, []error, *env, error) {
	e, err := open(ctx, acc)
	if err != nil {
		return nil, nil, nil, err
	}
	out := make([]T, len(c.addrs))
	errs := make([]error, len(c.addrs))
	sem := make(chan struct{}, ceParallel)
	var wg sync.WaitGroup
	for i, addr := range c.addrs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := e.Deadline(ctx, scale)
			defer cancel()
			b, err := e.backend(cctx, addr)
			if err == nil {
				out[i], err = op(cctx, b, addr)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return out, errs, e, nil
}

// openSelected opens the job list and resolves a selection in it.
func openSelected(ctx context.Context, d jobDeps, sel Selection) (*env, []jobstore.Job, error) {
	e, err := open(ctx, d.Access)
	if err != nil {
		return nil, nil, err
	}
	if sel.All {
		e.recoverAll(ctx, sel.CEs)
	}
	selected, err := sel.Resolve(ctx, e.store)
	if err != nil {
		e.store.Close()
		var ie *jobs.InputError
		if errors.As(err, &ie) {
			return nil, nil, cmdutil.UsageError(err)
		}
		return nil, nil, err
	}
	if len(selected) == 0 {
		fmt.Fprintf(d.IO.ErrOut, "cesub: no jobs matched (%s) in %s\n", sel.Describe(), e.store.Path())
	}
	return e, selected, nil
}

// open opens the job list and resolves the token settings.
func open(ctx context.Context, acc ceAccess) (*env, error) {
	store, err := acc.JobList(ctx)
	if err != nil {
		return nil, err
	}
	tokens, err := acc.Tokens()
	if err != nil {
		store.Close()
		return nil, err
	}
	return &env{ceAccess: acc, store: store, tokens: tokens, recovery: &jobs.Recovery{Store: store}}, nil
}

// backendOf is the backend of a CE as the job list names it.
func (e *env) backendOf(ctx context.Context, endpoint, flavour string) (ce.Backend, ce.Address, error) {
	addr, err := parseCE(endpoint, flavour)
	if err != nil {
		return nil, addr, err
	}
	b, err := e.backend(ctx, addr)
	return b, addr, err
}

// backend is the backend of a CE, made once for the whole command. The
// first time a command talks to a CE, the submissions to it that another
// cesub wrote ahead and never recorded are resolved (jobs.Recovery): every
// command that reaches a CE gets its backend here.
func (e *env) backend(ctx context.Context, addr ce.Address) (ce.Backend, error) {
	b, made, err := e.cachedBackend(ctx, addr)
	if err == nil && made {
		e.recover(ctx, addr, b)
	}
	return b, err
}

func (e *env) cachedBackend(ctx context.Context, addr ce.Address) (ce.Backend, bool, error) {
	key := string(addr.Flavour) + " " + addr.URL()
	e.mu.Lock()
	defer e.mu.Unlock()
	if ob, ok := e.backends[key]; ok {
		return ob, false, nil
	}
	b, err := e.Backend(ctx, addr, e.tokens.For(addr), e.store)
	if err != nil {
		return nil, false, err
	}
	if e.backends == nil {
		e.backends = map[string]ce.Backend{}
	}
	e.backends[key] = b
	return b, true, nil
}

// recover resolves the pending submissions to the CE and says, in one
// line, what it recorded.
func (e *env) recover(ctx context.Context, addr ce.Address, b ce.Backend) {
	rs := e.recovery.CE(ctx, addr, b)
	if note := jobs.RecoveredNote(rs); note != "" && e.Notef != nil {
		e.Notef("%s: %s", addr.URL(), note)
	}
	for _, r := range rs {
		if r.Err != "" && e.Warnf != nil {
			e.Warnf("%s (the next command tries again)", r.Err)
		}
	}
}

// recoverAll resolves the pending submissions of every CE that ces (the
// -C of a selection; all when empty) names, before -a selects jobs: a
// submission all of whose jobs were lost has no job on the list that
// would make the command talk to its CE.
func (e *env) recoverAll(ctx context.Context, ces []string) {
	want := map[string]bool{}
	for _, c := range ces {
		if addr, err := ce.ParseAddress(c, ""); err == nil {
			want[strings.TrimSuffix(addr.URL(), "/")] = true
		}
	}
	for _, p := range jobs.PendingCEs(ctx, e.store) {
		if len(want) > 0 && !want[p[0]] {
			continue
		}
		cctx, cancel := e.Deadline(ctx, 3)
		if _, _, err := e.backendOf(cctx, p[0], p[1]); err != nil && e.Warnf != nil { // it keeps its rows
			e.Warnf("%s: its interrupted submissions are not resolved (the next command tries again): %v", p[0], err)
		}
		cancel()
	}
}

// recovered is what the recovery recorded or cleared, for -o json (nil
// when nothing).
func (e *env) recovered() []jobs.Recovered {
	var out []jobs.Recovered
	for _, r := range e.recovery.Results() {
		if r.Added > 0 || r.Cleared {
			out = append(out, r)
		}
	}
	return out
}

// ceParallel bounds how many CEs a command works on at once.
const ceParallel = jobs.DefaultParallel

// runner works on the selected jobs CE by CE (internal/jobs), with this
// command's backends, deadlines and job list.
func (e *env) runner() *jobs.Runner {
	return &jobs.Runner{Store: e.store, Backend: e.backendOf, Deadline: e.Deadline, Warnf: e.Warnf, Parallel: ceParallel,
		Answered: func(ctx context.Context, addr ce.Address, b ce.Backend) { jobs.RememberVersion(ctx, e.store, addr, b) }}
}

// forEachCE runs op on the jobs of each CE in parallel (jobs.Runner.ForEachCE).
func (e *env) forEachCE(ctx context.Context, list []jobstore.Job, scale int, op func(context.Context, ce.Backend, []jobstore.Job) ([]ce.Result, error)) ([]ce.Result, bool) {
	return e.runner().ForEachCE(ctx, list, scale, op)
}

// StatusOptions of `cesub status`.
type StatusOptions struct {
	jobDeps
	Sel      Selection
	Watch    bool
	Long     bool
	Interval time.Duration
}

// NewCmdStatus builds `cesub status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{jobDeps: jobDepsOf(f)}
	cmd := &cobra.Command{
		Use:   "status [JOB…]",
		Short: "Show the state of jobs (one request per CE and batch)",
		Long: `Ask the CEs for the state of jobs and record it in the job list. Jobs are
given by id, or -a/--all (narrowed by -C and --state). JSON uses arcstat's field
names. With -l, also where and how long each job ran: queue, batch id, node,
wall and CPU time (seconds), peak memory (kB), start and end, owner (ARC: the
job's diagnose files; HTCondor: the job ad). Exit 3 when some jobs could not
be queried.`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Sel.IDs = args
			if runF != nil {
				return runF(opts)
			}
			if opts.Watch && opts.Interval < time.Second {
				return cmdutil.UsageError(fmt.Errorf("--interval %s: at least 1s", opts.Interval))
			}
			return statusRun(c.Context(), opts)
		},
	}
	addSelection(cmd, &opts.Sel)
	cmd.Flags().BoolVarP(&opts.Long, "long", "l", false, "long format: queue, batch id, node, wall/CPU time, memory, times, owner")
	cmd.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "poll until every job has ended; print state changes (JSON: the final states)")
	cmd.Flags().DurationVar(&opts.Interval, "interval", 30*time.Second, "time between polls with --watch")
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	r := opts.Report
	e, selected, err := openSelected(ctx, opts.jobDeps, opts.Sel)
	if err != nil {
		return err
	}
	defer e.store.Close()
	out, ok, failed, authFailed := queryStatus(ctx, r, e, selected, !opts.Watch, opts.Long)
	if opts.Watch {
		seen := map[string]string{}
		for _, j := range out.Jobs {
			seen[j.ID] = j.State
			if j.Error != "" {
				seen[j.ID] = "? (" + j.Error + ")"
			}
		}
		if !r.JSON() {
			printStatus(opts.IO.Out, out, opts.Long)
		}
		for !allDone(out) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(opts.Interval):
			}
			out, ok, failed, authFailed = queryStatus(ctx, r, e, selected, false, false)
			for _, j := range out.Jobs {
				now := j.State
				if j.Error != "" {
					now = "? (" + j.Error + ")" // said once, until it changes
				}
				if seen[j.ID] != now {
					if !r.JSON() {
						fmt.Fprintf(opts.IO.Out, "%s  %s  %s -> %s\n", opts.Now().Format("15:04:05"), j.ID, cmdutil.OneLine(orDash(seen[j.ID])), cmdutil.OneLine(now))
					}
					seen[j.ID] = now
				}
			}
		}
		if r.JSON() {
			if err := r.PrintJSON(out); err != nil {
				return err
			}
		}
		return cmdutil.ResultCode(ok, failed, authFailed)
	}
	if r.JSON() {
		if err := r.PrintJSON(out); err != nil {
			return err
		}
	} else {
		printStatus(opts.IO.Out, out, opts.Long)
	}
	return cmdutil.ResultCode(ok, failed, authFailed)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// allDone: every job is terminal or could not be queried.
func allDone(out ListJSON) bool {
	for _, j := range out.Jobs {
		if j.Error == "" && !ce.State(j.State).Terminal() {
			return false
		}
	}
	return true
}

// queryStatus asks the CEs once (jobs.Runner.Status, which records what
// they said) and makes the rows to show.
// With long, flavours that can (ce.Detailer) add each job's long fields.
func queryStatus(ctx context.Context, rep jobReporter, e *env, selected []jobstore.Job, reportErrors, long bool) (ListJSON, int, int, bool) {
	rows, ok, failed, authFailed := e.runner().Status(ctx, selected, long)
	out := ListJSON{Schema: "cesub.status/v1", Jobs: make([]JobJSON, 0, len(rows)), Recovered: e.recovered()}
	for _, r := range rows {
		jj := JobJSON{ID: r.ID, Name: r.Record.Name, CE: r.Record.CE}
		if !r.Record.Submitted.IsZero() {
			jj.Submitted = r.Record.Submitted.Format(time.RFC3339)
		}
		if r.Err != nil {
			jj.Error = r.Err.Error()
			if reportErrors {
				rep.PrintError(r.Err)
			}
		} else {
			jj.State, jj.SpecificState, jj.ExitCode, jj.JobError = string(r.Job.State), r.Job.RawState, r.Job.ExitCode, r.Job.Errors
			jj.Details = r.Job.Details
		}
		out.Jobs = append(out.Jobs, jj)
	}
	return out, ok, failed, authFailed
}

func printStatus(w io.Writer, out ListJSON, long bool) {
	if long {
		printStatusLong(w, out)
		return
	}
	printStatusTable(w, out)
}

// printStatusLong prints one block per job, as arcstat -l and condor_q -l
// users read them: only the fields the CE reported.
func printStatusLong(w io.Writer, out ListJSON) {
	for i, j := range out.Jobs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Job: %s\n", j.ID)
		field := func(name, v string) {
			if v != "" {
				fmt.Fprintf(w, "  %-16s %s\n", name+":", cmdutil.OneLine(v)) // a CE's text stays on its line
			}
		}
		field("Name", j.Name)
		if j.Error != "" {
			field("Error", j.Error)
			continue
		}
		st := j.State
		if j.SpecificState != "" && j.SpecificState != j.State {
			st += " (" + j.SpecificState + ")"
		}
		field("State", st)
		if j.ExitCode != nil {
			field("Exit code", fmt.Sprint(*j.ExitCode))
		}
		for _, e := range j.JobError {
			field("Job error", e)
		}
		field("Submitted", j.Submitted)
		field("CE", j.CE)
		d := j.Details
		if d == nil {
			continue
		}
		stamp := func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		}
		secs := func(p *int64) string {
			if p == nil {
				return ""
			}
			return (time.Duration(*p) * time.Second).String()
		}
		field("Owner", d.Owner)
		field("Queue", d.Queue)
		field("Batch id", d.BatchID)
		field("Node", strings.Join(d.ExecutionNodes, ", "))
		if d.RequestedSlots > 0 {
			field("Slots", fmt.Sprint(d.RequestedSlots))
		}
		field("Started", stamp(d.Started))
		field("Ended", stamp(d.Ended))
		field("Wall time", secs(d.WallTime))
		field("CPU time", secs(d.CPUTime))
		if d.MemoryKB != nil {
			field("Memory (peak)", fmt.Sprintf("%d kB", *d.MemoryKB))
		}
		if d.Starts > 0 {
			field("Starts", fmt.Sprint(d.Starts))
		}
		field("Submitted from", d.SubmittedFrom)
		field("Proxy expires", stamp(d.ProxyExpires))
		field("Erased after", stamp(d.EraseTime))
	}
}

func printStatusTable(out io.Writer, list ListJSON) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "JOB\tNAME\tSTATE\tCE STATE\tEXIT")
	cell := cmdutil.OneLine // a CE's text stays in its cell
	for _, j := range list.Jobs {
		if j.Error != "" {
			// a job that could not be queried keeps its row
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", j.ID, cell(j.Name), "?", "-", "")
			fmt.Fprintf(w, "  error: %s\t\t\t\t\n", cell(j.Error))
			continue
		}
		exit := ""
		if j.ExitCode != nil {
			exit = fmt.Sprint(*j.ExitCode)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", j.ID, cell(j.Name), cell(j.State), cell(j.SpecificState), exit)
		for _, e := range j.JobError {
			fmt.Fprintf(w, "  error: %s\t\t\t\t\n", cell(e))
		}
	}
	_ = w.Flush()
}

// ActionOptions of kill, clean and resume.
type ActionOptions struct {
	jobDeps
	Sel    Selection
	Action string
	Keep   bool
	Forget bool // clean --forget
}

// NewCmdAction builds `cesub kill|clean|resume`.
func NewCmdAction(f *cmdutil.Factory, action string, runF func(*ActionOptions) error) *cobra.Command {
	opts := &ActionOptions{jobDeps: jobDepsOf(f), Action: action}
	short := map[string]string{
		"kill":    "Cancel jobs",
		"clean":   "Remove jobs and their files from the CE (and from the job list)",
		"resume":  "Restart failed jobs from where they failed",
		"hold":    "Put jobs on hold (HTCondor-CE: condor_hold)",
		"release": "Let held jobs go on (HTCondor-CE: condor_release)",
	}[action]
	cmd := &cobra.Command{
		Use:   action + " [JOB…]",
		Short: short,
		Long:  short + ". Jobs are given by id, or -a/--all (narrowed by -C and --state). Exit 3 when some jobs failed.",
		RunE: func(c *cobra.Command, args []string) error {
			opts.Sel.IDs = args
			if runF != nil {
				return runF(opts)
			}
			return actionRun(c.Context(), opts)
		},
	}
	addSelection(cmd, &opts.Sel)
	if action == "clean" {
		cmd.Flags().BoolVar(&opts.Forget, "forget", false, "drop from the job list the jobs the CE no longer has (cleaned elsewhere, or expired)")
	}
	return cmd
}

func actionRun(ctx context.Context, opts *ActionOptions) error {
	r := opts.Report
	e, selected, err := openSelected(ctx, opts.jobDeps, opts.Sel)
	if err != nil {
		return err
	}
	defer e.store.Close()
	results, ok, failed, authFailed := e.runner().Act(ctx, opts.Action, selected, opts.Forget)
	out := ListJSON{Schema: "cesub." + opts.Action + "/v1", Recovered: e.recovered()}
	done, forgotten := "", 0
	for _, res := range results {
		jj := JobJSON{ID: res.ID, State: res.State}
		switch {
		case res.Forgotten:
			forgotten++
		case res.Err != nil:
			jj.Error = res.Err.Error()
			r.PrintError(res.Err)
		default:
			done = res.State
		}
		out.Jobs = append(out.Jobs, jj)
	}
	if r.JSON() {
		if err := r.PrintJSON(out); err != nil {
			return err
		}
	} else if ok > perJobLines {
		// thousands of "ID: killing" lines say less than one count (-o json lists them)
		fmt.Fprintf(opts.IO.ErrOut, "%d jobs: %s\n", ok, strings.ToLower(done))
	} else {
		for _, j := range out.Jobs {
			if j.Error == "" {
				fmt.Fprintf(opts.IO.ErrOut, "%s: %s\n", j.ID, cmdutil.OneLine(strings.ToLower(j.State)))
			}
		}
	}
	if forgotten > 0 {
		opts.Infof("%d jobs the CE no longer has were dropped from the job list", forgotten)
	}
	return cmdutil.ResultCode(ok, failed, authFailed)
}

// perJobLines is how many jobs an action confirms one by one; more get a count.
const perJobLines = 20

// CatOptions of `cesub cat`.
type CatOptions struct {
	jobDeps
	Job    string
	Stderr bool
	File   string
	Log    bool
}

// NewCmdCat builds `cesub cat`.
func NewCmdCat(f *cmdutil.Factory, runF func(*CatOptions) error) *cobra.Command {
	opts := &CatOptions{jobDeps: jobDepsOf(f)}
	cmd := &cobra.Command{
		Use:   "cat JOB",
		Short: "Print a job's stdout (or stderr, or any session file)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Job = args[0]
			if runF != nil {
				return runF(opts)
			}
			return catRun(c.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Stderr, "stderr", "e", false, "print stderr instead of stdout")
	cmd.Flags().StringVar(&opts.File, "file", "", "print this file of the job's session directory")
	cmd.Flags().BoolVarP(&opts.Log, "log", "l", false, "print the CE's log of the job (A-REX: the grid manager's errors file, like arccat -l)")
	return cmd
}

func catRun(ctx context.Context, opts *CatOptions) error {
	e, selected, err := openSelected(ctx, opts.jobDeps, Selection{IDs: []string{opts.Job}, Descriptions: true})
	if err != nil {
		return err
	}
	defer e.store.Close()
	if len(selected) > 1 {
		return cmdutil.UsageError(fmt.Errorf("%q names %d jobs (%s): cat shows one", opts.Job, len(selected), jobs.IDList(selected, 3)))
	}
	j := selected[0]
	if opts.Log {
		b, _, err := e.backendOf(ctx, j.CE, j.Flavour)
		if err != nil {
			return err
		}
		lr, ok := b.(ce.LogReader)
		if !ok {
			return fmt.Errorf("cat --log: flavour %s has no job log", j.Flavour)
		}
		cctx, cancel := opts.Access.Deadline(ctx, 3)
		defer cancel()
		return lr.JobLog(cctx, j.LocalID, opts.IO.DataOut())
	}
	path := opts.File
	if path == "" {
		var d jobdesc.Job
		_ = json.Unmarshal([]byte(j.Description), &d)
		path = d.Stdout
		if opts.Stderr {
			path = d.Stderr
		}
		if path == "" {
			what := "stdout"
			if opts.Stderr {
				what = "stderr"
			}
			return fmt.Errorf("cat: the description of %s names no %s; give --file", j.ID, what)
		}
	}
	b, _, err := e.backendOf(ctx, j.CE, j.Flavour)
	if err != nil {
		return err
	}
	cctx, cancel := opts.Access.Deadline(ctx, 3)
	defer cancel()
	return b.Cat(cctx, j.LocalID, path, opts.IO.DataOut())
}

// GetOptions of `cesub get`.
type GetOptions struct {
	jobDeps
	Sel  Selection
	Dir  string
	Keep bool
}

// NewCmdGet builds `cesub get`.
func NewCmdGet(f *cmdutil.Factory, runF func(*GetOptions) error) *cobra.Command {
	opts := &GetOptions{jobDeps: jobDepsOf(f)}
	cmd := &cobra.Command{
		Use:   "get [JOB…]",
		Short: "Download the outputs of finished jobs, then clean them from the CE",
		Long: `Download each job's session directory into DIR/<job local id> (files in
parallel), then clean the job from the CE and the job list unless --keep. Exit 3
when some jobs failed.

The job's folder must be new: get creates it, and refuses one that exists
(a CE chooses the id, and a job named bin must not write into DIR/bin), unless an
interrupted get of the same job left it (marked by a .cesub-get file); then the
download resumes. A file is written as NAME.cesub-part and renamed when complete;
no link is followed, no file grows past the size the CE listed, and modes are at
most 0755.`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Sel.IDs = args
			if runF != nil {
				return runF(opts)
			}
			return getRun(c.Context(), opts)
		},
	}
	addSelection(cmd, &opts.Sel)
	cmd.Flags().StringVarP(&opts.Dir, "dir", "D", ".", "download directory")
	cmd.Flags().BoolVarP(&opts.Keep, "keep", "k", false, "keep the job on the CE after downloading")
	return cmd
}

// gotJSON is one job of `get -o json`.
type gotJSON struct {
	JobJSON
	Dir   string `json:"dir,omitempty"`
	Files int    `json:"files,omitempty"`
	Bytes int64  `json:"bytes,omitempty"`
}

func getRun(ctx context.Context, opts *GetOptions) error {
	r := opts.Report
	e, selected, err := openSelected(ctx, opts.jobDeps, opts.Sel)
	if err != nil {
		return err
	}
	defer e.store.Close()
	out := struct {
		Schema string    `json:"schema"`
		Jobs   []gotJSON `json:"jobs"`
	}{Schema: "cesub.get/v1"}
	ok, failed, authFailed := 0, 0, false
	stateOf := currentStates(ctx, e, selected)
	claims := jobs.NewClaims(e.store)
	for _, j := range selected {
		g, err := getOne(ctx, e, opts, claims, j, stateOf)
		var taken *jobs.TakenError
		if errors.As(err, &taken) {
			// another host's get has it: neither done nor failed here
			r.Errorf("%s: skipped: %v", j.ID, err)
			continue
		}
		if err != nil {
			authFailed = authFailed || ce.IsAuthFailure(err)
			failed++
			g.Error = err.Error()
			r.Errorf("%s: %v", j.ID, err)
			r.Hint(err)
		} else {
			ok++
			switch {
			case r.JSON():
			case g.Dir == "":
				fmt.Fprintf(opts.IO.ErrOut, "%s: cleaned (its outputs were downloaded before)\n", j.ID)
			default:
				fmt.Fprintf(opts.IO.ErrOut, "%s: %d files, %d bytes in %s\n", j.ID, g.Files, g.Bytes, g.Dir)
			}
		}
		out.Jobs = append(out.Jobs, g)
	}
	if r.JSON() {
		if err := r.PrintJSON(out); err != nil {
			return err
		}
	}
	return cmdutil.ResultCode(ok, failed, authFailed)
}

// currentStates asks the CEs for the jobs' states: only finished jobs are
// fetched (and then cleaned), a running job's outputs are not there yet.
func currentStates(ctx context.Context, e *env, selected []jobstore.Job) map[string]ce.Result {
	states, _ := e.forEachCE(ctx, selected, 3, func(sctx context.Context, b ce.Backend, g []jobstore.Job) ([]ce.Result, error) {
		return b.Status(sctx, jobs.LocalIDs(g))
	})
	stateOf := make(map[string]ce.Result, len(states))
	for _, r := range states {
		stateOf[r.ID] = r
	}
	return stateOf
}

// getOne downloads one job that has ended, and cleans it unless --keep.
// The job is claimed first (hosts sharing the job list download it once) and
// given back unless it was cleaned and removed from the list.
func getOne(ctx context.Context, e *env, opts *GetOptions, claims *jobs.Claims, j jobstore.Job, stateOf map[string]ce.Result) (gotJSON, error) {
	g := gotJSON{JobJSON: JobJSON{ID: j.ID, Name: j.Name}}
	st, known := stateOf[j.ID]
	if st.Job != nil {
		g.State, g.SpecificState = string(st.Job.State), st.Job.RawState
	}
	if known && st.Err == nil && !st.Job.State.Terminal() {
		return g, fmt.Errorf("the job is %s: get fetches finished jobs (look at a running job's files with `cesub cat`)", st.Job.State)
	}
	var taken *jobs.TakenError
	if err := claims.Take(ctx, j); errors.As(err, &taken) && taken.Fetched() && !opts.Keep {
		return g, cleanFetched(ctx, e, j) // downloaded by a get whose clean failed
	} else if err != nil {
		return g, err
	}
	removed, fetched, err := fetchOne(ctx, e, opts, j, st, known, &g)
	switch {
	case removed:
	case fetched && !opts.Keep:
		claims.Fetched(ctx, j)
	default:
		claims.Give(ctx, j)
	}
	return g, err
}

// cleanFetched cleans a job another get downloaded, and removes it from the list.
func cleanFetched(ctx context.Context, e *env, j jobstore.Job) error {
	b, _, err := e.backendOf(ctx, j.CE, j.Flavour)
	if err != nil {
		return err
	}
	cctx, cancel := e.Deadline(ctx, 1)
	defer cancel()
	cr, err := b.Clean(cctx, []string{j.LocalID})
	if err == nil && len(cr) == 1 && cr[0].Err != nil {
		err = cr[0].Err
	}
	if err != nil && !errors.Is(err, ce.ErrNotFound) { // not found: another get cleaned it
		return fmt.Errorf("downloaded already, but cleaning failed: %w", err)
	}
	return e.store.Cleaned(ctx, j.ID)
}

// fetchOne downloads a claimed job and cleans it unless --keep; removed
// says that it is off the job list now, fetched that its outputs are here.
func fetchOne(ctx context.Context, e *env, opts *GetOptions, j jobstore.Job, st ce.Result, known bool, g *gotJSON) (removed, fetched bool, err error) {
	switch {
	case !known:
		return false, false, fmt.Errorf("no state from the CE")
	case st.Err != nil:
		return false, false, st.Err
	}
	// the id names the job's folder under -D: one that is not a plain
	// name (a list written by an older cesub) would lead out
	if err := safeDir(j); err != nil {
		return false, false, err
	}
	b, _, err := e.backendOf(ctx, j.CE, j.Flavour)
	if err != nil {
		return false, false, err
	}
	// no deadline for the whole download (see submit): each request has
	// --timeout, transfers an idle limit
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prog := opts.Report.NewProgress("downloading "+j.LocalID, 0)
	res, err := b.Get(cctx, j.LocalID, ce.GetOptions{Dir: filepath.Join(opts.Dir, j.LocalID),
		Progress: func(_ string, n int64) { prog.Add(n) }})
	prog.Done()
	if err != nil {
		return false, false, err
	}
	g.Dir, g.Files, g.Bytes = res.Dir, res.Files, res.Bytes
	if opts.Keep {
		return false, true, nil
	}
	cr, err := b.Clean(cctx, []string{j.LocalID})
	if err == nil && len(cr) == 1 && cr[0].Err != nil {
		err = fmt.Errorf("downloaded, but cleaning failed: %w", cr[0].Err)
	}
	if err != nil {
		return false, true, err
	}
	return e.store.Cleaned(ctx, j.ID) == nil, true, nil
}

// safeDir refuses a job whose id cannot name its download folder under -D.
func safeDir(j jobstore.Job) error {
	if err := ce.Backends.CheckLocalID(ce.Flavour(j.Flavour), j.LocalID); err != nil {
		return fmt.Errorf("not downloaded: %w", err)
	}
	if !filepath.IsLocal(j.LocalID) {
		return fmt.Errorf("not downloaded: job id %q would leave the download directory", j.LocalID)
	}
	return nil
}

// InfoOptions of `cesub info`.
type InfoOptions struct {
	ceDeps
	ceFlags
}

// NewCmdInfo builds `cesub info`.
func NewCmdInfo(f *cmdutil.Factory, runF func(*InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{ceDeps: ceDepsOf(f)}
	cmd := &cobra.Command{
		Use:   "info (-C CE… | -E ENDPOINTS)",
		Short: "Summarise a CE: implementation, API versions, queues, runtime environments",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return infoRun(c.Context(), opts)
		},
	}
	opts.add(cmd)
	return cmd
}

func infoRun(ctx context.Context, opts *InfoOptions) error {
	r := opts.Report
	if err := opts.resolve(opts.EndpointFile); err != nil {
		return err
	}
	infos, errs, e, err := eachCE(ctx, opts.Access, opts.ceFlags, 2, func(cctx context.Context, b ce.Backend, _ ce.Address) (*ce.Info, error) {
		return b.Info(cctx)
	})
	if err != nil {
		return err
	}
	defer e.store.Close()
	if len(opts.CEs) == 1 {
		if errs[0] != nil {
			return errs[0]
		}
		if r.JSON() {
			return r.PrintJSON(struct {
				Schema string `json:"schema"`
				*ce.Info
			}{"cesub.info/v1", infos[0]})
		}
		return printInfo(opts.IO.Out, infos[0])
	}
	type infoJSON struct {
		CE    string   `json:"ce"`
		Info  *ce.Info `json:"info,omitempty"`
		Error string   `json:"error,omitempty"`
	}
	list := struct {
		Schema string     `json:"schema"`
		CEs    []infoJSON `json:"ces"`
	}{Schema: "cesub.info.list/v1"}
	ok, failed, authFailed := 0, 0, false
	for i, a := range opts.CEs {
		ij := infoJSON{CE: a, Info: infos[i]}
		if errs[i] != nil {
			failed++
			ij.Error = errs[i].Error()
			authFailed = authFailed || ce.IsAuthFailure(errs[i])
			r.Errorf("%s: %v", a, errs[i])
			r.Hint(errs[i])
		} else {
			ok++
		}
		list.CEs = append(list.CEs, ij)
	}
	if r.JSON() {
		if err := r.PrintJSON(list); err != nil {
			return err
		}
	} else {
		for i, ij := range list.CEs {
			if ij.Info == nil {
				continue
			}
			if i > 0 {
				fmt.Fprintln(opts.IO.Out)
			}
			if err := printInfo(opts.IO.Out, ij.Info); err != nil {
				return err
			}
		}
	}
	return cmdutil.ResultCode(ok, failed, authFailed)
}

func printInfo(out io.Writer, info *ce.Info) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	cell := cmdutil.OneLine // a CE's text stays in its cell
	fmt.Fprintf(w, "endpoint:\t%s\n", info.Endpoint)
	fmt.Fprintf(w, "implementation:\t%s %s\n", cell(info.Implementation), cell(info.Version))
	if len(info.APIVersions) > 0 {
		fmt.Fprintf(w, "api versions:\t%s\n", cell(strings.Join(info.APIVersions, " ")))
	}
	for _, q := range info.Queues {
		limits := ""
		if q.MaxWallTime > 0 || q.MaxMemoryMB > 0 {
			limits = fmt.Sprintf(", max wall %ds, max memory %d MB", q.MaxWallTime, q.MaxMemoryMB)
		}
		fmt.Fprintf(w, "queue:\t%s (%s, %d running, %d waiting%s)\n", cell(q.Name), cell(q.ServingState), q.RunningJobs, q.WaitingJobs, limits)
	}
	if len(info.RuntimeEnvironments) > 0 {
		fmt.Fprintf(w, "runtime environments:\t%s\n", cell(strings.Join(info.RuntimeEnvironments, " ")))
	}
	return w.Flush()
}
