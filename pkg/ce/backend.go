package ce

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/token"
)

// State is a job state common to all flavours.
type State string

// Common job states.
const (
	StateAccepted  State = "ACCEPTED"  // known to the CE, not yet staged
	StatePreparing State = "PREPARING" // inputs being staged
	StateQueuing   State = "QUEUING"   // waiting in the batch system
	StateRunning   State = "RUNNING"
	StateFinishing State = "FINISHING" // outputs being staged
	StateFinished  State = "FINISHED"  // done (exit code may still be non-zero)
	StateFailed    State = "FAILED"
	StateKilled    State = "KILLED"
	StateDeleted   State = "DELETED" // cleaned/wiped on the CE
	StateHeld      State = "HELD"
	StateUnknown   State = "UNKNOWN"
)

// States lists the common states, in the order a job meets them.
var States = []State{StateAccepted, StatePreparing, StateQueuing, StateRunning, StateFinishing, StateFinished,
	StateFailed, StateKilled, StateDeleted, StateHeld, StateUnknown}

// ParseState reads a common state name, in any case.
func ParseState(s string) (State, bool) {
	u := State(strings.ToUpper(strings.TrimSpace(s)))
	for _, st := range States {
		if st == u {
			return st, true
		}
	}
	return "", false
}

// Terminal reports whether a state will not change any more.
func (s State) Terminal() bool {
	return s == StateFinished || s == StateFailed || s == StateKilled || s == StateDeleted
}

// Job is a job as a CE reports it.
type Job struct {
	ID        string     `json:"id"`       // the user-facing job id (a URL for ARC)
	LocalID   string     `json:"local_id"` // the id on the CE
	CE        string     `json:"ce"`       // the CE endpoint URL
	Flavour   Flavour    `json:"flavour"`
	Name      string     `json:"name,omitempty"`
	State     State      `json:"state"`
	RawState  string     `json:"specific_state,omitempty"` // the CE's own state name
	ExitCode  *int       `json:"exit_code,omitempty"`
	Errors    []string   `json:"job_error,omitempty"`
	Submitted *time.Time `json:"submitted,omitempty"`
	// Stdout and Stderr as the CE names them, when submission changed the
	// description's names (HTCondor expands $(Cluster) with the real id).
	Stdout string `json:"-"`
	Stderr string `json:"-"`
	// Details are the long fields (status -l), set only by Detailer.Details.
	Details *Details `json:"details,omitempty"`
}

// Details are what a CE knows of a job beyond its state: where and how long
// it ran and what it used. Every field is optional (a queued job has no
// node; a CE may not report memory). JSON names follow arcstat -l's
// GLUE2-derived names; times are seconds, memory kB.
type Details struct {
	Owner          string     `json:"owner,omitempty"`
	Queue          string     `json:"queue,omitempty"`
	BatchID        string     `json:"localIdFromManager,omitempty"` // the job's id in the batch system
	ExecutionNodes []string   `json:"executionNode,omitempty"`
	RequestedSlots int        `json:"requestedSlots,omitempty"`
	WallTime       *int64     `json:"usedTotalWallTime,omitempty"` // seconds
	CPUTime        *int64     `json:"usedTotalCPUTime,omitempty"`  // seconds, all processors
	MemoryKB       *int64     `json:"usedMainMemory,omitempty"`    // peak resident memory, kB
	Started        *time.Time `json:"startTime,omitempty"`         // in the batch system
	Ended          *time.Time `json:"endTime,omitempty"`
	Starts         int        `json:"numberOfStarts,omitempty"` // HTCondor NumJobStarts
	SubmittedFrom  string     `json:"submissionHost,omitempty"` // the client address the CE saw
	EraseTime      *time.Time `json:"workingAreaEraseTime,omitempty"`
	ProxyExpires   *time.Time `json:"proxyExpirationTime,omitempty"`
}

// Detailer is implemented by flavours that can report a job's long fields
// (status -l). The results are Status's, with Job.Details set where the CE
// answered; a job whose details could not be read keeps its state.
type Detailer interface {
	Details(ctx context.Context, localIDs []string) ([]Result, error)
}

// Result is the outcome of an operation on one job of a bulk request.
type Result struct {
	Job *Job // set on success (and for status)
	ID  string
	Err error
}

