package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/token"
)

// Batch is the jobs of one description, with the folder their relative
// input files are read from.
type Batch struct {
	Jobs []jobdesc.Job
	Dir  string
}

// Progress is told about the bytes one submission request uploads.
type Progress interface {
	Add(n int64)
	Done()
}

// Submitter submits jobs to one CE: it makes or reuses the delegation the
// jobs need (Delegation), sends one request per batch, puts every job the
// CE created on the job list once (Recorder), and remembers what the
// backend learnt of the CE. Plan is its dry run. It is made once per CE
// from the parsed address, the token source and the backend; the caller
// shows what it reports through the function fields (each may be nil).
type Submitter struct {
	Addr        ce.Address
	Backend     ce.Backend
	Token       token.Source // nil: the CE is reached with the X.509 proxy
	Store       *jobstore.Store
	Delegations *Delegations // reuses X.509 delegations (Delegation.Mode x509)
	Delegation  Delegation   // ChooseDelegation's answer
	ProxyFile   string       // Delegation.ProxyWithJobs: the proxy sent with the jobs
	Instances   int          // copies of each job the CE makes (ARC REST 1.1)
	BatchSize   int          // jobs per request (a description in the CE's own format stays whole)

	Warnf       func(format string, args ...any) // what the CE says of a submission it accepted
	Failed      func(err error)                  // a request or a job failed
	Accepted    func(j ce.Job)                   // a job is on record: told once, as soon as it is
	Total       func(n int)                      // the jobs about to be sent (for a progress bar)
	Uploads     func() Progress                  // a progress for each request's uploads
	NotRecorded func(id string)                  // a job the CE created that could not be recorded

	release func() // of Warm
	fault   *faultHook
	owner   jobstore.Owner // this process, as pending rows name it
}

// Submitted is what a submission to one CE came to: a result per job, and
// one with only Err for a request that failed as a whole.
type Submitted struct {
	Results    []ce.Result
	OK, Failed int
	AuthFailed bool
	BadInput   bool // a request failed on a local input file (ce.InputError): nothing of it was sent
}

// info is the registration of the CE's flavour.
func (s *Submitter) info() ce.RegInfo {
	in, _ := ce.Backends.Info(s.Addr.Flavour)
	return in
}

// Warm lets a backend that can (ce.Warmer) connect while the caller still
// reads the descriptions; Close releases what Submit did not use.
func (s *Submitter) Warm(ctx context.Context) {
	if w, ok := s.Backend.(ce.Warmer); ok && s.release == nil {
		s.release = w.Warm(ctx)
	}
}

// Close releases the warmed connection, if any, and closes the job list.
func (s *Submitter) Close() {
	if s.release != nil {
		s.release()
		s.release = nil
	}
	if s.Store != nil {
		s.Store.Close()
	}
}

// Warnings are what the user should see before anything is sent, each
// once: what the job model could not hold of a description (unless the CE
// takes it as written) and what the CE's language cannot say (ce.Translator).
func (s *Submitter) Warnings(batches []Batch) []string {
	var out []string
	shown := map[string]bool{}
	add := func(msg string) {
		if !shown[msg] {
			shown[msg] = true
			out = append(out, msg)
		}
	}
	native := s.info().NativeFormat
	for _, b := range batches {
		for _, j := range b.Jobs {
			if j.Origin != nil && native != "" && j.Origin.Format == native {
				continue // sent as written: what the job model cannot hold does not matter
			}
			for _, w := range j.Warnings {
				add(strings.TrimPrefix(w.String(), w.File+": warning: "))
			}
		}
	}
	if tr, ok := s.Backend.(ce.Translator); ok {
		for _, b := range batches {
			for _, w := range tr.TranslationWarnings(b.Jobs) {
				add(strings.Replace(w.String(), "warning: ", "", 1)) // FILE: message
			}
		}
	}
	return out
}

// Plan is the dry run: the requests the flavour would send (ce.Planner),
// the delegation's first, credentials redacted, nothing sent.
func (s *Submitter) Plan(ctx context.Context, batches []Batch) ([]ce.Request, error) {
	reqs, delegationID, err := s.planDelegation(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range batches {
		r, err := s.Backend.PlanSubmit(b.Jobs, ce.SubmitOptions{BaseDir: b.Dir, Instances: s.Instances, DelegationID: delegationID, ProxyFile: s.ProxyFile})
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r...)
	}
	return ce.OncePerCommand(reqs), nil
}

// planDelegation: a remembered X.509 delegation that Submit would reuse
// costs no request; else the flavour shows how it delegates.
func (s *Submitter) planDelegation(ctx context.Context) ([]ce.Request, string, error) {
	mode := s.Delegation.Mode
	if mode == "" {
		return nil, "", nil
	}
	if mode == ce.DelegateX509 && s.Delegations != nil {
		if id, ok := s.Delegations.Reusable(ctx, s.Addr, s.Token); ok {
			return []ce.Request{{Note: "reuses X.509 delegation " + id + " (no request)"}}, id, nil
		}
	}
	reqs, err := s.Backend.PlanDelegate(mode)
	return reqs, "<delegation-id>", err
}

