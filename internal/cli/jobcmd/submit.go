// Package jobcmd implements the job commands: submit, status, cat, get,
// kill, clean, resume and info. They work on any registered CE flavour
// through pkg/ce and record jobs in the local job list.
package jobcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/internal/broker"
	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/endpoints"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/format"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/cobra"
)

// SubmitOptions of `cesub submit`: the flags, and what submit takes from
// the Factory, as an interface and functions (tests can replace each).
type SubmitOptions struct {
	IO     *cmdutil.IOStreams
	Report reporter      // warnings, errors, JSON, progress
	Output func() string // -o (set once the flags are parsed)
	// The environment: credentials, the job list, backends.
	Tokens         func() (*cmdutil.Tokens, error)
	EndpointFile   func() (*endpoints.File, error) // -E
	EndpointSource func(endpoints.Endpoint) (token.Source, error)
	ProxyFile      func() (string, error) // the proxy, checked: its absolute path
	JobList        func(context.Context) (*jobstore.Store, error)
	Backend        func(context.Context, ce.Address, token.Source, *jobstore.Store) (ce.Backend, error)
	Delegations    func(*jobstore.Store) *jobs.Delegations
	Templates      func() (submitfile.Templates, error) // for `use template :`

	CEs       []string // -C, repeatable: every CE gets every job (unless Broker)
	Broker    string   // --broker: each job to ONE of the CEs, chosen by this broker
	Debugf    func(format string, args ...any)
	Endpoints []string // --endpoint: without -C, these endpoints of the endpoint file (default: all)
	Parallel  int      // CEs submitted to at once
	Count     int      // N of each job
	Flavour   string
	Files     []string
	Inline    []string
	Instances int
	BatchSize int // jobs per submission request (ARC: one ActivityDescriptions each)
	DryRun    bool
	Delegate  string
	// submit files, as describe and condor_submit take them
	Vars          []string
	Queue         string
	AllowCommands bool
}

// JobJSON is one job in the JSON of submit/status/kill/clean (arcstat names where they exist).
type JobJSON struct {
	ID            string   `json:"id"`
	Name          string   `json:"name,omitempty"`
	CE            string   `json:"ce,omitempty"`
	State         string   `json:"state,omitempty"`
	SpecificState string   `json:"specificState,omitempty"`
	ExitCode      *int     `json:"exitCode,omitempty"`
	Submitted     string   `json:"submitted,omitempty"`
	JobError      []string `json:"jobError,omitempty"`
	Error         string   `json:"error,omitempty"`
	// Broker: where submit --broker sent the job, and why not elsewhere.
	Broker *BrokerJSON `json:"broker,omitempty"`
	// the long fields of status -l, flattened (arcstat -l's names)
	*ce.Details
}

// ListJSON is the schema of the job commands' -o json.
type ListJSON struct {
	Schema string    `json:"schema"`
	Jobs   []JobJSON `json:"jobs"`
	// Recovered are the interrupted submissions of other cesub processes
	// this command found on the CEs it talked to (recorded or cleared).
	Recovered []jobs.Recovered `json:"recovered,omitempty"`
}

// reporter is how submit tells the user what happens (cmdutil.Factory).
type reporter interface {
	Warnf(format string, args ...any)
	PrintError(err error)
	JSON() bool
	PrintJSON(v any) error
	NewBar(label string, total int) *cmdutil.Bar
	NewProgress(label string, total int) *cmdutil.Progress
}

