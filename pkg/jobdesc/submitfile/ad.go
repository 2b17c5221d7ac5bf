package submitfile

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// Proc is one job of the submission.
type Proc struct {
	ClusterID, ProcID int
	// Ad holds the CE-subset attributes condor_submit would set.
	Ad classad.Ad
	// Vars are the macro values used for this proc (queue variables,
	// built-ins), by lower-case name.
	Vars Table
	// Macros is every submit command with its expanded value for this proc,
	// by name as written.
	Macros Table
	Pos    Pos // of its queue statement
}

// Table is a proc's values by name. Procs share what is the same for
// them: the names, which names have a value, and a base of values (never
// modified once shared); a proc keeps only its values that differ from
// the base (most of a proc's values are its neighbours').
type Table struct {
	sh  *tableShape
	own []ownVal // by increasing index
}

// tableShape is what the procs of a Table share.
type tableShape struct {
	names, base []string
	has         []bool // nil: every name has a value
}

// ownVal is a proc's value at index at of its table's names.
type ownVal struct {
	at int
	v  string
}

// size is the number of names the table can hold.
func (t Table) size() int {
	if t.sh == nil {
		return 0
	}
	return len(t.sh.names)
}

// at is the value at index i (whether or not the name has one).
func (t Table) at(i int) string {
	for _, o := range t.own {
		if o.at == i {
			return o.v
		}
		if o.at > i {
			break
		}
	}
	return t.sh.base[i]
}

// Lookup is name's value and whether it has one.
func (t Table) Lookup(name string) (string, bool) {
	if t.sh == nil {
		return "", false
	}
	for i, n := range t.sh.names {
		if n == name {
			if t.sh.has != nil && !t.sh.has[i] {
				return "", false
			}
			return t.at(i), true
		}
	}
	return "", false
}

// Get is name's value ("" when it has none).
func (t Table) Get(name string) string { v, _ := t.Lookup(name); return v }

// Each calls fn with every name that has a value, in the table's order.
func (t Table) Each(fn func(name, value string)) {
	if t.sh == nil {
		return
	}
	own := t.own
	for i, n := range t.sh.names {
		v := t.sh.base[i]
		if len(own) > 0 && own[0].at == i {
			v, own = own[0].v, own[1:]
		}
		if t.sh.has == nil || t.sh.has[i] {
			fn(n, v)
		}
	}
}

// Map is the table as a new map.
func (t Table) Map() map[string]string {
	m := make(map[string]string, t.size())
	t.Each(func(k, v string) { m[k] = v })
	return m
}

// tableMaker makes the tables of a run of procs: each proc's values are
// compared with a shared base, and a proc keeps those that differ (a new
// base is made when too many do).
type tableMaker struct {
	sh   *tableShape
	diff []ownVal      // the differences found for the proc being made
	slab block[ownVal] // procs' own values are cut from it
}

// make is the table of vals (reused by the caller: copied when kept) by
// names, has as newTable's (also copied when kept).
func (m *tableMaker) make(names, vals []string, has []bool) Table {
	sh := m.sh
	if sh == nil || !sameStrings(sh.names, names) || !slices.Equal(sh.has, has) || (sh.has == nil) != (has == nil) {
		return m.rebase(names, vals, has)
	}
	m.diff = m.diff[:0]
	for i, v := range vals {
		if sh.base[i] != v {
			m.diff = append(m.diff, ownVal{at: i, v: v})
		}
	}
	if len(m.diff) == 0 {
		return Table{sh: sh}
	}
	if 2*len(m.diff) > len(vals) {
		return m.rebase(names, vals, has)
	}
	return Table{sh: sh, own: m.cut(m.diff)}
}

// rebase makes a new base of vals.
func (m *tableMaker) rebase(names, vals []string, has []bool) Table {
	m.sh = &tableShape{names: names, base: slices.Clone(vals), has: slices.Clone(has)}
	return Table{sh: m.sh}
}

// cut copies d into a block shared with the next procs (one allocation
// for many).
func (m *tableMaker) cut(d []ownVal) []ownVal {
	own := m.slab.take(len(d))
	copy(own, d)
	return own
}

// block hands out short slices cut from one allocation shared by many
// (the procs' tables, rows of queue items); a long one gets its own.
type block[T any] struct {
	rest []T // the unused rest of the current block
}