// AllFailed reports whether every result of a bulk operation is an error.
func AllFailed(rs []Result) bool {
	for _, r := range rs {
		if r.Err == nil {
			return false
		}
	}
	return true
}

// SubmitOptions tune a submission.
type SubmitOptions struct {
	// BaseDir resolves relative local input files.
	BaseDir string
	// Instances asks the CE to create N copies (ARC REST 1.1).
	Instances int
	// ProxyFile is an X.509 proxy sent with the jobs (HTCondor x509userproxy).
	ProxyFile string
	// DelegationID attaches an existing delegation.
	DelegationID string
	// Progress is told about uploads (may be nil).
	Progress func(job string, file string, done, total int64)
	// Created, if set, is told about the jobs the CE has created as soon as
	// it has (before their input files are sent), so that they are on record
	// even if this process dies while uploading. rs is indexed like Submit's
	// results; jobs not (yet) created have no Job. It may be called more
	// than once and from another goroutine.
	Created func(rs []Result)
	// Known, if set, reports whether a job id of this CE is on the job list
	// already (a submission whose answer was lost looks among the others
	// for the jobs it made).
	Known func(localID string) bool
	// Key is the submission key of this request (NewSubmissionKey): every
	// job it creates carries it (ARC: the cesub-submission annotation;
	// HTCondor: the CesubSubmission attribute), so SubmissionFinder can find
	// them if the answer is never recorded. Empty: the flavour makes one.
	Key string
	// Assigned, if set, is told an id the CE gave the submission before it
	// is committed (HTCondor: each cluster id NewCluster answers); an error
	// abandons the submission (nothing is committed).
	Assigned func(id string) error
	// Warn, if set, is told what the CE says about a submission it accepted
	// (HTCondor: the schedd's WarningReason, e.g. from a submit requirement
	// that only warns), as condor_submit prints it.
	Warn func(msg string)
}

// Announce tells o.Created about rs in the background (a copy: the caller
// goes on filling in upload errors); wait returns once it has been told.
func (o SubmitOptions) Announce(rs []Result) (wait func()) {
	if o.Created == nil {
		return func() {}
	}
	cp := append([]Result(nil), rs...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Created(cp)
	}()
	return func() { <-done }
}

// GetOptions tune a download.
type GetOptions struct {
	Dir         string // the job's folder: Get creates it (or reuses one its interrupted run left, see dlfs)
	Concurrency int    // parallel file downloads (default 4)
	// Progress is told about each finished file (may be nil).
	Progress func(file string, bytes int64)
}

// GetResult summarises a download.
type GetResult struct {
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
	Dir   string `json:"dir"`
}

// Info is a short summary of a CE.
type Info struct {
	Endpoint            string   `json:"endpoint"`
	Implementation      string   `json:"implementation,omitempty"`
	Version             string   `json:"version,omitempty"`
	APIVersions         []string `json:"api_versions,omitempty"`
	Queues              []Queue  `json:"queues,omitempty"`
	RuntimeEnvironments []string `json:"runtime_environments,omitempty"`
	// HealthState is the submission endpoint's (GLUE2: ok, warning,
	// critical, unknown, other); "" when the CE does not say.
	HealthState string `json:"health_state,omitempty"`
	// MainMemoryMB is a worker node's memory (GLUE2 ExecutionEnvironment
	// MainMemorySize); 0 when not published.
	MainMemoryMB int64 `json:"main_memory_mb,omitempty"`
	// GLUE2: the information is a GLUE2 document (ARC CEs). Brokers treat
	// what it leaves out as ARC's do (unpublished memory or slots drop the
	// CE for a job that asks for them); other flavours publish less by
	// nature and are kept.
	GLUE2 bool `json:"-"`
}

// Queue is a CE queue (share).
type Queue struct {
	Name         string `json:"name"`
	MaxWallTime  int64  `json:"max_wall_time_s,omitempty"`
	MaxCPUTime   int64  `json:"max_cpu_time_s,omitempty"`
	MaxMemoryMB  int64  `json:"max_memory_mb,omitempty"`
	RunningJobs  int    `json:"running_jobs,omitempty"`
	WaitingJobs  int    `json:"waiting_jobs,omitempty"`
	ServingState string `json:"serving_state,omitempty"`
	// MaxVirtualMemoryMB is per job slot; 0 when not published.
	MaxVirtualMemoryMB int64 `json:"max_virtual_memory_mb,omitempty"`
	// TotalSlots are the CE's (GLUE2 ComputingManager), FreeSlots the
	// queue's.
	TotalSlots int `json:"total_slots,omitempty"`
	FreeSlots  int `json:"free_slots,omitempty"`
	// Published says which counts the CE published: one it leaves out
	// reads 0 but is unknown (ARC's FastestQueue broker tells them apart).
	Published Counts `json:"-"`
}

