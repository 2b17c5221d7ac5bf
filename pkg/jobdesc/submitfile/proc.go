package submitfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/classad"
)

// procBuilder makes one proc's ad: each step below reads submit commands
// and sets the attributes condor_submit would.
type procBuilder struct {
	*session
	q        *queueSpec
	p        Proc
	ad       *classad.Ad
	iwd      string // the job's initial working directory
	universe string
	docker   string    // docker_image
	image    string    // container_image
	cpus     bool      // request_cpus given
	stf      string    // should_transfer_files: YES, NO or IF_NEEDED
	nstr     int       // str calls made for this proc
	nval     int       // val calls made for this proc
	nabs     int       // abs calls made for this proc
	names    [4]uint64 // the nameHash of every attribute set for this proc
	nset     int       // set calls made for this proc
	rec      bool      // a step is being recorded (see stepRecord)
	recBad   bool      // and it cannot be replayed
}

// procSteps make a proc's ad, in condor_submit's order.
var procSteps = []procStep{{run: (*procBuilder).dirAndUniverse}, {run: (*procBuilder).executable}, {run: (*procBuilder).container},
	{run: (*procBuilder).arguments}, {run: (*procBuilder).environment}, {run: (*procBuilder).files, readsAd: always},
	{run: (*procBuilder).checkFiles, readsAd: func(b *procBuilder) bool { return b.opts.CheckFiles }}, {run: (*procBuilder).transfer},
	{run: (*procBuilder).requests, readsAd: func(b *procBuilder) bool { return b.universe == "vm" }}, {run: (*procBuilder).named},
	{run: (*procBuilder).raw}, {run: (*procBuilder).requirements, readsAd: always}, {run: (*procBuilder).status}}

// procStep is one of them, and whether it may read attributes an earlier
// step set (nil: never; such a step is always run in full, see stepRecord).
type procStep struct {
	run     func(*procBuilder) error
	readsAd func(*procBuilder) bool
}

func always(*procBuilder) bool { return true }

// makeProc evaluates every submit command for one proc and maps the CE subset to attributes.
func (s *session) makeProc(q *queueSpec, vars Table) (Proc, error) {
	if s.pb == nil {
		s.pb = &procBuilder{}
	}
	b := s.pb // one builder, reset for each proc
	*b = procBuilder{session: s, q: q, p: Proc{ClusterID: s.cluster, ProcID: s.proc, Vars: vars, Pos: q.pos}}
	b.ad = &b.p.Ad
	clear(s.memo) // values of the previous proc
	if cap(s.slab) < 64 {
		s.slab = make([]classad.Attr, 0, 4096)
	}
	b.ad.Attrs = s.slab[:0] // set in place in a block shared with the next procs
	err := b.build()
	n := len(b.ad.Attrs)
	if cap(b.ad.Attrs) == cap(s.slab) { // (else it outgrew the block and has its own)
		s.slab = s.slab[n:n]
	}
	b.ad.Attrs = b.ad.Attrs[:n:n] // full: appending to it copies
	return b.p, err
}

// build evaluates the proc's commands and sets its attributes.
func (b *procBuilder) build() error {
	s := b.session
	vals := slices.Grow(s.mvals[:0], len(s.keys))[:len(s.keys)]
	s.mvals = vals
	for i, k := range s.keys {
		vals[i], _ = b.valAs(k, s.lkeys[i])
	}
	b.p.Macros = s.macros.make(s.keys[:len(s.keys):len(s.keys)], vals, nil)
	if s.strict != nil {
		return s.strict
	}
	b.set("ClusterId", classad.Int(s.cluster))
	b.set("ProcId", classad.Int(s.proc))
	if len(s.steps) < len(procSteps) {
		s.steps = make([]stepRecord, len(procSteps))
	}
	for k, step := range procSteps {
		if b.skip(k) {
			continue
		}
		start := b.begin()
		if err := step.run(b); err != nil {
			return err
		}
		b.end(k, start)
	}
	return nil
}

// val is a submit command's value for this proc (a queue variable acts as
// one too), macros expanded; an expansion problem is kept as a warning or,
// strict, as the session's error. key is in lower case (the callers name
// commands by constants).
func (b *procBuilder) val(key string) (string, bool) { return b.valAs(key, key) }

// valAs is val of key, whose lower case is lk.
func (b *procBuilder) valAs(key, lk string) (string, bool) {
	// the n-th call of a proc mostly asks for what the previous proc's did
	var i int
	if n := b.nval; n < len(b.valSeq) && b.valSeq[n].lk == lk {
		i = b.valSeq[n].slot
	} else {
		i = b.slotOf(lk)
		if n == len(b.valSeq) {
			b.valSeq = append(b.valSeq, slotCall{})
		}
		if n < len(b.valSeq) {
			b.valSeq[n] = slotCall{lk: lk, slot: i}
		}
	}
	b.nval++
	if sl := &b.memo[i]; sl.done {
		if b.rec {
			b.reads = append(b.reads, stepRead{slot: i, lk: lk, v: sl.v, ok: sl.ok, at: -1})
		}
		return sl.v, sl.ok
	}
	v, ok := b.valSlot(key, lk, i)
	if b.rec {
		if !b.memo[i].done || ok { // worked out inside the step: not replayed
			b.recBad = true
		}
		b.reads = append(b.reads, stepRead{slot: i, lk: lk, v: v, ok: ok, at: -1})
	}
	return v, ok
}

