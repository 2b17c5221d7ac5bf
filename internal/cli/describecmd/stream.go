package describecmd

import (
	"fmt"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/jobdesc"
	jobformat "github.com/cesub/cesub/pkg/jobdesc/format"
)

// streams reports whether describe writes the jobs of a description as it
// reads them: xRSL (read a `+` sub-request at a time) shown as the job
// list (json), xrsl or adl. The -o json document, classad and submit
// outputs are made of all the jobs at once.
func streams(opts *Options, format string) bool {
	if opts.F.JSON() || !jobformat.Streams(jobformat.Format(format)) {
		return false
	}
	switch opts.To {
	case "json", "xrsl", "adl":
		return true
	}
	return false
}

// jobSink writes the jobs of describeStream's second pass.
type jobSink interface {
	add(jobdesc.Job) error
	close() error
}

// describeStream prints what describeRun prints, byte for byte, holding
// one job at a time. The description is read twice: the first pass finds
// what describeRun learns before it writes anything (the error that stops
// it, every warning, the number of jobs); the second writes the jobs.
func describeStream(opts *Options, name string, src []byte, format string) error {
	f := opts.F
	sc := jobformat.NewScanner(jobformat.Format(format), name, src, jobformat.Options{GridManager: opts.GMDialect})
	jobWarns, writeWarns := newWarnSet(), newWarnSet()
	n := 0
	eval, err := sc.Scan(func(j jobdesc.Job) error {
		n++
		for _, w := range j.Warnings {
			jobWarns.add(w.String())
		}
		if opts.To != "json" {
			for _, w := range jobformat.WriteWarnings(jobformat.Format(opts.To), j) {
				writeWarns.add("warning: " + w.Attribute + ": " + w.Message)
			}
		}
		return nil
	})
	if err != nil {
		return parseError(err)
	}
	// as describeRun lists them: each job's warnings (the evaluation
	// warnings first on every job), then the translation's, without repeats
	var warns []string
	for _, w := range eval {
		warns = append(warns, w.String())
	}
	warns = append(append(warns, jobWarns.list...), writeWarns.list...)
	for _, w := range dedupe(warns) {
		fmt.Fprintln(f.IO.ErrOut, w)
	}
	sink, err := newSink(opts, n)
	if err != nil {
		return err
	}
	i := 0
	if _, err := sc.Scan(func(j jobdesc.Job) error {
		if opts.onWrite != nil {
			opts.onWrite(i)
		}
		i++
		if len(eval) > 0 {
			j.Warnings = append(append([]jobdesc.Warning(nil), eval...), j.Warnings...)
		}
		return sink.add(j)
	}); err != nil {
		return fmt.Errorf("reading %s again: %w", name, err)
	}
	return sink.close()
}

func newSink(opts *Options, n int) (jobSink, error) {
	if opts.To == "json" {
		return jsonSink{opts.F.NewJSONList()}, nil
	}
	w, err := jobformat.NewWriter(jobformat.Format(opts.To), opts.F.IO.Out, n)
	if err != nil {
		return nil, err
	}
	return textSink{w}, nil
}

type jsonSink struct{ l *cmdutil.JSONList }

func (s jsonSink) add(j jobdesc.Job) error { return s.l.Add(j) }
func (s jsonSink) close() error            { return s.l.Close() }

type textSink struct{ w *jobformat.Writer }

func (s textSink) add(j jobdesc.Job) error {
	_, err := s.w.Write(j)
	return err
}
func (s textSink) close() error { return s.w.Close() }

// warnSet is a list of warnings without repeats, in the order first seen.
type warnSet struct {
	seen map[string]bool
	list []string
}

func newWarnSet() *warnSet { return &warnSet{seen: map[string]bool{}} }

func (s *warnSet) add(w string) {
	if !s.seen[w] {
		s.seen[w] = true
		s.list = append(s.list, w)
	}
}