// Counts are the queue counts a CE may publish (Queue.Published).
type Counts uint8

// The counts of a queue.
const (
	CountRunning Counts = 1 << iota
	CountWaiting
	CountTotalSlots
	CountFreeSlots
)

// Has reports whether every count of want is in c.
func (c Counts) Has(want Counts) bool { return c&want == want }

// Backend is what every CE flavour implements.
type Backend interface {
	// Submit sends jobs (as one request where the CE allows) and uploads their client-side inputs.
	Submit(ctx context.Context, jobs []jobdesc.Job, opts SubmitOptions) ([]Result, error)
	// Status returns the state of each job.
	Status(ctx context.Context, localIDs []string) ([]Result, error)
	// Kill, Clean and Restart act on jobs.
	Kill(ctx context.Context, localIDs []string) ([]Result, error)
	Clean(ctx context.Context, localIDs []string) ([]Result, error)
	Restart(ctx context.Context, localIDs []string) ([]Result, error)
	// List returns the jobs of the authenticated identity on the CE.
	List(ctx context.Context) ([]Job, error)
	// Cat copies one file of a job's session (stdout, a log…) to w.
	Cat(ctx context.Context, localID, path string, w io.Writer) error
	// Get downloads a job's session directory.
	Get(ctx context.Context, localID string, opts GetOptions) (*GetResult, error)
	// Info summarises the CE.
	Info(ctx context.Context) (*Info, error)
	// JobID turns a CE-local id into the user-facing id; ParseJobID the reverse.
	JobID(localID string) string
	// Delegate stores a credential on the CE for jobs to use (new, or
	// renewed in place when RenewID is set).
	Delegate(ctx context.Context, req DelegateRequest) (*Delegation, error)
	// Ping checks reachability, TLS, the protocol versions and whether the
	// credential is admitted.
	Ping(ctx context.Context) (*PingResult, error)
	// Planner shows the requests Delegate and Submit would send (the dry
	// run): each flavour shows its own.
	Planner
}

// Request is one request a dry run shows (credentials redacted): HTTP,
// or a flavour's own operation (HTCondor's QMGMT) in Method.
type Request struct {
	Method string   `json:"method"`
	URL    string   `json:"url"`
	Header []string `json:"header,omitempty"` // "Name: value"
	Body   string   `json:"body,omitempty"`
	Note   string   `json:"note,omitempty"`
	// Once, if set, names a request a client makes once per command
	// however many plans show it (ARC's version discovery): OncePerCommand
	// keeps the first.
	Once string `json:"-"`
}

// Redacted stands for a credential in what a dry run shows; RedactedBearer
// is the Authorization header of a request that carries a bearer token.
const (
	Redacted       = "[REDACTED]"
	RedactedBearer = "Authorization: Bearer " + Redacted
)

// OncePerCommand drops the requests whose Once an earlier request has.
func OncePerCommand(reqs []Request) []Request {
	seen := map[string]bool{}
	out := reqs[:0:0]
	for _, r := range reqs {
		if r.Once != "" {
			if seen[r.Once] {
				continue
			}
			seen[r.Once] = true
		}
		out = append(out, r)
	}
	return out
}

// Warmer is a Backend that can start connecting for a submission about to
// come, while the caller still reads the descriptions. It checks what it
// can without the CE first (a token that cannot submit is not sent).
// Submit uses what Warm made; release closes it if Submit did not.
type Warmer interface {
	Warm(ctx context.Context) (release func())
}

// VersionCache is implemented by flavours that learn something about a CE
// worth remembering between commands (the ARC REST version negotiated,
// where an HTCondor-CE's schedd is): KnownVersion says it without a
// request ("" when not learnt yet), SetVersion gives it back next time.
type VersionCache interface {
	KnownVersion() string
	SetVersion(string)
}

