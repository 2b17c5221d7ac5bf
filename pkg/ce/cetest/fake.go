// Package cetest helps test code that uses CE backends: Fake is an
// in-memory CE (every ce.Backend method, plus hold/release and details),
// whose behaviour a test changes through function fields; Register makes a
// flavour of it, registered only where a test asks (so the CLI runs against
// it end to end, and a new flavour is shown to need nothing outside its own
// package); Conformance checks what every flavour's backend must do.
package cetest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/dlfs"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// FakeJob is a job the fake CE holds.
type FakeJob struct {
	ce.Job
	Files map[string]string // session files (stdout under the job's stdout name)
	// Key and Index: the submission (SubmitOptions.Key) that made the job
	// and the job's place in it, as a real CE keeps them in the job.
	Key   string
	Index int
}

// Fake is an in-memory CE. The zero value works (create it with NewFake to
// set the endpoint); each Func field, when set, replaces that method.
type Fake struct {
	Endpoint string
	Flavour  ce.Flavour

	SubmitFunc   func(ctx context.Context, jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Result, error)
	StatusFunc   func(ctx context.Context, ids []string) ([]ce.Result, error)
	ActFunc      func(ctx context.Context, action string, ids []string) ([]ce.Result, error)
	DelegateFunc func(ctx context.Context, req ce.DelegateRequest) (*ce.Delegation, error)
	PingFunc     func(ctx context.Context) (*ce.PingResult, error)
	FindFunc     func(ctx context.Context, key string, hint ce.PendingHint) ([]ce.Job, error)
	InfoFunc     func(ctx context.Context) (*ce.Info, error)
	// AutoFinish: a job finishes (exit 0) the first time its status is asked.
	AutoFinish bool

	mu    sync.Mutex
	seq   int
	jobs  map[string]*FakeJob
	calls []string
}

// NewFake makes an empty fake CE at endpoint (e.g. "fake://ce.example:1").
func NewFake(endpoint string, flavour ce.Flavour) *Fake {
	return &Fake{Endpoint: endpoint, Flavour: flavour, jobs: map[string]*FakeJob{}}
}

// Calls lists the operations asked so far ("submit 2", "status 1", …).
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *Fake) called(op string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s %d", op, n))
}

// Jobs returns the jobs the fake CE holds, by local id.
func (f *Fake) Jobs() map[string]FakeJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]FakeJob{}
	for id, j := range f.jobs {
		out[id] = *j
	}
	return out
}

// SetState moves a job to a state (and exit code) as the CE would.
func (f *Fake) SetState(local string, st ce.State, exit *int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j, ok := f.jobs[local]; ok {
		j.State, j.RawState, j.ExitCode = st, "fake:"+string(st), exit
	}
}

// JobID implements ce.Backend.
func (f *Fake) JobID(local string) string { return f.Endpoint + "/jobs/" + local }

// ParseJobID reads a job id of the fake flavour written by hand.
func ParseJobID(id string) (endpoint, local string, ok bool) {
	i := strings.LastIndex(id, "/jobs/")
	if i < 0 || !strings.Contains(id, "://") {
		return "", "", false
	}
	return id[:i], id[i+len("/jobs/"):], id[i+len("/jobs/"):] != ""
}

func (f *Fake) notFound(local string) error {
	return fmt.Errorf("job %s %w on %s", local, ce.ErrNotFound, f.Endpoint)
}