// valSlot is valAs of the command in slot i, not yet worked out for this proc.
func (b *procBuilder) valSlot(key, lk string, i int) (string, bool) {
	raw, ok, fromOv := b.text(i, lk)
	if !ok {
		b.memo[i] = memoVal{done: true}
		return "", false
	}
	if k := b.kept[i]; k.set && !fromOv && k.raw == raw {
		b.memo[i] = memoVal{done: true, v: k.v, ok: true}
		return k.v, true
	}
	if strings.IndexByte(raw, '$') < 0 { // no macros: the text itself, as macros.expand gives it
		b.memo[i] = memoVal{done: true, v: raw, ok: true}
		if !fromOv {
			b.kept[i] = keptVal{set: true, raw: raw, v: raw}
		}
		return raw, true
	}
	if !fromOv {
		if v, ok := b.fill(&b.res[i], i); ok {
			b.memo[i] = memoVal{done: true, v: v, ok: true}
			return v, true
		}
	}
	lookups, draws := b.m.lookups, b.m.draws
	v, warns, err := b.m.expand(raw, b.ovr)
	if err != nil || len(warns) > 0 {
		b.expandProblem(key, lk, err, warns)
	}
	if err == nil && len(warns) == 0 && b.m.draws == draws {
		// the same text again for this proc; and for the next procs too
		// while raw stays when it looked no macro up
		b.memo[i] = memoVal{done: true, v: v, ok: true}
		if !fromOv && b.m.lookups == lookups {
			b.kept[i] = keptVal{set: true, raw: raw, v: v}
		}
	}
	return v, true
}

// text is the unexpanded text of command lk (slot i) for this proc: a queue
// variable or built-in of that name (fromOv) wins over the command unless
// it is one of the static macros. Where it comes from is worked out once
// per queue statement and kept while neither the command nor a macro its
// template refers to is assigned again (see session.assigned).
func (b *procBuilder) text(i int, lk string) (raw string, ok, fromOv bool) {
	r := &b.res[i]
	if !r.valid || r.ovr != b.ovr {
		b.resolve(r, i, lk)
	}
	if r.ov >= 0 && b.ovr.has[r.ov] {
		return b.ovr.vals[r.ov], true, true
	}
	return r.raw, r.ok, false
}

// resolved is where a command's text comes from during one queue
// statement, and the template of that text with where its references'
// values come from.
type resolved struct {
	valid  bool     // made for ovr, and the command and its references not assigned since
	ovr    *overlay // the overlay it was made for
	ov     int      // the overlay's index of a queue variable or built-in of its name that gives it, or -1
	ok     bool
	raw    string // the command's own text
	tm     *tmpl  // raw's template, nil when it has none (yet)
	uses   int    // fill calls for raw
	noTmpl bool   // raw has no template
	tmOK   bool   // every reference of tm can be filled in without expanding further
	refs   []refAt
	// the last fill: its references' values and its text
	filled   bool
	lastVals []string
	lastOut  string
}

// refAt is where a template's reference finds its value: the overlay's
// index (-1: not there), else the command's text v (ok: there is one).
type refAt struct {
	ov int
	ok bool
	v  string
}

// resolve works out r for the queue statement being run.
func (b *procBuilder) resolve(r *resolved, i int, lk string) {
	raw, ok := b.m.vals[lk]
	tm, uses, no := r.tm, r.uses, r.noTmpl
	if raw != r.raw || !ok {
		tm, uses, no = nil, 0, !ok
	}
	*r = resolved{valid: true, ovr: b.ovr, ov: -1, ok: ok, raw: raw, tm: tm, uses: uses, noTmpl: no, refs: r.refs[:0], lastVals: r.lastVals[:0]}
	if b.static[lk] == "" {
		r.ov = b.ovr.at(lk)
	}
	b.resolveRefs(r, i)
}

// resolveRefs works out where r's template finds its references' values.
func (b *procBuilder) resolveRefs(r *resolved, i int) {
	tm := r.tm
	if tm == nil {
		return
	}
	r.tmOK = true
	for _, name := range tm.refs {
		v, ok := b.m.vals[name]
		if ok && strings.IndexByte(v, '$') >= 0 {
			r.tmOK = false // its value has macros of its own
		}
		r.refs = append(r.refs, refAt{ov: b.ovr.at(name), ok: ok, v: v})
		if d := b.deps[name]; len(d) == 0 || d[len(d)-1] != i {
			if b.deps == nil {
				b.deps = map[string][]int{}
			}
			b.deps[name] = append(d, i)
		}
	}
}

