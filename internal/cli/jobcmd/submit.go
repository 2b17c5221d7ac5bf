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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/format"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/cobra"
)

// SubmitOptions of `cesub submit`.
type SubmitOptions struct {
	F         *cmdutil.Factory
	CEs       []string // -C, repeatable: every CE gets every job
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
	// the long fields of status -l, flattened (arcstat -l's names)
	*ce.Details
}

// ListJSON is the schema of the job commands' -o json.
type ListJSON struct {
	Schema string    `json:"schema"`
	Jobs   []JobJSON `json:"jobs"`
}

// NewCmdSubmit builds `cesub submit`.
func NewCmdSubmit(f *cmdutil.Factory, runF func(*SubmitOptions) error) *cobra.Command {
	opts := &SubmitOptions{F: f}
	cmd := &cobra.Command{
		Use:   "submit -C CE (-f FILE… | -e DESCRIPTION | FILE…)",
		Short: "Submit jobs (xRSL, ADL or HTCondor submit files) to a CE",
		Long: `Submit jobs to a CE. Descriptions are xRSL, ADL or HTCondor submit files
(format from the name or content). All jobs of one command go to the CE in one
request where the CE allows it; client-side input files are uploaded after it
accepts them. Every accepted job is recorded in the job list and its id printed;
a job is never submitted twice. Input files that do not exist stop the command
before anything is sent. Files may also be given as arguments (as arcsub takes them).

With -o jsonl, each accepted job is printed as one JSON line as soon as the CE
has accepted it, so a script can act before the run ends. With several -C,
the CEs are submitted to in parallel (--parallel at once), each with its own
token (audience) and time limits.

Without -C, the jobs go to the CEs of the endpoint file (-E or CESUB_ENDPOINTS,
docs/endpoints.md; --endpoint NAME to pick some), each with the token source
and audience the file gives it; the job commands given the same file use the
same tokens for those CEs.

Exit: 0 all submitted, 3 some failed, 4 refused (authentication), 1 otherwise.`,
		Example: `  cesub submit -C https://ce.example.org/arex -f job.xrsl
  cesub submit -C ce.example.org -e '&(executable=/bin/hostname)(stdout=out.txt)'
  cesub submit -C ce.example.org -f pilot.sub -o json
  cesub submit -C ce1.example.org -C condor://ce2.example.org:9619 -f pilot.sub --count 100 -o jsonl
  cesub submit -E factory.yaml --endpoint site-a --endpoint site-b -f pilot.sub --count 50`,
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
	fl.StringArrayVar(&opts.Endpoints, "endpoint", nil, "without -C: submit to this endpoint of the endpoint file (-E; by name, repeatable; default: every endpoint not marked skip)")
	fl.IntVar(&opts.Parallel, "parallel", 4, "with several CEs: CEs submitted to at once")
	fl.IntVarP(&opts.Count, "count", "n", 1, "N of each job (submit files: each queue statement queues N times as many procs, one cluster; xRSL/ADL: N jobs in the request)")
	fl.StringVar(&opts.Flavour, "flavour", "", "CE flavour (default: from the address)")
	_ = cmd.RegisterFlagCompletionFunc("flavour", cmdutil.CompleteFlavours)
	fl.StringArrayVarP(&opts.Files, "file", "f", nil, "job description file (repeatable)")
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

// readJobs parses a description in any format; each job remembers its
// origin (a backend of the same format may re-read it).
// submitReading is how submit files are read (--var, --queue, --allow-commands).
type submitReading struct {
	vars      map[string]string
	queue     string
	allow     bool
	count     int
	templates func() (submitfile.Templates, error) // `use template :` (read once, when a file uses one)
}

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
		Count: sr.count})
}

type batch struct {
	jobs []jobdesc.Job
	dir  string
}

type readResult struct {
	batches []batch
	err     error
}