// NewCmdSubmit builds `cesub submit`.
func NewCmdSubmit(f *cmdutil.Factory, runF func(*SubmitOptions) error) *cobra.Command {
	opts := &SubmitOptions{IO: f.IO, Report: f, Output: func() string { return config.Get(f.Config, config.Output) },
		Tokens: f.Tokens, EndpointFile: f.Endpoints, EndpointSource: f.EndpointSource,
		ProxyFile: func() (string, error) {
			if _, err := f.Proxy(); err != nil {
				return "", err
			}
			return filepath.Abs(f.ProxyPath())
		},
		JobList: f.JobList, Backend: f.Backend, Delegations: f.Delegations, Templates: f.SubmitTemplates,
		Debugf: func(format string, args ...any) {
			if f.Debugf != nil {
				f.Debugf(format, args...)
			}
		}}
	cmd := &cobra.Command{
		Use:   "submit -C CE (-f FILE… | -e DESCRIPTION | FILE…)",
		Short: "Submit jobs (xRSL, ADL or HTCondor submit files) to a CE",
		Long: `Submit jobs to a CE. Descriptions are xRSL, ADL or HTCondor submit files
(format from the name or content). All jobs of one command go to the CE in one
request where the CE allows it; client-side input files are uploaded after it
accepts them. Every accepted job is recorded in the job list and its id printed;
a job is never submitted twice. Input files that do not exist stop the command
before anything is sent. Files may also be given as arguments (as arcsub takes them);
"-" (-f - or a lone -) reads a description from stdin.

With -o jsonl, each accepted job is printed as one JSON line as soon as the CE
has accepted it, so a script can act before the run ends. With several -C,
the CEs are submitted to in parallel (--parallel at once), each with its own
token (audience) and time limits.

With --broker NAME (Random or FastestQueue, as arcsub -b), each job goes to ONE
of the CEs instead of to every one: their information is read first, the
CEs and queues the job cannot run in are dropped (a runtime environment
missing, a wall time, CPU time or memory limit too small, a closed queue),
the broker ranks the rest, and a CE that refuses the job passes it to the
next. -o json names the CE each job went to and why the others were
dropped; --debug prints the reasons too.

Without -C, the jobs go to the CEs of the endpoint file (-E or CESUB_ENDPOINTS,
docs/endpoints.md; --endpoint NAME to pick some), each with the token source
and audience the file gives it; the job commands given the same file use the
same tokens for those CEs.

--dry-run contacts no CE and needs no credential: without a token or proxy it
runs every other check, says on stderr which credential checks it skipped,
and exits 0 (CI can check descriptions without secrets).

Exit: 0 all submitted, 3 some failed, 4 refused (authentication), 1 otherwise.`,
		Example: `  cesub submit -C https://ce.example.org/arex -f job.xrsl
  cesub submit -C ce.example.org -e '&(executable=/bin/hostname)(stdout=out.txt)'
  cesub submit -C ce.example.org -f pilot.sub -o json
  cesub submit -C ce1.example.org -C condor://ce2.example.org:9619 -f pilot.sub --count 100 -o jsonl
  cesub submit -E factory.yaml --endpoint site-a --endpoint site-b -f pilot.sub --count 50
  cesub submit -C ce1.example.org -C ce2.example.org --broker FastestQueue -f job.xrsl`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Files = append(opts.Files, args...)
			if len(opts.CEs) > 0 && len(opts.Endpoints) > 0 {
				return cmdutil.UsageError(errors.New("--endpoint picks CEs of the endpoint file: it does not go with -C"))
			}
			if opts.Count < 1 || opts.Count > 1_000_000 {
				return cmdutil.UsageError(fmt.Errorf("--count %d: want 1 to 1000000", opts.Count))
			}
			if len(opts.Files) == 0 && len(opts.Inline) == 0 {
				return cmdutil.UsageError(errors.New("give descriptions with -f FILE or -e DESCRIPTION"))
			}
			if runF != nil {
				return runF(opts)
			}
			return submitRun(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.CEs, "ce", "C", nil, "CE address (host, host:port or URL); repeatable: every CE gets every job")
	fl.StringVar(&opts.Broker, "broker", "", "each job to ONE of the CEs, chosen by this broker: Random or FastestQueue (as arcsub -b; default: every CE gets every job)")
	_ = cmd.RegisterFlagCompletionFunc("broker", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return broker.Names(), cobra.ShellCompDirectiveNoFileComp
	})
	fl.StringArrayVar(&opts.Endpoints, "endpoint", nil, "without -C: submit to this endpoint of the endpoint file (-E; by name, repeatable; default: every endpoint not marked skip)")
	fl.IntVar(&opts.Parallel, "parallel", 4, "with several CEs: CEs submitted to at once")
	fl.IntVarP(&opts.Count, "count", "n", 1, "N of each job (submit files: each queue statement queues N times as many procs, one cluster; xRSL/ADL: N jobs in the request)")
	fl.StringVar(&opts.Flavour, "flavour", "", "CE flavour (default: from the address)")
	_ = cmd.RegisterFlagCompletionFunc("flavour", cmdutil.CompleteFlavours)
	fl.StringArrayVarP(&opts.Files, "file", "f", nil, "job description file (repeatable; - reads stdin)")
	fl.StringArrayVarP(&opts.Inline, "description", "e", nil, "job description text (repeatable)")
	fl.IntVar(&opts.Instances, "instances", 0, "ask the CE for N copies of each job (ARC REST 1.1)")
	fl.IntVar(&opts.BatchSize, "batch-size", 100, "jobs per submission request (a submit file's cluster is never split)")
	fl.StringVar(&opts.Delegate, "delegate", "auto", "delegate a credential for the jobs: auto (x509 when using the proxy, none with a token), none, x509, token (ARC REST 1.1)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "read and check everything, show what would be sent, submit nothing")
	fl.StringVar(&opts.Queue, "queue", "", "submit files: a queue statement to run after the file (like condor_submit -queue)")
	fl.StringArrayVar(&opts.Vars, "var", nil, "submit files: NAME=VALUE set before the file is read (repeatable; condor_submit NAME=VALUE)")
	fl.BoolVar(&opts.AllowCommands, "allow-commands", false, "submit files: run the commands in 'include : cmd |' and 'queue … from cmd |'")
	config.AddFlag(fl, config.CondorConfig)
	return cmd
}

// submitReading is how submit files are read (--var, --queue, --allow-commands).
type submitReading struct {
	vars      map[string]string
	queue     string
	allow     bool
	count     int
	templates func() (submitfile.Templates, error) // `use template :` (read once, when a file uses one)
	stdin     io.Reader                            // for `queue … from -` (nil when a description is read from it)
}

// readJobs parses a description in any format; each job remembers its
// origin (a backend of the same format may re-read it).
func readJobs(name string, src []byte, sr submitReading) ([]jobdesc.Job, error) {
	f := format.Detect(name, src)
	var tpl submitfile.Templates
	if f == format.Submit && sr.templates != nil && bytes.Contains(bytes.ToLower(src), []byte("template")) {
		var err error
		if tpl, err = sr.templates(); err != nil {
			return nil, err
		}
	}
	return format.Read(f, name, src, format.Options{Vars: sr.vars, Queue: sr.queue, AllowCommands: sr.allow, CheckFiles: true, Templates: tpl,
		Count: sr.count, Stdin: sr.stdin})
}

// readBatches reads the description files and the inline descriptions.
func readBatches(opts *SubmitOptions) ([]jobs.Batch, error) {
	var batches []jobs.Batch
	sr := submitReading{queue: opts.Queue, allow: opts.AllowCommands, count: opts.Count, templates: sync.OnceValues(opts.Templates)}
	for _, v := range opts.Vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, cmdutil.UsageError(fmt.Errorf("--var %q: want NAME=VALUE", v))
		}
		if sr.vars == nil {
			sr.vars = map[string]string{}
		}
		sr.vars[strings.TrimSpace(k)] = val
	}
	if n := slices.Index(opts.Files, cmdutil.Stdin); n >= 0 && slices.Index(opts.Files[n+1:], cmdutil.Stdin) >= 0 {
		return nil, cmdutil.UsageError(errors.New(`"-" (stdin) given twice: stdin is read once`))
	}
	if !slices.Contains(opts.Files, cmdutil.Stdin) {
		sr.stdin = opts.IO.In
	}
	for _, file := range opts.Files {
		src, name, err := cmdutil.ReadDescription(opts.IO.In, file)
		if err != nil {
			return nil, err
		}
		js, err := readJobs(name, src, sr)
		if err != nil {
			return nil, &cmdutil.ExitErr{Code: cmdutil.ExitUsage, Err: err}
		}
		batches = append(batches, jobs.Batch{Jobs: js, Dir: filepath.Dir(file)}) // stdin: relative to the working directory
	}
	for i, text := range opts.Inline {
		js, err := readJobs(fmt.Sprintf("-e #%d", i+1), []byte(text), sr)
		if err != nil {
			return nil, &cmdutil.ExitErr{Code: cmdutil.ExitUsage, Err: err}
		}
		batches = append(batches, jobs.Batch{Jobs: js, Dir: "."})
	}
	return batches, nil
}