// fill expands r's template for this proc: ok is false when it cannot
// (no template, a reference with no value or with macros in its value, a
// text too long), and macros.expand must.
func (b *procBuilder) fill(r *resolved, i int) (string, bool) {
	if r.tm == nil && !r.noTmpl {
		// a text expanded once is not compiled (most are used once or
		// by many procs)
		if r.uses++; r.uses < 2 {
			return "", false
		}
		if r.tm = compileTmpl(r.raw); r.tm == nil {
			r.noTmpl = true
			return "", false
		}
		b.resolveRefs(r, i)
	}
	if r.tm == nil || !r.tmOK {
		return "", false
	}
	o, t := b.ovr, r.tm
	vals := b.fillBuf[:0]
	n := 0
	for k := range r.refs {
		ra := &r.refs[k]
		var v string
		switch {
		case ra.ov >= 0 && o.has[ra.ov]:
			v = o.vals[ra.ov]
			if strings.IndexByte(v, '$') >= 0 {
				return "", false
			}
		case ra.ok:
			v = ra.v
		default:
			return "", false
		}
		vals = append(vals, v)
		n += len(v) + len(t.lits[k])
	}
	b.fillBuf = vals
	n += len(t.lits[len(t.lits)-1])
	if n > MaxExpanded {
		return "", false
	}
	b.m.lookups += len(vals)
	if r.filled && slices.Equal(r.lastVals, vals) { // (mostly the same strings: compared by address)
		return r.lastOut, true
	}
	var sb strings.Builder
	sb.Grow(n)
	for k, v := range vals {
		sb.WriteString(t.lits[k])
		sb.WriteString(v)
	}
	sb.WriteString(t.lits[len(t.lits)-1])
	r.filled, r.lastVals, r.lastOut = true, append(r.lastVals[:0], vals...), sb.String()
	return r.lastOut, true
}

// tmpl is a text cut at its $(name) references (lits[i] comes before
// refs[i]; the last literal after the last reference), for a text with no
// other macro syntax.
type tmpl struct {
	lits, refs []string // refs in lower case
}

// compileTmpl is s's template, or nil when s uses more than plain $(name)
// references ($(name:default), $$(attr), $FUNC(), $(a$(b)), a lone $).
func compileTmpl(s string) *tmpl {
	t := &tmpl{}
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			t.lits = append(t.lits, s)
			return t
		}
		if i+1 >= len(s) || s[i+1] != '(' {
			return nil
		}
		end := matchParen(s, i+1)
		if end < 0 {
			return nil
		}
		inner := s[i+2 : end]
		if strings.ContainsAny(inner, "$:") {
			return nil
		}
		t.lits = append(t.lits, s[:i])
		t.refs = append(t.refs, strings.ToLower(strings.TrimSpace(inner)))
		s = s[end+1:]
	}
}

// expandProblem keeps an expansion's warnings (at the line that assigned
// key) and, strict or fatal, the session's first error.
func (b *procBuilder) expandProblem(key, lk string, err error, warns []string) {
	pos := b.q.pos
	if kp, ok := b.keyPos[lk]; ok {
		pos = kp // name the line that uses the macro
	}
	if err != nil && b.strict == nil {
		b.strict = &Error{Pos: pos, Msg: key + ": " + err.Error()}
	}
	b.warnAll(pos, warns)
	if len(warns) > 0 && b.opts.StrictMacros && b.strict == nil {
		b.strict = &Error{Pos: pos, Msg: key + ": " + warns[0]}
	}
}

// stepRecord is what a step of procSteps read and did when it last ran
// in full: when it would read the same now, it would do the same, and its
// attributes and the builder's state are set as they were instead (a
// proc mostly differs from the previous one in a few commands).
type stepRecord struct {
	ok             bool // recorded (no warning, no expansion inside the step, every set an append)
	nKeys          int
	before, after  builderState
	reads          []stepRead
	attrs          []classad.Attr // (each set appended them: their names differ)
	names          [4]uint64      // the nameHash of each of attrs, as procBuilder.names
	dval, dstr, da int            // the val, str and abs calls it made
}

// stepRead is a value a step read: command slot (named lk) or, at >= 0,
// the proc's Macros value at that index.
type stepRead struct {
	slot, at int
	lk, v    string
	ok       bool
}

// builderState is what steps leave in the builder for the next ones.
type builderState struct {
	iwd, universe, docker, image, stf string
	cpus                              bool
}

func (b *procBuilder) state() builderState {
	return builderState{iwd: b.iwd, universe: b.universe, docker: b.docker, image: b.image, stf: b.stf, cpus: b.cpus}
}

// stepReadsAd says whether step k may read attributes earlier steps set.
func (b *procBuilder) stepReadsAd(k int) bool {
	f := procSteps[k].readsAd
	return f != nil && f(b)
}

// stepStart is where the builder stood when a step began.
type stepStart struct {
	before                   builderState
	nval, nstr, nabs, nattrs int
	nwarns, nset             int
}

// begin starts recording a step.
func (b *procBuilder) begin() stepStart {
	b.rec, b.recBad, b.reads = true, false, b.reads[:0]
	return stepStart{before: b.state(), nval: b.nval, nstr: b.nstr, nabs: b.nabs, nattrs: len(b.ad.Attrs), nwarns: len(b.warns), nset: b.nset}
}

// end records step k, begun at st, when it can be replayed.
func (b *procBuilder) end(k int, st stepStart) {
	b.rec = false
	r := &b.steps[k]
	appended := len(b.ad.Attrs) - st.nattrs
	r.ok = !b.recBad && len(b.warns) == st.nwarns && b.nset-st.nset == appended && !b.stepReadsAd(k)
	if !r.ok {
		return
	}
	r.nKeys, r.before, r.after = len(b.keys), st.before, b.state()
	r.reads = append(r.reads[:0], b.reads...)
	r.attrs = append(r.attrs[:0], b.ad.Attrs[st.nattrs:]...)
	r.names = [4]uint64{}
	for _, a := range r.attrs {
		h := nameHash(a.Name)
		r.names[h>>6] |= 1 << (h & 63)
	}
	r.dval, r.dstr, r.da = b.nval-st.nval, b.nstr-st.nstr, b.nabs-st.nabs
}

