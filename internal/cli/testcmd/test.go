// Package testcmd is `cesub test`: per CE, in parallel, can it be reached,
// does it admit the token, may the token read and write, and (optionally)
// does a test job run to the end with the expected output. Reports as a
// table, JSON, JUnit XML or the markdown table testbed pages carry.
package testcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/endpoints"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc/format"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/cobra"
)

// Options of `cesub test`.
type Options struct {
	F         *cmdutil.Factory
	CEs       []string // -C (else the endpoint file's CEs: -E, a job-command setting)
	Flavour   string
	Job       string // --job: a test job for every CE without one
	Expect    string
	JUnit     string
	Markdown  bool
	Parallel  int
	JobTimout time.Duration
}

// NewCmdTest builds `cesub test`.
func NewCmdTest(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "test (-E ENDPOINTS.yaml | -C CE…)",
		Short: "Test CEs: reachable, token accepted, may read and write, a test job runs",
		Long: `Test each CE, all in parallel: reachability and TLS, the API version, the
token's pre-flight (expiry, audience, scopes), authentication, authorization
to read (the CE lists the identity's jobs) and to write (HTCondor: the
schedd's WRITE authorization; ARC: the token's compute.create), and, when a
test job is given, the job run to its end with its output checked. CEs and
their token sources come from an endpoint file (-E, docs/endpoints.md) or
-C (with the job commands' token settings).

Reports: a table; -o json; --junit FILE (JUnit XML, one test case per CE, for
CI systems); -o markdown (the table a testbed page shows: site, host,
flavour, VO, audience, group, token accepted, job ran).

Exit: 0 when every CE passed, 1 when any failed (how many: the report, -o
json's "failed"), 2 for a usage error (exit codes mean one thing in every
command: docs/exit-codes.md).`,
		Example: `  cesub test -E testbed.yaml --junit results.xml
  cesub test -C ce1.example.org -C condor://ce2.example.org:9619 --job hello.xrsl --expect hello
  cesub test -E testbed.yaml -o markdown > endpoints.md`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if c.Flags().Changed("endpoints") && len(opts.CEs) > 0 {
				return cmdutil.UsageError(errors.New("give an endpoint file with -E or CEs with -C, not both"))
			}
			if runF != nil {
				return runF(opts)
			}
			return testRun(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.CEs, "ce", "C", nil, "a CE to test (repeatable)")
	fl.StringVar(&opts.Flavour, "flavour", "", "CE flavour for -C (default: from the address)")
	fl.StringVar(&opts.Job, "job", "", "a test job description for each CE that has none (- reads stdin)")
	fl.StringVar(&opts.Expect, "expect", "", "text the test job's standard output must contain")
	fl.DurationVar(&opts.JobTimout, "job-timeout", 10*time.Minute, "time limit of a test job from submission to its end")
	fl.StringVar(&opts.JUnit, "junit", "", "also write the results as JUnit XML to this file")
	fl.IntVar(&opts.Parallel, "parallel", 8, "CEs tested at once")
	_ = cmd.RegisterFlagCompletionFunc("flavour", cmdutil.CompleteFlavours)
	return cmd
}