// submitRun submits the descriptions to each CE (in parallel when there
// are several) and prints what each CE accepted.
func submitRun(ctx context.Context, opts *SubmitOptions) error {
	targets, err := submitTargets(opts)
	if err != nil {
		return err
	}
	if opts.Broker != "" {
		return submitBrokered(ctx, opts, targets)
	}
	p := newSubmitPrinter(opts, len(targets))
	defer p.done()
	if len(targets) == 1 {
		return submitOne(ctx, opts, targets[0], p)
	}
	return submitMany(ctx, opts, targets, p)
}

// submitOne submits to one CE. The descriptions are read while the
// credentials, the job list and the backend are set up (and, for a CE
// that takes it, the connection is made); a description error still wins
// over any other (jobs.WhileReading).
func submitOne(ctx context.Context, opts *SubmitOptions, tg target, p *submitPrinter) error {
	var s *jobs.Submitter
	batches, err := jobs.WhileReading(func() ([]jobs.Batch, error) { return readBatches(opts) }, func() error {
		var err error
		s, err = newSubmitter(ctx, opts, tg, p)
		return err
	})
	if s != nil {
		defer s.Close()
	}
	if err != nil {
		return err
	}
	res, err := submitWith(ctx, opts, s, batches)
	if err != nil || opts.DryRun {
		return err
	}
	return p.print(submittedJSON(res))
}