// skip replays step k when it would read what it read when recorded.
func (b *procBuilder) skip(k int) bool {
	r := &b.steps[k]
	if !r.ok || r.nKeys != len(b.keys) || r.before != b.state() || b.stepReadsAd(k) {
		return false
	}
	for _, rd := range r.reads {
		if rd.at >= 0 {
			if b.mvals[rd.at] != rd.v {
				return false
			}
			continue
		}
		m := &b.memo[rd.slot]
		if !m.done {
			if _, ok, _ := b.text(rd.slot, rd.lk); ok {
				return false // would be worked out now
			}
			*m = memoVal{done: true}
		}
		if m.ok != rd.ok || m.v != rd.v {
			return false
		}
	}
	b.replay(r)
	a := r.after
	b.iwd, b.universe, b.docker, b.image, b.stf, b.cpus = a.iwd, a.universe, a.docker, a.image, a.stf, a.cpus
	b.nval += r.dval
	b.nstr += r.dstr
	b.nabs += r.da
	return true
}

// replay sets the attributes of record r: appended at once when no
// attribute of the proc can have one of their names, else one by one.
func (b *procBuilder) replay(r *stepRecord) {
	n := &b.names
	if n[0]&r.names[0]|n[1]&r.names[1]|n[2]&r.names[2]|n[3]&r.names[3] != 0 {
		for _, a := range r.attrs {
			b.set(a.Name, a.Expr)
		}
		return
	}
	b.ad.Attrs = append(b.ad.Attrs, r.attrs...)
	for i := range n {
		n[i] |= r.names[i]
	}
	b.nset += len(r.attrs)
}

// slotCall is the slot a val call of the previous proc used.
type slotCall struct {
	lk   string
	slot int
}

// memoVal is a command's value for the proc being made.
type memoVal struct {
	done, ok bool
	v        string
}

// keptVal is a command's expansion that looked up no macro and drew no
// random number: the same for every proc while the raw text is.
type keptVal struct {
	set    bool
	raw, v string
}

// slotOf numbers command names (lower case) for b.memo and b.kept.
func (s *session) slotOf(lk string) int {
	i, ok := s.slots[lk]
	if !ok {
		if s.slots == nil {
			s.slots = map[string]int{}
		}
		i = len(s.slots)
		s.slots[lk] = i
		s.memo = append(s.memo, memoVal{})
		s.kept = append(s.kept, keptVal{})
		s.res = append(s.res, resolved{})
	}
	return i
}

// set sets an attribute: appended when no attribute of the proc can have
// its name (a filter of their lengths and first and last letters says so),
// else replacing the one of the same name (classad.Ad.Set).
func (b *procBuilder) set(name string, e classad.Expr) {
	b.nset++
	h := nameHash(name)
	if bit := uint64(1) << (h & 63); b.names[h>>6]&bit == 0 {
		b.names[h>>6] |= bit
		b.ad.Attrs = append(b.ad.Attrs, classad.Attr{Name: name, Expr: e})
		return
	}
	b.ad.Set(name, e)
}

// nameHash is a number below 256 that names equal but for ASCII case share
// (c|0x20 lowers A-Z; other bytes may map together, which only costs a search).
func nameHash(name string) uint {
	n := len(name)
	if n == 0 {
		return 0
	}
	h := uint32(n) | uint32(name[0]|0x20)<<8 | uint32(name[n/2]|0x20)<<16 | uint32(name[n-1]|0x20)<<24
	return uint((h*0x9e3779b1)>>24) & 255
}

// str sets a string attribute; the value boxed for the previous proc's
// same call is used again when it is the same (most are).
func (b *procBuilder) str(name, v string) {
	i := b.nstr
	b.nstr++
	if i == len(b.strs) {
		b.strs = append(b.strs, lastCall{})
	}
	if c := &b.strs[i]; c.set && c.a == name && c.b == v {
		b.set(name, c.e)
		return
	}
	var e classad.Expr = classad.String(v)
	b.strs[i] = lastCall{set: true, a: name, b: v, e: e}
	b.set(name, e)
}

// lastCall is what a call made for the previous proc, from a and b.
type lastCall struct {
	set       bool
	a, b, out string
	e         classad.Expr
}

// fail is an error at the queue statement.
func (b *procBuilder) fail(format string, args ...any) error {
	return &Error{Pos: b.q.pos, Msg: fmt.Sprintf(format, args...)}
}

// abs is path relative to the initial directory (URLs and /dev/null as they are).
func (b *procBuilder) abs(path string) string {
	if path == "" || filepath.IsAbs(path) || strings.Contains(path, "://") || path == "/dev/null" {
		return path
	}
	i := b.nabs // the previous proc's same call mostly made the same path
	b.nabs++
	if i == len(b.abss) {
		b.abss = append(b.abss, lastCall{})
	}
	if c := &b.abss[i]; c.set && c.a == b.iwd && c.b == path {
		return c.out
	}
	out := joinPath(b.iwd, path)
	b.abss[i] = lastCall{set: true, a: b.iwd, b: path, out: out}
	return out
}