// Submit implements ce.Backend: each job gets the next id ("job1", …),
// starts QUEUING, and its stdout file holds its arguments.
func (f *Fake) Submit(ctx context.Context, jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Result, error) {
	f.called("submit", len(jobs))
	if f.SubmitFunc != nil {
		return f.SubmitFunc(ctx, jobs, opts)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := localInputs(jobs, opts.BaseDir); err != nil {
		return nil, err
	}
	n := len(jobs)
	if opts.Instances > 1 {
		n *= opts.Instances
	}
	out := make([]ce.Result, 0, n)
	f.mu.Lock()
	now := time.Now().UTC().Truncate(time.Second)
	for i := 0; i < n; i++ {
		jd := jobs[i%len(jobs)]
		f.seq++
		local := fmt.Sprintf("job%d", f.seq)
		stdout := jd.Stdout
		if stdout == "" {
			stdout = "stdout"
		}
		j := &FakeJob{Job: ce.Job{ID: f.JobID(local), LocalID: local, CE: f.Endpoint, Flavour: f.Flavour, Name: jd.Name,
			State: ce.StateQueuing, RawState: "fake:QUEUING", Submitted: &now, Stdout: stdout},
			Files: map[string]string{stdout: strings.Join(jd.Executable.Args, " ") + "\n"}, Key: opts.Key, Index: i}
		f.jobs[local] = j
		jj := j.Job
		out = append(out, ce.Result{ID: jj.ID, Job: &jj})
	}
	f.mu.Unlock()
	if opts.Created != nil {
		opts.Created(out)
	}
	return out, nil
}

// FindSubmission implements ce.SubmissionFinder: the jobs made by the
// submission with key, in their order in it.
func (f *Fake) FindSubmission(ctx context.Context, key string, hint ce.PendingHint) ([]ce.Job, error) {
	f.called("find", hint.Jobs)
	if f.FindFunc != nil {
		return f.FindFunc(ctx, key, hint)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var mine []*FakeJob
	for _, j := range f.jobs {
		if key != "" && j.Key == key {
			mine = append(mine, j)
		}
	}
	sort.Slice(mine, func(a, b int) bool { return mine[a].Index < mine[b].Index })
	out := make([]ce.Job, 0, len(mine))
	for _, j := range mine {
		out = append(out, j.Job)
	}
	return out, nil
}

// Status implements ce.Backend.
func (f *Fake) Status(ctx context.Context, ids []string) ([]ce.Result, error) {
	f.called("status", len(ids))
	if f.StatusFunc != nil {
		return f.StatusFunc(ctx, ids)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ce.Result, len(ids))
	for i, id := range ids {
		if j, ok := f.jobs[id]; ok {
			if f.AutoFinish && !j.State.Terminal() {
				j.State, j.RawState, j.ExitCode = ce.StateFinished, "fake:FINISHED", new(int)
			}
			jj := j.Job
			out[i] = ce.Result{ID: jj.ID, Job: &jj}
		} else {
			out[i] = ce.Result{ID: f.JobID(id), Err: f.notFound(id)}
		}
	}
	return out, nil
}

// Details implements ce.Detailer.
func (f *Fake) Details(ctx context.Context, ids []string) ([]ce.Result, error) {
	rs, err := f.Status(ctx, ids)
	for i := range rs {
		if rs[i].Job != nil {
			wall := int64(7)
			rs[i].Job.Details = &ce.Details{Queue: "fakeq", BatchID: "b-" + rs[i].Job.LocalID, ExecutionNodes: []string{"node1"}, WallTime: &wall}
		}
	}
	return rs, err
}

func (f *Fake) act(ctx context.Context, action string, ids []string, to ce.State, remove bool) ([]ce.Result, error) {
	f.called(action, len(ids))
	if f.ActFunc != nil {
		return f.ActFunc(ctx, action, ids)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ce.Result, len(ids))
	for i, id := range ids {
		j, ok := f.jobs[id]
		if !ok {
			out[i] = ce.Result{ID: f.JobID(id), Err: f.notFound(id)}
			continue
		}
		if remove {
			delete(f.jobs, id)
		} else if to != "" {
			j.State, j.RawState = to, "fake:"+string(to)
		}
		jj := j.Job
		out[i] = ce.Result{ID: jj.ID, Job: &jj}
	}
	return out, nil
}

// Kill implements ce.Backend.
func (f *Fake) Kill(ctx context.Context, ids []string) ([]ce.Result, error) {
	return f.act(ctx, "kill", ids, ce.StateKilled, false)
}

// Clean implements ce.Backend.
func (f *Fake) Clean(ctx context.Context, ids []string) ([]ce.Result, error) {
	return f.act(ctx, "clean", ids, "", true)
}

// Restart implements ce.Backend.
func (f *Fake) Restart(ctx context.Context, ids []string) ([]ce.Result, error) {
	return f.act(ctx, "restart", ids, ce.StateQueuing, false)
}

// Hold implements ce.Holder.
func (f *Fake) Hold(ctx context.Context, ids []string) ([]ce.Result, error) {
	return f.act(ctx, "hold", ids, ce.StateHeld, false)
}

// Release implements ce.Holder.
func (f *Fake) Release(ctx context.Context, ids []string) ([]ce.Result, error) {
	return f.act(ctx, "release", ids, ce.StateQueuing, false)
}

// List implements ce.Backend.
func (f *Fake) List(ctx context.Context) ([]ce.Job, error) {
	f.called("list", 0)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ce.Job
	for _, j := range f.jobs {
		out = append(out, j.Job)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].LocalID < out[b].LocalID })
	return out, nil
}

// Cat implements ce.Backend.
func (f *Fake) Cat(ctx context.Context, local, path string, w io.Writer) error {
	f.called("cat", 1)
	f.mu.Lock()
	j, ok := f.jobs[local]
	var body string
	var has bool
	if ok {
		body, has = j.Files[strings.TrimPrefix(path, "/")]
	}
	f.mu.Unlock()
	if !ok {
		return f.notFound(local)
	}
	if !has {
		return fmt.Errorf("%s of job %s: %w", path, local, ce.ErrNotFound)
	}
	_, err := io.WriteString(w, body)
	return err
}