// submitMany submits to several CEs, --parallel at once; the descriptions
// are read once, before any CE is asked.
func submitMany(ctx context.Context, opts *SubmitOptions, targets []target, p *submitPrinter) error {
	bs, err := readBatches(opts)
	if err != nil {
		return err
	}
	if opts.DryRun {
		return cmdutil.UsageError(errors.New("--dry-run shows one CE's requests: give one -C or one --endpoint"))
	}
	all := make([]jobs.Submitted, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, max(1, opts.Parallel))
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := newSubmitter(ctx, opts, tg, p)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			all[i], errs[i] = submitWith(ctx, opts, s, bs)
		}()
	}
	wg.Wait()
	var total submitted
	for i, tg := range targets {
		if errs[i] != nil {
			opts.Report.PrintError(fmt.Errorf("%s: %w", tg.label(), errs[i]))
			total.failed++
			total.authFailed = total.authFailed || ce.IsAuthFailure(errs[i]) || cmdutil.CodeOf(errs[i]) == cmdutil.ExitAuth
			total.jobs = append(total.jobs, JobJSON{CE: tg.addr.URL(), Error: errs[i].Error()})
			continue
		}
		one := submittedJSON(all[i])
		total.jobs = append(total.jobs, one.jobs...)
		total.ok += one.ok
		total.failed += one.failed
		total.authFailed = total.authFailed || one.authFailed
		total.badInput = total.badInput || one.badInput
	}
	return p.print(total)
}

