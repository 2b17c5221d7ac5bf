package xrsl

import (
	"fmt"
	"strings"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// Stream reads a description one job at a time: a multi-request
// `+(…)(…)` is parsed, evaluated and decoded a sub-request at a time, so
// only the job being read is in memory. The jobs, errors and warnings are
// those ParseDialect gives, except that ParseDialect puts the evaluation
// warnings of the whole description ($(VAR) not defined, in any request)
// on every job; Next puts on each job only its own decoding warnings, and
// EvalWarnings gives the others once the stream has ended.
type Stream struct {
	p       *parser
	ev      *evaluator
	d       *decoder
	multi   bool  // the description is `+(…)(…)`
	started bool  // the top level has been read up to the first request
	done    bool  // no more jobs
	evalErr error // the first evaluation error: the jobs after it are only parsed
	err     error // a syntax error: the stream has ended
}

// NewStream starts reading src (file names it in errors) in the given dialect.
func NewStream(file string, src []byte, dialect Dialect) *Stream {
	return &Stream{
		p:  newParser(file, src),
		ev: &evaluator{file: file},
		d:  &decoder{file: file, dialect: dialect},
	}
}

// Rewind starts the stream again at the first job, as a new stream would,
// without copying and indexing the text again: a caller can check the
// whole description first and then read it again to write it.
func (s *Stream) Rewind() {
	p := s.p
	*s = Stream{
		p:  &parser{file: p.file, s: p.s, lines: p.lines},
		ev: &evaluator{file: s.ev.file},
		d:  &decoder{file: s.d.file, dialect: s.d.dialect},
	}
}

// newParser indexes the line starts of src, for positions.
func newParser(file string, src []byte) *parser {
	p := &parser{file: file, s: string(src)}
	p.lines = make([]int, 1, strings.Count(p.s, "\n")+1)
	for i := 0; ; {
		j := strings.IndexByte(p.s[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		p.lines = append(p.lines, i)
	}
	return p
}

// Next returns the next job; ok is false at the end of the description or
// at an error. A syntax error ends the stream at once; after an evaluation
// error the rest is parsed (a later syntax error is the one reported, as
// ParseDialect reports it) but no more jobs are returned; decoding errors
// are collected and returned by Err at the end, as ParseDialect returns
// them, and the job they are in is still returned.
func (s *Stream) Next() (job jobdesc.Job, ok bool, err error) {
	for !s.done {
		node, err := s.nextNode()
		if err != nil {
			s.err, s.done = err, true
			return jobdesc.Job{}, false, err
		}
		if node == nil {
			s.done = true
			break
		}
		if s.evalErr != nil {
			continue
		}
		en, err := s.ev.node(node, map[string]string{})
		if err != nil {
			s.evalErr = err
			continue
		}
		return s.decodeOne(en), true, nil
	}
	if s.err != nil {
		return jobdesc.Job{}, false, s.err
	}
	if s.evalErr != nil {
		return jobdesc.Job{}, false, s.evalErr
	}
	return jobdesc.Job{}, false, nil
}

// Err is the error of the description once Next has returned ok false:
// a syntax or evaluation error, or the decoding errors of all the jobs.
func (s *Stream) Err() error {
	switch {
	case s.err != nil:
		return s.err
	case s.evalErr != nil:
		return s.evalErr
	case len(s.d.errs) > 0:
		return dedupe(s.d.errs)
	}
	return nil
}

// EvalWarnings are the evaluation warnings met so far (all of them once
// the stream has ended), which ParseDialect puts first on every job.
func (s *Stream) EvalWarnings() []jobdesc.Warning {
	var out []jobdesc.Warning
	for _, w := range s.ev.warns {
		out = append(out, toWarning(w, ""))
	}
	return out
}

// decodeOne maps one evaluated request to its job (decode's loop body).
func (s *Stream) decodeOne(r Node) jobdesc.Job {
	d := s.d
	dr := newDraft()
	d.apply(r, dr)
	d.finish(dr)
	for _, x := range dr.alts {
		d.finish(x)
	}
	job := dr.job
	for _, a := range dr.alts {
		job.Alternatives = append(job.Alternatives, a.job)
	}
	job.Warnings = append(job.Warnings, d.warns...)
	d.warns = nil
	return job
}

// nextNode parses the next request: the whole description when it is not
// `+`, else the next child of the `+`; nil at the end. It checks what
// ParseTree checks, at the same places.
func (s *Stream) nextNode() (Node, error) {
	p := s.p
	if !s.started {
		s.started = true
		if err := p.start(); err != nil {
			return nil, err
		}
		if p.s[p.n] != '+' {
			node, err := p.rsl(true)
			if err != nil {
				return nil, err
			}
			return node, p.end()
		}
		s.multi = true
		p.n++
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.n >= len(p.s) || p.s[p.n] != '(' {
			return nil, p.errAt(p.n, fmt.Sprintf("expected '(' after '%c', found %s", '+', p.show(p.n)))
		}
	}
	if !s.multi {
		return nil, nil
	}
	if p.n >= len(p.s) || p.s[p.n] != '(' {
		return nil, p.end()
	}
	return p.child()
}
