// Package jobdesc is cesub's common job model: one Job type that xRSL, ADL
// and HTCondor submit files are read into and written from (sub-packages
// xrsl, adl, submitfile). Times are durations, memory and disk are MB; zero
// means "not set" unless a field says otherwise. What a format carries that
// the model does not is kept in Extra, and a translation that cannot map
// something reports a Warning naming it rather than dropping it silently.
package jobdesc

import (
	"fmt"
	"path/filepath"
	"time"
)

// Job is one job description.
type Job struct {
	// Identification
	Name           string   `json:"name,omitempty"`
	Description    string   `json:"description,omitempty"`
	Type           string   `json:"type,omitempty"` // ADL ActivityIdentification/Type (single, collectionelement, …)
	Annotations    []string `json:"annotations,omitempty"`
	ActivityOldIDs []string `json:"activity_old_ids,omitempty"`

	// Application
	Executable       Executable      `json:"executable"`
	PreExecutables   []Executable    `json:"pre_executables,omitempty"`
	PostExecutables  []Executable    `json:"post_executables,omitempty"`
	Environment      []EnvVar        `json:"environment,omitempty"`
	Stdin            string          `json:"stdin,omitempty"`
	Stdout           string          `json:"stdout,omitempty"`
	Stderr           string          `json:"stderr,omitempty"`
	Join             bool            `json:"join,omitempty"`    // stderr goes to stdout (resolved client-side)
	LogDir           string          `json:"log_dir,omitempty"` // xRSL gmlog, ADL LoggingDirectory
	RemoteLogging    []RemoteLogging `json:"remote_logging,omitempty"`
	Notifications    []Notification  `json:"notifications,omitempty"`
	Lifetime         time.Duration   `json:"lifetime,omitempty"` // session directory lifetime (xRSL lifetime, ADL WipeTime)
	ExpirationTime   string          `json:"expiration_time,omitempty"`
	StartTime        string          `json:"start_time,omitempty"`
	Rerun            int             `json:"rerun,omitempty"`
	Priority         int             `json:"priority,omitempty"` // 0 = unset; 1..100
	DryRun           bool            `json:"dry_run,omitempty"`
	AccessControl    string          `json:"access_control,omitempty"` // raw XML (acl)
	CredentialServer string          `json:"credential_server,omitempty"`

	Resources Resources `json:"resources"`

	// Data staging
	Inputs       []InputFile  `json:"inputs,omitempty"`
	Outputs      []OutputFile `json:"outputs,omitempty"`
	DelegationID string       `json:"delegation_id,omitempty"`

	// Extra holds flavour-specific attributes with no place in the model,
	// keyed "<flavour>:<name>" (e.g. "xrsl:cluster", "classad:+ProjectName").
	Extra []Attr `json:"extra,omitempty"`

	// Alternatives are xRSL `|` variants; the Job itself is the first.
	Alternatives []Job `json:"alternatives,omitempty"`

	// Warnings met while reading or translating this job.
	Warnings []Warning `json:"warnings,omitempty"`

	// Origin is the native description the job was read from, for a
	// backend that speaks that format and re-reads it itself (an
	// HTCondor-CE expands a submit file with the real cluster id).
	Origin *Origin `json:"-"`
}

// Origin names the source of a job: the file, its text, and which of the
// jobs it describes this one is.
type Origin struct {
	Format string // "submit", "xrsl", "adl"
	File   string // the name it was read under
	Dir    string // the directory relative paths start from
	Text   []byte
	Index  int // this job's position among the file's jobs
	Count  int // how many jobs the file describes
	// How a submit file was read, for whoever reads it again: its
	// command-line variables (--var), a queue statement given with it
	// (--queue), whether its commands may run.
	Vars          map[string]string
	Queue         string
	AllowCommands bool
	// Repeat is submit --count for a submit file: each queue statement
	// queues Repeat times as many procs.
	Repeat int
	// Templates are the submit templates `use template :` found (by
	// upper-cased name), from the submitting machine's HTCondor configuration.
	Templates map[string]string
	// Stdin is what `queue … from -` read from standard input (nil when
	// nothing was read): standard input is read once, and given again to
	// whoever reads the file again.
	Stdin []byte
}