// Submit sends the batches, each as one request (cut to BatchSize), and
// records every job the CE created. There is no deadline for the whole
// submission: each request has the backend's timeout, and uploads time out
// only when no data moves, so a large sandbox on a slow link is not cut
// off halfway. A stop (ctx cancelled) sends no further batch; the jobs of
// a request already answered are recorded (see send).
func (s *Submitter) Submit(ctx context.Context, batches []Batch) (Submitted, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	delegationID := ""
	if s.Delegation.Mode != "" {
		var err error
		if delegationID, err = s.Delegations.Ensure(cctx, s.Addr, s.Backend, s.Delegation.Mode, s.Token); err != nil {
			return Submitted{}, err
		}
	}
	known := KnownIDs(context.WithoutCancel(ctx), s.Store, s.Addr)
	if s.fault == nil {
		s.fault = loadFaultHook()
	}
	s.owner = jobstore.Self()
	batches = splitBatches(batches, s.BatchSize, s.info().NativeFormat)
	if s.Total != nil {
		n := 0
		for _, b := range batches {
			n += len(b.Jobs) * max(1, s.Instances)
		}
		s.Total(n)
	}
	var out Submitted
	for bi, b := range batches {
		if ctx.Err() != nil {
			// stopped (Ctrl-C, SIGTERM): the batches not sent are not submitted
			for _, rest := range batches[bi:] {
				out.Failed += len(rest.Jobs)
			}
			return out, ctx.Err()
		}
		if err := s.submitBatch(ctx, cctx, b, delegationID, known, &out); err != nil {
			return Submitted{}, err
		}
	}
	RememberVersion(context.WithoutCancel(ctx), s.Store, s.Addr, s.Backend)
	return out, nil
}

// submitBatch sends one request and adds its outcome to out. Recording
// outlives a cancelled command: what the CE created must be on the job
// list. A job the CE created that cannot be recorded is an error (the
// caller must not go on as if it were on record).
func (s *Submitter) submitBatch(ctx, cctx context.Context, b Batch, delegationID string, known func(string) bool, out *Submitted) error {
	rec := &Recorder{Ctx: context.WithoutCancel(ctx), Store: s.Store, Jobs: b.Jobs, Instances: s.Instances, DelegationID: delegationID}
	accept := s.acceptOnce()
	var prog Progress = noProgress{}
	if s.Uploads != nil {
		prog = s.Uploads()
	}
	opts := ce.SubmitOptions{BaseDir: b.Dir, Instances: s.Instances, DelegationID: delegationID, ProxyFile: s.ProxyFile,
		Progress: func(_, _ string, done, _ int64) { prog.Add(done) }, Known: known, Key: ce.NewSubmissionKey(),
		Warn: func(msg string) { s.warnf("%s: %s", s.Addr.URL(), msg) }}
	pending, err := s.writeAhead(rec.Ctx, b, &opts, delegationID)
	if err != nil {
		prog.Done()
		return err // not sent: a request whose jobs a crash could lose is not made
	}
	answered := s.fault.answered()
	results, err := s.send(cctx, b, opts, func(rs []ce.Result) {
		answered()
		if _, err := rec.Record(rs); err == nil {
			for _, r := range rs {
				accept(r)
			}
		}
	})
	answered()
	prog.Done()
	if err != nil {
		s.settleFailed(rec.Ctx, pending, opts.Key, err, ctx.Err() != nil)
		out.AuthFailed = out.AuthFailed || ce.IsAuthFailure(err)
		out.BadInput = out.BadInput || ce.IsInputError(err)
		out.Failed += len(b.Jobs)
		s.failed(err)
		out.Results = append(out.Results, ce.Result{Err: err})
		return nil
	}
	results = ce.Backends.CheckResults(results) // an id the flavour cannot have is an error, never recorded
	var lost []string                           // what the backend did not announce, or failed to record then
	var recErr error
	if pending && !mayHaveMore(results) {
		lost, recErr = rec.Resolve(results, opts.Key) // the jobs and the end of the pending row at once
	} else {
		lost, recErr = rec.Record(results) // a pending row stays for what the CE may have made unannounced
	}
	s.tally(results, out, accept, recErr == nil)
	if recErr != nil {
		for _, id := range lost {
			if s.NotRecorded != nil {
				s.NotRecorded(id)
			}
		}
		return recErr
	}
	return nil
}

