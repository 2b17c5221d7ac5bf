package xrsl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// Dialect selects how values are read.
type Dialect int

const (
	// User is what people write and ARC clients read: times in minutes,
	// join and gridtime resolved by the client, no `action`.
	User Dialect = iota
	// GridManager is A-REX's internal dialect (what A-REX applies to raw xRSL
	// posted to it): times in seconds, join ignored, `action` and the other
	// server-side attributes allowed, inputfiles may give size.checksum.
	GridManager
)

// Parse reads user-dialect xRSL text into jobs: one per `+` sub-request, each
// with its `|` alternatives. Errors name file:line:column; unknown attributes
// are warnings (as in ARC), stored on the job.
func Parse(file string, src []byte) ([]jobdesc.Job, error) {
	return ParseDialect(file, src, User)
}

// ParseDialect is Parse in the given dialect.
// It reads a sub-request at a time (Stream): the description's tree is
// never built whole.
func ParseDialect(file string, src []byte, dialect Dialect) ([]jobdesc.Job, error) {
	s := NewStream(file, src, dialect)
	// a Job is large: collected in blocks and copied once, not regrown
	var blocks [][]jobdesc.Job
	n := 0
	for {
		job, ok, err := s.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if len(blocks) == 0 || len(blocks[len(blocks)-1]) == cap(blocks[len(blocks)-1]) {
			blocks = append(blocks, make([]jobdesc.Job, 0, min(256<<len(blocks), 4096)))
		}
		blocks[len(blocks)-1] = append(blocks[len(blocks)-1], job)
		n++
	}
	jobs := joinBlocks(blocks, n)
	if ev := s.EvalWarnings(); len(ev) > 0 {
		for i := range jobs {
			jobs[i].Warnings = append(append([]jobdesc.Warning(nil), ev...), jobs[i].Warnings...)
		}
	}
	return jobs, s.Err()
}

// joinBlocks joins blocks of n jobs in one slice (the first block itself when
// there is one).
func joinBlocks(blocks [][]jobdesc.Job, n int) []jobdesc.Job {
	switch len(blocks) {
	case 0:
		return nil
	case 1:
		return blocks[0]
	}
	jobs := make([]jobdesc.Job, 0, n)
	for _, b := range blocks {
		jobs = append(jobs, b...)
	}
	return jobs
}

// Decode maps a parsed (unevaluated) user-dialect tree to jobs.
func Decode(file string, tree Node) ([]jobdesc.Job, error) { return decode(file, tree, User) }

func decode(file string, tree Node, dialect Dialect) ([]jobdesc.Job, error) {
	ev, warns, err := Evaluate(file, tree)
	if err != nil {
		return nil, err
	}
	var requests []Node
	if b, ok := ev.(*Boolean); ok && b.Op == '+' {
		requests = b.Children
	} else {
		requests = []Node{ev}
	}
	d := &decoder{file: file, dialect: dialect}
	jobs := make([]jobdesc.Job, 0, len(requests))
	for _, r := range requests {
		dr := newDraft()
		d.apply(r, dr)
		all := append([]*draft{dr}, dr.alts...)
		for _, x := range all {
			d.finish(x)
		}
		job := dr.job
		for _, a := range dr.alts {
			job.Alternatives = append(job.Alternatives, a.job)
		}
		for _, w := range warns {
			job.Warnings = append(job.Warnings, toWarning(w, ""))
		}
		job.Warnings = append(job.Warnings, d.warns...)
		d.warns = nil
		jobs = append(jobs, job)
	}
	if len(d.errs) > 0 {
		return jobs, dedupe(d.errs)
	}
	return jobs, nil
}