// Executable is a program with arguments.
type Executable struct {
	Path string   `json:"path,omitempty"`
	Args []string `json:"args,omitempty"`
	// SuccessExitCode, if set, is the only exit code that means success
	// (ADL FailIfExitCodeNotEqualTo).
	SuccessExitCode *int `json:"success_exit_code,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// RemoteLogging is an accounting/logging service (xRSL jobreport, ADL RemoteLogging).
type RemoteLogging struct {
	Type     string `json:"type"`
	URL      string `json:"url"`
	Optional bool   `json:"optional,omitempty"`
}

// Notification sends mail on job states.
type Notification struct {
	Email  string   `json:"email"`
	States []string `json:"states"` // PREPARING INLRMS FINISHING FINISHED DELETED CANCELING
}

// Resources is what the job asks of the CE.
type Resources struct {
	CPUTime           time.Duration `json:"-"` // total, all slots (JSON: cpu_time_s)
	IndividualCPUTime time.Duration `json:"-"` // per slot (ADL; JSON: individual_cpu_time_s)
	WallTime          time.Duration `json:"-"` // JSON: wall_time_s
	// Benchmark scales CPUTime/WallTime (xRSL gridtime: "clock rate" 2800).
	Benchmark           *Benchmark `json:"benchmark,omitempty"`
	MemoryMB            int64      `json:"memory_mb,omitempty"`         // per slot, physical
	VirtualMemoryMB     int64      `json:"virtual_memory_mb,omitempty"` // per slot
	DiskMB              int64      `json:"disk_mb,omitempty"`
	Slots               int        `json:"slots,omitempty"`          // count
	SlotsPerHost        int        `json:"slots_per_host,omitempty"` // countpernode
	Exclusive           *bool      `json:"exclusive,omitempty"`
	Queue               string     `json:"queue,omitempty"`
	RejectQueues        []string   `json:"reject_queues,omitempty"` // xRSL queue!=
	RuntimeEnvironments []Software `json:"runtime_environments,omitempty"`
	Middleware          []Software `json:"middleware,omitempty"`
	OperatingSystem     []Software `json:"operating_system,omitempty"`
	Architecture        string     `json:"architecture,omitempty"`
	NodeAccessInbound   bool       `json:"node_access_inbound,omitempty"`
	NodeAccessOutbound  bool       `json:"node_access_outbound,omitempty"`
	GPUs                int        `json:"gpus,omitempty"`
}

// Benchmark is a named reference value for times.
type Benchmark struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Software is a runtime environment, middleware or OS requirement:
// "NAME[-VERSION]" with a relation and options.
type Software struct {
	Name     string   `json:"name"`
	Relation string   `json:"relation,omitempty"` // =, !=, <, <=, >, >= (default =)
	Options  []string `json:"options,omitempty"`
}

// InputFile is a file the job needs in its session directory.
type InputFile struct {
	Name string `json:"name"`
	// Sources: none means the client uploads the local file Name.
	Sources      []Location `json:"sources,omitempty"`
	IsExecutable bool       `json:"is_executable,omitempty"`
	// LocalPath is the client-side file to upload when it differs from Name.
	LocalPath string `json:"local_path,omitempty"`
	Size      int64  `json:"size,omitempty"`
	Checksum  string `json:"checksum,omitempty"`
}

// Local is the client-side file an input uploads (LocalPath, else Name),
// relative paths taken from baseDir; ok is false for an input the CE
// fetches from its Sources.
func (f InputFile) Local(baseDir string) (path string, ok bool) {
	if len(f.Sources) > 0 {
		return "", false
	}
	path = f.LocalPath
	if path == "" {
		path = f.Name
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	return path, true
}

// OutputFile is a file the job leaves: uploaded to Targets, or kept for the
// client to fetch when there are none.
type OutputFile struct {
	Name    string     `json:"name"`
	Targets []Location `json:"targets,omitempty"`
}

// Location is a URL with options (xRSL "opt=val" strings, ADL Option elements),
// alternative locations and a delegation.
type Location struct {
	URL          string     `json:"url"`
	Options      []Attr     `json:"options,omitempty"`
	Locations    []Location `json:"locations,omitempty"`
	DelegationID string     `json:"delegation_id,omitempty"`
	// Output targets only (ADL): nil means the default.
	Mandatory    *bool `json:"mandatory,omitempty"`
	UseIfFailure *bool `json:"use_if_failure,omitempty"`
	UseIfCancel  *bool `json:"use_if_cancel,omitempty"`
	UseIfSuccess *bool `json:"use_if_success,omitempty"`
}

// Option returns the value of a location option.
func (l Location) Option(name string) string { return Lookup(l.Options, name) }

// Attr is a name/value pair (ordered).
type Attr struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Lookup returns the value of the first attribute called name.
func Lookup(attrs []Attr, name string) string {
	for _, a := range attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// Warning is something a reader or translator could not map, or accepted
// with doubt; it names the attribute and where it stood.
type Warning struct {
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Col       int    `json:"col,omitempty"`
	Attribute string `json:"attribute,omitempty"`
	Message   string `json:"message"`
}

func (w Warning) String() string {
	loc := w.File
	if w.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", w.File, w.Line, w.Col)
	}
	if loc != "" {
		loc += ": "
	}
	return loc + "warning: " + w.Message
}

// Bool returns a pointer to b, for the optional flags.
func Bool(b bool) *bool { return &b }