// take is n zero values, cut from the block.
func (b *block[T]) take(n int) []T {
	if n > 256 {
		return make([]T, n)
	}
	if len(b.rest) < n {
		b.rest = make([]T, 4096)
	}
	s := b.rest[:n:n]
	b.rest = b.rest[n:]
	return s
}

// sameStrings says whether a and b are the same slice (the names of a
// queue statement or the session's keys, shared) or hold the same strings.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// File is a parsed submit description.
type File struct {
	Procs    []Proc
	Warnings []Warning
}

// Subset lists the job attributes cesub produces (and compares with
// condor_submit -dry-run); other submit commands are kept as macros.
var Subset = []string{"Cmd", "Arguments", "Args", "Environment", "Env", "In", "Out", "Err", "UserLog", "Iwd",
	"TransferInput", "TransferOutput", "TransferExecutable", "ShouldTransferFiles", "WhenToTransferOutput",
	"RequestCpus", "RequestMemory", "RequestDisk", "RequestGPUs", "JobUniverse", "Requirements", "ClusterId",
	"ProcId", "JobStatus", "GridResource", "x509userproxy", "StreamOut", "StreamErr", "JobBatchName", "NotifyUser",
	"HoldReason", "HoldReasonCode", "LeaveJobInQueue", "JobPrio", "RetryRequestMemory", "RetryRequestDisk",
	"DockerImage", "WantDocker", "WantDockerImage", "ContainerImage", "WantContainer"}

// ParseOptions extend Options for proc generation.
type ParseOptions struct {
	Options
	// ClusterID numbers the first cluster (default 1).
	ClusterID int
	// Spool marks jobs as condor_submit -spool does (held until inputs arrive).
	Spool bool
	// Arch and OpSys for default Requirements (default X86_64, LINUX).
	Arch, OpSys string
	// MaxProcs bounds the number of procs (default 1,000,000).
	MaxProcs int
	// Queue is a queue statement (without the word queue) run after the file, as condor_submit -queue does.
	Queue string
	// Repeat makes each queue statement queue Repeat times as many procs
	// (cesub submit --count: `queue 2` becomes 2×Repeat procs, numbered on,
	// so $(Process) stays unique).
	Repeat int
	// StrictMacros makes an undefined $(macro) an error (condor_submit expands it to nothing).
	StrictMacros bool
	// Inspect reads a file for display rather than submission: no queue
	// statement gives zero procs and a missing executable a warning, instead of errors.
	Inspect bool
	// CondorVersion is the HTCondor version (e.g. "25.14.1") whose
	// condor_submit the ads follow where versions differ; empty means 23.x
	// (the LTS series): from 25.8 a spooled job's LeaveJobInQueue lets it
	// leave once its output was fetched, from 25.12 Requirements leaves the
	// disk check to execute points that enforce it.
	CondorVersion string
	// EachProc, if set, receives every proc as it is made (index: its
	// position in the file) instead of File.Procs keeping them, so a caller
	// can use the first procs while the rest are being made; an error it
	// returns stops the parse.
	EachProc func(index int, p *Proc) error
	// Reserve, if set, is told how many procs a queue statement is about
	// to make, before the first (a caller collecting them sizes once).
	Reserve func(n int)
}

