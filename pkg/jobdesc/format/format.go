// Package format is the one entry point to the job description languages
// cesub reads and writes: Detect names the language of a file, Read parses
// it into the common job model (pkg/jobdesc), Write renders jobs in a
// language. The languages themselves live in pkg/jobdesc/xrsl, adl and
// submitfile.
package format

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/adl"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
)

// Format is a job description language.
type Format string

// The languages.
const (
	XRSL   Format = "xrsl"   // ARC's xRSL
	ADL    Format = "adl"    // EMI ActivityDescription (XML)
	Submit Format = "submit" // HTCondor submit description
)

// All lists the languages.
var All = []Format{XRSL, ADL, Submit}

// Parse reads a language name (as --from takes it).
func Parse(s string) (Format, error) {
	for _, f := range All {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown description format %q (want xrsl, adl or submit)", s)
}

// Detect names the language of a description: from the file name's
// extension, else from the content (xRSL starts with &, + or |, after any
// (* comments *); ADL with <), else an HTCondor submit file.
func Detect(name string, src []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xrsl", ".rsl", ".xrls":
		return XRSL
	case ".xml", ".adl":
		return ADL
	case ".sub", ".submit", ".jdl", ".cmd", ".condor", ".sdf":
		return Submit
	}
	t := strings.TrimSpace(string(src))
	for strings.HasPrefix(t, "(*") { // leading xRSL comments
		end := strings.Index(t, "*)")
		if end < 0 {
			break
		}
		t = strings.TrimSpace(t[end+2:])
	}
	switch {
	case t == "":
		return Submit
	case strings.ContainsRune("&+|", rune(t[0])):
		return XRSL
	case t[0] == '<':
		return ADL
	}
	return Submit
}

// Options tune Read. The submit-file ones are condor_submit's.
type Options struct {
	// GridManager reads xRSL in the A-REX server's dialect (times in
	// seconds) rather than the user's (arcsub's: minutes).
	GridManager bool
	// Submit files: where relative paths start (default: the file's
	// directory), NAME=VALUE assignments, a queue statement given with the
	// file, whether commands may run (or are skipped), whether the
	// submitting machine's files are checked, the templates `use template :`
	// may name, and standard input for `queue … from -`.
	Dir           string
	Vars          map[string]string
	Queue         string
	AllowCommands bool
	SkipCommands  bool
	CheckFiles    bool
	Templates     submitfile.Templates
	Stdin         io.Reader
	// Count makes N of each job: a submit file's queue statements queue N
	// times as many procs ($(Process) numbered on); xRSL and ADL jobs are
	// repeated N times.
	Count int
}

// Read parses a description in language f into jobs; each job remembers
// where it came from (jobdesc.Origin), so a CE that takes the language as
// written can read the same text again.
func Read(f Format, name string, src []byte, o Options) ([]jobdesc.Job, error) {
	var jobs []jobdesc.Job
	var err error
	var stdin *recorder
	dir := o.Dir
	if dir == "" {
		dir = filepath.Dir(name)
	}
	switch f {
	case XRSL:
		d := xrsl.User
		if o.GridManager {
			d = xrsl.GridManager
		}
		jobs, err = xrsl.ParseDialect(name, src, d)
	case ADL:
		jobs, err = adl.Parse(name, src)
	case Submit:
		stdin = &recorder{r: o.Stdin}
		jobs, err = submitfile.Jobs(name, src, submitfile.ParseOptions{Options: submitfile.Options{Dir: dir, Vars: o.Vars,
			AllowCommands: o.AllowCommands, SkipCommands: o.SkipCommands, CheckFiles: o.CheckFiles, Templates: o.Templates, Stdin: stdin.reader()},
			Queue: o.Queue, Repeat: o.Count})
	default:
		return nil, fmt.Errorf("unknown description format %q", f)
	}
	if err != nil {
		return nil, err
	}
	if f != Submit && o.Count > 1 {
		one := jobs
		jobs = make([]jobdesc.Job, 0, len(one)*o.Count)
		for n := 0; n < o.Count; n++ {
			jobs = append(jobs, one...)
		}
	}
	for i := range jobs {
		jobs[i].Origin = &jobdesc.Origin{Format: string(f), File: name, Dir: dir, Text: src, Index: i, Count: len(jobs),
			Vars: o.Vars, Queue: o.Queue, AllowCommands: o.AllowCommands, Templates: o.Templates}
		if f == Submit {
			jobs[i].Origin.Repeat = o.Count
			jobs[i].Origin.Stdin = stdin.read
		}
	}
	return jobs, nil
}

// recorder keeps what a submit file's `queue … from -` read of standard
// input (read only when a queue statement asks), so that the jobs can carry
// it to whoever reads the file again.
type recorder struct {
	r    io.Reader
	read []byte
}

// reader is the standard input the parser reads (nil when there is none).
func (c *recorder) reader() io.Reader {
	if c.r == nil {
		return nil
	}
	return c
}

func (c *recorder) Read(p []byte) (int, error) {
	if c.read == nil {
		c.read = []byte{} // read, even if empty
	}
	n, err := c.r.Read(p)
	c.read = append(c.read, p[:n]...)
	return n, err
}

// Write renders jobs in language f: xRSL (several jobs as a +(…)(…) list),
// ADL (prepared as ARC expects: one ActivityDescription, or several in
// ActivityDescriptions), or an HTCondor submit description. The warnings
// name what the language cannot say.
func Write(f Format, jobs []jobdesc.Job) (string, []jobdesc.Warning, error) {
	var b strings.Builder
	w, err := NewWriter(f, &b, len(jobs))
	if err != nil {
		return "", nil, err
	}
	var warns []jobdesc.Warning
	for _, j := range jobs {
		ws, err := w.Write(j)
		warns = append(warns, ws...)
		if err != nil {
			return "", warns, err
		}
	}
	if err := w.Close(); err != nil {
		return "", warns, err
	}
	return b.String(), warns, nil
}