// submitted is what a submission came to, as submit prints it.
type submitted struct {
	jobs       []JobJSON
	ok, failed int
	authFailed bool
	badInput   bool // some job's input file could not be read (exit 2 when nothing was submitted)
}

// submittedJSON is a Submitter's result as submit prints it.
func submittedJSON(res jobs.Submitted) submitted {
	out := submitted{ok: res.OK, failed: res.Failed, authFailed: res.AuthFailed, badInput: res.BadInput}
	for _, r := range res.Results {
		jj := JobJSON{ID: r.ID}
		if r.Job != nil {
			jj.Name, jj.CE, jj.State, jj.SpecificState = r.Job.Name, r.Job.CE, string(r.Job.State), r.Job.RawState
		}
		if r.Err != nil {
			jj.Error = r.Err.Error()
		}
		out.jobs = append(out.jobs, jj)
	}
	return out
}

// target is one CE a submission goes to, with its token source.
type target struct {
	addr     ce.Address
	endpoint string // its name in the endpoint file, if it comes from one
	src      token.Source
	srcErr   error // the token settings could not be resolved
}

func (t target) label() string {
	if t.endpoint != "" && t.endpoint != t.addr.Arg() {
		return t.endpoint + " (" + t.addr.Arg() + ")"
	}
	return t.addr.Arg()
}

// submitTargets are the -C CEs with the token settings' sources (and the
// endpoint file's for a CE it lists), or else the endpoint file's CEs
// (those --endpoint names, or every one not marked skip) with theirs.
func submitTargets(opts *SubmitOptions) ([]target, error) {
	tokens, tokErr := opts.Tokens()
	if len(opts.CEs) > 0 {
		var out []target
		for _, c := range opts.CEs {
			addr, err := parseCE(c, opts.Flavour)
			if err != nil {
				return nil, err
			}
			out = append(out, target{addr: addr, src: tokens.For(addr), srcErr: tokErr})
		}
		return out, nil
	}
	file, err := opts.EndpointFile()
	if err != nil {
		return nil, err
	}
	if file == nil {
		return nil, cmdutil.UsageError(errors.New("give the CE with -C/--ce, or an endpoint file with -E/--endpoints"))
	}
	if tokErr != nil {
		return nil, tokErr
	}
	want := map[string]bool{}
	for _, n := range opts.Endpoints {
		want[n] = true
	}
	var out []target
	var names []string
	for _, ep := range file.Endpoints {
		names = append(names, ep.Name)
		if len(want) > 0 && !want[ep.Name] || len(want) == 0 && ep.Skip {
			continue
		}
		delete(want, ep.Name)
		src, ok := tokens.ForEndpoint(ep.Name)
		if !ok { // marked skip, but named
			if src, err = opts.EndpointSource(ep); err != nil {
				return nil, err
			}
		}
		out = append(out, target{addr: ep.Address, endpoint: ep.Name, src: src})
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			missing = append(missing, n)
		}
		slices.Sort(missing)
		return nil, cmdutil.UsageError(fmt.Errorf("%s: no endpoint named %s (it has %s)", file.Path, strings.Join(missing, ", "), strings.Join(names, ", ")))
	}
	if len(out) == 0 {
		return nil, cmdutil.UsageError(fmt.Errorf("%s: every endpoint is marked skip: name some with --endpoint", file.Path))
	}
	return out, nil
}