// joinPath is filepath.Join(dir, p), without cleaning what is clean
// already: an absolute dir and a relative p with no empty, . or .. parts.
func joinPath(dir, p string) string {
	if len(dir) > 1 && dir[0] == '/' && cleanRel(dir[1:]) && cleanRel(p) {
		return dir + "/" + p
	}
	return filepath.Join(dir, p)
}

// cleanRel says whether p is a relative path filepath.Clean leaves as it is.
func cleanRel(p string) bool {
	if p == "" {
		return false
	}
	for part, rest, more := "", p, true; more; {
		part, rest, more = strings.Cut(rest, "/")
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// dirAndUniverse sets Iwd and JobUniverse; the standard universe and a grid
// universe without a known grid_resource type are refused.
func (b *procBuilder) dirAndUniverse() error {
	b.iwd = b.opts.Dir
	if v, ok := b.val("initialdir"); ok && v != "" {
		if !filepath.IsAbs(v) {
			v = filepath.Join(b.opts.Dir, v)
		}
		b.iwd = v
	}
	b.str("Iwd", b.iwd)
	b.universe = "vanilla"
	if v, ok := b.val("universe"); ok && v != "" {
		b.universe = strings.ToLower(v)
	}
	u, ok := universes[b.universe]
	if !ok {
		return &Error{Pos: at(b.session, b.q, "universe"), Msg: fmt.Sprintf("universe %q is not one of vanilla, scheduler, grid, java, parallel, local, vm, docker, container", b.universe)}
	}
	if b.universe == "standard" && !b.opts.Inspect {
		// condor_submit: "'Standard' is not a supported universe." (gone since HTCondor 9.0)
		return &Error{Pos: at(b.session, b.q, "universe"), Msg: "the standard universe is not supported (HTCondor removed it in 9.0): use vanilla"}
	}
	if b.universe == "grid" && !b.opts.Inspect {
		gr, _ := b.val("grid_resource")
		typ, _, _ := strings.Cut(strings.TrimSpace(gr), " ")
		switch {
		case typ == "":
			return b.fail("grid universe: no grid_resource given before this queue statement")
		case !gridTypes[strings.ToLower(typ)] && !strings.Contains(typ, "$$("): // $$() is filled in at match time
			return &Error{Pos: at(b.session, b.q, "grid_resource"), Msg: fmt.Sprintf("grid_resource type %q is not one of condor, batch, arc, ec2, gce, azure "+
				"(or the batch systems pbs, lsf, sge, nqs, naregi), as condor_submit requires", typ)}
		}
	}
	b.set("JobUniverse", classad.Int(u))
	return nil
}

// executable sets Cmd: the executable's path, a label in the grid and vm
// universes, empty for an image's entry point.
func (b *procBuilder) executable() error {
	b.docker, _ = b.val("docker_image")
	b.image, _ = b.val("container_image")
	if v, ok := b.val("executable"); ok {
		if b.universe == "grid" || b.universe == "vm" {
			b.str("Cmd", v) // a label for the remote system, not a local file
		} else {
			b.str("Cmd", b.abs(v))
		}
	} else if b.universe == "docker" || b.docker != "" || b.image != "" {
		b.str("Cmd", "") // the image's entry point
	} else if b.universe != "grid" {
		if !b.opts.Inspect {
			return b.fail("no executable given before this queue statement")
		}
		b.warns = append(b.warns, Warning{Pos: b.q.pos, Msg: "no executable given before this queue statement"})
	}
	return nil
}

// container sets the docker or container image attributes.
func (b *procBuilder) container() error {
	dockerImage, containerImage := b.docker, b.image
	switch {
	case dockerImage != "" && containerImage != "":
		return b.fail("cannot declare both docker_image and container_image")
	case b.universe == "docker" && containerImage != "":
		return b.fail("docker universe does not allow use of container_image.")
	case strings.HasPrefix(containerImage, "instance://"):
		return b.fail("container_image %q is not a valid container image", containerImage)
	}
	if b.universe == "docker" {
		if dockerImage == "" {
			return b.fail("docker universe needs docker_image")
		}
		b.str("DockerImage", dockerImage)
		b.set("WantDocker", classad.Bool(true))
	} else if dockerImage != "" {
		b.str("DockerImage", dockerImage)
		b.set("WantDockerImage", classad.Bool(true))
		b.set("WantContainer", classad.Bool(true))
	} else if containerImage != "" {
		b.str("ContainerImage", containerImage)
		b.set("WantContainer", classad.Bool(true))
	}
	return nil
}

// arguments sets Arguments (V2) or Args (V1): arguments2 wins when given;
// a leading " means V2 syntax.
func (b *procBuilder) arguments() error {
	argKey := ""
	for _, k := range []string{"arguments", "args"} {
		if _, ok := b.val(k); ok {
			argKey = k
		}
	}
	if v, ok := b.val("arguments2"); ok {
		a, err := b.argsV2(v)
		if err != nil {
			return b.fail("arguments2: %s", err)
		}
		b.str("Arguments", a)
	} else if argKey != "" {
		v, _ := b.val(argKey)
		if strings.HasPrefix(strings.TrimSpace(v), `"`) {
			a, err := b.argsV2(v)
			if err != nil {
				return b.fail("%s: %s", argKey, err)
			}
			b.str("Arguments", a)
		} else {
			b.str("Args", v)
		}
	} else {
		b.str("Arguments", "")
	}
	return nil
}

// argsV2 is V2 arguments as HTCondor stores them, read once per text.
func (s *session) argsV2(v string) (string, error) {
	return s.args.do(v, func(v string) (string, error) {
		list, err := parseArgsV2(v)
		if err != nil {
			return "", err
		}
		return joinArgsV2(list), nil
	})
}

// envV2 is a V2 environment as HTCondor stores it, read once per text.
func (s *session) envV2(v string) (string, error) {
	return s.envs.do(v, func(v string) (string, error) {
		list, err := parseEnvV2(v)
		if err != nil {
			return "", err
		}
		return joinEnvV2(list), nil
	})
}

// remember adds k -> v to a bounded memo (a thousand procs mostly share
// their texts; a million different ones are not all kept).
func remember[K comparable, V any](m map[K]V, k K, v V) map[K]V {
	if m == nil {
		m = map[K]V{}
	}
	if len(m) < 10000 {
		m[k] = v
	}
	return m
}

// environment sets Environment (V2) or Env (V1).
func (b *procBuilder) environment() error {
	envSet := false
	for _, k := range []string{"environment", "env"} {
		if v, ok := b.val(k); ok {
			envSet = true
			if strings.HasPrefix(strings.TrimSpace(v), `"`) {
				e, err := b.envV2(v)
				if err != nil {
					return b.fail("%s: %s", k, err)
				}
				b.str("Environment", e)
			} else {
				b.str("Env", v)
			}
		}
	}
	if !envSet {
		b.str("Environment", "")
	}
	return nil
}

// files sets the standard streams, the user log, the files to transfer and
// whether the executable is transferred.
func (b *procBuilder) files() error {
	for _, io := range [][2]string{{"input", "In"}, {"output", "Out"}, {"error", "Err"}} {
		v, ok := b.val(io[0])
		if !ok || v == "" {
			v = "/dev/null"
		}
		b.str(io[1], v)
	}
	if v, ok := b.val("log"); ok && v != "" {
		b.str("UserLog", b.abs(v))
	}
	if v, ok := b.val("transfer_input_files"); ok && v != "" {
		b.str("TransferInput", commaList(v))
	}
	if v, ok := b.val("transfer_output_files"); ok && v != "" {
		b.str("TransferOutput", commaList(v))
	}
	gridType := ""
	if v, ok := b.val("grid_resource"); ok {
		gridType, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(v)), " ")
	}
	// nothing local to transfer: an image's entry point, a cloud instance label, a VM
	if c, _ := b.ad.Get("Cmd"); c == classad.String("") || b.universe == "vm" || gridType == "ec2" || gridType == "gce" || gridType == "azure" {
		b.set("TransferExecutable", classad.Bool(false))
	}
	if v, ok := b.val("transfer_executable"); ok {
		t, ok := truth(v)
		if !ok {
			return b.fail("transfer_executable %q is not true or false", v)
		}
		b.set("TransferExecutable", classad.Bool(t))
	}
	return nil
}