// Parse reads a submit description and produces its procs.
func Parse(file string, src []byte, o ParseOptions) (*File, error) {
	if o.Dir == "" {
		o.Dir = filepath.Dir(file)
		if abs, err := filepath.Abs(o.Dir); err == nil {
			o.Dir = abs
		}
	}
	if o.Env == nil {
		o.Env = os.Getenv
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ClusterID == 0 {
		o.ClusterID = 1
	}
	if o.Arch == "" {
		o.Arch = "X86_64"
	}
	if o.OpSys == "" {
		o.OpSys = "LINUX"
	}
	if o.MaxProcs == 0 {
		o.MaxProcs = 1_000_000
	}
	r := &reader{opts: o.Options, vars: newMacros(o.Env, o.Dir)}
	static := staticVars(file, o)
	for k, v := range static {
		r.vars.vals[k] = v
	}
	for k, v := range o.Vars {
		r.stmts = append(r.stmts, statement{pos: Pos{File: "command line"}, key: k, value: v})
		r.vars.set(k, v)
	}
	if err := r.read(file, src); err != nil {
		if _, ok := err.(*Error); ok {
			return nil, err
		}
		return nil, &Error{Pos: Pos{File: file}, Msg: err.Error()}
	}
	s := &session{r: r, m: newMacros(o.Env, o.Dir), static: static, opts: o, keyPos: map[string]Pos{}, queuesLeft: queueCount(r.stmts)}
	for k, v := range static {
		s.m.vals[k] = v
	}
	f := &File{}
	sawQueue := false
	for _, st := range r.stmts {
		if st.queue == nil {
			lk := s.m.lower(st.key)
			s.m.setLower(st.key, lk, st.value)
			s.assigned(lk)
			s.noteKey(st.key, lk)
			s.keyPos[lk] = st.pos
			continue
		}
		if o.Queue != "" { // condor_submit refuses both
			return nil, &Error{Pos: st.pos, Msg: "--queue conflicts with the queue statement here (give one or the other)"}
		}
		sawQueue = true
		if err := s.queue(st.queue, f); err != nil {
			return nil, err
		}
	}
	if o.Queue != "" { // condor_submit -queue: a queue statement given on the command line
		q, err := parseQueue(Pos{File: "--queue"}, o.Queue)
		if err != nil {
			return nil, err
		}
		if err := s.queue(q, f); err != nil {
			return nil, err
		}
		sawQueue = true
	}
	if !sawQueue && o.Inspect {
		f.Warnings = append(r.warns, s.warns...)
		f.Warnings = append(f.Warnings, Warning{Pos: Pos{File: file}, Msg: "no 'queue' statement: nothing would be submitted (give one with --queue)"})
		return f, nil
	}
	if !sawQueue {
		return nil, &Error{Pos: Pos{File: file}, Msg: "no 'queue' statement: nothing would be submitted (give one with --queue)"}
	}
	f.Warnings = append(r.warns, s.warns...)
	return f, nil
}

func staticVars(file string, o ParseOptions) map[string]string {
	t := o.Now
	return map[string]string{
		"submit_file": file, // as given, like condor_submit: $Fp(SUBMIT_FILE) may be empty "submit_time": strconv.FormatInt(t.Unix(), 10),
		"year":        strconv.Itoa(t.Year()), "month": fmt.Sprintf("%02d", int(t.Month())), "day": fmt.Sprintf("%02d", t.Day()),
		"arch": o.Arch, "opsys": o.OpSys,
	}
}

type session struct {
	r          *reader
	m          *macros
	static     map[string]string
	opts       ParseOptions
	keys       []string // submit commands in first-assignment order (as written)
	lkeys      []string // keys in lower case
	seen       map[string]bool
	warns      []Warning
	cluster    int
	proc       int
	made       int            // procs made so far, all clusters
	queuesLeft int            // queue statements of the file after the one being run
	keyPos     map[string]Pos // where each command was last assigned
	strict     error          // first undefined macro under StrictMacros
	pb         *procBuilder   // reset for each proc
	strs       []lastCall     // the previous proc's str calls, in order
	abss       []lastCall     // the previous proc's abs calls, in order
	slab       []classad.Attr // the unused rest of the block procs' attributes are set in
	strSlab    block[string]  // rows take their values from it
	macros     tableMaker     // the procs' Macros
	mvals      []string       // the Macros values of the proc being made
	valSeq     []slotCall     // the slots of the previous proc's val calls, in order
	// the overlays of queue statements, by their variables
	overlays   map[string]*overlay
	exprs      textMemo[parsedExpr]
	slots      map[string]int   // command name (lower case) -> its index in memo and kept
	memo       []memoVal        // the values of the proc being made
	kept       []keptVal        // values that stay the same from proc to proc
	res        []resolved       // where each command's text comes from
	deps       map[string][]int // macro name (lower case) -> the slots whose templates refer to it
	ovr        *overlay         // the overlay of the queue statement being run
	fillBuf    []string         // the values of a template's references being filled in
	rawScanned int              // keys looked at for rawKeys
	rawKeys    []rawKey         // the +Attr and MY.Attr commands
	// what procs mostly share, made once per text (see remember)
	args, envs textMemo[string] // V2 arguments and environments as HTCondor stores them
	sizes      map[sizeKey]sizeDone
	reqs       map[reqKey]classad.Expr
	lastSize   [2]lastSize // per sizeCommands
	lastReq    lastReq
	steps      []stepRecord // by procSteps
	reads      []stepRead   // of the step being recorded
}

type parsedExpr struct {
	e   classad.Expr
	err error
}

// expr parses a ClassAd expression (old syntax), once per text: a
// thousand procs mostly share their expressions, and parsed expressions
// are never modified.
func (s *session) expr(text string) (classad.Expr, error) {
	p, _ := s.exprs.do(text, func(text string) (parsedExpr, error) {
		e, err := classad.ParseExpr(text, classad.Old)
		return parsedExpr{e, err}, nil // a refused text is remembered too
	})
	return p.e, p.err
}

// textMemo is what a function made of texts: the last few, compared first
// (a proc mostly asks for the previous proc's texts, the same strings,
// which compare faster than a map hashes them), then up to 10,000 more.
type textMemo[V any] struct {
	all    map[string]V
	recent recent[V]
}

// do is make(text), made once per text; an error is not remembered.
func (m *textMemo[V]) do(text string, make func(string) (V, error)) (V, error) {
	if v, ok := m.recent.get(text); ok {
		return v, nil
	}
	if v, ok := m.all[text]; ok {
		m.recent.put(text, v)
		return v, nil
	}
	v, err := make(text)
	if err != nil {
		return v, err
	}
	m.all = remember(m.all, text, v)
	m.recent.put(text, v)
	return v, nil
}

// recent is the last few texts looked up in a memo and what they gave.
type recent[V any] struct {
	k    [4]string
	v    [4]V
	n    int // entries in use
	next int // the entry put replaces
}

func (r *recent[V]) get(k string) (V, bool) {
	for i := 0; i < r.n; i++ {
		if r.k[i] == k {
			return r.v[i], true
		}
	}
	var zero V
	return zero, false
}

func (r *recent[V]) put(k string, v V) {
	r.k[r.next], r.v[r.next] = k, v
	r.next = (r.next + 1) % len(r.k)
	r.n = min(r.n+1, len(r.k))
}

// assigned notes that command lk (lower case) was assigned again: what
// was worked out from its text (its own slot's, and the templates that
// refer to it) is worked out again.
func (s *session) assigned(lk string) {
	if i, ok := s.slots[lk]; ok {
		s.res[i].valid = false
	}
	for _, i := range s.deps[lk] {
		s.res[i].valid = false
	}
	delete(s.deps, lk)
}

// strings is n empty strings for a row of queue items, cut from a block
// shared with the next rows (one allocation for many).
func (s *session) strings(n int) []string { return s.strSlab.take(n) }

func (s *session) noteKey(k, lk string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if !s.seen[lk] {
		s.seen[lk] = true
		s.keys = append(s.keys, k)
		s.lkeys = append(s.lkeys, lk)
	}
}

func (s *session) warnAll(p Pos, msgs []string) {
	for _, m := range msgs {
		w := Warning{Pos: p, Msg: m}
		dup := false
		for _, x := range s.warns {
			dup = dup || x == w
		}
		if !dup {
			s.warns = append(s.warns, w)
		}
	}
}

func (s *session) queue(q *queueSpec, f *File) error {
	items, count, err := s.items(q)
	if err != nil {
		return err
	}
	if s.opts.Repeat > 1 {
		count *= s.opts.Repeat
	}
	vars := q.vars
	if len(vars) == 0 {
		vars = []string{"Item"}
	}
	if s.cluster == 0 {
		s.cluster = s.opts.ClusterID
	}
	// refused before the first proc is made: `queue 100000000` would
	// otherwise fill memory up to the limit first
	if left := s.opts.MaxProcs - s.made; count > 0 && len(items) > left/count {
		return &Error{Pos: q.pos, Msg: fmt.Sprintf("this queue statement makes %s procs, more than the %d a submission may have (%d made before it)",
			procCount(len(items), count), s.opts.MaxProcs, s.made)}
	}
	if s.opts.Reserve != nil {
		s.opts.Reserve(len(items) * count)
	}
	s.queuesLeft = max(s.queuesLeft-1, 0) // (the one of --queue is not among them)
	if s.opts.EachProc == nil {
		s.grow(f, len(items)*count)
	}
	ok := strings.Join(vars, ",") + strconv.FormatBool(q.mode == qCount)
	o := s.overlays[ok]
	if o == nil {
		o = s.overlayBase(q, vars)
		s.overlays = remember(s.overlays, ok, o)
	}
	s.ovr = o
	for _, it := range items {
		for step := 0; step < count; step++ {
			if s.made >= s.opts.MaxProcs {
				return &Error{Pos: q.pos, Msg: fmt.Sprintf("more than %d procs", s.opts.MaxProcs)}
			}
			vars := o.next(s, q, it, step)
			p, err := s.makeProc(q, vars)
			if err != nil {
				return err
			}
			if s.opts.EachProc != nil {
				pp := p // (p itself stays off the heap)
				if err := s.opts.EachProc(s.made, &pp); err != nil {
					return err
				}
			} else {
				f.Procs = append(f.Procs, p)
			}
			s.made++
			s.proc++
		}
	}
	return nil
}

// queueCount is the number of queue statements among stmts.
func queueCount(stmts []statement) int {
	n := 0
	for _, st := range stmts {
		if st.queue != nil {
			n++
		}
	}
	return n
}

// grow makes room in f.Procs for need more procs: doubled (not append's
// quarter for large slices: a file of thousands of `queue 1` would copy
// its procs over and over), with room for a proc of each queue statement
// after this one (most make one or more).
func (s *session) grow(f *File, need int) {
	if cap(f.Procs)-len(f.Procs) >= need {
		return
	}
	room := max(min(s.queuesLeft, 1<<16, s.opts.MaxProcs-s.made-need), 0)
	grown := make([]Proc, len(f.Procs), max(2*cap(f.Procs), len(f.Procs)+need+room))
	copy(grown, f.Procs)
	f.Procs = grown
}

// overlay is the macro overlay of a queue statement's procs: built-ins
// and queue variables, values by the index of their names, reused from
// proc to proc.
type overlay struct {
	base       map[string]string // the static macros and $(Node)
	vars       []string          // the queue variables, lower case
	names      []string          // every name the overlay can hold, for the procs' Vars
	idx        map[string]int    // names -> their index
	vals       []string          // the values of the proc being made, by index
	has        []bool            // whether the proc being made has a value, by index
	vi         []overlayVar      // the variables' places
	bi         [7]int            // the index of each of the builtins, or -1
	cl         string            // cluster as text
	cluster    int
	allPresent bool       // every name has a value for the proc being made
	tables     tableMaker // the procs' Vars
}

// overlayVar is where a queue variable goes and what it falls back to.
type overlayVar struct {
	at      int    // its index in names, -1 when the overlay never holds it
	base    string // its static value
	inBase  bool
	builtin bool
}

// builtins are the names set for each proc before its queue variables.
var builtins = []string{"cluster", "clusterid", "process", "procid", "step", "itemindex", "row"}

// overlayBase makes the overlay of q's procs.
func (s *session) overlayBase(q *queueSpec, vars []string) *overlay {
	o := &overlay{base: make(map[string]string, len(s.static)+1), idx: map[string]int{}}
	for k, v := range s.static {
		o.base[k] = v
	}
	o.base["node"] = "#pArAlLeLnOdE#"
	add := func(k string) {
		if _, ok := o.idx[k]; !ok {
			o.idx[k] = len(o.names)
			o.names = append(o.names, k)
		}
	}
	for k := range o.base {
		add(k)
	}
	for _, k := range builtins {
		if q.mode != qCount || k != "itemindex" && k != "row" {
			add(k)
		}
	}
	for _, v := range vars {
		o.vars = append(o.vars, strings.ToLower(v))
		if q.mode != qCount { // `queue N` gives its variable (Item) no value
			add(strings.ToLower(v))
		}
	}
	o.vals, o.has = make([]string, len(o.names)), make([]bool, len(o.names))
	for k, v := range o.base {
		o.vals[o.idx[k]], o.has[o.idx[k]] = v, true
	}
	for i, k := range builtins {
		o.bi[i] = o.at(k)
	}
	for _, v := range o.vars {
		b, inBase := o.base[v]
		o.vi = append(o.vi, overlayVar{at: o.at(v), base: b, inBase: inBase, builtin: slices.Contains(builtins, v)})
	}
	return o
}

// at is the index of name, or -1.
func (o *overlay) at(name string) int {
	if i, ok := o.idx[name]; ok {
		return i
	}
	return -1
}

// put gives the name at index i a value.
func (o *overlay) put(i int, v string) {
	if i >= 0 {
		o.vals[i], o.has[i] = v, true
	}
}

// next sets the overlay for the proc of item it at step, and returns the
// proc's Vars.
func (o *overlay) next(s *session, q *queueSpec, it rowItem, step int) Table {
	if o.cluster != s.cluster || o.cl == "" {
		o.cluster, o.cl = s.cluster, strconv.Itoa(s.cluster)
	}
	cl, pr := o.cl, strconv.Itoa(s.proc)
	o.put(o.bi[0], cl)
	o.put(o.bi[1], cl)
	o.put(o.bi[2], pr)
	o.put(o.bi[3], pr)
	o.put(o.bi[4], strconv.Itoa(step))
	if q.mode != qCount {
		ii := it.text // (made for the slice already)
		if ii == "" {
			ii = strconv.Itoa(it.index)
		}
		o.put(o.bi[5], ii)
		o.put(o.bi[6], ii)
	}
	// a variable this item gives no value keeps the built-in or static
	// value, or is absent (the previous item's value goes)
	for i := len(it.vals); i < len(o.vars); i++ {
		v := o.vi[i]
		if v.inBase {
			o.put(v.at, v.base)
		} else if !v.builtin && v.at >= 0 {
			o.vals[v.at], o.has[v.at] = "", false
		}
	}
	for i := range o.vars {
		if i < len(it.vals) {
			o.put(o.vi[i].at, it.vals[i])
		}
	}
	o.allPresent = !slices.Contains(o.has, false)
	var has []bool
	if !o.allPresent {
		has = o.has
	}
	return o.tables.make(o.names, o.vals, has)
}

// lookup is the value of the proc being made for lk (macros.expand's scope).
func (o *overlay) lookup(lk string) (string, bool) {
	if i, ok := o.idx[lk]; ok && o.has[i] {
		return o.vals[i], true
	}
	return "", false
}

// procCount is items x count as a number, or the product written out when
// it overflows.
func procCount(items, count int) string {
	if n := items * count; count != 0 && n/count == items {
		return strconv.Itoa(n)
	}
	return fmt.Sprintf("%d x %d", items, count)
}

// gridTypes are the grid_resource types condor_submit 23.x and 25.x
// accept (case does not matter).
var gridTypes = map[string]bool{"condor": true, "batch": true, "arc": true, "ec2": true, "gce": true, "azure": true,
	"pbs": true, "lsf": true, "sge": true, "nqs": true, "naregi": true}

// at is where the command key was last assigned, else the queue statement.
func at(s *session, q *queueSpec, key string) Pos {
	if p, ok := s.keyPos[key]; ok {
		return p
	}
	return q.pos
}

var universes = map[string]int{"standard": 1, "vanilla": 5, "docker": 5, "container": 5, "scheduler": 7, "grid": 9,
	"globus": 9, "java": 10, "parallel": 11, "local": 12, "vm": 13}

// reqFlags says what the job asks for, for the default Requirements.
type reqFlags struct {
	cpus, transfer, gpus, docker bool
	// request_memory / request_disk given as literal numbers too small to
	// matter (condor_submit leaves out the clause then)
	memTiny, diskZero bool
	universe          string
	inputs            []string
}

func transferInputs(ad *classad.Ad) []string {
	e, ok := ad.Get("TransferInput")
	if !ok {
		return nil
	}
	s, _ := e.(classad.String)
	return strings.Split(string(s), ",")
}

func urlScheme(s string) bool {
	if s == "" || !(s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// commaList normalises a file list as condor_submit stores it: comma-separated, no blanks around commas.
func commaList(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for rest, more := v, true; more; {
		var p string
		p, rest, more = strings.Cut(rest, ",")
		if t := strings.TrimSpace(p); t != "" {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(t)
		}
	}
	return b.String()
}

// requirements builds Requirements as condor_submit does: the user's
// expression ANDed with defaults for what the job asks (unless the user's
// expression already mentions them).
func (s *session) requirements(val func(string) (string, bool), f reqFlags) (classad.Expr, error) {
	var user classad.Expr
	userText := ""
	if v, ok := val("requirements"); ok && strings.TrimSpace(v) != "" {
		e, err := s.expr(v)
		if err != nil {
			return nil, fmt.Errorf("requirements %q: %v", v, err)
		}
		user, userText = e, strings.ToLower(v)
	}
	if f.universe == "grid" || f.universe == "scheduler" || f.universe == "local" {
		if user == nil {
			return classad.Bool(true), nil
		}
		return user, nil
	}
	parse := func(text string) classad.Expr {
		e, err := s.expr(text)
		if err != nil { // only constant texts and --arch/--opsys reach here
			return classad.Paren{X: classad.String(text)}
		}
		return e
	}
	var clauses []classad.Expr
	if user != nil {
		clauses = append(clauses, classad.Paren{X: user})
	}
	if f.docker && !strings.Contains(userText, "hasdocker") {
		clauses = append(clauses, parse("TARGET.HasDocker"))
	}
	if !strings.Contains(userText, "arch") {
		clauses = append(clauses, parse(`(TARGET.Arch == "`+s.opts.Arch+`")`))
	}
	if !strings.Contains(userText, "opsys") {
		clauses = append(clauses, parse(`(TARGET.OpSys == "`+s.opts.OpSys+`")`))
	}
	// as submit_utils.cpp (23.x): the disk and memory clauses stay even when
	// the user's expression mentions Disk or Memory; only a literal request
	// too small to matter drops them
	if !f.diskZero || strings.Contains(userText, "disk") {
		if versionAtLeast(s.opts.CondorVersion, 25, 12) {
			// from 25.12 the execute point enforces the disk request itself
			clauses = append(clauses, parse(`(versionGE(split(TARGET.CondorVersion)[1],"25.12.0") || (TARGET.Disk >= RequestDisk))`))
		} else {
			clauses = append(clauses, parse("(TARGET.Disk >= RequestDisk)"))
		}
	}
	if !f.memTiny {
		clauses = append(clauses, parse("(TARGET.Memory >= RequestMemory)"))
	}
	if f.cpus && !strings.Contains(userText, "cpus") {
		clauses = append(clauses, parse("(TARGET.Cpus >= RequestCpus)"))
	}
	if f.gpus && !strings.Contains(userText, "gpus") {
		clauses = append(clauses, parse("(TARGET.GPUs >= RequestGPUs)"))
	}
	switch {
	case f.transfer && !strings.Contains(userText, "hasfiletransfer"):
		// URL inputs need a transfer plugin for their scheme on the execute side
		var x classad.Expr = classad.AttrRef{Scope: "TARGET", Name: "HasFileTransfer"}
		seen := map[string]bool{}
		for _, in := range f.inputs {
			scheme, _, ok := strings.Cut(strings.TrimSpace(in), "://")
			scheme = strings.ToUpper(scheme)
			if !ok || !urlScheme(scheme) || seen[scheme] {
				continue
			}
			seen[scheme] = true
			x = classad.Binary{Op: "&&", X: x, Y: classad.Call{Name: "stringListIMember",
				Args: []classad.Expr{classad.String(scheme), classad.AttrRef{Scope: "TARGET", Name: "HasFileTransferPluginMethods"}}}}
		}
		clauses = append(clauses, classad.Paren{X: x})
	case !f.transfer && !strings.Contains(userText, "filesystemdomain"):
		clauses = append(clauses, parse("(TARGET.FileSystemDomain == MY.FileSystemDomain)"))
	}
	e := clauses[0]
	for _, c := range clauses[1:] {
		e = classad.Binary{Op: "&&", X: e, Y: c}
	}
	return e, nil
}

// sizeExpr reads request_memory/request_disk: a number with an optional unit
// (K, M, G, T, with or without B) converted to the attribute's unit (MiB for
// memory, KiB for disk; a bare number is already in it), rounded up; anything
// else is a ClassAd expression.
func sizeExpr(v string, unitBytes float64) (classad.Expr, error) {
	t := strings.TrimSpace(v)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	if i > 0 {
		num, err := strconv.ParseFloat(t[:i], 64)
		unit := strings.ToUpper(strings.TrimSpace(t[i:]))
		unit = strings.TrimSuffix(unit, "B")
		if err == nil {
			mult := map[string]float64{"K": 1024, "M": 1024 * 1024, "G": 1 << 30, "T": 1 << 40}
			if unit == "" {
				return classad.Int(int64(math.Ceil(num))), nil
			}
			if m, ok := mult[unit]; ok {
				return classad.Int(int64(math.Ceil(num * m / unitBytes))), nil
			}
		}
	}
	e, err := classad.ParseExpr(t, classad.Old)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a size (e.g. 2GB) nor a ClassAd expression: %v", v, err)
	}
	return e, nil
}

// versionAtLeast reports whether v ("25.14.1") is at least major.minor;
// an empty or unreadable v is not.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}