// newSubmitter sets up the submission to one CE: the delegation its
// flavour takes for --delegate, the job list, the backend (connecting
// ahead where it can, unless this is a dry run).
func newSubmitter(ctx context.Context, opts *SubmitOptions, tg target, p *submitPrinter) (*jobs.Submitter, error) {
	if opts.DryRun {
		tg = dryRunCredentials(opts, tg)
	}
	if tg.srcErr != nil {
		return nil, tg.srcErr
	}
	info, _ := ce.Backends.Info(tg.addr.Flavour)
	d, err := jobs.ChooseDelegation(opts.Delegate, tg.src, info)
	if err != nil {
		return nil, usageIfInput(err)
	}
	proxyFile := ""
	if d.ProxyWithJobs {
		if proxyFile, err = opts.ProxyFile(); err != nil && !opts.DryRun {
			return nil, err
		} else if err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "cesub: dry run: %v; the proxy checks were skipped and the plan leaves the proxy out\n", err)
		}
	}
	store, err := opts.JobList(ctx)
	if err != nil {
		return nil, err
	}
	b, err := opts.Backend(ctx, tg.addr, tg.src, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	r := opts.Report
	s := &jobs.Submitter{Addr: tg.addr, Backend: b, Token: tg.src, Store: store, Delegations: opts.Delegations(store),
		Delegation: d, ProxyFile: proxyFile, Instances: opts.Instances, BatchSize: opts.BatchSize,
		Warnf: r.Warnf, Failed: r.PrintError, Accepted: p.emit, Total: p.startBar,
		Uploads:     func() jobs.Progress { return r.NewProgress("uploading inputs", 0) },
		NotRecorded: func(id string) { fmt.Fprintln(opts.IO.ErrOut, "cesub: submitted but NOT recorded:", id) }}
	if !opts.DryRun {
		s.Warm(ctx)
		rec := &jobs.Recovery{Store: store} // what an earlier submit to this CE wrote ahead and never recorded
		if note := jobs.RecoveredNote(rec.CE(ctx, tg.addr, b)); note != "" {
			fmt.Fprintf(opts.IO.ErrOut, "cesub: %s: %s\n", tg.addr.URL(), note)
		}
	}
	return s, nil
}

// dryRunCredentials lets a dry run go on without any credential, so that
// CI can check descriptions without secrets: with no token found and no
// usable X.509 proxy, the plan is made with a placeholder token (its
// header shows [REDACTED], as a real token's does) and stderr says which
// credential checks were skipped.
func dryRunCredentials(opts *SubmitOptions, tg target) target {
	if tg.srcErr != nil && !errors.Is(tg.srcErr, token.ErrNotFound) || tg.src != nil {
		return tg // a token, or a token setting that is wrong: checked as without --dry-run
	}
	_, proxyErr := opts.ProxyFile()
	if proxyErr == nil {
		return tg
	}
	fmt.Fprintf(opts.IO.ErrOut, "cesub: dry run: no token found and %v; the token and proxy checks were skipped (the plan shows the requests a token would make)\n", proxyErr)
	tg.src, tg.srcErr = dryRunSource{}, nil
	return tg
}

// dryRunSource stands in for the token of a dry run without credentials.
type dryRunSource struct{}

func (dryRunSource) Token(context.Context, time.Duration) (*token.Issued, error) {
	return &token.Issued{Token: "no-token-dry-run", Source: "no token (dry run)"}, nil
}
func (dryRunSource) Name() string     { return "no token (dry run)" }
func (dryRunSource) CanRefresh() bool { return false }

// usageIfInput makes an error the user's input caused a usage error (exit 2).
func usageIfInput(err error) error {
	var ie *jobs.InputError
	if errors.As(err, &ie) {
		return cmdutil.UsageError(err)
	}
	return err
}

// submitWith warns about what the descriptions lose, then submits them
// (or, with --dry-run, prints the requests it would send).
func submitWith(ctx context.Context, opts *SubmitOptions, s *jobs.Submitter, batches []jobs.Batch) (jobs.Submitted, error) {
	for _, w := range s.Warnings(batches) {
		opts.Report.Warnf("%s", w)
	}
	if s.Delegation.Mode == "" && s.Token != nil && (opts.Delegate == cmdutil.DelegateAuto || opts.Delegate == "") {
		warnProxyRTE(opts.Report, batches)
	}
	if opts.DryRun {
		reqs, err := s.Plan(ctx, batches)
		if err != nil {
			return jobs.Submitted{}, err
		}
		return jobs.Submitted{}, printPlan(opts, reqs)
	}
	return s.Submit(ctx, batches)
}

