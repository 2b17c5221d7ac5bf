package format

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/adl"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
)

// Streams reports whether Scan can read language f a job at a time
// (xRSL: a `+(…)(…)` is read a sub-request at a time). Other languages are
// read whole by Scan.
func Streams(f Format) bool { return f == XRSL }

// Scanner reads a description as Read does, but a job at a time where the
// language allows (Streams), and as often as asked: a caller that must
// not write anything for a description Read refuses checks it in a first
// Scan and writes it in a second.
type Scanner struct {
	f    Format
	name string
	src  []byte
	o    Options
	s    *xrsl.Stream
}

// NewScanner reads src (named name) in language f.
func NewScanner(f Format, name string, src []byte, o Options) *Scanner {
	return &Scanner{f: f, name: name, src: src, o: o}
}

// Scan calls fn with each job in order (Origin set as Read sets it but for
// Count, which is 0: the number is not known yet). The jobs are Read's
// except for their Warnings: Read puts the evaluation warnings of the whole
// description on every job, which only its end makes known; Scan leaves
// them off the jobs and returns them (Read puts them first). Read's error
// is returned at the end: fn may have seen jobs of a description Read
// refuses.
func (sc *Scanner) Scan(fn func(jobdesc.Job) error) ([]jobdesc.Warning, error) {
	f, o := sc.f, sc.o
	if !Streams(f) || o.Count > 1 {
		jobs, err := Read(f, sc.name, sc.src, o)
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			j.Origin.Count = 0
			if err := fn(j); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	if sc.s == nil {
		d := xrsl.User
		if o.GridManager {
			d = xrsl.GridManager
		}
		sc.s = xrsl.NewStream(sc.name, sc.src, d)
	} else {
		sc.s.Rewind()
	}
	dir := o.Dir
	if dir == "" {
		dir = filepath.Dir(sc.name)
	}
	for i := 0; ; i++ {
		job, ok, err := sc.s.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		job.Origin = &jobdesc.Origin{Format: string(f), File: sc.name, Dir: dir, Text: sc.src, Index: i,
			Vars: o.Vars, Queue: o.Queue, AllowCommands: o.AllowCommands, Templates: o.Templates}
		if err := fn(job); err != nil {
			return nil, err
		}
	}
	if err := sc.s.Err(); err != nil {
		return nil, err
	}
	return sc.s.EvalWarnings(), nil
}

// WriteWarnings are the warnings Write gives for j, without writing it.
func WriteWarnings(f Format, j jobdesc.Job) []jobdesc.Warning {
	switch f {
	case XRSL:
		return alternativesWarning(j)
	case ADL:
		return adl.Warnings(jobdesc.PrepareForARC(j))
	case Submit:
		_, w := submitfile.FromJob(j)
		return w
	}
	return nil
}

func alternativesWarning(j jobdesc.Job) []jobdesc.Warning {
	if len(j.Alternatives) == 0 {
		return nil
	}
	return []jobdesc.Warning{{Attribute: "|", Message: fmt.Sprintf("%d '|' alternatives are not written (as ARC's unparser does)", len(j.Alternatives))}}
}

// Writer writes jobs a job at a time: the bytes Write makes of all of
// them, for n jobs (the form of xRSL and ADL depends on how many there are).
type Writer struct {
	f   Format
	w   *bufio.Writer
	n   int
	i   int
	adl *adl.Writer
}

// NewWriter writes n jobs in language f to w; Close ends the text.
func NewWriter(f Format, w io.Writer, n int) (*Writer, error) {
	if n == 0 {
		return nil, fmt.Errorf("no jobs to write")
	}
	switch f {
	case XRSL, ADL, Submit:
	default:
		return nil, fmt.Errorf("unknown description format %q", f)
	}
	wr := &Writer{f: f, w: bufio.NewWriterSize(w, 32<<10), n: n}
	if f == ADL {
		wr.adl = adl.NewWriter(wr.w, n)
	}
	return wr, nil
}

// Write writes the next job; the warnings are Write's for it.
func (w *Writer) Write(j jobdesc.Job) ([]jobdesc.Warning, error) {
	w.i++
	switch w.f {
	case XRSL:
		x, err := xrsl.Write(j)
		if err != nil {
			return nil, err
		}
		if w.n > 1 {
			if w.i == 1 {
				_ = w.w.WriteByte('+')
			}
			_ = w.w.WriteByte('(')
			_, _ = w.w.WriteString(strings.TrimSuffix(x, "\n"))
			_, err = w.w.WriteString(")\n")
		} else {
			_, err = w.w.WriteString(x)
		}
		return alternativesWarning(j), err
	case ADL:
		return w.adl.Add(jobdesc.PrepareForARC(j))
	default:
		text, warns := submitfile.FromJob(j)
		_, err := w.w.WriteString(text)
		return warns, err
	}
}

// Close ends the text and flushes it.
func (w *Writer) Close() error {
	if w.adl != nil {
		if err := w.adl.Close(); err != nil {
			return err
		}
	}
	return w.w.Flush()
}