// Step is one check of one CE.
type Step struct {
	Name    string  `json:"name"` // token, reach, auth, read, write, job
	OK      bool    `json:"ok"`
	Skipped bool    `json:"skipped,omitempty"`
	Detail  string  `json:"detail,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Result is what `cesub test` found for one CE.
type Result struct {
	Name          string  `json:"name"`
	Site          string  `json:"site,omitempty"`
	CE            string  `json:"ce"`
	Host          string  `json:"host"`
	Flavour       string  `json:"flavour"`
	VO            string  `json:"vo,omitempty"`
	Group         string  `json:"group,omitempty"`
	Audience      string  `json:"audience,omitempty"`
	TokenSource   string  `json:"token_source"`
	OK            bool    `json:"ok"`
	Skipped       bool    `json:"skipped,omitempty"`
	Reason        string  `json:"reason,omitempty"` // the first failure
	TokenAccepted *bool   `json:"token_accepted,omitempty"`
	JobRan        *bool   `json:"job_ran,omitempty"`
	Steps         []Step  `json:"steps"`
	Seconds       float64 `json:"seconds"`
}

// JSON is the schema of `test -o json`.
type JSON struct {
	Schema string   `json:"schema"`
	Passed int      `json:"passed"`
	Failed int      `json:"failed"`
	Tested []Result `json:"endpoints"`
}

func testRun(ctx context.Context, opts *Options) error {
	f := opts.F
	var eps []endpoints.Endpoint
	if len(opts.CEs) == 0 {
		file, err := f.Endpoints()
		if err != nil {
			return err
		}
		if file == nil {
			return cmdutil.UsageError(errors.New("give an endpoint file with -E (or CESUB_ENDPOINTS) or CEs with -C"))
		}
		eps = file.Endpoints
	} else {
		for _, c := range opts.CEs {
			addr, err := ce.ParseAddress(c, ce.Flavour(opts.Flavour))
			if err != nil {
				return cmdutil.UsageError(err)
			}
			eps = append(eps, endpoints.Endpoint{Name: addr.Arg(), CE: c, Address: addr, Token: endpoints.Token{Source: "settings"}})
		}
	}
	var stdinJob []byte // --job -: stdin, read once for every CE
	if opts.Job == cmdutil.Stdin {
		src, _, err := cmdutil.ReadDescription(f.IO.In, opts.Job)
		if err != nil {
			return err
		}
		stdinJob = src
	}
	for i := range eps {
		if eps[i].Job == nil && opts.Job != "" {
			eps[i].Job = &endpoints.Job{File: opts.Job, Expect: opts.Expect, Timeout: opts.JobTimout, Src: stdinJob}
		}
		if j := eps[i].Job; j != nil && j.Src == nil {
			if _, err := os.Stat(j.File); err != nil {
				return cmdutil.UsageError(fmt.Errorf("%s: test job: %w", eps[i].Name, err))
			}
		}
	}
	store, err := f.JobList(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	t := &tester{f: f, store: store}
	results := make([]Result, len(eps))
	par := max(1, opts.Parallel)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range eps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = t.test(ctx, eps[i])
		}()
	}
	wg.Wait()
	out := JSON{Schema: "cesub.test/v1", Tested: results}
	for _, r := range results {
		switch {
		case r.Skipped:
		case r.OK:
			out.Passed++
		default:
			out.Failed++
		}
	}
	if opts.JUnit != "" {
		if err := writeJUnit(opts.JUnit, results, f.Now(), f.IO.Secrets().Scrub); err != nil {
			return err
		}
	}
	switch {
	case config.Get(f.Config, config.Output) == "markdown":
		printMarkdown(f, results)
	case f.JSON():
		if err := f.PrintJSON(out); err != nil {
			return err
		}
	default:
		printTable(f, results)
	}
	if out.Failed > 0 { // the count is in the report: 2, 3, 4 would read as usage, partial, auth
		return cmdutil.Silent(cmdutil.ExitError)
	}
	return nil
}

// tester runs the checks of one CE.
type tester struct {
	f     *cmdutil.Factory
	store *jobstore.Store
}

// source builds an endpoint's token source: -C CEs get the job commands'
// (the settings, and the endpoint file's for a CE it lists), an endpoint
// of the file its own.
func (t *tester) source(ep endpoints.Endpoint) (token.Source, error) {
	if ep.Token.Source == "settings" {
		tk, err := t.f.Tokens()
		if err != nil {
			return nil, err
		}
		return tk.For(ep.Address), nil
	}
	return t.f.EndpointSource(ep)
}

func ptr(b bool) *bool { return &b }

// test runs every check of one CE; a failed step that later steps need
// skips them.
func (t *tester) test(ctx context.Context, ep endpoints.Endpoint) (r Result) {
	f := t.f
	start := time.Now()
	addr := ep.Address
	r = Result{Name: ep.Name, Site: ep.Site, CE: addr.Arg(), Host: addr.Host, Flavour: string(addr.Flavour), VO: ep.VO,
		Group: ep.Group, Audience: f.EndpointAudience(ep), TokenSource: ep.Token.Source, OK: true}
	if ep.Skip {
		r.Skipped, r.OK = true, false
		return r
	}
	defer func() { r.Seconds = time.Since(start).Seconds() }()

	src, srcErr := t.source(ep)
	r.step("token", func() (bool, string) { return t.checkToken(ctx, addr, src, srcErr) })
	if srcErr != nil {
		src = nil
	}
	b, err := f.Backend(ctx, addr, src, t.store)
	if err != nil {
		r.step("reach", func() (bool, string) { return false, err.Error() })
		r.skip("auth", "read", "write", "job")
		r.TokenAccepted = ptr(false)
		return r
	}
	var ping *ce.PingResult
	reached := r.step("reach", func() (bool, string) {
		p, ok, detail := t.checkReach(ctx, b)
		ping = p
		return ok, detail
	})
	if !reached {
		r.skip("auth", "read", "write", "job")
		return r
	}
	admitted := r.step("auth", func() (bool, string) { return checkAdmitted(ping) })
	r.TokenAccepted = ptr(admitted)
	if !admitted {
		r.skip("read", "write", "job")
		return r
	}
	r.step("read", func() (bool, string) { return t.checkRead(ctx, b, ping) })
	wrote := r.step("write", func() (bool, string) { return checkWrite(ping, src != nil) })
	if ep.Job == nil {
		return r
	}
	if !wrote {
		r.skip("job")
		r.JobRan = ptr(false)
		return r
	}
	r.JobRan = ptr(r.step("job", func() (bool, string) { return t.runJob(ctx, b, addr, ep.Job) }))
	return r
}

// step runs one check and records it; the first failure is the result's reason.
func (r *Result) step(name string, run func() (bool, string)) bool {
	t0 := time.Now()
	ok, detail := run()
	r.Steps = append(r.Steps, Step{Name: name, OK: ok, Detail: detail, Seconds: time.Since(t0).Seconds()})
	if !ok && r.OK {
		r.OK, r.Reason = false, name+": "+detail
	}
	return ok
}

// skip records steps an earlier failure makes pointless.
func (r *Result) skip(names ...string) {
	for _, n := range names {
		r.Steps = append(r.Steps, Step{Name: n, Skipped: true, Detail: "skipped: an earlier step failed"})
	}
}

// checkToken: a token comes from the source and, if it is a JWT, passes
// the pre-flight checks for this CE (audience, scopes, lifetime).
func (t *tester) checkToken(ctx context.Context, addr ce.Address, src token.Source, srcErr error) (bool, string) {
	if srcErr != nil {
		return false, srcErr.Error()
	}
	if src == nil {
		return true, "no token: the X.509 proxy is the credential"
	}
	cctx, cancel := t.f.Deadline(ctx, 1)
	defer cancel()
	is, err := src.Token(cctx, time.Minute)
	if err != nil {
		return false, err.Error()
	}
	j, err := token.Decode(is.Token.Reveal())
	if err != nil {
		return true, "an opaque token (not a JWT): the CE decides"
	}
	needs, err := ce.Backends.ScopeNeeds(addr.Flavour, []string{"submit", "status"})
	if err != nil {
		return false, err.Error()
	}
	info, _ := ce.Backends.Info(addr.Flavour)
	auds := append(addr.Audiences(), token.WLCGAnyAudience, token.SciTokensAnyAudience)
	checks := token.Preflight(&j.Claims, token.Requirements{Now: t.f.Now(), Skew: time.Minute, MinValid: time.Minute,
		Audiences: auds, FirstAudienceOnly: info.FirstAudienceOnly, Scopes: needs})
	var bad []string
	for _, c := range checks {
		if !c.OK && !c.Advisory {
			bad = append(bad, c.Line())
		}
	}
	if len(bad) > 0 {
		return false, strings.Join(bad, "; ")
	}
	return true, "from " + is.Source
}

// checkReach pings the CE: reachable and supported, with its TLS, API
// versions and implementation as the detail.
func (t *tester) checkReach(ctx context.Context, b ce.Backend) (*ce.PingResult, bool, string) {
	cctx, cancel := t.f.Deadline(ctx, 2)
	defer cancel()
	p, err := b.Ping(cctx)
	if err != nil {
		return nil, false, err.Error()
	}
	if !p.Reachable || p.Unsupported {
		msg := p.Problem
		if p.Hint != "" {
			msg += " (" + p.Hint + ")"
		}
		return p, false, "not reachable: " + msg
	}
	d := p.TLS
	if len(p.APIVersions) > 0 {
		d += "; API " + strings.Join(p.APIVersions, ", ")
	}
	if p.Implementation != "" {
		d += "; " + p.Implementation + " " + p.Version
	}
	return p, true, strings.TrimPrefix(d, "; ")
}

// checkAdmitted: the CE admitted the credential, and as whom.
func checkAdmitted(ping *ce.PingResult) (bool, string) {
	if !ping.Admitted {
		msg := ping.Problem
		if ping.Hint != "" {
			msg += " (" + ping.Hint + ")"
		}
		return false, "refused: " + msg
	}
	who := ping.User
	if who == "" {
		who = ping.Identity
	}
	return true, "admitted as " + who
}

// checkRead: the CE allows reading and lists this identity's jobs.
func (t *tester) checkRead(ctx context.Context, b ce.Backend, ping *ce.PingResult) (bool, string) {
	if v, ok := ping.Authorizations["READ"]; ok && v != "ALLOW" {
		return false, "READ " + v
	}
	cctx, cancel := t.f.Deadline(ctx, 3)
	defer cancel()
	list, err := b.List(cctx)
	if err != nil {
		return false, err.Error()
	}
	return true, fmt.Sprintf("the CE lists %d jobs of this identity", len(list))
}

// checkWrite: the CE's own authorization for writing where it says, else
// what the credential allows.
func checkWrite(ping *ce.PingResult, withToken bool) (bool, string) {
	if v, ok := ping.Authorizations["WRITE"]; ok {
		return v == "ALLOW", "WRITE " + v + " (the CE's own authorization)"
	}
	if !withToken {
		return true, "X.509: the CE's rules decide at submission"
	}
	return true, "the token may create jobs (compute.create; the CE checks at submission)"
}

// runJob submits the test job, waits for its end, checks its output and
// cleans it. The job is on the job list while it exists on the CE.
func (t *tester) runJob(ctx context.Context, b ce.Backend, addr ce.Address, tj *endpoints.Job) (bool, string) {
	f := t.f
	src, name := tj.Src, "<stdin>"
	if src == nil {
		var err error
		if src, name, err = cmdutil.ReadDescription(f.IO.In, tj.File); err != nil {
			return false, err.Error()
		}
	}
	descs, err := format.Read(format.Detect(name, src), name, src, format.Options{CheckFiles: true})
	if err != nil {
		return false, err.Error()
	}
	rec := &jobs.Recorder{Ctx: context.WithoutCancel(ctx), Store: t.store, Jobs: descs}
	sctx, cancel := f.Deadline(ctx, 5)
	rs, err := b.Submit(sctx, descs, ce.SubmitOptions{BaseDir: tj.File[:strings.LastIndex(tj.File, "/")+1], Created: rec.Announced})
	cancel()
	if err != nil {
		return false, "submit: " + err.Error()
	}
	rs = ce.Backends.CheckResults(rs)
	if _, err := rec.Record(rs); err != nil {
		f.Warnf("%v", err)
	}
	var ids []string
	var stdout []string
	for _, r := range rs {
		if r.Err != nil {
			return false, "submit: " + r.Err.Error()
		}
		ids = append(ids, r.Job.LocalID)
		stdout = append(stdout, r.Job.Stdout)
	}
	defer func() {
		cctx, cancel := f.Deadline(context.WithoutCancel(ctx), 3)
		defer cancel()
		if rs, err := b.Clean(cctx, ids); err == nil {
			for _, r := range rs {
				if r.Err == nil || errors.Is(r.Err, ce.ErrNotFound) {
					_ = t.store.Remove(context.WithoutCancel(ctx), r.ID)
				}
			}
		}
	}()
	deadline := time.Now().Add(tj.Timeout)
	var last []ce.Result
	var lastErr error
	for {
		cctx, cancel := f.Deadline(ctx, 2)
		st, err := b.Status(cctx, ids)
		cancel()
		lastErr = err
		if err == nil {
			last = st
			done := true
			for _, s := range st {
				if s.Job == nil || !s.Job.State.Terminal() {
					done = false
				}
			}
			if done {
				break
			}
		}
		if time.Now().After(deadline) {
			var states []string
			for _, s := range last {
				if s.Job != nil {
					states = append(states, string(s.Job.State)+" ("+s.Job.RawState+")")
				} else if s.Err != nil {
					states = append(states, s.Err.Error())
				}
			}
			if lastErr != nil {
				states = append(states, "status: "+lastErr.Error())
			}
			return false, fmt.Sprintf("the job did not end within %s: %s", tj.Timeout, strings.Join(states, ", "))
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err().Error()
		case <-time.After(3 * time.Second):
		}
	}
	for i, s := range last {
		if s.Job.State != ce.StateFinished || s.Job.ExitCode != nil && *s.Job.ExitCode != 0 {
			msg := fmt.Sprintf("the job ended %s (%s)", s.Job.State, s.Job.RawState)
			if s.Job.ExitCode != nil {
				msg += fmt.Sprintf(", exit code %d", *s.Job.ExitCode)
			}
			if len(s.Job.Errors) > 0 {
				msg += ": " + strings.Join(s.Job.Errors, "; ")
			}
			return false, msg
		}
		if tj.Expect == "" {
			continue
		}
		name := stdout[i]
		if name == "" {
			name = descs[min(i, len(descs)-1)].Stdout
		}
		if name == "" {
			return false, "--expect needs the job to name its standard output (stdout / output)"
		}
		var buf strings.Builder
		cctx, cancel := f.Deadline(ctx, 2)
		err := b.Cat(cctx, ids[i], name, &buf)
		cancel()
		if err != nil {
			return false, "reading its output: " + err.Error()
		}
		if !strings.Contains(buf.String(), tj.Expect) {
			return false, fmt.Sprintf("its output lacks %q: %.80q", tj.Expect, buf.String())
		}
	}
	return true, fmt.Sprintf("%d job(s) finished (exit 0)%s", len(ids), map[bool]string{true: ", output checked", false: ""}[tj.Expect != ""])
}

// sortResults orders results by name (the table and JUnit read better).
func sortResults(rs []Result) []Result {
	out := append([]Result(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