// tally adds a request's results to out, telling about failures and (when
// they are on record) the jobs accepted.
func (s *Submitter) tally(results []ce.Result, out *Submitted, accept func(ce.Result), recorded bool) {
	for _, r := range results {
		if r.Err != nil {
			out.Failed++
			s.failed(r.Err)
		} else {
			out.OK++
			if recorded {
				accept(r)
			}
		}
		out.Results = append(out.Results, r)
	}
}

// writeAhead writes the request of b as pending (its key, CE and job
// count) before it leaves, and has the CE's cluster ids (HTCondor) written
// to that row as soon as they are known. It reports whether it wrote.
func (s *Submitter) writeAhead(ctx context.Context, b Batch, opts *ce.SubmitOptions, delegationID string) (bool, error) {
	if err := s.fault.sending(opts.Key, strings.TrimSuffix(s.Addr.URL(), "/")); err != nil {
		return false, err
	}
	if s.Store == nil || s.fault.noPending {
		return false, nil
	}
	p := jobstore.Pending{Key: opts.Key, CE: strings.TrimSuffix(s.Addr.URL(), "/"), Flavour: string(s.Addr.Flavour),
		Jobs: len(b.Jobs) * max(1, s.Instances), Owner: s.owner, DelegationID: delegationID}
	if err := s.Store.AddPending(ctx, p); err != nil {
		return false, err
	}
	opts.Assigned = func(id string) error {
		if err := s.Store.SetPendingCluster(ctx, opts.Key, id); err != nil {
			return err
		}
		s.fault.assigned()
		return nil
	}
	return true, nil
}

// settleFailed ends the pending row of a request that failed as a whole,
// unless the CE may have created jobs anyway (an answer lost or cut, a
// stop): then the row stays, and the next command to the CE looks for them.
func (s *Submitter) settleFailed(ctx context.Context, pending bool, key string, err error, stopped bool) {
	var mc *ce.MaybeCreatedError
	if !pending || stopped || errors.As(err, &mc) {
		return
	}
	_ = s.Store.DropPending(ctx, key) // left: the next command finds nothing and clears it
}

// mayHaveMore reports whether the CE may have created jobs of the request
// that its answer did not name (a job whose answer was lost).
func mayHaveMore(rs []ce.Result) bool {
	for _, r := range rs {
		var mc *ce.MaybeCreatedError
		if r.Job == nil && errors.As(r.Err, &mc) {
			return true
		}
	}
	return false
}

// send makes one submission request; created is told about the jobs the
// CE announces. A stop (Ctrl-C, SIGTERM: cctx cancelled) cuts the request
// short only after StopGrace, as the CE may be creating the jobs: a
// request answered by then has its jobs recorded; then the uploads stop.
func (s *Submitter) send(cctx context.Context, b Batch, opts ce.SubmitOptions, created func([]ce.Result)) ([]ce.Result, error) {
	bctx, stop := context.WithCancel(context.WithoutCancel(cctx))
	announced, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go stopOnStop(cctx, announced, done, stop)
	opts.Created = func(rs []ce.Result) {
		created(rs)
		once.Do(func() { close(announced) })
	}
	results, err := s.Backend.Submit(bctx, b.Jobs, opts)
	close(done)
	stop()
	return results, err
}

// acceptOnce tells Accepted about each job on record once.
func (s *Submitter) acceptOnce() func(ce.Result) {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(r ce.Result) {
		if r.Job == nil || r.Err != nil || ce.Backends.CheckLocalID(r.Job.Flavour, r.Job.LocalID) != nil {
			return
		}
		mu.Lock()
		dup := seen[r.Job.ID]
		seen[r.Job.ID] = true
		mu.Unlock()
		if !dup && s.Accepted != nil {
			s.Accepted(*r.Job)
		}
	}
}

func (s *Submitter) warnf(format string, args ...any) {
	if s.Warnf != nil {
		s.Warnf(format, args...)
	}
}

func (s *Submitter) failed(err error) {
	if s.Failed != nil {
		s.Failed(err)
	}
}

type noProgress struct{}

func (noProgress) Add(int64) {}
func (noProgress) Done()     {}

// StopGrace is how long a stopped submission waits for the answer to its
// request (to record the jobs it created) before cutting it: one SIGTERM
// ends cesub within 2 s, whatever the CE does.
const StopGrace = 750 * time.Millisecond

// stopOnStop calls stop when ctx is cancelled: at once when the CE has
// announced the request's jobs (only uploads are left), else after
// StopGrace.
func stopOnStop(ctx context.Context, announced, done <-chan struct{}, stop func()) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	t := time.NewTimer(StopGrace)
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
func splitBatches(in []Batch, size int, native string) []Batch {
	if size <= 0 {
		return in
	}
	var out []Batch
	for _, b := range in {
		if len(b.Jobs) <= size || native != "" && len(b.Jobs) > 0 && b.Jobs[0].Origin != nil && b.Jobs[0].Origin.Format == native {
			out = append(out, b)
			continue
		}
		for start := 0; start < len(b.Jobs); start += size {
			out = append(out, Batch{Jobs: b.Jobs[start:min(start+size, len(b.Jobs))], Dir: b.Dir})
		}
	}
	return out
}