// readBatches reads the description files and the inline descriptions.
func readBatches(opts *SubmitOptions) ([]batch, error) {
	var batches []batch
	sr := submitReading{queue: opts.Queue, allow: opts.AllowCommands, count: opts.Count, templates: sync.OnceValues(opts.F.SubmitTemplates)}
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
	for _, name := range opts.Files {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read description: %w", err)
		}
		jobs, err := readJobs(name, src, sr)
		if err != nil {
			return nil, &cmdutil.ExitErr{Code: cmdutil.ExitUsage, Err: err}
		}
		batches = append(batches, batch{jobs: jobs, dir: filepath.Dir(name)})
	}
	for i, text := range opts.Inline {
		jobs, err := readJobs(fmt.Sprintf("-e #%d", i+1), []byte(text), sr)
		if err != nil {
			return nil, &cmdutil.ExitErr{Code: cmdutil.ExitUsage, Err: err}
		}
		batches = append(batches, batch{jobs: jobs, dir: "."})
	}
	return batches, nil
}

// submitted is what a submission to one CE came to.
type submitted struct {
	jobs               []JobJSON
	ok, failed         int
	authFailed, dryRun bool
}

// submitRun submits the descriptions to each CE (in parallel when there
// are several) and prints what each CE accepted.
func submitRun(ctx context.Context, opts *SubmitOptions) error {
	f := opts.F
	targets, err := submitTargets(opts)
	if err != nil {
		return err
	}
	jsonl := config.Get(f.Config, config.Output) == "jsonl"
	var emitMu sync.Mutex
	var bar *cmdutil.Bar // on a terminal: jobs accepted of all
	var barOnce sync.Once
	startBar := func(total int) { barOnce.Do(func() { bar = f.NewBar("submitting", total*len(targets)) }) }
	defer func() { bar.Done() }()
	emit := func(j JobJSON) { // -o jsonl: a line per accepted job, as soon as it is accepted
		if j.ID == "" {
			return
		}
		bar.Add(1)
		if !jsonl {
			return
		}
		b, _ := json.Marshal(j)
		emitMu.Lock()
		defer emitMu.Unlock()
		fmt.Fprintln(f.IO.JSONOut(), string(b))
	}
	if len(targets) == 1 {
		// the descriptions are read while the credentials, the job list and
		// the backend are set up (and, for a CE that takes it, the connection
		// is made); a description error still wins over any other
		read := make(chan readResult, 1)
		go func() {
			bs, err := readBatches(opts)
			read <- readResult{bs, err}
		}()
		res, err := submitTo(ctx, opts, targets[0], read, startBar, emit)
		if err != nil || res.dryRun {
			return err
		}
		return printSubmitted(f, res, jsonl)
	}
	// several CEs: the descriptions are read once, before any CE is asked
	bs, err := readBatches(opts)
	if err != nil {
		return err
	}
	if opts.DryRun {
		return cmdutil.UsageError(errors.New("--dry-run shows one CE's requests: give one -C or one --endpoint"))
	}
	all := make([]submitted, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, max(1, opts.Parallel))
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			read := make(chan readResult, 1)
			read <- readResult{batches: bs}
			all[i], errs[i] = submitTo(ctx, opts, tg, read, startBar, emit)
		}()
	}
	wg.Wait()
	var total submitted
	for i, tg := range targets {
		if errs[i] != nil {
			f.PrintError(fmt.Errorf("%s: %w", tg.label(), errs[i]))
			total.failed++
			total.authFailed = total.authFailed || ce.IsAuthFailure(errs[i]) || cmdutil.CodeOf(errs[i]) == cmdutil.ExitAuth
			total.jobs = append(total.jobs, JobJSON{CE: tg.addr.URL(), Error: errs[i].Error()})
			continue
		}
		total.jobs = append(total.jobs, all[i].jobs...)
		total.ok += all[i].ok
		total.failed += all[i].failed
		total.authFailed = total.authFailed || all[i].authFailed
	}
	return printSubmitted(f, total, jsonl)
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
	f := opts.F
	tokens, tokErr := f.Tokens()
	if len(opts.CEs) > 0 {
		var out []target
		for _, c := range opts.CEs {
			addr, err := ce.ParseAddress(c, ce.Flavour(opts.Flavour))
			if err != nil {
				return nil, cmdutil.UsageError(err)
			}
			out = append(out, target{addr: addr, src: tokens.For(addr), srcErr: tokErr})
		}
		return out, nil
	}
	file, err := f.Endpoints()
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
			if src, err = f.EndpointSource(ep); err != nil {
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

// printSubmitted prints the accepted jobs' ids (text), the list (JSON) or
// nothing more (jsonl: each was printed when accepted), and makes the exit code.
func printSubmitted(f *cmdutil.Factory, res submitted, jsonl bool) error {
	switch {
	case jsonl:
	case f.JSON():
		if err := f.PrintJSON(ListJSON{Schema: "cesub.submit/v1", Jobs: res.jobs}); err != nil {
			return err
		}
	default:
		for _, j := range res.jobs {
			if j.ID != "" {
				fmt.Fprintln(f.IO.Out, j.ID)
			}
		}
	}
	return cmdutil.ResultCode(res.ok, res.failed, res.authFailed)
}

// submitTo submits the batches read gives to one CE: credentials,
// delegation, one request per batch, every accepted job recorded once.
func submitTo(ctx context.Context, opts *SubmitOptions, tg target, read chan readResult, startBar func(int), emit func(JobJSON)) (submitted, error) {
	f := opts.F
	addr := tg.addr
	var err error
	fail := func(err error) (submitted, error) {
		if r := <-read; r.err != nil {
			return submitted{}, r.err
		}
		return submitted{}, err
	}
	if tg.srcErr != nil {
		return fail(tg.srcErr)
	}
	src := tg.src
	delegate, err := cmdutil.ResolveDelegate(opts.Delegate, src)
	if err != nil {
		return fail(err)
	}
	proxyFile := ""
	info, _ := ce.Backends.Info(addr.Flavour)
	if len(info.Delegations) == 0 {
		// a CE that stores no delegations (HTCondor) takes a proxy with the
		// jobs (x509userproxy), only when asked
		switch opts.Delegate {
		case cmdutil.DelegateX509:
			if _, err := f.Proxy(); err != nil {
				return fail(err)
			}
			if proxyFile, err = filepath.Abs(f.ProxyPath()); err != nil {
				return fail(err)
			}
		case cmdutil.DelegateToken:
			return fail(cmdutil.UsageError(fmt.Errorf("--delegate token: %ss have no token delegation (a job can carry a token file with scitokens_file)", info.Label)))
		}
		delegate = cmdutil.DelegateNone
	} else if delegate != cmdutil.DelegateNone && !slices.Contains(info.Delegations, delegate) {
		if opts.Delegate == delegate { // asked for by name
			return fail(cmdutil.UsageError(fmt.Errorf("--delegate %s: %s CEs take %s delegations only", delegate, info.Label, strings.Join(info.Delegations, ", "))))
		}
		delegate = info.Delegations[0]
	}
	store, err := f.JobList(ctx)
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	b, err := f.Backend(ctx, addr, src, store)
	if err != nil {
		return fail(err)
	}
	if w, ok := b.(ce.Warmer); ok && !opts.DryRun {
		defer w.Warm(ctx)()
	}
	r := <-read
	if r.err != nil {
		return submitted{}, r.err
	}
	batches := r.batches
	shown := map[string]bool{}
	for _, b := range batches {
		for _, j := range b.jobs {
			if j.Origin != nil && info.NativeFormat != "" && j.Origin.Format == info.NativeFormat {
				continue // sent as written: what the job model cannot hold does not matter
			}
			for _, w := range j.Warnings {
				msg := strings.TrimPrefix(w.String(), w.File+": warning: ")
				if !shown[msg] {
					shown[msg] = true
					f.Warnf("%s", msg)
				}
			}
		}
	}
	if tr, ok := b.(ce.Translator); ok {
		// what the CE's language cannot say: said before anything is sent
		for _, bt := range batches {
			for _, w := range tr.TranslationWarnings(bt.jobs) {
				msg := strings.Replace(w.String(), "warning: ", "", 1) // FILE: message
				if !shown[msg] {
					shown[msg] = true
					f.Warnf("%s", msg)
				}
			}
		}
	}
	if delegate == cmdutil.DelegateNone && src != nil && (opts.Delegate == cmdutil.DelegateAuto || opts.Delegate == "") {
		warnProxyRTE(f, batches)
	}
	if opts.DryRun {
		return submitted{dryRun: true}, dryRun(ctx, f, store, addr, b, batches, delegate, opts.Instances, src)
	}
	// No deadline for the whole submission: each request has --timeout,
	// and uploads and spooling time out only when no data moves, so a
	// large sandbox on a slow link is not cut off halfway.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	delegationID, err := f.Delegations(store).Ensure(cctx, addr, b, delegate, src)
	if err != nil {
		return submitted{}, err
	}
	out := ListJSON{Schema: "cesub.submit/v1"}
	ok, failed, authFailed := 0, 0, false
	known := jobs.KnownIDs(context.WithoutCancel(ctx), store, addr)
	batches = splitBatches(batches, opts.BatchSize, info.NativeFormat)
	n := 0
	for _, bt := range batches {
		n += len(bt.jobs) * max(1, opts.Instances)
	}
	startBar(n)
	for bi, bt := range batches {
		if ctx.Err() != nil {
			// stopped (Ctrl-C, SIGTERM): the batches not sent are not submitted
			for _, rest := range batches[bi:] {
				failed += len(rest.jobs)
			}
			return submitted{jobs: out.Jobs, ok: ok, failed: failed, authFailed: authFailed}, ctx.Err()
		}
		prog := f.NewProgress("uploading inputs", 0)
		// recording outlives a cancelled command (Ctrl-C, SIGTERM): what the
		// CE created must be on the job list
		rec := &jobs.Recorder{Ctx: context.WithoutCancel(ctx), Store: store, Jobs: bt.jobs, Instances: opts.Instances, DelegationID: delegationID}
		var emitMu sync.Mutex
		emitted := map[string]bool{}
		emitOnce := func(r ce.Result) { // a job is streamed once, when it is on record
			if r.Job == nil || r.Err != nil || ce.Backends.CheckLocalID(r.Job.Flavour, r.Job.LocalID) != nil {
				return
			}
			emitMu.Lock()
			seen := emitted[r.Job.ID]
			emitted[r.Job.ID] = true
			emitMu.Unlock()
			if !seen {
				emit(JobJSON{ID: r.Job.ID, Name: r.Job.Name, CE: r.Job.CE, State: string(r.Job.State), SpecificState: r.Job.RawState})
			}
		}
		// A stop (Ctrl-C, SIGTERM) cuts a submission request short only
		// after stopGrace: the CE may be creating the jobs. A request
		// answered by then has its jobs recorded; then the uploads stop and
		// no other batch is sent.
		bctx, stopBatch := context.WithCancel(context.WithoutCancel(cctx))
		announced, batchDone := make(chan struct{}), make(chan struct{})
		var announceOnce sync.Once
		go stopBatchOnStop(cctx, announced, batchDone, stopBatch)
		created := func(rs []ce.Result) {
			if _, err := rec.Record(rs); err == nil {
				for _, r := range rs {
					emitOnce(r)
				}
			}
			announceOnce.Do(func() { close(announced) })
		}
		results, err := b.Submit(bctx, bt.jobs, ce.SubmitOptions{BaseDir: bt.dir, Instances: opts.Instances, DelegationID: delegationID, ProxyFile: proxyFile,
			Progress: func(_, _ string, done, _ int64) { prog.Add(done) }, Created: created, Known: known,
			Warn: func(msg string) { f.Warnf("%s: %s", addr.URL(), msg) }})
		close(batchDone)
		stopBatch()
		prog.Done()
		if err != nil {
			if ce.IsAuthFailure(err) {
				authFailed = true
			}
			failed += len(bt.jobs)
			f.PrintError(err)
			out.Jobs = append(out.Jobs, JobJSON{Error: err.Error()})
			continue
		}
		results = ce.Backends.CheckResults(results) // an id the flavour cannot have is an error, never recorded
		lost, recErr := rec.Record(results)         // what the backend did not announce, or failed to record then
		for _, r := range results {
			jj := JobJSON{ID: r.ID}
			if r.Job != nil {
				jj.Name, jj.CE, jj.State, jj.SpecificState = r.Job.Name, r.Job.CE, string(r.Job.State), r.Job.RawState
			}
			if r.Err != nil {
				failed++
				jj.Error = r.Err.Error()
				f.PrintError(r.Err)
			} else {
				ok++
				if recErr == nil {
					emitOnce(r)
				}
			}
			out.Jobs = append(out.Jobs, jj)
		}
		if recErr != nil {
			// the jobs exist on the CE: say so loudly, with their ids
			for _, id := range lost {
				fmt.Fprintln(f.IO.ErrOut, "cesub: submitted but NOT recorded:", id)
			}
			return submitted{}, recErr
		}
	}
	f.RememberVersion(context.WithoutCancel(ctx), store, addr, b)
	return submitted{jobs: out.Jobs, ok: ok, failed: failed, authFailed: authFailed}, nil
}

// stopGrace is how long a stopped submit waits for the answer to its
// submission request (to record the jobs it created) before cutting it: one
// SIGTERM ends cesub within 2 s, whatever the CE does.
const stopGrace = 750 * time.Millisecond

// stopBatchOnStop calls stop when ctx is cancelled: at once when the CE has
// announced the batch's jobs (only uploads are left), else after stopGrace.
func stopBatchOnStop(ctx context.Context, announced, done <-chan struct{}, stop func()) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-announced:
	case <-t.C:
	case <-done:
		return
	}
	stop()
}