// Census is implemented by flavours whose cheapest way to learn the states
// of some jobs depends on how many jobs the CE holds for the identity (ARC
// REST: one listing of all of them, or their ids posted). JobCount is what
// the backend learnt, from a listing (ok false when nothing is known);
// SetJobCount gives back what the job list remembers from an earlier
// command.
type Census interface {
	JobCount() (n int, at time.Time, ok bool)
	SetJobCount(n int, at time.Time)
}

// Planner shows, without sending anything, the requests a submission
// would make, credentials redacted (Redacted): every flavour implements it
// (Backend), so a dry run shows each flavour's own requests and needs no
// network.
type Planner interface {
	// PlanDelegate shows what Delegate sends to store a new credential of
	// kind (DelegateX509, DelegateToken) on the CE; a kind the flavour
	// cannot delegate is an error, as in Delegate.
	PlanDelegate(kind string) ([]Request, error)
	// PlanSubmit shows what Submit sends for jobs (the job documents,
	// uploads); local inputs are checked as in Submit.
	PlanSubmit(jobs []jobdesc.Job, opts SubmitOptions) ([]Request, error)
}

// Translator is implemented by flavours that rewrite a description into
// another language (HTCondor: xRSL and ADL into a submit description): the
// parts that translation drops or changes, for the user to see before
// anything is sent.
type Translator interface {
	TranslationWarnings(jobs []jobdesc.Job) []jobdesc.Warning
}

// Holder is implemented by flavours whose CE can hold jobs and let them go
// again (HTCondor: condor_hold, condor_release).
type Holder interface {
	Hold(ctx context.Context, localIDs []string) ([]Result, error)
	Release(ctx context.Context, localIDs []string) ([]Result, error)
}

// LogReader is implemented by flavours that keep a log of each job on the CE.
type LogReader interface {
	JobLog(ctx context.Context, localID string, w io.Writer) error
}

// Delegation kinds.
const (
	DelegateX509  = "x509"
	DelegateToken = "token"
)

// Signer signs a CE's certificate request (PEM) and returns the proxy
// certificate followed by its chain, as PEM.
type Signer func(csrPEM []byte) ([]byte, error)

// DelegateRequest asks for a delegation.
type DelegateRequest struct {
	Type    string // DelegateX509 or DelegateToken
	Sign    Signer // for X.509
	RenewID string // renew this delegation in place instead of making a new one
}

// Delegation is a credential stored on a CE.
type Delegation struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// PingResult is what a ping found out.
type PingResult struct {
	Endpoint       string   `json:"endpoint"`
	Reachable      bool     `json:"reachable"`
	TLS            string   `json:"tls,omitempty"` // protocol version and server certificate subject
	APIVersions    []string `json:"api_versions,omitempty"`
	Implementation string   `json:"implementation,omitempty"`
	Version        string   `json:"version,omitempty"`
	Admitted       bool     `json:"admitted"`
	// Refused: reached, and the CE refused the credential (authentication or
	// authorization); a CE reached that failed otherwise is neither.
	Refused     bool   `json:"refused,omitempty"`
	Unsupported bool   `json:"unsupported,omitempty"` // reached, but the protocol is not served (credential not checked)
	Identity    string `json:"identity,omitempty"`    // token or X.509
	User        string `json:"user,omitempty"`        // the identity the CE mapped the credential to
	// Authorizations per level where the CE reports them (HTCondor: READ, WRITE -> ALLOW or DENIED).
	Authorizations map[string]string `json:"authorizations,omitempty"`
	Problem        string            `json:"problem,omitempty"`
	Hint           string            `json:"hint,omitempty"`
	Latency        time.Duration     `json:"-"`
}

// Config is what a backend is built from.
type Config struct {
	Address    Address
	Token      token.Source // nil: X.509 only
	HTTPClient *http.Client // TLS settings (CA dir, client certificate)
	// TLSFor gives the TLS client configuration for a server name (trust
	// roots, host name check, client certificate): for flavours that do
	// not speak HTTP.
	TLSFor  func(host string) *tls.Config
	Timeout time.Duration
	Debugf  func(format string, args ...any)
}

// Factory builds a backend.
type Factory func(Config) (Backend, error)