// Delegation modes (submit --delegate): auto is X.509 when the CE is
// reached with the proxy (as arcsub does), none with a token.
const (
	DelegateAuto = "auto"
	DelegateNone = "none"
)

// Delegation is how a submission gives its jobs a credential.
type Delegation struct {
	// Mode is the credential stored on the CE before the jobs are sent
	// (ce.DelegateX509, ce.DelegateToken); "" for none.
	Mode string
	// ProxyWithJobs: the flavour stores no delegation, and the X.509 proxy
	// travels with the jobs (HTCondor's x509userproxy).
	ProxyWithJobs bool
}

// ResolveDelegate turns --delegate auto into a concrete mode: X.509 when
// the CE is reached with the proxy (src nil), none with a token.
func ResolveDelegate(asked string, src token.Source) (string, error) {
	switch asked {
	case DelegateNone, ce.DelegateX509, ce.DelegateToken:
		return asked, nil
	case DelegateAuto, "":
		if src == nil {
			return ce.DelegateX509, nil
		}
		return DelegateNone, nil
	}
	return "", inputErr(fmt.Errorf("--delegate %q: want auto, none, x509 or token", asked))
}

// ChooseDelegation is the delegation a submission to a CE of flavour info
// makes for --delegate asked: what the flavour stores (its first kind when
// auto picks one it lacks), or, for a flavour that stores none, the proxy
// with the jobs when x509 was asked by name. A kind asked by name that the
// flavour lacks is an InputError.
func ChooseDelegation(asked string, src token.Source, info ce.RegInfo) (Delegation, error) {
	mode, err := ResolveDelegate(asked, src)
	if err != nil {
		return Delegation{}, err
	}
	if len(info.Delegations) == 0 {
		switch asked {
		case ce.DelegateX509:
			return Delegation{ProxyWithJobs: true}, nil
		case ce.DelegateToken:
			return Delegation{}, inputErr(fmt.Errorf("--delegate token: %ss have no token delegation (a job can carry a token file with scitokens_file)", info.Label))
		}
		return Delegation{}, nil
	}
	if mode == DelegateNone {
		return Delegation{}, nil
	}
	if !slices.Contains(info.Delegations, mode) {
		if asked == mode { // asked for by name
			return Delegation{}, inputErr(fmt.Errorf("--delegate %s: %s CEs take %s delegations only", mode, info.Label, strings.Join(info.Delegations, ", ")))
		}
		mode = info.Delegations[0]
	}
	return Delegation{Mode: mode}, nil
}

// WhileReading runs setup while read runs in a goroutine, and returns
// read's result once both are done. read's error wins over setup's: a
// description the user must fix is reported before anything setup found
// (credentials, the job list, the CE), as it would be if read came first.
func WhileReading[T any](read func() (T, error), setup func() error) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := read()
		ch <- result{v, err}
	}()
	serr := setup()
	r := <-ch
	if r.err != nil {
		return r.v, r.err
	}
	return r.v, serr
}

// LoadVersion gives a backend what the job list remembers of the CE (the
// ARC REST version, where an HTCondor-CE's schedd is: ce.VersionCache; how
// many jobs it held: ce.Census), saving requests; it returns the version,
// "" when none is remembered.
func LoadVersion(ctx context.Context, store *jobstore.Store, addr ce.Address, b ce.Backend) string {
	if store == nil {
		return ""
	}
	if cs, ok := b.(ce.Census); ok {
		if n, at, ok := store.CEJobCount(ctx, addr.URL()); ok {
			cs.SetJobCount(n, at)
		}
	}
	vc, ok := b.(ce.VersionCache)
	if !ok {
		return ""
	}
	v, ok := store.CEVersion(ctx, addr.URL())
	if !ok {
		return ""
	}
	vc.SetVersion(v)
	return v
}

// RememberVersion stores what a backend learnt about the CE (its version,
// its job count), so the next command to it saves requests. It never asks
// the CE (one that failed is not asked again).
func RememberVersion(ctx context.Context, store *jobstore.Store, addr ce.Address, b ce.Backend) {
	if store == nil {
		return
	}
	if vc, ok := b.(ce.VersionCache); ok {
		if v := vc.KnownVersion(); v != "" {
			_ = store.SetCEVersion(ctx, addr.URL(), string(addr.Flavour), v)
		}
	}
	if cs, ok := b.(ce.Census); ok {
		if n, at, ok := cs.JobCount(); ok {
			_ = store.SetCEJobCount(ctx, addr.URL(), n, at)
		}
	}
}