// splitBatches cuts batches into requests of at most size jobs. Jobs the
// CE takes in their own language (a submit file to an HTCondor-CE: one
// cluster, one transaction) stay whole.
func splitBatches(in []batch, size int, native string) []batch {
	if size <= 0 {
		return in
	}
	var out []batch
	for _, b := range in {
		if len(b.jobs) <= size || native != "" && len(b.jobs) > 0 && b.jobs[0].Origin != nil && b.jobs[0].Origin.Format == native {
			out = append(out, b)
			continue
		}
		for start := 0; start < len(b.jobs); start += size {
			out = append(out, batch{jobs: b.jobs[start:min(start+size, len(b.jobs))], dir: b.dir})
		}
	}
	return out
}

// warnProxyRTE: a job asking for the ENV/PROXY runtime environment wants
// an X.509 proxy in its session (sites still require it for data access),
// which --delegate auto with a token does not send.
func warnProxyRTE(f *cmdutil.Factory, batches []batch) {
	for _, b := range batches {
		for _, j := range b.jobs {
			for _, rte := range j.Resources.RuntimeEnvironments {
				if strings.HasPrefix(strings.ToUpper(rte.Name), "ENV/PROXY") {
					where := "a job"
					if j.Origin != nil {
						where = j.Origin.File
					}
					f.Warnf("%s asks for runtime environment %s, which hands the job an X.509 proxy; with a token, --delegate auto "+
						"delegates nothing: give --delegate x509 (from your proxy) or --delegate token (ARC 7)", where, rte.Name)
					return
				}
			}
		}
	}
}