// checkFiles (with CheckFiles) makes condor_submit's checks of what must
// exist where it runs: the executable, initialdir, the proxy.
func (b *procBuilder) checkFiles() error {
	if !b.opts.CheckFiles {
		return nil
	}
	if te, ok := b.ad.Get("TransferExecutable"); !ok || te != classad.Bool(false) {
		if c, ok := b.ad.Get("Cmd"); ok {
			if exe, _ := c.(classad.String); exe != "" {
				if fi, err := os.Stat(string(exe)); err != nil || fi.IsDir() {
					return &Error{Pos: at(b.session, b.q, "executable"), Msg: fmt.Sprintf("executable file %s does not exist (or is a directory)", exe)}
				}
			}
		}
	}
	if _, given := b.val("initialdir"); given {
		if fi, err := os.Stat(b.iwd); err != nil || !fi.IsDir() {
			return &Error{Pos: at(b.session, b.q, "initialdir"), Msg: fmt.Sprintf("initialdir %s is not a directory", b.iwd)}
		}
	}
	if v, ok := b.val("x509userproxy"); ok && v != "" {
		f, err := os.Open(b.abs(v))
		if err != nil {
			return &Error{Pos: at(b.session, b.q, "x509userproxy"), Msg: fmt.Sprintf("x509userproxy %s cannot be read: %v", b.abs(v), errors.Unwrap(err))}
		}
		f.Close()
	}
	return nil
}

// transfer sets ShouldTransferFiles and WhenToTransferOutput.
func (b *procBuilder) transfer() error {
	b.stf = "YES"
	if v, ok := b.val("should_transfer_files"); ok && v != "" {
		b.stf, ok = transferWords[strings.ToUpper(strings.TrimSpace(v))]
		if !ok {
			return b.fail("should_transfer_files %q is not YES, NO or IF_NEEDED", v)
		}
	}
	b.str("ShouldTransferFiles", b.stf)
	if b.stf != "NO" {
		w := "ON_EXIT"
		if v, ok := b.val("when_to_transfer_output"); ok && v != "" {
			w = strings.ToUpper(v)
		}
		b.str("WhenToTransferOutput", w)
	}
	return nil
}