// dedupe drops repeats: a relation is applied to every alternative, so the
// same mistake would otherwise be reported once per alternative.
func dedupe(es Errors) Errors {
	seen := map[string]bool{}
	var out Errors
	for _, e := range es {
		k := e.Error()
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

func toWarning(e *Error, attr string) jobdesc.Warning {
	return jobdesc.Warning{File: e.File, Line: e.Pos.Line, Col: e.Pos.Col, Attribute: attr, Message: e.Msg}
}

// draft is a job being built, with what decoding needs to remember.
type draft struct {
	job     jobdesc.Job
	set     map[string]Pos       // single-valued attributes already given
	pending map[string]*Relation // attributes resolved after all others
	alts    []*draft
}

func newDraft() *draft { return &draft{set: map[string]Pos{}, pending: map[string]*Relation{}} }

func (d *draft) clone() *draft {
	c := &draft{job: cloneJob(d.job), set: map[string]Pos{}, pending: map[string]*Relation{}}
	for k, v := range d.set {
		c.set[k] = v
	}
	for k, v := range d.pending {
		c.pending[k] = v
	}
	return c
}

func cloneJob(j jobdesc.Job) jobdesc.Job {
	c := j
	c.Alternatives = nil
	c.Executable.Args = append([]string(nil), j.Executable.Args...)
	c.Environment = append([]jobdesc.EnvVar(nil), j.Environment...)
	c.Notifications = append([]jobdesc.Notification(nil), j.Notifications...)
	c.RemoteLogging = append([]jobdesc.RemoteLogging(nil), j.RemoteLogging...)
	c.Inputs = nil
	for _, f := range j.Inputs {
		f.Sources = cloneLocations(f.Sources)
		c.Inputs = append(c.Inputs, f)
	}
	c.Outputs = nil
	for _, f := range j.Outputs {
		f.Targets = cloneLocations(f.Targets)
		c.Outputs = append(c.Outputs, f)
	}
	c.Extra = append([]jobdesc.Attr(nil), j.Extra...)
	c.Resources.RuntimeEnvironments = append([]jobdesc.Software(nil), j.Resources.RuntimeEnvironments...)
	c.Resources.Middleware = append([]jobdesc.Software(nil), j.Resources.Middleware...)
	c.Resources.OperatingSystem = append([]jobdesc.Software(nil), j.Resources.OperatingSystem...)
	c.Resources.RejectQueues = append([]string(nil), j.Resources.RejectQueues...)
	return c
}

func cloneLocations(ls []jobdesc.Location) []jobdesc.Location {
	if ls == nil {
		return nil
	}
	out := make([]jobdesc.Location, len(ls))
	for i, l := range ls {
		l.Options = append([]jobdesc.Attr(nil), l.Options...)
		l.Locations = cloneLocations(l.Locations)
		out[i] = l
	}
	return out
}

type decoder struct {
	dialect Dialect
	file    string
	errs    Errors
	warns   []jobdesc.Warning
}

func (d *decoder) timeBase() time.Duration {
	if d.dialect == GridManager {
		return time.Second
	}
	return time.Minute
}

func (d *decoder) errf(p Pos, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(p Pos, attr, format string, args ...any) {
	d.warns = append(d.warns, jobdesc.Warning{File: d.file, Line: p.Line, Col: p.Col, Attribute: attr, Message: fmt.Sprintf(format, args...)})
}

// apply follows ARC's XRSLParser::Parse: `&` applies each child in turn;
// `|` applies its first branch to the job and each other branch to a copy of
// the job as it was before the `|`, added as alternatives (nested ones
// flattened in order); a relation applies to the job and all its alternatives.
func (d *decoder) apply(n Node, dr *draft) {
	switch n := n.(type) {
	case *Boolean:
		switch n.Op {
		case '&':
			for _, c := range n.Children {
				d.apply(c, dr)
			}
		case '|':
			if len(n.Children) == 0 {
				return
			}
			before := dr.clone()
			d.apply(n.Children[0], dr)
			for _, c := range n.Children[1:] {
				alt := before.clone()
				d.apply(c, alt)
				nested := alt.alts
				alt.alts = nil
				dr.alts = append(dr.alts, alt)
				dr.alts = append(dr.alts, nested...)
			}
		default:
			d.errf(n.Pos, "'+' (multi-request) is allowed only at the top level")
		}
	case *Relation:
		d.relation(n, dr)
		for _, a := range dr.alts {
			d.relation(n, a)
		}
	}
}

// strings of a relation's values; a list value is an error.
func (d *decoder) literals(r *Relation) ([]string, bool) {
	out := make([]string, 0, len(r.Values))
	for _, v := range r.Values {
		l, ok := v.(*Literal)
		if !ok {
			d.errf(v.Position(), "attribute %q: expected strings, found a list", r.Attr)
			return nil, false
		}
		out = append(out, l.Text)
	}
	return out, true
}

func (d *decoder) single(r *Relation, dr *draft) (string, bool) {
	if p, dup := dr.set[r.Name]; dup {
		d.errf(r.Pos, "attribute %q multiply defined (first at %s)", r.Attr, p)
		return "", false
	}
	if len(r.Values) != 1 {
		d.errf(r.Pos, "attribute %q takes a single value, found %d", r.Attr, len(r.Values))
		return "", false
	}
	l, ok := r.Values[0].(*Literal)
	if !ok {
		d.errf(r.Values[0].Position(), "attribute %q takes a string, found a list", r.Attr)
		return "", false
	}
	dr.set[r.Name] = r.Pos
	return l.Text, true
}

func (d *decoder) once(r *Relation, dr *draft) bool {
	if p, dup := dr.set[r.Name]; dup {
		d.errf(r.Pos, "attribute %q multiply defined (first at %s)", r.Attr, p)
		return false
	}
	dr.set[r.Name] = r.Pos
	return true
}

// sequences returns the (…) entries of a list attribute.
func (d *decoder) sequences(r *Relation, length int) [][]string {
	var out [][]string
	for _, v := range r.Values {
		s, ok := v.(*Sequence)
		if !ok {
			d.errf(v.Position(), "attribute %q: each entry must be a parenthesised list like (\"name\" \"value\")", r.Attr)
			continue
		}
		if length > 0 && len(s.Values) != length {
			d.errf(s.Pos, "attribute %q: an entry has %d values, expected %d", r.Attr, len(s.Values), length)
			continue
		}
		var e []string
		ok = true
		for _, x := range s.Values {
			l, isLit := x.(*Literal)
			if !isLit {
				d.errf(x.Position(), "attribute %q: nested lists are not allowed in an entry", r.Attr)
				ok = false
				break
			}
			e = append(e, l.Text)
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

func (d *decoder) requireEqual(r *Relation) bool {
	if r.Op != "=" {
		d.errf(r.OpPos, "attribute %q allows only '=', found %q", r.Attr, r.Op)
		return false
	}
	return true
}

var stateFlags = map[byte]string{'b': "PREPARING", 'q': "INLRMS", 'f': "FINISHING", 'e': "FINISHED", 'd': "DELETED", 'c': "CANCELING"}

// addNotify reads "[flags] email [email…]" (default flags "be").
func addNotify(out *[]jobdesc.Notification, v string) error {
	words := strings.Fields(v)
	if len(words) == 0 {
		return fmt.Errorf("empty value")
	}
	flags := "be"
	if !strings.Contains(words[0], "@") {
		if len(words) == 1 {
			return fmt.Errorf("it must contain an email address")
		}
		flags = words[0]
		words = words[1:]
	}
	var states []string
	for i := 0; i < len(flags); i++ {
		s, ok := stateFlags[flags[i]]
		if !ok {
			return fmt.Errorf("unknown state flag %q (known: b q f e d c)", flags[i])
		}
		dup := false
		for _, x := range states {
			dup = dup || x == s
		}
		if !dup {
			states = append(states, s)
		}
	}
	for _, w := range words {
		if !strings.Contains(w, "@") {
			return fmt.Errorf("%q is not an email address", w)
		}
		merged := false
		for i := range *out { // as ARC: an address given again gains the new states
			n := &(*out)[i]
			if n.Email != w {
				continue
			}
			merged = true
			for _, st := range states {
				if !slices.Contains(n.States, st) {
					n.States = append(n.States, st)
				}
			}
		}
		if !merged {
			*out = append(*out, jobdesc.Notification{Email: w, States: append([]string(nil), states...)})
		}
	}
	return nil
}

func (d *decoder) inputFile(r *Relation, e []string) (jobdesc.InputFile, bool) {
	if len(e) < 2 {
		d.errf(r.Pos, "inputfiles: entry %q needs at least two values (name and source, \"\" to upload)", strings.Join(e, " "))
		return jobdesc.InputFile{}, false
	}
	if e[0] == "" {
		d.errf(r.Pos, "inputfiles: the file name (first value) cannot be empty")
		return jobdesc.InputFile{}, false
	}
	f := jobdesc.InputFile{Name: e[0]}
	if e[1] == "" {
		return f, true
	}
	if d.dialect == GridManager { // A-REX's form of an uploaded file: size[.checksum]
		sz, sum, _ := strings.Cut(e[1], ".")
		if n, err := strconv.ParseInt(sz, 10, 64); err == nil {
			f.Size, f.Checksum = n, sum
			return f, true
		}
	}
	loc, ok := d.location(r, "input file "+e[0], e[1], e[2:])
	if !ok {
		return f, false
	}
	if !strings.Contains(e[1], "://") {
		// a local path: the client uploads it under Name
		f.LocalPath = e[1]
		return f, true
	}
	f.Sources = []jobdesc.Location{loc}
	return f, true
}

func (d *decoder) outputFile(r *Relation, e []string) (jobdesc.OutputFile, bool) {
	if len(e) < 2 {
		d.errf(r.Pos, "outputfiles: entry %q needs at least two values (name and target, \"\" to keep)", strings.Join(e, " "))
		return jobdesc.OutputFile{}, false
	}
	if e[0] == "" {
		d.errf(r.Pos, "outputfiles: the file name (first value) cannot be empty")
		return jobdesc.OutputFile{}, false
	}
	f := jobdesc.OutputFile{Name: e[0]}
	if e[1] == "" || strings.HasPrefix(e[1], "file:") || !strings.Contains(e[1], "://") {
		return f, true
	}
	loc, ok := d.location(r, "output file "+e[0], e[1], e[2:])
	if ok {
		f.Targets = []jobdesc.Location{loc}
	}
	return f, ok
}

// location reads "URL" "opt=val"…: location= starts an alternative location,
// delegationid= sets the delegation, other options apply to the URL (or the
// current location).
func (d *decoder) location(r *Relation, what, url string, opts []string) (jobdesc.Location, bool) {
	if strings.Contains(url, "://") && !validURL(url) {
		d.errf(r.Pos, "%s: invalid URL %q", what, url)
		return jobdesc.Location{}, false
	}
	loc := jobdesc.Location{URL: url}
	var cur *jobdesc.Location
	for _, o := range opts {
		name, val, ok := strings.Cut(o, "=")
		if !ok {
			d.errf(r.Pos, "%s: option %q is not name=value", what, o)
			return loc, false
		}
		switch name {
		case "location":
			if !validURL(val) {
				d.errf(r.Pos, "%s: invalid location URL %q", what, val)
				return loc, false
			}
			loc.Locations = append(loc.Locations, jobdesc.Location{URL: val})
			cur = &loc.Locations[len(loc.Locations)-1]
		case "delegationid":
			loc.DelegationID = val
		default:
			if cur != nil {
				cur.Options = append(cur.Options, jobdesc.Attr{Name: name, Value: val})
			} else {
				loc.Options = append(loc.Options, jobdesc.Attr{Name: name, Value: val})
			}
		}
	}
	return loc, true
}

func validURL(s string) bool {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || rest == "" {
		return false
	}
	for _, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// finish resolves the attributes that depend on others (ARC does the same
// after the walk): executables, ftpthreads, cache, countpernode, join, gridtime.
func (d *decoder) finish(dr *draft) {
	j := &dr.job
	if r := dr.pending["executables"]; r != nil {
		vs, _ := d.literals(r)
		for _, name := range vs {
			found := false
			for i := range j.Inputs {
				if j.Inputs[i].Name == name {
					j.Inputs[i].IsExecutable = true
					found = true
				}
			}
			if !found {
				d.errf(r.Pos, "file %q in \"executables\" is not in \"inputfiles\"", name)
			}
		}
	}
	if r := dr.pending["ftpthreads"]; r != nil {
		v := r.Values[0].(*Literal).Text
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10 {
			d.errf(r.Values[0].Position(), "value of \"ftpthreads\" must be a number from 1 to 10, found %q", v)
		} else {
			for i := range j.Inputs {
				for k := range j.Inputs[i].Sources {
					j.Inputs[i].Sources[k].Options = append(j.Inputs[i].Sources[k].Options, jobdesc.Attr{Name: "threads", Value: v})
				}
			}
			for i := range j.Outputs {
				for k := range j.Outputs[i].Targets {
					j.Outputs[i].Targets[k].Options = append(j.Outputs[i].Targets[k].Options, jobdesc.Attr{Name: "threads", Value: v})
				}
			}
		}
	}
	if r := dr.pending["cache"]; r != nil {
		v := r.Values[0].(*Literal).Text
		for i := range j.Inputs {
			if j.Inputs[i].IsExecutable {
				continue
			}
			for k := range j.Inputs[i].Sources {
				j.Inputs[i].Sources[k].Options = append(j.Inputs[i].Sources[k].Options, jobdesc.Attr{Name: "cache", Value: v})
			}
		}
	}
	if r := dr.pending["countpernode"]; r != nil {
		v := r.Values[0].(*Literal).Text
		n, err := strconv.Atoi(v)
		switch {
		case j.Resources.Slots == 0:
			d.errf(r.Pos, "\"countpernode\" needs \"count\" too")
		case err != nil || n < 1:
			d.errf(r.Values[0].Position(), "value of \"countpernode\" must be a positive integer, found %q", v)
		default:
			j.Resources.SlotsPerHost = n
		}
	}
	if d.dialect == GridManager { // join and gridtime are resolved by clients
		delete(dr.pending, "join")
		delete(dr.pending, "gridtime")
	}
	if r := dr.pending["join"]; r != nil {
		v := strings.ToLower(r.Values[0].(*Literal).Text)
		if v == "yes" || v == "true" {
			switch {
			case j.Stdout == "":
				d.errf(r.Pos, "\"join\" needs \"stdout\"")
			case j.Stderr != "" && j.Stderr != j.Stdout:
				d.errf(r.Pos, "\"join\" cannot be used when both \"stdout\" and \"stderr\" are given")
			default:
				j.Join = true
				j.Stderr = j.Stdout
			}
		}
	}
	if r := dr.pending["gridtime"]; r != nil {
		v := r.Values[0].(*Literal).Text
		switch {
		case j.Resources.CPUTime != 0:
			d.errf(r.Pos, "\"gridtime\" and \"cputime\" cannot be given together")
		case j.Resources.WallTime != 0:
			d.errf(r.Pos, "\"gridtime\" and \"walltime\" cannot be given together")
		default:
			p, err := ParsePeriod(v, time.Minute)
			if err != nil {
				d.errf(r.Values[0].Position(), "attribute \"gridtime\": %v", err)
				return
			}
			slots := j.Resources.Slots
			if slots < 1 {
				slots = 1
			}
			j.Resources.CPUTime = p
			j.Resources.WallTime = p * time.Duration(slots)
			j.Resources.Benchmark = &jobdesc.Benchmark{Name: "clock rate", Value: 2800}
		}
	}
}