// RegInfo describes a flavour to the registry: everything about it that
// code outside its package needs (addresses, tokens, delegation, the
// description format it takes as written). Adding a flavour is its package
// plus one import line (pkg/ce/all).
type RegInfo struct {
	Flavour Flavour
	Label   string // for people: "ARC CE (REST)"
	New     Factory

	// Schemes are the URL schemes that name this flavour in a CE address
	// (lower case; "https" for the default web flavour).
	Schemes []string
	// URLScheme is how the endpoint URL is written (Address.URL); ArgScheme,
	// if set, how -C takes it back when the URL alone names another flavour.
	URLScheme, ArgScheme string
	// DefaultPort and DefaultPath fill in what an address leaves out; a
	// flavour without a path has DefaultPath "" (a path given is dropped).
	DefaultPort int
	DefaultPath string
	// ImpliedByPort: host:DefaultPort without a scheme means this flavour
	// (9619: HTCondor-CE). Default: the flavour of a bare host.
	ImpliedByPort, Default bool

	// Audiences are the token audiences a CE of this flavour accepts by
	// default, preferred first.
	Audiences func(a Address) []string
	// FirstAudienceOnly: the CE compares only aud[0] of an array (A-REX).
	FirstAudienceOnly bool
	// Scopes are the WLCG scopes each operation (token.Operations) needs,
	// all of them.
	Scopes map[string][]string

	// Delegations are the credential kinds the CE stores for jobs
	// (DelegateX509, DelegateToken); none: a proxy travels with the jobs.
	Delegations []string
	// NativeFormat is the description format the CE takes as written
	// ("submit" for HTCondor); others are translated.
	NativeFormat string

	// ParseJobID recognises a job id of this flavour written by hand (not
	// in the job list) and splits it into CE endpoint and local id.
	ParseJobID func(id string) (endpoint, local string, ok bool)
	// ValidLocalID checks that a job id the CE returned has the flavour's
	// syntax (Registry.CheckLocalID applies it, with checks of its own).
	ValidLocalID func(local string) error
}

// Registry maps flavours to backends. Each flavour package registers itself
// from its init function (one line), like rclone's backends.
type Registry struct {
	mu sync.RWMutex
	m  map[Flavour]RegInfo
}

// Register adds a flavour.
func (r *Registry) Register(info RegInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[Flavour]RegInfo{}
	}
	r.m[info.Flavour] = info
}

// Info returns a flavour's registration.
func (r *Registry) Info(f Flavour) (RegInfo, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	in, ok := r.m[f]
	return in, ok
}

// infos lists the registrations in flavour order.
func (r *Registry) infos() []RegInfo {
	var out []RegInfo
	for _, f := range r.Flavours() {
		in, _ := r.Info(f)
		out = append(out, in)
	}
	return out
}

// ScopeNeeds returns the scopes each operation needs on a CE of flavour f,
// as the flavour registered them.
func (r *Registry) ScopeNeeds(f Flavour, ops []string) ([]token.ScopeNeed, error) {
	in, ok := r.Info(f)
	if !ok {
		return nil, fmt.Errorf("CE flavour %q is not supported by this build (have %v)", f, r.Flavours())
	}
	var out []token.ScopeNeed
	for _, op := range ops {
		need, ok := in.Scopes[op]
		if !ok {
			return nil, fmt.Errorf("unknown operation %q (want one of %s)", op, strings.Join(token.Operations, ", "))
		}
		out = append(out, token.ScopeNeed{Operation: op, AllOf: need})
	}
	return out, nil
}

// New builds the backend for cfg.Address.Flavour.
func (r *Registry) New(cfg Config) (Backend, error) {
	r.mu.RLock()
	info, ok := r.m[cfg.Address.Flavour]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("CE flavour %q is not supported by this build (have %v)", cfg.Address.Flavour, r.Flavours())
	}
	return info.New(cfg)
}

// ParseJobID finds the flavour whose job id syntax id is written in.
func (r *Registry) ParseJobID(id string) (f Flavour, endpoint, local string, ok bool) {
	for _, fl := range r.Flavours() {
		r.mu.RLock()
		info := r.m[fl]
		r.mu.RUnlock()
		if info.ParseJobID == nil {
			continue
		}
		if endpoint, local, ok := info.ParseJobID(id); ok {
			return fl, endpoint, local, true
		}
	}
	return "", "", "", false
}

// Flavours lists the registered flavours.
func (r *Registry) Flavours() []Flavour {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Flavour
	for f := range r.m {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Backends is the registry the flavour packages register into.
var Backends = &Registry{}

// ErrNotFound marks a job or file the CE does not have; every flavour wraps it.
var ErrNotFound = errors.New("not found")