// transferWords are should_transfer_files' values, HTCondor's own table (enum_utils.cpp).
var transferWords = map[string]string{"YES": "YES", "TRUE": "YES", "ALWAYS": "YES", "NO": "NO", "FALSE": "NO",
	"NEVER": "NO", "IF_NEEDED": "IF_NEEDED", "AUTO": "IF_NEEDED"}

// requests sets RequestCpus, RequestMemory, RequestDisk (with the sizes to
// retry with) and RequestGPUs.
func (b *procBuilder) requests() error {
	if v, ok := b.val("request_cpus"); ok && v != "" {
		e, err := b.expr(v)
		if err != nil {
			return b.fail("request_cpus %q: %v", v, err)
		}
		b.set("RequestCpus", e)
		b.cpus = true
	} else {
		b.set("RequestCpus", classad.Int(1))
	}
	for i, r := range sizeCommands {
		if err := b.size(i, r); err != nil {
			return err
		}
	}
	if b.universe == "vm" && !b.ad.Has("RequestMemory") {
		b.set("RequestMemory", classad.AttrRef{Scope: "MY", Name: "JobVMMemory"})
	}
	if v, ok := b.val("request_gpus"); ok && v != "" {
		e, err := b.expr(v)
		if err != nil {
			return b.fail("request_gpus %q: %v", v, err)
		}
		b.set("RequestGPUs", e)
	}
	return nil
}

// sizeCommand is request_memory or request_disk: the attribute it sets,
// its unit, its retry command and attribute.
type sizeCommand struct {
	key, attr, retryKey, retryAttr string
	unit                           float64
}

var sizeCommands = []sizeCommand{{"request_memory", "RequestMemory", "retry_request_memory", "RetryRequestMemory", 1024 * 1024},
	{"request_disk", "RequestDisk", "retry_request_disk", "RetryRequestDisk", 1024}}

// sizeKey and sizeDone are a size command's texts and what they made.
type sizeKey struct {
	v, retry string
	unit     float64
}

// lastSize is a size command's previous texts and what they made.
type lastSize struct {
	set bool
	k   sizeKey
	d   sizeDone
}

type sizeDone struct {
	first classad.Expr
	list  classad.List
}

// size sets the attribute of request_memory or request_disk, and its
// Retry attribute from its further sizes and retry_<command>; once per text.
func (b *procBuilder) size(ci int, c sizeCommand) error {
	v, ok := b.val(c.key)
	if !ok || v == "" {
		if c.attr == "RequestDisk" {
			b.set("RequestDisk", classad.AttrRef{Name: "DiskUsage"})
		}
		return nil
	}
	extra, _ := b.val(c.retryKey)
	k := sizeKey{v: v, retry: extra, unit: c.unit}
	last := &b.lastSize[ci]
	d, ok := last.d, last.set && last.k == k // (mostly the previous proc's)
	if !ok {
		d, ok = b.sizes[k]
	}
	if !ok {
		var err error
		if d, err = b.sizeOf(c, v, extra); err != nil {
			return err
		}
		b.sizes = remember(b.sizes, k, d)
	}
	*last = lastSize{set: true, k: k, d: d}
	b.set(c.attr, d.first)
	if len(d.list) > 0 {
		b.set(c.retryAttr, d.list)
	}
	return nil
}

// sizeOf reads v ("1GB, 2G, 8 gb": the first size is requested, the others
// are the sizes to retry with) and extra (retry_<command>).
func (b *procBuilder) sizeOf(c sizeCommand, v, extra string) (sizeDone, error) {
	var d sizeDone
	sizes := []string{v}
	if !strings.ContainsAny(v, "({") {
		sizes = strings.Split(v, ",")
	}
	for i, sz := range sizes {
		e, err := sizeExpr(sz, c.unit)
		if err != nil {
			return d, b.fail("%s: %s", c.key, err)
		}
		if i == 0 {
			d.first = e
		} else {
			d.list = append(d.list, e)
		}
	}
	if extra != "" {
		for _, sz := range strings.Split(extra, ",") {
			e, err := sizeExpr(sz, c.unit)
			if err != nil {
				return d, b.fail("%s: %s", c.retryKey, err)
			}
			d.list = append(d.list, e)
		}
	}
	return d, nil
}

// named sets the attributes that come from one submit command each: grid
// resource, batch name, notification address, proxy, streaming, priority.
func (b *procBuilder) named() error {
	for _, kv := range [][2]string{{"grid_resource", "GridResource"}, {"batch_name", "JobBatchName"}, {"notify_user", "NotifyUser"}} {
		if v, ok := b.val(kv[0]); ok && v != "" {
			b.str(kv[1], v)
		}
	}
	if v, ok := b.val("x509userproxy"); ok && v != "" {
		b.str("x509userproxy", b.abs(v))
	}
	for _, kv := range [][2]string{{"stream_output", "StreamOut"}, {"stream_error", "StreamErr"}} {
		t := false
		if v, ok := b.val(kv[0]); ok {
			t, _ = truth(v)
		}
		b.set(kv[1], classad.Bool(t))
	}
	prio := int64(0)
	if v, ok := b.val("priority"); ok && v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return b.fail("priority %q is not an integer", v)
		}
		prio = n
	}
	b.set("JobPrio", classad.Int(prio))
	return nil
}