// submitPrinter shows a submission as it goes: a progress bar of the jobs
// accepted on a terminal, and with -o jsonl a line per job as soon as it
// is on record; print shows the result.
type submitPrinter struct {
	io      *cmdutil.IOStreams
	r       reporter
	jsonl   bool
	ces     int
	mu      sync.Mutex // one jsonl line at a time
	bar     *cmdutil.Bar
	barOnce sync.Once
}

func newSubmitPrinter(opts *SubmitOptions, ces int) *submitPrinter {
	return &submitPrinter{io: opts.IO, r: opts.Report, ces: ces, jsonl: opts.Output() == "jsonl"}
}

// startBar starts the bar at the first CE's job count (times the CEs).
func (p *submitPrinter) startBar(total int) {
	p.barOnce.Do(func() { p.bar = p.r.NewBar("submitting", total*p.ces) })
}

func (p *submitPrinter) done() { p.bar.Done() }

// emit counts a job on record and, with -o jsonl, prints it.
func (p *submitPrinter) emit(j ce.Job) {
	if j.ID == "" {
		return
	}
	p.bar.Add(1)
	if !p.jsonl {
		return
	}
	b, _ := json.Marshal(JobJSON{ID: j.ID, Name: j.Name, CE: j.CE, State: string(j.State), SpecificState: j.RawState})
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.io.JSONOut(), string(b))
}

// print prints the accepted jobs' ids (text), the list (JSON) or nothing
// more (jsonl: each was printed when accepted), and makes the exit code.
func (p *submitPrinter) print(res submitted) error {
	switch {
	case p.jsonl:
	case p.r.JSON():
		if err := p.r.PrintJSON(ListJSON{Schema: "cesub.submit/v1", Jobs: res.jobs}); err != nil {
			return err
		}
	default:
		for _, j := range res.jobs {
			if j.ID != "" {
				fmt.Fprintln(p.io.Out, j.ID)
			}
		}
	}
	if res.ok == 0 && res.badInput && !res.authFailed {
		return cmdutil.Silent(cmdutil.ExitUsage) // a description naming a missing input file
	}
	return cmdutil.ResultCode(res.ok, res.failed, res.authFailed)
}

// warnProxyRTE: a job asking for the ENV/PROXY runtime environment wants
// an X.509 proxy in its session (sites still require it for data access),
// which --delegate auto with a token does not send.
func warnProxyRTE(r reporter, batches []jobs.Batch) {
	for _, b := range batches {
		for _, j := range b.Jobs {
			for _, rte := range j.Resources.RuntimeEnvironments {
				if strings.HasPrefix(strings.ToUpper(rte.Name), "ENV/PROXY") {
					where := "a job"
					if j.Origin != nil {
						where = j.Origin.File
					}
					r.Warnf("%s asks for runtime environment %s, which hands the job an X.509 proxy; with a token, --delegate auto "+
						"delegates nothing: give --delegate x509 (from your proxy) or --delegate token (ARC 7)", where, rte.Name)
					return
				}
			}
		}
	}
}

// printPlan prints a dry run's requests (-o json: as a document).
func printPlan(opts *SubmitOptions, reqs []ce.Request) error {
	if opts.Report.JSON() {
		return opts.Report.PrintJSON(struct {
			Schema   string       `json:"schema"`
			Requests []ce.Request `json:"requests"`
		}{"cesub.submit.dryrun/v1", reqs})
	}
	w := opts.IO.Out
	for _, r := range reqs {
		if r.Method != "" {
			fmt.Fprintf(w, "%s %s\n", r.Method, r.URL)
		}
		for _, h := range r.Header {
			fmt.Fprintln(w, h)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "# %s\n", r.Note)
		}
		if r.Body != "" {
			fmt.Fprintf(w, "\n%s\n", r.Body)
		}
		fmt.Fprintln(w)
	}
	return nil
}