// Get implements ce.Backend: the job's files into opts.Dir, written as
// the real backends write them (see dlfs).
func (f *Fake) Get(ctx context.Context, local string, opts ce.GetOptions) (*ce.GetResult, error) {
	f.called("get", 1)
	f.mu.Lock()
	j, ok := f.jobs[local]
	files := map[string]string{}
	if ok {
		for k, v := range j.Files {
			files[k] = v
		}
	}
	f.mu.Unlock()
	if !ok {
		return nil, f.notFound(local)
	}
	d, err := dlfs.Open(opts.Dir, f.JobID(local))
	if err != nil {
		return nil, err
	}
	res := &ce.GetResult{Dir: opts.Dir}
	for name, body := range files {
		if err := writeOne(d, filepath.Base(name), body); err != nil {
			d.Close()
			return res, err
		}
		res.Files++
		res.Bytes += int64(len(body))
		if opts.Progress != nil {
			opts.Progress(name, int64(len(body)))
		}
	}
	return res, d.Done()
}

func writeOne(d *dlfs.Dir, name, body string) error {
	out, err := d.Create(name, int64(len(body)), false)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(out, body); err != nil {
		out.Abort()
		return err
	}
	return out.Commit(0o644)
}

// Info implements ce.Backend.
func (f *Fake) Info(ctx context.Context) (*ce.Info, error) {
	f.called("info", 0)
	if f.InfoFunc != nil {
		return f.InfoFunc(ctx)
	}
	return &ce.Info{Endpoint: f.Endpoint, Implementation: "cetest", Version: "1", Queues: []ce.Queue{{Name: "fakeq", RunningJobs: 1}}}, ctx.Err()
}

// Delegate implements ce.Backend.
func (f *Fake) Delegate(ctx context.Context, req ce.DelegateRequest) (*ce.Delegation, error) {
	f.called("delegate", 1)
	if f.DelegateFunc != nil {
		return f.DelegateFunc(ctx, req)
	}
	return &ce.Delegation{ID: "deleg-" + req.Type, Type: req.Type}, ctx.Err()
}

// PlanDelegate implements ce.Planner: one request to the fake's
// delegations (nothing is sent, nothing recorded as called).
func (f *Fake) PlanDelegate(kind string) ([]ce.Request, error) {
	return []ce.Request{{Method: "DELEGATE", URL: f.Endpoint + "/delegations", Note: "a new " + kind + " delegation"}}, nil
}

// PlanSubmit implements ce.Planner: one request per job.
func (f *Fake) PlanSubmit(jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Request, error) {
	out := make([]ce.Request, 0, len(jobs))
	for i, j := range jobs {
		out = append(out, ce.Request{Method: "SUBMIT", URL: f.Endpoint + "/jobs",
			Note: fmt.Sprintf("job %d (%s), delegation %q", i+1, j.Name, opts.DelegationID)})
	}
	return out, nil
}

// Ping implements ce.Backend.
func (f *Fake) Ping(ctx context.Context) (*ce.PingResult, error) {
	f.called("ping", 0)
	if f.PingFunc != nil {
		return f.PingFunc(ctx)
	}
	return &ce.PingResult{Endpoint: f.Endpoint, Reachable: true, Admitted: true, Implementation: "cetest", Version: "1", Identity: "token"}, ctx.Err()
}

// Register makes flavour a registered CE flavour in r whose backends are
// fake (every address gets the same Fake), addressed as scheme://host:port.
// It returns the RegInfo, which a test may change before registering again.
func Register(r *ce.Registry, flavour ce.Flavour, scheme string, fake *Fake) ce.RegInfo {
	info := ce.RegInfo{Flavour: flavour, Label: "test CE (" + string(flavour) + ")",
		New: func(cfg ce.Config) (ce.Backend, error) {
			fake.mu.Lock() // backends may be made in parallel (cesub test)
			defer fake.mu.Unlock()
			if fake.Endpoint == "" {
				fake.Endpoint = cfg.Address.URL()
			}
			return fake, nil
		},
		ParseJobID:  ParseJobID,
		Schemes:     []string{scheme},
		URLScheme:   scheme,
		DefaultPort: 7777,
		Audiences:   func(a ce.Address) []string { return []string{scheme + "://" + a.HostPort()} },
		Scopes: map[string][]string{"submit": {"compute.create"}, "status": {"compute.read"},
			"cancel": {"compute.cancel"}, "upload": {"compute.modify"}},
		Delegations: []string{ce.DelegateX509, ce.DelegateToken},
	}
	r.Register(info)
	return info
}

// localInputs checks the jobs' local input files as the real flavours do
// before they send anything.
func localInputs(jobs []jobdesc.Job, baseDir string) error {
	for _, j := range jobs {
		for _, in := range j.Inputs {
			if p, ok := in.Local(baseDir); ok {
				if _, err := os.Stat(p); err != nil {
					return &ce.InputError{Err: fmt.Errorf("input file %q: %w (nothing was submitted)", in.Name, err)}
				}
			}
		}
	}
	return nil
}
