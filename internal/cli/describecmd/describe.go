// Package describecmd implements `cesub describe`: read a job description
// (xRSL, ADL or an HTCondor submit file) and print it in any of the forms.
package describecmd

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/jobdesc"
	jobformat "github.com/cesub/cesub/pkg/jobdesc/format"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
	"github.com/spf13/cobra"
)

// Options of `cesub describe`.
type Options struct {
	F             *cmdutil.Factory
	File          string
	From          string
	To            string
	Queue         string
	Vars          []string
	AllowCommands bool
	GMDialect     bool
	Strict        bool

	// for tests: whole makes describe read every job before writing
	// (as for the outputs that need them all); onWrite is called with
	// each job read in the streamed pass that writes them
	whole   bool
	onWrite func(i int)
}

// JSON is the schema of `describe -o json` (docs/json.md).
type JSON struct {
	Schema   string              `json:"schema"`
	Source   string              `json:"source"`
	Format   string              `json:"format"`
	To       string              `json:"to"`
	Jobs     []jobdesc.Job       `json:"jobs"`
	Ads      []map[string]string `json:"classads,omitempty"`
	Text     string              `json:"text,omitempty"`
	Warnings []string            `json:"warnings,omitempty"`
}

// Formats cesub reads and writes.
var (
	fromFormats = []string{"xrsl", "adl", "submit"}
	toFormats   = []string{"json", "xrsl", "adl", "classad", "submit"}
)