// raw sets +Attr and MY.Attr: raw ClassAd expressions.
func (b *procBuilder) raw() error {
	for ; b.rawScanned < len(b.keys); b.rawScanned++ { // the +Attr and MY.Attr commands among the keys, found once
		i := b.rawScanned
		k := b.keys[i]
		switch {
		case strings.HasPrefix(k, "+"):
			b.rawKeys = append(b.rawKeys, rawKey{at: i, name: k[1:]})
		case len(k) > 3 && strings.EqualFold(k[:3], "MY."):
			b.rawKeys = append(b.rawKeys, rawKey{at: i, name: k[3:]})
		}
	}
	for j := range b.rawKeys {
		rk := &b.rawKeys[j]
		k, name, v := b.keys[rk.at], rk.name, b.mvals[rk.at]
		if b.rec {
			b.reads = append(b.reads, stepRead{at: rk.at, v: v})
		}
		if !rk.done || rk.v != v { // (mostly the previous proc's text)
			rk.e, rk.err = b.expr(v)
			rk.v, rk.done = v, true
		}
		e, err := rk.e, rk.err
		if err != nil {
			return b.fail("%s = %s: not a ClassAd expression: %v", k, v, err)
		}
		b.set(name, e)
	}
	return nil
}

// rawKey is a +Attr or MY.Attr command: its index in the session's keys,
// the attribute's name and the expression of the last text it had.
type rawKey struct {
	at   int
	name string
	done bool
	v    string
	e    classad.Expr
	err  error
}

// requirements sets Requirements: the user's and the clauses
// condor_submit adds.
func (b *procBuilder) requirements() error {
	literal := func(attr string) (float64, bool) {
		e, ok := b.ad.Get(attr)
		if !ok {
			return 0, false
		}
		switch v := e.(type) {
		case classad.Int:
			return float64(v), true
		case classad.Real:
			return float64(v), true
		}
		return 0, false
	}
	mem, memLit := literal("RequestMemory")
	disk, diskLit := literal("RequestDisk")
	user, userGiven := b.val("requirements")
	input, _ := b.ad.Get("TransferInput")
	inputs, _ := input.(classad.String)
	if !strings.Contains(string(inputs), "://") {
		inputs = "" // only URLs' schemes make a difference
	}
	k := reqKey{cpus: b.cpus, transfer: b.stf != "NO", universe: b.universe, gpus: b.ad.Has("RequestGPUs"),
		memTiny: memLit && mem <= 1, diskZero: diskLit && disk <= 0, inputs: string(inputs), user: user}
	req, ok := b.lastReq.e, b.lastReq.set && b.lastReq.k == k // (mostly the previous proc's)
	if !ok {
		req, ok = b.reqs[k]
	}
	if !ok {
		var err error
		given := func(string) (string, bool) { return user, userGiven } // expanded once (a random choice draws once)
		req, err = b.session.requirements(given, reqFlags{cpus: k.cpus, transfer: k.transfer, universe: k.universe,
			gpus: k.gpus, docker: b.universe == "docker", inputs: transferInputs(b.ad), memTiny: k.memTiny, diskZero: k.diskZero})
		if err != nil {
			return &Error{Pos: b.q.pos, Msg: err.Error()}
		}
		b.reqs = remember(b.reqs, k, req)
	}
	b.lastReq = lastReq{set: true, k: k, e: req}
	if req != nil {
		b.set("Requirements", req)
	}
	return nil
}

// lastReq is the previous proc's Requirements and what it was made of.
type lastReq struct {
	set bool
	k   reqKey
	e   classad.Expr
}

// reqKey is what Requirements is made of (the session's options aside).
type reqKey struct {
	cpus, transfer, gpus, memTiny, diskZero bool
	universe, inputs, user                  string
}

// status sets JobStatus: held for spooling (and left in the queue after
// completion so that its output can be fetched), else idle; and
// leave_in_queue.
func (b *procBuilder) status() error {
	if b.opts.Spool {
		b.set("JobStatus", classad.Int(5))
		b.str("HoldReason", "Spooling input data files")
		b.set("HoldReasonCode", classad.Int(16))
		// a spooled job stays in the queue after it completes, for up to
		// 10 days, so that its output can be fetched; from 25.8 it may
		// leave once the output has been fetched
		text := "JobStatus == 4 && (CompletionDate =?= undefined || CompletionDate == 0 || ((time() - CompletionDate) < 864000))"
		if versionAtLeast(b.opts.CondorVersion, 25, 8) {
			text = "JobStatus == 4 && (time() - (CompletionDate ?: time())) < 864000 && (StageOutFinish ?: 0) < EnteredCurrentStatus"
		}
		e, _ := b.expr(text)
		b.set("LeaveJobInQueue", e)
	} else {
		b.set("JobStatus", classad.Int(1))
	}
	if v, ok := b.val("leave_in_queue"); ok && strings.TrimSpace(v) != "" {
		e, err := b.expr(v)
		if err != nil {
			return &Error{Pos: b.keyPos["leave_in_queue"], Msg: fmt.Sprintf("leave_in_queue %q: %v", v, err)}
		}
		b.set("LeaveJobInQueue", e)
	}
	return nil
}