// dryRun prints the requests a submission would send, credentials redacted.
func dryRun(ctx context.Context, f *cmdutil.Factory, store *jobstore.Store, addr ce.Address, b ce.Backend, batches []batch,
	delegate string, instances int, src token.Source) error {
	var reqs []ce.Request
	delegationID := ""
	if delegate != cmdutil.DelegateNone {
		delegationID = "<delegation-id>"
		id, reuse := "", false
		if delegate == cmdutil.DelegateX509 {
			id, reuse = f.Delegations(store).Reusable(ctx, addr, src)
		}
		if reuse {
			delegationID = id
			reqs = append(reqs, ce.Request{Note: "reuses X.509 delegation " + id + " (no request)"})
		} else {
			r, err := b.PlanDelegate(delegate)
			if err != nil {
				return err
			}
			reqs = append(reqs, r...)
		}
	}
	for _, bt := range batches {
		r, err := b.PlanSubmit(bt.jobs, ce.SubmitOptions{BaseDir: bt.dir, Instances: instances, DelegationID: delegationID})
		if err != nil {
			return err
		}
		reqs = append(reqs, r...)
	}
	reqs = ce.OncePerCommand(reqs)
	if f.JSON() {
		return f.PrintJSON(struct {
			Schema   string       `json:"schema"`
			Requests []ce.Request `json:"requests"`
		}{"cesub.submit.dryrun/v1", reqs})
	}
	for _, r := range reqs {
		if r.Method != "" {
			fmt.Fprintf(f.IO.Out, "%s %s\n", r.Method, r.URL)
		}
		for _, h := range r.Header {
			fmt.Fprintln(f.IO.Out, h)
		}
		if r.Note != "" {
			fmt.Fprintf(f.IO.Out, "# %s\n", r.Note)
		}
		if r.Body != "" {
			fmt.Fprintf(f.IO.Out, "\n%s\n", r.Body)
		}
		fmt.Fprintln(f.IO.Out)
	}
	return nil
}