// NewCmdDescribe builds the command.
func NewCmdDescribe(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "describe FILE",
		Short: "Read a job description (xRSL, ADL, HTCondor submit file) and print it in any form",
		Long: `Read a job description and print the job(s) it defines, in the common
model (json) or translated: xrsl, adl (as arcsub sends it to A-REX: times in
seconds, memory and disk in bytes, stdout/stderr/gmlog kept as outputs), classad
(the job ClassAds condor_submit would send, per proc, for the CE subset) or
submit (an HTCondor-CE submit description).

The input format comes from --from, else the file name (.xrsl .rsl, .xml
.adl, .sub .submit .jdl .cmd .condor), else the content. FILE "-" reads stdin.
What a translation cannot carry is printed as a warning naming the attribute.
A description that does not parse exits 2 with file:line:column.`,
		Example: `  cesub describe job.xrsl --to adl
  cesub describe pilot.sub --to xrsl -o json
  cesub describe pilot.sub --to classad --queue '10'`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.From != "" && !slices.Contains(fromFormats, opts.From) {
				return cmdutil.UsageError(fmt.Errorf("--from %q: want one of %s", opts.From, strings.Join(fromFormats, ", ")))
			}
			if !slices.Contains(toFormats, opts.To) {
				return cmdutil.UsageError(fmt.Errorf("--to %q: want one of %s", opts.To, strings.Join(toFormats, ", ")))
			}
			if runF != nil {
				return runF(opts)
			}
			return describeRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.From, "from", "", "input format: xrsl, adl or submit (default: guessed)")
	fl.StringVar(&opts.To, "to", "json", "output: json, xrsl, adl, classad or submit")
	fl.StringVar(&opts.Queue, "queue", "", "submit files: a queue statement to run after the file (like condor_submit -queue)")
	fl.StringArrayVar(&opts.Vars, "var", nil, "submit files: NAME=VALUE set before the file is read (repeatable)")
	fl.BoolVar(&opts.AllowCommands, "allow-commands", false, "submit files: run the commands in 'include : cmd |' and 'queue … from cmd |'")
	config.AddFlag(fl, config.CondorConfig)
	fl.BoolVar(&opts.GMDialect, "gm", false, "xRSL: read A-REX's internal dialect (times in seconds)")
	fl.BoolVar(&opts.Strict, "strict", false, "submit files: an undefined $(macro) is an error (condor_submit expands it to nothing)")
	_ = cmd.RegisterFlagCompletionFunc("from", cobra.FixedCompletions(fromFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("to", cobra.FixedCompletions(toFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// parseError marks a description that does not parse (exit 2).
func parseError(err error) error { return &cmdutil.ExitErr{Code: cmdutil.ExitUsage, Err: err} }

func describeRun(opts *Options) error {
	f := opts.F
	src, name, err := cmdutil.ReadDescription(f.IO.In, opts.File)
	if err != nil {
		return err
	}
	format := opts.From
	if format == "" {
		format = string(jobformat.Detect(name, src))
	}
	if !opts.whole && streams(opts, format) {
		return describeStream(opts, name, src, format)
	}
	out := JSON{Schema: "cesub.describe/v1", Source: name, Format: format, To: opts.To}
	var jobs []jobdesc.Job
	var procs []submitfile.Proc
	switch format {
	case "xrsl", "adl":
		jobs, err = jobformat.Read(jobformat.Format(format), name, src, jobformat.Options{GridManager: opts.GMDialect})
	case "submit":
		vars := map[string]string{}
		for _, v := range opts.Vars {
			k, val, ok := strings.Cut(v, "=")
			if !ok {
				return cmdutil.UsageError(fmt.Errorf("--var %q: want NAME=VALUE", v))
			}
			vars[k] = val
		}
		dir := ""
		if opts.File != "-" {
			dir = filepath.Dir(opts.File)
		}
		var tpl submitfile.Templates
		if bytes.Contains(bytes.ToLower(src), []byte("template")) && f.Config != nil {
			if tpl, err = f.SubmitTemplates(); err != nil {
				return err
			}
		}
		po := submitfile.ParseOptions{Options: submitfile.Options{Dir: dir, Vars: vars,
			AllowCommands: opts.AllowCommands, SkipCommands: !opts.AllowCommands, Stdin: f.IO.In, Templates: tpl},
			Queue: opts.Queue, Inspect: true, StrictMacros: opts.Strict}
		if opts.To != "classad" {
			// only the ClassAds output needs the procs: the others take
			// each proc's job as it is made (its ad and macros are dropped)
			po.EachProc = func(_ int, p *submitfile.Proc) error {
				jobs = append(jobs, submitfile.ToJob(*p))
				return nil
			}
			po.Reserve = func(n int) { jobs = slices.Grow(jobs, n) }
		}
		var file *submitfile.File
		file, err = submitfile.Parse(name, src, po)
		if err == nil {
			procs = file.Procs
			for _, w := range file.Warnings {
				out.Warnings = append(out.Warnings, w.String())
			}
			if po.EachProc == nil {
				for _, p := range procs {
					jobs = append(jobs, submitfile.ToJob(p))
				}
			}
		}
	}
	if err != nil {
		return parseError(err)
	}
	// a submit file shown as its own ClassAds involves no translation
	if !(format == "submit" && opts.To == "classad") {
		for _, j := range jobs {
			for _, w := range j.Warnings {
				out.Warnings = append(out.Warnings, w.String())
			}
		}
	}
	out.Jobs = jobs
	text, ads, warns, err := render(opts.To, format, jobs, procs)
	if err != nil {
		return err
	}
	for _, w := range warns {
		out.Warnings = append(out.Warnings, w)
	}
	out.Ads = adMaps(ads)
	out.Warnings = dedupe(out.Warnings)
	if f.JSON() {
		out.Text = text
		if opts.To == "json" || opts.To == "classad" {
			out.Text = ""
		}
		return f.PrintJSON(out)
	}
	for _, w := range out.Warnings {
		fmt.Fprintln(f.IO.ErrOut, w)
	}
	if opts.To == "json" {
		return f.PrintJSON(jobs)
	}
	_, err = io.WriteString(f.IO.Out, text)
	return err
}

// dedupe drops repeated warnings, and says a warning repeated at other
// places of the file once, with how many more places have it.
func dedupe(v []string) []string {
	exact := map[string]bool{}
	first := map[string]int{} // the message (without its place): its line in out
	more := map[int]int{}
	var out []string
	for _, s := range v {
		if exact[s] {
			continue
		}
		exact[s] = true
		msg := s
		if i := strings.Index(s, "warning: "); i > 0 {
			msg = s[i:]
		}
		if at, ok := first[msg]; ok { // a file of thousands of queue statements says it once
			more[at]++
			continue
		}
		first[msg] = len(out)
		out = append(out, s)
	}
	for at, n := range more {
		out[at] += fmt.Sprintf(" (and at %d more places)", n)
	}
	return out
}

func adMaps(ads []classad.Ad) []map[string]string {
	var out []map[string]string
	for _, a := range ads {
		m := map[string]string{}
		for _, x := range a.Attrs {
			m[x.Name] = classad.Unparse(x.Expr)
		}
		out = append(out, m)
	}
	return out
}

// render writes jobs in the target form; warnings name what did not translate.
func render(to, from string, jobs []jobdesc.Job, procs []submitfile.Proc) (string, []classad.Ad, []string, error) {
	var warns []string
	tw := func(ws []jobdesc.Warning) {
		for _, w := range ws {
			warns = append(warns, "warning: "+w.Attribute+": "+w.Message)
		}
	}
	switch to {
	case "json":
		return "", nil, nil, nil
	case "xrsl", "adl":
		text, w, err := jobformat.Write(jobformat.Format(to), jobs)
		tw(w)
		return text, nil, warns, err
	case "submit", "classad":
		var ads []classad.Ad
		var b strings.Builder
		if from == "submit" && to == "classad" {
			for _, p := range procs {
				ads = append(ads, p.Ad)
			}
		} else {
			for i, j := range jobs {
				text, w := submitfile.FromJob(j)
				tw(w)
				if to == "submit" {
					b.WriteString(text)
					continue
				}
				file, err := submitfile.Parse("job", []byte(text), submitfile.ParseOptions{ClusterID: 1})
				if err != nil {
					return "", nil, nil, fmt.Errorf("translating job %d: %w", i, err)
				}
				for _, p := range file.Procs {
					p.Ad.Set("ProcId", classad.Int(i))
					ads = append(ads, p.Ad)
				}
			}
		}
		if to == "submit" {
			return b.String(), nil, warns, nil
		}
		for i, a := range ads {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(a.Long())
		}
		return b.String(), ads, warns, nil
	}
	return "", nil, nil, fmt.Errorf("unknown output %q", to)
}
